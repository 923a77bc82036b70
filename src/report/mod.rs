//! Reporters: they only consume the runner's events. Adding a format never
//! touches the runner.

pub mod json;
pub mod junit;
pub mod markdown;
pub mod mermaid;
pub mod style;
pub mod terminal;

use crate::runner::Event;

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
