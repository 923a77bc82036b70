//! Reading and rewriting LiteLLM configs, without running LiteLLM: the
//! rewrite is snapshotted (only api_base, keys and the master key change;
//! no real key survives), and unknown structures are clear errors.

use crossfire::diag::Source;
use crossfire::gateway::litellm::{config, rewrite};
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
    let text = serde_yaml::to_string(&doc).unwrap();
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
        &crossfire::provision::PythonEnvSpec::litellm(crossfire::provision::LITELLM_VERSION),
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
