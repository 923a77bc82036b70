//! What the router did when its own replicas failed, measured from what
//! the client saw (records), what the providers saw (attempts, each naming
//! the replica that sent it), the balancer's log (which replica a request
//! went to) and its health states over time. Pure: no I/O.

use crate::gateway::balancer::{termination_in_words, LogLine, StateChange};
use crate::paths::RequestPath;
use crate::records::RequestRecord;
use crate::scenario::{GatewayFault, ReplicaAction};
use mock_providers::Attempt;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// What the fault driver did with one gateway fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// Index in the scenario's `gateway_faults`.
    pub fault: usize,
    /// When it was done, since the traffic started.
    pub at: Duration,
    /// Why it could not be done.
    pub error: Option<String>,
    /// A restart: how long the replica took to be ready again.
    pub ready_after: Option<Duration>,
}

/// The replicas' side of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RouterReport {
    /// Replicas run.
    pub replicas: u32,
    /// Where they keep router state: shared through Redis (named with the
    /// config line), or each its own.
    pub shared_state: String,
    /// Requests the balancer handed to each replica (last try), from its log.
    pub handled: BTreeMap<String, u64>,
    /// Client requests that failed.
    pub failed_requests: u64,
    /// Why they failed, each reason counted.
    pub failures: BTreeMap<String, u64>,
    /// Streams that started and were cut.
    pub cut_streams: u64,
    /// Requests that reached a provider from two replicas.
    pub duplicates: Vec<Duplicate>,
    /// Provider attempts per replica.
    pub attempts: BTreeMap<String, ReplicaAttempts>,
    /// Failed provider attempts over every replica.
    pub failed_provider_attempts: u64,
    /// Per gateway fault.
    pub faults: Vec<FaultReport>,
}

/// Provider attempts one replica sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplicaAttempts {
    /// Completion attempts.
    pub total: u64,
    /// Of which failed (a fault answered).
    pub failed: u64,
}

/// One request a provider saw from two replicas: billed twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    /// Request number.
    pub n: u64,
    /// Its marker.
    pub marker: String,
    /// The replicas its attempts came from.
    pub replicas: Vec<u32>,
    /// Its path.
    pub path: String,
}

/// What one gateway fault did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultReport {
    /// Its label (with the file and line).
    pub label: String,
    /// The replica.
    pub replica: u32,
    /// What was done.
    pub action: ReplicaAction,
    /// When it was due, ms since the traffic started.
    pub at_ms: u64,
    /// Whether it was done; why not, when it was not.
    pub fired: bool,
    /// Why it could not be done, or that the traffic was over first.
    pub error: Option<String>,
    /// Client requests that ended failed after it (before the next fault).
    pub failed_requests: u64,
    /// Why, each reason counted.
    pub failures: BTreeMap<String, u64>,
    /// Streams cut after it (before the next fault).
    pub cut_streams: u64,
    /// A replica taken out: ms until the balancer marked it down.
    pub out_after_ms: Option<u64>,
    /// A replica taken out: ms from the fault to the last request the
    /// balancer still handed it.
    pub last_request_after_ms: Option<u64>,
    /// A restart or thaw: ms until the balancer marked it up.
    pub up_after_ms: Option<u64>,
    /// A restart or thaw: ms until a request it handled was answered.
    pub served_after_ms: Option<u64>,
    /// A restart: ms the gateway took to be ready.
    pub ready_after_ms: Option<u64>,
    /// Whether client traffic met it: a request in flight or sent after it.
    pub met_traffic: bool,
}

/// Everything the measurements read.
#[derive(Debug, Clone, Copy)]
pub struct RouterFacts<'a> {
    /// Replicas run.
    pub replicas: u32,
    /// Where router state is shared, when it is.
    pub shared_state: Option<&'a str>,
    /// The scenario's gateway faults.
    pub faults: &'a [GatewayFault],
    /// What the driver did.
    pub fired: &'a [Fired],
    /// What the client saw.
    pub records: &'a [RequestRecord],
    /// The joined paths.
    pub paths: &'a [RequestPath],
    /// Every attempt the providers saw.
    pub attempts: &'a [Attempt],
    /// The balancer's log.
    pub log: &'a [LogLine],
    /// The balancer's server states over time.
    pub changes: &'a [StateChange],
}

