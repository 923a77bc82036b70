//! The TensorZero target: TensorZero's Rust gateway as shipped inside its
//! PyPI wheel (`tensorzero`, pinned), installed by crossfire into its cache
//! and started through a launcher script crossfire owns (`launch.py`, run
//! with the cache's Python); the team's `tensorzero.toml` rewritten to the
//! mocks; sealed by the egress sink (the gateway's HTTP client honours
//! `HTTPS_PROXY`), with TensorZero's usage analytics turned off.

pub mod config;
pub mod isolate;
pub mod lint;

pub mod mapping;
pub mod rewrite;
pub mod toml_src;

use super::process::{self, ProcessGuard};
use super::sink::Sink;
use super::{GatewayError, RunningGateway};
use crate::provision::{self, PythonEnvSpec};
use config::TensorzeroConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The launcher crossfire runs the gateway with.
pub const LAUNCHER: &str = include_str!("launch.py");

/// The model a client asks for to reach a `[models.<name>]` entry.
///
/// ```
/// assert_eq!(crossfire::gateway::tensorzero::client_model("gpt"), "tensorzero::model_name::gpt");
/// ```
pub fn client_model(model: &str) -> String {
    format!("tensorzero::model_name::{model}")
}

/// The model a client asks for to reach a `[functions.<name>]` entry.
pub fn client_function(function: &str) -> String {
    format!("tensorzero::function_name::{function}")
}

/// The installed TensorZero package: the Python that runs the launcher.
#[derive(Debug, Clone)]
pub struct TensorzeroInstall {
    /// The cached venv's interpreter.
    pub python: PathBuf,
    /// The pinned version.
    pub version: String,
    /// The version its `tensorzero-*.dist-info` says.
    pub installed_version: Option<String>,
}

/// Installs (once) the pinned `tensorzero` wheel into crossfire's cache and
/// checks that pip installed exactly that version.
pub fn install(
    progress: &mut dyn FnMut(&str),
) -> Result<TensorzeroInstall, provision::ProvisionError> {
    let version = provision::TENSORZERO_VERSION;
    let env = provision::ensure_python_env(&PythonEnvSpec::tensorzero(version), progress)?;
    // `bin/python` is a symlink out of the venv: look in the venv itself.
    let installed_version = std::fs::read_dir(env.root.join("lib"))
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .find_map(|e| provision::installed_version(&e.path().join("site-packages"), "tensorzero"));
    Ok(TensorzeroInstall {
        python: env.python(),
        version: version.to_string(),
        installed_version,
    })
}

/// Starts the gateway on the rewritten config, sealed, and waits until it
/// answers. Its base URL is `http://127.0.0.1:PORT/openai` (clients post to
/// `/v1/chat/completions` under it, with [`client_model`] names).
pub async fn start(
    cfg: &TensorzeroConfig,
    install: &TensorzeroInstall,
    bases: &BTreeMap<String, String>,
    run_dir: &Path,
    startup_timeout: Duration,
    cancel: &CancellationToken,
) -> Result<RunningGateway, GatewayError> {
    let rewritten = rewrite::rewrite(cfg, bases)?;
    let run_dir = &super::absolute(run_dir)?;
    let config_path = run_dir.join("tensorzero.toml");
    super::write_file(&config_path, &rewritten.text)?;
    let launcher = run_dir.join("crossfire-tensorzero-launch.py");
    super::write_file(&launcher, LAUNCHER)?;
    let sink = Sink::start()
        .await
        .map_err(|e| GatewayError::start(format!("cannot start the egress sink: {e}")))?;
    let mut cmd = Command::new(&install.python);
    cmd.arg(&launcher)
        .arg(&config_path)
        .arg(&install.version)
        .current_dir(run_dir);
    process::clean_env(&mut cmd);
    cmd.envs(&rewritten.env)
        .envs(sink.env())
        // Without it the gateway reports usage to TensorZero's server at start
        // (seen at the sink: `CONNECT howdy.tensorzero.com:443`).
        .env("TENSORZERO_DISABLE_PSEUDONYMOUS_USAGE_ANALYTICS", "1")
        .env("NO_COLOR", "1")
        .env("PYTHONUNBUFFERED", "1");
    let log = run_dir.join("gateway.log");
    let mut guard = ProcessGuard::spawn("tensorzero", cmd, &log).map_err(|e| {
        GatewayError::start(format!("cannot start {}: {e}", install.python.display()))
    })?;
    let started = Instant::now();
    let base = wait_answering(&mut guard, startup_timeout, cancel).await?;
    let mut gw = RunningGateway::at(format!("{base}/openai"), BTreeMap::new());
    gw.process = Some(guard);
    gw.startup = started.elapsed();
    gw.sink = Some(sink);
    gw.pinned_version = Some(install.version.clone());
    // TensorZero reports no version (no header, no status route in the
    // embedded gateway): the launcher checked the installed one before start.
    gw.installed_version = install.installed_version.clone();
    Ok(gw)
}

/// Waits until a port of the gateway's group answers like TensorZero's
/// router: the embedded gateway has no GET route that answers 2xx (no
/// `/health`, no `/status`), so `gateway::wait_ready` cannot be used; a GET
/// on its chat route answers 405 with `allow: POST`, which no other server
/// of the group does.
async fn wait_answering(
    guard: &mut ProcessGuard,
    limit: Duration,
    cancel: &CancellationToken,
) -> Result<String, GatewayError> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| GatewayError::start(format!("cannot build an HTTP client: {e}")))?;
    let deadline = Instant::now() + limit;
    let mut last = "it listens on no port yet".to_string();
    loop {
        if let Some(status) = guard.exited() {
            return Err(GatewayError::Start {
                message: format!(
                    "the TensorZero gateway exited before it was ready ({status}); log: {}",
                    guard.log().display()
                ),
                log_tail: guard.log_tail(4000),
            });
        }
        for port in process::listening_ports(guard.pgid()) {
            let base = format!("http://127.0.0.1:{port}");
            let url = format!("{base}/openai/v1/chat/completions");
            match client.get(&url).send().await {
                Ok(r) if r.status() == reqwest::StatusCode::METHOD_NOT_ALLOWED => return Ok(base),
                Ok(r) => last = format!("{url} answered {}", r.status()),
                Err(e) => last = format!("{url}: {e}"),
            }
        }
        if Instant::now() >= deadline {
            return Err(GatewayError::Start {
                message: format!(
                    "the TensorZero gateway was not ready after {limit:.0?} ({last}); log: {}",
                    guard.log().display()
                ),
                log_tail: guard.log_tail(4000),
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(25)) => {}
            _ = cancel.cancelled() => return Err(GatewayError::Interrupted),
        }
    }
}
