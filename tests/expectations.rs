//! Expectations and fault schedules end to end, through the reference
//! gateway and real mocks: `latency_p99_under`, `max_attempts_per_deployment`
//! and `served_by` a deployment id judged on what happened, and the
//! `after`, `window` and `probability` schedules firing on the attempts
//! they name.

mod support;

use crossfire::outcome::ScenarioReport;
use mock_providers::fault::Schedule;
use std::time::Duration;
use support::{case, refgw_config, run, target, REFGW_GATEWAY, THREE_DEPLOYMENTS};

/// The verdict of the expectation at `i`: (held, detail).
fn verdict(r: &ScenarioReport, i: usize) -> (bool, String, String) {
    let v = &r.verdicts[i];
    (v.held, v.expectation.clone(), v.detail.clone())
}

/// The Claude attempts of a run: (attempt number on Claude, arrival since
/// the mocks started, whether it failed).
fn claude_attempts(r: &ScenarioReport) -> Vec<(u64, Duration, bool)> {
    let journal = mock_providers::journal::read_jsonl(&r.journal).unwrap();
    journal
        .iter()
        .filter(|a| a.deployment == "claude" && a.is_completion())
        .map(|a| {
            (
                a.attempt,
                Duration::from_micros(a.received_us),
                a.failure().is_some(),
            )
        })
        .collect()
}

/// A fallback from Claude to GPT, with `faults` and `traffic`.
fn fallback_case(name: &str, faults: &str, traffic: &str, expect: &str) -> support::Case {
    case(
        &format!("name: {name}\n{REFGW_GATEWAY}{THREE_DEPLOYMENTS}faults:\n{faults}traffic:\n{traffic}{expect}"),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"targets\": [{}, {}]}}",
            target("claude", "anthropic"),
            target("gpt", "openai")
        ))),
    )
}

#[tokio::test]
async fn latency_attempts_per_deployment_and_served_by_a_deployment_are_judged_on_what_happened() {
    // The gateway retries Claude up to twice and never moves on; Claude
    // refuses its first two attempts, so the first request takes three
    // attempts on Claude and the second one.
    let c = case(
        &format!(
            "name: judged\n{REFGW_GATEWAY}{THREE_DEPLOYMENTS}faults:\n  - on: claude\n    fault: rate_limit\n    schedule: {{first: 2}}\ntraffic:\n  - model: claude-opus\n    requests: 2\n    concurrency: 1\nexpect:\n  - max_attempts_per_deployment: 3\n  - max_attempts_per_deployment: 2\n  - served_by: claude\n  - served_by: claude-b\n  - served_by: {{deployment: claude, at_least: 0.5}}\n  - latency_p99_under: 30s\n  - latency_p99_under: 1ms\n"
        ),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"retry\", \"retries\": 2, \"targets\": [{}]}}",
            target("claude", "anthropic")
        ))),
    );
    let r = run(&c).await;
    assert_eq!(r.error, None);
    let attempts: Vec<usize> = r.paths.iter().map(|p| p.steps.len()).collect();
    assert_eq!(attempts, [3, 1]);
    let (held, what, detail) = verdict(&r, 0);
    assert!(held, "{what}: {detail}");
    assert_eq!(detail, "2 of 2 requests");
    let (held, what, detail) = verdict(&r, 1);
    assert!(!held, "{what}: {detail}");
    assert_eq!(detail, "1 of 2 requests");
    assert!(
        r.verdicts[1]
            .example
            .as_deref()
            .is_some_and(|e| e.contains("claude") && e.contains("429")),
        "{:?}",
        r.verdicts[1].example
    );
    // `served_by: claude` names a deployment id (there is no such provider).
    let (held, what, detail) = verdict(&r, 2);
    assert!(held, "{what}: {detail}");
    assert_eq!(detail, "2 of 2 requests");
    let (held, what, detail) = verdict(&r, 3);
    assert!(!held, "{what}: {detail}");
    assert_eq!(detail, "0 of 2 requests");
    let (held, what, _) = verdict(&r, 4);
    assert!(held, "{what}");
    // Latency: the p99 over both requests against each limit.
    let (held, what, detail) = verdict(&r, 5);
    assert!(held, "{what}: {detail}");
    assert!(detail.ends_with(" ms over 2 requests"), "{detail}");
    let (held, what, detail) = verdict(&r, 6);
    assert!(!held, "{what}: {detail}");
    assert!(!r.passed());
}

#[tokio::test]
async fn an_after_schedule_spares_the_first_attempts_and_fails_the_rest() {
    let c = fallback_case(
        "after",
        "  - on: claude\n    fault: rate_limit\n    schedule: {after: 2}\n",
        "  - model: claude-opus\n    requests: 5\n    concurrency: 1\n",
        "",
    );
    let r = run(&c).await;
    assert_eq!(r.error, None);
    let classes: Vec<String> = r.paths.iter().map(|p| p.class.name().to_string()).collect();
    assert_eq!(
        classes,
        [
            "direct",
            "direct",
            "crossed_provider",
            "crossed_provider",
            "crossed_provider"
        ]
    );
    let failed: Vec<(u64, bool)> = claude_attempts(&r)
        .into_iter()
        .map(|(n, _, f)| (n, f))
        .collect();
    assert_eq!(
        failed,
        [(1, false), (2, false), (3, true), (4, true), (5, true)]
    );
}

