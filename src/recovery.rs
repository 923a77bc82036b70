//! A scenario in time: how the gateway rode an outage and came back from
//! it, how it treated a failing deployment, whether every request ended in
//! time. Pure functions over what the client saw (records), what every
//! provider saw (the journal's attempts) and when each fault was active.
//! One clock for all three: microseconds since the traffic started (the
//! journal's time zero, which the runner sets when the gateway is ready).

use crate::paths::RequestPath;
use crate::records::RequestRecord;
use crate::scenario::{ActiveWindow, PlacedFault};
use mock_providers::{Attempt, Outcome};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

fn us(d: Duration) -> u64 {
    d.as_micros() as u64
}

/// Seconds as reports write them: `2.350s`.
pub fn secs(us: u64) -> String {
    format!("{:.3}s", us as f64 / 1e6)
}

/// The windows of every fault with a time schedule, earliest first.
pub fn outage_windows(faults: &[PlacedFault]) -> Vec<ActiveWindow> {
    let mut w: Vec<ActiveWindow> = faults.iter().flat_map(|f| f.active.clone()).collect();
    w.sort_by_key(|w| (w.from, w.to));
    w
}

fn inside(windows: &[ActiveWindow], t_us: u64) -> bool {
    windows
        .iter()
        .any(|w| t_us >= us(w.from) && t_us < us(w.to))
}

/// An attempt that reached a deployment, not side traffic.
fn completions(attempts: &[Attempt]) -> impl Iterator<Item = &Attempt> {
    attempts.iter().filter(|a| a.is_completion())
}

/// Whether an attempt served a good, whole answer.
fn served(a: &Attempt) -> bool {
    a.outcome == Outcome::Served && a.status == Some(200) && a.completed
}

/// Requests sent while a fault was active, and what became of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outage {
    /// The active windows, microseconds since the traffic started.
    pub windows: Vec<(u64, u64)>,
    /// Requests sent inside a window.
    pub sent: usize,
    /// Of those, answered 2xx whole.
    pub served: usize,
    /// Attempts on the failing deployments inside their windows.
    pub attempts_on_failing: usize,
    /// A request sent during the outage that failed (its number).
    pub first_failed: Option<u64>,
}

impl Outage {
    /// Share of requests sent during the outage that were served.
    pub fn served_share(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.served as f64 / self.sent as f64)
    }

    /// Probe discipline: attempts on the failing deployment per client
    /// request sent during the outage.
    pub fn attempts_per_request(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.attempts_on_failing as f64 / self.sent as f64)
    }
}

/// Served during the outage and probe discipline; `None` when no fault of
/// the scenario has a time window.
pub fn outage(
    faults: &[PlacedFault],
    records: &[RequestRecord],
    attempts: &[Attempt],
) -> Option<Outage> {
    let windows = outage_windows(faults);
    if windows.is_empty() {
        return None;
    }
    let during: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| inside(&windows, r.started_us))
        .collect();
    let attempts_on_failing = completions(attempts)
        .filter(|a| {
            faults
                .iter()
                .any(|f| f.deployments.contains(&a.deployment) && inside(&f.active, a.received_us))
        })
        .count();
    Some(Outage {
        windows: windows.iter().map(|w| (us(w.from), us(w.to))).collect(),
        sent: during.len(),
        served: during.iter().filter(|r| r.ok()).count(),
        attempts_on_failing,
        first_failed: during.iter().find(|r| !r.ok()).map(|r| r.n),
    })
}

/// After an outage ends: when the primary (the deployment the fault was
/// on) served again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovery {
    /// The fault's label.
    pub fault: String,
    /// Its deployments.
    pub deployments: Vec<String>,
    /// The window's end, microseconds since the traffic started.
    pub ended_us: u64,
    /// Requests sent after the end (before the fault's next window).
    pub sent_after: usize,
    /// Time from the end to the first answer the primary served, if it did.
    pub back_after_us: Option<u64>,
    /// Where the requests after the end were served instead, counted.
    pub served_instead: BTreeMap<String, usize>,
}

