//! OpenAI's Responses API (`POST /v1/responses`), as the OpenAI and Azure
//! mocks serve it: the response object, the typed event stream, and every
//! fault class's answer, snapshotted byte for byte; over sockets, a schedule
//! and the Azure paths.

use mock_providers::plan::{plan, AttemptContext};
use mock_providers::request::IncomingRequest;
use mock_providers::{
    Delivery, DeploymentSpec, Dialect, FailureClass, Fault, JournalConfig, MockSet, Outcome, Plan,
    Schedule, StreamEnd, Traffic,
};
use serde_json::{json, Value};
use std::time::Duration;

fn ctx(attempt: u64) -> AttemptContext {
    AttemptContext {
        seq: 7,
        attempt,
        since_start: Duration::ZERO,
        now_unix: 1_795_587_318,
    }
}

/// What LiteLLM 1.108.7 sends for an Anthropic Messages client falling back
/// to an OpenAI model (captured from the running proxy).
fn litellm_body(stream: bool) -> Vec<u8> {
    let mut body = json!({"model": "gpt-4o",
        "input": [{"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "hi [xf:resp:1]"}]}],
        "include": ["reasoning.encrypted_content"], "max_output_tokens": 50});
    if stream {
        body["stream"] = json!(true);
    }
    body.to_string().into_bytes()
}

fn responses(spec: &DeploymentSpec, body: &[u8]) -> Plan {
    let req = IncomingRequest {
        method: "POST",
        path: match spec.dialect {
            Dialect::Azure => "/openai/v1/responses",
            _ => "/v1/responses",
        },
        query: None,
        body,
    };
    plan(spec, &req, &ctx(1))
}

fn body_text(p: &Plan) -> String {
    match &p.delivery {
        Delivery::Body(b) => String::from_utf8_lossy(b).into_owned(),
        Delivery::Events { events, .. } => events
            .iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect(),
        Delivery::Truncated { body, keep } => String::from_utf8_lossy(&body[..*keep]).into_owned(),
        Delivery::Reset | Delivery::Hang => String::new(),
    }
}

/// How the bytes go out: whole, cut, a stream and how it ends, after a delay.
fn delivery(p: &Plan) -> String {
    let how = match &p.delivery {
        Delivery::Body(_) => "body".to_string(),
        Delivery::Truncated { body, keep } => {
            format!("{keep} of {} bytes, then closed", body.len())
        }
        Delivery::Events {
            events,
            end,
            first_delay,
            ..
        } if !first_delay.is_zero() => format!(
            "{} events, the first after {first_delay:?}, then {end:?}",
            events.len()
        ),
        Delivery::Events { events, end, .. } => format!("{} events, then {end:?}", events.len()),
        Delivery::Reset => "reset".to_string(),
        Delivery::Hang => "nothing, ever (hang)".to_string(),
    };
    if p.delay.is_zero() {
        how
    } else {
        format!("{how} after {:?}", p.delay)
    }
}

#[test]
fn non_streamed_response_object_echoes_the_marker_with_usage() {
    let p = responses(
        &DeploymentSpec::new("gpt", Dialect::Openai),
        &litellm_body(false),
    );
    assert_eq!(
        (p.status, p.outcome, p.traffic),
        (200, Outcome::Served, Traffic::Completion)
    );
    let v: Value = serde_json::from_str(&body_text(&p)).unwrap();
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    let text = v["output"][0]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("[xf:resp:1]"), "{text}");
    let usage = p.usage.unwrap();
    assert_eq!(v["usage"]["input_tokens"], json!(usage.prompt_tokens));
    assert_eq!(
        v["usage"]["total_tokens"],
        json!(usage.prompt_tokens + usage.completion_tokens)
    );
    insta::assert_snapshot!("responses_body", serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn streamed_response_is_typed_events_from_created_to_completed() {
    let p = responses(
        &DeploymentSpec::new("gpt", Dialect::Openai),
        &litellm_body(true),
    );
    let Delivery::Events { events, end, .. } = &p.delivery else {
        panic!("events expected")
    };
    assert_eq!(*end, StreamEnd::Finish);
    let names: Vec<String> = events
        .iter()
        .map(|e| {
            let e = std::str::from_utf8(e).unwrap();
            e.lines()
                .next()
                .unwrap()
                .trim_start_matches("event: ")
                .to_string()
        })
        .collect();
    assert_eq!(names.first().map(String::as_str), Some("response.created"));
    assert_eq!(names.last().map(String::as_str), Some("response.completed"));
    assert!(names.iter().any(|n| n == "response.output_text.delta"));
    assert!(p
        .headers
        .iter()
        .any(|(h, v)| *h == "content-type" && v.starts_with("text/event-stream")));
    insta::assert_snapshot!("responses_stream", body_text(&p));
}

/// Reasoning models put a reasoning item before the message, in the body and
/// in the stream, and report the reasoning tokens.
#[test]
fn reasoning_models_report_a_reasoning_item_and_tokens() {
    let body = litellm_body(false);
    let body = String::from_utf8(body)
        .unwrap()
        .replace("gpt-4o", "o3-mini");
    let p = responses(&DeploymentSpec::new("o3", Dialect::Openai), body.as_bytes());
    let v: Value = serde_json::from_str(&body_text(&p)).unwrap();
    assert_eq!(v["output"][0]["type"], "reasoning");
    assert_eq!(v["output"][1]["type"], "message");
    assert_eq!(v["usage"]["output_tokens_details"]["reasoning_tokens"], 64);
}

#[derive(serde::Serialize)]
struct Shown {
    class: &'static str,
    status: u16,
    delivery: String,
    headers: Vec<String>,
    body: String,
}

/// Every fault class on the Responses API, non-streamed and streamed: HTTP
/// errors as for chat (the overflow in the Responses API's own words), a
/// `response.failed` event for a mid-stream error; a stream without its
/// terminator ends at the output item's `done`, without `response.completed`.
#[test]
fn every_fault_class_on_the_responses_api() {
    for dialect in [Dialect::Openai, Dialect::Azure] {
        for stream in [false, true] {
            let shown: Vec<Shown> = FailureClass::ALL
                .iter()
                .filter(|c| !matches!(c, FailureClass::ConnectionReset))
                .map(|&class| {
                    let spec = DeploymentSpec::new("gpt", dialect).fault(
                        Fault::new(class).retry_after(Duration::from_millis(2644)),
                        Schedule::Always,
                    );
                    let p = responses(&spec, &litellm_body(stream));
                    // A non-stream body has no terminator to leave out.
                    let expected = if class == FailureClass::NoDone && !stream {
                        Outcome::Served
                    } else {
                        Outcome::Fault(class)
                    };
                    assert_eq!(p.outcome, expected);
                    Shown {
                        class: class.name(),
                        status: p.status,
                        delivery: delivery(&p),
                        headers: p
                            .headers
                            .iter()
                            .map(|(k, v)| format!("{k}: {v}"))
                            .filter(|h| !h.starts_with("anthropic"))
                            .collect(),
                        body: body_text(&p),
                    }
                })
                .collect();
            let mode = if stream { "stream" } else { "body" };
            insta::assert_yaml_snapshot!(
                format!("responses_faults_{}_{mode}", dialect.name()),
                shown
            );
        }
    }
}

#[test]
fn an_input_over_the_window_is_refused_in_the_responses_words() {
    let spec = DeploymentSpec::new("gpt", Dialect::Openai).context_window(10);
    let p = responses(&spec, &litellm_body(false));
    assert_eq!(p.status, 400);
    assert_eq!(p.outcome, Outcome::Fault(FailureClass::ContextOverflow));
    let v: Value = serde_json::from_str(&body_text(&p)).unwrap();
    assert_eq!(v["error"]["code"], "context_length_exceeded");
    assert_eq!(v["error"]["param"], "input");
}

#[tokio::test]
async fn a_schedule_counts_responses_attempts_and_azure_serves_its_paths() {
    let mocks = MockSet::start(
        vec![
            DeploymentSpec::new("gpt", Dialect::Openai)
                .fault(Fault::new(FailureClass::ServerError), Schedule::First(1)),
            DeploymentSpec::new("az", Dialect::Azure),
        ],
        JournalConfig::default(),
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let gpt = mocks.get("gpt").unwrap().base_url();
    let models = client.get(format!("{gpt}/v1/models")).send().await.unwrap();
    assert_eq!(models.status(), 200);
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let r = client
            .post(format!("{gpt}/v1/responses"))
            .header("content-type", "application/json")
            .body(litellm_body(false))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [500, 200], "GET /v1/models consumed nothing");
    let az = mocks.get("az").unwrap().base_url();
    for (path, want) in [
        ("/openai/responses?api-version=2025-03-01-preview", 200),
        ("/openai/v1/responses", 200),
        ("/openai/responses", 404),
    ] {
        let r = client
            .post(format!("{az}{path}"))
            .header("content-type", "application/json")
            .body(litellm_body(true))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{path}");
        let text = r.text().await.unwrap();
        if want == 200 {
            assert!(text.contains("event: response.completed"), "{text}");
        }
    }
    let journal = mocks.shutdown().await.attempts();
    let attempts: Vec<(String, u64, Traffic)> = journal
        .iter()
        .map(|a| (a.deployment.clone(), a.attempt, a.traffic))
        .collect();
    assert_eq!(
        attempts,
        [
            ("gpt".into(), 0, Traffic::Side),
            ("gpt".into(), 1, Traffic::Completion),
            ("gpt".into(), 2, Traffic::Completion),
            ("az".into(), 1, Traffic::Completion),
            ("az".into(), 2, Traffic::Completion),
            ("az".into(), 3, Traffic::Completion),
        ]
    );
}
