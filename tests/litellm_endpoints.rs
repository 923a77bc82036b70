//! The endpoints the real LiteLLM proxy (1.108.7) calls beside chat
//! completions: its `GET /v1/models` at start is side traffic that never
//! consumes a fault schedule, and an Anthropic Messages client falling back to
//! an OpenAI model reaches OpenAI's Responses API. Every behaviour pinned here
//! was observed by running the proxy.

mod support;

use crossfire::gateway::litellm::VERSION as LITELLM_VERSION;
use crossfire::paths::PathClass;
use mock_providers::{journal, Attempt, Traffic};

/// The LiteLLM version every behaviour pinned here was measured on.
const MEASURED_ON: &str = "1.108.7";

/// One OpenAI deployment in a group of its own, retried twice on failure.
const OPENAI_ONLY: &str = "model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
router_settings:
  num_retries: 2
";

/// Claude primary, GPT fallback, no retries (the fallback is the point).
const CLAUDE_TO_GPT: &str = "model_list:
  - model_name: claude-opus
    litellm_params:
      model: anthropic/claude-opus-4-1
      api_key: os.environ/ANTHROPIC_API_KEY
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
router_settings:
  num_retries: 0
  fallbacks:
    - claude-opus: [gpt-4o]
";

/// A scenario next to a LiteLLM config written beside it.
fn scenario_with(config: &str, body: &str) -> support::Case {
    let c = support::case(body, None);
    std::fs::write(c.dir.path().join("litellm.yaml"), config).unwrap();
    c
}

/// The run used the LiteLLM these behaviours were measured on.
fn assert_measured_version(reported: Option<&str>) {
    assert_eq!(
        LITELLM_VERSION, MEASURED_ON,
        "crossfire now pins another LiteLLM: re-measure the behaviour pinned here"
    );
    assert_eq!(reported, Some(MEASURED_ON), "the version LiteLLM reported");
}

fn journal_of(r: &crossfire::outcome::ScenarioReport) -> Vec<Attempt> {
    journal::read_jsonl(&r.journal).unwrap()
}

/// LiteLLM 1.108.7 sends `GET /v1/models` to the OpenAI deployment at start.
/// It is side traffic: a `first: 1` fault still meets the first client
/// request, so the path shows two attempts on the primary (500, then 200).
#[tokio::test]
async fn litellm_model_list_at_start_does_not_consume_a_first_1_schedule() {
    let c = scenario_with(
        OPENAI_ONLY,
        "name: first-1\ngateway: {kind: litellm, config: litellm.yaml}\nfaults:\n  - on: openai\n    fault: server_error\n    schedule: {first: 1}\ntraffic:\n  - model: gpt-4o\n    requests: 1\n",
    );
    let r = support::run(&c).await;
    assert_eq!(r.error, None);
    assert_measured_version(r.gateway_version.as_deref());
    assert_eq!(r.paths.len(), 1);
    let p = &r.paths[0];
    assert_eq!(
        p.describe(),
        "gpt-4o: openai/gpt-4o 500 -> openai/gpt-4o 200 -> client 200"
    );
    assert_eq!(p.class, PathClass::RetriedSameDeployment);
    // The journal keeps the model list apart, and it advanced no schedule.
    let journal = journal_of(&r);
    let side: Vec<(&str, &str, u64)> = journal
        .iter()
        .filter(|a| a.traffic == Traffic::Side)
        .map(|a| (a.method.as_str(), a.path.as_str(), a.attempt))
        .collect();
    assert_eq!(side, [("GET", "/v1/models", 0)]);
    let completions: Vec<(u64, Option<u16>)> = journal
        .iter()
        .filter(|a| a.is_completion())
        .map(|a| (a.attempt, a.status))
        .collect();
    assert_eq!(completions, [(1, Some(500)), (2, Some(200))]);
    assert_eq!(r.probes, 1);
    assert!(r.stray.is_empty());
    assert!(
        r.findings.iter().all(|f| f.kind != "unserved_endpoint"),
        "{:?}",
        r.findings
    );
    assert!(r.passed(), "{:?}", r.findings);
}

/// An Anthropic Messages client (`api: anthropic`, as coding agents call a
/// gateway) whose Claude group falls back to an OpenAI model: LiteLLM 1.108.7
/// sends the fallback to OpenAI's Responses API (`POST /v1/responses`),
/// streamed when the client streams, and the request crosses to OpenAI.
#[tokio::test]
async fn an_anthropic_client_falls_back_to_openai_through_the_responses_api() {
    let c = scenario_with(
        CLAUDE_TO_GPT,
        "name: messages-to-responses\ngateway: {kind: litellm, config: litellm.yaml}\nfaults:\n  - on: anthropic\n    fault: rate_limit\n    retry_after: 1s\n    schedule: always\ntraffic:\n  - model: claude-opus\n    api: anthropic\n    requests: 1\n  - model: claude-opus\n    api: anthropic\n    stream: true\n    requests: 1\n",
    );
    let r = support::run(&c).await;
    assert_eq!(r.error, None);
    assert_measured_version(r.gateway_version.as_deref());
    assert_eq!(r.paths.len(), 2);
    for p in &r.paths {
        assert_eq!(
            p.describe(),
            "claude-opus: anthropic/claude-opus 429 -> openai/gpt-4o 200 -> client 200"
        );
        assert_eq!(p.class, PathClass::CrossedProvider);
    }
    let journal = journal_of(&r);
    let on_openai: Vec<(&str, &str, bool, Traffic)> = journal
        .iter()
        .filter(|a| a.deployment == "gpt-4o" && a.method == "POST")
        .map(|a| (a.method.as_str(), a.path.as_str(), a.stream, a.traffic))
        .collect();
    assert_eq!(
        on_openai,
        [
            ("POST", "/v1/responses", false, Traffic::Completion),
            ("POST", "/v1/responses", true, Traffic::Completion),
        ]
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert!(r.passed());
}

/// A mid-stream error on the Responses API (`response.failed`, as OpenAI's
/// stream reports one) reaches an Anthropic Messages client through LiteLLM
/// 1.108.7 as an `error` event with OpenAI's own message: LiteLLM reads the
/// mock's failure the way it reads the real one.
#[tokio::test]
async fn a_failed_responses_stream_reaches_the_anthropic_client_as_an_error_event() {
    let c = scenario_with(
        CLAUDE_TO_GPT,
        "name: responses-failed\ngateway: {kind: litellm, config: litellm.yaml}\nfaults:\n  - on: anthropic\n    fault: rate_limit\n    retry_after: 1s\n  - on: openai\n    fault: stream_error\ntraffic:\n  - model: claude-opus\n    api: anthropic\n    stream: true\n    requests: 1\n",
    );
    let r = support::run(&c).await;
    assert_eq!(r.error, None);
    // An all-errors run reports no version header; the pin is still checked.
    assert_eq!(LITELLM_VERSION, MEASURED_ON);
    let p = &r.paths[0];
    assert_eq!(
        p.describe(),
        "claude-opus: anthropic/claude-opus 429 -> openai/gpt-4o 200 stream_error -> client 200 (failed)"
    );
    let rec = &r.requests[0];
    assert_eq!(rec.stream_complete, Some(false));
    let event = rec.stream_error.as_deref().unwrap_or_default();
    assert!(
        event.contains("api_error")
            && event.contains(
                "The server had an error while processing your request. Sorry about that!"
            ),
        "{event}"
    );
}
