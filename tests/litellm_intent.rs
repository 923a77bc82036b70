//! The operator's intent read from LiteLLM's `default_fallbacks` and
//! `content_policy_fallbacks`, held against what the real proxy (LiteLLM
//! 1.108.7) does in a drill run from the command line: the Failover
//! Illusion is called where those keys promise a crossing that never
//! happens, and nowhere else.

mod support;

use std::collections::BTreeMap;

/// The LiteLLM version the verdicts below were measured on.
const MEASURED_ON: &str = "1.108.7";

/// `default_fallbacks` promise Claude's outages to OpenAI;
/// `content_policy_fallbacks` promise GPT's refusals to Anthropic, and
/// Claude's refusals nothing (the list does not name it).
const CONFIG: &str = "model_list:
  - model_name: claude-opus
    litellm_params:
      model: anthropic/claude-opus-4-1
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
router_settings:
  num_retries: 0
  default_fallbacks: [gpt-4o]
  content_policy_fallbacks:
    - gpt-4o: [claude-opus]
";

#[test]
fn default_fallbacks_and_content_policy_fallbacks_carry_intent_into_the_drill() {
    assert_eq!(crossfire::gateway::litellm::VERSION, MEASURED_ON);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("litellm.yaml"), CONFIG).unwrap();
    let out = support::crossfire()
        .current_dir(dir.path())
        .args([
            "drill",
            "--gateway",
            "litellm",
            "--config",
            "litellm.yaml",
            "--classes",
            "rate_limit,content_policy,stream_cut",
            "--json",
            "drill.json",
            "--out",
            "out",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    // Two illusions: exit 1.
    assert_eq!(out.status.code(), Some(1), "{said}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("drill.json")).unwrap()).unwrap();
    assert_eq!(v["gateway_version"], MEASURED_ON);
    let verdicts: BTreeMap<(String, String), String> = v["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["as_predicted"], true, "{c}");
            (
                (
                    c["group"].as_str().unwrap().to_string(),
                    c["class"].as_str().unwrap().to_string(),
                ),
                c["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let v = |g: &str, c: &str| verdicts[&(g.to_string(), c.to_string())].as_str();
    // `default_fallbacks` carry Claude's 429 to GPT, as promised...
    assert_eq!(v("claude-opus", "rate_limit"), "crossed");
    // ...but not a stream cut after content: their promise is broken.
    assert_eq!(v("claude-opus", "stream_cut"), "illusion");
    // GPT's own default fallback is GPT: nothing was promised.
    assert_eq!(v("gpt-4o", "rate_limit"), "no_failover");
    assert_eq!(v("gpt-4o", "stream_cut"), "no_failover");
    // `content_policy_fallbacks` names GPT: LiteLLM reads OpenAI's refusal
    // as a BadRequestError and never uses them. Claude is not named: its
    // refusal reaching the client broke no promise.
    assert_eq!(v("gpt-4o", "content_policy"), "illusion");
    assert_eq!(v("claude-opus", "content_policy"), "no_failover");
    assert!(said.contains("6 cells: 2 Failover Illusion"), "{said}");
}