/// Back on the primary: one entry per window of every fault with one.
pub fn back_on_primary(
    faults: &[PlacedFault],
    records: &[RequestRecord],
    paths: &[RequestPath],
    attempts: &[Attempt],
) -> Vec<Recovery> {
    let mut out = Vec::new();
    for f in faults {
        for (i, w) in f.active.iter().enumerate() {
            // A window that met no attempt was no outage: nothing to come back from.
            let met = completions(attempts).any(|a| {
                f.deployments.contains(&a.deployment)
                    && matches!(a.outcome, Outcome::Fault(_))
                    && inside(std::slice::from_ref(w), a.received_us)
            });
            if !met {
                continue;
            }
            let end = us(w.to);
            let until = f.active.get(i + 1).map_or(u64::MAX, |next| us(next.from));
            let back = completions(attempts)
                .filter(|a| a.marker.is_some() && f.deployments.contains(&a.deployment))
                .filter(|a| a.received_us >= end && a.received_us < until && served(a))
                .map(|a| a.received_us - end)
                .min();
            let after: Vec<&RequestRecord> = records
                .iter()
                .filter(|r| r.started_us >= end && r.started_us < until)
                .collect();
            let mut served_instead = BTreeMap::new();
            for r in &after {
                let by = paths
                    .iter()
                    .find(|p| p.n == r.n)
                    .and_then(|p| p.served_by())
                    .map(|s| s.deployment.clone());
                match by {
                    Some(d) if f.deployments.contains(&d) => {}
                    Some(d) => *served_instead.entry(d).or_insert(0) += 1,
                    None => *served_instead.entry("nobody".into()).or_insert(0) += 1,
                }
            }
            out.push(Recovery {
                fault: f.label.clone(),
                deployments: f.deployments.clone(),
                ended_us: end,
                sent_after: after.len(),
                back_after_us: back,
                served_instead,
            });
        }
    }
    out
}

/// A rate-limit answer carrying `retry-after`, and the next attempt on
/// the same deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetryGap {
    /// The deployment.
    pub deployment: String,
    /// The 429's journal sequence number.
    pub seq: u64,
    /// The wait it asked for, microseconds.
    pub asked_us: u64,
    /// When the answer was over, microseconds since the traffic started.
    pub answered_us: u64,
    /// The next attempt on the deployment: its sequence number and the gap
    /// from the answer, microseconds; `None` when none came.
    pub next: Option<(u64, u64)>,
}

impl RetryGap {
    /// Whether the next attempt waited at least what was asked.
    pub fn honoured(&self) -> bool {
        self.next.is_none_or(|(_, gap)| gap >= self.asked_us)
    }

    /// One line a person reads.
    pub fn describe(&self) -> String {
        let next = match self.next {
            Some((seq, gap)) => format!("the next attempt #{seq} came {} later", secs(gap)),
            None => "no attempt came after it".to_string(),
        };
        format!(
            "attempt #{} on {} answered 429 with retry-after {} at {}; {next}",
            self.seq,
            self.deployment,
            secs(self.asked_us),
            secs(self.answered_us)
        )
    }
}

/// Every rate-limit answer that carried `retry-after`, with its gap.
pub fn retry_gaps(faults: &[PlacedFault], attempts: &[Attempt]) -> Vec<RetryGap> {
    let asked: BTreeMap<&str, Duration> = faults
        .iter()
        .flat_map(|f| f.retry_after.iter().map(|(d, w)| (d.as_str(), *w)))
        .collect();
    let list: Vec<&Attempt> = completions(attempts).collect();
    list.iter()
        .filter(|a| a.failure() == Some(mock_providers::FailureClass::RateLimit))
        .filter_map(|a| {
            let wait = asked.get(a.deployment.as_str())?;
            let next = list
                .iter()
                .filter(|b| b.deployment == a.deployment && b.received_us >= a.finished_us)
                .min_by_key(|b| b.received_us)
                .map(|b| (b.seq, b.received_us - a.finished_us));
            Some(RetryGap {
                deployment: a.deployment.clone(),
                seq: a.seq,
                asked_us: us(*wait),
                answered_us: a.finished_us,
                next,
            })
        })
        .collect()
}

