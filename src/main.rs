//! The `crossfire` command: parse arguments, call the library, map the result
//! to a documented exit code.

use clap::{Parser, Subcommand};
use crossfire::diag::InputError;
use crossfire::report::{
    json::JsonReporter, junit::JunitReporter, terminal::TerminalReporter, Reporter,
};
use crossfire::runner::{self, RunOptions};
use crossfire::{exit, gateway, mock, mockfile, scenario};
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

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn bad_input(e: InputError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(exit::BAD_INPUT as u8)
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
            let out = out.unwrap_or_else(runner::default_out_dir);
            if let Err(e) = std::fs::create_dir_all(&out) {
                eprintln!("error: cannot create the run folder {}: {e}", out.display());
                return ExitCode::from(exit::INFRA as u8);
            }
            let mut reporters = vec![Reporter::Terminal(TerminalReporter::new())];
            reporters.extend(json.map(|p| Reporter::Json(JsonReporter::new(p))));
            reporters.extend(junit.map(|p| Reporter::Junit(JunitReporter::new(p))));
            let reporters = Mutex::new(reporters);
            let emit = |e: runner::Event| {
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
            };
            let summary = runtime.block_on(async {
                let watcher = tokio::spawn(async move {
                    mock::wait_for_stop_signal().await;
                    eprintln!("interrupted: stopping the gateway and the mocks");
                    cancel.cancel();
                });
                let summary = runner::run(&loaded, &opts, &emit).await;
                watcher.abort();
                summary
            });
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
            let report = match gateway.as_str() {
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
            print!("{}", crossfire::lint::render_text(&report));
            if let Some(path) = json {
                if let Err(e) = std::fs::write(
                    &path,
                    serde_json::to_vec_pretty(&report).unwrap_or_default(),
                ) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                }
            }
            if report.warnings.is_empty() {
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
        } => {
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
            let mut parsed = Vec::new();
            for c in &classes {
                match mock_providers::FailureClass::from_name(c) {
                    Some(class) => parsed.push(class),
                    None => {
                        return bad_input(InputError::flag(
                            format!("--classes {c}"),
                            format!(
                                "unknown failure class; {}",
                                crossfire::diag::suggest(
                                    c,
                                    mock_providers::FailureClass::ALL.iter().map(|x| x.name())
                                )
                            ),
                        ))
                    }
                }
            }
            if parsed.is_empty() {
                parsed = crossfire::gateway::litellm::lint::DRILL_CLASSES.to_vec();
            }
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
            if requests == 0 {
                return bad_input(InputError::flag(
                    "--requests 0",
                    "a cell needs at least 1 request",
                ));
            }
            let cancel = tokio_util::sync::CancellationToken::new();
            let opts = crossfire::drill::DrillOptions {
                out: out.unwrap_or_else(runner::default_out_dir),
                requests,
                classes: parsed,
                groups,
                gateway: gateway.gateway_options(),
                cancel: cancel.clone(),
            };
            let result = runtime.block_on(async {
                let watcher = tokio::spawn(async move {
                    mock::wait_for_stop_signal().await;
                    eprintln!("interrupted: stopping the gateway and the mocks");
                    cancel.cancel();
                });
                let r = match &cfg {
                    Drilled::Litellm(c) => crossfire::drill::drill_litellm(c, &opts).await,
                    Drilled::Portkey(c) => crossfire::drill::drill_portkey(c, &opts).await,
                };
                watcher.abort();
                r
            });
            match result {
                Ok(report) => {
                    print!("{}", crossfire::drill::render_text(&report));
                    if let Some(path) = json {
                        let _ = std::fs::write(
                            &path,
                            serde_json::to_vec_pretty(&report).unwrap_or_default(),
                        );
                    }
                    if let Some(path) = markdown {
                        let _ = std::fs::write(&path, crossfire::drill::render_markdown(&report));
                    }
                    if report.interrupted {
                        ExitCode::from(exit::INTERRUPTED as u8)
                    } else if report.findings() > 0 {
                        ExitCode::from(exit::FINDING as u8)
                    } else {
                        ExitCode::from(exit::OK as u8)
                    }
                }
                Err(crossfire::gateway::GatewayError::Input(e)) => bad_input(e),
                Err(crossfire::gateway::GatewayError::Interrupted) => {
                    ExitCode::from(exit::INTERRUPTED as u8)
                }
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
                Some(f) => match mockfile::load_file(f) {
                    Ok(p) => p,
                    Err(e) => return bad_input(e),
                },
                None => mockfile::MockPlan {
                    deployments: vec![],
                    journal: None,
                },
            };
            if let Err(e) = mockfile::apply_flags(&mut plan, &deployments, &faults) {
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
