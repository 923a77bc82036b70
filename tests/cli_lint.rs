//! `crossfire lint` as a user runs it: the text a reviewer reads, `--json`,
//! exit 1 on warnings, 0 without, 2 on bad input; every LiteLLM warning and
//! Portkey's `use_retry_after_header` warning. Lint runs nothing: these are
//! crossfire's rules for LiteLLM 1.108.7 and Portkey 1.15.2, pinned where
//! the drills run them (tests/litellm.rs, tests/portkey.rs).

mod support;

use std::path::Path;
use std::process::Output;
use support::crossfire;

/// A config that earns every warning LiteLLM lint gives.
const EVERY_WARNING: &str = "model_list:
  - model_name: claude-opus
    litellm_params:
      model: anthropic/claude-opus-4-1
      api_key: os.environ/ANTHROPIC_API_KEY
  - model_name: claude-sonnet
    litellm_params:
      model: anthropic/claude-sonnet-4-5
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
  - model_name: llama
    litellm_params:
      model: groq/llama-3.3-70b-versatile
  - model_name: command-r
    litellm_params:
      model: cohere/command-r

router_settings:
  num_retries: 1
  fallback_models: [gpt-4o]
  fallbacks:
    - claude-opus: [claude-sonnet]
    - gpt-4o: [gpt-5]
  context_window_fallbacks:
    - claude-opus: [claude-sonnet]
    - llama: [gpt-4o]
  content_policy_fallbacks:
    - gpt-4o: [claude-opus]

litellm_settings:
  fallback_models: [gpt-4o]
";

/// `crossfire lint ARGS` run in `dir`.
fn lint(dir: &Path, args: &[&str]) -> Output {
    crossfire()
        .current_dir(dir)
        .arg("lint")
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn lint_gives_every_litellm_warning_in_text_and_json_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("litellm.yaml"), EVERY_WARNING).unwrap();
    let out = lint(dir.path(), &["litellm.yaml", "--json", "lint.json"]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}{}", text(&out.stderr));
    insta::assert_snapshot!(said);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("lint.json")).unwrap()).unwrap();
    assert_eq!(v["config"], "litellm.yaml");
    assert_eq!(v["rules"], "LiteLLM 1.108.7");
    let warnings: Vec<(u64, &str)> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["line"].as_u64().unwrap(), w["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        warnings,
        [
            (21, "`router_settings.fallback_models` is not a LiteLLM setting (did you mean `fallbacks`?): LiteLLM logs a warning at start and ignores it"),
            (32, "`litellm_settings.fallback_models` is not a LiteLLM setting (did you mean `fallbacks`?): LiteLLM sets it and never reads it, without a word"),
            (0, "`fallbacks` names `gpt-5`, which is not a model group; did you mean `gpt-4o`?"),
            (17, "`cohere/command-r` (group `command-r`) has no mock: crossfire has no mock for LiteLLM provider `cohere`; mapped providers are openai, azure, anthropic, gemini, groq, mistral, deepseek, hosted_vllm (and OpenAI-compatible hosts)"),
            (0, "the fallbacks of `claude-opus` never leave anthropic: an outage of that provider takes every hop down with it"),
            (0, "the context-window fallbacks of `claude-opus` stay on anthropic: a prompt too long for one model of a provider is usually too long for its others"),
            (0, "`claude-sonnet` has one deployment and no `fallbacks`: a 429, 5xx or timeout on it reaches the client"),
            (0, "the fallbacks of `gpt-4o` never leave openai: an outage of that provider takes every hop down with it"),
            (0, "`context_window_fallbacks` has no entry for `gpt-4o`: a context overflow on it falls back nowhere, not even to its `fallbacks` (LiteLLM 1.108.7)"),
            (0, "LiteLLM reads openai's real content-policy refusal as `BadRequestError`, so `content_policy_fallbacks` never fire for `gpt-4o`"),
            (0, "`llama` has one deployment and no `fallbacks` (only context-window errors fall back): a 429, 5xx or timeout on it reaches the client"),
            (0, "LiteLLM reads groq's real context-overflow error as `BadRequestError`, so `context_window_fallbacks` never fire for `llama`"),
            (0, "`command-r` has one deployment and no `fallbacks`: a 429, 5xx or timeout on it reaches the client"),
        ]
    );
    // Every mapped group gets a prediction for each of the ten drill classes.
    let predictions = v["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 4 * 10, "{v}");
    let rl = predictions
        .iter()
        .find(|p| p["group"] == "claude-opus" && p["class"] == "rate_limit")
        .unwrap();
    assert_eq!(
        rl["text"],
        "claude-opus x2 -> claude-sonnet (anthropic) 200"
    );
    assert_eq!(rl["outcome"], "fell_back_same_provider");
    assert_eq!(rl["client_status"], 200);
}

