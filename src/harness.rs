//! A builder to run a scenario from a Rust test and get its routing behaviour
//! as a value, for `insta::assert_yaml_snapshot!` in a team's own tests.
//!
//! The builder writes a scenario file (the same format `crossfire run`
//! reads, so every check and error message is the same), runs it, and returns
//! the [`RoutingBehaviour`] a snapshot stores.
//!
//! ```no_run
//! # async fn demo() -> Result<(), crossfire::harness::HarnessError> {
//! use crossfire::harness::Harness;
//! use crossfire::mock_providers::FailureClass;
//!
//! let behaviour = Harness::new("claude-429-reaches-gpt")
//!     .litellm("examples/litellm/fallbacks.yaml")
//!     .fault("anthropic", FailureClass::RateLimit, "always")
//!     .traffic("claude-opus", 4)
//!     .run()
//!     .await?;
//! // insta::assert_yaml_snapshot!(behaviour);
//! assert!(behaviour.groups["claude-opus"].ends_on.contains("openai"));
//! # Ok(()) }
//! ```

use crate::diag::InputError;
use crate::outcome::ScenarioReport;
use crate::runner::{self, RunOptions};
use crate::snapshot::RoutingBehaviour;
use mock_providers::{Dialect, FailureClass};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// A scenario being built.
#[derive(Debug, Clone)]
pub struct Harness {
    name: String,
    gateway: Option<String>,
    deployments: Vec<String>,
    faults: Vec<String>,
    traffic: Vec<String>,
    intent: Vec<String>,
}

/// Running the harness failed.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The scenario the builder made is not valid.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Mocks or gateway would not start.
    #[error("{0}")]
    Infra(String),
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn absolute(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
    }
}

impl Harness {
    /// A scenario with this name.
    pub fn new(name: &str) -> Harness {
        Harness {
            name: name.to_string(),
            gateway: None,
            deployments: vec![],
            faults: vec![],
            traffic: vec![],
            intent: vec![],
        }
    }

    /// A mock deployment (for the direct and command targets).
    pub fn deployment(mut self, id: &str, dialect: Dialect, model: &str) -> Harness {
        self.deployments.push(format!(
            "  - {{id: {}, dialect: {}, model: {}}}\n",
            quote(id),
            dialect.name(),
            quote(model)
        ));
        self
    }

    /// A gateway crossfire runs from its own config (`kind` is an adapter's
    /// name: `litellm`, `portkey`, ...; relative paths from the working
    /// folder).
    pub fn gateway(mut self, kind: &str, config: &str) -> Harness {
        self.gateway = Some(format!(
            "{{kind: {}, config: {}}}",
            quote(kind),
            quote(&absolute(config).display().to_string())
        ));
        self
    }

    /// The LiteLLM proxy with this config.
    pub fn litellm(self, config: &str) -> Harness {
        self.gateway("litellm", config)
    }

    /// The Portkey gateway with this config.
    pub fn portkey(self, config: &str) -> Harness {
        self.gateway("portkey", config)
    }

    /// A team's gateway started by `command` with a config template.
    pub fn command(mut self, command: &[&str], config_template: &str, ready: &str) -> Harness {
        let args: Vec<String> = command.iter().map(|a| quote(a)).collect();
        self.gateway = Some(format!(
            "{{kind: command, command: [{}], config: {}, ready: {}}}",
            args.join(", "),
            quote(&absolute(config_template).display().to_string()),
            quote(ready)
        ));
        self
    }

    /// A fault `on` a deployment id, a provider, or `provider/model`, with a
    /// schedule in file form (`always`, `{first: 2}`).
    pub fn fault(mut self, on: &str, class: FailureClass, schedule: &str) -> Harness {
        self.faults.push(format!(
            "  - {{on: {}, fault: {}, schedule: {schedule}}}\n",
            quote(on),
            class.name()
        ));
        self
    }

    /// `requests` requests, one at a time, to a model group.
    pub fn traffic(mut self, model: &str, requests: u64) -> Harness {
        self.traffic.push(format!(
            "  - {{model: {}, requests: {requests}}}\n",
            quote(model)
        ));
        self
    }

    /// The providers a group must fail over to (the Failover Illusion check).
    pub fn intent(mut self, group: &str, providers: &[&str]) -> Harness {
        let list: Vec<String> = providers.iter().map(|p| quote(p)).collect();
        self.intent
            .push(format!("  {}: [{}]\n", quote(group), list.join(", ")));
        self
    }

    /// The scenario file the builder makes.
    pub fn to_yaml(&self) -> String {
        let mut s = format!("name: {}\n", quote(&self.name));
        if let Some(g) = &self.gateway {
            s.push_str(&format!("gateway: {g}\n"));
        }
        for (key, list) in [
            ("deployments", &self.deployments),
            ("faults", &self.faults),
            ("traffic", &self.traffic),
        ] {
            if !list.is_empty() {
                s.push_str(&format!("{key}:\n{}", list.concat()));
            }
        }
        if !self.intent.is_empty() {
            s.push_str(&format!("intent:\n{}", self.intent.concat()));
        }
        s
    }

    /// Runs the scenario and returns its whole report.
    pub async fn run_report(&self) -> Result<ScenarioReport, HarnessError> {
        let dir = tempfile_dir().map_err(|e| HarnessError::Infra(e.to_string()))?;
        let file = dir.join("scenario.yaml");
        std::fs::write(&file, self.to_yaml()).map_err(|e| HarnessError::Infra(e.to_string()))?;
        let s = crate::scenario::load(&file)?;
        crate::scenario::preflight(&s)?;
        let opts = RunOptions {
            out: dir.join("out"),
            cancel: CancellationToken::new(),
            gateway: Default::default(),
            snapshots: None,
            latency_audit: false,
            journal_memory_cap: crate::runner::DEFAULT_JOURNAL_MEMORY_CAP,
        };
        let summary = runner::run(std::slice::from_ref(&s), &opts, &|_| {}).await;
        let report = summary
            .scenarios
            .into_iter()
            .next()
            .ok_or_else(|| HarnessError::Infra("the scenario did not run".into()))?;
        match &report.error {
            Some(e) => Err(HarnessError::Infra(e.clone())),
            None => Ok(report),
        }
    }

    /// Runs the scenario and returns its routing behaviour.
    pub async fn run(&self) -> Result<RoutingBehaviour, HarnessError> {
        let report = self.run_report().await?;
        let dir = report
            .run_dir
            .parent()
            .and_then(|p| p.parent())
            .map(PathBuf::from);
        let s = crate::scenario::load(&report.file)?;
        let b = runner::behaviour(&s, &report.paths);
        if let Some(d) = dir {
            let _ = std::fs::remove_dir_all(d);
        }
        Ok(b)
    }
}

/// A fresh folder under the system's temporary folder.
fn tempfile_dir() -> std::io::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir =
        std::env::temp_dir().join(format!("crossfire-harness-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
