//! `crossfire mock`: serve mock providers until Ctrl-C.

use super::common::bad_input;
use crossfire::{exit, mock};
use std::path::PathBuf;
use std::process::ExitCode;

/// Serve mock providers until Ctrl-C; prints `ID DIALECT URL` per deployment.
#[derive(clap::Args)]
#[command(
    after_help = "Faults: FAULT[(key=value,...)][@SCHEDULE], e.g.\n  --fault claude=rate_limit(retry_after=2s)@first:3\n  --fault gpt=stream_cut(after_events=1)@every:2\nSchedules: always, first:N, after:N, every:N, requests:1,3, window:1s..5s,\n  outage:from=10s,for=60s, flap:down=20s,up=20s,times=3[,from=5s], probability:0.3"
)]
pub struct Args {
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
}

/// Builds the mock plan from the file and the flags, then serves it.
pub fn exec(args: Args, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let Args {
        file,
        deployments,
        faults,
        journal,
        json,
    } = args;
    let mut plan = match &file {
        Some(f) => match mock::load_file(f) {
            Ok(p) => p,
            Err(e) => return bad_input(e),
        },
        None => mock::MockPlan {
            deployments: vec![],
            journal: None,
        },
    };
    if let Err(e) = mock::apply_flags(&mut plan, &deployments, &faults) {
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
