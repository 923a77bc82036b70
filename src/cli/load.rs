//! `crossfire load`: the gateway's overhead at stepped arrival rates, and
//! the knee where it stops holding the limits.

use super::common::{bad_input, gateway_failed, until_stopped};
use super::flags::{JsonFile, MarkdownFile, ProgramArgs, RunFolder};
use crossfire::deployment_file::Dur;
use crossfire::diag::InputError;
use crossfire::load::failover::OutagePlan;
use crossfire::load::locust::LocustOptions;
use crossfire::load::{self, Engine, Limits, LoadOptions, Subject};
use crossfire::{exit, report};
use mock_providers::FailureClass;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The most requests per second a step asks for: past it the driver and
/// the mocks on one machine are the bottleneck, not the gateway.
const MAX_RATE: f64 = 5_000.0;

/// Load a gateway run from its config at stepped arrival rates (open loop,
/// latency from each request's intended send time), beside the same
/// requests straight to a healthy mock: its overhead per step at p50, p90,
/// p99 and p99.9, errors, CPU and RSS, and the knee.
#[derive(clap::Args)]
#[command(
    mut_arg("json", |a| a.help("Write the load run as JSON")),
    mut_arg("markdown", |a| a.help("Write the load run as Markdown (sentence, table, plot)")),
)]
pub struct Args {
    /// The gateway crossfire runs from a config (litellm, portkey,
    /// tensorzero), with --config.
    #[arg(long, value_name = "KIND", requires = "config", conflicts_with_all = ["scenario", "compare"])]
    gateway: Option<String>,
    /// The gateway's own config, with --gateway.
    #[arg(long, value_name = "FILE", requires = "gateway")]
    config: Option<PathBuf>,
    /// The model group to load, with --gateway (default: the config's first).
    #[arg(long, value_name = "GROUP", requires = "gateway")]
    group: Option<String>,
    /// A scenario whose gateway to load, of any kind (command, url, direct,
    /// or a config); its first traffic entry is the request every step
    /// sends, and its faults are left out (a load run's faults are the
    /// outage phase's).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["gateway", "compare"])]
    scenario: Option<PathBuf>,
    /// Several gateways, the same steps on each, one table: each
    /// `KIND=FILE` (a config) or a scenario file (comma-separated or
    /// repeated), as in `--compare litellm=a.yaml,portkey=b.json`.
    #[arg(long, value_name = "KIND=FILE|SCENARIO", value_delimiter = ',')]
    compare: Vec<String>,
    /// Requests per second, one step each (comma-separated, at most 5000).
    #[arg(long, value_delimiter = ',', default_value = "10,25,50,100")]
    rates: Vec<f64>,
    /// How long each step lasts.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    step: String,
    /// The knee's limit on p99 overhead.
    #[arg(long, value_name = "DURATION", default_value = "50ms")]
    max_p99_overhead: String,
    /// The knee's limit on the error rate (0..1).
    #[arg(long, value_name = "SHARE", default_value_t = 0.01)]
    max_error_rate: f64,
    /// Requests in flight at most; a request due past it is not sent and
    /// counts as an error (the gateway fell behind).
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_in_flight: usize,
    /// After the steps, a phase at this rate with an outage on the primary
    /// in its middle: served share, overhead and failed provider attempts
    /// per second before, during and after it, and when traffic came back.
    #[arg(long, value_name = "RATE")]
    outage_rate: Option<f64>,
    /// The deployment the outage is on [default: the one that served most
    /// of the steps, the primary as observed].
    #[arg(long, value_name = "DEPLOYMENT")]
    outage_on: Option<String>,
    /// The failure class its answers are during the outage [default: unavailable].
    #[arg(long, value_name = "CLASS")]
    outage_fault: Option<String>,
    /// How long the outage lasts [default: 10s].
    #[arg(long, value_name = "DURATION")]
    outage_for: Option<String>,
    /// Traffic before it starts [default: 5s].
    #[arg(long, value_name = "DURATION")]
    outage_before: Option<String>,
    /// Traffic after it ends [default: 10s, or the gateway's cooldown and
    /// 3 s more when that is longer, at most 60 s].
    #[arg(long, value_name = "DURATION")]
    outage_after: Option<String>,
    /// Measure only what the driver and the mocks alone keep up with on
    /// this machine (250 to 16000 requests/s, 2 s each) and print it.
    #[arg(long, conflicts_with_all = ["gateway", "scenario", "compare", "outage_rate", "engine"])]
    ceiling: bool,
    /// What sends the requests: `builtin` (crossfire's own driver) or
    /// `locust` (a pinned Locust master and --workers workers, installed
    /// once into crossfire's cache; more workers can join from other
    /// machines with the command the report prints).
    #[arg(long, value_name = "ENGINE", default_value = "builtin", value_parser = ["builtin", "locust"])]
    engine: String,
    /// Local Locust workers, with `--engine locust` (0 to 64) [default: 2].
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Locust workers started on other machines, with `--engine locust`:
    /// the master waits for them too and prints the command they run.
    #[arg(long, value_name = "N", default_value_t = 0)]
    remote_workers: usize,
    /// The address the Locust master listens on for its workers, with
    /// `--engine locust` (an address of this machine other machines reach,
    /// when workers come from them).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    locust_bind: String,
    /// A `crossfire mock --journal` file from another machine (repeatable),
    /// with `--engine locust`: its attempts with this run's markers count
    /// when every gateway request is looked up.
    #[arg(long, value_name = "FILE")]
    journal: Vec<PathBuf>,
    #[command(flatten)]
    program: ProgramArgs,
    #[command(flatten)]
    out: RunFolder,
    #[command(flatten)]
    json: JsonFile,
    #[command(flatten)]
    markdown: MarkdownFile,
}

