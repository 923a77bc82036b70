//! `crossfire lint`: predict from a gateway config alone the path every
//! failure class takes, and warn; runs nothing.

use super::common::bad_input;
use super::flags::JsonFile;
use crossfire::{exit, report};
use std::path::PathBuf;
use std::process::ExitCode;

/// Predict, from a gateway config alone, the path every failure class takes
/// per model group, and warn about what a reviewer should know. Runs nothing.
#[derive(clap::Args)]
#[command(mut_arg("json", |a| a.help("Write predictions and warnings as JSON")))]
pub struct Args {
    /// The gateway config (LiteLLM `config.yaml`).
    config: PathBuf,
    /// Gateway kind of the config.
    #[arg(long, default_value = "litellm")]
    gateway: String,
    #[command(flatten)]
    json: JsonFile,
}

/// Prints the predictions and warnings; any warning exits 1.
pub fn exec(args: Args) -> ExitCode {
    let Args {
        config,
        gateway,
        json: JsonFile { json },
    } = args;
    if let Err(e) = report::check_paths(&[("--json", json.as_deref())]) {
        return bad_input(e);
    }
    let found = match crossfire::gateway::load_config(&gateway, &config, "lint reads") {
        Ok(c) => c.lint(),
        Err(e) => return bad_input(e),
    };
    print!("{}", crossfire::report::lint::text(&found));
    if let Some(path) = json {
        report::write(&path, report::json(&found));
    }
    if found.warnings.is_empty() {
        ExitCode::from(exit::OK as u8)
    } else {
        ExitCode::from(exit::FINDING as u8)
    }
}
