//! Failover under load: at one arrival rate, an outage on the primary
//! starts and ends while the traffic goes on. The outage is the mocks' own
//! time-based fault (`Schedule::Outage`, armed on the journal's clock), so
//! it begins and ends at exact times whatever the gateway is doing. What
//! the gateway did is read three ways, before, during and after the
//! outage: the share served, the latency and overhead, and the failed
//! provider attempts per second (a retry storm shows here); then when
//! traffic came back to the primary, with the scenario measurements
//! (`recovery`).

use super::{Done, Overhead, Quantiles, Sample};
use crate::recovery::{self, Burst};
use crate::scenario::{ActiveWindow, PlacedFault};
use mock_providers::{Attempt, FailureClass, Outcome};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// What the outage phase does.
#[derive(Debug, Clone, PartialEq)]
pub struct OutagePlan {
    /// Requests per second through the gateway during the whole phase.
    pub rate: f64,
    /// The deployment the outage is on; `None`: the one that served most
    /// of the load before it (the primary as observed).
    pub on: Option<String>,
    /// What its answers are during the outage.
    pub fault: FailureClass,
    /// Traffic before the outage starts.
    pub before: Duration,
    /// How long it lasts.
    pub length: Duration,
    /// Traffic after it ends.
    pub after: Duration,
}

impl OutagePlan {
    /// The whole phase.
    pub fn total(&self) -> Duration {
        self.before + self.length + self.after
    }
}

/// One part of the phase: before, during or after the outage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// `before`, `during`, `after`.
    pub name: &'static str,
    /// Its start and end, microseconds on the journal's clock.
    pub from_us: u64,
    /// See `from_us`.
    pub to_us: u64,
    /// Requests meant to be sent through the gateway in it.
    pub sent: u64,
    /// Of which answered whole and good.
    pub served: u64,
    /// served / sent.
    pub served_share: Option<f64>,
    /// Through the gateway, good answers, from the intended send time.
    pub gateway: Option<Quantiles>,
    /// Straight to the healthy mock.
    pub direct: Option<Quantiles>,
    /// The gateway's own share.
    pub overhead: Option<Overhead>,
    /// Provider attempts that arrived in it and did not serve.
    pub failed_attempts: u64,
    /// Those per second.
    pub failed_attempts_per_second: f64,
    /// Provider attempts of every kind per request sent in it.
    pub attempts_per_request: Option<f64>,
}

/// The outage phase, measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailoverReport {
    /// Requests per second.
    pub rate: f64,
    /// The deployment the outage was on.
    pub on: String,
    /// Its provider.
    pub provider: String,
    /// Whether crossfire picked it as the one that served most before.
    pub observed_primary: bool,
    /// The failure class of its answers.
    pub fault: &'static str,
    /// Before, during and after.
    pub parts: Vec<Part>,
    /// The busiest second of attempts on the failing deployment.
    pub busiest_second: Option<Burst>,
    /// From the outage's end to the first answer the primary served again,
    /// microseconds; `None` when it did not serve again in the phase.
    pub back_on_primary_after_us: Option<u64>,
    /// Where requests sent after the outage were served instead of the
    /// primary, counted.
    pub served_instead: BTreeMap<String, usize>,
    /// The phase in one sentence.
    pub sentence: String,
}

/// The deployment that served the most completion attempts: the primary
/// as the gateway really routes, not as its config reads.
pub fn observed_primary(attempts: &[Attempt]) -> Option<String> {
    let mut served: BTreeMap<&str, usize> = BTreeMap::new();
    for a in attempts.iter().filter(|a| a.is_completion()) {
        if a.outcome == Outcome::Served {
            *served.entry(a.deployment.as_str()).or_default() += 1;
        }
    }
    served
        .into_iter()
        .max_by_key(|(id, n)| (*n, std::cmp::Reverse(*id)))
        .map(|(id, _)| id.to_string())
}

