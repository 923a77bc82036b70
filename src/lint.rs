//! What `crossfire lint` says of a gateway config: the literal prediction per
//! model group and failure class (from the gateway's own rules, without
//! running anything), the warnings a reviewer wants, and the scaled context
//! windows the drill runs overflows with. A leaf module: every gateway
//! adapter writes these, the drill and the reports read them.

use crate::paths::PathClass;

use mock_providers::FailureClass;
use serde::Serialize;
use std::path::PathBuf;

/// Context windows shrink 100-fold in the drill so overflowing prompts stay
/// small (a 200k window takes a 2,400-token prompt); their ratios, which
/// decide where an overflow can go, stay real for every listed model.
pub const WINDOW_SCALE: u64 = 100;

/// A model's context window in the drill.
pub fn scaled_window(model: &str) -> u64 {
    (mock_providers::models::context_window(model, None) / WINDOW_SCALE).max(20)
}

/// The prompt of an overflow cell: a fifth over the primary's window.
pub fn overflow_prompt(primary_model: &str) -> u64 {
    scaled_window(primary_model) * 6 / 5
}

/// Whether `model` refuses the overflow cell of a group whose primary is
/// `primary_model`: the one rule lint predicts with and the drill runs.
pub fn refuses_overflow(primary_model: &str, model: &str) -> bool {
    scaled_window(model) < overflow_prompt(primary_model)
}

/// The failure classes a drill runs, in order.
pub const DRILL_CLASSES: [FailureClass; 10] = [
    FailureClass::ServerError,
    FailureClass::Overloaded,
    FailureClass::RateLimit,
    FailureClass::QuotaExhausted,
    FailureClass::ContextOverflow,
    FailureClass::ContentPolicy,
    FailureClass::Auth,
    FailureClass::Timeout,
    FailureClass::StreamCut,
    FailureClass::StreamError,
];

/// The failure classes whose handling crossfire has not measured on any
/// gateway (LiteLLM, Portkey, TensorZero): a hang, a late first token, a
/// stream without its terminator, one garbled event. lint predicts nothing
/// for them (the drill shows `-` and holds nothing against a prediction),
/// and no gateway rule explains an intent they break: guessing would put
/// words in the gateway's mouth. The drill observes what really happens.
pub const UNMEASURED_CLASSES: [FailureClass; 4] = [
    FailureClass::Hang,
    FailureClass::SlowFirstToken,
    FailureClass::NoDone,
    FailureClass::MalformedEvent,
];

/// Whether lint predicts a cell of this class: every class but the
/// [`UNMEASURED_CLASSES`].
pub fn predicts(class: FailureClass) -> bool {
    !UNMEASURED_CLASSES.contains(&class)
}

/// Whether a drill cell of this class sends streams: the stream faults, and
/// the classes that only mean something in a stream (a first token, a
/// terminator, one event).
pub fn streams(class: FailureClass) -> bool {
    matches!(
        class,
        FailureClass::StreamCut
            | FailureClass::StreamError
            | FailureClass::SlowFirstToken
            | FailureClass::NoDone
            | FailureClass::MalformedEvent
    )
}

/// The predicted path of one (group, failure class) when every deployment of
/// the group fails that way and its fallbacks are healthy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Model group.
    pub group: String,
    /// Failure class.
    pub class: FailureClass,
    /// What the gateway makes of the failure (LiteLLM: the exception it raises).
    pub exception: String,
    /// Attempts on the group before anything else happens.
    pub attempts: u32,
    /// The fallback group that serves, and its provider.
    pub fallback: Option<(String, String)>,
    /// The path class predicted.
    pub outcome: PathClass,
    /// Status the client sees.
    pub client_status: u16,
    /// One line a person reads: `claude-opus x3 -> gpt-4o (openai) 200`.
    pub text: String,
    /// Why, in a few words.
    pub why: String,
    /// Whether identical requests were seen taking either of two paths: the
    /// text names both, and the drill sends enough requests to see the split.
    #[serde(default)]
    pub nondeterministic: bool,
}

/// A warning about the config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// Line in the config (0 when the whole file).
    pub line: usize,
    /// What a reviewer should know.
    pub message: String,
}

