//! Helpers shared by the end-to-end tests: scenario files written into a
//! temporary folder, next to templates for the reference gateway.

#![allow(dead_code)]

use crossfire::runner::{self, RunOptions, ScenarioReport};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

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
    crossfire::gateway::preflight(&s).unwrap();
    let opts = RunOptions {
        out: case.dir.path().join("out"),
        cancel: CancellationToken::new(),
        gateway: Default::default(),
        snapshots: None,
        latency_audit: false,
    };
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
