//! `crossfire explore`: a fixed list of scenarios only finds the failures
//! someone thought of. Explore generates fault schedules across deployments
//! with proptest (which deployments fail, how, on which attempts), runs each
//! against the gateway, checks invariants, and on a violation shrinks to the
//! smallest schedule that still breaks one and writes it as a scenario file
//! that `crossfire run` fails the same way.
//!
//! Every case meets fresh router state. A gateway that plans drills
//! (LiteLLM, Portkey, TensorZero) serves many cases per start, each on its
//! own copies of the group ([`batch`]); any other gateway is started afresh
//! per case.
//!
//! Invariants:
//! - if a provider the group's intent promises is healthy in the case, every
//!   request of the group that met a fault still gets a good answer;
//! - no request makes more than `max_attempts` attempts;
//! - nothing is unattributed (no request without attempts, no stray attempt).

pub mod batch;

use crate::gateway::GatewayOptions;
use crate::paths::PathClass;
use crate::runner::{self, RunOptions};
use crate::scenario::Scenario;
use batch::{Batches, Observed};
use mock_providers::{FailureClass, Fault, FaultRule, Schedule};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The failure classes explore draws from by default (answered ones: a
/// gateway decides on them before any stream starts).
pub const DEFAULT_CLASSES: [FailureClass; 7] = [
    FailureClass::RateLimit,
    FailureClass::ServerError,
    FailureClass::Overloaded,
    FailureClass::Unavailable,
    FailureClass::BadGateway,
    FailureClass::Auth,
    FailureClass::ContextOverflow,
];

/// How to explore.
#[derive(Debug, Clone)]
pub struct ExploreOptions {
    /// Cases to generate (before shrinking).
    pub cases: u32,
    /// Seed: the same seed explores the same cases.
    pub seed: u64,
    /// Stop starting cases after this long.
    pub time_budget: Duration,
    /// The attempt limit invariant.
    pub max_attempts: u32,
    /// Failure classes to draw from.
    pub classes: Vec<FailureClass>,
    /// Most faults in one case.
    pub max_faults: usize,
    /// Run folder.
    pub out: PathBuf,
    /// Gateway options.
    pub gateway: GatewayOptions,
    /// Where to write the smallest failing scenario (default: next to the base scenario).
    pub write: Option<PathBuf>,
}

/// One generated fault: deployment index, failure class, schedule.
pub type CaseFault = (usize, FailureClass, Schedule);

/// What exploring found.
#[derive(Debug, Clone)]
pub struct Explored {
    /// Cases run (shrinking included).
    pub runs: u32,
    /// Gateway starts, when cases shared them (`None`: one per case).
    pub gateway_starts: Option<usize>,
    /// The seed.
    pub seed: u64,
    /// The smallest failing case, if one failed.
    pub violation: Option<Violation>,
    /// Whether the time budget ended the search.
    pub out_of_time: bool,
    /// Whether Ctrl-C (or SIGTERM) ended the search.
    pub interrupted: bool,
}

/// A broken invariant and the smallest schedule that breaks it.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The invariant, in words, with the request that broke it.
    pub message: String,
    /// The faults of the smallest failing case.
    pub faults: Vec<CaseFault>,
    /// The scenario file written for it.
    pub file: PathBuf,
}

fn schedule_strategy() -> impl Strategy<Value = Schedule> {
    // Earlier alternatives are simpler: shrinking moves towards `first`.
    prop_oneof![
        (1u64..=10).prop_map(Schedule::First),
        (1u64..=5).prop_map(Schedule::Every),
        proptest::collection::vec(1u64..=10, 1..4).prop_map(|mut v| {
            v.sort_unstable();
            v.dedup();
            Schedule::Requests(v)
        }),
        Just(Schedule::Always),
    ]
}

