//! LiteLLM's YAML, read and written the way LiteLLM reads it.
//!
//! The LiteLLM proxy loads its config with PyYAML's `yaml.safe_load` (PyYAML
//! 6, YAML 1.1 rules), not with YAML 1.2: an unquoted `2024-10-21` is a date,
//! `on`/`yes`/`off` are booleans, `017` is octal 15, `1e3` is a string, `1:30`
//! is 90, and `<<` merges mappings. serde_yaml follows other rules, so a config
//! read by serde_yaml and written back changes meaning (a quoted
//! `api_version: "2024-10-21"` came back unquoted, a date to LiteLLM).
//!
//! [`load`] resolves every scalar as PyYAML's SafeLoader does (aliases
//! expanded, merge keys applied); a date or time is kept as a
//! [`TIMESTAMP_TAG`]-tagged string. [`emit`] writes a value so that PyYAML
//! reads it back as the same value: strings that PyYAML would resolve to
//! anything else are quoted, floats keep a form PyYAML reads as a float.

use crate::diag::{InputError, Location};
use regex::Regex;
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Number, Value};
use std::path::Path;
use std::sync::LazyLock;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The tag of a value PyYAML reads as a `datetime.date` or `datetime.datetime`.
pub const TIMESTAMP_TAG: &str = "!!timestamp";

static BOOL: LazyLock<Regex> = LazyLock::new(|| {
    re("^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
});
static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    )
});
static INT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
    )
});
static NULL: LazyLock<Regex> = LazyLock::new(|| re("^(?:~|null|Null|NULL|)$"));
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
    )
});
/// A string written plain (unquoted) when it also resolves to a string.
static PLAIN_SAFE: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z_/][A-Za-z0-9_./-]*$"));

fn re(pattern: &str) -> Regex {
    // The patterns are constants; a bad one is a bug caught by every test.
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad built-in pattern {pattern}: {e}"))
}

/// What a plain (unquoted, untagged) scalar means to PyYAML's SafeLoader.
/// `Err` when PyYAML itself would refuse it.
pub fn resolve_plain(text: &str) -> Result<Value, String> {
    if BOOL.is_match(text) {
        return Ok(Value::Bool(construct_bool(text)));
    }
    if FLOAT.is_match(text) {
        return construct_float(text);
    }
    if INT.is_match(text) {
        return construct_int(text);
    }
    if NULL.is_match(text) {
        return Ok(Value::Null);
    }
    if TIMESTAMP.is_match(text) {
        return Ok(timestamp(text));
    }
    if text == "=" {
        return Err(
            "a plain `=` is YAML 1.1's value tag, which LiteLLM's loader refuses; quote it".into(),
        );
    }
    Ok(Value::String(text.to_string()))
}

fn construct_bool(text: &str) -> bool {
    matches!(text.to_ascii_lowercase().as_str(), "yes" | "true" | "on")
}

fn timestamp(text: &str) -> Value {
    Value::Tagged(Box::new(TaggedValue {
        tag: Tag::new(TIMESTAMP_TAG),
        value: Value::String(text.to_string()),
    }))
}

/// The sign and the rest of a number's text, `_` removed.
fn signed(text: &str) -> (bool, String) {
    let v: String = text.chars().filter(|c| *c != '_').collect();
    match v.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, v.strip_prefix('+').unwrap_or(&v).to_string()),
    }
}

