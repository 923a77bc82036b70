//! Colour for the terminal: on where a person reads a terminal, off in CI
//! logs and pipes, and off whenever NO_COLOR is set (https://no-color.org).

use std::io::IsTerminal;

/// Whether to colour, and the colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Colour only on a terminal, without NO_COLOR, and not on a dumb terminal.
    pub fn decide(is_terminal: bool, no_color: Option<&str>, term: Option<&str>) -> Style {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        Style {
            enabled: is_terminal && !no_color && term != Some("dumb"),
        }
    }

    /// For stdout, from the environment.
    pub fn stdout() -> Style {
        Style::decide(
            std::io::stdout().is_terminal(),
            std::env::var("NO_COLOR").ok().as_deref(),
            std::env::var("TERM").ok().as_deref(),
        )
    }

    /// For stderr (warnings and logs), from the environment.
    pub fn stderr() -> Style {
        Style::decide(
            std::io::stderr().is_terminal(),
            std::env::var("NO_COLOR").ok().as_deref(),
            std::env::var("TERM").ok().as_deref(),
        )
    }

    /// Whether this style colours at all.
    pub fn is_enabled(self) -> bool {
        self.enabled
    }

    /// No colour at all.
    pub fn plain() -> Style {
        Style { enabled: false }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Good news.
    pub fn good(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Bad news.
    pub fn bad(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    /// Worth a look.
    pub fn warn(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Less important.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_and_pipes_stay_plain() {
        assert!(Style::decide(true, None, Some("xterm-256color")).enabled);
        assert!(
            !Style::decide(false, None, Some("xterm")).enabled,
            "a pipe or a CI log"
        );
        assert!(
            !Style::decide(true, Some("1"), Some("xterm")).enabled,
            "NO_COLOR"
        );
        assert!(
            Style::decide(true, Some(""), Some("xterm")).enabled,
            "an empty NO_COLOR does not count"
        );
        assert!(!Style::decide(true, None, Some("dumb")).enabled);
        assert_eq!(Style::plain().bad("FAIL"), "FAIL");
        assert_eq!(
            Style::decide(true, None, None).bad("FAIL"),
            "\x1b[1;31mFAIL\x1b[0m"
        );
    }
}
