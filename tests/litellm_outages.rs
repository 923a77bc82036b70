//! The real LiteLLM proxy (1.108.7) through an outage that starts, lasts and
//! ends: what its router remembers of a failing deployment (cooldown) and
//! of a 429's `retry-after`. Every figure pinned here was measured by
//! running it. Fault windows count from the start of the traffic, so a
//! slow start (9 to 45 s on a busy machine) changes nothing; each test
//! sends 15 s of traffic.

mod support;

use crossfire::gateway::litellm::VERSION as LITELLM_VERSION;
use crossfire::outcome::ScenarioReport;

/// The LiteLLM version the figures here were measured on.
const MEASURED_ON: &str = "1.108.7";

/// Claude primary, GPT fallback, no retries, a deployment cooled down on
/// its first failure for `cooldown` seconds.
fn config(cooldown: u32) -> String {
    format!(
        "model_list:\n  - model_name: claude-opus\n    litellm_params:\n      model: anthropic/claude-opus-4-1\n      api_key: os.environ/ANTHROPIC_API_KEY\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: os.environ/OPENAI_API_KEY\nrouter_settings:\n  num_retries: 0\n  allowed_fails: 0\n  cooldown_time: {cooldown}\n  fallbacks:\n    - claude-opus: [gpt-4o]\n"
    )
}

/// One request every 500 ms for 15 s through LiteLLM, `fault` on Claude.
async fn run(cooldown: u32, fault: &str, expect: &str) -> ScenarioReport {
    let c = support::case(
        &format!(
            "name: litellm-outage\ngateway: {{kind: litellm, config: litellm.yaml}}\nfaults:\n{fault}traffic:\n  - model: claude-opus\n    interval: 500ms\n    duration: 15s\n    timeout: 20s\nexpect:\n{expect}"
        ),
        None,
    );
    std::fs::write(c.dir.path().join("litellm.yaml"), config(cooldown)).unwrap();
    let r = support::run(&c).await;
    // The figures, for re-measuring on another version (`--nocapture`).
    eprintln!("{}", r.timing.lines().join("\n"));
    assert_eq!(r.error, None);
    assert_eq!(LITELLM_VERSION, MEASURED_ON, "re-measure the figures here");
    assert_eq!(r.gateway_version.as_deref(), Some(MEASURED_ON));
    for v in r
        .verdicts
        .iter()
        .filter(|v| !v.expectation.starts_with("fault "))
    {
        assert!(v.held, "{} ({})", v.expectation, v.detail);
    }
    r
}

#[tokio::test]
async fn litellm_rides_a_4s_outage_on_fallbacks_probing_once_per_cooldown_and_returns_after_it() {
    let r = run(
        2,
        "  - on: anthropic\n    fault: server_error\n    schedule: {window: [5s, 9s]}\n",
        "  - served_during_outage: 1.0\n  - back_on_primary_within: 3s\n  - max_attempts_per_second: 1\n  - wall_under: 15s\n  - alive_after: true\n",
    )
    .await;
    let t = &r.timing;
    let o = t.outage.as_ref().unwrap();
    // LiteLLM 1.108.7: every request sent during the outage is served (by
    // the GPT fallback), and with cooldown_time 2s Claude is tried twice in
    // the 4 s: the first failure, and one probe when its cooldown ends.
    assert!(o.sent >= 7, "{o:?}");
    assert_eq!(o.served, o.sent);
    assert_eq!(o.attempts_on_failing, 2, "{o:?}");
    // Back on Claude once the last cooldown (2 s from the probe) is over:
    // measured 0.728 s and 1.459 s after the window's end; at most the
    // cooldown plus one interval, and 0.5 s for a loaded machine.
    let back = t.recoveries[0].back_after_us.unwrap();
    assert!(back > 0 && back <= 3_000_000, "back after {back} us");
    assert_eq!(t.self_answered.count(), 0);
    assert_eq!(t.alive_after, Some(true));
}

#[tokio::test]
async fn litellm_waits_out_a_429s_retry_after_longer_than_its_cooldown_time() {
    let r = run(
        1,
        "  - on: anthropic\n    fault: rate_limit\n    retry_after: 4s\n    schedule: {window: [5s, 7s]}\n",
        "  - retry_after_honoured: true\n  - served_during_outage: 1.0\n  - back_on_primary_within: 5s\n",
    )
    .await;
    let t = &r.timing;
    // LiteLLM 1.108.7 cools Claude down for the 429's `retry-after` (4 s),
    // not its cooldown_time (1 s): one 429, and the next attempt on Claude
    // 4.076 s and 4.499 s later (measured: the 4 s plus up to one
    // interval); under cooldown_time it would be 1.5 s at most.
    assert_eq!(t.retry_after.len(), 1, "{:?}", t.retry_after);
    let (_, gap) = t.retry_after[0].next.unwrap();
    assert!((4_000_000..5_000_000).contains(&gap), "gap {gap} us");
}

