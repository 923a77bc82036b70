//! The traffic driver: sends each traffic entry's requests through the
//! gateway (bounded in count and time), a unique marker in the last user
//! message of each, and records what the client saw. Raw facts only; every
//! statistic is derived later.

use crate::records::{ClientUsage, RequestRecord, CUT_SHORT};
use crate::scenario::{ClientApi, Traffic};
use mock_providers::{Dialect, Wire};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Where and how the client talks to the gateway.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL (`http://127.0.0.1:PORT`).
    pub base_url: String,
    /// Headers sent with every request.
    pub headers: BTreeMap<String, String>,
    /// A direct call to a healthy mock after each request (latency audit).
    pub baseline: Option<Arc<Baseline>>,
    /// Prefixes of the answer headers the gateway gives its own account in
    /// (`x-litellm-`), kept in each record beside `retry-after`.
    pub kept_headers: Vec<&'static str>,
    /// Answer headers the gateway reports a request's cost in, first found
    /// wins.
    pub cost_headers: Vec<&'static str>,
    /// A request header that carries each request's marker too (a load
    /// balancer logs it, naming the replica each request went to).
    pub marker_header: Option<&'static str>,
}

impl Target {
    /// A target without a baseline, keeping no gateway header.
    pub fn new(base_url: String, headers: BTreeMap<String, String>) -> Target {
        Target {
            base_url,
            headers,
            baseline: None,
            kept_headers: Vec::new(),
            cost_headers: Vec::new(),
            marker_header: None,
        }
    }

    /// Keeps the answer headers a gateway gives its account and cost in.
    pub fn keeping(mut self, kept: &[&'static str], cost: &[&'static str]) -> Target {
        self.kept_headers = kept.to_vec();
        self.cost_headers = cost.to_vec();
        self
    }
}

/// The latency audit's baseline: a healthy mock called directly, one request
/// after each gateway request by the same worker, so machine noise hits both.
#[derive(Debug)]
pub struct Baseline {
    /// The mock's base URL.
    pub base_url: String,
    /// What each baseline request looks like.
    pub traffic: Traffic,
    /// What the client saw, per baseline request.
    pub records: Mutex<Vec<RequestRecord>>,
    next: AtomicU64,
}

impl Baseline {
    /// A baseline against a mock at `base_url`.
    pub fn new(base_url: String, traffic: Traffic) -> Baseline {
        Baseline {
            base_url,
            traffic,
            records: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
        }
    }
}

/// Filler prompt text of `tokens` tokens with the marker at its end.
pub fn prompt(tokens: u64, marker: &str) -> String {
    format!(
        "Answer briefly.{} [{marker}]",
        mock_providers::tokens::filler(tokens)
    )
}

/// Path and body of one request in a client API.
pub fn request_for(
    api: ClientApi,
    model: &str,
    t: &Traffic,
    text: &str,
) -> (String, Value, Vec<(&'static str, &'static str)>) {
    let messages = json!([{"role": "user", "content": text}]);
    let openai = |path: String| {
        let mut body = json!({"model": model, "messages": messages, "max_tokens": t.max_tokens});
        if t.stream {
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
        }
        (path, body, vec![])
    };
    match api {
        ClientApi::Openai => openai("/v1/chat/completions".into()),
        ClientApi::Anthropic | ClientApi::Native(Dialect::Anthropic) => (
            "/v1/messages".into(),
            json!({"model": model, "max_tokens": t.max_tokens, "messages": messages, "stream": t.stream}),
            vec![
                ("anthropic-version", "2023-06-01"),
                ("x-api-key", "sk-ant-crossfire-dummy"),
            ],
        ),
        ClientApi::Native(Dialect::Azure) => {
            let (_, body, _) = openai(String::new());
            (
                format!(
                    "/openai/deployments/{model}/chat/completions?api-version=2024-08-01-preview"
                ),
                body,
                vec![("api-key", "crossfire-dummy")],
            )
        }
        ClientApi::Native(Dialect::Gemini) => {
            let path = if t.stream {
                format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
            } else {
                format!("/v1beta/models/{model}:generateContent")
            };
            (
                path,
                json!({"contents": [{"role": "user", "parts": [{"text": text}]}],
                    "generationConfig": {"maxOutputTokens": t.max_tokens}}),
                vec![("x-goog-api-key", "crossfire-dummy")],
            )
        }
        ClientApi::Native(_) => openai("/v1/chat/completions".into()),
    }
}

/// Whether an answer header is kept in the record: `retry-after`, and the
/// gateway's own account (`kept` prefixes).
fn routing_header(name: &str, kept: &[&str]) -> bool {
    name == "retry-after" || kept.iter().any(|p| name.starts_with(p))
}

/// Reads usage from an answer in any dialect.
fn usage_of(v: &Value) -> Option<ClientUsage> {
    if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
        let get = |k: &str| u.get(k).and_then(Value::as_u64);
        return Some(ClientUsage {
            prompt_tokens: get("prompt_tokens")
                .or_else(|| get("input_tokens"))
                .unwrap_or(0),
            completion_tokens: get("completion_tokens")
                .or_else(|| get("output_tokens"))
                .unwrap_or(0),
        });
    }
    v.get("usageMetadata").map(|u| ClientUsage {
        prompt_tokens: u
            .get("promptTokenCount")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        completion_tokens: u
            .get("candidatesTokenCount")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    })
}

