//! `crossfire run`: run scenarios and report them to the terminal and the files asked for.

use super::common::{bad_input, load_all, until_stopped};
use super::flags::{GatewayArgs, JsonFile, MarkdownFile, RunFolder, SnapshotArgs};
use crossfire::exit;
use crossfire::report::{
    self, json::JsonReporter, junit::JunitReporter, terminal::TerminalReporter, Reporter,
};
use crossfire::runner::{self, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

/// Run scenarios: one file, several, or every *.yaml under a folder.
#[derive(clap::Args)]
#[command(
    mut_arg("out", |a| a.help("The run folder (journals, gateway logs, rendered configs, reports)")),
    mut_arg("json", |a| a.help("Write the whole run, every path included, as JSON")),
    mut_arg("markdown", |a| a.help("Write a Markdown report (summary, findings, a flow diagram per model group)")),
)]
pub struct Args {
    /// Scenario files or folders.
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
    #[command(flatten)]
    out: RunFolder,
    #[command(flatten)]
    json: JsonFile,
    /// Write JUnit XML: one testcase per expectation.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    #[command(flatten)]
    markdown: MarkdownFile,
    /// Pair every request with a direct call to a healthy mock and report the
    /// gateway's latency overhead (p50/p90/p99).
    #[arg(long)]
    latency_audit: bool,
    #[command(flatten)]
    snapshots: SnapshotArgs,
    #[command(flatten)]
    gateway: GatewayArgs,
    /// Run the gateway as N replicas behind HAProxy (replaces each
    /// scenario's `gateway.replicas`; needs `haproxy`).
    #[arg(long, value_name = "N")]
    replicas: Option<u32>,
}

/// Loads every scenario, then runs them; the exit code sums up the run.
pub fn exec(args: Args, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let Args {
        scenarios,
        out,
        json: JsonFile { json },
        junit,
        markdown: MarkdownFile { markdown },
        latency_audit,
        snapshots,
        gateway,
        replicas,
    } = args;
    let mut load_opts = match gateway.load_options() {
        Ok(o) => o,
        Err(e) => return bad_input(e),
    };
    load_opts.replicas = replicas;
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
    let out = out.dir();
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("error: cannot create the run folder {}: {e}", out.display());
        return ExitCode::from(exit::INFRA as u8);
    }
    let mut reporters = vec![Reporter::Terminal(TerminalReporter::new())];
    reporters.extend(json.map(|p| Reporter::Json(JsonReporter::new(p))));
    reporters.extend(junit.map(|p| Reporter::Junit(JunitReporter::new(p))));
    reporters.extend(
        markdown.map(|p| Reporter::Markdown(crossfire::report::markdown::MarkdownReporter::new(p))),
    );
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
    let summary = until_stopped(runtime, cancel, runner::run(&loaded, &opts, &emit));
    ExitCode::from(summary.exit_code() as u8)
}
