//! Mock LLM providers that speak the real APIs and fail exactly like the real
//! ones, and record every attempt.
//!
//! The heart is pure: [`plan::plan`] turns (deployment, request, attempt) into
//! a response [`Plan`]. Two front ends serve plans:
//!
//! - [`MockSet`], crossfire's own hyper server: one listener per deployment on
//!   `127.0.0.1:0`, real SSE pacing, streams cut on the socket, stalls,
//!   hangs that never answer, late first events and connection resets, a
//!   bounded journal.
//! - `wiremock_adapter::ProviderResponder` (feature `wiremock`): the same plans
//!   on a `wiremock::MockServer`, for teams that already test their LLM client
//!   with wiremock. Byte-level actions degrade as documented there.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mock_providers::{DeploymentSpec, Dialect, Fault, FailureClass, JournalConfig, MockSet, Schedule};
//! let mocks = MockSet::start(
//!     vec![DeploymentSpec::new("claude", Dialect::Anthropic)
//!         .fault(Fault::new(FailureClass::Overloaded), Schedule::First(1))],
//!     JournalConfig::default(),
//! )
//! .await?;
//! let url = format!("{}/v1/messages", mocks.get("claude").unwrap().base_url());
//! // ... send requests to `url`; the first answers 529 Overloaded.
//! for attempt in mocks.journal().attempts() {
//!     println!("{} {} {}", attempt.seq, attempt.deployment, attempt.outcome.name());
//! }
//! # Ok(()) }
//! ```

pub mod dialect;
pub mod error_answers;
pub mod fault;
pub mod journal;
pub mod models;
pub mod plan;
pub mod request;
pub mod server;
pub mod side;
pub mod success;
pub mod tokens;
#[cfg(feature = "wiremock")]
pub mod wiremock_adapter;

pub use dialect::{Dialect, Wire};
pub use fault::{FailureClass, Fault, FaultRule, Schedule};
pub use journal::{Attempt, Journal, JournalConfig, JournalStats};
pub use plan::{Cause, Delivery, DeploymentSpec, Outcome, Plan, StreamEnd};
pub use request::Traffic;
pub use server::{MockError, MockSet, RunningDeployment};
pub use success::Usage;
pub use tokens::TokenCounter;

/// Without the `wiremock` feature, cargo skips `tests/wiremock_adapter.rs`
/// (its `required-features`); this says so in the test output.
#[cfg(all(test, not(feature = "wiremock")))]
mod without_wiremock {
    #[test]
    #[ignore = "tests/wiremock_adapter.rs did not run: it needs `--features wiremock` (or `--all-features`)"]
    fn the_wiremock_adapter_tests_need_the_wiremock_feature() {}
}
