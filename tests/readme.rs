//! Every crossfire command README.md shows in a code block, run as a new user
//! runs it: verbatim, from a fresh folder holding what a clone has
//! (`examples/`, `scenarios/`, `snapshots/`, copied) and the team's own files
//! the README names (`litellm.yaml`, `portkey.json`, `scenario.yaml`), with no
//! `--out`, so the run folder is the relative `crossfire-runs/<time>`. A
//! relative run folder once broke every gateway crossfire starts (a gateway
//! runs in a working folder of its own) and then `compare`, which joined the
//! run folder twice.
//!
//! The README is parsed, so a command added to it fails
//! `every_readme_command_is_run_here` until a test below runs it. `cargo run
//! --release -- ARGS` is run as the built `crossfire ARGS`. Every command runs
//! as written, none shortened.
//! Pinned on LiteLLM 1.108.7 and Portkey 1.15.2.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

const README: &str = include_str!("../README.md");
const THIS_FILE: &str = include_str!("readme.rs");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The crossfire commands of the README's `sh` blocks, and the `run:` steps
/// of its workflow (`yaml`) blocks, continuation lines joined and comments
/// dropped.
fn readme_commands() -> Vec<String> {
    let mut out = Vec::new();
    let mut block: Option<&str> = None;
    let mut pending = String::new();
    for line in README.lines() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            block = match block {
                None => Some(info.trim()),
                Some(_) => None,
            };
            continue;
        }
        let Some(kind) = block else { continue };
        let text = line.trim();
        let text = match kind {
            "sh" => text,
            "yaml" => match text.strip_prefix("run: ") {
                Some(cmd) => cmd,
                None => continue,
            },
            _ => continue,
        };
        let text = strip_comment(text);
        pending.push_str(text.trim_end_matches('\\').trim());
        if text.ends_with('\\') {
            pending.push(' ');
            continue;
        }
        let cmd = std::mem::take(&mut pending);
        if cmd.starts_with("crossfire ") || cmd.starts_with("cargo run --release -- ") {
            out.push(cmd);
        }
    }
    out
}

/// A line without its shell comment (`#` after a space, outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return line[..i].trim_end(),
            _ => {}
        }
        prev = c;
    }
    line.trim_end()
}

/// Shell words: spaces split, quotes group and are removed.
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut any = false;
    for c in cmd.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            (_, c) => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A new user's folder: what a clone has, and the team's own files the
/// README's commands name.
fn fresh() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in ["examples", "scenarios", "snapshots"] {
        copy_tree(&root().join(d), &dir.path().join(d));
    }
    std::fs::copy(
        root().join("examples/litellm/fallbacks.yaml"),
        dir.path().join("litellm.yaml"),
    )
    .unwrap();
    std::fs::copy(
        root().join("examples/portkey/fallback.json"),
        dir.path().join("portkey.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("scenario.yaml"),
        "name: claude-429-crosses\nfaults:\n  - on: anthropic\n    fault: rate_limit\ntraffic:\n  - model: claude-opus\n    requests: 2\n",
    )
    .unwrap();
    dir
}

/// The command's program arguments (after `crossfire`), with `subst`
/// applied to each word; it must be one the README shows.
fn args_of(cmd: &str, subst: &[(&str, &str)]) -> Vec<String> {
    assert!(
        readme_commands().iter().any(|c| c == cmd),
        "not a README command: {cmd}"
    );
    let w = words(cmd);
    let skip = if w[0] == "cargo" { 4 } else { 1 };
    w[skip..]
        .iter()
        .map(|a| {
            subst
                .iter()
                .fold(a.clone(), |a, (from, to)| a.replace(from, to))
        })
        .collect()
}

fn command(cmd: &str, cwd: &Path, subst: &[(&str, &str)]) -> std::process::Command {
    let mut c = support::crossfire();
    c.args(args_of(cmd, subst)).current_dir(cwd);
    c
}

/// Runs a README command in `cwd`: exit code, stdout, stderr.
fn readme(cmd: &str, cwd: &Path) -> (i32, String, String) {
    readme_with(cmd, cwd, &[])
}

fn readme_with(cmd: &str, cwd: &Path, subst: &[(&str, &str)]) -> (i32, String, String) {
    let out: Output = command(cmd, cwd, subst).output().expect("crossfire runs");
    let code = out.status.code();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(code.is_some(), "{cmd}: died by a signal\n{stderr}");
    (code.unwrap_or(-1), stdout, stderr)
}

