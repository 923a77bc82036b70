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

/// The request a client of `dialect` sends for one answer carrying `marker`:
/// (path, body).
fn request_of(dialect: Dialect, marker: &str) -> (&'static str, Value) {
    let text = format!("hello [{marker}]");
    let chat = |model: &str| json!({"model": model, "messages": [{"role": "user", "content": text.clone()}]});
    match dialect {
        Dialect::Openai | Dialect::Mistral | Dialect::Deepseek | Dialect::Vllm => {
            ("/v1/chat/completions", chat(dialect.default_model()))
        }
        Dialect::Groq => ("/openai/v1/chat/completions", chat(dialect.default_model())),
        Dialect::Azure => (
            "/openai/deployments/gpt4o-eu/chat/completions?api-version=2024-08-01-preview",
            json!({"messages": [{"role": "user", "content": text}]}),
        ),
        Dialect::Anthropic => (
            "/v1/messages",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 100,
                "messages": [{"role": "user", "content": text}]}),
        ),
        Dialect::Gemini => (
            "/v1beta/models/gemini-2.0-flash:generateContent",
            json!({"contents": [{"role": "user", "parts": [{"text": text}]}]}),
        ),
    }
}

/// The answer's text and its (prompt, completion) usage, read the way a
/// client of `dialect` reads them.
fn answer_of(dialect: Dialect, v: &Value) -> (String, u64, u64) {
    let n = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"));
    match dialect {
        Dialect::Anthropic => {
            assert_eq!(v["type"], "message", "{v}");
            let u = &v["usage"];
            (
                v["content"][0]["text"].as_str().unwrap_or_default().into(),
                n(&u["input_tokens"]) + n(&u["cache_read_input_tokens"]),
                n(&u["output_tokens"]),
            )
        }
        Dialect::Gemini => {
            assert_eq!(v["candidates"][0]["finishReason"], "STOP", "{v}");
            let u = &v["usageMetadata"];
            (
                v["candidates"][0]["content"]["parts"][0]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                n(&u["promptTokenCount"]),
                n(&u["candidatesTokenCount"]),
            )
        }
        _ => {
            assert_eq!(v["object"], "chat.completion", "{v}");
            let u = &v["usage"];
            assert_eq!(
                n(&u["total_tokens"]),
                n(&u["prompt_tokens"]) + n(&u["completion_tokens"])
            );
            (
                v["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                n(&u["prompt_tokens"]),
                n(&u["completion_tokens"]),
            )
        }
    }
}

#[tokio::test]
async fn every_dialect_serves_json_with_usage_and_journals_the_marker() {
    let ids: Vec<String> = Dialect::ALL.iter().map(|d| format!("d-{d}")).collect();
    let mocks = start(
        Dialect::ALL
            .iter()
            .zip(&ids)
            .map(|(d, id)| DeploymentSpec::new(id, *d))
            .collect(),
    )
    .await;
    let c = client();
    let mut answers = Vec::new();
    for (i, (dialect, id)) in Dialect::ALL.iter().zip(&ids).enumerate() {
        let marker = format!("xf:t:{}", i + 1);
        let (path, body) = request_of(*dialect, &marker);
        let r = c
            .post(format!("{}{path}", mocks.get(id).unwrap().base_url()))
            .header("api-key", "dummy")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{dialect}");
        if *dialect == Dialect::Azure {
            assert!(r.headers().contains_key("apim-request-id"));
        }
        let v: Value = r.json().await.unwrap();
        let (reply, prompt, completion) = answer_of(*dialect, &v);
        assert!(
            reply.contains(&format!("[{marker}]")) && reply.contains(&format!("{id} ({dialect})")),
            "{dialect}: {reply}"
        );
        assert!(prompt > 0 && completion > 0, "{dialect}: {v}");
        answers.push((marker, prompt, completion));
    }

    let list = attempts(mocks).await;
    assert_eq!(list.len(), Dialect::ALL.len());
    for (a, (id, (marker, prompt, completion))) in list.iter().zip(ids.iter().zip(&answers)) {
        assert_eq!(
            (a.deployment.as_str(), a.marker.as_deref(), a.outcome),
            (id.as_str(), Some(marker.as_str()), Outcome::Served)
        );
        assert!(a.completed && a.status == Some(200), "{id}");
        // The usage the client read is the one journaled, and its prompt is
        // the journal's own count of the prompt.
        let u = a
            .usage
            .unwrap_or_else(|| panic!("{id}: no usage journaled"));
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens),
            (*prompt, *completion),
            "{id}"
        );
        assert_eq!(a.prompt_tokens, Some(*prompt), "{id}");
        let counter = a
            .token_counter
            .unwrap_or_else(|| panic!("{id}: no counter"));
        let text = format!("hello [{marker}]");
        if counter != TokenCounter::ApproxChars4 {
            let expected = counter.count_chat([("user", text.as_str())]);
            assert_eq!(*prompt, expected, "{id} ({counter:?})");
        }
    }
    let expected = TokenCounter::TiktokenO200k.count_chat([("user", "hello [xf:t:1]")]);
    assert_eq!(answers[0].1, expected, "OpenAI's gpt-4o counts with o200k");
    assert_eq!(list[0].token_counter, Some(TokenCounter::TiktokenO200k));
    assert_eq!(list[1].model.as_deref(), Some("gpt4o-eu"));
    assert_eq!(list[2].token_counter, Some(TokenCounter::ApproxChars4));
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
    // Read the events it sends (however slowly a busy machine delivers
    // them), then nothing more may come: a stall never ends on its own.
    let mut got = Vec::new();
    let first = tokio::time::timeout(Duration::from_secs(10), async {
        while String::from_utf8_lossy(&got).matches("data: ").count() < 2 {
            match resp.chunk().await {
                Ok(Some(c)) => got.extend_from_slice(&c),
                _ => break,
            }
        }
    })
    .await;
    assert!(first.is_ok(), "the first events never came");
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
    // The line is written when the server drops the body, which may come
    // after the client has read it: wait for it, within a bound.
    let until = Instant::now() + Duration::from_secs(10);
    while read_jsonl(&path).map_or(0, |l| l.len()) < 12 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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

