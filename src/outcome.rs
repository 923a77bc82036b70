//! What a run produced, and what the runner tells reporters while it runs:
//! the [`Event`]s, one [`ScenarioReport`] per scenario and the
//! [`RunSummary`]. The runner fills these; reporters, the CLI and tests read
//! them. Nothing here imports the runner or the reporters.

use crate::paths::{PathClass, RequestPath};
use crate::records::RequestRecord;
use crate::verdict::{Finding, Verdict};
use mock_providers::{Attempt, JournalStats};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What the runner tells reporters, in order. Events borrow what they
/// carry: a reporter that keeps something copies it.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// A run of `scenarios` scenarios begins; `out` is its folder.
    RunStarted {
        /// Number of scenarios.
        scenarios: usize,
        /// The run folder.
        out: PathBuf,
    },
    /// A scenario begins.
    ScenarioStarted {
        /// Its position in the run.
        index: usize,
        /// Its name.
        name: String,
        /// Requests planned, when the traffic is bounded by count.
        planned: Option<u64>,
    },
    /// The gateway answers.
    GatewayReady {
        /// Scenario name.
        name: String,
        /// Target kind.
        kind: &'static str,
        /// Its base URL.
        base_url: String,
        /// Time it took to become ready.
        startup: Duration,
    },
    /// A request completed.
    RequestDone(&'a RequestRecord),
    /// A scenario is over.
    ScenarioFinished(&'a ScenarioReport),
    /// Every scenario is over.
    RunFinished(&'a RunSummary),
}

/// Everything known about one scenario's run.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// Scenario name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// What it checks.
    pub about: Option<String>,
    /// Gateway target kind.
    pub gateway: &'static str,
    /// The scenario's run folder (journal, gateway log, rendered config, report).
    pub run_dir: PathBuf,
    /// The journal file.
    pub journal: PathBuf,
    /// The gateway log, when crossfire started a process.
    pub gateway_log: Option<PathBuf>,
    /// Gateway startup time in milliseconds.
    pub gateway_startup_ms: u64,
    /// Wall time of the scenario in milliseconds.
    pub duration_ms: u64,
    /// Requests per path class.
    pub counts: BTreeMap<PathClass, u64>,
    /// Expectations, judged.
    pub verdicts: Vec<Verdict>,
    /// Findings (Failover Illusion).
    pub findings: Vec<Finding>,
    /// Every request's path (JSON: the first few of each class; every path
    /// is in `paths_file`).
    #[serde(serialize_with = "crate::run_folder::serialize_examples")]
    pub paths: Vec<RequestPath>,
    /// Attempts no request claims (JSON: the first few).
    #[serde(serialize_with = "crate::run_folder::serialize_first")]
    pub stray: Vec<Attempt>,
    /// Requests Ctrl-C cut short before the gateway answered, with the
    /// attempts they made: what ran, neither counted nor judged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cut_short: Vec<RequestPath>,
    /// Housekeeping calls the gateway made on its own (not POST), counted.
    pub probes: usize,
    /// What the gateway tried to reach outside the machine (sealed, refused).
    pub escaped: Vec<crate::gateway::sink::Escape>,
    /// The gateway's version as it reported it (`x-litellm-version`).
    pub gateway_version: Option<String>,
    /// Config items crossfire had no mock for, run sealed (`--allow-unmapped`).
    pub unmapped: Vec<String>,
    /// The token and cost audits.
    pub audit: Option<crate::audit::Audits>,
    /// The routing snapshot, compared with the accepted one.
    pub snapshot: Option<crate::snapshot::SnapshotStatus>,
    /// The latency audit (`--latency-audit`).
    pub latency: Option<crate::audit::LatencyAudit>,
    /// What the client saw, per request (JSON: the first few; every record
    /// is in `requests_file`).
    #[serde(serialize_with = "crate::run_folder::serialize_first")]
    pub requests: Vec<RequestRecord>,
    /// Every request's record, one JSON object a line, written as each completes.
    pub requests_file: PathBuf,
    /// Every request's path, one JSON object a line.
    pub paths_file: PathBuf,
    /// The timeline picture (`timeline.svg`), when it was drawn.
    pub timeline: Option<PathBuf>,
    /// Whether duration-bounded traffic stopped at the scenario's request cap.
    pub request_cap_reached: bool,
    /// Journal counts.
    pub journal_stats: JournalStats,
    /// Infrastructure failure that stopped the scenario.
    pub error: Option<String>,
    /// Whether Ctrl-C cut the scenario short.
    pub interrupted: bool,
    /// What was measured in time: the outage, recovery, retry discipline,
    /// bounds, and requests the gateway answered by itself.
    pub timing: crate::recovery::Timing,
    /// What the gateway's replicas did, when it ran as replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router: Option<crate::router::measure::RouterReport>,
}

impl ScenarioReport {
    /// Every expectation held, no finding, no failure.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && !self.interrupted
            && self.findings.is_empty()
            && self.escaped.is_empty()
            && self.verdicts.iter().all(|v| v.held)
            && !self.snapshot.as_ref().is_some_and(|s| s.failed())
    }
}

/// The end of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run folder.
    pub out: PathBuf,
    /// One report per scenario.
    pub scenarios: Vec<ScenarioReport>,
    /// Whether Ctrl-C ended the run.
    pub interrupted: bool,
}

impl RunSummary {
    /// The exit code the run maps to.
    pub fn exit_code(&self) -> i32 {
        if self.interrupted {
            crate::exit::INTERRUPTED
        } else if self.scenarios.iter().any(|s| s.error.is_some()) {
            crate::exit::INFRA
        } else if self.scenarios.iter().all(ScenarioReport::passed) {
            crate::exit::OK
        } else {
            crate::exit::FINDING
        }
    }
}
