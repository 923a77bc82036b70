//! The team's `tensorzero.toml` rewritten for a run: every mapped provider
//! points at its mock (`api_base`, Azure's `endpoint`) with a dummy key from
//! an environment variable, every `env::` credential the file names gets a
//! dummy value, secrets written in it (header values, URLs with passwords)
//! become [`DUMMY_KEY`], and the gateway settings that would reach outside or
//! need a database are turned off. Everything else is kept as written,
//! comments included (`toml_edit`).

use super::config::TensorzeroConfig;
use crate::diag::InputError;
use crate::gateway::secrets::{is_header_map_key, is_secret_key, scrub_str, DUMMY_KEY};
use std::collections::BTreeMap;
use toml_edit::{value, DocumentMut, Item, Table};

/// The environment variable every mapped provider reads its (dummy) key from.
pub const KEY_ENV: &str = "CROSSFIRE_TENSORZERO_API_KEY";

/// A rewritten config and the environment the gateway needs for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewritten {
    /// The TOML text to run.
    pub text: String,
    /// Variables to set (all dummies): [`KEY_ENV`] and every `env::NAME`
    /// the file names, since TensorZero refuses to start when one is missing.
    pub env: BTreeMap<String, String>,
    /// What was removed or turned off, in words, for the run's log.
    pub changes: Vec<String>,
}

/// The base URL a provider type is given for a mock at `base`
/// (`http://127.0.0.1:PORT`): TensorZero appends `chat/completions` to an
/// OpenAI-style `api_base`, takes Anthropic's as the full messages URL, and
/// builds Azure's deployment path under `endpoint`.
pub fn mock_base_for(kind: &str, base: &str) -> (&'static str, String) {
    let base = base.trim_end_matches('/');
    match kind {
        "azure" => ("endpoint", base.to_string()),
        "anthropic" => ("api_base", format!("{base}/v1/messages")),
        _ => ("api_base", format!("{base}/v1/")),
    }
}

fn table_mut<'a>(item: &'a mut Item, key: &str) -> Option<&'a mut Item> {
    item.as_table_like_mut()?.get_mut(key)
}

/// Rewrites the config: `bases` maps deployment ids to mock base URLs.
pub fn rewrite(
    cfg: &TensorzeroConfig,
    bases: &BTreeMap<String, String>,
) -> Result<Rewritten, InputError> {
    let mut doc: DocumentMut = cfg.src.text.parse().map_err(|e: toml_edit::TomlError| {
        InputError::file(&cfg.src.file, format!("not valid TOML: {}", e.message()))
    })?;
    let mut env_refs = Vec::new();
    scrub(doc.as_item_mut(), "", false, &mut env_refs);
    let mut changes = Vec::new();
    for p in cfg.providers() {
        let Some(t) = table_mut(doc.as_item_mut(), "models")
            .and_then(|m| table_mut(m, &p.model))
            .and_then(|m| table_mut(m, "providers"))
            .and_then(|m| table_mut(m, &p.name))
            .and_then(Item::as_table_like_mut)
        else {
            continue;
        };
        // Every entry that takes a key gets the dummy, mapped or not: an
        // entry without `api_key_location` reads its type's default variable
        // (`GOOGLE_AI_STUDIO_API_KEY`), and TensorZero refuses to start
        // when it is missing.
        if takes_api_key(&p.kind) {
            set_keeping_comment(t, "api_key_location", format!("env::{KEY_ENV}"));
        }
        if let Some(base) = bases.get(&p.id).filter(|_| p.mapped.is_some()) {
            let (key, url) = mock_base_for(&p.kind, base);
            set_keeping_comment(t, key, url);
        }
    }
    let root = doc.as_table_mut();
    if !root.get("gateway").is_some_and(Item::is_table_like) {
        if root.contains_key("gateway") {
            changes.push("`gateway` was not a table: replaced".into());
        }
        root.insert("gateway", Item::Table(Table::new()));
    }
    if let Some(g) = root.get_mut("gateway").and_then(Item::as_table_like_mut) {
        // A relay forwards every inference to another gateway: off the machine.
        if g.remove("relay").is_some() {
            changes.push(
                "removed `gateway.relay`: inference goes to the mocks, not to another gateway"
                    .into(),
            );
        }
        g.insert("disable_pseudonymous_usage_analytics", value(true));
        match g.get_mut("observability").and_then(Item::as_table_like_mut) {
            Some(o) => {
                o.insert("enabled", value(false));
            }
            None => {
                let mut o = Table::new();
                o.insert("enabled", value(false));
                g.insert("observability", Item::Table(o));
            }
        }
    }
    let mut env: BTreeMap<String, String> = env_refs
        .into_iter()
        .map(|n| (n, DUMMY_KEY.to_string()))
        .collect();
    env.insert(KEY_ENV.to_string(), DUMMY_KEY.to_string());
    Ok(Rewritten {
        text: doc.to_string(),
        env,
        changes,
    })
}

