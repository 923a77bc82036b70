//! The real Portkey gateway (npm @portkey-ai/gateway 1.15.2, installed by
//! crossfire), against the mocks. Every behaviour pinned here was observed by
//! running it.

mod support;

use crossfire::drill::{self, CellVerdict};
use crossfire::gateway::litellm::VERSION as LITELLM_VERSION;
use crossfire::gateway::portkey::config;
use crossfire::gateway::portkey::VERSION as PORTKEY_VERSION;
use crossfire::paths::PathClass;
use mock_providers::FailureClass;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// The Portkey version every behaviour pinned here was measured on.
const MEASURED_ON: &str = "1.15.2";

/// The run was made with the Portkey the pinned behaviour was measured on.
/// Portkey reports no version over HTTP: the run takes it from the installed
/// package, and this reads that package's `package.json` itself.
fn assert_measured_version(reported: Option<&str>) {
    assert_eq!(
        PORTKEY_VERSION, MEASURED_ON,
        "crossfire now pins another Portkey: re-measure the behaviour pinned here"
    );
    let install = crossfire::gateway::portkey::install(None, &mut |_| {}).unwrap();
    let package = install
        .entry
        .ancestors()
        .nth(2)
        .unwrap()
        .join("package.json");
    let text = std::fs::read_to_string(&package).unwrap();
    let installed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        installed["version"],
        MEASURED_ON,
        "the Portkey installed at {}",
        package.display()
    );
    assert_eq!(
        reported,
        Some(MEASURED_ON),
        "the version the run reports, from the gateway it ran"
    );
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/portkey")
        .join(name)
}

fn scenario(config_file: &str, faults: &str, traffic: &str) -> support::Case {
    let body = format!(
        "name: pk\ngateway: {{kind: portkey, config: {}}}\n{faults}traffic:\n{traffic}",
        example(config_file).display()
    );
    support::case(&body, None)
}

#[tokio::test]
async fn default_fallback_moves_a_429_to_the_next_target() {
    let c = scenario(
        "fallback.json",
        "faults:\n  - on: anthropic\n    fault: rate_limit\n",
        "  - model: claude-opus\n    requests: 3\n    concurrency: 3\n",
    );
    let r = support::run(&c).await;
    assert_eq!(r.error, None);
    assert_measured_version(r.gateway_version.as_deref());
    assert_eq!(r.paths.len(), 3);
    for p in &r.paths {
        assert_eq!(
            p.describe(),
            "claude-opus: anthropic/anthropic 429 -> openai/openai 200 -> client 200"
        );
    }
    let h = &r.requests[0].headers;
    assert_eq!(
        h.get("x-portkey-last-used-option-index")
            .map(String::as_str),
        Some("config.targets[1]")
    );
    assert_eq!(
        h.get("x-portkey-provider").map(String::as_str),
        Some("openai")
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.escaped.is_empty());
}

#[tokio::test]
async fn on_status_codes_strand_a_context_overflow_and_an_anthropic_529() {
    for (fault, status) in [("context_overflow", 400), ("overloaded", 529)] {
        let c = scenario(
            "fallback-on-status-codes.json",
            &format!("faults:\n  - on: anthropic\n    fault: {fault}\n"),
            "  - model: claude-opus\n    requests: 2\n    concurrency: 2\n",
        );
        let r = support::run(&c).await;
        assert_eq!(r.error, None, "{fault}");
        assert_measured_version(r.gateway_version.as_deref());
        assert_eq!(r.paths.len(), 2, "{fault}");
        assert_eq!(r.requests.len(), 2, "{fault}");
        for p in &r.paths {
            assert_eq!(
                p.class,
                PathClass::FailedNoFailover,
                "{fault}: {}",
                p.describe()
            );
            assert_eq!(p.steps.len(), 1, "{fault}: OpenAI is never tried");
            assert_eq!(p.client_status, Some(status), "{fault}");
        }
        // A reader believes the fallback covers Anthropic's overload: its 529
        // stranded on Anthropic is an illusion, caused by `on_status_codes`.
        // GPT-4o's window is smaller than Claude's: no one expects an
        // overflow to be rescued there, so it is no illusion.
        if fault == "overloaded" {
            let kinds: Vec<&str> = r.findings.iter().map(|f| f.kind).collect();
            assert_eq!(kinds, ["failover_illusion"; 2], "{:#?}", r.findings);
            let file = example("fallback-on-status-codes.json");
            for f in &r.findings {
                assert_eq!(
                    f.why.as_deref(),
                    Some(format!("`strategy.on_status_codes` at {}:2 omits 529: anthropic overloaded answers stay on anthropic", file.display()).as_str())
                );
            }
        } else {
            assert!(r.findings.is_empty(), "{fault}: {:#?}", r.findings);
        }
    }
    let cfg = config::load(&example("fallback-on-status-codes.json")).unwrap();
    let warnings: Vec<String> = crossfire::gateway::portkey::lint::warnings(&cfg)
        .into_iter()
        .map(|w| w.message)
        .collect();
    assert!(
        warnings[0].contains("overloaded (529), context_overflow (400)"),
        "{warnings:?}"
    );
}