/// Checks the invariants on what a finished case observed.
pub fn invariants(s: &Scenario, r: &Observed, max_attempts: u32) -> Result<(), String> {
    if let Some(e) = &r.error {
        return Err(format!("the case did not run: {e}"));
    }
    let faulted: BTreeSet<&str> = s
        .deployments
        .iter()
        .filter(|d| !d.spec.faults.is_empty())
        .map(|d| d.provider.as_str())
        .collect();
    let healthy: BTreeSet<&str> = s
        .deployments
        .iter()
        .map(|d| d.provider.as_str())
        .filter(|p| !faulted.contains(p))
        .collect();
    for p in &r.paths {
        if p.steps.len() > max_attempts as usize {
            return Err(format!(
                "request #{} made {} attempts (at most {max_attempts}): {}",
                p.n,
                p.steps.len(),
                p.describe()
            ));
        }
        if p.class == PathClass::Unattributed {
            return Err(format!(
                "request #{} is unattributed: {}",
                p.n,
                p.describe()
            ));
        }
        let promise = s.intent.get(&p.model);
        if let (true, Some(promise)) = (p.met_fault, promise) {
            let healthy_promised: Vec<&str> = promise
                .providers
                .iter()
                .map(String::as_str)
                .filter(|x| healthy.contains(x))
                .collect();
            if !p.ok && !healthy_promised.is_empty() {
                return Err(format!(
                    "request #{} met a fault while {} was healthy and promised, yet it failed: {}",
                    p.n,
                    healthy_promised.join(" and "),
                    p.describe()
                ));
            }
        }
    }
    if let Some(a) = r.stray.first() {
        return Err(format!(
            "an attempt on {} carries no marker a request sent",
            a.deployment
        ));
    }
    Ok(())
}

/// The scenario with a case's faults instead of its own.
fn with_faults(base: &Scenario, faults: &[CaseFault]) -> Scenario {
    let mut s = base.clone();
    for d in &mut s.deployments {
        d.spec.faults.clear();
    }
    // A generated case is judged by invariants, not by whether each fault
    // met the traffic: a fault on an untouched fallback is a valid case.
    s.faults.clear();
    for (i, class, schedule) in faults {
        if let Some(d) = s.deployments.get_mut(*i) {
            d.spec.faults.push(FaultRule {
                fault: Fault::new(*class)
                    .retry_after(Duration::from_secs(1))
                    .delay(Duration::from_secs(5)),
                schedule: schedule.clone(),
            });
        }
    }
    s
}

fn schedule_yaml(s: &Schedule) -> String {
    match s {
        Schedule::Always => "always".into(),
        Schedule::First(n) => format!("{{first: {n}}}"),
        Schedule::After(n) => format!("{{after: {n}}}"),
        Schedule::Every(n) => format!("{{every: {n}}}"),
        Schedule::Requests(l) => format!("{{requests: {l:?}}}"),
        Schedule::Window { from, to } => format!(
            "{{window: [{}, {}]}}",
            mock_providers::fault::fmt_duration(*from),
            mock_providers::fault::fmt_duration(*to)
        ),
        Schedule::Outage { from, length } => format!(
            "{{outage: {{from: {}, for: {}}}}}",
            mock_providers::fault::fmt_duration(*from),
            mock_providers::fault::fmt_duration(*length)
        ),
        Schedule::Flap {
            from,
            down,
            up,
            times,
        } => format!(
            "{{flap: {{from: {}, down: {}, up: {}, times: {times}}}}}",
            mock_providers::fault::fmt_duration(*from),
            mock_providers::fault::fmt_duration(*down),
            mock_providers::fault::fmt_duration(*up)
        ),
        Schedule::Probability { p, .. } => format!("{{probability: {p}}}"),
    }
}

