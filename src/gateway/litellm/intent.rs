//! What a LiteLLM config promises: for each model group, the providers its
//! failures can move to, per failure class. The Failover Illusion finding
//! holds the observed paths against it.

use super::config::{Fallbacks, LitellmConfig};
use crate::scenario::{GroupIntent, Intent};
use mock_providers::FailureClass;
use std::collections::BTreeSet;

/// The fallback groups `fallbacks` gives a group: its own entry, else the
/// `*` entry, else `default_fallbacks`.
pub fn general_targets(cfg: &LitellmConfig, group: &str) -> Vec<String> {
    let entry =
        |list: &Fallbacks, g: &str| list.iter().find(|(k, _)| k == g).map(|(_, t)| t.clone());
    entry(&cfg.routing.fallbacks, group)
        .or_else(|| entry(&cfg.routing.fallbacks, "*"))
        .unwrap_or_else(|| cfg.routing.default_fallbacks.clone())
        .into_iter()
        .filter(|t| t != group)
        .collect()
}

/// The fallback groups for a class-specific list: `None` when the list is not
/// set (general fallbacks apply); `Some(empty)` when it is set without an
/// entry for the group (LiteLLM then falls back nowhere at all).
pub fn class_targets(list: Option<&Fallbacks>, group: &str) -> Option<Vec<String>> {
    list.map(|l| {
        l.iter()
            .find(|(k, _)| k == group)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    })
}

fn providers(cfg: &LitellmConfig, groups: &[String]) -> BTreeSet<String> {
    groups.iter().flat_map(|g| cfg.providers_of(g)).collect()
}

/// The line of a routing key, for findings.
fn line_of(cfg: &LitellmConfig, key: &str) -> String {
    for section in ["router_settings", "litellm_settings"] {
        if let Some((line, _)) = cfg.src.index.keys_get(&format!("{section}.{key}")) {
            return format!("{section}.{key} at {}:{line}", cfg.src.file.display());
        }
    }
    format!("{key} in {}", cfg.src.file.display())
}

/// The promise of every group whose fallbacks reach a provider it does not
/// already have.
pub fn derive(cfg: &LitellmConfig) -> Intent {
    let mut out = Intent::new();
    for group in cfg.groups() {
        let own = cfg.providers_of(&group);
        let general = providers(cfg, &general_targets(cfg, &group));
        let mut by_class = std::collections::BTreeMap::new();
        for (class, list) in [
            (
                FailureClass::ContextOverflow,
                cfg.routing.context_window_fallbacks.as_ref(),
            ),
            (
                FailureClass::ContentPolicy,
                cfg.routing.content_policy_fallbacks.as_ref(),
            ),
        ] {
            if let Some(t) = class_targets(list, &group) {
                let set: BTreeSet<String> = own.union(&providers(cfg, &t)).cloned().collect();
                by_class.insert(class, set);
            }
        }
        let promises_more =
            !general.is_subset(&own) || by_class.values().any(|s| !s.is_subset(&own));
        if !promises_more {
            continue;
        }
        let source = if !general.is_empty() {
            line_of(cfg, "fallbacks")
        } else if cfg.routing.context_window_fallbacks.is_some() {
            line_of(cfg, "context_window_fallbacks")
        } else {
            line_of(cfg, "content_policy_fallbacks")
        };
        out.insert(
            group.clone(),
            GroupIntent {
                providers: own.union(&general).cloned().collect(),
                by_class,
                source,
            },
        );
    }
    out
}
