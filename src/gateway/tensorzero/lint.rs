//! `crossfire lint` for TensorZero: from the config alone, the path each
//! failure class takes per group (a model, `tensorzero::model_name::<m>`, or
//! a function, `tensorzero::function_name::<f>`), the operator's intent and
//! why the rules break it, and the warnings a reviewer wants.
//!
//! The rules are TensorZero 2026.6.0's, measured against the mocks
//! (`tests/tensorzero.rs`), not read from its docs:
//! - a model tries its `routing` in order, one attempt per provider, and
//!   moves on after any provider error (it does not classify: 400, 401,
//!   429, 5xx, 529 alike) and after a provider-level timeout;
//! - with no `timeouts`, a slow provider is waited for (15 minutes);
//! - a stream that breaks after its first events is not failed over: the
//!   client gets 200, an in-band error event and `[DONE]`;
//! - every provider failing is a 502 to the client, whatever they said;
//! - a function tries a variant `retries.num_retries + 1` times (each a full
//!   walk of its model's routing), then its other variants: candidates then
//!   `fallback_variants` under static experimentation, else drawn at random.

use super::config::{Model, Provider, TensorzeroConfig, VariantModel};
use super::{client_function, client_model};
use crate::intent::{GroupIntent, Intent, OUTAGE_CLASSES};
use crate::lint::{streams, Prediction, Warning};
use crate::paths::PathClass;
use mock_providers::FailureClass;
use std::collections::{BTreeMap, BTreeSet};

/// The version these rules were measured on.
fn version() -> &'static str {
    super::VERSION
}

/// The groups of a config, as the client names them: models, then functions.
pub fn groups(cfg: &TensorzeroConfig) -> Vec<String> {
    cfg.models
        .iter()
        .map(|m| client_model(&m.name))
        .chain(cfg.functions.iter().map(|f| client_function(&f.name)))
        .collect()
}

/// What a group is.
enum Group<'a> {
    Model(&'a Model),
    Function(&'a super::config::Function),
}

fn group<'a>(cfg: &'a TensorzeroConfig, name: &str) -> Option<Group<'a>> {
    if let Some(m) = name.strip_prefix("tensorzero::model_name::") {
        return cfg.model(m).map(Group::Model);
    }
    if let Some(f) = name.strip_prefix("tensorzero::function_name::") {
        return cfg
            .functions
            .iter()
            .find(|x| x.name == f)
            .map(Group::Function);
    }
    None
}

/// The models a function calls, in the order TensorZero tries its variants,
/// with the attempts each gets (`num_retries + 1`); `true` when the first is
/// drawn at random.
fn variant_order<'a>(
    cfg: &'a TensorzeroConfig,
    f: &'a super::config::Function,
) -> (Vec<(&'a Model, u32, &'a str)>, bool) {
    let by_name = |n: &str| f.variants.iter().find(|v| v.name == n);
    let ordered: Vec<&super::config::Variant> = match &f.candidates {
        Some(c) if f.experimentation.as_deref() == Some("static") => c
            .iter()
            .chain(f.fallbacks.iter())
            .filter_map(|n| by_name(n))
            .collect(),
        _ => f.variants.iter().collect(),
    };
    let random = f.experimentation.as_deref() != Some("static")
        && f.variants.iter().filter(|v| v.weight != Some(0.0)).count() > 1;
    let list = ordered
        .into_iter()
        .filter_map(|v| match &v.model {
            VariantModel::Named(m) => cfg
                .model(m)
                .map(|m| (m, v.retries.num_retries + 1, v.name.as_str())),
            _ => None,
        })
        .collect();
    (list, random)
}

fn provider_of(p: &Provider) -> String {
    p.mapped
        .as_ref()
        .map_or_else(|| p.kind.clone(), |(provider, _)| provider.clone())
}

/// The providers a drill faults when the group's primary fails with `class`:
/// the primary, and for an overflow every provider whose window is no larger.
fn faulted(primary: &Provider, all: &[&Provider], class: FailureClass) -> BTreeSet<String> {
    if class == FailureClass::ContextOverflow {
        all.iter()
            .filter(|p| crate::lint::refuses_overflow(&primary.upstream_model, &p.upstream_model))
            .map(|p| p.id.clone())
            .collect()
    } else {
        BTreeSet::from([primary.id.clone()])
    }
}

/// One walk of a model's routing: the attempts (id, count) and who served.
struct Walk {
    hops: Vec<(String, u32)>,
    served: Option<String>,
    broken_stream: bool,
    waited: bool,
    /// The model whose own `timeouts` failed it as a whole.
    model_timed_out: Option<String>,
}

