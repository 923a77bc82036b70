//! Azure, Gemini, Groq and an OpenAI-compatible server of the team's own,
//! through the real LiteLLM proxy (1.108.7, installed by crossfire's
//! provisioning), in one proxy start: a drill of a config split over two
//! files with `include:`. Every path pinned here was observed by running it.

mod support;

use crossfire::drill::{self, CellVerdict};
use crossfire::gateway::litellm::VERSION as LITELLM_VERSION;
use crossfire::gateway::litellm::{config, isolate};
use mock_providers::FailureClass;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The LiteLLM version every behaviour pinned here was measured on.
const MEASURED_ON: &str = "1.108.7";

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// The distinct paths of a cell: the team's deployments tried, in order,
/// each with its outcome, and the client's status.
fn paths(cell: &drill::Cell) -> BTreeSet<String> {
    cell.paths
        .iter()
        .map(|p| {
            let steps: Vec<String> = p
                .steps
                .iter()
                .map(|s| format!("{} {}", isolate::original(&s.deployment), s.outcome.name()))
                .collect();
            format!("{} -> client {:?}", steps.join(" -> "), p.client_status)
        })
        .collect()
}

#[tokio::test]
async fn azure_gemini_groq_and_an_openai_compatible_server_fail_over_through_litellm() {
    assert_eq!(
        LITELLM_VERSION, MEASURED_ON,
        "crossfire now pins another LiteLLM: re-measure the paths pinned here"
    );
    let cfg = config::load(&data("litellm-providers/config.yaml")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = support::drill_options(out.path(), &[FailureClass::ServerError], &[]);
    let report = drill::drill(&cfg, &opts).await.unwrap();
    let text = drill::render_text_styled(&report, crossfire::report::style::Style::plain());
    assert!(text.contains("(litellm 1.108.7,"), "{text}");
    assert_eq!(report.gateway_version.as_deref(), Some(MEASURED_ON));

    let cell = |g: &str| {
        report
            .cells
            .iter()
            .find(|c| c.group == g)
            .unwrap_or_else(|| panic!("no cell for {g}:\n{text}"))
    };
    // A 500 on each group's only deployment: LiteLLM (num_retries 0) falls
    // back once, to the next provider of the ring, which serves.
    let crossed = [
        ("claude", "claude server_error -> azure-gpt served"),
        ("azure-gpt", "azure-gpt server_error -> gemini served"),
        ("gemini", "gemini server_error -> groq-llama served"),
        ("groq-llama", "groq-llama server_error -> team-llama served"),
        ("team-llama", "team-llama server_error -> claude served"),
    ];
    for (group, path) in crossed {
        let c = cell(group);
        assert_eq!(c.verdict, CellVerdict::Crossed, "{group}:\n{text}");
        assert_eq!(
            paths(c),
            BTreeSet::from([format!("{path} -> client Some(200)")]),
            "{group}:\n{text}"
        );
    }
    // `api_version: 2024-10-21` unquoted is a date to LiteLLM's loader: the
    // proxy skips that deployment at start, and crossfire says so with the
    // proxy's reason, instead of an illusion.
    let dated = cell("azure-dated");
    assert_eq!(dated.verdict, CellVerdict::NotLoaded, "{text}");
    assert!(dated.as_predicted);
    assert_eq!(report.not_loaded.len(), 1, "{text}");
    let nl = &report.not_loaded[0];
    assert_eq!(
        (nl.id.as_str(), nl.group.as_str()),
        ("azure-dated", "azure-dated")
    );
    assert!(
        nl.reason.contains("api_version") && nl.reason.contains("datetime.date(2024, 10, 21)"),
        "{}",
        nl.reason
    );
    assert!(
        text.contains("NOT LOADED: deployment `azure-dated`"),
        "{text}"
    );
    assert_eq!(report.findings(), 1, "{text}");
}

/// `crossfire run` reports a deployment LiteLLM 1.108.7 skipped at start as
/// a finding of its own kind, with the proxy's reason.
#[tokio::test]
async fn a_run_reports_a_deployment_the_proxy_did_not_load() {
    let c = support::case(
        "name: dated\ngateway: {kind: litellm, config: litellm/config.yaml}\ntraffic:\n  - model: azure-gpt\n    requests: 1\n",
        None,
    );
    let dir = c.dir.path().join("litellm");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.yaml", "azure.yaml"] {
        std::fs::copy(data("litellm-providers").join(f), dir.join(f)).unwrap();
    }
    let r = support::run(&c).await;
    assert_eq!(r.error, None);
    let kinds: Vec<(&str, &str)> = r
        .findings
        .iter()
        .map(|f| (f.kind, f.model.as_str()))
        .collect();
    assert_eq!(kinds, [("deployment_not_loaded", "azure-dated")]);
    assert!(
        r.findings[0]
            .message
            .contains("datetime.date(2024, 10, 21)"),
        "{}",
        r.findings[0].message
    );
    assert!(!r.passed());
}
