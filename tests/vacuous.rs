//! No vacuous pass: a scenario whose fault never met a client request, or
//! whose traffic no provider saw, does not pass, and says what happened
//! instead. Real mocks and the reference gateway (examples/refgw).

mod support;

use support::{case, refgw_config, run, target, REFGW_GATEWAY, THREE_DEPLOYMENTS};

/// The verdict of the scenario's first fault.
fn first_fault(r: &crossfire::outcome::ScenarioReport) -> &crossfire::verdict::Verdict {
    r.verdicts
        .iter()
        .find(|v| v.expectation.starts_with("fault faults[0]"))
        .expect("a verdict per fault")
}

/// A reference gateway whose one group tries these targets in order.
fn fallback_to(targets: &[(&str, &str)]) -> String {
    let list: Vec<String> = targets.iter().map(|(id, d)| target(id, d)).collect();
    refgw_config(&format!(
        "{{\"mode\": \"fallback\", \"targets\": [{}]}}",
        list.join(", ")
    ))
}

fn scenario(faults: &str) -> String {
    format!(
        "name: vacuous\n{REFGW_GATEWAY}{THREE_DEPLOYMENTS}{faults}traffic:\n  - model: claude-opus\n    requests: 2\n    concurrency: 1\nexpect:\n  - status: 200\n"
    )
}

#[tokio::test]
async fn a_fault_on_a_deployment_the_traffic_never_reaches_fails_the_scenario() {
    // The gateway only ever calls `claude`; the fault waits on `gpt`.
    let c = case(
        &scenario("faults:\n  - on: gpt\n    fault: rate_limit\n"),
        Some(&fallback_to(&[("claude", "anthropic")])),
    );
    let r = run(&c).await;
    assert_eq!(r.error, None);
    let fault = first_fault(&r);
    assert_eq!(
        fault.expectation,
        format!(
            "fault faults[0]: rate_limit on gpt (always) at {}:18 meets a client request",
            c.scenario.display()
        )
    );
    assert!(!fault.held);
    assert_eq!(
        fault.detail,
        "it never fired: gpt received no client request"
    );
    assert!(
        r.verdicts[0].held,
        "every request was served: status 200 held"
    );
    assert!(!r.passed(), "a fault that never met the traffic is no PASS");
}

#[tokio::test]
async fn a_fault_whose_schedule_is_spent_elsewhere_says_what_came_instead() {
    // `after: 5` on `claude`: both requests come before the fault starts.
    let c = case(
        &scenario("faults:\n  - on: claude\n    fault: server_error\n    schedule: {after: 5}\n"),
        Some(&fallback_to(&[("claude", "anthropic")])),
    );
    let r = run(&c).await;
    let fault = first_fault(&r);
    assert!(!fault.held);
    assert_eq!(
        fault.detail,
        "it never fired on a client request; instead 2x claude answered 200"
    );
    assert!(!r.passed());
}

#[tokio::test]
async fn a_fault_that_met_the_traffic_is_a_held_check() {
    let c = case(
        &scenario("faults:\n  - on: claude\n    fault: rate_limit\n"),
        Some(&fallback_to(&[("claude", "anthropic"), ("gpt", "openai")])),
    );
    let r = run(&c).await;
    let fault = first_fault(&r);
    assert!(fault.held, "{fault:?}");
    assert_eq!(fault.detail, "it met 2 client requests");
    assert!(r.passed(), "{:#?}", r.verdicts);
}

#[tokio::test]
async fn traffic_no_provider_saw_fails_the_scenario() {
    let c = case(
        &scenario(""),
        Some(&refgw_config("{\"mode\": \"answer_self\"}")),
    );
    let r = run(&c).await;
    assert_eq!(r.error, None);
    let seen = r
        .verdicts
        .iter()
        .find(|v| v.expectation == "traffic[0] (claude-opus) reaches a provider")
        .expect("a verdict for the unseen traffic");
    assert!(!seen.held);
    assert_eq!(
        seen.detail,
        "no provider saw any of its 2 requests; the gateway answered them itself: 2x 200"
    );
    assert!(!r.passed());
}
