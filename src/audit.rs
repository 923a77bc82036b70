//! The audits: what routing costs in tokens (the routing tax), how well the
//! gateway tracks money, and how much latency it adds. Pure functions over
//! what the client and the providers recorded.

use crate::paths::RequestPath;
use crate::prices::{self, GatewayPriceMap, Price};
use crate::records::RequestRecord;
use crate::scenario::Traffic;
use crate::traffic::prompt;
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
    /// Per request (JSON: the first few, so a long run's report stays readable).
    #[serde(serialize_with = "crate::run_folder::serialize_first")]
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
    paths: &[RequestPath],
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

/// What the gateway's reported cost of one request can be compared with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReportedCost {
    /// The gateway reported a cost: a real figure to compare.
    Reported,
    /// A stream: the gateway reports no cost (or 0) for streamed answers
    /// (LiteLLM 1.108.7), so there is nothing to compare.
    NotReportedForStreams,
    /// The gateway reported 0 or nothing because its price map lacks the
    /// model that served: not a discrepancy of its arithmetic.
    NotInPriceMap {
        /// The models its price map lacks.
        models: Vec<String>,
    },
    /// The gateway reported nothing (it does not report cost, or the
    /// request failed before any cost).
    NotReported,
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
    /// What the report can be compared with.
    pub reported: ReportedCost,
    /// (reported - truth) / truth, percent; only for a [`ReportedCost::Reported`].
    pub discrepancy_pct: Option<f64>,
    /// Models with no price (their attempts are left out).
    pub unpriced: Vec<String>,
}

/// The cost audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostAudit {
    /// Per request (JSON: the first few, so a long run's report stays readable).
    #[serde(serialize_with = "crate::run_folder::serialize_first")]
    pub requests: Vec<RequestCost>,
    /// Total ground truth.
    pub truth_usd: f64,
    /// Total the gateway reported, over the requests where its report can be
    /// compared ([`ReportedCost::Reported`]).
    pub reported_usd: Option<f64>,
    /// Total discrepancy, percent, over those requests.
    pub discrepancy_pct: Option<f64>,
    /// Streamed requests the gateway reported no cost for.
    pub not_reported_for_streams: u64,
    /// Models the gateway's price map lacks, with the requests they served.
    pub not_in_price_map: BTreeMap<String, u64>,
    /// The price map the gateway priced with (LiteLLM's bundled one, with
    /// its version), when crossfire knows it.
    pub price_map: Option<String>,
    /// How failed attempts are billed.
    pub billing_rule: &'static str,
}

impl CostAudit {
    /// What the gateway reported, in words: `$0.001200 (-12.0% against
    /// crossfire's list prices; the gateway priced with LiteLLM 1.108.7's
    /// bundled price map)`, `not reported for streams (4 requests)`,
    /// `` `claude-opus-4-1` not in the gateway's price map ``, or `no cost`.
    pub fn reported_text(&self) -> String {
        let mut parts = Vec::new();
        match (self.reported_usd, self.discrepancy_pct) {
            (Some(c), Some(d)) if d.abs() >= 0.05 => parts.push(match &self.price_map {
                Some(m) => format!("${c:.6} ({d:+.1}%; the gateway priced with {m})"),
                None => format!("${c:.6} ({d:+.1}%)"),
            }),
            (Some(c), Some(d)) => parts.push(format!("${c:.6} ({d:+.1}%)")),
            (Some(c), None) => parts.push(format!("${c:.6}")),
            (None, _) => {}
        }
        if self.not_reported_for_streams > 0 {
            parts.push(format!(
                "not reported for streams ({} {})",
                self.not_reported_for_streams,
                if self.not_reported_for_streams == 1 {
                    "request"
                } else {
                    "requests"
                }
            ));
        }
        if !self.not_in_price_map.is_empty() {
            let models: Vec<String> = self
                .not_in_price_map
                .keys()
                .map(|m| format!("`{m}`"))
                .collect();
            // Named once: beside the discrepancy when there is one.
            let named = parts.iter().any(|p| p.contains("priced with"));
            let map = self
                .price_map
                .as_deref()
                .filter(|_| !named)
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            parts.push(format!(
                "{} not in the gateway's price map{map}",
                models.join(", ")
            ));
        }
        if parts.is_empty() {
            "no cost".to_string()
        } else {
            parts.join("; ")
        }
    }

