//! Faults (what goes wrong) and schedules (on which attempts it goes wrong).
//!
//! Both are plain data: building a fault never has side effects. Which fault
//! fires for an attempt is decided by [`FaultRule::fires`], a pure function of
//! the attempt number on the deployment, the time since the mocks started and
//! the rule's seed, so the same seed gives the same outcomes run after run.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// What a fault means to a gateway: the failure classes of crossfire's design.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// HTTP 500 in the dialect's words.
    ServerError,
    /// HTTP 502 from the provider's edge proxy.
    BadGateway,
    /// HTTP 503.
    Unavailable,
    /// The provider is overloaded (Anthropic 529, OpenAI 503 `server_is_overloaded`, Gemini 503).
    Overloaded,
    /// HTTP 429, retryable, with the dialect's rate-limit headers.
    RateLimit,
    /// HTTP 429, the non-retryable billing variant.
    QuotaExhausted,
    /// HTTP 400, the prompt does not fit the model's context window.
    ContextOverflow,
    /// HTTP 400 (Gemini: a 200 with a blocked prompt), the safety system refused.
    ContentPolicy,
    /// HTTP 401 (Gemini: 400 `API_KEY_INVALID`).
    Auth,
    /// HTTP 404: model or deployment missing.
    NotFound,
    /// The answer comes, but only after a delay.
    Timeout,
    /// HTTP 200 with a body that is not valid JSON.
    Malformed,
    /// A 200 stream that closes after some events, with no terminator.
    StreamCut,
    /// A 200 stream that turns into the dialect's error event.
    StreamError,
    /// A 200 stream that stops sending while the connection stays open.
    Stall,
    /// The connection is reset before any response.
    ConnectionReset,
    /// The request is read and nothing is ever sent back: no status, no
    /// headers, no close, until the mocks shut down or the client goes away.
    Hang,
    /// A stream whose headers come at once and whose first event comes only
    /// after the fault's `delay`, then a normal stream. A non-stream request
    /// gets its whole answer after the delay (a provider sends a non-stream
    /// answer when it is generated, so nothing of it can come early).
    SlowFirstToken,
    /// A complete stream without its terminator (OpenAI-style `data: [DONE]`,
    /// Anthropic `message_stop`, the Responses API's `response.completed`,
    /// the closing `]` of Gemini's JSON-array stream), the HTTP body finished
    /// cleanly. Gemini's SSE stream and non-stream answers have no terminator:
    /// there the answer is served whole and journaled `served`.
    NoDone,
    /// One event that is not valid JSON in the middle of a stream, every
    /// other event normal. A non-stream answer is one event: its body is
    /// not valid JSON, as for `malformed`.
    MalformedEvent,
}

impl FailureClass {
    /// Every failure class, in a stable order.
    pub const ALL: [FailureClass; 20] = [
        FailureClass::ServerError,
        FailureClass::BadGateway,
        FailureClass::Unavailable,
        FailureClass::Overloaded,
        FailureClass::RateLimit,
        FailureClass::QuotaExhausted,
        FailureClass::ContextOverflow,
        FailureClass::ContentPolicy,
        FailureClass::Auth,
        FailureClass::NotFound,
        FailureClass::Timeout,
        FailureClass::Malformed,
        FailureClass::StreamCut,
        FailureClass::StreamError,
        FailureClass::Stall,
        FailureClass::ConnectionReset,
        FailureClass::Hang,
        FailureClass::SlowFirstToken,
        FailureClass::NoDone,
        FailureClass::MalformedEvent,
    ];