fn construct_int(text: &str) -> Result<Value, String> {
    let (negative, v) = signed(text);
    let too_big = || format!("`{text}` is an integer crossfire cannot hold (over 64 bits)");
    let bad = || format!("`{text}` is not an integer LiteLLM's loader can read");
    let magnitude: u128 = if v == "0" {
        0
    } else if let Some(bin) = v.strip_prefix("0b") {
        u128::from_str_radix(bin, 2).map_err(|_| bad())?
    } else if let Some(hex) = v.strip_prefix("0x") {
        u128::from_str_radix(hex, 16).map_err(|_| bad())?
    } else if v.starts_with('0') {
        u128::from_str_radix(&v, 8).map_err(|_| bad())?
    } else if v.contains(':') {
        let mut total: u128 = 0;
        for part in v.split(':') {
            let d: u128 = part.parse().map_err(|_| bad())?;
            total = total
                .checked_mul(60)
                .and_then(|t| t.checked_add(d))
                .ok_or_else(too_big)?;
        }
        total
    } else {
        v.parse().map_err(|_| too_big())?
    };
    if negative {
        let n = i64::try_from(magnitude).map(|m| -m).or_else(|_| {
            if magnitude == 1u128 << 63 {
                Ok(i64::MIN)
            } else {
                Err(too_big())
            }
        })?;
        Ok(Value::Number(Number::from(n)))
    } else {
        let n = u64::try_from(magnitude).map_err(|_| too_big())?;
        Ok(Value::Number(Number::from(n)))
    }
}

fn construct_float(text: &str) -> Result<Value, String> {
    let (negative, v) = signed(text);
    let v = v.to_ascii_lowercase();
    let sign = if negative { -1.0 } else { 1.0 };
    let bad = || format!("`{text}` is not a number LiteLLM's loader can read");
    let x = if v == ".inf" {
        f64::INFINITY
    } else if v == ".nan" {
        f64::NAN
    } else if v.contains(':') {
        let mut total = 0.0;
        for part in v.split(':') {
            total = total * 60.0 + python_float(part).ok_or_else(bad)?;
        }
        total
    } else {
        python_float(&v).ok_or_else(bad)?
    };
    Ok(Value::Number(Number::from(sign * x)))
}

/// Python's `float()` of the forms the float pattern admits (`1.`, `.5`, `1.e+3`).
fn python_float(s: &str) -> Option<f64> {
    let (mantissa, exp) = match s.find('e') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let mut m = mantissa.to_string();
    if m.ends_with('.') {
        m.push('0');
    }
    if m.starts_with('.') {
        m.insert(0, '0');
    }
    format!("{m}{exp}").parse().ok()
}

/// A standard tag's short name (`str` for `!!str`), or the tag as written.
fn tag_name(tag: &yaml_rust2::parser::Tag) -> String {
    if tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:" {
        tag.suffix.clone()
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

/// A tagged scalar, as PyYAML's SafeLoader constructs it.
fn tagged_scalar(text: &str, tag: &str) -> Result<Value, String> {
    match tag {
        "str" => Ok(Value::String(text.to_string())),
        "null" => Ok(Value::Null),
        "bool" => match text.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" => Ok(Value::Bool(true)),
            "no" | "false" | "off" => Ok(Value::Bool(false)),
            _ => Err(format!("`!!bool {text}` is not a boolean LiteLLM's loader can read")),
        },
        "int" => construct_int(text),
        "float" => construct_float(text),
        "timestamp" if TIMESTAMP.is_match(text) => Ok(timestamp(text)),
        "!" => Ok(Value::String(text.to_string())),
        other => Err(format!(
            "the tag `{other}` is not one crossfire reads the way LiteLLM's loader (yaml.safe_load) does"
        )),
    }
}

struct Events(Vec<(Event, Marker)>);

impl MarkedEventReceiver for Events {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        self.0.push((ev, mark));
    }
}

/// The most nodes a config may hold once its aliases are expanded. PyYAML
/// shares an aliased node; crossfire copies it, so a few lines of nested
/// aliases ("billion laughs") would otherwise take gigabytes.
pub const MAX_EXPANDED_NODES: u64 = 1_000_000;

struct Builder<'a> {
    events: std::vec::IntoIter<(Event, Marker)>,
    /// Each anchor's value and its node count.
    anchors: std::collections::HashMap<usize, (Value, u64)>,
    /// Nodes built so far, aliases counted at their full size.
    nodes: u64,
    file: &'a Path,
}