    /// The discrepancy in a table cell: `+0.0%`, `-12.0% (LiteLLM
    /// 1.108.7's bundled price map)`, `not reported for streams`, `not in
    /// the gateway's price map`, or `not reported`.
    pub fn discrepancy_text(&self) -> String {
        match (self.discrepancy_pct, &self.price_map) {
            (Some(d), Some(m)) if d.abs() >= 0.05 => format!("{d:+.1}% ({m})"),
            (Some(d), _) => format!("{d:+.1}%"),
            (None, _) if !self.not_in_price_map.is_empty() => {
                "not in the gateway's price map".to_string()
            }
            (None, _) if self.not_reported_for_streams > 0 => {
                "not reported for streams".to_string()
            }
            (None, _) => "not reported".to_string(),
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
pub(crate) fn billed(a: &Attempt, price: &Price) -> f64 {
    match (a.outcome, a.usage, a.status) {
        (
            Outcome::Served
            | Outcome::Fault(
                FailureClass::Timeout
                | FailureClass::SlowFirstToken
                | FailureClass::NoDone
                | FailureClass::MalformedEvent,
            ),
            Some(u),
            Some(200),
        ) => prices::cost(price, &u),
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

/// What the gateway reported vs what the providers would bill. With the
/// gateway's price map, a 0 or missing report is told apart from a real
/// discrepancy: a stream (LiteLLM reports no cost for streams) or a model
/// its map lacks.
pub fn cost(
    records: &[RequestRecord],
    paths: &[RequestPath],
    attempts: &[Attempt],
    overrides: &BTreeMap<String, Price>,
    price_map: Option<&GatewayPriceMap>,
) -> CostAudit {
    let seqs = by_seq(attempts);
    let mut list = Vec::new();
    for (r, p) in records.iter().zip(paths) {
        let mut truth = 0.0;
        let mut unpriced = Vec::new();
        let mut unmapped = Vec::new();
        for (step, a) in p
            .steps
            .iter()
            .filter_map(|s| seqs.get(&s.seq).map(|a| (s, *a)))
        {
            let model = a.model.clone().unwrap_or_default();
            let bill = match price_of(&model, overrides) {
                Some(price) => billed(a, &price),
                None => {
                    if !unpriced.contains(&model) {
                        unpriced.push(model.clone())
                    }
                    0.0
                }
            };
            truth += bill;
            if bill > 0.0
                && price_map.is_some_and(|m| !m.prices(&model, &step.provider))
                && !unmapped.contains(&model)
            {
                unmapped.push(model);
            }
        }
        let silent = r.cost.is_none_or(|c| c == 0.0);
        let reported = match (price_map.is_some(), r.cost) {
            (true, _) if silent && r.stream => ReportedCost::NotReportedForStreams,
            (true, _) if silent && !unmapped.is_empty() => {
                ReportedCost::NotInPriceMap { models: unmapped }
            }
            (_, Some(_)) => ReportedCost::Reported,
            (_, None) => ReportedCost::NotReported,
        };
        let discrepancy_pct = (reported == ReportedCost::Reported)
            .then_some(r.cost)
            .flatten()
            .filter(|_| truth > 0.0)
            .map(|c| pct(c, truth));
        list.push(RequestCost {
            n: r.n,
            truth_usd: truth,
            reported_usd: r.cost,
            reported,
            discrepancy_pct,
            unpriced,
        });
    }
    let truth_usd = list.iter().map(|x| x.truth_usd).sum();
    let compared: Vec<&RequestCost> = list
        .iter()
        .filter(|x| x.reported == ReportedCost::Reported)
        .collect();
    let (reported_usd, discrepancy_pct) = if compared.is_empty() {
        (None, None)
    } else {
        let rep: f64 = compared.iter().filter_map(|x| x.reported_usd).sum();
        let truth_of_reported: f64 = compared.iter().map(|x| x.truth_usd).sum();
        (
            Some(rep),
            (truth_of_reported > 0.0).then(|| pct(rep, truth_of_reported)),
        )
    };
    let mut not_in_price_map = BTreeMap::new();
    let mut not_reported_for_streams = 0;
    for x in &list {
        match &x.reported {
            ReportedCost::NotInPriceMap { models } => {
                for m in models {
                    *not_in_price_map.entry(m.clone()).or_insert(0) += 1;
                }
            }
            ReportedCost::NotReportedForStreams => not_reported_for_streams += 1,
            _ => {}
        }
    }
    CostAudit {
        requests: list,
        truth_usd,
        reported_usd,
        discrepancy_pct,
        not_reported_for_streams,
        not_in_price_map,
        price_map: price_map.map(|m| m.name.clone()),
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
pub fn overheads(records: &[RequestRecord], paths: &[RequestPath]) -> Vec<u64> {
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
    use crate::paths::{PathClass, Step};

    /// One served request on `model` (from `provider`), as the client and
    /// the mock recorded it, with the cost the gateway reported.
    fn served(
        n: u64,
        model: &str,
        provider: &str,
        stream: bool,
        reported: Option<f64>,
    ) -> (RequestRecord, RequestPath, Attempt) {
        let attempt: Attempt = serde_json::from_value(serde_json::json!({
            "seq": n, "attempt": 1, "deployment": "d", "dialect": "openai",
            "method": "POST", "path": "/v1/chat/completions", "model": model,
            "marker": format!("xf:t:{n}"), "stream": stream, "bytes_in": 100,
            "prompt_tokens": 1000, "token_counter": null, "max_tokens": null,
            "outcome": "served", "cause": null, "status": 200,
            "usage": {"prompt_tokens": 1000, "completion_tokens": 100,
                      "cached_tokens": 0, "reasoning_tokens": 0},
            "bytes_out": 100, "events_sent": 0, "completed": true,
            "received_unix_ms": 0, "received_us": 0, "first_byte_us": null,
            "finished_us": 0
        }))
        .unwrap();
        let step = Step {
            replica: None,
            seq: n,
            deployment: "d".into(),
            provider: provider.into(),
            outcome: Outcome::Served,
            status: Some(200),
            completed: true,
            service_us: 0,
            prompt_tokens: None,
        };
        let path = RequestPath {
            replica: None,
            n,
            marker: format!("xf:t:{n}"),
            traffic: 0,
            model: "group".into(),
            steps: vec![step],
            client_status: Some(200),
            ok: true,
            class: PathClass::Direct,
            met_fault: false,
            latency_us: 0,
        };
        let record = RequestRecord {
            n,
            marker: format!("xf:t:{n}"),
            traffic: 0,
            model: "group".into(),
            stream,
            started_us: 0,
            latency_us: 0,
            ttfb_us: None,
            first_token_us: None,
            status: Some(200),
            transport_error: None,
            stream_complete: stream.then_some(true),
            stream_error: None,
            headers: Default::default(),
            usage: None,
            cost: reported,
            error_body: None,
            bytes_sent: 100,
        };
        (record, path, attempt)
    }

    fn audit_of(
        cases: Vec<(RequestRecord, RequestPath, Attempt)>,
        map: Option<&GatewayPriceMap>,
    ) -> CostAudit {
        let mut records = Vec::new();
        let mut paths = Vec::new();
        let mut attempts = Vec::new();
        for (r, p, a) in cases {
            records.push(r);
            paths.push(p);
            attempts.push(a);
        }
        cost(&records, &paths, &attempts, &BTreeMap::new(), map)
    }

    fn litellm_map() -> GatewayPriceMap {
        GatewayPriceMap::from_json(
            "LiteLLM 1.108.7's bundled price map",
            r#"{"gpt-4o": {}, "claude-opus-4-5": {}}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_stream_the_gateway_reports_zero_for_is_not_a_discrepancy() {
        let map = litellm_map();
        let a = audit_of(
            vec![served(1, "gpt-4o", "openai", true, Some(0.0))],
            Some(&map),
        );
        assert_eq!(a.requests[0].reported, ReportedCost::NotReportedForStreams);
        assert_eq!(a.discrepancy_pct, None);
        assert_eq!(a.reported_usd, None);
        assert_eq!(a.reported_text(), "not reported for streams (1 request)");
        assert_eq!(a.discrepancy_text(), "not reported for streams");
    }

    #[test]
    fn a_model_missing_from_the_gateways_price_map_is_named_not_minus_100_percent() {
        let map = litellm_map();
        let a = audit_of(
            vec![served(1, "claude-opus-4-1", "anthropic", false, Some(0.0))],
            Some(&map),
        );
        assert_eq!(
            a.requests[0].reported,
            ReportedCost::NotInPriceMap {
                models: vec!["claude-opus-4-1".into()]
            }
        );
        assert_eq!(a.discrepancy_pct, None);
        assert_eq!(
            a.reported_text(),
            "`claude-opus-4-1` not in the gateway's price map (LiteLLM 1.108.7's bundled price map)"
        );
        assert_eq!(a.discrepancy_text(), "not in the gateway's price map");
    }

    #[test]
    fn a_real_discrepancy_names_the_price_map_the_gateway_used() {
        let map = litellm_map();
        // gpt-4o at list prices: 1000 x 2.5 + 100 x 10 per 1M = $0.0035.
        let a = audit_of(
            vec![served(1, "gpt-4o", "openai", false, Some(0.0035 * 0.9))],
            Some(&map),
        );
        assert_eq!(a.requests[0].reported, ReportedCost::Reported);
        assert!((a.discrepancy_pct.unwrap() + 10.0).abs() < 1e-9);
        assert_eq!(
            a.reported_text(),
            "$0.003150 (-10.0%; the gateway priced with LiteLLM 1.108.7's bundled price map)"
        );
        assert_eq!(
            a.discrepancy_text(),
            "-10.0% (LiteLLM 1.108.7's bundled price map)"
        );
        // A priced model reported as 0 is a real discrepancy, not a map gap.
        let zero = audit_of(
            vec![served(1, "gpt-4o", "openai", false, Some(0.0))],
            Some(&map),
        );
        assert_eq!(zero.discrepancy_pct, Some(-100.0));
    }

    #[test]
    fn a_mixed_run_says_each_gap_and_the_real_discrepancy() {
        let map = litellm_map();
        let a = audit_of(
            vec![
                served(1, "gpt-4o", "openai", true, Some(0.0)),
                served(2, "gpt-4o", "openai", true, None),
                served(3, "claude-opus-4-1", "anthropic", false, Some(0.0)),
                served(4, "claude-opus-4-1", "anthropic", false, None),
                served(5, "gpt-4o", "openai", false, Some(0.0035 * 1.2)),
            ],
            Some(&map),
        );
        insta::assert_snapshot!(a.reported_text());
    }

    #[test]
    fn a_gateway_that_reports_no_cost_says_so() {
        let a = audit_of(vec![served(1, "gpt-4o", "openai", true, None)], None);
        assert_eq!(a.requests[0].reported, ReportedCost::NotReported);
        assert_eq!(a.reported_text(), "no cost");
        assert_eq!(a.discrepancy_text(), "not reported");
    }

    #[test]
    fn percentiles_resolve_microseconds() {
        let samples: Vec<u64> = (1..=1000).map(|i| 40 + i % 20).collect();
        let p = percentiles(&samples).unwrap();
        assert!((49..=50).contains(&p.p50_us), "{p:?}");
        assert_eq!(p.count, 1000);
        let l = latency(&[140, 150, 160], &[40, 50, 60]).unwrap();
        assert_eq!(l.overhead_p50_us, 100);
    }

    /// One attempt of request `n` on model `m`, ending as `outcome` with
    /// `status` and (when the mock reported one) `usage`.
    fn attempt(
        seq: u64,
        outcome: &str,
        status: u16,
        usage: Option<serde_json::Value>,
        events_sent: u32,
    ) -> Attempt {
        let ended = match outcome {
            "served" => serde_json::json!("served"),
            class => serde_json::json!({ "fault": class }),
        };
        serde_json::from_value(serde_json::json!({
            "seq": seq, "attempt": 1, "deployment": "d", "dialect": "openai",
            "method": "POST", "path": "/v1/chat/completions", "model": "m",
            "marker": "xf:t:1", "stream": events_sent > 0, "bytes_in": 100,
            "prompt_tokens": 1_000_000, "token_counter": null, "max_tokens": null,
            "outcome": ended, "cause": null, "status": status, "usage": usage,
            "bytes_out": 100, "events_sent": events_sent, "completed": outcome == "served",
            "received_unix_ms": 0, "received_us": 0, "first_byte_us": null,
            "finished_us": 0
        }))
        .expect("a journal line")
    }

    /// What `cost()` bills for one request whose path made `attempts`, at
    /// $2 input, $1 cached input and $10 output per million tokens.
    fn bill(attempts: Vec<Attempt>) -> f64 {
        let (mut record, mut path, _) = served(1, "m", "openai", false, None);
        record.cost = None;
        path.steps = attempts
            .iter()
            .map(|a| Step {
                replica: None,
                seq: a.seq,
                deployment: "d".into(),
                provider: "openai".into(),
                outcome: a.outcome,
                status: a.status,
                completed: a.completed,
                service_us: 0,
                prompt_tokens: a.prompt_tokens,
            })
            .collect();
        let prices = BTreeMap::from([(
            "m".to_string(),
            Price {
                input: 2.0,
                cached_input: 1.0,
                output: 10.0,
            },
        )]);
        let audit = cost(&[record], &[path], &attempts, &prices, None);
        assert_eq!(audit.requests.len(), 1);
        assert!((audit.truth_usd - audit.requests[0].truth_usd).abs() < 1e-12);
        audit.truth_usd
    }

    fn usage(prompt: u64, completion: u64, cached: u64, reasoning: u64) -> serde_json::Value {
        serde_json::json!({"prompt_tokens": prompt, "completion_tokens": completion,
                           "cached_tokens": cached, "reasoning_tokens": reasoning})
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn failed_attempts_are_not_billed_only_the_attempt_that_served() {
        // 1M prompt x $2 + 0.1M out x $10 = $3 for the attempt that served.
        let served = || attempt(3, "served", 200, Some(usage(1_000_000, 100_000, 0, 0)), 0);
        assert!(close(bill(vec![served()]), 3.0));
        let failed = vec![
            attempt(1, "server_error", 500, None, 0),
            attempt(2, "rate_limit", 429, None, 0),
            served(),
        ];
        let total = bill(failed);
        assert!(close(total, 3.0), "a 500 and a 429 were billed: ${total}");
        // A failed attempt whose error answer carries a usage is still not billed.
        let with_usage = attempt(1, "server_error", 500, Some(usage(1_000_000, 0, 0, 0)), 0);
        assert!(close(bill(vec![with_usage]), 0.0));
    }

    #[test]
    fn a_stream_broken_after_content_bills_its_input_only() {
        // The mock sent content, then cut the stream: its prompt (1M x $2) is billed.
        for class in ["stream_cut", "stream_error", "stall"] {
            let total = bill(vec![attempt(1, class, 200, None, 3)]);
            assert!(close(total, 2.0), "{class}: ${total}");
        }
        // Then a fallback served: both are billed.
        let total = bill(vec![
            attempt(1, "stream_cut", 200, None, 3),
            attempt(2, "served", 200, Some(usage(1_000_000, 100_000, 0, 0)), 0),
        ]);
        assert!(close(total, 5.0), "${total}");
    }

    #[test]
    fn cached_tokens_are_billed_at_the_cached_price_and_reasoning_once_as_output() {
        // 0.5M uncached x 2 + 0.5M cached x 1 = $1.5 input.
        let cached = bill(vec![attempt(
            1,
            "served",
            200,
            Some(usage(1_000_000, 0, 500_000, 0)),
            0,
        )]);
        assert!(close(cached, 1.5), "${cached}");
        // Reasoning tokens are part of the completion tokens (OpenAI's
        // `completion_tokens_details`, Gemini's `thoughtsTokenCount` beside
        // `candidatesTokenCount`): 0.1M out x 10 = $1, with or without 50k
        // of them being reasoning.
        let reasoning = bill(vec![attempt(
            1,
            "served",
            200,
            Some(usage(0, 100_000, 0, 50_000)),
            0,
        )]);
        assert!(close(reasoning, 1.0), "${reasoning}");
    }

    #[test]
    fn an_attempt_the_gateway_abandoned_on_timeout_is_billed_in_full() {
        let total = bill(vec![attempt(
            1,
            "timeout",
            200,
            Some(usage(1_000_000, 100_000, 0, 0)),
            0,
        )]);
        assert!(close(total, 3.0), "${total}");
    }
}
