//! Outages in time: a fault active in a window, traffic sent one request
//! at a time across it, and what crossfire measures of the gateway's ride
//! through it and back. Real mocks and the reference gateway
//! (examples/refgw), which tries its targets in order on every request and
//! keeps no memory of failures.

mod support;

use crossfire::outcome::ScenarioReport;
use crossfire::verdict::Verdict;
use support::{case, refgw_config, run, target, REFGW_GATEWAY, THREE_DEPLOYMENTS};

/// `claude` first, then `gpt`, on every request.
fn fallback() -> String {
    refgw_config(&format!(
        "{{\"mode\": \"fallback\", \"targets\": [{}, {}]}}",
        target("claude", "anthropic"),
        target("gpt", "openai")
    ))
}

fn scenario(fault: &str, expect: &str) -> String {
    format!(
        "name: outage\n{REFGW_GATEWAY}{THREE_DEPLOYMENTS}faults:\n{fault}traffic:\n  - model: claude-opus\n    interval: 200ms\n    duration: 4s\nexpect:\n{expect}"
    )
}

fn verdict<'a>(r: &'a ScenarioReport, starts: &str) -> &'a Verdict {
    r.verdicts
        .iter()
        .find(|v| v.expectation.starts_with(starts))
        .unwrap_or_else(|| panic!("no verdict `{starts}` in {:#?}", r.verdicts))
}

#[tokio::test]
async fn a_window_outage_is_ridden_through_and_the_primary_serves_again_after_it() {
    let c = case(
        &scenario(
            "  - on: claude\n    fault: server_error\n    schedule: {window: [1500ms, 2500ms]}\n",
            "  - served_during_outage: 1.0\n  - back_on_primary_within: 1s\n  - max_attempts_per_second: 6\n  - wall_under: 10s\n  - ttft_under: 10s\n  - alive_after: true\n",
        ),
        Some(&fallback()),
    );
    let r = run(&c).await;
    assert_eq!(r.error, None);
    let t = &r.timing;
    // Interval traffic is a sequence: one request at a time, 200 ms apart.
    // Interval traffic is a sequence: each request after the one before
    // ended, on a clock of 200 ms slots (a late one does not push the rest).
    let q = &r.requests;
    for k in 1..q.len() {
        assert!(
            q[k].started_us >= q[k - 1].ended_us(),
            "request {k} overlapped"
        );
        let slot = q[0].started_us + 200_000 * k as u64;
        assert!(
            q[k].started_us + 5_000 >= slot,
            "request {k} before its slot"
        );
    }
    assert!(r.requests.iter().all(|q| q.first_token_us.is_some()));
    let o = t.outage.as_ref().expect("a window fault is an outage");
    assert_eq!(o.windows, vec![(1_500_000, 2_500_000)]);
    assert!(o.sent >= 3, "requests were sent during the outage: {o:?}");
    assert_eq!(o.served, o.sent, "refgw fell back to gpt every time");
    // Probe discipline: refgw tries the failing primary once per request.
    assert_eq!(o.attempts_on_failing, o.sent);
    let back = t.recoveries[0].back_after_us.expect("claude served again");
    assert!(
        back < 400_000,
        "the next request after the window: {back} us"
    );
    assert_eq!(t.alive_after, Some(true));
    for v in &r.verdicts {
        assert!(v.held, "{} ({})", v.expectation, v.detail);
    }
    assert!(r.passed());
    let said = crossfire::report::terminal::render_scenario(&r);
    assert!(said.contains("  outage 1.500s..2.500s: "), "{said}");
    assert!(
        said.contains("back on the primary: claude served again"),
        "{said}"
    );
    // report.json and the Markdown report carry the same measures.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.run_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["timing"]["outage"]["sent"], o.sent);
    assert_eq!(json["timing"]["alive_after"], true);
    let md = crossfire::report::markdown::render(
        &crossfire::outcome::RunSummary {
            out: r.run_dir.clone(),
            scenarios: vec![r.clone()],
            interrupted: false,
        },
        &r.run_dir,
    );
    assert!(
        md.contains("### In time\n\n- outage 1.500s..2.500s: "),
        "{md}"
    );
}

#[tokio::test]
async fn a_gateway_that_ignores_retry_after_is_named_with_the_early_attempt() {
    // The 429 asks for 1s; refgw calls claude again 200 ms later.
    let c = case(
        &scenario(
            "  - on: claude\n    fault: rate_limit\n    retry_after: 1s\n    schedule: {window: [1s, 3s]}\n",
            "  - retry_after_honoured: true\n  - max_attempts_per_second: 2\n",
        ),
        Some(&fallback()),
    );
    let r = run(&c).await;
    assert_eq!(r.error, None);
    let v = verdict(&r, "retry-after honoured");
    assert!(!v.held, "{}", v.detail);
    let gap = r.timing.retry_after[0]
        .next
        .expect("claude was called again")
        .1;
    assert!(gap < 1_000_000, "refgw came back after {gap} us");
    let example = v.example.as_deref().unwrap_or_default();
    assert!(
        example.contains("on claude answered 429 with retry-after 1.000s at"),
        "{example}"
    );
    // Five attempts a second on the rate-limited deployment: hammering.
    let burst = verdict(&r, "at most 2 attempts per second");
    assert!(!burst.held);
    assert!(
        burst.detail.contains("attempts on claude from"),
        "{}",
        burst.detail
    );
    assert!(!r.passed());
}

