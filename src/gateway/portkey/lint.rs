//! Portkey semantics, for lint, drill predictions and intent. Portkey 1.15.2
//! (read from its source, then checked by running it against the mocks):
//! - `fallback` without `on_status_codes` moves on after any non-2xx answer
//!   and after connection errors; with `on_status_codes`, only after those.
//! - `retry` is off by default; with `attempts`, it retries 429, 500, 502,
//!   503 and 504 (not 529) with 1 s, 2 s, 4 s waits, and always after
//!   connection errors; `retry-after` is ignored.
//! - `loadbalance` picks at random and never fails over.
//! - A stream that breaks after its headers is passed on cut; nothing moves.
//! - An upstream `application/json` body that is not JSON is a gateway
//!   exception that stops fallback.

use super::config::{Mode, Node, PortkeyConfig};
use crate::intent::{GroupIntent, Intent};
use crate::lint::{streams, Prediction, Warning};
use crate::paths::PathClass;
use mock_providers::error_answers::{error_answer, ErrorContext};
use mock_providers::{Dialect, FailureClass, Fault};
use std::collections::{BTreeMap, BTreeSet};

/// What a failing mock hands the gateway, as Portkey sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// An HTTP status before any body.
    Status(u16),
    /// A slow but good answer.
    Slow,
    /// A 200 stream that breaks after content.
    MidStream,
    /// A 200 stream whose error the gateway drops: the client sees success.
    Swallowed,
    /// The connection failed.
    ConnectionError,
    /// A 200 `application/json` body that is not JSON.
    BadJson,
    /// A failure whose handling by Portkey is not measured
    /// ([`crate::lint::UNMEASURED_CLASSES`]): nothing is predicted for it.
    Unmeasured,
}

