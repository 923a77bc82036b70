//! `crossfire tax`: does the router pay for itself? The routing-tax
//! threshold compares what routing costs with what model selection saves.
//!
//! ```text
//! ratio = (routing tax + misrouting waste) / model-selection savings
//! routing tax       = spend x healthy overhead
//!                   + spend x failure rate x Σ mix(c) x billed overhead under failure(c)
//! misrouting waste  = spend x failure rate x Σ mix(c) x unrescued(c)
//! selection savings = spend x savings share                   (the team's figure)
//! ```
//! Per failure class `c`, from the drill's cells (a `drill.json`, or the
//! drill inside a `compare.json`):
//! - *overhead under failure(c)*: the prompt tokens the providers received
//!   (their own counters, per attempt) beyond one delivery of each prompt,
//!   over one delivery: every retry and fallback re-sends the whole prompt.
//!   The *billed* overhead counts only the attempts providers bill (served,
//!   timed out, or a stream broken after content; see
//!   [`crate::prices::BILLING_RULE`]): that is the money. The *received*
//!   overhead counts every attempt: the rate-limit quota failures burn.
//! - *unrescued(c)*: the share of cells of class `c` the gateway did not
//!   move to a healthy provider.
//!
//! `mix(c)` is how often class `c` happens among provider failures:
//! `--class-mix`, else [`DEFAULT_CLASS_MIX`] (its source:
//! [`DEFAULT_CLASS_MIX_SOURCE`]), normalised over the classes the drill
//! measured. A ratio over 1 says the router loses money.

use crate::drill::CellVerdict;
use mock_providers::{FailureClass, Outcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How often each failure class happens among provider failures, when the
/// team gives no `--class-mix` (relative weights; see
/// [`DEFAULT_CLASS_MIX_SOURCE`]).
pub const DEFAULT_CLASS_MIX: &[(FailureClass, f64)] = &[
    (FailureClass::RateLimit, 65.8),
    (FailureClass::Auth, 9.4),
    (FailureClass::ServerError, 1.6),
    (FailureClass::Overloaded, 1.6),
    (FailureClass::Timeout, 1.6),
];

/// [`DEFAULT_CLASS_MIX_SOURCE`] in a few words.
pub const DEFAULT_CLASS_MIX_SHORT: &str =
    "Requesty's \"Provider error code distribution, April 2026\"";

/// Where [`DEFAULT_CLASS_MIX`] comes from, and what it leaves out.
pub const DEFAULT_CLASS_MIX_SOURCE: &str = "Requesty, \"Provider error code distribution, April 2026\" \
(requesty.ai/data/status-code-distribution-april-2026, CC BY 4.0): of the failures providers returned \
on its gateway, 65.8% were 429 (rate_limit here; the source does not split out quota), 9.4% were 403 (auth), \
4.8% were 5xx (the source gives only the sum: split evenly over server_error, overloaded and timeout). \
Its 19.4% of 400s are mostly the client's own bad requests and are left out, as are stream faults, \
which have no status code: give context_overflow or stream_cut a weight with --class-mix if yours happen";

/// The formula, the inputs and the default class mix, for `crossfire tax --help`.
pub fn help() -> String {
    let mix: Vec<String> = DEFAULT_CLASS_MIX
        .iter()
        .map(|(c, w)| format!("{c}={w}"))
        .collect();
    format!(
        "routing tax      = spend x healthy overhead\n\
        \x20                + spend x failure rate x Σ mix(c) x overhead under failure(c)\n\
        misrouting waste = spend x failure rate x Σ mix(c) x unrescued(c)\n\
        savings          = spend x selection savings\n\
        ratio            = (routing tax + misrouting waste) / savings; over 1: loses money (exit 1)\n\n\
        Healthy overhead: the extra prompt tokens providers receive on healthy traffic (measured by `compare`). \
        Per failure class c, from the drill's cells: overhead under failure(c) is the prompt tokens providers \
        received beyond one delivery of each prompt (every retry and fallback re-sends it whole), counting only \
        the attempts providers bill (served, timed out, a stream broken after content); unrescued(c) is the share \
        of cells the gateway did not move to a healthy provider. mix(c) is --class-mix, normalised over the \
        classes drilled.\n\n\
        Default class mix: {}\n\nIts source: {DEFAULT_CLASS_MIX_SOURCE}.",
        mix.join(",")
    )
}

/// One failure class as the drill measured it, summed over its cells.
///
/// Sizes are in *deliveries* of the prompt: an attempt's prompt tokens over
/// the tokens the first attempt on the same provider received in that
/// request. A retry or a fallback that re-sends the whole prompt is one more
/// delivery, whatever each provider's counter makes of it (Anthropic's and
/// OpenAI's count the same text differently); a gateway that grew the prompt
/// between attempts would show as more.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassFigures {
    /// The class.
    pub class: FailureClass,
    /// Drill cells of this class (one per model group).
    pub cells: usize,
    /// Cells the gateway did not rescue.
    pub unrescued_cells: usize,
    /// Requests sent in those cells that reached a provider.
    pub requests: usize,
    /// Whether the sizes were measured in prompt tokens (the mocks'
    /// counters); `false` for a file written before crossfire recorded them:
    /// then each attempt counts as one delivery.
    pub in_tokens: bool,
    /// Deliveries every attempt received, summed over the requests.
    pub received: f64,
    /// Deliveries the attempts providers bill received beyond one per
    /// request, summed over the requests.
    pub billed_extra: f64,
}

