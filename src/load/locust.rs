//! `crossfire load --engine locust`: when one machine cannot generate the
//! load, a distributed engine does, and crossfire keeps the measuring.
//! crossfire writes a locustfile and a plan (the same marked requests and
//! the same open-loop schedule as its own driver: every request pair at its
//! intended time, through the gateway and, half a gap later, straight to a
//! healthy mock), runs a pinned Locust master and N workers, and gets every
//! request's record back through Locust's own master-worker messages. The
//! steps are then measured exactly as the built-in driver's are, and every
//! gateway request is looked up by its marker in the mocks' journal.

use super::{group_usage, ticks_per_second, Done, Sample, StepReport, StepTargets};
use crate::deployment::ClientApi;
use crate::gateway::process::{clean_env, free_port, ProcessGuard};
use crate::gateway::GatewayError;
use crate::provision::{ensure_python_env, PythonEnvSpec};
use crate::scenario::Traffic;
use crate::traffic::{self, Target};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// The Locust crossfire installs and drives.
pub const VERSION: &str = "2.47.0";

/// The locustfile crossfire writes into the run folder.
pub const LOCUSTFILE: &str = include_str!("locustfile.py");

/// The marker's request number in the plan's bodies, replaced per request.
const N_SLOT: &str = "__XF_N__";

/// How far ahead of the test's start time zero is set, so every worker
/// has it before its first request.
const LEAD: Duration = Duration::from_secs(1);

/// How long the workers have to connect and the master to start.
const CONNECT: Duration = Duration::from_secs(60);

/// How Locust runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocustOptions {
    /// Workers crossfire starts on this machine.
    pub workers: usize,
    /// Workers someone starts on other machines; the master waits for
    /// them too.
    pub remote_workers: usize,
    /// The address the master listens on for workers (127.0.0.1 unless
    /// workers come from other machines).
    pub bind: String,
    /// Journals of `crossfire mock` instances on other machines
    /// (`--journal` there): their attempts with this run's markers count
    /// as the mocks' own.
    pub journals: Vec<PathBuf>,
}

/// The markers of run `run_id` in `crossfire mock` journals (JSONL, one
/// attempt a line); a line that is not an attempt is skipped, a file that
/// cannot be read is an error naming it.
pub fn journal_markers(files: &[PathBuf], run_id: &str) -> Result<BTreeSet<String>, GatewayError> {
    let prefix = format!("xf:{run_id}:");
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| {
            GatewayError::start(format!("--journal {}: cannot read it: {e}", f.display()))
        })?;
        out.extend(
            text.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v["marker"].as_str().map(str::to_string))
                .filter(|m| m.starts_with(&prefix)),
        );
    }
    Ok(out)
}

/// The pinned Locust environment.
pub fn env_spec() -> PythonEnvSpec {
    PythonEnvSpec {
        name: format!("locust-{VERSION}"),
        requirements: vec![format!("locust=={VERSION}")],
        expect: vec![("locust".into(), VERSION.into())],
    }
}

/// One kind of request of the plan: where it goes and its bytes, with
/// [`N_SLOT`] where the request's number goes.
#[derive(Debug, Serialize)]
struct PlanTarget {
    name: &'static str,
    base_url: String,
    path: String,
    body: String,
    headers: BTreeMap<String, String>,
    marker_header: Option<&'static str>,
    marker: String,
    /// Text the whole answer of a complete stream holds.
    stream_end: Option<&'static str>,
}

impl PlanTarget {
    fn new(name: &'static str, target: &Target, t: &Traffic, run_id: &str) -> PlanTarget {
        let marker = format!("xf:{run_id}:{N_SLOT}");
        let text = traffic::prompt(t.prompt_tokens, &marker);
        let (path, body, fixed) = traffic::request_for(t.api, &t.model, t, &text);
        let mut headers: BTreeMap<String, String> = fixed
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        headers.insert("content-type".into(), "application/json".into());
        for (k, v) in target.headers.iter().chain(&t.headers) {
            headers.insert(k.clone(), v.clone());
        }
        let stream_end = match (t.stream, t.api) {
            (false, _) => None,
            (true, ClientApi::Openai) => Some("[DONE]"),
            (true, ClientApi::Anthropic) => Some("message_stop"),
            (true, _) => None,
        };
        PlanTarget {
            name,
            base_url: target.base_url.clone(),
            path,
            body: body.to_string(),
            headers,
            marker_header: target.marker_header,
            marker,
            stream_end,
        }
    }
}

/// One step of the plan.
#[derive(Debug, Serialize)]
struct PlanStep {
    rate: f64,
    secs: f64,
    /// Request pairs in it.
    count: u64,
}

