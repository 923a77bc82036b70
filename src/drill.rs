//! `crossfire drill`: no scenario needed. For every model group and failure
//! class, the fault is injected on the group's deployments, a few requests go
//! through the real gateway, and the matrix cell holds what happened beside
//! what lint predicted from the config.

use crate::deployment::{cell_of, original, Deployment};
use crate::gateway::adapter::{GatewayConfig, NotLoaded};
use crate::gateway::{sink::Escape, GatewayError, GatewayOptions};
use crate::lint;
use crate::paths::{self, PathClass, RequestPath};
use crate::records::RequestRecord;
use crate::report::column_width;
use crate::scenario::{ClientApi, Traffic};
use crate::traffic;
use mock_providers::{DeploymentSpec, FailureClass, Fault, JournalConfig, MockSet, Schedule};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How to drill.
#[derive(Debug, Clone)]
pub struct DrillOptions {
    /// The run folder.
    pub out: PathBuf,
    /// Requests per cell.
    pub requests: u32,
    /// Failure classes, in order.
    pub classes: Vec<FailureClass>,
    /// Only these groups (all when empty).
    pub groups: Vec<String>,
    /// Gateway options.
    pub gateway: GatewayOptions,
    /// Cancelled on Ctrl-C.
    pub cancel: CancellationToken,
    /// Drill even when config items have no mock (`--allow-unmapped`): their
    /// traffic is sealed, as `run` does; otherwise such an item stops the drill.
    pub allow_unmapped: bool,
    /// `--outage`: every cell is an outage of its primary that starts,
    /// lasts [`OUTAGE_FOR`] and ends, ridden through by sequential requests;
    /// the cell says how much was served during it, the probes, when
    /// traffic came back to the primary, and whether Retry-After was
    /// honoured.
    pub outage: bool,
    /// `--replicas N`: the gateway runs as N replicas behind HAProxy, and
    /// the drill says what each replica sent and whether a request reached
    /// a provider from two.
    pub replicas: Option<crate::scenario::Replicas>,
}

/// When an outage drill's outage starts, after the traffic's start.
pub const OUTAGE_FROM: Duration = Duration::from_secs(1);
/// How long it lasts.
pub const OUTAGE_FOR: Duration = Duration::from_secs(3);
/// How long the traffic goes on after it ended, at least.
pub const OUTAGE_AFTER: Duration = Duration::from_secs(6);

/// How long an outage drill watches after the outage: [`OUTAGE_AFTER`], or
/// the gateway's cooldown and 3 s more when that is longer (at most 60 s),
/// so a router that keeps traffic off a recovered primary is seen coming
/// back.
pub fn outage_after(cfg: &dyn GatewayConfig) -> Duration {
    cfg.cooldown()
        .map_or(OUTAGE_AFTER, |c| {
            (c + Duration::from_secs(3)).max(OUTAGE_AFTER)
        })
        .min(Duration::from_secs(60))
}
/// One request every this long, one after the other.
pub const OUTAGE_INTERVAL: Duration = Duration::from_millis(250);

/// What a cell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellVerdict {
    /// The requests ended on another provider.
    Crossed,
    /// They moved, but stayed on the same provider.
    SameProvider,
    /// The group retried, then the client got the error.
    RetriedThenFailed,
    /// The client got the error at once.
    NoFailover,
    /// It fell back, and the fallback failed too.
    FallbackFailed,
    /// The config promises another provider for this failure, and it did not happen.
    Illusion,
    /// The requests were served anyway (the fault did not need a failover).
    Served,
    /// Requests that met the same fault took different paths: a finding of
    /// its own, with the distribution.
    Nondeterministic,
    /// The fault never met a client request: the cell shows nothing.
    NotObserved,
    /// The drill stopped before the cell ran.
    NotRun,
    /// The gateway did not load the group's deployments (LiteLLM skipped
    /// them at start): nothing about failover can be said.
    NotLoaded,
}

impl CellVerdict {
    /// Whether the client was served: by another provider, another
    /// deployment of the same one, or the faulted one itself.
    pub fn rescued(self) -> bool {
        matches!(
            self,
            CellVerdict::Crossed | CellVerdict::SameProvider | CellVerdict::Served
        )
    }

    /// Words for the matrix.
    pub fn label(self) -> &'static str {
        match self {
            CellVerdict::Crossed => "crossed",
            CellVerdict::SameProvider => "same provider",
            CellVerdict::RetriedThenFailed => "retried then failed",
            CellVerdict::NoFailover => "no failover",
            CellVerdict::FallbackFailed => "fallback failed too",
            CellVerdict::Illusion => "ILLUSION",
            CellVerdict::Served => "served",
            CellVerdict::Nondeterministic => "nondeterministic failover",
            CellVerdict::NotObserved => "not observed",
            CellVerdict::NotRun => "not run",
            CellVerdict::NotLoaded => "not loaded",
        }
    }
}

/// One (group, failure class) cell.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// Model group.
    pub group: String,
    /// Failure class injected on its deployments.
    pub class: FailureClass,
    /// Whether the requests were streams.
    pub stream: bool,
    /// The observed path of the requests that met the fault, as lint writes
    /// predictions (the most common one).
    pub observed: String,
    /// How many requests that met the fault took that path, of how many.
    pub agreement: (usize, usize),
    /// Requests sent, and how many of them met the cell's fault.
    pub met: (usize, usize),
    /// Every path taken by the requests that met the fault, with its count,
    /// most common first.
    pub distribution: Vec<(String, usize)>,
    /// Why the operator's intent was not met (Failover Illusion), or what the
    /// deployments received instead (not observed).
    pub why: Option<String>,
    /// The observed path class (most common).
    pub observed_class: Option<PathClass>,
    /// lint's prediction.
    pub predicted: Option<lint::Prediction>,
    /// Whether observation and prediction agree (a cell with nothing
    /// observed contradicts nothing).
    pub as_predicted: bool,
    /// The verdict.
    pub verdict: CellVerdict,
    /// The requests' paths.
    pub paths: Vec<RequestPath>,
    /// What happened next on the same router state, once the primary had
    /// recovered (measured, not predicted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub then: Option<Then>,
    /// An outage drill's cell: the outage in time (measured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outage: Option<crate::recovery::Timing>,
}

/// Sequential requests of a cell after its primary recovered: does traffic
/// go back to it at once, stay on the fallback for a while (a cooldown), or
/// find the group locked out (the gateway refusing by itself)?
#[derive(Debug, Clone, Serialize)]
pub struct Then {
    /// One line a person reads.
    pub text: String,
    /// Requests sent, one after the other.
    pub requests: usize,
    /// How many the recovered primary served.
    pub on_primary: usize,
    /// How many the gateway refused with no provider attempt.
    pub refused: usize,
    /// Time from the recovery to the first request the primary served, ms
    /// (none when it never served one).
    pub back_after_ms: Option<u64>,
    /// The requests' paths, in order.
    pub paths: Vec<RequestPath>,
}

