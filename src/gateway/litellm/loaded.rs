//! Deployments the proxy did not load. LiteLLM 1.108.7 builds every
//! `model_list` item at start; one it cannot build (a `litellm_params` value
//! of the wrong type, an unknown provider) is logged as "Error creating
//! deployment: <reason>, ignoring and continuing with other deployments" and
//! skipped, and the proxy starts anyway. Its traffic then finds no
//! deployment, which reads like a failover that never happened.
//!
//! crossfire finds them from the gateway itself: the deployments it serves
//! (`GET /v1/model/info` with the master key crossfire set, each one's own
//! mock `api_base` and `model_info.id`), and the reasons from its log, paired
//! in config order (LiteLLM builds and logs in that order; the log line does
//! not name the deployment).

use super::config::LitellmConfig;
use super::rewrite::api_base_for;
pub use crate::gateway::adapter::NotLoaded;
use crate::gateway::{GatewayError, RunningGateway};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What the proxy serves: the `api_base` and `model_info.id` of each
/// deployment in its `/v1/model/info` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Served {
    /// `litellm_params.api_base` of each deployment.
    pub api_bases: BTreeSet<String>,
    /// `model_info.id` of each deployment.
    pub ids: BTreeSet<String>,
}

impl Served {
    /// Reads a `/v1/model/info` answer.
    pub fn from_model_info(body: &serde_json::Value) -> Served {
        let mut s = Served::default();
        for d in body["data"].as_array().into_iter().flatten() {
            if let Some(b) = d["litellm_params"]["api_base"].as_str() {
                s.api_bases.insert(b.trim_end_matches('/').to_string());
            }
            if let Some(id) = d["model_info"]["id"].as_str() {
                s.ids.insert(id.to_string());
            }
        }
        s
    }
}

const SKIPPED: &str = "Error creating deployment: ";
const CONTINUING: &str = ", ignoring and continuing with other deployments.";

/// The reasons LiteLLM logged for the deployments it skipped, in order, each
/// on one line (pydantic's "For further information" links dropped).
pub fn skip_reasons(log: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = log;
    while let Some(start) = rest.find(SKIPPED) {
        let after = &rest[start + SKIPPED.len()..];
        let end = after.find(CONTINUING).unwrap_or(after.len());
        let reason = after[..end]
            .lines()
            .filter(|l| !l.trim_start().starts_with("For further information"))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        out.push(reason);
        rest = &after[end..];
    }
    out
}

/// The mapped deployments of `cfg` (with mocks at `bases`) the proxy does
/// not serve, each with its reason from `log`.
pub fn missing(
    cfg: &LitellmConfig,
    bases: &BTreeMap<String, String>,
    served: &Served,
    log: &str,
) -> Vec<NotLoaded> {
    let mut out: Vec<NotLoaded> = cfg
        .items
        .iter()
        .filter_map(|item| {
            let (_, dialect) = item.mapped.as_ref()?;
            let base = bases.get(&item.id)?;
            let api_base = api_base_for(*dialect, base);
            let served_here = served.api_bases.contains(api_base.trim_end_matches('/'))
                || served.ids.contains(&item.id);
            (!served_here).then(|| NotLoaded {
                id: item.id.clone(),
                group: item.group.clone(),
                reason: String::new(),
            })
        })
        .collect();
    let reasons = skip_reasons(log);
    let together = reasons.join("; ");
    let n = out.len();
    for (k, nl) in out.iter_mut().enumerate() {
        nl.reason = if reasons.len() == n {
            reasons[k].clone()
        } else if together.is_empty() {
            "the proxy serves no such deployment and its log gives no reason".to_string()
        } else {
            format!("the proxy logged: {together}")
        };
    }
    out
}

/// Asks the running proxy which deployments of `cfg` it skipped.
pub async fn not_loaded(
    cfg: &LitellmConfig,
    bases: &BTreeMap<String, String>,
    gw: &RunningGateway,
    log: &Path,
) -> Result<Vec<NotLoaded>, GatewayError> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| GatewayError::start(format!("cannot build an HTTP client: {e}")))?;
    let mut req = client.get(format!("{}/v1/model/info", gw.base_url));
    for (k, v) in &gw.headers {
        req = req.header(k, v);
    }
    let body: serde_json::Value = req
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| GatewayError::start(format!("cannot read the proxy's model list: {e}")))?
        .json()
        .await
        .map_err(|e| GatewayError::start(format!("cannot read the proxy's model list: {e}")))?;
    let log = std::fs::read_to_string(log).unwrap_or_default();
    Ok(missing(cfg, bases, &Served::from_model_info(&body), &log))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As LiteLLM 1.108.7 logged an Azure item with `api_version: 2024-10-21`.
    const LOG: &str = "01:11:22 - LiteLLM Router:ERROR: router.py:9852 - Error creating deployment: 1 validation error for LiteLLM_Params
api_version
  Input should be a valid string [type=string_type, input_value=datetime.date(2024, 10, 21), input_type=date]
    For further information visit https://errors.pydantic.dev/2.14/v/string_type, ignoring and continuing with other deployments.
Traceback (most recent call last):
pydantic_core._pydantic_core.ValidationError: 1 validation error for LiteLLM_Params
";

    #[test]
    fn the_reason_is_the_proxys_own_words_on_one_line() {
        assert_eq!(
            skip_reasons(LOG),
            ["1 validation error for LiteLLM_Params api_version Input should be a valid string [type=string_type, input_value=datetime.date(2024, 10, 21), input_type=date]"]
        );
    }
}
