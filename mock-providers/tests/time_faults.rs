//! The time and stream faults on real loopback sockets: `hang` (nothing, ever,
//! until shutdown or the client leaves), `slow_first_token` (headers at once,
//! the first event late), `no_done` (a whole stream without its terminator)
//! and `malformed_event` (one bad event among good ones).

use mock_providers::{
    Attempt, DeploymentSpec, Dialect, FailureClass, Fault, JournalConfig, MockSet, Outcome,
    Schedule,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn start(spec: DeploymentSpec) -> MockSet {
    MockSet::start(vec![spec], JournalConfig::default())
        .await
        .unwrap()
}

fn chat(stream: bool) -> Value {
    json!({"model": "gpt-4o", "stream": stream,
        "messages": [{"role": "user", "content": "hello [xf:t:1]"}]})
}

/// Sends a raw HTTP/1.1 request for `body` at `path` and returns the socket.
async fn raw_request(mocks: &MockSet, path: &str, body: &Value) -> tokio::net::TcpStream {
    let body = body.to_string();
    let mut sock = tokio::net::TcpStream::connect(mocks.deployments()[0].addr)
        .await
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock
}

/// Waits (up to 5 s) for the journal to hold `n` attempts.
async fn journaled(mocks: &MockSet, n: usize) -> Vec<Attempt> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let list = mocks.journal().attempts();
        if list.len() >= n || Instant::now() > deadline {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn hang_sends_nothing_and_shutdown_still_ends_it_at_once() {
    let mocks = start(
        DeploymentSpec::new("oa", Dialect::Openai)
            .fault(Fault::new(FailureClass::Hang), Schedule::Always),
    )
    .await;
    let mut sock = raw_request(&mocks, "/v1/chat/completions", &chat(false)).await;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_millis(800), sock.read(&mut buf)).await;
    assert!(read.is_err(), "a hang sent something: {read:?}");
    // Shutting the mocks down ends the held connection without waiting out
    // the five-second grace period.
    let began = Instant::now();
    let journal = mocks.shutdown().await;
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "shutdown waited {:?} on a hang",
        began.elapsed()
    );
    let n = tokio::time::timeout(Duration::from_secs(2), sock.read(&mut buf))
        .await
        .expect("the connection stayed open after shutdown");
    assert!(matches!(n, Ok(0) | Err(_)), "bytes after shutdown: {n:?}");
    let list = journal.attempts();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].outcome, Outcome::Fault(FailureClass::Hang));
    assert_eq!((list[0].status, list[0].first_byte_us), (None, None));
    assert!(!list[0].completed);
    assert_eq!(list[0].marker.as_deref(), Some("xf:t:1"));
}

#[tokio::test]
async fn hang_is_journaled_when_the_client_goes_away() {
    let mocks = start(
        DeploymentSpec::new("oa", Dialect::Openai)
            .fault(Fault::new(FailureClass::Hang), Schedule::First(1)),
    )
    .await;
    let sock = raw_request(&mocks, "/v1/chat/completions", &chat(true)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        mocks.journal().attempts().is_empty(),
        "journaled before the end"
    );
    drop(sock);
    let list = journaled(&mocks, 1).await;
    assert_eq!(
        list.len(),
        1,
        "the attempt was not journaled after the client left"
    );
    assert_eq!(list[0].outcome, Outcome::Fault(FailureClass::Hang));
    assert_eq!(list[0].status, None);
    // The deployment serves the next attempt: the hang held nothing else.
    let served = reqwest::Client::new()
        .post(format!(
            "{}/v1/chat/completions",
            mocks.deployments()[0].base_url()
        ))
        .json(&chat(false))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    mocks.shutdown().await;
}

#[tokio::test]
async fn slow_first_token_sends_headers_at_once_and_the_first_event_after_the_delay() {
    let delay = Duration::from_millis(700);
    let mocks = start(DeploymentSpec::new("oa", Dialect::Openai).fault(
        Fault::new(FailureClass::SlowFirstToken).delay(delay),
        Schedule::Always,
    ))
    .await;
    let began = Instant::now();
    let mut resp = reqwest::Client::new()
        .post(format!(
            "{}/v1/chat/completions",
            mocks.deployments()[0].base_url()
        ))
        .json(&chat(true))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let headers_after = began.elapsed();
    assert_eq!(resp.status(), 200);
    assert!(
        headers_after < delay / 2,
        "headers came after {headers_after:?}"
    );
    let first = resp.chunk().await.unwrap().expect("a first event");
    let first_after = began.elapsed();
    assert!(first_after >= delay, "first event after {first_after:?}");
    let mut text = String::from_utf8_lossy(&first).to_string();
    while let Some(c) = resp.chunk().await.unwrap() {
        text.push_str(&String::from_utf8_lossy(&c));
    }
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let list = mocks.shutdown().await.attempts();
    assert_eq!(
        list[0].outcome,
        Outcome::Fault(FailureClass::SlowFirstToken)
    );
    assert!(list[0].completed);
}

