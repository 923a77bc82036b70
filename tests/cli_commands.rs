//! Commands with no other end-to-end test: `tax` on a drill's JSON and its
//! flags, `explore` that finds nothing, runs out of time or is stopped by
//! Ctrl-C, and `check` refusing a bad scenario. The gateways are the
//! reference gateway and, for the drill `tax` reads, Portkey 1.15.2.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{
    case, crossfire, group_alive, refgw_config, target, wait_with_timeout, ChildGuard,
    REFGW_GATEWAY,
};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn tax_reads_a_drill_json_and_needs_the_token_overhead_it_lacks() {
    // Portkey 1.15.2 moves a 429 and a 500 from Anthropic to OpenAI at
    // once: two deliveries of each prompt, the failed one not billed.
    let dir = tempfile::tempdir().unwrap();
    let drill_json = dir.path().join("drill.json");
    let drilled = crossfire()
        .args(["drill", "--gateway", "portkey", "--config"])
        .arg(root().join("examples/portkey/fallback.json"))
        .args(["--classes", "rate_limit,server_error", "--out"])
        .arg(dir.path().join("out"))
        .arg("--json")
        .arg(&drill_json)
        .output()
        .unwrap();
    assert_eq!(drilled.status.code(), Some(0), "{}", text(&drilled.stdout));

    // A drill measures no healthy token overhead: the flag must say it.
    let without = support::tax(&drill_json, &[]);
    assert_eq!(without.status.code(), Some(2));
    assert_eq!(
        text(&without.stderr).trim(),
        "error: --token-overhead: the file has no measured token overhead (a drill.json); give it, or use a compare.json"
    );
    let out = support::tax(
        &drill_json,
        &[
            "--token-overhead",
            "3",
            "--class-mix",
            "rate_limit=3,server_error=1",
            "--json",
        ],
    );
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Healthy: 10000 x 3% = 300. Under failure nothing extra is billed (the
    // 429 and the 500 are not), and every failure is rescued: no waste.
    assert_eq!(t["healthy_overhead"], 300.0, "{t}");
    assert_eq!(t["failure_overhead"], 0.0, "{t}");
    assert_eq!(t["misrouting_waste"], 0.0, "{t}");
    assert_eq!(t["routing_tax"], 300.0, "{t}");
    assert_eq!(t["selection_savings"], 200.0, "{t}");
    // 300 / 200 = 1.5: the router costs more than it saves, exit 1.
    assert_eq!(t["ratio"], 1.5, "{t}");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(t["class_mix"]["source"], "--class-mix");
    let classes = t["classes"].as_array().unwrap();
    let names: Vec<&str> = classes
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["server_error", "rate_limit"]);
    for c in classes {
        // Two requests, each delivered to Anthropic and then to OpenAI.
        assert_eq!(c["requests"], 2, "{c}");
        assert_eq!(c["received"], 4.0, "{c}");
        assert_eq!(c["billed_extra"], 0.0, "{c}");
    }
    // Savings that outweigh the tax: exit 0, in text.
    let cheap = crossfire()
        .args(["tax", "--from"])
        .arg(&drill_json)
        .args([
            "--monthly-spend",
            "10000",
            "--selection-savings",
            "20",
            "--token-overhead",
            "1",
        ])
        .output()
        .unwrap();
    let said = text(&cheap.stdout);
    assert_eq!(cheap.status.code(), Some(0), "{said}");
    assert!(said.contains("class mix: the default"), "{said}");

    // Bad flags and files: exit 2, naming them.
    let not_json = dir.path().join("notes.txt");
    std::fs::write(&not_json, "hello").unwrap();
    let negative = crossfire()
        .args(["tax", "--from"])
        .arg(&drill_json)
        .args([
            "--monthly-spend=-5",
            "--selection-savings",
            "2",
            "--token-overhead",
            "3",
        ])
        .output()
        .unwrap();
    assert_eq!(negative.status.code(), Some(2));
    assert_eq!(
        text(&negative.stderr).trim(),
        "error: --monthly-spend -5: must be zero or more"
    );
    for (file, extra, want) in [
        (
            not_json.clone(),
            vec![],
            format!("error: --from {}: not JSON:", not_json.display()),
        ),
        (
            dir.path().join("none.json"),
            vec![],
            format!(
                "error: --from {}: cannot read it:",
                dir.path().join("none.json").display()
            ),
        ),
    ] {
        let out = support::tax(&file, &extra);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.starts_with(&want), "{extra:?}: {err}");
    }
}

