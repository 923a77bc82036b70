//! A mock deployment as files and flags write it: the deployment, its faults,
//! their schedules and durations, shared by `crossfire mock` files and
//! scenarios, and their conversion into `mock_providers` types
//! (`DeploymentSpec`, `FaultRule`, `Schedule`).
//!
//! Serde types here mirror the file (unknown keys are errors); `into_*`
//! functions check what serde cannot and return domain types that cannot be
//! invalid, with errors that point at the offending line.

use crate::diag::{suggest, InputError, Source};
use mock_providers::{DeploymentSpec, Dialect, FailureClass, Fault, FaultRule, Schedule};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// A duration as files write it: `250ms`, `2s`, `1.5s`, `1m`, or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dur(pub Duration);

impl Dur {
    /// Parses `250ms`, `2s`, `1.5s`, `1m`, `1h` or a bare number of seconds.
    pub fn parse(text: &str) -> Result<Dur, String> {
        let t = text.trim();
        let (number, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
            Some(i) => (&t[..i], &t[i..]),
            None => (t, "s"),
        };
        let value: f64 = number.trim().parse().map_err(|_| {
            format!("`{text}` is not a duration; write it like `250ms`, `2s`, `1.5s` or `1m`")
        })?;
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => {
                return Err(format!(
                    "`{other}` is not a duration unit in `{text}`; {}",
                    suggest(other, ["ms", "s", "m", "h"])
                ))
            }
        };
        if !value.is_finite() || value < 0.0 {
            return Err(format!("`{text}` must be a duration of zero or more"));
        }
        Dur::checked(value * scale, text)
    }

    /// The longest duration crossfire takes: a bounded test has no use for
    /// more, and a clock plus an absurd duration would overflow.
    pub const MAX: Duration = Duration::from_secs(7 * 24 * 3600);

    fn checked(secs: f64, text: &str) -> Result<Dur, String> {
        match Duration::try_from_secs_f64(secs) {
            Ok(d) if d <= Dur::MAX => Ok(Dur(d)),
            _ => Err(format!(
                "`{text}` is too long a duration; at most 168h (a week)"
            )),
        }
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mock_providers::fault::fmt_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like `250ms`, `2s` or `1.5s`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Dur, E> {
                Dur::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Dur, E> {
                Dur::checked(v as f64, &v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Dur, E> {
                Dur::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Dur, E> {
                Dur::parse(&v.to_string()).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Deserializes an enum written as a bare word (`always`) or a map with one
/// key (`{first: 3}`): serde_yaml 0.9 reads externally tagged enums only from
/// YAML tags, which nobody writes by hand.
pub(crate) struct OneKeyVisitor<T> {
    /// Words allowed alone.
    pub words: &'static [&'static str],
    /// Keys allowed in the map form.
    pub keys: &'static [&'static str],
    /// What the value is, for messages ("a schedule").
    pub what: &'static str,
    /// Builds a unit value from a word.
    pub from_word: fn(&str) -> Option<T>,
    /// Builds a value from a key and the value under it.
    pub from_key: fn(&str, serde_yaml::Value) -> Result<T, String>,
}

impl<'de, T> serde::de::Visitor<'de> for OneKeyVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let forms: Vec<String> = self
            .words
            .iter()
            .map(|w| format!("`{w}`"))
            .chain(self.keys.iter().map(|k| format!("`{{{k}: ...}}`")))
            .collect();
        write!(f, "{}: {}", self.what, forms.join(", "))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        if let Some(t) = (self.from_word)(v) {
            return Ok(t);
        }
        let all = self.words.iter().chain(self.keys.iter()).copied();
        let hint = suggest(v, all);
        if self.keys.contains(&v) {
            return Err(E::custom(format!(
                "`{v}` needs a value, as in `{{{v}: ...}}`"
            )));
        }
        Err(E::custom(format!("unknown {} `{v}`; {hint}", self.what)))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        use serde::de::Error;
        let Some(key) = map.next_key::<String>()? else {
            return Err(A::Error::custom(format!(
                "an empty map is not {}",
                self.what
            )));
        };
        if !self.keys.contains(&key.as_str()) {
            let all = self.keys.iter().chain(self.words.iter()).copied();
            return Err(A::Error::custom(format!(
                "unknown {} `{key}`; {}",
                self.what,
                suggest(&key, all)
            )));
        }
        let v: serde_yaml::Value = map.next_value()?;
        let value = (self.from_key)(&key, v).map_err(A::Error::custom)?;
        if let Some(extra) = map.next_key::<String>()? {
            return Err(A::Error::custom(format!(
                "{} has one key; `{extra}` is one too many",
                self.what
            )));
        }
        Ok(value)
    }
}

/// Reads a YAML value as `T`, with a message naming the key on mismatch.
pub(crate) fn value_as<T: serde::de::DeserializeOwned>(
    key: &str,
    v: serde_yaml::Value,
    expected: &str,
) -> Result<T, String> {
    serde_yaml::from_value(v).map_err(|e| {
        let detail = e.to_string();
        if detail.contains("invalid type") || detail.contains("invalid value") {
            format!("`{key}` takes {expected}")
        } else {
            format!("`{key}`: {detail}")
        }
    })
}

impl JsonSchema for Dur {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: `250ms`, `2s`, `1.5s`, `1m`, or a number of seconds.",
            "oneOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": "^\\s*[0-9.]+\\s*(ms|s|m|h)?\\s*$"}
            ]
        })
    }
}

