//! crossfire: a failover chaos-testing harness for LLM gateways.
//!
//! It starts mock providers that speak the real APIs and fail like the real
//! ones (the `mock_providers` crate), starts a real gateway pointed at them,
//! drives traffic through it, and reports for every request which deployments
//! it touched and whether it really crossed providers.

pub mod audit;
pub mod compare;
pub mod deployment;
pub mod deployment_file;
pub mod diag;
pub mod drill;
pub mod exit;
pub mod explore;
pub mod gateway;
pub mod harness;
pub mod intent;
pub mod lint;
pub mod load;
pub mod mock;
pub mod outcome;
pub mod paths;
pub mod prices;
pub mod provision;
pub mod records;
pub mod recovery;
pub mod report;
pub mod router;
pub mod run_folder;
pub mod runner;
pub mod scenario;
pub mod session;
pub mod snapshot;
pub mod tax;
pub mod timeline;
pub mod traffic;
pub mod upgrade;
pub mod verdict;

pub use mock_providers;