/// The one run folder a command made under `cwd/crossfire-runs`.
fn run_folders(cwd: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<_> = std::fs::read_dir(cwd.join("crossfire-runs"))
        .expect("the run folder is made under the current folder")
        .map(|e| e.expect("entry").path())
        .collect();
    runs.sort();
    runs
}

#[test]
fn every_readme_command_is_run_here() {
    let commands = readme_commands();
    assert!(commands.len() >= 15, "{commands:#?}");
    // `readme("<command>"` or `readme_with("<command>"`, however rustfmt
    // wraps the call.
    let calls: String = THIS_FILE.split_whitespace().collect::<Vec<_>>().join(" ");
    let calls = calls.replace("( \"", "(\"");
    for cmd in &commands {
        let quoted = format!("\"{cmd}\"");
        assert!(
            calls.contains(&format!("readme({quoted}"))
                || calls.contains(&format!("readme_with({quoted}"))
                || calls.contains(&format!("command({quoted}")),
            "README command with no test running it: {cmd}"
        );
    }
}

#[test]
fn readme_parsing_finds_continued_and_commented_commands() {
    let commands = readme_commands();
    assert!(
        commands.contains(&"crossfire run scenarios/litellm-rate-limit-crosses.yaml".to_string())
    );
    assert!(commands
        .iter()
        .any(|c| c.starts_with("crossfire tax --from") && c.contains("--class-mix")));
    assert!(!commands.iter().any(|c| c.contains('#') || c.contains('\\')));
    assert_eq!(
        words("a --fault 'x=y(z=1)@first:3' b"),
        ["a", "--fault", "x=y(z=1)@first:3", "b"]
    );
}

#[test]
fn the_readme_main_command_runs_from_any_folder_and_matches_its_snapshot() {
    let cwd = fresh();
    let (code, stdout, _) = readme(
        "cargo run --release -- drill --gateway litellm --config examples/litellm/fallbacks.yaml",
        cwd.path(),
    );
    assert!(stdout.contains("(litellm 1.108.7, started in"), "{stdout}");
    assert!(
        stdout.contains("20 cells: 3 Failover Illusion, 0 unlike the prediction"),
        "{stdout}"
    );
    assert_eq!(code, 1, "findings exit 1: {stdout}");
    let run = &run_folders(cwd.path())[0];
    assert!(run.join("drill.json").is_file());
    assert!(run.join("litellm-config.yaml").is_file());
    // The monthly workflow's drill against the accepted snapshot runs in
    // tests/workflows.rs, as the action runs it in a team's repository.
}

#[test]
fn the_readme_litellm_scenario_runs() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire run scenarios/litellm-rate-limit-crosses.yaml",
        cwd.path(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("1 scenario: 1 passed"), "{stdout}");
    // Its CI step (the pull-request workflow, through the action) runs in
    // tests/workflows.rs.
}

#[test]
fn the_readme_replica_scenario_runs_two_litellm_replicas_behind_haproxy() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire run scenarios/litellm-replica-killed.yaml",
        cwd.path(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("replicas: 2 behind HAProxy"), "{stdout}");
    assert!(stdout.contains("1 scenario: 1 passed"), "{stdout}");
}

#[test]
fn the_readme_load_command_steps_through_its_rates() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire load --gateway portkey --config examples/portkey/fallback.json --rates 10,50,100 --step 5s",
        cwd.path(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for row in ["| 10 | 50 |", "| 50 | 250 |", "| 100 | 500 |"] {
        assert!(stdout.contains(row), "{stdout}");
    }
    // The knee's sentence (which rate it names depends on the machine).
    assert!(
        stdout.contains("p99 overhead at most 50 ms and errors at most 1.0%"),
        "{stdout}"
    );
}

/// Pinned on Portkey 1.15.2: no cooldown, so every request during the
/// outage tries the dead primary first, then the fallback serves it.
#[test]
fn the_readme_outage_under_load_shows_portkeys_failed_attempts_per_second() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire load --gateway portkey --config examples/portkey/fallback.json --rates 10 --step 2s --outage-rate 20 --outage-for 3s",
        cwd.path(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("| during | 60 | 100.0% served |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("outage of `unavailable` answers on `anthropic`"),
        "{stdout}"
    );
    assert!(stdout.contains("(2.00 attempts per request)"), "{stdout}");
}