/// A deployment as a file writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentFile {
    /// Unique id.
    pub id: String,
    /// The API it speaks.
    pub dialect: Dialect,
    /// Overrides the context window of every model served here.
    pub context_window: Option<u64>,
    /// Prompt tokens each answer reports as cached.
    pub cached_tokens: Option<u64>,
    /// Reasoning tokens each answer reports.
    pub reasoning_tokens: Option<u64>,
    /// Pause between stream events.
    pub event_interval: Option<Dur>,
}

/// A fault as a file writes it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    /// Where it applies: a deployment id (scenarios also take a provider).
    pub on: String,
    /// What goes wrong.
    pub fault: FailureClass,
    /// When; `always` when absent.
    #[serde(default)]
    pub schedule: Option<ScheduleFile>,
    /// `rate_limit`: the wait the provider asks for.
    pub retry_after: Option<Dur>,
    /// `timeout`: how long the answer is held back; `slow_first_token`: how
    /// long the first event is held back.
    pub delay: Option<Dur>,
    /// Stream faults: content events before the fault.
    pub after_events: Option<u32>,
    /// `probability` schedules: the seed of the draw (0 when absent).
    pub seed: Option<u64>,
}

/// A schedule as a file writes it: `always`, `{first: 3}`, `{window: [1s, 5s]}`...
#[derive(Debug, Clone)]
pub enum ScheduleFile {
    /// Every attempt.
    Always,
    /// The first N attempts.
    First(u64),
    /// Attempts after the first N.
    After(u64),
    /// Every Nth attempt.
    Every(u64),
    /// These attempt numbers (from 1).
    Requests(Vec<u64>),
    /// Attempts arriving between two times since start: `[from, to]`.
    Window(Vec<Dur>),
    /// One outage: `{from: 10s, for: 60s}`.
    Outage(OutageFile),
    /// A flapping provider: `{down: 20s, up: 20s, times: 3}`.
    Flap(FlapFile),
    /// Each attempt with this chance (0..=1), seeded by the fault's `seed`.
    Probability(f64),
}

/// An outage as a file writes it: `{from: 10s, for: 60s}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageFile {
    /// When it starts, since the mocks started; 0s when absent.
    pub from: Option<Dur>,
    /// How long it lasts.
    #[serde(rename = "for")]
    pub length: Dur,
}

/// A flap as a file writes it: `{down: 20s, up: 20s, times: 3}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlapFile {
    /// When the first down phase starts; 0s when absent.
    pub from: Option<Dur>,
    /// Length of each down phase (attempts fail).
    pub down: Dur,
    /// Length of each up phase (attempts are served).
    pub up: Dur,
    /// Number of down phases.
    pub times: u32,
}

impl JsonSchema for ScheduleFile {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Schedule".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let dur = generator.subschema_for::<Dur>();
        let count = schemars::json_schema!({"type": "integer", "minimum": 0});
        let one = |key: &str, value: schemars::Schema| {
            schemars::json_schema!({
                "type": "object", "additionalProperties": false, "required": [key],
                "properties": { key: value }
            })
        };
        schemars::json_schema!({
            "description": "On which attempts of a deployment the fault fires (attempt numbers from 1).",
            "oneOf": [
                {"const": "always"},
                one("first", count.clone()),
                one("after", count.clone()),
                one("every", schemars::json_schema!({"type": "integer", "minimum": 1})),
                one("requests", schemars::json_schema!({"type": "array", "items": {"type": "integer", "minimum": 1}})),
                one("window", schemars::json_schema!({"type": "array", "items": dur, "minItems": 2, "maxItems": 2})),
                one("outage", schemars::json_schema!({
                    "description": "One outage, in time since start: `{from: 10s, for: 60s}`.",
                    "type": "object", "additionalProperties": false, "required": ["for"],
                    "properties": {"from": dur, "for": dur}
                })),
                one("flap", schemars::json_schema!({
                    "description": "`times` rounds of `down` (attempts fail) then `up` (served), from `from`: `{down: 20s, up: 20s, times: 3}`.",
                    "type": "object", "additionalProperties": false, "required": ["down", "up", "times"],
                    "properties": {"from": dur, "down": dur, "up": dur, "times": {"type": "integer", "minimum": 1}}
                })),
                one("probability", schemars::json_schema!({"type": "number", "minimum": 0, "maximum": 1})),
            ]
        })
    }
}

