//! The scenario as the runner uses it: every reference resolved, every value
//! in range. Built only by [`load`] / [`from_source`], which check the whole
//! file before anything starts.

pub use super::file::ReplicaAction;
pub use super::file::Share;
use super::file::{
    ClientApiName, ExpectFile, GatewayFile, GatewayKind, ScenarioFile, ServedByFile, TrafficFile,
};
use crate::deployment_file::{check_id, Dur};
use crate::diag::{suggest, InputError, Source};
use crate::gateway::adapter::GatewayConfig;
pub use crate::gateway::balancer::BalancerSettings;
pub use crate::gateway::command::CommandGateway;
use crate::paths::PathClass;
use mock_providers::{Dialect, FailureClass};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What the command line adds to a scenario file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--gateway KIND` (with `--config` / `--url`): replaces the file's gateway.
    pub gateway: Option<GatewayOverride>,
    /// `--allow-unmapped`: run even when some config items have no mock.
    pub allow_unmapped: bool,
    /// `--replicas N`: replaces the file's `gateway.replicas`.
    pub replicas: Option<u32>,
}

/// A gateway chosen on the command line.
#[derive(Debug, Clone)]
pub struct GatewayOverride {
    /// The target kind.
    pub kind: super::file::GatewayKind,
    /// `--config FILE`, relative to the working folder.
    pub config: Option<PathBuf>,
    /// `--url URL`.
    pub url: Option<String>,
}

pub use crate::deployment::{default_provider, ClientApi, Deployment};
pub use crate::intent::{GroupIntent, Intent};

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from.
    pub file: PathBuf,
    /// Its name.
    pub name: String,
    /// What it checks.
    pub about: Option<String>,
    /// The gateway under test.
    pub gateway: Gateway,
    /// Mock deployments, faults attached.
    pub deployments: Vec<Deployment>,
    /// The faults as the file wrote them, with the deployments each landed on.
    pub faults: Vec<PlacedFault>,
    /// Faults of the gateway's replicas, in time order.
    pub gateway_faults: Vec<GatewayFault>,
    /// Model group -> the providers it must be able to fail over to.
    pub intent: Intent,
    /// Config items crossfire has no mock for, run anyway (`--allow-unmapped`).
    pub unmapped: Vec<String>,
    /// Traffic entries.
    pub traffic: Vec<Traffic>,
    /// Expectations.
    pub expect: Vec<Expectation>,
    /// Price overrides for the cost audit.
    pub prices: BTreeMap<String, crate::prices::Price>,
}

/// A fault of the file and where it landed: a PASS needs every one of them
/// to meet a client request.
#[derive(Debug, Clone)]
pub struct PlacedFault {
    /// `faults[0]: rate_limit on anthropic (always) at s.yaml:7`.
    pub label: String,
    /// Its failure class.
    pub class: FailureClass,
    /// The deployments it is on.
    pub deployments: Vec<String>,
    /// When it is active, on the run's clock (time zero when the traffic
    /// starts, the journal's clock): the
    /// windows of a time schedule; empty for a schedule by count or chance,
    /// which has no outage to measure in time.
    pub active: Vec<ActiveWindow>,
    /// `rate_limit`: the `retry-after` its answers carry, per deployment
    /// whose dialect sends that header.
    pub retry_after: BTreeMap<String, Duration>,
}

/// Something done to one replica of the gateway at a time since the
/// traffic started.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayFault {
    /// `gateway_faults[0]: kill replica-2 at 5s at s.yaml:12`.
    pub label: String,
    /// The replica, from 1.
    pub replica: u32,
    /// What is done.
    pub action: ReplicaAction,
    /// When.
    pub at: Duration,
}

/// A gateway run as replicas behind a load balancer.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicas {
    /// How many.
    pub count: u32,
    /// The balancer's behaviour.
    pub balancer: BalancerSettings,
}

/// The most replicas a scenario runs: each is a whole gateway process
/// (a LiteLLM proxy holds about 300 MB).
pub const MAX_REPLICAS: u32 = 8;

/// A span of time a fault is active: `[from, to)` since the traffic started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveWindow {
    /// It starts.
    pub from: Duration,
    /// It ends (exclusive).
    pub to: Duration,
}

/// The windows a schedule is active in; empty for a schedule by attempt
/// count or chance.
pub fn active_windows(schedule: &mock_providers::Schedule) -> Vec<ActiveWindow> {
    schedule
        .windows()
        .into_iter()
        .map(|(from, to)| ActiveWindow { from, to })
        .collect()
}

/// The wait the `retry-after` header of this fault's answer in `dialect`
/// asks for, when the answer carries one (the mock's own answer, read).
pub fn retry_after_sent(dialect: Dialect, fault: &mock_providers::Fault) -> Option<Duration> {
    let ctx = mock_providers::error_answers::ErrorContext {
        model: dialect.default_model(),
        prompt_tokens: 1,
        max_tokens: None,
        context_window: u64::MAX,
        fault,
        request_id: "crossfire",
        now_unix: 0,
    };
    let answer = mock_providers::error_answers::error_answer(dialect, fault.class, &ctx);
    answer
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The gateway under test.
#[derive(Debug, Clone)]
pub enum Gateway {
    /// No gateway: the client calls one deployment in its own dialect.
    Direct {
        /// The deployment called.
        deployment: String,
    },
    /// A gateway crossfire starts and stops.
    Command(CommandGateway),
    /// A gateway already running.
    Url {
        /// Its base URL.
        base_url: String,
        /// The API it offers.
        api: ClientApi,
        /// Headers sent with every request.
        headers: BTreeMap<String, String>,
    },
    /// A gateway crossfire runs from the team's own config (LiteLLM,
    /// Portkey, ...), through its adapter.
    Config(ConfigGateway),
}

/// A gateway run from the team's own config.
#[derive(Debug, Clone)]
pub struct ConfigGateway {
    /// The team's config, read by the gateway's adapter.
    pub config: Arc<dyn GatewayConfig>,
    /// API offered to clients.
    pub api: ClientApi,
    /// How long to wait for readiness.
    pub startup_timeout: Duration,
    /// Run as replicas behind a balancer.
    pub replicas: Option<Replicas>,
}

impl Gateway {
    /// `direct`, `command`, `url`, or the adapter's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Gateway::Direct { .. } => "direct",
            Gateway::Command(_) => "command",
            Gateway::Url { .. } => "url",
            Gateway::Config(c) => c.config.adapter().name(),
        }
    }

    /// The replicas, for a gateway run as several behind a balancer.
    pub fn replicas(&self) -> Option<&Replicas> {
        match self {
            Gateway::Config(c) => c.replicas.as_ref(),
            _ => None,
        }
    }

    /// The team's config, for a gateway run from one.
    pub fn config(&self) -> Option<&Arc<dyn GatewayConfig>> {
        match self {
            Gateway::Config(c) => Some(&c.config),
            _ => None,
        }
    }
}

/// One traffic entry.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// The model group asked for.
    pub model: String,
    /// How many requests; `None` when only a duration bounds it.
    pub requests: Option<u64>,
    /// Keep sending for this long.
    pub duration: Option<Duration>,
    /// Requests in flight at once.
    pub concurrency: u32,
    /// Requests started per second, at most.
    pub rate: Option<f64>,
    /// One request every this long, sequentially (`concurrency` is 1).
    pub interval: Option<Duration>,
    /// Filler tokens in the prompt.
    pub prompt_tokens: u64,
    /// Output token cap.
    pub max_tokens: u64,
    /// Ask for a stream.
    pub stream: bool,
    /// The client API.
    pub api: ClientApi,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Extra request headers (a drill's per-cell Portkey config).
    pub headers: BTreeMap<String, String>,
}

/// Who served a request.
#[derive(Debug, Clone, PartialEq)]
pub enum ServedBy {
    /// Any deployment of this provider.
    Provider(String),
    /// This deployment.
    Deployment(String),
}

/// What must hold over a scenario's paths.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// The client saw this status (every request, or at least a share).
    Status {
        /// HTTP status.
        code: u16,
        /// How many.
        share: Share,
    },
    /// Requests that met a fault took this path (every one, or a share).
    Path {
        /// Path class.
        class: PathClass,
        /// How many.
        share: Share,
    },
    /// Requests were served by this provider or deployment.
    ServedBy {
        /// Who.
        who: ServedBy,
        /// How many.
        share: Share,
    },
    /// No request made more than this many attempts.
    MaxAttempts(u32),
    /// No request made more than this many attempts on one deployment.
    MaxAttemptsPerDeployment(u32),
    /// The client latency p99 stayed under this.
    LatencyP99Under(Duration),
    /// No path and no attempt is unattributed.
    NoUnattributed,
    /// At least this share of the requests sent while a fault was active
    /// were answered 2xx.
    ServedDuringOutage(f64),
    /// After each outage window, the deployment it was on served again
    /// within this long.
    BackOnPrimaryWithin(Duration),
    /// After a 429 carrying `retry-after`, the next attempt on that
    /// deployment waited at least that long.
    RetryAfterHonoured,
    /// No failing deployment took more than this many attempts in one second.
    MaxAttemptsPerSecond(u32),
    /// Every request ended within this wall-clock time.
    WallUnder(Duration),
    /// Every request's first body bytes came within this long.
    TtftUnder(Duration),
    /// One request sent after the traffic still succeeds.
    AliveAfter,
    /// At most this many client requests failed.
    MaxFailedRequests(u64),
    /// At most this many streams were cut after they started.
    MaxCutStreams(u64),
    /// No request reached a provider from two replicas.
    NoDuplicateAttempts,
    /// After each replica fault that takes a replica out, the balancer
    /// stopped sending to it within this long.
    RerouteWithin(Duration),
    /// After each restart or thaw, the replica served a request within
    /// this long.
    ServesAgainWithin(Duration),
    /// At most this many provider attempts failed, over every replica.
    MaxFailedProviderAttempts(u64),
}

/// Checks what can only be checked once the scenario is whole (a command
/// gateway's config template against the deployment ids), before anything
/// starts.
pub fn preflight(s: &Scenario) -> Result<(), InputError> {
    match &s.gateway {
        Gateway::Command(c) => crate::gateway::command::preflight(c, &s.deployments),
        _ => Ok(()),
    }
}

/// A scenario built as a value, not read from a file: healthy traffic
/// through a gateway run from `config` (`compare`'s healthy phase). The same
/// checks as a file's gateway section: unmapped items stop it unless
/// allowed, the group must be one the config serves.
pub fn healthy(
    name: &str,
    config: Arc<dyn GatewayConfig>,
    group: &str,
    requests: u64,
    allow_unmapped: bool,
) -> Result<Scenario, InputError> {
    let mapped = config.deployments(allow_unmapped)?;
    if let Some(why) = config.refuses_group(group) {
        return Err(InputError::file(config.file(), why));
    }
    let api = config.api();
    let intent = config.intent(&BTreeSet::from([group]));
    Ok(Scenario {
        file: config.file().to_path_buf(),
        name: name.to_string(),
        about: None,
        gateway: Gateway::Config(ConfigGateway {
            startup_timeout: config.adapter().startup_timeout(),
            api,
            config,
            replicas: None,
        }),
        deployments: mapped.deployments,
        faults: Vec::new(),
        gateway_faults: Vec::new(),
        intent,
        unmapped: mapped.unmapped,
        traffic: vec![Traffic {
            model: group.to_string(),
            requests: Some(requests),
            duration: None,
            concurrency: 1,
            rate: None,
            interval: None,
            prompt_tokens: 200,
            max_tokens: DEFAULT_MAX_TOKENS,
            stream: false,
            api,
            timeout: Duration::from_secs(60),
            headers: BTreeMap::new(),
        }],
        expect: Vec::new(),
        prices: BTreeMap::new(),
    })
}

/// Reads and validates a scenario file.
pub fn load(file: &Path) -> Result<Scenario, InputError> {
    from_source(&Source::read(file)?)
}

const DEFAULT_STARTUP: Duration = Duration::from_secs(60);

/// Validates a scenario already read.
pub fn from_source(src: &Source) -> Result<Scenario, InputError> {
    from_source_with(src, &LoadOptions::default())
}

/// Reads and validates a scenario file with command-line options.
pub fn load_with(file: &Path, opts: &LoadOptions) -> Result<Scenario, InputError> {
    from_source_with(&Source::read(file)?, opts)
}

/// The gateway section after command-line overrides; the config path is
/// resolved (the file's relative to the scenario, the flag's to the working folder).
fn effective_gateway(
    file: &ScenarioFile,
    opts: &LoadOptions,
    dir: &Path,
) -> (Option<GatewayFile>, Option<PathBuf>) {
    match &opts.gateway {
        Some(o) => {
            let mut g = file.gateway.clone().unwrap_or_default();
            if g.kind != o.kind {
                g = GatewayFile::default();
            }
            g.kind = o.kind;
            let config = o
                .config
                .clone()
                .or_else(|| g.config.as_ref().map(|c| dir.join(c)));
            if o.url.is_some() {
                g.url = o.url.clone();
            }
            (Some(g), config)
        }
        None => {
            let config = file
                .gateway
                .as_ref()
                .and_then(|g| g.config.as_ref())
                .map(|c| dir.join(c));
            (file.gateway.clone(), config)
        }
    }
}

/// The folder a command gateway runs in: the scenario's own, from its
/// canonical path (a bare file name has an empty parent, which no process
/// can start in).
fn workdir(file: &Path, dir: &Path) -> PathBuf {
    match std::fs::canonicalize(file) {
        Ok(full) => full.parent().map(Path::to_path_buf).unwrap_or_default(),
        Err(_) if dir.as_os_str().is_empty() => PathBuf::from("."),
        Err(_) => dir.to_path_buf(),
    }
}

/// Why a gateway URL is not one crossfire can send traffic to.
fn check_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("`{url}` is not an http:// URL"));
    }
    match reqwest::Url::parse(url) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        Ok(_) => Err(format!("`{url}` names no host")),
        Err(e) => Err(format!("`{url}` is not a valid URL: {e}")),
    }
}

/// Validates a scenario already read, with command-line options.
pub fn from_source_with(src: &Source, opts: &LoadOptions) -> Result<Scenario, InputError> {
    // A URL given as a flag is the flag's fault, not the file's.
    if let Some(url) = opts.gateway.as_ref().and_then(|g| g.url.as_deref()) {
        check_url(url).map_err(|m| InputError::flag(format!("--url {url}"), m))?;
    }
    let file: ScenarioFile = src.parse()?;
    let dir = src.file.parent().map(Path::to_path_buf).unwrap_or_default();
    if file.name.trim().is_empty() {
        return Err(src.error_at("name", "the scenario needs a non-empty `name`"));
    }
    let (mut gw_file, gw_config) = effective_gateway(&file, opts, &dir);
    if let Some(n) = opts.replicas {
        let Some(g) = gw_file
            .as_mut()
            .filter(|g| matches!(g.kind, GatewayKind::Adapter(_)))
        else {
            return Err(InputError::flag(
                format!("--replicas {n}"),
                format!(
                    "replicas run copies of a gateway crossfire starts from its config; {} has none: add `--gateway litellm --config FILE`, or a `gateway:` section of such a kind",
                    src.file.display()
                ),
            ));
        };
        if !(1..=MAX_REPLICAS).contains(&n) {
            return Err(InputError::flag(
                format!("--replicas {n}"),
                format!("is between 1 and {MAX_REPLICAS}: each replica is a whole gateway process"),
            ));
        }
        g.replicas = Some(n);
    }
    let own: Option<Arc<dyn GatewayConfig>> = match gw_file.as_ref().map(|g| g.kind) {
        Some(GatewayKind::Adapter(name)) => {
            let adapter = crate::gateway::adapter_named(name).ok_or_else(|| {
                src.error_at(
                    "gateway.kind",
                    format!("no gateway adapter is named `{name}`"),
                )
            })?;
            let what = adapter.config_noun();
            let path = match &gw_config {
                Some(path) => path,
                None if opts.gateway.is_some() => {
                    return Err(InputError::flag(
                        format!("--gateway {name}"),
                        format!("needs `--config FILE`, {what}"),
                    ))
                }
                None => {
                    return Err(src.error_at(
                        "gateway",
                        format!("a {name} gateway needs `config:`, {what}"),
                    ))
                }
            };
            Some(adapter.load(path)?)
        }
        _ => None,
    };
    if own.is_some() && !file.deployments.is_empty() {
        return Err(src.error_at(
            "deployments",
            "with this gateway the deployments come from its config; remove `deployments:`",
        ));
    }
    let (base, unmapped) = match &own {
        Some(cfg) => {
            let mapped = cfg.deployments(opts.allow_unmapped)?;
            (mapped.deployments, mapped.unmapped)
        }
        None => (file_deployments(src, &file)?, vec![]),
    };
    let (deployments, faults) = with_faults(src, &file, base)?;
    let providers: BTreeSet<String> = deployments.iter().map(|d| d.provider.clone()).collect();
    let ids: Vec<String> = deployments.iter().map(|d| d.id().to_string()).collect();
    let gateway = gateway(
        src,
        gw_file.as_ref(),
        gw_config,
        own.clone(),
        &deployments,
        &dir,
    )?;
    let traffic: Vec<Traffic> = file
        .traffic
        .iter()
        .enumerate()
        .map(|(i, t)| traffic(src, i, t, &gateway, &deployments))
        .collect::<Result<_, _>>()?;
    if traffic.is_empty() {
        return Err(src.error_at("traffic", "`traffic` needs at least one entry"));
    }
    let total: u64 = traffic.iter().filter_map(|t| t.requests).sum();
    if total > MAX_REQUESTS {
        return Err(src.error_at(
            "traffic",
            format!("the traffic entries send {total} requests together; a scenario sends at most {MAX_REQUESTS}: it keeps every request's path to judge it; split it into scenarios"),
        ));
    }
    let groups: BTreeSet<&str> = traffic.iter().map(|t| t.model.as_str()).collect();
    if let Some(cfg) = &own {
        for (i, t) in traffic.iter().enumerate() {
            if let Some(why) = cfg.refuses_group(&t.model) {
                return Err(src.error_at(&format!("traffic[{i}].model"), why));
            }
        }
    }
    let mut intent = own
        .as_ref()
        .map(|cfg| cfg.intent(&groups))
        .unwrap_or_default();
    for (group, wanted) in &file.intent {
        if !groups.contains(group.as_str()) {
            return Err(src.error_at_key(
                &format!("intent.{group}"),
                format!(
                    "no traffic asks for model group `{group}`; {}",
                    suggest(group, groups.iter().copied())
                ),
            ));
        }
        let mut set = BTreeSet::new();
        for (j, p) in wanted.iter().enumerate() {
            if !providers.contains(p) {
                return Err(src.error_at(
                    &format!("intent.{group}[{j}]"),
                    format!(
                        "no deployment belongs to provider `{p}`; {}",
                        suggest(p, providers.iter().map(String::as_str))
                    ),
                ));
            }
            set.insert(p.clone());
        }
        let line = src.index.key(&format!("intent.{group}")).map_or(0, |p| p.0);
        // Where crossfire knows the gateway's rules, an illusion says why.
        let every: BTreeMap<FailureClass, BTreeSet<String>> = FailureClass::ALL
            .iter()
            .map(|c| (*c, set.clone()))
            .collect();
        let why = own
            .as_ref()
            .map(|cfg| cfg.causes(group, &every))
            .unwrap_or_default();
        intent.insert(
            group.clone(),
            GroupIntent {
                providers: set,
                by_class: BTreeMap::new(),
                source: format!("intent at {}:{line}", src.file.display()),
                why,
            },
        );
    }
    let gateway_faults = gateway_faults(src, &file, &gateway)?;
    let cx = ExpectContext {
        providers: &providers,
        ids: &ids,
        traffic: &traffic,
        gateway: &gateway,
        gateway_faults: &gateway_faults,
    };
    let expect = file
        .expect
        .iter()
        .enumerate()
        .filter_map(|(i, e)| expectation(src, i, e, &cx).transpose())
        .collect::<Result<_, _>>()?;
    Ok(Scenario {
        file: src.file.clone(),
        name: file.name.clone(),
        about: file.about.clone(),
        gateway,
        deployments,
        faults,
        gateway_faults,
        intent,
        unmapped,
        traffic,
        expect,
        prices: file.prices.clone(),
    })
}

fn file_deployments(src: &Source, file: &ScenarioFile) -> Result<Vec<Deployment>, InputError> {
    let mut list: Vec<Deployment> = Vec::new();
    for (i, d) in file.deployments.iter().enumerate() {
        check_id(&d.id, list.iter().map(Deployment::id))
            .map_err(|m| src.error_at(&format!("deployments[{i}].id"), m))?;
        list.push(Deployment {
            spec: d.mock().to_spec(),
            provider: d
                .provider
                .clone()
                .unwrap_or_else(|| default_provider(d.dialect).to_string()),
            model: d
                .model
                .clone()
                .unwrap_or_else(|| d.dialect.default_model().to_string()),
        });
    }
    if list.is_empty() {
        return Err(src.error_at(
            "deployments",
            "the scenario has no deployments; list them under `deployments:` (id, dialect)",
        ));
    }
    Ok(list)
}

/// Attaches the file's faults to the deployments they name.
fn with_faults(
    src: &Source,
    file: &ScenarioFile,
    mut list: Vec<Deployment>,
) -> Result<(Vec<Deployment>, Vec<PlacedFault>), InputError> {
    let mut placed = Vec::new();
    for (i, f) in file.faults.iter().enumerate() {
        let path = format!("faults[{i}]");
        let rule = f.to_rule(src, &path, file.seed)?;
        let targets = resolve_on(&f.on, &list);
        if targets.is_empty() {
            let mut words: Vec<String> = list.iter().map(|d| d.id().to_string()).collect();
            words.extend(list.iter().map(|d| d.provider.clone()));
            words.sort();
            words.dedup();
            return Err(src.error_at(
                &format!("{path}.on"),
                format!(
                    "`{}` is not a deployment id, a provider, or provider/model here; {}",
                    f.on,
                    suggest(&f.on, words.iter().map(String::as_str))
                ),
            ));
        }
        let line = src.index.value(&path).map_or(0, |p| p.0);
        placed.push(PlacedFault {
            label: format!(
                "{path}: {} on {} ({}) at {}:{line}",
                rule.fault.class,
                f.on,
                rule.schedule,
                src.file.display()
            ),
            class: rule.fault.class,
            deployments: targets.iter().map(|t| list[*t].id().to_string()).collect(),
            active: active_windows(&rule.schedule),
            retry_after: targets
                .iter()
                .filter(|_| rule.fault.class == FailureClass::RateLimit)
                .filter_map(|t| {
                    retry_after_sent(list[*t].spec.dialect, &rule.fault)
                        .map(|w| (list[*t].id().to_string(), w))
                })
                .collect(),
        });
        for t in targets {
            list[t].spec.faults.push(rule.clone());
        }
    }
    Ok((list, placed))
}

/// Deployments a fault's `on` names: a deployment id, a provider, or `provider/model`.
fn resolve_on(on: &str, list: &[Deployment]) -> Vec<usize> {
    if let Some(i) = list.iter().position(|d| d.id() == on) {
        return vec![i];
    }
    let by_provider: Vec<usize> = (0..list.len())
        .filter(|&i| list[i].provider == on)
        .collect();
    if !by_provider.is_empty() {
        return by_provider;
    }
    match on.split_once('/') {
        Some((p, m)) => (0..list.len())
            .filter(|&i| list[i].provider == p && list[i].model == m)
            .collect(),
        None => vec![],
    }
}

impl From<ClientApiName> for ClientApi {
    fn from(name: ClientApiName) -> ClientApi {
        match name {
            ClientApiName::Openai => ClientApi::Openai,
            ClientApiName::Anthropic => ClientApi::Anthropic,
        }
    }
}

/// The API a gateway offers: the one named, else OpenAI's.
fn api(name: Option<ClientApiName>) -> ClientApi {
    name.map_or(ClientApi::Openai, ClientApi::from)
}

/// `config` is the resolved `gateway.config` path; `own` is the config read
/// from it when the gateway kind brings its own (always, for those kinds).
fn gateway(
    src: &Source,
    g: Option<&GatewayFile>,
    config: Option<PathBuf>,
    own: Option<Arc<dyn GatewayConfig>>,
    deployments: &[Deployment],
    dir: &Path,
) -> Result<Gateway, InputError> {
    let Some(g) = g else {
        return match deployments {
            [only] => Ok(Gateway::Direct {
                deployment: only.id().to_string(),
            }),
            _ => Err(src.error_at(
                "deployments",
                "without a `gateway`, the direct target needs exactly one deployment; add `gateway: {kind: direct, deployment: <id>}` or a gateway",
            )),
        };
    };
    if !matches!(g.kind, GatewayKind::Adapter(_)) && (g.replicas.is_some() || g.balancer.is_some())
    {
        {
            let key = if g.replicas.is_some() {
                "replicas"
            } else {
                "balancer"
            };
            return Err(src.error_at_key(
                &format!("gateway.{key}"),
                format!(
                    "replicas run copies of a gateway crossfire starts from its config ({}); a `{}` gateway cannot be copied",
                    crate::diag::and_list(crate::gateway::adapter_names().iter().map(|n| format!("`{n}`"))),
                    g.kind.name()
                ),
            ));
        }
    }
    let unused = |key: &str, present: bool| -> Result<(), InputError> {
        if present {
            Err(src.error_at_key(
                &format!("gateway.{key}"),
                format!("`{key}` does not apply to a `{}` gateway", g.kind.name()),
            ))
        } else {
            Ok(())
        }
    };
    let startup_timeout = g.startup_timeout.map(|d| d.0).unwrap_or(DEFAULT_STARTUP);
    match g.kind {
        GatewayKind::Direct => {
            unused("command", g.command.is_some())?;
            unused("url", g.url.is_some())?;
            unused("config", g.config.is_some())?;
            let id = match (&g.deployment, deployments) {
                (Some(id), _) => {
                    if !deployments.iter().any(|d| d.id() == id) {
                        return Err(src.error_at(
                            "gateway.deployment",
                            format!(
                                "no deployment has id `{id}`; {}",
                                suggest(id, deployments.iter().map(Deployment::id))
                            ),
                        ));
                    }
                    id.clone()
                }
                (None, [only]) => only.id().to_string(),
                (None, _) => {
                    return Err(src.error_at(
                        "gateway",
                        "a direct gateway with several deployments needs `deployment: <id>`",
                    ))
                }
            };
            Ok(Gateway::Direct { deployment: id })
        }
        GatewayKind::Command => {
            unused("url", g.url.is_some())?;
            unused("deployment", g.deployment.is_some())?;
            let command = match &g.command {
                Some(c) if !c.is_empty() && !c[0].is_empty() => c.clone(),
                _ => {
                    return Err(src.error_at(
                        "gateway",
                        "a command gateway needs `command: [program, args...]`",
                    ))
                }
            };
            let config_template = config;
            if let Some(t) = &config_template {
                if !t.is_file() {
                    return Err(src.error_at(
                        "gateway.config",
                        format!("the config template {} does not exist", t.display()),
                    ));
                }
            }
            let known = crate::gateway::template::names(deployments.iter().map(Deployment::id));
            for (j, arg) in command.iter().enumerate() {
                crate::gateway::template::check_in(arg, &known)
                    .map_err(|m| src.error_at(&format!("gateway.command[{j}]"), m))?;
            }
            for (k, v) in &g.env {
                crate::gateway::template::check_in(v, &known)
                    .map_err(|m| src.error_at(&format!("gateway.env.{k}"), m))?;
            }
            let ready = g.ready.clone().unwrap_or_else(|| "/".to_string());
            if !ready.starts_with('/') {
                return Err(src.error_at(
                    "gateway.ready",
                    format!("`ready` is a path on the gateway, starting with `/`, as in `/health`; got `{ready}`"),
                ));
            }
            Ok(Gateway::Command(CommandGateway {
                command,
                config_template,
                ready,
                env: g.env.clone(),
                api: api(g.api),
                startup_timeout,
                headers: g.headers.clone(),
                workdir: workdir(&src.file, dir),
            }))
        }
        GatewayKind::Url => {
            unused("command", g.command.is_some())?;
            unused("deployment", g.deployment.is_some())?;
            let Some(url) = &g.url else {
                return Err(src.error_at("gateway", "a url gateway needs `url: http://...`"));
            };
            check_url(url).map_err(|m| src.error_at("gateway.url", m))?;
            Ok(Gateway::Url {
                base_url: url.trim_end_matches('/').to_string(),
                api: api(g.api),
                headers: g.headers.clone(),
            })
        }
        GatewayKind::Adapter(name) => {
            unused("command", g.command.is_some())?;
            unused("url", g.url.is_some())?;
            unused("deployment", g.deployment.is_some())?;
            // Read before this point (a missing `config:` is refused
            // there); an error rather than a panic all the same.
            let Some(config) = own else {
                return Err(src.error_at("gateway", format!("a {name} gateway needs `config:`")));
            };
            let startup_timeout = g
                .startup_timeout
                .map(|d| d.0)
                .unwrap_or_else(|| config.adapter().startup_timeout());
            Ok(Gateway::Config(ConfigGateway {
                api: g.api.map_or_else(|| config.api(), ClientApi::from),
                config,
                startup_timeout,
                replicas: replicas(src, g)?,
            }))
        }
    }
}