impl Warning {
    /// The warning as a report line: `line 12: ...` (no line for the whole
    /// file).
    pub fn line_text(&self) -> String {
        if self.line > 0 {
            format!("line {}: {}", self.line, self.message)
        } else {
            self.message.clone()
        }
    }
}

/// Every prediction of a config: each group with each drill class, in
/// order, where `predict` has one.
pub fn predictions(
    groups: &[String],
    predict: impl Fn(&str, FailureClass) -> Option<Prediction>,
) -> Vec<Prediction> {
    groups
        .iter()
        .flat_map(|g| DRILL_CLASSES.iter().filter_map(|c| predict(g, *c)))
        .collect()
}

/// lint's result.
#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    /// The config.
    pub config: PathBuf,
    /// Whose rules (`LiteLLM 1.108.7`).
    pub rules: String,
    /// Predicted paths, groups x failure classes.
    pub predictions: Vec<Prediction>,
    /// Warnings.
    pub warnings: Vec<Warning>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard drill stays the ten classes it was; the time and
    /// stream classes run only when asked for, and lint predicts none of them.
    #[test]
    fn the_drill_keeps_its_ten_classes_and_lint_predicts_no_unmeasured_one() {
        assert_eq!(DRILL_CLASSES.len(), 10);
        for class in UNMEASURED_CLASSES {
            assert!(!DRILL_CLASSES.contains(&class), "{class}");
            assert!(!predicts(class), "{class}");
        }
        assert!(DRILL_CLASSES.iter().all(|c| predicts(*c)));
        // The new classes mean something only on a stream, but a hang.
        assert!(!streams(FailureClass::Hang));
        assert!(UNMEASURED_CLASSES[1..].iter().all(|c| streams(*c)));
    }

    #[test]
    fn the_scaled_overflow_keeps_real_window_order() {
        // 8,192 -> 16,385: the larger window takes a prompt a fifth over the smaller.
        assert!(!refuses_overflow("gpt-4-0613", "gpt-3.5-turbo"));
        // 200k -> 128k: the smaller refuses it too, as in production.
        assert!(refuses_overflow("claude-opus-4-1", "gpt-4o"));
        assert!(refuses_overflow("gpt-4o", "gpt-4o"));
        assert!(!refuses_overflow("gpt-4o", "claude-opus-4-1"));
        // 8k and 16k windows no longer collapse onto the same floor.
        assert!(scaled_window("gpt-4-0613") < scaled_window("gpt-3.5-turbo"));
    }

    /// Context windows as the providers document them (OpenAI's model pages,
    /// Anthropic's models overview, Google's Gemini models page, Groq's and
    /// Mistral's model lists), written out here, not read from the mocks' table.
    const DOCUMENTED: [(&str, u64); 12] = [
        ("gpt-3.5-turbo", 16_385),
        ("gpt-4-0613", 8_192),
        ("gpt-4o", 128_000),
        ("gpt-4.1", 1_047_576),
        ("o3-mini", 200_000),
        ("claude-opus-4-1", 200_000),
        ("claude-2.1", 200_000),
        ("gemini-1.5-pro", 2_097_152),
        ("gemini-2.0-flash", 1_048_576),
        ("groq/llama-3.3-70b-versatile", 131_072),
        ("llama3-8b-8192", 8_192),
        ("mixtral-8x7b-32768", 32_768),
    ];

    #[test]
    fn the_drills_overflow_refusals_match_the_documented_windows() {
        for (model, window) in DOCUMENTED {
            assert_eq!(
                scaled_window(model),
                window / WINDOW_SCALE,
                "{model}: the drill's window is not its documented {window} scaled"
            );
        }
        // In production, a prompt a fifth over the primary's window fits a
        // fallback exactly when the fallback's window holds it.
        for (primary, primary_window) in DOCUMENTED {
            for (fallback, fallback_window) in DOCUMENTED {
                let real = fallback_window * 5 < primary_window * 6;
                assert_eq!(
                    refuses_overflow(primary, fallback),
                    real,
                    "an overflow of {primary} ({primary_window}) sent to {fallback} ({fallback_window})"
                );
            }
        }
    }
}