impl<'de> Deserialize<'de> for ScheduleFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ScheduleFile, D::Error> {
        d.deserialize_any(OneKeyVisitor {
            words: &SCHEDULE_WORDS[..1],
            keys: &SCHEDULE_WORDS[1..],
            what: "schedule",
            from_word: |w| (w == "always").then_some(ScheduleFile::Always),
            from_key: |key, v| {
                let count = "a whole number, as in `{first: 3}`";
                Ok(match key {
                    "first" => ScheduleFile::First(value_as(key, v, count)?),
                    "after" => ScheduleFile::After(value_as(key, v, count)?),
                    "every" => ScheduleFile::Every(value_as(key, v, count)?),
                    "requests" => ScheduleFile::Requests(value_as(
                        key,
                        v,
                        "a list of attempt numbers, as in `{requests: [1, 3]}`",
                    )?),
                    "window" => ScheduleFile::Window(value_as(
                        key,
                        v,
                        "two times since start, as in `{window: [1s, 5s]}`",
                    )?),
                    "outage" => ScheduleFile::Outage(value_as(
                        key,
                        v,
                        "a start and a length, as in `{outage: {from: 10s, for: 60s}}`",
                    )?),
                    "flap" => ScheduleFile::Flap(value_as(
                        key,
                        v,
                        "down and up phases and a count, as in `{flap: {down: 20s, up: 20s, times: 3}}`",
                    )?),
                    _ => ScheduleFile::Probability(value_as(
                        key,
                        v,
                        "a chance between 0 and 1, as in `{probability: 0.3}`",
                    )?),
                })
            },
        })
    }
}

impl FaultFile {
    /// Checks parameters against the fault class and builds the rule;
    /// `path` is where this fault sits in `src` (`faults[2]`). A
    /// `probability` schedule without its own `seed` takes `default_seed`
    /// (a scenario's), else 0.
    pub fn to_rule(
        &self,
        src: &Source,
        path: &str,
        default_seed: Option<u64>,
    ) -> Result<FaultRule, InputError> {
        let class = self.fault;
        let mut fault = Fault::new(class);
        let param = |key: &str| {
            check_param(key, class).map_err(|m| src.error_at_key(&format!("{path}.{key}"), m))
        };
        if let Some(d) = self.retry_after {
            param("retry_after")?;
            fault = fault.retry_after(d.0);
        }
        if let Some(d) = self.delay {
            param("delay")?;
            fault = fault.delay(d.0);
        }
        if let Some(n) = self.after_events {
            param("after_events")?;
            fault = fault.after_events(n);
        }
        let schedule = match &self.schedule {
            None => Schedule::Always,
            Some(s) => {
                s.to_schedule(src, &format!("{path}.schedule"), self.seed.or(default_seed))?
            }
        };
        if self.seed.is_some() && !matches!(schedule, Schedule::Probability { .. }) {
            return Err(src.error_at_key(
                &format!("{path}.seed"),
                "`seed` only applies to a `probability` schedule",
            ));
        }
        Ok(FaultRule { fault, schedule })
    }
}

impl ScheduleFile {
    /// Checks ranges serde cannot and builds the schedule.
    pub fn to_schedule(
        &self,
        src: &Source,
        path: &str,
        seed: Option<u64>,
    ) -> Result<Schedule, InputError> {
        let (key, schedule) = match self {
            ScheduleFile::Always => ("always", Schedule::Always),
            ScheduleFile::First(n) => ("first", Schedule::First(*n)),
            ScheduleFile::After(n) => ("after", Schedule::After(*n)),
            ScheduleFile::Every(n) => ("every", Schedule::Every(*n)),
            ScheduleFile::Requests(list) => ("requests", Schedule::Requests(list.clone())),
            ScheduleFile::Window(bounds) => match bounds.as_slice() {
                [from, to] => (
                    "window",
                    Schedule::Window {
                        from: from.0,
                        to: to.0,
                    },
                ),
                _ => {
                    return Err(src.error_at(
                        &format!("{path}.window"),
                        "a window is two times since start, as in `window: [1s, 5s]`",
                    ))
                }
            },
            ScheduleFile::Outage(o) => (
                "outage",
                Schedule::Outage {
                    from: o.from.map_or(Duration::ZERO, |d| d.0),
                    length: o.length.0,
                },
            ),
            ScheduleFile::Flap(f) => (
                "flap",
                Schedule::Flap {
                    from: f.from.map_or(Duration::ZERO, |d| d.0),
                    down: f.down.0,
                    up: f.up.0,
                    times: f.times,
                },
            ),
            ScheduleFile::Probability(p) => (
                "probability",
                Schedule::Probability {
                    p: *p,
                    seed: seed.unwrap_or(0),
                },
            ),
        };
        checked(schedule).map_err(|bad| {
            let at = match bad.field {
                Some(field) => format!("{path}.{key}.{field}"),
                None => format!("{path}.{key}"),
            };
            src.error_at(&at, bad.message)
        })
    }
}

