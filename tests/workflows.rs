//! The GitHub Actions workflows the README documents: the files in
//! examples/github are exactly what the README shows, they are valid
//! workflows, and every crossfire command in them is valid here (its files
//! exist, its flags parse, its scenarios check, its gateway configs lint).

mod support;

use crossfire::mock_providers::FailureClass;
use crossfire::snapshot::RoutingBehaviour;
use std::collections::BTreeMap;
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

/// The team repository the example workflows run in.
fn team_repo() -> std::path::PathBuf {
    root().join("examples/team-repo")
}

fn action() -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string(root().join("action.yml")).unwrap()).unwrap()
}

/// What the action's script runs for these inputs (the action's defaults
/// for the rest), in `cwd`: the command, or the script's error and exit code.
fn action_command(
    with: &BTreeMap<String, String>,
    cwd: &Path,
) -> Result<String, (Option<i32>, String)> {
    let action = action();
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(root().join("action/run.sh"))
        .current_dir(cwd)
        .env("CROSSFIRE_ACTION_PRINT", "1");
    for (name, input) in action["inputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let value = with
            .get(name)
            .cloned()
            .unwrap_or_else(|| input["default"].as_str().unwrap().to_string());
        cmd.env(
            format!("INPUT_{}", name.to_uppercase().replace('-', "_")),
            value,
        );
    }
    let out = cmd.output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() {
        Ok(said)
    } else {
        Err((out.status.code(), said))
    }
}

/// Expressions in the workflows' inputs, as a run would fill them.
const FILLED: [(&str, &str); 2] = [
    ("${{ steps.pins.outputs.old }}", "1.90.7"),
    ("${{ steps.pins.outputs.new }}", "1.108.7"),
];

/// The crossfire command of every use of the action in a workflow, in the
/// team repository.
fn crossfire_commands(workflow: &serde_yaml::Value) -> Vec<String> {
    crossfire_commands_in(workflow, &team_repo())
}

/// The same, in a copy of the team repository at `cwd`.
fn crossfire_commands_in(workflow: &serde_yaml::Value, cwd: &Path) -> Vec<String> {
    let inputs = action()["inputs"].clone();
    let mut out = Vec::new();
    for job in workflow["jobs"].as_mapping().unwrap().values() {
        let steps = job["steps"].as_sequence().unwrap();
        assert!(!steps.is_empty());
        for step in steps {
            assert!(
                step.get("uses").is_some() || step.get("run").is_some(),
                "a step without uses or run: {step:?}"
            );
            let Some(uses) = step.get("uses").and_then(|u| u.as_str()) else {
                continue;
            };
            if !uses.starts_with("OWNER/crossfire@") {
                continue;
            }
            let mut with = BTreeMap::new();
            for (k, v) in step["with"].as_mapping().unwrap() {
                let k = k.as_str().unwrap().to_string();
                assert!(
                    inputs.get(&k).is_some(),
                    "input `{k}` is not declared in action.yml"
                );
                let mut v = v.as_str().unwrap().to_string();
                for (expr, value) in FILLED {
                    v = v.replace(expr, value);
                }
                assert!(!v.contains("${{"), "{k}: {v}");
                with.insert(k, v);
            }
            match action_command(&with, cwd) {
                Ok(c) => out.push(c.strip_prefix("crossfire ").unwrap().to_string()),
                Err(e) => panic!("the action refuses {with:?}: {e:?}"),
            }
        }
    }
    out
}

