//! Reports people read: the Markdown report's Mermaid diagrams parse with the
//! real Mermaid parser, routing snapshots catch a change in routing and say
//! it in words, and terminal colours follow NO_COLOR.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use support::{case, crossfire, refgw_config, target, REFGW_GATEWAY, THREE_DEPLOYMENTS};

fn mermaid_parses(files: &[&Path]) {
    let root = crossfire::provision::ensure_node_env(
        &crossfire::provision::NodeEnvSpec::mermaid_check(),
        &mut |l| eprintln!("[provision] {l}"),
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mermaid/check.mjs");
    // The script must sit in the environment to resolve its modules. Tests run
    // in parallel (and test binaries side by side): each call gets its own
    // copy, so no node reads a file another call is still writing.
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let copy = root.join(format!(
        "check-{}-{}.mjs",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::copy(&script, &copy).unwrap();
    let out = Command::new("node").arg(&copy).args(files).output();
    let _ = std::fs::remove_file(&copy);
    let out = out.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.starts_with("parsed 0 "),
        "no diagram was checked: {text}"
    );
}

#[test]
fn markdown_reports_have_diagrams_that_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("run.md");
    let out = crossfire()
        .current_dir(root)
        .args([
            "run",
            "scenarios/refgw-cross-provider-failover.yaml",
            "scenarios/refgw-same-provider-illusion.yaml",
            "scenarios/anthropic-overloaded-direct.yaml",
        ])
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--markdown")
        .arg(&md)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("| ❌ | refgw-same-provider-illusion | command | 10 | fell_back_same_provider 10 | 10 |"), "{text}");
    assert!(
        text.contains("d_claude -->|\"10x 429 rate_limit\"| d_claude_haiku"),
        "{text}"
    );
    // A failing path is drawn in red.
    assert!(
        text.contains("class fail_529_claude_opus_4_1 failed"),
        "{text}"
    );
    mermaid_parses(&[&md]);
}

#[test]
fn a_routing_change_fails_against_the_snapshot_and_is_said_in_words() {
    let snaps = tempfile::tempdir().unwrap();
    let scenario = |targets: String| {
        case(
            &format!(
                "name: snap\n{REFGW_GATEWAY}{THREE_DEPLOYMENTS}faults:\n  - on: claude\n    fault: rate_limit\ntraffic:\n  - model: claude-opus\n    requests: 3\n"
            ),
            Some(&refgw_config(&format!("{{\"mode\": \"fallback\", \"targets\": [{targets}]}}"))),
        )
    };
    let run = |c: &support::Case, update: bool| {
        let mut cmd = crossfire();
        cmd.arg("run")
            .arg(&c.scenario)
            .arg("--out")
            .arg(c.dir.path().join("out"))
            .arg("--snapshots")
            .arg(snaps.path());
        if update {
            cmd.arg("--update-snapshots");
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let crossing = scenario(format!(
        "{}, {}",
        target("claude", "anthropic"),
        target("gpt", "openai")
    ));
    let (code, text) = run(&crossing, false);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("snapshot written"), "{text}");
    // Same config again: same snapshot.
    let (code, _) = run(&crossing, false);
    assert_eq!(code, Some(0));
    let snapshot = std::fs::read_to_string(snaps.path().join("snap.yaml")).unwrap();
    assert_eq!(
        snapshot,
        "name: snap\ngroups:\n  claude-opus:\n    paths:\n      anthropic/claude 429 -> openai/gpt 200 => client 200: 3\n    ends_on:\n    - openai\n"
    );
    // An upgrade moves the fallback inside Anthropic: the run fails, says so.
    let same = scenario(format!(
        "{}, {}",
        target("claude", "anthropic"),
        target("claude-b", "anthropic")
    ));
    let (code, text) = run(&same, false);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("on rate_limit, claude-opus used to end on gpt (openai) and now ends on claude-b (anthropic)"),
        "{text}"
    );
    assert!(
        text.contains("-      anthropic/claude 429 -> openai/gpt 200 => client 200: 3"),
        "{text}"
    );
    assert!(
        text.contains("+      anthropic/claude 429 -> anthropic/claude-b 200 => client 200: 3"),
        "{text}"
    );
    // Accepting it makes it the snapshot.
    let (code, text) = run(&same, true);
    assert_eq!(code, Some(0), "{text}");
    let (code, _) = run(&same, false);
    assert_eq!(code, Some(0));
}

#[test]
fn colour_on_a_terminal_plain_in_pipes_and_with_no_color() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_crossfire");
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{bin} run scenarios/anthropic-overloaded-direct.yaml --out {}",
        dir.path().join("out").display()
    );
    // `script` gives the command a terminal, as a person's shell would.
    let on_tty = |no_color: Option<&str>| {
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"])
            .current_dir(root)
            .env("TERM", "xterm");
        match no_color {
            Some(v) => c.env("NO_COLOR", v),
            None => c.env_remove("NO_COLOR"),
        };
        String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
    };
    assert!(
        on_tty(None).contains("\x1b[32mPASS\x1b[0m"),
        "{}",
        on_tty(None)
    );
    // The progress bar still moves the cursor on a terminal; no colour codes.
    let plain = on_tty(Some("1"));
    assert!(
        plain.contains("PASS anthropic-overloaded-direct"),
        "{plain}"
    );
    assert!(
        !plain.contains("\x1b[32m") && !plain.contains("\x1b[1;31m"),
        "{plain}"
    );
    let piped = Command::new(bin)
        .current_dir(root)
        .args(["run", "scenarios/anthropic-overloaded-direct.yaml", "--out"])
        .arg(dir.path().join("out2"))
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&piped.stdout);
    assert!(
        text.contains("PASS anthropic-overloaded-direct") && !text.contains('\x1b'),
        "{text}"
    );
}

