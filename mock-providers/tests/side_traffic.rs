//! Side traffic over real sockets: the endpoints a gateway or SDK calls
//! beside completions (model lists, single models, token counts, health) are
//! answered as each provider does, journaled as side traffic, and never
//! consume a fault schedule; endpoints a mock does not serve are journaled as
//! unserved and answered with the provider's 404.

use mock_providers::{
    Attempt, DeploymentSpec, Dialect, FailureClass, Fault, JournalConfig, MockSet, Outcome,
    Schedule, Traffic,
};
use serde_json::{json, Value};
use std::time::Duration;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// (method, path with query, body) of every side endpoint a dialect serves.
fn side_endpoints(dialect: Dialect) -> Vec<(&'static str, &'static str, Option<Value>)> {
    let anthropic_count = json!({"model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "hello there"}]});
    let gemini_count = json!({"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]});
    match dialect {
        Dialect::Openai | Dialect::Mistral => vec![
            ("GET", "/v1/models", None),
            ("GET", "/v1/models/gpt-4o", None),
        ],
        Dialect::Groq => vec![
            ("GET", "/openai/v1/models", None),
            ("GET", "/openai/v1/models/llama-3.3-70b-versatile", None),
        ],
        Dialect::Deepseek => vec![("GET", "/models", None), ("GET", "/v1/models", None)],
        Dialect::Vllm => vec![
            ("GET", "/v1/models", None),
            ("GET", "/v1/models/meta-llama/Llama-3.1-8B-Instruct", None),
            ("GET", "/health", None),
        ],
        Dialect::Azure => vec![
            ("GET", "/openai/models?api-version=2024-10-21", None),
            ("GET", "/openai/v1/models", None),
            ("GET", "/openai/deployments?api-version=2022-12-01", None),
            (
                "GET",
                "/openai/deployments/my-gpt4o?api-version=2022-12-01",
                None,
            ),
        ],
        Dialect::Anthropic => vec![
            ("GET", "/v1/models", None),
            ("GET", "/v1/models/claude-sonnet-4-5-20250929", None),
            ("POST", "/v1/messages/count_tokens", Some(anthropic_count)),
        ],
        Dialect::Gemini => vec![
            ("GET", "/v1beta/models", None),
            ("GET", "/v1beta/models/gemini-2.5-flash", None),
            (
                "POST",
                "/v1beta/models/gemini-2.5-flash:countTokens",
                Some(gemini_count),
            ),
        ],
    }
}

/// A completion request of the dialect: (path with query, body).
fn completion(dialect: Dialect) -> (&'static str, Value) {
    let messages = json!([{"role": "user", "content": "hello [xf:side:1]"}]);
    match dialect {
        Dialect::Azure => (
            "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21",
            json!({"messages": messages}),
        ),
        Dialect::Anthropic => (
            "/v1/messages",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": messages}),
        ),
        Dialect::Gemini => (
            "/v1beta/models/gemini-2.5-flash:generateContent",
            json!({"contents": [{"role": "user", "parts": [{"text": "hello [xf:side:1]"}]}]}),
        ),
        _ => (
            "/v1/chat/completions",
            json!({"model": dialect.default_model(), "messages": messages}),
        ),
    }
}

async fn send(base: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, String, String) {
    let url = format!("{base}{path}");
    let req = match method {
        "GET" => client().get(url),
        _ => client().post(url).json(body.unwrap_or(&Value::Null)),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, resp.text().await.unwrap())
}

#[derive(serde::Serialize)]
struct Shown {
    request: String,
    status: u16,
    content_type: String,
    body: Value,
}

#[tokio::test]
async fn side_endpoints_answer_like_the_provider_and_never_consume_first_1() {
    let specs = Dialect::ALL
        .iter()
        .map(|d| {
            DeploymentSpec::new(d.name(), *d)
                .fault(Fault::new(FailureClass::ServerError), Schedule::First(1))
        })
        .collect();
    let mocks = MockSet::start(specs, JournalConfig::default())
        .await
        .unwrap();
    for dialect in Dialect::ALL {
        let base = mocks.get(dialect.name()).unwrap().base_url();
        let mut shown = Vec::new();
        // Side traffic first, twice: a `first: 1` fault must still meet the
        // first completion after it.
        for _ in 0..2 {
            shown.clear();
            for (method, path, body) in side_endpoints(dialect) {
                let (status, content_type, text) = send(&base, method, path, body.as_ref()).await;
                assert_eq!(status, 200, "{dialect} {method} {path}: {text}");
                shown.push(Shown {
                    request: format!("{method} {path}"),
                    status,
                    content_type,
                    body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
                });
            }
        }
        insta::assert_yaml_snapshot!(format!("side_answers_{}", dialect.name()), shown);
        let (path, body) = completion(dialect);
        let (first, _, text) = send(&base, "POST", path, Some(&body)).await;
        assert_eq!(
            first, 500,
            "{dialect}: the scheduled fault meets the first completion: {text}"
        );
        let (second, _, text) = send(&base, "POST", path, Some(&body)).await;
        assert_eq!(second, 200, "{dialect}: {text}");
    }
    let journal: Vec<Attempt> = mocks.shutdown().await.attempts();
    for dialect in Dialect::ALL {
        let mine: Vec<&Attempt> = journal
            .iter()
            .filter(|a| a.deployment == dialect.name())
            .collect();
        let side: Vec<&&Attempt> = mine.iter().filter(|a| a.traffic == Traffic::Side).collect();
        assert_eq!(side.len(), 2 * side_endpoints(dialect).len(), "{dialect}");
        assert!(side
            .iter()
            .all(|a| a.attempt == 0 && a.outcome == Outcome::Served));
        let completions: Vec<(u64, Outcome)> = mine
            .iter()
            .filter(|a| a.is_completion())
            .map(|a| (a.attempt, a.outcome))
            .collect();
        assert_eq!(
            completions,
            [
                (1, Outcome::Fault(FailureClass::ServerError)),
                (2, Outcome::Served)
            ],
            "{dialect}"
        );
    }
}

#[tokio::test]
async fn token_counts_use_the_models_counter() {
    let mocks = MockSet::start(
        vec![
            DeploymentSpec::new("an", Dialect::Anthropic),
            DeploymentSpec::new("ge", Dialect::Gemini),
        ],
        JournalConfig::default(),
    )
    .await
    .unwrap();
    let text = mock_providers::tokens::filler(400);
    let (_, _, body) = send(
        &mocks.get("an").unwrap().base_url(),
        "POST",
        "/v1/messages/count_tokens",
        Some(
            &json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": text}]}),
        ),
    )
    .await;
    // chars/4 of the text (400 four-character words) + 3 per message + 3.
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"input_tokens": 406 + 1})
    );
    let (_, _, body) = send(
        &mocks.get("ge").unwrap().base_url(),
        "POST",
        "/v1beta/models/gemini-2.5-flash:countTokens",
        Some(
            &json!({"generateContentRequest": {"model": "models/gemini-2.5-flash",
            "contents": [{"role": "user", "parts": [{"text": text}]}]}}),
        ),
    )
    .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["totalTokens"], json!(407));
    let journal = mocks.shutdown().await.attempts();
    assert!(journal
        .iter()
        .all(|a| a.traffic == Traffic::Side && a.prompt_tokens == Some(407)));
}

