//! `crossfire run` as a user runs it: exit codes, JSON and JUnit files, the
//! run folder, and no process left behind on Ctrl-C or a gateway that never
//! becomes ready.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{
    case, crossfire, group_alive, refgw_config, target, wait_with_timeout, REFGW_GATEWAY,
    THREE_DEPLOYMENTS,
};

/// The gateway's pid from the line the reference gateway logs when it listens.
/// The processes of process group `pgid`, from /proc/PID/stat (field 5).
fn group_members(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name may hold spaces: the fields start after its `)`.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        // fields[0] is the state (Z: a zombie is already gone), fields[2] the group.
        if fields.get(2) == Some(&pgid.to_string().as_str()) && fields.first() != Some(&"Z") {
            out.push(pid);
        }
    }
    out
}

fn gateway_pid(run_dir: &Path) -> Option<i32> {
    let log = std::fs::read_to_string(run_dir.join("gateway.log")).ok()?;
    let pid = log.split("pid=").nth(1)?;
    pid.split_whitespace().next()?.parse().ok()
}

#[test]
fn exit_codes_json_and_junit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let junit = dir.path().join("run.xml");
    let out = crossfire()
        .current_dir(root)
        .args(["run", "scenarios/"])
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The illusion scenario fails on purpose: exit 1, a finding.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("PASS refgw-cross-provider-failover"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Failover Illusion: 10 requests"),
        "{stdout}"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let scenarios = v["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 6);
    let cross = scenarios
        .iter()
        .find(|s| s["name"] == "refgw-cross-provider-failover")
        .unwrap();
    assert_eq!(cross["paths"].as_array().unwrap().len(), 20);
    assert_eq!(cross["paths"][0]["class"], "crossed_provider");
    assert!(Path::new(cross["journal"].as_str().unwrap()).exists());
    // The JUnit file is well-formed XML with one testcase per expectation and
    // per finding, checked by Python's XML parser.
    let check = r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = {s.get("name"): s for s in root.findall("testsuite")}
cross = suites["refgw-cross-provider-failover"]
# Five expectations, and the check that its one fault met a client request.
names = [c.get("name") for c in cross.findall("testcase")]
assert len(names) == 6 and cross.find("testcase/failure") is None, names
assert any(n.startswith("fault faults[0]: rate_limit on anthropic") for n in names), names
illusion = suites["refgw-same-provider-illusion"]
failures = illusion.findall("testcase/failure")
assert len(failures) == 10 and failures[0].get("type") == "failover_illusion", failures
print("ok", len(suites))
"#;
    let py = Command::new("python3")
        .arg("-c")
        .arg(check)
        .arg(&junit)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&py.stdout).trim(), "ok 6");
}

#[test]
fn bad_input_exits_2_before_anything_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = crossfire()
        .current_dir(root)
        .args([
            "run",
            "scenarios/",
            "tests/data/scenarios/bad/unknown-fault.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "something ran");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: tests/data/scenarios/bad/unknown-fault.yaml:12:12: faults[0].fault: unknown value `rate_limt`; did you mean `rate_limit`?"
    );
}

#[test]
fn ctrl_c_stops_the_gateway_process_group_and_keeps_the_journal() {
    let c = case(
        &format!(
            "name: long-run\n{REFGW_GATEWAY}{THREE_DEPLOYMENTS}traffic:\n  - model: claude-opus\n    duration: 60s\n    rate: 20\n"
        ),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"targets\": [{}]}}",
            target("gpt", "openai")
        )).replace("\"groups\"", "\"spawn_helper\": true,\n  \"groups\"")),
    );
    let out = c.dir.path().join("out");
    let mut child = support::spawn_run(&c, &out);
    let run_dir = out.join("01-long-run");
    let start = Instant::now();
    let pid = loop {
        if let Some(pid) = gateway_pid(&run_dir) {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the gateway never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // Let some traffic through, then press Ctrl-C. The group holds the
    // gateway and the helper it spawned (`sleep 600`): it must exist first.
    let until = Instant::now() + Duration::from_secs(10);
    while group_members(pid).len() < 2 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = group_members(pid);
    assert!(
        before.contains(&pid) && before.len() >= 2,
        "the gateway {pid} and its helper are not both in its group: {before:?}"
    );
    let journal_file = run_dir.join("journal.jsonl");
    let until = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&journal_file).map_or(0, |m| m.len()) == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling the crossfire process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(20)),
        Some(130)
    );
    // The gateway and the helper it spawned (same process group) are gone.
    let gone = Instant::now();
    while !group_members(pid).is_empty() && gone.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = group_members(pid);
    assert!(
        after.is_empty(),
        "the gateway's process group outlived crossfire: {after:?} (of {before:?})"
    );
    let journal = mock_providers::journal::read_jsonl(&run_dir.join("journal.jsonl")).unwrap();
    assert!(!journal.is_empty(), "the journal lost what was recorded");
    assert!(run_dir.join("report.json").exists());
}

#[test]
fn a_gateway_that_never_gets_ready_is_stopped_and_exits_3() {
    let c = case(
        "name: never-ready\ngateway:\n  kind: command\n  command: [python3, -c, \"import os, sys, time; print('pid=%d' % os.getpid(), flush=True); time.sleep(600)\"]\n  ready: /health\n  startup_timeout: 1s\ndeployments:\n  - id: gpt\n    dialect: openai\ntraffic:\n  - model: gpt-4o\n    requests: 1\n",
        None,
    );
    let out = c.dir.path().join("out");
    let result = crossfire()
        .arg("run")
        .arg(&c.scenario)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        stdout.contains("the gateway was not ready after 1s"),
        "{stdout}"
    );
    assert!(stdout.contains("pid="), "the log tail is shown: {stdout}");
    let pid = gateway_pid(&out.join("01-never-ready")).unwrap();
    assert!(!group_alive(pid));
}