/// The name the balancer gives replica `n`.
pub fn replica_name(n: u32) -> String {
    format!("replica-{n}")
}

/// Why a request failed, in words: what the client got and, when the
/// balancer answered by itself, why it did.
pub fn failure_reason(r: &RequestRecord, line: Option<&LogLine>) -> String {
    if r.timed_out() {
        return "client timeout (nothing answered in time)".to_string();
    }
    if let Some(e) = &r.transport_error {
        let e = e.to_ascii_lowercase();
        return if e.contains("reset") || e.contains("closed") || e.contains("incomplete") {
            "connection reset".to_string()
        } else {
            format!("transport error: {e}")
        };
    }
    match r.status {
        Some(200) => "stream cut after it started".to_string(),
        Some(s) => match line {
            // The balancer's own answer: no replica's, or one the balancer
            // gave up on.
            Some(l) if l.server.is_none() || !l.termination.starts_with('-') => {
                format!("balancer {s}: {}", termination_in_words(&l.termination))
            }
            _ => format!("gateway {s}"),
        },
        None => "no answer".to_string(),
    }
}

/// Whether a provider attempt failed: a fault answered it, other than one
/// that only delays a whole answer (`timeout`, `slow_first_token`,
/// `no_done` delivered with 200).
fn failed(a: &Attempt) -> bool {
    use mock_providers::FailureClass as C;
    match a.failure() {
        Some(C::Timeout | C::SlowFirstToken | C::NoDone) => !(a.completed && a.status == Some(200)),
        Some(_) => true,
        None => false,
    }
}