impl Builder<'_> {
    fn error(&self, mark: Marker, message: impl Into<String>) -> InputError {
        InputError::At {
            location: Location {
                file: self.file.to_path_buf(),
                line: mark.line(),
                column: mark.col() + 1,
            },
            message: message.into(),
        }
    }

    fn next(&mut self) -> Result<(Event, Marker), InputError> {
        self.events
            .next()
            .ok_or_else(|| InputError::file(self.file, "the YAML ends in the middle of a node"))
    }

    fn keep(&mut self, anchor: usize, v: &Value, since: u64) {
        if anchor > 0 {
            self.anchors.insert(anchor, (v.clone(), self.nodes - since));
        }
    }

    /// Counts `n` more nodes, refusing a document past [`MAX_EXPANDED_NODES`].
    fn count(&mut self, n: u64, mark: Marker) -> Result<(), InputError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_EXPANDED_NODES {
            return Err(self.error(
                mark,
                format!("with its aliases expanded the file holds more than {MAX_EXPANDED_NODES} values; crossfire reads configs up to that (are aliases nested inside aliases?)"),
            ));
        }
        Ok(())
    }

    /// The node that starts with `first`.
    fn node(&mut self, first: (Event, Marker)) -> Result<Value, InputError> {
        let (ev, mark) = first;
        let since = self.nodes;
        match ev {
            Event::Alias(id) => {
                let (v, size) = self
                    .anchors
                    .get(&id)
                    .ok_or_else(|| self.error(mark, "an alias to an unknown anchor"))?;
                let (v, size) = (v.clone(), *size);
                self.count(size, mark)?;
                Ok(v)
            }
            Event::Scalar(text, style, anchor, tag) => {
                let v = match (&tag, style) {
                    (Some(t), _) => tagged_scalar(&text, &tag_name(t)),
                    (None, TScalarStyle::Plain) => resolve_plain(&text),
                    (None, _) => Ok(Value::String(text)),
                }
                .map_err(|m| self.error(mark, m))?;
                self.count(1, mark)?;
                self.keep(anchor, &v, since);
                Ok(v)
            }
            Event::SequenceStart(anchor, tag) => {
                if let Some(t) = tag.as_ref().map(tag_name).filter(|t| t != "seq") {
                    return Err(self.error(
                        mark,
                        format!("the tag `{t}` on a list is not one crossfire reads"),
                    ));
                }
                self.count(1, mark)?;
                let mut list = Vec::new();
                loop {
                    let next = self.next()?;
                    if matches!(next.0, Event::SequenceEnd) {
                        break;
                    }
                    list.push(self.node(next)?);
                }
                let v = Value::Sequence(list);
                self.keep(anchor, &v, since);
                Ok(v)
            }
            Event::MappingStart(anchor, tag) => {
                if let Some(t) = tag.as_ref().map(tag_name).filter(|t| t != "map") {
                    return Err(self.error(
                        mark,
                        format!("the tag `{t}` on a mapping is not one crossfire reads"),
                    ));
                }
                self.count(1, mark)?;
                let v = self.mapping(mark)?;
                self.keep(anchor, &v, since);
                Ok(v)
            }
            _ => Err(self.error(mark, "unexpected YAML event")),
        }
    }

    /// A mapping's pairs, merge keys applied as PyYAML's `flatten_mapping`
    /// does: merged pairs first (of `[*a, *b]`, `a` wins), explicit pairs win.
    fn mapping(&mut self, start: Marker) -> Result<Value, InputError> {
        let mut merged: Vec<Mapping> = Vec::new();
        let mut explicit: Vec<(Value, Value)> = Vec::new();
        loop {
            let (ev, mark) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                break;
            }
            let is_merge = match &ev {
                Event::Scalar(t, TScalarStyle::Plain, _, None) => t == "<<",
                Event::Scalar(_, _, _, Some(tag)) => tag_name(tag) == "merge",
                _ => false,
            };
            let key = self.node((ev, mark))?;
            let value_start = self.next()?;
            let value_mark = value_start.1;
            let value = self.node(value_start)?;
            if is_merge {
                match value {
                    Value::Mapping(m) => merged.push(m),
                    Value::Sequence(list) => {
                        let mut maps = Vec::new();
                        for x in list {
                            match x {
                                Value::Mapping(m) => maps.push(m),
                                _ => {
                                    return Err(self.error(
                                        value_mark,
                                        "a merge key (`<<`) takes a mapping or a list of mappings",
                                    ))
                                }
                            }
                        }
                        merged.extend(maps.into_iter().rev());
                    }
                    _ => {
                        return Err(self.error(
                            value_mark,
                            "a merge key (`<<`) takes a mapping or a list of mappings",
                        ))
                    }
                }
                continue;
            }
            if matches!(key, Value::Mapping(_) | Value::Sequence(_)) {
                return Err(self.error(
                    mark,
                    "a mapping key must be a scalar (LiteLLM's loader cannot hash it)",
                ));
            }
            explicit.push((key, value));
        }
        let _ = start;
        let mut out = Mapping::new();
        for m in merged {
            for (k, v) in m {
                out.insert(k, v);
            }
        }
        for (k, v) in explicit {
            out.insert(k, v);
        }
        Ok(Value::Mapping(out))
    }
}

