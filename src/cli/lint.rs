//! `crossfire lint`: predict from a gateway config alone the path every
//! failure class takes, and warn; runs nothing.

use super::common::bad_input;
use super::flags::JsonFile;
use crossfire::diag::InputError;
use crossfire::lint::LintReport;
use crossfire::{exit, report};
use std::path::{Path, PathBuf};
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

/// Loads `config` as a `kind` config and lints it. The one place this
/// command matches on gateway kinds by name.
fn lint_config(kind: &str, config: &Path) -> Result<LintReport, InputError> {
    match kind {
        "litellm" => crossfire::gateway::litellm::config::load(config)
            .map(|c| crossfire::lint::lint_litellm(&c)),
        "portkey" => crossfire::gateway::portkey::config::load(config)
            .map(|c| crossfire::lint::lint_portkey(&c)),
        other => Err(InputError::flag(
            format!("--gateway {other}"),
            format!(
                "lint reads `litellm` and `portkey` configs; {}",
                crossfire::diag::suggest(other, ["litellm", "portkey"])
            ),
        )),
    }
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
    let found = match lint_config(&gateway, &config) {
        Ok(f) => f,
        Err(e) => return bad_input(e),
    };
    print!("{}", crossfire::lint::render_text(&found));
    if let Some(path) = json {
        report::write(&path, report::json(&found));
    }
    if found.warnings.is_empty() {
        ExitCode::from(exit::OK as u8)
    } else {
        ExitCode::from(exit::FINDING as u8)
    }
}
