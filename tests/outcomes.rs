//! Outcomes a user once got wrong: a command that failed where it should
//! have run, an exit code that blamed the wrong party, an interrupted report
//! that called what never ran a finding. Each test is named after what it
//! guards; the comment says why it broke.

mod support;

use std::path::Path;
use std::process::Output;
use support::crossfire;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A LiteLLM config with an item crossfire has no mock for (Cohere) beside
/// one it maps.
const WITH_UNMAPPED: &str = "model_list:\n  - model_name: command-r\n    litellm_params:\n      model: cohere/command-r\n      api_key: os.environ/COHERE_API_KEY\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o\n";

/// Only items crossfire has no mock for.
const ONLY_UNMAPPED: &str =
    "model_list:\n  - model_name: command-r\n    litellm_params:\n      model: cohere/command-r\n";

/// The base folder of a scenario given as a bare file name was its empty
/// parent, and the command gateway could not start in it (exit 3).
#[test]
fn a_command_gateway_scenario_given_as_a_bare_file_name_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = crossfire()
        .args(["run", "refgw-cross-provider-failover.yaml", "--out"])
        .arg(dir.path())
        .current_dir(root().join("scenarios"))
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("1 scenario: 1 passed"), "{stdout}");
}

/// `drill` ran a config with an unmapped item anyway (LiteLLM then tried the
/// cloud metadata address) where `run` refused: they now agree, exit 2,
/// naming the item in the user's file, before anything starts.
#[test]
fn drill_refuses_an_unmapped_item_as_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("litellm.yaml");
    std::fs::write(&config, WITH_UNMAPPED).unwrap();
    let out = crossfire()
        .args(["drill", "--gateway", "litellm", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    let expected = format!(
        "error: {}:4:14: model `cohere/command-r` (group `command-r`): crossfire has no mock for LiteLLM provider `cohere`",
        config.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(stderr.contains("--allow-unmapped"), "{stderr}");
    assert!(
        !dir.path().join("out").exists(),
        "nothing starts before the input is valid"
    );
}

/// A config whose every item is unmapped was blamed on crossfire's own
/// generated `drill-source.yaml`; the error is in the user's file.
#[test]
fn a_drill_with_nothing_mappable_names_the_users_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("litellm.yaml");
    std::fs::write(&config, ONLY_UNMAPPED).unwrap();
    let out = crossfire()
        .args([
            "drill",
            "--gateway",
            "litellm",
            "--allow-unmapped",
            "--config",
        ])
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let (code, _, stderr) = text(&out);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: {}:1:1: no model group to drill has an item crossfire can map to a mock (unmapped: `cohere/command-r`); nothing to drill\n",
            config.display()
        )
    );
}

fn url_scenario(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("scenario.yaml");
    std::fs::write(
        &file,
        "name: staging\ndeployments:\n  - id: gpt\n    dialect: openai\ntraffic:\n  - model: gpt-4o\n    requests: 1\n",
    )
    .unwrap();
    file
}

/// A url gateway nobody listens on was reported as a gateway that "answered
/// by itself" (exit 1, a finding); it is infrastructure: exit 3, in words.
#[test]
fn a_url_gateway_that_refuses_connections_is_infrastructure() {
    let dir = tempfile::tempdir().unwrap();
    let file = url_scenario(dir.path());
    let out = crossfire()
        .arg("run")
        .arg(&file)
        .args(["--gateway", "url", "--url", "http://127.0.0.1:1", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("cannot connect to the gateway at http://127.0.0.1:1: connection refused"),
        "{stdout}"
    );
    assert!(!stdout.contains("answered by itself"), "{stdout}");
}

/// A bad `--url` was blamed on `scenario.yaml:1:1`.
#[test]
fn a_malformed_url_flag_is_the_flags_fault() {
    let dir = tempfile::tempdir().unwrap();
    let file = url_scenario(dir.path());
    let out = crossfire()
        .arg("run")
        .arg(&file)
        .args(["--gateway", "url", "--url", "http://[::1"])
        .output()
        .unwrap();
    let (code, _, stderr) = text(&out);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr,
        "error: --url http://[::1: `http://[::1` is not a valid URL: invalid IPv6 address\n"
    );
}