/// An outage cell in time: the outage on its primaries, measured over its
/// requests with the scenario measurements (`recovery`). Records are on the
/// drill's clock; the journal's starts with the traffic.
fn outage_of(
    cell: &Cell,
    primaries: &BTreeSet<String>,
    dialects: &HashMap<String, mock_providers::Dialect>,
    records: &[RequestRecord],
    attempts: &[mock_providers::Attempt],
    traffic_started_us: u64,
    fault: &Fault,
) -> crate::recovery::Timing {
    let markers: BTreeSet<&str> = cell.paths.iter().map(|p| p.marker.as_str()).collect();
    let own: Vec<RequestRecord> = records
        .iter()
        .filter(|r| markers.contains(r.marker.as_str()))
        .map(|r| {
            let mut r = r.clone();
            r.started_us = r.started_us.saturating_sub(traffic_started_us);
            r
        })
        .collect();
    let placed = crate::scenario::PlacedFault {
        label: format!("{} outage on {}", cell.class, cell.group),
        class: cell.class,
        deployments: primaries.iter().cloned().collect(),
        active: vec![crate::scenario::ActiveWindow {
            from: OUTAGE_FROM,
            to: OUTAGE_FROM + OUTAGE_FOR,
        }],
        retry_after: primaries
            .iter()
            .filter_map(|id| {
                let dialect = dialects.get(id)?;
                Some((
                    id.clone(),
                    crate::scenario::model::retry_after_sent(*dialect, fault)?,
                ))
            })
            .collect(),
    };
    crate::recovery::measure(&[placed], &own, &cell.paths, attempts, None)
}

/// Sequential requests a cell sends once its primary recovered.
pub const THEN_REQUESTS: u32 = 6;

/// Requests per second of those: spread over about 3 s.
const THEN_RATE: f64 = 2.0;

/// What the requests after the recovery show, from their paths in order;
/// `healed_us` is when the primary recovered, `primary` its deployments,
/// `sent_us` each request's send time by marker.
fn then_of(
    paths: Vec<RequestPath>,
    primary: &BTreeSet<String>,
    sent_us: &HashMap<&str, u64>,
    healed_us: u64,
) -> Then {
    let served_by_primary = |p: &RequestPath| {
        p.served_by()
            .is_some_and(|s| primary.contains(&s.deployment))
    };
    let on_primary = paths.iter().filter(|p| served_by_primary(p)).count();
    let refused = paths.iter().filter(|p| p.steps.is_empty() && !p.ok).count();
    let first_back = paths.iter().position(served_by_primary);
    let started = |p: &RequestPath| sent_us.get(p.marker.as_str()).copied().unwrap_or(healed_us);
    let back_after_ms = first_back.map(|i| started(&paths[i]).saturating_sub(healed_us) / 1000);
    let n = paths.len();
    let mut text = match (first_back, back_after_ms) {
        (Some(0), _) => format!("primary recovered: back on it at once ({on_primary} of {n} requests)"),
        (Some(i), Some(ms)) => format!(
            "primary recovered: {i} more request{} stayed off it, back on it after {:.1} s ({on_primary} of {n})",
            if i == 1 { "" } else { "s" },
            ms as f64 / 1000.0
        ),
        _ => {
            let span = paths
                .last()
                .map_or(0, |p| started(p).saturating_sub(healed_us) / 1000);
            format!(
                "primary recovered: none of {n} requests went back to it in {:.1} s",
                span as f64 / 1000.0
            )
        }
    };
    if refused > 0 {
        text.push_str(&format!(
            "; the gateway refused {refused} by itself (no provider attempt)"
        ));
    }
    Then {
        text,
        requests: n,
        on_primary,
        refused,
        back_after_ms,
        paths,
    }
}

/// A drill's result.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    /// The config drilled.
    pub config: PathBuf,
    /// Gateway kind.
    pub gateway: &'static str,
    /// Version the gateway reported.
    pub gateway_version: Option<String>,
    /// Gateway startup, ms.
    pub startup_ms: u64,
    /// Whole drill, ms.
    pub duration_ms: u64,
    /// Cells, groups x classes.
    pub cells: Vec<Cell>,
    /// lint's warnings about the config.
    pub warnings: Vec<lint::Warning>,
    /// Traffic that tried to leave.
    pub escaped: Vec<Escape>,
    /// The run folder.
    pub out: PathBuf,
    /// Whether Ctrl-C cut it short.
    pub interrupted: bool,
    /// Deployments the gateway did not load, with its reason (findings).
    pub not_loaded: Vec<NotLoaded>,
    /// What each replica did, when the gateway ran as replicas
    /// (`--replicas`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<crate::router::measure::RouterReport>,
    /// The gateway's process ended before the drill did (a crash on some
    /// failure): how, and the last lines of its log. Every cell after it
    /// met a dead gateway. A finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_exited: Option<String>,
}

impl DrillReport {
    /// Findings: illusions, nondeterministic failover, predictions that did
    /// not hold, escapes.
    pub fn findings(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| {
                matches!(
                    c.verdict,
                    CellVerdict::Illusion | CellVerdict::Nondeterministic
                ) || !c.as_predicted
            })
            .count()
            + self.escaped.len()
            + self.replicas.as_ref().map_or(0, |r| r.duplicates.len())
            + self.not_loaded.len()
            + usize::from(self.gateway_exited.is_some())
    }

    /// Cells whose fault never met a client request: the drill shows
    /// nothing for them, so it cannot pass.
    pub fn not_observed(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| c.verdict == CellVerdict::NotObserved)
            .count()
    }

    /// Whether the drill passed: everything ran, every fault met the
    /// traffic, no finding.
    pub fn passed(&self) -> bool {
        !self.interrupted && self.findings() == 0 && self.not_observed() == 0
    }
}

/// Fault parameters for drill cells: short waits, one content event before
/// a stream fault, a slow answer long enough to outlast a configured timeout.
fn drill_fault(class: FailureClass, timeout: Option<f64>) -> Fault {
    let delay = timeout
        .map(|t| Duration::from_secs_f64(t + 2.0))
        .unwrap_or(Duration::from_secs(10))
        .min(Duration::from_secs(60));
    Fault::new(class)
        .retry_after(Duration::from_secs(1))
        .delay(delay)
        .after_events(1)
}

pub use crate::lint::{overflow_prompt, scaled_window};

/// A path written the way lint writes predictions.
fn shape(p: &RequestPath, groups: &HashMap<String, String>) -> String {
    let mut parts: Vec<(String, u32)> = Vec::new();
    for s in &p.steps {
        let g = group_of(&s.deployment, groups);
        match parts.last_mut() {
            Some((last, n)) if *last == g => *n += 1,
            _ => parts.push((g, 1)),
        }
    }
    let mut text = String::new();
    let served = p.served_by();
    for (i, (g, n)) in parts.iter().enumerate() {
        if i > 0 {
            text.push_str(" -> ");
        }
        let is_last = i + 1 == parts.len();
        match (is_last, served) {
            (true, Some(s)) if i > 0 => {
                text.push_str(&format!("{g} ({}) 200", s.provider));
                return text;
            }
            _ => text.push_str(&if *n == 1 {
                g.clone()
            } else {
                format!("{g} x{n}")
            }),
        }
    }
    if parts.is_empty() {
        text.push_str("no provider attempt");
    }
    match (served, p.client_status) {
        (Some(_), _) if parts.len() == 1 => text.push_str(" -> client 200"),
        (_, Some(s)) => text.push_str(&format!(" -> client {s}")),
        (_, None) => text.push_str(" -> client error"),
    }
    if !p.ok && p.client_status == Some(200) {
        text.push_str(" (broken stream)");
    } else if p.ok && !p.class.succeeded() && !p.steps.is_empty() {
        text.push_str(" (error swallowed)");
    }
    text
}

