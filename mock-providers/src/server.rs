//! crossfire's own mock server, on hyper: one listener per deployment on
//! `127.0.0.1:0`, serving every response plan with full fidelity: paced SSE,
//! streams cut on the socket, stalls that keep the connection open, hangs
//! that send nothing until shutdown or the client leaves, first events held
//! back after the headers, and connection resets (RST) before any response.

use crate::dialect::Dialect;
use crate::fault::FaultRule;
use crate::journal::{unix_ms, Attempt, Journal, JournalConfig};
use crate::plan::{self, AttemptContext, Delivery, DeploymentSpec, Outcome, StreamEnd};
use crate::request::{self, find_marker, IncomingRequest, Traffic};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

/// Largest request body a mock reads (a 2M-token prompt is about 8 MiB).
const MAX_REQUEST_BYTES: usize = 64 << 20;

/// Errors starting a mock set.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// Two deployments share an id.
    #[error("deployment id `{0}` is used twice; every deployment needs its own id")]
    DuplicateId(String),
    /// A listener could not be bound.
    #[error("could not listen on 127.0.0.1 for deployment `{id}`: {source}")]
    Bind {
        /// Deployment id.
        id: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The journal file could not be opened.
    #[error("could not open the journal file {}: {source}", path.display())]
    Journal {
        /// The file asked for.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The journal file could not be written while serving: the journal is
    /// the evidence, so serving on without it would lose attempts.
    #[error("could not write the journal file {}: {message}; the mocks stopped, since the journal is the record of every attempt", path.display())]
    JournalWrite {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        message: String,
    },
}

/// A deployment being served.
#[derive(Debug, Clone)]
pub struct RunningDeployment {
    /// Deployment id.
    pub id: String,
    /// Dialect it speaks.
    pub dialect: Dialect,
    /// Where it listens (always 127.0.0.1).
    pub addr: SocketAddr,
    /// Set once the deployment has recovered: its faults stop firing.
    healed: Arc<AtomicBool>,
    /// Faults armed while serving, in place of the spec's.
    armed: Armed,
    /// Attempts begun and not yet journaled.
    in_flight: Arc<AtomicU64>,
}

/// Faults armed on a running deployment ([`RunningDeployment::arm`]).
type Armed = Arc<std::sync::Mutex<Option<Arc<Vec<FaultRule>>>>>;

impl RunningDeployment {
    /// `http://127.0.0.1:PORT`, without a trailing slash or path.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL replica `n` of a gateway calls this deployment at: the
    /// same server, with a path prefix it strips and journals as the
    /// attempt's `replica`, so an attempt says which replica sent it.
    pub fn replica_base_url(&self, n: u32) -> String {
        replica_base(&self.base_url(), n)
    }

    /// The outage is over: from the next attempt on, the deployment serves
    /// as if it had no faults (its context window stays). A drill uses it
    /// to see what the router does once a provider has recovered.
    pub fn heal(&self) {
        self.healed.store(true, Ordering::SeqCst);
    }

    /// Whether [`RunningDeployment::heal`] was called.
    pub fn is_healed(&self) -> bool {
        self.healed.load(Ordering::SeqCst)
    }

    /// From the next attempt on, the deployment fails with these faults
    /// instead of its spec's. Schedules count the deployment's attempts
    /// since it started, so arm it before its traffic: `crossfire explore`
    /// arms a fresh copy of each deployment per case, in a gateway that
    /// was started before the case's faults were drawn.
    pub fn arm(&self, faults: Vec<FaultRule>) {
        *self.armed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(faults));
    }

    /// Attempts it has begun and not yet journaled: a caller that reads the
    /// journal while the set keeps serving waits for this to reach zero.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }
}

struct DeploymentState {
    spec: DeploymentSpec,
    healed: Arc<AtomicBool>,
    armed: Armed,
    in_flight: Arc<AtomicU64>,
    attempts: AtomicU64,
    journal: Arc<Journal>,
}

