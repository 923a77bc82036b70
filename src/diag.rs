//! Input errors that say where (file:line:column or the flag), what was wrong
//! and what would be right, with the nearest valid word when there is one.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A place in an input file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as the user named it.
    pub file: PathBuf,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// Bad input: a file, a flag, or a file that cannot be read. Exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Something wrong at a place in a file.
    #[error("{location}: {message}")]
    At {
        /// Where.
        location: Location,
        /// What was wrong, and what would be right.
        message: String,
    },
    /// Something wrong in a file, where no finer place is known.
    #[error("{}: {message}", file.display())]
    File {
        /// The file.
        file: PathBuf,
        /// What was wrong, and what would be right.
        message: String,
    },
    /// Something wrong in a command-line flag.
    #[error("{flag}: {message}")]
    Flag {
        /// The flag and its value, as given.
        flag: String,
        /// What was wrong, and what would be right.
        message: String,
    },
}

impl InputError {
    /// An error about a flag.
    pub fn flag(flag: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError::Flag {
            flag: flag.into(),
            message: message.into(),
        }
    }

    /// An error about a file as a whole (unreadable, empty).
    pub fn file(file: &Path, message: impl Into<String>) -> InputError {
        InputError::File {
            file: file.to_path_buf(),
            message: message.into(),
        }
    }
}

/// A file-name-safe word from a name: lower case, runs of anything but
/// letters and digits become one `-`.
///
/// ```
/// assert_eq!(crossfire::diag::slug("Rate limit: Claude -> GPT"), "rate-limit-claude-gpt");
/// ```
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The candidate nearest to `word`, if it is near enough to be a likely typo.
///
/// ```
/// use crossfire::diag::nearest;
/// assert_eq!(nearest("rate_limt", ["rate_limit", "timeout"]), Some("rate_limit"));
/// assert_eq!(nearest("zzz", ["rate_limit", "timeout"]), None);
/// ```
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_l = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&word_l, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Words as a person lists them: `a`, `a and b`, `a, b and c`.
///
/// ```
/// assert_eq!(crossfire::diag::and_list(["litellm", "portkey", "tensorzero"]), "litellm, portkey and tensorzero");
/// ```
pub fn and_list<S: AsRef<str>>(words: impl IntoIterator<Item = S>) -> String {
    let words: Vec<String> = words.into_iter().map(|w| w.as_ref().to_string()).collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// "; did you mean `x`?" when a near candidate exists, else the list of valid words.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> String {
    match nearest(word, candidates.clone()) {
        Some(near) => format!("did you mean `{near}`?"),
        None => {
            let all: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
            format!("expected one of {}", all.join(", "))
        }
    }
}

/// Positions of every node of a YAML document, by path (`faults[0].on`), so
/// checks made after parsing can still point at a line and column.
#[derive(Debug, Default, Clone)]
pub struct YamlIndex {
    values: HashMap<String, (usize, usize)>,
    keys: HashMap<String, (usize, usize)>,
}

enum Frame {
    Map {
        path: String,
        key: Option<String>,
        keys_seen: usize,
    },
    Seq {
        path: String,
        index: usize,
    },
}

struct IndexBuilder {
    stack: Vec<Frame>,
    index: YamlIndex,
}

fn pos(mark: Marker) -> (usize, usize) {
    (mark.line(), mark.col() + 1)
}

impl IndexBuilder {
    /// The path of the node about to start under the current frame.
    fn child_path(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Frame::Map { key: None, .. }) => None,
            Some(Frame::Map {
                path, key: Some(k), ..
            }) => Some(if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            }),
            Some(Frame::Seq { path, index }) => Some(format!("{path}[{index}]")),
        }
    }

    fn value_done(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { index, .. }) => *index += 1,
            None => {}
        }
    }
}

