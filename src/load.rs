//! `crossfire load`: the gateway's overhead as traffic grows. Open-loop
//! traffic at stepped constant arrival rates: each request is sent at its
//! intended time whatever the ones before it are doing, and its latency is
//! measured from that intended time, so a stalled gateway cannot hide its
//! queueing (no coordinated omission). At the same rate, interleaved, the
//! same requests go straight to a healthy mock: the overhead per step is
//! the difference of the two at each percentile, from HDR histograms. The
//! gateway's CPU and RSS per step come from /proc. The knee is the highest
//! rate whose p99 overhead and error rate stay under the limits.

pub mod failover;
pub mod locust;

use crate::gateway::GatewayError;
use crate::records::RequestRecord;
use crate::scenario::Traffic;
use crate::traffic::{self, Target};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Latency percentiles, microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Quantiles {
    /// Median.
    pub p50_us: u64,
    /// 90th.
    pub p90_us: u64,
    /// 99th.
    pub p99_us: u64,
    /// 99.9th.
    pub p999_us: u64,
}

impl Quantiles {
    /// The percentiles of `values` (microseconds), from an HDR histogram
    /// (3 significant digits); `None` for no value.
    pub fn of(values: &[u64]) -> Option<Quantiles> {
        if values.is_empty() {
            return None;
        }
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).ok()?;
        for v in values {
            h.saturating_record((*v).max(1));
        }
        Some(Quantiles {
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
        })
    }
}

/// Gateway minus direct at each percentile, microseconds (negative when the
/// direct call was slower: noise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Overhead {
    /// At p50.
    pub p50_us: i64,
    /// At p90.
    pub p90_us: i64,
    /// At p99.
    pub p99_us: i64,
    /// At p99.9.
    pub p999_us: i64,
}

impl Overhead {
    /// `gateway - direct`, percentile by percentile.
    pub fn between(gateway: &Quantiles, direct: &Quantiles) -> Overhead {
        let d = |g: u64, x: u64| g as i64 - x as i64;
        Overhead {
            p50_us: d(gateway.p50_us, direct.p50_us),
            p90_us: d(gateway.p90_us, direct.p90_us),
            p99_us: d(gateway.p99_us, direct.p99_us),
            p999_us: d(gateway.p999_us, direct.p999_us),
        }
    }
}

/// What one request of a step gave: its latency from its intended send
/// time, and whether it was a good answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// From the intended send time to the end of the answer, microseconds.
    pub latency_us: u64,
    /// A good, complete answer.
    pub ok: bool,
}

/// One step: a constant arrival rate for a while.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// Requests per second asked for (through the gateway; as many again
    /// straight to the mock).
    pub rate: f64,
    /// Requests sent through the gateway.
    pub sent: u64,
    /// Of which failed (an error, a bad answer, or not sent: more in flight
    /// than the cap).
    pub errors: u64,
    /// errors / sent.
    pub error_rate: f64,
    /// Requests per second the gateway answered.
    pub achieved_rate: f64,
    /// Through the gateway, good answers, from the intended send time.
    pub gateway: Option<Quantiles>,
    /// Straight to the healthy mock.
    pub direct: Option<Quantiles>,
    /// The gateway's own share.
    pub overhead: Option<Overhead>,
    /// The gateway's processes' CPU over the step, percent of one core.
    pub cpu_percent: Option<f64>,
    /// Their resident memory at the step's end, KiB.
    pub rss_kib: Option<u64>,
}

impl StepReport {
    /// The step's figures from its samples.
    pub fn from_samples(
        rate: f64,
        took: Duration,
        gateway: &[Sample],
        direct: &[Sample],
        usage: Option<(f64, u64)>,
    ) -> StepReport {
        let good = |s: &[Sample]| -> Vec<u64> {
            s.iter().filter(|x| x.ok).map(|x| x.latency_us).collect()
        };
        let (g, d) = (Quantiles::of(&good(gateway)), Quantiles::of(&good(direct)));
        let sent = gateway.len() as u64;
        let errors = gateway.iter().filter(|x| !x.ok).count() as u64;
        StepReport {
            rate,
            sent,
            errors,
            error_rate: if sent == 0 {
                0.0
            } else {
                errors as f64 / sent as f64
            },
            achieved_rate: (sent - errors) as f64 / took.as_secs_f64().max(1e-9),
            overhead: g.zip(d).map(|(g, d)| Overhead::between(&g, &d)),
            gateway: g,
            direct: d,
            cpu_percent: usage.map(|u| u.0),
            rss_kib: usage.map(|u| u.1),
        }
    }

    /// Whether the step stayed within the limits.
    pub fn within(&self, limits: &Limits) -> bool {
        self.sent > 0
            && self.error_rate <= limits.max_error_rate
            && self
                .overhead
                .is_some_and(|o| o.p99_us <= limits.max_p99_overhead.as_micros() as i64)
    }
}

/// What a step may cost and still count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    /// p99 overhead at most.
    pub max_p99_overhead: Duration,
    /// Error rate at most (0..1).
    pub max_error_rate: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_p99_overhead: Duration::from_millis(50),
            max_error_rate: 0.01,
        }
    }
}

/// The knee: the highest rate of the steps, in the order run, up to which
/// every step stayed within the limits. `None` when the first did not.
pub fn knee(steps: &[StepReport], limits: &Limits) -> Option<f64> {
    steps
        .iter()
        .take_while(|s| s.within(limits))
        .map(|s| s.rate)
        .last()
}

