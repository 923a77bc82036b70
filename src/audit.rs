//! The audits: what routing costs in tokens (the routing tax), how well the
//! gateway tracks money, and how much latency it adds. Pure functions over
//! what the client and the providers recorded.

use crate::paths::Path;
use crate::prices::{self, Price};
use crate::scenario::Traffic;
use crate::traffic::{prompt, RequestRecord};
use hdrhistogram::Histogram;
use mock_providers::{Attempt, FailureClass, Outcome, TokenCounter};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Tokens and bytes one request cost on the way to the providers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestTokens {
    /// Request number.
    pub n: u64,
    /// Prompt tokens the client sent, counted like the first provider counts.
    pub client_tokens: u64,
    /// Prompt tokens every attempt delivered, summed.
    pub provider_tokens: u64,
    /// Request body bytes the client sent.
    pub client_bytes: u64,
    /// Request body bytes every attempt delivered, summed.
    pub provider_bytes: u64,
    /// The counter both token figures were made with.
    pub counter: TokenCounter,
}

/// The token audit: the routing tax.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenAudit {
    /// Per request.
    pub requests: Vec<RequestTokens>,
    /// Totals.
    pub client_tokens: u64,
    /// Totals.
    pub provider_tokens: u64,
    /// Totals.
    pub client_bytes: u64,
    /// Totals.
    pub provider_bytes: u64,
    /// (provider - client) / client, in percent.
    pub token_overhead_pct: f64,
    /// (provider - client) / client, in percent.
    pub byte_overhead_pct: f64,
}

fn pct(part: f64, whole: f64) -> f64 {
    if whole == 0.0 {
        0.0
    } else {
        (part - whole) / whole * 100.0
    }
}

/// The attempts of each path, by sequence number.
fn by_seq(attempts: &[Attempt]) -> HashMap<u64, &Attempt> {
    attempts.iter().map(|a| (a.seq, a)).collect()
}

/// Tokens and bytes the client sent vs what the providers received.
pub fn tokens(
    records: &[RequestRecord],
    paths: &[Path],
    attempts: &[Attempt],
    traffic: &[Traffic],
) -> TokenAudit {
    let seqs = by_seq(attempts);
    let mut list = Vec::new();
    for (r, p) in records.iter().zip(paths) {
        let delivered: Vec<&Attempt> = p
            .steps
            .iter()
            .filter_map(|s| seqs.get(&s.seq).copied())
            .collect();
        let Some(first) = delivered.first() else {
            continue;
        };
        let counter = first.token_counter.unwrap_or(TokenCounter::TiktokenO200k);
        let Some(t) = traffic.get(r.traffic) else {
            continue;
        };
        let text = prompt(t.prompt_tokens, &r.marker);
        list.push(RequestTokens {
            n: r.n,
            client_tokens: counter.count_chat([("user", text.as_str())]),
            provider_tokens: delivered.iter().filter_map(|a| a.prompt_tokens).sum(),
            client_bytes: r.bytes_sent,
            provider_bytes: delivered.iter().map(|a| a.bytes_in).sum(),
            counter,
        });
    }
    let sum = |f: fn(&RequestTokens) -> u64| list.iter().map(f).sum::<u64>();
    let (ct, pt, cb, pb) = (
        sum(|x| x.client_tokens),
        sum(|x| x.provider_tokens),
        sum(|x| x.client_bytes),
        sum(|x| x.provider_bytes),
    );
    TokenAudit {
        token_overhead_pct: pct(pt as f64, ct as f64),
        byte_overhead_pct: pct(pb as f64, cb as f64),
        requests: list,
        client_tokens: ct,
        provider_tokens: pt,
        client_bytes: cb,
        provider_bytes: pb,
    }
}

/// Cost of one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestCost {
    /// Request number.
    pub n: u64,
    /// What the providers would bill, from the mocks' usage and the price table.
    pub truth_usd: f64,
    /// What the gateway reported (`x-litellm-response-cost`), if it did.
    pub reported_usd: Option<f64>,
    /// (reported - truth) / truth, percent.
    pub discrepancy_pct: Option<f64>,
    /// Models with no price (their attempts are left out).
    pub unpriced: Vec<String>,
}

/// The cost audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostAudit {
    /// Per request.
    pub requests: Vec<RequestCost>,
    /// Total ground truth.
    pub truth_usd: f64,
    /// Total the gateway reported, over the requests where it reported.
    pub reported_usd: Option<f64>,
    /// Total discrepancy, percent, over the requests where the gateway reported.
    pub discrepancy_pct: Option<f64>,
    /// How failed attempts are billed.
    pub billing_rule: &'static str,
}

impl CostAudit {
    /// What the gateway reported, in words: `$0.001200 (-100.0%)`, or
    /// `no cost`.
    pub fn reported_text(&self) -> String {
        match (self.reported_usd, self.discrepancy_pct) {
            (Some(c), Some(d)) => format!("${c:.6} ({d:+.1}%)"),
            (Some(c), None) => format!("${c:.6}"),
            _ => "no cost".to_string(),
        }
    }
}

/// A price: the scenario's override, else the table.
fn price_of(model: &str, overrides: &BTreeMap<String, Price>) -> Option<Price> {
    overrides
        .get(model)
        .or_else(|| overrides.get(mock_providers::models::bare_model(model)))
        .copied()
        .or_else(|| prices::lookup(model))
}

