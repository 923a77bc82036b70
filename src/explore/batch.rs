//! Many explore cases in one gateway start. Starting LiteLLM takes about
//! 9 s on two cores and a case well under one, so a gateway started per case
//! spends nearly all of an exploration starting. A gateway whose adapter
//! plans drills ([`GatewayConfig::drill_plan`]) serves a batch of cases the
//! way it serves a drill's cells: slot k of the batch is its own copy of the
//! traffic's group and of every group its failures reach, with its own
//! deployments (own mocks, own ids), so no case inherits router state
//! (cooldowns, failure counts) another case left. A case takes the next
//! fresh slot, arms that slot's mocks with its faults, sends the scenario's
//! traffic to the slot's copy, and is judged on its own paths only, read
//! back under the base scenario's ids. A shrinking re-run is a case like any
//! other: it takes a fresh slot too. A spent batch is stopped and the next
//! one started.
//!
//! Gateways that cannot isolate (command, url), a scenario whose traffic
//! asks for more than one group, replicas and gateway faults keep one start
//! per case.

use crate::deployment::{cell_of, cell_suffix, original};
use crate::gateway::adapter::{DrillRoute, GatewayConfig};
use crate::gateway::{GatewayError, GatewayOptions, RunningGateway};
use crate::paths::{self, RequestPath};
use crate::records::RequestRecord;
use crate::scenario::{Deployment, Gateway, Scenario};
use crate::traffic::{self, Target};
use futures_util::StreamExt;
use mock_providers::{Attempt, FailureClass, JournalConfig, MockSet};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Most cases one gateway start serves.
pub const MAX_SLOTS: usize = 96;

/// Slots a start keeps beyond the cases asked for, for shrinking re-runs.
pub const SHRINK_SLOTS: usize = 32;

/// Cases run at once, each on its own copies: most of a case's time is
/// the gateway waiting (retry backoff, `retry-after`), not working.
pub const AT_ONCE: usize = 6;

/// Cases run ahead of proptest asking for them, at most, when it asks for
/// one it will generate anyway: after a violation, the rest are wasted.
pub const AHEAD: usize = 4 * AT_ONCE;

/// How long a case waits, after its last answer, for attempts still being
/// journaled (a slow answer the gateway gave up on): as long as stopping a
/// mock set waits for them. A `stall` or `hang` the gateway still holds
/// open after that is not in the case's paths (stopping the mocks would
/// have ended and journaled it).
const SETTLE: Duration = Duration::from_secs(5);

/// What one case observed, under the base scenario's ids.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Why the case did not run, when it did not.
    pub error: Option<String>,
    /// The paths of its requests.
    pub paths: Vec<RequestPath>,
    /// Its attempts no request of it claims.
    pub stray: Vec<Attempt>,
    /// Its requests as the client saw them (empty when the runner kept
    /// them in its own run folder).
    pub records: Vec<RequestRecord>,
}

/// Cases of one base scenario run in shared gateway starts.
pub struct Batches {
    config: Arc<dyn GatewayConfig>,
    startup_timeout: Duration,
    slots: usize,
    out: PathBuf,
    options: GatewayOptions,
    cancel: CancellationToken,
    /// Gateway starts so far.
    starts: usize,
    current: Option<Batch>,
    /// Why the gateway cannot isolate cases, once a plan said so.
    cannot: Option<String>,
}

/// One gateway start and the mocks of all its slots.
struct Batch {
    mocks: MockSet,
    gateway: RunningGateway,
    target: Target,
    client: reqwest::Client,
    routes: Vec<DrillRoute>,
    headers: Vec<BTreeMap<String, String>>,
    providers: HashMap<String, String>,
    next: usize,
}

