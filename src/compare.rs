//! `crossfire compare --gateways litellm,portkey`: one routing intent,
//! rendered into each gateway's idiomatic config (or the team's own configs),
//! the same drill and audits on each, and one table side by side.

use crate::audit::LatencyAudit;
use crate::diag::{InputError, Source};
use crate::drill::{self, DrillOptions, DrillReport};
use crate::gateway::adapter::GatewayConfig;
use crate::gateway::{self, GatewayError, GatewayOptions};
use crate::runner::{self, RunOptions};
use crate::scenario;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::intent::route_parts as split;
pub use crate::intent::RoutingIntent;

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
    /// Gateway name -> the team's own config, used instead of the intent
    /// rendered for that gateway.
    pub configs: BTreeMap<String, PathBuf>,
    /// Requests per drill cell.
    pub requests: u32,
    /// Healthy requests through the gateway (each paired with a direct call
    /// to a healthy mock, the runner's latency audit).
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
        let adapter = gateway::adapter_named(g).ok_or_else(|| {
            GatewayError::Input(InputError::flag(
                format!("--gateways {g}"),
                format!("crossfire compares {}", gateway::adapter_names().join(", ")),
            ))
        })?;
        let (config, own) = match opts.configs.get(g) {
            Some(c) => (c.clone(), true),
            None => {
                let (name, text) = adapter.render(&opts.intent);
                (write(&dir.join(name), &text)?, false)
            }
        };
        rendered |= !own;
        let loaded = adapter.load(&config)?;
        // The one model group compared: the intent's, when the config has
        // it. A rendered LiteLLM config also has a group per fallback model;
        // drilling those too would mix their cells into the table.
        let groups = loaded.groups();
        let group = if groups.contains(&opts.intent.group) {
            opts.intent.group.clone()
        } else {
            groups.first().cloned().unwrap_or_default()
        };
        let drill_opts = DrillOptions {
            out: dir.join("drill"),
            requests: opts.requests,
            classes: crate::lint::DRILL_CLASSES.to_vec(),
            groups: vec![group.clone()],
            gateway: opts.gateway.clone(),
            cancel: opts.cancel.clone(),
            allow_unmapped: opts.allow_unmapped,
            outage: false,
            replicas: None,
        };
        let report = drill::drill(loaded.as_ref(), &drill_opts).await?;
        // Ctrl-C during the drill: start nothing more.
        if opts.cancel.is_cancelled() {
            return Err(GatewayError::Interrupted);
        }
        let healthy = healthy_phase(loaded, &group, &dir, opts).await?;
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

/// Healthy traffic through the gateway: a scenario value the runner runs,
/// with its latency audit (every request paired with a direct call to a
/// healthy mock, interleaved so machine noise hits both) and its token and
/// cost audits.
async fn healthy_phase(
    config: Arc<dyn GatewayConfig>,
    group: &str,
    dir: &Path,
    opts: &CompareOptions,
) -> Result<Healthy, GatewayError> {
    let s = scenario::healthy(
        "healthy",
        config,
        group,
        u64::from(opts.latency_requests.max(1)),
        opts.allow_unmapped,
    )?;
    let run = RunOptions {
        out: dir.to_path_buf(),
        cancel: opts.cancel.clone(),
        gateway: opts.gateway.clone(),
        snapshots: None,
        latency_audit: true,
        journal_memory_cap: runner::DEFAULT_JOURNAL_MEMORY_CAP,
    };
    let report = runner::run_scenario(0, &s, &run, &|_| {}).await;
    if report.interrupted {
        return Err(GatewayError::Interrupted);
    }
    if let Some(e) = report.error {
        return Err(GatewayError::Start {
            message: e,
            log_tail: report
                .gateway_log
                .map(|l| crate::gateway::process::log_tail(&l, 4000))
                .unwrap_or_default(),
        });
    }
    let audit = report
        .audit
        .ok_or_else(|| GatewayError::start("the healthy phase completed no request"))?;
    Ok(Healthy {
        token_overhead_pct: audit.tokens.token_overhead_pct,
        cost_discrepancy_pct: audit.cost.discrepancy_pct,
        cost_reported: audit.cost.discrepancy_text(),
        cost_price_map: audit.cost.price_map.clone(),
        latency: report.latency,
        startup_ms: report.gateway_startup_ms,
        version: report.gateway_version,
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
    for class in crate::lint::DRILL_CLASSES {
        let label = if crate::lint::streams(class) {
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