impl MarkedEventReceiver for IndexBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                // A collection used as a key has no useful path; index it under "".
                let path = self.child_path().unwrap_or_default();
                self.index.values.entry(path.clone()).or_insert(pos(mark));
                self.stack.push(if matches!(ev, Event::MappingStart(..)) {
                    Frame::Map {
                        path,
                        key: None,
                        keys_seen: 0,
                    }
                } else {
                    Frame::Seq { path, index: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.value_done();
            }
            Event::Scalar(text, ..) => match self.child_path() {
                None => {
                    if let Some(Frame::Map {
                        path,
                        key,
                        keys_seen,
                    }) = self.stack.last_mut()
                    {
                        let full = if path.is_empty() {
                            text.clone()
                        } else {
                            format!("{path}.{text}")
                        };
                        // A block mapping's start mark can sit past its first
                        // key (a flow mapping's sits on its `{`); point at
                        // whichever comes first.
                        if *keys_seen == 0 {
                            let here = pos(mark);
                            let start = self.index.values.entry(path.clone()).or_insert(here);
                            if here < *start {
                                *start = here;
                            }
                        }
                        *keys_seen += 1;
                        self.index.keys.insert(full, pos(mark));
                        *key = Some(text);
                    }
                }
                Some(path) => {
                    self.index.values.insert(path, pos(mark));
                    self.value_done();
                }
            },
            Event::Alias(_) => {
                if let Some(path) = self.child_path() {
                    self.index.values.insert(path, pos(mark));
                }
                self.value_done();
            }
            _ => {}
        }
    }
}

impl YamlIndex {
    /// Indexes a document; a document that does not parse gives an empty index
    /// (serde reports its syntax error with a location of its own).
    pub fn build(text: &str) -> YamlIndex {
        let mut builder = IndexBuilder {
            stack: Vec::new(),
            index: YamlIndex::default(),
        };
        let mut parser = Parser::new_from_str(text);
        let _ = parser.load(&mut builder, false);
        builder.index
    }

    /// (line, column) of the value at `path`, or of its nearest indexed parent.
    pub fn value(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(found) = self.values.get(p) {
                return Some(*found);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// (line, column) of the key at `path`, only if that key exists.
    pub fn keys_get(&self, path: &str) -> Option<(usize, usize)> {
        self.keys.get(path).copied()
    }

    /// (line, column) of the key that holds `path`, else of its value.
    pub fn key(&self, path: &str) -> Option<(usize, usize)> {
        self.keys.get(path).copied().or_else(|| self.value(path))
    }
}

/// The largest input file crossfire reads: scenario files, gateway configs,
/// mock files, config templates. The largest real gateway configs seen are a
/// few hundred kilobytes; a bigger file is a mistake (or `/dev/zero`), and
/// reading it whole would only exhaust memory.
pub const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// The deepest nesting of lists and maps crossfire reads. Real configs nest
/// less than ten levels; the YAML scanner's time grows with the square of the
/// depth, so a file nested thousands deep would hang every command.
pub const MAX_NESTING: usize = 64;

const BOM: char = '\u{feff}';

/// Reads an input file's text within [`MAX_INPUT_BYTES`]: refuses what is
/// not a regular file (a folder, a FIFO, a device, a socket, a symlink loop)
/// and says which it is, before reading a byte. A leading UTF-8 byte-order
/// mark is dropped.
///
/// ```
/// use std::path::Path;
/// let e = crossfire::diag::read_text(Path::new("/dev/zero")).unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     "/dev/zero: a character device, not a regular file; crossfire reads its input from regular files"
/// );
/// ```
pub fn read_text(file: &Path) -> Result<String, InputError> {
    read_text_within(file, MAX_INPUT_BYTES)
}

/// [`read_text`] with a limit of its own, for a file crossfire wrote itself
/// (a drill report read back by `tax --from`).
pub fn read_text_within(file: &Path, limit: u64) -> Result<String, InputError> {
    use std::io::Read;
    let meta = std::fs::metadata(file).map_err(|e| InputError::file(file, unreadable(&e)))?;
    if let Some(kind) = not_regular(&meta.file_type()) {
        return Err(InputError::file(
            file,
            format!("{kind}, not a regular file; crossfire reads its input from regular files"),
        ));
    }
    let too_big = || {
        InputError::file(
            file,
            format!(
                "the file is larger than {} MiB, the limit for crossfire's input files; is it the right file?",
                limit / (1024 * 1024)
            ),
        )
    };
    if meta.len() > limit {
        return Err(too_big());
    }
    let opened = std::fs::File::open(file).map_err(|e| InputError::file(file, unreadable(&e)))?;
    let mut bytes = Vec::new();
    // A file can grow after `metadata` (or report no size, as /proc does).
    opened
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| InputError::file(file, format!("cannot read the file: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(too_big());
    }
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        InputError::file(
            file,
            format!(
                "the file is not UTF-8 text (an invalid byte at offset {at}); save it as UTF-8"
            ),
        )
    })?;
    if text.starts_with(BOM) {
        text.drain(..BOM.len_utf8());
    }
    Ok(text)
}

/// Why a file cannot be opened, in words: a symlink loop is named as one.
fn unreadable(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ELOOP) => {
            "a symbolic link loop: its links lead back to each other and never reach a file"
                .to_string()
        }
        _ if e.kind() == std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => format!("cannot read the file: {e}"),
    }
}

