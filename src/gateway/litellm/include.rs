//! LiteLLM's `include:`: a config split over files, merged the way LiteLLM
//! 1.108.7 merges it (`litellm/proxy/common_utils/config_includes.py`):
//!
//! - each entry names a file next to the config that declares it; one not
//!   found there is read next to the root config instead (LiteLLM warns);
//! - included files are read in order, breadth first (an included file's own
//!   `include:` entries queue after the ones already waiting), each file once;
//! - a top-level list in both (`model_list`) is extended, the included file
//!   appended; any other top-level value is replaced by the included one;
//! - an empty included file is an empty mapping; `include` must be a list of
//!   file names and an included file a mapping, or LiteLLM refuses to start.
//!
//! crossfire merges at read time and writes the gateway one merged config, so
//! the proxy in the run folder needs none of the team's files; every merged
//! `model_list` item and top-level key remembers the file it came from, so
//! errors and warnings point into that file.

use super::yaml;
use crate::diag::{InputError, Source};
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// The file a `model_list` item was written in and its place there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// Index into the config's sources (0: the root config).
    pub source: usize,
    /// Position in that file's `model_list`.
    pub index: usize,
}

/// A config with its includes merged.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The merged document, without `include`.
    pub doc: Value,
    /// The root config, then every included file, in the order read.
    pub sources: Vec<Source>,
    /// Where each merged `model_list` item was written.
    pub items: Vec<Origin>,
    /// Top-level key -> the source whose value it holds.
    pub keys: BTreeMap<String, usize>,
}

const INCLUDE: &str = "include";

fn key(s: &str) -> Value {
    Value::String(s.to_string())
}

/// The `include` entries of a file, checked as LiteLLM checks them.
fn entries(src: &Source, m: &Mapping) -> Result<Vec<String>, InputError> {
    let Some(v) = m.get(key(INCLUDE)) else {
        return Ok(Vec::new());
    };
    let list = v
        .as_sequence()
        .ok_or_else(|| src.error_at(INCLUDE, "`include` must be a list of file paths"))?;
    list.iter()
        .enumerate()
        .map(|(i, e)| {
            e.as_str().map(str::to_string).ok_or_else(|| {
                src.error_at(
                    &format!("{INCLUDE}[{i}]"),
                    "`include` must be a list of file paths",
                )
            })
        })
        .collect()
}

/// A path made absolute and normalised without touching the disk, as
/// Python's `os.path.abspath` does.
fn abspath(p: &Path) -> PathBuf {
    let joined = std::env::current_dir().map_or_else(|_| p.to_path_buf(), |d| d.join(p));
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The file an entry names: next to the declaring config, else next to the
/// root config when only that one exists.
fn resolve(entry: &str, declared_in: &Path, root: &Path) -> PathBuf {
    let dir = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    let declared = dir(declared_in).join(entry);
    let at_root = dir(root).join(entry);
    if abspath(&declared) == abspath(&at_root) || !at_root.exists() || declared.exists() {
        declared
    } else {
        at_root
    }
}

/// Merges every file `root`'s `include:` names (and theirs) into its document.
pub fn merge(root: Source, doc: Value) -> Result<Merged, InputError> {
    let Some(map) = doc.as_mapping() else {
        return Ok(Merged {
            doc,
            sources: vec![root],
            items: Vec::new(),
            keys: BTreeMap::new(),
        });
    };
    let mut pending: VecDeque<(String, usize, usize)> = entries(&root, map)?
        .into_iter()
        .enumerate()
        .map(|(i, e)| (e, 0, i))
        .collect();
    let mut merged = map.clone();
    merged.remove(key(INCLUDE));
    let mut keys: BTreeMap<String, usize> = merged
        .keys()
        .filter_map(Value::as_str)
        .map(|k| (k.to_string(), 0))
        .collect();
    let list_len = |v: Option<&Value>| v.and_then(Value::as_sequence).map_or(0, Vec::len);
    let mut items: Vec<Origin> = (0..list_len(merged.get(key("model_list"))))
        .map(|index| Origin { source: 0, index })
        .collect();
    let mut loaded: BTreeSet<PathBuf> = BTreeSet::from([abspath(&root.file)]);
    let mut sources = vec![root];
    while let Some((entry, declared_by, at)) = pending.pop_front() {
        let location = resolve(&entry, &sources[declared_by].file, &sources[0].file);
        if !loaded.insert(abspath(&location)) {
            continue;
        }
        // Anything else that is there (a folder, a device, a symlink loop)
        // is named as what it is when it is read.
        if std::fs::symlink_metadata(&location).is_err() {
            return Err(sources[declared_by].error_at(
                &format!("{INCLUDE}[{at}]"),
                format!(
                    "the included file `{}` is not there; LiteLLM reads an include next to the config that names it (or next to the root config), and refuses to start without it",
                    location.display()
                ),
            ));
        }
        let src = Source::read(&location)?;
        let included = if src.text.trim().is_empty() {
            Value::Mapping(Mapping::new())
        } else {
            match yaml::load(&src.text, &src.file)? {
                Value::Null => Value::Mapping(Mapping::new()),
                v => v,
            }
        };
        let Some(inc) = included.as_mapping() else {
            return Err(src.error_at(
                "",
                "an included LiteLLM config must be a mapping (LiteLLM refuses to start otherwise)",
            ));
        };
        let me = sources.len();
        pending.extend(
            entries(&src, inc)?
                .into_iter()
                .enumerate()
                .map(|(i, e)| (e, me, i)),
        );
        for (k, v) in inc {
            if k.as_str() == Some(INCLUDE) {
                continue;
            }
            let is_model_list = k.as_str() == Some("model_list");
            match (merged.get_mut(k), v) {
                (Some(Value::Sequence(base)), Value::Sequence(more)) => {
                    if is_model_list {
                        items.extend((0..more.len()).map(|index| Origin { source: me, index }));
                    }
                    base.extend(more.iter().cloned());
                }
                _ => {
                    if is_model_list {
                        items = (0..list_len(Some(v)))
                            .map(|index| Origin { source: me, index })
                            .collect();
                    }
                    if let Some(name) = k.as_str() {
                        keys.insert(name.to_string(), me);
                    }
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
        sources.push(src);
    }
    Ok(Merged {
        doc: Value::Mapping(merged),
        sources,
        items,
        keys,
    })
}
