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

/// LiteLLM 1.108.7 with only `context_window_fallbacks`: a 500 on Claude
/// never reaches GPT, though the team's intent promises OpenAI. Explore
/// runs every case of it, the shrinking re-runs included, in one proxy
/// start (each case on its own copies of the group, so none meets another's
/// router state or mock counts), and still shrinks the violation to the
/// smallest schedule: with `num_retries: 2`, three 500s in a row. A proxy
/// per case took about 10 s a case here.
#[test]
fn explore_on_litellm_runs_every_case_in_one_proxy_start_and_still_shrinks() {
    let c = case(
        "name: cw-only\ngateway: {kind: litellm, config: litellm.yaml}\nintent:\n  claude-opus: [openai]\ntraffic:\n  - model: claude-opus\n    requests: 1\n",
        None,
    );
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/litellm/context-window-only.yaml"),
        c.dir.path().join("litellm.yaml"),
    )
    .unwrap();
    let written = c.dir.path().join("found.yaml");
    let out_dir = c.dir.path().join("out");
    let started = std::time::Instant::now();
    let out = crossfire()
        .arg("explore")
        .arg(&c.scenario)
        .args(["--cases", "12", "--seed", "3", "--max-faults", "1"])
        .args(["--classes", "server_error"])
        .arg("--out")
        .arg(&out_dir)
        .arg("--write")
        .arg(&written)
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("while openai was healthy and promised, yet it failed"),
        "{stdout}"
    );
    // One proxy for every case: one pid file.
    let pids = pid_files(&out_dir);
    assert_eq!(pids.len(), 1, "{pids:?}\n{stderr}");
    let runs: u32 = stdout
        .split("VIOLATION after ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(runs >= 2, "the violation was shrunk by re-runs: {stdout}");
    assert!(
        stderr.contains(&format!("{runs} cases in 1 gateway start")),
        "{stderr}"
    );
    // Shrunk as with a proxy per case: one fault, the three attempts
    // LiteLLM makes on Claude for the request.
    let text = std::fs::read_to_string(&written).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let faults = doc["faults"].as_sequence().unwrap();
    assert_eq!(faults.len(), 1, "{text}");
    assert_eq!(faults[0]["on"], "claude-opus", "{text}");
    assert_eq!(faults[0]["fault"], "server_error", "{text}");
    assert_eq!(faults[0]["schedule"]["first"], 3, "{text}");
    assert!(
        took < std::time::Duration::from_secs(45),
        "{runs} cases took {took:?}"
    );
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

/// The `gateway.pid` files under a run folder: one per gateway start.
fn pid_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut pids = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n == "gateway.pid") {
                pids.push(p);
            }
        }
    }
    pids
}

/// Portkey 1.15.2 (a copy per case through its per-request config header)
/// and TensorZero (copies of the model in its config) run every case in one
/// gateway start too, and each case's paths name the scenario's own
/// deployments, never a copy.
#[test]
fn explore_on_portkey_and_tensorzero_runs_every_case_in_one_gateway_start() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (kind, config, model) in [
        ("portkey", "examples/portkey/fallback.json", "claude-opus"),
        (
            "tensorzero",
            "examples/tensorzero/tensorzero.toml",
            "tensorzero::model_name::gpt-4o",
        ),
    ] {
        let c = case(
            &format!(
                "name: {kind}\ngateway: {{kind: {kind}, config: {}}}\ntraffic:\n  - model: \"{model}\"\n    requests: 3\n    concurrency: 3\n",
                root.join(config).display()
            ),
            None,
        );
        let out_dir = c.dir.path().join("out");
        let out = crossfire()
            .arg("explore")
            .arg(&c.scenario)
            .args(["--cases", "12", "--seed", "4", "--out"])
            .arg(&out_dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stdout.contains("in 12 runs"), "{kind}: {stdout}\n{stderr}");
        assert!(
            stderr.contains("12 cases in 1 gateway start"),
            "{kind}: {stderr}"
        );
        assert_eq!(pid_files(&out_dir).len(), 1, "{kind}: {stderr}");
        let paths = std::fs::read_to_string(out_dir.join("case-0001/paths.jsonl")).unwrap();
        assert!(paths.contains("\"deployment\""), "{kind}: {paths}");
        assert!(!paths.contains("--cell"), "{kind}: {paths}");
    }
}