fn walk_model(
    m: &Model,
    faulted: &BTreeSet<String>,
    class: FailureClass,
    tries: u32,
    w: &mut Walk,
) {
    for _ in 0..tries {
        for p in &m.providers {
            let push = |w: &mut Walk, id: &str| match w.hops.last_mut() {
                Some((last, n)) if last == id => *n += 1,
                _ => w.hops.push((id.to_string(), 1)),
            };
            push(w, &p.id);
            if !faulted.contains(&p.id) {
                w.served = Some(p.id.clone());
                return;
            }
            if streams(class) {
                // The stream started: no retry, no fallback.
                w.broken_stream = true;
                return;
            }
            if class == FailureClass::Timeout && !p.timeouts.any() {
                if m.timeouts.any() {
                    // The model's own timeout covers all its providers: when
                    // it fires the model fails, no next provider is tried.
                    w.model_timed_out = Some(m.name.clone());
                } else {
                    // Nothing cuts the wait: the slow answer arrives and is used.
                    w.waited = true;
                    w.served = Some(p.id.clone());
                }
                return;
            }
        }
    }
}

/// Predicts one cell: every attempt of the group's primary provider fails
/// with `class` (an overflow: every provider with no larger window), the
/// others are healthy. `None` for a group the config does not have, and for
/// a class whose handling is not measured ([`crate::lint::UNMEASURED_CLASSES`]).
pub fn predict(
    cfg: &TensorzeroConfig,
    group_name: &str,
    class: FailureClass,
) -> Option<Prediction> {
    if !crate::lint::predicts(class) {
        return None;
    }
    let (plan, random): (Vec<(&Model, u32, &str)>, bool) = match group(cfg, group_name)? {
        Group::Model(m) => (vec![(m, 1, "")], false),
        Group::Function(f) => variant_order(cfg, f),
    };
    let all: Vec<&Provider> = plan.iter().flat_map(|(m, ..)| m.providers.iter()).collect();
    let primary = *all.first()?;
    let faulted = faulted(primary, &all, class);
    let mut w = Walk {
        hops: Vec::new(),
        served: None,
        broken_stream: false,
        waited: false,
        model_timed_out: None,
    };
    for (m, tries, _) in &plan {
        walk_model(m, &faulted, class, *tries, &mut w);
        if w.served.is_some() || w.broken_stream {
            break;
        }
    }
    let by_id = |id: &str| all.iter().find(|p| p.id == id).copied();
    let first_provider = provider_of(primary);
    let served_by = w.served.as_deref().and_then(by_id);
    let fallback = served_by
        .filter(|p| p.id != primary.id)
        .map(|p| (p.id.clone(), provider_of(p)));
    let mut parts: Vec<String> = w
        .hops
        .iter()
        .map(|(id, n)| {
            if *n > 1 {
                format!("{id} x{n}")
            } else {
                id.clone()
            }
        })
        .collect();
    let client_status = if w.served.is_some() || w.broken_stream {
        200
    } else {
        502
    };
    match (&fallback, served_by) {
        (Some((id, p)), _) => {
            if let Some(last) = parts.last_mut() {
                *last = format!("{id} ({p}) 200");
            }
        }
        // The slow answer is waited for and served: written as the drill
        // observes it (the why says it was slow).
        (None, Some(_)) if w.waited => parts.push("client 200".to_string()),
        _ => parts.push(format!("client {client_status}")),
    }
    let mut text = parts.join(" -> ");
    if w.broken_stream {
        // The why says how it ends (an in-band error, then [DONE]).
        text.push_str(" (broken stream)");
    }
    let outcome = match (&fallback, served_by) {
        (Some((_, p)), _) if *p == first_provider => PathClass::FellBackSameProvider,
        (Some(_), _) => PathClass::CrossedProvider,
        (None, Some(_)) if w.hops.len() == 1 && w.hops[0].1 == 1 => PathClass::Direct,
        (None, Some(_)) => PathClass::RetriedSameDeployment,
        _ if w.hops.len() > 1 => PathClass::FailedAfterFailover,
        _ if w.hops.first().is_some_and(|h| h.1 > 1) => PathClass::RetriedSameDeployment,
        _ => PathClass::FailedNoFailover,
    };
    let why = if w.broken_stream {
        format!("the stream broke after its first events: TensorZero {} passes an in-band error and ends with [DONE], without fallback", version())
    } else if w.waited {
        format!("no `timeouts` on `{}`: TensorZero {} waits for the slow answer (up to global_outbound_http_timeout_ms, 15 minutes by default)", primary.path, version())
    } else if let Some(m) = w.model_timed_out.as_ref().filter(|_| fallback.is_none()) {
        format!("the model-level `timeouts` of `models.{m}` covers all its providers: TensorZero {} fails the model when it fires, without trying the next provider (set `timeouts` on each provider to move on)", version())
    } else if fallback.is_some() {
        format!(
            "TensorZero {} moves to the next provider of `routing` after any provider error",
            version()
        )
    } else if w.served.is_some() {
        "the provider answers: nothing moves".to_string()
    } else {
        format!(
            "every provider the group can reach failed: TensorZero {} answers 502",
            version()
        )
    };
    Some(Prediction {
        group: group_name.to_string(),
        class,
        exception: String::new(),
        attempts: w.hops.first().map_or(0, |h| h.1),
        fallback,
        outcome,
        client_status,
        text: if random {
            format!(
                "{text} (when the first variant drawn is `{}`)",
                plan.first().map_or("", |p| p.2)
            )
        } else {
            text
        },
        why,
        nondeterministic: random,
    })
}

