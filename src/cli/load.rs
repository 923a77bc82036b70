//! `crossfire load`: the gateway's overhead at stepped arrival rates, and
//! the knee where it stops holding the limits.

use super::common::{bad_input, gateway_failed, until_stopped};
use super::flags::{JsonFile, MarkdownFile, ProgramArgs, RunFolder};
use crossfire::deployment_file::Dur;
use crossfire::diag::InputError;
use crossfire::load::{self, Limits, LoadOptions};
use crossfire::{exit, report};
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// The gateway (litellm, portkey, tensorzero).
    #[arg(long, value_name = "KIND")]
    gateway: String,
    /// The gateway's own config.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The model group to load (default: the config's first).
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
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
    let cfg = match crossfire::gateway::load_config(&args.gateway, &args.config, "load runs") {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
    if let Some(g) = &args.group {
        let known = cfg.groups();
        if !known.contains(g) {
            return bad_input(InputError::flag(
                format!("--group {g}"),
                format!(
                    "no such model group; {}",
                    crossfire::diag::suggest(g, known.iter().map(String::as_str))
                ),
            ));
        }
    }
    let cancel = tokio_util::sync::CancellationToken::new();
    let opts = LoadOptions {
        out: args.out.dir(),
        group: args.group,
        rates: args.rates,
        step,
        limits: Limits {
            max_p99_overhead: max_p99,
            max_error_rate: args.max_error_rate,
        },
        max_in_flight: args.max_in_flight,
        gateway: args.program.gateway_options(),
        cancel: cancel.clone(),
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
    let r = match until_stopped(runtime, cancel, load::load(cfg.as_ref(), &opts, &progress)) {
        Ok(r) => r,
        Err(e) => return gateway_failed(e),
    };
    let text = load::render(&r);
    print!("{text}");
    if let Some(p) = &args.json.json {
        report::write(p, report::json(&r));
    }
    if let Some(p) = &args.markdown.markdown {
        let dir = p.parent().unwrap_or(std::path::Path::new("."));
        report::write(p, Ok(load::render_markdown(&r, dir).into_bytes()));
    }
    if r.interrupted {
        return ExitCode::from(exit::INTERRUPTED as u8);
    }
    ExitCode::SUCCESS
}