/// What the locustfile reads (`XF_PLAN`).
#[derive(Debug, Serialize)]
struct Plan {
    gateway: PlanTarget,
    direct: PlanTarget,
    steps: Vec<PlanStep>,
    workers: usize,
    max_in_flight: usize,
    timeout_s: f64,
    lead_s: f64,
    records: PathBuf,
    t0_file: PathBuf,
}

/// One request's record, as a worker sent it to the master.
#[derive(Debug, Clone, Deserialize)]
pub struct LocustRecord {
    /// Its number: the marker is `xf:<run>:<n>`.
    pub n: u64,
    /// The step it belongs to (0 is the warm-up).
    pub step: usize,
    /// Sent straight to the mock.
    pub direct: bool,
    /// The worker that sent it.
    pub worker: i64,
    /// Its intended send time, seconds after time zero.
    pub intended_s: f64,
    /// A good, complete answer.
    pub ok: bool,
    /// From the intended time to the end of the answer.
    pub latency_us: u64,
    /// The answer's status.
    #[serde(default)]
    pub status: Option<u16>,
    /// What went wrong, when it did.
    #[serde(default)]
    pub error: Option<String>,
}

/// What the Locust engine adds to a load report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LocustReport {
    /// The Locust version.
    pub version: String,
    /// Workers asked for.
    pub workers: usize,
    /// Workers whose records came back.
    pub workers_reporting: usize,
    /// Requests the plan had (through the gateway and direct, warm-up
    /// included).
    pub planned: u64,
    /// Records that came back.
    pub records: u64,
    /// Gateway requests sent (the cap let them out).
    pub gateway_sent: u64,
    /// Of which the mocks' journal holds at least one attempt with the
    /// request's marker.
    pub attributed: u64,
    /// Markers of gateway requests sent that no mock saw (the first 10).
    pub unattributed: Vec<String>,
    /// The commands the workers ran, for starting more on other machines.
    pub worker_command: String,
    /// The first transport errors (the first 5).
    pub errors: Vec<String>,
}

/// The steps, measured through Locust, and what it adds.
pub struct LocustRun {
    /// Counted steps (the warm-up left out).
    pub steps: Vec<StepReport>,
    /// Engine figures.
    pub report: LocustReport,
}

/// A reading of the gateway's CPU ticks and RSS at a Unix time.
type Usage = (f64, u64, u64);

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Reads the gateway group's CPU and RSS every 200 ms until `stop`.
fn sample_usage(pgid: Option<i32>, stop: CancellationToken) -> tokio::task::JoinHandle<Vec<Usage>> {
    tokio::spawn(async move {
        let mut out = Vec::new();
        let Some(pgid) = pgid else { return out };
        loop {
            if let Some((ticks, rss)) = group_usage(pgid) {
                out.push((unix_now(), ticks, rss));
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = stop.cancelled() => break,
            }
        }
        out
    })
}

/// CPU (percent of one core) and RSS over `[from, to]` from the readings.
fn usage_between(readings: &[Usage], from: f64, to: f64) -> Option<(f64, u64)> {
    let before = readings.iter().rev().find(|r| r.0 <= from)?;
    let after = readings.iter().find(|r| r.0 >= to)?;
    let secs = (after.0 - before.0).max(1e-9);
    let cpu = after.1.saturating_sub(before.1) as f64 / ticks_per_second();
    Some((100.0 * cpu / secs, after.2))
}

fn locust_error(what: &str, log: &Path) -> GatewayError {
    GatewayError::start(format!(
        "Locust {what}; the last lines of its master's log ({}):\n{}",
        log.display(),
        crate::gateway::process::log_tail(log, 2_000).trim_end()
    ))
}

