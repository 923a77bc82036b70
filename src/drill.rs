//! `crossfire drill`: no scenario needed. For every model group and failure
//! class, the fault is injected on the group's deployments, a few requests go
//! through the real gateway, and the matrix cell holds what happened beside
//! what lint predicted from the config.

use crate::gateway::litellm::{self, config::LitellmConfig, isolate, lint};
use crate::gateway::portkey::{self, config::PortkeyConfig};
use crate::gateway::{sink::Escape, GatewayError, GatewayOptions};
use crate::paths::{self, Path as ReqPath, PathClass};
use crate::report::column_width;
use crate::scenario::{ClientApi, Traffic};
use crate::traffic::{self, RequestRecord, Target};
use mock_providers::{DeploymentSpec, FailureClass, Fault, JournalConfig, MockSet, Schedule};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
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
}

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
    /// The observed path, as lint writes predictions.
    pub observed: String,
    /// How many requests took that path, of how many.
    pub agreement: (usize, usize),
    /// The observed path class (most common).
    pub observed_class: Option<PathClass>,
    /// lint's prediction.
    pub predicted: Option<lint::Prediction>,
    /// Whether observation and prediction agree.
    pub as_predicted: bool,
    /// The verdict.
    pub verdict: CellVerdict,
    /// The requests' paths.
    pub paths: Vec<ReqPath>,
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
}

