//! List prices, per million tokens, for the models of the context-window
//! table, and the billing rule for failed attempts.
//!
//! Prices are the providers' public list prices (standard tier, USD) as
//! published in 2025-2026; a scenario can override any of them. Reasoning
//! tokens are billed as output tokens by every provider here; cached input is
//! the providers' cache-read price.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What a model costs, per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Uncached input.
    pub input: f64,
    /// Cached input (cache reads).
    pub cached_input: f64,
    /// Output, reasoning included.
    pub output: f64,
}

/// How a provider bills an attempt that did not serve.
pub const BILLING_RULE: &str = "served attempts are billed in full (uncached input, cached input, output with reasoning); \
attempts that failed with an error status or a reset are not billed by OpenAI, Azure, Anthropic, Gemini, Groq, Mistral or DeepSeek; \
a stream that broke after content is billed for its input; \
an answer the gateway gave up waiting for (its own timeout), one whose first token came late, \
and a stream that finished without its terminator or with one garbled event are billed in full: the provider finished them";

const fn p(input: f64, cached_input: f64, output: f64) -> Price {
    Price {
        input,
        cached_input,
        output,
    }
}

/// (model prefix, price); the longest prefix wins.
const PRICES: &[(&str, Price)] = &[
    ("gpt-3.5-turbo", p(0.50, 0.50, 1.50)),
    ("gpt-4", p(30.0, 30.0, 60.0)),
    ("gpt-4-32k", p(60.0, 60.0, 120.0)),
    ("gpt-4-turbo", p(10.0, 10.0, 30.0)),
    ("gpt-4-1106", p(10.0, 10.0, 30.0)),
    ("gpt-4-0125", p(10.0, 10.0, 30.0)),
    ("gpt-4.5", p(75.0, 37.5, 150.0)),
    ("chatgpt-4o", p(5.0, 5.0, 15.0)),
    ("gpt-4o", p(2.50, 1.25, 10.0)),
    ("gpt-4o-mini", p(0.15, 0.075, 0.60)),
    ("gpt-4.1", p(2.00, 0.50, 8.00)),
    ("gpt-4.1-mini", p(0.40, 0.10, 1.60)),
    ("gpt-5", p(1.25, 0.125, 10.0)),
    ("o1", p(15.0, 7.50, 60.0)),
    ("o1-mini", p(1.10, 0.55, 4.40)),
    ("o3", p(2.00, 0.50, 8.00)),
    ("o3-mini", p(1.10, 0.55, 4.40)),
    ("o4-mini", p(1.10, 0.275, 4.40)),
    ("claude-2", p(8.0, 8.0, 24.0)),
    ("claude-3", p(3.0, 0.30, 15.0)),
    ("claude-3-haiku", p(0.25, 0.03, 1.25)),
    ("claude-3-sonnet", p(3.0, 0.30, 15.0)),
    ("claude-3-opus", p(15.0, 1.50, 75.0)),
    ("claude-3-5-sonnet", p(3.0, 0.30, 15.0)),
    ("claude-3-7-sonnet", p(3.0, 0.30, 15.0)),
    ("claude-3-5-haiku", p(0.80, 0.08, 4.0)),
    ("claude-opus-4", p(15.0, 1.50, 75.0)),
    ("claude-sonnet-4", p(3.0, 0.30, 15.0)),
    ("claude-haiku-4", p(1.0, 0.10, 5.0)),
    ("gemini-1.0-pro", p(0.50, 0.50, 1.50)),
    ("gemini-1.5-flash", p(0.075, 0.01875, 0.30)),
    ("gemini-1.5-pro", p(1.25, 0.3125, 5.0)),
    ("gemini-2.0-flash", p(0.10, 0.025, 0.40)),
    ("gemini-2.5-flash", p(0.30, 0.075, 2.50)),
    ("gemini-2.5-pro", p(1.25, 0.31, 10.0)),
    ("llama3-8b-8192", p(0.05, 0.05, 0.08)),
    ("gemma2-9b-it", p(0.20, 0.20, 0.20)),
    ("llama-3.1-8b-instant", p(0.05, 0.05, 0.08)),
    ("llama-3.3-70b-versatile", p(0.59, 0.59, 0.79)),
    ("llama3-70b-8192", p(0.59, 0.59, 0.79)),
    ("mixtral-8x7b-32768", p(0.24, 0.24, 0.24)),
    ("mistral-large", p(2.0, 2.0, 6.0)),
    ("mistral-small", p(0.20, 0.20, 0.60)),
    ("mistral-medium", p(0.40, 0.40, 2.0)),
    ("open-mistral-7b", p(0.25, 0.25, 0.25)),
    ("open-mixtral-8x22b", p(2.0, 2.0, 6.0)),
    ("codestral", p(0.30, 0.30, 0.90)),
    ("deepseek-chat", p(0.27, 0.07, 1.10)),
    ("deepseek-reasoner", p(0.55, 0.14, 2.19)),
];