/// The group a copied deployment id belongs to (`claude-opus-2--cell3` ->
/// `claude-opus`), from the original config's deployment -> group map.
fn group_of(deployment: &str, groups: &HashMap<String, String>) -> String {
    let id = original(deployment);
    groups.get(id).cloned().unwrap_or_else(|| id.to_string())
}

/// One cell to run: which group, which failure, what the client sends.
struct CellPlan {
    group: String,
    class: FailureClass,
    /// The model the client asks for (the cell's copy of the group).
    model: String,
    /// Extra request headers (Portkey: the cell's config).
    headers: BTreeMap<String, String>,
    prompt_tokens: u64,
    /// Requests to send: enough to reach a randomly picked failing target
    /// with near certainty.
    requests: u32,
    prediction: Option<lint::Prediction>,
    /// What the operator believes the group does (none: no promise).
    intent: Option<crate::intent::GroupIntent>,
    /// An outage cell's requests go one after the other, this far apart.
    interval: Option<Duration>,
}

/// What both drills share once their gateway-specific parts are ready.
struct Prepared {
    cells: Vec<CellPlan>,
    /// Original deployment id -> the group its shape is written with.
    group_map: HashMap<String, String>,
    /// Deployment id (copies included) -> provider.
    providers: HashMap<String, String>,
    gateway: &'static str,
    warnings: Vec<lint::Warning>,
    /// Deployments the gateway skipped at start (copy ids in a LiteLLM drill).
    not_loaded: Vec<NotLoaded>,
    /// Each cell's primary deployments (copy ids): they carry its fault,
    /// and recover after its requests.
    primaries: Vec<BTreeSet<String>>,
    /// Deployment id (copies included) -> dialect.
    dialects: HashMap<String, mock_providers::Dialect>,
    /// The fault each cell's primaries carry.
    faults: Vec<Fault>,
}

/// The cells of a drill: each (group, class) pair.
fn cell_pairs(groups: &[String], classes: &[FailureClass]) -> Vec<(String, FailureClass)> {
    groups
        .iter()
        .flat_map(|g| classes.iter().map(move |c| (g.clone(), *c)))
        .collect()
}

/// The fault of a cell's primary deployments, or the scaled window of every
/// deployment of an overflow cell.
fn arm(
    spec: &mut DeploymentSpec,
    model: &str,
    class: FailureClass,
    primary: bool,
    fault: &Fault,
    outage: bool,
) {
    if outage {
        // The fault starts, lasts and ends; the overflow too is the
        // provider's answer for that while.
        if primary {
            spec.faults.push(mock_providers::FaultRule {
                fault: fault.clone(),
                schedule: Schedule::Outage {
                    from: OUTAGE_FROM,
                    length: OUTAGE_FOR,
                },
            });
        }
    } else if class == FailureClass::ContextOverflow {
        // A real overflow: every model of the cell keeps its real window
        // (scaled down), and the prompt outgrows the primary's. A fallback
        // with a larger window serves; one with a smaller window refuses too,
        // as it would in production.
        spec.context_window = Some(scaled_window(model));
    } else if primary {
        spec.faults.push(mock_providers::FaultRule {
            fault: fault.clone(),
            schedule: Schedule::Always,
        });
    }
}

/// Runs the drill of a team's gateway config: every (group, class) cell
/// with its own copies of its deployments (the adapter's plan), one gateway
/// serving every cell at once.
pub async fn drill(
    cfg: &dyn GatewayConfig,
    opts: &DrillOptions,
) -> Result<DrillReport, GatewayError> {
    let started = Instant::now();
    // The same rule as `run`: an item without a mock would send its traffic
    // to the real provider, so it stops the drill unless allowed.
    cfg.deployments(opts.allow_unmapped)?;
    let groups: Vec<String> = cfg
        .drill_groups()?
        .into_iter()
        .filter(|g| opts.groups.is_empty() || opts.groups.contains(g))
        .collect();
    crate::gateway::create_dir(&opts.out)?;
    let pairs = cell_pairs(&groups, &opts.classes);
    let plan = cfg.drill_plan(&pairs, &opts.out)?;
    let providers = plan
        .deployments
        .iter()
        .map(|d| (d.deployment.id().to_string(), d.deployment.provider.clone()))
        .collect();
    let fault_of = |class: FailureClass| drill_fault(class, plan.timeout);
    let deployments: Vec<Deployment> = plan
        .deployments
        .iter()
        .map(|d| {
            let mut copy = d.deployment.clone();
            if let Some(k) = d.cell {
                let class = pairs[k].1;
                arm(
                    &mut copy.spec,
                    &d.deployment.model,
                    class,
                    d.primary,
                    &fault_of(class),
                    opts.outage,
                );
            }
            copy
        })
        .collect();
    let intent = cfg.intent(&groups.iter().map(String::as_str).collect());
    let cells = pairs
        .iter()
        .zip(&plan.routes)
        .map(|((g, c), route)| {
            let prediction = cfg.predict(g, *c);
            let asked = match &prediction {
                // A cell seen to split gets enough requests to show the
                // split every time.
                Some(p) if p.nondeterministic => opts.requests.max(SPLIT_REQUESTS),
                _ => opts.requests,
            };
            let outage_requests = ((OUTAGE_FROM + OUTAGE_FOR + outage_after(cfg)).as_millis()
                / OUTAGE_INTERVAL.as_millis()) as u32;
            CellPlan {
                group: g.clone(),
                class: *c,
                model: route.model.clone(),
                headers: BTreeMap::new(),
                prompt_tokens: match c {
                    FailureClass::ContextOverflow if !opts.outage => {
                        overflow_prompt(&route.primary_model)
                    }
                    _ => 50,
                },
                // Enough requests to reach a randomly picked failing target
                // with near certainty; an outage is ridden through by
                // requests one after the other until after it ended.
                requests: if opts.outage {
                    outage_requests
                } else {
                    requests_to_reach(route.primary_share, asked)
                },
                prediction,
                intent: intent.get(g).cloned(),
                interval: opts.outage.then_some(OUTAGE_INTERVAL),
            }
        })
        .collect();
    let mut prepared = Prepared {
        cells,
        group_map: plan.group_of,
        providers,
        gateway: cfg.adapter().name(),
        warnings: cfg.warnings(),
        not_loaded: Vec::new(),
        dialects: plan
            .deployments
            .iter()
            .map(|d| (d.deployment.id().to_string(), d.deployment.spec.dialect))
            .collect(),
        faults: pairs.iter().map(|(_, c)| fault_of(*c)).collect(),
        primaries: (0..pairs.len())
            .map(|k| {
                plan.deployments
                    .iter()
                    .filter(|d| d.cell == Some(k) && d.primary)
                    .map(|d| d.deployment.id().to_string())
                    .collect()
            })
            .collect(),
    };
    let mocks = crate::session::start_mocks(
        &deployments,
        JournalConfig {
            memory_cap: 1_000_000,
            file: Some(opts.out.join("journal.jsonl")),
        },
    )
    .await?;
    let bases = crate::session::mock_bases(&deployments, &mocks);
    for (k, cell) in prepared.cells.iter_mut().enumerate() {
        cell.headers = plan.config.cell_headers(k, &bases)?;
    }
    let adapter = cfg.adapter();
    // Every cell's copies at once: a slower start than one group's.
    let startup = adapter.startup_timeout() * 4 / 3;
    let (gw, router) = match &opts.replicas {
        Some(r) => {
            let (gw, router) = crate::router::start(
                plan.config.clone(),
                r,
                &bases,
                &opts.out,
                startup,
                &opts.gateway,
                &opts.cancel,
            )
            .await?;
            (gw, Some(router))
        }
        None => (
            crate::session::start_config(
                plan.config.as_ref(),
                &bases,
                &opts.out,
                startup,
                &opts.gateway,
                &opts.cancel,
            )
            .await?,
            None,
        ),
    };
    prepared.not_loaded = match &router {
        // Asked of the first replica, as it was started.
        Some(r) => {
            let first = r.replica(1, &gw.headers).await.unwrap_or_else(|| {
                crate::gateway::RunningGateway::at(gw.base_url.clone(), gw.headers.clone())
            });
            let bases_1: BTreeMap<String, String> = bases
                .iter()
                .map(|(id, b)| (id.clone(), mock_providers::server::replica_base(b, 1)))
                .collect();
            plan.config
                .not_loaded(
                    &bases_1,
                    &first,
                    &opts.out.join("replica-1").join("gateway.log"),
                )
                .await?
        }
        None => {
            plan.config
                .not_loaded(&bases, &gw, &opts.out.join("gateway.log"))
                .await?
        }
    };
    execute(
        prepared,
        mocks,
        gw,
        router,
        cfg.file().to_path_buf(),
        opts,
        started,
    )
    .await
}

