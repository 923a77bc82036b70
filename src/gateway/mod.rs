//! Gateway targets: turn (scenario, running mocks) into a gateway URL the
//! client calls, and tear it down. One enum, one `match`.

pub mod account;
pub mod litellm;
pub mod portkey;
pub mod process;
pub mod secrets;
pub mod sink;
pub mod template;
pub mod tensorzero;

use crate::diag::InputError;
use crate::scenario::{CommandGateway, Gateway, Scenario};
use mock_providers::MockSet;
use process::ProcessGuard;
use sink::Sink;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Starting a gateway failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Bad input found at start (a template variable, a missing file).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The gateway would not start or become ready.
    #[error("{message}{}", if log_tail.is_empty() { String::new() } else { format!("\nlast lines of the gateway log:\n{log_tail}") })]
    Start {
        /// What went wrong.
        message: String,
        /// The end of the gateway's log.
        log_tail: String,
    },
    /// Ctrl-C arrived while waiting.
    #[error("interrupted while starting the gateway")]
    Interrupted,
}

impl GatewayError {
    /// A start failure with no gateway log to show.
    pub fn start(message: impl Into<String>) -> GatewayError {
        GatewayError::Start {
            message: message.into(),
            log_tail: String::new(),
        }
    }
}

pub use secrets::{is_secret_key, DUMMY_KEY};

/// `dir` as an absolute path. A gateway runs in its own working folder, so
/// every path crossfire hands it (config, seal, run folder) must not depend
/// on crossfire's (the default `crossfire-runs/<time>` is relative).
pub fn absolute(dir: &Path) -> Result<PathBuf, GatewayError> {
    std::path::absolute(dir)
        .map_err(|e| GatewayError::start(format!("cannot resolve {}: {e}", dir.display())))
}

/// Creates `dir` and its parents, or says which directory could not be made.
pub fn create_dir(dir: &Path) -> Result<(), GatewayError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| GatewayError::start(format!("cannot create {}: {e}", dir.display())))
}

/// Writes `contents` to `path`, or says which file could not be written.
pub fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), GatewayError> {
    std::fs::write(path, contents)
        .map_err(|e| GatewayError::start(format!("cannot write {}: {e}", path.display())))
}

impl From<crate::provision::ProvisionError> for GatewayError {
    fn from(e: crate::provision::ProvisionError) -> GatewayError {
        GatewayError::start(e.to_string())
    }
}

/// A gateway the client can call. Dropping it stops what crossfire started.
#[derive(Debug)]
pub struct RunningGateway {
    /// Base URL.
    pub base_url: String,
    /// Headers every request carries.
    pub headers: BTreeMap<String, String>,
    /// The process, when crossfire started one.
    pub process: Option<ProcessGuard>,
    /// Time from start to ready.
    pub startup: Duration,
    /// The egress sink the process is sealed with.
    pub sink: Option<Sink>,
    /// The version crossfire installed and expects the gateway to report.
    pub pinned_version: Option<String>,
    /// The version of the package that runs (read from its install, before
    /// any request), whether or not crossfire installed it.
    pub installed_version: Option<String>,
    /// The answer header the gateway reports its version in (LiteLLM's
    /// `x-litellm-version`); `None` for one that reports none (Portkey).
    pub version_header: Option<&'static str>,
    /// The price map the gateway computes its reported cost with, for a
    /// gateway that reports cost (LiteLLM).
    pub price_map: Option<std::sync::Arc<crate::prices::GatewayPriceMap>>,
    /// Where a sealed Node.js gateway records refused connections.
    pub escapes_file: Option<PathBuf>,
}

impl RunningGateway {
    /// A gateway crossfire did not start: only a URL and headers.
    pub fn at(base_url: String, headers: BTreeMap<String, String>) -> RunningGateway {
        RunningGateway {
            base_url,
            headers,
            process: None,
            startup: Duration::ZERO,
            sink: None,
            pinned_version: None,
            installed_version: None,
            version_header: None,
            price_map: None,
            escapes_file: None,
        }
    }

    /// The version of the gateway that answered `records`: the one it
    /// reports, else the one its installed package says (LiteLLM sends
    /// `x-litellm-version` only on successes, so a run where every request
    /// failed has none), else the one crossfire installed. An error when the
    /// reported version is not the installed one (pip may silently install
    /// another): the run cannot be trusted.
    pub fn version(
        &self,
        records: &[crate::traffic::RequestRecord],
    ) -> Result<Option<String>, String> {
        let known = self
            .installed_version
            .clone()
            .or_else(|| self.pinned_version.clone());
        let Some(header) = self.version_header else {
            return Ok(known);
        };
        let seen = records.iter().find_map(|r| r.headers.get(header).cloned());
        match (&seen, &self.pinned_version) {
            (Some(seen), Some(pinned)) if seen != pinned => Err(format!(
                "the gateway reports version {seen}, but crossfire installed {pinned}: refusing to trust the run"
            )),
            _ => Ok(seen.or(known)),
        }
    }

