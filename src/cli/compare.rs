//! `crossfire compare`: the same drill and audits on several gateways, one table.

use super::common::{bad_input, cell_requests_bounded, gateway_failed, until_stopped};
use super::flags::{GatewayArgs, JsonFile, MarkdownFile, RunFolder};
use crossfire::diag::InputError;
use crossfire::{exit, report};
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
    #[command(flatten)]
    out: RunFolder,
    #[command(flatten)]
    json: JsonFile,
    #[command(flatten)]
    markdown: MarkdownFile,
    #[command(flatten)]
    gateway: GatewayArgs,
}

/// The gateway kinds `--gateways` may name. The one place this command
/// matches on gateway kinds by name.
fn check_gateway_kinds(gateways: &[String]) -> Result<(), InputError> {
    for g in gateways {
        if g != "litellm" && g != "portkey" {
            return Err(InputError::flag(
                format!("--gateways {g}"),
                format!(
                    "compare runs litellm and portkey; {}",
                    crossfire::diag::suggest(g, ["litellm", "portkey"])
                ),
            ));
        }
    }
    Ok(())
}

/// Compares the gateways and prints the table; exits 0 once it is complete.
pub fn exec(args: Args, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let Args {
        gateways,
        intent,
        litellm_config,
        portkey_config,
        requests,
        latency_requests,
        out,
        json: JsonFile { json },
        markdown: MarkdownFile { markdown },
        gateway,
    } = args;
    if let Err(e) = check_gateway_kinds(&gateways) {
        return bad_input(e);
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
        out: out.dir(),
        gateway: gateway.gateway_options(),
        allow_unmapped: gateway.allow_unmapped,
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