/// A running deployment armed with faults fails with them from its next
/// attempt on, its schedule counting its attempts; while a slow answer is
/// being served its deployment counts it in flight, and none once it is
/// journaled.
#[tokio::test]
async fn an_armed_deployment_fails_from_its_next_attempt_and_in_flight_counts_unrecorded_ones() {
    let mocks = start(vec![DeploymentSpec::new("gpt", Dialect::Openai)]).await;
    let c = client();
    let url = format!(
        "{}/v1/chat/completions",
        mocks.get("gpt").unwrap().base_url()
    );
    let send = |n: u32| {
        c.post(&url)
            .json(&openai_body(&format!("xf:arm:{n}"), false))
            .send()
    };
    assert_eq!(send(1).await.unwrap().status(), 200);
    mocks
        .get("gpt")
        .unwrap()
        .arm(vec![mock_providers::FaultRule {
            fault: Fault::new(FailureClass::RateLimit),
            schedule: Schedule::Requests(vec![2, 4]),
        }]);
    let statuses = [
        send(2).await.unwrap().status().as_u16(),
        send(3).await.unwrap().status().as_u16(),
        send(4).await.unwrap().status().as_u16(),
    ];
    assert_eq!(statuses, [429, 200, 429]);
    // A slow answer is in flight until it is journaled.
    mocks
        .get("gpt")
        .unwrap()
        .arm(vec![mock_providers::FaultRule {
            fault: Fault::new(FailureClass::Timeout).delay(Duration::from_millis(400)),
            schedule: Schedule::Always,
        }]);
    let slow = tokio::spawn(send(5));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(mocks.get("gpt").unwrap().in_flight(), 1);
    slow.await.unwrap().unwrap().bytes().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(mocks.get("gpt").unwrap().in_flight(), 0);
    assert_eq!(attempts(mocks).await.len(), 5);
}
