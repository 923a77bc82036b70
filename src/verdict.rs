//! Judging expectations and finding the Failover Illusion: pure functions
//! over paths.

use crate::paths::{PathClass, RequestPath};
use crate::records::RequestRecord;
use crate::recovery::{secs, Timing};
use crate::scenario::{Expectation, Intent, ServedBy, Share};
use mock_providers::Attempt;
use serde::Serialize;
use std::collections::BTreeSet;

/// One expectation, judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The expectation in words.
    pub expectation: String,
    /// Whether it held.
    pub held: bool,
    /// The counts behind the verdict.
    pub detail: String,
    /// A request that broke it, with its full path.
    pub example: Option<String>,
}

/// A finding crossfire reports whatever the expectations say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `failover_illusion`.
    pub kind: &'static str,
    /// The request number.
    pub request: u64,
    /// The model group.
    pub model: String,
    /// What happened, in words.
    pub message: String,
    /// The request's path.
    pub path: String,
    /// Why, in one line with the config line that causes it (illusions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

fn share_text(share: Share, noun: &str) -> String {
    match share {
        Share::Every => format!("every {noun}"),
        Share::AtLeast(p) => format!("at least {}% of {noun}s", trim_pct(p)),
    }
}

fn trim_pct(p: f64) -> String {
    let s = format!("{:.1}", p * 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The expectation in words.
pub fn describe(e: &Expectation) -> String {
    match e {
        Expectation::Status { code, share } => {
            format!("status {code} for {}", share_text(*share, "request"))
        }
        Expectation::Path { class, share } => format!(
            "path {class} for {} that met a fault",
            share_text(*share, "request")
        ),
        Expectation::ServedBy { who, share } => {
            let who = match who {
                ServedBy::Provider(p) => format!("provider {p}"),
                ServedBy::Deployment(d) => format!("deployment {d}"),
            };
            format!("served by {who} for {}", share_text(*share, "request"))
        }
        Expectation::MaxAttempts(n) => format!("at most {n} attempts per request"),
        Expectation::MaxAttemptsPerDeployment(n) => {
            format!("at most {n} attempts on one deployment per request")
        }
        Expectation::LatencyP99Under(d) => format!(
            "client latency p99 under {}",
            mock_providers::fault::fmt_duration(*d)
        ),
        Expectation::NoUnattributed => "no unattributed requests or attempts".to_string(),
        Expectation::ServedDuringOutage(p) => format!(
            "at least {}% of requests sent during the outage served",
            trim_pct(*p)
        ),
        Expectation::BackOnPrimaryWithin(d) => format!(
            "back on the primary within {} of the outage's end",
            mock_providers::fault::fmt_duration(*d)
        ),
        Expectation::RetryAfterHonoured => {
            "retry-after honoured by the next attempt on that deployment".to_string()
        }
        Expectation::MaxAttemptsPerSecond(n) => {
            format!("at most {n} attempts per second on a failing deployment")
        }
        Expectation::WallUnder(d) => format!(
            "every request ends within {}",
            mock_providers::fault::fmt_duration(*d)
        ),
        Expectation::TtftUnder(d) => format!(
            "first token within {} for every request",
            mock_providers::fault::fmt_duration(*d)
        ),
        Expectation::AliveAfter => "a request sent after the traffic succeeds".to_string(),
        Expectation::MaxFailedRequests(n) => format!("at most {n} failed requests"),
        Expectation::MaxCutStreams(n) => format!("at most {n} streams cut"),
        Expectation::NoDuplicateAttempts => {
            "no request reaches a provider from two replicas".to_string()
        }
        Expectation::RerouteWithin(d) => format!(
            "the balancer stops sending to a replica taken out within {}",
            mock_providers::fault::fmt_duration(*d)
        ),
        Expectation::ServesAgainWithin(d) => format!(
            "a restarted or thawed replica serves again within {}",
            mock_providers::fault::fmt_duration(*d)
        ),
        Expectation::MaxFailedProviderAttempts(n) => {
            format!("at most {n} failed provider attempts over every replica")
        }
    }
}

/// What a scenario's expectations are judged over.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Every request's path.
    pub paths: &'a [RequestPath],
    /// Attempts no request claims.
    pub stray: &'a [Attempt],
    /// What the client saw, in the order of `paths`.
    pub records: &'a [RequestRecord],
    /// The scenario's faults, with their active windows.
    pub faults: &'a [crate::scenario::PlacedFault],
    /// What was measured in time.
    pub timing: &'a Timing,
    /// What the gateway's replicas did, when it ran as replicas.
    pub router: Option<&'a crate::router::measure::RouterReport>,
}

/// Judges a count of matches against a share of the scope.
fn by_share(matching: usize, scope: usize, share: Share) -> bool {
    match share {
        Share::Every => matching == scope,
        Share::AtLeast(p) => scope > 0 && matching as f64 >= p * scope as f64 - 1e-9,
    }
}

/// The p-quantile (0..1) of a list, nearest rank.
pub fn quantile(values: &mut [u64], q: f64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

/// Judges every expectation over the facts of a run.
pub fn judge(expect: &[Expectation], facts: &Facts) -> Vec<Verdict> {
    expect.iter().map(|e| judge_one(e, facts)).collect()
}

fn judge_one(e: &Expectation, facts: &Facts) -> Verdict {
    let (paths, stray) = (facts.paths, facts.stray);
    let scoped = |filter: &dyn Fn(&RequestPath) -> bool,
                  good: &dyn Fn(&RequestPath) -> bool,
                  share: Share,
                  scope_noun: &str| {
        let scope: Vec<&RequestPath> = paths.iter().filter(|p| filter(p)).collect();
        let matching = scope.iter().filter(|p| good(p)).count();
        let held = by_share(matching, scope.len(), share) && !scope.is_empty();
        let detail = if scope.is_empty() {
            format!("no {scope_noun}: nothing shows it")
        } else {
            format!("{matching} of {} {scope_noun}", scope.len())
        };
        let example = scope.iter().find(|p| !good(p)).map(|p| p.describe());
        (held, detail, if held { None } else { example })
    };
    let (held, detail, example) = match e {
        Expectation::Status { code, share } => scoped(
            &|_| true,
            &|p| p.client_status == Some(*code) && (p.ok || *code >= 300),
            *share,
            "requests",
        ),
        Expectation::Path { class, share } => scoped(
            &|p| p.met_fault,
            &|p| p.class == *class,
            *share,
            "requests that met a fault",
        ),
        Expectation::ServedBy { who, share } => scoped(
            &|_| true,
            &|p| {
                p.served_by().is_some_and(|s| match who {
                    ServedBy::Provider(x) => &s.provider == x,
                    ServedBy::Deployment(x) => &s.deployment == x,
                })
            },
            *share,
            "requests",
        ),
        Expectation::MaxAttempts(n) => scoped(
            &|_| true,
            &|p| p.steps.len() <= *n as usize,
            Share::Every,
            "requests",
        ),
        Expectation::MaxAttemptsPerDeployment(n) => scoped(
            &|_| true,
            &|p| p.attempts_per_deployment().values().all(|c| c <= n),
            Share::Every,
            "requests",
        ),
        Expectation::LatencyP99Under(limit) => {
            let mut lat: Vec<u64> = paths.iter().map(|p| p.latency_us).collect();
            match quantile(&mut lat, 0.99) {
                None => (false, "no requests: nothing shows it".into(), None),
                Some(p99) => {
                    let held = (p99 as u128) < limit.as_micros();
                    let slowest = paths
                        .iter()
                        .max_by_key(|p| p.latency_us)
                        .map(|p| p.describe());
                    (
                        held,
                        format!(
                            "p99 {:.1} ms over {} requests",
                            p99 as f64 / 1000.0,
                            paths.len()
                        ),
                        if held { None } else { slowest },
                    )
                }
            }
        }
        Expectation::NoUnattributed => {
            let bad = paths
                .iter()
                .filter(|p| p.class == PathClass::Unattributed)
                .count();
            let held = bad == 0 && stray.is_empty();
            let example = paths
                .iter()
                .find(|p| p.class == PathClass::Unattributed)
                .map(|p| p.describe())
                .or_else(|| {
                    stray.first().map(|a| {
                        format!(
                            "attempt #{} on {} with {}",
                            a.seq,
                            a.deployment,
                            match &a.marker {
                                Some(m) => format!("marker {m} that no request sent"),
                                None => "no marker".to_string(),
                            }
                        )
                    })
                });
            (
                held,
                format!(
                    "{bad} unattributed requests, {} attempts no request claims",
                    stray.len()
                ),
                if held { None } else { example },
            )
        }
        Expectation::ServedDuringOutage(_)
        | Expectation::BackOnPrimaryWithin(_)
        | Expectation::RetryAfterHonoured
        | Expectation::MaxAttemptsPerSecond(_)
        | Expectation::WallUnder(_)
        | Expectation::TtftUnder(_)
        | Expectation::AliveAfter => in_time(e, facts),
        Expectation::MaxFailedRequests(_)
        | Expectation::MaxCutStreams(_)
        | Expectation::NoDuplicateAttempts
        | Expectation::RerouteWithin(_)
        | Expectation::ServesAgainWithin(_)
        | Expectation::MaxFailedProviderAttempts(_) => {
            crate::router::judge::judge(e, facts.router, facts.records)
        }
    };
    Verdict {
        expectation: describe(e),
        held,
        detail,
        example,
    }
}

/// The expectations about time: each says why when nothing shows it.
fn in_time(e: &Expectation, facts: &Facts) -> (bool, String, Option<String>) {
    let t = facts.timing;
    let describe_n = |n: u64| {
        facts
            .paths
            .iter()
            .find(|p| p.n == n)
            .map(|p| format!("request #{n}: {}", p.describe()))
    };
    let no_window = || {
        (
            false,
            "no fault of the scenario has a time window (`schedule: {window: [from, to]}`): there is no outage to measure".to_string(),
            None,
        )
    };
    match e {
        Expectation::ServedDuringOutage(want) => match &t.outage {
            None => no_window(),
            Some(o) => match o.served_share() {
                None => (
                    false,
                    format!(
                        "no request was sent during the outage ({}): nothing shows it; send traffic across the window",
                        windows_text(&o.windows)
                    ),
                    None,
                ),
                Some(share) => {
                    let held = share >= want - 1e-9;
                    (
                        held,
                        format!(
                            "{} of {} requests sent during the outage served ({}%)",
                            o.served,
                            o.sent,
                            trim_pct(share)
                        ),
                        if held { None } else { o.first_failed.and_then(describe_n) },
                    )
                }
            },
        },
        Expectation::BackOnPrimaryWithin(limit) => {
            if t.outage.is_none() {
                return no_window();
            }
            if t.recoveries.is_empty() {
                return (
                    false,
                    "no outage window met a client request: nothing to come back from".to_string(),
                    None,
                );
            }
            let mut lines = Vec::new();
            let mut held = true;
            for r in &t.recoveries {
                let who = r.deployments.join(", ");
                let line = match (r.sent_after, r.back_after_us) {
                    (0, _) => {
                        held = false;
                        format!(
                            "no request was sent after the outage on {who} ended at {}: nothing shows it; send traffic past the window",
                            secs(r.ended_us)
                        )
                    }
                    (_, Some(back)) => {
                        held &= u128::from(back) <= limit.as_micros();
                        format!(
                            "{who} served again {} after the outage ended at {}",
                            secs(back),
                            secs(r.ended_us)
                        )
                    }
                    (n, None) => {
                        held = false;
                        let instead: Vec<String> = r
                            .served_instead
                            .iter()
                            .map(|(d, k)| format!("{k}x {d}"))
                            .collect();
                        format!(
                            "{who} never served again after the outage ended at {}: {n} requests after it went to {}",
                            secs(r.ended_us),
                            instead.join(", ")
                        )
                    }
                };
                lines.push(line);
            }
            (held, lines.join("; "), None)
        }
        Expectation::RetryAfterHonoured => {
            if t.retry_after.is_empty() {
                return (
                    false,
                    "no rate-limit answer carrying `retry-after` met the traffic: nothing shows it".to_string(),
                    None,
                );
            }
            let early: Vec<_> = t.retry_after.iter().filter(|g| !g.honoured()).collect();
            let retried: Vec<u64> = t
                .retry_after
                .iter()
                .filter_map(|g| g.next.map(|(_, gap)| gap))
                .collect();
            let shortest = retried
                .iter()
                .min()
                .map_or("no attempt came after any".to_string(), |g| {
                    format!("shortest gap to the next attempt {}", secs(*g))
                });
            (
                early.is_empty(),
                format!(
                    "{} of {} 429s with retry-after were followed too soon; {shortest}",
                    early.len(),
                    t.retry_after.len()
                ),
                early.first().map(|g| g.describe()),
            )
        }
        Expectation::MaxAttemptsPerSecond(n) => match &t.busiest_second {
            None if facts.faults.is_empty() => (
                false,
                "the scenario has no fault: no deployment fails, nothing shows it".to_string(),
                None,
            ),
            None => (
                false,
                "no attempt reached a failing deployment: nothing shows it".to_string(),
                None,
            ),
            Some(b) => {
                let held = b.attempts <= *n as usize;
                (
                    held,
                    format!(
                        "busiest second: {} attempts on {} from {}",
                        b.attempts,
                        b.deployment,
                        secs(b.from_us)
                    ),
                    None,
                )
            }
        },
        Expectation::WallUnder(limit) => {
            let bound = limit.as_micros();
            let hung = facts
                .records
                .iter()
                .find(|r| r.timed_out() || u128::from(r.latency_us) >= bound);
            match (hung, t.slowest_us) {
                (_, None) => (false, "no requests: nothing shows it".to_string(), None),
                (Some(r), _) => {
                    let how = if r.timed_out() {
                        format!(
                            "had no answer when the client gave up after {}",
                            secs(r.latency_us)
                        )
                    } else {
                        format!("took {}", secs(r.latency_us))
                    };
                    (
                        false,
                        format!(
                            "the gateway hung: request #{} sent at {} {how} ({} timed out)",
                            r.n,
                            secs(r.started_us),
                            t.timed_out
                        ),
                        describe_n(r.n),
                    )
                }
                (None, Some(slowest)) => (
                    true,
                    format!(
                        "slowest {} over {} requests",
                        secs(slowest),
                        facts.records.len()
                    ),
                    None,
                ),
            }
        }
        Expectation::TtftUnder(limit) => {
            let bound = limit.as_micros();
            let late = facts
                .records
                .iter()
                .find(|r| r.first_token_us.is_none_or(|f| u128::from(f) >= bound));
            match (late, t.ttft_max_us) {
                (_, None) if facts.records.is_empty() => {
                    (false, "no requests: nothing shows it".to_string(), None)
                }
                (Some(r), _) => (
                    false,
                    match r.first_token_us {
                        Some(f) => format!("request #{} got its first token after {}", r.n, secs(f)),
                        None => format!("request #{} got no body byte at all", r.n),
                    },
                    describe_n(r.n),
                ),
                (None, max) => (
                    true,
                    format!(
                        "longest time to first token {}",
                        max.map_or("-".to_string(), secs)
                    ),
                    None,
                ),
            }
        }
        Expectation::AliveAfter => match t.alive_after {
            Some(true) => (true, "the request after the traffic was served".to_string(), None),
            Some(false) => (
                false,
                "the request sent after the traffic failed: the gateway did not come back".to_string(),
                None,
            ),
            None => (
                false,
                "no request was sent after the traffic (the run was cut short)".to_string(),
                None,
            ),
        },
        // Judged over paths in `judge_one`; never sent here.
        Expectation::Status { .. }
        | Expectation::Path { .. }
        | Expectation::ServedBy { .. }
        | Expectation::MaxAttempts(_)
        | Expectation::MaxAttemptsPerDeployment(_)
        | Expectation::LatencyP99Under(_)
        | Expectation::NoUnattributed
        | Expectation::MaxFailedRequests(_)
        | Expectation::MaxCutStreams(_)
        | Expectation::NoDuplicateAttempts
        | Expectation::RerouteWithin(_)
        | Expectation::ServesAgainWithin(_)
        | Expectation::MaxFailedProviderAttempts(_) => {
            (false, "not an expectation in time".to_string(), None)
        }
    }
}

fn windows_text(windows: &[(u64, u64)]) -> String {
    windows
        .iter()
        .map(|(a, b)| format!("{}..{}", secs(*a), secs(*b)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A PASS means every fault met the traffic: one verdict per fault of the
/// scenario, held when the fault answered at least one client request, else
/// saying what its deployments received instead.
pub fn faults_met(
    faults: &[crate::scenario::PlacedFault],
    paths: &[RequestPath],
    stray: &[Attempt],
) -> Vec<Verdict> {
    faults
        .iter()
        .map(|f| {
            let on_it = |d: &str| f.deployments.iter().any(|x| x == d);
            let met = paths
                .iter()
                .filter(|p| {
                    p.steps.iter().any(|s| {
                        on_it(&s.deployment) && s.outcome == mock_providers::Outcome::Fault(f.class)
                    })
                })
                .count();
            let detail = if met > 0 {
                format!("it met {met} client requests")
            } else {
                let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
                for s in paths.iter().flat_map(|p| p.steps.iter()) {
                    if on_it(&s.deployment) {
                        *seen
                            .entry(format!("{} answered {}", s.deployment, s.answer()))
                            .or_insert(0) += 1;
                    }
                }
                for a in stray.iter().filter(|a| on_it(&a.deployment)) {
                    *seen
                        .entry(format!(
                            "{} got {} {} from no client request",
                            a.deployment, a.method, a.path
                        ))
                        .or_insert(0) += 1;
                }
                if seen.is_empty() {
                    format!(
                        "it never fired: {} received no client request",
                        f.deployments.join(", ")
                    )
                } else {
                    let got: Vec<String> =
                        seen.into_iter().map(|(k, n)| format!("{n}x {k}")).collect();
                    format!(
                        "it never fired on a client request; instead {}",
                        got.join(", ")
                    )
                }
            };
            Verdict {
                expectation: format!("fault {} meets a client request", f.label),
                held: met > 0,
                detail,
                example: None,
            }
        })
        .collect()
}

/// Every traffic entry must reach a provider: one verdict per entry that
/// sent requests and none of whose requests any provider saw.
pub fn traffic_seen(traffic: &[crate::scenario::Traffic], paths: &[RequestPath]) -> Vec<Verdict> {
    traffic
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let sent: Vec<&RequestPath> = paths.iter().filter(|p| p.traffic == i).collect();
            if sent.is_empty() || sent.iter().any(|p| !p.steps.is_empty()) {
                return None;
            }
            let mut statuses: std::collections::BTreeMap<String, usize> = Default::default();
            for p in &sent {
                let st = p
                    .client_status
                    .map_or("no answer".to_string(), |s| s.to_string());
                *statuses.entry(st).or_insert(0) += 1;
            }
            let got: Vec<String> = statuses
                .into_iter()
                .map(|(s, n)| format!("{n}x {s}"))
                .collect();
            Some(Verdict {
                expectation: format!("traffic[{i}] ({}) reaches a provider", t.model),
                held: false,
                detail: format!(
                    "no provider saw any of its {} requests; the gateway answered them itself: {}",
                    sent.len(),
                    got.join(", ")
                ),
                example: sent.first().map(|p| p.describe()),
            })
        })
        .collect()
}

/// The Failover Illusion: requests of a group with an intent that met a
/// fault the intent covers and did not end on a provider it names for that
/// fault. Each finding says why, from the intent's literal layer.
pub fn illusions(intent: &Intent, paths: &[RequestPath]) -> Vec<Finding> {
    paths.iter().filter_map(|p| illusion(intent, p)).collect()
}

/// The Failover Illusion of one request, if it is one.
pub fn illusion(intent: &Intent, p: &RequestPath) -> Option<Finding> {
    illusion_of(intent.get(&p.model)?, p)
}

/// The Failover Illusion of one request against its group's promise.
pub fn illusion_of(promise: &crate::intent::GroupIntent, p: &RequestPath) -> Option<Finding> {
    let first_fault = p.steps.iter().find(|s| s.faulted())?;
    let mock_providers::Outcome::Fault(class) = first_fault.outcome else {
        return None;
    };
    if !promise.promises(class, &first_fault.provider) {
        return None;
    }
    let wanted = promise.for_class(class);
    let ended = p.served_by().map(|s| s.provider.clone());
    if ended.as_ref().is_some_and(|e| wanted.contains(e)) {
        return None;
    }
    let faults: BTreeSet<String> = p
        .steps
        .iter()
        .filter(|s| s.faulted())
        .map(|s| format!("{} on {}", s.outcome.name(), s.provider))
        .collect();
    let outcome = match ended {
        Some(provider) => format!("it ended on {provider}"),
        None => "it failed".to_string(),
    };
    let promised = wanted
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" or ");
    Some(Finding {
        kind: "failover_illusion",
        request: p.n,
        model: p.model.clone(),
        message: format!(
            "{} met {}; {} promises {promised}, but {outcome}",
            p.model,
            faults.into_iter().collect::<Vec<_>>().join(", "),
            promise.source,
        ),
        path: p.describe(),
        why: promise.why(class).map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Step;
    use mock_providers::{FailureClass, Outcome};
    use std::collections::BTreeMap;

    fn path(n: u64, steps: Vec<(&str, &str, bool)>, ok: bool) -> RequestPath {
        let steps: Vec<Step> = steps
            .into_iter()
            .enumerate()
            .map(|(i, (d, p, served))| Step {
                replica: None,
                seq: i as u64 + 1,
                deployment: d.into(),
                provider: p.into(),
                outcome: if served {
                    Outcome::Served
                } else {
                    Outcome::Fault(FailureClass::RateLimit)
                },
                status: Some(if served { 200 } else { 429 }),
                completed: true,
                service_us: 0,
                prompt_tokens: None,
            })
            .collect();
        RequestPath {
            replica: None,
            n,
            marker: format!("xf:t:{n}"),
            traffic: 0,
            model: "claude-opus".into(),
            class: crate::paths::classify(&steps, ok),
            met_fault: steps.iter().any(|s| s.faulted()),
            steps,
            client_status: Some(if ok { 200 } else { 429 }),
            ok,
            latency_us: 1000 * n,
        }
    }

    #[test]
    fn verdicts_and_examples() {
        let paths = vec![
            path(
                1,
                vec![("claude", "anthropic", false), ("gpt", "openai", true)],
                true,
            ),
            path(
                2,
                vec![
                    ("claude", "anthropic", false),
                    ("claude", "anthropic", false),
                ],
                false,
            ),
        ];
        let timing = Timing::default();
        let v = judge(
            &[
                Expectation::Status {
                    code: 200,
                    share: Share::Every,
                },
                Expectation::Status {
                    code: 200,
                    share: Share::AtLeast(0.5),
                },
                Expectation::Path {
                    class: PathClass::CrossedProvider,
                    share: Share::Every,
                },
                Expectation::MaxAttempts(2),
                Expectation::MaxAttemptsPerDeployment(1),
            ],
            &Facts {
                paths: &paths,
                stray: &[],
                records: &[],
                faults: &[],
                timing: &timing,
                router: None,
            },
        );
        let held: Vec<bool> = v.iter().map(|v| v.held).collect();
        assert_eq!(held, [false, true, false, true, false]);
        assert_eq!(
            v[0].example.as_deref(),
            Some(
                "claude-opus: anthropic/claude 429 -> anthropic/claude 429 -> client 429 (failed)"
            )
        );
        assert_eq!(v[2].detail, "1 of 2 requests that met a fault");
    }

    #[test]
    fn illusion_names_requests_that_did_not_reach_the_intended_provider() {
        let paths = vec![
            path(
                1,
                vec![("claude", "anthropic", false), ("gpt", "openai", true)],
                true,
            ),
            path(
                2,
                vec![
                    ("claude", "anthropic", false),
                    ("claude-b", "anthropic", true),
                ],
                true,
            ),
        ];
        let intent = crate::scenario::Intent::from([(
            "claude-opus".to_string(),
            crate::scenario::GroupIntent {
                providers: BTreeSet::from(["openai".to_string()]),
                by_class: BTreeMap::new(),
                source: "the scenario's intent".to_string(),
                why: BTreeMap::new(),
            },
        )]);
        let f = illusions(&intent, &paths);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].request, 2);
        assert_eq!(
            f[0].message,
            "claude-opus met rate_limit on anthropic; the scenario's intent promises openai, but it ended on anthropic"
        );
    }

    fn judged_in_time(e: Expectation, records: &[RequestRecord], timing: &Timing) -> Verdict {
        judge(
            &[e],
            &Facts {
                paths: &[],
                stray: &[],
                records,
                faults: &[],
                timing,
                router: None,
            },
        )
        .remove(0)
    }

    #[test]
    fn time_expectations_with_nothing_to_show_them_do_not_pass() {
        let none = Timing::default();
        let v = judged_in_time(Expectation::ServedDuringOutage(0.9), &[], &none);
        assert!(!v.held);
        assert!(v
            .detail
            .starts_with("no fault of the scenario has a time window"));
        let v = judged_in_time(
            Expectation::BackOnPrimaryWithin(std::time::Duration::from_secs(5)),
            &[],
            &none,
        );
        assert!(!v.held && v.detail.contains("no outage to measure"));
        let v = judged_in_time(Expectation::RetryAfterHonoured, &[], &none);
        assert_eq!(
            (v.held, v.detail.as_str()),
            (
                false,
                "no rate-limit answer carrying `retry-after` met the traffic: nothing shows it"
            )
        );
        let v = judged_in_time(Expectation::MaxAttemptsPerSecond(5), &[], &none);
        assert!(!v.held && v.detail.contains("no fault"));
        let v = judged_in_time(Expectation::AliveAfter, &[], &none);
        assert!(!v.held);
        let outage = Timing {
            outage: Some(crate::recovery::Outage {
                windows: vec![(1_000_000, 2_000_000)],
                sent: 0,
                served: 0,
                attempts_on_failing: 0,
                first_failed: None,
            }),
            ..Timing::default()
        };
        let v = judged_in_time(Expectation::ServedDuringOutage(0.9), &[], &outage);
        assert_eq!(
            v.detail,
            "no request was sent during the outage (1.000s..2.000s): nothing shows it; send traffic across the window"
        );
    }

    #[test]
    fn wall_under_names_the_request_that_hung() {
        use crate::recovery::tests::record;
        let mut hung = record(2, 1500, 30_000, 200);
        hung.status = None;
        hung.transport_error = Some("timeout: operation timed out".into());
        let records = [record(1, 0, 200, 200), hung];
        let timing = Timing {
            slowest_us: Some(30_000_000),
            timed_out: 1,
            ..Timing::default()
        };
        let bound = std::time::Duration::from_secs(45);
        let v = judged_in_time(Expectation::WallUnder(bound), &records, &timing);
        assert!(
            !v.held,
            "a timed-out request never ended, whatever the bound"
        );
        assert_eq!(
            v.detail,
            "the gateway hung: request #2 sent at 1.500s had no answer when the client gave up after 30.000s (1 timed out)"
        );
        let v = judged_in_time(Expectation::WallUnder(bound), &records[..1], &timing);
        assert!(v.held);
        let v = judged_in_time(
            Expectation::TtftUnder(std::time::Duration::from_millis(100)),
            &records[..1],
            &timing,
        );
        assert_eq!(
            (v.held, v.detail.as_str()),
            (false, "request #1 got its first token after 0.200s")
        );
    }

    #[test]
    fn quantiles() {
        assert_eq!(quantile(&mut [5, 1, 3], 0.5), Some(3));
        assert_eq!(quantile(&mut (1..=100).collect::<Vec<_>>(), 0.99), Some(99));
        assert_eq!(quantile(&mut [], 0.99), None);
    }
}