#[test]
fn the_readme_load_compare_puts_two_gateways_in_one_table() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire load --compare portkey=examples/portkey/fallback.json,scenarios/refgw-cross-provider-failover.yaml --rates 10,50 --step 2s",
        cwd.path(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for row in [
        "| portkey | 10 | 0 |",
        "| portkey | 50 | 0 |",
        "| command | 10 | 0 |",
        "| command | 50 | 0 |",
    ] {
        assert!(stdout.contains(row), "{row}: {stdout}");
    }
}

/// Two real LiteLLM versions, measured here: 1.90.7 makes one attempt
/// before falling back where 1.108.7 retries twice, and falls back on a
/// stream error event where 1.108.7 passes the broken stream on; an auth
/// error is the same on both.
#[test]
fn the_readme_upgrade_diff_names_the_cells_two_litellm_versions_route_differently() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire drill --gateway litellm --config examples/litellm/openai-primary.yaml --versions 1.90.7,1.108.7 --classes rate_limit,stream_error,auth --groups claude-opus",
        cwd.path(),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    for line in [
        "  1.90.7 (reported 1.90.7): 3 cells",
        "  1.108.7 (reported 1.108.7): 3 cells",
        "CHANGED on rate_limit, claude-opus takes other paths to the same end: 4 provider attempts per request, where it made 2\n  1.90.7: 2x anthropic/claude-opus 429 -> openai/gpt-4o 200 => client 200\n  1.108.7: 2x anthropic/claude-opus 429 -> anthropic/claude-opus 429 -> anthropic/claude-opus 429 -> openai/gpt-4o 200 => client 200\n",
        "CHANGED on stream_error, claude-opus used to end on gpt-4o (openai) and now fails (client 200 (failed))\n",
        "2 cell(s) route differently, 0 vary within a run, 1 unchanged",
    ] {
        assert!(stdout.contains(line), "{line}\n{stdout}");
    }
    let runs = run_folders(cwd.path());
    let diff: serde_json::Value = serde_json::from_slice(
        &std::fs::read(runs.last().unwrap().join("upgrade-diff.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(diff["changed"].as_array().unwrap().len(), 2, "{diff}");
    assert_eq!(diff["unchanged"], 1);
}

/// Locust 2.47.0, a master and two local workers, on Portkey 1.15.2.
#[test]
fn the_readme_locust_engine_accounts_for_every_request() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire load --gateway portkey --config examples/portkey/fallback.json --engine locust --rates 10,50 --step 3s",
        cwd.path(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for row in ["| 10 | 30 | 0 |", "| 50 | 150 | 0 |"] {
        assert!(stdout.contains(row), "{row}: {stdout}");
    }
    assert!(
        stdout.contains("Sent by Locust 2.47.0 (2 of 2 workers sent records back): 400 of 400 planned requests recorded; 200 of 200 gateway requests reached a provider mock under their marker."),
        "{stdout}"
    );
}

#[test]
fn the_readme_lint_commands_run() {
    let cwd = fresh();
    let (code, stdout, _) = readme(
        "crossfire lint examples/litellm/fallback-models-typo.yaml",
        cwd.path(),
    );
    assert_eq!(code, 1, "warnings exit 1: {stdout}");
    assert!(stdout.contains("fallback_models"), "{stdout}");
    let (code, stdout, _) = readme(
        "crossfire lint --gateway portkey examples/portkey/fallback-on-status-codes.json",
        cwd.path(),
    );
    assert_eq!(code, 1, "warnings exit 1: {stdout}");
    assert!(stdout.contains("falls back only on [429"), "{stdout}");
}

#[test]
fn the_readme_drill_of_the_teams_litellm_config_runs_and_snapshots() {
    let cwd = fresh();
    let (code, stdout, _) = readme(
        "crossfire drill --gateway litellm --config litellm.yaml --markdown drill.md",
        cwd.path(),
    );
    assert_eq!(code, 1, "findings exit 1: {stdout}");
    let md = std::fs::read_to_string(cwd.path().join("drill.md")).unwrap();
    assert!(md.starts_with("# crossfire drill: `litellm.yaml`"), "{md}");
    let (code, stdout, stderr) = readme(
        "crossfire drill --gateway litellm --config litellm.yaml --snapshots snapshots/ --fail-on changes",
        cwd.path(),
    );
    assert_eq!(code, 0, "a first snapshot is written: {stdout}\n{stderr}");
    assert!(stdout.contains("snapshot: "), "{stdout}");
}

/// The three findings the README explains intent with, as it shows them.
#[test]
fn the_readme_intent_examples_run_and_say_why() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire drill --gateway litellm --config examples/litellm/fallback-models-typo.yaml --classes rate_limit",
        cwd.path(),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("claude-opus x3 -> client 429  ILLUSION"),
        "{stdout}"
    );
    assert!(
        stdout.contains("why: `litellm_settings.fallback_models` at examples/litellm/fallback-models-typo.yaml:16 is not read by LiteLLM: nothing falls back to gpt-4o"),
        "{stdout}"
    );
    let (code, stdout, stderr) = readme(
        "crossfire drill --gateway portkey --config examples/portkey/fallback-on-status-codes.json --classes overloaded",
        cwd.path(),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("anthropic -> client 529"), "{stdout}");
    assert!(
        stdout.contains("why: `strategy.on_status_codes` at examples/portkey/fallback-on-status-codes.json:2 omits 529: anthropic overloaded answers stay on anthropic"),
        "{stdout}"
    );
    let (code, stdout, stderr) = readme(
        "crossfire drill --gateway litellm --config examples/litellm/openai-primary.yaml --classes stream_cut --groups gpt-4o",
        cwd.path(),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("nondeterministic failover"), "{stdout}");
    assert!(
        stdout.contains(
            "1 cells: 0 Failover Illusion, 0 unlike the prediction, 1 nondeterministic failover"
        ),
        "{stdout}"
    );
}

