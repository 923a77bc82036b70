//! Reading and rewriting LiteLLM configs, without running LiteLLM: the
//! rewrite is snapshotted (only api_base, keys and the master key change;
//! no real key survives), and unknown structures are clear errors.

mod support;

use crossfire::diag::Source;
use crossfire::gateway::litellm::{config, isolate, rewrite, yaml};
use std::collections::BTreeMap;
use std::path::Path;

const TEAM_CONFIG: &str = r#"model_list:
  - model_name: claude-opus
    litellm_params:
      model: anthropic/claude-opus-4-1
      api_key: sk-ant-REAL-KEY-DO-NOT-LEAK
      rpm: 50
  - model_name: claude-opus
    litellm_params:
      model: anthropic/claude-opus-4-1
      api_key: os.environ/ANTHROPIC_API_KEY_2
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt4o-eu
      api_base: https://team-eu.openai.azure.com
      api_key: os.environ/AZURE_API_KEY
      api_version: os.environ/AZURE_API_VERSION
      timeout: 30
    model_info:
      id: gpt4o-eu
  - model_name: llama
    litellm_params:
      model: openai/llama-3.3-70b-versatile
      api_base: https://api.groq.com/openai/v1
      api_key: gsk_REAL
router_settings:
  num_retries: 3
  cooldown_time: 30
  fallbacks:
    - claude-opus: [gpt-4o, llama]
  context_window_fallbacks:
    - claude-opus: [gpt-4o]
litellm_settings:
  drop_params: true
  success_callback: ["langfuse"]
general_settings:
  master_key: sk-team-master
  database_url: postgres://user:pw@db/litellm
environment_variables:
  LANGFUSE_SECRET_KEY: sk-lf-REAL
"#;

#[test]
fn items_become_deployments_with_providers() {
    let cfg = config::read(Source::from_text(
        Path::new("team.yaml"),
        TEAM_CONFIG.into(),
    ))
    .unwrap();
    let items: Vec<(String, String, String)> = cfg
        .items
        .iter()
        .map(|i| {
            let (p, d) = i.mapped.clone().unwrap();
            (i.id.clone(), p, d.name().to_string())
        })
        .collect();
    assert_eq!(
        items,
        vec![
            ("claude-opus".into(), "anthropic".into(), "anthropic".into()),
            (
                "claude-opus-2".into(),
                "anthropic".into(),
                "anthropic".into()
            ),
            ("gpt4o-eu".into(), "azure".into(), "azure".into()),
            ("llama".into(), "groq".into(), "groq".into()),
        ]
    );
    assert_eq!(cfg.routing.num_retries, Some(3));
    assert_eq!(cfg.routing.cooldown_time, Some(30.0));
    assert_eq!(
        cfg.env_refs.iter().cloned().collect::<Vec<_>>(),
        ["ANTHROPIC_API_KEY_2", "AZURE_API_KEY", "AZURE_API_VERSION"]
    );
}

/// The `api_base` forms in the snapshot were measured on LiteLLM 1.108.7:
/// `every_rewritten_api_base_form_reaches_its_mock_through_litellm` sends each
/// through the real proxy.
#[test]
fn the_rewrite_changes_only_what_must_change() {
    let cfg = config::read(Source::from_text(
        Path::new("team.yaml"),
        TEAM_CONFIG.into(),
    ))
    .unwrap();
    let bases: BTreeMap<String, String> = cfg
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id.clone(), format!("http://127.0.0.1:{}", 41000 + i)))
        .collect();
    let doc = rewrite::rewrite(&cfg, &bases, "sk-crossfire-test");
    let text = yaml::emit(&doc);
    for secret in ["REAL", "sk-team-master", "postgres://"] {
        assert!(
            !text.contains(secret),
            "`{secret}` survived the rewrite:\n{text}"
        );
    }
    insta::assert_snapshot!(text);
}

