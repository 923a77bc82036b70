//! Serde types that mirror a scenario file, key for key. Unknown keys are
//! errors. They are converted into the domain types of `model.rs`, which
//! cannot be invalid; nothing here is used after that.

use crate::deployment_file::{value_as, DeploymentFile, Dur, FaultFile, OneKeyVisitor};
use crate::diag::{improve_message, strip_location};
use mock_providers::Dialect;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A crossfire scenario: mock deployments and their faults, the gateway
/// under test, the traffic sent through it, and what must hold.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "crossfire scenario")]
pub struct ScenarioFile {
    /// Short name, used in reports and snapshot names.
    pub name: String,
    /// What the scenario checks, in a sentence.
    #[serde(default)]
    pub about: Option<String>,
    /// The gateway under test (default: the direct target on the only deployment).
    #[serde(default)]
    pub gateway: Option<GatewayFile>,
    /// Mock deployments, when no gateway config defines them.
    #[serde(default)]
    pub deployments: Vec<ScenarioDeploymentFile>,
    /// Faults: `on` a deployment id, a provider, or `provider/model`.
    #[serde(default)]
    pub faults: Vec<FaultFile>,
    /// Faults of the gateway's replicas (`gateway.replicas`): one killed,
    /// frozen, restarted at a time since the traffic started.
    #[serde(default)]
    pub gateway_faults: Vec<GatewayFaultFile>,
    /// Which providers each model group must fail over to.
    #[serde(default)]
    pub intent: BTreeMap<String, Vec<String>>,
    /// What the client sends.
    pub traffic: Vec<TrafficFile>,
    /// What must hold.
    #[serde(default)]
    pub expect: Vec<ExpectFile>,
    /// Seed for probability schedules without their own.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Price overrides for the cost audit, per model (USD per million tokens).
    #[serde(default)]
    pub prices: BTreeMap<String, crate::prices::Price>,
}

/// A deployment in a scenario: a mock deployment plus the provider and model
/// it stands for.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDeploymentFile {
    /// Unique id.
    pub id: String,
    /// The API it speaks.
    pub dialect: Dialect,
    /// The provider it belongs to (default: the dialect's provider).
    #[serde(default)]
    pub provider: Option<String>,
    /// The upstream model name a gateway sends (default: a current model of the dialect).
    #[serde(default)]
    pub model: Option<String>,
    /// Overrides the context window of every model served here.
    #[serde(default)]
    pub context_window: Option<u64>,
    /// Prompt tokens each answer reports as cached.
    #[serde(default)]
    pub cached_tokens: Option<u64>,
    /// Reasoning tokens each answer reports.
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
    /// Pause between stream events.
    #[serde(default)]
    pub event_interval: Option<Dur>,
}

impl ScenarioDeploymentFile {
    /// The mock part of this deployment.
    pub fn mock(&self) -> DeploymentFile {
        DeploymentFile {
            id: self.id.clone(),
            dialect: self.dialect,
            context_window: self.context_window,
            cached_tokens: self.cached_tokens,
            reasoning_tokens: self.reasoning_tokens,
            event_interval: self.event_interval,
        }
    }
}

/// The gateway under test.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayFile {
    /// `direct`, `command`, `url`, or a gateway crossfire runs from its own
    /// config (`litellm`, `portkey`, ...).
    pub kind: GatewayKind,
    /// `direct`: the deployment the client calls (default: the only one).
    #[serde(default)]
    pub deployment: Option<String>,
    /// `command`: the program and its arguments; `{{ port }}`, `{{ config }}`,
    /// `{{ run_dir }}` and `{{ deployments.<id>.base_url }}` are filled in.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// `command`: a config template rendered into the run folder as `{{ config }}`;
    /// `litellm`, `portkey`, ...: the gateway's own config file.
    #[serde(default)]
    pub config: Option<PathBuf>,
    /// `command`: path polled until it answers (default `/`).
    #[serde(default)]
    pub ready: Option<String>,
    /// `command`: extra environment variables (templated like `command`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// `url`: base URL of a gateway already running.
    #[serde(default)]
    pub url: Option<String>,
    /// The API the gateway offers clients (default `openai`).
    #[serde(default)]
    pub api: Option<ClientApiName>,
    /// How long to wait for the gateway to become ready (default 60s).
    #[serde(default)]
    pub startup_timeout: Option<Dur>,
    /// Header sent with every request (e.g. an API key the gateway expects).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Run this many copies of the gateway behind a load balancer
    /// (HAProxy) the client calls (default 1: no balancer).
    #[serde(default)]
    pub replicas: Option<u32>,
    /// How the load balancer in front of the replicas behaves.
    #[serde(default)]
    pub balancer: Option<BalancerFile>,
}