/// A healthy fallback from Claude to GPT, OpenAI promised: no schedule
/// explore draws can break an invariant.
fn healthy_explore_case() -> support::Case {
    let deployments = "deployments:\n  - id: claude\n    dialect: anthropic\n    model: claude-opus-4-1\n  - id: gpt\n    dialect: openai\n    model: gpt-4o\n";
    case(
        &format!(
            "name: healthy\n{REFGW_GATEWAY}{deployments}intent:\n  claude-opus: [openai]\ntraffic:\n  - model: claude-opus\n    requests: 2\n"
        ),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"targets\": [{}, {}]}}",
            target("claude", "anthropic"),
            target("gpt", "openai")
        ))),
    )
}

fn explore(c: &support::Case, extra: &[&str]) -> std::process::Command {
    let mut cmd = crossfire();
    cmd.arg("explore")
        .arg(&c.scenario)
        .args(["--seed", "3", "--classes", "rate_limit,server_error"])
        .arg("--out")
        .arg(c.dir.path().join("out"))
        .arg("--write")
        .arg(c.dir.path().join("found.yaml"))
        .args(extra);
    cmd
}

#[test]
fn explore_without_a_violation_exits_0_and_writes_nothing() {
    let c = healthy_explore_case();
    let out = explore(&c, &["--cases", "3"]).output().unwrap();
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    assert_eq!(said.trim(), "no invariant broken in 3 runs (seed 3)");
    assert!(!c.dir.path().join("found.yaml").exists());
}

#[test]
fn explore_stops_when_its_time_budget_is_spent_and_says_so() {
    let c = healthy_explore_case();
    let start = Instant::now();
    let out = explore(&c, &["--cases", "1000", "--time-budget", "1s"])
        .output()
        .unwrap();
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    assert!(
        said.trim()
            .ends_with("(seed 3); the time budget ended the search"),
        "{said}"
    );
    let runs: u32 = said
        .trim()
        .strip_prefix("no invariant broken in ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(runs < 1000, "{said}");
    // The budget stops new cases; the one running finishes.
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    // A bad budget is bad input.
    let bad = explore(&c, &["--time-budget", "soon"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).starts_with("error: --time-budget soon:"),
        "{}",
        text(&bad.stderr)
    );
}

/// The pids the reference gateway logged in every run folder under `dir`.
fn gateway_pids(dir: &Path) -> Vec<i32> {
    let mut pids = Vec::new();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "gateway.log") {
                let log = std::fs::read_to_string(&p).unwrap_or_default();
                pids.extend(
                    log.split("pid=")
                        .skip(1)
                        .filter_map(|s| s.split_whitespace().next()?.parse::<i32>().ok()),
                );
            }
        }
    }
    pids
}

#[test]
fn ctrl_c_during_explore_stops_its_gateway_and_exits_130() {
    let c = healthy_explore_case();
    let mut child = ChildGuard(
        explore(&c, &["--cases", "1000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait until a few cases ran.
    let start = Instant::now();
    while gateway_pids(&c.dir.path().join("out")).len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "explore never ran a case"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: signalling the crossfire process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(20)),
        Some(130)
    );
    let mut said = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut said).unwrap();
    assert!(said.starts_with("interrupted after "), "{said}");
    assert!(
        said.trim()
            .ends_with("(seed 3); no invariant broken so far"),
        "{said}"
    );
    let pids = gateway_pids(&c.dir.path().join("out"));
    assert!(pids.len() >= 2, "{pids:?}");
    let gone = Instant::now();
    while pids.iter().any(|p| group_alive(*p)) && gone.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let alive: Vec<&i32> = pids.iter().filter(|p| group_alive(**p)).collect();
    assert!(alive.is_empty(), "gateways outlived explore: {alive:?}");
    assert!(!c.dir.path().join("found.yaml").exists());
}

#[test]
fn check_refuses_a_bad_scenario_with_exit_2_and_passes_good_ones() {
    let good = crossfire()
        .current_dir(root())
        .args(["check", "scenarios/"])
        .output()
        .unwrap();
    let said = text(&good.stdout);
    assert_eq!(good.status.code(), Some(0), "{said}");
    assert_eq!(said.lines().count(), 6, "{said}");
    assert!(
        said.contains(
            "ok scenarios/refgw-cross-provider-failover.yaml (refgw-cross-provider-failover)"
        ),
        "{said}"
    );
    // One bad file among good ones: exit 2, nothing listed as ok.
    let bad = crossfire()
        .current_dir(root())
        .args([
            "check",
            "scenarios/",
            "tests/data/scenarios/bad/unknown-fault.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty(), "{}", text(&bad.stdout));
    assert_eq!(
        text(&bad.stderr).trim(),
        "error: tests/data/scenarios/bad/unknown-fault.yaml:12:12: faults[0].fault: unknown value `rate_limt`; did you mean `rate_limit`?"
    );
    let missing = crossfire()
        .current_dir(root())
        .args(["check", "scenarios/nope.yaml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).starts_with("error: scenarios/nope.yaml"),
        "{}",
        text(&missing.stderr)
    );
}
