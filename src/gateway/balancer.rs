//! STUB (replaced by the balancer module at merge).

use std::time::Duration;

/// How the balancer in front of replicas behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct BalancerSettings {
    /// retry-on
    pub retry_on: Vec<String>,
    /// retries
    pub retries: u32,
    /// redispatch
    pub redispatch: bool,
    /// timeout connect
    pub timeout_connect: Duration,
    /// timeout server
    pub timeout_server: Duration,
    /// timeout client
    pub timeout_client: Duration,
    /// inter
    pub check_interval: Duration,
    /// timeout check
    pub check_timeout: Duration,
    /// fall
    pub fall: u32,
    /// rise
    pub rise: u32,
}

impl Default for BalancerSettings {
    fn default() -> Self {
        BalancerSettings {
            retry_on: vec!["conn-failure".into()],
            retries: 2,
            redispatch: true,
            timeout_connect: Duration::from_secs(1),
            timeout_server: Duration::from_secs(60),
            timeout_client: Duration::from_secs(60),
            check_interval: Duration::from_secs(1),
            check_timeout: Duration::from_secs(1),
            fall: 2,
            rise: 2,
        }
    }
}

/// retry-on words.
pub const RETRY_ON_WORDS: &[&str] = &[
    "none",
    "conn-failure",
    "empty-response",
    "junk-response",
    "response-timeout",
    "0rtt-rejected",
    "all-retryable-errors",
];

/// A change of a server's state seen by the balancer.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    /// When, since the clock.
    pub at: Duration,
    /// The server.
    pub server: String,
    /// Up or down.
    pub up: bool,
}

/// The header the marker goes in.
pub const MARKER_HEADER: &str = "x-crossfire-marker";

/// One request in the balancer's log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogLine {
    /// marker
    pub marker: Option<String>,
    /// server
    pub server: Option<String>,
    /// status
    pub status: Option<u16>,
    /// retries
    pub retries: u32,
    /// redispatched
    pub redispatched: bool,
    /// termination
    pub termination: String,
    /// total
    pub total_ms: Option<u64>,
    /// accept
    pub accept_unix_ms: Option<u64>,
}

/// words
pub fn termination_in_words(state: &str) -> String {
    state.to_string()
}

/// A backend.
#[derive(Debug, Clone)]
pub struct Backend {
    /// name
    pub name: String,
    /// port
    pub port: u16,
}

/// A running balancer.
#[derive(Debug)]
pub struct RunningBalancer {
    /// url
    pub base_url: String,
    /// startup
    pub startup: Duration,
    /// log
    pub log: std::path::PathBuf,
    /// config
    pub config: std::path::PathBuf,
}

/// start
pub async fn start(
    _settings: &BalancerSettings,
    _backends: &[Backend],
    _health_path: &str,
    _run_dir: &std::path::Path,
    _cancel: &tokio_util::sync::CancellationToken,
) -> Result<RunningBalancer, super::GatewayError> {
    Err(super::GatewayError::start("stub"))
}

impl RunningBalancer {
    /// watch
    pub fn watch(
        &self,
        _clock: std::time::Instant,
        _every: Duration,
        _cancel: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<Vec<StateChange>> {
        tokio::spawn(async { Vec::new() })
    }
}

/// read
pub fn read_log(_path: &std::path::Path) -> Vec<LogLine> {
    Vec::new()
}