fn duration(flag: &str, text: &str) -> Result<std::time::Duration, InputError> {
    match Dur::parse(text) {
        Ok(d) if !d.0.is_zero() => Ok(d.0),
        Ok(_) => Err(InputError::flag(
            format!("{flag} {text}"),
            "must be more than 0, as in `10s`",
        )),
        Err(e) => Err(InputError::flag(format!("{flag} {text}"), e)),
    }
}

/// The outage phase the `--outage-*` flags ask for; `None` without
/// `--outage-rate`, where any other of them is an error.
fn outage_plan(args: &Args, subject: &Subject) -> Result<Option<OutagePlan>, InputError> {
    let Some(rate) = args.outage_rate else {
        let stray = [
            ("--outage-on", args.outage_on.is_some()),
            ("--outage-fault", args.outage_fault.is_some()),
            ("--outage-for", args.outage_for.is_some()),
            ("--outage-before", args.outage_before.is_some()),
            ("--outage-after", args.outage_after.is_some()),
        ];
        return match stray.iter().find(|(_, given)| *given) {
            Some((flag, _)) => Err(InputError::flag(
                *flag,
                "shapes the outage phase, which runs only with --outage-rate RATE",
            )),
            None => Ok(None),
        };
    };
    if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE) {
        return Err(InputError::flag(
            format!("--outage-rate {rate}"),
            format!("a rate is requests per second, more than 0 and at most {MAX_RATE}"),
        ));
    }
    let class = args.outage_fault.as_deref().unwrap_or("unavailable");
    let fault = FailureClass::from_name(class).ok_or_else(|| {
        InputError::flag(
            format!("--outage-fault {class}"),
            format!(
                "no such failure class; {}",
                crossfire::diag::suggest(class, FailureClass::ALL.iter().map(|c| c.name()))
            ),
        )
    })?;
    let time = |flag: &str, given: &Option<String>, default: Duration| match given {
        Some(t) => duration(flag, t),
        None => Ok(default),
    };
    if let Some(on) = &args.outage_on {
        let deployments = subject.deployments().map_err(|e| {
            InputError::flag(
                format!("--outage-on {on}"),
                format!("cannot read the deployments: {e}"),
            )
        })?;
        let ids: Vec<&str> = deployments.iter().map(|d| d.id()).collect();
        if !ids.contains(&on.as_str()) {
            return Err(InputError::flag(
                format!("--outage-on {on}"),
                format!(
                    "no such deployment in the config; {}",
                    crossfire::diag::suggest(on, ids.iter().copied())
                ),
            ));
        }
    }
    Ok(Some(OutagePlan {
        rate,
        on: args.outage_on.clone(),
        fault,
        before: time(
            "--outage-before",
            &args.outage_before,
            Duration::from_secs(5),
        )?,
        length: time("--outage-for", &args.outage_for, Duration::from_secs(10))?,
        after: time(
            "--outage-after",
            &args.outage_after,
            subject
                .config()
                .map_or(Duration::from_secs(10), crossfire::drill::outage_after)
                .max(Duration::from_secs(10)),
        )?,
    }))
}