impl ClassFigures {
    /// Share of cells not rescued, percent.
    pub fn unrescued_pct(&self) -> f64 {
        ratio_pct(self.unrescued_cells as f64, self.cells as f64)
    }

    /// Prompt deliveries received beyond one per request, percent.
    pub fn received_overhead_pct(&self) -> f64 {
        ratio_pct(
            (self.received - self.requests as f64).max(0.0),
            self.requests as f64,
        )
    }

    /// Billed prompt deliveries beyond one per request, percent.
    pub fn billed_overhead_pct(&self) -> f64 {
        ratio_pct(self.billed_extra, self.requests as f64)
    }
}

fn ratio_pct(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole * 100.0
    } else {
        0.0
    }
}

/// What a `compare.json` or `drill.json` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measured {
    /// Healthy traffic: extra prompt tokens over what the client sent,
    /// percent (a `compare.json` has it; a `drill.json` does not).
    pub token_overhead_pct: Option<f64>,
    /// Per failure class, in class order.
    pub classes: Vec<ClassFigures>,
}

/// The facts of one attempt tax needs, as a drill file records them.
#[derive(Debug, Deserialize)]
struct StepFacts {
    #[serde(default)]
    provider: String,
    outcome: Outcome,
    status: Option<u16>,
    #[serde(default)]
    prompt_tokens: Option<u64>,
}

/// Whether a provider bills an attempt's input: the billing rule of
/// [`crate::prices::BILLING_RULE`].
fn bills_input(s: &StepFacts) -> bool {
    s.status == Some(200)
        && matches!(
            s.outcome,
            Outcome::Served
                | Outcome::Fault(
                    FailureClass::Timeout
                        | FailureClass::SlowFirstToken
                        | FailureClass::NoDone
                        | FailureClass::MalformedEvent
                        | FailureClass::StreamCut
                        | FailureClass::StreamError
                        | FailureClass::Stall
                )
        )
}

/// Verdicts of cells that measured nothing (the fault never met a request,
/// or the drill stopped first): they weigh neither way.
const NOTHING_MEASURED: [&str; 2] = ["not_observed", "not_run"];

/// Sums one cell into its class's figures.
fn add_cell(f: &mut ClassFigures, cell: &serde_json::Value) -> Result<(), String> {
    let Some(verdict) = cell["verdict"].as_str() else {
        return Err(format!("a {} drill cell has no verdict", f.class));
    };
    if NOTHING_MEASURED.contains(&verdict) {
        return Ok(());
    }
    f.cells += 1;
    let rescued = serde_json::from_value::<CellVerdict>(cell["verdict"].clone())
        .map(CellVerdict::rescued)
        // A verdict this crossfire does not know (a newer drill's) rescued
        // nothing it can name.
        .unwrap_or(false);
    if !rescued {
        f.unrescued_cells += 1;
    }
    for path in cell["paths"].as_array().into_iter().flatten() {
        let steps: Vec<StepFacts> = serde_json::from_value(path["steps"].clone())
            .map_err(|e| format!("a path of a {} cell cannot be read: {e}", f.class))?;
        // Only requests that met the cell's fault tell what a failure costs
        // (a random pick may have sent one to a healthy target).
        if !steps.iter().any(|s| s.outcome == Outcome::Fault(f.class)) {
            continue;
        }
        f.in_tokens &= steps.iter().all(|s| s.prompt_tokens.is_some());
        // One delivery, per provider: the first attempt on it.
        let mut once: BTreeMap<&str, u64> = BTreeMap::new();
        for s in &steps {
            once.entry(s.provider.as_str())
                .or_insert(s.prompt_tokens.unwrap_or(1).max(1));
        }
        let deliveries = |s: &StepFacts| match s.prompt_tokens {
            Some(t) => t as f64 / once.get(s.provider.as_str()).copied().unwrap_or(1) as f64,
            None => 1.0,
        };
        let billed: f64 = steps
            .iter()
            .filter(|s| bills_input(s))
            .map(deliveries)
            .sum();
        f.requests += 1;
        f.received += steps.iter().map(deliveries).sum::<f64>();
        f.billed_extra += (billed - 1.0).max(0.0);
    }
    Ok(())
}