/// Runs the warm-up and `rates` through Locust with `workers` local
/// workers, and measures them.
#[allow(clippy::too_many_arguments)] // the step's own figures, each needed
pub async fn run(
    to: &StepTargets<'_>,
    warm_up: Duration,
    rates: &[f64],
    step: Duration,
    lo: &LocustOptions,
    run_id: &str,
    out: &Path,
    local_markers: impl FnOnce() -> BTreeSet<String>,
    cancel: &CancellationToken,
) -> Result<LocustRun, GatewayError> {
    let workers = lo.workers + lo.remote_workers;
    let env = ensure_python_env(&env_spec(), &mut |line| eprintln!("crossfire: {line}"))?;
    // Absolute: Locust runs in this folder and reads the plan's paths.
    let dir = std::path::absolute(out.join("locust"))
        .map_err(|e| GatewayError::start(format!("cannot resolve {}: {e}", out.display())))?;
    crate::gateway::create_dir(&dir)?;
    let mut steps = vec![(rates.first().copied().unwrap_or(1.0), warm_up)];
    steps.extend(rates.iter().map(|r| (*r, step)));
    let plan = Plan {
        gateway: PlanTarget::new("gateway", to.gateway, to.traffic, run_id),
        direct: PlanTarget::new("direct", to.direct, to.direct_traffic, run_id),
        steps: steps
            .iter()
            .map(|(rate, took)| PlanStep {
                rate: *rate,
                secs: took.as_secs_f64(),
                count: (took.as_secs_f64() * rate).round().max(1.0) as u64,
            })
            .collect(),
        workers,
        max_in_flight: to.max_in_flight,
        timeout_s: to.traffic.timeout.as_secs_f64(),
        lead_s: LEAD.as_secs_f64(),
        records: dir.join("records.jsonl"),
        t0_file: dir.join("t0"),
    };
    let planned: u64 = plan.steps.iter().map(|s| 2 * s.count).sum();
    let total: f64 = plan.steps.iter().map(|s| s.secs).sum();
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text)
            .map_err(|e| GatewayError::start(format!("cannot write {}: {e}", path.display())))
    };
    let (plan_file, locustfile) = (dir.join("plan.json"), dir.join("locustfile.py"));
    let plan_text = serde_json::to_string_pretty(&plan)
        .map_err(|e| GatewayError::start(format!("cannot write the Locust plan: {e}")))?;
    write(&plan_file, &plan_text)?;
    write(&locustfile, LOCUSTFILE)?;
    let _ = std::fs::remove_file(&plan.records);
    let port = free_port()?;
    let locust = env.bin("locust");
    let command = |role: &[String]| {
        let mut c = Command::new(&locust);
        clean_env(&mut c);
        c.env("XF_PLAN", &plan_file)
            .arg("-f")
            .arg(&locustfile)
            .args(role)
            .current_dir(&dir);
        c
    };
    let run_time = format!("{}s", (total + CONNECT.as_secs_f64() + 30.0).ceil());
    let master_args: Vec<String> = [
        "--master",
        "--headless",
        "--master-bind-host",
        &lo.bind,
        "--master-bind-port",
        &port.to_string(),
        "--expect-workers",
        &workers.to_string(),
        "--expect-workers-max-wait",
        &CONNECT.as_secs().to_string(),
        "--users",
        &workers.to_string(),
        "--spawn-rate",
        &workers.to_string(),
        "--run-time",
        &run_time,
        "--stop-timeout",
        "30",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let worker_args: Vec<String> = [
        "--worker",
        "--master-host",
        if lo.bind == "0.0.0.0" {
            "127.0.0.1"
        } else {
            &lo.bind
        },
        "--master-port",
        &port.to_string(),
        "--loglevel",
        "WARNING",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let master_log = dir.join("master.log");
    let spawn = |name: &str, args: &[String], log: &Path| {
        ProcessGuard::spawn(name, command(args), log)
            .map_err(|e| GatewayError::start(format!("cannot start Locust ({name}): {e}")))
    };
    // Listening on every address, the master's own address for other
    // machines is not known here: the printed command says where it goes.
    let unspecified = lo
        .bind
        .parse::<std::net::IpAddr>()
        .is_ok_and(|a| a.is_unspecified());
    let shown_args: Vec<String> = worker_args
        .iter()
        .map(|a| match a.as_str() {
            "127.0.0.1" if unspecified => "<this machine's address>".to_string(),
            _ => a.clone(),
        })
        .collect();
    let worker_command = format!(
        "XF_PLAN=plan.json locust -f locustfile.py {}",
        shown_args.join(" ")
    );
    let mut master = spawn("locust master", &master_args, &master_log)?;
    if lo.remote_workers > 0 {
        eprintln!(
            "crossfire: waiting up to {} s for {} more Locust worker(s): on each machine, with locust=={VERSION} installed and {} and {} copied into one folder, run there:\n  {worker_command}",
            CONNECT.as_secs(),
            lo.remote_workers,
            locustfile.display(),
            plan_file.display(),
        );
    }
    let mut worker_guards = Vec::new();
    for w in 0..lo.workers {
        worker_guards.push(spawn(
            "locust worker",
            &worker_args,
            &dir.join(format!("worker-{w}.log")),
        )?);
    }
    let stop_sampling = CancellationToken::new();
    let sampler = sample_usage(to.pgid, stop_sampling.clone());
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs_f64(total)
        + CONNECT
        + Duration::from_secs(45);
    let status = loop {
        if let Some(s) = master.exited() {
            break Some(s);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = cancel.cancelled() => break None,
        }
        if tokio::time::Instant::now() > deadline {
            break None;
        }
    };
    stop_sampling.cancel();
    let readings = sampler.await.unwrap_or_default();
    master.stop(Duration::from_secs(2));
    for mut w in worker_guards {
        w.stop(Duration::from_secs(2));
    }
    if status.is_none() && !cancel.is_cancelled() {
        return Err(locust_error(
            "did not finish its schedule in time",
            &master_log,
        ));
    }
    let t0: Option<f64> = std::fs::read_to_string(&plan.t0_file)
        .ok()
        .and_then(|t| t.trim().parse().ok());
    let records: Vec<LocustRecord> = std::fs::read_to_string(&plan.records)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if records.is_empty() && !cancel.is_cancelled() {
        let what = match status {
            Some(s) if !s.success() => format!("ended ({s}) before any record came back"),
            _ => "sent no record back".to_string(),
        };
        return Err(locust_error(&what, &master_log));
    }
    let mut seen = local_markers();
    seen.extend(journal_markers(&lo.journals, run_id)?);
    let mut report = LocustReport {
        version: VERSION.to_string(),
        workers,
        workers_reporting: records
            .iter()
            .map(|r| r.worker)
            .collect::<BTreeSet<_>>()
            .len(),
        planned,
        records: records.len() as u64,
        worker_command,
        ..LocustReport::default()
    };
    for r in records.iter().filter(|r| !r.direct) {
        let sent = r
            .error
            .as_deref()
            .is_none_or(|e| !e.starts_with("not sent"));
        if !sent {
            continue;
        }
        report.gateway_sent += 1;
        let marker = format!("xf:{run_id}:{}", r.n);
        if seen.contains(&marker) {
            report.attributed += 1;
        } else if report.unattributed.len() < 10 {
            report.unattributed.push(marker);
        }
    }
    report.errors = records
        .iter()
        .filter_map(|r| r.error.clone())
        .take(5)
        .collect();
    let mut at = t0.unwrap_or(0.0);
    let mut measured = Vec::new();
    for (i, (rate, took)) in steps.iter().enumerate() {
        let done: Vec<Done> = records
            .iter()
            .filter(|r| r.step == i)
            .map(|r| Done {
                direct: r.direct,
                intended_us: (r.intended_s * 1e6) as u64,
                sample: Sample {
                    latency_us: r.latency_us,
                    ok: r.ok,
                },
                record: None,
            })
            .collect();
        let usage = t0.and_then(|_| usage_between(&readings, at, at + took.as_secs_f64()));
        at += took.as_secs_f64();
        if i == 0 {
            continue;
        }
        let (gateway, direct) = super::split(&done);
        measured.push(StepReport::from_samples(
            *rate, *took, &gateway, &direct, usage,
        ));
    }
    Ok(LocustRun {
        steps: measured,
        report,
    })
}

/// What the Locust engine did, in words: its workers, the records they
/// sent back, and how many gateway requests the mocks saw.
pub fn sentence(l: &LocustReport) -> String {
    let mut s = format!(
        "Sent by Locust {} ({} of {} workers sent records back): {} of {} planned requests recorded; {} of {} gateway requests reached a provider mock under their marker.",
        l.version, l.workers_reporting, l.workers, l.records, l.planned, l.attributed, l.gateway_sent
    );
    if !l.unattributed.is_empty() {
        s.push_str(&format!(" No mock saw: {}.", l.unattributed.join(", ")));
    }
    if !l.errors.is_empty() {
        s.push_str(&format!(" First errors: {}.", l.errors.join("; ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_over_a_window_comes_from_the_readings_around_it() {
        let tps = ticks_per_second();
        let readings = [
            (10.0, 0, 1),
            (11.0, (0.5 * tps) as u64, 2),
            (12.0, tps as u64, 3),
        ];
        let (cpu, rss) = usage_between(&readings, 10.5, 11.5).unwrap();
        assert!((cpu - 50.0).abs() < 1.0, "{cpu}");
        assert_eq!(rss, 3);
        assert_eq!(usage_between(&readings, 9.0, 11.0), None, "nothing before");
    }

    #[test]
    fn other_machines_journals_count_this_runs_markers_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("journal.jsonl");
        std::fs::write(
            &f,
            "{\"marker\":\"xf:run1:1\"}\nnot json\n{\"marker\":\"xf:run2:1\"}\n{\"marker\":null}\n{\"marker\":\"xf:run1:7\"}\n",
        )
        .unwrap();
        let seen = journal_markers(std::slice::from_ref(&f), "run1").unwrap();
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            ["xf:run1:1", "xf:run1:7"]
        );
        let e = journal_markers(&[dir.path().join("nope.jsonl")], "run1").unwrap_err();
        assert!(e.to_string().contains("--journal"), "{e}");
    }
}
