//! The TensorZero target: TensorZero's Rust gateway as shipped inside its
//! PyPI wheel (`tensorzero`, pinned), installed by crossfire into its cache
//! and started through a launcher script crossfire owns (`launch.py`, run
//! with the cache's Python); the team's `tensorzero.toml` rewritten to the
//! mocks; sealed by the egress sink (the gateway's HTTP client honours
//! `HTTPS_PROXY`), with TensorZero's usage analytics turned off.

pub mod adapter;
pub mod config;
pub mod isolate;
pub mod lint;
pub mod mapping;
pub mod rewrite;
pub mod toml_src;

pub use adapter::Tensorzero;

use super::launcher::{launch, ProcessSpec};
use super::{GatewayError, RunningGateway};
use crate::provision::{self, PythonEnvSpec};
use config::TensorzeroConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The TensorZero version crossfire installs (PyPI `tensorzero`, whose wheel
/// carries the Rust gateway). crossfire starts the gateway through a private
/// helper of that wheel, so the pin is exact and checked after install and
/// by the launcher.
pub const VERSION: &str = "2026.6.0";

/// The TensorZero Python package (with its embedded gateway) at a version,
/// as crossfire installs it into its cache.
pub fn env_spec(version: &str) -> PythonEnvSpec {
    PythonEnvSpec {
        name: format!("tensorzero-{version}"),
        requirements: vec![format!("tensorzero=={version}")],
        expect: vec![("tensorzero".into(), version.into())],
    }
}

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

/// Installs (once) the `tensorzero` wheel (`version`, or the pinned one) into crossfire's cache and
/// checks that pip installed exactly that version.
pub fn install(
    version: Option<&str>,
    progress: &mut dyn FnMut(&str),
) -> Result<TensorzeroInstall, provision::ProvisionError> {
    let version = version.unwrap_or(VERSION);
    let env = provision::ensure_python_env(&env_spec(version), progress)?;
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
    // It binds 127.0.0.1 on a port the OS picks (it takes no port), read
    // from /proc. Its only routes are POSTs: a GET of the chat route
    // answering 405 says the router is up.
    let mut spec = ProcessSpec::new("tensorzero", &install.python, run_dir)
        .arg(&launcher)
        .arg(&config_path)
        .arg(&install.version)
        // Without it the gateway reports usage to TensorZero's server at
        // start (seen at the sink: `CONNECT howdy.tensorzero.com:443`).
        .env("TENSORZERO_DISABLE_PSEUDONYMOUS_USAGE_ANALYTICS", "1")
        .env("NO_COLOR", "1")
        .env("PYTHONUNBUFFERED", "1");
    for (k, v) in &rewritten.env {
        spec = spec.env(k, v);
    }
    spec.ready = "/openai/v1/chat/completions".into();
    spec.ready_also = &[405];
    spec.timeout = startup_timeout;
    let up = launch(spec, run_dir, cancel).await?;
    let mut gw = RunningGateway::at(format!("{}/openai", up.base_url), BTreeMap::new());
    gw.process = Some(up.guard);
    gw.startup = up.startup;
    gw.health = Some(up.health);
    gw.sink = up.sink;
    gw.pinned_version = Some(install.version.clone());
    // TensorZero reports no version (no header, no status route in the
    // embedded gateway): the launcher checked the installed one before start.
    gw.installed_version = install.installed_version.clone();
    Ok(gw)
}