/// The measured figures from a `compare.json` (one gateway: `gateway`, else
/// the first) or a `drill.json`.
pub fn measured(json: &serde_json::Value, gateway: Option<&str>) -> Result<Measured, String> {
    let (drill, token_overhead_pct) = match json["results"].as_array() {
        Some(results) => {
            let r = match gateway {
                Some(g) => results
                    .iter()
                    .find(|r| r["gateway"] == g)
                    .ok_or(format!("no `{g}` in the compare file"))?,
                None => results.first().ok_or("the compare file has no results")?,
            };
            (&r["drill"], r["token_overhead_pct"].as_f64())
        }
        None => (json, None),
    };
    let cells = drill["cells"]
        .as_array()
        .ok_or("no drill cells in the file")?;
    if cells.is_empty() {
        return Err("the drill has no cells".into());
    }
    let mut classes: BTreeMap<FailureClass, ClassFigures> = BTreeMap::new();
    for cell in cells {
        let name = cell["class"].as_str().unwrap_or_default();
        let class = FailureClass::from_name(name).ok_or(format!(
            "a drill cell has no failure class (`class: {name}`)"
        ))?;
        let f = classes.entry(class).or_insert(ClassFigures {
            class,
            cells: 0,
            unrescued_cells: 0,
            requests: 0,
            in_tokens: true,
            received: 0.0,
            billed_extra: 0.0,
        });
        add_cell(f, cell)?;
    }
    let classes: Vec<ClassFigures> = classes.into_values().filter(|f| f.cells > 0).collect();
    if classes.is_empty() {
        return Err("no drill cell measured anything (every fault missed the traffic)".into());
    }
    Ok(Measured {
        token_overhead_pct,
        classes,
    })
}

/// A mix of failure classes: relative weights, as given.
pub type ClassMix = Vec<(FailureClass, f64)>;

/// Reads `--class-mix rate_limit=0.4,server_error=0.3,...`: class names and
/// relative weights (zero or more; they need not add up to 1, they are
/// normalised). The message says what is wrong and what would be right.
///
/// ```
/// use crossfire::mock_providers::FailureClass;
/// let mix = crossfire::tax::parse_class_mix("rate_limit=0.4, server_error=0.6").unwrap();
/// assert_eq!(mix, vec![(FailureClass::RateLimit, 0.4), (FailureClass::ServerError, 0.6)]);
/// assert!(crossfire::tax::parse_class_mix("rate_limt=1").unwrap_err().contains("did you mean `rate_limit`?"));
/// ```
pub fn parse_class_mix(text: &str) -> Result<ClassMix, String> {
    let mut mix: ClassMix = Vec::new();
    for item in text.split(',').map(str::trim) {
        if item.is_empty() {
            continue;
        }
        let Some((name, weight)) = item.split_once('=') else {
            return Err(format!(
                "`{item}` is not `class=weight` (e.g. `rate_limit=0.6,server_error=0.4`)"
            ));
        };
        let name = name.trim();
        let class = FailureClass::from_name(name).ok_or_else(|| {
            format!(
                "unknown failure class `{name}`; {}",
                crate::diag::suggest(name, FailureClass::ALL.iter().map(|c| c.name()))
            )
        })?;
        let weight: f64 = weight
            .trim()
            .parse()
            .ok()
            .filter(|w: &f64| w.is_finite() && *w >= 0.0)
            .ok_or_else(|| {
                format!(
                    "the weight of `{name}` must be a number, zero or more, not `{}`",
                    weight.trim()
                )
            })?;
        if mix.iter().any(|(c, _)| *c == class) {
            return Err(format!("`{name}` is given twice"));
        }
        mix.push((class, weight));
    }
    if mix.is_empty() {
        return Err("no class given (e.g. `rate_limit=0.6,server_error=0.4`)".into());
    }
    Ok(mix)
}