/// The most attempts one failing deployment took within one second.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Burst {
    /// The deployment.
    pub deployment: String,
    /// Attempts within the second.
    pub attempts: usize,
    /// When that second began, microseconds since the traffic started.
    pub from_us: u64,
}

/// No hammering: the busiest second of a failing deployment, counting the
/// attempts that met a fault or arrived while a fault on it was active.
/// `None` when no attempt reached a failing deployment.
pub fn busiest_second(faults: &[PlacedFault], attempts: &[Attempt]) -> Option<Burst> {
    let mut per: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for a in completions(attempts) {
        let on: Vec<&PlacedFault> = faults
            .iter()
            .filter(|f| f.deployments.contains(&a.deployment))
            .collect();
        let failing = !on.is_empty()
            && (matches!(a.outcome, Outcome::Fault(_))
                || on.iter().any(|f| inside(&f.active, a.received_us)));
        if failing {
            per.entry(&a.deployment).or_default().push(a.received_us);
        }
    }
    let mut best: Option<Burst> = None;
    for (d, mut times) in per {
        times.sort_unstable();
        let mut lo = 0;
        for hi in 0..times.len() {
            while times[hi] - times[lo] >= 1_000_000 {
                lo += 1;
            }
            let n = hi - lo + 1;
            if best.as_ref().is_none_or(|b| n > b.attempts) {
                best = Some(Burst {
                    deployment: d.to_string(),
                    attempts: n,
                    from_us: times[lo],
                });
            }
        }
    }
    best
}

/// Requests the gateway answered by itself: an HTTP answer with no
/// provider attempt behind it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SelfAnswered {
    /// How many, per status.
    pub by_status: BTreeMap<u16, usize>,
    /// The first one: its number and the start of its body.
    pub example: Option<(u64, String)>,
    /// Why, with the config line behind it, where the gateway's adapter
    /// can tell from the answer.
    pub why: Option<String>,
}

impl SelfAnswered {
    /// How many in all.
    pub fn count(&self) -> usize {
        self.by_status.values().sum()
    }
}

/// Counts the requests the gateway answered with no provider attempt
/// (LiteLLM's 429 while every deployment cools down, for one).
pub fn self_answered(records: &[RequestRecord], paths: &[RequestPath]) -> SelfAnswered {
    let mut out = SelfAnswered::default();
    for p in paths.iter().filter(|p| p.steps.is_empty()) {
        let Some(status) = p.client_status else {
            continue;
        };
        *out.by_status.entry(status).or_insert(0) += 1;
        if out.example.is_none() {
            let body = records
                .iter()
                .find(|r| r.n == p.n)
                .and_then(|r| r.error_body.clone())
                .unwrap_or_default();
            let short: String = body.replace('\n', " ").chars().take(200).collect();
            out.example = Some((p.n, short));
        }
    }
    out
}

/// Everything measured in time, for the reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timing {
    /// Served during the outage and probe discipline (a fault with a window).
    pub outage: Option<Outage>,
    /// Back on the primary, per window.
    pub recoveries: Vec<Recovery>,
    /// Rate-limit answers carrying `retry-after`.
    pub retry_after: Vec<RetryGap>,
    /// The busiest second of a failing deployment.
    pub busiest_second: Option<Burst>,
    /// The longest a request took, microseconds (the one that timed out
    /// counts as never ending).
    pub slowest_us: Option<u64>,
    /// Requests the client gave up on (its timeout).
    pub timed_out: usize,
    /// The longest time to first token, microseconds.
    pub ttft_max_us: Option<u64>,
    /// Requests the gateway answered by itself.
    pub self_answered: SelfAnswered,
    /// Whether the request sent after the traffic succeeded (only when the
    /// scenario expects `alive_after`).
    pub alive_after: Option<bool>,
    /// That request's path.
    pub alive_after_path: Option<String>,
}