#[test]
fn structures_crossfire_does_not_understand_are_clear_errors() {
    let cases = [
        ("model_list: {a: 1}\n", "team.yaml:1:13: `model_list` must be a list of models"),
        ("router_settings: {}\n", "team.yaml:1:1: the LiteLLM config has no `model_list`"),
        (
            "model_list:\n  - litellm_params: {model: gpt-4o}\n",
            "team.yaml:2:5: this model_list item has no `model_name` (the group clients ask for)",
        ),
        (
            "model_list:\n  - model_name: on\n    litellm_params: {model: gpt-4o}\n",
            "team.yaml:2:17: LiteLLM's YAML reader (YAML 1.1) reads this `model_name` as the boolean true, not as a name; put it in quotes",
        ),
        (
            "model_list:\n  - model_name: a\n    litellm_params: {api_key: x}\n",
            "team.yaml:3:21: `litellm_params` needs `model` (e.g. `anthropic/claude-opus-4-1`)",
        ),
        (
            "model_list:\n  - model_name: a\n    litellm_params: {model: gpt-4o}\nrouter_settings:\n  fallbacks: {a: b}\n",
            "team.yaml:5:14: `fallbacks` must be a list like `[{claude-opus: [gpt-4o]}]`",
        ),
        (
            "model_list:\n  - model_name: a\n    litellm_params: {model: gpt-4o}\nrouter_settings:\n  fallbacks:\n    - {a: [b], c: [d]}\n",
            "team.yaml:6:7: each fallback entry is a map with one key: `{group: [fallback, ...]}`",
        ),
    ];
    for (text, wanted) in cases {
        let err = config::read(Source::from_text(Path::new("team.yaml"), text.into())).unwrap_err();
        assert_eq!(err.to_string(), wanted);
    }
}

#[test]
fn the_pinned_key_lists_match_litellm() {
    let env = crossfire::provision::ensure_python_env(
        &crossfire::gateway::litellm::env_spec(crossfire::gateway::litellm::VERSION),
        &mut |l| eprintln!("[provision] {l}"),
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gateway/litellm/known_keys.py");
    for (which, pinned) in [
        ("router", config::ROUTER_KEYS),
        ("litellm", config::LITELLM_KEYS),
    ] {
        let out = std::process::Command::new(env.python())
            .arg(&script)
            .arg(which)
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), pinned, "{which} keys");
    }
}

// ---------------------------------------------------------------------------
// The rewrite keeps every value as LiteLLM reads it, judged by LiteLLM's own
// loader: PyYAML's `yaml.safe_load` from the provisioned LiteLLM 1.108.7 venv.

/// Reads `[original, rewritten, isolated, copies]` (JSON on stdin), loads them with
/// `yaml.safe_load`, blanks the fields crossfire must change, and prints one
/// line per pair: `ok` or where the two differ (types compared strictly:
/// `1`, `1.0` and `True` are three values here).
const JUDGE: &str = r#"
import json, sys, yaml

SETTINGS_DROPPED = ("master_key", "database_url", "store_model_in_db", "alerting", "alerting_threshold")

def blank(doc, original):
    if not isinstance(doc, dict):
        return doc
    for i, item in enumerate(doc.get("model_list") or []):
        lp = item.get("litellm_params") if isinstance(item, dict) else None
        if not isinstance(lp, dict):
            continue
        lp.pop("api_base", None)
        lp.pop("api_key", None)
        olp = original["model_list"][i]["litellm_params"]
        ov = olp.get("api_version")
        if ov is None or (isinstance(ov, str) and ov.startswith("os.environ/")):
            lp.pop("api_version", None)
    gs = doc.get("general_settings")
    if isinstance(gs, dict):
        for k in SETTINGS_DROPPED:
            gs.pop(k, None)
        if not gs and "general_settings" not in original:
            doc.pop("general_settings")
    return doc