/// The replicas a gateway section asks for (`replicas:` and `balancer:`),
/// every value in range.
fn replicas(src: &Source, g: &GatewayFile) -> Result<Option<Replicas>, InputError> {
    if g.replicas.is_none() && g.balancer.is_none() {
        return Ok(None);
    }
    let count = g.replicas.unwrap_or(1);
    if !(1..=MAX_REPLICAS).contains(&count) {
        return Err(src.error_at(
            "gateway.replicas",
            format!("`replicas` is between 1 and {MAX_REPLICAS}: each replica is a whole gateway process"),
        ));
    }
    let file = g.balancer.clone().unwrap_or_default();
    let mut b = BalancerSettings::default();
    if let Some(words) = &file.retry_on {
        for (j, w) in words.iter().enumerate() {
            if !crate::gateway::balancer::is_retry_on_word(w) {
                return Err(src.error_at(
                    &format!("gateway.balancer.retry_on[{j}]"),
                    format!(
                        "`{w}` is not one of HAProxy 2.6's `retry-on` words; {} (the statuses it takes are 401, 403, 404, 408, 425 and 500 to 504)",
                        suggest(w, crate::gateway::balancer::RETRY_ON_WORDS.iter().copied())
                    ),
                ));
            }
        }
        if words.is_empty() {
            return Err(src.error_at(
                "gateway.balancer.retry_on",
                "`retry_on` needs at least one word; write `[none]` for a balancer that never retries",
            ));
        }
        b.retry_on = words.clone();
    }
    if let Some(n) = file.retries {
        if n > 10 {
            return Err(src.error_at(
                "gateway.balancer.retries",
                "`retries` is at most 10: each retry re-sends the whole request",
            ));
        }
        b.retries = n;
    }
    if let Some(r) = file.redispatch {
        b.redispatch = r;
    }
    if let Some(n) = file.bufsize {
        if !(16_384..=1_048_576).contains(&n) {
            return Err(src.error_at(
                "gateway.balancer.bufsize",
                "`bufsize` is between 16384 (HAProxy's default) and 1048576 bytes",
            ));
        }
        b.bufsize = n;
    }
    let positive = |key: &str, d: &Option<Dur>, into: &mut Duration| -> Result<(), InputError> {
        match d {
            Some(d) if d.0.is_zero() => Err(src.error_at(
                &format!("gateway.balancer.{key}"),
                format!("`{key}` must be more than 0, as in `1s`"),
            )),
            Some(d) => {
                *into = d.0;
                Ok(())
            }
            None => Ok(()),
        }
    };
    positive(
        "timeout_connect",
        &file.timeout_connect,
        &mut b.timeout_connect,
    )?;
    positive(
        "timeout_server",
        &file.timeout_server,
        &mut b.timeout_server,
    )?;
    positive(
        "check_interval",
        &file.check_interval,
        &mut b.check_interval,
    )?;
    positive("check_timeout", &file.check_timeout, &mut b.check_timeout)?;
    for (key, v, into) in [
        ("fall", file.fall, &mut b.fall),
        ("rise", file.rise, &mut b.rise),
    ] {
        match v {
            Some(0) => {
                return Err(src.error_at(
                    &format!("gateway.balancer.{key}"),
                    format!("`{key}` counts health checks: 1 or more"),
                ))
            }
            Some(n) => *into = n,
            None => {}
        }
    }
    Ok(Some(Replicas { count, balancer: b }))
}

