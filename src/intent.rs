//! The operator's intent: what a person reading a gateway config believes it
//! does when a provider fails, per model group and failure class. It is kept
//! apart from the literal prediction (what the gateway's own rules do with
//! the config, `crossfire lint`): the Failover Illusion is intent not met.
//! A leaf module: gateways derive intents, the verdicts and the drill judge
//! with them.

use mock_providers::FailureClass;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The provider-side outages a group with a cross-provider target anywhere
/// is believed to survive: 5xx, overload, rate limit and quota, timeouts,
/// resets, broken streams and garbled answers. Context overflows, auth and content policy
/// carry intent only where the config names a target for them.
///
/// Of the time and stream classes: a `hang` is a provider that is down
/// without saying so (a timeout that never ends), a `slow_first_token` one
/// too slow to start (a timeout on the first token), a `malformed_event` a
/// garbled answer: each is an outage an operator expects the other provider
/// to absorb. `no_done` is not: the whole answer arrives and only the
/// terminator is missing, so a client that gets it from the first provider
/// was served, and nobody expects a failover for it.
pub const OUTAGE_CLASSES: [FailureClass; 15] = [
    FailureClass::ServerError,
    FailureClass::BadGateway,
    FailureClass::Unavailable,
    FailureClass::Overloaded,
    FailureClass::RateLimit,
    FailureClass::QuotaExhausted,
    FailureClass::Timeout,
    FailureClass::ConnectionReset,
    FailureClass::StreamCut,
    FailureClass::StreamError,
    FailureClass::Stall,
    FailureClass::Malformed,
    FailureClass::Hang,
    FailureClass::SlowFirstToken,
    FailureClass::MalformedEvent,
];

/// Which providers a model group is believed to reach, per failure class,
/// where that belief is written, and why the gateway's rules break it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupIntent {
    /// Providers for every failure class without its own entry (a
    /// scenario's `intent:` promises these for every class).
    pub providers: BTreeSet<String>,
    /// Providers for specific classes; an empty set promises nothing.
    pub by_class: BTreeMap<FailureClass, BTreeSet<String>>,
    /// Where the promise is written (`scenario intent`, a config line).
    pub source: String,
    /// Why the gateway's own rules do not keep the promise for a class, in
    /// one line with the config line that causes it; absent where the
    /// literal rules keep it.
    pub why: BTreeMap<FailureClass, String>,
}

impl GroupIntent {
    /// The providers promised for a failure class (empty: no promise).
    pub fn for_class(&self, class: FailureClass) -> &BTreeSet<String> {
        self.by_class.get(&class).unwrap_or(&self.providers)
    }

    /// Whether a request that met `class` on `failed_on` carries a promise
    /// that can be broken. An overflow is promised a larger window, which may
    /// be on the same provider; every other class must be able to leave the
    /// provider that failed.
    pub fn promises(&self, class: FailureClass, failed_on: &str) -> bool {
        let wanted = self.for_class(class);
        if class == FailureClass::ContextOverflow {
            !wanted.is_empty()
        } else {
            wanted.iter().any(|p| p != failed_on)
        }
    }

    /// The one-line cause of a broken promise for `class`, where crossfire
    /// knows the gateway's rules (a command gateway's are unknown).
    pub fn why(&self, class: FailureClass) -> Option<&str> {
        self.why.get(&class).map(String::as_str)
    }
}

/// Model group -> its failover promise.
pub type Intent = BTreeMap<String, GroupIntent>;

/// A routing intent: one model group, its primary and its fallbacks, as
/// `provider/model`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingIntent {
    /// The model group clients ask for.
    pub group: String,
    /// `anthropic/claude-opus-4-1`.
    pub primary: String,
    /// Tried in order when the primary fails.
    pub fallbacks: Vec<String>,
}

impl Default for RoutingIntent {
    fn default() -> RoutingIntent {
        RoutingIntent {
            group: "claude-opus".into(),
            primary: "anthropic/claude-opus-4-1".into(),
            fallbacks: vec!["openai/gpt-4o".into()],
        }
    }
}

const PROVIDERS: [&str; 7] = [
    "openai",
    "azure",
    "anthropic",
    "gemini",
    "groq",
    "mistral",
    "deepseek",
];

/// `anthropic/claude-opus-4-1` as (provider, model), the provider one
/// crossfire mocks.
pub fn route_parts(route: &str) -> Result<(&str, &str), String> {
    let (p, m) = route.split_once('/').ok_or_else(|| {
        format!("`{route}` is not `provider/model`, as in `anthropic/claude-opus-4-1`")
    })?;
    if !PROVIDERS.contains(&p) {
        return Err(format!(
            "unknown provider `{p}` in `{route}`; {}",
            crate::diag::suggest(p, PROVIDERS)
        ));
    }
    Ok((p, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hang, a late first token and a garbled event are outages a
    /// cross-provider target is meant to absorb; a stream whose whole answer
    /// arrived without its terminator is not.
    #[test]
    fn the_time_classes_an_operator_expects_to_survive() {
        for class in [
            FailureClass::Hang,
            FailureClass::SlowFirstToken,
            FailureClass::MalformedEvent,
        ] {
            assert!(OUTAGE_CLASSES.contains(&class), "{class}");
        }
        assert!(!OUTAGE_CLASSES.contains(&FailureClass::NoDone));
    }

    #[test]
    fn an_overflow_promise_may_stay_on_the_provider_other_classes_must_leave() {
        let i = GroupIntent {
            providers: BTreeSet::from(["openai".to_string(), "anthropic".to_string()]),
            by_class: BTreeMap::from([
                (
                    FailureClass::ContextOverflow,
                    BTreeSet::from(["openai".to_string()]),
                ),
                (FailureClass::Auth, BTreeSet::new()),
            ]),
            ..GroupIntent::default()
        };
        assert!(i.promises(FailureClass::RateLimit, "openai"));
        assert!(i.promises(FailureClass::ContextOverflow, "openai"));
        assert!(!i.promises(FailureClass::Auth, "openai"));
        let same = GroupIntent {
            providers: BTreeSet::from(["openai".to_string()]),
            ..GroupIntent::default()
        };
        assert!(!same.promises(FailureClass::RateLimit, "openai"));
    }
}
