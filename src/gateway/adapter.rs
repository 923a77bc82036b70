//! The one interface between crossfire and a gateway it knows. An adapter
//! owns everything about its gateway: reading the team's config with located
//! errors, mapping its items to mock deployments, the rewrite and the seal,
//! provisioning and launch, the account its answer headers give, the
//! operator's intent and the literal predictions (lint rules), and how a
//! drill gives every cell fresh router state. Nothing outside a gateway's
//! folder matches on which gateway it is: it asks the adapter.
//!
//! Adding a gateway: a folder under `src/gateway/` with an [`Adapter`] and a
//! [`GatewayConfig`], and one line in [`super::ADAPTERS`].

use super::{GatewayError, GatewayOptions, RunningGateway};
use crate::deployment::{ClientApi, Deployment};
use crate::diag::InputError;
use crate::intent::{Intent, RoutingIntent};
use crate::lint::{LintReport, Prediction, Warning};
use crate::paths::RequestPath;
use mock_providers::FailureClass;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A future an adapter returns (adapters are trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A gateway crossfire can run from a team's own config.
pub trait Adapter: Send + Sync {
    /// The word in `--gateway` and a scenario's `gateway.kind` (`litellm`).
    fn name(&self) -> &'static str;
    /// What the team's config is, for messages ("the team's LiteLLM proxy
    /// config").
    fn config_noun(&self) -> &'static str;
    /// How long a start may take unless the scenario says.
    fn startup_timeout(&self) -> Duration;
    /// Reads the team's config; every error names file, line and column.
    fn load(&self, file: &Path) -> Result<Arc<dyn GatewayConfig>, InputError>;
    /// A routing intent as this gateway's own config (`crossfire compare`
    /// without the team's configs): the file name and its text.
    fn render(&self, intent: &RoutingIntent) -> (&'static str, String);
}

/// The mock deployments of a config, and the items crossfire has no mock
/// for (run only with `--allow-unmapped`, their traffic sealed).
#[derive(Debug, Clone, Default)]
pub struct Mapped {
    /// One deployment per mapped item.
    pub deployments: Vec<Deployment>,
    /// `id (model, group g)` of each item without a mock.
    pub unmapped: Vec<String>,
}

/// A deployment of the config the gateway did not load at start, with its
/// own reason: traffic meant for it finds nothing, which reads like a
/// failover that never happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotLoaded {
    /// The deployment id (a drill's copy id, `azure--cell3`, in a drill).
    pub id: String,
    /// Its model group.
    pub group: String,
    /// The gateway's own reason, from its log.
    pub reason: String,
}

/// What a start needs besides the config.
pub struct Launch<'a> {
    /// Deployment id -> its mock's base URL.
    pub bases: &'a BTreeMap<String, String>,
    /// The run folder (the rewritten config and the log go there).
    pub run_dir: &'a Path,
    /// How long to wait for readiness.
    pub startup_timeout: Duration,
    /// Command-line options (which program, which version).
    pub options: &'a GatewayOptions,
    /// Ctrl-C.
    pub cancel: &'a CancellationToken,
    /// The port to listen on: a replica restarted where the balancer
    /// expects it. `None`: the OS picks.
    pub port: Option<u16>,
    /// The key clients send, when every replica must accept the same one;
    /// `None`: the gateway makes its own.
    pub key: Option<&'a str>,
    /// This is replica `n` of several: each calls the mocks at its own base
    /// URL, yet its deployments must keep the ids every replica shares (the
    /// ids router state is kept under), as identical replicas do in
    /// production.
    pub replica: Option<u32>,
    /// The Redis crossfire started for the config's shared state
    /// (`host:port` on loopback), when [`GatewayConfig::shared_state`] names one.
    pub redis: Option<&'a str>,
}

/// A gateway's own account of a request (its answer headers) held against
/// what the providers saw.
pub trait AccountCheck: Send + Sync {
    /// Where the gateway's headers and the journal part ways, in words.
    fn disagreements(&self, path: &RequestPath, headers: &BTreeMap<String, String>) -> Vec<String>;
}

/// One mock of a drill: a copy of a deployment for one cell, and whether the
/// cell's fault lands on it (its group's own deployments) or it stays
/// healthy (the fallbacks).
#[derive(Debug, Clone)]
pub struct DrillDeployment {
    /// The copy, with its copy id.
    pub deployment: Deployment,
    /// The cell it belongs to (`None`: a deployment the drill's config
    /// keeps outside every cell; it runs healthy).
    pub cell: Option<usize>,
    /// Whether the cell's fault is on it.
    pub primary: bool,
}

/// How a drill cell reaches the gateway.
#[derive(Debug, Clone)]
pub struct DrillRoute {
    /// The model the client asks for (the cell's copy of its group).
    pub model: String,
    /// The upstream model whose context window an overflow cell outgrows.
    pub primary_model: String,
    /// The chance a request lands on a faulted deployment first (below 1
    /// when the gateway picks among targets at random).
    pub primary_share: f64,
}