/// The knee in one sentence.
pub fn knee_sentence(gateway: &str, steps: &[StepReport], limits: &Limits) -> String {
    let limit = format!(
        "p99 overhead at most {} ms and errors at most {:.1}%",
        limits.max_p99_overhead.as_millis(),
        limits.max_error_rate * 100.0
    );
    match (knee(steps, limits), steps.iter().find(|s| !s.within(limits))) {
        (Some(k), Some(first_bad)) => format!(
            "{gateway} holds {limit} up to {k} requests/s; at {} requests/s it does not (p99 overhead {}, errors {:.1}%)",
            first_bad.rate,
            first_bad
                .overhead
                .map_or("unmeasured".to_string(), |o| ms(o.p99_us)),
            first_bad.error_rate * 100.0
        ),
        (Some(k), None) => format!(
            "{gateway} holds {limit} at every rate tried, up to {k} requests/s: the knee is higher"
        ),
        (None, _) => format!("{gateway} does not hold {limit} even at the first rate tried"),
    }
}

/// Microseconds as milliseconds, `3.41 ms`.
pub fn ms(us: i64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

/// The steps as a table (terminal and Markdown alike).
pub fn table(steps: &[StepReport]) -> String {
    let mut s = String::from(
        "| rate/s | sent | errors | achieved/s | overhead p50 | p90 | p99 | p99.9 | gateway p99 | direct p99 | CPU % | RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for x in steps {
        let o = |f: fn(&Overhead) -> i64| x.overhead.as_ref().map_or("-".into(), |o| ms(f(o)));
        let q = |v: Option<Quantiles>| v.map_or("-".into(), |q| ms(q.p99_us as i64));
        s.push_str(&format!(
            "| {} | {} | {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            x.rate,
            x.sent,
            x.errors,
            x.achieved_rate,
            o(|o| o.p50_us),
            o(|o| o.p90_us),
            o(|o| o.p99_us),
            o(|o| o.p999_us),
            q(x.gateway),
            q(x.direct),
            x.cpu_percent.map_or("-".into(), |c| format!("{c:.0}")),
            x.rss_kib
                .map_or("-".into(), |r| format!("{:.0}", r as f64 / 1024.0)),
        ));
    }
    s
}

/// CPU time (clock ticks) and resident memory (KiB) of every process in
/// group `pgid`, read from /proc.
pub fn group_usage(pgid: i32) -> Option<(u64, u64)> {
    let members = crate::gateway::process::group_members(pgid);
    if members.is_empty() {
        return None;
    }
    let (mut ticks, mut rss) = (0u64, 0u64);
    for (pid, stat) in members {
        ticks += parse_stat(&stat).map_or(0, |(_, t)| t);
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            rss += parse_rss_kib(&status).unwrap_or(0);
        }
    }
    Some((ticks, rss))
}

/// `(pgrp, utime + stime)` of a `/proc/PID/stat` line; `comm` may hold
/// spaces and parentheses, so fields are counted after the last `)`.
pub fn parse_stat(stat: &str) -> Option<(i32, u64)> {
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After `)`: state(0) ppid(1) pgrp(2) ... utime(11) stime(12).
    let group = f.get(2)?.parse().ok()?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((group, utime + stime))
}

/// `VmRSS` of a `/proc/PID/status`, KiB.
pub fn parse_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Clock ticks per second (`_SC_CLK_TCK`).
pub(crate) fn ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a constant of the system.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Where one step sends.
#[derive(Debug, Clone)]
pub struct StepTargets<'a> {
    /// Through the gateway.
    pub gateway: &'a Target,
    /// Straight to the healthy mock.
    pub direct: &'a Target,
    /// What each gateway request looks like.
    pub traffic: &'a Traffic,
    /// What each direct request looks like.
    pub direct_traffic: &'a Traffic,
    /// The gateway's process group, for its CPU and RSS.
    pub pgid: Option<i32>,
    /// Requests in flight at most; past it a request is not sent and
    /// counts as an error (the gateway fell behind).
    pub max_in_flight: usize,
    /// Time zero of the mocks' journal: records and intended send times
    /// are on its clock, so they line up with the provider attempts.
    pub clock: Instant,
}

/// One request of a step, done.
#[derive(Debug, Clone)]
pub struct Done {
    /// Sent straight to the mock, not through the gateway.
    pub direct: bool,
    /// When it was meant to be sent, microseconds on the journal's clock.
    pub intended_us: u64,
    /// Its latency from then, and whether it was good.
    pub sample: Sample,
    /// What the client saw; `None` when it was not sent (more in flight
    /// than the cap).
    pub record: Option<RequestRecord>,
}

