//! `crossfire load`: the gateway's overhead as traffic grows. Open-loop
//! traffic at stepped constant arrival rates: each request is sent at its
//! intended time whatever the ones before it are doing, and its latency is
//! measured from that intended time, so a stalled gateway cannot hide its
//! queueing (no coordinated omission). At the same rate, interleaved, the
//! same requests go straight to a healthy mock: the overhead per step is
//! the difference of the two at each percentile, from HDR histograms. The
//! gateway's CPU and RSS per step come from /proc. The knee is the highest
//! rate whose p99 overhead and error rate stay under the limits.

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
fn ticks_per_second() -> f64 {
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
}

/// Runs one step: `rate` requests a second through the gateway for `took`,
/// and as many straight to the mock, half a gap later each.
pub async fn run_step(
    client: &reqwest::Client,
    to: &StepTargets<'_>,
    rate: f64,
    took: Duration,
    run_id: &str,
    next_n: &Arc<AtomicU64>,
    cancel: &CancellationToken,
) -> StepReport {
    let gap = Duration::from_secs_f64(1.0 / rate);
    let count = (took.as_secs_f64() * rate).round().max(1.0) as u64;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let usage_at_start = to.pgid.and_then(group_usage);
    let start = Instant::now() + Duration::from_millis(20);
    let run_start = Instant::now();
    for i in 0..count {
        for (direct, offset) in [(false, Duration::ZERO), (true, gap / 2)] {
            let intended = start + gap * i as u32 + offset;
            tokio::select! {
                _ = tokio::time::sleep_until(intended.into()) => {}
                _ = cancel.cancelled() => break,
            }
            if in_flight.load(Ordering::Relaxed) >= to.max_in_flight {
                tasks.spawn(async move {
                    (
                        direct,
                        Sample {
                            latency_us: 0,
                            ok: false,
                        },
                    )
                });
                continue;
            }
            in_flight.fetch_add(1, Ordering::Relaxed);
            let (client, target, t) = if direct {
                (client.clone(), to.direct.clone(), to.direct_traffic.clone())
            } else {
                (client.clone(), to.gateway.clone(), to.traffic.clone())
            };
            let (run, n, flight) = (
                run_id.to_string(),
                next_n.fetch_add(1, Ordering::Relaxed) + 1,
                in_flight.clone(),
            );
            tasks.spawn(async move {
                let r: RequestRecord =
                    traffic::one(&client, &target, 0, &t, &run, n, run_start).await;
                flight.fetch_sub(1, Ordering::Relaxed);
                (
                    direct,
                    Sample {
                        latency_us: intended.elapsed().as_micros() as u64,
                        ok: r.ok(),
                    },
                )
            });
        }
        if cancel.is_cancelled() {
            break;
        }
    }
    let (mut gateway, mut direct) = (Vec::new(), Vec::new());
    while let Some(done) = tasks.join_next().await {
        if let Ok((is_direct, s)) = done {
            if is_direct {
                direct.push(s);
            } else {
                gateway.push(s);
            }
        }
    }
    let took_really = start.elapsed();
    let usage = match (to.pgid, usage_at_start) {
        (Some(pgid), Some((t0, _))) => group_usage(pgid).map(|(t1, rss)| {
            let cpu = t1.saturating_sub(t0) as f64 / ticks_per_second();
            (100.0 * cpu / took_really.as_secs_f64().max(1e-9), rss)
        }),
        _ => None,
    };
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
    /// The model group (default: the config's first).
    pub group: Option<String>,
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
}

/// A whole load run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The config loaded.
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
    /// Whether Ctrl-C cut it short.
    pub interrupted: bool,
}

/// How long the uncounted warm-up before the first step lasts.
pub const WARM_UP: Duration = Duration::from_secs(2);

/// The plot's file in the run folder.
pub const PLOT_FILE: &str = "load-overhead.svg";