impl Batches {
    /// Batches for exploring `base` with `cases` cases: one start serves
    /// them and some shrinking (at most [`MAX_SLOTS`]); `None` when its
    /// gateway runs one case per start (see the module docs).
    pub fn new(
        base: &Scenario,
        cases: usize,
        out: &Path,
        options: &GatewayOptions,
        cancel: &CancellationToken,
    ) -> Option<Batches> {
        let Gateway::Config(c) = &base.gateway else {
            return None;
        };
        let groups: BTreeSet<&str> = base.traffic.iter().map(|t| t.model.as_str()).collect();
        if c.replicas.is_some() || !base.gateway_faults.is_empty() || groups.len() != 1 {
            return None;
        }
        Some(Batches {
            config: c.config.clone(),
            startup_timeout: c.startup_timeout,
            slots: (cases + SHRINK_SLOTS).min(MAX_SLOTS),
            out: out.to_path_buf(),
            options: options.clone(),
            cancel: cancel.clone(),
            starts: 0,
            current: None,
            cannot: None,
        })
    }

    /// Gateway starts so far.
    pub fn starts(&self) -> usize {
        self.starts
    }

    /// Runs `cases` (the base scenario, each with a case's faults), each
    /// in a fresh slot, up to [`AT_ONCE`] at a time. `Err` with the reason
    /// when the gateway cannot isolate cases after all: the caller starts a
    /// gateway per case from then on.
    pub async fn run(&mut self, cases: &[Scenario]) -> Result<Vec<Observed>, String> {
        let mut out = Vec::with_capacity(cases.len());
        while out.len() < cases.len() {
            if let Some(why) = &self.cannot {
                return Err(why.clone());
            }
            if self.current.as_ref().is_some_and(|b| b.next >= self.slots) {
                self.stop().await;
            }
            let rest = &cases[out.len()..];
            if self.current.is_none() {
                match self.start(&rest[0]).await {
                    Ok(b) => self.current = Some(b),
                    Err(Start::CannotIsolate(why)) => {
                        self.cannot = Some(why.clone());
                        return Err(why);
                    }
                    // Every case meant for this start says why it did not run.
                    Err(Start::Failed(e)) => {
                        out.extend(rest.iter().map(|_| Observed {
                            error: Some(e.clone()),
                            ..Observed::default()
                        }));
                        continue;
                    }
                }
            }
            let Some(b) = self.current.as_mut() else {
                continue;
            };
            let n = rest.len().min(self.slots - b.next);
            let first = b.next;
            b.next += n;
            let b = &*b;
            let cancel = &self.cancel;
            let runs = rest[..n]
                .iter()
                .enumerate()
                .map(|(j, case)| async move { (j, b.case(first + j, case, cancel).await) });
            let mut done: Vec<(usize, Observed)> = futures_util::stream::iter(runs)
                .buffer_unordered(AT_ONCE)
                .collect()
                .await;
            done.sort_by_key(|(j, _)| *j);
            out.extend(done.into_iter().map(|(_, o)| o));
        }
        Ok(out)
    }

    /// Stops the running gateway, then its mocks.
    pub async fn stop(&mut self) {
        if let Some(b) = self.current.take() {
            drop(b.target);
            drop(b.gateway);
            b.mocks.shutdown().await;
        }
    }