/// The provider entry a group tries first, and the chance it is tried first
/// (below 1 when a function draws its first variant at random).
pub fn primary<'a>(cfg: &'a TensorzeroConfig, group_name: &str) -> Option<(&'a Provider, f64)> {
    match group(cfg, group_name)? {
        Group::Model(m) => m.providers.first().map(|p| (p, 1.0)),
        Group::Function(f) => {
            let (order, random) = variant_order(cfg, f);
            let first = order.first()?.0.providers.first()?;
            let share = if random {
                1.0 / order.len().max(1) as f64
            } else {
                1.0
            };
            Some((first, share))
        }
    }
}

/// The providers reachable from a group, in the order they are tried.
fn reachable<'a>(cfg: &'a TensorzeroConfig, group_name: &str) -> Vec<&'a Provider> {
    match group(cfg, group_name) {
        Some(Group::Model(m)) => m.providers.iter().collect(),
        Some(Group::Function(f)) => variant_order(cfg, f)
            .0
            .into_iter()
            .flat_map(|(m, ..)| m.providers.iter())
            .collect(),
        None => Vec::new(),
    }
}

/// The operator's intent: a group that can reach a provider other than its
/// primary's is meant to survive every provider-side outage of the primary;
/// an overflow is meant to reach a larger window where one is reachable.
/// TensorZero has no per-error lists, so auth and content policy carry no
/// promise.
pub fn intent(cfg: &TensorzeroConfig, classes: &[FailureClass]) -> Intent {
    let mut out = Intent::new();
    for g in groups(cfg) {
        let all = reachable(cfg, &g);
        let Some(primary) = all.first() else { continue };
        let own = provider_of(primary);
        let cross: BTreeSet<String> = all
            .iter()
            .map(|p| provider_of(p))
            .filter(|p| *p != own)
            .collect();
        let window = mock_providers::models::context_window(&primary.upstream_model, None);
        let mut by_class = BTreeMap::new();
        for c in classes {
            let promised: BTreeSet<String> = match c {
                FailureClass::ContextOverflow => all
                    .iter()
                    .filter(|p| {
                        mock_providers::models::context_window(&p.upstream_model, None) > window
                    })
                    .map(|p| provider_of(p))
                    .collect(),
                c if OUTAGE_CLASSES.contains(c) => cross.clone(),
                _ => BTreeSet::new(),
            };
            if !promised.is_empty() {
                by_class.insert(*c, promised);
            }
        }
        if by_class.is_empty() {
            continue;
        }
        let why = causes(cfg, &g, &by_class);
        out.insert(
            g.clone(),
            GroupIntent {
                providers: BTreeSet::new(),
                by_class,
                source: format!(
                    "`{g}` reaches {} in {}",
                    cross.iter().cloned().collect::<Vec<_>>().join(", "),
                    cfg.src.file.display()
                ),
                why,
            },
        );
    }
    out
}