/// Measures the replicas' side of a run.
pub fn measure(f: &RouterFacts) -> RouterReport {
    let log: HashMap<&str, &LogLine> = f
        .log
        .iter()
        .filter_map(|l| l.marker.as_deref().map(|m| (m, l)))
        .collect();
    let line_of = |r: &RequestRecord| log.get(r.marker.as_str()).copied();
    let server_of = |r: &RequestRecord| line_of(r).and_then(|l| l.server.clone());
    let mut report = RouterReport {
        replicas: f.replicas,
        shared_state: match f.shared_state {
            Some(at) => format!("shared through the Redis crossfire started ({at})"),
            None => "each replica keeps its own (the config names no shared Redis)".to_string(),
        },
        ..RouterReport::default()
    };
    // Client requests only: the balancer also logs the readiness check.
    for l in f.log.iter().filter(|l| l.marker.is_some()) {
        if let Some(s) = &l.server {
            *report.handled.entry(s.clone()).or_insert(0) += 1;
        }
    }
    // Faults that were done, in time order, for attributing failures.
    let done: Vec<(usize, Duration)> = f
        .fired
        .iter()
        .filter(|x| x.error.is_none())
        .map(|x| (x.fault, x.at))
        .collect();
    let mut per_fault: BTreeMap<usize, (u64, BTreeMap<String, u64>, u64)> = BTreeMap::new();
    for r in f.records.iter().filter(|r| !r.cut_short()) {
        let cut = r.stream && r.status == Some(200) && !r.ok();
        if r.ok() {
            continue;
        }
        let reason = failure_reason(r, line_of(r));
        report.failed_requests += 1;
        *report.failures.entry(reason.clone()).or_insert(0) += 1;
        if cut {
            report.cut_streams += 1;
        }
        let ended = Duration::from_micros(r.ended_us());
        if let Some((i, _)) = done.iter().rev().find(|(_, at)| *at <= ended) {
            let e = per_fault.entry(*i).or_default();
            e.0 += 1;
            *e.1.entry(reason).or_insert(0) += 1;
            e.2 += u64::from(cut);
        }
    }
    // Duplicates: one marker, completion attempts from two replicas.
    let mut by_marker: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for a in f.attempts.iter().filter(|a| a.is_completion()) {
        if let Some(r) = a.replica {
            let name = replica_name(r);
            let e = report.attempts.entry(name).or_default();
            e.total += 1;
            if failed(a) {
                e.failed += 1;
                report.failed_provider_attempts += 1;
            }
            if let Some(m) = a.marker.as_deref() {
                by_marker.entry(m).or_default().insert(r);
            }
        } else if failed(a) {
            report.failed_provider_attempts += 1;
        }
    }
    for (marker, replicas) in by_marker.into_iter().filter(|(_, r)| r.len() > 1) {
        let path = f.paths.iter().find(|p| p.marker == marker);
        report.duplicates.push(Duplicate {
            n: path.map_or(0, |p| p.n),
            marker: marker.to_string(),
            replicas: replicas.into_iter().collect(),
            path: path.map(RequestPath::describe).unwrap_or_default(),
        });
    }
    report.duplicates.sort_by_key(|d| d.n);
    for (i, fault) in f.faults.iter().enumerate() {
        let fired = f.fired.iter().find(|x| x.fault == i);
        let at = fired.map_or(fault.at, |x| x.at);
        let name = replica_name(fault.replica);
        let after = |d: Duration| (d >= at).then(|| (d - at).as_millis() as u64);
        let change = |up: bool| {
            f.changes
                .iter()
                .find(|c| c.server == name && c.up == up && c.at >= at)
                .and_then(|c| after(c.at))
        };
        // This replica's next fault bounds what is said of this one.
        let until = f.faults[i + 1..]
            .iter()
            .find(|g| g.replica == fault.replica)
            .map_or(Duration::MAX, |g| g.at);
        let handled_by_it = |r: &&RequestRecord| server_of(r).as_deref() == Some(name.as_str());
        let (out_after_ms, last_request_after_ms, up_after_ms, served_after_ms) =
            if fault.action.takes_out() {
                let last = f
                    .records
                    .iter()
                    .filter(handled_by_it)
                    .map(|r| Duration::from_micros(r.started_us))
                    .filter(|s| *s >= at && *s < until)
                    .max()
                    .and_then(after);
                (change(false), last, None, None)
            } else {
                let served = f
                    .records
                    .iter()
                    .filter(handled_by_it)
                    .filter(|r| r.ok() && Duration::from_micros(r.started_us) >= at)
                    .map(|r| Duration::from_micros(r.ended_us()))
                    .min()
                    .and_then(after);
                (None, None, change(true), served)
            };
        let met_traffic = fired.is_some_and(|x| x.error.is_none())
            && f.records
                .iter()
                .any(|r| Duration::from_micros(r.ended_us()) >= at && !r.cut_short());
        let (failed, failures, cut) = per_fault.remove(&i).unwrap_or_default();
        report.faults.push(FaultReport {
            label: fault.label.clone(),
            replica: fault.replica,
            action: fault.action,
            at_ms: at.as_millis() as u64,
            fired: fired.is_some_and(|x| x.error.is_none()),
            error: match fired {
                Some(x) => x.error.clone(),
                None => Some("the traffic was over before it was due".to_string()),
            },
            failed_requests: failed,
            failures,
            cut_streams: cut,
            out_after_ms,
            last_request_after_ms,
            up_after_ms,
            served_after_ms,
            ready_after_ms: fired
                .and_then(|x| x.ready_after)
                .map(|d| d.as_millis() as u64),
            met_traffic,
        });
    }
    report
}