/// A drill as the gateway runs it: one gateway, every cell with its own
/// copies of its deployments, so no cell inherits another's router state.
pub struct DrillPlan {
    /// The config the gateway runs during the drill.
    pub config: Arc<dyn GatewayConfig>,
    /// Every mock of the drill.
    pub deployments: Vec<DrillDeployment>,
    /// One route per (group, class) pair, in order.
    pub routes: Vec<DrillRoute>,
    /// Original deployment id -> the group its shape is written with.
    pub group_of: HashMap<String, String>,
    /// The gateway's request timeout, when the config sets one (a timeout
    /// cell's slow answer outlasts it).
    pub timeout: Option<f64>,
}

/// A team's gateway config, read: everything crossfire asks of one gateway.
pub trait GatewayConfig: Send + Sync + std::fmt::Debug {
    /// The adapter that read it.
    fn adapter(&self) -> &'static dyn Adapter;
    /// The file it was read from.
    fn file(&self) -> &Path;
    /// Its model groups, in config order.
    fn groups(&self) -> Vec<String>;
    /// Why traffic cannot ask for `group`, when it cannot (a LiteLLM config
    /// without that `model_name`); `None` when it can.
    fn refuses_group(&self, group: &str) -> Option<String>;
    /// The API it offers clients unless the scenario says.
    fn api(&self) -> ClientApi {
        ClientApi::Openai
    }
    /// A mock deployment per item; an item without a mock stops the run,
    /// naming it, unless `allow_unmapped`.
    fn deployments(&self, allow_unmapped: bool) -> Result<Mapped, InputError>;
    /// What the operator believes, derived from the config, for the groups
    /// traffic asks for.
    fn intent(&self, groups: &BTreeSet<&str>) -> Intent;
    /// Why the gateway's rules do or do not keep a promise, per class.
    fn causes(
        &self,
        group: &str,
        promised: &BTreeMap<FailureClass, BTreeSet<String>>,
    ) -> BTreeMap<FailureClass, String>;
    /// Why the gateway answered a request by itself (no provider attempt),
    /// naming the config line behind it, when its answer's body says.
    /// Nothing by default.
    fn self_answer_cause(&self, _status: u16, _body: &str) -> Option<String> {
        None
    }
    /// How long the gateway keeps traffic off a deployment that failed
    /// (LiteLLM's cooldown), when it does: an outage drill watches at least
    /// this long after the outage. Nothing by default.
    fn cooldown(&self) -> Option<std::time::Duration> {
        None
    }
    /// Where the config keeps router state replicas share (LiteLLM's
    /// `router_settings.redis_host`), named with its line: crossfire then
    /// starts a Redis on loopback and points the gateway at it. `None`:
    /// every replica keeps its own (the default).
    fn shared_state(&self) -> Option<String> {
        None
    }
    /// Whose rules lint predicts with (`LiteLLM 1.108.7`).
    fn rules(&self) -> String;
    /// The warnings a reviewer of the config wants.
    fn warnings(&self) -> Vec<Warning>;
    /// lint: the prediction of every group with every drill class, and the
    /// warnings.
    fn lint(&self) -> LintReport {
        LintReport {
            config: self.file().to_path_buf(),
            rules: self.rules(),
            predictions: crate::lint::predictions(&self.groups(), |g, c| self.predict(g, c)),
            warnings: self.warnings(),
        }
    }
    /// The literal prediction of one cell.
    fn predict(&self, group: &str, class: FailureClass) -> Option<Prediction>;
    /// Whether the gateway picks among `group`'s deployments at random by
    /// design (its routing snapshots then keep sets, not sequences).
    fn picks_at_random(&self, group: &str) -> bool;
    /// Reads the gateway's account of requests, with the mocks at `bases`.
    fn account(
        &self,
        deployments: &[Deployment],
        bases: &BTreeMap<String, String>,
    ) -> Option<Box<dyn AccountCheck>>;
    /// Provisions (once) and starts the gateway on the config rewritten to
    /// the mocks, sealed, and waits until it is ready.
    fn start<'a>(
        &'a self,
        launch: Launch<'a>,
    ) -> BoxFuture<'a, Result<RunningGateway, GatewayError>>;
    /// Deployments the started gateway did not load.
    fn not_loaded<'a>(
        &'a self,
        _bases: &'a BTreeMap<String, String>,
        _gateway: &'a RunningGateway,
        _log: &'a Path,
    ) -> BoxFuture<'a, Result<Vec<NotLoaded>, GatewayError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// A drill of `pairs` (group, class): the config the gateway runs and
    /// each cell's mocks and route. `drill-source.yaml`-like files go in
    /// `out`.
    fn drill_plan(
        &self,
        pairs: &[(String, FailureClass)],
        out: &Path,
    ) -> Result<DrillPlan, GatewayError>;
    /// Extra headers of one drill cell's requests, once the mocks run.
    fn cell_headers(
        &self,
        _cell: usize,
        _bases: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, GatewayError> {
        Ok(BTreeMap::new())
    }
    /// The groups a drill covers: those with an item crossfire can mock. An
    /// error, located in the config, when there is none.
    fn drill_groups(&self) -> Result<Vec<String>, InputError>;
}