/// Why TensorZero's rules keep or break each promise of a group, in one
/// line naming the config line; used for derived intents and a scenario's own.
pub fn causes(
    cfg: &TensorzeroConfig,
    group_name: &str,
    by_class: &BTreeMap<FailureClass, BTreeSet<String>>,
) -> BTreeMap<FailureClass, String> {
    let file = cfg.src.file.display();
    let mut why = BTreeMap::new();
    for (class, promised) in by_class {
        if promised.is_empty() {
            continue;
        }
        let Some(p) = predict(cfg, group_name, *class) else {
            continue;
        };
        let line = if p
            .fallback
            .as_ref()
            .is_some_and(|(_, pr)| promised.contains(pr))
        {
            format!(
                "TensorZero {}'s rules as crossfire reads them keep it (`{}`: {}); the gateway did otherwise",
                version(),
                p.text,
                p.why
            )
        } else {
            let primary = reachable(cfg, group_name)
                .first()
                .map(|x| (x.path.clone(), x.line));
            match (class, primary) {
                (c, Some((path, line))) if streams(*c) => format!(
                    "a stream that broke after its first events is never failed over by TensorZero {}: `{path}` ({file}:{line}) keeps it, the client gets 200 with an in-band error",
                    version()
                ),
                (FailureClass::Timeout, Some((path, line))) if p.outcome == PathClass::Direct => format!(
                    "no `timeouts` on `{path}` ({file}:{line}): TensorZero {} waits for the slow answer instead of moving on",
                    version()
                ),
                _ => format!("{} (TensorZero {})", p.why, version()),
            }
        };
        why.insert(*class, line);
    }
    why
}