/// Open-loop traffic from `start`: `rate` requests a second through the
/// gateway for `took`, and as many straight to the mock, half a gap later
/// each. Every request is sent at its intended time whatever the ones
/// before it are doing.
#[allow(clippy::too_many_arguments)] // the step's own figures, each needed
pub async fn drive(
    client: &reqwest::Client,
    to: &StepTargets<'_>,
    rate: f64,
    took: Duration,
    start: Instant,
    run_id: &str,
    next_n: &Arc<AtomicU64>,
    cancel: &CancellationToken,
) -> Vec<Done> {
    let gap = Duration::from_secs_f64(1.0 / rate);
    let count = (took.as_secs_f64() * rate).round().max(1.0) as u64;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let on_clock = |t: Instant| t.saturating_duration_since(to.clock).as_micros() as u64;
    for i in 0..count {
        for (direct, offset) in [(false, Duration::ZERO), (true, gap / 2)] {
            let intended = start + gap.mul_f64(i as f64) + offset;
            tokio::select! {
                _ = tokio::time::sleep_until(intended.into()) => {}
                _ = cancel.cancelled() => break,
            }
            let intended_us = on_clock(intended);
            if in_flight.load(Ordering::Relaxed) >= to.max_in_flight {
                tasks.spawn(async move {
                    Done {
                        direct,
                        intended_us,
                        sample: Sample {
                            latency_us: 0,
                            ok: false,
                        },
                        record: None,
                    }
                });
                continue;
            }
            in_flight.fetch_add(1, Ordering::Relaxed);
            let (client, target, t) = if direct {
                (client.clone(), to.direct.clone(), to.direct_traffic.clone())
            } else {
                (client.clone(), to.gateway.clone(), to.traffic.clone())
            };
            let (run, n, flight, clock) = (
                run_id.to_string(),
                next_n.fetch_add(1, Ordering::Relaxed) + 1,
                in_flight.clone(),
                to.clock,
            );
            tasks.spawn(async move {
                let r: RequestRecord = traffic::one(&client, &target, 0, &t, &run, n, clock).await;
                flight.fetch_sub(1, Ordering::Relaxed);
                Done {
                    direct,
                    intended_us,
                    sample: Sample {
                        latency_us: intended.elapsed().as_micros() as u64,
                        ok: r.ok(),
                    },
                    record: Some(r),
                }
            });
        }
        if cancel.is_cancelled() {
            break;
        }
    }
    let mut done = Vec::with_capacity(2 * count as usize);
    while let Some(d) = tasks.join_next().await {
        if let Ok(d) = d {
            done.push(d);
        }
    }
    done.sort_by_key(|d| d.intended_us);
    done
}

/// The gateway's and the direct samples of `done`.
pub fn split(done: &[Done]) -> (Vec<Sample>, Vec<Sample>) {
    let (direct, gateway): (Vec<&Done>, Vec<&Done>) = done.iter().partition(|d| d.direct);
    let samples = |v: Vec<&Done>| v.iter().map(|d| d.sample).collect();
    (samples(gateway), samples(direct))
}

/// Runs one step: [`drive`] from now, with the gateway's CPU and RSS over it.
pub async fn run_step(
    client: &reqwest::Client,
    to: &StepTargets<'_>,
    rate: f64,
    took: Duration,
    run_id: &str,
    next_n: &Arc<AtomicU64>,
    cancel: &CancellationToken,
) -> StepReport {
    let usage_at_start = to.pgid.and_then(group_usage);
    let start = Instant::now() + Duration::from_millis(20);
    let done = drive(client, to, rate, took, start, run_id, next_n, cancel).await;
    let took_really = start.elapsed();
    let usage = match (to.pgid, usage_at_start) {
        (Some(pgid), Some((t0, _))) => group_usage(pgid).map(|(t1, rss)| {
            let cpu = t1.saturating_sub(t0) as f64 / ticks_per_second();
            (100.0 * cpu / took_really.as_secs_f64().max(1e-9), rss)
        }),
        _ => None,
    };
    let (gateway, direct) = split(&done);
    StepReport::from_samples(rate, took_really, &gateway, &direct, usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rate: f64, p99_overhead_ms: i64, errors: u64) -> StepReport {
        StepReport {
            rate,
            sent: 100,
            errors,
            error_rate: errors as f64 / 100.0,
            achieved_rate: rate,
            gateway: None,
            direct: None,
            overhead: Some(Overhead {
                p99_us: p99_overhead_ms * 1000,
                ..Overhead::default()
            }),
            cpu_percent: None,
            rss_kib: None,
        }
    }

    #[test]
    fn the_knee_is_the_last_rate_before_a_limit_breaks() {
        let limits = Limits::default();
        let steps = [
            step(50.0, 5, 0),
            step(100.0, 20, 1),
            step(200.0, 80, 0),
            step(400.0, 10, 0),
        ];
        // 400/s within the limits again does not move the knee past 200.
        assert_eq!(knee(&steps, &limits), Some(100.0));
        let s = knee_sentence("litellm", &steps, &limits);
        assert!(
            s.contains(
                "up to 100 requests/s; at 200 requests/s it does not (p99 overhead 80.00 ms"
            ),
            "{s}"
        );
        assert_eq!(knee(&[step(50.0, 5, 2)], &limits), None, "2% errors");
        assert_eq!(knee(&[], &limits), None);
    }

    #[test]
    fn latency_from_the_intended_time_keeps_queueing_in_the_percentiles() {
        // A gateway that stalls 1 s once: the requests meant to go out
        // during the stall still count their wait (coordinated omission
        // would drop it and report a fast p99).
        let mut samples: Vec<Sample> = (0..95)
            .map(|_| Sample {
                latency_us: 2_000,
                ok: true,
            })
            .collect();
        samples.extend((0..5).map(|k| Sample {
            latency_us: 1_000_000 - k * 200_000,
            ok: true,
        }));
        let direct: Vec<Sample> = (0..100)
            .map(|_| Sample {
                latency_us: 1_000,
                ok: true,
            })
            .collect();
        let r = StepReport::from_samples(100.0, Duration::from_secs(1), &samples, &direct, None);
        let o = r.overhead.unwrap();
        assert!(o.p99_us > 100_000, "{o:?}");
        assert!((900..=1_100).contains(&o.p50_us), "{o:?}");
    }

    #[test]
    fn a_step_above_half_the_drivers_ceiling_is_warned_about_and_one_below_is_not() {
        let probe = |rate: f64, kept_up: bool| Probe {
            rate,
            achieved_rate: rate,
            errors: 0,
            p99_us: Some(1_000),
            kept_up,
        };
        let short = Ceiling {
            probes: vec![probe(4000.0, false), probe(2000.0, true)],
            kept_up_to: Some(2000.0),
            short_at: Some(4000.0),
        };
        // A step sends its rate twice; half of 2000 is 1000: 500/s is the most.
        let w = ceiling_warnings(&short, &[100.0, 500.0, 501.0, 1000.0]);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("the step at 501 requests/s sends 1002 requests/s"),
            "{w:?}"
        );
        let fine = Ceiling {
            probes: vec![probe(4000.0, true)],
            kept_up_to: Some(4000.0),
            short_at: None,
        };
        assert!(ceiling_warnings(&fine, &[1000.0]).is_empty());
    }

    #[test]
    fn proc_stat_and_status_are_read_past_odd_command_names() {
        let stat = "4242 (python3 (x) y) S 1 4240 4240 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 4 0 1000 100000 2000";
        assert_eq!(parse_stat(stat), Some((4240, 175)));
        assert_eq!(
            parse_rss_kib("Name:\tx\nVmRSS:\t  123456 kB\n"),
            Some(123_456)
        );
        assert_eq!(parse_rss_kib("Name:\tx\n"), None);
        // This process is in some group, and has some memory.
        // SAFETY: getpgrp has no preconditions.
        let me = unsafe { libc::getpgrp() };
        assert!(group_usage(me).is_some_and(|(_, rss)| rss > 0));
    }
}