#[tokio::test]
async fn no_done_finishes_the_http_body_without_the_terminator() {
    for (dialect, path, body, terminator) in [
        (
            Dialect::Openai,
            "/v1/chat/completions",
            chat(true),
            "data: [DONE]",
        ),
        (
            Dialect::Anthropic,
            "/v1/messages",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": true,
                "messages": [{"role": "user", "content": "hello [xf:t:1]"}]}),
            "message_stop",
        ),
    ] {
        let mocks = start(
            DeploymentSpec::new("d", dialect)
                .fault(Fault::new(FailureClass::NoDone), Schedule::Always),
        )
        .await;
        let resp = reqwest::Client::new()
            .post(format!("{}{path}", mocks.deployments()[0].base_url()))
            .header("anthropic-version", "2023-06-01")
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        // The chunked body ends cleanly: reading it to the end succeeds.
        let text = resp.text().await.expect("a cleanly finished body");
        assert!(
            text.contains(" ok5"),
            "{dialect}: the content is whole: {text}"
        );
        assert!(!text.contains(terminator), "{dialect}: {text}");
        let list = mocks.shutdown().await.attempts();
        assert_eq!(list[0].outcome, Outcome::Fault(FailureClass::NoDone));
        assert!(list[0].completed, "{dialect}");
    }
}

#[tokio::test]
async fn malformed_event_sends_one_bad_event_between_good_ones() {
    let mocks = start(DeploymentSpec::new("oa", Dialect::Openai).fault(
        Fault::new(FailureClass::MalformedEvent).after_events(2),
        Schedule::Always,
    ))
    .await;
    let text = reqwest::Client::new()
        .post(format!(
            "{}/v1/chat/completions",
            mocks.deployments()[0].base_url()
        ))
        .json(&chat(true))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let data: Vec<&str> = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .collect();
    let bad: Vec<usize> = (0..data.len())
        .filter(|i| data[*i] != "[DONE]" && serde_json::from_str::<Value>(data[*i]).is_err())
        .collect();
    // preamble + 2 content events, then the bad one, then the rest.
    assert_eq!(bad, vec![3], "{text}");
    assert_eq!(data.last(), Some(&"[DONE]"));
    assert!(text.contains(" ok5"));
    let list = mocks.shutdown().await.attempts();
    assert_eq!(
        list[0].outcome,
        Outcome::Fault(FailureClass::MalformedEvent)
    );
}

#[tokio::test]
async fn an_outage_fails_only_the_attempts_inside_it() {
    let mocks = start(DeploymentSpec::new("oa", Dialect::Openai).fault(
        Fault::new(FailureClass::ServerError),
        Schedule::Outage {
            from: Duration::from_millis(300),
            length: Duration::from_millis(400),
        },
    ))
    .await;
    let started = Instant::now();
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", mocks.deployments()[0].base_url());
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_millis(1000) {
        let status = client
            .post(&url)
            .json(&chat(false))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        seen.push(status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let list = mocks.shutdown().await.attempts();
    // Judged by the journal's own clock: inside [300, 700) ms, a 500.
    for a in &list {
        let t = a.received_us / 1000;
        let expected = if (300..700).contains(&t) { 500 } else { 200 };
        assert_eq!(a.status, Some(expected), "attempt at {t} ms");
    }
    assert!(seen.contains(&500) && seen.contains(&200), "{seen:?}");
}

#[tokio::test]
async fn a_slow_first_token_the_client_gave_up_on_is_journaled_at_once() {
    let mocks = start(DeploymentSpec::new("oa", Dialect::Openai).fault(
        Fault::new(FailureClass::SlowFirstToken).delay(Duration::from_secs(30)),
        Schedule::Always,
    ))
    .await;
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v1/chat/completions",
            mocks.deployments()[0].base_url()
        ))
        .json(&chat(true))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        mocks.journal().attempts().is_empty(),
        "journaled before the end"
    );
    drop(resp);
    let began = Instant::now();
    let list = journaled(&mocks, 1).await;
    assert_eq!(list.len(), 1, "not journaled after the client left");
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(
        list[0].outcome,
        Outcome::Fault(FailureClass::SlowFirstToken)
    );
    assert_eq!((list[0].status, list[0].events_sent), (Some(200), 0));
    assert!(!list[0].completed);
    mocks.shutdown().await;
}