#[tokio::test]
async fn unserved_endpoints_are_journaled_by_method_and_path_with_the_real_404() {
    let mocks = MockSet::start(
        vec![
            DeploymentSpec::new("oa", Dialect::Openai)
                .fault(Fault::new(FailureClass::RateLimit), Schedule::First(1)),
            DeploymentSpec::new("an", Dialect::Anthropic),
            DeploymentSpec::new("mi", Dialect::Mistral),
        ],
        JournalConfig::default(),
    )
    .await
    .unwrap();
    let oa = mocks.get("oa").unwrap().base_url();
    let (status, _, body) = send(&oa, "POST", "/v1/completions", Some(&json!({}))).await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"error": {"message": "Invalid URL (POST /v1/completions)",
            "type": "invalid_request_error", "param": null, "code": null}})
    );
    let (status, _, body) = send(
        &mocks.get("an").unwrap().base_url(),
        "GET",
        "/v1/files",
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        json!({"type": "not_found_error", "message": "Not Found"})
    );
    // Mistral has no Responses API.
    let (status, _, _) = send(
        &mocks.get("mi").unwrap().base_url(),
        "POST",
        "/v1/responses",
        Some(&json!({"model": "mistral-large-latest", "input": "hi"})),
    )
    .await;
    assert_eq!(status, 404);
    // The unserved call consumed nothing: the first completion meets the 429.
    let (status, _, _) = send(
        &oa,
        "POST",
        "/v1/chat/completions",
        Some(&completion(Dialect::Openai).1),
    )
    .await;
    assert_eq!(status, 429);
    let journal = mocks.shutdown().await.attempts();
    let unserved: Vec<(String, String, String, u64)> = journal
        .iter()
        .filter(|a| a.traffic == Traffic::Unserved)
        .map(|a| {
            (
                a.deployment.clone(),
                a.method.clone(),
                a.path.clone(),
                a.attempt,
            )
        })
        .collect();
    assert_eq!(
        unserved,
        [
            ("oa".into(), "POST".into(), "/v1/completions".into(), 0),
            ("an".into(), "GET".into(), "/v1/files".into(), 0),
            ("mi".into(), "POST".into(), "/v1/responses".into(), 0),
        ]
    );
}

#[test]
fn journals_written_before_the_traffic_field_read_as_completions() {
    let old = r#"{"seq":1,"attempt":1,"deployment":"gpt","dialect":"openai","method":"POST","path":"/v1/chat/completions","model":"gpt-4o","marker":null,"stream":false,"bytes_in":10,"prompt_tokens":8,"token_counter":"tiktoken_o200k","max_tokens":null,"outcome":"served","cause":null,"status":200,"usage":null,"bytes_out":10,"events_sent":0,"completed":true,"received_unix_ms":0,"received_us":0,"first_byte_us":null,"finished_us":0}"#;
    let a: Attempt = serde_json::from_str(old).unwrap();
    assert_eq!(a.traffic, Traffic::Completion);
}