/// Requests that reach a target picked with probability `share` at least
/// once with probability 1 - 10^-6, and never fewer than `asked`.
pub fn requests_to_reach(share: f64, asked: u32) -> u32 {
    if share >= 1.0 || share <= 0.0 {
        return asked;
    }
    let n = ((1e-6f64).ln() / (1.0 - share).ln()).ceil();
    (n.min(f64::from(MAX_CELL_REQUESTS)) as u32).max(asked)
}

/// The most requests a cell sends: a random pick or a split outcome is
/// settled within this many.
pub const MAX_CELL_REQUESTS: u32 = 60;

/// Requests a cell whose requests split between outcomes is brought to.
pub const SPLIT_REQUESTS: u32 = 20;

/// What a request that met the fault ended as, for telling outcomes apart:
/// the provider that served it (or none) and what the client saw.
fn outcome_key(p: &RequestPath) -> (Option<String>, Option<u16>, bool) {
    (
        p.served_by().map(|s| s.provider.clone()),
        p.client_status,
        p.ok,
    )
}

/// Whether a request met the cell's fault on some attempt.
fn met_fault(p: &RequestPath, class: FailureClass) -> bool {
    p.steps
        .iter()
        .any(|s| s.outcome == mock_providers::Outcome::Fault(class))
}

/// Judges one cell from its requests' paths: only the requests that met the
/// fault count; none met it -> not observed; their outcomes split ->
/// nondeterministic; intent not met -> Failover Illusion.
fn judge_cell(
    cell: CellPlan,
    cell_paths: Vec<RequestPath>,
    group_map: &HashMap<String, String>,
    interrupted: bool,
) -> Cell {
    let met: Vec<&RequestPath> = cell_paths
        .iter()
        .filter(|p| met_fault(p, cell.class))
        .collect();
    let mut shapes: BTreeMap<String, (usize, PathClass)> = BTreeMap::new();
    for x in &met {
        shapes.entry(shape(x, group_map)).or_insert((0, x.class)).0 += 1;
    }
    let mut distribution: Vec<(String, usize)> =
        shapes.iter().map(|(s, (n, _))| (s.clone(), *n)).collect();
    distribution.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let (observed, count, observed_class) = match distribution.first() {
        Some((s, n)) => (s.clone(), *n, shapes.get(s).map(|v| v.1)),
        None if cell_paths.is_empty() => ("not run".to_string(), 0, None),
        None => ("the fault never met a request".to_string(), 0, None),
    };
    let outcomes: std::collections::BTreeSet<_> = met.iter().map(|p| outcome_key(p)).collect();
    let illusions: Vec<crate::verdict::Finding> = match &cell.intent {
        Some(i) => met
            .iter()
            .filter_map(|p| crate::verdict::illusion_of(i, p))
            .collect(),
        None => vec![],
    };
    // A split lint knows (measured before) stays the finding when this drill
    // saw only one of its sides: under load the gateway may take one path
    // for all 20 requests, and the finding must not change with the load.
    let known_split = cell.prediction.as_ref().is_some_and(|x| {
        let alternatives: Vec<&str> = x.text.split(" or ").collect();
        x.nondeterministic
            && distribution
                .iter()
                .all(|(shape, _)| alternatives.contains(&shape.as_str()))
    });
    let (verdict, why) = if cell_paths.is_empty() {
        let v = if interrupted {
            CellVerdict::NotRun
        } else {
            CellVerdict::NotObserved
        };
        (v, Some("no request of this cell completed".to_string()))
    } else if met.is_empty() {
        (
            CellVerdict::NotObserved,
            Some(received_instead(&cell_paths, cell.class)),
        )
    } else if outcomes.len() > 1 || known_split {
        (
            CellVerdict::Nondeterministic,
            illusions.first().and_then(|f| f.why.clone()),
        )
    } else if let Some(f) = illusions.first() {
        (CellVerdict::Illusion, f.why.clone())
    } else {
        let v = match observed_class {
            Some(PathClass::CrossedProvider) => CellVerdict::Crossed,
            Some(PathClass::FellBackSameProvider) => CellVerdict::SameProvider,
            Some(PathClass::Direct) | Some(PathClass::RetriedSameDeployment) => CellVerdict::Served,
            Some(PathClass::FailedAfterFailover) => CellVerdict::FallbackFailed,
            _ if met.iter().any(|p| p.steps.len() > 1) => CellVerdict::RetriedThenFailed,
            _ => CellVerdict::NoFailover,
        };
        (v, None)
    };
    // A load-balanced group's prediction is for the requests sent to the
    // failing target: it holds when those requests took the predicted path.
    let as_predicted = met.is_empty()
        || cell.prediction.as_ref().is_none_or(|x| {
            if x.nondeterministic {
                return known_split;
            }
            let text = x
                .text
                .strip_suffix(" (for the requests sent to it)")
                .unwrap_or(&x.text);
            text == observed && distribution.len() == 1
        });
    Cell {
        group: cell.group,
        class: cell.class,
        stream: lint::streams(cell.class),
        observed,
        agreement: (count, met.len()),
        met: (cell_paths.len(), met.len()),
        distribution,
        why,
        observed_class,
        verdict,
        predicted: cell.prediction,
        as_predicted,
        paths: cell_paths,
        then: None,
        outage: None,
    }
}