def diff(a, b, at):
    # A secret crossfire scrubbed (src/gateway/secrets.rs decides which):
    # the dummy stands where the team's value was, whatever its type.
    if b == "sk-crossfire-dummy":
        return None
    if type(a) is not type(b):
        return f"{at}: {a!r} ({type(a).__name__}) became {b!r} ({type(b).__name__})"
    if isinstance(a, dict):
        if set(a) != set(b):
            return f"{at}: keys {sorted(map(repr, a))} became {sorted(map(repr, b))}"
        for k in a:
            d = diff(a[k], b[k], f"{at}.{k!r}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{at}: {len(a)} items became {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{at}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{at}: {a!r} became {b!r}"

def copies_differ(pristine, isolated, copies):
    # A drill's copy of an item keeps its litellm_params and model_info
    # (but the id) as LiteLLM reads them.
    for o, c in copies:
        a, b = pristine["model_list"][o], isolated["model_list"][c]
        d = diff(a["litellm_params"], b["litellm_params"], f"copy {c} of item {o}: litellm_params")
        if d:
            return d
        ia = dict(a.get("model_info") or {})
        ib = dict(b.get("model_info") or {})
        ia.pop("id", None)
        ib.pop("id", None)
        d = diff(ia, ib, f"copy {c} of item {o}: model_info")
        if d:
            return d
    return None

for original_text, rewritten_text, isolated_text, copies in json.load(sys.stdin):
    try:
        original = yaml.safe_load(original_text)
        pristine = yaml.safe_load(original_text)
        rewritten = yaml.safe_load(rewritten_text)
        isolated = yaml.safe_load(isolated_text)
    except Exception as e:
        print(json.dumps(f"PyYAML refused: {e}"))
        continue
    d = diff(blank(original, pristine), blank(rewritten, pristine), "$")
    d = d or copies_differ(pristine, isolated, copies)
    print(json.dumps("ok" if d is None else d))
"#;

fn litellm_python() -> std::path::PathBuf {
    crossfire::provision::ensure_python_env(
        &crossfire::gateway::litellm::env_spec(crossfire::gateway::litellm::VERSION),
        &mut |l| eprintln!("[provision] {l}"),
    )
    .unwrap()
    .python()
}

/// What PyYAML is asked to judge about one config.
type Case = (String, String, String, Copies);

/// (original item, its copy) positions in the drill's isolated `model_list`.
type Copies = Vec<(usize, usize)>;

/// PyYAML's verdict on each case, from one Python process.
fn judge(python: &Path, pairs: &[Case]) -> Vec<String> {
    use std::io::Write;
    let mut child = std::process::Command::new(python)
        .args(["-c", JUDGE])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::to_vec(pairs).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the PyYAML judge failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The rewritten config's text, as crossfire writes it for the proxy; the
/// drill's isolated config (a copy per group) and which original item each
/// of its items copies.
fn rewritten_text(original: &str) -> Result<(String, String, Copies), String> {
    let cfg = config::read(Source::from_text(Path::new("team.yaml"), original.into()))
        .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("drill-source.yaml");
    let isolated = isolate::isolate(&cfg, &cfg.groups(), &file).map_err(|e| e.to_string())?;
    let copies = isolated
        .items
        .iter()
        .map(|c| {
            let o = cfg
                .items
                .iter()
                .position(|i| i.id == isolate::original(&c.id));
            (o.unwrap_or(usize::MAX), c.index)
        })
        .collect();
    let isolated_text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
    let bases: BTreeMap<String, String> = cfg
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id.clone(), format!("http://127.0.0.1:{}", 41000 + i)))
        .collect();
    let rewritten = yaml::emit(&rewrite::rewrite(&cfg, &bases, "sk-crossfire-test"));
    Ok((rewritten, isolated_text, copies))
}

mod gen {
    //! Generated LiteLLM configs, written in the spellings YAML 1.1 reads
    //! differently from YAML 1.2.
    use proptest::prelude::*;

    /// Scalars whose meaning depends on YAML 1.1 and on quoting, and whether
    /// they may be written plain.
    const TRICKY: &[(&str, bool)] = &[
        ("2024-10-21", true),
        ("2024-08-01-preview", true),
        ("2001-12-14t21:59:43.10-05:00", true),
        ("2001-12-14 21:59:43.10 -5", true),
        ("on", true),
        ("Off", true),
        ("yes", true),
        ("NO", true),
        ("y", true),
        ("n", true),
        ("true", true),
        ("False", true),
        ("~", true),
        ("null", true),
        ("017", true),
        ("08", true),
        ("0o17", true),
        ("0x1F", true),
        ("0b101", true),
        ("1_000", true),
        ("1:30", true),
        ("190:20:30.15", true),
        ("1e3", true),
        ("1.5e+3", true),
        ("1.0", true),
        ("3.", true),
        (".5", true),
        ("+12", true),
        ("-0", true),
        (".inf", true),
        ("-.INF", true),
        ("0.1", true),
        ("1.10", true),
        ("gpt-4o", true),
        ("os.environ/TEAM_VALUE", true),
        ("a b  c", true),
        ("", false),
        ("=", false),
        ("key: value", false),
        ("#not a comment", false),
        ("- dash", false),
        ("@at", false),
        ("it's", true),
        ("say \"hi\"", true),
        ("back\\slash", true),
        ("tab\there", false),
        ("line one\nline two\n", false),
        ("ünïcödé ✓", true),
        ("*star", false),
        ("&amp", false),
        ("!bang", false),
        ("%percent", false),
        ("{curly}", false),
        ("[square]", false),
    ];