    /// Plans a batch (every slot a copy of the traffic's group), starts its
    /// mocks and the gateway over them.
    async fn start(&mut self, base: &Scenario) -> Result<Batch, Start> {
        self.starts += 1;
        let dir = self.out.join(format!("gateway-{:02}", self.starts));
        crate::gateway::create_dir(&dir).map_err(|e| Start::Failed(e.to_string()))?;
        let group = base
            .traffic
            .first()
            .map(|t| t.model.clone())
            .unwrap_or_default();
        // The class does not shape a plan's copies; the faults are armed per case.
        let pairs = vec![(group.clone(), FailureClass::ServerError); self.slots];
        let plan = self
            .config
            .drill_plan(&pairs, &dir)
            .map_err(|e| Start::CannotIsolate(e.to_string()))?;
        if !plan.deployments.iter().any(|d| d.cell == Some(0)) {
            return Err(Start::CannotIsolate(format!(
                "the gateway's plan has no copy of group `{group}`"
            )));
        }
        let deployments: Vec<Deployment> = plan
            .deployments
            .iter()
            .map(|d| slot_copy(base, &d.deployment))
            .collect();
        let providers = deployments
            .iter()
            .map(|d| (d.id().to_string(), d.provider.clone()))
            .collect();
        let mocks = crate::session::start_mocks(
            &deployments,
            JournalConfig {
                memory_cap: crate::runner::DEFAULT_JOURNAL_MEMORY_CAP,
                file: Some(dir.join("journal.jsonl")),
            },
        )
        .await
        .map_err(|e| Start::Failed(e.to_string()))?;
        let bases = crate::session::mock_bases(&deployments, &mocks);
        let headers = (0..self.slots)
            .map(|k| plan.config.cell_headers(k, &bases))
            .collect::<Result<Vec<_>, GatewayError>>()
            .map_err(|e| Start::Failed(e.to_string()))?;
        // Every slot's copies at once: a slower start than one group's, as
        // in a drill.
        let gateway = crate::session::start_config(
            plan.config.as_ref(),
            &bases,
            &dir,
            self.startup_timeout * 4 / 3,
            &self.options,
            &self.cancel,
        )
        .await
        .map_err(|e| Start::Failed(e.to_string()))?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| Start::Failed(format!("cannot build the HTTP client: {e}")))?;
        Ok(Batch {
            target: crate::session::target(&gateway),
            mocks,
            gateway,
            client,
            routes: plan.routes,
            headers,
            providers,
            next: 0,
        })
    }
}

/// Why a batch did not start.
enum Start {
    /// The gateway's adapter cannot give the cases their own copies.
    CannotIsolate(String),
    /// Starting failed (the case reports it as the runner would).
    Failed(String),
}

/// A slot's copy of a deployment: the base scenario's deployment it copies
/// (its dialect, provider, model and mock settings), under the copy's id,
/// without faults; a case arms its own.
fn slot_copy(base: &Scenario, copy: &Deployment) -> Deployment {
    let mut d = base
        .deployments
        .iter()
        .find(|b| b.id() == original(copy.id()))
        .cloned()
        .unwrap_or_else(|| copy.clone());
    d.spec.id = copy.id().to_string();
    d.spec.faults.clear();
    d
}

impl Batch {
    /// Runs `case` in slot `k`: arms the slot's mocks with its faults,
    /// sends its traffic to the slot's copy, and reads what it met.
    async fn case(&self, k: usize, case: &Scenario, cancel: &CancellationToken) -> Observed {
        let suffix = cell_suffix(k);
        for d in &case.deployments {
            if !d.spec.faults.is_empty() {
                if let Some(m) = self.mocks.get(&format!("{}{suffix}", d.id())) {
                    m.arm(d.spec.faults.clone());
                }
            }
        }
        // Each case numbers its requests from 1, as a run of its own; its
        // own run id keeps its markers apart from every other case's.
        let run_id = format!("{}s{k}", crate::runner::run_id());
        let next_n = AtomicU64::new(0);
        let clock = self.mocks.journal().started();
        let route = self.routes.get(k);
        let mut records = Vec::new();
        for (i, t) in case.traffic.iter().enumerate() {
            let mut t = t.clone();
            if let Some(r) = route.filter(|r| cell_of(&r.model) == Some(k)) {
                t.model = r.model.clone();
            }
            if let Some(h) = self.headers.get(k) {
                t.headers.extend(h.clone());
            }
            records.extend(
                traffic::drive(
                    &self.client,
                    &self.target,
                    i,
                    &t,
                    &run_id,
                    clock,
                    &next_n,
                    cancel,
                    &|_| {},
                )
                .await,
            );
            if cancel.is_cancelled() {
                break;
            }
        }
        // The answers are in; an attempt the gateway gave up on may still
        // be on its way into the journal.
        let settle = Instant::now() + SETTLE;
        let own: Vec<_> = self
            .mocks
            .deployments()
            .iter()
            .filter(|d| cell_of(&d.id) == Some(k))
            .collect();
        while own.iter().any(|d| d.in_flight() > 0) && Instant::now() < settle {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Ctrl-C cut these short: the gateway never got to answer them.
        let records = records.into_iter().filter(|r| !r.cut_short()).collect();
        let models: Vec<String> = case.traffic.iter().map(|t| t.model.clone()).collect();
        observe(
            k,
            &models,
            records,
            &self.mocks.journal().attempts(),
            &self.providers,
        )
    }
}

/// Writes a case's requests and paths into its folder.
pub fn write_case(dir: &Path, o: &Observed) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let file = crate::run_folder::RecordsFile::create(&dir.join(crate::run_folder::REQUESTS_FILE));
    for r in &o.records {
        file.append(r);
    }
    file.finish()?;
    crate::run_folder::write_paths(&dir.join(crate::run_folder::PATHS_FILE), &o.paths)
}

