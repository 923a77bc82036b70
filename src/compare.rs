//! `crossfire compare --gateways litellm,portkey`: one routing intent,
//! rendered into each gateway's idiomatic config (or the team's own configs),
//! the same drill and audits on each, and one table side by side.

use crate::audit::{self, LatencyAudit};
use crate::diag::{suggest, InputError, Source};
use crate::drill::{self, DrillOptions, DrillReport};
use crate::gateway::{self, GatewayError, GatewayOptions};
use crate::paths;
use crate::records::RequestRecord;
use crate::scenario::{self, LoadOptions};
use crate::traffic::{self, Target};
use mock_providers::{JournalConfig, MockSet};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A routing intent: one model group, its primary and its fallbacks, as
/// `provider/model`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingIntent {
    /// The model group clients ask for.
    pub group: String,
    /// `anthropic/claude-opus-4-1`.
    pub primary: String,
    /// Tried in order when the primary fails.
    pub fallbacks: Vec<String>,
}

impl Default for RoutingIntent {
    fn default() -> RoutingIntent {
        RoutingIntent {
            group: "claude-opus".into(),
            primary: "anthropic/claude-opus-4-1".into(),
            fallbacks: vec!["openai/gpt-4o".into()],
        }
    }
}

const PROVIDERS: [&str; 7] = [
    "openai",
    "azure",
    "anthropic",
    "gemini",
    "groq",
    "mistral",
    "deepseek",
];

fn split(route: &str) -> Result<(&str, &str), String> {
    let (p, m) = route.split_once('/').ok_or_else(|| {
        format!("`{route}` is not `provider/model`, as in `anthropic/claude-opus-4-1`")
    })?;
    if !PROVIDERS.contains(&p) {
        return Err(format!(
            "unknown provider `{p}` in `{route}`; {}",
            suggest(p, PROVIDERS)
        ));
    }
    Ok((p, m))
}

/// Reads an intent file.
pub fn load_intent(path: &Path) -> Result<RoutingIntent, InputError> {
    let src = Source::read(path)?;
    let intent: RoutingIntent = src.parse()?;
    split(&intent.primary).map_err(|m| src.error_at("primary", m))?;
    for (i, f) in intent.fallbacks.iter().enumerate() {
        split(f).map_err(|m| src.error_at(&format!("fallbacks[{i}]"), m))?;
    }
    Ok(intent)
}

/// The intent as a LiteLLM proxy config.
pub fn render_litellm(i: &RoutingIntent) -> String {
    let mut out =
        String::from("# Rendered by crossfire compare from a routing intent.\nmodel_list:\n");
    let mut groups = Vec::new();
    out.push_str(&format!(
        "  - model_name: {}\n    litellm_params:\n      model: {}\n",
        i.group, i.primary
    ));
    for f in &i.fallbacks {
        let (_, model) = split(f).unwrap_or(("openai", f));
        groups.push(model.to_string());
        out.push_str(&format!(
            "  - model_name: {model}\n    litellm_params:\n      model: {f}\n"
        ));
    }
    out.push_str(&format!(
        "router_settings:\n  fallbacks:\n    - {}: [{}]\n",
        i.group,
        groups.join(", ")
    ));
    out
}

/// The intent as a Portkey config (a fallback strategy).
pub fn render_portkey(i: &RoutingIntent) -> String {
    let target = |route: &str| {
        let (p, m) = split(route).unwrap_or(("openai", route));
        let provider = match p {
            "azure" => "azure-openai",
            "gemini" => "google",
            "mistral" => "mistral-ai",
            other => other,
        };
        let mut params = serde_json::json!({"model": m});
        if p == "anthropic" {
            params["max_tokens"] = serde_json::json!(512);
        }
        serde_json::json!({"provider": provider, "api_key": "sk-crossfire-dummy", "override_params": params})
    };
    let mut targets = vec![target(&i.primary)];
    targets.extend(i.fallbacks.iter().map(|f| target(f)));
    serde_json::to_string_pretty(
        &serde_json::json!({"strategy": {"mode": "fallback"}, "targets": targets}),
    )
    .unwrap_or_default()
}

