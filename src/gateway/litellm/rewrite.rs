//! Rewriting a LiteLLM config to the mocks: only what must change. Every
//! mapped item's `api_base` points at its mock, in the form LiteLLM expects
//! for that provider; every key and secret becomes a dummy; the proxy gets a
//! local master key and no database. Routing settings are left as written.

use super::config::LitellmConfig;
use mock_providers::Dialect;
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;

pub use crate::gateway::DUMMY_KEY;
use crate::gateway::{is_secret_key, secrets};

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

/// Replaces everything the team wrote as a credential with the dummy (see
/// [`secrets`](crate::gateway::secrets)): values under secret keys, header
/// values, the environment section, URL userinfo and credential query
/// parameters. Whatever routing reads (names, hosts, paths, settings) stays.
pub fn scrub(doc: &mut Value) {
    scrub_value(doc, false);
}

fn scrub_value(v: &mut Value, secret: bool) {
    match v {
        Value::String(s) => {
            if let Some(r) = secrets::scrub_str(s, secret) {
                *s = r;
            }
        }
        Value::Mapping(m) => {
            for (k, val) in m.iter_mut() {
                let name = k.as_str().unwrap_or_default();
                let inner = secret
                    || is_secret_key(name)
                    || secrets::is_environment_key(name)
                    || (secrets::is_header_map_key(name) && val.is_mapping());
                if secrets::is_password_key(name) && val.is_number() {
                    *val = key(DUMMY_KEY);
                } else {
                    scrub_value(val, inner);
                }
            }
        }
        Value::Sequence(list) => list.iter_mut().for_each(|x| scrub_value(x, secret)),
        Value::Tagged(t) => scrub_value(&mut t.value, secret),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
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

/// Gives every mapped deployment its crossfire id as `model_info.id`.
/// LiteLLM otherwise derives the id from a hash of `litellm_params`, whose
/// `api_base` differs per replica (each calls the mocks at its own base
/// URL): replicas would keep their cooldowns under different keys and
/// never share them, which identical replicas in production do.
pub fn pin_ids(doc: &mut Value, config: &LitellmConfig) {
    let Some(list) = doc
        .as_mapping_mut()
        .and_then(|m| m.get_mut(key("model_list")))
        .and_then(Value::as_sequence_mut)
    else {
        return;
    };
    for (item, entry) in config.items.iter().zip(list.iter_mut()) {
        if item.mapped.is_none() {
            continue;
        }
        if let Some(info) = entry
            .as_mapping_mut()
            .and_then(|m| child_mapping(m, "model_info"))
        {
            info.insert(key("id"), key(&item.id));
        }
    }
}

/// Points the router's Redis (`router_settings.redis_*`, where LiteLLM
/// keeps cooldowns its replicas share) at crossfire's own at `host_port`,
/// with no password: the team's Redis is never reached.
pub fn point_redis(doc: &mut Value, host_port: &str) {
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "6379"));
    let Some(r) = doc
        .as_mapping_mut()
        .and_then(|m| child_mapping(m, "router_settings"))
    else {
        return;
    };
    for k in ["redis_url", "redis_password", "redis_username", "redis_ssl"] {
        r.remove(key(k));
    }
    r.insert(key("redis_host"), key(host));
    r.insert(
        key("redis_port"),
        port.parse::<u64>()
            .map_or_else(|_| key(port), |p| Value::Number(p.into())),
    );
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

    #[test]
    fn scrub_replaces_header_values_organization_userinfo_and_numeric_passwords() {
        let mut doc: Value = serde_yaml::from_str(
            "model_list:\n- model_name: g\n  litellm_params:\n    model: openai/gpt-4o\n    api_base: https://u:pw1@h.example/v1\n    organization: org-1\n    extra_headers: {Authorization: Bearer t1, X-Team: team-1}\n    input_cost_per_token: 0.5\n    max_tokens: 10\nlitellm_settings:\n  cache_params: {type: redis, password: 12345}\n",
        )
        .expect("yaml");
        scrub(&mut doc);
        let text = serde_yaml::to_string(&doc).expect("yaml");
        for gone in ["pw1", "org-1", "t1", "team-1", "12345"] {
            assert!(!text.contains(gone), "{gone} survived:\n{text}");
        }
        for kept in [
            "https://h.example/v1",
            "X-Team",
            "0.5",
            "max_tokens: 10",
            "type: redis",
        ] {
            assert!(text.contains(kept), "{kept} lost:\n{text}");
        }
    }
}
