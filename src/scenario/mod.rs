//! Scenario files: what to break, what traffic to send, what must hold.

pub mod file;
pub mod model;

pub use model::{
    default_provider, from_source, from_source_with, healthy, load, load_with, preflight,
    ActiveWindow, BalancerSettings, ClientApi, CommandGateway, ConfigGateway, Deployment,
    Expectation, Gateway, GatewayFault, GatewayOverride, GroupIntent, Intent, LoadOptions,
    PlacedFault, ReplicaAction, Replicas, Scenario, ServedBy, Share, Traffic,
};

/// The JSON Schema of the scenario format, generated from the file types.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(file::ScenarioFile);
    serde_json::to_value(schema).unwrap_or_default()
}