/// What was measured on one gateway.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayResult {
    /// `litellm` or `portkey`.
    pub gateway: String,
    /// The config used.
    pub config: PathBuf,
    /// The drill.
    pub drill: DrillReport,
    /// Healthy traffic: tokens the providers received over what the client sent, percent.
    pub token_overhead_pct: f64,
    /// Healthy traffic: the gateway's reported cost against the ground truth, percent.
    pub cost_discrepancy_pct: Option<f64>,
    /// The same in words: the figure, or why there is none to compare
    /// (`not in the gateway's price map`, `not reported for streams`).
    pub cost_reported: String,
    /// The price map the gateway priced with, when crossfire knows it.
    pub cost_price_map: Option<String>,
    /// Latency the gateway adds, against direct calls in the same run.
    pub latency: Option<LatencyAudit>,
    /// Gateway startup in the healthy phase, milliseconds.
    pub startup_ms: u64,
    /// Version.
    pub version: Option<String>,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The intent compared (when rendered).
    pub intent: Option<RoutingIntent>,
    /// One result per gateway, in the order asked.
    pub results: Vec<GatewayResult>,
    /// When, UTC.
    pub date: String,
}

/// How to compare.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// The gateways, in order.
    pub gateways: Vec<String>,
    /// The intent to render (ignored for a gateway given its own config).
    pub intent: RoutingIntent,
    /// The team's own LiteLLM config instead of the rendered one.
    pub litellm_config: Option<PathBuf>,
    /// The team's own Portkey config instead of the rendered one.
    pub portkey_config: Option<PathBuf>,
    /// Requests per drill cell.
    pub requests: u32,
    /// Healthy requests through the gateway (each paired with a direct one).
    pub latency_requests: u32,
    /// Run folder.
    pub out: PathBuf,
    /// Gateway options.
    pub gateway: GatewayOptions,
    /// Run a team's config even when items have no mock (`--allow-unmapped`).
    pub allow_unmapped: bool,
    /// Ctrl-C.
    pub cancel: CancellationToken,
}

