//! Every path class, produced end to end: real mocks on loopback, the
//! reference gateway (examples/refgw) started by the `command` target, real
//! traffic, the journal joined with what the client saw.

mod support;

use support::{case, counts, refgw_config, run, target, REFGW_GATEWAY, THREE_DEPLOYMENTS};

fn scenario(faults: &str, requests: u32) -> String {
    format!(
        "name: path-class\n{REFGW_GATEWAY}{THREE_DEPLOYMENTS}{faults}traffic:\n  - model: claude-opus\n    requests: {requests}\n    concurrency: 1\n"
    )
}

fn pairs(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(c, n)| (c.to_string(), *n)).collect()
}

#[tokio::test]
async fn direct_when_the_first_attempt_serves() {
    let c = case(
        &scenario("", 3),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"targets\": [{}]}}",
            target("claude", "anthropic")
        ))),
    );
    let r = run(&c).await;
    assert_eq!(r.error, None);
    assert_eq!(counts(&r), pairs(&[("direct", 3)]));
}

#[tokio::test]
async fn retried_same_deployment() {
    let c = case(
        &scenario(
            "faults:\n  - on: claude\n    fault: server_error\n    schedule: {first: 1}\n",
            3,
        ),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"retry\", \"retries\": 2, \"targets\": [{}]}}",
            target("claude", "anthropic")
        ))),
    );
    let r = run(&c).await;
    assert_eq!(
        counts(&r),
        pairs(&[("direct", 2), ("retried_same_deployment", 1)])
    );
    let retried = r.paths.iter().find(|p| p.steps.len() == 2).unwrap();
    assert_eq!(
        retried.describe(),
        "claude-opus: anthropic/claude 500 -> anthropic/claude 200 -> client 200"
    );
}

#[tokio::test]
async fn fell_back_same_provider() {
    let c = case(
        &scenario("faults:\n  - on: claude\n    fault: rate_limit\n", 2),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"targets\": [{}, {}]}}",
            target("claude", "anthropic"),
            target("claude-b", "anthropic")
        ))),
    );
    let r = run(&c).await;
    assert_eq!(counts(&r), pairs(&[("fell_back_same_provider", 2)]));
}

#[tokio::test]
async fn crossed_provider() {
    let c = case(
        &scenario("faults:\n  - on: anthropic\n    fault: overloaded\n", 2),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"targets\": [{}, {}, {}]}}",
            target("claude", "anthropic"),
            target("claude-b", "anthropic"),
            target("gpt", "openai")
        ))),
    );
    let r = run(&c).await;
    assert_eq!(counts(&r), pairs(&[("crossed_provider", 2)]));
    assert_eq!(
        r.paths[0].describe(),
        "claude-opus: anthropic/claude 529 -> anthropic/claude-b 529 -> openai/gpt 200 -> client 200"
    );
}

#[tokio::test]
async fn failed_no_failover_when_the_status_is_not_in_the_fallback_list() {
    // A context overflow is a 400, which the gateway passes through.
    let c = case(
        &scenario("faults:\n  - on: claude\n    fault: context_overflow\n", 2),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"targets\": [{}, {}]}}",
            target("claude", "anthropic"),
            target("gpt", "openai")
        ))),
    );
    let r = run(&c).await;
    assert_eq!(counts(&r), pairs(&[("failed_no_failover", 2)]));
    assert_eq!(r.paths[0].client_status, Some(400));
}

#[tokio::test]
async fn failed_after_failover_when_every_target_fails() {
    let c = case(
        &scenario(
            "faults:\n  - on: claude\n    fault: rate_limit\n  - on: gpt\n    fault: server_error\n",
            2,
        ),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"targets\": [{}, {}]}}",
            target("claude", "anthropic"),
            target("gpt", "openai")
        ))),
    );
    let r = run(&c).await;
    assert_eq!(counts(&r), pairs(&[("failed_after_failover", 2)]));
}

#[tokio::test]
async fn unattributed_when_the_gateway_answers_by_itself() {
    let c = case(
        &format!("{}expect:\n  - no_unattributed: true\n", scenario("", 2)),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"answer_self\", \"targets\": [{}]}}",
            target("claude", "anthropic")
        ))),
    );
    let r = run(&c).await;
    assert_eq!(counts(&r), pairs(&[("unattributed", 2)]));
    assert!(r.stray.is_empty());
    assert!(!r.verdicts[0].held);
    assert!(!r.passed());
}

#[tokio::test]
async fn unattributed_when_the_gateway_drops_the_marker() {
    let c = case(
        &scenario("", 2),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"drop_marker\": true, \"targets\": [{}]}}",
            target("gpt", "openai")
        ))),
    );
    let r = run(&c).await;
    assert_eq!(counts(&r), pairs(&[("unattributed", 2)]));
    // The provider did see two attempts; no request can claim them.
    assert_eq!(r.stray.len(), 2);
    assert!(r.stray.iter().all(|a| a.marker.is_none()));
}
