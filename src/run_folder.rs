//! A scenario's run folder, written by the runner for every caller whatever
//! reporters it has: every request's record streams to `requests.jsonl` as
//! it completes, every joined path goes to `paths.jsonl`, and `report.json`
//! lists only a few example paths per class and points at the files, so
//! reports stay readable however long a run is. Imports only the record
//! types ([`crate::records`], [`crate::paths`]).

use crate::paths::{PathClass, RequestPath};
use crate::records::RequestRecord;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file of every request's record, as the client saw it.
pub const REQUESTS_FILE: &str = "requests.jsonl";

/// The file of every request's path.
pub const PATHS_FILE: &str = "paths.jsonl";

/// The scenario's report in its run folder.
pub const REPORT_FILE: &str = "report.json";

/// Example paths the JSON report lists per path class, once a run has more
/// than [`LISTED_AT_MOST`] requests.
pub const EXAMPLES_PER_CLASS: usize = 10;

/// Request records and stray attempts the JSON report lists, at most.
pub const LISTED_AT_MOST: usize = 200;

/// Appends request records to a JSONL file as they complete. A record that
/// cannot be written is counted, and the first error kept, never fatal: the
/// run itself still holds every record.
#[derive(Debug)]
pub struct RecordsFile {
    path: PathBuf,
    inner: Mutex<Writer>,
}

#[derive(Debug)]
struct Writer {
    out: Option<BufWriter<File>>,
    error: Option<String>,
}

impl RecordsFile {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path) -> RecordsFile {
        let (out, error) = match File::create(path) {
            Ok(f) => (Some(BufWriter::new(f)), None),
            Err(e) => (None, Some(format!("cannot create {}: {e}", path.display()))),
        };
        RecordsFile {
            path: path.to_path_buf(),
            inner: Mutex::new(Writer { out, error }),
        }
    }

    /// Appends one record.
    pub fn append(&self, record: &RequestRecord) {
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(out) = w.out.as_mut() else { return };
        let written = serde_json::to_writer(&mut *out, record)
            .map_err(|e| e.to_string())
            .and_then(|()| out.write_all(b"\n").map_err(|e| e.to_string()));
        if let Err(e) = written {
            w.error = Some(format!("cannot write {}: {e}", self.path.display()));
            w.out = None;
        }
    }

    /// Flushes the file; the first error met, if any.
    pub fn finish(&self) -> Result<(), String> {
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(out) = w.out.as_mut() {
            if let Err(e) = out.flush() {
                w.error = Some(format!("cannot write {}: {e}", self.path.display()));
            }
        }
        w.out = None;
        w.error.clone().map_or(Ok(()), Err)
    }
}

/// Writes every path to `file`, one JSON object a line.
pub fn write_paths(file: &Path, paths: &[RequestPath]) -> Result<(), String> {
    let write = || -> std::io::Result<()> {
        let mut out = BufWriter::new(File::create(file)?);
        for p in paths {
            serde_json::to_writer(&mut out, p)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    };
    write().map_err(|e| format!("cannot write {}: {e}", file.display()))
}

/// Writes `value` to `file` as pretty JSON (the form `--json` writes too).
pub fn write_json<T: Serialize>(file: &Path, value: &T) -> Result<(), String> {
    serde_json::to_vec_pretty(value)
        .map_err(|e| e.to_string())
        .and_then(|bytes| std::fs::write(file, bytes).map_err(|e| e.to_string()))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
}

/// The example paths a report lists: the first [`EXAMPLES_PER_CLASS`] of
/// each class, in request order.
pub fn examples(paths: &[RequestPath]) -> Vec<&RequestPath> {
    let mut taken: BTreeMap<PathClass, usize> = BTreeMap::new();
    paths
        .iter()
        .filter(|p| {
            let n = taken.entry(p.class).or_insert(0);
            *n += 1;
            *n <= EXAMPLES_PER_CLASS
        })
        .collect()
}

/// Serializes every path of a short run, and only [`examples`] of a run of
/// more than [`LISTED_AT_MOST`] requests (`serialize_with`).
pub fn serialize_examples<S: Serializer>(paths: &[RequestPath], s: S) -> Result<S::Ok, S::Error> {
    if paths.len() <= LISTED_AT_MOST {
        paths.serialize(s)
    } else {
        examples(paths).serialize(s)
    }
}

/// Serializes the first [`LISTED_AT_MOST`] items of a list (`serialize_with`).
pub fn serialize_first<T: Serialize, S: Serializer>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
    items[..items.len().min(LISTED_AT_MOST)].serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(n: u64, class: PathClass) -> RequestPath {
        RequestPath {
            replica: None,
            n,
            marker: format!("xf:t:{n}"),
            traffic: 0,
            model: "m".into(),
            steps: vec![],
            client_status: Some(200),
            ok: true,
            class,
            met_fault: false,
            latency_us: 1,
        }
    }

    #[test]
    fn examples_keep_the_first_few_of_every_class() {
        let mut paths: Vec<RequestPath> = (1..=1000).map(|n| path(n, PathClass::Direct)).collect();
        paths.push(path(1001, PathClass::CrossedProvider));
        let listed = examples(&paths);
        assert_eq!(listed.len(), EXAMPLES_PER_CLASS + 1);
        assert_eq!(listed[0].n, 1);
        assert_eq!(listed[EXAMPLES_PER_CLASS].n, 1001);
    }
}
