//! Joining what the client saw with what every provider saw, and classifying
//! each request's path. Pure functions over records; no I/O.

use crate::records::RequestRecord;
use mock_providers::{Attempt, FailureClass, Outcome, Traffic};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// How a request's path went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathClass {
    /// The first attempt served it.
    Direct,
    /// Served after retrying the same deployment.
    RetriedSameDeployment,
    /// Served by another deployment of the same provider.
    FellBackSameProvider,
    /// Served by a deployment of another provider.
    CrossedProvider,
    /// Failed, and only one deployment was ever tried.
    FailedNoFailover,
    /// Failed after trying more than one deployment.
    FailedAfterFailover,
    /// No provider attempt can be tied to it (the gateway answered by itself,
    /// or reached something other than our mocks).
    Unattributed,
}

impl PathClass {
    /// Every class, in report order.
    pub const ALL: [PathClass; 7] = [
        PathClass::Direct,
        PathClass::RetriedSameDeployment,
        PathClass::FellBackSameProvider,
        PathClass::CrossedProvider,
        PathClass::FailedNoFailover,
        PathClass::FailedAfterFailover,
        PathClass::Unattributed,
    ];

    /// The names used in files.
    pub const NAMES: [&'static str; 7] = [
        "direct",
        "retried_same_deployment",
        "fell_back_same_provider",
        "crossed_provider",
        "failed_no_failover",
        "failed_after_failover",
        "unattributed",
    ];

    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        PathClass::NAMES[self as usize]
    }

    /// Parses a class name.
    pub fn from_name(name: &str) -> Option<PathClass> {
        PathClass::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether the client got a good answer.
    pub fn succeeded(self) -> bool {
        matches!(
            self,
            PathClass::Direct
                | PathClass::RetriedSameDeployment
                | PathClass::FellBackSameProvider
                | PathClass::CrossedProvider
        )
    }
}

impl fmt::Display for PathClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One attempt on a request's path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Journal sequence number.
    pub seq: u64,
    /// Deployment id.
    pub deployment: String,
    /// Its provider.
    pub provider: String,
    /// `served`, `refused`, or the failure class.
    pub outcome: Outcome,
    /// HTTP status the mock sent (none for a reset).
    pub status: Option<u16>,
    /// Whether the answer was delivered whole.
    pub completed: bool,
    /// Time the provider spent on it (arrival to response over), microseconds.
    pub service_us: u64,
    /// Prompt tokens the provider received, by its own counter: every retry
    /// and fallback re-sends the whole prompt (`crossfire tax` adds them up).
    pub prompt_tokens: Option<u64>,
    /// The gateway replica that sent it (gateways run as replicas behind
    /// a balancer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<u32>,
}

impl Step {
    /// Whether this attempt delivered a good answer: a timeout's or a slow
    /// first token's answer comes late but whole, a `no_done` stream whole
    /// but for its terminator.
    pub fn served(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Served
                | Outcome::Fault(
                    FailureClass::Timeout | FailureClass::SlowFirstToken | FailureClass::NoDone
                )
        ) && self.completed
            && self.status == Some(200)
    }

    /// Whether this attempt met a fault.
    pub fn faulted(&self) -> bool {
        matches!(self.outcome, Outcome::Fault(_))
    }

    /// `anthropic/claude 429`, `openai/gpt 200`.
    pub fn short(&self) -> String {
        format!("{}/{} {}", self.provider, self.deployment, self.answer())
    }

    /// [`Step::short`] with the replica that sent it, when the gateway ran
    /// as replicas (a path as a person reads it; shapes and snapshots leave
    /// the replica out: which replica the balancer picks is not routing).
    pub fn short_with_replica(&self) -> String {
        match self.replica {
            Some(r) => format!("{} (from replica-{r})", self.short()),
            None => self.short(),
        }
    }

    /// What the attempt answered: its status, the fault inside a 200
    /// (`200 stream_cut`), or the fault that gave no status (`connection_reset`).
    pub fn answer(&self) -> String {
        match (self.outcome, self.status) {
            (Outcome::Fault(c), Some(200)) => format!("200 {c}"),
            (_, Some(s)) => s.to_string(),
            (Outcome::Fault(c), None) => c.to_string(),
            (_, None) => "no answer".to_string(),
        }
    }
}

