//! The harness: for each scenario, start the mocks, start the gateway, drive
//! traffic, stop everything, join what the client saw with the journal, judge.
//! The runner emits [`Event`]s; reporters only consume them. It writes the
//! scenario's run folder ([`crate::run_folder`]) itself, whatever reporters
//! are listening.

use crate::gateway::{self, GatewayError};
use crate::outcome::{Event, RunSummary, ScenarioReport};
use crate::paths::{self, RequestPath};
use crate::records::RequestRecord;
use crate::run_folder;
use crate::scenario::Gateway;
use crate::scenario::Scenario;
use crate::timeline;
use crate::traffic;
use crate::verdict::{self, Finding, Verdict};
use mock_providers::{journal, Attempt, JournalConfig, JournalStats, MockSet};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Attempts a run keeps in memory by default.
pub const DEFAULT_JOURNAL_MEMORY_CAP: usize = 1_000_000;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run folder.
    pub out: PathBuf,
    /// Cancelled on Ctrl-C.
    pub cancel: CancellationToken,
    /// Gateway options from the command line.
    pub gateway: gateway::GatewayOptions,
    /// `--snapshots DIR` (and `--update-snapshots`).
    pub snapshots: Option<crate::snapshot::SnapshotOptions>,
    /// `--latency-audit`: pair every request with a direct call to a healthy mock.
    pub latency_audit: bool,
    /// Attempts the journal keeps in memory; beyond that the oldest are
    /// dropped from memory and read back from the journal file at the end
    /// ([`DEFAULT_JOURNAL_MEMORY_CAP`] unless a test wants less).
    pub journal_memory_cap: usize,
}

/// A folder name for a scenario: `01-rate-limit-on-claude`.
fn slug(index: usize, name: &str) -> String {
    format!("{:02}-{}", index + 1, crate::diag::slug(name))
}

/// A short id that tells this run's requests (their markers) from others'.
pub(crate) fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:06x}",
        (nanos ^ (u128::from(std::process::id()) << 20)) as u32 & 0xff_ffff
    )
}

/// Runs scenarios one after another and reports through `emit`.
pub async fn run(
    scenarios: &[Scenario],
    opts: &RunOptions,
    emit: &(dyn Fn(Event) + Sync),
) -> RunSummary {
    emit(Event::RunStarted {
        scenarios: scenarios.len(),
        out: opts.out.clone(),
    });
    let mut reports = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        if opts.cancel.is_cancelled() {
            break;
        }
        let report = run_scenario(i, s, opts, emit).await;
        emit(Event::ScenarioFinished(&report));
        reports.push(report);
    }
    let summary = RunSummary {
        out: opts.out.clone(),
        interrupted: opts.cancel.is_cancelled(),
        scenarios: reports,
    };
    emit(Event::RunFinished(&summary));
    summary
}