    /// Everything the gateway tried to reach outside the machine.
    pub fn escapes(&self) -> Vec<sink::Escape> {
        let mut list = self.sink.as_ref().map(Sink::escapes).unwrap_or_default();
        if let Some(f) = &self.escapes_file {
            list.extend(portkey::read_escapes(f));
        }
        list
    }
}

/// Options of the gateway targets that come from the command line.
#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    /// How to find LiteLLM.
    pub litellm: litellm::LitellmOptions,
}

/// The template variables of a scenario's deployments, valid before anything
/// starts (values are filled in by [`vars`]).
pub fn template_names(s: &Scenario) -> Vec<String> {
    template::names(s.deployments.iter().map(|d| d.id()))
}

/// Checks a command gateway's config template before anything starts (its
/// command line and environment are checked when the scenario is read).
pub fn preflight(s: &Scenario) -> Result<(), InputError> {
    let Gateway::Command(c) = &s.gateway else {
        return Ok(());
    };
    let known = template_names(s);
    if let Some(t) = &c.config_template {
        let text = crate::diag::read_text(t)?;
        template::check(&text, &known, t)?;
    }
    Ok(())
}

/// Template values: mock URLs and the gateway's own port, config and folder.
pub fn vars(
    s: &Scenario,
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
    for d in &s.deployments {
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

/// Deployment id -> its mock's base URL.
fn mock_bases(s: &Scenario, mocks: &MockSet) -> BTreeMap<String, String> {
    s.deployments
        .iter()
        .filter_map(|d| {
            mocks
                .get(d.id())
                .map(|m| (d.id().to_string(), m.base_url()))
        })
        .collect()
}

/// Starts (or points at) the scenario's gateway.
pub async fn start(
    s: &Scenario,
    mocks: &MockSet,
    run_dir: &Path,
    opts: &GatewayOptions,
    cancel: &CancellationToken,
) -> Result<RunningGateway, GatewayError> {
    match &s.gateway {
        Gateway::Direct { deployment } => {
            let base_url = mocks.get(deployment).map(|d| d.base_url()).ok_or_else(|| {
                GatewayError::start(format!("deployment `{deployment}` is not running"))
            })?;
            Ok(RunningGateway::at(base_url, BTreeMap::new()))
        }
        Gateway::Url {
            base_url, headers, ..
        } => {
            reachable(base_url).await?;
            Ok(RunningGateway::at(base_url.clone(), headers.clone()))
        }
        Gateway::Command(c) => start_command(s, c, mocks, run_dir, cancel).await,
        Gateway::Litellm(l) => {
            let bin = litellm::binary(&opts.litellm, &mut |line| eprintln!("crossfire: {line}"))?;
            let bases = mock_bases(s, mocks);
            litellm::start(&l.config, &bin, &bases, run_dir, l.startup_timeout, cancel).await
        }
        Gateway::Portkey(p) => {
            let install = portkey::install(&mut |line| eprintln!("crossfire: {line}"))?;
            let bases = mock_bases(s, mocks);
            portkey::start(
                &p.config,
                &install,
                &bases,
                run_dir,
                p.startup_timeout,
                cancel,
            )
            .await
        }
    }
}

/// A gateway already running must accept a connection before traffic is
/// sent: otherwise every request fails in the client, and the report would
/// blame the gateway for what is the infrastructure.
async fn reachable(base_url: &str) -> Result<(), GatewayError> {
    let url = reqwest::Url::parse(base_url).map_err(|e| {
        GatewayError::start(format!("the gateway URL {base_url} is not valid: {e}"))
    })?;
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    let port = url.port_or_known_default().unwrap_or(80);
    let connect = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(GatewayError::start(format!(
            "cannot connect to the gateway at {base_url}: {}; is it running?",
            connect_error(&e)
        ))),
        Err(_) => Err(GatewayError::start(format!(
            "cannot connect to the gateway at {base_url}: no answer in 10 s; is it running?"
        ))),
    }
}

/// A connection error in plain words ("connection refused").
fn connect_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        std::io::ErrorKind::TimedOut => "timed out".to_string(),
        _ => e.to_string(),
    }
}