#[test]
fn a_config_without_warnings_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ok.yaml"),
        "model_list:\n  - model_name: claude-opus\n    litellm_params:\n      model: anthropic/claude-opus-4-1\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o\nrouter_settings:\n  fallbacks:\n    - claude-opus: [gpt-4o]\n    - gpt-4o: [claude-opus]\n",
    )
    .unwrap();
    let out = lint(dir.path(), &["ok.yaml", "--json", "lint.json"]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(!said.contains("warnings:"), "{said}");
    assert!(
        said.contains("  claude-opus  rate_limit        claude-opus x3 -> gpt-4o (openai) 200"),
        "{said}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("lint.json")).unwrap()).unwrap();
    assert_eq!(v["warnings"], serde_json::json!([]));
}

#[test]
fn portkey_lint_warns_that_use_retry_after_header_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("portkey.json"),
        r#"{
  "strategy": {"mode": "fallback"},
  "retry": {"attempts": 2, "on_status_codes": [429], "use_retry_after_header": true},
  "targets": [
    {"provider": "openai", "api_key": "sk-x", "override_params": {"model": "gpt-4o"}},
    {"provider": "anthropic", "api_key": "sk-y", "override_params": {"model": "claude-opus-4-1"}}
  ]
}
"#,
    )
    .unwrap();
    let out = lint(
        dir.path(),
        &[
            "--gateway",
            "portkey",
            "portkey.json",
            "--json",
            "lint.json",
        ],
    );
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}{}", text(&out.stderr));
    let want = "`use_retry_after_header` is broken in Portkey 1.15.2: a final 429 reaches the client as a 500";
    assert!(said.contains(&format!("\n  {want}\n")), "{said}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("lint.json")).unwrap()).unwrap();
    assert_eq!(v["rules"], "Portkey gateway 1.15.2");
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["message"] == want),
        "{v}"
    );
    // Without the key, no such warning.
    std::fs::write(
        dir.path().join("plain.json"),
        std::fs::read_to_string(dir.path().join("portkey.json"))
            .unwrap()
            .replace(", \"use_retry_after_header\": true", ""),
    )
    .unwrap();
    let plain = lint(dir.path(), &["--gateway", "portkey", "plain.json"]);
    assert!(
        !text(&plain.stdout).contains("use_retry_after_header"),
        "{}",
        text(&plain.stdout)
    );
}

#[test]
fn lint_bad_input_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.yaml"), EVERY_WARNING).unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "model_list:\n  - model_name: [\n",
    )
    .unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["missing.yaml"], "error: missing.yaml"),
        (&["broken.yaml"], "error: broken.yaml:"),
        (
            &["--gateway", "helicone", "ok.yaml"],
            "error: --gateway helicone: lint reads `litellm`",
        ),
        (
            &["ok.yaml", "--json", "no-such-dir/lint.json"],
            "error: --json no-such-dir/lint.json:",
        ),
    ];
    for (args, want) in cases {
        let out = lint(dir.path(), args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with(want), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    }
}
