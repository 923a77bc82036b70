//! The `crossfire` command: parse arguments, call the library, map the result
//! to a documented exit code.

use clap::{Parser, Subcommand};
use crossfire::diag::InputError;
use crossfire::report::{
    self, json::JsonReporter, junit::JunitReporter, terminal::TerminalReporter, Reporter,
};
use crossfire::runner::{self, RunOptions};
use crossfire::{exit, gateway, mock, scenario};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

#[derive(Parser)]
#[command(name = "crossfire", version, about = "Failover chaos-testing harness for LLM gateways", after_help = exit::HELP)]
struct Cli {
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

/// Routing snapshot flags.
#[derive(clap::Args, Clone, Default)]
struct SnapshotArgs {
    /// Compare each routing behaviour with the accepted snapshot in DIR (a
    /// difference fails the run); write it when there is none.
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,
    /// Accept the behaviour seen as the new snapshot.
    #[arg(long, requires = "snapshots")]
    update_snapshots: bool,
}

impl SnapshotArgs {
    fn options(&self) -> Option<crossfire::snapshot::SnapshotOptions> {
        self.snapshots
            .as_ref()
            .map(|dir| crossfire::snapshot::SnapshotOptions {
                dir: dir.clone(),
                update: self.update_snapshots,
            })
    }
}

/// Flags that choose and configure the gateway under test.
#[derive(clap::Args, Clone, Default)]
struct GatewayArgs {
    /// Gateway target, overriding the scenario's: direct, command, url, litellm.
    #[arg(long, value_name = "KIND")]
    gateway: Option<String>,
    /// The gateway's own config (LiteLLM `config.yaml`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Base URL of a gateway already running (`--gateway url`).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Run even when config items have no mock; their traffic is sealed and reported.
    #[arg(long)]
    allow_unmapped: bool,
    /// The `litellm` program to run (default: on PATH, else installed pinned).
    #[arg(long, value_name = "PATH")]
    litellm: Option<PathBuf>,
    /// Install and run this LiteLLM version instead of the pinned one.
    #[arg(long, value_name = "VERSION")]
    litellm_version: Option<String>,
}

impl GatewayArgs {
    fn load_options(&self) -> Result<scenario::LoadOptions, InputError> {
        let gateway = match &self.gateway {
            None => {
                if self.config.is_some() {
                    return Err(InputError::flag("--config", "goes with `--gateway KIND`, e.g. `--gateway litellm --config litellm.yaml`"));
                }
                None
            }
            Some(kind) => {
                let parsed = scenario::file::GatewayKind::from_name(kind).ok_or_else(|| {
                    InputError::flag(
                        format!("--gateway {kind}"),
                        format!(
                            "unknown gateway kind; {}",
                            crossfire::diag::suggest(
                                kind,
                                scenario::file::GatewayKind::ALL.iter().map(|k| k.name())
                            )
                        ),
                    )
                })?;
                if let Some(c) = &self.config {
                    if !c.is_file() {
                        return Err(InputError::flag(
                            format!("--config {}", c.display()),
                            "no such file",
                        ));
                    }
                }
                Some(scenario::GatewayOverride {
                    kind: parsed,
                    config: self.config.clone(),
                    url: self.url.clone(),
                })
            }
        };
        Ok(scenario::LoadOptions {
            gateway,
            allow_unmapped: self.allow_unmapped,
        })
    }