/// The load balancer in front of a gateway's replicas (HAProxy); every key
/// has the default a team would use.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalancerFile {
    /// What makes the balancer retry a request on another replica, in
    /// HAProxy's `retry-on` words (default `[conn-failure]`: only a
    /// connection that could not be made, never a request a replica
    /// received).
    #[serde(default)]
    pub retry_on: Option<Vec<String>>,
    /// Retries per request (default 2).
    #[serde(default)]
    pub retries: Option<u32>,
    /// Retry on another replica rather than the same one (default true).
    #[serde(default)]
    pub redispatch: Option<bool>,
    /// HAProxy's buffer size in bytes (`tune.bufsize`, default 16384): it
    /// re-sends only a request whose body fits it.
    #[serde(default)]
    pub bufsize: Option<u32>,
    /// Connecting to a replica (default 1s).
    #[serde(default)]
    pub timeout_connect: Option<Dur>,
    /// Waiting for a replica's answer (default 60s).
    #[serde(default)]
    pub timeout_server: Option<Dur>,
    /// Health check interval (default 1s).
    #[serde(default)]
    pub check_interval: Option<Dur>,
    /// Health check timeout (default 1s).
    #[serde(default)]
    pub check_timeout: Option<Dur>,
    /// Failed checks before a replica is taken out (default 2).
    #[serde(default)]
    pub fall: Option<u32>,
    /// Good checks before it takes traffic again (default 2).
    #[serde(default)]
    pub rise: Option<u32>,
}

/// A fault of a gateway replica, at a time since the traffic started.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayFaultFile {
    /// The replica: `replica-1` .. `replica-N`.
    pub on: String,
    /// What happens to it.
    pub fault: ReplicaAction,
    /// When, since the traffic started.
    pub at: Dur,
    /// `kill`/`terminate`: restart it after this long; `freeze`: thaw it
    /// after this long.
    #[serde(default, rename = "for")]
    pub lasts: Option<Dur>,
}

/// What happens to a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaAction {
    /// SIGKILL: gone at once, in-flight requests with it.
    Kill,
    /// SIGTERM: the gateway's own graceful shutdown.
    Terminate,
    /// SIGSTOP: it still accepts connections, and answers nothing.
    Freeze,
    /// SIGCONT after a freeze.
    Thaw,
    /// Started again on the same port.
    Restart,
}

impl ReplicaAction {
    /// The word in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            ReplicaAction::Kill => "kill",
            ReplicaAction::Terminate => "terminate",
            ReplicaAction::Freeze => "freeze",
            ReplicaAction::Thaw => "thaw",
            ReplicaAction::Restart => "restart",
        }
    }

    /// Whether it takes the replica out (it should stop getting traffic).
    pub fn takes_out(self) -> bool {
        matches!(
            self,
            ReplicaAction::Kill | ReplicaAction::Terminate | ReplicaAction::Freeze
        )
    }
}

/// Gateway target kinds: the three crossfire knows itself, and every
/// gateway adapter (`litellm`, `portkey`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GatewayKind {
    /// No gateway: the client calls one deployment.
    #[default]
    Direct,
    /// A gateway crossfire starts with a command.
    Command,
    /// A gateway already running.
    Url,
    /// A gateway crossfire runs from the team's own config, by its
    /// adapter's name.
    Adapter(&'static str),
}

impl GatewayKind {
    /// Every kind's name, adapters last.
    pub fn names() -> &'static [&'static str] {
        static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        NAMES.get_or_init(|| {
            let mut names = vec!["direct", "command", "url"];
            names.extend(crate::gateway::adapter_names());
            names
        })
    }

    /// Parses a kind name.
    pub fn from_name(name: &str) -> Option<GatewayKind> {
        match name {
            "direct" => Some(GatewayKind::Direct),
            "command" => Some(GatewayKind::Command),
            "url" => Some(GatewayKind::Url),
            _ => crate::gateway::adapter_named(name).map(|a| GatewayKind::Adapter(a.name())),
        }
    }

    /// The name used in files and flags.
    pub fn name(self) -> &'static str {
        match self {
            GatewayKind::Direct => "direct",
            GatewayKind::Command => "command",
            GatewayKind::Url => "url",
            GatewayKind::Adapter(name) => name,
        }
    }
}