/// What a file is when it is not a regular file.
fn not_regular(t: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a folder")
    } else if t.is_fifo() {
        Some("a named pipe (FIFO)")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    }
}

/// Refuses a document nested deeper than [`MAX_NESTING`], at the place the
/// limit is crossed. It stops there, so the scanner's cost stays small; a
/// syntax error is left to the parser that reports it.
pub fn check_nesting(file: &Path, text: &str) -> Result<(), InputError> {
    let too_deep = |mark: Marker| {
        let (line, column) = pos(mark);
        InputError::At {
            location: Location {
                file: file.to_path_buf(),
                line,
                column,
            },
            message: format!(
                "lists and maps nested more than {MAX_NESTING} levels deep; crossfire reads files nested up to {MAX_NESTING} levels (is a bracket left open?)"
            ),
        }
    };
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        match parser.next_token() {
            Ok((Event::MappingStart(..) | Event::SequenceStart(..), mark)) => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(too_deep(mark));
                }
            }
            Ok((Event::MappingEnd | Event::SequenceEnd, _)) => depth = depth.saturating_sub(1),
            Ok((Event::StreamEnd, _)) => return Ok(()),
            Ok(_) => {}
            // The scanner looks ahead past a flow collection's opening
            // bracket, so deep brackets meet its own limit before the events do.
            Err(e) if e.info().contains("recursion limit") => return Err(too_deep(*e.marker())),
            Err(_) => return Ok(()),
        }
    }
}

/// A YAML file being read: its name, text and node positions.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file as the user named it.
    pub file: PathBuf,
    /// Its text.
    pub text: String,
    /// Positions of its nodes.
    pub index: YamlIndex,
}

impl Source {
    /// Reads and indexes a file, within crossfire's input limits: a regular
    /// file of at most [`MAX_INPUT_BYTES`], UTF-8 (a byte-order mark is
    /// dropped), nested at most [`MAX_NESTING`] levels deep.
    pub fn read(file: &Path) -> Result<Source, InputError> {
        let text = read_text(file)?;
        check_nesting(file, &text)?;
        Ok(Source::from_text(file, text))
    }

    /// Indexes text that came from `file` (a leading byte-order mark is dropped).
    pub fn from_text(file: &Path, mut text: String) -> Source {
        if text.starts_with(BOM) {
            text.drain(..BOM.len_utf8());
        }
        let index = YamlIndex::build(&text);
        Source {
            file: file.to_path_buf(),
            text,
            index,
        }
    }

    /// An error at the value found at `path`.
    pub fn error_at(&self, path: &str, message: impl Into<String>) -> InputError {
        self.error_pos(self.index.value(path), message)
    }

    /// An error at the key that holds `path`.
    pub fn error_at_key(&self, path: &str, message: impl Into<String>) -> InputError {
        self.error_pos(self.index.key(path), message)
    }

    fn error_pos(&self, pos: Option<(usize, usize)>, message: impl Into<String>) -> InputError {
        let (line, column) = pos.unwrap_or((1, 1));
        InputError::At {
            location: Location {
                file: self.file.clone(),
                line,
                column,
            },
            message: message.into(),
        }
    }

