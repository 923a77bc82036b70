//! Helpers shared by the end-to-end tests: scenario files written into a
//! temporary folder, next to templates for the reference gateway; the
//! crossfire binary and the processes it starts.

// Every test file compiles this module on its own and uses only some of it.
#![allow(dead_code)]

use crossfire::drill::DrillOptions;
use crossfire::mock_providers::FailureClass;
use crossfire::outcome::ScenarioReport;
use crossfire::runner::{self, RunOptions};
use std::io::{BufRead, BufReader, Read};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The crossfire binary, as a user runs it.
pub fn crossfire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crossfire"))
}

/// A child process killed (by its own pid) and reaped when dropped, so a
/// failed assertion never leaves it running.
pub struct ChildGuard(pub Child);

impl Deref for ChildGuard {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Waits up to `limit` for `child` to exit and returns its exit code; `None`
/// when it did not exit in time (it is then killed) or a signal ended it.
pub fn wait_with_timeout(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The lines of a child's output, read on a thread: a test waits for each
/// with `recv_timeout` instead of blocking forever on a silent child.
pub fn lines(out: impl Read + Send + 'static) -> mpsc::Receiver<std::io::Result<String>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Whether any process of the group `pgid` is still alive.
pub fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks whether the group exists.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// Run options as `crossfire run --out OUT` builds them, nothing else set.
pub fn options(out: PathBuf) -> RunOptions {
    RunOptions {
        out,
        cancel: CancellationToken::new(),
        gateway: Default::default(),
        snapshots: None,
        latency_audit: false,
        journal_memory_cap: runner::DEFAULT_JOURNAL_MEMORY_CAP,
    }
}

/// Drill options as `crossfire drill --out OUT --classes .. --groups ..`
/// builds them: two requests per cell (the command's default), all groups
/// when `groups` is empty.
pub fn drill_options(out: &Path, classes: &[FailureClass], groups: &[&str]) -> DrillOptions {
    DrillOptions {
        out: out.to_path_buf(),
        requests: 2,
        classes: classes.to_vec(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        gateway: Default::default(),
        cancel: CancellationToken::new(),
        allow_unmapped: false,
        outage: false,
        replicas: None,
    }
}

/// The reference gateway shipped in examples/.
pub fn refgw() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/refgw/refgw.py")
}

/// A folder holding a scenario and its gateway template.
pub struct Case {
    pub dir: tempfile::TempDir,
    pub scenario: PathBuf,
}

/// Writes `scenario.yaml` and, when given, `gateway.json.tmpl`.
pub fn case(scenario: &str, template: Option<&str>) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.yaml");
    std::fs::write(
        &path,
        scenario.replace("REFGW", &refgw().display().to_string()),
    )
    .unwrap();
    if let Some(t) = template {
        std::fs::write(dir.path().join("gateway.json.tmpl"), t).unwrap();
    }
    Case {
        dir,
        scenario: path,
    }
}

/// Loads and runs one scenario through the library, as `crossfire run` does.
pub async fn run(case: &Case) -> ScenarioReport {
    let s = crossfire::scenario::load(&case.scenario).unwrap_or_else(|e| panic!("{e}"));
    crossfire::scenario::preflight(&s).unwrap();
    let opts = options(case.dir.path().join("out"));
    let summary = runner::run(std::slice::from_ref(&s), &opts, &|_| {}).await;
    summary.scenarios.into_iter().next().unwrap()
}

/// The class counts of a report, as (name, count) pairs.
pub fn counts(r: &ScenarioReport) -> Vec<(String, u64)> {
    r.counts
        .iter()
        .map(|(c, n)| (c.name().to_string(), *n))
        .collect()
}

/// A command gateway section running the reference gateway.
pub const REFGW_GATEWAY: &str = r#"gateway:
  kind: command
  command: [python3, "REFGW", "{{ config }}"]
  config: gateway.json.tmpl
  ready: /health
"#;

/// Three deployments: two Anthropic, one OpenAI.
pub const THREE_DEPLOYMENTS: &str = r#"deployments:
  - id: claude
    dialect: anthropic
    model: claude-opus-4-1
  - id: claude-b
    dialect: anthropic
    model: claude-sonnet-4-5
  - id: gpt
    dialect: openai
    model: gpt-4o
"#;

/// A reference gateway config with one group and these settings.
pub fn refgw_config(group: &str) -> String {
    format!("{{\n  \"port\": {{{{ port }}}},\n  \"groups\": {{\n    \"claude-opus\": {group}\n  }}\n}}\n")
}

/// A target of the reference gateway.
pub fn target(id: &str, dialect: &str) -> String {
    format!(
        "{{\"url\": \"{{{{ deployments.{id}.base_url }}}}\", \"dialect\": \"{dialect}\", \"model\": \"{{{{ deployments.{id}.model }}}}\"}}"
    )
}

/// Runs `crossfire drill` as a user does, in a fresh run folder: its exit
/// code and standard output.
pub fn drill_cli(gateway: &str, config: &Path, classes: &str, groups: &str) -> (i32, String) {
    let out = tempfile::tempdir().expect("temp dir");
    let mut cmd = crossfire();
    cmd.args(["drill", "--gateway", gateway, "--config"])
        .arg(config)
        .args(["--classes", classes, "--out"])
        .arg(out.path());
    if !groups.is_empty() {
        cmd.args(["--groups", groups]);
    }
    let o = cmd.output().expect("crossfire runs");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.code().is_some(),
        "crossfire was killed by a signal: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), stdout)
}

/// The matrix row of a drill's terminal output for a failure class (and a
/// group, when several are drilled).
pub fn drill_row(out: &str, group: &str, class: &str) -> String {
    out.lines()
        .find(|l| l.contains(class) && l.trim_start().starts_with(group))
        .unwrap_or_else(|| panic!("no {group} {class} row in {out}"))
        .to_string()
}

/// `crossfire run SCENARIO --out OUT` in the background, output discarded,
/// killed and reaped if the test fails first.
pub fn spawn_run(case: &Case, out: &Path) -> ChildGuard {
    ChildGuard(
        crossfire()
            .arg("run")
            .arg(&case.scenario)
            .arg("--out")
            .arg(out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("crossfire starts"),
    )
}

/// Presses Ctrl-C on a crossfire this test started whose gateway leads
/// process group `pgid`: crossfire exits 130 within 20 s and the group is
/// gone within 3 s after. Returns how long crossfire took to exit.
pub fn interrupt_and_wait(child: &mut ChildGuard, pgid: i32) -> Duration {
    assert!(group_alive(pgid), "the gateway is not running");
    // SAFETY: signalling the crossfire process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let pressed = Instant::now();
    assert_eq!(wait_with_timeout(child, Duration::from_secs(20)), Some(130));
    let took = pressed.elapsed();
    let gone = Instant::now();
    while group_alive(pgid) && gone.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !group_alive(pgid),
        "the gateway's process group outlived crossfire"
    );
    took
}

/// `crossfire tax --from FILE --monthly-spend 10000 --selection-savings 2
/// --failure-rate 4` with `extra`.
pub fn tax(file: &Path, extra: &[&str]) -> std::process::Output {
    crossfire()
        .args(["tax", "--from"])
        .arg(file)
        .args([
            "--monthly-spend",
            "10000",
            "--selection-savings",
            "2",
            "--failure-rate",
            "4",
        ])
        .args(extra)
        .output()
        .expect("crossfire runs")
}