/// Loads the gateway `config` runs, step by step.
pub async fn load(
    config: &dyn crate::gateway::adapter::GatewayConfig,
    opts: &LoadOptions,
    progress: &(dyn Fn(&StepReport) + Sync),
) -> Result<LoadReport, crate::gateway::GatewayError> {
    use crate::gateway::GatewayError;
    use mock_providers::{DeploymentSpec, Dialect, JournalConfig, MockSet};
    let group = match &opts.group {
        Some(g) => g.clone(),
        None => config
            .groups()
            .into_iter()
            .next()
            .ok_or_else(|| GatewayError::start("the config serves no model group"))?,
    };
    if let Some(why) = config.refuses_group(&group) {
        return Err(GatewayError::start(why));
    }
    let mapped = config.deployments(false)?;
    crate::gateway::create_dir(&opts.out)?;
    // Healthy mocks; the journal stays in memory, bounded, not on disk: a
    // load run is about the client's clock.
    let journal = JournalConfig {
        memory_cap: 10_000,
        file: None,
    };
    let mocks = crate::session::start_mocks(&mapped.deployments, journal.clone()).await?;
    let bases = crate::session::mock_bases(&mapped.deployments, &mocks);
    let gw = crate::session::start_config(
        config,
        &bases,
        &opts.out,
        config.adapter().startup_timeout(),
        &opts.gateway,
        &opts.cancel,
    )
    .await?;
    let direct_mock = MockSet::start(
        vec![DeploymentSpec::new("crossfire-direct", Dialect::Openai)],
        journal,
    )
    .await
    .map_err(|e| GatewayError::start(format!("cannot start the direct mock: {e}")))?;
    let direct_base = direct_mock
        .deployments()
        .first()
        .map(|d| d.base_url())
        .unwrap_or_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(opts.max_in_flight)
        .build()
        .map_err(|e| GatewayError::start(format!("cannot build the HTTP client: {e}")))?;
    let traffic = Traffic {
        model: group.clone(),
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
    };
    let mut direct_traffic = traffic.clone();
    direct_traffic.model = "gpt-4o".into();
    direct_traffic.api = crate::scenario::ClientApi::Native(Dialect::Openai);
    let gateway_target = crate::session::target(&gw);
    let direct_target = Target::new(direct_base, Default::default());
    let to = StepTargets {
        gateway: &gateway_target,
        direct: &direct_target,
        traffic: &traffic,
        direct_traffic: &direct_traffic,
        pgid: gw.process.as_ref().map(|p| p.pgid()),
        max_in_flight: opts.max_in_flight,
    };
    let run_id = crate::runner::run_id();
    let next_n = Arc::new(AtomicU64::new(0));
    // A warm-up at the first rate, not counted: the client's connections,
    // the gateway's first requests (imports, pools) are not its overhead.
    if let Some(first) = opts.rates.first() {
        run_step(
            &client,
            &to,
            *first,
            WARM_UP,
            &run_id,
            &next_n,
            &opts.cancel,
        )
        .await;
    }
    let mut steps = Vec::new();
    for rate in &opts.rates {
        if opts.cancel.is_cancelled() {
            break;
        }
        let s = run_step(
            &client,
            &to,
            *rate,
            opts.step,
            &run_id,
            &next_n,
            &opts.cancel,
        )
        .await;
        progress(&s);
        steps.push(s);
    }
    drop(gw);
    drop(mocks.shutdown().await);
    drop(direct_mock.shutdown().await);
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
    let gateway = config.adapter().name();
    let report = LoadReport {
        config: config.file().to_path_buf(),
        gateway,
        sentence: knee_sentence(gateway, &steps, &opts.limits),
        knee: knee(&steps, &opts.limits),
        group,
        steps,
        limits: opts.limits,
        plot,
        interrupted: opts.cancel.is_cancelled(),
    };
    crate::report::write(&opts.out.join("load.json"), crate::report::json(&report));
    Ok(report)
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
    if let Some(p) = &r.plot {
        s.push_str(&format!("plot: {}\n", p.display()));
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
    if let Some(p) = &r.plot {
        s.push('\n');
        s.push_str(&crate::report::markdown::image(
            "overhead against rate",
            dir,
            p,
        ));
    }
    s
}
