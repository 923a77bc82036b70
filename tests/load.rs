//! `crossfire load` end to end on the real Portkey gateway (1.15.2; it
//! starts in about a second): two short steps, the table, the knee's
//! sentence, the plot and the JSON. No figure is asserted: timing belongs
//! in the benchmark, not in a test.

mod support;

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_load_run_steps_through_its_rates_and_reports_overhead_and_the_knee() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let md = dir.path().join("load.md");
    let out = support::crossfire()
        .args(["load", "--gateway", "portkey", "--config"])
        .arg(root().join("examples/portkey/fallback.json"))
        .args(["--rates", "5,10", "--step", "2s", "--out"])
        .arg(dir.path().join("out"))
        .arg("--json")
        .arg(&json)
        .arg("--markdown")
        .arg(&md)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("| 5 | 10 |"), "{stdout}");
    assert!(stdout.contains("| 10 | 20 |"), "{stdout}");
    assert!(stdout.contains("portkey "), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // The driver and the mocks kept up with four times the highest step
    // (a probe cold, without its warm-up, once read 90 ms p99 at 250/s
    // and warned about every step).
    assert_eq!(v["warnings"], serde_json::json!([]), "{}", v["ceiling"]);
    assert!(
        v["ceiling"]["kept_up_to"].as_f64().unwrap() >= 40.0,
        "{}",
        v["ceiling"]
    );
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    for s in steps {
        assert_eq!(s["errors"], 0, "{s}");
        assert!(s["overhead"]["p99_us"].is_i64(), "{s}");
        assert!(s["gateway"]["p50_us"].as_u64().unwrap() > 0, "{s}");
        // The gateway's own process group was measured.
        assert!(s["rss_kib"].as_u64().unwrap() > 10_000, "{s}");
    }
    let svg = std::fs::read_to_string(dir.path().join("out/load-overhead.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("p99.9"), "{svg}");
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .contains("](out/load-overhead.svg)"));
}

#[test]
fn load_bad_flags_exit_2_naming_the_flag() {
    for (args, says) in [
        (vec!["--rates", "0"], "--rates 0"),
        (vec!["--rates", "9000"], "--rates 9000"),
        (vec!["--step", "0s"], "--step 0s"),
        (vec!["--max-error-rate", "2"], "--max-error-rate 2"),
        (vec!["--group", "nope"], "--group nope"),
        (vec!["--outage-for", "3s"], "--outage-for"),
        (
            vec!["--outage-rate", "10", "--outage-fault", "unavailble"],
            "did you mean `unavailable`",
        ),
        (
            vec!["--outage-rate", "10", "--outage-on", "nope"],
            "--outage-on nope",
        ),
        (vec!["--outage-rate", "0"], "--outage-rate 0"),
        (vec!["--scenario", "x.yaml"], "--scenario"),
        (vec!["--workers", "3"], "--workers 3"),
        (vec!["--engine", "locust", "--workers", "0"], "--workers 0"),
        (
            vec!["--engine", "locust", "--workers", "65"],
            "--workers 65",
        ),
        (vec!["--journal", "j.jsonl"], "add `--engine locust`"),
        (
            vec!["--engine", "locust", "--journal", "nope.jsonl"],
            "--journal nope.jsonl",
        ),
        (
            vec!["--engine", "locust", "--locust-bind", "localhost"],
            "--locust-bind localhost",
        ),
        (
            vec!["--engine", "locust", "--outage-rate", "10"],
            "--outage-rate 10",
        ),
        (vec!["--engine", "gatling"], "gatling"),
    ] {
        let out = support::crossfire()
            .args(["load", "--gateway", "litellm", "--config"])
            .arg(root().join("examples/litellm/fallbacks.yaml"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// Failover under load on Portkey 1.15.2 (`strategy: fallback`, anthropic
/// then openai), measured: Portkey keeps no cooldown, so every request
/// during the outage tries the dead primary first and is served by the
/// fallback: exactly 2 attempts per request and as many failed attempts
/// per second as the rate, 100% served, and the first request after the
/// outage is back on anthropic.
#[test]
fn an_outage_under_load_is_measured_before_during_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let out = support::crossfire()
        .args(["load", "--gateway", "portkey", "--config"])
        .arg(root().join("examples/portkey/fallback.json"))
        .args(["--rates", "10", "--step", "1s", "--outage-rate", "20"])
        .args([
            "--outage-before",
            "2s",
            "--outage-for",
            "3s",
            "--outage-after",
            "2s",
        ])
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Failover under load"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let f = &v["failover"];
    // The primary as observed in the steps: Portkey's first target.
    assert_eq!(f["on"], "anthropic", "{f}");
    assert_eq!(f["observed_primary"], true);
    let parts = f["parts"].as_array().unwrap();
    let names: Vec<&str> = parts.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["before", "during", "after"]);
    let (before, during, after) = (&parts[0], &parts[1], &parts[2]);
    assert_eq!(during["sent"], 60, "{during}");
    assert_eq!(during["served"], 60, "{during}");
    assert_eq!(during["attempts_per_request"], 2.0, "{during}");
    let storm = during["failed_attempts_per_second"].as_f64().unwrap();
    assert!((19.0..=21.0).contains(&storm), "{during}");
    for p in [before, after] {
        assert_eq!(p["failed_attempts"], 0, "{p}");
        assert_eq!(p["attempts_per_request"], 1.0, "{p}");
    }
    assert!(
        f["back_on_primary_after_us"].as_u64().unwrap() < 1_000_000,
        "{f}"
    );
}

/// A gateway crossfire starts from a command (the reference gateway in
/// `examples/refgw`), named by a scenario, is loaded like a config's: the
/// scenario's first traffic entry is the request, its process group's CPU
/// and RSS are read.
#[test]
fn a_scenarios_command_gateway_is_loaded_step_by_step() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let out = support::crossfire()
        .args(["load", "--scenario"])
        .arg(root().join("scenarios/refgw-cross-provider-failover.yaml"))
        .args(["--rates", "5", "--step", "2s", "--out"])
        .arg(dir.path().join("out"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["gateway"], "command");
    assert_eq!(v["group"], "claude-opus");
    let s = &v["steps"][0];
    assert_eq!(
        (s["sent"].as_u64(), s["errors"].as_u64()),
        (Some(10), Some(0)),
        "{s}"
    );
    assert!(s["rss_kib"].as_u64().unwrap() > 1_000, "{s}");
}

/// `--compare` runs the same steps on each gateway and prints one table,
/// a row per gateway and rate, and each one's knee.
#[test]
fn compare_loads_each_gateway_with_the_same_steps_into_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("compare.json");
    let portkey = format!(
        "portkey={}",
        root().join("examples/portkey/fallback.json").display()
    );
    let refgw = root().join("scenarios/refgw-cross-provider-failover.yaml");
    let out = support::crossfire()
        .args(["load", "--compare", &portkey, "--compare"])
        .arg(&refgw)
        .args(["--rates", "5,10", "--step", "1s", "--out"])
        .arg(dir.path().join("out"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 gateways compared"), "{stdout}");
    for row in [
        "| portkey | 5 | 0 |",
        "| portkey | 10 | 0 |",
        "| command | 5 | 0 |",
        "| command | 10 | 0 |",
    ] {
        assert!(stdout.contains(row), "{row}: {stdout}");
    }
    assert!(stdout.matches("requests/s").count() >= 2, "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let kinds: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["gateway"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["portkey", "command"]);
    // Each gateway ran in its own folder.
    assert!(dir.path().join("out/1-portkey/load-overhead.svg").exists());
    assert!(dir.path().join("out/2-command/load-overhead.svg").exists());
}

#[test]
fn load_needs_one_thing_to_load_and_compare_needs_two() {
    for (args, says) in [
        (vec![], "--gateway KIND --config FILE"),
        (
            vec!["--compare", "portkey=examples/portkey/fallback.json"],
            "give two or more",
        ),
        (
            vec![
                "--compare",
                "portkey=nope.json,litellm=examples/litellm/fallbacks.yaml",
            ],
            "--compare portkey=nope.json",
        ),
    ] {
        let out = support::crossfire()
            .current_dir(root())
            .arg("load")
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// `--engine locust`: a pinned Locust (2.47.0) master and two workers
/// send the same marked, open-loop steps to the real LiteLLM proxy
/// (1.108.7). One worker is crossfire's own; the other is started the way
/// a worker on another machine is, from the command crossfire prints, in
/// a folder of its own holding copies of the locustfile and the plan.
/// Every record comes back through Locust's master, every gateway request
/// is found in the mocks' journal by its marker, and the steps have the
/// built-in driver's shape.
#[test]
fn locust_with_a_local_and_a_remote_style_worker_sends_every_request_marked_like_the_builtin_driver(
) {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let out_dir = dir.path().join("out");
    let mut child = support::ChildGuard(
        support::crossfire()
            .args(["load", "--gateway", "litellm", "--config"])
            .arg(root().join("examples/litellm/fallbacks.yaml"))
            .args([
                "--engine",
                "locust",
                "--workers",
                "1",
                "--remote-workers",
                "1",
            ])
            .args(["--rates", "4,8", "--step", "3s", "--out"])
            .arg(&out_dir)
            .arg("--json")
            .arg(&json)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = std::io::BufReader::new(child.0.stderr.take().unwrap());
    let mut said = String::new();
    let command = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{said}");
        said.push_str(&line);
        if said.contains("run there:") && line.trim_start().starts_with("XF_PLAN=") {
            break line.trim().to_string();
        }
    };
    // "Another machine": a folder with copies of the two files, and the
    // pinned Locust on PATH.
    let other = tempfile::tempdir().unwrap();
    for f in ["locustfile.py", "plan.json"] {
        std::fs::copy(out_dir.join("locust").join(f), other.path().join(f)).unwrap();
    }
    let locust_bin = crossfire::provision::cache_dir().join("python/locust-2.47.0/bin");
    let path = format!(
        "{}:{}",
        locust_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut words = command.split_whitespace();
    let (name, value) = words.next().unwrap().split_once('=').unwrap();
    let worker = support::ChildGuard(
        std::process::Command::new(words.next().unwrap())
            .args(words)
            .env(name, value)
            .env("PATH", path)
            .current_dir(other.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.0.stdout.take().unwrap(), &mut stdout).unwrap();
    let status = child.0.wait().unwrap();
    drop(worker);
    assert_eq!(status.code(), Some(0), "{stdout}\n{said}{rest}");
    assert!(stdout.contains("| 4 | 12 |"), "{stdout}");
    assert!(stdout.contains("| 8 | 24 |"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["engine"], "locust");
    let l = &v["locust"];
    assert_eq!(l["version"], "2.47.0");
    assert_eq!(l["workers"], 2, "{l}");
    assert_eq!(l["workers_reporting"], 2, "{l}");
    // The warm-up (2 s at 4/s) and both steps, each request twice
    // (through the gateway and direct): 2 * (8 + 12 + 24).
    assert_eq!(l["planned"], 88, "{l}");
    assert_eq!(l["records"], 88, "{l}");
    assert_eq!(l["gateway_sent"], 44, "{l}");
    assert_eq!(l["attributed"], 44, "{l}");
    assert_eq!(l["unattributed"], serde_json::json!([]), "{l}");
    assert!(stdout.contains("44 of 44 gateway requests reached a provider mock"));
    // The same step shape as the built-in driver's.
    let builtin = serde_json::to_value(crossfire::load::StepReport::from_samples(
        1.0,
        std::time::Duration::from_secs(1),
        &[],
        &[],
        None,
    ))
    .unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    for s in steps {
        assert_eq!(keys(s), keys(&builtin));
        assert_eq!(s["errors"], 0, "{s}");
        assert!(s["overhead"]["p99_us"].is_i64(), "{s}");
        assert!(s["rss_kib"].as_u64().unwrap() > 10_000, "{s}");
    }
    assert!(out_dir.join("locust/records.jsonl").exists());
}
