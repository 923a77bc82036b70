//! A gateway a team runs itself, started by command: its config template
//! rendered with the mock URLs (`{{ deployments.<id>.base_url }}`), the same
//! values exported as environment variables, launched like every process
//! gateway.

use super::launcher::{launch, Listen, ProcessSpec};
use super::{absolute, process, template, write_file, GatewayError, RunningGateway};
use crate::deployment::{ClientApi, Deployment};
use crate::diag::InputError;
use mock_providers::MockSet;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A team's own gateway, started by command.
#[derive(Debug, Clone)]
pub struct CommandGateway {
    /// Program and arguments (templated).
    pub command: Vec<String>,
    /// Config template, rendered into the run folder.
    pub config_template: Option<PathBuf>,
    /// Readiness path.
    pub ready: String,
    /// Extra environment (templated).
    pub env: BTreeMap<String, String>,
    /// API offered to clients.
    pub api: ClientApi,
    /// How long to wait for readiness.
    pub startup_timeout: Duration,
    /// Headers sent with every request.
    pub headers: BTreeMap<String, String>,
    /// Folder the command runs in (the scenario's).
    pub workdir: PathBuf,
}

/// The template variables of the deployments, valid before anything
/// starts (values are filled in by [`vars`]).
pub fn template_names(deployments: &[Deployment]) -> Vec<String> {
    template::names(deployments.iter().map(|d| d.id()))
}

/// Checks the config template before anything starts (the command line and
/// environment are checked when the scenario is read).
pub fn preflight(c: &CommandGateway, deployments: &[Deployment]) -> Result<(), InputError> {
    let known = template_names(deployments);
    if let Some(t) = &c.config_template {
        let text = crate::diag::read_text(t)?;
        template::check(&text, &known, t)?;
    }
    Ok(())
}

/// Template values: mock URLs and the gateway's own port, config and folder.
pub fn vars(
    deployments: &[Deployment],
    mocks: &MockSet,
    port: u16,
    config: Option<&Path>,
    run_dir: &Path,
) -> template::Vars {
    let mut v = template::Vars::new();
    v.insert("port".into(), port.to_string());
    v.insert("base_url".into(), format!("http://127.0.0.1:{port}"));
    v.insert(
        "config".into(),
        config.map(|c| c.display().to_string()).unwrap_or_default(),
    );
    v.insert("run_dir".into(), run_dir.display().to_string());
    for d in deployments {
        let Some(running) = mocks.get(d.id()) else {
            continue;
        };
        let prefix = format!("deployments.{}", d.id());
        v.insert(format!("{prefix}.base_url"), running.base_url());
        v.insert(format!("{prefix}.host"), running.addr.ip().to_string());
        v.insert(format!("{prefix}.port"), running.addr.port().to_string());
        v.insert(
            format!("{prefix}.dialect"),
            d.spec.dialect.name().to_string(),
        );
        v.insert(format!("{prefix}.provider"), d.provider.clone());
        v.insert(format!("{prefix}.model"), d.model.clone());
    }
    v
}

/// Renders the template, runs the command and waits until it is ready.
/// `name` names its process group (the scenario's name).
pub async fn start(
    c: &CommandGateway,
    name: &str,
    deployments: &[Deployment],
    mocks: &MockSet,
    run_dir: &Path,
    cancel: &CancellationToken,
) -> Result<RunningGateway, GatewayError> {
    let run_dir = &absolute(run_dir)?;
    // The template needs the port before the gateway starts, so crossfire
    // picks one (a gateway given port 0 could not be told its own URL).
    let port = process::free_port()?;
    let rendered_path = c.config_template.as_ref().map(|t| {
        let name = t
            .file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".tmpl").to_string())
            .unwrap_or_else(|| "gateway-config".into());
        run_dir.join(format!("gateway-{name}"))
    });
    let vars = vars(deployments, mocks, port, rendered_path.as_deref(), run_dir);
    if let (Some(t), Some(out)) = (&c.config_template, &rendered_path) {
        let text = crate::diag::read_text(t)?;
        write_file(out, template::render(&text, &vars))?;
    }
    let args: Vec<String> = c
        .command
        .iter()
        .map(|a| template::render(a, &vars))
        .collect();
    // As for LiteLLM and Portkey: the shell's API keys stay out; the
    // scenario's `env:` passes what the gateway needs.
    let mut spec = ProcessSpec::new(name, &args[0], &c.workdir).args(&args[1..]);
    for (k, v) in &vars {
        spec = spec.env(template::env_name(k), v);
    }
    for (k, v) in &c.env {
        spec = spec.env(k, template::render(v, &vars));
    }
    spec.listen = Listen::Given(port);
    spec.ready = c.ready.clone();
    spec.timeout = c.startup_timeout;
    let up = launch(spec, run_dir, cancel).await?;
    let mut gw = RunningGateway::at(up.base_url, c.headers.clone());
    gw.process = Some(up.guard);
    gw.startup = up.startup;
    gw.health = Some(up.health);
    gw.sink = up.sink;
    Ok(gw)
}
