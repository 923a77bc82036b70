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

/// A compare.json as `crossfire compare` writes it (the fields tax reads):
/// healthy overhead 3%, and the drill's cells with their paths. LiteLLM
/// 1.108.7's shapes: a persistent 429 is tried three times on Claude, then
/// crosses to GPT (4 deliveries of the prompt, one billed); a 500 crosses at
/// once; a timeout is waited out twice on Claude and fails (both billed).
fn compare_file(dir: &std::path::Path) -> std::path::PathBuf {
    use serde_json::json;
    let step = |outcome: serde_json::Value, status: u16| json!({"outcome": outcome, "status": status, "prompt_tokens": 100});
    let rl = || step(json!({"fault": "rate_limit"}), 429);
    let ok = || step(json!("served"), 200);
    let slow = || step(json!({"fault": "timeout"}), 200);
    let cells = json!([
        {"class": "rate_limit", "verdict": "crossed", "paths": [{"steps": [rl(), rl(), rl(), ok()]}]},
        {"class": "server_error", "verdict": "crossed", "paths": [{"steps": [step(json!({"fault": "server_error"}), 500), ok()]}]},
        {"class": "timeout", "verdict": "illusion", "paths": [{"steps": [slow(), slow()]}]},
        {"class": "stream_cut", "verdict": "illusion", "paths": [{"steps": [step(json!({"fault": "stream_cut"}), 200)]}]}
    ]);
    let file = dir.join("compare.json");
    std::fs::write(
        &file,
        json!({"results": [{"gateway": "litellm", "token_overhead_pct": 3.0, "drill": {"cells": cells}}]}).to_string(),
    )
    .unwrap();
    file
}

#[test]
fn tax_weighs_the_overhead_under_failure_and_the_unrescued_share_by_the_class_mix() {
    let dir = tempfile::tempdir().unwrap();
    let file = compare_file(dir.path());
    let out = support::tax(
        &file,
        &["--class-mix", "rate_limit=0.5,timeout=0.5", "--json"],
    );
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Healthy: 10000 x 3% = 300. Under failure: the 429s are not billed
    // (+0%), the abandoned timeout is (+100%): 10000 x 4% x 50% = 200.
    assert_eq!(t["healthy_overhead"], 300.0);
    assert_eq!(t["failure_overhead"], 200.0);
    assert_eq!(t["routing_tax"], 500.0);
    // Unrescued: rate_limit 0%, timeout 100%: 10000 x 4% x 50% = 200.
    assert_eq!(t["misrouting_waste"], 200.0);
    // (500 + 200) / 200 = 3.5 -> exit 1.
    assert_eq!(t["ratio"], 3.5);
    assert_eq!(out.status.code(), Some(1));
    // The per-class figures are in the report: 4 deliveries received.
    let rl = &t["classes"][1];
    assert_eq!(rl["class"], "rate_limit");
    assert_eq!(rl["received"], 4.0);
    assert_eq!(rl["billed_extra"], 0.0);
    assert_eq!(t["class_mix"]["source"], "--class-mix");
}

