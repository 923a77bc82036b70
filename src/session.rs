//! One session's lifecycle around the gateway under test: the mocks the
//! scenario runs, the gateway started (or pointed at) over them, what the
//! gateway says of itself (the deployments it did not load, its account of
//! each request), and the order things stop in. `run`, `drill`, `compare`
//! and `explore` all start their gateway here.

use crate::gateway::adapter::{AccountCheck, GatewayConfig, Launch, NotLoaded};
use crate::gateway::{GatewayError, GatewayOptions, RunningGateway};
use crate::scenario::{Deployment, Gateway, Scenario};
use crate::traffic::Target;
use mock_providers::{JournalConfig, MockSet};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Starts the mocks of `deployments`, journaling to `journal`.
pub async fn start_mocks(
    deployments: &[Deployment],
    journal: JournalConfig,
) -> Result<MockSet, GatewayError> {
    let specs = deployments.iter().map(|d| d.spec.clone()).collect();
    MockSet::start(specs, journal)
        .await
        .map_err(|e| GatewayError::start(format!("cannot start the mock providers: {e}")))
}

/// Deployment id -> its mock's base URL, for the deployments that run.
pub fn mock_bases(deployments: &[Deployment], mocks: &MockSet) -> BTreeMap<String, String> {
    deployments
        .iter()
        .filter_map(|d| {
            mocks
                .get(d.id())
                .map(|m| (d.id().to_string(), m.base_url()))
        })
        .collect()
}

/// What the client calls: the gateway's URL and headers, keeping the answer
/// headers it gives its account and cost in.
pub fn target(gw: &RunningGateway) -> Target {
    Target::new(gw.base_url.clone(), gw.headers.clone())
        .keeping(gw.account_headers, gw.cost_headers)
}

/// Starts (or points at) the scenario's gateway over its running mocks.
pub async fn start_gateway(
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
        Gateway::Command(c) => {
            crate::gateway::command::start(c, &s.name, &s.deployments, mocks, run_dir, cancel).await
        }
        Gateway::Config(c) => {
            let bases = mock_bases(&s.deployments, mocks);
            start_config(
                c.config.as_ref(),
                &bases,
                run_dir,
                c.startup_timeout,
                opts,
                cancel,
            )
            .await
        }
    }
}

/// Starts a gateway from a team's config over mocks at `bases` (deployment
/// id -> base URL).
pub async fn start_config(
    config: &dyn GatewayConfig,
    bases: &BTreeMap<String, String>,
    run_dir: &Path,
    startup_timeout: Duration,
    opts: &GatewayOptions,
    cancel: &CancellationToken,
) -> Result<RunningGateway, GatewayError> {
    // A config that shares router state through Redis gets one of its own
    // on loopback: never the team's.
    let redis = match config.shared_state() {
        Some(_) => Some(
            crate::gateway::redis::start(&crate::gateway::absolute(run_dir)?.join("redis"), cancel)
                .await?,
        ),
        None => None,
    };
    let at = redis.as_ref().map(|r| format!("{}:{}", r.host, r.port));
    let mut gw = config
        .start(Launch {
            bases,
            run_dir,
            startup_timeout,
            options: opts,
            cancel,
            port: None,
            key: None,
            replica: None,
            redis: at.as_deref(),
        })
        .await?;
    gw.redis = redis;
    Ok(gw)
}

/// The deployments of the scenario's config the started gateway did not
/// load (none for a gateway crossfire does not run from a config). A
/// gateway run as replicas is asked through its balancer, and read as its
/// first replica was started (its base URLs, its log): every replica runs
/// the same config.
pub async fn not_loaded(
    s: &Scenario,
    mocks: &MockSet,
    gw: &RunningGateway,
    run_dir: &Path,
) -> Result<Vec<NotLoaded>, GatewayError> {
    let Some(cfg) = s.gateway.config() else {
        return Ok(Vec::new());
    };
    let mut bases = mock_bases(&s.deployments, mocks);
    let mut log = run_dir.join("gateway.log");
    if s.gateway.replicas().is_some() {
        for base in bases.values_mut() {
            *base = mock_providers::server::replica_base(base, 1);
        }
        log = run_dir.join("replica-1").join("gateway.log");
    }
    cfg.not_loaded(&bases, gw, &log).await
}

/// How to read the gateway's own account of each request, when it gives
/// one.
pub fn account(s: &Scenario, mocks: &MockSet) -> Option<Box<dyn AccountCheck>> {
    s.gateway
        .config()
        .and_then(|cfg| cfg.account(&s.deployments, &mock_bases(&s.deployments, mocks)))
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
