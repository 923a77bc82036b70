//! Reading a team's Portkey gateway config (the JSON sent as
//! `x-portkey-config`): strategies, nested targets, `on_status_codes`,
//! `retry`, `override_params`. Every leaf target (one with a `provider`) is a
//! deployment; the rewrite points each at its mock with `custom_host` and a
//! dummy `api_key`. Never the `x-portkey-custom-host` header: it would
//! override every target.

use crate::diag::{strip_location, suggest, InputError, Location, Source};
use mock_providers::Dialect;
use serde_json::{Map, Value};
use std::path::Path;

/// How a group of targets routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Always the first target.
    Single,
    /// Targets in order, moving on after a failure.
    Fallback,
    /// A weighted random pick; no failover.
    Loadbalance,
    /// Picked by a query on metadata or params; `default` otherwise.
    Conditional,
}

/// The retry settings in force at a node (inherited unless set).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Retry {
    /// Retries after the first attempt (Portkey's default: 0).
    pub attempts: u32,
    /// Statuses retried (default when attempts are set: 429, 500, 502, 503, 504).
    pub on_status_codes: Vec<u16>,
}

/// Portkey 1.15.2's default retry statuses (`RETRY_STATUS_CODES`).
pub const DEFAULT_RETRY_CODES: [u16; 5] = [429, 500, 502, 503, 504];

/// A node of the routing tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A leaf target: an index into `leaves`.
    Leaf(usize),
    /// A group of targets.
    Group {
        /// Its strategy.
        mode: Mode,
        /// `strategy.on_status_codes` (None: fall back on any non-2xx).
        on_status_codes: Option<Vec<u16>>,
        /// Its children.
        children: Vec<Node>,
        /// Where it is (`targets[1]`, `` for the root).
        path: String,
    },
}

/// A leaf target.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// Position among leaves, in document order.
    pub index: usize,
    /// Where it is in the config (`targets[0]`).
    pub path: String,
    /// The deployment id crossfire gives it (`name`, else the provider).
    pub id: String,
    /// Portkey's provider name (`anthropic`, `azure-openai`, `google`).
    pub provider_name: String,
    /// crossfire's provider and dialect, when it has a mock for it.
    pub mapped: Option<(String, Dialect)>,
    /// `override_params.model`, if set.
    pub model: Option<String>,
    /// The retry settings in force for it.
    pub retry: Retry,
}

/// A Portkey config, read.
#[derive(Debug, Clone)]
pub struct PortkeyConfig {
    /// The file and its positions.
    pub src: Source,
    /// The document.
    pub doc: Value,
    /// The routing tree.
    pub root: Node,
    /// Leaf targets in document order.
    pub leaves: Vec<Leaf>,
    /// A name for the config (the file stem), used as its model group.
    pub name: String,
}

/// The Portkey providers crossfire has a mock for: Portkey's name,
/// crossfire's provider, and the dialect.
pub const PROVIDERS: [(&str, &str, Dialect); 7] = [
    ("openai", "openai", Dialect::Openai),
    ("anthropic", "anthropic", Dialect::Anthropic),
    ("azure-openai", "azure", Dialect::Azure),
    ("google", "gemini", Dialect::Gemini),
    ("groq", "groq", Dialect::Groq),
    ("mistral-ai", "mistral", Dialect::Mistral),
    ("deepseek", "deepseek", Dialect::Deepseek),
];

/// crossfire's provider and dialect for a Portkey provider name.
pub fn map_provider(name: &str) -> Option<(&'static str, Dialect)> {
    PROVIDERS
        .iter()
        .find(|(portkey, ..)| *portkey == name)
        .map(|&(_, provider, dialect)| (provider, dialect))
}

/// The `custom_host` that sends a provider's requests to a mock at `base`
/// (measured with Portkey 1.15.2: it appends `/chat/completions`, `/messages`,
/// `/deployments/{id}/chat/completions`, `/v1beta/models/...`, and for
/// DeepSeek `/v1/chat/completions`).
pub fn custom_host_for(dialect: Dialect, base: &str) -> String {
    match dialect {
        Dialect::Azure => format!("{base}/openai"),
        Dialect::Gemini | Dialect::Deepseek => base.to_string(),
        _ => format!("{base}/v1"),
    }
}

const MODES: [&str; 4] = ["single", "fallback", "loadbalance", "conditional"];

/// Reads a Portkey config file.
pub fn load(path: &Path) -> Result<PortkeyConfig, InputError> {
    read(Source::read(path)?)
}

