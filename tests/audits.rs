//! The audits, end to end: token and byte overhead of a fallback, costs from
//! the price table with cached and reasoning tokens, failed attempts unbilled,
//! and `crossfire tax` on a measured file.

mod support;

use support::{case, refgw_config, run, target, REFGW_GATEWAY};

#[tokio::test]
async fn a_fallback_doubles_the_tokens_and_only_the_served_attempt_is_billed() {
    let deployments = "deployments:\n  - id: gpt\n    dialect: openai\n    model: gpt-4o\n  - id: gpt-b\n    dialect: openai\n    provider: openai-eu\n    model: gpt-4o-mini\n    cached_tokens: 100\n    reasoning_tokens: 7\n";
    let c = case(
        &format!(
            "name: audit\n{REFGW_GATEWAY}{deployments}faults:\n  - on: gpt\n    fault: rate_limit\ntraffic:\n  - model: claude-opus\n    requests: 4\n    prompt_tokens: 300\n"
        ),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"targets\": [{}, {}]}}",
            target("gpt", "openai"),
            target("gpt-b", "openai")
        ))),
    );
    let r = run(&c).await;
    let a = r.audit.as_ref().unwrap();
    // Every prompt reached two providers: +100% tokens, counted by tiktoken.
    for q in &a.tokens.requests {
        assert_eq!(q.provider_tokens, 2 * q.client_tokens, "{q:?}");
    }
    assert!((a.tokens.token_overhead_pct - 100.0).abs() < 1e-9);
    // Ground truth: only the gpt-4o-mini answer is billed (the 429 is not):
    // (prompt - 100 cached) x 0.15 + 100 x 0.075 + completion x 0.60, per 1M.
    let served = r.paths[0].served_by().unwrap();
    assert_eq!(served.deployment, "gpt-b");
    let prompt = a.tokens.requests[0].client_tokens as f64;
    let usage = r.requests[0].usage.unwrap();
    assert_eq!(usage.prompt_tokens as f64, prompt);
    let want =
        ((prompt - 100.0) * 0.15 + 100.0 * 0.075 + usage.completion_tokens as f64 * 0.60) / 1e6;
    assert!(
        (a.cost.requests[0].truth_usd - want).abs() < 1e-12,
        "{} vs {want}",
        a.cost.requests[0].truth_usd
    );
    // The reference gateway reports no cost.
    assert_eq!(a.cost.reported_usd, None);
}

#[test]
fn tax_from_a_measured_compare_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compare.json");
    let cells: Vec<serde_json::Value> = ["crossed", "crossed", "illusion", "no_failover"]
        .iter()
        .map(|v| serde_json::json!({"verdict": v}))
        .collect();
    std::fs::write(
        &file,
        serde_json::json!({"results": [{"gateway": "litellm", "token_overhead_pct": 3.0, "drill": {"cells": cells}}]}).to_string(),
    )
    .unwrap();
    let out = support::crossfire()
        .args(["tax", "--from"])
        .arg(&file)
        .args([
            "--monthly-spend",
            "10000",
            "--selection-savings",
            "2",
            "--failure-rate",
            "4",
            "--json",
        ])
        .output()
        .unwrap();
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // tax 300 + waste 10000 x 4% x 50% = 200, savings 200: ratio 2.5 -> exit 1.
    assert_eq!(t["routing_tax"], 300.0);
    assert_eq!(t["misrouting_waste"], 200.0);
    assert_eq!(t["ratio"], 2.5);
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test]
async fn the_latency_audit_pairs_every_request_with_a_direct_call() {
    let c = case(
        &format!(
            "name: latency\n{REFGW_GATEWAY}deployments:\n  - id: gpt\n    dialect: openai\n    model: gpt-4o\ntraffic:\n  - model: claude-opus\n    requests: 30\n    concurrency: 2\n"
        ),
        Some(&refgw_config(&format!("{{\"mode\": \"fallback\", \"targets\": [{}]}}", target("gpt", "openai")))),
    );
    let s = crossfire::scenario::load(&c.scenario).unwrap();
    let opts = crossfire::runner::RunOptions {
        latency_audit: true,
        ..support::options(c.dir.path().join("out"))
    };
    let summary = crossfire::runner::run(std::slice::from_ref(&s), &opts, &|_| {}).await;
    let l = summary.scenarios[0]
        .latency
        .clone()
        .expect("no latency audit");
    assert_eq!((l.gateway.count, l.direct.count), (30, 30));
    // A Python gateway on the path costs more than a direct loopback call.
    assert!(l.gateway.p50_us > l.direct.p50_us, "{l:?}");
    assert_eq!(
        l.overhead_p50_us,
        l.gateway.p50_us as i64 - l.direct.p50_us as i64
    );
}