/// What the deployments of a cell whose fault never fired received instead.
fn received_instead(paths: &[RequestPath], class: FailureClass) -> String {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for p in paths {
        let key = match p.steps.first() {
            Some(s) => format!("{} answered {}", s.deployment, s.answer()),
            None => "no provider attempt (the gateway answered by itself)".to_string(),
        };
        *seen.entry(key).or_insert(0) += 1;
    }
    let got: Vec<String> = seen.into_iter().map(|(k, n)| format!("{n}x {k}")).collect();
    format!(
        "{class} never met a client request of the {} sent; they met: {}",
        paths.len(),
        got.join(", ")
    )
}

/// Drives every cell at once through the gateway; cells whose requests
/// split between outcomes get more requests until the split is clear; then
/// stops everything and builds the matrix.
async fn execute(
    p: Prepared,
    mocks: MockSet,
    gw: crate::gateway::RunningGateway,
    router: Option<Arc<crate::router::Router>>,
    config: PathBuf,
    opts: &DrillOptions,
    started: Instant,
) -> Result<DrillReport, GatewayError> {
    let startup_ms = gw.startup.as_millis() as u64;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| GatewayError::start(format!("cannot build an HTTP client: {e}")))?;
    let mut target = crate::session::target(&gw);
    if router.is_some() {
        target.marker_header = Some(crate::gateway::balancer::MARKER_HEADER);
    }
    let next_n = Arc::new(AtomicU64::new(0));
    let run_id = crate::runner::run_id();
    let traffic_of = |c: &CellPlan, requests: u32| Traffic {
        model: c.model.clone(),
        requests: Some(u64::from(requests)),
        duration: None,
        concurrency: if c.interval.is_some() { 1 } else { requests },
        rate: None,
        interval: c.interval,
        prompt_tokens: c.prompt_tokens,
        max_tokens: 32,
        stream: lint::streams(c.class),
        api: ClientApi::Openai,
        timeout: Duration::from_secs(150),
        headers: c.headers.clone(),
    };
    let drive_all = |plan: Vec<(usize, Traffic)>| {
        let (client, target, next_n, run_id, cancel) =
            (&client, &target, &next_n, &run_id, &opts.cancel);
        async move {
            let on_done = |_: &RequestRecord| {};
            let runs = plan.iter().map(|(k, t)| async move {
                traffic::drive(
                    client, target, *k, t, run_id, started, next_n, cancel, &on_done,
                )
                .await
            });
            futures_util::future::join_all(runs)
                .await
                .into_iter()
                .flatten()
                .collect::<Vec<RequestRecord>>()
        }
    };
    // Cells lint knows to split go after the others, on a quieter gateway:
    // under the load of every other cell at once LiteLLM took one path for
    // all 20 requests of such a cell, alone it split them.
    let split_known = |c: &CellPlan| c.prediction.as_ref().is_some_and(|x| x.nondeterministic);
    let first: Vec<(usize, Traffic)> = p
        .cells
        .iter()
        .enumerate()
        .filter(|(_, c)| !split_known(c))
        .map(|(k, c)| (k, traffic_of(c, c.requests)))
        .collect();
    // Outage windows count from the traffic's start, as in a scenario.
    // (Read before the journal's clock restarts: a request is never seen
    // earlier than the journal saw it.)
    let traffic_started_us = started.elapsed().as_micros() as u64;
    mocks.journal().restart_clock();
    let mut records = drive_all(first).await;
    // Cells whose requests that met the fault ended differently: send more
    // (an outage cell's requests are its whole sequence: none).
    if !opts.cancel.is_cancelled() && !opts.outage {
        // The mocks journal an attempt when its answer is over; give the
        // last ones a moment.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let joined = paths::join(&records, &mocks.journal().attempts(), &p.providers);
        let more: Vec<(usize, Traffic)> = p
            .cells
            .iter()
            .enumerate()
            .filter(|(k, c)| {
                let outcomes: std::collections::BTreeSet<_> = joined
                    .paths
                    .iter()
                    .filter(|x| x.traffic == *k && met_fault(x, c.class))
                    .map(outcome_key)
                    .collect();
                outcomes.len() > 1 && c.requests < SPLIT_REQUESTS
            })
            .map(|(k, c)| (k, traffic_of(c, SPLIT_REQUESTS - c.requests)))
            .chain(
                p.cells
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| split_known(c))
                    .map(|(k, c)| (k, traffic_of(c, c.requests))),
            )
            .collect();
        if !more.is_empty() {
            records.extend(drive_all(more).await);
        }
    }
    // The primaries recover; each cell then sends a few requests one after
    // the other on the same router state (traffic ids after the cells').
    let mut healed_us = 0;
    if !opts.cancel.is_cancelled() && !opts.outage {
        for id in p.primaries.iter().flatten() {
            if let Some(m) = mocks.get(id) {
                m.heal();
            }
        }
        healed_us = started.elapsed().as_micros() as u64;
        let n = p.cells.len();
        let after: Vec<(usize, Traffic)> = p
            .cells
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let mut t = traffic_of(c, THEN_REQUESTS);
                t.concurrency = 1;
                t.rate = Some(THEN_RATE);
                // A prompt every model of the cell takes.
                t.prompt_tokens = 50;
                (n + k, t)
            })
            .collect();
        records.extend(drive_all(after).await);
    }
    let mut gw = gw;
    let gateway_exited = gw.process.as_mut().and_then(|p| {
        p.exited().map(|status| {
            format!(
                "the gateway's process exited during the drill ({status}); the last lines of its log ({}):\n{}",
                p.log().display(),
                p.log_tail(1_500).trim_end()
            )
        })
    });
    let mut escaped = gw.escapes();
    let gateway_version = gw.version(&records).map_err(GatewayError::start)?;
    let router_facts = match &router {
        Some(r) => {
            escaped.extend(r.escapes().await);
            Some((r.count, r.shared_state.clone(), r.balancer.log.clone()))
        }
        None => None,
    };
    drop(gw);
    drop(router);
    let journal = mocks.shutdown().await;
    // Requests Ctrl-C cut short ran only in part: no cell is judged on them.
    let (cut, records): (Vec<RequestRecord>, Vec<RequestRecord>) =
        records.into_iter().partition(RequestRecord::cut_short);
    let attempts = journal.attempts();
    let mut joined = paths::join(&records, &attempts, &p.providers);
    let replicas = router_facts.map(|(count, shared, log)| {
        let log = crate::gateway::balancer::read_log(&log);
        crate::router::name_replicas(&mut joined.paths, &log);
        crate::router::measure::measure(&crate::router::measure::RouterFacts {
            replicas: count,
            shared_state: shared.as_deref(),
            faults: &[],
            fired: &[],
            records: &records,
            paths: &joined.paths,
            attempts: &attempts,
            log: &log,
            changes: &[],
        })
    });
    let interrupted = opts.cancel.is_cancelled();
    let mut out_cells = Vec::new();
    let n_cells = p.cells.len();
    let sent_us: HashMap<&str, u64> = records
        .iter()
        .map(|r| (r.marker.as_str(), r.started_us))
        .collect();
    for (k, cell) in p.cells.into_iter().enumerate() {
        let cell_paths: Vec<RequestPath> = joined
            .paths
            .iter()
            .filter(|x| x.traffic == k)
            .cloned()
            .collect();
        let mut after_paths: Vec<RequestPath> = joined
            .paths
            .iter()
            .filter(|x| x.traffic == n_cells + k)
            .cloned()
            .collect();
        after_paths.sort_by_key(|x| x.n);
        // Every deployment of the cell's group skipped at start: the cell
        // says so, and holds nothing against the prediction or the intent.
        let unloaded: std::collections::BTreeSet<&str> =
            p.not_loaded.iter().map(|n| n.id.as_str()).collect();
        let mut own = p
            .providers
            .keys()
            .filter(|id| cell_of(id) == Some(k) && group_of(id, &p.group_map) == cell.group);
        let not_loaded = !unloaded.is_empty() && own.all(|id| unloaded.contains(id.as_str()));
        let mut judged = judge_cell(cell, cell_paths, &p.group_map, interrupted);
        let cut_here = cut.iter().filter(|r| r.traffic == k).count();
        if judged.verdict == CellVerdict::NotRun && cut_here > 0 {
            let noun = if cut_here == 1 { "request" } else { "requests" };
            judged.why = Some(format!(
                "Ctrl-C stopped its {cut_here} {noun} before the gateway answered"
            ));
        }
        if not_loaded {
            judged.verdict = CellVerdict::NotLoaded;
            judged.as_predicted = true;
            judged.why = None;
        }
        if !after_paths.is_empty() && !judged.paths.is_empty() {
            judged.then = Some(then_of(after_paths, &p.primaries[k], &sent_us, healed_us));
        }
        if opts.outage && !judged.paths.is_empty() {
            judged.outage = Some(outage_of(
                &judged,
                &p.primaries[k],
                &p.dialects,
                &records,
                &attempts,
                traffic_started_us,
                &p.faults[k],
            ));
        }
        out_cells.push(judged);
    }
    let report = DrillReport {
        config,
        gateway: p.gateway,
        gateway_version,
        startup_ms,
        duration_ms: started.elapsed().as_millis() as u64,
        cells: out_cells,
        warnings: p.warnings,
        escaped,
        out: opts.out.clone(),
        interrupted,
        not_loaded: originals_not_loaded(&p.not_loaded, &p.group_map),
        replicas,
        gateway_exited,
    };
    crate::report::write(&opts.out.join("drill.json"), crate::report::json(&report));
    Ok(report)
}