    fn single_quoted(s: &str) -> String {
        if s.contains(['\n', '\t']) {
            return double_quoted(s);
        }
        format!("'{}'", s.replace('\'', "''"))
    }

    fn double_quoted(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// A scalar written inline: plain, single- or double-quoted.
    pub fn scalar() -> impl Strategy<Value = String> {
        let tricky = (0..TRICKY.len(), 0..3u8).prop_map(|(i, style)| {
            let (s, plain_ok) = TRICKY[i];
            match style {
                0 if plain_ok && !s.contains('\'') && !s.contains('"') && !s.contains('\\') => {
                    s.to_string()
                }
                1 => single_quoted(s),
                _ => double_quoted(s),
            }
        });
        let free = "[ -~ü✓]{0,30}".prop_map(|s| double_quoted(&s));
        let number = any::<i64>().prop_map(|n| n.to_string());
        let float = (-1e6f64..1e6).prop_map(|x| format!("{x:?}"));
        prop_oneof![6 => tricky, 1 => free, 1 => number, 1 => float]
    }

    /// A value at `indent`, after `key:` (inline) or as a block.
    pub fn value(indent: usize) -> impl Strategy<Value = String> {
        let pad = " ".repeat(indent + 2);
        let long = "[a-z ]{100,300}".prop_map(|s| format!("\"{}\"", s.trim()));
        let literal = prop::collection::vec("[a-z0-9: #-]{0,40}", 1..4).prop_map({
            let pad = pad.clone();
            move |lines| {
                let body: String = lines.iter().map(|l| format!("\n{pad}x{l}")).collect();
                format!("|{body}")
            }
        });
        let folded = prop::collection::vec("[a-z0-9 ]{1,30}", 1..4).prop_map({
            let pad = pad.clone();
            move |lines| {
                let body: String = lines.iter().map(|l| format!("\n{pad}w{l}")).collect();
                format!(">{body}")
            }
        });
        let flow_list =
            prop::collection::vec(scalar(), 0..4).prop_map(|xs| format!("[{}]", xs.join(", ")));
        let block_list = prop::collection::vec(scalar(), 1..3).prop_map(move |xs| {
            xs.iter()
                .map(|x| format!("\n{pad}- {x}"))
                .collect::<String>()
        });
        prop_oneof![8 => scalar(), 1 => long, 1 => literal, 1 => folded, 1 => flow_list, 1 => block_list]
    }

    /// A mapping key: plain words, or words that need quotes.
    pub fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-z][a-z_]{0,12}",
            1 => prop::sample::select(vec![
                "\"on\"", "'yes'", "\"key: colon\"", "\"#hash\"", "\"2024-10-21\"", "\"017\"",
                "on", "No", "2024-10-21", "017", "1e3", "\"<<\"",
            ])
            .prop_map(str::to_string),
        ]
    }

    /// `key: value` lines at `indent` (distinct keys).
    pub fn extras(indent: usize) -> impl Strategy<Value = String> {
        prop::collection::btree_map(key(), value(indent), 0..4).prop_map(move |m| {
            let pad = " ".repeat(indent);
            m.iter().map(|(k, v)| format!("{pad}{k}: {v}\n")).collect()
        })
    }

    const MODELS: &[&str] = &[
        "anthropic/claude-opus-4-1",
        "openai/gpt-4o",
        "gemini/gemini-2.5-pro",
        "groq/llama-3.3-70b-versatile",
        "azure/gpt4o-eu",
    ];

    const API_VERSIONS: &[&str] = &[
        "\"2024-10-21\"",
        "'2024-10-21'",
        "2024-10-21",
        "2024-08-01-preview",
        "os.environ/AZURE_API_VERSION",
    ];

    /// One `model_list` item; `merge` makes it take `<<: *defaults`.
    fn item() -> impl Strategy<Value = String> {
        (
            "[a-z][a-z0-9-]{0,8}",
            0..MODELS.len(),
            0..API_VERSIONS.len(),
            any::<bool>(),
            any::<bool>(),
            extras(6),
            extras(6),
        )
            .prop_map(|(name, m, v, merge, quote_name, params, info)| {
                let model = MODELS[m];
                // A plain name YAML 1.1 reads as a boolean (`on`, `no`) is
                // not a name; crossfire refuses it (tested apart).
                let plain_ok = matches!(
                    crossfire::gateway::litellm::yaml::resolve_plain(&name),
                    Ok(serde_yaml::Value::String(_))
                );
                let name = if quote_name || !plain_ok {
                    format!("\"{name}\"")
                } else {
                    name
                };
                let mut s = format!("  - model_name: {name}\n    litellm_params:\n");
                if merge {
                    s.push_str("      <<: *defaults\n");
                }
                s.push_str(&format!(
                    "      model: {model}\n      api_key: os.environ/KEY\n"
                ));
                if model.starts_with("azure/") {
                    s.push_str(&format!(
                        "      api_base: https://team.openai.azure.com\n      api_version: {}\n",
                        API_VERSIONS[v]
                    ));
                }
                s.push_str(&params);
                if !info.is_empty() {
                    s.push_str("    model_info:\n");
                    s.push_str(&info);
                }
                s
            })
    }

    /// A whole config: anchored defaults, items, settings.
    pub fn config() -> impl Strategy<Value = String> {
        (
            extras(2),
            prop::collection::vec(item(), 1..4),
            extras(2),
            extras(2),
            any::<bool>(),
        )
            .prop_map(|(defaults, items, litellm, router, anchor_scalar)| {
                let mut s = String::from("x-defaults: &defaults\n  timeout: 30\n");
                s.push_str(&defaults);
                if anchor_scalar {
                    s.push_str("x-version: &version \"2024-10-21\"\n");
                }
                s.push_str("model_list:\n");
                for i in &items {
                    s.push_str(i);
                }
                s.push_str("litellm_settings:\n  drop_params: yes\n  request_timeout: 1e3\n");
                s.push_str(&litellm);
                s.push_str("router_settings:\n  num_retries: 02\n");
                if anchor_scalar {
                    s.push_str("  routing_version: *version\n");
                }
                s.push_str(&router);
                s
            })
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, ..Default::default() })]

    /// LiteLLM 1.108.7's loader (PyYAML, YAML 1.1) reads the rewritten config
    /// as it reads the team's: equal but for api_base, keys and the master key;
    /// and a drill's copies of each item keep its params and model_info.
    #[test]
    fn the_rewrite_means_to_litellm_what_the_team_wrote(
        configs in proptest::collection::vec(gen::config(), 24)
    ) {
        let python = litellm_python();
        let mut pairs = Vec::new();
        for original in &configs {
            match rewritten_text(original) {
                Ok((rewritten, isolated, copies)) => {
                    pairs.push((original.clone(), rewritten, isolated, copies))
                }
                Err(e) => proptest::prop_assert!(false, "crossfire refused a config:\n{original}\n{e}"),
            }
        }
        for ((original, rewritten, _, _), verdict) in pairs.iter().zip(judge(&python, &pairs)) {
            proptest::prop_assert_eq!(
                verdict.as_str(), "ok",
                "\n--- team's config\n{}\n--- rewritten\n{}", original, rewritten
            );
        }
    }
}

