//! `crossfire mock` serving: serve mock deployments until SIGINT or SIGTERM,
//! for a team that points a staging gateway at them by hand.

use super::MockPlan;
use mock_providers::{JournalConfig, MockError, MockSet};
use std::io::Write;

/// How the listing of deployments is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `ID DIALECT URL` per line.
    Text,
    /// One JSON object per line.
    Json,
}

/// Starts the mocks, prints one line per deployment, serves until SIGINT or
/// SIGTERM, then flushes the journal.
pub async fn serve(plan: MockPlan, listing: Listing, out: &mut dyn Write) -> Result<(), MockError> {
    let journal = JournalConfig {
        file: plan.journal.clone(),
        ..JournalConfig::default()
    };
    let stop = stop_signal();
    let mocks = MockSet::start(plan.deployments, journal).await?;
    for d in mocks.deployments() {
        let line = match listing {
            Listing::Text => format!("{} {} {}", d.id, d.dialect, d.base_url()),
            Listing::Json => serde_json::json!({
                "id": d.id, "dialect": d.dialect.name(), "url": d.base_url()
            })
            .to_string(),
        };
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    let failed = tokio::select! {
        _ = stop => None,
        e = mocks.journal().write_failure() => Some(e),
    };
    let journal = mocks.shutdown().await;
    let stats = journal.stats();
    tracing::info!(recorded = stats.recorded, "mocks stopped");
    // A journal that cannot be written stops the mocks at once, and one that
    // cannot be flushed at the end fails the command: either way attempts
    // are missing from the evidence.
    let failed = failed.or_else(|| journal.flush().err().map(|e| e.to_string()));
    match (failed, journal.path()) {
        (Some(message), Some(path)) => Err(MockError::JournalWrite {
            path: path.to_path_buf(),
            message,
        }),
        _ => Ok(()),
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn wait_for_stop_signal() {
    stop_signal().await
}

/// Catches SIGINT and SIGTERM from the moment it is called (it must be
/// called inside the runtime), and resolves when one arrives: a signal sent
/// as soon as the URLs are printed must not kill the process unflushed.
pub fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
