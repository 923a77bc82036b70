//! TensorZero as a user runs it through crossfire: `drill`, `run` with a
//! scenario (its derived intent, its routing snapshot) and `compare`, like
//! the other two gateways. The gateway is the real one from PyPI
//! `tensorzero` 2026.6.0 (it starts in well under a second); the paths
//! pinned here were observed by running it.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use support::crossfire;

/// The TensorZero version the paths below were measured on.
const MEASURED_ON: &str = "2026.6.0";

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/tensorzero")
        .join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_drill_of_the_example_holds_every_prediction_and_names_its_illusions() {
    assert_eq!(crossfire::gateway::tensorzero::VERSION, MEASURED_ON);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("drill.json");
    let out = crossfire()
        .args(["drill", "--gateway", "tensorzero", "--config"])
        .arg(example("tensorzero.toml"))
        .arg("--out")
        .arg(dir.path().join("run"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let said = text(&out.stdout);
    // Illusions are findings: exit 1.
    assert_eq!(out.status.code(), Some(1), "{said}{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["gateway"], "tensorzero");
    assert_eq!(report["gateway_version"], MEASURED_ON);
    let cells = report["cells"].as_array().unwrap();
    // 3 groups (two models, one function) x 10 drill classes.
    assert_eq!(cells.len(), 30, "{said}");
    for c in cells {
        assert_eq!(c["as_predicted"], true, "unlike the prediction: {c}");
        // Once the primary recovered, TensorZero (no cooldown, no state
        // kept per provider) goes straight back to it: six requests one
        // after the other, all served by the healed primary.
        let then = &c["then"];
        assert_eq!(then["requests"], 6, "{c}");
        assert_eq!(then["on_primary"], 6, "{then}");
        assert_eq!(then["refused"], 0, "{then}");
        assert_eq!(
            then["text"],
            "primary recovered: back on it at once (6 of 6 requests)"
        );
    }
    let illusions: BTreeSet<(String, String)> = cells
        .iter()
        .filter(|c| c["verdict"] == "illusion")
        .map(|c| {
            let group = c["group"].as_str().unwrap();
            let short = group.rsplit("::").next().unwrap().to_string();
            (short, c["class"].as_str().unwrap().to_string())
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        // No `timeouts` on Claude's entry: the slow answer is waited for.
        ("claude-sonnet", "timeout"),
        ("chat", "timeout"),
        // A stream broken after its first events is never failed over.
        ("gpt-4o", "stream_cut"),
        ("gpt-4o", "stream_error"),
        ("claude-sonnet", "stream_cut"),
        ("claude-sonnet", "stream_error"),
        ("chat", "stream_cut"),
        ("chat", "stream_error"),
    ]
    .iter()
    .map(|(g, c)| (g.to_string(), c.to_string()))
    .collect();
    assert_eq!(illusions, want, "{said}");
    // GPT-4o's OpenAI entry sets a timeout: the slow answer is cut and the
    // request crosses to Anthropic.
    let gpt_timeout = cells
        .iter()
        .find(|c| c["group"] == "tensorzero::model_name::gpt-4o" && c["class"] == "timeout")
        .unwrap();
    assert_eq!(gpt_timeout["verdict"], "crossed", "{gpt_timeout}");
    assert!(
        said.contains("30 cells: 8 Failover Illusion, 0 unlike the prediction"),
        "{said}"
    );
}

/// A scenario file with `gateway: {kind: tensorzero}`: a 429 on OpenAI
/// crosses to Anthropic, the derived intent holds, and the routing snapshot
/// written by the first run is what the second run sees.
#[test]
fn a_tensorzero_scenario_passes_and_keeps_its_routing_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("tz.yaml");
    std::fs::write(
        &scenario,
        format!(
            "name: tensorzero-rate-limit-crosses
gateway: {{kind: tensorzero, config: {}}}
faults:
  - {{on: openai, fault: rate_limit, schedule: always}}
traffic:
  - {{model: \"tensorzero::model_name::gpt-4o\", requests: 6, concurrency: 2}}
expect:
  - status: 200
  - path: crossed_provider
",
            serde_json::to_string(&example("tensorzero.toml")).unwrap()
        ),
    )
    .unwrap();
    let snaps = dir.path().join("snaps");
    let run = |k: usize| {
        crossfire()
            .arg("run")
            .arg(&scenario)
            .arg("--out")
            .arg(dir.path().join(format!("run{k}")))
            .arg("--snapshots")
            .arg(&snaps)
            .output()
            .unwrap()
    };
    let first = run(1);
    let said = text(&first.stdout);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{said}{}",
        text(&first.stderr)
    );
    assert!(
        said.contains("PASS tensorzero-rate-limit-crosses (tensorzero 2026.6.0 gateway"),
        "{said}"
    );
    assert!(said.contains("crossed_provider 6"), "{said}");
    let snapshot =
        std::fs::read_to_string(snaps.join("tensorzero-rate-limit-crosses.yaml")).unwrap();
    assert!(
        snapshot.contains(
            "openai/gpt-4o.openai 429 -> anthropic/gpt-4o.anthropic 200 => client 200: 6"
        ),
        "{snapshot}"
    );
    let second = run(2);
    let said = text(&second.stdout);
    assert_eq!(
        second.status.code(),
        Some(0),
        "{said}{}",
        text(&second.stderr)
    );
    // The second run's routing is the accepted one.
    let report: Value = serde_json::from_slice(
        &std::fs::read(
            dir.path()
                .join("run2/01-tensorzero-rate-limit-crosses/report.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        report["snapshot"]["status"], "matched",
        "{}",
        report["snapshot"]
    );
}

/// `compare` puts TensorZero in a column of its own, from the routing intent
/// rendered into a `tensorzero.toml`.
#[test]
fn compare_renders_the_intent_for_tensorzero_and_drills_it() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("compare.json");
    let out = crossfire()
        .current_dir(dir.path())
        .args([
            "compare",
            "--gateways",
            "tensorzero",
            "--latency-requests",
            "5",
        ])
        .args(["--out", "out", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    let rendered =
        std::fs::read_to_string(dir.path().join("out/tensorzero/tensorzero.toml")).unwrap();
    assert!(
        rendered.contains("routing = [\"anthropic\", \"openai-1\"]"),
        "{rendered}"
    );
    let c: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let r = &c["results"][0];
    assert_eq!(r["gateway"], "tensorzero");
    assert_eq!(r["version"], MEASURED_ON);
    let cell = |class: &str| {
        r["drill"]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["class"] == class)
            .map(|x| x["verdict"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(cell("rate_limit"), "crossed", "{said}");
    // The rendered config sets no timeout: the slow Claude is waited for.
    assert_eq!(cell("timeout"), "illusion", "{said}");
    assert!(said.contains("tensorzero"), "{said}");
}

/// `drill --outage`: the primary fails from 1 s to 4 s of the traffic, a
/// request every 250 ms rides it through. TensorZero 2026.6.0 (no cooldown,
/// one attempt per provider) serves every request of the outage from the
/// fallback, tries the failing primary for each of them, is back on it with
/// the first request after the outage, and does not wait the `retry-after`
/// a 429 asks for (measured, not a finding).
#[test]
fn an_outage_drill_measures_the_outage_the_probes_the_recovery_and_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("drill.json");
    let out = crossfire()
        .args(["drill", "--outage", "--gateway", "tensorzero", "--config"])
        .arg(example("tensorzero.toml"))
        .args(["--groups", "tensorzero::model_name::gpt-4o", "--out"])
        .arg(dir.path().join("run"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let cells = report["cells"].as_array().unwrap();
    // The outage drill's classes unless --classes says.
    let classes: Vec<&str> = cells.iter().map(|c| c["class"].as_str().unwrap()).collect();
    assert_eq!(classes, ["server_error", "rate_limit"], "{said}");
    for c in cells {
        let t = &c["outage"];
        let o = &t["outage"];
        // 1 s to 4 s at one request every 250 ms: 12 requests inside.
        assert_eq!(
            o["windows"],
            serde_json::json!([[1_000_000, 4_000_000]]),
            "{t}"
        );
        assert_eq!(o["sent"], 12, "{t}");
        assert_eq!(o["served"], 12, "{t}");
        assert_eq!(o["attempts_on_failing"], 12, "{t}");
        let back = t["recoveries"][0]["back_after_us"].as_u64().unwrap();
        assert!(back < 1_000_000, "back on the primary {back} us after: {t}");
        assert!(
            c["then"].is_null(),
            "no `then` phase in an outage drill: {c}"
        );
    }
    let gaps = cells[1]["outage"]["retry_after"].as_array().unwrap();
    assert_eq!(gaps.len(), 12, "{said}");
    // Each next attempt on the rate-limited primary came sooner than the
    // 1 s its 429 asked for (the requests' own 250 ms pace).
    for g in gaps {
        let asked = g["asked_us"].as_u64().unwrap();
        let gap = g["next"][1].as_u64().unwrap();
        assert!(
            gap < asked,
            "TensorZero 2026.6.0 does not wait for retry-after: {g}"
        );
    }
    assert!(said.contains("12 followed too soon"), "{said}");
}