/// Reads a Portkey config from its source.
pub fn read(src: Source) -> Result<PortkeyConfig, InputError> {
    let doc: Value = serde_json::from_str(&src.text).map_err(|e| InputError::At {
        location: Location {
            file: src.file.clone(),
            line: e.line().max(1),
            column: e.column().max(1),
        },
        message: format!("not valid JSON: {}", strip_location(&e.to_string())),
    })?;
    let Some(obj) = doc.as_object() else {
        return Err(src.error_at(
            "",
            "a Portkey config is a JSON object (`strategy` + `targets`, or `provider` + `api_key`)",
        ));
    };
    let mut leaves = Vec::new();
    let inherited = Retry {
        attempts: 0,
        on_status_codes: vec![],
    };
    let root = node(&src, obj, "", &inherited, &mut leaves)?;
    let mut used: Vec<String> = Vec::new();
    for leaf in &mut leaves {
        let mut id = leaf.id.clone();
        let mut n = 1;
        while used.contains(&id) {
            n += 1;
            id = format!("{}-{n}", leaf.id);
        }
        used.push(id.clone());
        leaf.id = id;
    }
    let name = src
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "portkey".into());
    Ok(PortkeyConfig {
        src,
        doc,
        root,
        leaves,
        name,
    })
}

fn child_path(path: &str, i: usize) -> String {
    if path.is_empty() {
        format!("targets[{i}]")
    } else {
        format!("{path}.targets[{i}]")
    }
}

fn retry_of(
    src: &Source,
    obj: &Map<String, Value>,
    path: &str,
    inherited: &Retry,
) -> Result<Retry, InputError> {
    let Some(r) = obj.get("retry") else {
        return Ok(inherited.clone());
    };
    let here = if path.is_empty() {
        "retry".to_string()
    } else {
        format!("{path}.retry")
    };
    let r = r
        .as_object()
        .ok_or_else(|| src.error_at(&here, "`retry` is an object like `{\"attempts\": 3}`"))?;
    let attempts = r.get("attempts").and_then(Value::as_u64).unwrap_or(0) as u32;
    let codes = match r.get("on_status_codes") {
        Some(v) => status_list(src, v, &format!("{here}.on_status_codes"))?,
        None if attempts > 0 => DEFAULT_RETRY_CODES.to_vec(),
        None => vec![],
    };
    Ok(Retry {
        attempts,
        on_status_codes: if attempts > 0 { codes } else { vec![] },
    })
}

fn status_list(src: &Source, v: &Value, path: &str) -> Result<Vec<u16>, InputError> {
    v.as_array()
        .and_then(|a| {
            a.iter()
                .map(|x| x.as_u64().and_then(|n| u16::try_from(n).ok()))
                .collect()
        })
        .ok_or_else(|| {
            src.error_at(
                path,
                "a list of HTTP statuses, like `[429, 500, 502, 503, 504]`",
            )
        })
}

fn node(
    src: &Source,
    obj: &Map<String, Value>,
    path: &str,
    inherited: &Retry,
    leaves: &mut Vec<Leaf>,
) -> Result<Node, InputError> {
    let retry = retry_of(src, obj, path, inherited)?;
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    if let Some(targets) = obj.get("targets") {
        let strategy = obj
            .get("strategy")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                src.error_at(
                    &at("targets"),
                    "`targets` needs a `strategy` like `{\"mode\": \"fallback\"}`",
                )
            })?;
        let mode_name = strategy.get("mode").and_then(Value::as_str).unwrap_or("");
        let mode = match mode_name {
            "single" => Mode::Single,
            "fallback" => Mode::Fallback,
            "loadbalance" => Mode::Loadbalance,
            "conditional" => Mode::Conditional,
            other => {
                return Err(src.error_at(
                    &format!("{}.mode", at("strategy")),
                    format!("unknown strategy mode `{other}`; {}", suggest(other, MODES)),
                ))
            }
        };
        let on_status_codes = match strategy.get("on_status_codes") {
            Some(v) => Some(status_list(
                src,
                v,
                &format!("{}.on_status_codes", at("strategy")),
            )?),
            None => None,
        };
        let list = targets
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                src.error_at(&at("targets"), "`targets` is a non-empty list of targets")
            })?;
        let mut children = Vec::new();
        for (i, t) in list.iter().enumerate() {
            let cp = child_path(path, i);
            let t = t
                .as_object()
                .ok_or_else(|| src.error_at(&cp, "a target is an object"))?;
            children.push(node(src, t, &cp, &retry, leaves)?);
        }
        return Ok(Node::Group {
            mode,
            on_status_codes,
            children,
            path: path.to_string(),
        });
    }
    let Some(provider) = obj.get("provider").and_then(Value::as_str) else {
        return Err(src.error_at(
            if path.is_empty() { "" } else { path },
            "a target needs `provider` and `api_key`, or `strategy` and `targets`",
        ));
    };
    let id = obj
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| provider.to_string());
    let model = obj
        .get("override_params")
        .and_then(|o| o.get("model"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let index = leaves.len();
    leaves.push(Leaf {
        index,
        path: path.to_string(),
        id,
        provider_name: provider.to_string(),
        mapped: map_provider(provider).map(|(p, d)| (p.to_string(), d)),
        model,
        retry,
    });
    Ok(Node::Leaf(index))
}

/// The leaf at a path such as `targets[1].targets[0]`.
fn leaf_object<'a>(doc: &'a mut Value, path: &str) -> Option<&'a mut Map<String, Value>> {
    let mut cur = doc;
    if !path.is_empty() {
        for part in path.split('.') {
            let i: usize = part
                .strip_prefix("targets[")?
                .strip_suffix(']')?
                .parse()
                .ok()?;
            cur = cur.get_mut("targets")?.get_mut(i)?;
        }
    }
    cur.as_object_mut()
}

