//! `crossfire drill`: every failure class against every model group of a
//! gateway config, printed as a matrix of observed path, prediction, verdict.

use super::common::{
    bad_input, cell_requests_bounded, gateway_failed, parse_classes, until_stopped,
};
use super::flags::{GatewayArgs, JsonFile, MarkdownFile, RunFolder, SnapshotArgs};
use crossfire::diag::InputError;
use crossfire::drill::DrillOptions;
use crossfire::{exit, report};
use mock_providers::FailureClass;
use std::process::ExitCode;

/// Run every failure class against every model group of a gateway config,
/// and print the matrix: observed path, lint's prediction, verdict.
#[derive(clap::Args)]
#[command(
    mut_arg("json", |a| a.help("Write the drill as JSON")),
    mut_arg("markdown", |a| a.help("Write the drill as Markdown (matrix, cells, warnings)")),
)]
pub struct Args {
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
    /// Each cell an outage of its primary that starts 1 s into the traffic,
    /// lasts 3 s and ends, ridden through by a request every 250 ms until 6 s
    /// after it (or the gateway's cooldown and 3 s, when longer):
    /// served during it, probes, back on the primary, Retry-After honoured
    /// (default classes: server_error, rate_limit).
    #[arg(long)]
    outage: bool,
    /// Run the gateway as N replicas behind HAProxy (needs `haproxy`): the
    /// drill says what each replica sent and whether a request reached a
    /// provider from two.
    #[arg(long, value_name = "N")]
    replicas: Option<u32>,
    #[command(flatten)]
    out: RunFolder,
    #[command(flatten)]
    json: JsonFile,
    #[command(flatten)]
    markdown: MarkdownFile,
    #[command(flatten)]
    snapshots: SnapshotArgs,
    /// When to exit 1: on any finding (`findings`), or only when the routing
    /// behaviour differs from the accepted snapshot (`changes`, with --snapshots).
    #[arg(long, value_name = "WHEN", default_value = "findings", value_parser = ["findings", "changes"])]
    fail_on: String,
    /// Two versions of the gateway, `OLD,NEW`: install each (once, into
    /// crossfire's cache), run the same drill on each, and print the cells
    /// that route differently; exit 1 when any does (litellm, portkey,
    /// tensorzero).
    #[arg(long, value_name = "OLD,NEW", value_delimiter = ',', conflicts_with_all = ["snapshots", "fail_on", "litellm_version", "gateway_version", "litellm"])]
    versions: Vec<String>,
}

/// The classes an outage drill runs unless `--classes` says: a provider
/// down, and one rate-limiting with `retry-after`.
const OUTAGE_CLASSES: [FailureClass; 2] = [FailureClass::ServerError, FailureClass::RateLimit];