/// How to load a gateway.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The run folder.
    pub out: std::path::PathBuf,
    /// Requests per second, one step each, in order.
    pub rates: Vec<f64>,
    /// How long each step lasts.
    pub step: Duration,
    /// What a step may cost and still count.
    pub limits: Limits,
    /// Requests in flight at most.
    pub max_in_flight: usize,
    /// Gateway options.
    pub gateway: crate::gateway::GatewayOptions,
    /// Ctrl-C.
    pub cancel: CancellationToken,
    /// After the steps, an outage on the primary at one rate.
    pub outage: Option<failover::OutagePlan>,
    /// What sends the steps' requests.
    pub engine: Engine,
}

/// What sends a load run's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// crossfire's own open-loop driver, in this process.
    Builtin,
    /// A pinned Locust master and its workers.
    Locust(locust::LocustOptions),
}

impl Engine {
    /// Its name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Builtin => "builtin",
            Engine::Locust(_) => "locust",
        }
    }
}

/// A whole load run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The config or scenario loaded.
    pub config: std::path::PathBuf,
    /// Gateway kind.
    pub gateway: &'static str,
    /// The model group.
    pub group: String,
    /// The steps, in order.
    pub steps: Vec<StepReport>,
    /// The limits.
    pub limits: Limits,
    /// The highest rate within the limits.
    pub knee: Option<f64>,
    /// The knee in a sentence.
    pub sentence: String,
    /// The plot of overhead percentiles against rate.
    pub plot: Option<std::path::PathBuf>,
    /// The outage under load, when asked for.
    pub failover: Option<failover::FailoverReport>,
    /// What the driver and the mocks alone kept up with, probed up to
    /// four times the highest step.
    pub ceiling: Option<Ceiling>,
    /// Steps that asked for more than half of it.
    pub warnings: Vec<String>,
    /// What sent the requests: `builtin` or `locust`.
    pub engine: &'static str,
    /// With Locust: its workers, the records they sent back, and every
    /// gateway request looked up by its marker in the mocks' journal.
    pub locust: Option<locust::LocustReport>,
    /// Whether Ctrl-C cut it short.
    pub interrupted: bool,
}

/// How long the uncounted warm-up before the first step lasts.
pub const WARM_UP: Duration = Duration::from_secs(2);

/// The plot's file in the run folder.
pub const PLOT_FILE: &str = "load-overhead.svg";

/// What `crossfire load` loads: a gateway crossfire runs from a team's
/// config through its adapter, or whatever gateway a scenario names
/// (`command`, `url`, `direct`, or a config), with the scenario's first
/// traffic entry as the request every step sends.
#[derive(Debug, Clone)]
pub enum Subject {
    /// `--gateway KIND --config FILE [--group G]`.
    Config {
        /// The team's config.
        config: Arc<dyn crate::gateway::adapter::GatewayConfig>,
        /// The model group (default: the config's first).
        group: Option<String>,
    },
    /// `--scenario FILE`: its gateway, its deployments (healthy: a load
    /// run's faults are its own), its first traffic entry.
    Scenario(Box<crate::scenario::Scenario>),
}

