//! `crossfire tax`: does the router pay for itself? The routing-tax
//! threshold compares what routing costs with what model selection saves.
//!
//! ```text
//! ratio = (routing tax + misrouting waste) / model-selection savings
//! routing tax       = monthly spend x token overhead      (measured: compare)
//! misrouting waste  = monthly spend x failure rate x unrescued share
//!                     (unrescued share measured: the drill's failure classes
//!                      the gateway did not move to a healthy provider)
//! selection savings = monthly spend x savings share       (the team's figure)
//! ```
//! A ratio over 1 says the router loses money.

use serde::Serialize;

/// The inputs, measured and given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TaxInputs {
    /// Monthly LLM spend through the router, USD.
    pub monthly_spend: f64,
    /// Extra tokens providers receive over what clients send, percent (measured).
    pub token_overhead_pct: f64,
    /// Share of requests that meet a provider failure, percent (the team's figure).
    pub failure_rate_pct: f64,
    /// Share of failure classes the gateway does not rescue, percent (measured).
    pub unrescued_pct: f64,
    /// What routing to cheaper models saves, percent of spend (the team's figure).
    pub selection_savings_pct: f64,
}

/// The result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tax {
    /// The inputs.
    pub inputs: TaxInputs,
    /// USD per month.
    pub routing_tax: f64,
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
///     unrescued_pct: 40.0, selection_savings_pct: 10.0,
/// });
/// assert_eq!(t.routing_tax, 200.0);
/// assert_eq!(t.misrouting_waste, 200.0);
/// assert!((t.ratio - 0.4).abs() < 1e-9);
/// ```
pub fn compute(i: TaxInputs) -> Tax {
    let routing_tax = i.monthly_spend * i.token_overhead_pct.max(0.0) / 100.0;
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
        misrouting_waste,
        selection_savings,
        ratio,
    }
}

/// The measured inputs from a `compare.json` (one gateway) or a `drill.json`.
pub fn measured(
    json: &serde_json::Value,
    gateway: Option<&str>,
) -> Result<(Option<f64>, f64), String> {
    let drill_and_tax =
        |drill: &serde_json::Value, tax: Option<f64>| -> Result<(Option<f64>, f64), String> {
            let cells = drill["cells"]
                .as_array()
                .ok_or("no drill cells in the file")?;
            if cells.is_empty() {
                return Err("the drill has no cells".into());
            }
            let rescued = cells
                .iter()
                .filter(|c| {
                    serde_json::from_value::<crate::drill::CellVerdict>(c["verdict"].clone())
                        .is_ok_and(|v| v.rescued())
                })
                .count();
            Ok((
                tax,
                (cells.len() - rescued) as f64 / cells.len() as f64 * 100.0,
            ))
        };
    if let Some(results) = json["results"].as_array() {
        let r = match gateway {
            Some(g) => results
                .iter()
                .find(|r| r["gateway"] == g)
                .ok_or(format!("no `{g}` in the compare file"))?,
            None => results.first().ok_or("the compare file has no results")?,
        };
        return drill_and_tax(&r["drill"], r["token_overhead_pct"].as_f64());
    }
    drill_and_tax(json, None)
}

/// The result in words.
pub fn render(t: &Tax) -> String {
    let verdict = if t.ratio > 1.0 {
        "the router costs more than model selection saves"
    } else {
        "the router pays for itself"
    };
    format!(
        "routing tax        ${:>12.2}/month  ({:.2}% token overhead on ${:.0})\n\
         misrouting waste   ${:>12.2}/month  ({:.1}% of requests fail, {:.0}% of failure classes unrescued)\n\
         selection savings  ${:>12.2}/month  ({:.1}% of spend)\n\
         ratio              {:>13.3}         {verdict}\n",
        t.routing_tax,
        t.inputs.token_overhead_pct,
        t.inputs.monthly_spend,
        t.misrouting_waste,
        t.inputs.failure_rate_pct,
        t.inputs.unrescued_pct,
        t.selection_savings,
        t.inputs.selection_savings_pct,
        t.ratio
    )
}