/// The cost of one attempt under the billing rule.
fn billed(a: &Attempt, price: &Price) -> f64 {
    match (a.outcome, a.usage, a.status) {
        (Outcome::Served | Outcome::Fault(FailureClass::Timeout), Some(u), Some(200)) => {
            prices::cost(price, &u)
        }
        (
            Outcome::Fault(
                FailureClass::StreamCut | FailureClass::StreamError | FailureClass::Stall,
            ),
            _,
            Some(200),
        ) => {
            let input = a.prompt_tokens.unwrap_or(0);
            input as f64 * price.input / 1_000_000.0
        }
        _ => 0.0,
    }
}

/// What the gateway reported vs what the providers would bill.
pub fn cost(
    records: &[RequestRecord],
    paths: &[Path],
    attempts: &[Attempt],
    overrides: &BTreeMap<String, Price>,
) -> CostAudit {
    let seqs = by_seq(attempts);
    let mut list = Vec::new();
    for (r, p) in records.iter().zip(paths) {
        let mut truth = 0.0;
        let mut unpriced = Vec::new();
        for a in p.steps.iter().filter_map(|s| seqs.get(&s.seq).copied()) {
            let model = a.model.clone().unwrap_or_default();
            match price_of(&model, overrides) {
                Some(price) => truth += billed(a, &price),
                None => {
                    if !unpriced.contains(&model) {
                        unpriced.push(model)
                    }
                }
            }
        }
        let discrepancy_pct = r.cost.filter(|_| truth > 0.0).map(|c| pct(c, truth));
        list.push(RequestCost {
            n: r.n,
            truth_usd: truth,
            reported_usd: r.cost,
            discrepancy_pct,
            unpriced,
        });
    }
    let truth_usd = list.iter().map(|x| x.truth_usd).sum();
    let reported: Vec<&RequestCost> = list.iter().filter(|x| x.reported_usd.is_some()).collect();
    let (reported_usd, discrepancy_pct) = if reported.is_empty() {
        (None, None)
    } else {
        let rep: f64 = reported.iter().filter_map(|x| x.reported_usd).sum();
        let truth_of_reported: f64 = reported.iter().map(|x| x.truth_usd).sum();
        (
            Some(rep),
            (truth_of_reported > 0.0).then(|| pct(rep, truth_of_reported)),
        )
    };
    CostAudit {
        requests: list,
        truth_usd,
        reported_usd,
        discrepancy_pct,
        billing_rule: prices::BILLING_RULE,
    }
}

/// Percentiles of a latency distribution, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Samples.
    pub count: u64,
}

/// Percentiles of microsecond samples, through an HDR histogram (3
/// significant digits: a gateway adding tens of microseconds shows).
pub fn percentiles(samples: &[u64]) -> Option<Percentiles> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).ok()?;
    for s in samples {
        h.saturating_record((*s).max(1));
    }
    (!h.is_empty()).then(|| Percentiles {
        p50_us: h.value_at_quantile(0.50),
        p90_us: h.value_at_quantile(0.90),
        p99_us: h.value_at_quantile(0.99),
        count: h.len(),
    })
}

/// The latency audit: what the gateway adds over calling the provider directly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyAudit {
    /// Client latency minus provider service time, through the gateway.
    pub gateway: Percentiles,
    /// The same, calling one mock directly (client and loopback cost).
    pub direct: Percentiles,
    /// gateway - direct, per percentile: the gateway's own overhead.
    pub overhead_p50_us: i64,
    /// gateway - direct at p90.
    pub overhead_p90_us: i64,
    /// gateway - direct at p99.
    pub overhead_p99_us: i64,
}

/// Client latency minus the providers' service time, per good answer.
pub fn overheads(records: &[RequestRecord], paths: &[Path]) -> Vec<u64> {
    records
        .iter()
        .zip(paths)
        .filter(|(_, p)| p.ok)
        .map(|(r, p)| {
            let service: u64 = p.steps.iter().map(|s| s.service_us).sum();
            r.latency_us.saturating_sub(service)
        })
        .collect()
}

/// Builds the latency audit from the two sets of overheads.
pub fn latency(gateway: &[u64], direct: &[u64]) -> Option<LatencyAudit> {
    let g = percentiles(gateway)?;
    let d = percentiles(direct)?;
    Some(LatencyAudit {
        overhead_p50_us: g.p50_us as i64 - d.p50_us as i64,
        overhead_p90_us: g.p90_us as i64 - d.p90_us as i64,
        overhead_p99_us: g.p99_us as i64 - d.p99_us as i64,
        gateway: g,
        direct: d,
    })
}

/// The token and cost audits of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audits {
    /// Tokens and bytes: the routing tax.
    pub tokens: TokenAudit,
    /// Money.
    pub cost: CostAudit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_resolve_microseconds() {
        let samples: Vec<u64> = (1..=1000).map(|i| 40 + i % 20).collect();
        let p = percentiles(&samples).unwrap();
        assert!((49..=50).contains(&p.p50_us), "{p:?}");
        assert_eq!(p.count, 1000);
        let l = latency(&[140, 150, 160], &[40, 50, 60]).unwrap();
        assert_eq!(l.overhead_p50_us, 100);
    }

    #[test]
    fn failed_attempts_are_not_billed_and_cached_tokens_are_cheaper() {
        let price = Price {
            input: 2.0,
            cached_input: 1.0,
            output: 10.0,
        };
        let u = mock_providers::Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 100_000,
            cached_tokens: 500_000,
            reasoning_tokens: 50_000,
        };
        // 0.5M uncached x 2 + 0.5M cached x 1 + 0.1M out x 10 = 2.5 USD
        assert!((prices::cost(&price, &u) - 2.5).abs() < 1e-9);
    }
}
