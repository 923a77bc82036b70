//! `crossfire tax`: the routing-tax threshold from a measured compare.json or drill.json.

use super::common::bad_input;
use crossfire::diag::InputError;
use crossfire::exit;
use std::path::PathBuf;
use std::process::ExitCode;

/// The routing-tax threshold: (routing tax + misrouting waste) / model-selection savings.
#[derive(clap::Args)]
#[command(after_help = crossfire::tax::help())]
pub struct Args {
    /// A compare.json or drill.json with the measured figures.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// Which gateway of a compare.json (default: the first).
    #[arg(long)]
    gateway: Option<String>,
    /// Monthly LLM spend through the router, USD.
    #[arg(long)]
    monthly_spend: f64,
    /// What routing to cheaper models saves, percent of spend.
    #[arg(long)]
    selection_savings: f64,
    /// Share of requests that meet a provider failure, percent.
    #[arg(long, default_value_t = 2.0)]
    failure_rate: f64,
    /// Token overhead, percent, when the file has none (a drill.json).
    #[arg(long)]
    token_overhead: Option<f64>,
    /// How often each failure class happens among provider failures:
    /// `rate_limit=0.6,server_error=0.3,timeout=0.1` (relative weights,
    /// normalised; every class must be in the drill). Default: see below.
    #[arg(long, value_name = "CLASS=WEIGHT,...")]
    class_mix: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Computes the threshold and prints it; a ratio above 1 exits 1.
pub fn exec(args: Args) -> ExitCode {
    let Args {
        from,
        gateway,
        monthly_spend,
        selection_savings,
        failure_rate,
        token_overhead,
        class_mix,
        json,
    } = args;
    // A drill report, which crossfire wrote: a larger limit than a config's.
    let text = match crossfire::diag::read_text_within(&from, 256 * 1024 * 1024) {
        Ok(t) => t,
        Err(e) => {
            // Name the flag the file came from.
            let message = e.to_string();
            let at = format!("{}: ", from.display());
            let what = message.strip_prefix(&at).unwrap_or(&message);
            return bad_input(InputError::flag(
                format!("--from {}", from.display()),
                format!("cannot read it: {what}"),
            ));
        }
    };
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            return bad_input(InputError::flag(
                format!("--from {}", from.display()),
                format!("not JSON: {e}"),
            ))
        }
    };
    let measured = match crossfire::tax::measured(&value, gateway.as_deref()) {
        Ok(m) => m,
        Err(m) => return bad_input(InputError::flag(format!("--from {}", from.display()), m)),
    };
    let given = match class_mix.as_deref().map(crossfire::tax::parse_class_mix) {
        Some(Err(m)) => {
            return bad_input(InputError::flag(
                format!("--class-mix {}", class_mix.unwrap_or_default()),
                m,
            ))
        }
        Some(Ok(mix)) => Some(mix),
        None => None,
    };
    let mix = match crossfire::tax::use_mix(given.as_ref(), &measured) {
        Ok(m) => m,
        Err(m) => {
            let flag = match &class_mix {
                Some(c) => format!("--class-mix {c}"),
                None => format!("--from {}", from.display()),
            };
            return bad_input(InputError::flag(flag, m));
        }
    };
    let Some(token_overhead_pct) = token_overhead.or(measured.token_overhead_pct) else {
        return bad_input(InputError::flag(
            "--token-overhead",
            "the file has no measured token overhead (a drill.json); give it, or use a compare.json",
        ));
    };
    for (flag, v) in [
        ("--monthly-spend", monthly_spend),
        ("--selection-savings", selection_savings),
        ("--failure-rate", failure_rate),
    ] {
        if !v.is_finite() || v < 0.0 {
            return bad_input(InputError::flag(
                format!("{flag} {v}"),
                "must be zero or more",
            ));
        }
    }
    let t = crossfire::tax::compute(crossfire::tax::TaxInputs::weighted(
        &measured,
        &mix,
        monthly_spend,
        token_overhead_pct,
        failure_rate,
        selection_savings,
    ));
    let r = crossfire::tax::TaxReport {
        tax: t,
        class_mix: mix,
        classes: measured.classes,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        print!("{}", crossfire::tax::render(&r));
    }
    ExitCode::from(if t.ratio > 1.0 {
        exit::FINDING
    } else {
        exit::OK
    } as u8)
}