/// The team's deployments the gateway skipped, once each (a drill's copies
/// named by their original).
fn originals_not_loaded(copies: &[NotLoaded], groups: &HashMap<String, String>) -> Vec<NotLoaded> {
    let mut out: Vec<NotLoaded> = Vec::new();
    for n in copies {
        let id = original(&n.id).to_string();
        if !out.iter().any(|o| o.id == id) {
            out.push(NotLoaded {
                group: group_of(&id, groups),
                id,
                reason: n.reason.clone(),
            });
        }
    }
    out
}

/// The routing behaviour of a drill, one entry per cell (`class, group`);
/// `random` names the groups the gateway load-balances.
pub fn behaviour(
    r: &DrillReport,
    random: &std::collections::BTreeSet<String>,
) -> crate::snapshot::RoutingBehaviour {
    let name = format!(
        "drill-{}",
        r.config
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let random_cells = r
        .cells
        .iter()
        .filter(|c| random.contains(&c.group))
        .map(|c| format!("{}, {}", c.class, c.group))
        .collect();
    // Cells run on copies (`claude-opus--cell3`); a snapshot names the originals.
    let cells: Vec<(String, RequestPath)> = r
        .cells
        .iter()
        .flat_map(|c| {
            c.paths.iter().map(move |p| {
                let mut p = p.clone();
                for s in &mut p.steps {
                    s.deployment = original(&s.deployment).to_string();
                }
                (format!("{}, {}", c.class, c.group), p)
            })
        })
        .collect();
    crate::snapshot::behaviour(
        &name,
        cells.iter().map(|(k, p)| (k.clone(), p)),
        &random_cells,
    )
}

/// What an interrupted drill ran: the cells it judged, and the ones it
/// marks not run (never findings).
fn interrupted_line(r: &DrillReport) -> String {
    let not_run = r
        .cells
        .iter()
        .filter(|c| c.verdict == CellVerdict::NotRun)
        .count();
    format!(
        "interrupted by Ctrl-C: {} of {} cells ran and are judged on the requests that completed; {not_run} not run\n",
        r.cells.len() - not_run,
        r.cells.len()
    )
}

/// The drill as a person reads it in a terminal (colour per `st`).
pub fn render_text_styled(r: &DrillReport, st: crate::report::style::Style) -> String {
    let mut s = format!(
        "crossfire drill of {} ({}{}, started in {:.1}s, drill took {:.1}s)\n",
        r.config.display(),
        r.gateway,
        r.gateway_version
            .as_ref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        r.startup_ms as f64 / 1000.0,
        r.duration_ms as f64 / 1000.0
    );
    if r.interrupted {
        s.push_str(&interrupted_line(r));
    }
    let wg = column_width(r.cells.iter().map(|c| &c.group), "group");
    let wo = column_width(r.cells.iter().map(|c| &c.observed), "observed");
    s.push_str(&format!(
        "\n  {:wg$}  {:21}  {:wo$}  {}\n",
        "group", "failure", "observed", "verdict"
    ));
    for c in &r.cells {
        let stream = if c.stream { " (stream)" } else { "" };
        let label = match c.verdict {
            CellVerdict::Crossed | CellVerdict::Served => st.good(c.verdict.label()),
            CellVerdict::Illusion => st.bad(c.verdict.label()),
            _ => st.warn(c.verdict.label()),
        };
        s.push_str(&format!(
            "  {:wg$}  {:21}  {:wo$}  {label}\n",
            c.group,
            format!("{}{stream}", c.class),
            c.observed,
        ));
        let pad = format!("  {:wg$}  {:21}  ", "", "");
        if c.verdict == CellVerdict::Nondeterministic {
            let split: Vec<String> = c
                .distribution
                .iter()
                .map(|(shape, n)| format!("{shape}: {n} of {}", c.met.1))
                .collect();
            s.push_str(&format!("{pad}split: {}\n", split.join("; ")));
        } else if c.agreement.0 != c.agreement.1 {
            s.push_str(&format!(
                "{pad}({} of {} requests that met the fault took this path)\n",
                c.agreement.0, c.agreement.1
            ));
        }
        if c.met.1 != c.met.0 && c.met.1 > 0 {
            s.push_str(&format!(
                "{pad}({} of {} requests met the fault; the others were served elsewhere)\n",
                c.met.1, c.met.0
            ));
        }
        if let Some(why) = &c.why {
            s.push_str(&format!("{pad}why: {why}\n"));
        }
        if !c.as_predicted {
            if let Some(p) = &c.predicted {
                s.push_str(&format!("{pad}lint predicted: {} ({})\n", p.text, p.why));
            }
        }
        if let Some(t) = &c.then {
            s.push_str(&format!("{pad}then: {}\n", t.text));
        }
        if let Some(t) = &c.outage {
            for line in t.lines() {
                s.push_str(&format!("{pad}{line}\n"));
            }
        }
    }
    if let Some(rep) = &r.replicas {
        s.push_str("\nthe router's replicas:\n");
        for line in rep.lines() {
            s.push_str(&format!("  {line}\n"));
        }
    }
    if !r.warnings.is_empty() {
        s.push_str("\nconfig warnings:\n");
        for w in &r.warnings {
            s.push_str(&format!("  {}\n", w.line_text()));
        }
    }
    for e in &r.escaped {
        s.push_str(&format!(
            "ESCAPED: the gateway tried to reach {} ({})\n",
            e.target, e.method
        ));
    }
    for n in &r.not_loaded {
        s.push_str(&format!(
            "NOT LOADED: deployment `{}` (group `{}`): {}\n",
            n.id, n.group, n.reason
        ));
    }
    if let Some(e) = &r.gateway_exited {
        s.push_str(&format!("GATEWAY EXITED: {e}\n"));
    }
    let illusions = r
        .cells
        .iter()
        .filter(|c| c.verdict == CellVerdict::Illusion)
        .count();
    let mismatches = r.cells.iter().filter(|c| !c.as_predicted).count();
    let count = |v: CellVerdict| r.cells.iter().filter(|c| c.verdict == v).count();
    let mut extra = String::new();
    for (v, what) in [
        (CellVerdict::Nondeterministic, "nondeterministic failover"),
        (
            CellVerdict::NotObserved,
            "not observed (the fault never met the traffic)",
        ),
        (CellVerdict::NotRun, "not run"),
    ] {
        let n = count(v);
        if n > 0 {
            extra.push_str(&format!(", {n} {what}"));
        }
    }
    s.push_str(&format!(
        "\n{} cells: {illusions} Failover Illusion, {mismatches} unlike the prediction{extra}; run folder {}\n",
        r.cells.len(),
        r.out.display()
    ));
    s
}

/// The drill as Markdown: a matrix (groups x failure classes) and the cells.
pub fn render_markdown(r: &DrillReport) -> String {
    let mut s = format!(
        "# crossfire drill: `{}`\n\n{}{} · {} cells · {:.1}s\n\n",
        r.config.display(),
        r.gateway,
        r.gateway_version
            .as_ref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        r.cells.len(),
        r.duration_ms as f64 / 1000.0
    );
    if r.interrupted {
        s.push_str(&format!("**{}**\n\n", interrupted_line(r).trim_end()));
    }
    let mut classes: Vec<FailureClass> = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    for c in &r.cells {
        if !classes.contains(&c.class) {
            classes.push(c.class);
        }
        if !groups.contains(&c.group) {
            groups.push(c.group.clone());
        }
    }
    s.push_str("| group |");
    for c in &classes {
        s.push_str(&format!(" {c} |"));
    }
    s.push_str("\n|---|");
    for _ in &classes {
        s.push_str("---|");
    }
    s.push('\n');
    for g in &groups {
        s.push_str(&format!("| {g} |"));
        for c in &classes {
            let cell = r.cells.iter().find(|x| &x.group == g && x.class == *c);
            let text = cell.map_or("".to_string(), |x| {
                let mark = if x.as_predicted { "" } else { " ⚠" };
                format!("{}{mark}", x.verdict.label())
            });
            s.push_str(&format!(" {text} |"));
        }
        s.push('\n');
    }
    s.push_str("\n⚠ = observed differs from lint's prediction. ILLUSION = the operator's intent (what the config looks like it does) was not met; lint's prediction is what the gateway's own rules do.\n\n| group | failure | observed | predicted | why | then (primary recovered) |\n|---|---|---|---|---|---|\n");
    for c in &r.cells {
        let observed = if c.verdict == CellVerdict::Nondeterministic {
            c.distribution
                .iter()
                .map(|(shape, n)| format!("`{shape}` {n} of {}", c.met.1))
                .collect::<Vec<_>>()
                .join("; ")
        } else {
            format!("`{}`", c.observed)
        };
        s.push_str(&format!(
            "| {} | {} | {observed} | {} | {} | {} |\n",
            c.group,
            c.class,
            c.predicted
                .as_ref()
                .map_or("-".to_string(), |p| format!("`{}`", p.text)),
            c.why.as_deref().unwrap_or("").replace('|', "\\|"),
            c.then.as_ref().map_or("", |t| t.text.as_str())
        ));
    }
    let mut by_group: BTreeMap<&str, Vec<&RequestPath>> = BTreeMap::new();
    for c in &r.cells {
        by_group
            .entry(c.group.as_str())
            .or_default()
            .extend(c.paths.iter());
    }
    for (g, paths) in by_group {
        s.push_str(&format!(
            "\n### Where `{g}` traffic went, across every failure\n\n```mermaid\n{}```\n",
            crate::report::mermaid::drill_flowchart(g, &paths)
        ));
    }
    if let Some(e) = &r.gateway_exited {
        s.push_str(&format!(
            "\n## The gateway exited during the drill\n\n```\n{e}\n```\n"
        ));
    }
    if !r.not_loaded.is_empty() {
        s.push_str("\n## Deployments the gateway did not load\n\n");
        for n in &r.not_loaded {
            s.push_str(&format!(
                "- `{}` (group `{}`): {}\n",
                n.id, n.group, n.reason
            ));
        }
    }
    if let Some(rep) = &r.replicas {
        s.push_str("\n## The router's replicas\n\n");
        for line in rep.lines() {
            s.push_str(&format!("- {line}\n"));
        }
    }
    if !r.warnings.is_empty() {
        s.push_str("\n## Config warnings\n\n");
        for w in &r.warnings {
            s.push_str(&format!("- {}\n", w.message));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Step;
    use mock_providers::Outcome;

    fn step(d: &str, p: &str, outcome: Outcome, status: u16) -> Step {
        Step {
            replica: None,
            seq: 0,
            deployment: d.into(),
            provider: p.into(),
            outcome,
            status: Some(status),
            completed: true,
            service_us: 0,
            prompt_tokens: None,
        }
    }

    fn path(n: u64, steps: Vec<Step>, ok: bool, status: u16) -> RequestPath {
        RequestPath {
            replica: None,
            n,
            marker: format!("xf:t:{n}"),
            traffic: 0,
            model: "claude-opus".into(),
            class: paths::classify(&steps, ok),
            met_fault: steps.iter().any(|s| s.faulted()),
            steps,
            client_status: Some(status),
            ok,
            latency_us: 0,
        }
    }

    /// After the recovery: straight back, back after a cooldown, never back,
    /// and the gateway refusing by itself, each said in its own words.
    #[test]
    fn what_happens_after_the_primary_recovers_is_measured_from_the_paths() {
        let primary = BTreeSet::from(["claude".to_string()]);
        let on = |n| {
            path(
                n,
                vec![step("claude", "anthropic", Outcome::Served, 200)],
                true,
                200,
            )
        };
        let off = |n| {
            path(
                n,
                vec![step("gpt", "openai", Outcome::Served, 200)],
                true,
                200,
            )
        };
        let refused = |n| path(n, vec![], false, 429);
        let markers: Vec<String> = (1..=4).map(|n| format!("xf:t:{n}")).collect();
        // Sent 0.5 s apart, the recovery at 1 s.
        let sent: HashMap<&str, u64> = markers
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), 1_000_000 + i as u64 * 500_000))
            .collect();
        let t = then_of(vec![on(1), on(2), on(3), on(4)], &primary, &sent, 1_000_000);
        assert_eq!(
            t.text,
            "primary recovered: back on it at once (4 of 4 requests)"
        );
        assert_eq!((t.on_primary, t.back_after_ms), (4, Some(0)));
        let t = then_of(
            vec![off(1), refused(2), on(3), on(4)],
            &primary,
            &sent,
            1_000_000,
        );
        assert_eq!(
            t.text,
            "primary recovered: 2 more requests stayed off it, back on it after 1.0 s (2 of 4); the gateway refused 1 by itself (no provider attempt)"
        );
        assert_eq!((t.refused, t.back_after_ms), (1, Some(1000)));
        let t = then_of(
            vec![off(1), off(2), off(3), off(4)],
            &primary,
            &sent,
            1_000_000,
        );
        assert_eq!(
            t.text,
            "primary recovered: none of 4 requests went back to it in 1.5 s"
        );
        assert_eq!(t.back_after_ms, None);
    }

    fn plan(intent: Option<crate::intent::GroupIntent>) -> CellPlan {
        CellPlan {
            group: "claude-opus".into(),
            class: FailureClass::RateLimit,
            model: "claude-opus".into(),
            headers: BTreeMap::new(),
            prompt_tokens: 50,
            requests: 2,
            prediction: None,
            intent,
            interval: None,
        }
    }

    fn promise() -> crate::intent::GroupIntent {
        crate::intent::GroupIntent {
            by_class: BTreeMap::from([(
                FailureClass::RateLimit,
                std::collections::BTreeSet::from(["openai".to_string()]),
            )]),
            source: "`router_settings.fallbacks` at c.yaml:9".into(),
            why: BTreeMap::from([(FailureClass::RateLimit, "because".to_string())]),
            ..Default::default()
        }
    }

    const LIMIT: Outcome = Outcome::Fault(FailureClass::RateLimit);

    fn groups() -> HashMap<String, String> {
        HashMap::from([
            ("claude".to_string(), "claude-opus".to_string()),
            ("gpt".to_string(), "gpt-4o".to_string()),
        ])
    }

    #[test]
    fn a_fault_that_never_met_a_request_is_not_observed_and_says_what_came_instead() {
        let served = |n| {
            path(
                n,
                vec![step("gpt", "openai", Outcome::Served, 200)],
                true,
                200,
            )
        };
        let c = judge_cell(
            plan(Some(promise())),
            vec![served(1), served(2)],
            &groups(),
            false,
        );
        assert_eq!(c.verdict, CellVerdict::NotObserved);
        assert_eq!(
            c.why.as_deref(),
            Some("rate_limit never met a client request of the 2 sent; they met: 2x gpt answered 200")
        );
        assert!(c.as_predicted, "nothing observed contradicts nothing");
    }

    #[test]
    fn requests_that_split_between_outcomes_are_nondeterministic() {
        let crossed = |n| {
            path(
                n,
                vec![
                    step("claude", "anthropic", LIMIT, 429),
                    step("gpt", "openai", Outcome::Served, 200),
                ],
                true,
                200,
            )
        };
        let failed = |n| path(n, vec![step("claude", "anthropic", LIMIT, 429)], false, 429);
        let c = judge_cell(
            plan(Some(promise())),
            vec![crossed(1), failed(2), crossed(3)],
            &groups(),
            false,
        );
        assert_eq!(c.verdict, CellVerdict::Nondeterministic);
        assert_eq!(
            c.distribution,
            vec![
                ("claude-opus -> gpt-4o (openai) 200".to_string(), 2),
                ("claude-opus -> client 429".to_string(), 1)
            ]
        );
        let same = judge_cell(
            plan(Some(promise())),
            vec![failed(1), failed(2)],
            &groups(),
            false,
        );
        assert_eq!(same.verdict, CellVerdict::Illusion);
        assert_eq!(same.why.as_deref(), Some("because"));
        let kept = judge_cell(
            plan(Some(promise())),
            vec![crossed(1), crossed(2)],
            &groups(),
            false,
        );
        assert_eq!(kept.verdict, CellVerdict::Crossed);
    }

    #[test]
    fn a_known_split_seen_on_one_side_only_is_still_nondeterministic() {
        let mut p = plan(Some(promise()));
        p.prediction = Some(lint::Prediction {
            group: "claude-opus".into(),
            class: FailureClass::RateLimit,
            exception: String::new(),
            attempts: 1,
            fallback: None,
            outcome: PathClass::FailedNoFailover,
            client_status: 429,
            text: "claude-opus -> client 429 or claude-opus -> gpt-4o (openai) 200".into(),
            why: "measured".into(),
            nondeterministic: true,
        });
        let failed = |n| path(n, vec![step("claude", "anthropic", LIMIT, 429)], false, 429);
        let c = judge_cell(p, vec![failed(1), failed(2)], &groups(), false);
        assert_eq!(c.verdict, CellVerdict::Nondeterministic);
        assert!(c.as_predicted);
        // A path outside both sides contradicts the prediction.
        let mut p = plan(Some(promise()));
        p.prediction = Some(lint::Prediction {
            text: "claude-opus -> client 500 or claude-opus -> gpt-4o (openai) 200".into(),
            nondeterministic: true,
            ..c.predicted.clone().expect("prediction")
        });
        let other = judge_cell(p, vec![failed(1), failed(2)], &groups(), false);
        assert_eq!(other.verdict, CellVerdict::Illusion);
        assert!(!other.as_predicted);
    }

    #[test]
    fn only_the_requests_that_met_the_fault_are_judged() {
        // A load-balanced cell: one request went to the healthy target.
        let healthy = path(
            1,
            vec![step("gpt", "openai", Outcome::Served, 200)],
            true,
            200,
        );
        let failed = path(2, vec![step("claude", "anthropic", LIMIT, 429)], false, 429);
        let c = judge_cell(
            plan(Some(promise())),
            vec![healthy, failed],
            &groups(),
            false,
        );
        assert_eq!(c.verdict, CellVerdict::Illusion);
        assert_eq!(c.met, (2, 1));
        assert_eq!(c.observed, "claude-opus -> client 429");
    }

    #[test]
    fn a_random_pick_gets_enough_requests_to_reach_the_failing_target() {
        assert_eq!(requests_to_reach(1.0, 2), 2);
        // Half the picks: (1/2)^20 < 10^-6.
        assert_eq!(requests_to_reach(0.5, 2), 20);
        assert!(0.5f64.powi(19) > 1e-6);
        assert_eq!(requests_to_reach(0.01, 2), MAX_CELL_REQUESTS);
    }
}
