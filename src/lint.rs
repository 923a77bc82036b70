//! `crossfire lint`: what a gateway config predicts, per model group and
//! failure class, without running anything, and the warnings a reviewer wants.

use crate::gateway::litellm::{config::LitellmConfig, lint};
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

/// lint's result.
#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    /// The config.
    pub config: PathBuf,
    /// Whose rules (`LiteLLM 1.108.7`).
    pub rules: String,
    /// Predicted paths, groups x failure classes.
    pub predictions: Vec<lint::Prediction>,
    /// Warnings.
    pub warnings: Vec<lint::Warning>,
}

/// Lints a LiteLLM config.
pub fn lint_litellm(cfg: &LitellmConfig) -> LintReport {
    LintReport {
        config: cfg.src.file.clone(),
        rules: format!("LiteLLM {}", crate::provision::LITELLM_VERSION),
        predictions: lint::predictions(cfg),
        warnings: lint::warnings(cfg),
    }
}

/// Lints a Portkey config: the whole config is one group.
pub fn lint_portkey(cfg: &crate::gateway::portkey::config::PortkeyConfig) -> LintReport {
    LintReport {
        config: cfg.src.file.clone(),
        rules: format!("Portkey gateway {}", crate::provision::PORTKEY_VERSION),
        predictions: lint::DRILL_CLASSES
            .iter()
            .map(|c| crate::gateway::portkey::lint::predict(cfg, *c))
            .collect(),
        warnings: crate::gateway::portkey::lint::warnings(cfg),
    }
}

/// lint as a person reads it.
pub fn render_text(r: &LintReport) -> String {
    let mut s = format!(
        "crossfire lint {} ({} rules; these are predictions, not observations: `crossfire drill` runs them)\n",
        r.config.display(),
        r.rules
    );
    if !r.warnings.is_empty() {
        s.push_str("\nwarnings:\n");
        for w in &r.warnings {
            let at = if w.line > 0 {
                format!("line {}: ", w.line)
            } else {
                String::new()
            };
            s.push_str(&format!("  {at}{}\n", w.message));
        }
    }
    let wg = crate::report::column_width(r.predictions.iter().map(|p| &p.group), "group");
    let wp = crate::report::column_width(r.predictions.iter().map(|p| &p.text), "prediction");
    s.push_str(&format!(
        "\npredicted paths (every deployment of the group failing that way, its fallbacks healthy):\n  {:wg$}  {:16}  {:wp$}  why\n",
        "group", "failure", "prediction"
    ));
    for p in &r.predictions {
        s.push_str(&format!(
            "  {:wg$}  {:16}  {:wp$}  {}\n",
            p.group,
            p.class.name(),
            p.text,
            p.why
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