/// Runs one scenario. Infrastructure failures end up in the report's `error`.
pub async fn run_scenario(
    index: usize,
    s: &Scenario,
    opts: &RunOptions,
    emit: &(dyn Fn(Event) + Sync),
) -> ScenarioReport {
    let started = Instant::now();
    let run_dir = opts.out.join(slug(index, &s.name));
    let journal_path = run_dir.join("journal.jsonl");
    let planned = s.traffic.iter().map(|t| t.requests).sum::<Option<u64>>();
    emit(Event::ScenarioStarted {
        index,
        name: s.name.clone(),
        planned,
    });
    let mut report = ScenarioReport {
        name: s.name.clone(),
        file: s.file.clone(),
        about: s.about.clone(),
        gateway: s.gateway.kind(),
        run_dir: run_dir.clone(),
        journal: journal_path.clone(),
        gateway_log: None,
        gateway_startup_ms: 0,
        duration_ms: 0,
        counts: BTreeMap::new(),
        verdicts: vec![],
        findings: vec![],
        paths: vec![],
        stray: vec![],
        cut_short: vec![],
        probes: 0,
        escaped: vec![],
        gateway_version: None,
        unmapped: s.unmapped.clone(),
        requests: vec![],
        requests_file: run_dir.join(run_folder::REQUESTS_FILE),
        paths_file: run_dir.join(run_folder::PATHS_FILE),
        timeline: None,
        request_cap_reached: false,
        audit: None,
        snapshot: None,
        latency: None,
        journal_stats: JournalStats::default(),
        error: None,
        interrupted: false,
        timing: Default::default(),
        router: None,
    };
    if let Err(e) = std::fs::create_dir_all(&run_dir) {
        report.error = Some(format!(
            "cannot create the run folder {}: {e}",
            run_dir.display()
        ));
        return report;
    }
    let specs = s.deployments.iter().map(|d| d.spec.clone()).collect();
    let mocks = match MockSet::start(
        specs,
        JournalConfig {
            memory_cap: opts.journal_memory_cap,
            file: Some(journal_path.clone()),
        },
    )
    .await
    {
        Ok(m) => m,
        Err(e) => {
            report.error = Some(format!("cannot start the mock providers: {e}"));
            return report;
        }
    };
    let started_gw = match (s.gateway.replicas(), &s.gateway) {
        (Some(replicas), Gateway::Config(c)) => {
            let bases = crate::session::mock_bases(&s.deployments, &mocks);
            crate::router::start(
                c.config.clone(),
                replicas,
                &bases,
                &run_dir,
                c.startup_timeout,
                &opts.gateway,
                &opts.cancel,
            )
            .await
            .map(|(g, r)| (g, Some(r)))
        }
        _ => crate::session::start_gateway(s, &mocks, &run_dir, &opts.gateway, &opts.cancel)
            .await
            .map(|g| (g, None)),
    };
    let (gw, router) = match started_gw {
        Ok(g) => g,
        Err(GatewayError::Interrupted) => {
            report.interrupted = true;
            finish(&mut report, mocks, None, None, vec![], started, None, s).await;
            return report;
        }
        Err(e) => {
            report.error = Some(e.to_string());
            report.gateway_log = Some(run_dir.join("gateway.log")).filter(|p| p.exists());
            finish(&mut report, mocks, None, None, vec![], started, None, s).await;
            return report;
        }
    };
    report.gateway_startup_ms = gw.startup.as_millis() as u64;
    report.gateway_log = gw.process.as_ref().map(|p| p.log().to_path_buf());
    emit(Event::GatewayReady {
        name: s.name.clone(),
        kind: s.gateway.kind(),
        base_url: gw.base_url.clone(),
        startup: gw.startup,
    });
    // A deployment LiteLLM skipped at start is a finding of its own, found
    // from the proxy's model list and named with the reason in its log.
    // Replicas are asked one by one (each answers with its own base URLs).
    let first = match &router {
        Some(r) => r.replica(1, &gw.headers).await,
        None => None,
    };
    match crate::session::not_loaded(s, &mocks, first.as_ref().unwrap_or(&gw), &run_dir).await {
        Ok(list) => report.findings.extend(list.into_iter().map(|n| Finding {
            kind: "deployment_not_loaded",
            request: 0,
            model: n.group.clone(),
            message: format!(
                "the gateway did not load deployment `{}` (group `{}`): {}",
                n.id, n.group, n.reason
            ),
            path: String::new(),
            why: Some(n.reason.clone()),
        })),
        Err(e) => report.error = Some(e.to_string()),
    }
    let client = match reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            report.error = Some(format!("cannot build the HTTP client: {e}"));
            finish(
                &mut report,
                mocks,
                Some(gw),
                router,
                vec![],
                started,
                None,
                s,
            )
            .await;
            return report;
        }
    };
    let mut target = crate::session::target(&gw);
    if router.is_some() {
        target.marker_header = Some(crate::gateway::balancer::MARKER_HEADER);
    }
    // The latency audit's baseline: a healthy mock of its own, called
    // directly after every request.
    let baseline = if opts.latency_audit {
        match MockSet::start(
            vec![mock_providers::DeploymentSpec::new(
                "crossfire-baseline",
                mock_providers::Dialect::Openai,
            )],
            JournalConfig::default(),
        )
        .await
        {
            Ok(m) => {
                let mut t = s.traffic[0].clone();
                t.model = "gpt-4o".into();
                t.api = crate::scenario::ClientApi::Native(mock_providers::Dialect::Openai);
                t.stream = false;
                t.headers.clear();
                let b = Arc::new(traffic::Baseline::new(
                    m.deployments()
                        .first()
                        .map(|d| d.base_url())
                        .unwrap_or_default(),
                    t,
                ));
                target.baseline = Some(b.clone());
                Some((m, b))
            }
            Err(e) => {
                report.error = Some(format!("cannot start the latency baseline: {e}"));
                None
            }
        }
    } else {
        None
    };
    let run_id = run_id();
    // One clock for records, attempts and fault windows, from the start of
    // the traffic: a window means the same whatever the gateway's startup.
    mocks.journal().restart_clock();
    let clock = mocks.journal().started();
    // The gateway faults and the balancer's view of its replicas, on the
    // same clock, until the traffic is over.
    let faults_stop = CancellationToken::new();
    let router_run = router.as_ref().map(|r| {
        let driver = tokio::spawn(r.clone().drive(
            s.gateway_faults.clone(),
            clock,
            faults_stop.clone(),
        ));
        let watcher = r.balancer.watch(
            clock,
            std::time::Duration::from_millis(100),
            faults_stop.clone(),
        );
        (driver, watcher)
    });
    let next_n = Arc::new(AtomicU64::new(0));
    let mut records = Vec::new();
    let records_file = run_folder::RecordsFile::create(&report.requests_file);
    let on_done = |r: &RequestRecord| {
        records_file.append(r);
        emit(Event::RequestDone(r));
    };
    for (i, t) in s.traffic.iter().enumerate() {
        let list = traffic::drive(
            &client,
            &target,
            i,
            t,
            &run_id,
            clock,
            &next_n,
            &opts.cancel,
            &on_done,
        )
        .await;
        records.extend(list);
        if opts.cancel.is_cancelled() {
            break;
        }
    }
    // `alive_after`: one more request once the traffic is over.
    let wants_alive = s.expect.contains(&crate::scenario::Expectation::AliveAfter);
    let alive = match s.traffic.last() {
        Some(t) if wants_alive && !opts.cancel.is_cancelled() => {
            let n = next_n.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            let idx = s.traffic.len() - 1;
            Some(traffic::one(&client, &target, idx, t, &run_id, n, clock).await)
        }
        _ => None,
    };
    faults_stop.cancel();
    let (fired, changes) = match router_run {
        Some((driver, watcher)) => (
            driver.await.unwrap_or_default(),
            watcher.await.unwrap_or_default(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let router_facts = router
        .as_ref()
        .map(|r| (r.count, r.shared_state.clone(), r.balancer.log.clone()));
    report.interrupted = opts.cancel.is_cancelled();
    if let Err(e) = records_file.finish() {
        tracing::warn!("{e}");
    }
    report.request_cap_reached = s.traffic.iter().any(|t| t.requests.is_none())
        && records.len() as u64 >= crate::scenario::model::MAX_REQUESTS;
    let account = crate::session::account(s, &mocks);
    drop(target);
    let attempts = finish(
        &mut report,
        mocks,
        Some(gw),
        router,
        records,
        started,
        account,
        s,
    )
    .await;
    if let Some((count, shared, log)) = router_facts {
        router_report(
            &mut report,
            s,
            count,
            shared,
            &log,
            &fired,
            &changes,
            &attempts,
        );
    }
    let alive = alive.map(|r| {
        let providers = providers_of(s);
        let mut joined = paths::join(std::slice::from_ref(&r), &report.stray, &providers);
        report.stray = std::mem::take(&mut joined.stray);
        (r, joined.paths.pop())
    });
    report.timing = crate::recovery::measure(
        &s.faults,
        &report.requests,
        &report.paths,
        &attempts,
        alive.as_ref().map(|(r, _)| r),
    );
    // Where the gateway's adapter can say why it answered by itself.
    if let (Some(cfg), Some((n, _))) = (s.gateway.config(), &report.timing.self_answered.example) {
        let first = report.requests.iter().find(|r| r.n == *n);
        report.timing.self_answered.why = first.and_then(|r| {
            cfg.self_answer_cause(r.status.unwrap_or(0), r.error_body.as_deref().unwrap_or(""))
        });
    }
    report.timing.alive_after_path = alive
        .as_ref()
        .and_then(|(_, p)| p.as_ref())
        .map(RequestPath::describe);
    if let Some((mocks, b)) = baseline {
        let journal = mocks.shutdown().await;
        let records = std::mem::take(&mut *b.records.lock().unwrap_or_else(|e| e.into_inner()));
        let direct = paths::join(&records, &journal.attempts(), &HashMap::new());
        report.latency = crate::audit::latency(
            &crate::audit::overheads(&report.requests, &report.paths),
            &crate::audit::overheads(&records, &direct.paths),
        );
    }
    // Judge only a complete run: an interrupted one reports what it saw.
    if !report.interrupted {
        report.verdicts = verdict::judge(
            &s.expect,
            &verdict::Facts {
                paths: &report.paths,
                stray: &report.stray,
                records: &report.requests,
                faults: &s.faults,
                timing: &report.timing,
                router: report.router.as_ref(),
            },
        );
        report
            .verdicts
            .extend(verdict::faults_met(&s.faults, &report.paths, &report.stray));
        report
            .verdicts
            .extend(verdict::traffic_seen(&s.traffic, &report.paths));
        if let Some(r) = &report.router {
            report.verdicts.extend(gateway_faults_met(r));
        }
        report
            .findings
            .extend(verdict::illusions(&s.intent, &report.paths));
        if let (Some(opts), None) = (&opts.snapshots, &report.error) {
            let b = behaviour(s, &report.paths);
            match crate::snapshot::check(&b, opts, &fault_context(s)) {
                Ok(status) => report.snapshot = Some(status),
                Err(e) => report.error = Some(format!("snapshot: {e}")),
            }
        }
    }
    write_report(&report);
    report
}

/// What the replicas did, from the balancer's log and states, the fault
/// driver's account and the journal: in the report, on every path (the
/// replica it went to), as findings (duplicate attempts) and as verdicts
/// (every gateway fault met the traffic).
#[allow(clippy::too_many_arguments)]
fn router_report(
    report: &mut ScenarioReport,
    s: &Scenario,
    count: u32,
    shared_state: Option<String>,
    log_file: &Path,
    fired: &[crate::router::measure::Fired],
    changes: &[crate::gateway::balancer::StateChange],
    attempts: &[Attempt],
) {
    let log = crate::gateway::balancer::read_log(log_file);
    crate::router::name_replicas(&mut report.paths, &log);
    let r = crate::router::measure::measure(&crate::router::measure::RouterFacts {
        replicas: count,
        shared_state: shared_state.as_deref(),
        faults: &s.gateway_faults,
        fired,
        records: &report.requests,
        paths: &report.paths,
        attempts,
        log: &log,
        changes,
    });
    for d in &r.duplicates {
        let model = report
            .paths
            .iter()
            .find(|p| p.n == d.n)
            .map(|p| p.model.clone())
            .unwrap_or_default();
        report.findings.push(Finding {
            kind: "duplicate_attempt",
            request: d.n,
            model,
            message: format!(
                "request #{} reached the providers from {}: the balancer re-sent a request a replica had already sent upstream, and the provider bills it twice",
                d.n,
                crate::diag::and_list(d.replicas.iter().map(|r| format!("replica-{r}")))
            ),
            path: d.path.clone(),
            why: None,
        });
    }
    report.router = Some(r);
}

/// A PASS means every gateway fault met the traffic: one verdict each.
fn gateway_faults_met(r: &crate::router::measure::RouterReport) -> Vec<Verdict> {
    r.faults
        .iter()
        .map(|f| Verdict {
            expectation: format!("gateway fault {} meets client traffic", f.label),
            held: f.met_traffic,
            detail: match (&f.error, f.met_traffic) {
                (Some(e), _) => format!("not done: {e}"),
                (None, true) => "requests were in flight or sent after it".to_string(),
                (None, false) => "no request was in flight or sent after it".to_string(),
            },
            example: None,
        })
        .collect()
}

/// Stops the gateway, then the mocks (flushing the journal), and joins.
#[allow(clippy::too_many_arguments)]
async fn finish(
    report: &mut ScenarioReport,
    mocks: MockSet,
    gw: Option<gateway::RunningGateway>,
    router: Option<Arc<crate::router::Router>>,
    records: Vec<RequestRecord>,
    started: Instant,
    account: Option<Box<dyn crate::gateway::adapter::AccountCheck>>,
    s: &Scenario,
) -> Vec<Attempt> {
    let providers = providers_of(s);
    if let Some(g) = &gw {
        report.escaped = g.escapes();
    }
    match gw.as_ref().map(|g| g.version(&records)) {
        Some(Ok(v)) => report.gateway_version = v,
        Some(Err(e)) => {
            report.error.get_or_insert(e);
        }
        None => {}
    }
    if let Some(r) = &router {
        report.escaped.extend(r.escapes().await);
    }
    let price_map = gw.as_ref().and_then(|g| g.price_map.clone());
    // The gateway goes first, so nothing reaches the mocks after they stop.
    drop(gw);
    drop(router);
    let journal = mocks.shutdown().await;
    let mocks_after_us = journal
        .started()
        .saturating_duration_since(started)
        .as_micros() as u64;
    report.journal_stats = journal.stats();
    let attempts = if report.journal_stats.evicted > 0 {
        journal::read_jsonl(&report.journal).unwrap_or_else(|_| journal.attempts())
    } else {
        journal.attempts()
    };
    // A request Ctrl-C cut short claims its attempts, but is no path of the
    // run: the gateway never got to answer it.
    let (cut, records): (Vec<RequestRecord>, Vec<RequestRecord>) =
        records.into_iter().partition(RequestRecord::cut_short);
    report.timeline = write_timeline(report, s, &attempts, &records, &cut, mocks_after_us);
    let mut joined = paths::join(&records, &attempts, &providers);
    if !cut.is_empty() {
        let claimed = paths::join(&cut, &joined.stray, &providers);
        joined.stray = claimed.stray;
        report.cut_short = claimed.paths;
    }
    if !records.is_empty() {
        report.audit = Some(crate::audit::Audits {
            tokens: crate::audit::tokens(&records, &joined.paths, &attempts, &s.traffic),
            cost: crate::audit::cost(
                &records,
                &joined.paths,
                &attempts,
                &s.prices,
                price_map.as_deref(),
            ),
        });
    }
    for p in &joined.paths {
        *report.counts.entry(p.class).or_insert(0) += 1;
    }
    if let Some(ctx) = account {
        for (p, r) in joined.paths.iter().zip(records.iter()) {
            for message in ctx.disagreements(p, &r.headers) {
                report.findings.push(Finding {
                    kind: "gateway_account",
                    request: p.n,
                    model: p.model.clone(),
                    message,
                    path: p.describe(),
                    why: None,
                });
            }
        }
    }
    report
        .findings
        .extend(unserved_findings(&joined.unserved, &joined.paths));
    report.paths = joined.paths;
    report.stray = joined.stray;
    report.probes = joined.probes.len();
    report.requests = records;
    report.duration_ms = started.elapsed().as_millis() as u64;
    attempts
}

/// Deployment id -> its provider.
fn providers_of(s: &Scenario) -> HashMap<String, String> {
    s.deployments
        .iter()
        .map(|d| (d.id().to_string(), d.provider.clone()))
        .collect()
}

/// One `unserved_endpoint` finding per (deployment, method, path) a mock does
/// not serve: the gateway called an endpoint crossfire cannot answer as the
/// provider would, so what followed is not the provider's doing. Names the
/// first request that reached it, when one did.
fn unserved_findings(unserved: &[Attempt], paths: &[RequestPath]) -> Vec<Finding> {
    let mut seen: BTreeMap<(&str, &str, &str), (usize, Option<&RequestPath>)> = Default::default();
    for a in unserved {
        let bare = a.path.split('?').next().unwrap_or(&a.path);
        let path = a
            .marker
            .as_deref()
            .and_then(|m| paths.iter().find(|p| p.marker == m));
        let entry = seen
            .entry((a.deployment.as_str(), a.method.as_str(), bare))
            .or_insert((0, path));
        entry.0 += 1;
        entry.1 = entry.1.or(path);
    }
    seen.into_iter()
        .map(|((deployment, method, endpoint), (count, path))| Finding {
            kind: "unserved_endpoint",
            request: path.map_or(0, |p| p.n),
            model: path.map(|p| p.model.clone()).unwrap_or_default(),
            message: format!(
                "the gateway called {method} {endpoint} on deployment `{deployment}` ({count} time{}), an endpoint its mock does not serve; it was answered with the provider's 404",
                if count == 1 { "" } else { "s" }
            ),
            path: path.map(RequestPath::describe).unwrap_or_default(),
            why: None,
        })
        .collect()
}

/// Draws the scenario's timeline into its run folder; its path, or `None`
/// (said on stderr) when it could not be drawn or written.
fn write_timeline(
    report: &ScenarioReport,
    s: &Scenario,
    attempts: &[Attempt],
    records: &[RequestRecord],
    cut: &[RequestRecord],
    mocks_after_us: u64,
) -> Option<PathBuf> {
    let lanes: Vec<timeline::DeploymentLane> = s
        .deployments
        .iter()
        .map(|d| timeline::DeploymentLane {
            id: d.id(),
            provider: &d.provider,
            faults: &d.spec.faults,
        })
        .collect();
    let t = timeline::Timeline::build(
        &s.name,
        &lanes,
        attempts,
        records.iter().chain(cut),
        mocks_after_us,
    );
    let file = report.run_dir.join(timeline::TIMELINE_FILE);
    match timeline::render(&t).and_then(|svg| {
        std::fs::write(&file, svg).map_err(|e| format!("cannot write {}: {e}", file.display()))
    }) {
        Ok(()) => Some(file),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

fn write_report(report: &ScenarioReport) {
    if let Err(e) = run_folder::write_paths(&report.paths_file, &report.paths) {
        eprintln!("error: {e}");
    }
    if let Err(e) = run_folder::write_json(&report.run_dir.join(run_folder::REPORT_FILE), report) {
        eprintln!("error: {e}");
    }
}

/// Groups where the gateway picks among deployments at random by design.
pub fn random_groups(s: &Scenario) -> std::collections::BTreeSet<String> {
    let groups = s.traffic.iter().map(|t| t.model.clone());
    match s.gateway.config() {
        Some(cfg) => groups.filter(|g| cfg.picks_at_random(g)).collect(),
        None => Default::default(),
    }
}

/// The routing behaviour of a finished scenario. With faults on the
/// gateway's replicas, which requests a dead or frozen replica cuts is
/// timing, not routing: the snapshot keeps which paths and providers occur,
/// not how often, and leaves out requests lost with a replica before any
/// provider saw them (the report counts them under the router).
pub fn behaviour(s: &Scenario, paths: &[RequestPath]) -> crate::snapshot::RoutingBehaviour {
    if s.gateway_faults.is_empty() {
        return crate::snapshot::behaviour(
            &s.name,
            paths.iter().map(|p| (p.model.clone(), p)),
            &random_groups(s),
        );
    }
    let every: std::collections::BTreeSet<String> =
        s.traffic.iter().map(|t| t.model.clone()).collect();
    let routed = paths.iter().filter(|p| p.ok || !p.steps.is_empty());
    let mut b = crate::snapshot::behaviour(&s.name, routed.map(|p| (p.model.clone(), p)), &every);
    b.note = Some(format!(
        "{} met faults of the gateway's replicas: which requests a replica fault cuts is timing, so the snapshot keeps which paths and providers occur, not how often, and leaves out requests lost with a replica before any provider saw them",
        every.iter().cloned().collect::<Vec<_>>().join(", ")
    ));
    b
}

/// `on rate_limit, ` for the faults a scenario injects.
fn fault_context(s: &Scenario) -> String {
    let classes: std::collections::BTreeSet<&str> = s
        .deployments
        .iter()
        .flat_map(|d| d.spec.faults.iter().map(|f| f.fault.class.name()))
        .collect();
    if classes.is_empty() {
        String::new()
    } else {
        format!(
            "on {}, ",
            classes.into_iter().collect::<Vec<_>>().join(" and ")
        )
    }
}

/// Finds scenario files: each argument is a file, or a folder searched for
/// `*.yaml` / `*.yml`, recursively, in sorted order.
pub fn discover(args: &[PathBuf]) -> Result<Vec<PathBuf>, crate::diag::InputError> {
    let mut files = Vec::new();
    for a in args {
        if a.is_dir() {
            let mut found = Vec::new();
            walk(a, &mut found);
            found.sort();
            if found.is_empty() {
                return Err(crate::diag::InputError::file(
                    a,
                    "the folder holds no *.yaml scenario files",
                ));
            }
            files.extend(found);
        } else if a.is_file() || std::fs::symlink_metadata(a).is_ok() {
            // Reading names what is not a regular file (a device, a FIFO, a
            // symlink loop) as what it is.
            files.push(a.clone());
        } else {
            return Err(crate::diag::InputError::file(a, "no such file or folder"));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

/// The default run folder: `crossfire-runs/<UTC time>`.
pub fn default_out_dir() -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let stamp = mock_providers::error_answers::rfc3339(now).replace([':', '-'], "");
    PathBuf::from("crossfire-runs").join(stamp)
}

#[cfg(test)]
mod unserved_tests {
    use super::*;
    use mock_providers::{Dialect, Outcome, Traffic};

    fn unserved(seq: u64, deployment: &str, method: &str, path: &str) -> Attempt {
        let line = serde_json::json!({
            "seq": seq, "attempt": 0, "traffic": Traffic::Unserved, "deployment": deployment,
            "dialect": Dialect::Mistral, "method": method, "path": path, "model": null,
            "marker": null, "stream": false, "bytes_in": 0, "prompt_tokens": null,
            "token_counter": null, "max_tokens": null, "outcome": Outcome::Refused,
            "cause": null, "status": 404, "usage": null, "bytes_out": 0, "events_sent": 0,
            "completed": true, "received_unix_ms": 0, "received_us": 0,
            "first_byte_us": null, "finished_us": 0
        });
        serde_json::from_value(line).unwrap()
    }

    /// One finding per deployment, method and path (query left out), counted.
    #[test]
    fn unserved_endpoints_are_named_once_per_deployment_method_and_path() {
        let findings = unserved_findings(
            &[
                unserved(1, "mistral", "POST", "/v1/responses"),
                unserved(2, "mistral", "POST", "/v1/responses?x=1"),
                unserved(3, "mistral", "GET", "/v1/files"),
            ],
            &[],
        );
        insta::assert_yaml_snapshot!(findings);
    }
}