/// A schedule out of range: what is wrong, and the field of a
/// several-field schedule (`outage`, `flap`) it is about.
#[derive(Debug)]
struct BadSchedule {
    field: Option<&'static str>,
    message: String,
}

impl From<String> for BadSchedule {
    fn from(message: String) -> BadSchedule {
        BadSchedule {
            field: None,
            message,
        }
    }
}

/// Checks the ranges a schedule's types allow but a schedule cannot have;
/// shared by the file and flag forms, whose callers say where.
fn checked(schedule: Schedule) -> Result<Schedule, BadSchedule> {
    let field = |field, message: String| {
        Err(BadSchedule {
            field: Some(field),
            message,
        })
    };
    match &schedule {
        Schedule::Outage { length, .. } if length.is_zero() => field(
            "for",
            "an outage lasting 0s never fires; give `for` a length, as in `outage: {from: 10s, for: 60s}` (flag: `outage:from=10s,for=60s`)".into(),
        ),
        Schedule::Flap { down, .. } if down.is_zero() => field(
            "down",
            "a flap whose down phase lasts 0s never fires; give `down` a length, as in `flap: {down: 20s, up: 20s, times: 3}` (flag: `flap:down=20s,up=20s,times=3`)".into(),
        ),
        Schedule::Flap { up, .. } if up.is_zero() => field(
            "up",
            "a flap whose up phase lasts 0s is one long outage; give `up` a length, or write an outage (`outage: {from: 10s, for: 60s}`, flag: `outage:from=10s,for=60s`)".into(),
        ),
        Schedule::Flap { times: 0, .. } => field(
            "times",
            "a flap of 0 rounds never fires; `times` counts the down phases from 1, as in `flap: {down: 20s, up: 20s, times: 3}` (flag: `times=3`)".into(),
        ),
        _ => checked_simple(schedule).map_err(BadSchedule::from),
    }
}

/// The checks of the one-value schedules.
fn checked_simple(schedule: Schedule) -> Result<Schedule, String> {
    match &schedule {
        Schedule::Every(0) => {
            Err("`every` needs a number of 1 or more (1 fails every attempt)".into())
        }
        Schedule::Requests(list) if list.contains(&0) => {
            Err("attempt numbers start at 1; `0` never happens".into())
        }
        Schedule::Window { from, to } if from >= to => Err(format!(
            "the window's start ({}) must come before its end ({})",
            mock_providers::fault::fmt_duration(*from),
            mock_providers::fault::fmt_duration(*to)
        )),
        Schedule::Probability { p, .. } if !(0.0..=1.0).contains(p) => Err(format!(
            "probability `{p}` is outside 0..1; write a chance such as `0.3`"
        )),
        _ => Ok(schedule),
    }
}

/// Fault parameters and the faults each applies to.
const PARAMS: [(&str, &[FailureClass]); 3] = [
    ("retry_after", &[FailureClass::RateLimit]),
    (
        "delay",
        &[FailureClass::Timeout, FailureClass::SlowFirstToken],
    ),
    (
        "after_events",
        &[
            FailureClass::StreamCut,
            FailureClass::StreamError,
            FailureClass::Stall,
            FailureClass::Malformed,
            FailureClass::MalformedEvent,
        ],
    ),
];

/// Checks that parameter `key` (not `seed`, which every fault takes)
/// applies to a `class` fault.
fn check_param(key: &str, class: FailureClass) -> Result<(), String> {
    let Some((_, classes)) = PARAMS.iter().find(|(k, _)| *k == key) else {
        let all = PARAMS.iter().map(|(k, _)| *k).chain(["seed"]);
        return Err(format!(
            "`{key}` is not a fault parameter; {}",
            suggest(key, all)
        ));
    };
    if classes.contains(&class) {
        return Ok(());
    }
    let names: Vec<String> = classes.iter().map(|c| format!("`{c}`")).collect();
    let allowed = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    };
    Err(format!(
        "`{key}` does not apply to fault `{class}`; it applies to {allowed}"
    ))
}

impl DeploymentFile {
    /// The deployment spec this entry describes (faults are added separately).
    pub fn to_spec(&self) -> DeploymentSpec {
        let mut spec = DeploymentSpec::new(self.id.clone(), self.dialect);
        spec.context_window = self.context_window;
        spec.cached_tokens = self.cached_tokens.unwrap_or(0);
        spec.reasoning_tokens = self.reasoning_tokens;
        if let Some(i) = self.event_interval {
            spec.event_interval = i.0;
        }
        spec
    }
}