/// Runs the drill and the audits on every gateway.
pub async fn compare(opts: &CompareOptions) -> Result<Comparison, GatewayError> {
    gateway::create_dir(&opts.out)?;
    let mut results = Vec::new();
    let mut rendered = false;
    for g in &opts.gateways {
        let dir = opts.out.join(g);
        gateway::create_dir(&dir)?;
        let (config, own) = match (g.as_str(), &opts.litellm_config, &opts.portkey_config) {
            ("litellm", Some(c), _) | ("portkey", _, Some(c)) => (c.clone(), true),
            ("litellm", None, _) => (
                write(&dir.join("litellm.yaml"), &render_litellm(&opts.intent))?,
                false,
            ),
            _ => (
                write(&dir.join("portkey.json"), &render_portkey(&opts.intent))?,
                false,
            ),
        };
        rendered |= !own;
        let loaded = match g.as_str() {
            "litellm" => Loaded::Litellm(crate::gateway::litellm::config::load(&config)?),
            _ => Loaded::Portkey(crate::gateway::portkey::config::load(&config)?),
        };
        // The one model group compared: the intent's, when the config has
        // it. A rendered LiteLLM config also has a group per fallback model;
        // drilling those too would mix their cells into the table.
        let group = match &loaded {
            Loaded::Litellm(c) => {
                let groups = c.groups();
                if groups.contains(&opts.intent.group) {
                    opts.intent.group.clone()
                } else {
                    groups.first().cloned().unwrap_or_default()
                }
            }
            Loaded::Portkey(c) => c.name.clone(),
        };
        let drill_opts = DrillOptions {
            out: dir.join("drill"),
            requests: opts.requests,
            classes: crate::gateway::litellm::lint::DRILL_CLASSES.to_vec(),
            groups: vec![group.clone()],
            gateway: opts.gateway.clone(),
            cancel: opts.cancel.clone(),
            allow_unmapped: opts.allow_unmapped,
        };
        let report = match &loaded {
            Loaded::Litellm(cfg) => drill::drill_litellm(cfg, &drill_opts).await?,
            Loaded::Portkey(cfg) => drill::drill_portkey(cfg, &drill_opts).await?,
        };
        // Ctrl-C during the drill: start nothing more.
        if opts.cancel.is_cancelled() {
            return Err(GatewayError::Interrupted);
        }
        let healthy = healthy_phase(g, &config, &group, &dir, opts).await?;
        results.push(GatewayResult {
            gateway: g.clone(),
            config,
            version: report.gateway_version.clone().or(healthy.version),
            drill: report,
            token_overhead_pct: healthy.token_overhead_pct,
            cost_discrepancy_pct: healthy.cost_discrepancy_pct,
            cost_reported: healthy.cost_reported,
            cost_price_map: healthy.cost_price_map,
            latency: healthy.latency,
            startup_ms: healthy.startup_ms,
        });
        if opts.cancel.is_cancelled() {
            break;
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let cmp = Comparison {
        intent: rendered.then(|| opts.intent.clone()),
        results,
        date: mock_providers::error_answers::rfc3339(now),
    };
    crate::report::write(&opts.out.join("compare.json"), crate::report::json(&cmp));
    Ok(cmp)
}

fn write(path: &Path, text: &str) -> Result<PathBuf, GatewayError> {
    gateway::write_file(path, text)?;
    Ok(path.to_path_buf())
}

struct Healthy {
    token_overhead_pct: f64,
    cost_discrepancy_pct: Option<f64>,
    cost_reported: String,
    cost_price_map: Option<String>,
    latency: Option<LatencyAudit>,
    startup_ms: u64,
    version: Option<String>,
}

/// A gateway config, read once.
enum Loaded {
    Litellm(crate::gateway::litellm::config::LitellmConfig),
    Portkey(crate::gateway::portkey::config::PortkeyConfig),
}

/// Healthy traffic through the gateway, each request paired with one sent
/// straight to the primary's mock, interleaved so machine noise hits both.
async fn healthy_phase(
    kind: &str,
    config: &Path,
    group: &str,
    dir: &Path,
    opts: &CompareOptions,
) -> Result<Healthy, GatewayError> {
    let scenario_path = dir.join("healthy.yaml");
    // A scenario reads its config relative to its own folder: a relative
    // `--out`, `--litellm-config` or `--portkey-config` would be joined twice.
    let config = &gateway::absolute(config)?;
    // Paths and group names go in as JSON strings, which YAML reads as-is.
    let quote = |v: &str| serde_json::to_string(v).unwrap_or_default();
    gateway::write_file(
        &scenario_path,
        format!(
            "name: healthy\ngateway: {{kind: {kind}, config: {}}}\ntraffic:\n  - model: {}\n    requests: 1\n    prompt_tokens: 200\n",
            quote(&config.display().to_string()),
            quote(group),
        ),
    )?;
    let load = LoadOptions {
        allow_unmapped: opts.allow_unmapped,
        ..LoadOptions::default()
    };
    let s = scenario::load_with(&scenario_path, &load)?;
    let mocks = MockSet::start(
        s.deployments.iter().map(|d| d.spec.clone()).collect(),
        JournalConfig {
            memory_cap: 1_000_000,
            file: Some(dir.join("healthy-journal.jsonl")),
        },
    )
    .await
    .map_err(|e| GatewayError::start(format!("cannot start the mock providers: {e}")))?;
    let run_dir = dir.join("healthy");
    gateway::create_dir(&run_dir)?;
    let gw = gateway::start(&s, &mocks, &run_dir, &opts.gateway, &opts.cancel).await?;
    let startup_ms = gw.startup.as_millis() as u64;
    let primary = s
        .deployments
        .first()
        .ok_or_else(|| GatewayError::start("the config has no deployment"))?;
    let direct = Target::new(
        mocks
            .get(primary.id())
            .map(|m| m.base_url())
            .unwrap_or_default(),
        Default::default(),
    );
    let via = Target::new(gw.base_url.clone(), gw.headers.clone());
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| GatewayError::start(format!("cannot build an HTTP client: {e}")))?;
    let mut t_gw = s.traffic[0].clone();
    t_gw.timeout = Duration::from_secs(60);
    let mut t_direct = t_gw.clone();
    t_direct.model = primary.model.clone();
    t_direct.api = scenario::ClientApi::Native(primary.spec.dialect);
    let started = Instant::now();
    let (mut g_rec, mut d_rec): (Vec<RequestRecord>, Vec<RequestRecord>) = (vec![], vec![]);
    // A warm-up pair first: connections open, code paths hot.
    for i in 0..=opts.latency_requests {
        if opts.cancel.is_cancelled() {
            break;
        }
        let n = u64::from(i) * 2 + 1;
        let a = traffic::one(&client, &via, 0, &t_gw, "cmp", n, started).await;
        let b = traffic::one(&client, &direct, 1, &t_direct, "cmp", n + 1, started).await;
        if i > 0 {
            g_rec.push(a);
            d_rec.push(b);
        }
    }
    let version = gw.version(&g_rec).map_err(GatewayError::start)?;
    let price_map = gw.price_map.clone();
    drop(gw);
    let journal = mocks.shutdown().await;
    let attempts = journal.attempts();
    let providers: HashMap<String, String> = s
        .deployments
        .iter()
        .map(|d| (d.id().to_string(), d.provider.clone()))
        .collect();
    let g_paths = paths::join(&g_rec, &attempts, &providers).paths;
    let d_paths = paths::join(&d_rec, &attempts, &providers).paths;
    let tokens = audit::tokens(
        &g_rec,
        &g_paths,
        &attempts,
        &[t_gw.clone(), t_direct.clone()],
    );
    let cost = audit::cost(
        &g_rec,
        &g_paths,
        &attempts,
        &Default::default(),
        price_map.as_deref(),
    );
    let latency = audit::latency(
        &audit::overheads(&g_rec, &g_paths),
        &audit::overheads(&d_rec, &d_paths),
    );
    Ok(Healthy {
        token_overhead_pct: tokens.token_overhead_pct,
        cost_discrepancy_pct: cost.discrepancy_pct,
        cost_reported: cost.discrepancy_text(),
        cost_price_map: cost.price_map.clone(),
        latency,
        startup_ms,
        version,
    })
}

/// The table rows: (label, one cell per gateway).
pub fn rows(c: &Comparison) -> Vec<(String, Vec<String>)> {
    let mut rows = Vec::new();
    let each = |f: &dyn Fn(&GatewayResult) -> String| c.results.iter().map(f).collect::<Vec<_>>();
    rows.push((
        "gateway version".to_string(),
        each(&|r| r.version.clone().unwrap_or_else(|| "?".into())),
    ));
    rows.push((
        "startup".to_string(),
        each(&|r| format!("{:.1} s", r.startup_ms as f64 / 1000.0)),
    ));
    for class in crate::gateway::litellm::lint::DRILL_CLASSES {
        let label = if crate::gateway::litellm::lint::streams(class) {
            format!("failover on {class} (stream)")
        } else {
            format!("failover on {class}")
        };
        rows.push((
            label,
            each(&|r| {
                r.drill
                    .cells
                    .iter()
                    .find(|x| x.class == class)
                    .map_or("-".to_string(), |x| x.verdict.label().to_string())
            }),
        ));
    }
    rows.push((
        "token overhead (healthy)".to_string(),
        each(&|r| format!("{:+.1}%", r.token_overhead_pct)),
    ));
    rows.push((
        "cost-tracking discrepancy".to_string(),
        each(&|r| r.cost_reported.clone()),
    ));
    rows.push((
        "latency overhead p50 / p99".to_string(),
        each(&|r| {
            r.latency.as_ref().map_or("-".to_string(), |l| {
                format!(
                    "{:.2} ms / {:.2} ms",
                    l.overhead_p50_us as f64 / 1000.0,
                    l.overhead_p99_us as f64 / 1000.0
                )
            })
        }),
    ));
    rows
}

/// The table as text.
pub fn render_text(c: &Comparison) -> String {
    let rows = rows(c);
    let w0 = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(10);
    let widths: Vec<usize> = (0..c.results.len())
        .map(|i| {
            rows.iter()
                .map(|(_, v)| v[i].len())
                .chain(std::iter::once(c.results[i].gateway.len()))
                .max()
                .unwrap_or(8)
        })
        .collect();
    let mut s = format!("crossfire compare ({})\n\n  {:w0$}", c.date, "");
    for (i, r) in c.results.iter().enumerate() {
        s.push_str(&format!("  {:w$}", r.gateway, w = widths[i]));
    }
    s.push('\n');
    for (label, cells) in &rows {
        s.push_str(&format!("  {label:w0$}"));
        for (i, v) in cells.iter().enumerate() {
            s.push_str(&format!("  {v:w$}", w = widths[i]));
        }
        s.push('\n');
    }
    s.push_str(&price_maps(c));
    if let Some(i) = &c.intent {
        s.push_str(&format!(
            "\nintent: {} -> {} then {}\n",
            i.group,
            i.primary,
            i.fallbacks.join(", ")
        ));
    }
    s
}

/// The table as Markdown.
pub fn render_markdown(c: &Comparison) -> String {
    let mut s = String::from("| | ");
    s.push_str(
        &c.results
            .iter()
            .map(|r| r.gateway.clone())
            .collect::<Vec<_>>()
            .join(" | "),
    );
    s.push_str(" |\n|---|");
    s.push_str(&"---|".repeat(c.results.len()));
    s.push('\n');
    for (label, cells) in rows(c) {
        s.push_str(&format!("| {label} | {} |\n", cells.join(" | ")));
    }
    s.push_str(&format!(
        "\nMeasured by `crossfire compare` on {}.\n",
        c.date
    ));
    s.push_str(&price_maps(c));
    s
}

/// Which price map each cost-reporting gateway priced with, one line each.
fn price_maps(c: &Comparison) -> String {
    c.results
        .iter()
        .filter_map(|r| {
            r.cost_price_map
                .as_ref()
                .map(|m| format!("\n{} priced its reported cost with {m}.\n", r.gateway))
        })
        .collect()
}