/// Measures the phase from its requests (`done`, on the journal's clock)
/// and every attempt the mocks journaled during it. The outage ran on `on`
/// from `outage.from` to `outage.to`; the phase from `from_us` to `to_us`.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    plan: &OutagePlan,
    on: &str,
    observed: bool,
    providers: &HashMap<String, String>,
    done: &[Done],
    attempts: &[Attempt],
    outage: ActiveWindow,
    (from_us, to_us): (u64, u64),
) -> FailoverReport {
    let us = |d: Duration| d.as_micros() as u64;
    let (o_from, o_to) = (us(outage.from), us(outage.to));
    let parts: Vec<Part> = [
        ("before", from_us, o_from),
        ("during", o_from, o_to),
        ("after", o_to, to_us),
    ]
    .into_iter()
    .map(|(name, a, b)| part(name, a, b, done, attempts))
    .collect();
    let placed = PlacedFault {
        label: format!("{} outage on {on}", plan.fault),
        class: plan.fault,
        deployments: vec![on.to_string()],
        active: vec![outage],
        retry_after: BTreeMap::new(),
    };
    let records: Vec<_> = done
        .iter()
        .filter(|d| !d.direct)
        .filter_map(|d| d.record.clone())
        .collect();
    let paths = crate::paths::join(&records, attempts, providers).paths;
    let back = recovery::back_on_primary(std::slice::from_ref(&placed), &records, &paths, attempts)
        .into_iter()
        .next();
    let mut r = FailoverReport {
        rate: plan.rate,
        on: on.to_string(),
        provider: providers.get(on).cloned().unwrap_or_default(),
        observed_primary: observed,
        fault: plan.fault.name(),
        busiest_second: recovery::busiest_second(std::slice::from_ref(&placed), attempts),
        back_on_primary_after_us: back.as_ref().and_then(|b| b.back_after_us),
        served_instead: back.map(|b| b.served_instead).unwrap_or_default(),
        parts,
        sentence: String::new(),
    };
    r.sentence = sentence(&r, plan);
    r
}

/// One part's figures: requests by their intended send time, attempts by
/// their arrival.
fn part(name: &'static str, from: u64, to: u64, done: &[Done], attempts: &[Attempt]) -> Part {
    let inside = |t: u64| t >= from && t < to;
    let good = |direct: bool| -> Vec<u64> {
        done.iter()
            .filter(|d| d.direct == direct && inside(d.intended_us) && d.sample.ok)
            .map(|d| d.sample.latency_us)
            .collect()
    };
    let gateway: Vec<&Sample> = done
        .iter()
        .filter(|d| !d.direct && inside(d.intended_us))
        .map(|d| &d.sample)
        .collect();
    let (g, x) = (Quantiles::of(&good(false)), Quantiles::of(&good(true)));
    let sent = gateway.len() as u64;
    let served = gateway.iter().filter(|s| s.ok).count() as u64;
    let arrived: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| a.is_completion() && inside(a.received_us))
        .collect();
    let failed = arrived
        .iter()
        .filter(|a| a.outcome != Outcome::Served)
        .count() as u64;
    let secs = (to.saturating_sub(from)) as f64 / 1e6;
    Part {
        name,
        from_us: from,
        to_us: to,
        sent,
        served,
        served_share: (sent > 0).then(|| served as f64 / sent as f64),
        overhead: g.zip(x).map(|(g, x)| Overhead::between(&g, &x)),
        gateway: g,
        direct: x,
        failed_attempts: failed,
        failed_attempts_per_second: if secs > 0.0 {
            failed as f64 / secs
        } else {
            0.0
        },
        attempts_per_request: (sent > 0).then(|| arrived.len() as f64 / sent as f64),
    }
}

fn share(p: &Part) -> String {
    p.served_share.map_or("nothing sent".into(), |s| {
        format!("{:.1}% served", s * 100.0)
    })
}

fn p99(p: &Part) -> String {
    p.overhead
        .map_or("unmeasured".into(), |o| super::ms(o.p99_us))
}

/// The phase in one sentence.
fn sentence(r: &FailoverReport, plan: &OutagePlan) -> String {
    let [before, during, after] = [0, 1, 2].map(|i| &r.parts[i]);
    let back = match r.back_on_primary_after_us {
        Some(us) => format!(
            "traffic was back on `{}` {} after the outage ended",
            r.on,
            recovery::secs(us)
        ),
        None => format!(
            "no request was served by `{}` again in the {} after the outage",
            r.on,
            recovery::secs(plan.after.as_micros() as u64)
        ),
    };
    format!(
        "At {} requests/s, an outage of `{}` answers on `{}` ({}) for {}: {} during it ({} before, {} after); p99 overhead {} before, {} during, {} after; {:.1} failed provider attempts/s during it ({:.2} attempts per request); {back}.",
        r.rate,
        r.fault,
        r.on,
        r.provider,
        recovery::secs(plan.length.as_micros() as u64),
        share(during),
        share(before),
        share(after),
        p99(before),
        p99(during),
        p99(after),
        during.failed_attempts_per_second,
        during.attempts_per_request.unwrap_or(0.0),
    )
}