#[test]
fn tax_without_a_class_mix_uses_the_default_and_says_where_it_comes_from() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::tax(&compare_file(dir.path()), &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    // Default: rate_limit 65.8, server_error 1.6, timeout 1.6 of those drilled
    // (stream_cut has no weight): timeout is 1.6 / 69 of failures.
    assert!(text.contains("rate_limit           95%"), "{text}");
    assert!(
        text.contains("timeout               2%    1 of 1"),
        "{text}"
    );
    assert!(
        text.contains("stream_cut            0%    1 of 1"),
        "{text}"
    );
    assert!(
        text.contains("class mix: the default, from Requesty's \"Provider error code distribution, April 2026\""),
        "{text}"
    );
    let help = support::crossfire()
        .args(["tax", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("Default class mix: rate_limit=65.8,auth=9.4"),
        "{help}"
    );
    assert!(help.contains("Its source: Requesty"), "{help}");
}

#[test]
fn a_bad_class_mix_exits_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = compare_file(dir.path());
    for (mix, want) in [
        (
            "rate_limt=1",
            "--class-mix rate_limt=1: unknown failure class `rate_limt`; did you mean `rate_limit`?",
        ),
        (
            "overloaded=1",
            "--class-mix overloaded=1: `overloaded` was not drilled in this file (drilled: `server_error`, `rate_limit`, `timeout`, `stream_cut`)",
        ),
        (
            "rate_limit=-2",
            "--class-mix rate_limit=-2: the weight of `rate_limit` must be a number, zero or more, not `-2`",
        ),
    ] {
        let out = support::tax(&file, &["--class-mix", mix]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{mix}: {err}");
    }
}

#[tokio::test]
async fn the_latency_audit_pairs_every_request_with_a_direct_call() {
    let c = case(
        &format!(
            "name: latency\n{REFGW_GATEWAY}deployments:\n  - id: gpt\n    dialect: openai\n    model: gpt-4o\ntraffic:\n  - model: claude-opus\n    requests: 30\n    concurrency: 2\n"
        ),
        Some(&refgw_config(&format!("{{\"mode\": \"fallback\", \"overhead_ms\": 100, \"targets\": [{}]}}", target("gpt", "openai")))),
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
    // The gateway waits 100 ms before it forwards: a floor a loaded machine
    // can only raise, so the audit must see at least that much overhead. A
    // direct loopback call to a mock that answers at once stays far below it.
    assert!(l.gateway.p50_us >= 100_000, "{l:?}");
    assert!(l.gateway.p50_us > l.direct.p50_us, "{l:?}");
    assert_eq!(
        l.overhead_p50_us,
        l.gateway.p50_us as i64 - l.direct.p50_us as i64
    );
}

/// A scenario beside a copy of one of the LiteLLM examples.
fn litellm_case(scenario: &str) -> support::Case {
    let c = case(scenario, None);
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/litellm/fallbacks.yaml"),
        c.dir.path().join("litellm.yaml"),
    )
    .unwrap();
    c
}

#[tokio::test]
async fn litellm_cost_gaps_are_named_streams_and_unmapped_models_not_minus_100_percent() {
    // Measured with LiteLLM 1.108.7 (offline, its bundled price map): a
    // stream's `x-litellm-response-cost-original` is 0 whatever the model; a
    // non-streamed claude-opus-4-1 answer is 0 too (its map has no
    // claude-opus-4-1); a non-streamed gpt-4o answer is priced exactly.
    let c = litellm_case(
        "name: cost\ngateway: {kind: litellm, config: litellm.yaml}\ntraffic:\n  - model: claude-opus\n    requests: 2\n    stream: true\n  - model: gpt-4o\n    requests: 1\n    stream: true\n  - model: claude-opus\n    requests: 1\n  - model: gpt-4o\n    requests: 2\n",
    );
    let r = run(&c).await;
    assert_eq!(r.error, None);
    assert_eq!(r.gateway_version.as_deref(), Some("1.108.7"));
    let cost = &r.audit.as_ref().unwrap().cost;
    let kinds: Vec<String> = cost
        .requests
        .iter()
        .map(|q| {
            serde_json::to_value(&q.reported).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "not_reported_for_streams",
            "not_reported_for_streams",
            "not_reported_for_streams",
            "not_in_price_map",
            "reported",
            "reported"
        ]
    );
    assert_eq!(cost.not_reported_for_streams, 3);
    assert_eq!(
        cost.not_in_price_map,
        [("claude-opus-4-1".to_string(), 1)].into_iter().collect()
    );
    assert_eq!(
        cost.price_map.as_deref(),
        Some("LiteLLM 1.108.7's bundled price map")
    );
    // gpt-4o: LiteLLM's price and crossfire's list price agree.
    assert_eq!(cost.discrepancy_pct.map(|d| (d * 10.0).round()), Some(0.0));
    let said = crossfire::report::terminal::render_scenario(&r);
    assert!(
        said.contains("(+0.0%); not reported for streams (3 requests); `claude-opus-4-1` not in the gateway's price map (LiteLLM 1.108.7's bundled price map)"),
        "{said}"
    );
    assert!(!said.contains("-100.0%"), "{said}");
}