// ---------------------------------------------------------------------------
// `include:` read as LiteLLM 1.108.7 reads it (config_includes.py): next to
// the declaring file, breadth first, lists extended, other keys replaced.

fn data(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

#[test]
fn included_files_bring_their_deployments_and_the_rewrite_holds_them_all() {
    let cfg = config::load(&data("litellm-include/config.yaml")).unwrap();
    let seen: Vec<(String, String, String)> = cfg
        .items
        .iter()
        .map(|i| {
            let file = cfg
                .source_of(i)
                .file
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (i.group.clone(), i.mapped.as_ref().unwrap().0.clone(), file)
        })
        .collect();
    let want = [
        ("claude", "anthropic", "config.yaml"),
        ("azure-gpt", "azure", "models.yaml"),
        ("gemini", "gemini", "more-models.yaml"),
        ("groq-llama", "groq", "more-models.yaml"),
    ]
    .map(|(g, p, f)| (g.to_string(), p.to_string(), f.to_string()));
    assert_eq!(seen, want);
    // Fallbacks to included groups are groups lint knows.
    assert!(config::check_fallback_targets(&cfg).is_empty());
    let lint = crossfire::gateway::adapter::GatewayConfig::lint(&cfg);
    assert!(
        !lint
            .warnings
            .iter()
            .any(|w| w.message.contains("not a model group")),
        "{:?}",
        lint.warnings
    );
    // The proxy gets one file: every deployment, no `include`.
    let bases: BTreeMap<String, String> = cfg
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id.clone(), format!("http://127.0.0.1:{}", 41000 + i)))
        .collect();
    let text = yaml::emit(&rewrite::rewrite(&cfg, &bases, "sk-crossfire-test"));
    assert!(!text.contains("include"), "{text}");
    let again = config::read(Source::from_text(
        Path::new("run/litellm-config.yaml"),
        text,
    ))
    .unwrap();
    assert_eq!(again.groups(), cfg.groups());
    assert_eq!(
        again.items[1].api_base.as_deref(),
        Some("http://127.0.0.1:41001"),
        "the included Azure deployment points at its mock"
    );
}