impl DrillReport {
    /// Findings: illusions, predictions that did not hold, escapes.
    pub fn findings(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| c.verdict == CellVerdict::Illusion || !c.as_predicted)
            .count()
            + self.escaped.len()
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
fn shape(p: &ReqPath, groups: &HashMap<String, String>) -> String {
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
    let id = isolate::original(deployment);
    groups.get(id).cloned().unwrap_or_else(|| id.to_string())
}

fn verdict(
    cell_paths: &[ReqPath],
    observed: Option<PathClass>,
    promised_elsewhere: bool,
) -> CellVerdict {
    let crossed = observed == Some(PathClass::CrossedProvider);
    if promised_elsewhere && !crossed {
        return CellVerdict::Illusion;
    }
    match observed {
        Some(PathClass::CrossedProvider) => CellVerdict::Crossed,
        Some(PathClass::FellBackSameProvider) => CellVerdict::SameProvider,
        Some(PathClass::Direct) | Some(PathClass::RetriedSameDeployment) => CellVerdict::Served,
        Some(PathClass::FailedAfterFailover) => CellVerdict::FallbackFailed,
        _ => {
            let retried = cell_paths.iter().any(|p| p.steps.len() > 1);
            if retried {
                CellVerdict::RetriedThenFailed
            } else {
                CellVerdict::NoFailover
            }
        }
    }
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
    prediction: Option<lint::Prediction>,
    promised_elsewhere: bool,
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
fn arm(spec: &mut DeploymentSpec, model: &str, class: FailureClass, primary: bool, fault: &Fault) {
    if class == FailureClass::ContextOverflow {
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

/// Runs the drill of a LiteLLM config.
pub async fn drill_litellm(
    cfg: &LitellmConfig,
    opts: &DrillOptions,
) -> Result<DrillReport, GatewayError> {
    let started = Instant::now();
    crate::gateway::create_dir(&opts.out)?;
    let groups: Vec<String> = cfg
        .groups()
        .into_iter()
        .filter(|g| opts.groups.is_empty() || opts.groups.contains(g))
        .filter(|g| cfg.items_of(g).iter().any(|i| i.mapped.is_some()))
        .collect();
    let pairs = cell_pairs(&groups, &opts.classes);
    let cell_groups: Vec<String> = pairs.iter().map(|(g, _)| g.clone()).collect();
    let isolated = isolate::isolate(cfg, &cell_groups, &opts.out.join("drill-source.yaml"))?;
    let group_map: HashMap<String, String> = cfg
        .items
        .iter()
        .map(|i| (i.id.clone(), i.group.clone()))
        .collect();
    let (deployments, _) = crate::scenario::litellm_deployments(&isolated, true)?;
    let providers = deployments
        .iter()
        .map(|d| (d.id().to_string(), d.provider.clone()))
        .collect();
    let specs: Vec<DeploymentSpec> = deployments
        .into_iter()
        .map(|d| {
            let mut spec = d.spec;
            if let Some(k) = isolate::cell_of(&spec.id) {
                let (group, class) = &pairs[k];
                let primary = group_of(&spec.id, &group_map) == *group;
                arm(
                    &mut spec,
                    &d.model,
                    *class,
                    primary,
                    &drill_fault(*class, cfg.routing.timeout),
                );
            }
            spec
        })
        .collect();
    let intent = litellm::intent::derive(cfg);
    let cells = pairs
        .iter()
        .enumerate()
        .map(|(k, (g, c))| CellPlan {
            group: g.clone(),
            class: *c,
            model: format!("{g}{}", isolate::suffix(k)),
            headers: BTreeMap::new(),
            prompt_tokens: match c {
                FailureClass::ContextOverflow => cfg
                    .items_of(g)
                    .first()
                    .map_or(200, |i| overflow_prompt(&i.upstream_model)),
                _ => 50,
            },
            prediction: lint::predict(cfg, g, *c),
            promised_elsewhere: intent
                .get(g)
                .is_some_and(|i| !i.for_class(*c).is_subset(&cfg.providers_of(g))),
        })
        .collect();
    let prepared = Prepared {
        cells,
        group_map,
        providers,
        gateway: "litellm",
        warnings: lint::warnings(cfg),
    };
    let mocks = start_mocks(specs, opts).await?;
    let bin = litellm::binary(&opts.gateway.litellm, &mut |l| eprintln!("crossfire: {l}"))?;
    let bases = mocks
        .deployments()
        .iter()
        .map(|d| (d.id.clone(), d.base_url()))
        .collect();
    let gw = litellm::start(
        &isolated,
        &bin,
        &bases,
        &opts.out,
        Duration::from_secs(240),
        &opts.cancel,
    )
    .await?;
    execute(prepared, mocks, gw, cfg.src.file.clone(), opts, started).await
}

/// Runs the drill of a Portkey config: the whole config is one group; every
/// cell sends its own copy of the config (own mocks) in `x-portkey-config`.
pub async fn drill_portkey(
    cfg: &PortkeyConfig,
    opts: &DrillOptions,
) -> Result<DrillReport, GatewayError> {
    let started = Instant::now();
    crate::gateway::create_dir(&opts.out)?;
    let deployments = crate::scenario::portkey_deployments(cfg)?;
    let pairs = cell_pairs(std::slice::from_ref(&cfg.name), &opts.classes);
    let primary = cfg.primary();
    let mut specs = Vec::new();
    let mut providers = HashMap::new();
    for (k, (_, class)) in pairs.iter().enumerate() {
        for (i, d) in deployments.iter().enumerate() {
            let mut spec = d.spec.clone();
            spec.id = format!("{}{}", d.id(), isolate::suffix(k));
            arm(
                &mut spec,
                &d.model,
                *class,
                primary.contains(&i),
                &drill_fault(*class, None),
            );
            providers.insert(spec.id.clone(), d.provider.clone());
            specs.push(spec);
        }
    }
    let group_map = cfg
        .leaves
        .iter()
        .map(|l| (l.id.clone(), l.id.clone()))
        .collect();
    let mocks = start_mocks(specs, opts).await?;
    let intent = portkey::lint::intent(cfg, &opts.classes);
    let own: std::collections::BTreeSet<String> = primary
        .iter()
        .filter_map(|i| cfg.leaves[*i].mapped.as_ref().map(|(p, _)| p.clone()))
        .collect();
    let mut cells = Vec::new();
    for (k, (g, c)) in pairs.iter().enumerate() {
        let bases: BTreeMap<String, String> = cfg
            .leaves
            .iter()
            .filter_map(|l| {
                mocks
                    .get(&format!("{}{}", l.id, isolate::suffix(k)))
                    .map(|m| (l.id.clone(), m.base_url()))
            })
            .collect();
        let header = serde_json::to_string(&portkey::config::rewrite(cfg, &bases))
            .map_err(|e| GatewayError::start(format!("cannot encode the Portkey config: {e}")))?;
        let first_model = primary
            .first()
            .map(|i| deployments[*i].model.clone())
            .unwrap_or_else(|| "gpt-4o".into());
        cells.push(CellPlan {
            group: g.clone(),
            class: *c,
            model: first_model.clone(),
            headers: BTreeMap::from([("x-portkey-config".to_string(), header)]),
            prompt_tokens: match c {
                FailureClass::ContextOverflow => overflow_prompt(&first_model),
                _ => 50,
            },
            prediction: Some(portkey::lint::predict(cfg, *c)),
            promised_elsewhere: intent
                .get(g)
                .is_some_and(|i| !i.for_class(*c).is_subset(&own)),
        });
    }
    let prepared = Prepared {
        cells,
        group_map,
        providers,
        gateway: "portkey",
        warnings: portkey::lint::warnings(cfg),
    };
    let install = portkey::install(&mut |l| eprintln!("crossfire: {l}"))?;
    let bases = BTreeMap::new();
    let gw = portkey::start(
        cfg,
        &install,
        &bases,
        &opts.out,
        Duration::from_secs(60),
        &opts.cancel,
    )
    .await?;
    execute(prepared, mocks, gw, cfg.src.file.clone(), opts, started).await
}

async fn start_mocks(
    specs: Vec<DeploymentSpec>,
    opts: &DrillOptions,
) -> Result<MockSet, GatewayError> {
    MockSet::start(
        specs,
        JournalConfig {
            memory_cap: 1_000_000,
            file: Some(opts.out.join("journal.jsonl")),
        },
    )
    .await
    .map_err(|e| GatewayError::start(format!("cannot start the mock providers: {e}")))
}

/// Drives every cell at once through the gateway, stops everything, and
/// builds the matrix.
async fn execute(
    p: Prepared,
    mocks: MockSet,
    gw: crate::gateway::RunningGateway,
    config: PathBuf,
    opts: &DrillOptions,
    started: Instant,
) -> Result<DrillReport, GatewayError> {
    let startup_ms = gw.startup.as_millis() as u64;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| GatewayError::start(format!("cannot build an HTTP client: {e}")))?;
    let target = Target::new(gw.base_url.clone(), gw.headers.clone());
    let next_n = Arc::new(AtomicU64::new(0));
    let run_id = crate::runner::run_id();
    let traffic: Vec<Traffic> = p
        .cells
        .iter()
        .map(|c| Traffic {
            model: c.model.clone(),
            requests: Some(u64::from(opts.requests)),
            duration: None,
            concurrency: opts.requests,
            rate: None,
            prompt_tokens: c.prompt_tokens,
            max_tokens: 32,
            stream: lint::streams(c.class),
            api: ClientApi::Openai,
            timeout: Duration::from_secs(150),
            headers: c.headers.clone(),
        })
        .collect();
    let on_done = |_: &RequestRecord| {};
    let runs = traffic.iter().enumerate().map(|(k, t)| {
        let (client, target, next_n, run_id, cancel) =
            (&client, &target, &next_n, &run_id, &opts.cancel);
        async move {
            traffic::drive(
                client, target, k, t, run_id, started, next_n, cancel, &on_done,
            )
            .await
        }
    });
    let records: Vec<RequestRecord> = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    let escaped = gw.escapes();
    let gateway_version = gw.version(&records).map_err(GatewayError::start)?;
    drop(gw);
    let journal = mocks.shutdown().await;
    let joined = paths::join(&records, &journal.attempts(), &p.providers);
    let mut out_cells = Vec::new();
    for (k, cell) in p.cells.into_iter().enumerate() {
        let cell_paths: Vec<ReqPath> = joined
            .paths
            .iter()
            .filter(|x| x.traffic == k)
            .cloned()
            .collect();
        let mut shapes: BTreeMap<String, (usize, PathClass)> = BTreeMap::new();
        for x in &cell_paths {
            shapes
                .entry(shape(x, &p.group_map))
                .or_insert((0, x.class))
                .0 += 1;
        }
        let (observed, (count, observed_class)) = shapes
            .iter()
            .max_by_key(|(_, (n, _))| *n)
            .map(|(s, v)| (s.clone(), *v))
            .unwrap_or_else(|| ("no requests".into(), (0, PathClass::Unattributed)));
        // A load-balanced group's prediction is for the requests sent to the
        // failing target: it holds when those requests took the predicted path.
        let as_predicted = cell.prediction.as_ref().is_none_or(|x| {
            x.text == observed
                || x.text
                    .strip_suffix(" (for the requests sent to it)")
                    .is_some_and(|t| shapes.contains_key(t))
        });
        let observed_class = (!cell_paths.is_empty()).then_some(observed_class);
        out_cells.push(Cell {
            group: cell.group,
            class: cell.class,
            stream: lint::streams(cell.class),
            observed,
            agreement: (count, cell_paths.len()),
            observed_class,
            verdict: verdict(&cell_paths, observed_class, cell.promised_elsewhere),
            predicted: cell.prediction,
            as_predicted,
            paths: cell_paths,
        });
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
        interrupted: opts.cancel.is_cancelled(),
    };
    crate::report::write(&opts.out.join("drill.json"), crate::report::json(&report));
    Ok(report)
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
    let cells: Vec<(String, ReqPath)> = r
        .cells
        .iter()
        .flat_map(|c| {
            c.paths.iter().map(move |p| {
                let mut p = p.clone();
                for s in &mut p.steps {
                    s.deployment = isolate::original(&s.deployment).to_string();
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
        if !c.as_predicted {
            if let Some(p) = &c.predicted {
                s.push_str(&format!(
                    "  {:wg$}  {:21}  lint predicted: {} ({})\n",
                    "", "", p.text, p.why
                ));
            }
        }
        if c.agreement.0 != c.agreement.1 {
            s.push_str(&format!(
                "  {:wg$}  {:21}  ({} of {} requests took this path)\n",
                "", "", c.agreement.0, c.agreement.1
            ));
        }
    }
    if !r.warnings.is_empty() {
        s.push_str("\nconfig warnings:\n");
        for w in &r.warnings {
            let at = if w.line > 0 {
                format!("line {}: ", w.line)
            } else {
                String::new()
            };
            s.push_str(&format!("  {at}{}\n", w.message));
        }
    }
    for e in &r.escaped {
        s.push_str(&format!(
            "ESCAPED: the gateway tried to reach {} ({})\n",
            e.target, e.method
        ));
    }
    let illusions = r
        .cells
        .iter()
        .filter(|c| c.verdict == CellVerdict::Illusion)
        .count();
    let mismatches = r.cells.iter().filter(|c| !c.as_predicted).count();
    s.push_str(&format!(
        "\n{} cells: {illusions} Failover Illusion, {mismatches} unlike the prediction; run folder {}\n",
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
    s.push_str("\n⚠ = observed differs from lint's prediction.\n\n| group | failure | observed | predicted |\n|---|---|---|---|\n");
    for c in &r.cells {
        s.push_str(&format!(
            "| {} | {} | `{}` | {} |\n",
            c.group,
            c.class,
            c.observed,
            c.predicted
                .as_ref()
                .map_or("-".to_string(), |p| format!("`{}`", p.text))
        ));
    }
    let mut by_group: BTreeMap<&str, Vec<&ReqPath>> = BTreeMap::new();
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
    if !r.warnings.is_empty() {
        s.push_str("\n## Config warnings\n\n");
        for w in &r.warnings {
            s.push_str(&format!("- {}\n", w.message));
        }
    }
    s
}