/// The mix actually used: weights normalised to 1 over the classes the
/// drill measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsedMix {
    /// Class and weight (adding up to 1).
    pub weights: Vec<(FailureClass, f64)>,
    /// Where the weights come from: `--class-mix`, or the default's source.
    pub source: String,
}

/// Normalises a mix over what the drill measured. A class the team gave
/// that the drill did not measure is an error (its figures would be
/// invented); the default's classes the drill did not measure are dropped.
pub fn use_mix(given: Option<&ClassMix>, measured: &Measured) -> Result<UsedMix, String> {
    let drilled: Vec<FailureClass> = measured.classes.iter().map(|f| f.class).collect();
    let names = || {
        drilled
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (mix, source): (ClassMix, String) = match given {
        Some(m) => {
            if let Some((c, _)) = m.iter().find(|(c, _)| !drilled.contains(c)) {
                return Err(format!(
                    "`{c}` was not drilled in this file (drilled: {}); drill it, or leave it out of the mix",
                    names()
                ));
            }
            (m.clone(), "--class-mix".to_string())
        }
        None => (
            DEFAULT_CLASS_MIX
                .iter()
                .copied()
                .filter(|(c, _)| drilled.contains(c))
                .collect(),
            format!("the default, from {DEFAULT_CLASS_MIX_SHORT} (see `crossfire tax --help`)"),
        ),
    };
    let total: f64 = mix.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return Err(match given {
            Some(_) => "every weight is zero; give at least one class a weight".to_string(),
            None => format!(
                "the drill measured none of the default mix's classes (drilled: {}); give --class-mix",
                names()
            ),
        });
    }
    Ok(UsedMix {
        weights: mix.into_iter().map(|(c, w)| (c, w / total)).collect(),
        source,
    })
}

/// The inputs, measured and given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TaxInputs {
    /// Monthly LLM spend through the router, USD.
    pub monthly_spend: f64,
    /// Healthy traffic: extra tokens providers receive over what clients
    /// send, percent (measured by `compare`).
    pub token_overhead_pct: f64,
    /// Share of requests that meet a provider failure, percent (the team's figure).
    pub failure_rate_pct: f64,
    /// Under failure: billed prompt tokens beyond one delivery, percent,
    /// weighted by the class mix (measured by the drill).
    pub failure_overhead_pct: f64,
    /// Share of failures the gateway does not rescue, percent, weighted by
    /// the class mix (measured by the drill).
    pub unrescued_pct: f64,
    /// What routing to cheaper models saves, percent of spend (the team's figure).
    pub selection_savings_pct: f64,
}

impl TaxInputs {
    /// The inputs from the measured figures, weighted by `mix`.
    pub fn weighted(
        m: &Measured,
        mix: &UsedMix,
        monthly_spend: f64,
        token_overhead_pct: f64,
        failure_rate_pct: f64,
        selection_savings_pct: f64,
    ) -> TaxInputs {
        let weigh = |f: fn(&ClassFigures) -> f64| -> f64 {
            mix.weights
                .iter()
                .filter_map(|(c, w)| m.classes.iter().find(|x| x.class == *c).map(|x| w * f(x)))
                .sum()
        };
        TaxInputs {
            monthly_spend,
            token_overhead_pct,
            failure_rate_pct,
            failure_overhead_pct: weigh(ClassFigures::billed_overhead_pct),
            unrescued_pct: weigh(ClassFigures::unrescued_pct),
            selection_savings_pct,
        }
    }
}

/// The result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tax {
    /// The inputs.
    pub inputs: TaxInputs,
    /// USD per month: healthy overhead plus overhead under failure.
    pub routing_tax: f64,
    /// USD per month: the healthy token overhead's share of `routing_tax`.
    pub healthy_overhead: f64,
    /// USD per month: the overhead under failure's share of `routing_tax`.
    pub failure_overhead: f64,
    /// USD per month.
    pub misrouting_waste: f64,
    /// USD per month.
    pub selection_savings: f64,
    /// (tax + waste) / savings; over 1 the router loses money.
    pub ratio: f64,
}