/// The list price of a model, if crossfire knows it.
///
/// ```
/// assert_eq!(crossfire::prices::lookup("anthropic/claude-opus-4-1").unwrap().output, 75.0);
/// assert_eq!(crossfire::prices::lookup("gpt-4o-mini-2024-07-18").unwrap().input, 0.15);
/// ```
pub fn lookup(model: &str) -> Option<Price> {
    let bare = mock_providers::models::bare_model(model);
    PRICES
        .iter()
        .filter(|(prefix, _)| bare.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, price)| *price)
}

/// The cost of a usage at a price, in USD.
pub fn cost(price: &Price, u: &mock_providers::Usage) -> f64 {
    let uncached = u.prompt_tokens.saturating_sub(u.cached_tokens);
    (uncached as f64 * price.input
        + u.cached_tokens as f64 * price.cached_input
        + u.completion_tokens as f64 * price.output)
        / 1_000_000.0
}

/// The price map a gateway computes the cost it reports with: LiteLLM's
/// is the `model_prices_and_context_window_backup.json` bundled in its
/// package (crossfire runs it offline, with `LITELLM_LOCAL_MODEL_COST_MAP`).
/// Only the model names are kept: the audit needs to know which models the
/// gateway can price, not its figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatewayPriceMap {
    /// In words, for reports: `LiteLLM 1.108.7's bundled price map`.
    pub name: String,
    /// The model names it prices (`gpt-4o`, `anthropic/claude-3-haiku`, ...).
    #[serde(skip)]
    pub models: BTreeSet<String>,
}

impl GatewayPriceMap {
    /// Reads a price map in LiteLLM's format: one object per model name.
    ///
    /// ```
    /// let m = crossfire::prices::GatewayPriceMap::from_json(
    ///     "test map",
    ///     r#"{"sample_spec": {}, "gpt-4o": {"input_cost_per_token": 2.5e-6}}"#,
    /// ).unwrap();
    /// assert!(m.prices("gpt-4o", "openai"));
    /// assert!(!m.prices("claude-opus-4-1", "anthropic"));
    /// ```
    pub fn from_json(name: &str, text: &str) -> Result<GatewayPriceMap, serde_json::Error> {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)?;
        Ok(GatewayPriceMap {
            name: name.to_string(),
            models: map
                .into_iter()
                .filter(|(k, _)| k != "sample_spec")
                .map(|(k, _)| k)
                .collect(),
        })
    }

    /// Whether the map prices `model` (as a provider was asked for it) from
    /// `provider`: LiteLLM looks the model up as named and with its
    /// provider's prefix.
    pub fn prices(&self, model: &str, provider: &str) -> bool {
        let bare = mock_providers::models::bare_model(model);
        [
            model.to_string(),
            bare.to_string(),
            format!("{provider}/{bare}"),
        ]
        .iter()
        .any(|k| self.models.contains(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every model of the context-window table has a price, but for
    /// self-hosted open weights (vLLM), which have no list price.
    #[test]
    fn every_table_family_is_priced() {
        let missing: Vec<&str> = mock_providers::models::families()
            .filter(|f| !f.starts_with("meta-llama/"))
            .filter(|f| lookup(f).is_none())
            .collect();
        assert!(missing.is_empty(), "no price for {missing:?}");
    }
}
