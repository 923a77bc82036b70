//! The library builder: a scenario from Rust code, its routing behaviour as a
//! value, snapshotted with insta the way a team would in its own tests.

mod support;

use crossfire::harness::Harness;
use crossfire::mock_providers::{Dialect, FailureClass};
use std::path::Path;

#[tokio::test]
async fn routing_behaviour_as_a_value_for_insta() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let refgw = support::refgw();
    let template = root.join("examples/refgw/cross-provider.json.tmpl");
    let behaviour = Harness::new("overloaded-claude")
        .deployment("claude", Dialect::Anthropic, "claude-opus-4-1")
        .deployment("gpt", Dialect::Openai, "gpt-4o")
        .command(
            &["python3", refgw.to_str().unwrap(), "{{ config }}"],
            template.to_str().unwrap(),
            "/health",
        )
        .fault("claude", FailureClass::Overloaded, "{first: 2}")
        .traffic("claude-opus", 4)
        .intent("claude-opus", &["openai"])
        .run()
        .await
        .unwrap();
    insta::assert_yaml_snapshot!(behaviour);
}

#[test]
fn the_builder_writes_the_scenario_format() {
    let yaml = Harness::new("x")
        .deployment("gpt", Dialect::Openai, "gpt-4o")
        .fault("gpt", FailureClass::RateLimit, "always")
        .traffic("gpt-4o", 2)
        .to_yaml();
    assert_eq!(
        yaml,
        "name: \"x\"\ndeployments:\n  - {id: \"gpt\", dialect: openai, model: \"gpt-4o\"}\nfaults:\n  - {on: \"gpt\", fault: rate_limit, schedule: always}\ntraffic:\n  - {model: \"gpt-4o\", requests: 2}\n"
    );
}

#[tokio::test]
async fn a_bad_builder_scenario_is_a_located_input_error() {
    let err = Harness::new("x")
        .deployment("gpt", Dialect::Openai, "gpt-4o")
        .fault("gtp", FailureClass::RateLimit, "always")
        .traffic("gpt-4o", 1)
        .run()
        .await
        .unwrap_err();
    assert!(err.to_string().ends_with("scenario.yaml:5:10: `gtp` is not a deployment id, a provider, or provider/model here; did you mean `gpt`?"), "{err}");
}
