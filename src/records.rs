//! What the client saw of each request: the per-request record the traffic
//! driver fills and everything downstream (paths, audits, reports) reads. A
//! leaf: it imports nothing else of crossfire.

use serde::Serialize;
use std::collections::BTreeMap;

/// Usage as the gateway reported it to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ClientUsage {
    /// Prompt (input) tokens.
    pub prompt_tokens: u64,
    /// Completion (output) tokens.
    pub completion_tokens: u64,
}

/// One request, as the client saw it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// Request number in the run, from 1.
    pub n: u64,
    /// Marker sent in the last user message (`xf:<run>:<n>`).
    pub marker: String,
    /// Index of the traffic entry.
    pub traffic: usize,
    /// Model group asked for.
    pub model: String,
    /// Whether a stream was asked for.
    pub stream: bool,
    /// Sent, microseconds since the traffic started: the journal's time
    /// zero, the clock fault windows and attempt times use too.
    pub started_us: u64,
    /// Until the answer was read whole (or failed), microseconds.
    pub latency_us: u64,
    /// Until the response head arrived, microseconds.
    pub ttfb_us: Option<u64>,
    /// Until the first bytes of the body arrived, microseconds: the time to
    /// first token of a stream. `None` when no body byte came.
    pub first_token_us: Option<u64>,
    /// HTTP status; none when the request failed in transport.
    pub status: Option<u16>,
    /// Transport error or timeout.
    pub transport_error: Option<String>,
    /// Streams: whether the terminator arrived.
    pub stream_complete: Option<bool>,
    /// Streams: an error event that arrived inside a 200 stream.
    pub stream_error: Option<String>,
    /// Routing headers the gateway sent (`x-litellm-*`, `x-portkey-*`, `retry-after`).
    pub headers: BTreeMap<String, String>,
    /// Usage the gateway reported.
    pub usage: Option<ClientUsage>,
    /// Cost the gateway reported (`x-litellm-response-cost`).
    pub cost: Option<f64>,
    /// The body of an error answer, first 2000 bytes.
    pub error_body: Option<String>,
    /// Request body bytes sent.
    pub bytes_sent: u64,
}

/// The transport error of a request Ctrl-C cut short: sent, but stopped
/// before the gateway answered. It is not a failure of the gateway.
pub const CUT_SHORT: &str = "interrupted by Ctrl-C before the gateway answered";

impl RequestRecord {
    /// Whether Ctrl-C cut this request short before the gateway answered.
    pub fn cut_short(&self) -> bool {
        self.transport_error.as_deref() == Some(CUT_SHORT)
    }

    /// When it ended (answered whole, failed, or timed out), microseconds
    /// on the run's clock.
    pub fn ended_us(&self) -> u64 {
        self.started_us + self.latency_us
    }

    /// Whether the client gave up waiting (its per-request timeout): the
    /// request never ended on the gateway's side.
    pub fn timed_out(&self) -> bool {
        self.transport_error
            .as_deref()
            .is_some_and(|e| e.starts_with("timeout"))
    }

    /// Whether the client got a good, complete answer.
    pub fn ok(&self) -> bool {
        self.transport_error.is_none()
            && self.status.is_some_and(|s| (200..300).contains(&s))
            && self.stream_complete != Some(false)
            && self.stream_error.is_none()
    }
}