/// Replaces everything the team wrote as a credential with the dummy (see
/// [`secrets`](crate::gateway::secrets)): values under secret keys
/// (`api_key`, `openai_organization`, `aws_session_token`, ...), header
/// values, URL userinfo and credential query parameters.
fn scrub(v: &mut Value, secret: bool) {
    use crate::gateway::secrets;
    match v {
        Value::String(s) => {
            if let Some(r) = secrets::scrub_str(s, secret) {
                *s = r;
            }
        }
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                let inner = secret
                    || secrets::is_secret_key(k)
                    || (secrets::is_header_map_key(k) && val.is_object());
                if secrets::is_password_key(k) && val.is_number() {
                    *val = Value::String(secrets::DUMMY_KEY.into());
                } else {
                    scrub(val, inner);
                }
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|x| scrub(x, secret)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The config with every mapped leaf pointed at its mock (`bases`: deployment
/// id -> mock base URL) and every secret a dummy, whether or not its leaf has
/// a mock. Routing is left as written.
pub fn rewrite(cfg: &PortkeyConfig, bases: &std::collections::BTreeMap<String, String>) -> Value {
    let mut doc = cfg.doc.clone();
    scrub(&mut doc, false);
    for leaf in &cfg.leaves {
        let (Some((_, dialect)), Some(base)) = (&leaf.mapped, bases.get(&leaf.id)) else {
            continue;
        };
        if let Some(obj) = leaf_object(&mut doc, &leaf.path) {
            obj.insert(
                "custom_host".into(),
                Value::String(custom_host_for(*dialect, base)),
            );
            obj.insert(
                "api_key".into(),
                Value::String(crate::gateway::DUMMY_KEY.into()),
            );
            if *dialect == Dialect::Azure && !obj.contains_key("deployment_id") {
                obj.insert("deployment_id".into(), Value::String(leaf.id.clone()));
            }
        }
    }
    doc
}

impl PortkeyConfig {
    /// Whether any group load-balances (picks at random).
    pub fn has_loadbalance(&self) -> bool {
        fn any(n: &Node) -> bool {
            match n {
                Node::Leaf(_) => false,
                Node::Group { mode, children, .. } => {
                    *mode == Mode::Loadbalance || children.iter().any(any)
                }
            }
        }
        any(&self.root)
    }

    /// The share of requests that reach the primary target: the product, over
    /// the load-balanced groups on its route, of its branch's weight over the
    /// group's (Portkey's `weight`, 1 when unset). 1.0 without load balancing.
    pub fn primary_share(&self) -> f64 {
        let weight = |path: &str| -> f64 {
            let mut v = &self.doc;
            for part in path.split('.').filter(|p| !p.is_empty()) {
                let (key, index) = match part.split_once('[') {
                    Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
                    None => (part, None),
                };
                v = match (v.get(key), index) {
                    (Some(x), Some(i)) => match x.get(i) {
                        Some(y) => y,
                        None => return 1.0,
                    },
                    (Some(x), None) => x,
                    (None, _) => return 1.0,
                };
            }
            v.get("weight")
                .and_then(Value::as_f64)
                .filter(|w| *w >= 0.0)
                .unwrap_or(1.0)
        };
        fn path_of(n: &Node, leaves: &[Leaf]) -> String {
            match n {
                Node::Leaf(i) => leaves[*i].path.clone(),
                Node::Group { path, .. } => path.clone(),
            }
        }
        let mut share = 1.0;
        let mut node = &self.root;
        while let Node::Group { mode, children, .. } = node {
            let Some(first) = children.first() else {
                break;
            };
            if *mode == Mode::Loadbalance {
                let total: f64 = children
                    .iter()
                    .map(|c| weight(&path_of(c, &self.leaves)))
                    .sum();
                if total > 0.0 {
                    share *= weight(&path_of(first, &self.leaves)) / total;
                }
            }
            node = first;
        }
        share
    }

    /// The leaves the first route of the tree reaches: the primary deployment(s).
    pub fn primary(&self) -> Vec<usize> {
        fn first(n: &Node) -> Vec<usize> {
            match n {
                Node::Leaf(i) => vec![*i],
                Node::Group { children, .. } => children.first().map(first).unwrap_or_default(),
            }
        }
        first(&self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn config() -> PortkeyConfig {
        let text = r#"{
  "strategy": {"mode": "fallback"},
  "targets": [
    {"provider": "anthropic", "api_key": "sk-ant-real-1",
     "override_params": {"model": "claude-opus-4-1", "max_tokens": 100}},
    {"provider": "bedrock", "aws_secret_access_key": "real-2", "aws_access_key_id": "AKIA",
     "override_params": {"model": "anthropic.claude-v2"}},
    {"provider": "openai", "api_key": "sk-real-3", "override_params": {"model": "gpt-4o"}}
  ]
}"#;
        read(Source::from_text(Path::new("p.json"), text.into())).expect("a valid config")
    }

    #[test]
    fn no_secret_survives_a_rewrite_even_without_mocks() {
        let cfg = config();
        for bases in [
            BTreeMap::new(),
            BTreeMap::from([(cfg.leaves[0].id.clone(), "http://127.0.0.1:9".to_string())]),
        ] {
            let out = serde_json::to_string(&rewrite(&cfg, &bases)).expect("json");
            for secret in ["sk-ant-real-1", "real-2", "sk-real-3"] {
                assert!(!out.contains(secret), "{secret} left in {out}");
            }
            assert!(
                out.contains(r#""max_tokens":100"#),
                "a limit is not a secret: {out}"
            );
        }
    }

    #[test]
    fn a_leaf_with_a_mock_points_at_it() {
        let cfg = config();
        let bases = BTreeMap::from([(cfg.leaves[0].id.clone(), "http://127.0.0.1:9".to_string())]);
        let out = rewrite(&cfg, &bases);
        assert_eq!(out["targets"][0]["custom_host"], "http://127.0.0.1:9/v1");
        assert_eq!(out["targets"][2].get("custom_host"), None);
    }

    /// The `custom_host` of every provider form, written out as measured on
    /// Portkey 1.15.2 (it appends `/chat/completions`, `/messages`,
    /// `/deployments/{id}/chat/completions?api-version=...`,
    /// `/v1beta/models/{model}:generateContent`, and for DeepSeek
    /// `/v1/chat/completions` to it); tests/portkey.rs sends a
    /// request through the real gateway for each.
    #[test]
    fn every_provider_form_has_its_measured_custom_host() {
        let base = "http://127.0.0.1:9";
        let measured = [
            ("openai", "http://127.0.0.1:9/v1"),
            ("anthropic", "http://127.0.0.1:9/v1"),
            ("azure-openai", "http://127.0.0.1:9/openai"),
            ("google", "http://127.0.0.1:9"),
            ("groq", "http://127.0.0.1:9/v1"),
            ("mistral-ai", "http://127.0.0.1:9/v1"),
            ("deepseek", "http://127.0.0.1:9"),
        ];
        let names: Vec<&str> = PROVIDERS.iter().map(|(name, ..)| *name).collect();
        let pinned: Vec<&str> = measured.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names, pinned,
            "a provider form without a measured custom_host"
        );
        for (name, host) in measured {
            let (_, dialect) = map_provider(name).expect("a mapped provider");
            let text = format!(r#"{{"provider": "{name}", "api_key": "k"}}"#);
            let cfg = read(Source::from_text(Path::new("p.json"), text)).expect("valid");
            let bases = BTreeMap::from([(cfg.leaves[0].id.clone(), base.to_string())]);
            let out = rewrite(&cfg, &bases);
            assert_eq!(out["custom_host"], host, "{name} ({dialect})");
        }
    }
}
