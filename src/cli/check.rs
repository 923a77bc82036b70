//! `crossfire check`: validate scenario files without running anything.

use super::common::{bad_input, load_all};
use crossfire::{exit, scenario};
use std::path::PathBuf;
use std::process::ExitCode;

/// Validate scenario files without running anything.
#[derive(clap::Args)]
pub struct Args {
    /// Scenario files or folders.
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
}

/// Loads and checks every scenario; prints one `ok` line per file.
pub fn exec(args: Args) -> ExitCode {
    match load_all(&args.scenarios, &scenario::LoadOptions::default()) {
        Ok(list) => {
            for s in &list {
                println!("ok {} ({})", s.file.display(), s.name);
            }
            ExitCode::from(exit::OK as u8)
        }
        Err(e) => bad_input(e),
    }
}
