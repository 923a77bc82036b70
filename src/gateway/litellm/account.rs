//! LiteLLM's own account of a request (its `x-litellm-*` answer headers)
//! held against what the providers saw. A gateway that says "one fallback,
//! served by gpt-4o" when the journal shows otherwise is worth knowing about.

use crate::gateway::adapter::AccountCheck;
use crate::paths::RequestPath;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What LiteLLM says about one request.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Account {
    /// `x-litellm-model-group`: the group that answered.
    pub model_group: Option<String>,
    /// `x-litellm-model-api-base`: the deployment that answered.
    pub api_base: Option<String>,
    /// `x-litellm-attempted-retries`: retries within the group that answered.
    pub retries: Option<u32>,
    /// `x-litellm-attempted-fallbacks`: fallback groups tried.
    pub fallbacks: Option<u32>,
}

impl Account {
    /// Reads the headers of a response; `None` when LiteLLM sent none.
    pub fn from_headers(h: &BTreeMap<String, String>) -> Option<Account> {
        let a = Account {
            model_group: h.get("x-litellm-model-group").cloned(),
            api_base: h.get("x-litellm-model-api-base").cloned(),
            retries: h
                .get("x-litellm-attempted-retries")
                .and_then(|v| v.parse().ok()),
            fallbacks: h
                .get("x-litellm-attempted-fallbacks")
                .and_then(|v| v.parse().ok()),
        };
        (a != Account::default()).then_some(a)
    }
}

/// What it takes to read LiteLLM's account.
#[derive(Debug, Clone)]
pub struct LitellmAccount {
    /// The `api_base` LiteLLM was given -> deployment id.
    pub deployment_at: HashMap<String, String>,
    /// Deployment id -> model group.
    pub group_of: HashMap<String, String>,
}

impl AccountCheck for LitellmAccount {
    fn disagreements(&self, path: &RequestPath, headers: &BTreeMap<String, String>) -> Vec<String> {
        match Account::from_headers(headers) {
            Some(a) => disagreements(path, &a, &self.deployment_at, &self.group_of),
            None => vec![],
        }
    }
}

/// Where LiteLLM's account and the journal part ways, in words.
/// `deployment_at` maps an `api_base` LiteLLM was given to its deployment id;
/// `group_of` maps a deployment id to its model group.
pub fn disagreements(
    path: &RequestPath,
    account: &Account,
    deployment_at: &HashMap<String, String>,
    group_of: &HashMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let Some(served) = path.served_by() else {
        return out;
    };
    if let Some(base) = &account.api_base {
        match deployment_at.get(base.trim_end_matches('/')) {
            Some(d) if *d != served.deployment => out.push(format!(
                "the gateway says {d} answered; the providers saw {} answer",
                served.deployment
            )),
            _ => {}
        }
    }
    let group = |d: &str| group_of.get(d).cloned().unwrap_or_else(|| d.to_string());
    let served_group = group(&served.deployment);
    if let Some(g) = &account.model_group {
        if *g != served_group {
            out.push(format!(
                "the gateway says group {g} answered; the providers saw group {served_group} answer"
            ));
        }
    }
    let groups: BTreeSet<String> = path.steps.iter().map(|s| group(&s.deployment)).collect();
    if let Some(f) = account.fallbacks {
        let seen = groups.len().saturating_sub(1) as u32;
        if f != seen {
            out.push(format!(
                "the gateway reported {f} fallbacks; the providers saw {} groups tried ({seen} fallbacks)",
                groups.len()
            ));
        }
    }
    if let Some(r) = account.retries {
        let on_final = path
            .steps
            .iter()
            .filter(|s| group(&s.deployment) == served_group)
            .count() as u32;
        let seen = on_final.saturating_sub(1);
        if r != seen {
            out.push(format!(
                "the gateway reported {r} retries on {served_group}; the providers saw {on_final} attempts there ({seen} retries)"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::{classify, Step};
    use mock_providers::{FailureClass, Outcome};

    fn path(steps: &[(&str, bool)]) -> RequestPath {
        let steps: Vec<Step> = steps
            .iter()
            .enumerate()
            .map(|(i, (d, ok))| Step {
                replica: None,
                seq: i as u64,
                deployment: d.to_string(),
                provider: if d.starts_with("claude") {
                    "anthropic".into()
                } else {
                    "openai".into()
                },
                outcome: if *ok {
                    Outcome::Served
                } else {
                    Outcome::Fault(FailureClass::RateLimit)
                },
                status: Some(if *ok { 200 } else { 429 }),
                completed: true,
                service_us: 0,
                prompt_tokens: None,
            })
            .collect();
        RequestPath {
            replica: None,
            n: 1,
            marker: "xf:t:1".into(),
            traffic: 0,
            model: "claude-opus".into(),
            class: classify(&steps, true),
            met_fault: true,
            steps,
            client_status: Some(200),
            ok: true,
            latency_us: 1,
        }
    }

    #[test]
    fn agreeing_and_disagreeing_accounts() {
        let at = HashMap::from([
            ("http://127.0.0.1:1/v1".to_string(), "gpt".to_string()),
            ("http://127.0.0.1:2".to_string(), "claude".to_string()),
        ]);
        let groups = HashMap::from([
            ("gpt".to_string(), "gpt-4o".to_string()),
            ("claude".to_string(), "claude-opus".to_string()),
        ]);
        let p = path(&[("claude", false), ("claude", false), ("gpt", true)]);
        let honest = Account {
            model_group: Some("gpt-4o".into()),
            api_base: Some("http://127.0.0.1:1/v1".into()),
            retries: Some(0),
            fallbacks: Some(1),
        };
        assert!(disagreements(&p, &honest, &at, &groups).is_empty());
        let wrong = Account {
            model_group: Some("claude-opus".into()),
            api_base: Some("http://127.0.0.1:2".into()),
            retries: Some(2),
            fallbacks: Some(0),
        };
        assert_eq!(
            disagreements(&p, &wrong, &at, &groups),
            vec![
                "the gateway says claude answered; the providers saw gpt answer",
                "the gateway says group claude-opus answered; the providers saw group gpt-4o answer",
                "the gateway reported 0 fallbacks; the providers saw 2 groups tried (1 fallbacks)",
                "the gateway reported 2 retries on gpt-4o; the providers saw 1 attempts there (0 retries)",
            ]
        );
    }
}
