//! `crossfire drill` as a user runs it: `--snapshots` written, unchanged and
//! changed, `--fail-on changes`, `--json`, exits 0/1/2/3/130, and snapshots
//! of groups the gateway routes at random. The routing itself is Portkey's
//! (1.15.2, starts in under a second); every behaviour pinned here is
//! already pinned, with its version, by tests/portkey.rs.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use support::{crossfire, group_alive, ChildGuard};

/// The Portkey version the paths below were measured on.
const MEASURED_ON: &str = "1.15.2";

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/portkey")
        .join(name)
}

/// `crossfire drill --gateway portkey --config CONFIG --classes CLASSES`
/// with `extra` flags, in a fresh run folder.
fn drill(config: &Path, classes: &str, extra: &[&std::ffi::OsStr]) -> Output {
    let out = tempfile::tempdir().unwrap();
    crossfire()
        .args(["drill", "--gateway", "portkey", "--config"])
        .arg(config)
        .args(["--classes", classes, "--out"])
        .arg(out.path())
        .args(extra)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The snapshot a `rate_limit` drill of examples/portkey/fallback.json
/// writes: both requests cross from Anthropic to OpenAI (Portkey 1.15.2).
const FALLBACK_SNAPSHOT: &str = "name: drill-fallback
groups:
  rate_limit, fallback:
    paths:
      anthropic/anthropic 429 -> openai/openai 200 => client 200: 2
    ends_on:
    - openai
";

#[test]
fn drill_snapshots_are_written_kept_and_a_change_fails_with_fail_on_changes() {
    let dir = tempfile::tempdir().unwrap();
    let snaps = dir.path().join("snaps");
    let json = dir.path().join("drill.json");
    let config = example("fallback.json");
    let flags = |extra: &[&str]| -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec![
            "--snapshots".into(),
            snaps.clone().into(),
            "--fail-on".into(),
            "changes".into(),
            "--json".into(),
            json.clone().into(),
        ];
        v.extend(extra.iter().map(Into::into));
        v
    };
    let run = |extra: &[&str]| {
        let f = flags(extra);
        let refs: Vec<&std::ffi::OsStr> = f.iter().map(|s| s.as_os_str()).collect();
        drill(&config, "rate_limit", &refs)
    };
    let file = snaps.join("drill-fallback.yaml");

    // First run: no snapshot yet, one is written.
    let first = run(&[]);
    let said = text(&first.stdout);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{said}{}",
        text(&first.stderr)
    );
    assert!(
        said.contains(&format!(
            "snapshot: {{\"status\":\"new\",\"file\":\"{}\"}}",
            file.display()
        )),
        "{said}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), FALLBACK_SNAPSHOT);
    // --json: the whole drill, its one cell with both paths.
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["gateway"], "portkey");
    assert_eq!(v["gateway_version"], MEASURED_ON);
    assert_eq!(v["interrupted"], false);
    let cells = v["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "{v}");
    assert_eq!(cells[0]["class"], "rate_limit");
    assert_eq!(cells[0]["group"], "fallback");
    assert_eq!(cells[0]["verdict"], "crossed");
    assert_eq!(cells[0]["as_predicted"], true);
    assert_eq!(cells[0]["observed"], "anthropic -> openai (openai) 200");
    assert_eq!(cells[0]["paths"].as_array().unwrap().len(), 2);

    // Second run: the same behaviour, the snapshot is unchanged.
    let second = run(&[]);
    let said = text(&second.stdout);
    assert_eq!(second.status.code(), Some(0), "{said}");
    assert!(said.contains("snapshot: {\"status\":\"matched\""), "{said}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), FALLBACK_SNAPSHOT);

    // An accepted snapshot that says the 429 used to reach the client: the
    // run differs from it, and `--fail-on changes` fails it, in words.
    let planted = FALLBACK_SNAPSHOT
        .replace(
            "anthropic/anthropic 429 -> openai/openai 200 => client 200: 2",
            "anthropic/anthropic 429 => client 429 (failed): 2",
        )
        .replace("- openai", "- failed");
    std::fs::write(&file, &planted).unwrap();
    let changed = run(&[]);
    let said = text(&changed.stdout);
    assert_eq!(changed.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("SNAPSHOT CHANGED ({}):", file.display())),
        "{said}"
    );
    assert!(
        said.contains("-      anthropic/anthropic 429 => client 429 (failed): 2"),
        "{said}"
    );
    assert!(
        said.contains("+      anthropic/anthropic 429 -> openai/openai 200 => client 200: 2"),
        "{said}"
    );
    assert!(said.contains("(accept with --update-snapshots)"), "{said}");
    // Not accepted: the file still holds the planted snapshot.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), planted);

    // --update-snapshots accepts what was seen.
    let accepted = run(&["--update-snapshots"]);
    assert_eq!(
        accepted.status.code(),
        Some(0),
        "{}",
        text(&accepted.stdout)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), FALLBACK_SNAPSHOT);
}

#[test]
fn fail_on_changes_passes_an_accepted_illusion_that_fail_on_findings_fails() {
    // Portkey 1.15.2 with `on_status_codes` leaves Anthropic's 529 on
    // Anthropic: a Failover Illusion (tests/portkey.rs pins it).
    let config = example("fallback-on-status-codes.json");
    let findings = drill(&config, "overloaded", &[]);
    let said = text(&findings.stdout);
    assert_eq!(findings.status.code(), Some(1), "{said}");
    assert!(said.contains("ILLUSION"), "{said}");
    assert!(said.contains("1 cells: 1 Failover Illusion"), "{said}");

    let snaps = tempfile::tempdir().unwrap();
    let flags = [
        std::ffi::OsStr::new("--snapshots"),
        snaps.path().as_os_str(),
        std::ffi::OsStr::new("--fail-on"),
        std::ffi::OsStr::new("changes"),
    ];
    for status in ["new", "matched"] {
        let out = drill(&config, "overloaded", &flags);
        let said = text(&out.stdout);
        // The illusion is still reported, but it is the accepted behaviour.
        assert!(said.contains("ILLUSION"), "{said}");
        assert!(
            said.contains(&format!("snapshot: {{\"status\":\"{status}\"")),
            "{said}"
        );
        assert_eq!(out.status.code(), Some(0), "{status}: {said}");
    }
}