/// Whether a provider type reads an API key from `api_key_location`.
fn takes_api_key(kind: &str) -> bool {
    super::config::PROVIDER_TYPES
        .iter()
        .any(|(t, keys)| *t == kind && keys.contains(&"api_key_location"))
}

/// Sets a string, keeping the comments around the value it replaces.
fn set_keeping_comment(t: &mut dyn toml_edit::TableLike, key: &str, new: String) {
    let decor = t
        .get(key)
        .and_then(Item::as_value)
        .map(|v| v.decor().clone());
    let mut v = toml_edit::Value::from(new);
    if let Some(d) = decor {
        *v.decor_mut() = d;
    }
    t.insert(key, Item::Value(v));
}

/// A credential location (`env::X`, `dynamic::x`, `path::/f`, `sdk`,
/// `none`): a pointer to a secret, not one.
fn is_location(s: &str) -> bool {
    ["env::", "dynamic::", "path::"]
        .iter()
        .any(|p| s.starts_with(p))
        || s == "sdk"
        || s == "none"
}

/// Replaces secrets in place and collects the `env::` names met.
/// `headers`: inside an `extra_headers` list, whose `value`s are secrets.
fn scrub(item: &mut Item, key: &str, headers: bool, env: &mut Vec<String>) {
    match item {
        Item::Value(v) => scrub_value(v, key, headers, env),
        Item::Table(t) => {
            for (k, child) in t.iter_mut() {
                let inner = headers || is_header_map_key(k.get());
                scrub(child, k.get(), inner, env);
            }
        }
        Item::ArrayOfTables(a) => {
            for t in a.iter_mut() {
                for (k, child) in t.iter_mut() {
                    let inner = headers || is_header_map_key(k.get());
                    scrub(child, k.get(), inner, env);
                }
            }
        }
        Item::None => {}
    }
}