/// Loads the gateway step by step and prints the table and the knee; exits
/// 0 (the knee is a measurement, not a verdict), 2 on bad input, 3 when
/// the gateway cannot start.
pub fn exec(args: Args, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let step = match duration("--step", &args.step) {
        Ok(d) => d,
        Err(e) => return bad_input(e),
    };
    let max_p99 = match duration("--max-p99-overhead", &args.max_p99_overhead) {
        Ok(d) => d,
        Err(e) => return bad_input(e),
    };
    if let Some(r) = args
        .rates
        .iter()
        .find(|r| !(r.is_finite() && **r > 0.0 && **r <= MAX_RATE))
    {
        return bad_input(InputError::flag(
            format!("--rates {r}"),
            format!("a rate is requests per second, more than 0 and at most {MAX_RATE}"),
        ));
    }
    if !(0.0..=1.0).contains(&args.max_error_rate) {
        return bad_input(InputError::flag(
            format!("--max-error-rate {}", args.max_error_rate),
            "is a share 0..1, as in `0.01`",
        ));
    }
    if !(1..=10_000).contains(&args.max_in_flight) {
        return bad_input(InputError::flag(
            format!("--max-in-flight {}", args.max_in_flight),
            "is between 1 and 10000",
        ));
    }
    if let Err(e) = report::check_paths(&[
        ("--json", args.json.json.as_deref()),
        ("--markdown", args.markdown.markdown.as_deref()),
    ]) {
        return bad_input(e);
    }
    if args.ceiling {
        return ceiling(&args, runtime);
    }
    let engine = match engine(&args) {
        Ok(e) => e,
        Err(e) => return bad_input(e),
    };
    let subjects = match subjects(&args) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let mut plans = Vec::with_capacity(subjects.len());
    for subject in &subjects {
        match outage_plan(&args, subject) {
            Ok(o) => plans.push(o),
            Err(e) => return bad_input(e),
        }
    }
    let cancel = tokio_util::sync::CancellationToken::new();
    let base = LoadOptions {
        out: args.out.dir(),
        rates: args.rates,
        step,
        limits: Limits {
            max_p99_overhead: max_p99,
            max_error_rate: args.max_error_rate,
        },
        max_in_flight: args.max_in_flight,
        gateway: args.program.gateway_options(),
        cancel: cancel.clone(),
        outage: None,
        engine,
    };
    let progress = |s: &load::StepReport| {
        eprintln!(
            "crossfire: {} requests/s: {} sent, {} errors, p99 overhead {}",
            s.rate,
            s.sent,
            s.errors,
            s.overhead
                .map_or("unmeasured".into(), |o| load::ms(o.p99_us))
        );
    };
    let compared = subjects.len() > 1;
    let work = async {
        let mut reports = Vec::new();
        for (i, (subject, outage)) in subjects.iter().zip(plans).enumerate() {
            if base.cancel.is_cancelled() {
                break;
            }
            let mut opts = base.clone();
            opts.outage = outage;
            if compared {
                opts.out = base.out.join(format!("{}-{}", i + 1, subject.kind()));
                eprintln!(
                    "crossfire: loading {} ({})",
                    subject.file().display(),
                    subject.kind()
                );
            }
            reports.push(load::load(subject, &opts, &progress).await?);
        }
        Ok::<_, crossfire::gateway::GatewayError>(reports)
    };
    let reports = match until_stopped(runtime, cancel, work) {
        Ok(r) => r,
        Err(e) => return gateway_failed(e),
    };
    let interrupted = reports.iter().any(|r| r.interrupted) || reports.len() < subjects.len();
    if compared {
        print!("{}", load::render_compare(&reports));
        crossfire::report::write(&base.out.join("load-compare.json"), report::json(&reports));
        if let Some(p) = &args.json.json {
            report::write(p, report::json(&reports));
        }
        if let Some(p) = &args.markdown.markdown {
            let dir = p.parent().unwrap_or(std::path::Path::new("."));
            report::write(
                p,
                Ok(load::render_compare_markdown(&reports, dir).into_bytes()),
            );
        }
    } else if let Some(r) = reports.first() {
        print!("{}", load::render(r));
        if let Some(p) = &args.json.json {
            report::write(p, report::json(r));
        }
        if let Some(p) = &args.markdown.markdown {
            let dir = p.parent().unwrap_or(std::path::Path::new("."));
            report::write(p, Ok(load::render_markdown(r, dir).into_bytes()));
        }
    }
    if interrupted {
        return ExitCode::from(exit::INTERRUPTED as u8);
    }
    ExitCode::SUCCESS
}