/// The file's gateway faults, each `for` split into its end (a restart, a
/// thaw), in time order.
fn gateway_faults(
    src: &Source,
    file: &ScenarioFile,
    gateway: &Gateway,
) -> Result<Vec<GatewayFault>, InputError> {
    if file.gateway_faults.is_empty() {
        return Ok(Vec::new());
    }
    let Some(replicas) = gateway.replicas() else {
        return Err(src.error_at_key(
            "gateway_faults",
            "gateway faults act on the gateway's replicas: run it as replicas with `replicas: 2` under `gateway` (a gateway crossfire starts from its config)",
        ));
    };
    let names: Vec<String> = (1..=replicas.count)
        .map(|n| format!("replica-{n}"))
        .collect();
    let mut list = Vec::new();
    for (i, f) in file.gateway_faults.iter().enumerate() {
        let path = format!("gateway_faults[{i}]");
        let replica =
            f.on.strip_prefix("replica-")
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| (1..=replicas.count).contains(n))
                .ok_or_else(|| {
                    src.error_at(
                        &format!("{path}.on"),
                        format!(
                            "`{}` is not a replica of this gateway (it runs {}); {}",
                            f.on,
                            crate::diag::and_list(names.iter().map(|n| format!("`{n}`"))),
                            suggest(&f.on, names.iter().map(String::as_str))
                        ),
                    )
                })?;
        let line = src.index.value(&path).map_or(0, |p| p.0);
        let at = f.at.0;
        let label = |action: ReplicaAction, at: Duration| {
            format!(
                "{path}: {} replica-{replica} at {} ({}:{line})",
                action.name(),
                mock_providers::fault::fmt_duration(at),
                src.file.display()
            )
        };
        list.push(GatewayFault {
            label: label(f.fault, at),
            replica,
            action: f.fault,
            at,
        });
        if let Some(lasts) = &f.lasts {
            let end = match f.fault {
                ReplicaAction::Kill | ReplicaAction::Terminate => ReplicaAction::Restart,
                ReplicaAction::Freeze => ReplicaAction::Thaw,
                ReplicaAction::Thaw | ReplicaAction::Restart => {
                    return Err(src.error_at_key(
                        &format!("{path}.for"),
                        format!(
                            "`for` says how long a `kill`, `terminate` or `freeze` lasts; a `{}` has no end: drop `for`",
                            f.fault.name()
                        ),
                    ))
                }
            };
            if lasts.0.is_zero() {
                return Err(src.error_at(
                    &format!("{path}.for"),
                    "`for` must be more than 0, as in `for: 10s`",
                ));
            }
            list.push(GatewayFault {
                label: label(end, at + lasts.0),
                replica,
                action: end,
                at: at + lasts.0,
            });
        }
    }
    list.sort_by_key(|f| f.at);
    Ok(list)
}

