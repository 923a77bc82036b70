//! `crossfire explore` finds a bug planted in the reference gateway (it stops
//! failing over after its third upstream failure), shrinks it to the smallest
//! schedule, and writes a scenario that `crossfire run` fails the same way.

mod support;

use support::{case, crossfire, refgw_config, target, REFGW_GATEWAY};

#[test]
fn explore_finds_shrinks_and_writes_a_reproducing_scenario() {
    let deployments = "deployments:\n  - id: claude\n    dialect: anthropic\n    model: claude-opus-4-1\n  - id: gpt\n    dialect: openai\n    model: gpt-4o\n";
    let c = case(
        &format!(
            "name: planted\n{REFGW_GATEWAY}{deployments}intent:\n  claude-opus: [openai]\ntraffic:\n  - model: claude-opus\n    requests: 6\n"
        ),
        Some(
            &refgw_config(&format!(
                "{{\"mode\": \"fallback\", \"targets\": [{}, {}], \"stop_failover_after\": 3}}",
                target("claude", "anthropic"),
                target("gpt", "openai")
            )),
        ),
    );
    let written = c.dir.path().join("found.yaml");
    let out = crossfire()
        .arg("explore")
        .arg(&c.scenario)
        .args([
            "--cases",
            "24",
            "--seed",
            "7",
            "--classes",
            "rate_limit,server_error,overloaded",
            "--max-faults",
            "2",
        ])
        .arg("--out")
        .arg(c.dir.path().join("out"))
        .arg("--write")
        .arg(&written)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("seed 7"), "{stderr}");
    assert!(stdout.contains("VIOLATION"), "{stdout}");
    assert!(
        stdout.contains("while openai was healthy and promised, yet it failed"),
        "{stdout}"
    );
    // Shrunk to one fault on Claude failing exactly the four attempts it
    // takes to get past the planted limit of three.
    let text = std::fs::read_to_string(&written).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let faults = doc["faults"].as_sequence().unwrap();
    assert_eq!(faults.len(), 1, "{text}");
    assert_eq!(faults[0]["on"], "claude", "{text}");
    assert_eq!(faults[0]["schedule"]["first"], 4, "{text}");
    // The written scenario fails the same way under `crossfire run`.
    let rerun = crossfire()
        .arg("run")
        .arg(&written)
        .arg("--out")
        .arg(c.dir.path().join("rerun"))
        .output()
        .unwrap();
    let rerun_out = String::from_utf8_lossy(&rerun.stdout);
    assert_eq!(rerun.status.code(), Some(1), "{rerun_out}");
    assert!(
        rerun_out.contains("Failover Illusion: 1 request\n"),
        "{rerun_out}"
    );
}