#[test]
fn the_readme_portkey_commands_run() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire run scenario.yaml --gateway portkey --config portkey.json",
        cwd.path(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("(portkey 1.15.2 gateway, 2 requests"),
        "{stdout}"
    );
    let (code, stdout, _) = readme(
        "crossfire drill --gateway portkey --config examples/portkey/fallback.json",
        cwd.path(),
    );
    assert!(stdout.contains("(portkey 1.15.2, started in"), "{stdout}");
    assert!(
        stdout.contains("10 cells: 3 Failover Illusion, 0 unlike the prediction"),
        "{stdout}"
    );
    assert_eq!(code, 1, "findings exit 1: {stdout}");
    let run = run_folders(cwd.path()).pop().unwrap();
    assert!(run.join("crossfire-seal.cjs").is_file());
    // The outage drill (Portkey 1.15.2): every request of the outage served
    // from the fallback, Retry-After not waited for.
    let (code, stdout, stderr) = readme(
        "crossfire drill --outage --gateway portkey --config examples/portkey/fallback.json",
        cwd.path(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // How many sequential requests fit in the 3 s outage depends on the
    // machine's load (12 on a quiet one); every one of them is served, and
    // every 429 is followed too soon.
    let mut outages = 0;
    for line in stdout.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("outage 1.000s..4.000s: ") {
            let n: u32 = rest.split(' ').next().unwrap().parse().unwrap();
            assert!(n >= 5, "{stdout}");
            assert!(
                rest.starts_with(&format!("{n} of {n} requests sent during it served (100%)")),
                "{stdout}"
            );
            outages += 1;
        }
        if let Some(rest) = line.strip_prefix("retry-after: ") {
            // The last 429 of the outage may be followed after it ended.
            let n: u32 = rest.split(' ').next().unwrap().parse().unwrap();
            let soon: u32 = rest
                .rsplit("; ")
                .next()
                .and_then(|t| t.strip_suffix(" followed too soon"))
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("{stdout}"));
            assert!(soon + 1 >= n && soon >= 4, "{stdout}");
        }
    }
    assert!(outages >= 2, "{stdout}");
}

#[test]
fn the_readme_tensorzero_commands_run() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire lint --gateway tensorzero examples/tensorzero/tensorzero.toml",
        cwd.path(),
    );
    // Warnings (no timeout on Claude, broken streams) exit 1.
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("(TensorZero 2026.6.0 rules;"), "{stdout}");
    let (code, stdout, stderr) = readme(
        "crossfire run examples/tensorzero/rate-limit-crosses.yaml",
        cwd.path(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "PASS tensorzero-rate-limit-crosses (tensorzero 2026.6.0 gateway, 6 requests"
        ),
        "{stdout}"
    );
    let (code, stdout, _) = readme(
        "crossfire drill --gateway tensorzero --config examples/tensorzero/tensorzero.toml",
        cwd.path(),
    );
    assert!(
        stdout.contains("(tensorzero 2026.6.0, started in"),
        "{stdout}"
    );
    assert!(
        stdout.contains("30 cells: 8 Failover Illusion, 0 unlike the prediction"),
        "{stdout}"
    );
    assert_eq!(code, 1, "findings exit 1: {stdout}");
    let run = run_folders(cwd.path()).pop().unwrap();
    assert!(run.join("crossfire-tensorzero-launch.py").is_file());
}