#[tokio::test]
async fn drill_markdown_has_a_matrix_and_diagrams_that_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = crossfire::gateway::portkey::config::load(
        &root.join("examples/portkey/fallback-on-status-codes.json"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = support::drill_options(
        &dir.path().join("out"),
        &[
            crossfire::mock_providers::FailureClass::RateLimit,
            crossfire::mock_providers::FailureClass::Overloaded,
        ],
        &[],
    );
    let report = crossfire::drill::drill(&cfg, &opts).await.unwrap();
    // The matrix below was measured on Portkey 1.15.2: crossfire's pin and
    // the version the drill ran (from the installed package).
    assert_eq!(
        crossfire::gateway::portkey::VERSION,
        "1.15.2",
        "crossfire now pins another Portkey: re-measure the matrix pinned here"
    );
    assert_eq!(report.gateway_version.as_deref(), Some("1.15.2"));
    let md = crossfire::drill::render_markdown(&report);
    // Portkey 1.15.2: the 529 stays on Anthropic, an illusion whose cause
    // (`on_status_codes` without 529) is in the cell table.
    assert!(
        md.contains("| fallback-on-status-codes | crossed | ILLUSION |"),
        "{md}"
    );
    assert!(
        md.contains("omits 529: anthropic overloaded answers stay on anthropic |"),
        "{md}"
    );
    // The chart draws the team's deployments, not crossfire's per-cell
    // copies: one node each, the cells' edges added up.
    // Measured with Portkey 1.15.2.
    assert!(!md.contains("cell0") && !md.contains("cell1"), "{md}");
    assert_eq!(md.matches("  d_anthropic[").count(), 1, "{md}");
    assert_eq!(md.matches("  d_openai[").count(), 1, "{md}");
    assert!(
        md.contains("d_anthropic -->|\"2x 429 rate_limit\"| d_openai"),
        "{md}"
    );
    assert!(
        md.contains("d_anthropic -->|\"2x 529 overloaded\"| fail_529_fallback_on_status_codes"),
        "{md}"
    );
    assert!(
        md.starts_with(&format!(
            "# crossfire drill: `{}`\n\nportkey 1.15.2 ·",
            root.join("examples/portkey/fallback-on-status-codes.json")
                .display()
        )),
        "{md}"
    );
    let file = dir.path().join("drill.md");
    std::fs::write(&file, &md).unwrap();
    mermaid_parses(&[&file]);
}

#[test]
fn an_all_errors_litellm_run_names_the_litellm_version_in_every_report() {
    // LiteLLM 1.108.7 sends `x-litellm-version` with successes only: here
    // every answer is an error, so the version comes from the installed
    // package (its dist-info), and every report shows it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root.join("examples/litellm/fallbacks.yaml"),
        dir.path().join("litellm.yaml"),
    )
    .unwrap();
    let scenario = dir.path().join("errors.yaml");
    std::fs::write(
        &scenario,
        "name: all-errors\ngateway: {kind: litellm, config: litellm.yaml}\nfaults:\n  - on: claude-opus\n    fault: auth\n  - on: gpt-4o\n    fault: auth\ntraffic:\n  - model: claude-opus\n    requests: 1\n",
    )
    .unwrap();
    let (json, junit, md) = (
        dir.path().join("run.json"),
        dir.path().join("run.xml"),
        dir.path().join("run.md"),
    );
    let out = crossfire()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--markdown")
        .arg(&md)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let s = &v["scenarios"][0];
    assert!(
        s["requests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] != 200 && r["headers"].get("x-litellm-version").is_none()),
        "{s}"
    );
    assert_eq!(s["gateway_version"], "1.108.7", "{text}");
    assert!(
        text.contains("(litellm 1.108.7 gateway, 1 requests"),
        "{text}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<property name="gateway_version" value="1.108.7"/>"#),
        "{xml}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("| all-errors | litellm 1.108.7 |"), "{md}");
}

#[tokio::test]
async fn a_litellm_drill_chart_draws_the_teams_deployments_not_the_cell_copies() {
    // LiteLLM 1.108.7: each cell runs on its own copies (`claude-opus--cell0`,
    // ...); the chart draws `claude-opus` and `gpt-4o` once each, the cells'
    // edges added up, and the diagram parses.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg =
        crossfire::gateway::litellm::config::load(&root.join("examples/litellm/fallbacks.yaml"))
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = support::drill_options(
        &dir.path().join("out"),
        &[
            crossfire::mock_providers::FailureClass::RateLimit,
            crossfire::mock_providers::FailureClass::ServerError,
        ],
        &["claude-opus"],
    );
    let report = crossfire::drill::drill(&cfg, &opts).await.unwrap();
    assert_eq!(report.gateway_version.as_deref(), Some("1.108.7"));
    let md = crossfire::drill::render_markdown(&report);
    let chart = &md[md.find("```mermaid").expect("a chart")..];
    assert!(!chart.contains("cell"), "{chart}");
    assert_eq!(chart.matches("  d_claude_opus[").count(), 1, "{chart}");
    assert_eq!(chart.matches("  d_gpt_4o[").count(), 1, "{chart}");
    // num_retries 2: three 429s, then GPT, in each of the two requests.
    assert!(
        chart.contains("d_claude_opus -->|\"4x 429 rate_limit\"| d_claude_opus"),
        "{chart}"
    );
    assert!(
        chart.contains("d_claude_opus -->|\"2x 429 rate_limit\"| d_gpt_4o"),
        "{chart}"
    );
    let file = dir.path().join("drill.md");
    std::fs::write(&file, &md).unwrap();
    mermaid_parses(&[&file]);
}