/// The base scenario file with these faults and the invariants as
/// expectations, so `crossfire run` on it fails the same way.
fn scenario_text(
    base: &Scenario,
    faults: &[CaseFault],
    max_attempts: u32,
    message: &str,
) -> Result<String, String> {
    let text = std::fs::read_to_string(&base.file).map_err(|e| e.to_string())?;
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| e.to_string())?;
    let map = doc
        .as_mapping_mut()
        .ok_or("the base scenario is not a mapping")?;
    let mut list = String::new();
    for (i, class, schedule) in faults {
        let id = base
            .deployments
            .get(*i)
            .map(|d| d.id().to_string())
            .unwrap_or_default();
        list.push_str(&format!(
            "- {{on: {id}, fault: {class}, schedule: {}}}\n",
            schedule_yaml(schedule)
        ));
    }
    let faults_value: serde_yaml::Value = serde_yaml::from_str(&list).map_err(|e| e.to_string())?;
    map.insert("faults".into(), faults_value);
    let name = format!("{}-explored", base.name);
    map.insert("name".into(), name.into());
    map.insert(
        "about".into(),
        format!("Found by crossfire explore: the smallest fault schedule that breaks an invariant. {message}").into(),
    );
    let expect: serde_yaml::Value = serde_yaml::from_str(&format!(
        "- max_attempts: {max_attempts}\n- no_unattributed: true\n"
    ))
    .map_err(|e| e.to_string())?;
    map.insert("expect".into(), expect);
    serde_yaml::to_string(&doc).map_err(|e| e.to_string())
}