#[test]
fn include_merges_like_litellm_and_errors_point_into_the_included_file() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    };
    // Lists extend (root first), other keys are replaced by the included
    // file's, a file included twice is read once, and an entry not found
    // next to its declaring file is read next to the root config.
    let root = write(
        "root.yaml",
        "include: [a.yaml, sub/b.yaml, a.yaml]\nmodel_list:\n  - {model_name: r, litellm_params: {model: gpt-4o}}\nrouter_settings: {num_retries: 5}\n",
    );
    write(
        "a.yaml",
        "model_list:\n  - {model_name: a, litellm_params: {model: gpt-4o}}\nrouter_settings: {num_retries: 1}\n",
    );
    write(
        "sub/b.yaml",
        "include: [c.yaml]\nmodel_list:\n  - {model_name: b, litellm_params: {model: gpt-4o}}\n",
    );
    write("c.yaml", "model_list:\n  - {model_name: c, litellm_params: {model: gpt-4o}}\nlitellm_settings:\n  fallback_models: [a]\n");
    let cfg = config::load(&root).unwrap();
    assert_eq!(cfg.groups(), ["r", "a", "b", "c"]);
    assert_eq!(
        cfg.routing.num_retries,
        Some(1),
        "router_settings replaced by a.yaml's"
    );
    assert_eq!(cfg.ignored[0].file, dir.path().join("c.yaml"));
    let lint = crossfire::gateway::adapter::GatewayConfig::lint(&cfg);
    let ignored = &lint.warnings[0].message;
    assert!(ignored.contains("c.yaml:4"), "{ignored}");

    // A bad item in an included file: the error is located in that file.
    write(
        "bad.yaml",
        "model_list:\n  - model_name: x\n    litellm_params: {api_key: k}\n",
    );
    let root = write("root2.yaml", "include: [bad.yaml]\nmodel_list: []\n");
    let err = config::load(&root).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}:3:21:", dir.path().join("bad.yaml").display())),
        "{err}"
    );
    // A missing file is named at the include entry that asks for it.
    let root = write("root3.yaml", "include:\n  - nowhere.yaml\nmodel_list: []\n");
    let err = config::load(&root).unwrap_err().to_string();
    assert!(
        err.contains("root3.yaml:2:5:") && err.contains("nowhere.yaml"),
        "{err}"
    );
    // An unmapped model of an included file: lint places it in that file.
    write(
        "odd.yaml",
        "model_list:\n  - model_name: o\n    litellm_params: {model: bedrock/anthropic.claude-3}\n",
    );
    let root = write(
        "root4.yaml",
        "include: [odd.yaml]\nmodel_list:\n  - {model_name: r, litellm_params: {model: gpt-4o}}\n",
    );
    let cfg = config::load(&root).unwrap();
    let lint = crossfire::gateway::adapter::GatewayConfig::lint(&cfg);
    assert!(
        lint.warnings
            .iter()
            .any(|w| w.message.contains("odd.yaml:3") && w.message.contains("has no mock")),
        "{:?}",
        lint.warnings
    );
}

// ---------------------------------------------------------------------------
// Every `api_base` form the rewrite writes (`rewrite::api_base_for`, pinned in
// the snapshot above), sent through the real LiteLLM proxy once.

/// The LiteLLM version the forms below were measured on.
const MEASURED_ON: &str = "1.108.7";

