//! `--json FILE`: the whole run, every path included, machine-readable.

use crate::outcome::Event;
use std::path::PathBuf;

/// Writes the run summary as JSON when the run finishes.
#[derive(Debug)]
pub struct JsonReporter {
    path: PathBuf,
}

impl JsonReporter {
    /// A reporter writing to `path`.
    pub fn new(path: PathBuf) -> JsonReporter {
        JsonReporter { path }
    }

    /// Consumes an event.
    pub fn event(&mut self, e: &Event) {
        if let Event::RunFinished(summary) = e {
            super::write(&self.path, super::json(summary));
        }
    }
}