#[test]
fn the_drill_calls_a_stranded_anthropic_529_an_illusion_and_names_on_status_codes() {
    let file = example("fallback-on-status-codes.json");
    let (code, out) = support::drill_cli("portkey", &file, "overloaded,rate_limit", "");
    assert_eq!(code, 1, "{out}");
    // Measured on Portkey 1.15.2: the 529 reaches the client, the 429 crosses.
    let row = |class: &str| support::drill_row(&out, "fallback-on-status-codes", class);
    assert!(
        row("overloaded").contains("anthropic -> client 529"),
        "{out}"
    );
    assert!(row("overloaded").contains("ILLUSION"), "{out}");
    assert!(row("rate_limit").contains("crossed"), "{out}");
    assert!(
        out.contains(&format!(
            "why: `strategy.on_status_codes` at {}:2 omits 529: anthropic overloaded answers stay on anthropic",
            file.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("2 cells: 1 Failover Illusion, 0 unlike the prediction"),
        "{out}"
    );
}

#[tokio::test]
async fn loadbalance_never_fails_over() {
    let c = scenario(
        "loadbalance.json",
        "faults:\n  - on: anthropic\n    fault: server_error\n",
        "  - model: claude-opus\n    requests: 24\n    concurrency: 4\n",
    );
    let r = support::run(&c).await;
    assert_eq!(r.error, None);
    assert_measured_version(r.gateway_version.as_deref());
    let failed = r
        .counts
        .get(&PathClass::FailedNoFailover)
        .copied()
        .unwrap_or(0);
    let direct = r.counts.get(&PathClass::Direct).copied().unwrap_or(0);
    assert_eq!(failed + direct, 24, "{:?}", r.counts);
    assert!(
        failed > 0 && direct > 0,
        "a random pick of 24 hit only one target: {:?}",
        r.counts
    );
    assert!(!r.counts.contains_key(&PathClass::CrossedProvider));
}

#[tokio::test]
async fn a_loadbalance_drill_gives_the_same_findings_five_times_in_a_row() {
    // Half the picks reach the failing target: every cell sends enough
    // requests (20) that missing it has a chance under 10^-6.
    let mut seen = Vec::new();
    for _ in 0..5 {
        let cfg = config::load(&example("loadbalance.json")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let opts = support::drill_options(
            out.path(),
            &[FailureClass::ServerError, FailureClass::RateLimit],
            &[],
        );
        let r = drill::drill(&cfg, &opts).await.unwrap();
        assert_measured_version(r.gateway_version.as_deref());
        let cells: Vec<(String, CellVerdict, bool, usize)> = r
            .cells
            .iter()
            .map(|c| (c.observed.clone(), c.verdict, c.as_predicted, c.met.0))
            .collect();
        seen.push((cells, r.findings()));
    }
    let first = seen[0].clone();
    assert_eq!(
        first.0,
        vec![
            (
                "anthropic -> client 500".to_string(),
                CellVerdict::NoFailover,
                true,
                20
            ),
            (
                "anthropic -> client 429".to_string(),
                CellVerdict::NoFailover,
                true,
                20
            ),
        ]
    );
    assert_eq!(first.1, 0, "a loadbalance config promises no failover");
    assert!(seen.iter().all(|s| *s == first), "{seen:#?}");
}

#[tokio::test]
async fn streams_pass_through_and_a_cut_stream_is_not_rescued() {
    let c = scenario(
        "fallback.json",
        "",
        "  - model: claude-opus\n    requests: 2\n    stream: true\n",
    );
    let r = support::run(&c).await;
    assert_eq!(r.error, None);
    assert_measured_version(r.gateway_version.as_deref());
    assert_eq!(r.paths.len(), 2);
    assert_eq!(r.requests.len(), 2);
    assert!(
        r.paths.iter().all(|p| p.class == PathClass::Direct && p.ok),
        "{:#?}",
        r.paths
    );
    assert!(r.requests.iter().all(|q| q.stream_complete == Some(true)));
    let d = drill_cells(
        "fallback.json",
        &[FailureClass::StreamCut, FailureClass::StreamError],
    )
    .await;
    assert_eq!(
        d,
        vec![
            (
                "anthropic -> client 200 (broken stream)".to_string(),
                CellVerdict::Illusion,
                true
            ),
            (
                "anthropic -> client 200 (error swallowed)".to_string(),
                CellVerdict::Illusion,
                true
            ),
        ]
    );
}

/// Every provider form crossfire maps, in one fallback chain where all but
/// the last answer 500: one request crosses all seven, so each `custom_host`
/// form (config.rs pins them) reaches its mock at a path the mock serves.
#[tokio::test]
async fn every_provider_forms_custom_host_reaches_its_mock() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("every-provider.json");
    std::fs::write(
        &file,
        r#"{
  "strategy": {"mode": "fallback"},
  "targets": [
    {"provider": "azure-openai", "api_key": "k", "resource_name": "r", "deployment_id": "gpt4o-eu",
     "api_version": "2024-08-01-preview", "override_params": {"model": "gpt-4o"}},
    {"provider": "google", "api_key": "k", "override_params": {"model": "gemini-2.0-flash"}},
    {"provider": "groq", "api_key": "k", "override_params": {"model": "llama-3.3-70b-versatile"}},
    {"provider": "mistral-ai", "api_key": "k", "override_params": {"model": "mistral-large-latest"}},
    {"provider": "deepseek", "api_key": "k", "override_params": {"model": "deepseek-chat"}},
    {"provider": "anthropic", "api_key": "k", "override_params": {"model": "claude-opus-4-1", "max_tokens": 64}},
    {"provider": "openai", "api_key": "k", "override_params": {"model": "gpt-4o"}}
  ]
}"#,
    )
    .unwrap();
    let faults: String = [
        "azure",
        "gemini",
        "groq",
        "mistral",
        "deepseek",
        "anthropic",
    ]
    .iter()
    .map(|p| format!("  - on: {p}\n    fault: server_error\n"))
    .collect();
    let body = format!(
        "name: pk-every\ngateway: {{kind: portkey, config: {}}}\nfaults:\n{faults}traffic:\n  - model: every\n    requests: 1\n",
        file.display()
    );
    let c = support::case(&body, None);
    let r = support::run(&c).await;
    assert_eq!(r.error, None);
    assert_measured_version(r.gateway_version.as_deref());
    assert_eq!(r.paths.len(), 1);
    assert_eq!(
        r.paths[0].describe(),
        "every: azure/azure-openai 500 -> gemini/google 500 -> groq/groq 500 -> mistral/mistral-ai 500 -> deepseek/deepseek 500 -> anthropic/anthropic 500 -> openai/openai 200 -> client 200"
    );
    // A scheduled 500 fires only on a completion endpoint (side and unserved
    // endpoints never consume a schedule): each form reached its mock's
    // completion path. No attempt the mocks could not serve or tie to it.
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.stray.is_empty(), "{:#?}", r.stray);
    // The mocks accept any prefix before an OpenAI-style `/chat/completions`
    // or Gemini's `/models/`: the journaled paths are where a wrong form shows.
    let journal = mock_providers::journal::read_jsonl(&r.journal).unwrap();
    let paths: Vec<(&str, &str)> = journal
        .iter()
        .filter(|a| a.method == "POST")
        .map(|a| (a.deployment.as_str(), a.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            (
                "azure-openai",
                "/openai/deployments/gpt4o-eu/chat/completions?api-version=2024-08-01-preview"
            ),
            (
                "google",
                "/v1beta/models/gemini-2.0-flash:generateContent?key=sk-crossfire-dummy"
            ),
            ("groq", "/v1/chat/completions"),
            ("mistral-ai", "/v1/chat/completions"),
            // Portkey 1.15.2 appends `/v1/chat/completions` to DeepSeek's host.
            ("deepseek", "/v1/chat/completions"),
            ("anthropic", "/v1/messages"),
            ("openai", "/v1/chat/completions"),
        ]
    );
    assert!(r.escaped.is_empty(), "{:#?}", r.escaped);
}