impl Timing {
    /// What was measured, one line each, for people; nothing for a
    /// scenario with no window, no retry-after, no failing deployment.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(o) = &self.outage {
            let windows: Vec<String> = o
                .windows
                .iter()
                .map(|(a, b)| format!("{}..{}", secs(*a), secs(*b)))
                .collect();
            out.push(match (o.served_share(), o.attempts_per_request()) {
                (Some(share), Some(per)) => format!(
                    "outage {}: {} of {} requests sent during it served ({:.0}%); {:.2} attempts on the failing deployment per request",
                    windows.join(", "),
                    o.served,
                    o.sent,
                    share * 100.0,
                    per
                ),
                _ => format!("outage {}: no request was sent during it", windows.join(", ")),
            });
        }
        for r in &self.recoveries {
            let who = r.deployments.join(", ");
            out.push(match r.back_after_us {
                Some(back) => format!(
                    "back on the primary: {who} served again {} after the outage ended at {}",
                    secs(back),
                    secs(r.ended_us)
                ),
                None => format!(
                    "back on the primary: {who} never served again after {} ({} requests sent after it)",
                    secs(r.ended_us),
                    r.sent_after
                ),
            });
        }
        if let Some(first) = self.retry_after.first() {
            let too_soon = self.retry_after.iter().filter(|g| !g.honoured()).count();
            let shortest = self
                .retry_after
                .iter()
                .filter_map(|g| g.next.map(|(_, gap)| gap))
                .min()
                .map_or("no attempt followed".to_string(), |g| {
                    format!("shortest gap to the next attempt {}", secs(g))
                });
            out.push(format!(
                "retry-after: {} 429s asked to wait ({} on {}); {shortest}; {too_soon} followed too soon",
                self.retry_after.len(),
                secs(first.asked_us),
                first.deployment
            ));
        }
        if let Some(b) = &self.busiest_second {
            out.push(format!(
                "busiest second on a failing deployment: {} attempts on {} from {}",
                b.attempts,
                b.deployment,
                secs(b.from_us)
            ));
        }
        if self.timed_out > 0 {
            out.push(format!(
                "{} requests timed out: the gateway did not answer before the client gave up",
                self.timed_out
            ));
        }
        if self.self_answered.count() > 0 {
            let by: Vec<String> = self
                .self_answered
                .by_status
                .iter()
                .map(|(s, n)| format!("{n}x {s}"))
                .collect();
            let example = self
                .self_answered
                .example
                .as_ref()
                .map(|(n, body)| format!("; e.g. #{n}: {body}"))
                .unwrap_or_default();
            out.push(format!(
                "the gateway answered {} requests by itself, with no provider attempt: {}{example}",
                self.self_answered.count(),
                by.join(", ")
            ));
            if let Some(why) = &self.self_answered.why {
                out.push(format!("  why: {why}"));
            }
        }
        if let Some(ok) = self.alive_after {
            let path = self.alive_after_path.as_deref().unwrap_or("no path");
            out.push(format!(
                "alive after: {} ({path})",
                if ok { "served" } else { "failed" }
            ));
        }
        out
    }
}

