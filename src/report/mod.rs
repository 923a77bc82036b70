//! Reporters: they only consume the runner's events. Adding a format never
//! touches the runner.

pub mod json;
pub mod junit;
pub mod lint;
pub mod markdown;
pub mod mermaid;
pub mod style;
pub mod terminal;

use crate::diag::InputError;
use crate::outcome::Event;
use std::path::Path;

/// Writes a report file the user asked for; when it cannot, says which file
/// and why on stderr (the run's own folder still holds everything).
pub fn write(path: &Path, contents: Result<Vec<u8>, String>) {
    let result = contents.and_then(|c| std::fs::write(path, c).map_err(|e| e.to_string()));
    if let Err(e) = result {
        eprintln!("error: cannot write {}: {e}", path.display());
    }
}

/// A text table column's width: its widest value or its heading.
pub fn column_width<'a>(values: impl Iterator<Item = &'a String>, heading: &str) -> usize {
    values
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max(heading.len())
}

/// A report as pretty JSON, ready for [`write`].
pub fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec_pretty(value).map_err(|e| e.to_string())
}

/// Checks, before anything runs, that each report flag's file can be made:
/// its folder exists and the path is not a folder itself. A long run must
/// not end unable to save what it found.
pub fn check_paths(flags: &[(&str, Option<&Path>)]) -> Result<(), InputError> {
    for (flag, path) in flags {
        let Some(path) = path else { continue };
        let at = format!("{flag} {}", path.display());
        if path.is_dir() {
            return Err(InputError::flag(
                at,
                format!(
                    "is a folder; give a file in it, such as {}",
                    path.join("report").display()
                ),
            ));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(InputError::flag(
                at,
                format!(
                    "the folder {} does not exist; create it first or write the report into an existing folder",
                    dir.display()
                ),
            ));
        }
    }
    Ok(())
}

/// One output of a run.
#[derive(Debug)]
pub enum Reporter {
    /// Progress and summary on the terminal.
    Terminal(terminal::TerminalReporter),
    /// Everything, machine-readable, to a file.
    Json(json::JsonReporter),
    /// One testcase per expectation, to a file.
    Junit(junit::JunitReporter),
    /// A report a person reads, to a file.
    Markdown(markdown::MarkdownReporter),
}

impl Reporter {
    /// Feeds one event.
    pub fn event(&mut self, e: &Event) {
        match self {
            Reporter::Terminal(r) => r.event(e),
            Reporter::Json(r) => r.event(e),
            Reporter::Junit(r) => r.event(e),
            Reporter::Markdown(r) => r.event(e),
        }
    }
}
