//! Gateway targets: turn (scenario, running mocks) into a gateway URL the
//! client calls, and tear it down. A gateway crossfire runs from a team's
//! own config is an [`adapter::Adapter`] in its own folder, listed once in
//! [`ADAPTERS`]; every process gateway starts through [`launcher`].

pub mod adapter;
pub mod balancer;
pub mod command;
pub mod launcher;
pub mod litellm;
pub mod portkey;
pub mod process;
pub mod program;
pub mod redis;
pub mod secrets;
pub mod sink;
pub mod template;
pub mod tensorzero;

use crate::diag::InputError;
use process::ProcessGuard;
use sink::Sink;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// Every gateway crossfire runs from a team's own config. Adding one is a
/// folder under `src/gateway/` and a line here.
pub const ADAPTERS: &[&dyn adapter::Adapter] = &[
    &litellm::Litellm,
    &portkey::Portkey,
    &tensorzero::Tensorzero,
];

/// The adapter a `--gateway` / `gateway.kind` word names.
pub fn adapter_named(name: &str) -> Option<&'static dyn adapter::Adapter> {
    ADAPTERS.iter().copied().find(|a| a.name() == name)
}

/// Reads a team's config with the adapter `--gateway NAME` names; `what`
/// says what the command does with it ("lint reads"). An unknown name is
/// the flag's fault, with the names there are.
pub fn load_config(
    name: &str,
    file: &Path,
    what: &str,
) -> Result<std::sync::Arc<dyn adapter::GatewayConfig>, InputError> {
    let adapter = adapter_named(name).ok_or_else(|| {
        let names = adapter_names();
        InputError::flag(
            format!("--gateway {name}"),
            format!(
                "{what} {} configs; {}",
                crate::diag::and_list(names.iter().map(|n| format!("`{n}`"))),
                crate::diag::suggest(name, names.iter().copied())
            ),
        )
    })?;
    adapter.load(file)
}

/// The names of every adapter, in order (`litellm`, `portkey`, ...).
pub fn adapter_names() -> Vec<&'static str> {
    ADAPTERS.iter().map(|a| a.name()).collect()
}

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
    /// Where a seal inside the gateway records refused connections (one
    /// JSON object a line: `method`, `target`).
    pub escapes_file: Option<PathBuf>,
    /// Prefixes of the answer headers it gives its own account in.
    pub account_headers: &'static [&'static str],
    /// Answer headers it reports a request's cost in, first found wins.
    pub cost_headers: &'static [&'static str],
    /// What says it is up (the path polled at start), for a balancer's
    /// health check; `None` for a gateway crossfire did not start.
    pub health: Option<launcher::Health>,
    /// The Redis crossfire started for the config's shared router state,
    /// stopped with the gateway.
    pub redis: Option<redis::RunningRedis>,
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
            account_headers: &[],
            cost_headers: &[],
            health: None,
            redis: None,
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
        records: &[crate::records::RequestRecord],
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
            list.extend(sink::read_escapes(f));
        }
        list
    }
}

/// Options of the gateway targets that come from the command line.
#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    /// How to find LiteLLM.
    pub litellm: litellm::LitellmOptions,
    /// Install and run this version of a Portkey or TensorZero gateway
    /// instead of the pinned one (LiteLLM's is `litellm.version`).
    pub version: Option<String>,
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
