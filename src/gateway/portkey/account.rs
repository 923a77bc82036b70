//! Portkey's own account of a request (`x-portkey-last-used-option-index`,
//! `x-portkey-retry-attempt-count`) held against what the providers saw.

use crate::gateway::adapter::AccountCheck;
use crate::paths::RequestPath;
use std::collections::{BTreeMap, HashMap};

/// What it takes to read Portkey's account: each target's place in the
/// config (`targets[1]`) -> deployment id.
#[derive(Debug, Clone)]
pub struct PortkeyAccount {
    /// `targets[1]` -> deployment id.
    pub leaf_at: HashMap<String, String>,
}

impl AccountCheck for PortkeyAccount {
    fn disagreements(&self, path: &RequestPath, headers: &BTreeMap<String, String>) -> Vec<String> {
        disagreements(path, headers, &self.leaf_at)
    }
}

/// Portkey's `x-portkey-last-used-option-index` (`config.targets[1]`) and
/// `x-portkey-retry-attempt-count` against the journal.
pub fn disagreements(
    path: &RequestPath,
    headers: &BTreeMap<String, String>,
    leaf_at: &HashMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let Some(served) = path.served_by() else {
        return out;
    };
    if let Some(index) = headers.get("x-portkey-last-used-option-index") {
        let place = index
            .strip_prefix("config")
            .unwrap_or(index)
            .trim_start_matches('.');
        if let Some(d) = leaf_at.get(place) {
            if *d != served.deployment {
                out.push(format!(
                    "the gateway says {index} ({d}) answered; the providers saw {} answer",
                    served.deployment
                ));
            }
        }
    }
    if let Some(r) = headers
        .get("x-portkey-retry-attempt-count")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|r| *r >= 0)
    {
        let on_served = path
            .steps
            .iter()
            .filter(|s| s.deployment == served.deployment)
            .count() as i64;
        if r != on_served - 1 {
            out.push(format!(
                "the gateway reported {r} retries on {}; the providers saw {on_served} attempts there",
                served.deployment
            ));
        }
    }
    out
}