/// The warnings a reviewer wants.
pub fn warnings(cfg: &TensorzeroConfig) -> Vec<Warning> {
    let mut out = Vec::new();
    for p in cfg.providers().filter(|p| p.mapped.is_none()) {
        out.push(Warning {
            line: p.line,
            message: format!(
                "`{}`: crossfire has no mock for it: {}",
                p.path,
                p.unmapped_reason.clone().unwrap_or_default()
            ),
        });
    }
    for m in &cfg.models {
        let providers: BTreeSet<String> = m.providers.iter().map(provider_of).collect();
        if m.providers.len() > 1 && providers.len() == 1 {
            out.push(Warning {
                line: m.line,
                message: format!(
                    "`models.{}`: `routing` moves only within {}: an outage of that provider takes every entry down (Failover Illusion)",
                    m.name,
                    providers.iter().next().map_or("", String::as_str)
                ),
            });
        }
        if m.providers.len() > 1
            && m.timeouts.any()
            && m.providers.iter().any(|p| !p.timeouts.any())
        {
            out.push(Warning {
                line: m.line,
                message: format!(
                    "`models.{}` has model-level `timeouts`: when they fire the whole model fails (502) and the next provider of `routing` is not tried (TensorZero {}); set `timeouts` on each provider to move on",
                    m.name,
                    version()
                ),
            });
        }
        if m.providers.len() > 1 && !m.timeouts.any() {
            if let Some(p) = m.providers.iter().find(|p| !p.timeouts.any()) {
                out.push(Warning {
                    line: p.line,
                    message: format!(
                        "`{}` has no `timeouts`: a slow answer is waited for (TensorZero {}: 15 minutes by default) instead of moving to the next provider; set timeouts.non_streaming.total_ms and timeouts.streaming.ttft_ms",
                        p.path,
                        version()
                    ),
                });
            }
        }
        if m.providers.len() > 1 {
            out.push(Warning {
                line: m.line,
                message: format!(
                    "`models.{}`: a stream that breaks after its first events is not failed over; the client gets HTTP 200, an in-band error event and [DONE] (TensorZero {})",
                    m.name,
                    version()
                ),
            });
        }
    }
    for f in &cfg.functions {
        let (_, random) = variant_order(cfg, f);
        if random {
            out.push(Warning {
                line: f.line,
                message: format!(
                    "`functions.{}`: without `experimentation` the first variant is drawn at random per request; results differ between identical requests",
                    f.name
                ),
            });
        }
        for v in &f.variants {
            if let VariantModel::Shorthand(m) = &v.model {
                out.push(Warning {
                    line: v.line,
                    message: format!(
                        "`functions.{}.variants.{}`: `model = \"{m}\"` calls the real provider directly, with no routing and no mock",
                        f.name, v.name
                    ),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::config::read;
    use super::super::toml_src::TomlSource;
    use super::*;

    fn cfg(text: &str) -> TensorzeroConfig {
        read(TomlSource::from_text("tz.toml".into(), text.into())).unwrap()
    }

    const CROSS: &str = r#"
[models.gpt]
routing = ["openai", "anthropic"]

[models.gpt.providers.openai]
type = "openai"
model_name = "gpt-4o"

[models.gpt.providers.anthropic]
type = "anthropic"
model_name = "claude-sonnet-4-5"

[models.solo]
routing = ["openai"]

[models.solo.providers.openai]
type = "openai"
model_name = "gpt-4o"

[models.claude]
routing = ["anthropic"]

[models.claude.providers.anthropic]
type = "anthropic"
model_name = "claude-sonnet-4-5"

[functions.ordered]
type = "chat"

[functions.ordered.variants.main]
type = "chat_completion"
model = "solo"
retries = { num_retries = 2, max_delay_s = 0.1 }

[functions.ordered.variants.backup]
type = "chat_completion"
model = "claude"

[functions.ordered.experimentation]
type = "static"
candidate_variants = ["main"]
fallback_variants = ["backup"]
"#;

    fn text(group: &str, class: FailureClass) -> String {
        predict(&cfg(CROSS), group, class).unwrap().text
    }

    /// TensorZero's handling of the time and stream classes is not measured:
    /// no prediction, rather than a guess.
    #[test]
    fn no_prediction_for_an_unmeasured_class() {
        let c = cfg(CROSS);
        let group = groups(&c).into_iter().next().unwrap();
        assert!(predict(&c, &group, FailureClass::Timeout).is_some());
        for class in crate::lint::UNMEASURED_CLASSES {
            assert!(predict(&c, &group, class).is_none(), "{class}");
        }
    }

    /// The literal predictions, as measured on TensorZero 2026.6.0 in
    /// tests/tensorzero.rs.
    #[test]
    fn predictions_follow_the_measured_rules() {
        let m = "tensorzero::model_name::gpt";
        for c in [
            FailureClass::RateLimit,
            FailureClass::Auth,
            FailureClass::ContentPolicy,
            FailureClass::ServerError,
        ] {
            assert_eq!(
                text(m, c),
                "gpt.openai -> gpt.anthropic (anthropic) 200",
                "{c}"
            );
        }
        assert_eq!(text(m, FailureClass::Timeout), "gpt.openai -> client 200");
        assert_eq!(
            text(m, FailureClass::StreamCut),
            "gpt.openai -> client 200 (broken stream)"
        );
        assert_eq!(
            text("tensorzero::model_name::solo", FailureClass::RateLimit),
            "solo.openai -> client 502"
        );
        let f = predict(
            &cfg(CROSS),
            "tensorzero::function_name::ordered",
            FailureClass::RateLimit,
        )
        .unwrap();
        assert_eq!(f.text, "solo.openai x3 -> claude.anthropic (anthropic) 200");
        assert_eq!(f.outcome, PathClass::CrossedProvider);
        assert_eq!(f.attempts, 3);
        assert!(!f.nondeterministic);
    }

    #[test]
    fn a_model_level_timeout_fails_the_model_instead_of_moving_on() {
        let c = cfg("[models.m]\nrouting = [\"a\", \"b\"]\ntimeouts = { non_streaming = { total_ms = 500 } }\n[models.m.providers.a]\ntype = \"openai\"\nmodel_name = \"gpt-4o\"\n[models.m.providers.b]\ntype = \"anthropic\"\nmodel_name = \"claude-sonnet-4-5\"\n");
        let p = predict(&c, "tensorzero::model_name::m", FailureClass::Timeout).unwrap();
        assert_eq!(p.text, "m.a -> client 502");
        assert!(
            p.why
                .starts_with("the model-level `timeouts` of `models.m`"),
            "{}",
            p.why
        );
    }

    #[test]
    fn a_broken_stream_and_a_waited_timeout_break_the_cross_provider_promise() {
        let c = cfg(CROSS);
        let intent = intent(&c, &crate::lint::DRILL_CLASSES);
        let g = &intent["tensorzero::model_name::gpt"];
        assert!(g.promises(FailureClass::RateLimit, "openai"));
        assert!(g
            .why(FailureClass::StreamCut)
            .unwrap()
            .contains("never failed over by TensorZero 2026.6.0"));
        assert!(g
            .why(FailureClass::Timeout)
            .unwrap()
            .starts_with("no `timeouts` on `models.gpt.providers.openai` (tz.toml:5)"));
        assert!(g.why(FailureClass::RateLimit).unwrap().contains("keep it"));
        assert!(!intent.contains_key("tensorzero::model_name::solo"));
    }

    #[test]
    fn routing_within_one_provider_is_warned_about() {
        let c = cfg("[models.gpt]\nrouting = [\"a\", \"b\"]\n[models.gpt.providers.a]\ntype = \"openai\"\nmodel_name = \"gpt-4o\"\n[models.gpt.providers.b]\ntype = \"openai\"\nmodel_name = \"gpt-4o-mini\"\n");
        let w = warnings(&c);
        assert!(
            w.iter()
                .any(|w| w.line == 2 && w.message.contains("moves only within openai")),
            "{w:#?}"
        );
    }
}