#[test]
fn the_action_is_a_valid_composite_action_whose_inputs_are_all_declared_and_used() {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let a = action();
    assert!(a["name"].is_string() && a["description"].is_string());
    assert_eq!(a["runs"]["using"], "composite");
    let inputs = a["inputs"].as_mapping().unwrap();
    for (name, input) in inputs {
        let name = name.as_str().unwrap();
        assert!(input["description"].is_string(), "{name}: no description");
        assert!(input["default"].is_string(), "{name}: no default");
        assert!(
            text.contains(&format!("inputs.{name} }}}}")),
            "input {name} is never used"
        );
    }
    // Every `inputs.X` the steps read is declared.
    for (i, _) in text.match_indices("inputs.") {
        let name: String = text[i + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(
            inputs.get(name.as_str()).is_some(),
            "inputs.{name} is not declared"
        );
    }
    for step in a["runs"]["steps"].as_sequence().unwrap() {
        assert!(step.get("uses").is_some() || step.get("run").is_some());
        if step.get("run").is_some() {
            assert_eq!(
                step["shell"], "bash",
                "a composite run step needs its shell: {step:?}"
            );
        }
    }
    // crossfire is built from the action's own checkout: the ref in `uses:`.
    assert!(text.contains("cargo install --locked --path \"$GITHUB_ACTION_PATH\""));
    // Bad inputs stop the job with an annotation naming the input.
    let with = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    for (inputs, says) in [
        (with(&[("command", "drill")]), "input config"),
        (with(&[("command", "run")]), "input scenarios"),
        (with(&[("command", "lint")]), "input command"),
        (
            with(&[
                ("command", "run"),
                ("scenarios", "a.yaml"),
                ("versions", "1,2"),
            ]),
            "input versions",
        ),
        (
            with(&[
                ("config", "c.yaml"),
                ("versions", "1,2"),
                ("snapshots", "snaps"),
            ]),
            "input snapshots",
        ),
    ] {
        let (code, said) = action_command(&inputs, &team_repo()).unwrap_err();
        assert_eq!(code, Some(2), "{inputs:?}");
        assert!(
            said.starts_with("::error title=crossfire action::") && said.contains(says),
            "{inputs:?}: {said}"
        );
    }
    assert_eq!(
        action_command(
            &with(&[("config", "gateway/litellm.yaml"), ("args", "--classes auth --requests 1")]),
            &team_repo()
        )
        .unwrap(),
        "crossfire drill --gateway litellm --config gateway/litellm.yaml --markdown crossfire.md --json crossfire.json --classes auth --requests 1"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The pull-request and monthly workflows' commands, as the action runs
/// them, for real in a copy of the team repository (LiteLLM 1.108.7): the
/// scenario passes and the drill's routing matches the accepted snapshots
/// (`--fail-on changes` exits 0 though the drill has findings).
#[test]
fn the_pr_and_monthly_workflows_pass_in_the_team_repository() {
    let team = tempfile::tempdir().unwrap();
    copy_dir(&team_repo(), team.path());
    for name in ["crossfire-pr.yml", "crossfire-monthly.yml"] {
        let text = std::fs::read_to_string(root().join("examples/github").join(name)).unwrap();
        let w: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let commands = crossfire_commands_in(&w, team.path());
        assert_eq!(commands.len(), 1, "{name}");
        let args: Vec<&str> = commands[0].split_whitespace().collect();
        let out = crossfire()
            .current_dir(team.path())
            .args(&args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: crossfire {}\n{stdout}{}",
            commands[0],
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !stdout.contains("SNAPSHOT CHANGED") && !stdout.contains("snapshot written"),
            "{stdout}"
        );
        for report in ["crossfire.md", "crossfire.json"] {
            assert!(team.path().join(report).is_file(), "{name}: {report}");
        }
        match args[0] {
            "run" => {
                assert!(stdout.contains("1 scenario: 1 passed"), "{stdout}");
                assert!(team.path().join("crossfire.xml").is_file());
            }
            _ => assert!(stdout.contains("\"status\":\"matched\""), "{stdout}"),
        }
        for report in ["crossfire.md", "crossfire.json", "crossfire.xml"] {
            let _ = std::fs::remove_file(team.path().join(report));
        }
    }
}

/// The upgrade workflow's pin step, run in a git repository whose base
/// branch pins one LiteLLM and whose pull request pins another.
#[test]
fn the_upgrade_workflow_reads_the_old_and_the_new_pin() {
    let text =
        std::fs::read_to_string(root().join("examples/github/crossfire-upgrade.yml")).unwrap();
    let w: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let steps = w["jobs"]["upgrade"]["steps"].as_sequence().unwrap();
    let script = steps
        .iter()
        .find(|s| s["id"] == "pins")
        .and_then(|s| s["run"].as_str())
        .unwrap();
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(repo.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::create_dir(repo.path().join("gateway")).unwrap();
    let pins = repo.path().join("gateway/requirements.txt");
    std::fs::write(&pins, "# pinned\nlitellm[proxy]==1.90.7\nredis==5.0.0\n").unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "base"]);
    git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    std::fs::write(
        &pins,
        "# pinned\nlitellm[proxy]==1.108.7 # bumped\nredis==5.0.0\n",
    )
    .unwrap();
    let output = repo.path().join("github-output");
    let out = std::process::Command::new("bash")
        .args(["-e", "-c", script])
        .current_dir(repo.path())
        .env("GITHUB_BASE_REF", "main")
        .env("GITHUB_OUTPUT", &output)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "old=1.90.7\nnew=1.108.7\n"
    );
}

#[test]
fn the_documented_workflows_are_valid() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut commands = Vec::new();
    for name in [
        "crossfire-pr.yml",
        "crossfire-monthly.yml",
        "crossfire-upgrade.yml",
    ] {
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
        // A team's repository holds no crossfire source: the workflows use
        // the action, never a path build.
        assert!(!text.contains("cargo install"), "{name}");
        // Every path the workflow watches exists in the team repository.
        for p in on["pull_request"]["paths"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let p = p.as_str().unwrap().trim_end_matches("/**");
            assert!(team_repo().join(p).exists(), "{name} watches {p}");
        }
        commands.extend(crossfire_commands(&w));
    }
    assert_eq!(commands.len(), 3, "{commands:?}");
    // Every command's flags parse: `--help` after the arguments makes clap
    // check the flags before it stops; it checks nothing else, so the files
    // are checked below.
    let mut scenarios = Vec::new();
    let mut configs = Vec::new();
    for c in &commands {
        let args: Vec<&str> = c.split_whitespace().collect();
        for a in &args {
            if a.ends_with(".yaml") {
                assert!(team_repo().join(a).exists(), "{a} in `{c}` does not exist");
            }
        }
        if let Some(dir) = flag(&args, "--snapshots") {
            assert!(team_repo().join(dir).is_dir(), "{dir} in `{c}`");
        }
        let out = crossfire()
            .current_dir(team_repo())
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
    assert!(
        commands
            .iter()
            .any(|c| c.contains("--versions 1.90.7,1.108.7")),
        "{commands:?}"
    );
    // Every scenario a workflow runs checks, as `crossfire check` sees it.
    assert_eq!(scenarios, ["crossfire/rate-limit-crosses.yaml"]);
    let check = crossfire()
        .current_dir(team_repo())
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
    assert_eq!(
        configs,
        [
            ("litellm", "gateway/litellm.yaml"),
            ("litellm", "gateway/litellm.yaml")
        ]
    );
    for (gateway, config) in &configs[..1] {
        let lint = crossfire()
            .current_dir(team_repo())
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
    // The team's config is the example config this project's snapshots
    // were taken on, and its snapshots are those (checked against a real
    // drill below).
    assert_eq!(
        std::fs::read_to_string(team_repo().join("gateway/litellm.yaml")).unwrap(),
        std::fs::read_to_string(root().join("examples/litellm/fallbacks.yaml")).unwrap()
    );
    let read = |p: std::path::PathBuf| -> RoutingBehaviour {
        serde_yaml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    for (team, ours) in [
        ("drill-litellm.yaml", "drill-fallbacks.yaml"),
        (
            "litellm-rate-limit-crosses.yaml",
            "litellm-rate-limit-crosses.yaml",
        ),
    ] {
        let t = read(team_repo().join("crossfire/snapshots").join(team));
        assert!(
            t.matches(&read(root().join("snapshots").join(ours))),
            "{team}"
        );
    }
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
