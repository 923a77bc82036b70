//! The GitHub Actions workflows the README documents: the files in
//! examples/github are exactly what the README shows, they are valid
//! workflows, and every crossfire command in them is valid here (its files
//! exist, its flags parse, its scenarios check).

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn crossfire_commands(workflow: &serde_yaml::Value) -> Vec<String> {
    let mut out = Vec::new();
    for job in workflow["jobs"].as_mapping().unwrap().values() {
        let steps = job["steps"].as_sequence().unwrap();
        assert!(!steps.is_empty());
        for step in steps {
            assert!(
                step.get("uses").is_some() || step.get("run").is_some(),
                "a step without uses or run: {step:?}"
            );
            if let Some(run) = step.get("run").and_then(|r| r.as_str()) {
                if let Some(rest) = run.strip_prefix("crossfire ") {
                    out.push(rest.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn the_documented_workflows_are_valid() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut commands = Vec::new();
    for name in ["crossfire-pr.yml", "crossfire-monthly.yml"] {
        let text = std::fs::read_to_string(root().join("examples/github").join(name)).unwrap();
        assert!(
            readme.contains(&text),
            "README does not show {name} as it is"
        );
        let w: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert!(w["name"].is_string());
        let on = &w["on"];
        assert!(on.is_mapping(), "{name}: no `on` triggers");
        if let Some(cron) = on["schedule"][0]["cron"].as_str() {
            let fields: Vec<&str> = cron.split_whitespace().collect();
            assert_eq!(fields.len(), 5, "cron `{cron}`");
        }
        commands.extend(crossfire_commands(&w));
    }
    assert_eq!(commands.len(), 2);
    // Every command's flags parse and its files exist: `--help` after the
    // arguments makes clap check them without running anything.
    for c in &commands {
        let args: Vec<&str> = c.split_whitespace().collect();
        for a in &args {
            if a.ends_with(".yaml") {
                assert!(root().join(a).exists(), "{a} in `{c}` does not exist");
            }
        }
        let out = Command::new(env!("CARGO_BIN_EXE_crossfire"))
            .current_dir(root())
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`crossfire {c}` does not parse: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The PR gate's scenario checks, and its snapshot is committed.
    let check = Command::new(env!("CARGO_BIN_EXE_crossfire"))
        .current_dir(root())
        .args(["check", "scenarios/litellm-rate-limit-crosses.yaml"])
        .output()
        .unwrap();
    assert!(check.status.success());
    assert!(root()
        .join("snapshots/litellm-rate-limit-crosses.yaml")
        .exists());
    assert!(root().join("snapshots/drill-fallbacks.yaml").exists());
}