async fn start_command(
    s: &Scenario,
    c: &CommandGateway,
    mocks: &MockSet,
    run_dir: &Path,
    cancel: &CancellationToken,
) -> Result<RunningGateway, GatewayError> {
    let run_dir = &absolute(run_dir)?;
    let port = process::free_port()?;
    let rendered_path = c.config_template.as_ref().map(|t| {
        let name = t
            .file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".tmpl").to_string())
            .unwrap_or_else(|| "gateway-config".into());
        run_dir.join(format!("gateway-{name}"))
    });
    let vars = vars(s, mocks, port, rendered_path.as_deref(), run_dir);
    if let (Some(t), Some(out)) = (&c.config_template, &rendered_path) {
        let text = crate::diag::read_text(t)?;
        write_file(out, template::render(&text, &vars))?;
    }
    let args: Vec<String> = c
        .command
        .iter()
        .map(|a| template::render(a, &vars))
        .collect();
    let mut cmd = Command::new(&args[0]);
    cmd.args(&args[1..]).current_dir(&c.workdir);
    // As for LiteLLM and Portkey: the shell's API keys stay out; the
    // scenario's `env:` passes what the gateway needs.
    process::clean_env(&mut cmd);
    for (k, v) in &vars {
        cmd.env(template::env_name(k), v);
    }
    for (k, v) in &c.env {
        cmd.env(k, template::render(v, &vars));
    }
    let sink = Sink::start()
        .await
        .map_err(|e| GatewayError::start(format!("cannot start the egress sink: {e}")))?;
    cmd.envs(sink.env());
    let log = run_dir.join("gateway.log");
    let mut guard = ProcessGuard::spawn(&s.name, cmd, &log)
        .map_err(|e| GatewayError::start(format!("cannot start `{}`: {e}", args.join(" "))))?;
    let started = Instant::now();
    let base_url = wait_ready(
        &mut guard,
        Listen::Given(port),
        &c.ready,
        c.startup_timeout,
        cancel,
    )
    .await?;
    Ok(RunningGateway {
        base_url,
        headers: c.headers.clone(),
        process: Some(guard),
        startup: started.elapsed(),
        sink: Some(sink),
        pinned_version: None,
        installed_version: None,
        version_header: None,
        price_map: None,
        escapes_file: None,
    })
}

/// Where a starting gateway listens.
#[derive(Debug, Clone, Copy)]
pub enum Listen {
    /// The port crossfire gave it (a command gateway's `{{ port }}`).
    Given(u16),
    /// The port it bound when started on port 0, read from /proc: no port
    /// is chosen by crossfire and let go before the gateway binds it, so no
    /// other server (a mock binding port 0 meanwhile) can take it.
    Picked,
}

/// Polls `path` where the gateway listens until it answers 2xx, the process
/// exits, the time runs out, or Ctrl-C arrives; returns its base URL.
pub async fn wait_ready(
    guard: &mut ProcessGuard,
    listen: Listen,
    path: &str,
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
                    "the gateway exited before it was ready ({status}); log: {}",
                    guard.log().display()
                ),
                log_tail: guard.log_tail(4000),
            });
        }
        let ports = match listen {
            Listen::Given(port) => vec![port],
            Listen::Picked => process::listening_ports(guard.pgid()),
        };
        for port in ports {
            let base = format!("http://127.0.0.1:{port}");
            let url = format!("{base}{path}");
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => return Ok(base),
                Ok(r) => last = format!("{url} answered {}", r.status()),
                Err(e) => last = format!("{url}: {e}"),
            }
        }
        if Instant::now() >= deadline {
            return Err(GatewayError::Start {
                message: format!(
                    "the gateway was not ready after {:.0?} ({last}); log: {}",
                    limit,
                    guard.log().display()
                ),
                log_tail: guard.log_tail(4000),
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = cancel.cancelled() => return Err(GatewayError::Interrupted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn litellm(installed: Option<&str>, pinned: Option<&str>) -> RunningGateway {
        let mut g = RunningGateway::at("http://127.0.0.1:1".into(), BTreeMap::new());
        g.version_header = Some("x-litellm-version");
        g.installed_version = installed.map(String::from);
        g.pinned_version = pinned.map(String::from);
        g
    }

    #[test]
    fn a_run_without_a_version_header_reports_the_installed_version() {
        // No success, no `x-litellm-version`: the package that ran says it.
        assert_eq!(
            litellm(Some("1.108.7"), None).version(&[]),
            Ok(Some("1.108.7".into()))
        );
        assert_eq!(
            litellm(None, Some("1.108.7")).version(&[]),
            Ok(Some("1.108.7".into()))
        );
        assert_eq!(litellm(None, None).version(&[]), Ok(None));
    }
}