impl RouterReport {
    /// The report in lines a person reads (terminal and Markdown alike).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let handled: Vec<String> = self
            .handled
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        out.push(format!(
            "replicas: {} behind HAProxy; requests handled: {}; router state: {}",
            self.replicas,
            if handled.is_empty() {
                "none logged".to_string()
            } else {
                handled.join(", ")
            },
            self.shared_state
        ));
        let per: Vec<String> = self
            .attempts
            .iter()
            .map(|(k, a)| format!("{k} {} ({} failed)", a.total, a.failed))
            .collect();
        out.push(format!(
            "provider attempts per replica: {}; failed in total: {}",
            if per.is_empty() {
                "none".to_string()
            } else {
                per.join(", ")
            },
            self.failed_provider_attempts
        ));
        out.push(format!(
            "client requests failed: {}; streams cut: {}; duplicate provider attempts: {}",
            failures_text(self.failed_requests, &self.failures),
            self.cut_streams,
            self.duplicates.len()
        ));
        for f in &self.faults {
            let mut parts = Vec::new();
            match &f.error {
                Some(e) => parts.push(format!("not done: {e}")),
                None => parts.push(format!(
                    "failed after it {}",
                    failures_text(f.failed_requests, &f.failures)
                )),
            }
            if f.cut_streams > 0 {
                parts.push(format!("{} streams cut", f.cut_streams));
            }
            if f.action.takes_out() && f.error.is_none() {
                parts.push(match f.out_after_ms {
                    Some(ms) => format!("marked down after {}", ms_text(ms)),
                    None => "never marked down while the traffic ran".to_string(),
                });
                if let Some(ms) = f.last_request_after_ms {
                    parts.push(format!("last request handed to it {} after", ms_text(ms)));
                }
            }
            if !f.action.takes_out() && f.error.is_none() {
                if let Some(ms) = f.ready_after_ms {
                    parts.push(format!("ready after {}", ms_text(ms)));
                }
                parts.push(match f.up_after_ms {
                    Some(ms) => format!("marked up after {}", ms_text(ms)),
                    None => "never marked up while the traffic ran".to_string(),
                });
                parts.push(match f.served_after_ms {
                    Some(ms) => format!("served again after {}", ms_text(ms)),
                    None => "served nothing again while the traffic ran".to_string(),
                });
            }
            out.push(format!("{}: {}", f.label, parts.join("; ")));
        }
        out
    }
}

/// A duration in ms as a report says it (`1.204 s`).
pub fn ms_text(ms: u64) -> String {
    format!("{:.3} s", ms as f64 / 1000.0)
}

