//! The LiteLLM proxy target: the team's own `config.yaml`, rewritten to the
//! mocks, run by the real `litellm` proxy (found on PATH, given with
//! `--litellm`, or installed pinned into crossfire's cache), sealed, and
//! stopped with its whole process group.

pub mod account;
pub mod adapter;
pub mod config;
pub mod exceptions;
pub mod include;
pub mod intent;
pub mod isolate;
pub mod lint;
pub mod loaded;
pub mod rewrite;
pub mod yaml;

pub use adapter::Litellm;

use super::launcher::{launch, listen, ProcessSpec};
use super::{GatewayError, RunningGateway};
use crate::provision::{self, PythonEnvSpec};
use config::LitellmConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The LiteLLM version crossfire installs when none is on PATH. 1.108.7
/// installed cleanly with the `proxy` extra from this registry on 2026-11-24;
/// 1.110.x did not (pip silently picked an older release).
pub const VERSION: &str = "1.108.7";

/// The LiteLLM proxy at a version, as crossfire installs it into its cache.
pub fn env_spec(version: &str) -> PythonEnvSpec {
    PythonEnvSpec {
        name: format!("litellm-{version}"),
        requirements: vec![format!("litellm[proxy]=={version}")],
        expect: vec![("litellm".into(), version.into())],
    }
}

/// How to find the `litellm` program.
#[derive(Debug, Clone, Default)]
pub struct LitellmOptions {
    /// `--litellm PATH`: this program.
    pub path: Option<PathBuf>,
    /// `--litellm-version V`: install this version into the cache.
    pub version: Option<String>,
}

/// The program that will run, and the version crossfire installed, if it did.
#[derive(Debug, Clone)]
pub struct LitellmBinary {
    /// The `litellm` executable.
    pub path: PathBuf,
    /// The pinned version, when crossfire provisioned it.
    pub pinned: Option<String>,
}

/// The file LiteLLM prices with when it runs offline
/// (`LITELLM_LOCAL_MODEL_COST_MAP=True`, as crossfire runs it).
const BUNDLED_PRICE_MAP: &str = "litellm/model_prices_and_context_window_backup.json";

impl LitellmBinary {
    /// The version of the `litellm` package this program runs, read from
    /// its environment's `site-packages` (found however the program was).
    pub fn installed_version(&self) -> Option<String> {
        provision::site_packages_of(&self.path)
            .and_then(|sp| provision::installed_version(&sp, "litellm"))
            .or_else(|| self.pinned.clone())
    }

    /// The price map bundled in the package this program runs: what the
    /// proxy computes `x-litellm-response-cost` with.
    pub fn price_map(&self) -> Option<crate::prices::GatewayPriceMap> {
        let site = provision::site_packages_of(&self.path)?;
        let text = std::fs::read_to_string(site.join(BUNDLED_PRICE_MAP)).ok()?;
        let version = self
            .installed_version()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        crate::prices::GatewayPriceMap::from_json(
            &format!("LiteLLM{version}'s bundled price map"),
            &text,
        )
        .ok()
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Finds the program: `--litellm`, else a version asked for (installed),
/// else `litellm` on PATH, else the pinned version (installed once).
pub fn binary(
    opts: &LitellmOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<LitellmBinary, provision::ProvisionError> {
    if let Some(p) = &opts.path {
        return Ok(LitellmBinary {
            path: p.clone(),
            pinned: None,
        });
    }
    if opts.version.is_none() {
        if let Some(p) = on_path("litellm") {
            return Ok(LitellmBinary {
                path: p,
                pinned: None,
            });
        }
    }
    let version = opts.version.clone().unwrap_or_else(|| VERSION.to_string());
    let spec = env_spec(&version);
    // Checks the installed versions too: what runs must be what was pinned.
    let env = provision::ensure_python_env(&spec, progress)?;
    Ok(LitellmBinary {
        path: env.bin("litellm"),
        pinned: Some(version),
    })
}

fn random_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("sk-crossfire-{:x}{:x}", nanos, std::process::id())
}

/// Starts the proxy on the rewritten config and waits until it is alive.
pub async fn start(
    cfg: &LitellmConfig,
    bin: &LitellmBinary,
    l: &super::adapter::Launch<'_>,
) -> Result<RunningGateway, GatewayError> {
    let (bases, run_dir, port) = (l.bases, l.run_dir, l.port);
    let master = l.key.map_or_else(random_key, str::to_string);
    let mut doc = rewrite::rewrite(cfg, bases, &master);
    if let Some(redis) = l.redis {
        rewrite::point_redis(&mut doc, redis);
    }
    if l.replica.is_some() {
        rewrite::pin_ids(&mut doc, cfg);
    }
    let run_dir = &super::absolute(run_dir)?;
    let config_path = run_dir.join("litellm-config.yaml");
    let text = yaml::emit(&doc);
    super::write_file(&config_path, text)?;
    // Port 0: the OS picks, crossfire reads which from /proc (a restarted
    // replica is given its old port).
    let mut spec = ProcessSpec::new("litellm", &bin.path, run_dir)
        .arg("--config")
        .arg(&config_path)
        .args(["--host", "127.0.0.1", "--port"])
        .arg(port.unwrap_or(0).to_string())
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("HF_HUB_OFFLINE", "1")
        .env("LITELLM_MASTER_KEY", &master)
        .env("LITELLM_TELEMETRY_DISABLED", "true")
        .env("PYTHONUNBUFFERED", "1");
    for name in &cfg.env_refs {
        spec = spec.env(name, "crossfire-dummy");
    }
    spec.listen = listen(port);
    spec.ready = "/health/liveliness".into();
    spec.timeout = l.startup_timeout;
    let up = launch(spec, run_dir, l.cancel).await?;
    Ok(RunningGateway {
        base_url: up.base_url,
        headers: BTreeMap::from([("authorization".to_string(), format!("Bearer {master}"))]),
        process: Some(up.guard),
        startup: up.startup,
        sink: up.sink,
        pinned_version: bin.pinned.clone(),
        installed_version: bin.installed_version(),
        version_header: Some("x-litellm-version"),
        price_map: bin.price_map().map(std::sync::Arc::new),
        escapes_file: None,
        health: Some(up.health),
        redis: None,
        account_headers: &["x-litellm-", "llm_provider-"],
        // LiteLLM drops a zero `x-litellm-response-cost` but still sends the
        // `-original` figure: a model it cannot price shows as 0, not as
        // missing.
        cost_headers: &[
            "x-litellm-response-cost",
            "x-litellm-response-cost-original",
        ],
    })
}