/// Computes the threshold.
///
/// ```
/// let t = crossfire::tax::compute(crossfire::tax::TaxInputs {
///     monthly_spend: 10_000.0, token_overhead_pct: 2.0, failure_rate_pct: 5.0,
///     failure_overhead_pct: 100.0, unrescued_pct: 40.0, selection_savings_pct: 10.0,
/// });
/// assert_eq!(t.healthy_overhead, 200.0);
/// assert_eq!(t.failure_overhead, 500.0);
/// assert_eq!(t.routing_tax, 700.0);
/// assert_eq!(t.misrouting_waste, 200.0);
/// assert!((t.ratio - 0.9).abs() < 1e-9);
/// ```
pub fn compute(i: TaxInputs) -> Tax {
    let healthy_overhead = i.monthly_spend * i.token_overhead_pct.max(0.0) / 100.0;
    let failure_overhead =
        i.monthly_spend * i.failure_rate_pct / 100.0 * i.failure_overhead_pct.max(0.0) / 100.0;
    let routing_tax = healthy_overhead + failure_overhead;
    let misrouting_waste = i.monthly_spend * i.failure_rate_pct / 100.0 * i.unrescued_pct / 100.0;
    let selection_savings = i.monthly_spend * i.selection_savings_pct / 100.0;
    let ratio = if selection_savings > 0.0 {
        (routing_tax + misrouting_waste) / selection_savings
    } else {
        f64::INFINITY
    };
    Tax {
        inputs: i,
        routing_tax,
        healthy_overhead,
        failure_overhead,
        misrouting_waste,
        selection_savings,
        ratio,
    }
}

/// Everything `crossfire tax --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct TaxReport {
    /// The threshold.
    #[serde(flatten)]
    pub tax: Tax,
    /// The class mix used.
    pub class_mix: UsedMix,
    /// The measured figures per class.
    pub classes: Vec<ClassFigures>,
}