async fn drill_cells(file: &str, classes: &[FailureClass]) -> Vec<(String, CellVerdict, bool)> {
    let cfg = config::load(&example(file)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = support::drill_options(out.path(), classes, &[]);
    let r = drill::drill(&cfg, &opts).await.unwrap();
    assert_measured_version(r.gateway_version.as_deref());
    r.cells
        .iter()
        .map(|c| (c.observed.clone(), c.verdict, c.as_predicted))
        .collect()
}

/// Listening sockets on `port` from /proc/net/tcp and tcp6: (local address hex).
fn listeners(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (cols.get(1), cols.get(3)) else {
                continue;
            };
            let Some((addr, p)) = local.rsplit_once(':') else {
                continue;
            };
            if *state == "0A" && u16::from_str_radix(p, 16).ok() == Some(port) {
                out.push(addr.to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn it_listens_on_loopback_only_and_its_egress_is_sealed() {
    let cfg = config::load(&example("fallback.json")).unwrap();
    let install = crossfire::gateway::portkey::install(None, &mut |l| eprintln!("{l}")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gw = crossfire::gateway::portkey::start(
        &cfg,
        &install,
        &Default::default(),
        dir.path(),
        std::time::Duration::from_secs(60),
        None,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_measured_version(gw.version(&[]).unwrap().as_deref());
    let port: u16 = gw.base_url.rsplit(':').next().unwrap().parse().unwrap();
    let addrs = listeners(port);
    // 0100007F is 127.0.0.1 in /proc's byte order; nothing else may listen.
    assert_eq!(
        addrs,
        vec!["0100007F".to_string()],
        "listening on {addrs:?}"
    );
    // No custom_host in this config: Portkey would call api.anthropic.com.
    // The seal refuses it before any DNS lookup, and records it.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gw.base_url))
        .header("x-portkey-config", serde_json::to_string(&cfg.doc).unwrap())
        .json(&serde_json::json!({"model": "x", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert!(!r.status().is_success());
    let escapes = gw.escapes();
    assert!(
        escapes.iter().any(|e| e.target == "api.anthropic.com:443"),
        "{escapes:?}"
    );
}

#[tokio::test]
async fn compare_puts_both_gateways_side_by_side() {
    let out = tempfile::tempdir().unwrap();
    let opts = crossfire::compare::CompareOptions {
        gateways: vec!["litellm".into(), "portkey".into()],
        intent: Default::default(),
        configs: Default::default(),
        requests: 1,
        latency_requests: 10,
        out: out.path().to_path_buf(),
        gateway: Default::default(),
        allow_unmapped: false,
        cancel: CancellationToken::new(),
    };
    let c = crossfire::compare::compare(&opts).await.unwrap();
    let rows: std::collections::HashMap<String, Vec<String>> =
        crossfire::compare::rows(&c).into_iter().collect();
    assert_eq!(
        [LITELLM_VERSION, PORTKEY_VERSION],
        ["1.108.7", MEASURED_ON],
        "crossfire now pins other gateways: re-measure the rows pinned here"
    );
    assert_eq!(rows["gateway version"], ["1.108.7", MEASURED_ON]);
    // Measured with LiteLLM 1.108.7 and Portkey 1.15.2: both move a 429 to
    // OpenAI; neither rescues an overflow nor a cut stream. GPT-4o's window
    // is smaller than Claude's, so nobody expects the overflow to be rescued
    // there: the fallback fails too, and that is no illusion.
    assert_eq!(rows["failover on rate_limit"], ["crossed", "crossed"]);
    assert_eq!(
        rows["failover on context_overflow"],
        ["fallback failed too", "fallback failed too"]
    );
    assert_eq!(
        rows["failover on stream_cut (stream)"],
        ["ILLUSION", "ILLUSION"]
    );
    // LiteLLM 1.108.7's bundled price map has no claude-opus-4-1: it
    // reports $0, which is a gap in its map, not -100%. Portkey reports no
    // cost.
    assert_eq!(
        rows["cost-tracking discrepancy"],
        ["not in the gateway's price map", "not reported"]
    );
    assert_eq!(
        c.results[0].cost_price_map.as_deref(),
        Some("LiteLLM 1.108.7's bundled price map")
    );
    assert!(c.results.iter().all(|r| r.latency.is_some()));
    let md = crossfire::compare::render_markdown(&c);
    assert!(md.starts_with("| | litellm | portkey |"), "{md}");
}

/// The time and stream faults on Claude through Portkey 1.15.2 (measured,
/// Claude first, GPT as fallback, no timeout): a late first token is waited
/// for (an illusion); a stream without `message_stop` reaches the client
/// without `[DONE]` as well, which crossfire's client counts as broken (a
/// failure, but no promise: nobody expects a failover for it); one
/// malformed event breaks the client's stream too (an illusion). lint
/// predicts none of them.
#[tokio::test]
async fn the_time_and_stream_faults_through_portkey() {
    let d = drill_cells(
        "fallback.json",
        &[
            FailureClass::SlowFirstToken,
            FailureClass::NoDone,
            FailureClass::MalformedEvent,
        ],
    )
    .await;
    assert_eq!(
        d,
        vec![
            (
                "anthropic -> client 200".to_string(),
                CellVerdict::Illusion,
                true
            ),
            (
                "anthropic -> client 200 (broken stream)".to_string(),
                CellVerdict::NoFailover,
                true
            ),
            (
                "anthropic -> client 200 (broken stream)".to_string(),
                CellVerdict::Illusion,
                true
            ),
        ]
    );
}