impl Subject {
    /// The gateway's kind (`litellm`, `command`, `url`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Config { config, .. } => config.adapter().name(),
            Subject::Scenario(s) => s.gateway.kind(),
        }
    }

    /// The file it comes from.
    pub fn file(&self) -> &std::path::Path {
        match self {
            Subject::Config { config, .. } => config.file(),
            Subject::Scenario(s) => &s.file,
        }
    }

    /// The team's config, when the gateway runs from one.
    pub fn config(&self) -> Option<&dyn crate::gateway::adapter::GatewayConfig> {
        match self {
            Subject::Config { config, .. } => Some(config.as_ref()),
            Subject::Scenario(s) => s.gateway.config().map(|c| c.as_ref()),
        }
    }

    /// The deployments to mock, healthy.
    pub fn deployments(&self) -> Result<Vec<crate::deployment::Deployment>, GatewayError> {
        let mut list = match self {
            Subject::Config { config, .. } => config.deployments(false)?.deployments,
            Subject::Scenario(s) => s.deployments.clone(),
        };
        for d in &mut list {
            d.spec.faults.clear();
        }
        Ok(list)
    }

    /// The request every step sends.
    pub fn traffic(&self) -> Result<Traffic, GatewayError> {
        match self {
            Subject::Config { config, group } => {
                let group =
                    match group {
                        Some(g) => g.clone(),
                        None => config.groups().into_iter().next().ok_or_else(|| {
                            GatewayError::start("the config serves no model group")
                        })?,
                    };
                if let Some(why) = config.refuses_group(&group) {
                    return Err(GatewayError::start(why));
                }
                Ok(Traffic {
                    model: group,
                    requests: None,
                    duration: None,
                    concurrency: 1,
                    rate: None,
                    interval: None,
                    prompt_tokens: 50,
                    max_tokens: 16,
                    stream: false,
                    api: config.api(),
                    timeout: Duration::from_secs(30),
                    headers: Default::default(),
                })
            }
            Subject::Scenario(s) => s.traffic.first().cloned().ok_or_else(|| {
                GatewayError::start(format!("{} has no traffic entry", s.file.display()))
            }),
        }
    }

    /// Starts the gateway (or points at it) over mocks at `mocks`.
    async fn start(
        &self,
        deployments: &[crate::deployment::Deployment],
        mocks: &mock_providers::MockSet,
        opts: &LoadOptions,
    ) -> Result<crate::gateway::RunningGateway, GatewayError> {
        match self {
            Subject::Config { config, .. } => {
                let bases = crate::session::mock_bases(deployments, mocks);
                crate::session::start_config(
                    config.as_ref(),
                    &bases,
                    &opts.out,
                    config.adapter().startup_timeout(),
                    &opts.gateway,
                    &opts.cancel,
                )
                .await
            }
            Subject::Scenario(s) => {
                crate::session::start_gateway(s, mocks, &opts.out, &opts.gateway, &opts.cancel)
                    .await
            }
        }
    }
}

/// The healthy mock the direct half of every step goes to, and the
/// client both halves share.
pub struct Bench {
    /// The mock.
    pub mock: mock_providers::MockSet,
    /// Where it answers.
    pub target: Target,
    /// The client.
    pub client: reqwest::Client,
}

impl Bench {
    /// Starts the direct mock and builds the client.
    pub async fn start(max_in_flight: usize) -> Result<Bench, GatewayError> {
        use mock_providers::{DeploymentSpec, Dialect, JournalConfig, MockSet};
        let mock = MockSet::start(
            vec![DeploymentSpec::new("crossfire-direct", Dialect::Openai)],
            JournalConfig {
                memory_cap: 10_000,
                file: None,
            },
        )
        .await
        .map_err(|e| GatewayError::start(format!("cannot start the direct mock: {e}")))?;
        let base = mock
            .deployments()
            .first()
            .map(|d| d.base_url())
            .unwrap_or_default();
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(max_in_flight)
            .build()
            .map_err(|e| GatewayError::start(format!("cannot build the HTTP client: {e}")))?;
        Ok(Bench {
            mock,
            target: Target::new(base, Default::default()),
            client,
        })
    }
}

/// The request of the direct half: the same size, in OpenAI's own API.
pub fn direct_traffic(traffic: &Traffic) -> Traffic {
    let mut t = traffic.clone();
    t.model = "gpt-4o".into();
    t.api = crate::scenario::ClientApi::Native(mock_providers::Dialect::Openai);
    t
}

/// One probe of the driver and the mocks alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    /// Requests per second sent, both halves together.
    pub rate: f64,
    /// Answered per second.
    pub achieved_rate: f64,
    /// Failed or not sent.
    pub errors: u64,
    /// p99 from the intended send time, microseconds.
    pub p99_us: Option<u64>,
    /// No error, at least 95% of the rate answered, p99 at most 25 ms.
    pub kept_up: bool,
}

/// What the driver and the mocks alone keep up with on this machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ceiling {
    /// Every probe, in the order run.
    pub probes: Vec<Probe>,
    /// The highest rate kept up with (requests/s, both halves).
    pub kept_up_to: Option<f64>,
    /// The lowest rate not kept up with, when one was not.
    pub short_at: Option<f64>,
}

/// How long each probe lasts.
pub const PROBE_STEP: Duration = Duration::from_secs(1);

/// The uncounted warm-up before the probes.
pub const PROBE_WARM_UP: Duration = Duration::from_millis(500);

/// Rates (per half) to probe up to `top`: `top` alone first; when the
/// driver and mocks fall short of it, [`ceiling`] halves down from there.
pub fn probe_rates(top: f64) -> Vec<f64> {
    vec![top.max(1.0)]
}