/// A running set of mock deployments sharing one journal.
///
/// Dropping it stops every listener and connection; [`MockSet::shutdown`]
/// also waits for in-flight attempts to be journaled.
///
/// ```no_run
/// # async fn demo() -> Result<(), mock_providers::MockError> {
/// use mock_providers::{DeploymentSpec, Dialect, Fault, FailureClass, JournalConfig, MockSet, Schedule};
/// let mocks = MockSet::start(
///     vec![
///         DeploymentSpec::new("claude", Dialect::Anthropic)
///             .fault(Fault::new(FailureClass::RateLimit), Schedule::Always),
///         DeploymentSpec::new("gpt", Dialect::Openai),
///     ],
///     JournalConfig::default(),
/// )
/// .await?;
/// println!("anthropic mock at {}", mocks.get("claude").unwrap().base_url());
/// mocks.shutdown().await;
/// # Ok(()) }
/// ```
pub struct MockSet {
    journal: Arc<Journal>,
    deployments: Vec<RunningDeployment>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl std::fmt::Debug for MockSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockSet")
            .field("deployments", &self.deployments)
            .finish()
    }
}

impl MockSet {
    /// Binds one listener per deployment on `127.0.0.1:0` and starts serving.
    pub async fn start(
        specs: Vec<DeploymentSpec>,
        journal: JournalConfig,
    ) -> Result<MockSet, MockError> {
        let path = journal.file.clone().unwrap_or_default();
        let journal =
            Journal::open(journal).map_err(|source| MockError::Journal { path, source })?;
        MockSet::start_with_journal(specs, journal).await
    }

    /// Like [`MockSet::start`], writing into an existing journal.
    pub async fn start_with_journal(
        specs: Vec<DeploymentSpec>,
        journal: Arc<Journal>,
    ) -> Result<MockSet, MockError> {
        let mut seen = std::collections::HashSet::new();
        for spec in &specs {
            if !seen.insert(spec.id.clone()) {
                return Err(MockError::DuplicateId(spec.id.clone()));
            }
        }
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let mut deployments = Vec::with_capacity(specs.len());
        let mut listeners = Vec::with_capacity(specs.len());
        for spec in specs {
            let listener = TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(|source| MockError::Bind {
                    id: spec.id.clone(),
                    source,
                })?;
            let addr = listener.local_addr().map_err(|source| MockError::Bind {
                id: spec.id.clone(),
                source,
            })?;
            let healed = Arc::new(AtomicBool::new(false));
            let armed = Armed::default();
            let in_flight = Arc::new(AtomicU64::new(0));
            deployments.push(RunningDeployment {
                id: spec.id.clone(),
                dialect: spec.dialect,
                addr,
                healed: healed.clone(),
                armed: armed.clone(),
                in_flight: in_flight.clone(),
            });
            listeners.push((listener, spec, healed, armed, in_flight));
        }
        for (listener, spec, healed, armed, in_flight) in listeners {
            let state = Arc::new(DeploymentState {
                spec,
                healed,
                armed,
                in_flight,
                attempts: AtomicU64::new(0),
                journal: journal.clone(),
            });
            tracker.spawn(accept_loop(
                listener,
                state,
                shutdown.clone(),
                tracker.clone(),
            ));
        }
        Ok(MockSet {
            journal,
            deployments,
            shutdown,
            tracker,
        })
    }

    /// The deployments being served, in the order given.
    pub fn deployments(&self) -> &[RunningDeployment] {
        &self.deployments
    }

    /// A deployment by id.
    pub fn get(&self, id: &str) -> Option<&RunningDeployment> {
        self.deployments.iter().find(|d| d.id == id)
    }

    /// The shared journal.
    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    /// A token that stops the set when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops listening, ends every connection (stalled ones too), waits up to
    /// five seconds for in-flight attempts to reach the journal, and flushes it.
    pub async fn shutdown(self) -> Arc<Journal> {
        self.shutdown.cancel();
        self.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.tracker.wait()).await;
        if let Err(e) = self.journal.flush() {
            tracing::warn!("journal flush failed: {e}");
        }
        self.journal.clone()
    }
}

