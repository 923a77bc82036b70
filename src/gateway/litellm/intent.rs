//! What a person reading a LiteLLM config believes it does (the operator's
//! intent), kept apart from what LiteLLM's rules do with it (`lint`): for
//! each model group, the providers its failures are meant to move to, per
//! failure class, and where the gateway's rules break that belief.
//! A fallback-looking key LiteLLM ignores (`fallback_models`) still carries
//! the belief of whoever wrote it.

use super::config::{Fallbacks, LitellmConfig};
use super::lint;
use crate::intent::{GroupIntent, Intent, OUTAGE_CLASSES};
use mock_providers::FailureClass;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

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
/// set or empty (general fallbacks apply); `Some(empty)` when it is set
/// without an entry for the group (LiteLLM then falls back nowhere at all).
pub fn class_targets(list: Option<&Fallbacks>, group: &str) -> Option<Vec<String>> {
    // LiteLLM 1.108.7 reads an empty list as unset (`[] or` the module default).
    list.filter(|l| !l.is_empty()).map(|l| {
        l.iter()
            .find(|(k, _)| k == group)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    })
}

fn providers(cfg: &LitellmConfig, groups: &[String]) -> BTreeSet<String> {
    groups.iter().flat_map(|g| cfg.providers_of(g)).collect()
}

/// Where a routing key is written: `` `router_settings.fallbacks` at
/// config.yaml:14 ``, or the file when the key is not in it.
pub fn at(cfg: &LitellmConfig, key: &str) -> String {
    for section in ["router_settings", "litellm_settings"] {
        if let Some((line, _)) = cfg.src.index.keys_get(&format!("{section}.{key}")) {
            return format!("`{section}.{key}` at {}:{line}", cfg.src.file.display());
        }
    }
    format!("`{key}` (not set in {})", cfg.src.file.display())
}

/// Which list a fallback-looking key stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    General,
    ContextWindow,
    ContentPolicy,
}

/// A fallback list whoever wrote the config believes in, read or not.
struct Believed {
    kind: ListKind,
    /// `` `litellm_settings.fallback_models` at config.yaml:20 ``.
    at: String,
    /// Group -> targets (`*` for every group).
    lists: Fallbacks,
}

/// The fallback-looking keys LiteLLM ignores, read the way their author
/// meant them: `[{group: [targets]}]`, `{group: [targets]}`, or a plain list
/// of groups for every group.
fn ignored_lists(cfg: &LitellmConfig) -> Vec<Believed> {
    let mut out = Vec::new();
    for k in &cfg.ignored {
        let kind = match k.nearest.as_deref() {
            Some("fallbacks") | Some("default_fallbacks") => ListKind::General,
            Some("context_window_fallbacks") => ListKind::ContextWindow,
            Some("content_policy_fallbacks") => ListKind::ContentPolicy,
            _ => continue,
        };
        let Some(v) = cfg.doc.get(k.section).and_then(|s| s.get(k.key.as_str())) else {
            continue;
        };
        let names = |v: &Value| -> Vec<String> {
            match v {
                Value::String(s) => vec![s.clone()],
                Value::Sequence(l) => l
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                _ => vec![],
            }
        };
        let mut lists: Fallbacks = Vec::new();
        match v {
            Value::Mapping(m) => {
                for (g, t) in m {
                    if let Some(g) = g.as_str() {
                        lists.push((g.to_string(), names(t)));
                    }
                }
            }
            Value::Sequence(l) => {
                for e in l {
                    match e {
                        Value::Mapping(m) => {
                            for (g, t) in m {
                                if let Some(g) = g.as_str() {
                                    lists.push((g.to_string(), names(t)));
                                }
                            }
                        }
                        Value::String(t) => match lists.iter_mut().find(|(g, _)| g == "*") {
                            Some((_, all)) => all.push(t.clone()),
                            None => lists.push(("*".into(), vec![t.clone()])),
                        },
                        _ => {}
                    }
                }
            }
            Value::String(t) => lists.push(("*".into(), vec![t.clone()])),
            _ => {}
        }
        if lists.is_empty() {
            continue;
        }
        out.push(Believed {
            kind,
            at: format!(
                "`{}.{}` at {}:{}",
                k.section,
                k.key,
                cfg.src.file.display(),
                k.line
            ),
            lists,
        });
    }
    out
}