/// A journal on a full disk was warned about once at shutdown, exit 0,
/// while every request was served: the journal is the evidence, so the
/// first failed write stops the mocks with an error naming the file.
#[test]
fn a_journal_that_cannot_be_written_stops_the_mocks_at_once() {
    use std::process::Stdio;
    use std::time::Duration;
    let mut child = support::ChildGuard(
        crossfire()
            .args([
                "mock",
                "--deployment",
                "gpt=openai",
                "--journal",
                "/dev/full",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let lines = support::lines(child.stdout.take().unwrap());
    let line = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("the mock prints its URL")
        .unwrap();
    let url = line.split_whitespace().nth(2).unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/v1/chat/completions"))
            .json(&serde_json::json!({"model": "gpt-4o",
                "messages": [{"role": "user", "content": "hi [xf:full:1]"}]}))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    assert_eq!(status.ok(), Some(200), "the request itself is served");
    // No signal is sent: the failed write alone ends the command.
    let status = support::wait_with_timeout(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status, Some(3), "{stderr}");
    assert!(stderr.contains("WARN"), "{stderr}");
    assert!(
        !stderr.contains('\x1b'),
        "no colour into a pipe: {stderr:?}"
    );
    assert!(
        stderr
            .contains("error: could not write the journal file /dev/full: No space left on device"),
        "{stderr}"
    );
}

/// `mock --journal /` exited 3 without saying which file.
#[test]
fn a_journal_that_cannot_be_opened_is_named() {
    let out = crossfire()
        .args(["mock", "--deployment", "gpt=openai", "--journal", "/"])
        .output()
        .unwrap();
    let (code, _, stderr) = text(&out);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.starts_with("error: could not open the journal file /: "),
        "{stderr}"
    );
}

/// Warnings and logs carried ANSI colour codes into pipes and files.
#[test]
fn logs_into_a_pipe_carry_no_colour_codes() {
    use std::process::Stdio;
    use std::time::Duration;
    let mut child = support::ChildGuard(
        crossfire()
            .args(["-v", "mock", "--deployment", "gpt=openai"])
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .env("TERM", "xterm-256color")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let lines = support::lines(child.stdout.take().unwrap());
    lines
        .recv_timeout(Duration::from_secs(20))
        .expect("the mock prints its URL")
        .unwrap();
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(
        support::wait_with_timeout(&mut child, Duration::from_secs(10)),
        Some(0)
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("INFO"), "{stderr}");
    assert!(stderr.contains("mocks stopped"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

/// Ctrl-C while every request waited on the gateway reported "0 requests,
/// attempts no request claims" though the journal held their attempts: the
/// requests cut short now claim their attempts and are named as cut short,
/// neither counted as paths nor judged.
#[test]
fn an_interrupted_run_says_what_ran_and_what_was_cut_short() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let c = support::case(
        &format!(
            "name: cut-short\n{}deployments:\n  - id: claude\n    dialect: anthropic\n  - id: gpt\n    dialect: openai\nfaults:\n  - on: claude\n    fault: server_error\n  - on: gpt\n    fault: timeout\n    delay: 60s\ntraffic:\n  - model: claude-opus\n    requests: 4\n    concurrency: 4\n",
            support::REFGW_GATEWAY
        ),
        Some(&support::refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"timeout\": 90, \"targets\": [{}, {}]}}",
            support::target("claude", "anthropic"),
            support::target("gpt", "openai")
        ))),
    );
    let out = c.dir.path().join("out");
    let mut child = support::ChildGuard(
        crossfire()
            .arg("run")
            .arg(&c.scenario)
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait until the four Anthropic attempts are journaled: every request
    // now waits on the slow OpenAI deployment.
    let journal = out.join("01-cut-short/journal.jsonl");
    let start = Instant::now();
    while mock_providers::journal::read_jsonl(&journal).map_or(0, |j| j.len()) < 4 {
        assert!(start.elapsed() < Duration::from_secs(30), "no traffic");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: signalling the crossfire process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(
        support::wait_with_timeout(&mut child, Duration::from_secs(30)),
        Some(130)
    );
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(stdout.contains("INTERRUPTED cut-short"), "{stdout}");
    assert!(
        stdout.contains("interrupted: 0 requests were answered; 4 requests were cut short before the gateway answered"),
        "{stdout}"
    );
    assert!(!stdout.contains("no request claims"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("01-cut-short/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["cut_short"].as_array().map(Vec::len), Some(4));
    assert_eq!(report["stray"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(0));
}

/// An interrupted Portkey drill once showed a cell it never finished as a
/// finding. Ctrl-C while the timeout cell waits on its slow provider: that
/// cell is "not run" (in the terminal, drill.json and Markdown), the report
/// says it was interrupted, and nothing unrun counts as a finding.
/// Pinned on Portkey 1.15.2.
#[test]
fn an_interrupted_drill_marks_its_unfinished_cell_not_run() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let markdown = dir.path().join("drill.md");
    let mut child = support::ChildGuard(
        crossfire()
            .args(["drill", "--gateway", "portkey", "--config"])
            .arg(root().join("examples/portkey/fallback.json"))
            .args(["--classes", "server_error,timeout", "--out"])
            .arg(&out)
            .arg("--markdown")
            .arg(&markdown)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The server_error cell is over once both of its requests crossed; the
    // timeout cell's provider holds its answer for 10 s.
    let journal = out.join("journal.jsonl");
    let start = Instant::now();
    let served = |j: &[mock_providers::Attempt]| {
        j.iter()
            .filter(|a| a.outcome == mock_providers::Outcome::Served)
            .count()
    };
    while mock_providers::journal::read_jsonl(&journal).map_or(0, |j| served(&j)) < 2 {
        assert!(start.elapsed() < Duration::from_secs(60), "no traffic");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling the crossfire process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(
        support::wait_with_timeout(&mut child, Duration::from_secs(30)),
        Some(130)
    );
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(
        stdout.contains("interrupted by Ctrl-C: 1 of 2 cells ran"),
        "{stdout}"
    );
    let timeout_row = stdout
        .lines()
        .find(|l| l.contains(" timeout "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(timeout_row.trim_end().ends_with("not run"), "{stdout}");
    assert!(
        stdout.contains("why: Ctrl-C stopped its 2 requests before the gateway answered"),
        "{stdout}"
    );
    assert!(!stdout.contains("ILLUSION"), "{stdout}");
    assert!(
        stdout.contains("2 cells: 0 Failover Illusion, 0 unlike the prediction, 1 not run"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("drill.json")).unwrap()).unwrap();
    assert_eq!(report["interrupted"], true);
    let verdicts: Vec<&str> = report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["crossed", "not_run"]);
    let md = std::fs::read_to_string(&markdown).unwrap();
    assert!(
        md.contains("**interrupted by Ctrl-C: 1 of 2 cells ran"),
        "{md}"
    );
    assert!(md.contains("| fallback | crossed | not run |"), "{md}");
}