/// A request's whole path: its attempts in order and what the client saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestPath {
    /// Request number in the run.
    pub n: u64,
    /// The marker it carried.
    pub marker: String,
    /// Index of its traffic entry.
    pub traffic: usize,
    /// The model group asked for.
    pub model: String,
    /// Attempts, by sequence number.
    pub steps: Vec<Step>,
    /// What the client saw: an HTTP status, or none on a transport error.
    pub client_status: Option<u16>,
    /// Whether the client got a good, complete answer.
    pub ok: bool,
    /// The class of the path.
    pub class: PathClass,
    /// Whether any attempt met a fault.
    pub met_fault: bool,
    /// Client latency in microseconds.
    pub latency_us: u64,
    /// The replica the balancer handed the request to last (`replica-2`),
    /// from the balancer's log, when the gateway runs as replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
}

impl RequestPath {
    /// The attempt that served the request, if one did.
    pub fn served_by(&self) -> Option<&Step> {
        if self.ok {
            self.steps.iter().rev().find(|s| s.served())
        } else {
            None
        }
    }

    /// Attempts per deployment, most first.
    pub fn attempts_per_deployment(&self) -> BTreeMap<&str, u32> {
        let mut m = BTreeMap::new();
        for s in &self.steps {
            *m.entry(s.deployment.as_str()).or_insert(0) += 1;
        }
        m
    }

    /// One line a person reads: `claude-opus: anthropic/claude 429 -> openai/gpt 200 -> client 200`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.steps.iter().map(Step::short_with_replica).collect();
        if parts.is_empty() {
            parts.push("no provider attempt (the gateway answered by itself)".into());
        }
        let client = match self.client_status {
            Some(s) if self.ok && !self.class.succeeded() && !self.steps.is_empty() => {
                format!("client {s} (the provider's error was swallowed)")
            }
            Some(s) if self.ok => format!("client {s}"),
            Some(s) => format!("client {s} (failed)"),
            None => "client error".into(),
        };
        parts.push(client);
        match &self.replica {
            Some(r) => format!("{} via {r}: {}", self.model, parts.join(" -> ")),
            None => format!("{}: {}", self.model, parts.join(" -> ")),
        }
    }
}

/// Classifies a path from its steps and whether the client got a good answer.
pub fn classify(steps: &[Step], ok: bool) -> PathClass {
    let Some(first) = steps.first() else {
        return PathClass::Unattributed;
    };
    if ok {
        let Some(served) = steps.iter().rev().find(|s| s.served()) else {
            // A 200 the client took for a success, though the provider's
            // stream broke or carried a garbled event: the gateway swallowed
            // the error. That is a failure.
            let swallowed = steps.iter().any(|s| {
                matches!(
                    s.outcome,
                    Outcome::Fault(
                        FailureClass::StreamCut
                            | FailureClass::StreamError
                            | FailureClass::Stall
                            | FailureClass::MalformedEvent
                    )
                )
            });
            if swallowed {
                return classify(steps, false);
            }
            return PathClass::Unattributed;
        };
        if steps.len() == 1 {
            PathClass::Direct
        } else if served.provider != first.provider {
            PathClass::CrossedProvider
        } else if served.deployment != first.deployment {
            PathClass::FellBackSameProvider
        } else {
            PathClass::RetriedSameDeployment
        }
    } else {
        let one = steps.iter().all(|s| s.deployment == first.deployment);
        if one {
            PathClass::FailedNoFailover
        } else {
            PathClass::FailedAfterFailover
        }
    }
}

/// Every request's path, and the attempts no request can claim.
#[derive(Debug, Clone, Serialize)]
pub struct Joined {
    /// One path per request, in request order.
    pub paths: Vec<RequestPath>,
    /// Attempts without a marker, or with a marker no request sent.
    pub stray: Vec<Attempt>,
    /// Side traffic: calls a gateway or SDK makes beside completions (model
    /// lists, token counts, health; LiteLLM's `GET /v1/models` at start), as
    /// the mocks journaled them, plus, from journals older than that field,
    /// any non-POST without a marker. Seen, never part of a path or stray.
    pub probes: Vec<Attempt>,
    /// Requests to endpoints a mock does not serve (answered with the
    /// provider's 404). Those carrying a request's marker are also steps of
    /// its path: the gateway did try them.
    pub unserved: Vec<Attempt>,
}