    fn gateway_options(&self) -> gateway::GatewayOptions {
        gateway::GatewayOptions {
            litellm: gateway::litellm::LitellmOptions {
                path: self.litellm.clone(),
                version: self.litellm_version.clone(),
            },
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios: one file, several, or every *.yaml under a folder.
    Run {
        /// Scenario files or folders.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// The run folder (journals, gateway logs, rendered configs, reports).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Write the whole run, every path included, as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write JUnit XML: one testcase per expectation.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write a Markdown report (summary, findings, a flow diagram per model group).
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        /// Pair every request with a direct call to a healthy mock and report the
        /// gateway's latency overhead (p50/p90/p99).
        #[arg(long)]
        latency_audit: bool,
        #[command(flatten)]
        snapshots: SnapshotArgs,
        #[command(flatten)]
        gateway: GatewayArgs,
    },
    /// Validate scenario files without running anything.
    Check {
        /// Scenario files or folders.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the scenario format.
    Schema,
    /// Generate fault schedules against a scenario's gateway, check invariants
    /// (a healthy promised provider means a good answer; at most N attempts;
    /// nothing unattributed), and shrink a violation to the smallest schedule,
    /// written as a scenario file.
    Explore {
        /// The base scenario (gateway, deployments, traffic, intent); its faults are replaced.
        scenario: PathBuf,
        /// Cases to generate before shrinking.
        #[arg(long, default_value_t = 32)]
        cases: u32,
        /// Seed; the same seed explores the same cases (default: from the clock, printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Stop starting new cases after this long (e.g. 5m, 90s).
        #[arg(long, default_value = "5m")]
        time_budget: String,
        /// The attempt limit invariant.
        #[arg(long, default_value_t = 8)]
        max_attempts: u32,
        /// Failure classes to draw from (comma-separated).
        #[arg(long, value_delimiter = ',')]
        classes: Vec<String>,
        /// Most faults in one case.
        #[arg(long, default_value_t = 2)]
        max_faults: usize,
        /// The run folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Where to write the smallest failing scenario (default: beside the base scenario).
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
        #[command(flatten)]
        gateway: GatewayArgs,
    },
    /// Run the same drill and audits on several gateways and print one table:
    /// failover per failure class, token overhead, cost tracking, latency.
    Compare {
        /// Gateways, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "litellm,portkey")]
        gateways: Vec<String>,
        /// A routing intent (YAML: group, primary, fallbacks as provider/model);
        /// default: claude-opus -> anthropic/claude-opus-4-1, then openai/gpt-4o.
        #[arg(long, value_name = "FILE")]
        intent: Option<PathBuf>,
        /// Use this LiteLLM config instead of rendering the intent.
        #[arg(long, value_name = "FILE")]
        litellm_config: Option<PathBuf>,
        /// Use this Portkey config instead of rendering the intent.
        #[arg(long, value_name = "FILE")]
        portkey_config: Option<PathBuf>,
        /// Requests per drill cell.
        #[arg(long, default_value_t = 2)]
        requests: u32,
        /// Healthy requests per gateway for the latency audit (each paired with a direct one).
        #[arg(long, default_value_t = 200)]
        latency_requests: u32,
        /// The run folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Write the comparison as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write the table as Markdown.
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        #[command(flatten)]
        gateway: GatewayArgs,
    },
    /// The routing-tax threshold: (routing tax + misrouting waste) / model-selection savings.
    #[command(after_help = crossfire::tax::help())]
    Tax {
        /// A compare.json or drill.json with the measured figures.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Which gateway of a compare.json (default: the first).
        #[arg(long)]
        gateway: Option<String>,
        /// Monthly LLM spend through the router, USD.
        #[arg(long)]
        monthly_spend: f64,
        /// What routing to cheaper models saves, percent of spend.
        #[arg(long)]
        selection_savings: f64,
        /// Share of requests that meet a provider failure, percent.
        #[arg(long, default_value_t = 2.0)]
        failure_rate: f64,
        /// Token overhead, percent, when the file has none (a drill.json).
        #[arg(long)]
        token_overhead: Option<f64>,
        /// How often each failure class happens among provider failures:
        /// `rate_limit=0.6,server_error=0.3,timeout=0.1` (relative weights,
        /// normalised; every class must be in the drill). Default: see below.
        #[arg(long, value_name = "CLASS=WEIGHT,...")]
        class_mix: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Predict, from a gateway config alone, the path every failure class takes
    /// per model group, and warn about what a reviewer should know. Runs nothing.
    Lint {
        /// The gateway config (LiteLLM `config.yaml`).
        config: PathBuf,
        /// Gateway kind of the config.
        #[arg(long, default_value = "litellm")]
        gateway: String,
        /// Write predictions and warnings as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Run every failure class against every model group of a gateway config,
    /// and print the matrix: observed path, lint's prediction, verdict.
    Drill {
        #[command(flatten)]
        gateway: GatewayArgs,
        /// Requests per cell.
        #[arg(long, default_value_t = 2)]
        requests: u32,
        /// Failure classes (comma-separated; default: the ten drill classes).
        #[arg(long, value_delimiter = ',')]
        classes: Vec<String>,
        /// Only these model groups (comma-separated).
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        /// The run folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Write the drill as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write the drill as Markdown (matrix, cells, warnings).
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        #[command(flatten)]
        snapshots: SnapshotArgs,
        /// When to exit 1: on any finding (`findings`), or only when the routing
        /// behaviour differs from the accepted snapshot (`changes`, with --snapshots).
        #[arg(long, value_name = "WHEN", default_value = "findings", value_parser = ["findings", "changes"])]
        fail_on: String,
    },
    /// Serve mock providers until Ctrl-C; prints `ID DIALECT URL` per deployment.
    #[command(
        after_help = "Faults: FAULT[(key=value,...)][@SCHEDULE], e.g.\n  --fault claude=rate_limit(retry_after=2s)@first:3\n  --fault gpt=stream_cut(after_events=1)@every:2\nSchedules: always, first:N, after:N, every:N, requests:1,3, window:1s..5s, probability:0.3"
    )]
    Mock {
        /// A mock file (YAML: deployments, faults, journal).
        file: Option<PathBuf>,
        /// A deployment, ID=DIALECT (openai, azure, anthropic, gemini, groq, mistral, deepseek, vllm).
        #[arg(long = "deployment", value_name = "ID=DIALECT")]
        deployments: Vec<String>,
        /// A fault on a deployment, ID=FAULT[@SCHEDULE].
        #[arg(long = "fault", value_name = "ID=FAULT[@SCHEDULE]")]
        faults: Vec<String>,
        /// Append every attempt to this JSONL file, flushed per attempt.
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Print one JSON object per deployment instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The most requests a drill cell sends: a cell sends them all at once, and
/// a drill is not a load test.
const MAX_CELL_REQUESTS: u32 = 1000;

fn cell_requests_bounded(flag: &str, requests: u32) -> Result<(), InputError> {
    if requests > MAX_CELL_REQUESTS {
        return Err(InputError::flag(
            format!("{flag} {requests}"),
            format!("a drill cell sends at most {MAX_CELL_REQUESTS} requests, all at once; a drill is not a load test"),
        ));
    }
    Ok(())
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only where a person reads a terminal: a pipe or a CI log gets
    // plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(crossfire::report::style::Style::stderr().is_enabled())
        .init();
}

fn bad_input(e: InputError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(exit::BAD_INPUT as u8)
}

/// The exit of a drill or comparison that could not finish.
fn gateway_failed(e: gateway::GatewayError) -> ExitCode {
    match e {
        gateway::GatewayError::Input(e) => bad_input(e),
        gateway::GatewayError::Interrupted => ExitCode::from(exit::INTERRUPTED as u8),
        e => {
            eprintln!("error: {e}");
            ExitCode::from(exit::INFRA as u8)
        }
    }
}

/// Runs `work` to its end; Ctrl-C cancels `cancel`, so the work stops its
/// gateway and mocks and returns what it recorded.
fn until_stopped<T>(
    runtime: &tokio::runtime::Runtime,
    cancel: tokio_util::sync::CancellationToken,
    work: impl std::future::Future<Output = T>,
) -> T {
    runtime.block_on(async {
        let watcher = tokio::spawn(async move {
            mock::wait_for_stop_signal().await;
            eprintln!("interrupted: stopping the gateway and the mocks");
            cancel.cancel();
        });
        let result = work.await;
        watcher.abort();
        result
    })
}

/// `--classes a,b`: failure class names, with a suggestion for a typo;
/// `default` when none are given.
fn parse_classes(
    names: &[String],
    default: &[mock_providers::FailureClass],
) -> Result<Vec<mock_providers::FailureClass>, InputError> {
    if names.is_empty() {
        return Ok(default.to_vec());
    }
    names
        .iter()
        .map(|c| {
            mock_providers::FailureClass::from_name(c).ok_or_else(|| {
                InputError::flag(
                    format!("--classes {c}"),
                    format!(
                        "unknown failure class; {}",
                        crossfire::diag::suggest(
                            c,
                            mock_providers::FailureClass::ALL.iter().map(|x| x.name())
                        )
                    ),
                )
            })
        })
        .collect()
}

/// Loads and checks every scenario before anything runs.
fn load_all(
    args: &[PathBuf],
    opts: &scenario::LoadOptions,
) -> Result<Vec<scenario::Scenario>, InputError> {
    let files = runner::discover(args)?;
    let mut list = Vec::with_capacity(files.len());
    for f in files {
        let s = scenario::load_with(&f, opts)?;
        gateway::preflight(&s)?;
        list.push(s);
    }
    Ok(list)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INFRA as u8);
        }
    };
    match cli.command {
        Command::Run {
            scenarios,
            out,
            json,
            junit,
            markdown,
            latency_audit,
            snapshots,
            gateway,
        } => {
            let load_opts = match gateway.load_options() {
                Ok(o) => o,
                Err(e) => return bad_input(e),
            };
            let loaded = match load_all(&scenarios, &load_opts) {
                Ok(l) => l,
                Err(e) => return bad_input(e),
            };
            if let Err(e) = report::check_paths(&[
                ("--json", json.as_deref()),
                ("--junit", junit.as_deref()),
                ("--markdown", markdown.as_deref()),
            ]) {
                return bad_input(e);
            }
            let out = out.unwrap_or_else(runner::default_out_dir);
            if let Err(e) = std::fs::create_dir_all(&out) {
                eprintln!("error: cannot create the run folder {}: {e}", out.display());
                return ExitCode::from(exit::INFRA as u8);
            }
            let mut reporters = vec![Reporter::Terminal(TerminalReporter::new())];
            reporters.extend(json.map(|p| Reporter::Json(JsonReporter::new(p))));
            reporters.extend(junit.map(|p| Reporter::Junit(JunitReporter::new(p))));
            reporters.extend(markdown.map(|p| {
                Reporter::Markdown(crossfire::report::markdown::MarkdownReporter::new(p))
            }));
            let reporters = Mutex::new(reporters);
            let emit = |e: crossfire::outcome::Event| {
                for r in reporters
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter_mut()
                {
                    r.event(&e);
                }
            };
            let cancel = tokio_util::sync::CancellationToken::new();
            let opts = RunOptions {
                out,
                cancel: cancel.clone(),
                gateway: gateway.gateway_options(),
                snapshots: snapshots.options(),
                latency_audit,
                journal_memory_cap: runner::DEFAULT_JOURNAL_MEMORY_CAP,
            };
            let summary = until_stopped(&runtime, cancel, runner::run(&loaded, &opts, &emit));
            ExitCode::from(summary.exit_code() as u8)
        }
        Command::Check { scenarios } => {
            match load_all(&scenarios, &scenario::LoadOptions::default()) {
                Ok(list) => {
                    for s in &list {
                        println!("ok {} ({})", s.file.display(), s.name);
                    }
                    ExitCode::from(exit::OK as u8)
                }
                Err(e) => bad_input(e),
            }
        }
        Command::Lint {
            config,
            gateway,
            json,
        } => {
            if let Err(e) = report::check_paths(&[("--json", json.as_deref())]) {
                return bad_input(e);
            }
            let found = match gateway.as_str() {
                "litellm" => match crossfire::gateway::litellm::config::load(&config) {
                    Ok(c) => crossfire::lint::lint_litellm(&c),
                    Err(e) => return bad_input(e),
                },
                "portkey" => match crossfire::gateway::portkey::config::load(&config) {
                    Ok(c) => crossfire::lint::lint_portkey(&c),
                    Err(e) => return bad_input(e),
                },
                other => {
                    return bad_input(InputError::flag(
                        format!("--gateway {other}"),
                        format!(
                            "lint reads `litellm` and `portkey` configs; {}",
                            crossfire::diag::suggest(other, ["litellm", "portkey"])
                        ),
                    ))
                }
            };
            print!("{}", crossfire::lint::render_text(&found));
            if let Some(path) = json {
                report::write(&path, report::json(&found));
            }
            if found.warnings.is_empty() {
                ExitCode::from(exit::OK as u8)
            } else {
                ExitCode::from(exit::FINDING as u8)
            }
        }
        Command::Drill {
            gateway,
            requests,
            classes,
            groups,
            out,
            json,
            markdown,
            snapshots,
            fail_on,
        } => {
            if fail_on == "changes" && snapshots.snapshots.is_none() {
                return bad_input(InputError::flag(
                    "--fail-on changes",
                    "compares with accepted snapshots: give `--snapshots DIR`",
                ));
            }
            let (Some(kind), Some(config)) = (&gateway.gateway, &gateway.config) else {
                return bad_input(InputError::flag(
                    "drill",
                    "needs `--gateway litellm|portkey --config FILE`",
                ));
            };
            enum Drilled {
                Litellm(crossfire::gateway::litellm::config::LitellmConfig),
                Portkey(crossfire::gateway::portkey::config::PortkeyConfig),
            }
            let cfg = match kind.as_str() {
                "litellm" => match crossfire::gateway::litellm::config::load(config) {
                    Ok(c) => Drilled::Litellm(c),
                    Err(e) => return bad_input(e),
                },
                "portkey" => match crossfire::gateway::portkey::config::load(config) {
                    Ok(c) => Drilled::Portkey(c),
                    Err(e) => return bad_input(e),
                },
                other => {
                    return bad_input(InputError::flag(
                        format!("--gateway {other}"),
                        format!(
                            "drill runs `litellm` and `portkey` configs; {}",
                            crossfire::diag::suggest(other, ["litellm", "portkey"])
                        ),
                    ))
                }
            };
            let parsed =
                match parse_classes(&classes, &crossfire::gateway::litellm::lint::DRILL_CLASSES) {
                    Ok(p) => p,
                    Err(e) => return bad_input(e),
                };
            let known = match &cfg {
                Drilled::Litellm(c) => c.groups(),
                Drilled::Portkey(c) => vec![c.name.clone()],
            };
            for g in &groups {
                if !known.contains(g) {
                    return bad_input(InputError::flag(
                        format!("--groups {g}"),
                        format!(
                            "no such model group; {}",
                            crossfire::diag::suggest(g, known.iter().map(String::as_str))
                        ),
                    ));
                }
            }
            if let Err(e) = report::check_paths(&[
                ("--json", json.as_deref()),
                ("--markdown", markdown.as_deref()),
            ]) {
                return bad_input(e);
            }
            if requests == 0 {
                return bad_input(InputError::flag(
                    "--requests 0",
                    "a cell needs at least 1 request",
                ));
            }
            if let Err(e) = cell_requests_bounded("--requests", requests) {
                return bad_input(e);
            }
            let cancel = tokio_util::sync::CancellationToken::new();
            let opts = crossfire::drill::DrillOptions {
                out: out.unwrap_or_else(runner::default_out_dir),
                requests,
                classes: parsed,
                groups,
                gateway: gateway.gateway_options(),
                cancel: cancel.clone(),
                allow_unmapped: gateway.allow_unmapped,
            };
            let result = until_stopped(&runtime, cancel, async {
                match &cfg {
                    Drilled::Litellm(c) => crossfire::drill::drill_litellm(c, &opts).await,
                    Drilled::Portkey(c) => crossfire::drill::drill_portkey(c, &opts).await,
                }
            });
            match result {
                Ok(report) => {
                    print!(
                        "{}",
                        crossfire::drill::render_text_styled(
                            &report,
                            crossfire::report::style::Style::stdout()
                        )
                    );
                    if let Some(path) = json {
                        report::write(&path, report::json(&report));
                    }
                    if let Some(path) = markdown {
                        let text = crossfire::drill::render_markdown(&report);
                        report::write(&path, Ok(text.into_bytes()));
                    }
                    let random = match &cfg {
                        Drilled::Litellm(c) => c
                            .groups()
                            .into_iter()
                            .filter(|g| c.items_of(g).len() > 1)
                            .collect(),
                        Drilled::Portkey(c) if c.has_loadbalance() => {
                            std::collections::BTreeSet::from([c.name.clone()])
                        }
                        Drilled::Portkey(_) => Default::default(),
                    };
                    let mut snapshot_failed = false;
                    if let (Some(opts), false) = (snapshots.options(), report.interrupted) {
                        let b = crossfire::drill::behaviour(&report, &random);
                        match crossfire::snapshot::check(&b, &opts, "on ") {
                            Ok(crossfire::snapshot::SnapshotStatus::Changed {
                                file,
                                diff,
                                summary,
                            }) => {
                                snapshot_failed = true;
                                println!("SNAPSHOT CHANGED ({}):", file.display());
                                for l in summary {
                                    println!("  {l}");
                                }
                                print!("{diff}");
                                println!("(accept with --update-snapshots)");
                            }
                            Ok(other) => println!(
                                "snapshot: {}",
                                serde_json::to_string(&other).unwrap_or_default()
                            ),
                            Err(e) => {
                                snapshot_failed = true;
                                eprintln!("error: snapshot: {e}");
                            }
                        }
                    }
                    if report.interrupted {
                        ExitCode::from(exit::INTERRUPTED as u8)
                    } else if snapshot_failed
                        || (fail_on == "findings"
                            && (report.findings() > 0 || report.not_observed() > 0))
                    {
                        ExitCode::from(exit::FINDING as u8)
                    } else {
                        ExitCode::from(exit::OK as u8)
                    }
                }
                Err(e) => gateway_failed(e),
            }
        }
        Command::Compare {
            gateways,
            intent,
            litellm_config,
            portkey_config,
            requests,
            latency_requests,
            out,
            json,
            markdown,
            gateway,
        } => {
            for g in &gateways {
                if g != "litellm" && g != "portkey" {
                    return bad_input(InputError::flag(
                        format!("--gateways {g}"),
                        format!(
                            "compare runs litellm and portkey; {}",
                            crossfire::diag::suggest(g, ["litellm", "portkey"])
                        ),
                    ));
                }
            }
            if let Err(e) = report::check_paths(&[
                ("--json", json.as_deref()),
                ("--markdown", markdown.as_deref()),
            ]) {
                return bad_input(e);
            }
            if let Err(e) = cell_requests_bounded("--requests", requests)
                .and_then(|()| cell_requests_bounded("--latency-requests", latency_requests))
            {
                return bad_input(e);
            }
            let intent = match intent {
                Some(path) => match crossfire::compare::load_intent(&path) {
                    Ok(i) => i,
                    Err(e) => return bad_input(e),
                },
                None => crossfire::compare::RoutingIntent::default(),
            };
            let cancel = tokio_util::sync::CancellationToken::new();
            let opts = crossfire::compare::CompareOptions {
                gateways,
                intent,
                litellm_config,
                portkey_config,
                requests,
                latency_requests,
                out: out.unwrap_or_else(runner::default_out_dir),
                gateway: gateway.gateway_options(),
                allow_unmapped: gateway.allow_unmapped,
                cancel: cancel.clone(),
            };
            let result = until_stopped(&runtime, cancel, crossfire::compare::compare(&opts));
            match result {
                Ok(c) => {
                    print!("{}", crossfire::compare::render_text(&c));
                    if let Some(p) = json {
                        report::write(&p, report::json(&c));
                    }
                    if let Some(p) = markdown {
                        report::write(&p, Ok(crossfire::compare::render_markdown(&c).into_bytes()));
                    }
                    ExitCode::from(exit::OK as u8)
                }
                Err(e) => gateway_failed(e),
            }
        }
        Command::Tax {
            from,
            gateway,
            monthly_spend,
            selection_savings,
            failure_rate,
            token_overhead,
            class_mix,
            json,
        } => {
            // A drill report, which crossfire wrote: a larger limit than a config's.
            let text = match crossfire::diag::read_text_within(&from, 256 * 1024 * 1024) {
                Ok(t) => t,
                Err(e) => {
                    // Name the flag the file came from.
                    let message = e.to_string();
                    let at = format!("{}: ", from.display());
                    let what = message.strip_prefix(&at).unwrap_or(&message);
                    return bad_input(InputError::flag(
                        format!("--from {}", from.display()),
                        format!("cannot read it: {what}"),
                    ));
                }
            };
            let value: serde_json::Value = match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(e) => {
                    return bad_input(InputError::flag(
                        format!("--from {}", from.display()),
                        format!("not JSON: {e}"),
                    ))
                }
            };
            let measured = match crossfire::tax::measured(&value, gateway.as_deref()) {
                Ok(m) => m,
                Err(m) => {
                    return bad_input(InputError::flag(format!("--from {}", from.display()), m))
                }
            };
            let given = match class_mix.as_deref().map(crossfire::tax::parse_class_mix) {
                Some(Err(m)) => {
                    return bad_input(InputError::flag(
                        format!("--class-mix {}", class_mix.unwrap_or_default()),
                        m,
                    ))
                }
                Some(Ok(mix)) => Some(mix),
                None => None,
            };
            let mix = match crossfire::tax::use_mix(given.as_ref(), &measured) {
                Ok(m) => m,
                Err(m) => {
                    let flag = match &class_mix {
                        Some(c) => format!("--class-mix {c}"),
                        None => format!("--from {}", from.display()),
                    };
                    return bad_input(InputError::flag(flag, m));
                }
            };
            let Some(token_overhead_pct) = token_overhead.or(measured.token_overhead_pct) else {
                return bad_input(InputError::flag(
                    "--token-overhead",
                    "the file has no measured token overhead (a drill.json); give it, or use a compare.json",
                ));
            };
            for (flag, v) in [
                ("--monthly-spend", monthly_spend),
                ("--selection-savings", selection_savings),
                ("--failure-rate", failure_rate),
            ] {
                if !v.is_finite() || v < 0.0 {
                    return bad_input(InputError::flag(
                        format!("{flag} {v}"),
                        "must be zero or more",
                    ));
                }
            }
            let t = crossfire::tax::compute(crossfire::tax::TaxInputs::weighted(
                &measured,
                &mix,
                monthly_spend,
                token_overhead_pct,
                failure_rate,
                selection_savings,
            ));
            let r = crossfire::tax::TaxReport {
                tax: t,
                class_mix: mix,
                classes: measured.classes,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            } else {
                print!("{}", crossfire::tax::render(&r));
            }
            ExitCode::from(if t.ratio > 1.0 {
                exit::FINDING
            } else {
                exit::OK
            } as u8)
        }
        Command::Explore {
            scenario: file,
            cases,
            seed,
            time_budget,
            max_attempts,
            classes,
            max_faults,
            out,
            write,
            gateway,
        } => {
            let load_opts = match gateway.load_options() {
                Ok(o) => o,
                Err(e) => return bad_input(e),
            };
            let base = match load_all(std::slice::from_ref(&file), &load_opts) {
                Ok(mut l) if l.len() == 1 => l.remove(0),
                Ok(_) => {
                    return bad_input(InputError::file(&file, "explore takes one scenario file"))
                }
                Err(e) => return bad_input(e),
            };
            let budget = match crossfire::deployment_file::Dur::parse(&time_budget) {
                Ok(d) => d.0,
                Err(m) => {
                    return bad_input(InputError::flag(format!("--time-budget {time_budget}"), m))
                }
            };
            let parsed = match parse_classes(&classes, &crossfire::explore::DEFAULT_CLASSES) {
                Ok(p) => p,
                Err(e) => return bad_input(e),
            };
            if let Err(e) = report::check_paths(&[("--write", write.as_deref())]) {
                return bad_input(e);
            }
            let seed = seed.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
                    % 1_000_000
            });
            eprintln!(
                "explore {}: seed {seed} (rerun the same cases with --seed {seed})",
                base.name
            );
            let opts = crossfire::explore::ExploreOptions {
                cases,
                seed,
                time_budget: budget,
                max_attempts,
                classes: parsed,
                max_faults,
                out: out.unwrap_or_else(runner::default_out_dir),
                gateway: gateway.gateway_options(),
                write,
            };
            drop(runtime);
            match crossfire::explore::explore(&base, &opts, &mut |line| eprintln!("{line}")) {
                Ok(found) => match found.violation {
                    Some(v) => {
                        println!(
                            "VIOLATION after {} runs (seed {}): {}\nsmallest schedule written to {}\nrerun: crossfire run {}",
                            found.runs,
                            found.seed,
                            v.message,
                            v.file.display(),
                            v.file.display()
                        );
                        ExitCode::from(exit::FINDING as u8)
                    }
                    None if found.interrupted => {
                        println!(
                            "interrupted after {} runs (seed {}); no invariant broken so far",
                            found.runs, found.seed
                        );
                        ExitCode::from(exit::INTERRUPTED as u8)
                    }
                    None => {
                        println!(
                            "no invariant broken in {} runs (seed {}){}",
                            found.runs,
                            found.seed,
                            if found.out_of_time {
                                "; the time budget ended the search"
                            } else {
                                ""
                            }
                        );
                        ExitCode::from(exit::OK as u8)
                    }
                },
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(exit::INFRA as u8)
                }
            }
        }
        Command::Schema => {
            let schema = scenario::json_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            ExitCode::from(exit::OK as u8)
        }
        Command::Mock {
            file,
            deployments,
            faults,
            journal,
            json,
        } => {
            let mut plan = match &file {
                Some(f) => match mock::load_file(f) {
                    Ok(p) => p,
                    Err(e) => return bad_input(e),
                },
                None => mock::MockPlan {
                    deployments: vec![],
                    journal: None,
                },
            };
            if let Err(e) = mock::apply_flags(&mut plan, &deployments, &faults) {
                return bad_input(e);
            }
            if journal.is_some() {
                plan.journal = journal;
            }
            let listing = if json {
                mock::Listing::Json
            } else {
                mock::Listing::Text
            };
            let result = runtime.block_on(mock::serve(plan, listing, &mut std::io::stdout()));
            match result {
                Ok(()) => ExitCode::from(exit::OK as u8),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(exit::INFRA as u8)
                }
            }
        }
    }
}