    /// The name used in files, flags and the journal.
    pub fn name(self) -> &'static str {
        match self {
            FailureClass::ServerError => "server_error",
            FailureClass::BadGateway => "bad_gateway",
            FailureClass::Unavailable => "unavailable",
            FailureClass::Overloaded => "overloaded",
            FailureClass::RateLimit => "rate_limit",
            FailureClass::QuotaExhausted => "quota_exhausted",
            FailureClass::ContextOverflow => "context_overflow",
            FailureClass::ContentPolicy => "content_policy",
            FailureClass::Auth => "auth",
            FailureClass::NotFound => "not_found",
            FailureClass::Timeout => "timeout",
            FailureClass::Malformed => "malformed",
            FailureClass::StreamCut => "stream_cut",
            FailureClass::StreamError => "stream_error",
            FailureClass::Stall => "stall",
            FailureClass::ConnectionReset => "connection_reset",
            FailureClass::Hang => "hang",
            FailureClass::SlowFirstToken => "slow_first_token",
            FailureClass::NoDone => "no_done",
            FailureClass::MalformedEvent => "malformed_event",
        }
    }

    /// Parses a failure class name as written in files and flags.
    pub fn from_name(name: &str) -> Option<FailureClass> {
        FailureClass::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether the fault acts on the socket rather than on the HTTP answer.
    pub fn is_byte_level(self) -> bool {
        matches!(
            self,
            FailureClass::StreamCut
                | FailureClass::Stall
                | FailureClass::ConnectionReset
                | FailureClass::Hang
                | FailureClass::SlowFirstToken
        )
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault: a failure class with its parameters.
///
/// ```
/// use mock_providers::{Fault, FailureClass};
/// use std::time::Duration;
/// let fault = Fault::new(FailureClass::RateLimit).retry_after(Duration::from_secs(2));
/// assert_eq!(fault.class, FailureClass::RateLimit);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// What goes wrong.
    pub class: FailureClass,
    /// `rate_limit`: the wait the provider asks for (`retry-after` and friends).
    pub retry_after: Duration,
    /// `timeout`: how long the answer is held back; `slow_first_token`: how
    /// long the first event is held back.
    pub delay: Duration,
    /// `stream_cut`, `stream_error`, `stall`: content events sent before the fault.
    pub after_events: u32,
}

impl Fault {
    /// Default `retry_after`: small, so gateways that honour it do not stall a drill.
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
    /// Default `delay` of a timeout: longer than any sane gateway timeout in a drill.
    pub const DEFAULT_DELAY: Duration = Duration::from_secs(30);
    /// Default number of content events before a stream fault.
    pub const DEFAULT_AFTER_EVENTS: u32 = 2;

    /// A fault of this class with default parameters.
    pub fn new(class: FailureClass) -> Fault {
        Fault {
            class,
            retry_after: Fault::DEFAULT_RETRY_AFTER,
            delay: Fault::DEFAULT_DELAY,
            after_events: Fault::DEFAULT_AFTER_EVENTS,
        }
    }

    /// Sets the wait a rate-limited answer asks for.
    pub fn retry_after(mut self, wait: Duration) -> Fault {
        self.retry_after = wait;
        self
    }

    /// Sets how long a timeout holds the answer back.
    pub fn delay(mut self, delay: Duration) -> Fault {
        self.delay = delay;
        self
    }

    /// Sets how many content events a stream fault lets through first.
    pub fn after_events(mut self, events: u32) -> Fault {
        self.after_events = events;
        self
    }
}

/// On which attempts of a deployment a fault fires.
///
/// Attempt numbers count every request a deployment receives, from 1, whatever
/// its outcome. Every rule on a deployment sees the same attempt numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Every attempt.
    Always,
    /// Attempts 1..=N; later attempts are served.
    First(u64),
    /// Attempts after the first N; the first N are served.
    After(u64),
    /// Every Nth attempt: N, 2N, 3N, ...
    Every(u64),
    /// Exactly these attempt numbers.
    Requests(Vec<u64>),
    /// Attempts that arrive in this time window, measured from the mocks' start.
    Window {
        /// Start of the window.
        from: Duration,
        /// End of the window (exclusive).
        to: Duration,
    },
    /// One outage: attempts arriving from `from` for `length`, measured from
    /// the mocks' start (files write `outage: {from: 10s, for: 60s}`).
    Outage {
        /// When the outage starts.
        from: Duration,
        /// How long it lasts.
        #[serde(rename = "for")]
        length: Duration,
    },
    /// A flapping provider: from `from`, `times` rounds of `down` (attempts
    /// fail) then `up` (attempts are served); after the last round, served.
    Flap {
        /// When the first down phase starts.
        from: Duration,
        /// Length of each down phase.
        down: Duration,
        /// Length of each up phase.
        up: Duration,
        /// Number of down phases.
        times: u32,
    },
    /// Each attempt independently with probability `p`, drawn from `seed`
    /// and the attempt number: the same seed gives the same outcomes.
    Probability {
        /// Chance in 0..=1.
        p: f64,
        /// Seed of the draw.
        seed: u64,
    },
}