#[tokio::test]
async fn a_window_schedule_fails_only_the_attempts_inside_it() {
    // Traffic for 4 s at 4 requests a second; the fault is on for the first
    // 2.5 s of the traffic. Whatever the machine's speed, each
    // attempt is judged by when it arrived.
    let c = fallback_case(
        "window",
        "  - on: claude\n    fault: server_error\n    schedule: {window: [0s, 2500ms]}\n",
        "  - model: claude-opus\n    duration: 4s\n    rate: 4\n",
        "",
    );
    let r = run(&c).await;
    assert_eq!(r.error, None);
    let window = Duration::from_millis(2500);
    let margin = Duration::from_millis(50);
    let attempts = claude_attempts(&r);
    let inside = attempts.iter().filter(|(_, at, _)| *at + margin < window);
    let outside = attempts.iter().filter(|(_, at, _)| *at > window + margin);
    assert!(inside.clone().count() > 0, "none inside: {attempts:?}");
    assert!(outside.clone().count() > 0, "none after: {attempts:?}");
    assert!(inside.clone().all(|(_, _, failed)| *failed), "{attempts:?}");
    assert!(
        outside.clone().all(|(_, _, failed)| !failed),
        "{attempts:?}"
    );
    // The requests that met it crossed to GPT; the later ones stayed.
    for p in &r.paths {
        let first = &p.steps[0];
        assert_eq!(first.deployment, "claude");
        if p.met_fault {
            assert_eq!(p.class.name(), "crossed_provider", "{}", p.describe());
        } else {
            assert_eq!(p.class.name(), "direct", "{}", p.describe());
        }
    }
}

#[tokio::test]
async fn a_probability_schedule_is_seeded_and_reproducible() {
    let faults =
        "  - on: claude\n    fault: rate_limit\n    schedule: {probability: 0.5}\n    seed: 7\n";
    let traffic = "  - model: claude-opus\n    requests: 16\n    concurrency: 1\n";
    let cases = [
        fallback_case("p", faults, traffic, ""),
        fallback_case("p", faults, traffic, ""),
        fallback_case("p", &faults.replace("seed: 7", "seed: 8"), traffic, ""),
    ];
    let first = run(&cases[0]).await;
    let second = run(&cases[1]).await;
    let pattern = |r: &ScenarioReport| -> Vec<bool> {
        claude_attempts(r).into_iter().map(|(_, _, f)| f).collect()
    };
    let a = pattern(&first);
    assert_eq!(a.len(), 16);
    // Some fail and some do not, and the same seed fails the same attempts.
    assert!(a.iter().any(|f| *f) && a.iter().any(|f| !f), "{a:?}");
    assert_eq!(a, pattern(&second));
    // They are the draws the mock's schedule makes for seed 7.
    let s = Schedule::Probability { p: 0.5, seed: 7 };
    let drawn: Vec<bool> = (1..=16).map(|n| s.fires(n, Duration::ZERO)).collect();
    assert_eq!(a, drawn);
    // Each failed request crossed to GPT; the others were served directly.
    let crossed = first
        .paths
        .iter()
        .filter(|p| p.class.name() == "crossed_provider")
        .count();
    assert_eq!(crossed, a.iter().filter(|f| **f).count());
    // Another seed draws other attempts.
    let other = run(&cases[2]).await;
    assert_ne!(pattern(&other), a);
}

#[tokio::test]
async fn a_run_whose_memory_journal_evicted_attempts_joins_from_the_journal_file() {
    // Ten requests, each crossing from Claude to GPT (20 attempts), with
    // room for 3 attempts in memory: the paths come from the file.
    let c = fallback_case(
        "evicted",
        "  - on: claude\n    fault: rate_limit\n",
        "  - model: claude-opus\n    requests: 10\n    concurrency: 2\n",
        "expect:\n  - path: crossed_provider\n",
    );
    let s = crossfire::scenario::load(&c.scenario).unwrap();
    let opts = crossfire::runner::RunOptions {
        journal_memory_cap: 3,
        ..support::options(c.dir.path().join("out"))
    };
    let summary = crossfire::runner::run(std::slice::from_ref(&s), &opts, &|_| {}).await;
    let r = &summary.scenarios[0];
    assert_eq!(r.error, None);
    assert_eq!(r.journal_stats.recorded, 20);
    assert_eq!(r.journal_stats.evicted, 17);
    assert_eq!(r.paths.len(), 10);
    for p in &r.paths {
        assert_eq!(p.class.name(), "crossed_provider", "{}", p.describe());
        assert_eq!(p.steps.len(), 2, "{}", p.describe());
    }
    assert!(r.stray.is_empty(), "{:?}", r.stray);
    assert!(r.passed());
}