/// Checks a new deployment id against the ids `seen` before it. An id is a
/// word without `/`: it is part of template variable names
/// (`{{ deployments.<id>.base_url }}`), and a fault's `on` in a scenario
/// reads `provider/model` at a `/`.
pub fn check_id<'a>(id: &str, seen: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    if id.is_empty() || id.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err("a deployment id must be a non-empty word without spaces or `/`".into());
    }
    if seen.into_iter().any(|s| s == id) {
        return Err(format!(
            "deployment id `{id}` is used twice; every deployment needs its own id"
        ));
    }
    Ok(())
}

/// Parses a flag fault: `FAULT[(key=value,...)][@SCHEDULE]`, e.g.
/// `rate_limit(retry_after=2s)@first:3` or `stream_cut(after_events=1)`.
pub fn parse_fault_flag(text: &str) -> Result<FaultRule, String> {
    let (fault_part, schedule_part) = match text.split_once('@') {
        Some((f, s)) => (f, Some(s)),
        None => (text, None),
    };
    let (name, params) = match fault_part.split_once('(') {
        Some((name, rest)) => {
            let inner = rest.strip_suffix(')').ok_or_else(|| {
                format!("`{fault_part}` opens `(` without closing it; write `fault(key=value)`")
            })?;
            (name, Some(inner))
        }
        None => (fault_part, None),
    };
    let class = FailureClass::from_name(name).ok_or_else(|| {
        format!(
            "unknown fault `{name}`; {}",
            suggest(name, FailureClass::ALL.iter().map(|c| c.name()))
        )
    })?;
    let mut fault = Fault::new(class);
    let mut seed = None;
    for kv in params
        .into_iter()
        .flat_map(|p| p.split(','))
        .filter(|s| !s.is_empty())
    {
        let (key, value) = kv
            .split_once('=')
            .ok_or_else(|| format!("`{kv}` is not `key=value`"))?;
        let key = key.trim();
        if key != "seed" {
            check_param(key, class)?;
        }
        match key {
            "seed" => {
                seed = Some(
                    value
                        .parse()
                        .map_err(|_| format!("seed `{value}` is not a whole number"))?,
                )
            }
            "retry_after" => fault = fault.retry_after(Dur::parse(value)?.0),
            "delay" => fault = fault.delay(Dur::parse(value)?.0),
            // `after_events`, the only other key `check_param` lets through.
            _ => {
                fault = fault.after_events(
                    value
                        .parse()
                        .map_err(|_| format!("after_events `{value}` is not a whole number"))?,
                )
            }
        }
    }
    let schedule = match schedule_part {
        None => Schedule::Always,
        Some(s) => parse_schedule_flag(s, seed)?,
    };
    if seed.is_some() && !matches!(schedule, Schedule::Probability { .. }) {
        return Err(
            "`seed` only applies to a `probability` schedule, as in `server_error(seed=7)@probability:0.3`"
                .into(),
        );
    }
    Ok(FaultRule { fault, schedule })
}

/// Schedule words: `always` alone, the others with a number or list.
static SCHEDULE_WORDS: [&str; 9] = [
    "always",
    "first",
    "after",
    "every",
    "requests",
    "window",
    "outage",
    "flap",
    "probability",
];