impl Schedule {
    /// The stretches of time (since the start) in which the schedule fires
    /// whatever the attempt: a window, an outage, each down phase of a
    /// flap. Count and chance schedules have none.
    pub fn windows(&self) -> Vec<(Duration, Duration)> {
        match self {
            Schedule::Window { from, to } => vec![(*from, *to)],
            Schedule::Outage { from, length } => vec![(*from, *from + *length)],
            Schedule::Flap {
                from,
                down,
                up,
                times,
            } => (0..*times)
                .map(|k| {
                    let start = *from + (*down + *up) * k;
                    (start, start + *down)
                })
                .collect(),
            Schedule::Always
            | Schedule::First(_)
            | Schedule::After(_)
            | Schedule::Every(_)
            | Schedule::Requests(_)
            | Schedule::Probability { .. } => vec![],
        }
    }

    /// Whether attempt number `attempt` (from 1), arriving `since_start` after
    /// the mocks started, falls under this schedule.
    pub fn fires(&self, attempt: u64, since_start: Duration) -> bool {
        match self {
            Schedule::Always => true,
            Schedule::First(n) => attempt <= *n,
            Schedule::After(n) => attempt > *n,
            Schedule::Every(n) => *n > 0 && attempt % *n == 0,
            Schedule::Requests(list) => list.contains(&attempt),
            Schedule::Window { from, to } => since_start >= *from && since_start < *to,
            Schedule::Outage { from, length } => {
                since_start >= *from && since_start - *from < *length
            }
            Schedule::Flap {
                from,
                down,
                up,
                times,
            } => flap_is_down(since_start, *from, *down, *up, *times),
            Schedule::Probability { p, seed } => unit_draw(*seed, attempt) < *p,
        }
    }
}

impl fmt::Display for Schedule {
    /// The flag syntax of the schedule (`first:3`, `window:1s..5s`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Always => f.write_str("always"),
            Schedule::First(n) => write!(f, "first:{n}"),
            Schedule::After(n) => write!(f, "after:{n}"),
            Schedule::Every(n) => write!(f, "every:{n}"),
            Schedule::Requests(list) => {
                let items: Vec<String> = list.iter().map(u64::to_string).collect();
                write!(f, "requests:{}", items.join(","))
            }
            Schedule::Window { from, to } => {
                write!(f, "window:{}..{}", fmt_duration(*from), fmt_duration(*to))
            }
            Schedule::Outage { from, length } => write!(
                f,
                "outage:from={},for={}",
                fmt_duration(*from),
                fmt_duration(*length)
            ),
            Schedule::Flap {
                from,
                down,
                up,
                times,
            } => {
                write!(
                    f,
                    "flap:down={},up={},times={times}",
                    fmt_duration(*down),
                    fmt_duration(*up)
                )?;
                if !from.is_zero() {
                    write!(f, ",from={}", fmt_duration(*from))?;
                }
                Ok(())
            }
            Schedule::Probability { p, seed } => write!(f, "probability:{p}:seed={seed}"),
        }
    }
}

/// Whether a flap (`times` rounds of `down` then `up`, from `from`) is in a
/// down phase at `t`. Counted in nanoseconds as `u128`, so no sum overflows.
fn flap_is_down(t: Duration, from: Duration, down: Duration, up: Duration, times: u32) -> bool {
    let Some(rel) = t.checked_sub(from) else {
        return false;
    };
    let period = down.as_nanos() + up.as_nanos();
    if period == 0 || down.is_zero() {
        return false;
    }
    let rel = rel.as_nanos();
    rel / period < u128::from(times) && rel % period < down.as_nanos()
}

