//! `crossfire lint` for LiteLLM: from the config alone, the path each failure
//! class takes per model group (a prediction, labelled as one), and the
//! warnings a reviewer wants. The rules are LiteLLM 1.108.7's, read from its
//! router source and checked by running it (see `drill`, which puts every
//! prediction beside what the real proxy did).

use super::config::{check_fallback_targets, LitellmConfig};
use super::exceptions::{litellm_exception, retryable_status};
use super::intent::{class_targets, general_targets};
pub use crate::lint::{streams, Prediction, Warning, DRILL_CLASSES};
use crate::paths::PathClass;
use mock_providers::{Dialect, FailureClass};

/// LiteLLM's default `num_retries`.
pub const DEFAULT_RETRIES: u32 = 2;

/// The first deployment of a group: its provider and dialect.
fn primary(cfg: &LitellmConfig, group: &str) -> Option<(String, Dialect)> {
    cfg.items_of(group)
        .into_iter()
        .find_map(|i| i.mapped.clone())
}

/// The real context window of a group's first deployment.
/// The model a group's first deployment calls (`""` for an empty group: the
/// default window).
fn model_of<'a>(cfg: &'a LitellmConfig, group: &str) -> &'a str {
    cfg.items_of(group)
        .first()
        .map_or("", |i| i.upstream_model.as_str())
}

