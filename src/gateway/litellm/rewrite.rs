//! Rewriting a LiteLLM config to the mocks: only what must change. Every
//! mapped item's `api_base` points at its mock, in the form LiteLLM expects
//! for that provider; every key and secret becomes a dummy; the proxy gets a
//! local master key and no database. Routing settings are left as written.

use super::config::LitellmConfig;
use mock_providers::Dialect;
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;

use crate::gateway::is_secret_key;
pub use crate::gateway::DUMMY_KEY;

/// The `api_base` LiteLLM needs to reach a mock at `base` (`http://127.0.0.1:P`)
/// on the provider's real path (measured with LiteLLM 1.108.7: OpenAI-style
/// providers append `/chat/completions`, Anthropic `/v1/messages`, Gemini
/// `/models/{m}:generateContent`, Azure `/openai/deployments/...`).
pub fn api_base_for(dialect: Dialect, base: &str) -> String {
    match dialect {
        Dialect::Openai | Dialect::Deepseek | Dialect::Vllm | Dialect::Mistral => {
            format!("{base}/v1")
        }
        Dialect::Groq => format!("{base}/openai/v1"),
        Dialect::Gemini => format!("{base}/v1beta"),
        Dialect::Azure | Dialect::Anthropic => base.to_string(),
    }
}

/// A YAML string (a key or a value).
pub(super) fn key(s: &str) -> Value {
    Value::String(s.to_string())
}

/// The mapping under `name` in `m`, made (or replaced by) an empty mapping
/// when it is missing or is not a mapping.
pub(super) fn child_mapping<'a>(m: &'a mut Mapping, name: &str) -> Option<&'a mut Mapping> {
    let v = m
        .entry(key(name))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if !v.is_mapping() {
        *v = Value::Mapping(Mapping::new());
    }
    v.as_mapping_mut()
}

/// Replaces every literal secret in the document with the dummy.
fn scrub(v: &mut Value) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m.iter_mut() {
                let secret = k.as_str().is_some_and(is_secret_key);
                if secret && val.is_string() {
                    *val = key(DUMMY_KEY);
                } else {
                    scrub(val);
                }
            }
        }
        Value::Sequence(list) => list.iter_mut().for_each(scrub),
        _ => {}
    }
}

/// The rewritten document. `bases` maps deployment id -> mock base URL;
/// `master_key` is the proxy key crossfire's client sends.
pub fn rewrite(
    config: &LitellmConfig,
    bases: &BTreeMap<String, String>,
    master_key: &str,
) -> Value {
    let mut doc = config.doc.clone();
    if let Some(list) = doc
        .as_mapping_mut()
        .and_then(|m| m.get_mut(key("model_list")))
        .and_then(Value::as_sequence_mut)
    {
        for (item, entry) in config.items.iter().zip(list.iter_mut()) {
            let (Some((_, dialect)), Some(base)) = (&item.mapped, bases.get(&item.id)) else {
                continue;
            };
            let Some(params) = entry
                .as_mapping_mut()
                .and_then(|m| m.get_mut(key("litellm_params")))
                .and_then(Value::as_mapping_mut)
            else {
                continue;
            };
            params.insert(key("api_base"), key(&api_base_for(*dialect, base)));
            params.insert(key("api_key"), key(DUMMY_KEY));
            if *dialect == Dialect::Azure {
                // Only a missing version, or one read from the environment
                // (crossfire's dummy there is no version), is set; a version
                // as written is the team's, whatever LiteLLM makes of it.
                let version = params.get(key("api_version"));
                let from_env = version
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with("os.environ/"));
                if version.is_none() || from_env {
                    params.insert(key("api_version"), key("2024-08-01-preview"));
                }
            }
        }
    }
    scrub(&mut doc);
    if let Some(env) = doc
        .as_mapping_mut()
        .and_then(|m| m.get_mut(key("environment_variables")))
        .and_then(Value::as_mapping_mut)
    {
        for (_, v) in env.iter_mut() {
            *v = key("crossfire-dummy");
        }
    }
    if let Some(root) = doc.as_mapping_mut() {
        if let Some(g) = child_mapping(root, "general_settings") {
            g.insert(key("master_key"), key(master_key));
            for k in [
                "database_url",
                "store_model_in_db",
                "alerting",
                "alerting_threshold",
            ] {
                g.remove(key(k));
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        assert!(is_secret_key("api_key"));
        assert!(is_secret_key("LANGFUSE_SECRET_KEY"));
        assert!(is_secret_key("aws_secret_access_key"));
        assert!(!is_secret_key("api_base"));
        assert!(!is_secret_key("model"));
        assert!(!is_secret_key("max_tokens"));
        assert!(is_secret_key("azure_ad_token"));
    }
}