/// The result in words, with the per-class figures it was weighted from.
pub fn render(r: &TaxReport) -> String {
    let t = &r.tax;
    let verdict = if t.ratio > 1.0 {
        "the router costs more than model selection saves"
    } else {
        "the router pays for itself"
    };
    let mut s = format!(
        "routing tax        ${:>12.2}/month  healthy: {:.2}% token overhead on ${:.0} = ${:.2}\n\
         {:>40}under failure: {:.1}% billed prompt overhead on the {:.1}% of requests that fail = ${:.2}\n\
         misrouting waste   ${:>12.2}/month  {:.1}% of requests fail, {:.1}% of them unrescued\n\
         selection savings  ${:>12.2}/month  {:.1}% of spend\n\
         ratio              {:>13.3}         {verdict}\n\n",
        t.routing_tax,
        t.inputs.token_overhead_pct,
        t.inputs.monthly_spend,
        t.healthy_overhead,
        "",
        t.inputs.failure_overhead_pct,
        t.inputs.failure_rate_pct,
        t.failure_overhead,
        t.misrouting_waste,
        t.inputs.failure_rate_pct,
        t.inputs.unrescued_pct,
        t.selection_savings,
        t.inputs.selection_savings_pct,
        t.ratio
    );
    s.push_str("class              mix   unrescued  prompt overhead: billed / received\n");
    for f in &r.classes {
        let w = r
            .class_mix
            .weights
            .iter()
            .find(|(c, _)| *c == f.class)
            .map_or(0.0, |(_, w)| *w);
        let unit = if f.in_tokens {
            ""
        } else {
            " (attempts, no token counts in the file)"
        };
        s.push_str(&format!(
            "{:<18} {:>4.0}%  {:>3} of {:<3}  {:>+7.1}% / {:+.1}%{unit}\n",
            f.class.name(),
            w * 100.0,
            f.unrescued_cells,
            f.cells,
            f.billed_overhead_pct(),
            f.received_overhead_pct(),
        ));
    }
    s.push_str(&format!("class mix: {}\n", r.class_mix.source));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(outcome: serde_json::Value, status: u16, tokens: u64) -> serde_json::Value {
        // Claude's counter makes 100 tokens of the prompt, GPT's 110.
        let provider = if tokens == 100 { "anthropic" } else { "openai" };
        json!({"provider": provider, "outcome": outcome, "status": status, "prompt_tokens": tokens})
    }

    /// A drill file: LiteLLM 1.108.7's shapes, a persistent 429 retried
    /// three times on Claude then crossed to GPT; a 500 crossed at once;
    /// a timeout left on Claude after the gateway waited it out twice.
    fn drill() -> serde_json::Value {
        let rl = json!({"fault": "rate_limit"});
        let five = json!({"fault": "server_error"});
        let slow = json!({"fault": "timeout"});
        json!({"cells": [
            {"class": "rate_limit", "verdict": "crossed", "paths": [
                {"steps": [step(rl.clone(), 429, 100), step(rl.clone(), 429, 100),
                           step(rl.clone(), 429, 100), step(json!("served"), 200, 110)]}]},
            {"class": "server_error", "verdict": "crossed", "paths": [
                {"steps": [step(five, 500, 100), step(json!("served"), 200, 110)]}]},
            {"class": "timeout", "verdict": "illusion", "paths": [
                {"steps": [step(slow.clone(), 200, 100), step(slow, 200, 100)]}]}
        ]})
    }

    #[test]
    fn every_retry_and_fallback_counts_the_whole_prompt_again() {
        let m = measured(&drill(), None).unwrap();
        let rl = &m
            .classes
            .iter()
            .find(|f| f.class == FailureClass::RateLimit)
            .unwrap();
        // 4 deliveries received (GPT's counter makes 110 tokens of what
        // Claude's made 100: still one delivery): +300%; only GPT's is
        // billed: +0%.
        assert_eq!((rl.received, rl.billed_extra), (4.0, 0.0));
        assert!((rl.received_overhead_pct() - 300.0).abs() < 1e-9);
        assert_eq!(rl.billed_overhead_pct(), 0.0);
        // A timed-out answer is billed though the gateway gave up on it.
        let t = &m
            .classes
            .iter()
            .find(|f| f.class == FailureClass::Timeout)
            .unwrap();
        assert!((t.billed_overhead_pct() - 100.0).abs() < 1e-9);
        assert_eq!(t.unrescued_pct(), 100.0);
    }

    #[test]
    fn the_class_mix_weights_the_overhead_and_the_unrescued_share() {
        let m = measured(&drill(), None).unwrap();
        let given = parse_class_mix("rate_limit=2,timeout=2").unwrap();
        let mix = use_mix(Some(&given), &m).unwrap();
        assert_eq!(
            mix.weights,
            vec![(FailureClass::RateLimit, 0.5), (FailureClass::Timeout, 0.5)]
        );
        let i = TaxInputs::weighted(&m, &mix, 10_000.0, 0.0, 10.0, 10.0);
        // (0% + 100%) / 2 billed overhead; (0 + 100%) / 2 unrescued.
        assert!((i.failure_overhead_pct - 50.0).abs() < 1e-9);
        assert!((i.unrescued_pct - 50.0).abs() < 1e-9);
        // $10,000 x 10% failing x 50% = $500; x 50% unrescued = $500.
        let t = compute(i);
        assert!((t.failure_overhead - 500.0).abs() < 1e-9);
        assert!((t.misrouting_waste - 500.0).abs() < 1e-9);
    }

    #[test]
    fn the_default_mix_keeps_the_classes_drilled_and_names_its_source() {
        let m = measured(&drill(), None).unwrap();
        let mix = use_mix(None, &m).unwrap();
        let total = 65.8 + 1.6 + 1.6;
        // auth and overloaded were not drilled: dropped, the rest normalised.
        let classes: Vec<FailureClass> = mix.weights.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            classes,
            [
                FailureClass::RateLimit,
                FailureClass::ServerError,
                FailureClass::Timeout
            ]
        );
        assert!((mix.weights[0].1 - 65.8 / total).abs() < 1e-9, "{mix:?}");
        assert_eq!(
            mix.source,
            "the default, from Requesty's \"Provider error code distribution, April 2026\" (see `crossfire tax --help`)"
        );
    }

    #[test]
    fn bad_class_mixes_are_refused_with_what_would_be_right() {
        let m = measured(&drill(), None).unwrap();
        for (text, want) in [
            (
                "rate_limt=1",
                "unknown failure class `rate_limt`; did you mean `rate_limit`?",
            ),
            ("rate_limit", "`rate_limit` is not `class=weight`"),
            (
                "rate_limit=-1",
                "the weight of `rate_limit` must be a number, zero or more, not `-1`",
            ),
            (
                "rate_limit=lots",
                "must be a number, zero or more, not `lots`",
            ),
            ("rate_limit=1,rate_limit=2", "`rate_limit` is given twice"),
            ("", "no class given"),
        ] {
            let e = parse_class_mix(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        let e = use_mix(Some(&parse_class_mix("stream_cut=1").unwrap()), &m).unwrap_err();
        assert!(
            e.starts_with("`stream_cut` was not drilled in this file (drilled: `server_error`, `rate_limit`, `timeout`)"),
            "{e}"
        );
        let e = use_mix(Some(&parse_class_mix("timeout=0").unwrap()), &m).unwrap_err();
        assert!(e.contains("every weight is zero"), "{e}");
    }

    #[test]
    fn cells_that_measured_nothing_and_requests_that_missed_the_fault_weigh_nothing() {
        let file = json!({"cells": [
            {"class": "rate_limit", "verdict": "not_observed", "paths": [
                {"steps": [step(json!("served"), 200, 100)]}]},
            {"class": "rate_limit", "verdict": "crossed", "paths": [
                {"steps": [step(json!("served"), 200, 100)]},
                {"steps": [step(json!({"fault": "rate_limit"}), 429, 100), step(json!("served"), 200, 110)]}]}
        ]});
        let m = measured(&file, None).unwrap();
        let rl = &m.classes[0];
        assert_eq!((rl.cells, rl.unrescued_cells, rl.requests), (1, 0, 1));
        assert_eq!(rl.received_overhead_pct(), 100.0);
    }

    #[test]
    fn the_tax_in_words() {
        let m = measured(&drill(), None).unwrap();
        let mix = use_mix(None, &m).unwrap();
        let t = compute(TaxInputs::weighted(&m, &mix, 20_000.0, 0.5, 3.0, 12.0));
        let r = TaxReport {
            tax: t,
            class_mix: mix,
            classes: m.classes,
        };
        insta::assert_snapshot!(render(&r));
    }

    #[test]
    fn a_drill_file_without_token_counts_counts_attempts() {
        let old = json!({"cells": [{"class": "rate_limit", "verdict": "crossed", "paths": [
            {"steps": [{"outcome": {"fault": "rate_limit"}, "status": 429},
                       {"outcome": "served", "status": 200}]}]}]});
        let m = measured(&old, None).unwrap();
        assert!(!m.classes[0].in_tokens);
        assert_eq!(m.classes[0].received_overhead_pct(), 100.0);
        assert_eq!(m.classes[0].billed_overhead_pct(), 0.0);
    }

    /// The tax and the cost audit state the billing rule each in its own
    /// code: they must bill the same attempts' input.
    #[test]
    fn the_tax_bills_the_attempts_the_cost_audit_bills() {
        let price = crate::prices::Price {
            input: 1.0,
            cached_input: 1.0,
            output: 1.0,
        };
        let outcomes = [Outcome::Served, Outcome::Refused]
            .into_iter()
            .chain(FailureClass::ALL.into_iter().map(Outcome::Fault));
        for outcome in outcomes {
            for status in [Some(200), Some(429), Some(500), None] {
                let attempt: mock_providers::Attempt = serde_json::from_value(json!({
                    "seq": 1, "attempt": 1, "deployment": "d", "dialect": "openai",
                    "method": "POST", "path": "/v1/chat/completions", "model": "m",
                    "marker": null, "stream": true, "bytes_in": 1, "prompt_tokens": 1000,
                    "token_counter": null, "max_tokens": null, "outcome": outcome,
                    "cause": null, "status": status,
                    "usage": {"prompt_tokens": 1000, "completion_tokens": 10,
                              "cached_tokens": 0, "reasoning_tokens": 0},
                    "bytes_out": 1, "events_sent": 1, "completed": false,
                    "received_unix_ms": 0, "received_us": 0, "first_byte_us": null,
                    "finished_us": 0
                }))
                .expect("a journal line");
                let step = StepFacts {
                    provider: "p".into(),
                    outcome,
                    status,
                    prompt_tokens: Some(1000),
                };
                assert_eq!(
                    bills_input(&step),
                    crate::audit::billed(&attempt, &price) > 0.0,
                    "{} with status {status:?}",
                    outcome.name()
                );
            }
        }
    }
}