/// Joins client records with the journal by marker, orders attempts by
/// sequence, and classifies each request.
pub fn join(
    records: &[RequestRecord],
    attempts: &[Attempt],
    providers: &HashMap<String, String>,
) -> Joined {
    let mut by_marker: HashMap<&str, Vec<&Attempt>> = HashMap::new();
    let known: std::collections::HashSet<&str> =
        records.iter().map(|r| r.marker.as_str()).collect();
    let mut stray = Vec::new();
    let mut probes = Vec::new();
    let mut unserved = Vec::new();
    for a in attempts {
        match a.traffic {
            Traffic::Side => {
                probes.push(a.clone());
                continue;
            }
            Traffic::Unserved => {
                unserved.push(a.clone());
                if !a.marker.as_deref().is_some_and(|m| known.contains(m)) {
                    continue;
                }
            }
            Traffic::Completion => {}
        }
        match a.marker.as_deref() {
            Some(m) if known.contains(m) => by_marker.entry(m).or_default().push(a),
            None if a.method != "POST" => probes.push(a.clone()),
            _ => stray.push(a.clone()),
        }
    }
    let paths = records
        .iter()
        .map(|r| {
            let mut list = by_marker.remove(r.marker.as_str()).unwrap_or_default();
            list.sort_by_key(|a| a.seq);
            let steps: Vec<Step> = list
                .into_iter()
                .map(|a| Step {
                    seq: a.seq,
                    deployment: a.deployment.clone(),
                    provider: providers
                        .get(&a.deployment)
                        .cloned()
                        .unwrap_or_else(|| a.dialect.name().to_string()),
                    outcome: a.outcome,
                    status: a.status,
                    completed: a.completed,
                    service_us: a.service_us(),
                    prompt_tokens: a.prompt_tokens,
                    replica: a.replica,
                })
                .collect();
            let ok = r.ok();
            RequestPath {
                replica: None,
                n: r.n,
                marker: r.marker.clone(),
                traffic: r.traffic,
                model: r.model.clone(),
                class: classify(&steps, ok),
                met_fault: steps.iter().any(Step::faulted),
                steps,
                client_status: r.status,
                ok,
                latency_us: r.latency_us,
            }
        })
        .collect();
    Joined {
        paths,
        stray,
        probes,
        unserved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn step(seq: u64, deployment: &str, provider: &str, ok: bool) -> Step {
        Step {
            replica: None,
            seq,
            deployment: deployment.into(),
            provider: provider.into(),
            outcome: if ok {
                Outcome::Served
            } else {
                Outcome::Fault(FailureClass::RateLimit)
            },
            status: Some(if ok { 200 } else { 429 }),
            completed: true,
            service_us: 0,
            prompt_tokens: None,
        }
    }

    /// A 200 stream from the time and stream faults, as the client got it.
    fn stream_step(class: FailureClass, completed: bool) -> Step {
        Step {
            replica: None,
            outcome: Outcome::Fault(class),
            status: Some(200),
            completed,
            ..step(1, "claude", "anthropic", true)
        }
    }

    #[test]
    fn late_or_unterminated_answers_serve_and_a_garbled_one_is_swallowed() {
        use PathClass::*;
        // Whole, only late (first token) or without its terminator: served.
        for class in [FailureClass::SlowFirstToken, FailureClass::NoDone] {
            let s = stream_step(class, true);
            assert!(s.served(), "{class}");
            assert_eq!(classify(&[s], true), Direct, "{class}");
        }
        // A 200 the client took for a success though an event was garbled.
        let garbled = stream_step(FailureClass::MalformedEvent, true);
        assert!(!garbled.served());
        assert_eq!(classify(&[garbled], true), FailedNoFailover);
        // A hang never answers: the gateway moved on or failed.
        let hung = Step {
            replica: None,
            outcome: Outcome::Fault(FailureClass::Hang),
            status: None,
            completed: false,
            ..step(1, "claude", "anthropic", true)
        };
        assert!(!hung.served());
        assert_eq!(
            classify(&[hung.clone(), step(2, "gpt", "openai", true)], true),
            CrossedProvider
        );
        assert_eq!(classify(&[hung], false), FailedNoFailover);
    }

    #[test]
    fn classes() {
        use PathClass::*;
        let a = |s| step(s, "claude", "anthropic", false);
        assert_eq!(classify(&[step(1, "c", "anthropic", true)], true), Direct);
        assert_eq!(
            classify(&[a(1), step(2, "claude", "anthropic", true)], true),
            RetriedSameDeployment
        );
        assert_eq!(
            classify(&[a(1), step(2, "claude-eu", "anthropic", true)], true),
            FellBackSameProvider
        );
        assert_eq!(
            classify(&[a(1), a(2), step(3, "gpt", "openai", true)], true),
            CrossedProvider
        );
        assert_eq!(classify(&[a(1), a(2), a(3)], false), FailedNoFailover);
        assert_eq!(
            classify(&[a(1), step(2, "gpt", "openai", false)], false),
            FailedAfterFailover
        );
        assert_eq!(classify(&[], true), Unattributed);
        assert_eq!(classify(&[], false), Unattributed);
        // The client got a 200, but no provider served one: the gateway made it up.
        assert_eq!(classify(&[a(1)], true), Unattributed);
    }

    fn journaled(
        seq: u64,
        traffic: Traffic,
        method: &str,
        path: &str,
        marker: Option<&str>,
        status: u16,
    ) -> Attempt {
        Attempt {
            seq,
            attempt: u64::from(traffic == Traffic::Completion),
            traffic,
            deployment: "gpt".into(),
            dialect: mock_providers::Dialect::Openai,
            method: method.into(),
            path: path.into(),
            model: None,
            marker: marker.map(str::to_owned),
            stream: false,
            bytes_in: 0,
            prompt_tokens: None,
            token_counter: None,
            max_tokens: None,
            outcome: match status {
                200 => Outcome::Served,
                500 => Outcome::Fault(FailureClass::ServerError),
                _ => Outcome::Refused,
            },
            cause: None,
            status: Some(status),
            usage: None,
            bytes_out: 0,
            events_sent: 0,
            completed: true,
            replica: None,
            received_unix_ms: 0,
            received_us: 0,
            first_byte_us: None,
            finished_us: 0,
        }
    }

    fn record(marker: &str, status: u16) -> RequestRecord {
        RequestRecord {
            n: 1,
            marker: marker.into(),
            traffic: 0,
            model: "gpt-4o".into(),
            stream: false,
            started_us: 0,
            latency_us: 0,
            ttfb_us: None,
            first_token_us: None,
            status: Some(status),
            transport_error: None,
            stream_complete: None,
            stream_error: None,
            headers: Default::default(),
            usage: None,
            cost: None,
            error_body: None,
            bytes_sent: 0,
        }
    }

    /// Side traffic (even with the request's marker, as a token count sends
    /// it) is neither a step nor stray; an unserved endpoint the request's
    /// marker reached is a step, and listed as unserved.
    #[test]
    fn side_traffic_is_never_a_step_and_unserved_is_listed() {
        let attempts = [
            journaled(1, Traffic::Side, "GET", "/v1/models", None, 200),
            journaled(
                2,
                Traffic::Side,
                "POST",
                "/v1/messages/count_tokens",
                Some("xf:r:1"),
                200,
            ),
            journaled(
                3,
                Traffic::Completion,
                "POST",
                "/v1/chat/completions",
                Some("xf:r:1"),
                500,
            ),
            journaled(
                4,
                Traffic::Completion,
                "POST",
                "/v1/chat/completions",
                Some("xf:r:1"),
                200,
            ),
            journaled(5, Traffic::Unserved, "GET", "/v1/files", None, 404),
            journaled(
                6,
                Traffic::Unserved,
                "POST",
                "/v1/completions",
                Some("xf:r:1"),
                404,
            ),
        ];
        let joined = join(&[record("xf:r:1", 200)], &attempts, &HashMap::new());
        let seqs: Vec<u64> = joined.paths[0].steps.iter().map(|s| s.seq).collect();
        assert_eq!(seqs, [3, 4, 6]);
        assert_eq!(
            joined.probes.iter().map(|a| a.seq).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(
            joined.unserved.iter().map(|a| a.seq).collect::<Vec<_>>(),
            [5, 6]
        );
        assert!(joined.stray.is_empty());
    }

    proptest! {
        #[test]
        fn success_and_failure_classes_never_mix(
            raw in proptest::collection::vec((0usize..3, any::<bool>()), 0..6),
            ok in any::<bool>(),
        ) {
            let names = [("a", "p1"), ("b", "p1"), ("c", "p2")];
            let steps: Vec<Step> = raw.iter().enumerate()
                .map(|(i, (d, served))| step(i as u64, names[*d].0, names[*d].1, *served))
                .collect();
            let class = classify(&steps, ok);
            if class != PathClass::Unattributed {
                prop_assert_eq!(class.succeeded(), ok);
            }
            if class == PathClass::CrossedProvider {
                prop_assert!(steps.iter().any(|s| s.provider != steps[0].provider && s.served()));
            }
            if steps.is_empty() {
                prop_assert_eq!(class, PathClass::Unattributed);
            }
        }
    }
}