#[test]
fn a_randomly_routed_group_keeps_its_snapshot_whatever_the_split() {
    // `loadbalance` picks a target at random for each request: how many of
    // the 20 requests of a cell meet the failing target changes from run to
    // run, so the snapshot keeps which paths occur, not how often.
    let config = example("loadbalance.json");
    let snaps = tempfile::tempdir().unwrap();
    let flags = [
        std::ffi::OsStr::new("--snapshots"),
        snaps.path().as_os_str(),
        std::ffi::OsStr::new("--fail-on"),
        std::ffi::OsStr::new("changes"),
    ];
    let want = "name: drill-loadbalance
note: 'rate_limit, loadbalance picked at random by the gateway: their snapshot keeps which paths and providers occur, not how often'
groups:
  rate_limit, loadbalance:
    random: true
    paths:
      anthropic/anthropic 429 => client 429 (failed): 0
      openai/openai 200 => client 200: 0
    ends_on:
    - failed
    - openai
";
    let mut splits = Vec::new();
    for (i, status) in ["new", "matched", "matched"].iter().enumerate() {
        let out = drill(&config, "rate_limit", &flags);
        let said = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "run {i}: {said}");
        assert!(
            said.contains(&format!("snapshot: {{\"status\":\"{status}\"")),
            "run {i}: {said}"
        );
        let file = snaps.path().join("drill-loadbalance.yaml");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), want, "run {i}");
        splits.extend(
            said.lines()
                .find(|l| l.contains("requests met the fault"))
                .map(str::trim)
                .map(String::from),
        );
    }
    assert_eq!(splits.len(), 3, "{splits:?}");
}

#[test]
fn drill_flag_errors_exit_2_before_anything_runs() {
    let config = example("fallback.json");
    let cases: [(&[&str], &str); 6] = [
        (
            &["--fail-on", "changes"],
            "error: --fail-on changes: compares with accepted snapshots: give `--snapshots DIR`",
        ),
        (
            &["--classes", "rate_limt"],
            "error: --classes rate_limt: unknown failure class; did you mean `rate_limit`?",
        ),
        (
            &["--groups", "fallbak"],
            "error: --groups fallbak: no such model group; did you mean `fallback`?",
        ),
        (
            &["--requests", "0"],
            "error: --requests 0: a cell needs at least 1 request",
        ),
        (
            &["--json", "/nonexistent-dir/drill.json"],
            "error: --json /nonexistent-dir/drill.json:",
        ),
        (
            &["--gateway", "helicone"],
            "error: --gateway helicone: drill runs `litellm`",
        ),
    ];
    for (flags, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = crossfire();
        cmd.arg("drill");
        if !flags.contains(&"--gateway") {
            cmd.args(["--gateway", "portkey"]);
        }
        let out = cmd
            .arg("--config")
            .arg(&config)
            .args(flags)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.starts_with(want), "{flags:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{flags:?} ran: {}",
            text(&out.stdout)
        );
        assert!(
            !dir.path().join("out").exists(),
            "{flags:?} made a run folder"
        );
    }
    // No config at all.
    let out = crossfire()
        .args(["drill", "--gateway", "portkey"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim(),
        "error: drill: needs `--gateway litellm|portkey|tensorzero --config FILE`"
    );
}

#[test]
fn a_drill_whose_gateway_will_not_start_exits_3_and_says_why() {
    // `--litellm` names a program that exits at once: no LiteLLM starts.
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/litellm/fallbacks.yaml");
    let dir = tempfile::tempdir().unwrap();
    let out = crossfire()
        .args(["drill", "--gateway", "litellm", "--config"])
        .arg(&config)
        .args([
            "--classes",
            "rate_limit",
            "--litellm",
            "/bin/false",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("error: the gateway exited before it was ready (exit status: 1)"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn ctrl_c_during_a_drill_stops_portkey_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Timeouts keep their requests waiting for seconds, so the drill is
    // still running when Ctrl-C comes; the rate-limit cell, sent at the
    // same time, answers at once and shows the traffic is flowing.
    let mut child = ChildGuard(
        crossfire()
            .args(["drill", "--gateway", "portkey", "--config"])
            .arg(example("fallback.json"))
            .args([
                "--classes",
                "rate_limit,timeout",
                "--requests",
                "4",
                "--out",
            ])
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    let pgid = loop {
        let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap_or_default();
        let pid = std::fs::read_to_string(out.join("gateway.pid")).unwrap_or_default();
        if let (false, Ok(pid)) = (journal.is_empty(), pid.trim().parse::<i32>()) {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no traffic reached the mocks"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(group_alive(pgid), "Portkey is not running");
    // It stops at once, without waiting for the slow answers.
    let took = support::interrupt_and_wait(&mut child, pgid);
    let mut said = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut said).unwrap();
    assert!(
        said.contains("  fallback  timeout                not run   not run"),
        "{said}"
    );
    // An interrupted drill judges no cell, not even one whose requests ended.
    assert!(
        said.contains("2 cells: 0 Failover Illusion, 0 unlike the prediction, 2 not run;"),
        "{said}"
    );
    assert!(
        took < Duration::from_secs(5),
        "Ctrl-C took {took:?}: {said}"
    );
}