/// Parses a flag schedule: `always`, `first:N`, `after:N`, `every:N`,
/// `requests:1,3,5`, `window:1s..5s`, `outage:from=10s,for=60s`,
/// `flap:down=20s,up=20s,times=3[,from=5s]`, `probability:0.3`.
pub fn parse_schedule_flag(text: &str, seed: Option<u64>) -> Result<Schedule, String> {
    let (kind, arg) = match text.split_once(':') {
        Some((k, a)) => (k, Some(a)),
        None => (text, None),
    };
    let number = |a: Option<&str>| -> Result<u64, String> {
        let a = a.ok_or_else(|| format!("`{kind}` needs a number, as in `{kind}:3`"))?;
        a.parse()
            .map_err(|_| format!("`{a}` is not a whole number in `{text}`"))
    };
    let schedule = match kind {
        "always" if arg.is_none() => Schedule::Always,
        "always" => {
            return Err(format!(
                "`always` takes no argument; write `always`, not `{text}`"
            ))
        }
        "first" => Schedule::First(number(arg)?),
        "after" => Schedule::After(number(arg)?),
        "every" => Schedule::Every(number(arg)?),
        "requests" => {
            let list = arg.ok_or("`requests` needs attempt numbers, as in `requests:1,3`")?;
            let parsed: Result<Vec<u64>, _> =
                list.split(',').map(|n| n.trim().parse::<u64>()).collect();
            Schedule::Requests(
                parsed.map_err(|_| format!("`{list}` is not a list of whole numbers"))?,
            )
        }
        "window" => {
            let a = arg.ok_or("`window` needs two times, as in `window:1s..5s`")?;
            let (from, to) = a
                .split_once("..")
                .ok_or_else(|| format!("`{a}` is not `FROM..TO`, as in `window:1s..5s`"))?;
            Schedule::Window {
                from: Dur::parse(from)?.0,
                to: Dur::parse(to)?.0,
            }
        }
        "outage" => {
            let example = "as in `outage:from=10s,for=60s`";
            let a = arg.ok_or_else(|| format!("`outage` needs a length, {example}"))?;
            let mut fields = flag_fields(a, &["from", "for"], example)?;
            Schedule::Outage {
                from: fields.dur("from")?.unwrap_or(Duration::ZERO),
                length: fields
                    .dur("for")?
                    .ok_or_else(|| format!("`outage` needs `for=`, {example}"))?,
            }
        }
        "flap" => {
            let example = "as in `flap:down=20s,up=20s,times=3`";
            let a = arg.ok_or_else(|| format!("`flap` needs its phases, {example}"))?;
            let mut fields = flag_fields(a, &["down", "up", "times", "from"], example)?;
            let need = |what: &str| format!("`flap` needs `{what}=`, {example}");
            Schedule::Flap {
                from: fields.dur("from")?.unwrap_or(Duration::ZERO),
                down: fields.dur("down")?.ok_or_else(|| need("down"))?,
                up: fields.dur("up")?.ok_or_else(|| need("up"))?,
                times: match fields.take("times") {
                    None => return Err(need("times")),
                    Some(t) => t
                        .parse()
                        .map_err(|_| format!("`times={t}` is not a whole number, {example}"))?,
                },
            }
        }
        "probability" => {
            let a = arg.ok_or("`probability` needs a chance, as in `probability:0.3`")?;
            Schedule::Probability {
                p: a.parse().map_err(|_| format!("`{a}` is not a number"))?,
                seed: seed.unwrap_or(0),
            }
        }
        other => {
            return Err(format!(
                "unknown schedule `{other}`; {}",
                suggest(other, SCHEDULE_WORDS)
            ))
        }
    };
    checked(schedule).map_err(|bad| bad.message)
}

/// The `key=value` fields of a flag schedule (`outage:from=10s,for=60s`).
struct FlagFields<'a> {
    fields: Vec<(&'a str, &'a str)>,
}

impl<'a> FlagFields<'a> {
    fn take(&mut self, key: &str) -> Option<&'a str> {
        let i = self.fields.iter().position(|(k, _)| *k == key)?;
        Some(self.fields.remove(i).1)
    }

    fn dur(&mut self, key: &str) -> Result<Option<Duration>, String> {
        self.take(key)
            .map(|v| Dur::parse(v).map(|d| d.0))
            .transpose()
    }
}