const DEFAULT_PROMPT_TOKENS: u64 = 50;

/// The most requests one scenario sends. A scenario keeps every request's
/// path to judge it (a few kilobytes each); past this a run is a load test,
/// and a duration-bounded entry stops issuing requests here.
pub const MAX_REQUESTS: u64 = 100_000;

/// The longest prompt a traffic entry sends: twice the largest real context
/// window, enough to overflow any model.
pub fn max_prompt_tokens() -> u64 {
    2 * mock_providers::models::largest().context_window
}

/// Prompt tokens all the requests in flight may hold together (about four
/// bytes a token, held by the client and the mock alike).
pub const MAX_TOKENS_IN_FLIGHT: u64 = 16 * 1024 * 1024;
const DEFAULT_MAX_TOKENS: u64 = 64;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

fn traffic(
    src: &Source,
    i: usize,
    t: &TrafficFile,
    gateway: &Gateway,
    deployments: &[Deployment],
) -> Result<Traffic, InputError> {
    let path = format!("traffic[{i}]");
    if t.model.trim().is_empty() {
        return Err(src.error_at(
            &format!("{path}.model"),
            "`model` names the model group the client asks for",
        ));
    }
    match (t.requests, t.duration) {
        (None, None) => {
            return Err(src.error_at(
                &path,
                "a traffic entry needs `requests: N`, `duration: 10s`, or both",
            ))
        }
        (Some(0), _) => {
            return Err(src.error_at(&format!("{path}.requests"), "`requests` must be 1 or more"))
        }
        _ => {}
    }
    let concurrency = t.concurrency.unwrap_or(1);
    if concurrency == 0 || concurrency > 4096 {
        return Err(src.error_at(
            &format!("{path}.concurrency"),
            "`concurrency` must be between 1 and 4096",
        ));
    }
    if let Some(rate) = t.rate {
        // The gap between requests (1 / rate) must be a duration crossfire takes.
        if !(rate.is_finite() && rate > 0.0 && 1.0 / rate <= Dur::MAX.as_secs_f64()) {
            return Err(src.error_at(
                &format!("{path}.rate"),
                "`rate` is requests per second, more than 0 (at least one a week)",
            ));
        }
    }
    let too_many = format!(
        "a scenario sends at most {MAX_REQUESTS} requests: it keeps every request's path to judge it; for a longer run, split it into scenarios or measure with a load tool"
    );
    if t.requests.is_some_and(|n| n > MAX_REQUESTS) {
        return Err(src.error_at(&format!("{path}.requests"), too_many));
    }
    if let (None, Some(rate), Some(d)) = (t.requests, t.rate, &t.duration) {
        if rate * d.0.as_secs_f64() > MAX_REQUESTS as f64 {
            return Err(src.error_at(
                &format!("{path}.duration"),
                format!("`rate` x `duration` is more than {MAX_REQUESTS} requests; {too_many}"),
            ));
        }
    }
    if let Some(interval) = &t.interval {
        if t.rate.is_some() {
            return Err(src.error_at(
                &format!("{path}.interval"),
                "`interval` and `rate` both pace requests; keep `interval: 2s` for one request at a time, or `rate:` for open-loop traffic",
            ));
        }
        if concurrency != 1 {
            return Err(src.error_at(
                &format!("{path}.concurrency"),
                "`interval` sends one request at a time; drop `concurrency`, or use `rate:` for requests in flight together",
            ));
        }
        if interval.0.is_zero() {
            return Err(src.error_at(
                &format!("{path}.interval"),
                "`interval` must be more than 0, as in `interval: 500ms`",
            ));
        }
        if let (None, Some(d)) = (t.requests, &t.duration) {
            if d.0.as_secs_f64() / interval.0.as_secs_f64() > MAX_REQUESTS as f64 {
                return Err(src.error_at(
                    &format!("{path}.duration"),
                    format!(
                        "`duration` / `interval` is more than {MAX_REQUESTS} requests; {too_many}"
                    ),
                ));
            }
        }
    }
    let prompt_tokens = t.prompt_tokens.unwrap_or(DEFAULT_PROMPT_TOKENS);
    let largest = mock_providers::models::largest();
    if prompt_tokens > max_prompt_tokens() {
        return Err(src.error_at(
            &format!("{path}.prompt_tokens"),
            format!(
                "`prompt_tokens` is at most {}: twice the largest real context window ({}, {} tokens), enough to overflow any model",
                max_prompt_tokens(),
                largest.family,
                largest.context_window
            ),
        ));
    }
    if prompt_tokens * u64::from(concurrency) > MAX_TOKENS_IN_FLIGHT {
        return Err(src.error_at(
            &format!("{path}.prompt_tokens"),
            format!(
                "{prompt_tokens} prompt tokens at concurrency {concurrency} is {} tokens in flight; every prompt in flight is held in memory, up to {MAX_TOKENS_IN_FLIGHT} tokens together: lower `prompt_tokens` or `concurrency`",
                prompt_tokens * u64::from(concurrency)
            ),
        ));
    }
    let timeout = t.timeout.map(|d| d.0).unwrap_or(DEFAULT_TIMEOUT);
    if timeout.is_zero() {
        return Err(src.error_at(&format!("{path}.timeout"), "`timeout` must be more than 0"));
    }
    let api = match gateway {
        Gateway::Direct { deployment } => {
            let dialect = deployments
                .iter()
                .find(|d| d.id() == deployment)
                .map(|d| d.spec.dialect)
                .unwrap_or(Dialect::Openai);
            if let Some(asked) = t.api {
                let fits = matches!(
                    (asked, dialect),
                    (ClientApiName::Anthropic, Dialect::Anthropic)
                ) || (asked == ClientApiName::Openai
                    && dialect.wire() == mock_providers::Wire::OpenaiChat);
                if !fits {
                    return Err(src.error_at(
                        &format!("{path}.api"),
                        format!("the direct target speaks its deployment's own API, and `{deployment}` speaks {dialect}; drop `api`, or point `gateway.deployment` at a deployment that speaks it"),
                    ));
                }
            }
            ClientApi::Native(dialect)
        }
        Gateway::Command(CommandGateway { api: offered, .. })
        | Gateway::Config(ConfigGateway { api: offered, .. })
        | Gateway::Url { api: offered, .. } => t.api.map_or(*offered, ClientApi::from),
    };
    Ok(Traffic {
        model: t.model.clone(),
        requests: t.requests,
        duration: t.duration.map(|d| d.0),
        concurrency,
        rate: t.rate,
        interval: t.interval.map(|d| d.0),
        prompt_tokens,
        max_tokens: t.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        stream: t.stream.unwrap_or(false),
        api,
        timeout,
        headers: BTreeMap::new(),
    })
}