/// `--ceiling`: the driver and the mocks alone, rates doubling until they
/// fall short.
fn ceiling(args: &Args, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let cancel = tokio_util::sync::CancellationToken::new();
    let max_in_flight = args.max_in_flight;
    let work = async {
        let bench = load::Bench::start(max_in_flight).await?;
        let traffic = load::direct_traffic(&crossfire::scenario::Traffic {
            model: "gpt-4o".into(),
            requests: None,
            duration: None,
            concurrency: 1,
            rate: None,
            interval: None,
            prompt_tokens: 50,
            max_tokens: 16,
            stream: false,
            api: crossfire::scenario::ClientApi::Openai,
            timeout: Duration::from_secs(30),
            headers: Default::default(),
        });
        let rates = [125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0];
        let c = load::ceiling(
            &bench,
            &traffic,
            &rates,
            Duration::from_secs(2),
            max_in_flight,
            &cancel,
        )
        .await;
        drop(bench.mock.shutdown().await);
        Ok::<_, crossfire::gateway::GatewayError>(c)
    };
    let c = match until_stopped(runtime, cancel.clone(), work) {
        Ok(c) => c,
        Err(e) => return gateway_failed(e),
    };
    let text = load::render_ceiling(&c);
    print!("{text}");
    if let Some(p) = &args.json.json {
        report::write(p, report::json(&c));
    }
    if let Some(p) = &args.markdown.markdown {
        report::write(p, Ok(text.into_bytes()));
    }
    if cancel.is_cancelled() {
        return ExitCode::from(exit::INTERRUPTED as u8);
    }
    ExitCode::SUCCESS
}

