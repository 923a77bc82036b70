//! The README's main command, as a new user runs it: from their own folder,
//! with no `--out`, so the run folder is the relative `crossfire-runs/<time>`
//! (a relative run folder once broke every gateway crossfire starts, since a
//! gateway runs in a working folder of its own).
//! Pinned on LiteLLM 1.108.7 and Portkey 1.15.2.

use std::path::Path;
use std::process::Command;

fn drill_from_a_fresh_folder(gateway: &str, config: &str) -> (i32, String, tempfile::TempDir) {
    let cwd = tempfile::tempdir().expect("temp dir");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join(config);
    let out = Command::new(env!("CARGO_BIN_EXE_crossfire"))
        .args(["drill", "--gateway", gateway, "--config"])
        .arg(&config)
        .current_dir(cwd.path())
        .output()
        .expect("crossfire runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.code().is_some(),
        "crossfire died by a signal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), stdout, cwd)
}

fn run_folder(cwd: &Path) -> std::path::PathBuf {
    let runs: Vec<_> = std::fs::read_dir(cwd.join("crossfire-runs"))
        .expect("the run folder is made under the current folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

#[test]
fn the_readme_main_command_runs_from_any_folder() {
    let (code, stdout, cwd) =
        drill_from_a_fresh_folder("litellm", "examples/litellm/fallbacks.yaml");
    assert!(stdout.contains("(litellm 1.108.7, started in"), "{stdout}");
    assert!(
        stdout.contains("20 cells: 3 Failover Illusion, 0 unlike the prediction"),
        "{stdout}"
    );
    assert_eq!(code, 1, "findings exit 1: {stdout}");
    let run = run_folder(cwd.path());
    assert!(run.join("drill.json").is_file());
    assert!(run.join("litellm-config.yaml").is_file());
}

#[test]
fn a_portkey_drill_runs_from_any_folder() {
    let (code, stdout, cwd) =
        drill_from_a_fresh_folder("portkey", "examples/portkey/fallback.json");
    assert!(stdout.contains("(portkey 1.15.2, started in"), "{stdout}");
    assert!(
        stdout.contains("10 cells: 3 Failover Illusion, 0 unlike the prediction"),
        "{stdout}"
    );
    assert_eq!(code, 1, "findings exit 1: {stdout}");
    let run = run_folder(cwd.path());
    assert!(run.join("drill.json").is_file());
    assert!(run.join("crossfire-seal.cjs").is_file());
}
