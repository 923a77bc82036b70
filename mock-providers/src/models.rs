//! The built-in model table: context windows of real models.
//!
//! Values are the providers' published context windows (input + output) as of
//! late 2026. A model is matched by the longest table prefix of its name, after
//! dropping any `provider/` prefix, so dated snapshots
//! (`claude-3-5-sonnet-20241022`, `gpt-4o-2024-08-06`) find their family.

/// What crossfire knows about a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// The table entry that matched (a name prefix).
    pub family: &'static str,
    /// Context window in tokens.
    pub context_window: u64,
}

/// Context window used for a model the table does not know.
pub const DEFAULT_CONTEXT_WINDOW: u64 = 128_000;

/// (name prefix, context window). Longer prefixes win over shorter ones.
const CONTEXT_WINDOWS: &[(&str, u64)] = &[
    // OpenAI
    ("gpt-3.5-turbo", 16_385),
    ("gpt-4", 8_192),
    ("gpt-4-32k", 32_768),
    ("gpt-4-turbo", 128_000),
    ("gpt-4-1106", 128_000),
    ("gpt-4-0125", 128_000),
    ("gpt-4o", 128_000),
    ("gpt-4o-mini", 128_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4.5", 128_000),
    ("gpt-5", 400_000),
    ("chatgpt-4o", 128_000),
    ("o1", 200_000),
    ("o1-mini", 128_000),
    ("o3", 200_000),
    ("o3-mini", 200_000),
    ("o4-mini", 200_000),
    // Anthropic
    ("claude-2", 100_000),
    // Claude 2.1 doubled Claude 2.0's window.
    ("claude-2.1", 200_000),
    ("claude-3", 200_000),
    ("claude-opus-4", 200_000),
    ("claude-sonnet-4", 200_000),
    ("claude-haiku-4", 200_000),
    // Google
    ("gemini-1.0-pro", 32_760),
    ("gemini-1.5-flash", 1_048_576),
    ("gemini-1.5-pro", 2_097_152),
    ("gemini-2.0-flash", 1_048_576),
    ("gemini-2.5-flash", 1_048_576),
    ("gemini-2.5-pro", 1_048_576),
    // Groq-hosted open models
    ("llama3-8b-8192", 8_192),
    ("llama3-70b-8192", 8_192),
    ("llama-3.1-8b-instant", 131_072),
    ("llama-3.3-70b-versatile", 131_072),
    ("mixtral-8x7b-32768", 32_768),
    ("gemma2-9b-it", 8_192),
    // Mistral
    ("mistral-large", 131_072),
    ("mistral-medium", 131_072),
    ("mistral-small", 32_768),
    ("open-mistral-7b", 32_768),
    ("open-mixtral-8x22b", 65_536),
    ("codestral", 262_144),
    // DeepSeek
    ("deepseek-chat", 65_536),
    ("deepseek-reasoner", 65_536),
    // vLLM-served open weights (the served window is a deployment choice)
    ("meta-llama/Llama-3.1", 131_072),
    ("meta-llama/Meta-Llama-3-8B", 8_192),
];

/// The model families of the table (name prefixes), in table order.
pub fn families() -> impl Iterator<Item = &'static str> {
    CONTEXT_WINDOWS.iter().map(|(family, _)| *family)
}

/// The table's largest context window: the longest prompt any real model
/// takes.
///
/// ```
/// let big = mock_providers::models::largest();
/// assert!(big.context_window >= 2_000_000);
/// ```
pub fn largest() -> ModelInfo {
    CONTEXT_WINDOWS
        .iter()
        .max_by_key(|(_, window)| *window)
        .map(|(family, window)| ModelInfo {
            family,
            context_window: *window,
        })
        .unwrap_or(ModelInfo {
            family: "default",
            context_window: DEFAULT_CONTEXT_WINDOW,
        })
}

/// Looks a model up in the table: the longest prefix of its bare name wins.
///
/// ```
/// use mock_providers::models::lookup;
/// assert_eq!(lookup("claude-3-5-sonnet-20241022").unwrap().context_window, 200_000);
/// assert_eq!(lookup("openai/gpt-4").unwrap().context_window, 8_192);
/// assert_eq!(lookup("gpt-4o-2024-08-06").unwrap().family, "gpt-4o");
/// assert!(lookup("my-own-model").is_none());
/// ```
pub fn lookup(model: &str) -> Option<ModelInfo> {
    let bare = bare_model(model);
    CONTEXT_WINDOWS
        .iter()
        .filter(|(prefix, _)| bare.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(family, window)| ModelInfo {
            family,
            context_window: *window,
        })
}

/// The model name without a leading `provider/` route (but keeping
/// organisation-style names such as `meta-llama/...` that the table knows).
pub fn bare_model(model: &str) -> &str {
    if CONTEXT_WINDOWS
        .iter()
        .any(|(prefix, _)| prefix.contains('/') && model.starts_with(prefix))
    {
        return model;
    }
    match model.rsplit_once('/') {
        Some((_, rest)) => rest,
        None => model,
    }
}

/// The context window of a model: the override, else the table, else the default.
pub fn context_window(model: &str, override_window: Option<u64>) -> u64 {
    override_window
        .or_else(|| lookup(model).map(|m| m.context_window))
        .unwrap_or(DEFAULT_CONTEXT_WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(lookup("gpt-4-32k-0613").unwrap().context_window, 32_768);
        assert_eq!(lookup("gpt-4-0613").unwrap().context_window, 8_192);
        assert_eq!(lookup("gpt-4o-mini").unwrap().family, "gpt-4o-mini");
        assert_eq!(lookup("o3-mini-2025-01-31").unwrap().family, "o3-mini");
    }

    #[test]
    fn provider_prefix_is_dropped() {
        assert_eq!(
            lookup("anthropic/claude-opus-4-1").unwrap().context_window,
            200_000
        );
        assert_eq!(
            lookup("groq/llama3-70b-8192").unwrap().context_window,
            8_192
        );
        assert_eq!(
            lookup("meta-llama/Llama-3.1-8B-Instruct")
                .unwrap()
                .context_window,
            131_072
        );
    }

    #[test]
    fn override_beats_table() {
        assert_eq!(context_window("gpt-4", Some(1000)), 1000);
        assert_eq!(context_window("unknown", None), DEFAULT_CONTEXT_WINDOW);
    }
}