/// How a mock of this dialect fails for this class.
pub fn upstream(dialect: Dialect, class: FailureClass) -> Upstream {
    match class {
        c if !crate::lint::predicts(c) => Upstream::Unmeasured,
        FailureClass::Timeout => Upstream::Slow,
        FailureClass::Malformed => Upstream::BadJson,
        FailureClass::ConnectionReset => Upstream::ConnectionError,
        // Portkey translates Anthropic's stream into OpenAI chunks and drops
        // its `event: error`, ending the stream with `[DONE]` (measured).
        FailureClass::StreamError if dialect == Dialect::Anthropic => Upstream::Swallowed,
        c if streams(c) || c == FailureClass::Stall => Upstream::MidStream,
        c => {
            let fault = Fault::new(c);
            let ctx = ErrorContext {
                model: dialect.default_model(),
                prompt_tokens: 10,
                max_tokens: None,
                context_window: 5,
                fault: &fault,
                request_id: "r",
                now_unix: 0,
            };
            Upstream::Status(error_answer(dialect, c, &ctx).status)
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Walk {
    /// (leaf id, attempts, status the gateway saw last).
    hops: Vec<(String, u32)>,
    served: Option<usize>,
    status: u16,
    broken_stream: bool,
    swallowed: bool,
    stop: bool,
    mixed: bool,
}

fn walk(cfg: &PortkeyConfig, node: &Node, faulted: &[usize], class: FailureClass) -> Walk {
    match node {
        Node::Leaf(i) => {
            let leaf = &cfg.leaves[*i];
            let dialect = leaf.mapped.as_ref().map_or(Dialect::Openai, |(_, d)| *d);
            if !faulted.contains(i) {
                return Walk {
                    hops: vec![(leaf.id.clone(), 1)],
                    served: Some(*i),
                    status: 200,
                    ..Walk::default()
                };
            }
            let retried =
                |s: u16| leaf.retry.attempts > 0 && leaf.retry.on_status_codes.contains(&s);
            match upstream(dialect, class) {
                Upstream::Status(s) if (200..300).contains(&s) => Walk {
                    hops: vec![(leaf.id.clone(), 1)],
                    served: Some(*i),
                    status: s,
                    ..Walk::default()
                },
                Upstream::Status(s) => Walk {
                    hops: vec![(
                        leaf.id.clone(),
                        1 + if retried(s) { leaf.retry.attempts } else { 0 },
                    )],
                    status: s,
                    ..Walk::default()
                },
                Upstream::Slow => Walk {
                    hops: vec![(leaf.id.clone(), 1)],
                    served: Some(*i),
                    status: 200,
                    ..Walk::default()
                },
                Upstream::MidStream => Walk {
                    hops: vec![(leaf.id.clone(), 1)],
                    status: 200,
                    broken_stream: true,
                    stop: true,
                    ..Walk::default()
                },
                Upstream::Swallowed => Walk {
                    hops: vec![(leaf.id.clone(), 1)],
                    status: 200,
                    swallowed: true,
                    stop: true,
                    ..Walk::default()
                },
                Upstream::ConnectionError => Walk {
                    hops: vec![(leaf.id.clone(), 1 + leaf.retry.attempts)],
                    status: 500,
                    ..Walk::default()
                },
                // Never walked: `predict` is not asked for these classes
                // (the adapter answers `None`); stop where the fault is.
                Upstream::Unmeasured => Walk {
                    hops: vec![(leaf.id.clone(), 1)],
                    stop: true,
                    ..Walk::default()
                },
                Upstream::BadJson => Walk {
                    hops: vec![(leaf.id.clone(), 1)],
                    status: 500,
                    stop: true,
                    ..Walk::default()
                },
            }
        }
        Node::Group {
            mode,
            on_status_codes,
            children,
            ..
        } => match mode {
            Mode::Single | Mode::Conditional => children
                .first()
                .map(|c| walk(cfg, c, faulted, class))
                .unwrap_or_default(),
            Mode::Loadbalance => {
                let mut w = children
                    .first()
                    .map(|c| walk(cfg, c, faulted, class))
                    .unwrap_or_default();
                w.mixed = children.len() > 1;
                w
            }
            Mode::Fallback => {
                let mut out = Walk::default();
                for c in children {
                    let w = walk(cfg, c, faulted, class);
                    out.hops.extend(w.hops);
                    out.status = w.status;
                    out.broken_stream = w.broken_stream;
                    out.swallowed = w.swallowed;
                    out.mixed |= w.mixed;
                    if w.served.is_some() || w.stop {
                        out.served = w.served;
                        out.stop = w.stop;
                        return out;
                    }
                    if on_status_codes
                        .as_ref()
                        .is_some_and(|codes| !codes.contains(&w.status))
                    {
                        return out;
                    }
                }
                out
            }
        },
    }
}

/// The real context window of a leaf's model.
fn model(cfg: &PortkeyConfig, i: usize) -> &str {
    let leaf = &cfg.leaves[i];
    leaf.model.as_deref().unwrap_or_else(|| {
        leaf.mapped
            .as_ref()
            .map_or("gpt-4o", |(_, d)| d.default_model())
    })
}

/// Predicts what the config does when its primary target fails with `class`.
/// A context overflow is a prompt a fifth over the primary's window: every
/// target with a window no larger refuses it too.
pub fn predict(cfg: &PortkeyConfig, class: FailureClass) -> Prediction {
    let primary = cfg.primary();
    let faulted: Vec<usize> = match (class, primary.first()) {
        (FailureClass::ContextOverflow, Some(&p)) => (0..cfg.leaves.len())
            .filter(|&i| crate::lint::refuses_overflow(model(cfg, p), model(cfg, i)))
            .collect(),
        _ => primary.clone(),
    };
    let w = walk(cfg, &cfg.root, &faulted, class);
    let first_provider = primary
        .first()
        .and_then(|i| cfg.leaves[*i].mapped.as_ref().map(|(p, _)| p.clone()))
        .unwrap_or_default();
    let mut parts: Vec<String> = Vec::new();
    let n = w.hops.len();
    let mut fallback = None;
    for (k, (id, attempts)) in w.hops.iter().enumerate() {
        let last = k + 1 == n;
        match (last, w.served) {
            (true, Some(i)) if k > 0 => {
                let provider = cfg.leaves[i]
                    .mapped
                    .as_ref()
                    .map_or(String::new(), |(p, _)| p.clone());
                fallback = Some((id.clone(), provider.clone()));
                parts.push(format!("{id} ({provider}) 200"));
            }
            _ => parts.push(if *attempts > 1 {
                format!("{id} x{attempts}")
            } else {
                id.clone()
            }),
        }
    }
    let mut text = parts.join(" -> ");
    let served_first = w.served.is_some() && n == 1;
    if fallback.is_none() {
        let status = if w.served.is_some() { 200 } else { w.status };
        text.push_str(&format!(" -> client {status}"));
        if w.broken_stream {
            text.push_str(" (broken stream)");
        }
        if w.swallowed {
            text.push_str(" (error swallowed)");
        }
    }
    let outcome = match (&fallback, served_first, w.broken_stream) {
        (Some((_, p)), _, _) if *p == first_provider => PathClass::FellBackSameProvider,
        (Some(_), _, _) => PathClass::CrossedProvider,
        (None, true, false) => PathClass::Direct,
        _ if w.hops.len() > 1 && w.hops.iter().any(|(id, _)| *id != w.hops[0].0) => {
            PathClass::FailedAfterFailover
        }
        _ => PathClass::FailedNoFailover,
    };
    let why = if w.swallowed {
        "Portkey turns Anthropic's stream into OpenAI chunks and drops its error event: the client sees a short answer as a success".to_string()
    } else if w.mixed {
        "loadbalance picks a target at random and never fails over: only the requests sent to the failing target fail".to_string()
    } else if w.broken_stream {
        "the stream broke after its headers: Portkey passes it on cut, without retry or fallback"
            .to_string()
    } else if w.stop {
        "the upstream body is not JSON: a gateway exception stops the fallback".to_string()
    } else if fallback.is_some() {
        "the fallback strategy moves on after this status".to_string()
    } else if w.served.is_some() {
        "the target answers (late or as a success): nothing moves".to_string()
    } else {
        format!(
            "status {} is not a reason to move on under this config",
            w.status
        )
    };
    let attempts = w.hops.first().map_or(0, |h| h.1);
    Prediction {
        group: cfg.name.clone(),
        class,
        exception: String::new(),
        attempts,
        fallback,
        outcome,
        client_status: if w.served.is_some() { 200 } else { w.status },
        text: if w.mixed {
            format!("{text} (for the requests sent to it)")
        } else {
            text
        },
        why,
        nondeterministic: false,
    }
}

/// The fallback groups of the tree, outermost first.
fn fallback_groups(n: &Node) -> Vec<&Node> {
    match n {
        Node::Leaf(_) => vec![],
        Node::Group { mode, children, .. } => {
            let mut out = Vec::new();
            if *mode == Mode::Fallback && children.len() > 1 {
                out.push(n);
            }
            out.extend(children.iter().flat_map(fallback_groups));
            out
        }
    }
}

/// The leaves under a node.
fn leaves_under(n: &Node) -> Vec<usize> {
    match n {
        Node::Leaf(i) => vec![*i],
        Node::Group { children, .. } => children.iter().flat_map(leaves_under).collect(),
    }
}

/// Where a group's `on_status_codes` is written: `` `strategy.on_status_codes`
/// at portkey.json:4 ``.
fn codes_at(cfg: &PortkeyConfig, path: &str) -> String {
    let key = if path.is_empty() {
        "strategy.on_status_codes".to_string()
    } else {
        format!("{path}.strategy.on_status_codes")
    };
    let line = cfg.src.index.key(&key).map_or(0, |p| p.0);
    format!("`{key}` at {}:{line}", cfg.src.file.display())
}

/// The operator's intent for a Portkey config, as a model group keyed by the
/// config's name: a `fallback` strategy with a target on another provider is
/// meant to survive every provider-side outage of its primary; an overflow
/// is meant to reach a target with a larger window; auth and content policy
/// only where `on_status_codes` names their status. `on_status_codes` that
/// leaves out an outage's status does not change the belief: it is the
/// literal rule that breaks it, and the promise says so.
pub fn intent(cfg: &PortkeyConfig, classes: &[FailureClass]) -> Intent {
    let primary = cfg.primary();
    let provider = |i: &usize| cfg.leaves[*i].mapped.as_ref().map(|(p, _)| p.clone());
    let own: BTreeSet<String> = primary.iter().filter_map(provider).collect();
    let groups = fallback_groups(&cfg.root);
    let targets: BTreeSet<usize> = groups.iter().flat_map(|g| leaves_under(g)).collect();
    let cross: BTreeSet<String> = targets
        .iter()
        .filter_map(provider)
        .filter(|p| !own.contains(p))
        .collect();
    let Some(&first) = primary.first() else {
        return Intent::new();
    };
    let dialect = cfg.leaves[first]
        .mapped
        .as_ref()
        .map_or(Dialect::Openai, |(_, d)| *d);
    let named = |class: FailureClass| {
        let Upstream::Status(s) = upstream(dialect, class) else {
            return false;
        };
        groups.iter().any(
            |g| matches!(g, Node::Group { on_status_codes: Some(codes), .. } if codes.contains(&s)),
        )
    };
    let primary_window = mock_providers::models::context_window(model(cfg, first), None);
    let mut by_class = BTreeMap::new();
    for c in classes {
        let promised: BTreeSet<String> = match c {
            FailureClass::ContextOverflow => targets
                .iter()
                .filter(|i| {
                    mock_providers::models::context_window(model(cfg, **i), None) > primary_window
                })
                .filter_map(provider)
                .collect(),
            FailureClass::Auth | FailureClass::ContentPolicy if named(*c) => cross.clone(),
            c if crate::intent::OUTAGE_CLASSES.contains(c) => cross.clone(),
            _ => BTreeSet::new(),
        };
        if !promised.is_empty() {
            by_class.insert(*c, promised);
        }
    }
    if by_class.is_empty() {
        return Intent::new();
    }
    let why = causes(cfg, &by_class);
    let source = match groups.first() {
        Some(Node::Group { path, .. }) if !path.is_empty() => {
            format!("the fallback at `{path}` in {}", cfg.src.file.display())
        }
        _ => format!("strategy fallback in {}", cfg.src.file.display()),
    };
    Intent::from([(
        cfg.name.clone(),
        GroupIntent {
            providers: BTreeSet::new(),
            by_class,
            source,
            why,
        },
    )])
}

/// Why Portkey's rules do or do not keep each promise, in one line with the
/// config line (`on_status_codes` that omits a status); where they keep it,
/// what they predict. Used for derived intents and a scenario's own.
pub fn causes(
    cfg: &PortkeyConfig,
    by_class: &BTreeMap<FailureClass, BTreeSet<String>>,
) -> BTreeMap<FailureClass, String> {
    let primary = cfg.primary();
    let own: BTreeSet<String> = primary
        .iter()
        .filter_map(|i| cfg.leaves[*i].mapped.as_ref().map(|(p, _)| p.clone()))
        .collect();
    let groups = fallback_groups(&cfg.root);
    let dialect = primary
        .first()
        .and_then(|i| cfg.leaves[*i].mapped.as_ref().map(|(_, d)| *d))
        .unwrap_or(Dialect::Openai);
    let mut why = BTreeMap::new();
    for (class, promised) in by_class {
        if promised.is_empty() || !crate::lint::predicts(*class) {
            continue;
        }
        let p = predict(cfg, *class);
        if p.fallback
            .as_ref()
            .is_some_and(|(_, pr)| promised.contains(pr))
        {
            why.insert(
                *class,
                format!(
                    "Portkey {}'s rules as crossfire reads them keep it (`{}`: {}); the gateway did otherwise",
                    crate::gateway::portkey::VERSION,
                    p.text,
                    p.why
                ),
            );
            continue;
        }
        let stranded = match upstream(dialect, *class) {
            Upstream::Status(s) if s >= 400 => groups.iter().find_map(|g| match g {
                Node::Group {
                    on_status_codes: Some(codes),
                    path,
                    ..
                } if !codes.contains(&s) => Some(format!(
                    "{} omits {s}: {} {class} answers stay on {}",
                    codes_at(cfg, path),
                    own.iter().cloned().collect::<Vec<_>>().join(", "),
                    own.iter().cloned().collect::<Vec<_>>().join(", ")
                )),
                _ => None,
            }),
            _ => None,
        };
        let slow = (*class == FailureClass::Timeout && p.outcome == PathClass::Direct).then(|| {
            format!(
                "no `request_timeout` is set in {}: Portkey {} waits for the slow answer",
                cfg.src.file.display(),
                crate::gateway::portkey::VERSION
            )
        });
        why.insert(
            *class,
            stranded.or(slow).unwrap_or_else(|| {
                format!("{} (Portkey {})", p.why, crate::gateway::portkey::VERSION)
            }),
        );
    }
    why
}

/// Warnings a reviewer wants about a Portkey config.
pub fn warnings(cfg: &PortkeyConfig) -> Vec<Warning> {
    let mut out = Vec::new();
    for leaf in cfg.leaves.iter().filter(|l| l.mapped.is_none()) {
        out.push(Warning {
            line: 0,
            message: format!(
                "target `{}` ({}): crossfire has no mock for provider `{}`",
                leaf.id, leaf.path, leaf.provider_name
            ),
        });
    }
    fn visit(n: &Node, cfg: &PortkeyConfig, out: &mut Vec<Warning>) {
        if let Node::Group {
            mode,
            on_status_codes,
            children,
            path,
        } = n
        {
            let at = if path.is_empty() {
                "the top level".to_string()
            } else {
                format!("`{path}`")
            };
            if *mode == Mode::Loadbalance && children.iter().all(|c| matches!(c, Node::Leaf(_))) {
                out.push(Warning {
                    line: 0,
                    message: format!("{at} load-balances without failover: a failing target fails its share of requests; nest a fallback group in each target to move them"),
                });
            }
            if *mode == Mode::Fallback {
                if let Some(codes) = on_status_codes {
                    let first_dialect = match children.first() {
                        Some(Node::Leaf(i)) => cfg.leaves[*i].mapped.as_ref().map(|(_, d)| *d),
                        _ => None,
                    };
                    if let Some(d) = first_dialect {
                        let stranded: Vec<String> = crate::lint::DRILL_CLASSES
                            .iter()
                            .filter(|c| matches!(upstream(d, **c), Upstream::Status(s) if !codes.contains(&s) && s >= 400))
                            .map(|c| format!("{c} ({})", match upstream(d, *c) { Upstream::Status(s) => s, _ => 0 }))
                            .collect();
                        if !stranded.is_empty() {
                            out.push(Warning {
                                line: 0,
                                message: format!(
                                    "{at} falls back only on {codes:?}: these failures of its first target stay there: {}",
                                    stranded.join(", ")
                                ),
                            });
                        }
                    }
                }
                out.push(Warning {
                    line: 0,
                    message: format!("{at} cannot fall back once a stream has started: a stream cut mid-way reaches the client cut"),
                });
            }
            for c in children {
                visit(c, cfg, out);
            }
        }
    }
    visit(&cfg.root, cfg, &mut out);
    for leaf in &cfg.leaves {
        if leaf.retry.attempts > 0
            && !leaf.retry.on_status_codes.contains(&529)
            && leaf.provider_name == "anthropic"
        {
            out.push(Warning {
                line: 0,
                message: format!(
                    "target `{}` retries {:?}, not Anthropic's 529 overloaded",
                    leaf.id, leaf.retry.on_status_codes
                ),
            });
        }
    }
    if cfg.src.text.contains("use_retry_after_header") {
        out.push(Warning {
            line: 0,
            message: "`use_retry_after_header` is broken in Portkey 1.15.2: a final 429 reaches the client as a 500".into(),
        });
    }
    out
}

#[cfg(test)]
mod intent_tests {
    use super::*;
    use crate::diag::Source;
    use std::path::Path;

    fn cfg(text: &str) -> PortkeyConfig {
        crate::gateway::portkey::config::read(Source::from_text(Path::new("p.json"), text.into()))
            .expect("config")
    }

    const TARGETS: &str = r#"  "targets": [
    {"provider": "anthropic", "api_key": "x", "override_params": {"model": "claude-opus-4-1"}},
    {"provider": "openai", "api_key": "y", "override_params": {"model": "gpt-4o"}}
  ]
}"#;

    #[test]
    fn on_status_codes_without_529_keeps_the_belief_and_names_the_cause() {
        let c = cfg(&format!(
            "{{\n  \"strategy\": {{\"mode\": \"fallback\", \"on_status_codes\": [429, 500, 502, 503, 504]}},\n{TARGETS}"
        ));
        let i = intent(&c, &FailureClass::ALL);
        let g = &i["p"];
        let openai = BTreeSet::from(["openai".to_string()]);
        assert_eq!(g.for_class(FailureClass::Overloaded), &openai);
        assert_eq!(
            g.why(FailureClass::Overloaded),
            Some("`strategy.on_status_codes` at p.json:2 omits 529: anthropic overloaded answers stay on anthropic")
        );
        // 429 is listed: the literal rules keep that promise.
        assert!(g
            .why(FailureClass::RateLimit)
            .unwrap_or("")
            .ends_with("the gateway did otherwise"));
        // Auth (401) is not named by on_status_codes: no promise.
        assert!(g.for_class(FailureClass::Auth).is_empty());
        // GPT-4o's window is smaller than Claude's: no overflow promise.
        assert!(g.for_class(FailureClass::ContextOverflow).is_empty());
    }

    #[test]
    fn a_plain_fallback_promises_outages_and_names_auth_only_when_listed() {
        let plain = cfg(&format!(
            "{{\n  \"strategy\": {{\"mode\": \"fallback\"}},\n{TARGETS}"
        ));
        let g = &intent(&plain, &FailureClass::ALL)["p"];
        assert!(g.for_class(FailureClass::Auth).is_empty());
        assert!(g
            .why(FailureClass::ServerError)
            .unwrap_or("")
            .ends_with("the gateway did otherwise"));
        let listed = cfg(&format!(
            "{{\n  \"strategy\": {{\"mode\": \"fallback\", \"on_status_codes\": [401, 429]}},\n{TARGETS}"
        ));
        let g = &intent(&listed, &FailureClass::ALL)["p"];
        assert_eq!(
            g.for_class(FailureClass::Auth),
            &BTreeSet::from(["openai".to_string()])
        );
        let lb = cfg(&format!(
            "{{\n  \"strategy\": {{\"mode\": \"loadbalance\"}},\n{TARGETS}"
        ));
        assert!(intent(&lb, &FailureClass::ALL).is_empty());
    }
}