/// Probes the driver and the mocks alone: both halves of each step go
/// straight to the direct mock, at each of `rates` (per half) in order;
/// when the last falls short, halves down until one keeps up (at most 5).
pub async fn ceiling(
    bench: &Bench,
    traffic: &Traffic,
    rates: &[f64],
    step: Duration,
    max_in_flight: usize,
    cancel: &CancellationToken,
) -> Ceiling {
    let to = StepTargets {
        gateway: &bench.target,
        direct: &bench.target,
        traffic,
        direct_traffic: traffic,
        pgid: None,
        max_in_flight,
        clock: Instant::now(),
    };
    let (run_id, next_n) = (crate::runner::run_id(), Arc::new(AtomicU64::new(0)));
    // Uncounted: the client's first connections and the mock's first
    // answers are not what the driver sustains.
    if let Some(first) = rates.first() {
        run_step(
            &bench.client,
            &to,
            *first,
            PROBE_WARM_UP,
            &run_id,
            &next_n,
            cancel,
        )
        .await;
    }
    let mut probes: Vec<Probe> = Vec::new();
    let mut queue: Vec<f64> = rates.to_vec();
    queue.reverse();
    let mut halvings = 0;
    while let Some(rate) = queue.pop() {
        if cancel.is_cancelled() {
            break;
        }
        let r = run_step(&bench.client, &to, rate, step, &run_id, &next_n, cancel).await;
        let p99_us = r.gateway.map(|q| q.p99_us).max(r.direct.map(|q| q.p99_us));
        let probe = Probe {
            rate: 2.0 * rate,
            achieved_rate: 2.0 * r.achieved_rate,
            errors: r.errors,
            p99_us,
            kept_up: r.errors == 0
                && r.achieved_rate >= 0.95 * rate
                && p99_us.is_some_and(|p| p <= 25_000),
        };
        let short = !probe.kept_up;
        probes.push(probe);
        if short {
            if queue.is_empty() && halvings < 5 && rate > 2.0 {
                halvings += 1;
                queue.push(rate / 2.0);
            } else {
                queue.clear();
            }
        }
    }
    Ceiling {
        kept_up_to: probes
            .iter()
            .filter(|p| p.kept_up)
            .map(|p| p.rate)
            .reduce(f64::max),
        short_at: probes
            .iter()
            .filter(|p| !p.kept_up)
            .map(|p| p.rate)
            .reduce(f64::min),
        probes,
    }
}

/// Loud words for every step asking more than half of what the driver and
/// the mocks kept up with (a step sends its rate twice: through the
/// gateway and direct).
pub fn ceiling_warnings(c: &Ceiling, rates: &[f64]) -> Vec<String> {
    let Some(short) = c.short_at else {
        return Vec::new();
    };
    let limit = c.kept_up_to.unwrap_or(0.0) / 2.0;
    rates
        .iter()
        .filter(|r| 2.0 * **r > limit)
        .map(|r| {
            format!(
                "the step at {r} requests/s sends {} requests/s from this machine, more than half of the {} the driver and the mocks alone kept up with (they fell short at {short}): its figures measure crossfire, not the gateway; lower --rates or use --engine locust",
                2.0 * r,
                c.kept_up_to.map_or("none".into(), |k| format!("{k}")),
            )
        })
        .collect()
}

/// Loads the subject's gateway, step by step.
pub async fn load(
    subject: &Subject,
    opts: &LoadOptions,
    progress: &(dyn Fn(&StepReport) + Sync),
) -> Result<LoadReport, GatewayError> {
    use mock_providers::JournalConfig;
    let traffic = subject.traffic()?;
    let deployments = subject.deployments()?;
    crate::gateway::create_dir(&opts.out)?;
    // Healthy mocks; the journal stays in memory, bounded, not on disk: a
    // load run is about the client's clock.
    let journal = JournalConfig {
        memory_cap: 200_000,
        file: None,
    };
    let mocks = crate::session::start_mocks(&deployments, journal.clone()).await?;
    let gw = subject.start(&deployments, &mocks, opts).await?;
    let bench = Bench::start(opts.max_in_flight).await?;
    let client = bench.client.clone();
    let direct_traffic = direct_traffic(&traffic);
    let gateway_target = crate::session::target(&gw);
    let to = StepTargets {
        gateway: &gateway_target,
        direct: &bench.target,
        traffic: &traffic,
        direct_traffic: &direct_traffic,
        pgid: gw.process.as_ref().map(|p| p.pgid()),
        max_in_flight: opts.max_in_flight,
        clock: mocks.journal().started(),
    };
    let run_id = crate::runner::run_id();
    let next_n = Arc::new(AtomicU64::new(0));
    let (steps, ceiling, warnings, locust) = match &opts.engine {
        Engine::Builtin => {
            let (steps, ceiling, warnings) =
                builtin_steps(&bench, &client, &to, &run_id, &next_n, opts, progress).await;
            (steps, Some(ceiling), warnings, None)
        }
        Engine::Locust(lo) => {
            let run = locust::run(
                &to,
                WARM_UP,
                &opts.rates,
                opts.step,
                lo,
                &run_id,
                &opts.out,
                || {
                    mocks
                        .journal()
                        .attempts()
                        .into_iter()
                        .filter_map(|a| a.marker)
                        .collect()
                },
                &opts.cancel,
            )
            .await?;
            for s in &run.steps {
                progress(s);
            }
            (run.steps, None, Vec::new(), Some(run.report))
        }
    };
    let failover = match &opts.outage {
        Some(plan) if !opts.cancel.is_cancelled() => {
            let providers = deployments
                .iter()
                .map(|d| (d.id().to_string(), d.provider.clone()))
                .collect();
            Some(
                outage_phase(
                    plan, &client, &to, &mocks, &providers, &run_id, &next_n, opts,
                )
                .await?,
            )
        }
        _ => None,
    };
    drop(gw);
    drop(mocks.shutdown().await);
    drop(bench.mock.shutdown().await);
    let plot_file = opts.out.join(PLOT_FILE);
    let plot = match plot(&steps).and_then(|svg| {
        std::fs::write(&plot_file, svg)
            .map_err(|e| format!("cannot write {}: {e}", plot_file.display()).into())
    }) {
        Ok(()) => Some(plot_file),
        Err(e) => {
            eprintln!("error: the load plot: {e}");
            None
        }
    };
    let gateway = subject.kind();
    let report = LoadReport {
        config: subject.file().to_path_buf(),
        gateway,
        sentence: knee_sentence(gateway, &steps, &opts.limits),
        knee: knee(&steps, &opts.limits),
        group: traffic.model.clone(),
        steps,
        limits: opts.limits,
        plot,
        failover,
        ceiling,
        warnings,
        engine: opts.engine.name(),
        locust,
        interrupted: opts.cancel.is_cancelled(),
    };
    crate::report::write(&opts.out.join("load.json"), crate::report::json(&report));
    Ok(report)
}

