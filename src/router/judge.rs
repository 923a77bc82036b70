//! Judging the expectations about the router's own replicas. None passes
//! on nothing: each says what would have shown it when nothing did.

use super::measure::{failures_text, ms_text, RouterReport};
use crate::records::RequestRecord;
use crate::scenario::Expectation;
use std::time::Duration;

/// `(held, detail, example)` of one replica expectation.
pub fn judge(
    e: &Expectation,
    router: Option<&RouterReport>,
    records: &[RequestRecord],
) -> (bool, String, Option<String>) {
    let Some(r) = router else {
        return (
            false,
            "the gateway did not run as replicas: nothing shows it".to_string(),
            None,
        );
    };
    let sent = records.iter().filter(|x| !x.cut_short()).count();
    match e {
        Expectation::MaxFailedRequests(n) => {
            if sent == 0 {
                return (false, "no request was sent: nothing shows it".into(), None);
            }
            let held = r.failed_requests <= *n;
            (
                held,
                format!(
                    "{} of {sent} requests failed",
                    failures_text(r.failed_requests, &r.failures)
                ),
                None,
            )
        }
        Expectation::MaxCutStreams(n) => {
            let streams = records.iter().filter(|x| x.stream).count();
            if streams == 0 {
                return (
                    false,
                    "no request asked for a stream: nothing shows it; add `stream: true` to the traffic".into(),
                    None,
                );
            }
            (
                r.cut_streams <= *n,
                format!(
                    "{} of {streams} streams cut after they started",
                    r.cut_streams
                ),
                None,
            )
        }
        Expectation::NoDuplicateAttempts => {
            let serving = r.handled.values().filter(|n| **n > 0).count();
            if serving < 2 {
                return (
                    false,
                    format!(
                        "only {serving} replica handled requests: no request could reach a provider from two"
                    ),
                    None,
                );
            }
            let held = r.duplicates.is_empty();
            (
                held,
                format!(
                    "{} requests reached a provider from two replicas ({} replicas handled requests)",
                    r.duplicates.len(),
                    serving
                ),
                r.duplicates.first().map(|d| {
                    format!(
                        "request #{} from replicas {:?}: {}",
                        d.n, d.replicas, d.path
                    )
                }),
            )
        }
        Expectation::RerouteWithin(limit) => {
            let out: Vec<_> = r.faults.iter().filter(|f| f.action.takes_out()).collect();
            bounded(
                &out,
                *limit,
                |f| f.out_after_ms,
                "the balancer marked it down",
            )
        }
        Expectation::ServesAgainWithin(limit) => {
            let back: Vec<_> = r.faults.iter().filter(|f| !f.action.takes_out()).collect();
            bounded(
                &back,
                *limit,
                |f| f.served_after_ms,
                "it served a request again",
            )
        }
        Expectation::MaxFailedProviderAttempts(n) => {
            let total: u64 = r.attempts.values().map(|a| a.total).sum();
            if total == 0 {
                return (
                    false,
                    "no provider attempt came from a replica: nothing shows it".into(),
                    None,
                );
            }
            let per: Vec<String> = r
                .attempts
                .iter()
                .map(|(k, a)| format!("{k} {}", a.failed))
                .collect();
            (
                r.failed_provider_attempts <= *n,
                format!(
                    "{} failed provider attempts ({}); router state {}",
                    r.failed_provider_attempts,
                    per.join(", "),
                    r.shared_state
                ),
                None,
            )
        }
        _ => (false, "not an expectation about replicas".to_string(), None),
    }
}

/// Every fault in `faults` fired, met traffic, and `measured` came within
/// `limit`.
fn bounded(
    faults: &[&super::measure::FaultReport],
    limit: Duration,
    measured: impl Fn(&super::measure::FaultReport) -> Option<u64>,
    what: &str,
) -> (bool, String, Option<String>) {
    if faults.is_empty() {
        return (
            false,
            "no gateway fault of that kind: nothing shows it".into(),
            None,
        );
    }
    let mut parts = Vec::new();
    let mut held = true;
    let mut example = None;
    for f in faults {
        let text = match (&f.error, measured(f)) {
            (Some(e), _) => {
                held = false;
                format!("{}: not done ({e})", f.label)
            }
            (None, None) => {
                held = false;
                format!(
                    "{}: not seen before the traffic ended ({what})",
                    short(&f.label)
                )
            }
            (None, Some(ms)) => {
                if Duration::from_millis(ms) > limit {
                    held = false;
                }
                format!("{}: {what} after {}", short(&f.label), ms_text(ms))
            }
        };
        if !held && example.is_none() {
            example = Some(text.clone());
        }
        parts.push(text);
    }
    (held, parts.join("; "), example)
}

/// A fault's label without its file position.
fn short(label: &str) -> &str {
    label.split(" (").next().unwrap_or(label)
}