/// One item per provider route crossfire maps, each its own group: one
/// request to each reaches its mock at the path the provider serves.
#[tokio::test]
async fn every_rewritten_api_base_form_reaches_its_mock_through_litellm() {
    assert_eq!(
        crossfire::gateway::litellm::VERSION,
        MEASURED_ON,
        "crossfire now pins another LiteLLM: re-measure the paths pinned here"
    );
    // (group, litellm_params beyond the key, the journaled path).
    let forms: [(&str, &str, &str); 12] = [
        ("openai", "model: openai/gpt-4o", "/v1/chat/completions"),
        ("anthropic", "model: anthropic/claude-sonnet-4-5", "/v1/messages"),
        (
            "azure",
            "model: azure/gpt4o-eu\n      api_base: https://team-eu.openai.azure.com\n      api_version: \"2024-10-21\"",
            "/openai/deployments/gpt4o-eu/chat/completions?api-version=2024-10-21",
        ),
        (
            "gemini",
            "model: gemini/gemini-2.5-flash",
            "/v1beta/models/gemini-2.5-flash:generateContent",
        ),
        ("groq", "model: groq/llama-3.3-70b-versatile", "/openai/v1/chat/completions"),
        (
            "groq-by-host",
            "model: openai/llama-3.3-70b-versatile\n      api_base: https://api.groq.com/openai/v1",
            "/openai/v1/chat/completions",
        ),
        ("mistral", "model: mistral/mistral-large-latest", "/v1/chat/completions"),
        (
            "mistral-by-host",
            "model: openai/mistral-large-latest\n      api_base: https://api.mistral.ai/v1",
            "/v1/chat/completions",
        ),
        ("deepseek", "model: deepseek/deepseek-chat", "/v1/chat/completions"),
        (
            "deepseek-by-host",
            "model: openai/deepseek-chat\n      api_base: https://api.deepseek.com",
            "/v1/chat/completions",
        ),
        (
            "vllm",
            "model: hosted_vllm/meta-llama/Llama-3.1-8B-Instruct\n      api_base: http://vllm.internal:8000/v1",
            "/v1/chat/completions",
        ),
        (
            "team",
            "model: openai/llama-3.3-70b\n      api_base: http://llm.internal:8000/v1",
            "/v1/chat/completions",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut config = String::from("model_list:\n");
    let mut traffic = String::new();
    for (group, params, _) in &forms {
        config.push_str(&format!(
            "  - model_name: {group}\n    litellm_params:\n      {params}\n      api_key: os.environ/KEY\n    model_info:\n      id: {group}\n"
        ));
        traffic.push_str(&format!("  - model: {group}\n    requests: 1\n"));
    }
    config.push_str("router_settings:\n  num_retries: 0\n");
    std::fs::write(dir.path().join("litellm.yaml"), config).unwrap();
    let scenario = dir.path().join("s.yaml");
    std::fs::write(
        &scenario,
        format!(
            "name: forms\ngateway: {{kind: litellm, config: litellm.yaml}}\ntraffic:\n{traffic}"
        ),
    )
    .unwrap();
    let s = crossfire::scenario::load(&scenario).unwrap_or_else(|e| panic!("{e}"));
    let opts = support::options(dir.path().join("out"));
    let summary = crossfire::runner::run(std::slice::from_ref(&s), &opts, &|_| {}).await;
    let r = &summary.scenarios[0];
    assert_eq!(r.error, None);
    assert_eq!(r.gateway_version.as_deref(), Some(MEASURED_ON));
    // Each request served at once by its own group's only deployment.
    let served: Vec<(&str, &str, Option<u16>)> = r
        .paths
        .iter()
        .map(|p| {
            let by = p.served_by().map_or("", |s| s.deployment.as_str());
            (p.model.as_str(), by, p.client_status)
        })
        .collect();
    let wanted: Vec<(&str, &str, Option<u16>)> =
        forms.iter().map(|(g, ..)| (*g, *g, Some(200))).collect();
    assert_eq!(served, wanted);
    let journal = mock_providers::journal::read_jsonl(&r.journal).unwrap();
    let mut seen: Vec<(String, String)> = journal
        .iter()
        .filter(|a| a.method == "POST")
        .map(|a| (a.deployment.clone(), a.path.clone()))
        .collect();
    seen.sort();
    let mut pinned: Vec<(String, String)> = forms
        .iter()
        .map(|(g, _, path)| (g.to_string(), path.to_string()))
        .collect();
    pinned.sort();
    assert_eq!(seen, pinned);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.escaped.is_empty(), "{:#?}", r.escaped);
}