/// Reads a YAML document as LiteLLM's loader (`yaml.safe_load`) does.
/// An empty document is `Null`.
pub fn load(text: &str, file: &Path) -> Result<Value, InputError> {
    let mut events = Events(Vec::new());
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut events, true).map_err(|e| InputError::At {
        location: Location {
            file: file.to_path_buf(),
            line: e.marker().line(),
            column: e.marker().col() + 1,
        },
        message: e.info().to_string(),
    })?;
    let docs = events
        .0
        .iter()
        .filter(|(e, _)| matches!(e, Event::DocumentStart))
        .count();
    if docs > 1 {
        return Err(InputError::file(
            file,
            "the file holds several YAML documents; LiteLLM's loader reads exactly one",
        ));
    }
    let mut b = Builder {
        events: events.0.into_iter(),
        anchors: std::collections::HashMap::new(),
        nodes: 0,
        file,
    };
    loop {
        let (ev, mark) = match b.events.next() {
            Some(x) => x,
            None => return Ok(Value::Null),
        };
        match ev {
            Event::StreamStart | Event::DocumentStart | Event::Nothing => continue,
            Event::StreamEnd | Event::DocumentEnd => return Ok(Value::Null),
            _ => return b.node((ev, mark)),
        }
    }
}

/// What a value is to LiteLLM, in words (`the boolean true`, `the date 2024-10-21`).
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the text `{s}`"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) if t.tag == TIMESTAMP_TAG => {
            format!("the date {}", inline(&t.value).unwrap_or_default())
        }
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

/// Whether PyYAML reads `s`, written plain, as the string `s`.
fn plain_is_string(s: &str) -> bool {
    PLAIN_SAFE.is_match(s) && matches!(resolve_plain(s), Ok(Value::String(_)))
}

/// `s` as a YAML scalar PyYAML reads back as the string `s`.
fn string_scalar(s: &str) -> String {
    if plain_is_string(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // What PyYAML's reader accepts as printable, written as is.
            ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFC}' | '\u{10000}'..
                if c != '\u{FEFF}' =>
            {
                out.push(c)
            }
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn float_scalar(x: f64) -> String {
    if x.is_nan() {
        ".nan".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else {
        let s = format!("{x:?}");
        if FLOAT.is_match(&s) {
            s
        } else {
            // `1e-7`: YAML 1.1 floats need a dot and a signed exponent.
            format!("!!float {s}")
        }
    }
}

/// A scalar (or an empty collection) on one line; `None` for a block.
fn inline(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.to_string(),
            (None, Some(i), _) => i.to_string(),
            (None, None, Some(x)) => float_scalar(x),
            _ => n.to_string(),
        },
        Value::String(s) => string_scalar(s),
        Value::Sequence(l) if l.is_empty() => "[]".into(),
        Value::Mapping(m) if m.is_empty() => "{}".into(),
        Value::Tagged(t) => {
            let inner = match &t.value {
                Value::String(s) => s.clone(),
                other => inline(other)?,
            };
            if t.tag == TIMESTAMP_TAG && TIMESTAMP.is_match(&inner) {
                inner
            } else {
                format!("{} {}", t.tag, string_scalar(&inner))
            }
        }
        _ => return None,
    })
}