fn scrub_value(v: &mut toml_edit::Value, key: &str, headers: bool, env: &mut Vec<String>) {
    match v {
        toml_edit::Value::String(s) => {
            let text = s.value().clone();
            if let Some(name) = text.strip_prefix("env::") {
                if !env.iter().any(|n| n == name) {
                    env.push(name.to_string());
                }
            }
            if is_location(&text) {
                return;
            }
            let secret = if headers {
                key == "value"
            } else {
                is_secret_key(key)
            };
            if let Some(new) = scrub_str(&text, secret) {
                let decor = s.decor().clone();
                *s = toml_edit::Formatted::new(new);
                *s.decor_mut() = decor;
            }
        }
        toml_edit::Value::Array(a) => {
            for e in a.iter_mut() {
                scrub_value(e, key, headers, env);
            }
        }
        toml_edit::Value::InlineTable(t) => {
            for (k, child) in t.iter_mut() {
                let inner = headers || is_header_map_key(k.get());
                scrub_value(child, k.get(), inner, env);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::read;
    use super::super::toml_src::TomlSource;
    use super::*;

    const TEAM: &str = r#"# the team's config
[gateway]
observability.enabled = true
relay = { gateway_url = "https://relay.example.com" }

[models.claude]
routing = ["anthropic", "openai", "azure"]

[models.claude.providers.anthropic]
type = "anthropic"
model_name = "claude-sonnet-4-5"
api_key_location = "env::ANTHROPIC_API_KEY"
extra_headers = [{ name = "Authorization", value = "Bearer sk-ant-live-0123456789" }]

[models.claude.providers.openai]
type = "openai"
model_name = "gpt-4o"
api_base = "https://bob:hunter2@proxy.example.com/v1"  # keep this comment

[models.claude.providers.azure]
type = "azure"
deployment_id = "gpt-4o-prod"
endpoint = "env::AZURE_OPENAI_ENDPOINT"
"#;

    #[test]
    fn providers_point_at_their_mocks_and_no_secret_survives() {
        let cfg = read(TomlSource::from_text("t.toml".into(), TEAM.into())).unwrap();
        let bases = BTreeMap::from([
            (
                "claude.anthropic".to_string(),
                "http://127.0.0.1:1001".to_string(),
            ),
            (
                "claude.openai".to_string(),
                "http://127.0.0.1:1002".to_string(),
            ),
            (
                "claude.azure".to_string(),
                "http://127.0.0.1:1003".to_string(),
            ),
        ]);
        let r = rewrite(&cfg, &bases).unwrap();
        insta::assert_snapshot!(r.text);
        assert!(!r.text.contains("hunter2") && !r.text.contains("sk-ant-live"));
        assert_eq!(
            r.env.keys().collect::<Vec<_>>(),
            ["ANTHROPIC_API_KEY", "AZURE_OPENAI_ENDPOINT", KEY_ENV]
        );
        assert!(r.env.values().all(|v| v == DUMMY_KEY));
        // The rewritten text is a config crossfire still reads the same way.
        let again = read(TomlSource::from_text("t.toml".into(), r.text.clone())).unwrap();
        assert_eq!(again.models[0].providers.len(), 3);
    }
}

#[cfg(test)]
mod proptests {
    use super::super::config::read;
    use super::super::toml_src::TomlSource;
    use super::*;
    use proptest::prelude::*;

    fn kind() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("openai"),
            Just("anthropic"),
            Just("azure"),
            Just("vllm"),
            Just("sglang"),
            Just("groq"),
        ]
    }

    fn models() -> impl Strategy<Value = Vec<(String, Vec<(String, &'static str)>)>> {
        let name = "[a-z][a-z0-9.:_-]{0,6}";
        prop::collection::btree_map(name, prop::collection::btree_map(name, kind(), 1..4), 1..4)
            .prop_map(|m| {
                m.into_iter()
                    .map(|(k, v)| (k, v.into_iter().collect()))
                    .collect()
            })
    }

    proptest! {
        /// Whatever the names (dots and colons included), every mapped entry
        /// ends at its own mock, under the same deployment id.
        #[test]
        fn every_mapped_entry_points_at_its_own_mock(models in models()) {
            let mut toml = String::new();
            for (m, providers) in &models {
                let routing: Vec<String> = providers.iter().map(|(p, _)| format!("{p:?}")).collect();
                toml.push_str(&format!("[models.{m:?}]\nrouting = [{}]\n", routing.join(", ")));
                for (p, kind) in providers {
                    toml.push_str(&format!("[models.{m:?}.providers.{p:?}]\ntype = {kind:?}\n"));
                    if *kind == "azure" {
                        toml.push_str("deployment_id = \"d\"\nendpoint = \"https://x.openai.azure.com\"\n");
                    } else {
                        toml.push_str("model_name = \"gpt-4o\"\n");
                    }
                }
            }
            let cfg = read(TomlSource::from_text("t.toml".into(), toml)).unwrap();
            let bases: BTreeMap<String, String> = cfg
                .providers()
                .enumerate()
                .map(|(i, p)| (p.id.clone(), format!("http://127.0.0.1:{}", 1000 + i)))
                .collect();
            let r = rewrite(&cfg, &bases).unwrap();
            let again = read(TomlSource::from_text("t.toml".into(), r.text)).unwrap();
            prop_assert_eq!(again.providers().count(), cfg.providers().count());
            for (before, after) in cfg.providers().zip(again.providers()) {
                prop_assert_eq!(&before.id, &after.id);
                // An `openai` entry's provider comes from its host, which is
                // now the mock's: only the other types keep theirs.
                if before.kind != "openai" {
                    prop_assert_eq!(&before.mapped, &after.mapped);
                }
                if before.mapped.is_some() {
                    let (_, url) = mock_base_for(&before.kind, &bases[&before.id]);
                    prop_assert_eq!(after.base.as_deref(), Some(url.as_str()));
                } else {
                    prop_assert_eq!(&after.base, &before.base);
                }
            }
        }
    }
}
