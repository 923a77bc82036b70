//! `crossfire schema`: print the JSON Schema of the scenario format.

use crossfire::{exit, scenario};
use std::process::ExitCode;

/// Print the JSON Schema of the scenario format.
#[derive(clap::Args)]
pub struct Args {}

/// Prints the schema, pretty.
pub fn exec(_args: Args) -> ExitCode {
    let schema = scenario::json_schema();
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );
    ExitCode::from(exit::OK as u8)
}