/// The phase as a table (terminal and Markdown alike).
pub fn table(r: &FailoverReport) -> String {
    let mut s = String::from(
        "| part | sent | served | overhead p50 | p99 | gateway p99 | failed attempts/s | attempts/request |\n|---|---|---|---|---|---|---|---|\n",
    );
    for p in &r.parts {
        let o =
            |f: fn(&Overhead) -> i64| p.overhead.as_ref().map_or("-".into(), |o| super::ms(f(o)));
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.1} | {} |\n",
            p.name,
            p.sent,
            share(p),
            o(|o| o.p50_us),
            o(|o| o.p99_us),
            p.gateway.map_or("-".into(), |q| super::ms(q.p99_us as i64)),
            p.failed_attempts_per_second,
            p.attempts_per_request
                .map_or("-".into(), |a| format!("{a:.2}")),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(seq: u64, n: u64, deployment: &str, at_ms: u64, fault: bool) -> Attempt {
        let class = fault.then_some(FailureClass::Unavailable);
        crate::recovery::tests::attempt(seq, n, deployment, at_ms, class)
    }

    fn done(n: u64, at_ms: u64, ok: bool) -> Done {
        Done {
            direct: false,
            intended_us: at_ms * 1000,
            sample: Sample {
                latency_us: 5_000,
                ok,
            },
            record: Some(crate::recovery::tests::record(
                n,
                at_ms,
                5,
                if ok { 200 } else { 503 },
            )),
        }
    }

    #[test]
    fn the_observed_primary_is_the_deployment_that_served_most() {
        let a = [
            attempt(1, 1, "b", 1, false),
            attempt(2, 2, "a", 2, false),
            attempt(3, 3, "a", 3, false),
            attempt(4, 4, "b", 4, true),
        ];
        assert_eq!(observed_primary(&a), Some("a".into()));
        assert_eq!(observed_primary(&[]), None);
    }

    #[test]
    fn failed_attempts_per_second_count_every_deployment_inside_the_outage_only() {
        let plan = OutagePlan {
            rate: 10.0,
            on: None,
            fault: FailureClass::Unavailable,
            before: Duration::from_secs(1),
            length: Duration::from_secs(2),
            after: Duration::from_secs(1),
        };
        // Ten requests a second for 4 s; during the outage (1 s to 3 s)
        // each one fails on `a` twice, then `b` serves it.
        let mut done_list = Vec::new();
        let mut attempts = Vec::new();
        let mut seq = 0;
        for n in 0..40u64 {
            let at = n * 100;
            done_list.push(done(n + 1, at, true));
            let outage = (1000..3000).contains(&at);
            if outage {
                for _ in 0..2 {
                    seq += 1;
                    attempts.push(attempt(seq, n + 1, "a", at + 1, true));
                }
            }
            seq += 1;
            let to = if outage { "b" } else { "a" };
            attempts.push(attempt(seq, n + 1, to, at + 2, false));
        }
        let providers: HashMap<String, String> = [
            ("a".into(), "openai".into()),
            ("b".into(), "anthropic".into()),
        ]
        .into();
        let r = measure(
            &plan,
            "a",
            true,
            &providers,
            &done_list,
            &attempts,
            ActiveWindow {
                from: Duration::from_secs(1),
                to: Duration::from_secs(3),
            },
            (0, 4_000_000),
        );
        let during = &r.parts[1];
        assert_eq!((during.sent, during.served), (20, 20));
        assert_eq!(during.failed_attempts, 40);
        assert!((during.failed_attempts_per_second - 20.0).abs() < 1e-9);
        assert_eq!(during.attempts_per_request, Some(3.0));
        assert_eq!(r.parts[0].failed_attempts, 0);
        assert_eq!(r.parts[2].attempts_per_request, Some(1.0));
        assert_eq!(r.back_on_primary_after_us, Some(2_000));
        assert!(
            r.sentence.contains("100.0% served during it")
                && r.sentence.contains("20.0 failed provider attempts/s")
                && r.sentence.contains("back on `a` 0.002s after"),
            "{}",
            r.sentence
        );
    }
}