/// The built-in driver's steps: the driver and the mocks' ceiling probed
/// first (they must not be the bottleneck: what they keep up with alone,
/// at least four times the highest step, since a step sends its rate
/// through the gateway and as much again direct, and should ask at most
/// half of what they sustain), an uncounted warm-up at the first rate (the
/// client's connections, the gateway's first requests: imports, pools),
/// then each rate.
async fn builtin_steps(
    bench: &Bench,
    client: &reqwest::Client,
    to: &StepTargets<'_>,
    run_id: &str,
    next_n: &Arc<AtomicU64>,
    opts: &LoadOptions,
    progress: &(dyn Fn(&StepReport) + Sync),
) -> (Vec<StepReport>, Ceiling, Vec<String>) {
    let highest = opts
        .rates
        .iter()
        .chain(opts.outage.as_ref().map(|o| &o.rate))
        .fold(0.0, |a: f64, b| a.max(*b));
    let ceiling = ceiling(
        bench,
        to.direct_traffic,
        &probe_rates(2.0 * highest),
        PROBE_STEP,
        opts.max_in_flight,
        &opts.cancel,
    )
    .await;
    let warnings = ceiling_warnings(&ceiling, &opts.rates);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if let Some(first) = opts.rates.first() {
        run_step(client, to, *first, WARM_UP, run_id, next_n, &opts.cancel).await;
    }
    let mut steps = Vec::new();
    for rate in &opts.rates {
        if opts.cancel.is_cancelled() {
            break;
        }
        let s = run_step(client, to, *rate, opts.step, run_id, next_n, &opts.cancel).await;
        progress(&s);
        steps.push(s);
    }
    (steps, ceiling, warnings)
}

/// The outage phase: picks the deployment (named, or the one that served
/// most so far), arms its mock with the outage on the journal's clock,
/// drives the phase's traffic and measures it.
#[allow(clippy::too_many_arguments)]
async fn outage_phase(
    plan: &failover::OutagePlan,
    client: &reqwest::Client,
    to: &StepTargets<'_>,
    mocks: &mock_providers::MockSet,
    providers: &std::collections::HashMap<String, String>,
    run_id: &str,
    next_n: &Arc<AtomicU64>,
    opts: &LoadOptions,
) -> Result<failover::FailoverReport, crate::gateway::GatewayError> {
    use mock_providers::{Fault, FaultRule, Schedule};
    let observed = plan.on.is_none();
    let on = match &plan.on {
        Some(id) => id.clone(),
        None => failover::observed_primary(&mocks.journal().attempts()).ok_or_else(|| {
            crate::gateway::GatewayError::start(
                "no deployment served the load before the outage, so there is no primary to fail; name one with --outage-on",
            )
        })?,
    };
    let mock = mocks.get(&on).ok_or_else(|| {
        crate::gateway::GatewayError::start(format!("deployment `{on}` has no mock running"))
    })?;
    let start = Instant::now() + Duration::from_millis(50);
    let from_us = start.saturating_duration_since(to.clock).as_micros() as u64;
    let outage = crate::scenario::ActiveWindow {
        from: Duration::from_micros(from_us) + plan.before,
        to: Duration::from_micros(from_us) + plan.before + plan.length,
    };
    mock.arm(vec![FaultRule {
        fault: Fault::new(plan.fault),
        schedule: Schedule::Outage {
            from: outage.from,
            length: plan.length,
        },
    }]);
    let done = drive(
        client,
        to,
        plan.rate,
        plan.total(),
        start,
        run_id,
        next_n,
        &opts.cancel,
    )
    .await;
    // Every request ended; give the mocks a moment to journal their last
    // attempts (a gateway may still be retrying one the client gave up on).
    let settle = Instant::now() + Duration::from_secs(5);
    while mocks.deployments().iter().any(|d| d.in_flight() > 0) && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    mock.arm(Vec::new());
    let to_us = from_us + plan.total().as_micros() as u64;
    let attempts: Vec<_> = mocks
        .journal()
        .attempts()
        .into_iter()
        .filter(|a| a.received_us >= from_us)
        .collect();
    Ok(failover::measure(
        plan,
        &on,
        observed,
        providers,
        &done,
        &attempts,
        outage,
        (from_us, to_us),
    ))
}

/// Picks one percentile of an overhead.
type Percentile = fn(&Overhead) -> i64;

