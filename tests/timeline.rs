//! The timeline end to end: a real run (mock providers and the reference
//! gateway in examples/refgw) leaves `timeline.svg` in the scenario's run
//! folder, the Markdown report links it by a relative path, report.json
//! names it, and its marks are the journal's attempts, lane by lane, in the
//! journal's colours.

mod support;

use crossfire::records::RequestRecord;
use crossfire::timeline::{self, DeploymentLane, Frame, Timeline, Tone, WINDOW_SHADE};
use std::path::Path;
use support::{case, crossfire, refgw_config, target, REFGW_GATEWAY};

/// The fill of every rect of the SVG whose middle row is in `lane` (the
/// client's: `None`), the white background left out.
fn fills_in(svg: &str, frame: &Frame, lane: Option<usize>) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let mut fills: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") != Some("#FFFFFF"))
        .filter(|n| {
            let num = |a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
            frame.lane_at(num("y") + num("height") / 2.0) == Some(lane)
        })
        .map(|n| n.attribute("fill").unwrap().to_string())
        .collect();
    fills.sort();
    fills
}

/// A line of requests.jsonl, with the fields the timeline reads.
fn record(line: &str) -> RequestRecord {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let text = |k: &str| v[k].as_str().map(str::to_string);
    RequestRecord {
        n: v["n"].as_u64().unwrap(),
        marker: text("marker").unwrap(),
        traffic: 0,
        model: text("model").unwrap(),
        stream: v["stream"].as_bool().unwrap(),
        started_us: v["started_us"].as_u64().unwrap(),
        latency_us: v["latency_us"].as_u64().unwrap(),
        ttfb_us: v["ttfb_us"].as_u64(),
        first_token_us: v["first_token_us"].as_u64(),
        status: v["status"].as_u64().map(|s| s as u16),
        transport_error: text("transport_error"),
        stream_complete: v["stream_complete"].as_bool(),
        stream_error: text("stream_error"),
        headers: Default::default(),
        usage: None,
        cost: None,
        error_body: None,
        bytes_sent: 0,
    }
}

#[test]
fn a_run_leaves_a_timeline_whose_marks_are_the_journals_attempts() {
    let c = case(
        &format!(
            "name: timeline run\n{REFGW_GATEWAY}deployments:\n  - id: claude\n    dialect: anthropic\n    model: claude-opus-4-1\n  - id: gpt\n    dialect: openai\n    model: gpt-4o\nfaults:\n  - on: claude\n    fault: rate_limit\n    schedule: {{window: [0s, 60s]}}\n  - on: gpt\n    fault: server_error\n    schedule: {{every: 4}}\ntraffic:\n  - model: claude-opus\n    requests: 12\n    concurrency: 3\n"
        ),
        Some(&refgw_config(&format!(
            "{{\"mode\": \"fallback\", \"targets\": [{}, {}]}}",
            target("claude", "anthropic"),
            target("gpt", "openai")
        ))),
    );
    let out = c.dir.path().join("out");
    let reports = c.dir.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let md = reports.join("run.md");
    let status = crossfire()
        .arg("run")
        .arg(&c.scenario)
        .arg("--out")
        .arg(&out)
        .arg("--markdown")
        .arg(&md)
        .output()
        .unwrap();
    let run_dir = out.join("01-timeline-run");
    let svg_file = run_dir.join(timeline::TIMELINE_FILE);
    assert!(
        svg_file.is_file(),
        "no timeline: {}",
        String::from_utf8_lossy(&status.stderr)
    );

    // The Markdown report shows it, by a path relative to the report.
    let text = std::fs::read_to_string(&md).unwrap();
    let link = "![timeline of timeline run](../out/01-timeline-run/timeline.svg)";
    assert!(text.contains(link), "{text}");
    assert!(reports
        .join("../out/01-timeline-run/timeline.svg")
        .is_file());
    // report.json names it.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        Path::new(report["timeline"].as_str().unwrap()),
        svg_file.as_path()
    );

    // Its marks are the journal's attempts, lane by lane, coloured by outcome.
    let svg = std::fs::read_to_string(&svg_file).unwrap();
    let journal = mock_providers::journal::read_jsonl(&run_dir.join("journal.jsonl")).unwrap();
    let requests: Vec<RequestRecord> = std::fs::read_to_string(run_dir.join("requests.jsonl"))
        .unwrap()
        .lines()
        .map(record)
        .collect();
    assert_eq!(requests.len(), 12);
    let lanes = [
        DeploymentLane {
            id: "claude",
            provider: "anthropic",
            faults: &[],
        },
        DeploymentLane {
            id: "gpt",
            provider: "openai",
            faults: &[],
        },
    ];
    let frame = Frame::of(&Timeline::build("x", &lanes, &journal, &requests, 0));
    let mut rate_limited = 0;
    for (i, id) in ["claude", "gpt"].into_iter().enumerate() {
        let mut want: Vec<String> = journal
            .iter()
            .filter(|a| a.deployment == id)
            .map(|a| Tone::of_attempt(a).hex())
            .collect();
        want.sort();
        rate_limited += want.iter().filter(|f| **f == Tone::RateLimit.hex()).count();
        let mut got = fills_in(&svg, &frame, Some(i));
        // The claude lane also holds its fault window's shade.
        if id == "claude" {
            let shade = timeline::hex(WINDOW_SHADE);
            let at = got.iter().position(|f| *f == shade);
            got.remove(at.unwrap_or_else(|| panic!("no shaded window: {got:?}")));
        }
        assert_eq!(got, want, "lane {id}");
    }
    assert_eq!(rate_limited, 12, "every request met Claude's 429 first");
    // One client bar per request, coloured by what the client got.
    let mut want: Vec<String> = requests.iter().map(|r| Tone::of_request(r).hex()).collect();
    want.sort();
    assert_eq!(fills_in(&svg, &frame, None), want);
}
