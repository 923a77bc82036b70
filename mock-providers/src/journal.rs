//! The journal: every attempt every mock received, whatever its outcome. It is
//! crossfire's ground truth.
//!
//! Records are kept in a bounded ring in memory (the oldest are dropped and
//! counted once the cap is reached) and, when asked, appended to a JSONL file
//! and flushed per attempt, so a run that dies loses nothing already answered.

use crate::dialect::Dialect;
use crate::fault::FailureClass;
use crate::plan::{Cause, Outcome};
use crate::request::Traffic;
use crate::success::Usage;
use crate::tokens::TokenCounter;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// One request, as a mock saw it: a completion attempt, or side traffic
/// (model lists, token counts, health) or an unserved endpoint, told apart by
/// [`Attempt::traffic`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Global sequence number across all mocks of a set, in arrival order, from 1.
    pub seq: u64,
    /// Completion attempt number on this deployment, from 1 (the count fault
    /// schedules use); 0 for side traffic and unserved endpoints.
    pub attempt: u64,
    /// What the request was: a completion attempt, side traffic, or an
    /// endpoint the mock does not serve. Journals written before this field
    /// read as completions.
    #[serde(default)]
    pub traffic: Traffic,
    /// Deployment id.
    pub deployment: String,
    /// Dialect the deployment speaks.
    pub dialect: Dialect,
    /// HTTP method.
    pub method: String,
    /// Request path (query included).
    pub path: String,
    /// Model asked for, when the request could be read.
    pub model: Option<String>,
    /// The crossfire marker found in the body (`xf:<run>:<n>`).
    pub marker: Option<String>,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// Request body bytes received.
    pub bytes_in: u64,
    /// Prompt tokens counted.
    pub prompt_tokens: Option<u64>,
    /// The counter that made `prompt_tokens`.
    pub token_counter: Option<TokenCounter>,
    /// Output tokens asked for.
    pub max_tokens: Option<u64>,
    /// `served`, `refused`, or the failure class.
    pub outcome: Outcome,
    /// Why it failed: a scheduled fault, or a natural context overflow.
    pub cause: Option<Cause>,
    /// HTTP status sent; `None` when the connection was reset.
    pub status: Option<u16>,
    /// Usage reported to the client, for served answers.
    pub usage: Option<Usage>,
    /// Response body bytes sent.
    pub bytes_out: u64,
    /// Stream events sent.
    pub events_sent: u32,
    /// Whether the response was delivered whole (false: cut, stalled, reset,
    /// or the client went away).
    pub completed: bool,
    /// The gateway replica that sent it (`2` for `replica-2`), when the
    /// replica called the mock at its own base URL ([`crate::server::replica_base`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<u32>,
    /// Wall clock at arrival, milliseconds since the Unix epoch.
    pub received_unix_ms: u64,
    /// Arrival, microseconds since the mock set started.
    pub received_us: u64,
    /// Response head sent, microseconds since the mock set started.
    pub first_byte_us: Option<u64>,
    /// Response over, microseconds since the mock set started.
    pub finished_us: u64,
}

impl Attempt {
    /// The failure class, when the attempt failed.
    pub fn failure(&self) -> Option<FailureClass> {
        match self.outcome {
            Outcome::Fault(class) => Some(class),
            _ => None,
        }
    }

    /// Whether this is a completion attempt (not side traffic, not unserved).
    pub fn is_completion(&self) -> bool {
        self.traffic == Traffic::Completion
    }

    /// Time the mock spent on the attempt (arrival to response over), in microseconds.
    pub fn service_us(&self) -> u64 {
        self.finished_us.saturating_sub(self.received_us)
    }
}

/// How a journal keeps its records.
#[derive(Debug, Clone)]
pub struct JournalConfig {
    /// Records kept in memory; older ones are dropped and counted.
    pub memory_cap: usize,
    /// JSONL file every record is appended to, flushed per attempt.
    pub file: Option<PathBuf>,
}

impl Default for JournalConfig {
    fn default() -> JournalConfig {
        JournalConfig {
            memory_cap: 100_000,
            file: None,
        }
    }
}

/// Counts over the whole life of a journal, whatever the memory cap dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct JournalStats {
    /// Attempts recorded.
    pub recorded: u64,
    /// Records dropped from memory by the cap (still in the file, if any).
    pub evicted: u64,
    /// Records that could not be written to the file.
    pub write_errors: u64,
}

struct Inner {
    ring: VecDeque<Attempt>,
    cap: usize,
    file: Option<BufWriter<File>>,
    stats: JournalStats,
    last_write_error: Option<String>,
}