/// A single-deployment group after one auth error: LiteLLM 1.108.7 cools
/// its only deployment down (its default cooldown, 5 s) and answers the next
/// requests 429 "All deployments for selected model are in cooldown" by
/// itself, with no provider attempt. Measured: 10 of 14 requests answered
/// so, Claude serving again 4.976 s after the 1 s window of 401s.
#[tokio::test]
async fn litellm_locks_a_single_deployment_group_out_after_an_auth_error() {
    let c = support::case(
        "name: litellm-auth-lockout\ngateway: {kind: litellm, config: litellm.yaml}\nfaults:\n  - on: anthropic\n    fault: auth\n    schedule: {window: [1s, 2s]}\ntraffic:\n  - model: claude-opus\n    interval: 500ms\n    duration: 8s\n    timeout: 20s\nexpect:\n  - alive_after: true\n",
        None,
    );
    std::fs::write(
        c.dir.path().join("litellm.yaml"),
        "model_list:\n  - model_name: claude-opus\n    litellm_params:\n      model: anthropic/claude-opus-4-1\n      api_key: os.environ/ANTHROPIC_API_KEY\nrouter_settings:\n  num_retries: 0\n",
    )
    .unwrap();
    let r = support::run(&c).await;
    eprintln!("{}", r.timing.lines().join("\n"));
    assert_eq!(r.error, None);
    assert_eq!(r.gateway_version.as_deref(), Some(MEASURED_ON));
    // The 401s really met client traffic (the journal shows it).
    let met = r
        .verdicts
        .iter()
        .find(|v| v.expectation.starts_with("fault "))
        .unwrap();
    assert!(met.held, "{}", met.detail);
    let t = &r.timing;
    let own = t.self_answered.count();
    assert!(own >= 5, "the proxy's own 429s: {:?}", t.self_answered);
    let text = t.lines().join("\n");
    assert!(
        text.contains("All deployments for selected model are in cooldown"),
        "{text}"
    );
    // Back once the default 5 s cooldown is over.
    let back = t.recoveries[0].back_after_us.unwrap();
    assert!(
        (3_500_000..7_000_000).contains(&back),
        "back after {back} us"
    );
    assert_eq!(t.alive_after, Some(true));
}

/// A primary that accepts the request and never answers, and no `timeout`
/// in the config: LiteLLM 1.108.7 waits on it until the client gives up (6 s
/// here), never trying the GPT fallback. `wall_under` names the gateway as
/// hanging with the request that hung, and the fallback's promise is a
/// Failover Illusion. (With `timeout: 2` it crosses after three attempts:
/// tests/litellm.rs.)
#[tokio::test]
async fn litellm_without_a_timeout_hangs_on_a_primary_that_never_answers() {
    let c = support::case(
        "name: litellm-hang-no-timeout\ngateway: {kind: litellm, config: litellm.yaml}\nfaults:\n  - on: anthropic\n    fault: hang\ntraffic:\n  - model: claude-opus\n    requests: 2\n    timeout: 6s\nexpect:\n  - wall_under: 5s\n",
        None,
    );
    std::fs::write(c.dir.path().join("litellm.yaml"), config(5)).unwrap();
    let r = support::run(&c).await;
    assert_eq!(r.error, None);
    assert_eq!(r.gateway_version.as_deref(), Some(MEASURED_ON));
    assert_eq!(r.timing.timed_out, 2, "{:?}", r.timing);
    let wall = r
        .verdicts
        .iter()
        .find(|v| v.expectation.starts_with("every request ends within"))
        .unwrap();
    assert!(!wall.held);
    assert!(
        wall.detail.contains("the gateway hung: request #"),
        "{}",
        wall.detail
    );
    // Each request met the hang on Claude (the journal shows it), and no
    // attempt ever reached the fallback.
    assert_eq!(r.paths.len(), 2);
    for p in &r.paths {
        assert_eq!(
            p.steps.first().map(|s| s.outcome),
            Some(mock_providers::Outcome::Fault(
                mock_providers::FailureClass::Hang
            )),
            "{}",
            p.describe()
        );
        assert!(p.steps.iter().all(|s| s.provider == "anthropic"));
    }
    assert_eq!(
        r.findings
            .iter()
            .filter(|f| f.kind == "failover_illusion")
            .count(),
        2
    );
}