/// `compare` with the default run folder once failed with the run folder
/// joined twice (`crossfire-runs/<time>/litellm/crossfire-runs/...`).
#[test]
fn the_readme_compare_and_tax_run_from_a_fresh_folder() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire compare --gateways litellm,portkey,tensorzero --markdown compare.md",
        cwd.path(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let md = std::fs::read_to_string(cwd.path().join("compare.md")).unwrap();
    // Three columns, one per gateway.
    assert!(md.contains("| | litellm | portkey | tensorzero |"), "{md}");
    assert!(
        md.contains("| failover on rate_limit | crossed | crossed | crossed |"),
        "{md}"
    );
    let run = run_folders(cwd.path()).pop().unwrap();
    let time = run.file_name().unwrap().to_string_lossy().to_string();
    let (code, stdout, stderr) = readme_with(
        "crossfire tax --from crossfire-runs/<time>/compare.json --gateway litellm --monthly-spend 20000 --selection-savings 12 --failure-rate 3 --class-mix rate_limit=0.6,server_error=0.2,overloaded=0.1,timeout=0.1",
        cwd.path(),
        &[("<time>", &time)],
    );
    assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("ratio"), "{stdout}");
}

#[test]
fn the_readme_compare_of_the_teams_configs_runs() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire compare --config litellm=litellm.yaml --config portkey=portkey.json",
        cwd.path(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("litellm"), "{stdout}");
    assert!(stdout.contains("portkey"), "{stdout}");
    assert!(stdout.contains("failover on rate_limit"), "{stdout}");
}

#[test]
fn the_readme_explore_runs() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire explore scenarios/refgw-cross-provider-failover.yaml --cases 64 --time-budget 5m",
        cwd.path(),
    );
    assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("seed"), "{stderr}");
    assert!(
        stdout.contains("no invariant broken in") || stdout.contains("VIOLATION after"),
        "{stdout}"
    );
}

#[test]
fn the_readme_snapshot_commands_run() {
    let cwd = fresh();
    let (code, stdout, stderr) = readme(
        "crossfire run scenarios/ --snapshots snapshots/ --update-snapshots",
        cwd.path(),
    );
    assert!(stdout.contains("6 scenarios"), "{stdout}\n{stderr}");
    assert_ne!(code, 2, "{stdout}\n{stderr}");
    assert_ne!(code, 3, "{stdout}\n{stderr}");
    let (again, stdout, stderr) = readme(
        "crossfire run scenarios/ --snapshots snapshots/",
        cwd.path(),
    );
    assert_eq!(again, code, "the same run twice: {stdout}\n{stderr}");
    assert!(!stdout.contains("SNAPSHOT CHANGED"), "{stdout}");
}

#[test]
fn the_readme_mock_command_serves_and_journals() {
    let cwd = fresh();
    let mut child = support::ChildGuard(
        command(
            "crossfire mock --deployment claude=anthropic --deployment gpt=openai --fault 'claude=rate_limit(retry_after=2s)@first:3' --fault 'gpt=stream_cut(after_events=1)@every:2' --journal attempts.jsonl",
            cwd.path(),
            &[],
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    let lines = support::lines(child.stdout.take().unwrap());
    let mut urls = std::collections::HashMap::new();
    for _ in 0..2 {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap()
            .unwrap();
        let w: Vec<&str> = line.split_whitespace().collect();
        urls.insert(w[0].to_string(), w[2].to_string());
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/v1/messages", urls["claude"]))
            .json(
                &serde_json::json!({"model": "claude-opus-4-1", "max_tokens": 5,
                "messages": [{"role": "user", "content": "hi [xf:readme:1]"}]}),
            )
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(status, 429);
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(
        support::wait_with_timeout(&mut child, Duration::from_secs(10)),
        Some(0)
    );
    let journal = mock_providers::journal::read_jsonl(&cwd.path().join("attempts.jsonl")).unwrap();
    assert_eq!(journal.len(), 1);
}