/// The shared journal of a mock set.
pub struct Journal {
    inner: Mutex<Inner>,
    seq: AtomicU64,
    /// Time zero and its wall clock; [`Journal::restart_clock`] moves it.
    clock: Mutex<(Instant, u64)>,
    path: Option<PathBuf>,
    /// Signalled on the first failed write to the file.
    write_failed: tokio::sync::Notify,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Journal {
    /// Opens a journal; creates (truncates) the JSONL file when one is asked for.
    pub fn open(config: JournalConfig) -> io::Result<Arc<Journal>> {
        let file = match &config.file {
            Some(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)?;
                }
                Some(BufWriter::new(File::create(path)?))
            }
            None => None,
        };
        Ok(Arc::new(Journal {
            inner: Mutex::new(Inner {
                ring: VecDeque::new(),
                cap: config.memory_cap,
                file,
                stats: JournalStats::default(),
                last_write_error: None,
            }),
            seq: AtomicU64::new(0),
            clock: Mutex::new((Instant::now(), unix_ms())),
            path: config.file,
            write_failed: tokio::sync::Notify::new(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next global sequence number (from 1).
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn clock(&self) -> (Instant, u64) {
        *self.clock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Time zero: when the journal (and its mock set) started, or when
    /// [`Journal::restart_clock`] last moved it.
    pub fn started(&self) -> Instant {
        self.clock().0
    }

    /// Wall clock at time zero, milliseconds since the Unix epoch.
    pub fn started_unix_ms(&self) -> u64 {
        self.clock().1
    }

    /// Makes now time zero: later attempts' times, and the time fault
    /// windows are measured in, count from here. crossfire calls it when
    /// the gateway is ready and traffic begins, so `window: [10s, 20s]`
    /// means ten seconds into the traffic, whatever the gateway's startup.
    pub fn restart_clock(&self) {
        *self.clock.lock().unwrap_or_else(|e| e.into_inner()) = (Instant::now(), unix_ms());
    }

    /// Microseconds since time zero.
    pub fn now_us(&self) -> u64 {
        self.started().elapsed().as_micros() as u64
    }

    /// The JSONL file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Records an attempt: appends it to the file (flushed) and to memory.
    pub fn record(&self, attempt: Attempt) {
        let mut inner = self.lock();
        inner.stats.recorded += 1;
        if inner.file.is_some() {
            let line = serde_json::to_vec(&attempt);
            let result = match (line, inner.file.as_mut()) {
                (Ok(mut line), Some(file)) => {
                    line.push(b'\n');
                    file.write_all(&line).and_then(|()| file.flush())
                }
                (Err(e), _) => Err(io::Error::other(e)),
                (Ok(_), None) => Ok(()),
            };
            if let Err(e) = result {
                inner.stats.write_errors += 1;
                inner.last_write_error = Some(e.to_string());
                self.write_failed.notify_one();
            }
        }
        if inner.cap == 0 {
            inner.stats.evicted += 1;
            return;
        }
        if inner.ring.len() >= inner.cap {
            inner.ring.pop_front();
            inner.stats.evicted += 1;
        }
        inner.ring.push_back(attempt);
    }

    /// The records in memory, ordered by sequence number.
    pub fn attempts(&self) -> Vec<Attempt> {
        let mut list: Vec<Attempt> = self.lock().ring.iter().cloned().collect();
        list.sort_by_key(|a| a.seq);
        list
    }

    /// Counts over the journal's life.
    pub fn stats(&self) -> JournalStats {
        self.lock().stats
    }

    /// The last error writing the file, if any.
    pub fn last_write_error(&self) -> Option<String> {
        self.lock().last_write_error.clone()
    }

    /// Resolves when a write to the file fails (at once if one already
    /// has), with the error.
    pub async fn write_failure(&self) -> String {
        loop {
            if let Some(e) = self.last_write_error() {
                return e;
            }
            self.write_failed.notified().await;
        }
    }

    /// Flushes the file.
    pub fn flush(&self) -> io::Result<()> {
        match self.lock().file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Reads a JSONL journal file back, ordered by sequence number. A torn last
/// line (the process died while writing it) is skipped; any other bad line is
/// an error naming its line number.
pub fn read_jsonl(path: &Path) -> io::Result<Vec<Attempt>> {
    let text = std::fs::read_to_string(path)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut list = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Attempt>(line) {
            Ok(a) => list.push(a),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}:{}: not a journal record: {e}", path.display(), i + 1),
                ))
            }
        }
    }
    list.sort_by_key(|a| a.seq);
    Ok(list)
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