/// The targets a believed list gives a group: its own entry, else `*`.
fn believed_targets(b: &Believed, group: &str) -> Vec<String> {
    let entry = |g: &str| b.lists.iter().find(|(k, _)| k == g).map(|(_, t)| t.clone());
    entry(group)
        .or_else(|| entry("*"))
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t != group)
        .collect()
}

/// The key `fallbacks` gives a group through: its own entry or `*` in
/// `fallbacks`, else `default_fallbacks`.
pub fn general_key(cfg: &LitellmConfig, group: &str) -> &'static str {
    let listed = cfg
        .routing
        .fallbacks
        .iter()
        .any(|(k, _)| k == group || k == "*");
    if listed || cfg.routing.default_fallbacks.is_empty() {
        "fallbacks"
    } else {
        "default_fallbacks"
    }
}

/// The real context window of a group's first deployment.
fn window(cfg: &LitellmConfig, group: &str) -> u64 {
    let model = cfg
        .items_of(group)
        .first()
        .map_or("", |i| i.upstream_model.as_str());
    mock_providers::models::context_window(model, None)
}

/// The operator's intent for every group: a group with a cross-provider
/// target in any general fallback list (`fallbacks`, `default_fallbacks`,
/// or a fallback-looking key LiteLLM ignores) is meant to survive every
/// provider-side outage of its primary; an overflow is meant to reach a
/// larger window when any fallback list of the group names one; content
/// policy only where `content_policy_fallbacks` names the group. Each promise
/// the literal rules break carries why, with the config line.
pub fn derive(cfg: &LitellmConfig) -> Intent {
    let ignored = ignored_lists(cfg);
    let mut out = Intent::new();
    for group in cfg.groups() {
        let own = cfg.providers_of(&group);
        let l = lists(cfg, &ignored, &group);
        let targets = |of: &[(&Believed, Vec<String>)]| -> Vec<String> {
            of.iter().flat_map(|(_, t)| t.iter().cloned()).collect()
        };
        let mut general = l.general.clone();
        general.extend(targets(&l.ignored_general));

        let mut by_class: BTreeMap<FailureClass, BTreeSet<String>> = BTreeMap::new();
        let general_providers = providers(cfg, &general);
        // An outage of the primary's provider is meant to leave it.
        let set: BTreeSet<String> = general_providers.difference(&own).cloned().collect();
        if !set.is_empty() {
            for c in OUTAGE_CLASSES {
                by_class.insert(c, set.clone());
            }
        }
        let mut named: Vec<String> = general.clone();
        named.extend(l.context_window.iter().cloned());
        named.extend(targets(&l.ignored_cw));
        let primary_window = window(cfg, &group);
        let larger: Vec<String> = named
            .into_iter()
            .filter(|t| window(cfg, t) > primary_window)
            .collect();
        if !larger.is_empty() {
            by_class.insert(FailureClass::ContextOverflow, providers(cfg, &larger));
        }
        let mut policy = l.content_policy.clone();
        policy.extend(targets(&l.ignored_cp));
        let policy_providers: BTreeSet<String> =
            providers(cfg, &policy).difference(&own).cloned().collect();
        if !policy_providers.is_empty() {
            by_class.insert(FailureClass::ContentPolicy, policy_providers);
        }
        if by_class.is_empty() {
            continue;
        }
        let source = if !l.general.is_empty() {
            at(cfg, general_key(cfg, &group))
        } else if let Some((b, _)) = l.ignored_general.first() {
            b.at.clone()
        } else if !l.context_window.is_empty() {
            at(cfg, "context_window_fallbacks")
        } else if let Some((b, _)) = l.ignored_cw.first() {
            b.at.clone()
        } else {
            at(cfg, "content_policy_fallbacks")
        };
        let why = causes_with(cfg, &group, &l, &by_class);
        out.insert(
            group.clone(),
            GroupIntent {
                providers: BTreeSet::new(),
                by_class,
                source,
                why,
            },
        );
    }
    out
}