impl<'de> Deserialize<'de> for GatewayKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GatewayKind, D::Error> {
        // A visitor, so an unknown name is reported where the value is.
        struct Kind;
        impl serde::de::Visitor<'_> for Kind {
            type Value = GatewayKind;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a gateway kind ({})", GatewayKind::names().join(", "))
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<GatewayKind, E> {
                GatewayKind::from_name(name)
                    .ok_or_else(|| E::unknown_variant(name, GatewayKind::names()))
            }
        }
        d.deserialize_str(Kind)
    }
}

impl JsonSchema for GatewayKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GatewayKind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Gateway target kind.",
            "type": "string",
            "enum": GatewayKind::names(),
        })
    }
}

/// The API a client speaks to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientApiName {
    /// OpenAI chat completions.
    Openai,
    /// Anthropic messages.
    Anthropic,
}

/// One traffic entry.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrafficFile {
    /// The model group the client asks for.
    pub model: String,
    /// How many requests (default: as many as `duration` allows).
    #[serde(default)]
    pub requests: Option<u64>,
    /// Requests in flight at once (default 1).
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Requests started per second, at most (open loop).
    #[serde(default)]
    pub rate: Option<f64>,
    /// One request every this long, one at a time: a sequence in time
    /// (a request that outlasts it is followed at once).
    #[serde(default)]
    pub interval: Option<Dur>,
    /// Keep sending for this long.
    #[serde(default)]
    pub duration: Option<Dur>,
    /// Filler text of this many tokens in the prompt (default 50).
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    /// Output token cap sent (default 64).
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Ask for a stream (default false).
    #[serde(default)]
    pub stream: Option<bool>,
    /// The client API (default: the gateway's).
    #[serde(default)]
    pub api: Option<ClientApiName>,
    /// Per-request timeout (default 30s).
    #[serde(default)]
    pub timeout: Option<Dur>,
}

/// A share of requests, 0..1, or every one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Share {
    /// Every request in scope.
    Every,
    /// At least this fraction.
    AtLeast(f64),
}

/// An expectation as written: a map with one key.
#[derive(Debug, Clone)]
pub enum ExpectFile {
    /// `status: 200` or `{status: {code: 200, at_least: 0.9}}`.
    Status(u16, Share),
    /// `path: crossed_provider` or `{path: {class: ..., at_least: 0.5}}`.
    Path(String, Share),
    /// `served_by: openai` (provider or deployment), or `{provider|deployment: x, at_least}`.
    ServedBy(ServedByFile, Share),
    /// `max_attempts: 4`.
    MaxAttempts(u32),
    /// `max_attempts_per_deployment: 3`.
    MaxAttemptsPerDeployment(u32),
    /// `latency_p99_under: 2s`.
    LatencyP99Under(Dur),
    /// `no_unattributed: true`.
    NoUnattributed(bool),
    /// `served_during_outage: 0.95`.
    ServedDuringOutage(f64),
    /// `back_on_primary_within: 30s`.
    BackOnPrimaryWithin(Dur),
    /// `retry_after_honoured: true`.
    RetryAfterHonoured(bool),
    /// `max_attempts_per_second: 5`.
    MaxAttemptsPerSecond(u32),
    /// `wall_under: 45s`.
    WallUnder(Dur),
    /// `ttft_under: 10s`.
    TtftUnder(Dur),
    /// `alive_after: true`.
    AliveAfter(bool),
    /// `max_failed_requests: 0`.
    MaxFailedRequests(u64),
    /// `max_cut_streams: 0`.
    MaxCutStreams(u64),
    /// `no_duplicate_attempts: true`.
    NoDuplicateAttempts(bool),
    /// `reroute_within: 5s`.
    RerouteWithin(Dur),
    /// `serves_again_within: 30s`.
    ServesAgainWithin(Dur),
    /// `max_failed_provider_attempts: 6`.
    MaxFailedProviderAttempts(u64),
}

