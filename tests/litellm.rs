//! The real LiteLLM proxy (1.108.7, installed by crossfire's provisioning),
//! driven from its own configs. Every behaviour pinned here was observed by
//! running it, not read from its docs.

mod support;

use crossfire::drill::{self, CellVerdict};
use crossfire::gateway::litellm::VERSION as LITELLM_VERSION;
use crossfire::gateway::litellm::{config, lint};
use crossfire::paths::PathClass;
use mock_providers::FailureClass;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::{group_alive, wait_with_timeout};

/// The LiteLLM version every behaviour pinned here was measured on.
const MEASURED_ON: &str = "1.108.7";

/// The run was made with the LiteLLM the pinned behaviour was measured on:
/// crossfire's pin, and the version the run reports (from the proxy's
/// header, else its installed package: an all-errors run has no header).
fn assert_measured_version(reported: Option<&str>) {
    assert_eq!(
        LITELLM_VERSION, MEASURED_ON,
        "crossfire now pins another LiteLLM: re-measure the behaviour pinned here"
    );
    assert_eq!(reported, Some(MEASURED_ON), "the version the run reported");
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example(name: &str) -> PathBuf {
    root().join("examples/litellm").join(name)
}

/// A scenario next to a LiteLLM config (copied beside it).
fn scenario_with(config_file: &str, body: &str) -> support::Case {
    let c = support::case(body, None);
    std::fs::copy(example(config_file), c.dir.path().join("litellm.yaml")).unwrap();
    c
}

async fn drill(config_file: &str, classes: &[FailureClass], groups: &[&str]) -> drill::DrillReport {
    let cfg = config::load(&example(config_file)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = support::drill_options(out.path(), classes, groups);
    let report = drill::drill(&cfg, &opts).await.unwrap();
    assert_measured_version(report.gateway_version.as_deref());
    report
}

#[tokio::test]
async fn rate_limit_on_the_primary_crosses_to_openai_with_cross_provider_fallbacks() {
    let c = scenario_with(
        "fallbacks.yaml",
        "name: rl\ngateway: {kind: litellm, config: litellm.yaml}\nfaults:\n  - on: anthropic\n    fault: rate_limit\n    retry_after: 1s\ntraffic:\n  - model: claude-opus\n    requests: 3\n    concurrency: 3\n",
    );
    let r = support::run(&c).await;
    assert_eq!(r.error, None);
    assert_eq!(r.gateway_version.as_deref(), Some(MEASURED_ON));
    assert_measured_version(r.gateway_version.as_deref());
    assert_eq!(r.paths.len(), 3);
    // LiteLLM 1.108.7: num_retries 2 -> three attempts on Claude, then the fallback.
    for p in &r.paths {
        assert_eq!(
            p.describe(),
            "claude-opus: anthropic/claude-opus 429 -> anthropic/claude-opus 429 -> anthropic/claude-opus 429 -> openai/gpt-4o 200 -> client 200"
        );
        assert_eq!(p.class, PathClass::CrossedProvider);
    }
    // The proxy's own account agrees: one fallback, served by the GPT mock.
    let rec = &r.requests[0];
    assert_eq!(
        rec.headers
            .get("x-litellm-attempted-fallbacks")
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(
        rec.headers.get("x-litellm-model-group").map(String::as_str),
        Some("gpt-4o")
    );
    assert!(r.escaped.is_empty());
    assert_eq!(
        r.probes, 1,
        "LiteLLM probes GET /v1/models on the OpenAI mock at start"
    );
}

#[tokio::test]
async fn only_context_window_fallbacks_leave_a_rate_limit_on_anthropic() {
    let c = scenario_with(
        "context-window-only.yaml",
        "name: cw-only\ngateway: {kind: litellm, config: litellm.yaml}\nfaults:\n  - on: anthropic\n    fault: rate_limit\n    retry_after: 1s\nintent:\n  claude-opus: [openai]\ntraffic:\n  - model: claude-opus\n    requests: 2\n    concurrency: 2\n",
    );
    let r = support::run(&c).await;
    assert_eq!(r.error, None);
    assert_measured_version(r.gateway_version.as_deref());
    assert_eq!(r.paths.len(), 2);
    for p in &r.paths {
        assert_eq!(p.class, PathClass::FailedNoFailover);
        assert_eq!(p.steps.len(), 3);
        assert_eq!(p.client_status, Some(429));
    }
    let kinds: Vec<(&str, u64)> = r.findings.iter().map(|f| (f.kind, f.request)).collect();
    assert_eq!(
        kinds,
        [("failover_illusion", 1), ("failover_illusion", 2)],
        "every request is a Failover Illusion"
    );
    assert!(!r.passed());
}

#[test]
fn fallback_models_is_ignored_silently_lint_says_so_and_the_drill_calls_it_an_illusion() {
    let file = example("fallback-models-typo.yaml");
    let cfg = config::load(&file).unwrap();
    let warnings: Vec<String> = lint::warnings(&cfg)
        .into_iter()
        .map(|w| w.message)
        .collect();
    assert!(warnings.contains(
        &"`litellm_settings.fallback_models` is not a LiteLLM setting (did you mean `fallbacks`?): LiteLLM sets it and never reads it, without a word".to_string()
    ), "{warnings:#?}");
    // Measured on LiteLLM 1.108.7: the ignored key leaves Claude's failures
    // on Claude. The author meant a GPT fallback: an illusion, with its cause.
    let (code, out) = support::drill_cli("litellm", &file, "rate_limit,overloaded", "claude-opus");
    assert!(out.contains("litellm 1.108.7"), "{out}");
    assert_eq!(code, 1, "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("ILLUSION")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[0].contains("claude-opus x3 -> client 429"), "{out}");
    assert!(rows[1].contains("claude-opus x3 -> client 500"), "{out}");
    let why = format!(
        "why: `litellm_settings.fallback_models` at {}:16 is not read by LiteLLM: nothing falls back to gpt-4o",
        file.display()
    );
    assert_eq!(out.matches(&why).count(), 2, "{out}");
    assert!(
        out.contains("2 cells: 2 Failover Illusion, 0 unlike the prediction"),
        "{out}"
    );
}

#[test]
fn context_window_fallbacks_for_another_group_leave_an_overflow_nowhere() {
    let file = example("context-window-other-group.yaml");
    let (code, out) = support::drill_cli("litellm", &file, "context_overflow,rate_limit", "gpt-4o");
    assert!(out.contains("litellm 1.108.7"), "{out}");
    assert_eq!(code, 1, "{out}");
    let line = |class: &str| support::drill_row(&out, "gpt-4o", class);
    // Measured on LiteLLM 1.108.7: the overflow is answered 400 at once.
    assert!(
        line("context_overflow").contains("gpt-4o -> client 400"),
        "{out}"
    );
    assert!(line("context_overflow").contains("ILLUSION"), "{out}");
    assert!(line("rate_limit").contains("crossed"), "{out}");
    assert!(
        out.contains(&format!(
            "why: ContextWindowExceededError is not retried; `router_settings.context_window_fallbacks` at {}:23 has no entry for gpt-4o, so LiteLLM 1.108.7 falls back nowhere, not even to `fallbacks`",
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
async fn an_openai_stream_cut_is_nondeterministic_failover_every_drill() {
    // Measured on LiteLLM 1.108.7: identical requests whose OpenAI stream is
    // cut after its first event are sometimes handed to Claude mid-stream and
    // sometimes passed on broken (4 to 13 of 20 fell back, drill after drill;
    // under heavy load all 20 once took the broken path). The finding is the
    // same every drill: nondeterministic failover, each request on one of
    // the two paths lint names.
    for _ in 0..2 {
        let r = drill(
            "openai-primary.yaml",
            &[FailureClass::StreamCut],
            &["gpt-4o"],
        )
        .await;
        assert_measured_version(r.gateway_version.as_deref());
        let c = &r.cells[0];
        assert_eq!(
            c.verdict,
            CellVerdict::Nondeterministic,
            "{:#?}",
            c.distribution
        );
        assert_eq!(c.met, (20, 20));
        for (shape, _) in &c.distribution {
            assert!(
                [
                    "gpt-4o -> client 200 (broken stream)",
                    "gpt-4o -> claude-opus (anthropic) 200"
                ]
                .contains(&shape.as_str()),
                "{shape}"
            );
        }
        assert!(c.as_predicted, "lint predicts the split: {:?}", c.predicted);
        assert_eq!(r.findings(), 1, "nondeterministic failover is a finding");
    }
}

#[tokio::test]
async fn context_overflow_with_a_same_provider_context_window_fallback_fails_twice() {
    let r = drill(
        "same-provider-context.yaml",
        &[FailureClass::ContextOverflow],
        &["claude-opus"],
    )
    .await;
    let c = &r.cells[0];
    // The prompt that overflows Opus overflows Sonnet as well; the general
    // `fallbacks` to GPT are never tried for a context-window error.
    assert_eq!(c.observed, "claude-opus -> claude-sonnet -> client 400");
    assert_eq!(c.verdict, CellVerdict::FallbackFailed);
    assert!(c.as_predicted, "lint predicted {:?}", c.predicted);
}

#[test]
fn an_interrupted_litellm_run_leaves_no_process() {
    let c = scenario_with(
        "fallbacks.yaml",
        "name: long\ngateway: {kind: litellm, config: litellm.yaml}\ntraffic:\n  - model: claude-opus\n    duration: 120s\n    rate: 5\n",
    );
    let out = c.dir.path().join("out");
    let mut child = support::spawn_run(&c, &out);
    let run_dir = out.join("01-long");
    let start = Instant::now();
    // Wait until traffic flows through the proxy.
    loop {
        let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap_or_default();
        if journal.lines().count() >= 3 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "no traffic reached the mocks"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let pgid: i32 = std::fs::read_to_string(run_dir.join("gateway.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(group_alive(pgid));
    // SAFETY: signalling the crossfire process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_with_timeout(
        &mut child,
        Duration::from_secs(240).saturating_sub(start.elapsed()),
    );
    assert_eq!(status, Some(130), "crossfire did not stop with exit 130");
    let gone = Instant::now();
    while group_alive(pgid) && gone.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !group_alive(pgid),
        "the LiteLLM process group outlived crossfire"
    );
}

#[tokio::test]
async fn the_sealed_egress_catches_a_deployment_that_tries_to_leave() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("litellm.yaml"),
        "model_list:\n  - model_name: command-r\n    litellm_params:\n      model: cohere/command-r\n      api_key: os.environ/COHERE_API_KEY\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o\n",
    )
    .unwrap();
    let scenario = dir.path().join("s.yaml");
    std::fs::write(
        &scenario,
        "name: leak\ngateway: {kind: litellm, config: litellm.yaml}\ntraffic:\n  - model: command-r\n    requests: 1\n    timeout: 60s\n",
    )
    .unwrap();
    // Without --allow-unmapped the run refuses to start, naming the item.
    let refused = crossfire::scenario::load(&scenario)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("model `cohere/command-r` (group `command-r`)"),
        "{refused}"
    );
    let s = crossfire::scenario::load_with(
        &scenario,
        &crossfire::scenario::LoadOptions {
            gateway: None,
            allow_unmapped: true,
            replicas: None,
        },
    )
    .unwrap();
    let opts = support::options(dir.path().join("out"));
    let summary = crossfire::runner::run(std::slice::from_ref(&s), &opts, &|_| {}).await;
    let r = &summary.scenarios[0];
    // No request succeeded: the version comes from the installed package.
    assert_measured_version(r.gateway_version.as_deref());
    assert!(!r.escaped.is_empty(), "nothing reached the sink");
    assert!(
        r.escaped.iter().any(|e| e.target.contains("cohere")),
        "{:?}",
        r.escaped
    );
    assert!(!r.passed());
    assert_eq!(summary.exit_code(), crossfire::exit::FINDING);
}

#[tokio::test]
async fn the_same_litellm_config_gives_the_same_snapshot_twice() {
    let h = crossfire::harness::Harness::new("stable")
        .litellm(example("fallbacks.yaml").to_str().unwrap())
        .fault("anthropic", FailureClass::Overloaded, "always")
        .traffic("claude-opus", 3);
    // The first run through the whole report, for the version LiteLLM
    // reported; its behaviour derived as `Harness::run` derives it.
    let report = h.run_report().await.unwrap();
    assert_eq!(report.gateway_version.as_deref(), Some(MEASURED_ON));
    assert_measured_version(report.gateway_version.as_deref());
    let scenario = crossfire::scenario::load(&report.file).unwrap();
    let first = crossfire::runner::behaviour(&scenario, &report.paths);
    remove_harness_dir(&report.run_dir);
    let second = h.run().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        first.groups["claude-opus"].paths.keys().collect::<Vec<_>>(),
        ["anthropic/claude-opus 529 -> anthropic/claude-opus 529 -> anthropic/claude-opus 529 -> openai/gpt-4o 200 => client 200"]
    );
}

/// Removes the folder `Harness::run_report` made (`<dir>/out/<run>`), as
/// `Harness::run` does.
fn remove_harness_dir(run_dir: &std::path::Path) {
    let dir = run_dir.parent().and_then(|p| p.parent()).unwrap();
    assert!(dir.starts_with(std::env::temp_dir()), "{}", dir.display());
    std::fs::remove_dir_all(dir).unwrap();
}

/// The time and stream faults through LiteLLM 1.108.7 with Claude primary,
/// GPT fallback and no `timeout` (measured): a late first token is waited
/// for and served by Claude (an illusion: a provider too slow to start is
/// meant to be left); a stream without `message_stop` reaches the client
/// whole (served, no promise broken); one malformed event ends the stream
/// there and LiteLLM hands the client a 200 (the error swallowed: an
/// illusion). lint predicts none of them, so nothing is held against it.
#[tokio::test]
async fn the_time_and_stream_faults_through_litellm_without_a_timeout() {
    let r = drill(
        "fallbacks.yaml",
        &[
            FailureClass::SlowFirstToken,
            FailureClass::NoDone,
            FailureClass::MalformedEvent,
        ],
        &["claude-opus"],
    )
    .await;
    let seen: Vec<(FailureClass, &str, CellVerdict)> = r
        .cells
        .iter()
        .map(|c| (c.class, c.observed.as_str(), c.verdict))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                FailureClass::SlowFirstToken,
                "claude-opus -> client 200",
                CellVerdict::Illusion
            ),
            (
                FailureClass::NoDone,
                "claude-opus -> client 200",
                CellVerdict::Served
            ),
            (
                FailureClass::MalformedEvent,
                "claude-opus -> client 200 (error swallowed)",
                CellVerdict::Illusion
            ),
        ]
    );
    for c in &r.cells {
        assert_eq!(c.met, (2, 2), "{}: every request met the fault", c.class);
        assert!(c.predicted.is_none() && c.as_predicted, "{}", c.class);
        for p in &c.paths {
            assert_eq!(p.steps.len(), 1, "{}", p.describe());
        }
    }
}

/// A hang on Claude with `timeout: 2` set (LiteLLM 1.108.7, measured): each
/// attempt times out, `num_retries: 2` tries Claude three times, then the
/// cross-provider fallback serves. The hung attempts are journaled `hang`.
#[tokio::test]
async fn a_hang_times_out_and_crosses_when_litellm_has_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("litellm.yaml");
    let text = std::fs::read_to_string(example("fallbacks.yaml"))
        .unwrap()
        .replace("  num_retries: 2\n", "  num_retries: 2\n  timeout: 2\n");
    assert!(text.contains("timeout: 2"));
    std::fs::write(&file, text).unwrap();
    let cfg = config::load(&file).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = support::drill_options(out.path(), &[FailureClass::Hang], &["claude-opus"]);
    let r = drill::drill(&cfg, &opts).await.unwrap();
    assert_measured_version(r.gateway_version.as_deref());
    let c = &r.cells[0];
    assert_eq!(c.met, (2, 2));
    assert_eq!(
        c.observed_class,
        Some(PathClass::CrossedProvider),
        "{:#?}",
        c.distribution
    );
    for p in &c.paths {
        let hung = p
            .steps
            .iter()
            .filter(|s| s.outcome == mock_providers::Outcome::Fault(FailureClass::Hang))
            .count();
        // Journaled when LiteLLM gave up on each and closed the connection.
        assert_eq!((hung, p.steps.len()), (3, 4), "{}", p.describe());
        assert_eq!(p.steps.last().map(|s| s.provider.as_str()), Some("openai"));
    }
    assert!(c.predicted.is_none());
}
