//! `crossfire compare` as a user runs it, on the real Portkey gateway
//! (1.15.2; it starts in under a second, and compare is about gateways):
//! an intent file or the team's own config, the `--json` and `--markdown`
//! files, `tax` on the compare file it wrote, exits 0, 2 and 130.
//! tests/portkey.rs compares LiteLLM and Portkey side by side through the
//! library; here it is the command line, relative paths included.

mod support;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use support::{crossfire, group_alive, ChildGuard};

/// The Portkey version the rows below were measured on.
const MEASURED_ON: &str = "1.15.2";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `crossfire compare --gateways portkey --requests 1 --latency-requests 5`
/// with `extra`, run in `dir` with relative paths, as a user types it.
fn compare(dir: &Path, extra: &[&str]) -> Output {
    crossfire()
        .current_dir(dir)
        .args([
            "compare",
            "--gateways",
            "portkey",
            "--requests",
            "1",
            "--latency-requests",
            "5",
            "--out",
            "out",
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// The cells of a markdown table row: `| name | a |` -> `a`.
fn md_row(md: &str, name: &str) -> String {
    md.lines()
        .find(|l| l.starts_with(&format!("| {name} |")))
        .unwrap_or_else(|| panic!("no `{name}` row in {md}"))
        .trim_end_matches(" |")
        .rsplit(" | ")
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn compare_renders_an_intent_writes_json_and_markdown_and_tax_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("intent.yaml"),
        "group: gpt-4o\nprimary: openai/gpt-4o\nfallbacks: [anthropic/claude-opus-4-1]\n",
    )
    .unwrap();
    let out = compare(
        dir.path(),
        &[
            "--intent",
            "intent.yaml",
            "--json",
            "compare.json",
            "--markdown",
            "compare.md",
        ],
    );
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    assert!(
        said.contains("intent: gpt-4o -> openai/gpt-4o then anthropic/claude-opus-4-1"),
        "{said}"
    );
    // The intent is rendered as a Portkey fallback config, OpenAI first.
    let rendered = std::fs::read_to_string(dir.path().join("out/portkey/portkey.json")).unwrap();
    let r: serde_json::Value = serde_json::from_str(&rendered).unwrap();
    assert_eq!(r["strategy"]["mode"], "fallback", "{rendered}");
    assert_eq!(r["targets"][0]["provider"], "openai", "{rendered}");
    assert_eq!(r["targets"][1]["provider"], "anthropic", "{rendered}");

    // Measured with Portkey 1.15.2: a default fallback moves every
    // provider error to Anthropic, never a slow answer nor a stream that
    // already started.
    let md = std::fs::read_to_string(dir.path().join("compare.md")).unwrap();
    assert!(md.starts_with("| | portkey |\n|---|---|\n"), "{md}");
    assert_eq!(md_row(&md, "gateway version"), MEASURED_ON);
    for class in [
        "server_error",
        "overloaded",
        "rate_limit",
        "quota_exhausted",
        "content_policy",
        "auth",
    ] {
        assert_eq!(
            md_row(&md, &format!("failover on {class}")),
            "crossed",
            "{md}"
        );
    }
    assert_eq!(md_row(&md, "failover on timeout"), "ILLUSION", "{md}");
    assert_eq!(
        md_row(&md, "failover on stream_cut (stream)"),
        "ILLUSION",
        "{md}"
    );
    assert_eq!(md_row(&md, "cost-tracking discrepancy"), "not reported");

    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("compare.json")).unwrap()).unwrap();
    assert_eq!(
        v["intent"],
        serde_json::json!({"group": "gpt-4o", "primary": "openai/gpt-4o", "fallbacks": ["anthropic/claude-opus-4-1"]})
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["gateway"], "portkey");
    assert_eq!(results[0]["version"], MEASURED_ON);
    assert_eq!(results[0]["drill"]["cells"].as_array().unwrap().len(), 10);
    // Every healthy request was paired with a direct one.
    assert_eq!(
        results[0]["latency"]["gateway"]["count"], 5,
        "{}",
        results[0]["latency"]
    );
    assert_eq!(results[0]["latency"]["direct"]["count"], 5);
    // The same file is in the run folder.
    assert!(dir.path().join("out/compare.json").is_file());

    // `tax` reads the compare file: `--gateway` picks one of its gateways.
    let tax = |extra: &[&str]| {
        crossfire()
            .current_dir(dir.path())
            .args([
                "tax",
                "--from",
                "compare.json",
                "--monthly-spend",
                "10000",
                "--selection-savings",
                "2",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let missing = tax(&["--gateway", "litellm"]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        text(&missing.stderr).trim(),
        "error: --from compare.json: no `litellm` in the compare file"
    );
    let t = tax(&["--gateway", "portkey", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&t.stdout).unwrap();
    // The token overhead comes from the file: Portkey forwards the prompt
    // as sent (+0%), so the healthy overhead is 0.
    assert_eq!(j["healthy_overhead"], 0.0, "{j}");
    assert_eq!(j["selection_savings"], 200.0, "{j}");
    let classes: Vec<&str> = j["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes.len(), 10, "{classes:?}");
}

#[test]
fn compare_runs_the_teams_own_portkey_config() {
    let dir = tempfile::tempdir().unwrap();
    let own = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/portkey/fallback-on-status-codes.json");
    std::fs::copy(&own, dir.path().join("team.json")).unwrap();
    let out = compare(
        dir.path(),
        &["--config", "portkey=team.json", "--json", "compare.json"],
    );
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    // No intent was rendered: the team's config is what ran.
    assert!(!said.contains("intent:"), "{said}");
    assert!(!dir.path().join("out/portkey/portkey.json").exists());
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("compare.json")).unwrap()).unwrap();
    assert_eq!(v["intent"], serde_json::Value::Null);
    assert_eq!(v["results"][0]["config"], "team.json");
    // Portkey 1.15.2 with `on_status_codes` [429, 500, 502, 503, 504]:
    // Anthropic's 529 stays on Anthropic, a 429 crosses.
    let row = |name: &str| {
        said.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row: {said}"))
            .trim_start()
            .trim_start_matches(name)
            .trim()
            .to_string()
    };
    assert_eq!(row("failover on overloaded"), "ILLUSION");
    assert_eq!(row("failover on rate_limit"), "crossed");
    assert_eq!(row("gateway version"), MEASURED_ON);
}

#[test]
fn compare_bad_input_exits_2_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad-intent.yaml"),
        "group: claude-opus\nprimary: claude-opus-4-1\nfallbacks: [openai/gpt-4o]\n",
    )
    .unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["--gateways", "helicone"],
            "error: --gateways helicone: compare runs litellm",
        ),
        (
            &["--intent", "bad-intent.yaml"],
            "error: bad-intent.yaml:2:",
        ),
        (&["--intent", "missing.yaml"], "error: missing.yaml"),
        (
            &["--json", "no-such-dir/compare.json"],
            "error: --json no-such-dir/compare.json:",
        ),
        (
            &["--config", "litellm.yaml"],
            "error: --config litellm.yaml: is `GATEWAY=FILE`, as in `--config litellm=litellm.yaml`",
        ),
        (
            &["--config", "litelm=litellm.yaml"],
            "error: --config litelm=litellm.yaml: `litelm` is not a gateway crossfire runs; did you mean `litellm`?",
        ),
    ];
    for (flags, want) in cases {
        let out = crossfire()
            .current_dir(dir.path())
            .args(["compare", "--out", "out"])
            .args(flags)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.starts_with(want), "{flags:?}: {err}");
        assert!(!dir.path().join("out").exists(), "{flags:?} ran something");
    }
}

#[test]
fn ctrl_c_during_compare_stops_the_gateway_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = ChildGuard(
        crossfire()
            .current_dir(dir.path())
            .args([
                "compare",
                "--gateways",
                "portkey",
                "--requests",
                "1",
                "--out",
                "out",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let pid_file = dir.path().join("out/portkey/drill/gateway.pid");
    let start = Instant::now();
    let pgid = loop {
        if let Ok(pid) = std::fs::read_to_string(&pid_file)
            .unwrap_or_default()
            .trim()
            .parse::<i32>()
        {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Portkey never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // Mid-drill: the timeout cell holds its requests for seconds.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(group_alive(pgid));
    let took = support::interrupt_and_wait(&mut child, pgid);
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("interrupted: stopping the gateway and the mocks"),
        "{err}"
    );
    assert!(took < Duration::from_secs(5), "Ctrl-C took {took:?}");
    // No healthy phase was started after the interrupted drill.
    assert!(!dir.path().join("out/portkey/healthy.yaml").exists());
}