/// Predicts one cell.
/// `None` for a group the config does not have, and for a class whose
/// handling is not measured ([`crate::lint::UNMEASURED_CLASSES`]).
pub fn predict(cfg: &LitellmConfig, group: &str, class: FailureClass) -> Option<Prediction> {
    if !crate::lint::predicts(class) {
        return None;
    }
    let (provider, dialect) = primary(cfg, group)?;
    let deployments = cfg.items_of(group).len();
    let (exception, status) = litellm_exception(dialect, class);
    let timeout_configured = cfg.routing.timeout.is_some();
    let mk = |attempts: u32,
              fallback: Option<(String, String)>,
              outcome: PathClass,
              client_status: u16,
              why: String| {
        let mut text = if attempts == 1 {
            group.to_string()
        } else {
            format!("{group} x{attempts}")
        };
        match &fallback {
            Some((g, p)) => text.push_str(&format!(" -> {g} ({p}) 200")),
            None => text.push_str(&format!(" -> client {client_status}")),
        }
        if streams(class) && outcome == PathClass::FailedNoFailover {
            text.push_str(" (broken stream)");
        }
        Prediction {
            group: group.to_string(),
            class,
            exception: exception.to_string(),
            attempts,
            fallback,
            outcome,
            client_status,
            text,
            why,
            nondeterministic: false,
        }
    };
    if class == FailureClass::Timeout && !timeout_configured {
        return Some(mk(
            1,
            None,
            PathClass::Direct,
            200,
            format!(
                "no `timeout` is set in {}: LiteLLM waits for the slow answer",
                cfg.src.file.display()
            ),
        ));
    }
    if exception.is_empty() {
        return Some(mk(
            1,
            None,
            PathClass::Direct,
            200,
            format!("LiteLLM reads {provider}'s {class} answer as a success"),
        ));
    }
    // Measured on LiteLLM 1.108.7: an OpenAI stream cut after its first
    // content event is sometimes handed to the fallback mid-stream and
    // sometimes passed on broken, for identical requests (9 to 13 of 20 fell
    // back in two drills; all 20 broken in another at concurrency 20).
    if class == FailureClass::StreamCut && dialect == Dialect::Openai {
        let fallback = general_targets(cfg, group)
            .into_iter()
            .find_map(|t| primary(cfg, &t).map(|(p, _)| (t, p)));
        if let Some((g, p)) = fallback {
            let mut out = mk(
                1,
                None,
                PathClass::FailedNoFailover,
                200,
                format!(
                    "LiteLLM {} sometimes falls back mid-stream and sometimes passes the cut stream on",
                    crate::gateway::litellm::VERSION
                ),
            );
            out.text = format!("{group} -> client 200 (broken stream) or {group} -> {g} ({p}) 200");
            out.nondeterministic = true;
            return Some(out);
        }
    }
    if streams(class) {
        return Some(mk(
            1,
            None,
            PathClass::FailedNoFailover,
            200,
            format!("the stream already carried content: LiteLLM {} neither retries nor falls back mid-stream", crate::gateway::litellm::VERSION),
        ));
    }
    // LiteLLM reads an empty list as unset.
    let cw = cfg
        .routing
        .context_window_fallbacks
        .as_ref()
        .filter(|l| !l.is_empty());
    let cp = cfg
        .routing
        .content_policy_fallbacks
        .as_ref()
        .filter(|l| !l.is_empty());
    let general = super::intent::general_key(cfg, group);
    let (targets, list_name) = match exception {
        "ContextWindowExceededError" => match class_targets(cw, group) {
            Some(t) => (t, "context_window_fallbacks"),
            None => (general_targets(cfg, group), general),
        },
        "ContentPolicyViolationError" => match class_targets(cp, group) {
            Some(t) => (t, "content_policy_fallbacks"),
            None => (general_targets(cfg, group), general),
        },
        _ => (general_targets(cfg, group), general),
    };
    let no_retry_for_own_list = (exception == "ContextWindowExceededError" && cw.is_some())
        || (exception == "ContentPolicyViolationError" && cp.is_some());
    let single_auth = exception == "AuthenticationError" && deployments == 1;
    let retried = retryable_status(status)
        && exception != "NotFoundError"
        && !no_retry_for_own_list
        && !single_auth;
    let retries = if retried {
        cfg.routing.num_retries.unwrap_or(DEFAULT_RETRIES)
    } else {
        0
    };
    let attempts = 1 + retries;
    let proxy_status = if (400..600).contains(&status) {
        status
    } else {
        500
    };
    let retry_note = if retries > 0 {
        format!("{exception} is retried {retries}x")
    } else {
        format!("{exception} is not retried")
    };
    // An overflowing prompt only fits a fallback with a larger window: the
    // ones before it refuse it too (the drill sends a prompt a fifth over the
    // primary's window).
    let overflow = class == FailureClass::ContextOverflow;
    let mut refused: Vec<String> = Vec::new();
    let mut first_served = None;
    for t in &targets {
        let Some((p, _)) = primary(cfg, t) else {
            continue;
        };
        if overflow && crate::lint::refuses_overflow(model_of(cfg, group), model_of(cfg, t)) {
            refused.push(t.clone());
            continue;
        }
        first_served = Some((t.clone(), p));
        break;
    }
    if first_served.is_none() && !refused.is_empty() {
        let mut text = group.to_string();
        for r in &refused {
            text.push_str(&format!(" -> {r}"));
        }
        text.push_str(&format!(" -> client {proxy_status}"));
        return Some(Prediction {
            group: group.to_string(),
            class,
            exception: exception.to_string(),
            attempts,
            fallback: None,
            outcome: PathClass::FailedAfterFailover,
            client_status: proxy_status,
            text,
            nondeterministic: false,
            why: format!(
                "{} sends it to {}, whose context window is no larger: the prompt overflows there too",
                super::intent::at(cfg, list_name),
                refused.join(", ")
            ),
        });
    }
    Some(match first_served {
        Some((g, p)) => {
            let outcome = if p == provider {
                PathClass::FellBackSameProvider
            } else {
                PathClass::CrossedProvider
            };
            mk(
                attempts,
                Some((g.clone(), p)),
                outcome,
                200,
                format!(
                    "{retry_note}, then {} sends it to {g}",
                    super::intent::at(cfg, list_name)
                ),
            )
        }
        None => {
            let why = if list_name != general && targets.is_empty() {
                format!(
                    "{retry_note}; {} has no entry for {group}, so LiteLLM {} falls back nowhere, not even to `fallbacks`",
                    super::intent::at(cfg, list_name),
                    crate::gateway::litellm::VERSION
                )
            } else {
                format!(
                    "{retry_note}; no fallback is configured for {group} in {}",
                    cfg.src.file.display()
                )
            };
            mk(
                attempts,
                None,
                PathClass::FailedNoFailover,
                proxy_status,
                why,
            )
        }
    })
}

