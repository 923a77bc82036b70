//! The wiremock front end serves the same plans as the hyper server.

use mock_providers::wiremock_adapter::ProviderResponder;
use mock_providers::{
    DeploymentSpec, Dialect, FailureClass, Fault, Journal, JournalConfig, Outcome, Schedule,
};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

#[tokio::test]
async fn anthropic_overloaded_twice_then_served_and_journaled() {
    let server = MockServer::start().await;
    let journal = Journal::open(JournalConfig::default()).unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ProviderResponder::new(
                DeploymentSpec::new("claude", Dialect::Anthropic)
                    .fault(Fault::new(FailureClass::Overloaded), Schedule::First(2)),
            )
            .with_journal(journal.clone()),
        )
        .mount(&server)
        .await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut last = Value::Null;
    for i in 0..3 {
        let r = client
            .post(format!("{}/v1/messages", server.uri()))
            .json(&json!({"model": "claude-opus-4-1", "max_tokens": 20,
                "messages": [{"role": "user", "content": format!("hi [xf:w:{i}]")}]}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        last = r.json().await.unwrap();
    }
    assert_eq!(statuses, [529, 529, 200]);
    assert_eq!(last["type"], "message");
    let outcomes: Vec<(Outcome, Option<String>)> = journal
        .attempts()
        .into_iter()
        .map(|a| (a.outcome, a.marker))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (
                Outcome::Fault(FailureClass::Overloaded),
                Some("xf:w:0".into())
            ),
            (
                Outcome::Fault(FailureClass::Overloaded),
                Some("xf:w:1".into())
            ),
            (Outcome::Served, Some("xf:w:2".into())),
        ]
    );
}

#[tokio::test]
async fn openai_rate_limit_headers_survive_the_adapter() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ProviderResponder::new(
            DeploymentSpec::new("gpt", Dialect::Openai)
                .fault(Fault::new(FailureClass::RateLimit), Schedule::Always),
        ))
        .mount(&server)
        .await;
    let r = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.uri()))
        .json(&json!({"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
}

/// The adapter counts completion attempts only, like the hyper server: a model
/// list before the first completion leaves a `first: 1` fault for it.
#[tokio::test]
async fn a_model_list_does_not_consume_first_1_through_wiremock() {
    let server = MockServer::start().await;
    let journal = Journal::open(JournalConfig::default()).unwrap();
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ProviderResponder::new(
                DeploymentSpec::new("gpt", Dialect::Openai)
                    .fault(Fault::new(FailureClass::ServerError), Schedule::First(1)),
            )
            .with_journal(journal.clone()),
        )
        .mount(&server)
        .await;
    let client = reqwest::Client::new();
    let models = client
        .get(format!("{}/v1/models", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 200);
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let r = client
            .post(format!("{}/v1/chat/completions", server.uri()))
            .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [500, 200]);
    let attempts: Vec<(u64, mock_providers::Traffic)> = journal
        .attempts()
        .into_iter()
        .map(|a| (a.attempt, a.traffic))
        .collect();
    assert_eq!(
        attempts,
        [
            (0, mock_providers::Traffic::Side),
            (1, mock_providers::Traffic::Completion),
            (2, mock_providers::Traffic::Completion)
        ]
    );
}

/// wiremock cannot hold a connection open without an answer: a `hang`
/// holds its answer back for a day, so a client with a timer times out as
/// it would on a real hang.
#[tokio::test]
async fn a_hang_through_wiremock_meets_the_client_timer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ProviderResponder::new(
            DeploymentSpec::new("gpt", Dialect::Openai)
                .fault(Fault::new(FailureClass::Hang), Schedule::Always),
        ))
        .mount(&server)
        .await;
    let err = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.uri()))
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .timeout(std::time::Duration::from_millis(500))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

/// A `slow_first_token` stream cannot send its headers early through
/// wiremock: the whole answer waits for the delay, and says it degraded.
#[tokio::test]
async fn a_slow_first_token_through_wiremock_holds_the_whole_answer_and_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ProviderResponder::new(
            DeploymentSpec::new("gpt", Dialect::Openai).fault(
                Fault::new(FailureClass::SlowFirstToken)
                    .delay(std::time::Duration::from_millis(400)),
                Schedule::Always,
            ),
        ))
        .mount(&server)
        .await;
    let began = std::time::Instant::now();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.uri()))
        .json(&json!({"model": "gpt-4o", "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert!(began.elapsed() >= std::time::Duration::from_millis(400));
    assert_eq!(r.headers()["x-crossfire-degraded"], "slow_first_token");
    assert!(r.text().await.unwrap().ends_with("data: [DONE]\n\n"));
}