/// The failures and their reasons in one phrase:
/// `3 (2x connection reset, 1x balancer 503: ...)`.
pub fn failures_text(n: u64, reasons: &BTreeMap<String, u64>) -> String {
    if n == 0 {
        return "0".to_string();
    }
    let list: Vec<String> = reasons.iter().map(|(r, k)| format!("{k}x {r}")).collect();
    format!("{n} ({})", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_providers::FailureClass;

    fn record(n: u64, start_ms: u64, end_ms: u64, status: Option<u16>) -> RequestRecord {
        let mut r = crate::recovery::tests::record(n, start_ms, end_ms - start_ms, 200);
        r.status = status;
        if status.is_none() {
            r.transport_error = Some("connection closed before message completed".into());
        }
        r
    }

    fn attempt(n: u64, replica: u32, failed: bool) -> Attempt {
        let fault = failed.then_some(FailureClass::ServerError);
        let mut a = crate::recovery::tests::attempt(n, n, "claude", 0, fault);
        a.replica = Some(replica);
        a
    }

    fn line(n: u64, server: Option<&str>, status: u16, termination: &str) -> LogLine {
        LogLine {
            marker: Some(format!("xf:t:{n}")),
            server: server.map(String::from),
            status: Some(status),
            termination: termination.to_string(),
            ..LogLine::default()
        }
    }

    fn kill(at_s: u64) -> GatewayFault {
        GatewayFault {
            label: "gateway_faults[0]: kill replica-2".into(),
            replica: 2,
            action: ReplicaAction::Kill,
            at: Duration::from_secs(at_s),
        }
    }

    /// replica-2 killed 1 s into the traffic, and done then.
    fn killed_at_1s() -> ([GatewayFault; 1], [Fired; 1]) {
        let fired = Fired {
            fault: 0,
            at: Duration::from_secs(1),
            error: None,
            ready_after: None,
        };
        ([kill(1)], [fired])
    }

    #[test]
    fn failures_after_a_kill_are_counted_against_it_with_their_reasons() {
        let records = vec![
            record(1, 0, 100, Some(200)),
            record(2, 900, 1_100, None),
            record(3, 1_200, 1_300, Some(503)),
            record(4, 1_400, 1_500, Some(200)),
        ];
        let log = vec![
            line(1, Some("replica-2"), 200, "----"),
            line(3, None, 503, "SC--"),
            line(4, Some("replica-1"), 200, "----"),
        ];
        let (faults, fired) = killed_at_1s();
        let changes = [
            StateChange {
                at: Duration::ZERO,
                server: "replica-2".into(),
                up: true,
            },
            StateChange {
                at: Duration::from_millis(3_100),
                server: "replica-2".into(),
                up: false,
            },
        ];
        let r = measure(&RouterFacts {
            replicas: 2,
            shared_state: None,
            faults: &faults,
            fired: &fired,
            records: &records,
            paths: &[],
            attempts: &[],
            log: &log,
            changes: &changes,
        });
        assert_eq!(r.failed_requests, 2);
        assert_eq!(r.faults[0].failed_requests, 2);
        assert_eq!(r.faults[0].failures.get("connection reset"), Some(&1));
        assert!(
            r.faults[0]
                .failures
                .keys()
                .any(|k| k.starts_with("balancer 503")),
            "{:?}",
            r.faults[0].failures
        );
        assert_eq!(r.faults[0].out_after_ms, Some(2_100));
        assert!(r.faults[0].met_traffic);
        assert_eq!(r.handled.get("replica-2"), Some(&1));
    }

    #[test]
    fn a_marker_seen_from_two_replicas_is_a_duplicate_and_one_replica_is_not() {
        let attempts = vec![
            attempt(1, 1, false),
            attempt(1, 1, true),
            attempt(2, 1, false),
            attempt(2, 2, false),
        ];
        let r = measure(&RouterFacts {
            replicas: 2,
            shared_state: Some("`router_settings.redis_host` at c.yaml:3"),
            faults: &[],
            fired: &[],
            records: &[],
            paths: &[],
            attempts: &attempts,
            log: &[],
            changes: &[],
        });
        assert_eq!(r.duplicates.len(), 1);
        assert_eq!(r.duplicates[0].marker, "xf:t:2");
        assert_eq!(r.duplicates[0].replicas, vec![1, 2]);
        assert_eq!(r.failed_provider_attempts, 1);
        assert_eq!(
            r.attempts.get("replica-1"),
            Some(&ReplicaAttempts {
                total: 3,
                failed: 1
            })
        );
        assert!(r.shared_state.contains("Redis"));
    }

    #[test]
    fn a_fault_due_after_the_traffic_never_met_it() {
        let faults = [kill(60)];
        let r = measure(&RouterFacts {
            replicas: 2,
            shared_state: None,
            faults: &faults,
            fired: &[],
            records: &[record(1, 0, 100, Some(200))],
            paths: &[],
            attempts: &[],
            log: &[],
            changes: &[],
        });
        assert!(!r.faults[0].fired);
        assert!(!r.faults[0].met_traffic);
        assert!(r.faults[0].error.as_deref().unwrap().contains("over"));
    }

    #[test]
    fn a_stream_cut_after_it_started_is_counted_as_cut_and_failed() {
        let mut cut = record(1, 1_100, 1_400, Some(200));
        cut.stream = true;
        cut.stream_complete = Some(false);
        let mut whole = record(2, 1_100, 1_400, Some(200));
        whole.stream = true;
        whole.stream_complete = Some(true);
        let (faults, fired) = killed_at_1s();
        let r = measure(&RouterFacts {
            replicas: 2,
            shared_state: None,
            faults: &faults,
            fired: &fired,
            records: &[cut, whole],
            paths: &[],
            attempts: &[],
            log: &[],
            changes: &[],
        });
        assert_eq!((r.cut_streams, r.failed_requests), (1, 1));
        assert_eq!(r.faults[0].cut_streams, 1);
        assert_eq!(
            r.faults[0].failures.get("stream cut after it started"),
            Some(&1)
        );
    }
}