/// What `served_by` names.
#[derive(Debug, Clone, PartialEq)]
pub enum ServedByFile {
    /// A provider or a deployment id, resolved later.
    Either(String),
    /// A provider.
    Provider(String),
    /// A deployment id.
    Deployment(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusLong {
    code: u16,
    at_least: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathLong {
    class: String,
    at_least: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServedLong {
    provider: Option<String>,
    deployment: Option<String>,
    at_least: Option<f64>,
}

fn share(at_least: Option<f64>) -> Result<Share, String> {
    match at_least {
        None => Ok(Share::Every),
        Some(p) if (0.0..=1.0).contains(&p) => Ok(Share::AtLeast(p)),
        Some(p) => Err(format!(
            "`at_least: {p}` is outside 0..1; write a share such as `0.9`"
        )),
    }
}

/// The keys an expectation can have.
pub const EXPECT_KEYS: [&str; 20] = [
    "status",
    "path",
    "served_by",
    "max_attempts",
    "max_attempts_per_deployment",
    "latency_p99_under",
    "no_unattributed",
    "served_during_outage",
    "back_on_primary_within",
    "retry_after_honoured",
    "max_attempts_per_second",
    "wall_under",
    "ttft_under",
    "alive_after",
    "max_failed_requests",
    "max_cut_streams",
    "no_duplicate_attempts",
    "reroute_within",
    "serves_again_within",
    "max_failed_provider_attempts",
];

impl<'de> Deserialize<'de> for ExpectFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ExpectFile, D::Error> {
        d.deserialize_any(OneKeyVisitor {
            words: &[],
            keys: &EXPECT_KEYS,
            what: "expectation",
            from_word: |_| None,
            from_key: |key, v| {
                Ok(match key {
                    "status" => match v {
                        serde_yaml::Value::Number(n) => ExpectFile::Status(
                            n.as_u64()
                                .and_then(|c| u16::try_from(c).ok())
                                .filter(|c| (100..600).contains(c))
                                .ok_or("`status` takes an HTTP status such as `200`")?,
                            Share::Every,
                        ),
                        other => {
                            let long: StatusLong =
                                long_form(key, other, "`{status: {code: 200, at_least: 0.9}}`")?;
                            if !(100..600).contains(&long.code) {
                                return Err("`code` takes an HTTP status such as `200`".into());
                            }
                            ExpectFile::Status(long.code, share(long.at_least)?)
                        }
                    },
                    "path" => match v {
                        serde_yaml::Value::String(s) => ExpectFile::Path(s, Share::Every),
                        other => {
                            let long: PathLong = long_form(
                                key,
                                other,
                                "`{path: {class: crossed_provider, at_least: 0.5}}`",
                            )?;
                            ExpectFile::Path(long.class, share(long.at_least)?)
                        }
                    },
                    "served_by" => match v {
                        serde_yaml::Value::String(s) => {
                            ExpectFile::ServedBy(ServedByFile::Either(s), Share::Every)
                        }
                        other => {
                            let long: ServedLong = long_form(
                                key,
                                other,
                                "`{served_by: {provider: openai, at_least: 0.9}}`",
                            )?;
                            let who =
                                match (long.provider, long.deployment) {
                                    (Some(p), None) => ServedByFile::Provider(p),
                                    (None, Some(d)) => ServedByFile::Deployment(d),
                                    _ => return Err(
                                        "`served_by` names either a `provider` or a `deployment`"
                                            .into(),
                                    ),
                                };
                            ExpectFile::ServedBy(who, share(long.at_least)?)
                        }
                    },
                    "max_attempts" => ExpectFile::MaxAttempts(value_as(
                        key,
                        v,
                        "a whole number, as in `{max_attempts: 4}`",
                    )?),
                    "max_attempts_per_deployment" => {
                        ExpectFile::MaxAttemptsPerDeployment(value_as(
                            key,
                            v,
                            "a whole number, as in `{max_attempts_per_deployment: 3}`",
                        )?)
                    }
                    "latency_p99_under" => ExpectFile::LatencyP99Under(value_as(
                        key,
                        v,
                        "a duration, as in `{latency_p99_under: 2s}`",
                    )?),
                    "served_during_outage" => {
                        let share: f64 = value_as(
                            key,
                            v,
                            "a share 0..1, as in `{served_during_outage: 0.95}`",
                        )?;
                        if !(0.0..=1.0).contains(&share) {
                            return Err(format!(
                                "`served_during_outage: {share}` is outside 0..1; write a share such as `0.95`"
                            ));
                        }
                        ExpectFile::ServedDuringOutage(share)
                    }
                    "back_on_primary_within" => ExpectFile::BackOnPrimaryWithin(value_as(
                        key,
                        v,
                        "a duration, as in `{back_on_primary_within: 30s}`",
                    )?),
                    "retry_after_honoured" => {
                        ExpectFile::RetryAfterHonoured(value_as(key, v, "`true` or `false`")?)
                    }
                    "max_attempts_per_second" => ExpectFile::MaxAttemptsPerSecond(value_as(
                        key,
                        v,
                        "a whole number, as in `{max_attempts_per_second: 5}`",
                    )?),
                    "wall_under" => ExpectFile::WallUnder(value_as(
                        key,
                        v,
                        "a duration, as in `{wall_under: 45s}`",
                    )?),
                    "ttft_under" => ExpectFile::TtftUnder(value_as(
                        key,
                        v,
                        "a duration, as in `{ttft_under: 10s}`",
                    )?),
                    "alive_after" => ExpectFile::AliveAfter(value_as(key, v, "`true` or `false`")?),
                    "max_failed_requests" => ExpectFile::MaxFailedRequests(value_as(
                        key,
                        v,
                        "a whole number, as in `{max_failed_requests: 0}`",
                    )?),
                    "max_cut_streams" => ExpectFile::MaxCutStreams(value_as(
                        key,
                        v,
                        "a whole number, as in `{max_cut_streams: 0}`",
                    )?),
                    "no_duplicate_attempts" => {
                        ExpectFile::NoDuplicateAttempts(value_as(key, v, "`true` or `false`")?)
                    }
                    "reroute_within" => ExpectFile::RerouteWithin(value_as(
                        key,
                        v,
                        "a duration, as in `{reroute_within: 5s}`",
                    )?),
                    "serves_again_within" => ExpectFile::ServesAgainWithin(value_as(
                        key,
                        v,
                        "a duration, as in `{serves_again_within: 30s}`",
                    )?),
                    "max_failed_provider_attempts" => {
                        ExpectFile::MaxFailedProviderAttempts(value_as(
                            key,
                            v,
                            "a whole number, as in `{max_failed_provider_attempts: 6}`",
                        )?)
                    }
                    _ => ExpectFile::NoUnattributed(value_as(key, v, "`true` or `false`")?),
                })
            },
        })
    }
}

fn long_form<T: serde::de::DeserializeOwned>(
    key: &str,
    v: serde_yaml::Value,
    example: &str,
) -> Result<T, String> {
    if !v.is_mapping() {
        return Err(format!("`{key}` takes a value or a map, as in {example}"));
    }
    serde_yaml::from_value(v).map_err(|e| {
        let raw = e.to_string();
        let text = improve_message(strip_location(&raw));
        if raw.starts_with("unknown field") {
            format!("`{key}`: {text}")
        } else {
            format!("`{key}`: {text}; write it as {example}")
        }
    })
}

impl JsonSchema for ExpectFile {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Expectation".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let share = schemars::json_schema!({"type": "number", "minimum": 0, "maximum": 1});
        let dur = generator.subschema_for::<Dur>();
        let one = |key: &str, value: schemars::Schema| {
            schemars::json_schema!({
                "type": "object", "additionalProperties": false, "required": [key],
                "properties": { key: value }
            })
        };
        schemars::json_schema!({
            "description": "What must hold: a map with one key.",
            "oneOf": [
                one("status", schemars::json_schema!({"oneOf": [
                    {"type": "integer", "minimum": 100, "maximum": 599},
                    {"type": "object", "additionalProperties": false, "required": ["code"],
                     "properties": {"code": {"type": "integer"}, "at_least": share.clone()}}]})),
                one("path", schemars::json_schema!({"oneOf": [
                    {"enum": crate::paths::PathClass::NAMES},
                    {"type": "object", "additionalProperties": false, "required": ["class"],
                     "properties": {"class": {"enum": crate::paths::PathClass::NAMES}, "at_least": share.clone()}}]})),
                one("served_by", schemars::json_schema!({"oneOf": [
                    {"type": "string"},
                    {"type": "object", "additionalProperties": false,
                     "properties": {"provider": {"type": "string"}, "deployment": {"type": "string"}, "at_least": share}}]})),
                one("max_attempts", schemars::json_schema!({"type": "integer", "minimum": 1})),
                one("max_attempts_per_deployment", schemars::json_schema!({"type": "integer", "minimum": 1})),
                one("latency_p99_under", dur.clone()),
                one("no_unattributed", schemars::json_schema!({"type": "boolean"})),
                one("served_during_outage", schemars::json_schema!({"type": "number", "minimum": 0, "maximum": 1})),
                one("back_on_primary_within", dur.clone()),
                one("retry_after_honoured", schemars::json_schema!({"type": "boolean"})),
                one("max_attempts_per_second", schemars::json_schema!({"type": "integer", "minimum": 1})),
                one("wall_under", dur.clone()),
                one("ttft_under", dur.clone()),
                one("alive_after", schemars::json_schema!({"type": "boolean"})),
                one("max_failed_requests", schemars::json_schema!({"type": "integer", "minimum": 0})),
                one("max_cut_streams", schemars::json_schema!({"type": "integer", "minimum": 0})),
                one("no_duplicate_attempts", schemars::json_schema!({"type": "boolean"})),
                one("reroute_within", dur.clone()),
                one("serves_again_within", dur.clone()),
                one("max_failed_provider_attempts", schemars::json_schema!({"type": "integer", "minimum": 0})),
            ]
        })
    }
}