    /// Deserializes the file, turning serde's error into one with a location
    /// and a suggestion.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, InputError> {
        if self.text.trim().is_empty() {
            return Err(InputError::file(
                &self.file,
                "the file is empty; expected a YAML mapping",
            ));
        }
        serde_yaml::from_str(&self.text).map_err(|e| self.serde_error(&e))
    }

    fn serde_error(&self, e: &serde_yaml::Error) -> InputError {
        let raw = e.to_string();
        let message = strip_location(&raw);
        let message = improve_message(message);
        match e.location() {
            Some(loc) => InputError::At {
                location: Location {
                    file: self.file.clone(),
                    line: loc.line(),
                    column: loc.column(),
                },
                message,
            },
            None => InputError::file(&self.file, message),
        }
    }
}

/// serde_yaml ends messages with " at line L column C"; the location is shown
/// in front instead.
pub(crate) fn strip_location(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// Adds "did you mean" to serde's unknown-field and unknown-variant messages,
/// and words the common type mismatches for people.
pub(crate) fn improve_message(message: &str) -> String {
    let message = &words_for_people(message);
    // serde: "<path>: unknown field `x`, expected one of `a`, `b`" (path optional).
    for what in ["unknown field", "unknown variant"] {
        if let Some(start) = message.find(what) {
            let rest = &message[start + what.len()..];
            let word = between_backticks(rest);
            let expected: Vec<&str> = match rest.find("expected") {
                Some(i) => rest[i..].split('`').skip(1).step_by(2).collect(),
                None => vec![],
            };
            if let Some(word) = word {
                let prefix = &message[..start];
                let noun = if what == "unknown field" {
                    "key"
                } else {
                    "value"
                };
                let hint = if expected.is_empty() {
                    "no keys are allowed here".to_string()
                } else {
                    suggest(word, expected.iter().copied())
                };
                return format!("{prefix}unknown {noun} `{word}`; {hint}");
            }
        }
    }
    message.to_string()
}

/// serde's type words, as a person writes YAML: lists and maps, no Rust names.
fn words_for_people(message: &str) -> String {
    let mut m = message
        .replace("missing field", "missing key")
        .replace("expected a sequence", "expected a list")
        .replace("invalid type: sequence", "invalid type: list");
    while let Some(i) = m.find("expected struct ") {
        let rest = &m[i + "expected struct ".len()..];
        let end = rest
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(rest.len());
        m = format!("{}expected a map of keys{}", &m[..i], &rest[end..]);
    }
    m
}

fn between_backticks(s: &str) -> Option<&str> {
    let start = s.find('`')? + 1;
    let len = s[start..].find('`')?;
    Some(&s[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_finds_nested_values_and_keys() {
        let text = "name: x\nfaults:\n  - on: claude\n    fault: rate_limit\n  - on: gpt\n    schedule: {first: 3}\n";
        let idx = YamlIndex::build(text);
        assert_eq!(idx.value("faults[0].on"), Some((3, 9)));
        assert_eq!(idx.value("faults[1].on"), Some((5, 9)));
        assert_eq!(idx.key("faults[1].schedule"), Some((6, 5)));
        assert_eq!(idx.value("faults[1].schedule.first"), Some((6, 23)));
        // Unknown paths fall back to the nearest parent.
        assert_eq!(idx.value("faults[1].nothing"), Some((5, 5)));
    }

    #[test]
    fn nearest_words() {
        assert_eq!(
            nearest("antropic", ["anthropic", "openai"]),
            Some("anthropic")
        );
        assert_eq!(nearest("ab", ["abc", "xyz"]), Some("abc"));
        assert_eq!(nearest("q", ["abc"]), None);
    }

    #[test]
    fn unknown_field_message_gets_a_suggestion() {
        let m = improve_message(
            "faults[0]: unknown field `schedul`, expected one of `on`, `fault`, `schedule`",
        );
        assert_eq!(
            m,
            "faults[0]: unknown key `schedul`; did you mean `schedule`?"
        );
    }
}