fn block(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            for (k, val) in m {
                let key = inline(k).unwrap_or_else(|| string_scalar(&format!("{k:?}")));
                match inline(val) {
                    Some(s) => out.push_str(&format!("{pad}{key}: {s}\n")),
                    None => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        block(val, indent + 2, out);
                    }
                }
            }
        }
        Value::Sequence(l) if !l.is_empty() => {
            for item in l {
                match inline(item) {
                    Some(s) => out.push_str(&format!("{pad}- {s}\n")),
                    None => {
                        let mut nested = String::new();
                        block(item, indent + 2, &mut nested);
                        out.push_str(&pad);
                        out.push_str("- ");
                        out.push_str(nested.get(indent + 2..).unwrap_or(""));
                    }
                }
            }
        }
        other => {
            let s = inline(other).unwrap_or_default();
            out.push_str(&format!("{pad}{s}\n"));
        }
    }
}

/// Writes a value as YAML that LiteLLM's loader reads back as this value.
pub fn emit(v: &Value) -> String {
    let mut out = String::new();
    block(v, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> Value {
        resolve_plain(s).expect("resolves")
    }

    /// Regression (issue 10): nine lines of aliases nested in aliases took
    /// `crossfire lint` past 14 GB in 30 s; they are refused at the alias
    /// that crosses the limit.
    #[test]
    fn aliases_nested_in_aliases_are_refused_past_the_limit() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..9 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let e = load(&text, Path::new("c.yaml")).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("c.yaml:6:45: with its aliases expanded the file holds more than {MAX_EXPANDED_NODES} values; crossfire reads configs up to that (are aliases nested inside aliases?)")
        );
        // Aliases that stay small are read as before.
        let v = load("a: &a [1, 2]\nb: [*a, *a]\n", Path::new("c.yaml")).unwrap();
        assert_eq!(v["b"][1][1], Value::Number(2.into()));
    }

    #[test]
    fn plain_scalars_resolve_as_yaml_1_1() {
        assert_eq!(plain("on"), Value::Bool(true));
        assert_eq!(plain("No"), Value::Bool(false));
        assert_eq!(plain("y"), Value::String("y".into()));
        assert_eq!(plain("017"), Value::Number(15.into()));
        assert_eq!(plain("0x1F"), Value::Number(31.into()));
        assert_eq!(plain("1_000"), Value::Number(1000.into()));
        assert_eq!(plain("1:30"), Value::Number(90.into()));
        assert_eq!(plain("-0b11"), Value::Number((-3).into()));
        assert_eq!(plain("1e3"), Value::String("1e3".into()));
        assert_eq!(plain("0o17"), Value::String("0o17".into()));
        assert_eq!(plain("1.5e+3"), Value::Number(1500.0.into()));
        assert_eq!(plain("1."), Value::Number(1.0.into()));
        assert_eq!(plain("~"), Value::Null);
        assert_eq!(plain("2024-10-21"), timestamp("2024-10-21"));
        assert_eq!(
            plain("2024-08-01-preview"),
            Value::String("2024-08-01-preview".into())
        );
    }

    #[test]
    fn a_quoted_date_stays_a_string_through_load_and_emit() {
        let v = load(
            "api_version: \"2024-10-21\"\nd: 2024-10-21\n",
            Path::new("c.yaml"),
        )
        .expect("loads");
        let text = emit(&v);
        assert_eq!(text, "api_version: \"2024-10-21\"\nd: 2024-10-21\n");
        assert_eq!(load(&text, Path::new("c.yaml")).expect("reloads"), v);
    }

    #[test]
    fn merge_keys_apply_with_explicit_keys_winning() {
        let text = "a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\nc:\n  <<: [*a, *b]\n  x: 9\n";
        let v = load(text, Path::new("c.yaml")).expect("loads");
        let c = v.get("c").expect("c");
        assert_eq!(c.get("x"), Some(&Value::Number(9.into())));
        assert_eq!(c.get("y"), Some(&Value::Number(2.into())));
        assert_eq!(c.get("z"), Some(&Value::Number(4.into())));
    }
}
