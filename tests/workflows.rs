//! The GitHub Actions workflows the README documents: the files in
//! examples/github are exactly what the README shows, they are valid
//! workflows, and every crossfire command in them is valid here (its files
//! exist, its flags parse, its scenarios check, its gateway configs lint).

mod support;

use crossfire::mock_providers::FailureClass;
use crossfire::snapshot::RoutingBehaviour;
use std::path::Path;
use support::crossfire;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Flags of `crossfire run` and `drill` that take no value.
const SWITCHES: [&str; 4] = [
    "--latency-audit",
    "--update-snapshots",
    "--allow-unmapped",
    "--verbose",
];

/// The positional arguments of a command's arguments (after the subcommand):
/// neither a flag nor a flag's value.
fn positional<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut takes_value = false;
    for a in args {
        if std::mem::take(&mut takes_value) {
            continue;
        }
        if a.starts_with('-') {
            takes_value = a.starts_with("--") && !a.contains('=') && !SWITCHES.contains(a);
        } else {
            out.push(*a);
        }
    }
    out
}

/// The value of `--flag VALUE` (or `--flag=VALUE`) in a command's arguments.
fn flag<'a>(args: &[&'a str], name: &str) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, a)| {
        if *a == name {
            args.get(i + 1).copied()
        } else {
            a.strip_prefix(name).and_then(|v| v.strip_prefix('='))
        }
    })
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
    // Every command's flags parse: `--help` after the arguments makes clap
    // check the flags before it stops; it checks nothing else, so the files
    // are checked below.
    let mut scenarios = Vec::new();
    let mut configs = Vec::new();
    for c in &commands {
        let args: Vec<&str> = c.split_whitespace().collect();
        for a in &args {
            if a.ends_with(".yaml") {
                assert!(root().join(a).exists(), "{a} in `{c}` does not exist");
            }
        }
        let out = crossfire()
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
        match args[0] {
            "run" => scenarios.extend(positional(&args[1..])),
            "drill" => configs.push((
                flag(&args, "--gateway").unwrap_or("litellm"),
                flag(&args, "--config").unwrap_or_else(|| panic!("no --config in `{c}`")),
            )),
            other => panic!("no check here for `crossfire {other}`: add one"),
        }
    }
    // Every scenario a workflow runs checks, as `crossfire check` sees it.
    assert_eq!(scenarios, ["scenarios/litellm-rate-limit-crosses.yaml"]);
    let check = crossfire()
        .current_dir(root())
        .arg("check")
        .args(&scenarios)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for s in &scenarios {
        assert!(
            said.contains(&format!("ok {s} (")),
            "{s} not checked: {said}"
        );
    }
    // Every gateway config a workflow drills is one `crossfire lint` can read.
    assert_eq!(configs, [("litellm", "examples/litellm/fallbacks.yaml")]);
    for (gateway, config) in &configs {
        let lint = crossfire()
            .current_dir(root())
            .args(["lint", "--gateway", gateway, config])
            .output()
            .unwrap();
        // LiteLLM 1.108.7 rules: the one warning is about `gpt-4o`, which has
        // no fallback of its own; `claude-opus` crosses to it.
        let said = String::from_utf8_lossy(&lint.stdout);
        assert_eq!(
            lint.status.code(),
            Some(1),
            "`crossfire lint {config}`: {said}{}",
            String::from_utf8_lossy(&lint.stderr)
        );
        assert!(
            said.contains("warnings:\n  `gpt-4o` has one deployment and no `fallbacks`: a 429, 5xx or timeout on it reaches the client\n\n"),
            "{said}"
        );
        assert!(
            said.contains("  claude-opus  rate_limit        claude-opus x3 -> gpt-4o (openai) 200"),
            "{said}"
        );
    }
    // Their snapshots are committed (their content is checked below).
    assert!(root()
        .join("snapshots/litellm-rate-limit-crosses.yaml")
        .is_file());
    assert!(root().join("snapshots/drill-fallbacks.yaml").is_file());
}

/// The failure classes of the committed drill snapshot checked against a
/// real drill here: one per kind of path it holds (crossed after retries,
/// crossed at once, failed on the fallback too).
const CHECKED_CLASSES: [FailureClass; 3] = [
    FailureClass::RateLimit,
    FailureClass::Auth,
    FailureClass::ContextOverflow,
];

#[tokio::test]
async fn the_committed_snapshots_hold_what_the_workflows_produce() {
    // Measured with LiteLLM 1.108.7 (crossfire's pin; the drill reports the
    // version that ran).
    assert_eq!(crossfire::gateway::litellm::VERSION, "1.108.7");
    let read = |name: &str| -> RoutingBehaviour {
        serde_yaml::from_str(&std::fs::read_to_string(root().join("snapshots").join(name)).unwrap())
            .unwrap()
    };
    let committed_drill = read("drill-fallbacks.yaml");
    // The drill snapshot holds every drill class on both groups, each cell
    // with the drill's two requests.
    let cfg =
        crossfire::gateway::litellm::config::load(&root().join("examples/litellm/fallbacks.yaml"))
            .unwrap();
    let mut keys: Vec<String> = Vec::new();
    for class in crossfire::gateway::litellm::lint::DRILL_CLASSES {
        for group in cfg.groups() {
            keys.push(format!("{class}, {group}"));
        }
    }
    keys.sort();
    assert_eq!(
        committed_drill.groups.keys().cloned().collect::<Vec<_>>(),
        keys
    );
    for (k, g) in &committed_drill.groups {
        assert_eq!(g.paths.values().sum::<u64>(), 2, "{k}");
    }

    // A real drill of the config the workflows use.
    let out = tempfile::tempdir().unwrap();
    let opts = support::drill_options(out.path(), &CHECKED_CLASSES, &[]);
    let drilled = crossfire::drill::drill(&cfg, &opts).await.unwrap();
    assert_eq!(drilled.gateway_version.as_deref(), Some("1.108.7"));
    let seen = crossfire::drill::behaviour(&drilled, &Default::default());
    assert_eq!(seen.groups.len(), CHECKED_CLASSES.len() * 2);
    for (k, g) in &seen.groups {
        assert_eq!(Some(g), committed_drill.groups.get(k), "{k}");
    }

    // The PR workflow's scenario puts a 429 on Claude with the same config:
    // its snapshot holds the drill's rate-limit path, once per request.
    let committed_run = read("litellm-rate-limit-crosses.yaml");
    let scenario =
        crossfire::scenario::load(&root().join("scenarios/litellm-rate-limit-crosses.yaml"))
            .unwrap();
    assert_eq!(committed_run.name, scenario.name);
    let requests = scenario.traffic[0].requests.unwrap();
    let drilled_path = seen.groups["rate_limit, claude-opus"]
        .paths
        .keys()
        .next()
        .unwrap()
        .clone();
    let group = &committed_run.groups["claude-opus"];
    assert_eq!(
        group.paths,
        [(drilled_path, requests)].into_iter().collect()
    );
    assert_eq!(group.ends_on, ["openai".to_string()].into_iter().collect());
    assert_eq!(committed_run.groups.len(), 1);
}