impl Drop for MockSet {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<DeploymentState>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                tracker.spawn(serve_connection(stream, state.clone(), shutdown.clone()));
            }
            Err(e) => {
                // Out of file descriptors and the like: back off, keep serving.
                tracing::warn!(deployment = %state.spec.id, "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The reason a service call aborts its connection.
#[derive(Debug)]
struct AbortConnection(&'static str);

impl std::fmt::Display for AbortConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for AbortConnection {}

async fn serve_connection(
    stream: TcpStream,
    state: Arc<DeploymentState>,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    // A second handle on the socket, so a reset can set SO_LINGER=0 on it while
    // hyper owns the stream; the RST goes out when both handles are closed.
    let twin = match socket2::SockRef::from(&stream).try_clone() {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::warn!("could not duplicate a socket handle: {e}");
            return;
        }
    };
    let service = {
        let shutdown = shutdown.clone();
        service_fn(move |req| handle(req, state.clone(), twin.clone(), shutdown.clone()))
    };
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = shutdown.cancelled() => {}
    }
}

/// Writes the journal record of one attempt when dropped: whether the answer
/// finished, was cut, or the connection went away first.
struct Recorder {
    journal: Arc<Journal>,
    attempt: Option<Attempt>,
    /// The deployment's count of attempts not yet journaled.
    in_flight: Arc<AtomicU64>,
}

impl Recorder {
    fn attempt(&mut self) -> &mut Attempt {
        // The record is only taken on drop, so it is always there before.
        self.attempt.get_or_insert_with(blank_attempt)
    }
}

/// The path prefix of replica `n`'s base URL.
const REPLICA_PREFIX: &str = "/crossfire-replica-";

/// `base` as replica `n` of a gateway calls it.
pub fn replica_base(base: &str, n: u32) -> String {
    format!("{}{REPLICA_PREFIX}{n}", base.trim_end_matches('/'))
}

/// The replica a request path names, and the path without its prefix.
fn split_replica(path: &str) -> (Option<u32>, &str) {
    let Some(rest) = path.strip_prefix(REPLICA_PREFIX) else {
        return (None, path);
    };
    let (n, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match n.parse::<u32>() {
        Ok(n) if tail.starts_with('/') => (Some(n), tail),
        Ok(n) if tail.is_empty() => (Some(n), "/"),
        _ => (None, path),
    }
}

fn blank_attempt() -> Attempt {
    Attempt {
        seq: 0,
        attempt: 0,
        traffic: Traffic::Completion,
        deployment: String::new(),
        dialect: Dialect::Openai,
        method: String::new(),
        path: String::new(),
        model: None,
        marker: None,
        stream: false,
        bytes_in: 0,
        prompt_tokens: None,
        token_counter: None,
        max_tokens: None,
        outcome: Outcome::Refused,
        cause: None,
        status: None,
        usage: None,
        bytes_out: 0,
        events_sent: 0,
        completed: false,
        replica: None,
        received_unix_ms: 0,
        received_us: 0,
        first_byte_us: None,
        finished_us: 0,
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(mut attempt) = self.attempt.take() {
            attempt.finished_us = self.journal.now_us();
            self.journal.record(attempt);
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<DeploymentState>,
    twin: Arc<socket2::Socket>,
    shutdown: CancellationToken,
) -> Result<Response<MockBody>, AbortConnection> {
    let journal = &state.journal;
    let seq = journal.next_seq();
    let received_us = journal.now_us();
    let received_unix_ms = unix_ms();
    let (parts, body) = req.into_parts();
    let (replica, path) = split_replica(parts.uri.path());
    let path = path.to_string();
    let query = parts.uri.query().map(str::to_string);
    state.in_flight.fetch_add(1, Ordering::SeqCst);
    let mut recorder = Recorder {
        journal: journal.clone(),
        in_flight: state.in_flight.clone(),
        attempt: Some(Attempt {
            seq,
            deployment: state.spec.id.clone(),
            dialect: state.spec.dialect,
            method: parts.method.to_string(),
            path: match &query {
                Some(q) => format!("{path}?{q}"),
                None => path.clone(),
            },
            replica,
            received_unix_ms,
            received_us,
            ..blank_attempt()
        }),
    };
    let body = tokio::select! {
        collected = Limited::new(body, MAX_REQUEST_BYTES).collect() => match collected {
            Ok(c) => c.to_bytes(),
            Err(_) => return Err(AbortConnection("request body unreadable or over 64 MiB")),
        },
        _ = shutdown.cancelled() => {
            // The mocks stopped before this request's body arrived: the
            // provider never saw what was asked, so it is no attempt (an
            // interrupted run would count it as one no request claims).
            recorder.attempt.take();
            return Err(AbortConnection("shutting down"));
        }
    };
    let since_start = Duration::from_micros(received_us);
    let incoming = IncomingRequest {
        method: parts.method.as_str(),
        path: &path,
        query: query.as_deref(),
        body: &body,
    };
    // Schedules count completion attempts only: side traffic (LiteLLM's
    // `GET /v1/models` at start) and unserved endpoints never advance them.
    let endpoint = request::endpoint(state.spec.dialect, &incoming);
    let traffic = endpoint.traffic();
    let attempt_no = match traffic {
        Traffic::Completion => state.attempts.fetch_add(1, Ordering::Relaxed) + 1,
        Traffic::Side | Traffic::Unserved => 0,
    };
    let ctx = AttemptContext {
        seq,
        attempt: attempt_no,
        since_start,
        now_unix: received_unix_ms / 1000,
    };
    let armed = state
        .armed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let replaced;
    let spec = if state.healed.load(Ordering::SeqCst) {
        replaced = DeploymentSpec {
            faults: Vec::new(),
            ..state.spec.clone()
        };
        &replaced
    } else if let Some(faults) = armed {
        replaced = DeploymentSpec {
            faults: faults.as_ref().clone(),
            ..state.spec.clone()
        };
        &replaced
    } else {
        &state.spec
    };
    let plan = plan::plan_at(spec, endpoint, &incoming, &ctx);
    {
        let a = recorder.attempt();
        a.attempt = attempt_no;
        a.traffic = traffic;
        a.marker = find_marker(&body);
        a.bytes_in = body.len() as u64;
        a.outcome = plan.outcome;
        a.cause = plan.cause;
        a.usage = plan.usage;
        if let Some(p) = &plan.request {
            a.model = Some(p.model.clone());
            a.stream = p.stream;
            a.prompt_tokens = Some(p.prompt_tokens);
            a.token_counter = Some(p.counter);
            a.max_tokens = p.max_tokens;
        }
    }
    if !plan.delay.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(plan.delay) => {}
            _ = shutdown.cancelled() => return Err(AbortConnection("shutting down")),
        }
    }
    let (body, content_length) = match plan.delivery {
        Delivery::Reset => {
            let _ = twin.set_linger(Some(Duration::ZERO));
            return Err(AbortConnection("connection_reset fault"));
        }
        // Nothing is sent until the mocks shut down. A client that goes away
        // first closes the connection: hyper then drops this future and the
        // recorder journals the attempt (no status, no first byte).
        Delivery::Hang => {
            shutdown.cancelled().await;
            return Err(AbortConnection("shutting down"));
        }
        Delivery::Body(bytes) => (BodyState::Full(Some(bytes)), None),
        // Content-Length promises the whole body; only `keep` bytes follow.
        Delivery::Truncated { body, keep } => (
            BodyState::Truncated(Some(body.slice(..keep))),
            Some(body.len()),
        ),
        Delivery::Events {
            events,
            interval,
            first_delay,
            end,
        } => (
            BodyState::Events {
                events: events.into(),
                interval,
                // The headers go out at once; the first event waits.
                sleep: (!first_delay.is_zero()).then(|| Box::pin(tokio::time::sleep(first_delay))),
                sent_any: false,
                end,
            },
            None,
        ),
    };
    respond(
        plan.status,
        &plan.headers,
        content_length,
        body,
        recorder,
        &shutdown,
        journal,
    )
}

fn respond(
    status: u16,
    headers: &[(&'static str, String)],
    content_length: Option<usize>,
    state: BodyState,
    mut recorder: Recorder,
    shutdown: &CancellationToken,
    journal: &Journal,
) -> Result<Response<MockBody>, AbortConnection> {
    recorder.attempt().status = Some(status);
    recorder.attempt().first_byte_us = Some(journal.now_us());
    let mut response = Response::new(MockBody {
        state,
        recorder,
        cancelled: Box::pin(shutdown.clone().cancelled_owned()),
    });
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            map.append(HeaderName::from_static(name), v);
        }
    }
    if let Some(len) = content_length {
        map.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    Ok(response)
}

enum BodyState {
    Full(Option<Bytes>),
    Truncated(Option<Bytes>),
    Events {
        events: VecDeque<Bytes>,
        interval: Duration,
        sleep: Option<Pin<Box<Sleep>>>,
        sent_any: bool,
        end: StreamEnd,
    },
    /// Waiting for what was sent to be flushed before the connection is cut.
    Closing(Pin<Box<Sleep>>),
    Done,
}

/// Hyper drops its write buffer when a body fails, so a cut first pauses: the
/// bytes sent so far reach the client, then the connection closes unfinished.
fn closing() -> BodyState {
    BodyState::Closing(Box::pin(tokio::time::sleep(Duration::from_millis(5))))
}

/// A response body that performs the plan's byte-level actions and journals
/// the attempt when it ends or is dropped.
pub struct MockBody {
    state: BodyState,
    recorder: Recorder,
    cancelled: Pin<Box<WaitForCancellationFutureOwned>>,
}

fn abort(reason: &'static str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionAborted, reason)
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                BodyState::Full(bytes) => {
                    let Some(bytes) = bytes.take() else {
                        this.state = BodyState::Done;
                        continue;
                    };
                    let a = this.recorder.attempt();
                    a.bytes_out += bytes.len() as u64;
                    a.completed = true;
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                BodyState::Truncated(bytes) => match bytes.take() {
                    Some(bytes) => {
                        this.recorder.attempt().bytes_out += bytes.len() as u64;
                        return Poll::Ready(Some(Ok(Frame::data(bytes))));
                    }
                    None => this.state = closing(),
                },
                BodyState::Events {
                    events,
                    interval,
                    sleep,
                    sent_any,
                    end,
                } => {
                    if let Some(timer) = sleep.as_mut() {
                        if this.cancelled.as_mut().poll(cx).is_ready() {
                            this.state = BodyState::Done;
                            return Poll::Ready(Some(Err(abort("shutting down"))));
                        }
                        match timer.as_mut().poll(cx) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(()) => *sleep = None,
                        }
                    } else if *sent_any && !events.is_empty() && !interval.is_zero() {
                        *sleep = Some(Box::pin(tokio::time::sleep(*interval)));
                        continue;
                    }
                    if let Some(event) = events.pop_front() {
                        *sent_any = true;
                        let a = this.recorder.attempt();
                        a.bytes_out += event.len() as u64;
                        a.events_sent += 1;
                        if events.is_empty() && *end == StreamEnd::Finish {
                            a.completed = true;
                        }
                        return Poll::Ready(Some(Ok(Frame::data(event))));
                    }
                    match end {
                        StreamEnd::Finish => {
                            this.recorder.attempt().completed = true;
                            this.state = BodyState::Done;
                        }
                        StreamEnd::Close => this.state = closing(),
                        StreamEnd::Stall => {
                            return match this.cancelled.as_mut().poll(cx) {
                                Poll::Ready(()) => {
                                    this.state = BodyState::Done;
                                    Poll::Ready(Some(Err(abort("shutting down"))))
                                }
                                Poll::Pending => Poll::Pending,
                            };
                        }
                    }
                }
                BodyState::Closing(timer) => {
                    if timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.state = BodyState::Done;
                    return Poll::Ready(Some(Err(abort(
                        "stream_cut: connection closed mid-answer",
                    ))));
                }
                BodyState::Done => return Poll::Ready(None),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, BodyState::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.state {
            BodyState::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            BodyState::Full(None) | BodyState::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod replica_tests {
    use super::*;

    #[test]
    fn a_replica_prefix_is_read_and_stripped() {
        assert_eq!(
            split_replica("/crossfire-replica-2/v1/chat/completions"),
            (Some(2), "/v1/chat/completions")
        );
        assert_eq!(split_replica("/crossfire-replica-12"), (Some(12), "/"));
        assert_eq!(
            split_replica("/v1/chat/completions"),
            (None, "/v1/chat/completions")
        );
        // Not a number, or glued to the next segment: not a prefix.
        assert_eq!(
            split_replica("/crossfire-replica-x/v1"),
            (None, "/crossfire-replica-x/v1")
        );
        assert_eq!(
            split_replica("/crossfire-replica-2v1"),
            (None, "/crossfire-replica-2v1")
        );
        assert_eq!(
            replica_base("http://127.0.0.1:9/", 3),
            "http://127.0.0.1:9/crossfire-replica-3"
        );
    }
}
