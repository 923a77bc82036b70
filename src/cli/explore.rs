//! `crossfire explore`: generate fault schedules, check the invariants, and
//! shrink a violation to the smallest schedule.

use super::common::{bad_input, load_all, parse_classes};
use super::flags::{GatewayArgs, RunFolder};
use crossfire::diag::InputError;
use crossfire::{exit, report};
use std::path::PathBuf;
use std::process::ExitCode;

/// Generate fault schedules against a scenario's gateway, check invariants
/// (a healthy promised provider means a good answer; at most N attempts;
/// nothing unattributed), and shrink a violation to the smallest schedule,
/// written as a scenario file.
#[derive(clap::Args)]
pub struct Args {
    /// The base scenario (gateway, deployments, traffic, intent); its faults are replaced.
    scenario: PathBuf,
    /// Cases to generate before shrinking.
    #[arg(long, default_value_t = 32)]
    cases: u32,
    /// Seed; the same seed explores the same cases (default: from the clock, printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Stop starting new cases after this long (e.g. 5m, 90s).
    #[arg(long, default_value = "5m")]
    time_budget: String,
    /// The attempt limit invariant.
    #[arg(long, default_value_t = 8)]
    max_attempts: u32,
    /// Failure classes to draw from (comma-separated).
    #[arg(long, value_delimiter = ',')]
    classes: Vec<String>,
    /// Most faults in one case.
    #[arg(long, default_value_t = 2)]
    max_faults: usize,
    #[command(flatten)]
    out: RunFolder,
    /// Where to write the smallest failing scenario (default: beside the base scenario).
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
    #[command(flatten)]
    gateway: GatewayArgs,
}

/// Explores from the base scenario; a violation found exits 1. The explorer
/// runs its own runtime, so the caller's is dropped before it starts.
pub fn exec(args: Args, runtime: tokio::runtime::Runtime) -> ExitCode {
    let Args {
        scenario: file,
        cases,
        seed,
        time_budget,
        max_attempts,
        classes,
        max_faults,
        out,
        write,
        gateway,
    } = args;
    let load_opts = match gateway.load_options() {
        Ok(o) => o,
        Err(e) => return bad_input(e),
    };
    let base = match load_all(std::slice::from_ref(&file), &load_opts) {
        Ok(mut l) if l.len() == 1 => l.remove(0),
        Ok(_) => return bad_input(InputError::file(&file, "explore takes one scenario file")),
        Err(e) => return bad_input(e),
    };
    let budget = match crossfire::deployment_file::Dur::parse(&time_budget) {
        Ok(d) => d.0,
        Err(m) => return bad_input(InputError::flag(format!("--time-budget {time_budget}"), m)),
    };
    let parsed = match parse_classes(&classes, &crossfire::explore::DEFAULT_CLASSES) {
        Ok(p) => p,
        Err(e) => return bad_input(e),
    };
    if let Err(e) = report::check_paths(&[("--write", write.as_deref())]) {
        return bad_input(e);
    }
    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            % 1_000_000
    });
    eprintln!(
        "explore {}: seed {seed} (rerun the same cases with --seed {seed})",
        base.name
    );
    let opts = crossfire::explore::ExploreOptions {
        cases,
        seed,
        time_budget: budget,
        max_attempts,
        classes: parsed,
        max_faults,
        out: out.dir(),
        gateway: gateway.gateway_options(),
        write,
    };
    drop(runtime);
    match crossfire::explore::explore(&base, &opts, &mut |line| eprintln!("{line}")) {
        Ok(found) => {
            if let Some(n) = found.gateway_starts {
                eprintln!(
                    "{} cases in {n} gateway start{} (each case on its own copies of the group)",
                    found.runs,
                    if n == 1 { "" } else { "s" }
                );
            }
            report_found(found)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::INFRA as u8)
        }
    }
}

/// Prints what exploring found and maps it to the exit code.
fn report_found(found: crossfire::explore::Explored) -> ExitCode {
    match found.violation {
        Some(v) => {
            println!(
                    "VIOLATION after {} runs (seed {}): {}\nsmallest schedule written to {}\nrerun: crossfire run {}",
                    found.runs,
                    found.seed,
                    v.message,
                    v.file.display(),
                    v.file.display()
                );
            ExitCode::from(exit::FINDING as u8)
        }
        None if found.interrupted => {
            println!(
                "interrupted after {} runs (seed {}); no invariant broken so far",
                found.runs, found.seed
            );
            ExitCode::from(exit::INTERRUPTED as u8)
        }
        None => {
            println!(
                "no invariant broken in {} runs (seed {}){}",
                found.runs,
                found.seed,
                if found.out_of_time {
                    "; the time budget ended the search"
                } else {
                    ""
                }
            );
            ExitCode::from(exit::OK as u8)
        }
    }
}
