//! What several commands share beyond flags: logging, the exits for bad input
//! and a gateway that failed, Ctrl-C, loading scenarios, parsing classes.

use crossfire::diag::InputError;
use crossfire::{exit, gateway, mock, runner, scenario};
use std::path::PathBuf;
use std::process::ExitCode;

/// Logs to stderr at the level `-v` asks for; RUST_LOG overrides.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only where a person reads a terminal: a pipe or a CI log gets
    // plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(crossfire::report::style::Style::stderr().is_enabled())
        .init();
}

/// Prints the input error and returns the bad-input exit.
pub fn bad_input(e: InputError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(exit::BAD_INPUT as u8)
}

/// The exit of a drill or comparison that could not finish.
pub fn gateway_failed(e: gateway::GatewayError) -> ExitCode {
    match e {
        gateway::GatewayError::Input(e) => bad_input(e),
        gateway::GatewayError::Interrupted => ExitCode::from(exit::INTERRUPTED as u8),
        e => {
            eprintln!("error: {e}");
            ExitCode::from(exit::INFRA as u8)
        }
    }
}

/// Runs `work` to its end; Ctrl-C cancels `cancel`, so the work stops its
/// gateway and mocks and returns what it recorded.
pub fn until_stopped<T>(
    runtime: &tokio::runtime::Runtime,
    cancel: tokio_util::sync::CancellationToken,
    work: impl std::future::Future<Output = T>,
) -> T {
    runtime.block_on(async {
        let watcher = tokio::spawn(async move {
            mock::wait_for_stop_signal().await;
            eprintln!("interrupted: stopping the gateway and the mocks");
            cancel.cancel();
        });
        let result = work.await;
        watcher.abort();
        result
    })
}

/// The most requests a drill cell sends: a cell sends them all at once, and
/// a drill is not a load test.
const MAX_CELL_REQUESTS: u32 = 1000;

/// Refuses more requests per drill cell than [`MAX_CELL_REQUESTS`], naming `flag`.
pub fn cell_requests_bounded(flag: &str, requests: u32) -> Result<(), InputError> {
    if requests > MAX_CELL_REQUESTS {
        return Err(InputError::flag(
            format!("{flag} {requests}"),
            format!("a drill cell sends at most {MAX_CELL_REQUESTS} requests, all at once; a drill is not a load test"),
        ));
    }
    Ok(())
}

/// `--classes a,b`: failure class names, with a suggestion for a typo;
/// `default` when none are given.
pub fn parse_classes(
    names: &[String],
    default: &[mock_providers::FailureClass],
) -> Result<Vec<mock_providers::FailureClass>, InputError> {
    if names.is_empty() {
        return Ok(default.to_vec());
    }
    names
        .iter()
        .map(|c| {
            mock_providers::FailureClass::from_name(c).ok_or_else(|| {
                InputError::flag(
                    format!("--classes {c}"),
                    format!(
                        "unknown failure class; {}",
                        crossfire::diag::suggest(
                            c,
                            mock_providers::FailureClass::ALL.iter().map(|x| x.name())
                        )
                    ),
                )
            })
        })
        .collect()
}

/// Loads and checks every scenario before anything runs.
pub fn load_all(
    args: &[PathBuf],
    opts: &scenario::LoadOptions,
) -> Result<Vec<scenario::Scenario>, InputError> {
    let files = runner::discover(args)?;
    let mut list = Vec::with_capacity(files.len());
    for f in files {
        let s = scenario::load_with(&f, opts)?;
        scenario::preflight(&s)?;
        list.push(s);
    }
    Ok(list)
}
