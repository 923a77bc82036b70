//! The hyper front end over real loopback sockets: every delivery, including
//! the byte-level ones, and the journal it keeps.

use mock_providers::journal::read_jsonl;
use mock_providers::{
    Attempt, DeploymentSpec, Dialect, FailureClass, Fault, JournalConfig, MockSet, Outcome,
    Schedule, TokenCounter,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn openai_body(marker: &str, stream: bool) -> Value {
    json!({"model": "gpt-4o", "stream": stream, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": format!("hello [{marker}]")}]})
}

async fn start(specs: Vec<DeploymentSpec>) -> MockSet {
    MockSet::start(specs, JournalConfig::default())
        .await
        .unwrap()
}

async fn attempts(mocks: MockSet) -> Vec<Attempt> {
    mocks.shutdown().await.attempts()
}

#[tokio::test]
async fn every_dialect_serves_json_with_usage_and_journals_the_marker() {
    let mocks = start(vec![
        DeploymentSpec::new("oa", Dialect::Openai),
        DeploymentSpec::new("az", Dialect::Azure),
        DeploymentSpec::new("an", Dialect::Anthropic),
        DeploymentSpec::new("ge", Dialect::Gemini),
    ])
    .await;
    let c = client();
    let url = |id: &str| mocks.get(id).unwrap().base_url();
    let oa: Value = c
        .post(format!("{}/v1/chat/completions", url("oa")))
        .json(&openai_body("xf:t:1", false))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(oa["object"], "chat.completion");
    let reply = oa["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        reply.contains("[xf:t:1]") && reply.contains("oa (openai)"),
        "{reply}"
    );
    let expected = TokenCounter::TiktokenO200k.count_chat([("user", "hello [xf:t:1]")]);
    assert_eq!(oa["usage"]["prompt_tokens"], expected);
    let az = c
        .post(format!(
            "{}/openai/deployments/gpt4o-eu/chat/completions?api-version=2024-08-01-preview",
            url("az")
        ))
        .header("api-key", "dummy")
        .json(&json!({"messages": [{"role": "user", "content": "hi [xf:t:2]"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(az.status(), 200);
    assert!(az.headers().contains_key("apim-request-id"));
    let an: Value = c
        .post(format!("{}/v1/messages", url("an")))
        .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 100,
            "messages": [{"role": "user", "content": "hi [xf:t:3]"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(an["type"], "message");
    assert!(an["usage"]["input_tokens"].as_u64().unwrap() > 0);
    let ge: Value = c
        .post(format!(
            "{}/v1beta/models/gemini-2.0-flash:generateContent",
            url("ge")
        ))
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "hi [xf:t:4]"}]}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ge["candidates"][0]["finishReason"], "STOP");

    let list = attempts(mocks).await;
    let seen: Vec<(u64, &str, Option<&str>, Outcome)> = list
        .iter()
        .map(|a| (a.seq, a.deployment.as_str(), a.marker.as_deref(), a.outcome))
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, "oa", Some("xf:t:1"), Outcome::Served),
            (2, "az", Some("xf:t:2"), Outcome::Served),
            (3, "an", Some("xf:t:3"), Outcome::Served),
            (4, "ge", Some("xf:t:4"), Outcome::Served),
        ]
    );
    assert_eq!(list[0].token_counter, Some(TokenCounter::TiktokenO200k));
    assert_eq!(list[1].model.as_deref(), Some("gpt4o-eu"));
    assert_eq!(list[2].token_counter, Some(TokenCounter::ApproxChars4));
    assert!(list.iter().all(|a| a.completed && a.status == Some(200)));
}

#[tokio::test]
async fn openai_stream_has_usage_chunk_and_done() {
    let mocks = start(vec![DeploymentSpec::new("oa", Dialect::Openai)]).await;
    let text = client()
        .post(format!(
            "{}/chat/completions",
            mocks.get("oa").unwrap().base_url()
        ))
        .json(&openai_body("xf:s:1", true))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let usage: Value = serde_json::from_str(&events[events.len() - 2]["data: ".len()..]).unwrap();
    assert_eq!(usage["choices"], json!([]));
    let expected = TokenCounter::TiktokenO200k.count_chat([("user", "hello [xf:s:1]")]);
    assert_eq!(usage["usage"]["prompt_tokens"], expected);
    let list = attempts(mocks).await;
    assert!(list[0].completed && list[0].stream);
    assert_eq!(list[0].events_sent as usize, events.len());
}

#[tokio::test]
async fn stream_cut_closes_the_socket_mid_stream() {
    let mocks = start(vec![DeploymentSpec::new("an", Dialect::Anthropic).fault(
        Fault::new(FailureClass::StreamCut).after_events(2),
        Schedule::Always,
    )])
    .await;
    let resp = client()
        .post(format!(
            "{}/v1/messages",
            mocks.get("an").unwrap().base_url()
        ))
        .json(
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut resp = resp;
    let mut got = Vec::new();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(c)) => got.extend_from_slice(&c),
            Ok(None) => panic!("stream ended cleanly; expected a cut"),
            Err(e) => break e,
        }
    };
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    let text = String::from_utf8(got).unwrap();
    assert_eq!(text.matches("content_block_delta").count(), 2 * 2, "{text}");
    assert!(!text.contains("message_stop"));
    let list = attempts(mocks).await;
    assert_eq!(list[0].outcome, Outcome::Fault(FailureClass::StreamCut));
    assert!(!list[0].completed);
}

#[tokio::test]
async fn stall_keeps_the_connection_open_after_some_events() {
    let mocks = start(vec![DeploymentSpec::new("oa", Dialect::Openai).fault(
        Fault::new(FailureClass::Stall).after_events(1),
        Schedule::Always,
    )])
    .await;
    let mut resp = client()
        .post(format!(
            "{}/v1/chat/completions",
            mocks.get("oa").unwrap().base_url()
        ))
        .json(&openai_body("xf:st:1", true))
        .send()
        .await
        .unwrap();
    let mut got = Vec::new();
    let stalled = tokio::time::timeout(Duration::from_millis(600), async {
        while let Ok(Some(c)) = resp.chunk().await {
            got.extend_from_slice(&c);
        }
    })
    .await;
    assert!(stalled.is_err(), "the stream ended instead of stalling");
    assert_eq!(String::from_utf8_lossy(&got).matches("data: ").count(), 2);
    let list = attempts(mocks).await;
    assert_eq!(list[0].outcome, Outcome::Fault(FailureClass::Stall));
    assert_eq!(list[0].events_sent, 2);
    assert!(!list[0].completed);
}

#[tokio::test]
async fn connection_reset_sends_rst_before_any_response() {
    let mocks = start(vec![DeploymentSpec::new("oa", Dialect::Openai)
        .fault(Fault::new(FailureClass::ConnectionReset), Schedule::Always)])
    .await;
    let body = openai_body("xf:r:1", false).to_string();
    let mut sock = tokio::net::TcpStream::connect(mocks.get("oa").unwrap().addr)
        .await
        .unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let read = sock.read(&mut buf).await;
    match read {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        Ok(n) => panic!("expected a reset, read {n} bytes"),
    }
    let list = attempts(mocks).await;
    assert_eq!(
        list[0].outcome,
        Outcome::Fault(FailureClass::ConnectionReset)
    );
    assert_eq!(list[0].status, None);
    assert_eq!(list[0].marker.as_deref(), Some("xf:r:1"));
}

#[tokio::test]
async fn timeout_delays_the_answer_and_truncated_bodies_break() {
    let mocks = start(vec![
        DeploymentSpec::new("slow", Dialect::Openai).fault(
            Fault::new(FailureClass::Timeout).delay(Duration::from_millis(300)),
            Schedule::Always,
        ),
        DeploymentSpec::new("cut", Dialect::Openai)
            .fault(Fault::new(FailureClass::StreamCut), Schedule::Always),
    ])
    .await;
    let c = client();
    let t0 = Instant::now();
    let r = c
        .post(format!(
            "{}/v1/chat/completions",
            mocks.get("slow").unwrap().base_url()
        ))
        .json(&openai_body("xf:d:1", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let r = c
        .post(format!(
            "{}/v1/chat/completions",
            mocks.get("cut").unwrap().base_url()
        ))
        .json(&openai_body("xf:d:2", false))
        .send()
        .await
        .unwrap();
    assert!(
        r.bytes().await.is_err(),
        "a body shorter than its content-length must fail"
    );
    let list = attempts(mocks).await;
    assert!(list[0].service_us() >= 300_000);
    assert!(!list[1].completed);
}

#[tokio::test]
async fn journal_file_is_flushed_per_attempt_and_memory_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let mocks = MockSet::start(
        vec![
            DeploymentSpec::new("a", Dialect::Openai),
            DeploymentSpec::new("b", Dialect::Groq)
                .fault(Fault::new(FailureClass::RateLimit), Schedule::Every(2)),
        ],
        JournalConfig {
            memory_cap: 5,
            file: Some(path.clone()),
        },
    )
    .await
    .unwrap();
    let c = client();
    for i in 0..12 {
        let id = if i % 2 == 0 { "a" } else { "b" };
        let r = c
            .post(format!(
                "{}/openai/v1/chat/completions",
                mocks.get(id).unwrap().base_url()
            ))
            .json(&openai_body(&format!("xf:j:{i}"), false))
            .send()
            .await
            .unwrap();
        let _ = r.bytes().await.unwrap();
    }
    // Written before shutdown: a run that dies now loses nothing answered.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let on_disk = read_jsonl(&path).unwrap();
    assert_eq!(on_disk.len(), 12);
    let journal = mocks.shutdown().await;
    assert_eq!(journal.attempts().len(), 5);
    assert_eq!(journal.stats().evicted, 7);
    let seqs: Vec<u64> = on_disk.iter().map(|a| a.seq).collect();
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>());
    let b_outcomes: Vec<&str> = on_disk
        .iter()
        .filter(|a| a.deployment == "b")
        .map(|a| a.outcome.name())
        .collect();
    assert_eq!(
        b_outcomes,
        [
            "served",
            "rate_limit",
            "served",
            "rate_limit",
            "served",
            "rate_limit"
        ]
    );
}

#[tokio::test]
async fn natural_overflow_with_overridden_window() {
    let mocks = start(vec![
        DeploymentSpec::new("an", Dialect::Anthropic).context_window(50)
    ])
    .await;
    let r = client()
        .post(format!(
            "{}/v1/messages",
            mocks.get("an").unwrap().base_url()
        ))
        .json(&json!({"model": "claude-opus-4-1", "max_tokens": 10,
            "messages": [{"role": "user", "content": mock_providers::tokens::filler(100)}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "prompt is too long: 107 tokens > 50 maximum"
    );
    let list = attempts(mocks).await;
    assert_eq!(list[0].cause, Some(mock_providers::Cause::Natural));
}