#[tokio::test]
async fn outage_expectations_without_a_window_say_why_instead_of_passing() {
    let c = case(
        &scenario(
            "  - on: claude\n    fault: server_error\n    schedule: {first: 2}\n",
            "  - served_during_outage: 0.5\n  - back_on_primary_within: 1s\n",
        ),
        Some(&fallback()),
    );
    let r = run(&c).await;
    for v in &r.verdicts[..2] {
        assert!(!v.held);
        assert!(
            v.detail.contains("there is no outage to measure"),
            "{}",
            v.detail
        );
    }
    assert!(!r.passed());
}

#[tokio::test]
async fn requests_the_gateway_answers_itself_are_counted() {
    let c = case(
        &format!(
            "name: self\n{REFGW_GATEWAY}{THREE_DEPLOYMENTS}traffic:\n  - model: claude-opus\n    requests: 3\n"
        ),
        Some(&refgw_config("{\"mode\": \"answer_self\"}")),
    );
    let r = run(&c).await;
    assert_eq!(r.timing.self_answered.count(), 3);
    assert_eq!(r.timing.self_answered.by_status.get(&200), Some(&3));
}

#[test]
fn litellm_names_the_cooldown_lines_behind_its_own_429() {
    // The body LiteLLM 1.108.7 answered while both deployments of the group
    // cooled down (measured: 9 of 10 requests in a 3 s outage on both).
    let body = r#"{"error":{"message":"No deployments available for selected model, Try again in 3 seconds. All deployments for selected model are in cooldown. Passed model=claude-opus. pre-call-checks=False, cooldown_list=['6ec4', 'a8d8']","type":"all_deployments_in_cooldown","param":null,"code":"429"}}"#;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("litellm.yaml");
    std::fs::write(
        &file,
        "model_list:\n  - model_name: claude-opus\n    litellm_params:\n      model: anthropic/claude-opus-4-1\nrouter_settings:\n  allowed_fails: 0\n  cooldown_time: 3\n",
    )
    .unwrap();
    let cfg = crossfire::gateway::litellm::config::load(&file).unwrap();
    use crossfire::gateway::adapter::GatewayConfig;
    assert_eq!(
        cfg.self_answer_cause(429, body),
        Some(format!(
            "every deployment of the group was cooling down: `router_settings.cooldown_time: 3` at {0}:7, after `allowed_fails: 0` at {0}:6",
            file.display()
        ))
    );
    assert_eq!(cfg.self_answer_cause(503, body), None);
}

#[tokio::test]
async fn a_request_that_hangs_past_the_client_timeout_names_the_gateway_as_hanging() {
    // Direct to a mock that holds its answer 5 s; the client gives up at 1.5 s.
    let c = case(
        "name: hang\ndeployments:\n  - id: gpt\n    dialect: openai\nfaults:\n  - on: gpt\n    fault: timeout\n    delay: 5s\n    schedule: {requests: [2]}\ntraffic:\n  - model: gpt-4o\n    requests: 3\n    timeout: 1500ms\nexpect:\n  - wall_under: 1s\n  - ttft_under: 1s\n",
        None,
    );
    let r = run(&c).await;
    assert_eq!(r.error, None);
    assert_eq!(r.timing.timed_out, 1);
    let v = verdict(&r, "every request ends within 1s");
    assert!(!v.held);
    assert!(
        v.detail
            .starts_with("the gateway hung: request #2 sent at "),
        "{}",
        v.detail
    );
    assert!(
        v.detail
            .contains("had no answer when the client gave up after 1.5"),
        "{}",
        v.detail
    );
    let ttft = verdict(&r, "first token within 1s");
    assert_eq!(
        (ttft.held, ttft.detail.as_str()),
        (false, "request #2 got no body byte at all")
    );
}

#[test]
fn the_json_schema_knows_interval_traffic_and_the_time_expectations() {
    let schema = crossfire::scenario::json_schema().to_string();
    for key in [
        "\"interval\"",
        "served_during_outage",
        "back_on_primary_within",
        "retry_after_honoured",
        "max_attempts_per_second",
        "wall_under",
        "ttft_under",
        "alive_after",
    ] {
        assert!(schema.contains(key), "{key} missing from the schema");
    }
}