/// What an expectation is checked against when it is read.
struct ExpectContext<'a> {
    providers: &'a BTreeSet<String>,
    ids: &'a [String],
    traffic: &'a [Traffic],
    gateway: &'a Gateway,
    gateway_faults: &'a [GatewayFault],
}

fn expectation(
    src: &Source,
    i: usize,
    e: &ExpectFile,
    cx: &ExpectContext,
) -> Result<Option<Expectation>, InputError> {
    let ExpectContext {
        providers,
        ids,
        traffic,
        gateway,
        gateway_faults,
    } = *cx;
    let path = format!("expect[{i}]");
    Ok(Some(match e {
        ExpectFile::Status(code, share) => Expectation::Status {
            code: *code,
            share: *share,
        },
        ExpectFile::Path(name, share) => {
            let class = PathClass::from_name(name).ok_or_else(|| {
                src.error_at(
                    &path,
                    format!(
                        "unknown path class `{name}`; {}",
                        suggest(name, PathClass::NAMES)
                    ),
                )
            })?;
            Expectation::Path {
                class,
                share: *share,
            }
        }
        ExpectFile::ServedBy(who, share) => {
            let known_provider = |p: &str| providers.contains(p);
            let known_id = |d: &str| ids.iter().any(|x| x == d);
            let words: Vec<&str> = providers
                .iter()
                .map(String::as_str)
                .chain(ids.iter().map(String::as_str))
                .collect();
            let who = match who {
                ServedByFile::Either(x) if known_id(x) => ServedBy::Deployment(x.clone()),
                ServedByFile::Either(x) if known_provider(x) => ServedBy::Provider(x.clone()),
                ServedByFile::Provider(x) if known_provider(x) => ServedBy::Provider(x.clone()),
                ServedByFile::Deployment(x) if known_id(x) => ServedBy::Deployment(x.clone()),
                ServedByFile::Either(x)
                | ServedByFile::Provider(x)
                | ServedByFile::Deployment(x) => {
                    return Err(src.error_at(
                        &path,
                        format!(
                            "`{x}` is neither a provider nor a deployment id of this scenario; {}",
                            suggest(x, words.iter().copied())
                        ),
                    ))
                }
            };
            Expectation::ServedBy { who, share: *share }
        }
        ExpectFile::MaxAttempts(n) | ExpectFile::MaxAttemptsPerDeployment(n) if *n == 0 => {
            return Err(src.error_at(&path, "an attempt limit must be 1 or more"))
        }
        ExpectFile::MaxAttempts(n) => Expectation::MaxAttempts(*n),
        ExpectFile::MaxAttemptsPerDeployment(n) => Expectation::MaxAttemptsPerDeployment(*n),
        ExpectFile::LatencyP99Under(d) => Expectation::LatencyP99Under(d.0),
        ExpectFile::NoUnattributed(true) => Expectation::NoUnattributed,
        ExpectFile::NoUnattributed(false) => return Ok(None),
        ExpectFile::ServedDuringOutage(share) => Expectation::ServedDuringOutage(*share),
        ExpectFile::BackOnPrimaryWithin(d) => Expectation::BackOnPrimaryWithin(d.0),
        ExpectFile::RetryAfterHonoured(true) => Expectation::RetryAfterHonoured,
        ExpectFile::RetryAfterHonoured(false) | ExpectFile::AliveAfter(false) => return Ok(None),
        ExpectFile::MaxAttemptsPerSecond(0) => {
            return Err(src.error_at(
                &path,
                "`max_attempts_per_second` must be 1 or more, as in `{max_attempts_per_second: 5}`",
            ))
        }
        ExpectFile::MaxAttemptsPerSecond(n) => Expectation::MaxAttemptsPerSecond(*n),
        ExpectFile::WallUnder(d) | ExpectFile::TtftUnder(d) if d.0.is_zero() => {
            return Err(src.error_at(&path, "a time bound must be more than 0, as in `10s`"))
        }
        ExpectFile::WallUnder(d) => {
            // A request that hangs is cut at its timeout: a bound at or past
            // it could never be seen broken.
            if let Some((j, t)) = traffic.iter().enumerate().find(|(_, t)| t.timeout <= d.0) {
                return Err(src.error_at(
                    &path,
                    format!(
                        "`wall_under: {}` is not under traffic[{j}]'s `timeout` ({}): a request that hangs is cut there and would look bounded; raise `timeout` above {} or lower `wall_under`",
                        mock_providers::fault::fmt_duration(d.0),
                        mock_providers::fault::fmt_duration(t.timeout),
                        mock_providers::fault::fmt_duration(d.0),
                    ),
                ));
            }
            Expectation::WallUnder(d.0)
        }
        ExpectFile::TtftUnder(d) => Expectation::TtftUnder(d.0),
        ExpectFile::AliveAfter(true) => Expectation::AliveAfter,
        ExpectFile::MaxFailedRequests(n) => Expectation::MaxFailedRequests(*n),
        ExpectFile::MaxCutStreams(n) => Expectation::MaxCutStreams(*n),
        ExpectFile::MaxFailedProviderAttempts(n) => Expectation::MaxFailedProviderAttempts(*n),
        ExpectFile::NoDuplicateAttempts(false) => return Ok(None),
        ExpectFile::NoDuplicateAttempts(true) => {
            // One gateway process cannot send a request twice from two
            // replicas: the check would pass on nothing.
            if gateway.replicas().is_none_or(|r| r.count < 2) {
                return Err(src.error_at(
                    &path,
                    "`no_duplicate_attempts` looks for a request that reached a provider from two replicas; run the gateway as `replicas: 2` or more under `gateway`",
                ));
            }
            Expectation::NoDuplicateAttempts
        }
        ExpectFile::RerouteWithin(d) | ExpectFile::ServesAgainWithin(d) if d.0.is_zero() => {
            return Err(src.error_at(&path, "a time bound must be more than 0, as in `10s`"))
        }
        ExpectFile::RerouteWithin(d) => {
            if !gateway_faults.iter().any(|f| f.action.takes_out()) {
                return Err(src.error_at(
                    &path,
                    "`reroute_within` times the balancer after a replica is taken out; add a `kill`, `terminate` or `freeze` under `gateway_faults`",
                ));
            }
            Expectation::RerouteWithin(d.0)
        }
        ExpectFile::ServesAgainWithin(d) => {
            if !gateway_faults
                .iter()
                .any(|f| matches!(f.action, ReplicaAction::Restart | ReplicaAction::Thaw))
            {
                return Err(src.error_at(
                    &path,
                    "`serves_again_within` times a replica back after a `restart` or a `thaw`; add one under `gateway_faults` (or `for:` on a kill or a freeze)",
                ));
            }
            Expectation::ServesAgainWithin(d.0)
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_providers::Fault;

    #[test]
    fn retry_after_sent_is_what_the_mock_header_says() {
        let fault = Fault::new(FailureClass::RateLimit).retry_after(Duration::from_millis(1500));
        // The header rounds up to whole seconds.
        assert_eq!(
            retry_after_sent(Dialect::Openai, &fault),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after_sent(Dialect::Anthropic, &Fault::new(FailureClass::RateLimit)),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            retry_after_sent(Dialect::Openai, &Fault::new(FailureClass::ServerError)),
            None
        );
        // Gemini says it in the body (`retryDelay`), not in a header.
        assert_eq!(
            retry_after_sent(Dialect::Gemini, &Fault::new(FailureClass::RateLimit)),
            None
        );
    }
}