/// Drills the config and prints the matrix; a finding (or, with
/// `--fail-on changes`, a snapshot difference) exits 1.
pub fn exec(args: Args, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let Args {
        gateway,
        requests,
        classes,
        groups,
        outage,
        replicas,
        out,
        json: JsonFile { json },
        markdown: MarkdownFile { markdown },
        snapshots,
        fail_on,
        versions,
    } = args;
    if fail_on == "changes" && snapshots.snapshots.is_none() {
        return bad_input(InputError::flag(
            "--fail-on changes",
            "compares with accepted snapshots: give `--snapshots DIR`",
        ));
    }
    let (Some(kind), Some(config)) = (&gateway.gateway, &gateway.config) else {
        return bad_input(InputError::flag(
            "drill",
            format!(
                "needs `--gateway {} --config FILE`",
                crossfire::gateway::adapter_names().join("|")
            ),
        ));
    };
    let cfg = match crossfire::gateway::load_config(kind, config, "drill runs") {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
    let default_classes: &[FailureClass] = if outage {
        &OUTAGE_CLASSES
    } else {
        &crossfire::lint::DRILL_CLASSES
    };
    let parsed = match parse_classes(&classes, default_classes) {
        Ok(p) => p,
        Err(e) => return bad_input(e),
    };
    let known = cfg.groups();
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
    if let Some(n) =
        replicas.filter(|n| !(1..=crossfire::scenario::model::MAX_REPLICAS).contains(n))
    {
        return bad_input(InputError::flag(
            format!("--replicas {n}"),
            format!(
                "is between 1 and {}: each replica is a whole gateway process",
                crossfire::scenario::model::MAX_REPLICAS
            ),
        ));
    }
    if !versions.is_empty() {
        if let Err(e) = check_versions(kind, &versions) {
            return bad_input(e);
        }
    }
    let cancel = tokio_util::sync::CancellationToken::new();
    let opts = DrillOptions {
        out: out.dir(),
        requests,
        classes: parsed,
        groups,
        gateway: gateway.gateway_options(),
        cancel: cancel.clone(),
        allow_unmapped: gateway.allow_unmapped(),
        outage,
        replicas: replicas.map(|count| crossfire::scenario::Replicas {
            count,
            balancer: Default::default(),
        }),
    };
    // Groups where the gateway picks a deployment at random: their
    // snapshots keep sets, not sequences.
    let random = cfg
        .groups()
        .into_iter()
        .filter(|g| cfg.picks_at_random(g))
        .collect();
    if !versions.is_empty() {
        return upgrade_diff(
            cfg.as_ref(),
            kind,
            &versions,
            opts,
            &random,
            (json, markdown),
            runtime,
        );
    }
    let report = match until_stopped(
        runtime,
        cancel,
        crossfire::drill::drill(cfg.as_ref(), &opts),
    ) {
        Ok(r) => r,
        Err(e) => return gateway_failed(e),
    };
    print!(
        "{}",
        crossfire::drill::render_text_styled(&report, crossfire::report::style::Style::stdout())
    );
    if let Some(path) = json {
        report::write(&path, report::json(&report));
    }
    if let Some(path) = markdown {
        let text = crossfire::drill::render_markdown(&report);
        report::write(&path, Ok(text.into_bytes()));
    }
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
        || (fail_on == "findings" && (report.findings() > 0 || report.not_observed() > 0))
    {
        ExitCode::from(exit::FINDING as u8)
    } else {
        ExitCode::from(exit::OK as u8)
    }
}

/// `--versions OLD,NEW`: two different versions, of a gateway whose adapter
/// installs a chosen one.
fn check_versions(kind: &str, versions: &[String]) -> Result<(), InputError> {
    let flag = format!("--versions {}", versions.join(","));
    if versions.len() != 2 || versions[0] == versions[1] || versions.iter().any(|v| v.is_empty()) {
        return Err(InputError::flag(
            flag,
            "is two different versions, old then new, as in `--versions 1.106.12,1.108.7`",
        ));
    }
    if let Some(v) = versions.iter().find(|v| {
        !v.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c))
    }) {
        return Err(InputError::flag(
            flag,
            format!("`{v}` is not a version: digits, letters, dots and dashes, as in `1.108.7`"),
        ));
    }
    if !crossfire::upgrade::VERSIONED.contains(&kind) {
        return Err(InputError::flag(
            flag,
            format!(
                "crossfire installs chosen versions of {} only, not of a `{kind}` gateway",
                crossfire::upgrade::VERSIONED.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Installs both versions, drills each with the same options (each in its
/// own folder), and prints the cells that route differently.
fn upgrade_diff(
    cfg: &dyn crossfire::gateway::adapter::GatewayConfig,
    kind: &str,
    versions: &[String],
    base: DrillOptions,
    random: &std::collections::BTreeSet<String>,
    (json, markdown): (Option<std::path::PathBuf>, Option<std::path::PathBuf>),
    runtime: &tokio::runtime::Runtime,
) -> ExitCode {
    for v in versions {
        eprintln!("crossfire: {kind} {v}: installing into crossfire's cache unless it is there");
        if let Err(why) = crossfire::upgrade::install(kind, v, &mut |l| eprintln!("crossfire: {l}"))
        {
            eprintln!("error: --versions {}: {why}", versions.join(","));
            return ExitCode::from(exit::INFRA as u8);
        }
    }
    let mut reports = Vec::new();
    for v in versions {
        if base.cancel.is_cancelled() {
            break;
        }
        let mut opts = base.clone();
        opts.out = base.out.join(format!("{kind}-{v}"));
        opts.gateway.litellm.version = Some(v.clone());
        opts.gateway.version = Some(v.clone());
        eprintln!("crossfire: drilling {kind} {v}");
        match until_stopped(
            runtime,
            base.cancel.clone(),
            crossfire::drill::drill(cfg, &opts),
        ) {
            Ok(r) => reports.push((v.clone(), r)),
            Err(e) => return gateway_failed(e),
        }
    }
    let runs: Vec<(String, &crossfire::drill::DrillReport)> =
        reports.iter().map(|(v, r)| (v.clone(), r)).collect();
    let Some(diff) = crossfire::upgrade::diff(&runs, random) else {
        return ExitCode::from(exit::INTERRUPTED as u8);
    };
    print!("{}", crossfire::upgrade::render_text(&diff));
    report::write(&base.out.join("upgrade-diff.json"), report::json(&diff));
    if let Some(path) = json {
        report::write(&path, report::json(&diff));
    }
    if let Some(path) = markdown {
        report::write(
            &path,
            Ok(crossfire::upgrade::render_markdown(&diff).into_bytes()),
        );
    }
    if diff.interrupted {
        ExitCode::from(exit::INTERRUPTED as u8)
    } else if diff.changed() {
        ExitCode::from(exit::FINDING as u8)
    } else {
        ExitCode::from(exit::OK as u8)
    }
}