/// Formats a duration the way files and flags write it (`250ms`, `2s`, `1.5s`).
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else if ms >= 1000 {
        format!("{}s", d.as_secs_f64())
    } else {
        format!("{ms}ms")
    }
}

/// A uniform draw in [0, 1) from (seed, attempt), by SplitMix64.
fn unit_draw(seed: u64, attempt: u64) -> f64 {
    let mut z = seed ^ attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A fault and the schedule it fires on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// What goes wrong.
    pub fault: Fault,
    /// When it goes wrong.
    pub schedule: Schedule,
}

impl FaultRule {
    /// Whether this rule fires on the given attempt.
    pub fn fires(&self, attempt: u64, since_start: Duration) -> bool {
        self.schedule.fires(attempt, since_start)
    }
}

/// The first rule, in order, that fires for this attempt: rules compose in order.
pub fn first_firing(rules: &[FaultRule], attempt: u64, since_start: Duration) -> Option<&Fault> {
    rules
        .iter()
        .find(|r| r.fires(attempt, since_start))
        .map(|r| &r.fault)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: Duration = Duration::ZERO;

    #[test]
    fn names_round_trip() {
        for class in FailureClass::ALL {
            assert_eq!(FailureClass::from_name(class.name()), Some(class));
        }
    }

    #[test]
    fn rules_compose_in_order() {
        let rules = vec![
            FaultRule {
                fault: Fault::new(FailureClass::RateLimit),
                schedule: Schedule::First(2),
            },
            FaultRule {
                fault: Fault::new(FailureClass::ServerError),
                schedule: Schedule::Every(2),
            },
        ];
        let classes: Vec<Option<FailureClass>> = (1..=6)
            .map(|a| first_firing(&rules, a, T0).map(|f| f.class))
            .collect();
        use FailureClass::*;
        assert_eq!(
            classes,
            vec![
                Some(RateLimit),
                Some(RateLimit),
                None,
                Some(ServerError),
                None,
                Some(ServerError)
            ]
        );
    }

    #[test]
    fn window_is_half_open() {
        let s = Schedule::Window {
            from: Duration::from_secs(1),
            to: Duration::from_secs(2),
        };
        assert!(!s.fires(1, Duration::from_millis(999)));
        assert!(s.fires(1, Duration::from_secs(1)));
        assert!(!s.fires(1, Duration::from_secs(2)));
    }

    #[test]
    fn outage_fires_from_its_start_for_its_length() {
        let s = Schedule::Outage {
            from: Duration::from_secs(10),
            length: Duration::from_secs(60),
        };
        let at = |ms: u64| s.fires(1, Duration::from_millis(ms));
        assert!(!at(9_999));
        assert!(at(10_000));
        assert!(at(69_999));
        assert!(!at(70_000));
    }

    #[test]
    fn flap_is_down_then_up_for_its_rounds_then_served() {
        let s = Schedule::Flap {
            from: Duration::from_secs(5),
            down: Duration::from_secs(20),
            up: Duration::from_secs(10),
            times: 3,
        };
        let down_at: Vec<u64> = (0..120)
            .filter(|sec| s.fires(1, Duration::from_secs(*sec)))
            .collect();
        let expected: Vec<u64> = (5..25).chain(35..55).chain(65..85).collect();
        assert_eq!(down_at, expected);
    }

    #[test]
    fn schedules_display_in_their_flag_syntax() {
        let outage = Schedule::Outage {
            from: Duration::from_secs(10),
            length: Duration::from_secs(60),
        };
        assert_eq!(outage.to_string(), "outage:from=10s,for=60s");
        let flap = Schedule::Flap {
            from: Duration::ZERO,
            down: Duration::from_secs(20),
            up: Duration::from_millis(1500),
            times: 3,
        };
        assert_eq!(flap.to_string(), "flap:down=20s,up=1.5s,times=3");
        let late = Schedule::Flap {
            from: Duration::from_millis(250),
            down: Duration::from_secs(20),
            up: Duration::from_millis(1500),
            times: 3,
        };
        assert_eq!(late.to_string(), "flap:down=20s,up=1.5s,times=3,from=250ms");
    }

    #[test]
    fn new_classes_have_snake_case_names() {
        let names: Vec<&str> = FailureClass::ALL[16..].iter().map(|c| c.name()).collect();
        assert_eq!(
            names,
            ["hang", "slow_first_token", "no_done", "malformed_event"]
        );
        for class in FailureClass::ALL {
            let json = serde_json::to_string(&class).unwrap();
            assert_eq!(json, format!("\"{}\"", class.name()));
        }
    }

    #[test]
    fn every_zero_never_fires() {
        assert!(!Schedule::Every(0).fires(0, T0));
    }

    proptest! {
        #[test]
        fn first_and_after_partition_attempts(n in 0u64..50, attempt in 1u64..200) {
            let first = Schedule::First(n).fires(attempt, T0);
            let after = Schedule::After(n).fires(attempt, T0);
            prop_assert!(first != after);
        }

        #[test]
        fn first_n_fires_exactly_n_times(n in 0u64..50) {
            let count = (1..=100).filter(|a| Schedule::First(n).fires(*a, T0)).count() as u64;
            prop_assert_eq!(count, n.min(100));
        }

        #[test]
        fn every_n_fires_on_multiples(n in 1u64..20, attempt in 1u64..500) {
            prop_assert_eq!(Schedule::Every(n).fires(attempt, T0), attempt % n == 0);
        }

        #[test]
        fn requests_fires_only_on_listed(list in proptest::collection::vec(1u64..100, 0..10), attempt in 1u64..100) {
            prop_assert_eq!(Schedule::Requests(list.clone()).fires(attempt, T0), list.contains(&attempt));
        }

        /// An outage fires at time t exactly when from <= t < from + length,
        /// whatever the attempt number.
        #[test]
        fn outage_fires_exactly_inside_its_window(
            from_ms in 0u64..100_000, len_ms in 1u64..100_000, t_ms in 0u64..300_000, attempt in 1u64..1000,
        ) {
            let s = Schedule::Outage { from: Duration::from_millis(from_ms), length: Duration::from_millis(len_ms) };
            // A random time, and the edges, where an off-by-one would hide.
            let end = from_ms + len_ms;
            for t in [t_ms, from_ms.saturating_sub(1), from_ms, end - 1, end] {
                let inside = t >= from_ms && t < end;
                prop_assert_eq!(s.fires(attempt, Duration::from_millis(t)), inside, "t = {} ms", t);
            }
        }

        /// A flap fires at t exactly when t lies in one of the `times` down
        /// windows [from + k(down+up), from + k(down+up) + down), written out
        /// one by one rather than by the modulo `fires` uses.
        #[test]
        fn flap_fires_exactly_inside_its_down_windows(
            from_ms in 0u64..10_000, down_ms in 1u64..5_000, up_ms in 1u64..5_000,
            times in 0u32..6, t_ms in 0u64..60_000,
        ) {
            let s = Schedule::Flap {
                from: Duration::from_millis(from_ms),
                down: Duration::from_millis(down_ms),
                up: Duration::from_millis(up_ms),
                times,
            };
            let windows: Vec<(u64, u64)> = (0..u64::from(times))
                .map(|k| from_ms + k * (down_ms + up_ms))
                .map(|start| (start, start + down_ms))
                .collect();
            // A random time, and every window's edges.
            let edges = windows.iter().flat_map(|(a, b)| [a.saturating_sub(1), *a, b - 1, *b]);
            for t in std::iter::once(t_ms).chain(edges) {
                let inside = windows.iter().any(|(a, b)| t >= *a && t < *b);
                prop_assert_eq!(s.fires(1, Duration::from_millis(t)), inside, "t = {} ms", t);
            }
        }

        /// The down phases of a flap add up to `times x down` of failing time.
        #[test]
        fn flap_is_down_for_times_down_in_total(
            down in 1u64..50, up in 1u64..50, times in 0u32..5,
        ) {
            let s = Schedule::Flap {
                from: Duration::ZERO,
                down: Duration::from_millis(down),
                up: Duration::from_millis(up),
                times,
            };
            let horizon = (down + up) * u64::from(times) + 100;
            let failing = (0..horizon).filter(|t| s.fires(1, Duration::from_millis(*t))).count() as u64;
            prop_assert_eq!(failing, down * u64::from(times));
        }

        #[test]
        fn probability_is_reproducible(p in 0.0f64..=1.0, seed in any::<u64>()) {
            let s = Schedule::Probability { p, seed };
            let a: Vec<bool> = (1..200).map(|n| s.fires(n, T0)).collect();
            let b: Vec<bool> = (1..200).map(|n| s.fires(n, T0)).collect();
            prop_assert_eq!(a, b);
        }

        #[test]
        fn probability_extremes(seed in any::<u64>(), attempt in 1u64..10_000) {
            let never = Schedule::Probability { p: 0.0, seed };
            let always = Schedule::Probability { p: 1.0, seed };
            prop_assert!(!never.fires(attempt, T0));
            prop_assert!(always.fires(attempt, T0));
        }

        /// A brute-force simulation of N attempts arriving 100 ms apart: each
        /// rule's schedule is written out as the set of attempts it names (from
        /// the schedule's definition, never through `fires`), the sets are painted
        /// onto the attempts last rule first so that earlier rules paint over
        /// later ones, and every attempt must meet the fault painted on it.
        #[test]
        fn first_firing_matches_a_brute_force_simulation_of_attempts(
            schedules in proptest::collection::vec((0u64..6, 0u64..8, 0u64..8), 1..6),
        ) {
            const N: u64 = 40;
            let step = Duration::from_millis(100);
            let rules: Vec<FaultRule> = schedules.iter().enumerate().map(|(i, (kind, a, b))| FaultRule {
                fault: Fault::new(FailureClass::ALL[i % FailureClass::ALL.len()]),
                schedule: match kind {
                    0 => Schedule::First(*a),
                    1 => Schedule::After(*a),
                    2 => Schedule::Every(*a),
                    3 => Schedule::Always,
                    4 => Schedule::Requests(vec![*a, a + b]),
                    _ => Schedule::Window { from: step * (*a as u32), to: step * ((a + b) as u32) },
                },
            }).collect();
            // Attempt k arrives k x 100 ms after the start.
            let named: Vec<std::collections::BTreeSet<u64>> = schedules.iter().map(|(kind, a, b)| match kind {
                0 => (1..=*a).collect(),
                1 => (a + 1..=N).collect(),
                2 if *a == 0 => Default::default(),
                2 => (1..=N / a).map(|m| m * a).collect(),
                3 => (1..=N).collect(),
                4 => [*a, a + b].into_iter().filter(|k| *k >= 1).collect(),
                _ => (*a..a + b).filter(|k| *k >= 1).collect(),
            }).collect();
            let mut painted = [None; N as usize + 1];
            for (i, set) in named.iter().enumerate().rev() {
                for k in set {
                    painted[*k as usize] = Some(i);
                }
            }
            for k in 1..=N {
                let met = first_firing(&rules, k, step * k as u32)
                    .map(|f| rules.iter().position(|r| std::ptr::eq(&r.fault, f)));
                prop_assert_eq!(met, painted[k as usize].map(Some), "attempt {}", k);
            }
        }
    }

    #[test]
    fn probability_rate_is_close_to_p() {
        let s = Schedule::Probability { p: 0.3, seed: 7 };
        let hits = (1..=10_000).filter(|n| s.fires(*n, T0)).count();
        assert!(
            (2700..=3300).contains(&hits),
            "{hits} hits of 10000 at p=0.3"
        );
    }
}