/// The paths and stray attempts of slot `k`'s case, out of a journal every
/// slot shares: its requests, the attempts on its own copies or carrying
/// its markers, read back under the base scenario's ids and the models its
/// traffic entries ask for (`models`, by traffic index).
pub fn observe(
    k: usize,
    models: &[String],
    records: Vec<RequestRecord>,
    attempts: &[Attempt],
    providers: &HashMap<String, String>,
) -> Observed {
    let markers: HashSet<&str> = records.iter().map(|r| r.marker.as_str()).collect();
    let own: Vec<Attempt> = attempts
        .iter()
        .filter(|a| {
            cell_of(&a.deployment) == Some(k)
                || a.marker.as_deref().is_some_and(|m| markers.contains(m))
        })
        .cloned()
        .collect();
    let joined = paths::join(&records, &own, providers);
    let mut paths = joined.paths;
    for p in &mut paths {
        if let Some(m) = models.get(p.traffic) {
            p.model = m.clone();
        }
        for s in &mut p.steps {
            s.deployment = original(&s.deployment).to_string();
        }
    }
    let mut stray = joined.stray;
    for a in &mut stray {
        a.deployment = original(&a.deployment).to_string();
    }
    Observed {
        error: None,
        paths,
        stray,
        records,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::PathClass;
    use crate::recovery::tests::{attempt, record};

    /// A case sees its own requests on its own copies, named as in the base
    /// scenario; another slot's attempts are not its business, and an
    /// attempt on its copies no request of it sent is its stray.
    #[test]
    fn a_case_reads_only_its_slot_under_the_original_names() {
        let mut mine = record(1, 0, 10, 200);
        mine.model = "claude-opus--cell1".into();
        let attempts = [
            attempt(1, 1, "claude-opus--cell1", 0, Some(FailureClass::RateLimit)),
            attempt(2, 1, "gpt-4o--cell1", 1, None),
            attempt(3, 9, "claude-opus--cell0", 1, None),
            attempt(4, 7, "gpt-4o--cell1", 2, None),
        ];
        let providers: HashMap<String, String> = [
            ("claude-opus--cell0", "anthropic"),
            ("claude-opus--cell1", "anthropic"),
            ("gpt-4o--cell1", "openai"),
        ]
        .into_iter()
        .map(|(d, p)| (d.to_string(), p.to_string()))
        .collect();
        let seen = observe(
            1,
            &["claude-opus".to_string()],
            vec![mine],
            &attempts,
            &providers,
        );
        assert_eq!(seen.paths.len(), 1);
        let p = &seen.paths[0];
        assert_eq!(p.model, "claude-opus");
        assert_eq!(p.class, PathClass::CrossedProvider);
        let steps: Vec<&str> = p.steps.iter().map(|s| s.deployment.as_str()).collect();
        assert_eq!(steps, ["claude-opus", "gpt-4o"]);
        let stray: Vec<(u64, &str)> = seen
            .stray
            .iter()
            .map(|a| (a.seq, a.deployment.as_str()))
            .collect();
        assert_eq!(stray, [(4, "gpt-4o")]);
    }
}