/// Why LiteLLM's rules do or do not keep each promise of a group, in one
/// line with the config line: the located reason of lint's prediction (or
/// the fallback-looking key LiteLLM ignores) where they break it; where they
/// keep it, what they predict, so an illusion there names the gateway as
/// doing otherwise. Used for derived intents and a scenario's own.
pub fn causes(
    cfg: &LitellmConfig,
    group: &str,
    by_class: &BTreeMap<FailureClass, BTreeSet<String>>,
) -> BTreeMap<FailureClass, String> {
    causes_with(
        cfg,
        group,
        &lists(cfg, &ignored_lists(cfg), group),
        by_class,
    )
}

/// The fallback lists of one group: as LiteLLM reads them, and the
/// fallback-looking keys it ignores with the targets they name for it.
struct Lists<'a> {
    general: Vec<String>,
    context_window: Vec<String>,
    content_policy: Vec<String>,
    ignored_general: Vec<(&'a Believed, Vec<String>)>,
    ignored_cw: Vec<(&'a Believed, Vec<String>)>,
    ignored_cp: Vec<(&'a Believed, Vec<String>)>,
}

fn lists<'a>(cfg: &LitellmConfig, ignored: &'a [Believed], group: &str) -> Lists<'a> {
    let of_kind = |kind: ListKind| -> Vec<(&'a Believed, Vec<String>)> {
        ignored
            .iter()
            .filter(|b| b.kind == kind)
            .map(|b| (b, believed_targets(b, group)))
            .filter(|(_, t)| !t.is_empty())
            .collect()
    };
    Lists {
        general: general_targets(cfg, group),
        context_window: class_targets(cfg.routing.context_window_fallbacks.as_ref(), group)
            .unwrap_or_default(),
        content_policy: class_targets(cfg.routing.content_policy_fallbacks.as_ref(), group)
            .unwrap_or_default(),
        ignored_general: of_kind(ListKind::General),
        ignored_cw: of_kind(ListKind::ContextWindow),
        ignored_cp: of_kind(ListKind::ContentPolicy),
    }
}

