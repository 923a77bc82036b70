//! `crossfire compare`: the same drill and audits on several gateways, one table.

use super::common::{bad_input, cell_requests_bounded, gateway_failed, until_stopped};
use super::flags::{JsonFile, MarkdownFile, ProgramArgs, RunFolder};
use crossfire::diag::InputError;
use crossfire::{exit, report};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run the same drill and audits on several gateways and print one table:
/// failover per failure class, token overhead, cost tracking, latency.
#[derive(clap::Args)]
#[command(
    mut_arg("json", |a| a.help("Write the comparison as JSON")),
    mut_arg("markdown", |a| a.help("Write the table as Markdown")),
)]
pub struct Args {
    /// Gateways, comma-separated (default: every gateway crossfire runs).
    #[arg(long, value_delimiter = ',')]
    gateways: Vec<String>,
    /// A routing intent (YAML: group, primary, fallbacks as provider/model);
    /// default: claude-opus -> anthropic/claude-opus-4-1, then openai/gpt-4o.
    #[arg(long, value_name = "FILE")]
    intent: Option<PathBuf>,
    /// The team's own config of a gateway instead of the rendered intent:
    /// `GATEWAY=FILE`, as in `--config litellm=litellm.yaml` (repeatable).
    #[arg(long, value_name = "GATEWAY=FILE")]
    config: Vec<String>,
    /// `--config litellm=FILE`, as written before `--config` took any gateway.
    #[arg(long, value_name = "FILE", hide = true)]
    litellm_config: Option<PathBuf>,
    /// `--config portkey=FILE`, as written before `--config` took any gateway.
    #[arg(long, value_name = "FILE", hide = true)]
    portkey_config: Option<PathBuf>,
    /// Requests per drill cell.
    #[arg(long, default_value_t = 2)]
    requests: u32,
    /// Healthy requests per gateway for the latency audit (each paired with a direct one).
    #[arg(long, default_value_t = 200)]
    latency_requests: u32,
    #[command(flatten)]
    out: RunFolder,
    #[command(flatten)]
    json: JsonFile,
    #[command(flatten)]
    markdown: MarkdownFile,
    #[command(flatten)]
    program: ProgramArgs,
}

/// The gateways `--gateways` names (every one when none), each known.
fn known_gateways(asked: Vec<String>) -> Result<Vec<String>, InputError> {
    let names = crossfire::gateway::adapter_names();
    if asked.is_empty() {
        return Ok(names.iter().map(|n| n.to_string()).collect());
    }
    for g in &asked {
        if !names.contains(&g.as_str()) {
            return Err(InputError::flag(
                format!("--gateways {g}"),
                format!(
                    "compare runs {}; {}",
                    crossfire::diag::and_list(&names),
                    crossfire::diag::suggest(g, names.iter().copied())
                ),
            ));
        }
    }
    Ok(asked)
}

/// `--config GATEWAY=FILE` (and the older `--litellm-config`,
/// `--portkey-config`) as gateway -> file.
fn own_configs(
    given: &[String],
    older: [(&str, Option<PathBuf>); 2],
) -> Result<BTreeMap<String, PathBuf>, InputError> {
    let names = crossfire::gateway::adapter_names();
    let mut configs = BTreeMap::new();
    for c in given {
        let Some((g, file)) = c
            .split_once('=')
            .filter(|(g, f)| !g.is_empty() && !f.is_empty())
        else {
            return Err(InputError::flag(
                format!("--config {c}"),
                "is `GATEWAY=FILE`, as in `--config litellm=litellm.yaml`",
            ));
        };
        if !names.contains(&g) {
            return Err(InputError::flag(
                format!("--config {c}"),
                format!(
                    "`{g}` is not a gateway crossfire runs; {}",
                    crossfire::diag::suggest(g, names.iter().copied())
                ),
            ));
        }
        configs.insert(g.to_string(), PathBuf::from(file));
    }
    for (g, file) in older {
        if let Some(file) = file {
            configs.insert(g.to_string(), file);
        }
    }
    Ok(configs)
}

/// Compares the gateways and prints the table; exits 0 once it is complete.
pub fn exec(args: Args, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let Args {
        gateways,
        intent,
        config,
        litellm_config,
        portkey_config,
        requests,
        latency_requests,
        out,
        json: JsonFile { json },
        markdown: MarkdownFile { markdown },
        program,
    } = args;
    let gateways = match known_gateways(gateways) {
        Ok(g) => g,
        Err(e) => return bad_input(e),
    };
    let configs = match own_configs(
        &config,
        [("litellm", litellm_config), ("portkey", portkey_config)],
    ) {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
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
        configs,
        requests,
        latency_requests,
        out: out.dir(),
        gateway: program.gateway_options(),
        allow_unmapped: program.allow_unmapped,
        cancel: cancel.clone(),
    };
    let result = until_stopped(runtime, cancel, crossfire::compare::compare(&opts));
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