/// The overhead percentiles against the rate, as SVG.
pub fn plot(steps: &[StepReport]) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    use plotters::prelude::*;
    let points: Vec<(f64, Overhead)> = steps
        .iter()
        .filter_map(|s| s.overhead.map(|o| (s.rate, o)))
        .collect();
    let max_rate = points.iter().map(|p| p.0).fold(1.0, f64::max) * 1.05;
    let max_ms = points
        .iter()
        .map(|(_, o)| o.p999_us.max(o.p99_us) as f64 / 1000.0)
        .fold(1.0, f64::max)
        * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("gateway overhead against arrival rate", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..max_rate, 0f64..max_ms)?;
        chart
            .configure_mesh()
            .x_desc("requests per second")
            .y_desc("overhead, ms")
            .draw()?;
        let series: [(&str, Percentile, RGBColor); 4] = [
            ("p50", |o| o.p50_us, RGBColor(31, 119, 180)),
            ("p90", |o| o.p90_us, RGBColor(44, 160, 44)),
            ("p99", |o| o.p99_us, RGBColor(255, 127, 14)),
            ("p99.9", |o| o.p999_us, RGBColor(214, 39, 40)),
        ];
        for (name, f, color) in series {
            let line: Vec<(f64, f64)> = points
                .iter()
                .map(|(r, o)| (*r, (f(o).max(0) as f64) / 1000.0))
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
            chart.draw_series(line.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// The run for the terminal: the knee's sentence and the table.
pub fn render(r: &LoadReport) -> String {
    let mut s = format!(
        "crossfire load of {} ({}, group `{}`)\n\n{}\n{}\n",
        r.config.display(),
        r.gateway,
        r.group,
        table(&r.steps),
        r.sentence
    );
    for w in &r.warnings {
        s.push_str(&format!("WARNING: {w}\n"));
    }
    if let Some(p) = &r.plot {
        s.push_str(&format!("plot: {}\n", p.display()));
    }
    if let Some(l) = &r.locust {
        s.push_str(&format!("\n{}\n", locust::sentence(l)));
    }
    if let Some(f) = &r.failover {
        s.push_str(&format!(
            "\nFailover under load\n\n{}\n{}\n",
            failover::table(f),
            f.sentence
        ));
    }
    if r.interrupted {
        s.push_str("interrupted: the steps after Ctrl-C did not run\n");
    }
    s
}

/// The run as Markdown, the plot linked relative to `dir` (the report's folder).
pub fn render_markdown(r: &LoadReport, dir: &std::path::Path) -> String {
    let mut s = format!(
        "# crossfire load: `{}` ({}, group `{}`)\n\n{}\n\n{}\n",
        r.config.display(),
        r.gateway,
        r.group,
        r.sentence,
        table(&r.steps)
    );
    for w in &r.warnings {
        s.push_str(&format!("\n> **Warning:** {w}\n"));
    }
    if let Some(p) = &r.plot {
        s.push('\n');
        s.push_str(&crate::report::markdown::image(
            "overhead against rate",
            dir,
            p,
        ));
    }
    if let Some(l) = &r.locust {
        s.push_str(&format!("\n{}\n", locust::sentence(l)));
    }
    if let Some(f) = &r.failover {
        s.push_str(&format!(
            "\n## Failover under load\n\n{}\n\n{}",
            f.sentence,
            failover::table(f)
        ));
    }
    s
}

/// Several load runs as one table: a row per gateway and rate, then each
/// gateway's knee (and its failover under load, when run).
pub fn compare_table(reports: &[LoadReport]) -> String {
    let mut s = String::from(
        "| gateway | rate/s | errors | overhead p50 | p99 | p99.9 | CPU % | RSS MiB |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        for x in &r.steps {
            let o = |f: Percentile| x.overhead.as_ref().map_or("-".into(), |o| ms(f(o)));
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.gateway,
                x.rate,
                x.errors,
                o(|o| o.p50_us),
                o(|o| o.p99_us),
                o(|o| o.p999_us),
                x.cpu_percent.map_or("-".into(), |c| format!("{c:.0}")),
                x.rss_kib
                    .map_or("-".into(), |r| format!("{:.0}", r as f64 / 1024.0)),
            ));
        }
    }
    s
}

fn compare_lines(reports: &[LoadReport]) -> String {
    let mut s = String::new();
    for r in reports {
        s.push_str(&format!("- `{}`: {}\n", r.config.display(), r.sentence));
        if let Some(f) = &r.failover {
            s.push_str(&format!("  {}\n", f.sentence));
        }
    }
    s
}

/// Several load runs for the terminal.
pub fn render_compare(reports: &[LoadReport]) -> String {
    format!(
        "crossfire load, {} gateways compared\n\n{}\n{}",
        reports.len(),
        compare_table(reports),
        compare_lines(reports)
    )
}

/// Several load runs as Markdown, each one's plot linked relative to `dir`.
pub fn render_compare_markdown(reports: &[LoadReport], dir: &std::path::Path) -> String {
    let mut s = format!(
        "# crossfire load: {} gateways compared\n\n{}\n{}",
        reports.len(),
        compare_table(reports),
        compare_lines(reports)
    );
    for r in reports {
        if let Some(p) = &r.plot {
            s.push('\n');
            s.push_str(&crate::report::markdown::image(
                &format!("{} overhead against rate", r.gateway),
                dir,
                p,
            ));
        }
    }
    s
}

/// The ceiling for the terminal and Markdown alike.
pub fn render_ceiling(c: &Ceiling) -> String {
    let mut s =
        String::from("| rate/s | achieved/s | errors | p99 | kept up |\n|---|---|---|---|---|\n");
    for p in &c.probes {
        s.push_str(&format!(
            "| {} | {:.0} | {} | {} | {} |\n",
            p.rate,
            p.achieved_rate,
            p.errors,
            p.p99_us.map_or("-".into(), |u| ms(u as i64)),
            if p.kept_up { "yes" } else { "no" }
        ));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    s.push_str(&match (c.kept_up_to, c.short_at) {
        (Some(k), Some(x)) => format!("\nThe driver and the mocks alone kept up with {k} requests/s on this machine ({cores} cores) and fell short at {x}: load steps up to {} requests/s through a gateway are measured honestly here.\n", k / 4.0),
        (Some(k), None) => format!("\nThe driver and the mocks alone kept up with every rate tried, up to {k} requests/s, on this machine ({cores} cores): load steps up to {} requests/s through a gateway are measured honestly here.\n", k / 4.0),
        (None, _) => format!("\nThe driver and the mocks alone kept up with no rate tried on this machine ({cores} cores).\n"),
    });
    s
}
