//! `crossfire schema` is a valid JSON Schema (draft 2020-12), generated from
//! the scenario types; every shipped scenario validates against it and
//! misspelt keys do not. Checked with the `jsonschema` Python package from the
//! LiteLLM environment crossfire provisions.

mod support;

use crossfire::provision;
use std::path::Path;
use std::process::Command;

// The YAML files are turned into JSON by crossfire's own YAML reader first:
// PyYAML reads YAML 1.1, where the key `on` means `true`.
const CHECK: &str = r#"
import json, sys, glob, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
good = sorted(glob.glob(sys.argv[2] + "/good-*.json"))
for f in good:
    errors = list(v.iter_errors(json.load(open(f))))
    assert not errors, (f, [e.message for e in errors])
bad = sorted(glob.glob(sys.argv[2] + "/bad-*.json"))
for f in bad:
    assert list(v.iter_errors(json.load(open(f)))), f + " should not validate"
print(len(good), len(bad))
"#;

/// Writes a YAML file as JSON, read the way crossfire reads it.
fn as_json(yaml: &Path, out: &Path) {
    let value: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(yaml).unwrap()).unwrap();
    std::fs::write(out, serde_json::to_vec(&value).unwrap()).unwrap();
}

#[test]
fn schema_is_valid_and_matches_the_shipped_scenarios() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = support::crossfire().arg("schema").output().unwrap();
    assert!(schema.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schema.json");
    std::fs::write(&file, &schema.stdout).unwrap();
    let env = provision::ensure_python_env(
        &crossfire::gateway::litellm::env_spec(crossfire::gateway::litellm::VERSION),
        &mut |l| eprintln!("[provision] {l}"),
    )
    .unwrap();
    for scenario in crossfire::runner::discover(&[root.join("scenarios")]).unwrap() {
        let name = scenario.file_stem().unwrap().to_string_lossy().into_owned();
        as_json(&scenario, &dir.path().join(format!("good-{name}.json")));
    }
    let bad = root.join("tests/data/scenarios/bad");
    for name in [
        "top-level-typo",
        "deployment-key-typo",
        "unknown-fault",
        "schedule-typo",
        "expect-key-typo",
        "gateway-kind-typo",
        "gateway-fault-unknown-action",
    ] {
        as_json(
            &bad.join(format!("{name}.yaml")),
            &dir.path().join(format!("bad-{name}.json")),
        );
    }
    // The time schedules, written into a shipped scenario's fault: the
    // forms the schema must take, and near misses it must refuse.
    let base: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root.join("scenarios/anthropic-overloaded-direct.yaml")).unwrap(),
    )
    .unwrap();
    for (name, schedule) in [
        ("good-outage", "{outage: {from: 10s, for: 60s}}"),
        (
            "good-flap",
            "{flap: {down: 20s, up: 20s, times: 3, from: 1s}}",
        ),
        ("bad-outage-typo", "{outage: {from: 10s, fro: 60s}}"),
        ("bad-flap-without-times", "{flap: {down: 20s, up: 20s}}"),
        (
            "bad-flap-zero-times",
            "{flap: {down: 20s, up: 20s, times: 0}}",
        ),
    ] {
        let mut scenario = base.clone();
        scenario["faults"][0]["schedule"] = serde_yaml::from_str(schedule).unwrap();
        std::fs::write(
            dir.path().join(format!("{name}.json")),
            serde_json::to_vec(&scenario).unwrap(),
        )
        .unwrap();
    }
    let out = Command::new(env.python())
        .args(["-c", CHECK])
        .arg(&file)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "8 10");
}
