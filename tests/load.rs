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