/// What a stream's text says: complete, an error inside, and usage.
fn read_stream(text: &str, api: ClientApi) -> (bool, Option<String>, Option<ClientUsage>) {
    let mut usage = None;
    let mut error = None;
    let mut saw_finish = false;
    for line in text.lines() {
        if line.starts_with("event: error") {
            error.get_or_insert_with(|| "error event".to_string());
        }
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let data = data.trim();
        if data == "[DONE]" {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        if v.get("error").is_some() || v.get("type").and_then(Value::as_str) == Some("error") {
            error = Some(truncate(data, 500));
        }
        if let Some(u) = usage_of(&v) {
            // Anthropic splits usage: input in message_start, output in message_delta.
            let merged = match usage {
                Some(ClientUsage { prompt_tokens, .. }) if u.prompt_tokens == 0 => ClientUsage {
                    prompt_tokens,
                    completion_tokens: u.completion_tokens,
                },
                _ => u,
            };
            usage = Some(merged);
        }
        if v.pointer("/message/usage").is_some() {
            if let Some(u) = v.pointer("/message").and_then(usage_of) {
                usage = Some(u);
            }
        }
        if v.pointer("/candidates/0/finishReason").is_some() {
            saw_finish = true;
        }
    }
    let complete = match api {
        ClientApi::Anthropic | ClientApi::Native(Dialect::Anthropic) => {
            text.contains("event: message_stop")
        }
        ClientApi::Native(d) if d.wire() == Wire::Gemini => saw_finish,
        _ => text.contains("data: [DONE]"),
    };
    (complete, error, usage)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Runs one traffic entry. `next_n` numbers requests across the run;
/// `on_done` sees each record as it completes.
#[allow(clippy::too_many_arguments)]
pub async fn drive(
    client: &reqwest::Client,
    target: &Target,
    traffic_index: usize,
    t: &Traffic,
    run_id: &str,
    run_start: Instant,
    next_n: &AtomicU64,
    cancel: &CancellationToken,
    on_done: &(dyn Fn(&RequestRecord) + Sync),
) -> Vec<RequestRecord> {
    // The workers run on this task (join_all), so they share these by reference.
    let issued = &AtomicU64::new(0);
    let next_slot = &Mutex::new(Instant::now());
    let entry_start = Instant::now();
    let records = &Mutex::new(Vec::new());
    let baseline = target.baseline.as_ref().map(|b| {
        (
            b,
            Target::new(b.base_url.clone(), BTreeMap::new()),
            format!("{run_id}b"),
        )
    });
    let baseline = &baseline;
    let mut workers = Vec::new();
    for _ in 0..t.concurrency {
        workers.push(async move {
            loop {
                if cancel.is_cancelled() {
                    return;
                }
                if t.duration.is_some_and(|d| entry_start.elapsed() >= d) {
                    return;
                }
                let k = issued.fetch_add(1, Ordering::Relaxed);
                if t.requests.is_some_and(|limit| k >= limit) {
                    return;
                }
                // Open-loop `rate` and sequential `interval` share the slots:
                // a request late past its slot goes at once, never in a burst.
                let gap = t.rate.map(|r| Duration::from_secs_f64(1.0 / r)).or(t.interval);
                if let Some(gap) = gap {
                    let slot = {
                        let mut next = next_slot.lock().unwrap_or_else(|e| e.into_inner());
                        let slot = (*next).max(Instant::now());
                        *next = slot + gap;
                        slot
                    };
                    tokio::select! {
                        _ = tokio::time::sleep_until(slot.into()) => {}
                        _ = cancel.cancelled() => return,
                    }
                    if t.duration.is_some_and(|d| entry_start.elapsed() >= d) {
                        return;
                    }
                }
                let n = next_n.fetch_add(1, Ordering::Relaxed) + 1;
                if !within_cap(n) {
                    return;
                }
                let started_us = run_start.elapsed().as_micros() as u64;
                let record = tokio::select! {
                    r = one(client, target, traffic_index, t, run_id, n, run_start) => r,
                    _ = cancel.cancelled() => {
                        // Sent and maybe already at a provider: recorded, so
                        // its attempts are claimed, as cut short.
                        let mut cut = blank_record(traffic_index, t, run_id, n, started_us);
                        cut.latency_us = (run_start.elapsed().as_micros() as u64).saturating_sub(started_us);
                        cut.transport_error = Some(CUT_SHORT.to_string());
                        records.lock().unwrap_or_else(|e| e.into_inner()).push(cut);
                        return;
                    }
                };
                on_done(&record);
                records
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(record);
                if let Some((b, direct, run)) = baseline {
                    let k = b.next.fetch_add(1, Ordering::Relaxed) + 1;
                    let r = one(client, direct, 0, &b.traffic, run, k, run_start).await;
                    b.records.lock().unwrap_or_else(|e| e.into_inner()).push(r);
                }
            }
        });
    }
    futures_util::future::join_all(workers).await;
    let mut list = std::mem::take(&mut *records.lock().unwrap_or_else(|e| e.into_inner()));
    list.sort_by_key(|r| r.n);
    list
}

/// Whether request number `n` (from 1, across a scenario) may be sent: a
/// scenario sends at most [`MAX_REQUESTS`](crate::scenario::model::MAX_REQUESTS),
/// so duration-bounded traffic runs in bounded memory.
pub fn within_cap(n: u64) -> bool {
    n <= crate::scenario::model::MAX_REQUESTS
}

/// The record of request `n` before anything is known of its answer.
fn blank_record(
    traffic_index: usize,
    t: &Traffic,
    run_id: &str,
    n: u64,
    started_us: u64,
) -> RequestRecord {
    RequestRecord {
        n,
        marker: format!("xf:{run_id}:{n}"),
        traffic: traffic_index,
        model: t.model.clone(),
        stream: t.stream,
        started_us,
        latency_us: 0,
        ttfb_us: None,
        first_token_us: None,
        status: None,
        transport_error: None,
        stream_complete: None,
        stream_error: None,
        headers: BTreeMap::new(),
        usage: None,
        cost: None,
        error_body: None,
        bytes_sent: 0,
    }
}

/// Sends one request numbered `n` and records what the client saw.
pub async fn one(
    client: &reqwest::Client,
    target: &Target,
    traffic_index: usize,
    t: &Traffic,
    run_id: &str,
    n: u64,
    run_start: Instant,
) -> RequestRecord {
    let mut record = blank_record(
        traffic_index,
        t,
        run_id,
        n,
        run_start.elapsed().as_micros() as u64,
    );
    let text = prompt(t.prompt_tokens, &record.marker);
    let (path, body, fixed_headers) = request_for(t.api, &t.model, t, &text);
    let body = body.to_string();
    record.bytes_sent = body.len() as u64;
    let started = Instant::now();
    let mut req = client
        .post(format!("{}{path}", target.base_url))
        .timeout(t.timeout)
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in fixed_headers {
        req = req.header(k, v);
    }
    for (k, v) in &target.headers {
        if !t.headers.contains_key(k) {
            req = req.header(k.as_str(), v.as_str());
        }
    }
    for (k, v) in &t.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(h) = target.marker_header {
        req = req.header(h, record.marker.as_str());
    }
    let response = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            record.latency_us = started.elapsed().as_micros() as u64;
            record.transport_error = Some(describe_error(&e));
            return record;
        }
    };
    record.ttfb_us = Some(started.elapsed().as_micros() as u64);
    record.status = Some(response.status().as_u16());
    for (name, value) in response.headers() {
        let name = name.as_str();
        if routing_header(name, &target.kept_headers) {
            if let Ok(v) = value.to_str() {
                record.headers.insert(name.to_string(), v.to_string());
            }
        }
    }
    record.cost = target
        .cost_headers
        .iter()
        .find_map(|h| record.headers.get(*h))
        .and_then(|c| c.parse().ok());
    let mut response = response;
    let mut bytes = Vec::new();
    let read_error = loop {
        match response.chunk().await {
            Ok(Some(c)) => {
                if record.first_token_us.is_none() && !c.is_empty() {
                    record.first_token_us = Some(started.elapsed().as_micros() as u64);
                }
                bytes.extend_from_slice(&c)
            }
            Ok(None) => break None,
            Err(e) => break Some(describe_error(&e)),
        }
    };
    record.latency_us = started.elapsed().as_micros() as u64;
    let text = String::from_utf8_lossy(&bytes);
    let success = record.status.is_some_and(|s| (200..300).contains(&s));
    if !success {
        record.error_body = Some(truncate(&text, 2000));
    }
    if t.stream && success {
        let (complete, error, usage) = read_stream(&text, t.api);
        record.stream_complete = Some(complete && read_error.is_none());
        record.stream_error = error;
        record.usage = usage;
    } else if success {
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => record.usage = usage_of(&v),
            Err(_) if read_error.is_none() => {
                record.transport_error = Some("the answer is not valid JSON".to_string())
            }
            Err(_) => {}
        }
    }
    if let Some(e) = read_error {
        record.transport_error = Some(e);
    }
    record
}

fn describe_error(e: &reqwest::Error) -> String {
    use std::error::Error;
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    };
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    format!("{kind}: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_reading() {
        let openai = "data: {\"choices\":[]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}}\n\ndata: [DONE]\n\n";
        let (complete, error, usage) = read_stream(openai, ClientApi::Openai);
        assert!(complete && error.is_none());
        assert_eq!(
            usage,
            Some(ClientUsage {
                prompt_tokens: 5,
                completion_tokens: 7
            })
        );
        let cut = "data: {\"choices\":[]}\n\n";
        assert!(!read_stream(cut, ClientApi::Openai).0);
        let anthropic = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n";
        let (complete, error, usage) = read_stream(anthropic, ClientApi::Anthropic);
        assert!(!complete);
        assert!(error.is_some());
        assert_eq!(usage.unwrap().prompt_tokens, 9);
    }
}
