//! The `crossfire` command: parse arguments, call the library, map the result
//! to a documented exit code.

use clap::{Parser, Subcommand};
use crossfire::diag::InputError;
use crossfire::{exit, mock, mockfile};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "crossfire", version, about = "Failover chaos-testing harness for LLM gateways", after_help = exit::HELP)]
struct Cli {
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve mock providers until Ctrl-C; prints `ID DIALECT URL` per deployment.
    #[command(
        after_help = "Faults: FAULT[(key=value,...)][@SCHEDULE], e.g.\n  --fault claude=rate_limit(retry_after=2s)@first:3\n  --fault gpt=stream_cut(after_events=1)@every:2\nSchedules: always, first:N, after:N, every:N, requests:1,3, window:1s..5s, probability:0.3"
    )]
    Mock {
        /// A mock file (YAML: deployments, faults, journal).
        file: Option<PathBuf>,
        /// A deployment, ID=DIALECT (openai, azure, anthropic, gemini, groq, mistral, deepseek, vllm).
        #[arg(long = "deployment", value_name = "ID=DIALECT")]
        deployments: Vec<String>,
        /// A fault on a deployment, ID=FAULT[@SCHEDULE].
        #[arg(long = "fault", value_name = "ID=FAULT[@SCHEDULE]")]
        faults: Vec<String>,
        /// Append every attempt to this JSONL file, flushed per attempt.
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Print one JSON object per deployment instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn bad_input(e: InputError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(exit::BAD_INPUT as u8)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INFRA as u8);
        }
    };
    match cli.command {
        Command::Mock {
            file,
            deployments,
            faults,
            journal,
            json,
        } => {
            let mut plan = match &file {
                Some(f) => match mockfile::load_file(f) {
                    Ok(p) => p,
                    Err(e) => return bad_input(e),
                },
                None => mockfile::MockPlan {
                    deployments: vec![],
                    journal: None,
                },
            };
            if let Err(e) = mockfile::apply_flags(&mut plan, &deployments, &faults) {
                return bad_input(e);
            }
            if journal.is_some() {
                plan.journal = journal;
            }
            let listing = if json {
                mock::Listing::Json
            } else {
                mock::Listing::Text
            };
            let result = runtime.block_on(mock::serve(plan, listing, &mut std::io::stdout()));
            match result {
                Ok(()) => ExitCode::from(exit::OK as u8),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(exit::INFRA as u8)
                }
            }
        }
    }
}