/// The engine `--engine` and `--workers` ask for.
fn engine(args: &Args) -> Result<Engine, InputError> {
    if args.engine != "locust" {
        let stray = [
            (args.workers.map(|n| format!("--workers {n}"))),
            (args.remote_workers > 0).then(|| format!("--remote-workers {}", args.remote_workers)),
            (args.locust_bind != "127.0.0.1")
                .then(|| format!("--locust-bind {}", args.locust_bind)),
            args.journal
                .first()
                .map(|j| format!("--journal {}", j.display())),
        ];
        return match stray.into_iter().flatten().next() {
            Some(flag) => Err(InputError::flag(
                flag,
                "shapes the Locust engine; add `--engine locust`",
            )),
            None => Ok(Engine::Builtin),
        };
    }
    let workers = args.workers.unwrap_or(2);
    if workers > 64 || args.remote_workers > 1024 || workers + args.remote_workers == 0 {
        return Err(InputError::flag(
            format!(
                "--workers {workers} --remote-workers {}",
                args.remote_workers
            ),
            "at most 64 local workers and 1024 remote ones, at least one in all",
        ));
    }
    if args.locust_bind.parse::<std::net::IpAddr>().is_err() {
        return Err(InputError::flag(
            format!("--locust-bind {}", args.locust_bind),
            "is an IP address of this machine, as in `127.0.0.1` or `10.0.0.5`",
        ));
    }
    if let Some(j) = args.journal.iter().find(|j| !j.is_file()) {
        return Err(InputError::flag(
            format!("--journal {}", j.display()),
            "no such file: give the JSONL a `crossfire mock --journal FILE` wrote",
        ));
    }
    if let Some(r) = args.outage_rate {
        return Err(InputError::flag(
            format!("--outage-rate {r}"),
            "the outage phase runs on the built-in driver only; drop `--engine locust` for it",
        ));
    }
    Ok(Engine::Locust(LocustOptions {
        workers,
        remote_workers: args.remote_workers,
        bind: args.locust_bind.clone(),
        journals: args.journal.clone(),
    }))
}

/// What the flags ask to load: `--gateway`/`--config`, `--scenario`, or
/// every `--compare` entry.
fn subjects(args: &Args) -> Result<Vec<Subject>, InputError> {
    if let (Some(kind), Some(file)) = (&args.gateway, &args.config) {
        let config = crossfire::gateway::load_config(kind, file, "load runs")?;
        if let Some(g) = &args.group {
            let known = config.groups();
            if !known.contains(g) {
                return Err(InputError::flag(
                    format!("--group {g}"),
                    format!(
                        "no such model group; {}",
                        crossfire::diag::suggest(g, known.iter().map(String::as_str))
                    ),
                ));
            }
        }
        return Ok(vec![Subject::Config {
            config,
            group: args.group.clone(),
        }]);
    }
    if let Some(file) = &args.scenario {
        return Ok(vec![scenario_subject("--scenario", file)?]);
    }
    if args.compare.len() == 1 {
        return Err(InputError::flag(
            format!("--compare {}", args.compare[0]),
            "compares several gateways: give two or more, as in `--compare litellm=a.yaml,portkey=b.json`",
        ));
    }
    if args.compare.is_empty() {
        return Err(InputError::flag(
            "--gateway",
            "say what to load: `--gateway KIND --config FILE`, `--scenario FILE`, or `--compare KIND=FILE,KIND=FILE`",
        ));
    }
    args.compare
        .iter()
        .map(|entry| match entry.split_once('=') {
            Some((kind, file)) => {
                let config =
                    crossfire::gateway::load_config(kind, std::path::Path::new(file), "load runs")
                        .map_err(|e| {
                            InputError::flag(format!("--compare {entry}"), e.to_string())
                        })?;
                Ok(Subject::Config {
                    config,
                    group: None,
                })
            }
            None => scenario_subject("--compare", std::path::Path::new(entry)),
        })
        .collect()
}

/// A scenario to load, checked: one gateway, no replicas.
fn scenario_subject(flag: &str, file: &std::path::Path) -> Result<Subject, InputError> {
    let s = crossfire::scenario::load(file)?;
    crossfire::scenario::preflight(&s)?;
    if s.gateway.replicas().is_some() {
        return Err(InputError::flag(
            format!("{flag} {}", file.display()),
            "its gateway runs as replicas behind a balancer; load measures one gateway, so drop `replicas:` (or use `crossfire run` for a replica drill)",
        ));
    }
    Ok(Subject::Scenario(Box::new(s)))
}