/// The warnings a reviewer wants.
pub fn warnings(cfg: &LitellmConfig) -> Vec<Warning> {
    let mut out = Vec::new();
    for k in &cfg.ignored {
        let reaction = if k.litellm_warns {
            "LiteLLM logs a warning at start and ignores it"
        } else {
            "LiteLLM sets it and never reads it, without a word"
        };
        let meant = k
            .nearest
            .as_ref()
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        let (line, place) = if k.file == cfg.src.file {
            (k.line, String::new())
        } else {
            (0, format!(" ({}:{})", k.file.display(), k.line))
        };
        out.push(Warning {
            line,
            message: format!(
                "`{}.{}`{place} is not a LiteLLM setting{meant}: {reaction}",
                k.section, k.key
            ),
        });
    }
    for (list, target, hint) in check_fallback_targets(cfg) {
        out.push(Warning {
            line: 0,
            message: format!("`{list}` names `{target}`, which is not a model group; {hint}"),
        });
    }
    for item in cfg.items.iter().filter(|i| i.mapped.is_none()) {
        // An item of an included file is placed in its own file.
        let (file, line) = cfg.item_line(item, "litellm_params.model");
        let (line, place) = if item.origin.source == 0 {
            (line, String::new())
        } else {
            (0, format!(" ({}:{line})", file.display()))
        };
        out.push(Warning {
            line,
            message: format!(
                "`{}` (group `{}`){place} has no mock: {}",
                item.model,
                item.group,
                item.unmapped_reason.clone().unwrap_or_default()
            ),
        });
    }
    for group in cfg.groups() {
        let own = cfg.providers_of(&group);
        let general = general_targets(cfg, &group);
        let fallback_providers: std::collections::BTreeSet<String> =
            general.iter().flat_map(|g| cfg.providers_of(g)).collect();
        if general.is_empty() && cfg.items_of(&group).len() == 1 {
            let cw = class_targets(cfg.routing.context_window_fallbacks.as_ref(), &group);
            let note = match cw {
                Some(t) if !t.is_empty() => " (only context-window errors fall back)",
                _ => "",
            };
            out.push(Warning {
                line: 0,
                message: format!(
                    "`{group}` has one deployment and no `fallbacks`{note}: a 429, 5xx or timeout on it reaches the client"
                ),
            });
        } else if !general.is_empty() && fallback_providers.is_subset(&own) {
            out.push(Warning {
                line: 0,
                message: format!(
                    "the fallbacks of `{group}` never leave {}: an outage of that provider takes every hop down with it",
                    own.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        if let Some(t) = class_targets(cfg.routing.context_window_fallbacks.as_ref(), &group) {
            if t.is_empty() && !general.is_empty() {
                out.push(Warning {
                    line: 0,
                    message: format!(
                        "`context_window_fallbacks` has no entry for `{group}`: a context overflow on it falls back nowhere, not even to its `fallbacks` (LiteLLM 1.108.7)"
                    ),
                });
            }
            let cw_providers: std::collections::BTreeSet<String> =
                t.iter().flat_map(|g| cfg.providers_of(g)).collect();
            if !t.is_empty() && cw_providers.is_subset(&own) {
                out.push(Warning {
                    line: 0,
                    message: format!(
                        "the context-window fallbacks of `{group}` stay on {}: a prompt too long for one model of a provider is usually too long for its others",
                        own.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
        if let Some((provider, dialect)) = primary(cfg, &group) {
            // A special fallback list fires only on its own exception.
            let special = [
                (
                    cfg.routing
                        .context_window_fallbacks
                        .as_ref()
                        .is_some_and(|l| !l.is_empty()),
                    FailureClass::ContextOverflow,
                    "ContextWindowExceededError",
                    "context-overflow error",
                    "context_window_fallbacks",
                ),
                (
                    cfg.routing
                        .content_policy_fallbacks
                        .as_ref()
                        .is_some_and(|l| !l.is_empty()),
                    FailureClass::ContentPolicy,
                    "ContentPolicyViolationError",
                    "content-policy refusal",
                    "content_policy_fallbacks",
                ),
            ];
            for (set, class, needed, what, key) in special {
                let (raised, _) = litellm_exception(dialect, class);
                if set && raised != needed {
                    out.push(Warning {
                        line: 0,
                        message: format!(
                            "LiteLLM reads {provider}'s real {what} as `{raised}`, so `{key}` never fire for `{group}`"
                        ),
                    });
                }
            }
        }
    }
    out
}