/// Explores a base scenario.
pub fn explore(
    base: &Scenario,
    opts: &ExploreOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Explored, String> {
    if base.deployments.is_empty() {
        return Err("the scenario has no deployments to break".into());
    }
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let n = base.deployments.len();
    let classes = opts.classes.clone();
    let strategy = proptest::collection::vec(
        (0..n, proptest::sample::select(classes), schedule_strategy()),
        1..=opts.max_faults.max(1),
    );
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&opts.seed.to_le_bytes());
    let config = Config {
        cases: opts.cases,
        failure_persistence: None,
        max_shrink_iters: 64,
        // Only a spent budget or Ctrl-C rejects a case: stop at the first.
        max_global_rejects: 1,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let started = Instant::now();
    let runs = Cell::new(0u32);
    let out_of_time = Cell::new(false);
    // Ctrl-C stops the running case's gateway and mocks (their guards run)
    // and starts no further case.
    let cancel = CancellationToken::new();
    let watcher = rt.spawn({
        let cancel = cancel.clone();
        async move {
            crate::mock::wait_for_stop_signal().await;
            eprintln!("interrupted: stopping the gateway and the mocks");
            cancel.cancel();
        }
    });
    // Whether a new case may start.
    let may_start = || {
        if started.elapsed() > opts.time_budget {
            out_of_time.set(true);
        }
        !out_of_time.get() && !cancel.is_cancelled()
    };
    let progress = RefCell::new(progress);
    let batches = RefCell::new(Batches::new(
        base,
        opts.cases as usize,
        &opts.out,
        &opts.gateway,
        &cancel,
    ));
    // A gateway started for this case alone.
    let alone = |case: &Scenario, dir: PathBuf| -> Observed {
        let run_opts = RunOptions {
            out: dir,
            cancel: cancel.clone(),
            gateway: opts.gateway.clone(),
            snapshots: None,
            latency_audit: false,
            journal_memory_cap: crate::runner::DEFAULT_JOURNAL_MEMORY_CAP,
        };
        let summary = rt.block_on(runner::run(std::slice::from_ref(case), &run_opts, &|_| {}));
        match summary.scenarios.into_iter().next() {
            Some(r) => Observed {
                error: r.error,
                paths: r.paths,
                stray: r.stray,
                // The runner wrote them into the case's run folder.
                records: Vec::new(),
            },
            None => Observed {
                error: Some("the case did not run".into()),
                ..Observed::default()
            },
        }
    };
    // The cases proptest generates, in order, while none fails: a copy of
    // the runner draws them. Cases sharing gateway starts then run a few at
    // a time, ahead of proptest asking for them; a result is only ever
    // used for the very faults it ran with.
    let planned: Vec<Vec<CaseFault>> = if batches.borrow().is_some() {
        let drawn = RefCell::new(Vec::new());
        let _ = runner.clone().run(&strategy, |f| {
            drawn.borrow_mut().push(f);
            Ok(())
        });
        drawn.into_inner()
    } else {
        Vec::new()
    };
    let next_planned = Cell::new(0usize);
    let ahead: RefCell<Vec<(Vec<CaseFault>, Observed)>> = RefCell::new(Vec::new());
    // A case on its own copies in a shared gateway start; `None` when the
    // gateway runs one case per start.
    let batched = |faults: &[CaseFault]| -> Option<Observed> {
        let mut ready = ahead.borrow_mut();
        if let Some(i) = ready.iter().position(|(f, _)| f == faults) {
            return Some(ready.remove(i).1);
        }
        let mut guard = batches.borrow_mut();
        let b = guard.as_mut()?;
        let mut wave = vec![faults.to_vec()];
        let from = next_planned.get().min(planned.len());
        if let Some(i) = planned[from..].iter().position(|f| f == faults) {
            let rest = &planned[from + i + 1..];
            let more = rest.len().min(batch::AHEAD - 1);
            wave.extend(rest[..more].iter().cloned());
            next_planned.set(from + i + 1 + more);
        }
        let cases: Vec<Scenario> = wave.iter().map(|f| with_faults(base, f)).collect();
        match rt.block_on(b.run(&cases)) {
            Ok(list) => {
                let mut done = wave.into_iter().zip(list);
                let first = done.next().map(|(_, o)| o);
                ready.extend(done);
                first
            }
            Err(why) => {
                (progress.borrow_mut())(&format!(
                    "cannot run cases in one gateway start ({why}); starting the gateway per case"
                ));
                *guard = None;
                None
            }
        }
    };
    // One case: run it on fresh router state, check the invariants.
    let check = |faults: &[CaseFault]| -> Result<(), String> {
        let k = runs.get() + 1;
        runs.set(k);
        let case = with_faults(base, faults);
        let dir = opts.out.join(format!("case-{k:04}"));
        let observed = match batched(faults) {
            Some(o) => {
                if let Err(e) = batch::write_case(&dir, &o) {
                    eprintln!("error: {e}");
                }
                o
            }
            None => alone(&case, dir),
        };
        let verdict = invariants(&case, &observed, opts.max_attempts);
        let shown: Vec<String> = faults
            .iter()
            .map(|(i, c, s)| format!("{}={c}@{s}", base.deployments[*i].id()))
            .collect();
        (progress.borrow_mut())(&format!(
            "case {k}: {} -> {}",
            shown.join(" "),
            match &verdict {
                Ok(()) => "ok".to_string(),
                Err(m) => format!("VIOLATION: {m}"),
            }
        ));
        verdict
    };
    let result = runner.run(&strategy, |faults| {
        if !may_start() {
            return Err(TestCaseError::reject("time budget spent or interrupted"));
        }
        match check(&faults) {
            // A case cut short by Ctrl-C proves nothing.
            Err(_) if cancel.is_cancelled() => Err(TestCaseError::reject("interrupted")),
            r => r.map_err(TestCaseError::fail),
        }
    });
    let violation = match result {
        Ok(()) | Err(TestError::Abort(_)) => None,
        Err(TestError::Fail(reason, mut faults)) => {
            let mut message = reason.message().to_string();
            // proptest shrinks the structure; then say how many failures it
            // takes: the smallest `first: N` that still breaks, per fault.
            for i in 0..faults.len() {
                for n in 1..=10 {
                    if !may_start() {
                        break;
                    }
                    let mut trial = faults.clone();
                    trial[i].2 = Schedule::First(n);
                    if trial[i] == faults[i] {
                        break;
                    }
                    if let (Err(m), false) = (check(&trial), cancel.is_cancelled()) {
                        faults = trial;
                        message = m;
                        break;
                    }
                }
            }
            let file = opts.write.clone().unwrap_or_else(|| {
                let dir = base.file.parent().map(PathBuf::from).unwrap_or_default();
                dir.join(format!("{}-explored-{}.yaml", base.name, opts.seed))
            });
            let text = scenario_text(base, &faults, opts.max_attempts, &message)?;
            std::fs::write(&file, text)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            Some(Violation {
                message,
                faults,
                file,
            })
        }
    };
    let starts = match batches.into_inner() {
        Some(mut b) => {
            rt.block_on(b.stop());
            Some(b.starts())
        }
        None => None,
    };
    watcher.abort();
    Ok(Explored {
        runs: runs.get(),
        gateway_starts: starts,
        seed: opts.seed,
        violation,
        out_of_time: out_of_time.get(),
        interrupted: cancel.is_cancelled(),
    })
}