/// Splits `a=1s,b=2` into fields, refusing unknown and repeated keys.
fn flag_fields<'a>(
    text: &'a str,
    keys: &[&'static str],
    example: &str,
) -> Result<FlagFields<'a>, String> {
    let mut fields: Vec<(&str, &str)> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}` is not `key=value`, {example}"))?;
        let key = key.trim();
        if !keys.contains(&key) {
            return Err(format!(
                "`{key}` is not a field here; {}",
                suggest(key, keys.iter().copied())
            ));
        }
        if fields.iter().any(|(k, _)| *k == key) {
            return Err(format!("`{key}` is given twice in `{text}`"));
        }
        fields.push((key, value.trim()));
    }
    Ok(FlagFields { fields })
}

/// Parses a dialect name from a flag, with a suggestion when it is misspelt.
pub fn parse_dialect(name: &str) -> Result<Dialect, String> {
    Dialect::from_name(name).ok_or_else(|| {
        format!(
            "unknown dialect `{name}`; {}",
            suggest(name, Dialect::ALL.iter().map(|d| d.name()))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(Dur::parse("250ms").unwrap().0, Duration::from_millis(250));
        assert_eq!(Dur::parse("1.5s").unwrap().0, Duration::from_millis(1500));
        assert_eq!(Dur::parse("2").unwrap().0, Duration::from_secs(2));
        assert_eq!(Dur::parse("1m").unwrap().0, Duration::from_secs(60));
        assert!(Dur::parse("2 sec")
            .unwrap_err()
            .starts_with("`sec` is not a duration unit"));
        for absurd in [
            "1000000000000000000000000000000",
            "600000000000000000h",
            "169h",
        ] {
            assert_eq!(
                Dur::parse(absurd).unwrap_err(),
                format!("`{absurd}` is too long a duration; at most 168h (a week)")
            );
        }
        assert_eq!(Dur::parse("168h").unwrap().0, Dur::MAX);
        // A YAML float arrives as a number, not text.
        let from_yaml: Result<Dur, _> = serde_yaml::from_str("1e30");
        assert!(from_yaml
            .unwrap_err()
            .to_string()
            .contains("is too long a duration"));
    }

    #[test]
    fn fault_flags() {
        let r = parse_fault_flag("rate_limit(retry_after=2s)@first:3").unwrap();
        assert_eq!(r.fault.retry_after, Duration::from_secs(2));
        assert_eq!(r.schedule, Schedule::First(3));
        let r = parse_fault_flag("stream_cut(after_events=1)").unwrap();
        assert_eq!((r.fault.after_events, r.schedule), (1, Schedule::Always));
        assert_eq!(
            parse_fault_flag("server_error@probability:0.25(seed=1)").unwrap_err(),
            "`0.25(seed=1)` is not a number"
        );
        assert_eq!(
            parse_fault_flag("rate_limit(seed=1)@first:3").unwrap_err(),
            "`seed` only applies to a `probability` schedule, as in `server_error(seed=7)@probability:0.3`"
        );
        assert_eq!(
            parse_fault_flag("server_error@always:3").unwrap_err(),
            "`always` takes no argument; write `always`, not `always:3`"
        );
        let r = parse_fault_flag("server_error(seed=9)@probability:0.25").unwrap();
        assert_eq!(r.schedule, Schedule::Probability { p: 0.25, seed: 9 });
        assert_eq!(
            parse_fault_flag("rate_limt").unwrap_err(),
            "unknown fault `rate_limt`; did you mean `rate_limit`?"
        );
        assert_eq!(
            parse_fault_flag("timeout(retry_after=1s)").unwrap_err(),
            "`retry_after` does not apply to fault `timeout`; it applies to `rate_limit`"
        );
        assert_eq!(
            parse_fault_flag("rate_limit@frist:2").unwrap_err(),
            "unknown schedule `frist`; did you mean `first`?"
        );
        assert_eq!(
            parse_schedule_flag("window:1s..5s", None).unwrap(),
            Schedule::Window {
                from: Duration::from_secs(1),
                to: Duration::from_secs(5)
            }
        );
        assert_eq!(
            parse_schedule_flag("requests:1,4", None).unwrap(),
            Schedule::Requests(vec![1, 4])
        );
    }

    /// The flag and file forms once checked schedule ranges apart, with
    /// different words; both now share `checked`.
    #[test]
    fn flag_schedules_get_the_file_range_checks() {
        for (flag, message) in [
            (
                "every:0",
                "`every` needs a number of 1 or more (1 fails every attempt)",
            ),
            (
                "requests:1,0",
                "attempt numbers start at 1; `0` never happens",
            ),
            (
                "window:5s..1s",
                "the window's start (5s) must come before its end (1s)",
            ),
            (
                "probability:1.5",
                "probability `1.5` is outside 0..1; write a chance such as `0.3`",
            ),
        ] {
            assert_eq!(parse_schedule_flag(flag, None).unwrap_err(), message);
        }
        assert_eq!(
            parse_fault_flag("timeout(after_events=1)").unwrap_err(),
            "`after_events` does not apply to fault `timeout`; it applies to `stream_cut`, `stream_error`, `stall`, `malformed` and `malformed_event`"
        );
        assert_eq!(
            parse_fault_flag("timeout(dely=1s)").unwrap_err(),
            "`dely` is not a fault parameter; did you mean `delay`?"
        );
    }

    /// The rule of the one fault in `text`, written as a `faults:` list item.
    fn file_rule(text: &str) -> Result<FaultRule, String> {
        #[derive(Deserialize)]
        struct Faults {
            faults: Vec<FaultFile>,
        }
        let item = text.trim_end().replace('\n', "\n    ");
        let src = Source::from_text(
            std::path::Path::new("mock.yaml"),
            format!("faults:\n  - {item}\n"),
        );
        let file: Faults = src.parse().map_err(|e| e.to_string())?;
        file.faults[0]
            .to_rule(&src, "faults[0]", None)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn outage_and_flap_are_read_from_files_and_flags_alike() {
        let outage = Schedule::Outage {
            from: Duration::from_secs(10),
            length: Duration::from_secs(60),
        };
        let rule = file_rule("on: a\nfault: hang\nschedule: {outage: {from: 10s, for: 60s}}\n");
        assert_eq!(rule.unwrap().schedule, outage);
        assert_eq!(
            parse_schedule_flag("outage:from=10s,for=60s", None).unwrap(),
            outage
        );
        assert_eq!(
            parse_schedule_flag(&outage.to_string(), None).unwrap(),
            outage,
            "the display form reads back"
        );
        let flap = Schedule::Flap {
            from: Duration::ZERO,
            down: Duration::from_secs(20),
            up: Duration::from_secs(20),
            times: 3,
        };
        let rule = file_rule(
            "on: a\nfault: server_error\nschedule:\n  flap: {down: 20s, up: 20s, times: 3}\n",
        );
        assert_eq!(rule.unwrap().schedule, flap);
        assert_eq!(
            parse_schedule_flag("flap:down=20s,up=20s,times=3", None).unwrap(),
            flap
        );
        let late = parse_schedule_flag("flap:from=5s,down=20s,up=20s,times=3", None).unwrap();
        assert_eq!(
            parse_schedule_flag(&late.to_string(), None).unwrap(),
            late,
            "the display form reads back"
        );
        let r = parse_fault_flag("slow_first_token(delay=2s)@outage:for=1m").unwrap();
        assert_eq!(r.fault.delay, Duration::from_secs(2));
        assert_eq!(
            r.schedule,
            Schedule::Outage {
                from: Duration::ZERO,
                length: Duration::from_secs(60)
            }
        );
    }

    /// Bad outage and flap values, in files and flags: each message says
    /// where (file:line:col), what is wrong and what would be right.
    #[test]
    fn bad_outage_and_flap_values_are_located_and_explained() {
        let files = [
            "on: a\nfault: hang\nschedule: {outage: {from: 10s, for: 0s}}\n",
            "on: a\nfault: hang\nschedule: {outage: {from: 10s}}\n",
            "on: a\nfault: hang\nschedule: {outage: {from: 10s, fro: 60s}}\n",
            "on: a\nfault: hang\nschedule: {outage: [10s, 60s]}\n",
            "on: a\nfault: hang\nschedule: {outage: {for: 10 parsecs}}\n",
            "on: a\nfault: hang\nschedule:\n  flap:\n    down: 20s\n    up: 20s\n    times: 0\n",
            "on: a\nfault: hang\nschedule:\n  flap:\n    down: 0s\n    up: 20s\n    times: 2\n",
            "on: a\nfault: hang\nschedule:\n  flap:\n    down: 20s\n    up: 0s\n    times: 2\n",
            "on: a\nfault: hang\nschedule:\n  flap: {down: 20s, times: 2}\n",
            "on: a\nfault: hang\nschedule:\n  flap: {down: 20s, up: 20s, times: -1}\n",
            "on: a\nfault: hang\nschedule: {flop: {down: 20s, up: 20s, times: 3}}\n",
            "on: a\nfault: hang\ndelay: 2s\n",
            "on: a\nfault: hnag\n",
        ];
        let flags = [
            "hang@outage",
            "hang@outage:from=10s",
            "hang@outage:from=10s,for=0s",
            "hang@outage:10s,60s",
            "hang@outage:from=1s,fro=2s",
            "hang@outage:for=1s,for=2s",
            "hang@flap:down=20s,up=20s",
            "hang@flap:down=20s,up=20s,times=x",
            "hang@flap:down=20s,up=0s,times=2",
            "hang@flap:down=20s,up=20s,times=0",
            "hang@flop:down=20s",
            "malformed_event(delay=1s)",
        ];
        let mut shown = Vec::new();
        for text in files {
            let message = match file_rule(text) {
                Ok(rule) => panic!("accepted {text:?} as {rule:?}"),
                Err(e) => e,
            };
            let item = text.trim_end().replace('\n', "\n    ");
            shown.push(format!("faults:\n  - {item}\n  -> {message}"));
        }
        for flag in flags {
            let message = match parse_fault_flag(flag) {
                Ok(rule) => panic!("accepted {flag:?} as {rule:?}"),
                Err(e) => e,
            };
            shown.push(format!("--fault a={flag}\n  -> {message}"));
        }
        insta::assert_snapshot!(shown.join("\n\n"));
    }

    #[test]
    fn a_fault_without_a_seed_takes_the_default_one() {
        let src = Source::from_text(std::path::Path::new("f.yaml"), String::new());
        let rule = |text: &str, default| {
            let f: FaultFile = serde_yaml::from_str(text).unwrap();
            f.to_rule(&src, "faults[0]", default).unwrap().schedule
        };
        let p = "on: a\nfault: server_error\nschedule: {probability: 0.5}\n";
        assert_eq!(rule(p, Some(7)), Schedule::Probability { p: 0.5, seed: 7 });
        assert_eq!(rule(p, None), Schedule::Probability { p: 0.5, seed: 0 });
        let own = format!("{p}seed: 3\n");
        assert_eq!(
            rule(&own, Some(7)),
            Schedule::Probability { p: 0.5, seed: 3 }
        );
    }
}