/// Measures a scenario in time.
pub fn measure(
    faults: &[PlacedFault],
    records: &[RequestRecord],
    paths: &[RequestPath],
    attempts: &[Attempt],
    alive_after: Option<&RequestRecord>,
) -> Timing {
    Timing {
        outage: outage(faults, records, attempts),
        recoveries: back_on_primary(faults, records, paths, attempts),
        retry_after: retry_gaps(faults, attempts),
        busiest_second: busiest_second(faults, attempts),
        slowest_us: records.iter().map(|r| r.latency_us).max(),
        timed_out: records.iter().filter(|r| r.timed_out()).count(),
        ttft_max_us: records.iter().filter_map(|r| r.first_token_us).max(),
        self_answered: self_answered(records, paths),
        alive_after: alive_after.map(RequestRecord::ok),
        alive_after_path: None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mock_providers::{Dialect, FailureClass, Traffic};

    pub(crate) fn record(n: u64, started_ms: u64, latency_ms: u64, status: u16) -> RequestRecord {
        RequestRecord {
            n,
            marker: format!("xf:t:{n}"),
            traffic: 0,
            model: "m".into(),
            stream: false,
            started_us: started_ms * 1000,
            latency_us: latency_ms * 1000,
            ttfb_us: Some(latency_ms * 1000),
            first_token_us: Some(latency_ms * 1000),
            status: Some(status),
            transport_error: None,
            stream_complete: None,
            stream_error: None,
            headers: BTreeMap::new(),
            usage: None,
            cost: None,
            error_body: None,
            bytes_sent: 0,
        }
    }

    pub(crate) fn attempt(
        seq: u64,
        n: u64,
        deployment: &str,
        at_ms: u64,
        fault: Option<FailureClass>,
    ) -> Attempt {
        Attempt {
            seq,
            attempt: seq,
            traffic: Traffic::Completion,
            deployment: deployment.into(),
            dialect: Dialect::Openai,
            method: "POST".into(),
            path: "/v1/chat/completions".into(),
            model: None,
            marker: Some(format!("xf:t:{n}")),
            stream: false,
            bytes_in: 0,
            prompt_tokens: None,
            token_counter: None,
            max_tokens: None,
            outcome: fault.map_or(Outcome::Served, Outcome::Fault),
            cause: None,
            status: Some(if fault.is_some() { 429 } else { 200 }),
            usage: None,
            bytes_out: 0,
            events_sent: 0,
            completed: true,
            replica: None,
            received_unix_ms: 0,
            received_us: at_ms * 1000,
            first_byte_us: Some(at_ms * 1000 + 1000),
            finished_us: at_ms * 1000 + 2000,
        }
    }

    pub(crate) fn window_fault(on: &str, from_s: u64, to_s: u64) -> PlacedFault {
        PlacedFault {
            label: format!("faults[0]: server_error on {on}"),
            class: FailureClass::ServerError,
            deployments: vec![on.into()],
            active: vec![ActiveWindow {
                from: Duration::from_secs(from_s),
                to: Duration::from_secs(to_s),
            }],
            retry_after: BTreeMap::new(),
        }
    }

    #[test]
    fn served_during_outage_counts_requests_sent_inside_the_window() {
        let faults = [window_fault("primary", 1, 3)];
        let records = [
            record(1, 500, 10, 200),  // before
            record(2, 1500, 10, 200), // during, served
            record(3, 2500, 10, 503), // during, failed
            record(4, 3500, 10, 200), // after
        ];
        let attempts = [
            attempt(1, 2, "primary", 1500, Some(FailureClass::ServerError)),
            attempt(2, 2, "backup", 1502, None),
            attempt(3, 3, "primary", 2500, Some(FailureClass::ServerError)),
            attempt(4, 3, "primary", 2600, Some(FailureClass::ServerError)),
        ];
        let o = outage(&faults, &records, &attempts).unwrap();
        assert_eq!((o.sent, o.served, o.first_failed), (2, 1, Some(3)));
        assert_eq!(o.served_share(), Some(0.5));
        assert_eq!(o.attempts_per_request(), Some(1.5));
    }

    #[test]
    fn no_window_fault_means_no_outage_to_measure() {
        let mut f = window_fault("primary", 1, 3);
        f.active.clear();
        assert_eq!(outage(&[f], &[record(1, 0, 1, 200)], &[]), None);
    }

    #[test]
    fn back_on_primary_is_the_first_served_attempt_after_the_window() {
        let faults = [window_fault("primary", 1, 3)];
        let records = [record(1, 3100, 10, 200), record(2, 3600, 10, 200)];
        let attempts = [
            attempt(1, 1, "primary", 1100, Some(FailureClass::ServerError)),
            attempt(2, 1, "backup", 3100, None), // still routed away
            attempt(3, 2, "primary", 3600, None),
        ];
        let paths = crate::paths::join(&records, &attempts, &Default::default()).paths;
        let r = &back_on_primary(&faults, &records, &paths, &attempts)[0];
        assert_eq!(r.back_after_us, Some(600_000));
        assert_eq!(r.sent_after, 2);
        assert_eq!(
            r.served_instead,
            BTreeMap::from([("backup".to_string(), 1)])
        );
    }

    #[test]
    fn a_window_that_met_no_attempt_has_no_recovery_to_measure() {
        let faults = [window_fault("primary", 0, 1)];
        let records = [record(1, 3100, 10, 200)];
        let attempts = [attempt(1, 1, "primary", 3100, None)];
        let paths = crate::paths::join(&records, &attempts, &Default::default()).paths;
        assert_eq!(
            back_on_primary(&faults, &records, &paths, &attempts),
            vec![]
        );
    }

    #[test]
    fn a_primary_that_never_serves_again_has_no_recovery_time() {
        let faults = [window_fault("primary", 1, 3)];
        let records = [record(1, 3100, 10, 200)];
        let attempts = [
            attempt(1, 1, "primary", 1100, Some(FailureClass::ServerError)),
            attempt(2, 1, "backup", 3100, None),
        ];
        let paths = crate::paths::join(&records, &attempts, &Default::default()).paths;
        let r = &back_on_primary(&faults, &records, &paths, &attempts)[0];
        assert_eq!((r.back_after_us, r.sent_after), (None, 1));
    }

    #[test]
    fn retry_after_gap_runs_from_the_answer_to_the_next_attempt_on_that_deployment() {
        let mut f = window_fault("primary", 0, 10);
        f.class = FailureClass::RateLimit;
        f.retry_after = BTreeMap::from([("primary".to_string(), Duration::from_secs(1))]);
        let attempts = [
            attempt(1, 1, "primary", 0, Some(FailureClass::RateLimit)), // over at 2 ms
            attempt(2, 1, "backup", 5, None),
            attempt(3, 2, "primary", 302, Some(FailureClass::RateLimit)), // 300 ms later: too soon
            attempt(4, 3, "primary", 1400, None), // 1.096 s after #3: honoured
        ];
        let gaps = retry_gaps(&[f], &attempts);
        assert_eq!(gaps.len(), 2);
        assert_eq!(gaps[0].next, Some((3, 300_000)));
        assert!(!gaps[0].honoured());
        assert_eq!(gaps[1].next, Some((4, 1_096_000)));
        assert!(gaps[1].honoured());
        assert_eq!(
            gaps[0].describe(),
            "attempt #1 on primary answered 429 with retry-after 1.000s at 0.002s; the next attempt #3 came 0.300s later"
        );
    }

    #[test]
    fn busiest_second_counts_only_attempts_on_a_failing_deployment() {
        let faults = [window_fault("primary", 1, 2)];
        let attempts = [
            attempt(1, 1, "primary", 500, None), // before the window, served: not failing
            attempt(2, 2, "primary", 1000, Some(FailureClass::ServerError)),
            attempt(3, 2, "primary", 1100, Some(FailureClass::ServerError)),
            attempt(4, 2, "primary", 1999, Some(FailureClass::ServerError)),
            attempt(5, 3, "primary", 2500, Some(FailureClass::ServerError)),
            attempt(6, 3, "backup", 1200, None),
            attempt(7, 3, "backup", 1300, None),
        ];
        let b = busiest_second(&faults, &attempts).unwrap();
        assert_eq!((b.deployment.as_str(), b.attempts), ("primary", 3));
        assert_eq!(b.from_us, 1_000_000);
        assert_eq!(busiest_second(&faults, &attempts[5..]), None);
    }

    #[test]
    fn requests_with_no_provider_attempt_are_counted_as_answered_by_the_gateway() {
        let mut r = record(1, 0, 1, 429);
        r.error_body = Some("No deployments available for selected model".into());
        let records = [r, record(2, 10, 1, 200)];
        let attempts = [attempt(1, 2, "primary", 10, None)];
        let paths = crate::paths::join(&records, &attempts, &Default::default()).paths;
        let s = self_answered(&records, &paths);
        assert_eq!(s.by_status, BTreeMap::from([(429, 1)]));
        assert_eq!(
            s.example,
            Some((1, "No deployments available for selected model".into()))
        );
    }
}