fn causes_with(
    cfg: &LitellmConfig,
    group: &str,
    l: &Lists<'_>,
    by_class: &BTreeMap<FailureClass, BTreeSet<String>>,
) -> BTreeMap<FailureClass, String> {
    let mut why = BTreeMap::new();
    for (class, promised) in by_class {
        if promised.is_empty() {
            continue;
        }
        let Some(p) = lint::predict(cfg, group, *class) else {
            continue;
        };
        let kept = p
            .fallback
            .as_ref()
            .is_some_and(|(_, pr)| promised.contains(pr));
        if kept {
            why.insert(
                *class,
                format!(
                    "LiteLLM {}'s rules as crossfire reads them keep it (`{}`: {}); the gateway did otherwise",
                    crate::gateway::litellm::VERSION,
                    p.text,
                    p.why
                ),
            );
            continue;
        }
        let ignored_cause = match class {
            FailureClass::ContextOverflow
                if l.context_window.is_empty() && l.general.is_empty() =>
            {
                l.ignored_cw.first().or(l.ignored_general.first())
            }
            FailureClass::ContentPolicy if l.content_policy.is_empty() => l.ignored_cp.first(),
            _ if l.general.is_empty() => l.ignored_general.first(),
            _ => None,
        };
        let line = match ignored_cause {
            Some((b, t)) => format!(
                "{} is not read by LiteLLM: nothing falls back to {}",
                b.at,
                t.join(", ")
            ),
            None => p.why.clone(),
        };
        why.insert(*class, line);
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Source;
    use std::path::Path;

    fn cfg(text: &str) -> LitellmConfig {
        super::super::config::read(Source::from_text(Path::new("c.yaml"), text.into()))
            .expect("config")
    }

    const MODELS: &str = "model_list:
  - model_name: claude-opus
    litellm_params: {model: anthropic/claude-opus-4-1}
  - model_name: claude-sonnet
    litellm_params: {model: anthropic/claude-sonnet-4-5}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o}
";

    fn set(xs: &[&str]) -> BTreeSet<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn an_ignored_fallback_key_carries_the_belief_and_says_why_it_breaks() {
        let c = cfg(&format!(
            "{MODELS}litellm_settings:\n  fallback_models:\n    - claude-opus: [gpt-4o]\n"
        ));
        let i = derive(&c);
        let opus = &i["claude-opus"];
        assert_eq!(opus.for_class(FailureClass::RateLimit), &set(&["openai"]));
        assert_eq!(opus.for_class(FailureClass::StreamCut), &set(&["openai"]));
        assert!(opus.for_class(FailureClass::Auth).is_empty());
        assert_eq!(
            opus.why(FailureClass::RateLimit),
            Some("`litellm_settings.fallback_models` at c.yaml:9 is not read by LiteLLM: nothing falls back to gpt-4o")
        );
        assert_eq!(
            opus.source,
            "`litellm_settings.fallback_models` at c.yaml:9"
        );
        // gpt-4o names no other group: no promise.
        assert!(!i.contains_key("gpt-4o"));
    }

    #[test]
    fn a_plain_list_under_an_ignored_key_means_every_group() {
        let c = cfg(&format!(
            "{MODELS}router_settings:\n  fallback_model: [gpt-4o]\n"
        ));
        let i = derive(&c);
        assert_eq!(
            i["claude-sonnet"].for_class(FailureClass::Overloaded),
            &set(&["openai"])
        );
    }

    #[test]
    fn context_window_fallbacks_for_another_group_break_the_overflow_promise() {
        let c = cfg(&format!(
            "{MODELS}router_settings:\n  fallbacks:\n    - gpt-4o: [claude-opus]\n  context_window_fallbacks:\n    - claude-sonnet: [claude-opus]\n"
        ));
        let i = derive(&c);
        let g = &i["gpt-4o"];
        // Claude Opus (200k) is larger than GPT-4o (128k): an overflow is meant to reach it.
        assert_eq!(
            g.for_class(FailureClass::ContextOverflow),
            &set(&["anthropic"])
        );
        assert_eq!(
            g.why(FailureClass::ContextOverflow),
            Some("ContextWindowExceededError is not retried; `router_settings.context_window_fallbacks` at c.yaml:11 has no entry for gpt-4o, so LiteLLM 1.108.7 falls back nowhere, not even to `fallbacks`")
        );
        // A rate limit crosses under the literal rules: an illusion there
        // would be the gateway doing otherwise.
        assert_eq!(g.for_class(FailureClass::RateLimit), &set(&["anthropic"]));
        assert!(g
            .why(FailureClass::RateLimit)
            .unwrap_or("")
            .ends_with("the gateway did otherwise"));
        // The 200k Sonnet's overflow has no larger window to go to.
        assert!(!i.contains_key("claude-sonnet"));
    }

    #[test]
    fn same_provider_fallbacks_promise_no_outage_survival() {
        let c = cfg(&format!(
            "{MODELS}router_settings:\n  fallbacks:\n    - claude-opus: [claude-sonnet]\n"
        ));
        assert!(derive(&c).is_empty());
    }

    #[test]
    fn content_policy_carries_intent_only_where_named_and_default_fallbacks_count() {
        let c = cfg(&format!(
            "{MODELS}router_settings:\n  default_fallbacks: [gpt-4o]\n  content_policy_fallbacks:\n    - claude-opus: [gpt-4o]\n"
        ));
        let i = derive(&c);
        assert_eq!(
            i["claude-opus"].for_class(FailureClass::ContentPolicy),
            &set(&["openai"])
        );
        assert!(i["claude-sonnet"]
            .for_class(FailureClass::ContentPolicy)
            .is_empty());
        assert_eq!(
            i["claude-sonnet"].for_class(FailureClass::ServerError),
            &set(&["openai"])
        );
        assert_eq!(
            i["claude-sonnet"].source,
            "`router_settings.default_fallbacks` at c.yaml:9"
        );
        // lint names the list the group falls back through (it said
        // `fallbacks`, which this config does not set).
        let p = lint::predict(&c, "claude-sonnet", FailureClass::RateLimit).expect("prediction");
        assert!(
            p.why.ends_with(
                "then `router_settings.default_fallbacks` at c.yaml:9 sends it to gpt-4o"
            ),
            "{}",
            p.why
        );
    }
}
