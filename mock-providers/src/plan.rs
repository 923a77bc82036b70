//! The pure heart of a mock provider: (deployment, request, attempt) -> a
//! response plan (status, headers, body or event stream, byte-level action).
//!
//! Nothing here touches a socket or a clock: the attempt number and times come
//! in through [`AttemptContext`], so every plan is reproducible and testable.

use crate::dialect::{Dialect, Wire};
use crate::error_answers::{self, Answer, ErrorContext};
use crate::fault::{first_firing, FailureClass, Fault, FaultRule, Schedule};
use crate::models;
use crate::request::{
    self, Api, Endpoint, IncomingRequest, ParsedRequest, RequestProblem, Route, Traffic,
};
use crate::side;
use crate::success::{self, Reply, StreamParts, Usage};
use crate::tokens::TokenCounter;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One mock deployment: which API it speaks and how it fails.
///
/// Building a spec has no side effects; start it with
/// [`MockSet::start`](crate::MockSet::start) or serve it through the wiremock
/// adapter.
///
/// ```
/// use mock_providers::{DeploymentSpec, Dialect, Fault, FailureClass, Schedule};
/// let spec = DeploymentSpec::new("claude-primary", Dialect::Anthropic)
///     .fault(Fault::new(FailureClass::Overloaded), Schedule::First(2));
/// assert_eq!(spec.faults.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentSpec {
    /// Deployment id, unique in a mock set.
    pub id: String,
    /// The API it speaks.
    pub dialect: Dialect,
    /// Scheduled faults; the first that fires for an attempt wins.
    pub faults: Vec<FaultRule>,
    /// Overrides the model table's context window for every model asked here.
    pub context_window: Option<u64>,
    /// Reply length in content pieces (one stream event each).
    pub reply_pieces: u32,
    /// Pause between stream events.
    pub event_interval: Duration,
    /// Prompt tokens each answer reports as served from cache (capped by the prompt).
    pub cached_tokens: u64,
    /// Reasoning tokens each answer reports; `None` uses the model's habit
    /// (64 for reasoning models: o-series, GPT-5, Gemini 2.5; 0 otherwise).
    pub reasoning_tokens: Option<u64>,
}

impl DeploymentSpec {
    /// Default number of reply pieces.
    pub const DEFAULT_REPLY_PIECES: u32 = 6;
    /// Default pause between stream events.
    pub const DEFAULT_EVENT_INTERVAL: Duration = Duration::from_millis(2);

    /// A healthy deployment of this dialect.
    pub fn new(id: impl Into<String>, dialect: Dialect) -> DeploymentSpec {
        DeploymentSpec {
            id: id.into(),
            dialect,
            faults: Vec::new(),
            context_window: None,
            reply_pieces: DeploymentSpec::DEFAULT_REPLY_PIECES,
            event_interval: DeploymentSpec::DEFAULT_EVENT_INTERVAL,
            cached_tokens: 0,
            reasoning_tokens: None,
        }
    }

    /// Adds a scheduled fault (after the ones already there).
    pub fn fault(mut self, fault: Fault, schedule: Schedule) -> DeploymentSpec {
        self.faults.push(FaultRule { fault, schedule });
        self
    }

    /// Overrides the context window.
    pub fn context_window(mut self, tokens: u64) -> DeploymentSpec {
        self.context_window = Some(tokens);
        self
    }

    /// Sets the pause between stream events.
    pub fn event_interval(mut self, interval: Duration) -> DeploymentSpec {
        self.event_interval = interval;
        self
    }
}

/// Facts about the attempt being answered, supplied by the front end.
#[derive(Debug, Clone, Copy)]
pub struct AttemptContext {
    /// Global sequence number across all mocks of a set.
    pub seq: u64,
    /// Attempt number on this deployment, from 1.
    pub attempt: u64,
    /// Time since the mock set started.
    pub since_start: Duration,
    /// Wall clock, Unix seconds.
    pub now_unix: u64,
}

/// Why an attempt failed, when it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// A scheduled fault fired.
    Scheduled,
    /// The prompt did not fit the model's context window; nothing was scheduled.
    Natural,
}

/// How an attempt ended, as the journal records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A normal answer.
    Served,
    /// A failure class was answered.
    Fault(FailureClass),
    /// The request itself was refused (unknown path, bad JSON, missing field).
    Refused,
}

impl Outcome {
    /// `served`, `refused`, or the failure class name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Served => "served",
            Outcome::Refused => "refused",
            Outcome::Fault(class) => class.name(),
        }
    }
}

/// How the bytes of a response are delivered.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// One whole body.
    Body(Bytes),
    /// Declares the whole body's length, sends the first `keep` bytes, then
    /// closes the connection.
    Truncated {
        /// The body whose length is declared.
        body: Bytes,
        /// Bytes actually sent.
        keep: usize,
    },
    /// An event stream, paced, ending as `end` says.
    Events {
        /// Events in order, framing included.
        events: Vec<Bytes>,
        /// Pause before each event after the first.
        interval: Duration,
        /// Pause between the headers and the first event.
        first_delay: Duration,
        /// What happens after the last event.
        end: StreamEnd,
    },
    /// The connection is reset (RST) before any response.
    Reset,
    /// Nothing is sent and the connection stays open: no status, no headers,
    /// until the mocks shut down or the client goes away.
    Hang,
}

/// What happens after the last event of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The response ends normally.
    Finish,
    /// The connection closes with the response unfinished.
    Close,
    /// Nothing more is sent; the connection stays open.
    Stall,
}

/// A complete response plan for one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// HTTP status (meaningless for [`Delivery::Reset`]).
    pub status: u16,
    /// Response headers, content type included.
    pub headers: Vec<(&'static str, String)>,
    /// Wait before the response starts.
    pub delay: Duration,
    /// Body and byte-level action.
    pub delivery: Delivery,
    /// How the journal records this attempt.
    pub outcome: Outcome,
    /// Why it failed, if it did.
    pub cause: Option<Cause>,
    /// What the request asked for, if it could be read.
    pub request: Option<ParsedRequest>,
    /// Usage reported to the client, for served answers.
    pub usage: Option<Usage>,
    /// What the request was: a completion attempt, side traffic, or unserved.
    pub traffic: Traffic,
}

/// Reasoning tokens a model reports by habit.
fn habitual_reasoning(model: &str) -> u64 {
    let bare = models::bare_model(model);
    let reasoning = ["o1", "o3", "o4", "gpt-5", "gemini-2.5", "deepseek-reasoner"]
        .iter()
        .any(|p| bare.starts_with(p));
    if reasoning {
        64
    } else {
        0
    }
}

/// Decides the response to one request.
///
/// `ctx.attempt` counts completion attempts only: a front end reads the
/// request's [`Endpoint`] first and advances its counter only for
/// [`Traffic::Completion`] (see [`plan_at`]).
pub fn plan(spec: &DeploymentSpec, req: &IncomingRequest<'_>, ctx: &AttemptContext) -> Plan {
    plan_at(spec, request::endpoint(spec.dialect, req), req, ctx)
}

/// Decides the response to a request whose endpoint is already known.
pub fn plan_at(
    spec: &DeploymentSpec,
    endpoint: Endpoint,
    req: &IncomingRequest<'_>,
    ctx: &AttemptContext,
) -> Plan {
    let dialect = spec.dialect;
    let request_id = request_id(dialect, ctx.seq);
    match endpoint {
        Endpoint::Completion(Ok(route)) => completion(spec, route, req, ctx, &request_id),
        Endpoint::Completion(Err(problem)) => refused(dialect, &problem, req, &request_id),
        Endpoint::Side(endpoint) => {
            let (answer, parsed) =
                side::answer(dialect, &endpoint, req, &request_id, spec.context_window);
            let outcome = if answer.status == 200 {
                Outcome::Served
            } else {
                Outcome::Refused
            };
            let mut plan = from_answer(answer, outcome);
            plan.traffic = Traffic::Side;
            plan.request = parsed;
            plan
        }
        Endpoint::Unserved => {
            let mut plan = refused(dialect, &RequestProblem::UnknownEndpoint, req, &request_id);
            plan.traffic = Traffic::Unserved;
            plan
        }
    }
}

/// The plan for a completion attempt: a scheduled fault, a natural overflow,
/// or a served answer.
fn completion(
    spec: &DeploymentSpec,
    route: Route,
    req: &IncomingRequest<'_>,
    ctx: &AttemptContext,
    request_id: &str,
) -> Plan {
    let dialect = spec.dialect;
    let parsed = match request::parse_route(route, req) {
        Ok(p) => p,
        Err(problem) => return refused(dialect, &problem, req, request_id),
    };
    let window = models::context_window(&parsed.model, spec.context_window);
    let scheduled = first_firing(&spec.faults, ctx.attempt, ctx.since_start).cloned();
    let requested = parsed.prompt_tokens + parsed.max_tokens.unwrap_or(0);
    // Chat completions count the completion share against the window; the
    // Responses API and the other dialects reject only an input over it.
    let overflows = match (dialect.wire(), parsed.api) {
        (Wire::OpenaiChat | Wire::AzureChat, Api::Native) => {
            parsed.prompt_tokens > window || requested > window
        }
        _ => parsed.prompt_tokens > window,
    };
    let (fault, cause) = match scheduled {
        Some(f) => (Some(f), Some(Cause::Scheduled)),
        None if overflows => (
            Some(Fault::new(FailureClass::ContextOverflow)),
            Some(Cause::Natural),
        ),
        None => (None, None),
    };
    let marker = request::find_marker(req.body);
    let reply = reply(spec, &parsed, marker.as_deref(), ctx);
    let mut plan = match &fault {
        None => served(dialect, &parsed, &reply, spec.event_interval),
        Some(fault) => faulted(
            dialect, fault, &parsed, &reply, spec, ctx, window, request_id,
        ),
    };
    // A fault with nothing to do on this answer (`no_done` where there is no
    // terminator) serves it whole: the journal says `served`, with no cause.
    plan.cause = if plan.outcome == Outcome::Served {
        None
    } else {
        cause
    };
    plan.headers.extend(success_ids(dialect, request_id, &plan));
    plan.request = Some(parsed);
    plan
}

/// Request-id headers every answer of the dialect carries, unless the error
/// answer already set them.
fn success_ids(dialect: Dialect, request_id: &str, plan: &Plan) -> Vec<(&'static str, String)> {
    let name = match dialect {
        Dialect::Anthropic => "request-id",
        Dialect::Azure => "apim-request-id",
        Dialect::Gemini => return vec![],
        _ => "x-request-id",
    };
    if plan.headers.iter().any(|(h, _)| *h == name) {
        vec![]
    } else {
        vec![(name, request_id.to_string())]
    }
}

/// A request id in the dialect's style, derived from the sequence number.
pub fn request_id(dialect: Dialect, seq: u64) -> String {
    match dialect {
        Dialect::Anthropic => format!("req_011CXf{seq:016x}"),
        Dialect::Azure => format!("00000000-0000-4000-8000-{seq:012x}"),
        _ => format!("req_xf{seq:026x}"),
    }
}

fn response_id(dialect: Dialect, api: Api, seq: u64) -> String {
    if api == Api::Responses {
        return format!("resp_0xf{seq:045x}");
    }
    match dialect.wire() {
        Wire::AnthropicMessages => format!("msg_01XF{seq:020x}"),
        Wire::Gemini => format!("xf{seq:x}"),
        Wire::OpenaiChat | Wire::AzureChat => format!("chatcmpl-XF{seq:027x}"),
    }
}

/// The reply a served attempt sends: it names the deployment and echoes the
/// request marker, so a client can tell who answered.
fn reply(
    spec: &DeploymentSpec,
    parsed: &ParsedRequest,
    marker: Option<&str>,
    ctx: &AttemptContext,
) -> ReplyOwned {
    let pieces_wanted = spec.reply_pieces.max(1) as usize;
    let head = match marker {
        Some(m) => format!(
            "crossfire mock {} ({}) answers [{m}]:",
            spec.id, spec.dialect
        ),
        None => format!("crossfire mock {} ({}) answers:", spec.id, spec.dialect),
    };
    let mut pieces = Vec::with_capacity(pieces_wanted);
    pieces.push(head);
    pieces.extend((1..pieces_wanted).map(|i| format!(" ok{i}")));
    let visible = reply_tokens(parsed.counter, &pieces);
    let reasoning = spec
        .reasoning_tokens
        .unwrap_or_else(|| habitual_reasoning(&parsed.model));
    let usage = Usage {
        prompt_tokens: parsed.prompt_tokens,
        completion_tokens: visible + reasoning,
        cached_tokens: spec.cached_tokens.min(parsed.prompt_tokens),
        reasoning_tokens: reasoning,
    };
    ReplyOwned {
        id: response_id(spec.dialect, parsed.api, ctx.seq),
        model: parsed.model.clone(),
        created: ctx.now_unix,
        pieces,
        usage,
        include_usage: parsed.include_usage,
        sse: parsed.sse,
        api: parsed.api,
        max_output_tokens: parsed.max_tokens,
    }
}

/// Tokens of the reply text (`pieces` joined). Only the marker changes between
/// answers of one deployment: under tiktoken it is counted on its own and the
/// rest through the counter's memo. The marker (` [xf:..]:`) starts with a
/// space and a bracket and ends with punctuation before a space or the end, so
/// it is whole pre-tokens and the two counts add up to the count of the whole
/// text. chars/4 rounds up, so a split would not add up: it counts the whole.
fn reply_tokens(counter: TokenCounter, pieces: &[String]) -> u64 {
    let Some((head, rest)) = pieces.split_first() else {
        return 0;
    };
    match head.find(" [xf:") {
        Some(i) if counter != TokenCounter::ApproxChars4 => {
            let (before, marker) = head.split_at(i);
            let mut fixed =
                String::with_capacity(before.len() + rest.iter().map(String::len).sum::<usize>());
            fixed.push_str(before);
            rest.iter().for_each(|piece| fixed.push_str(piece));
            counter.count_remembered(&fixed) + counter.count_plain(marker)
        }
        _ => counter.count_remembered(&pieces.concat()),
    }
}

struct ReplyOwned {
    id: String,
    model: String,
    created: u64,
    pieces: Vec<String>,
    usage: Usage,
    include_usage: bool,
    sse: bool,
    api: Api,
    max_output_tokens: Option<u64>,
}

impl ReplyOwned {
    fn borrow(&self) -> Reply<'_> {
        Reply {
            id: &self.id,
            model: &self.model,
            created: self.created,
            pieces: &self.pieces,
            usage: self.usage,
            include_usage: self.include_usage,
            sse: self.sse,
            api: self.api,
            max_output_tokens: self.max_output_tokens,
        }
    }
}

fn json_headers() -> Vec<(&'static str, String)> {
    vec![("content-type", "application/json".to_string())]
}

fn stream_headers(dialect: Dialect, sse: bool) -> Vec<(&'static str, String)> {
    vec![
        (
            "content-type",
            success::stream_content_type(dialect, sse).to_string(),
        ),
        ("cache-control", "no-cache".to_string()),
    ]
}

fn served(
    dialect: Dialect,
    parsed: &ParsedRequest,
    reply: &ReplyOwned,
    interval: Duration,
) -> Plan {
    let r = reply.borrow();
    let (headers, delivery) = if parsed.stream {
        let parts = success::stream(dialect, &r);
        let events = parts
            .preamble
            .into_iter()
            .chain(parts.content)
            .chain(parts.finale)
            .collect();
        (
            stream_headers(dialect, parsed.sse),
            Delivery::Events {
                events,
                interval,
                first_delay: Duration::ZERO,
                end: StreamEnd::Finish,
            },
        )
    } else {
        (json_headers(), Delivery::Body(success::body(dialect, &r)))
    };
    Plan {
        status: 200,
        headers,
        delay: Duration::ZERO,
        delivery,
        outcome: Outcome::Served,
        cause: None,
        request: None,
        usage: Some(reply.usage),
        traffic: Traffic::Completion,
    }
}

fn from_answer(a: Answer, outcome: Outcome) -> Plan {
    Plan {
        status: a.status,
        headers: a.headers,
        delay: Duration::ZERO,
        delivery: Delivery::Body(a.body),
        outcome,
        cause: None,
        request: None,
        usage: None,
        traffic: Traffic::Completion,
    }
}

/// The events of a stream up to a fault: preamble and the first `n` content events.
fn stream_until(parts: &StreamParts, n: u32) -> Vec<Bytes> {
    parts
        .preamble
        .iter()
        .chain(parts.content.iter().take(n as usize))
        .cloned()
        .collect()
}

/// The class a stream error stands for when the request did not stream: the
/// error the dialect's mid-stream event carries.
fn stream_error_class(dialect: Dialect) -> FailureClass {
    match dialect {
        Dialect::Anthropic | Dialect::Gemini => FailureClass::Overloaded,
        _ => FailureClass::ServerError,
    }
}

/// Whether the stream answering this request ends with a terminator, always
/// its last event: OpenAI-style chat (`data: [DONE]`), Anthropic
/// (`message_stop`), the Responses API (`response.completed`), Gemini's
/// JSON-array stream (the closing `]`). Gemini's SSE stream ends with its
/// last chunk and has none.
fn has_terminator(dialect: Dialect, parsed: &ParsedRequest) -> bool {
    !(dialect.wire() == Wire::Gemini && parsed.api == Api::Native && parsed.sse)
}

#[allow(clippy::too_many_arguments)]
fn faulted(
    dialect: Dialect,
    fault: &Fault,
    parsed: &ParsedRequest,
    reply: &ReplyOwned,
    spec: &DeploymentSpec,
    ctx: &AttemptContext,
    window: u64,
    request_id: &str,
) -> Plan {
    use FailureClass::*;
    let class = fault.class;
    let outcome = Outcome::Fault(class);
    let r = reply.borrow();
    let error_ctx = ErrorContext {
        model: &parsed.model,
        prompt_tokens: parsed.prompt_tokens,
        max_tokens: parsed.max_tokens,
        context_window: window,
        fault,
        request_id,
        now_unix: ctx.now_unix,
    };
    let events_plan = |events: Vec<Bytes>, end: StreamEnd| Plan {
        status: 200,
        headers: stream_headers(dialect, parsed.sse),
        delay: Duration::ZERO,
        delivery: Delivery::Events {
            events,
            interval: spec.event_interval,
            first_delay: Duration::ZERO,
            end,
        },
        outcome,
        cause: None,
        request: None,
        usage: None,
        traffic: Traffic::Completion,
    };
    match class {
        Timeout => {
            let mut p = served(dialect, parsed, reply, spec.event_interval);
            p.delay = fault.delay;
            p.outcome = outcome;
            p
        }
        Hang => Plan {
            status: 0,
            headers: vec![],
            delay: Duration::ZERO,
            delivery: Delivery::Hang,
            outcome,
            cause: None,
            request: None,
            usage: None,
            traffic: Traffic::Completion,
        },
        SlowFirstToken if parsed.stream => {
            let mut p = served(dialect, parsed, reply, spec.event_interval);
            if let Delivery::Events { first_delay, .. } = &mut p.delivery {
                *first_delay = fault.delay;
            }
            p.outcome = outcome;
            p
        }
        // A non-stream answer is sent when it is generated: all of it late.
        SlowFirstToken => {
            let mut p = served(dialect, parsed, reply, spec.event_interval);
            p.delay = fault.delay;
            p.outcome = outcome;
            p
        }
        NoDone if parsed.stream => {
            if !has_terminator(dialect, parsed) {
                // Nothing to leave out: the stream goes out whole, as served.
                return served(dialect, parsed, reply, spec.event_interval);
            }
            let parts = success::stream(dialect, &r);
            let mut finale = parts.finale;
            finale.pop();
            let events = parts
                .preamble
                .into_iter()
                .chain(parts.content)
                .chain(finale)
                .collect();
            let mut p = events_plan(events, StreamEnd::Finish);
            p.usage = Some(reply.usage);
            p
        }
        // A non-stream body has no terminator to leave out.
        NoDone => served(dialect, parsed, reply, spec.event_interval),
        MalformedEvent if parsed.stream => {
            let parts = success::stream(dialect, &r);
            let keep = (fault.after_events as usize).min(parts.content.len());
            let mut events: Vec<Bytes> = parts.preamble.clone();
            events.extend(parts.content[..keep].iter().cloned());
            events.push(success::malformed_event(dialect, &r));
            events.extend(parts.content[keep..].iter().cloned());
            events.extend(parts.finale);
            let mut p = events_plan(events, StreamEnd::Finish);
            p.usage = Some(reply.usage);
            p
        }
        MalformedEvent => Plan {
            status: 200,
            headers: json_headers(),
            delay: Duration::ZERO,
            delivery: Delivery::Body(success::malformed_body(dialect, &r)),
            outcome,
            cause: None,
            request: None,
            usage: None,
            traffic: Traffic::Completion,
        },
        ConnectionReset => Plan {
            status: 0,
            headers: vec![],
            delay: Duration::ZERO,
            delivery: Delivery::Reset,
            outcome,
            cause: None,
            request: None,
            usage: None,
            traffic: Traffic::Completion,
        },
        Malformed if parsed.stream => {
            let parts = success::stream(dialect, &r);
            let mut events = stream_until(&parts, fault.after_events);
            events.push(success::malformed_event(dialect, &r));
            events.extend(parts.finale);
            events_plan(events, StreamEnd::Finish)
        }
        Malformed => Plan {
            status: 200,
            headers: json_headers(),
            delay: Duration::ZERO,
            delivery: Delivery::Body(success::malformed_body(dialect, &r)),
            outcome,
            cause: None,
            request: None,
            usage: None,
            traffic: Traffic::Completion,
        },
        StreamCut if parsed.stream => events_plan(
            stream_until(&success::stream(dialect, &r), fault.after_events),
            StreamEnd::Close,
        ),
        StreamCut => {
            let body = success::body(dialect, &r);
            let keep = body.len() / 2;
            Plan {
                status: 200,
                headers: json_headers(),
                delay: Duration::ZERO,
                delivery: Delivery::Truncated { body, keep },
                outcome,
                cause: None,
                request: None,
                usage: None,
                traffic: Traffic::Completion,
            }
        }
        Stall if parsed.stream => events_plan(
            stream_until(&success::stream(dialect, &r), fault.after_events),
            StreamEnd::Stall,
        ),
        Stall => {
            let body = success::body(dialect, &r);
            let half = body.slice(..body.len() / 2);
            let mut p = events_plan(vec![half], StreamEnd::Stall);
            p.headers = json_headers();
            p
        }
        StreamError if parsed.stream => {
            let mut events = stream_until(&success::stream(dialect, &r), fault.after_events);
            let failure = match parsed.api {
                Api::Responses => success::responses_failed_event(&r, events.len() as u64),
                Api::Native => error_answers::stream_error_event(dialect, request_id),
            };
            events.push(failure);
            events_plan(events, StreamEnd::Finish)
        }
        StreamError => from_answer(
            error_answers::error_answer(dialect, stream_error_class(dialect), &error_ctx),
            outcome,
        ),
        ContextOverflow if parsed.api == Api::Responses => from_answer(
            error_answers::responses_overflow_answer(dialect, request_id),
            outcome,
        ),
        _ => from_answer(
            error_answers::error_answer(dialect, class, &error_ctx),
            outcome,
        ),
    }
}

fn refused(
    dialect: Dialect,
    problem: &RequestProblem,
    req: &IncomingRequest<'_>,
    request_id: &str,
) -> Plan {
    let a =
        error_answers::request_problem_answer(dialect, problem, req.method, req.path, request_id);
    from_answer(a, Outcome::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(attempt: u64) -> AttemptContext {
        AttemptContext {
            seq: attempt,
            attempt,
            since_start: Duration::ZERO,
            now_unix: 1_795_587_318,
        }
    }

    fn openai_req(body: &[u8]) -> IncomingRequest<'_> {
        IncomingRequest {
            method: "POST",
            path: "/v1/chat/completions",
            query: None,
            body,
        }
    }

    #[test]
    fn scheduled_fault_then_served() {
        let spec = DeploymentSpec::new("a", Dialect::Openai)
            .fault(Fault::new(FailureClass::RateLimit), Schedule::First(1));
        let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi [xf:r:1]"}]}"#;
        let first = plan(&spec, &openai_req(body), &ctx(1));
        assert_eq!(first.status, 429);
        assert_eq!(first.outcome, Outcome::Fault(FailureClass::RateLimit));
        assert_eq!(first.cause, Some(Cause::Scheduled));
        let second = plan(&spec, &openai_req(body), &ctx(2));
        assert_eq!(second.status, 200);
        assert_eq!(second.outcome, Outcome::Served);
        assert!(second.usage.is_some());
    }

    #[test]
    fn natural_overflow_uses_real_counts() {
        let spec = DeploymentSpec::new("a", Dialect::Openai);
        let prompt = crate::tokens::filler(9000);
        let body = serde_json::json!({"model": "gpt-4", "messages": [{"role": "user", "content": prompt}]}).to_string();
        let p = plan(&spec, &openai_req(body.as_bytes()), &ctx(1));
        assert_eq!(p.status, 400);
        assert_eq!(p.cause, Some(Cause::Natural));
        let Delivery::Body(b) = &p.delivery else {
            panic!("body expected")
        };
        let text = std::str::from_utf8(b).unwrap();
        assert!(text.contains("maximum context length is 8192 tokens. However, your messages resulted in 9007 tokens"), "{text}");
    }

    #[test]
    fn stream_cut_keeps_preamble_and_n_content_events_without_terminator() {
        let spec = DeploymentSpec::new("a", Dialect::Openai).fault(
            Fault::new(FailureClass::StreamCut).after_events(2),
            Schedule::Always,
        );
        let body =
            br#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
        let p = plan(&spec, &openai_req(body), &ctx(1));
        let Delivery::Events { events, end, .. } = &p.delivery else {
            panic!("events expected")
        };
        assert_eq!(*end, StreamEnd::Close);
        assert_eq!(events.len(), 3);
        assert!(!events.iter().any(|e| e.as_ref() == b"data: [DONE]\n\n"));
    }

    #[test]
    fn marker_split_counts_like_the_whole_text() {
        // The reply is counted in two parts (marker, rest); the sum must be the
        // count of the text the client receives.
        let mut parsed = ParsedRequest {
            model: "gpt-4o".to_string(),
            stream: false,
            include_usage: false,
            sse: false,
            max_tokens: None,
            prompt_tokens: 10,
            counter: TokenCounter::TiktokenO200k,
            messages: 1,
            api: Api::Native,
        };
        let markers = [
            None,
            Some("xf:r:1"),
            Some("xf:ab12cd:1234"),
            Some("xf:run-7_b:99"),
        ];
        for counter in [
            TokenCounter::TiktokenCl100k,
            TokenCounter::TiktokenO200k,
            TokenCounter::ApproxChars4,
        ] {
            parsed.counter = counter;
            for (id, dialect) in [
                ("a", Dialect::Openai),
                ("claude-primary", Dialect::Anthropic),
                ("eu west 2!", Dialect::Azure),
                ("gemini_9", Dialect::Gemini),
            ] {
                for pieces in [1, 2, DeploymentSpec::DEFAULT_REPLY_PIECES, 40] {
                    let mut spec = DeploymentSpec::new(id, dialect);
                    spec.reply_pieces = pieces;
                    spec.reasoning_tokens = Some(0);
                    for marker in markers {
                        // Twice: the second count comes from the memo.
                        for _ in 0..2 {
                            let r = reply(&spec, &parsed, marker, &ctx(1));
                            let text = r.pieces.concat();
                            assert_eq!(
                                r.usage.completion_tokens,
                                counter.count_plain(&text),
                                "{counter}: {text}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// A streaming request: (name, dialect, path, query, body, how its
    /// stream's terminator starts, `None` where it has none).
    type StreamCase = (
        &'static str,
        Dialect,
        &'static str,
        Option<&'static str>,
        Vec<u8>,
        Option<&'static str>,
    );

    /// A streaming request of each wire.
    fn stream_requests() -> Vec<StreamCase> {
        let chat = br#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi [xf:r:1]"}]}"#.to_vec();
        let anthropic = br#"{"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi [xf:r:1]"}]}"#.to_vec();
        let gemini = br#"{"contents":[{"role":"user","parts":[{"text":"hi [xf:r:1]"}]}]}"#.to_vec();
        let responses = br#"{"model":"gpt-4o","stream":true,"input":"hi [xf:r:1]"}"#.to_vec();
        let gemini_path = "/v1beta/models/gemini-2.0-flash:streamGenerateContent";
        vec![
            (
                "openai",
                Dialect::Openai,
                "/v1/chat/completions",
                None,
                chat.clone(),
                Some("data: [DONE]"),
            ),
            (
                "groq",
                Dialect::Groq,
                "/openai/v1/chat/completions",
                None,
                chat,
                Some("data: [DONE]"),
            ),
            (
                "anthropic",
                Dialect::Anthropic,
                "/v1/messages",
                None,
                anthropic,
                Some("event: message_stop"),
            ),
            (
                "gemini json array",
                Dialect::Gemini,
                gemini_path,
                None,
                gemini.clone(),
                Some("]"),
            ),
            (
                "gemini sse",
                Dialect::Gemini,
                gemini_path,
                Some("alt=sse"),
                gemini,
                None,
            ),
            (
                "openai responses",
                Dialect::Openai,
                "/v1/responses",
                None,
                responses,
                Some("event: response.completed"),
            ),
        ]
    }

    fn events_of(p: &Plan) -> (Vec<Bytes>, Duration, StreamEnd) {
        match &p.delivery {
            Delivery::Events {
                events,
                first_delay,
                end,
                ..
            } => (events.clone(), *first_delay, *end),
            other => panic!("events expected, got {other:?}"),
        }
    }

    fn plan_for(
        class: Option<FailureClass>,
        dialect: Dialect,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Plan {
        let mut spec = DeploymentSpec::new("d", dialect);
        if let Some(class) = class {
            spec = spec.fault(
                Fault::new(class).delay(Duration::from_millis(700)),
                Schedule::Always,
            );
        }
        let req = IncomingRequest {
            method: "POST",
            path,
            query,
            body,
        };
        plan(&spec, &req, &ctx(1))
    }

    #[test]
    fn no_done_drops_exactly_the_terminator_where_the_stream_has_one() {
        for (name, dialect, path, query, body, terminator) in stream_requests() {
            let healthy = events_of(&plan_for(None, dialect, path, query, &body)).0;
            let p = plan_for(Some(FailureClass::NoDone), dialect, path, query, &body);
            let (events, _, end) = events_of(&p);
            assert_eq!(
                end,
                StreamEnd::Finish,
                "{name}: the body still ends cleanly"
            );
            match terminator {
                Some(t) => {
                    let last = healthy.last().unwrap();
                    assert!(
                        String::from_utf8_lossy(last).starts_with(t),
                        "{name}: {last:?}"
                    );
                    assert_eq!(events, healthy[..healthy.len() - 1], "{name}");
                    assert_eq!(p.outcome, Outcome::Fault(FailureClass::NoDone), "{name}");
                    assert_eq!(p.cause, Some(Cause::Scheduled), "{name}");
                }
                None => {
                    assert_eq!(events, healthy, "{name}: nothing to leave out");
                    assert_eq!(p.outcome, Outcome::Served, "{name}");
                    assert_eq!(p.cause, None, "{name}");
                }
            }
        }
        let whole = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#;
        let p = plan_for(
            Some(FailureClass::NoDone),
            Dialect::Openai,
            "/v1/chat/completions",
            None,
            whole,
        );
        assert_eq!(
            (p.status, p.outcome),
            (200, Outcome::Served),
            "a JSON body has no terminator"
        );
    }

    #[test]
    fn malformed_event_inserts_one_invalid_event_and_keeps_every_other() {
        for (name, dialect, path, query, body, _) in stream_requests() {
            let healthy = events_of(&plan_for(None, dialect, path, query, &body)).0;
            let p = plan_for(
                Some(FailureClass::MalformedEvent),
                dialect,
                path,
                query,
                &body,
            );
            let (events, _, end) = events_of(&p);
            assert_eq!(end, StreamEnd::Finish, "{name}");
            assert_eq!(events.len(), healthy.len() + 1, "{name}");
            let odd: Vec<usize> = (0..events.len())
                .filter(|i| !healthy.contains(&events[*i]))
                .collect();
            assert_eq!(odd.len(), 1, "{name}: exactly one new event");
            let mut rest = events.clone();
            let bad = rest.remove(odd[0]);
            assert_eq!(rest, healthy, "{name}: the others in order");
            let text = String::from_utf8_lossy(&bad);
            // Framed like the content event it stands before.
            assert_eq!(bad[..2], healthy[odd[0]][..2], "{name}: {text}");
            let data = text
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or(text.trim_start_matches(['[', ',']).trim());
            assert!(
                serde_json::from_str::<serde_json::Value>(data).is_err(),
                "{name}: {text}"
            );
            assert_eq!(
                p.outcome,
                Outcome::Fault(FailureClass::MalformedEvent),
                "{name}"
            );
        }
    }

    #[test]
    fn slow_first_token_holds_the_first_event_and_not_the_headers() {
        for (name, dialect, path, query, body, _) in stream_requests() {
            let healthy = events_of(&plan_for(None, dialect, path, query, &body)).0;
            let p = plan_for(
                Some(FailureClass::SlowFirstToken),
                dialect,
                path,
                query,
                &body,
            );
            let (events, first_delay, end) = events_of(&p);
            assert_eq!(
                (p.delay, first_delay),
                (Duration::ZERO, Duration::from_millis(700)),
                "{name}"
            );
            assert_eq!((events, end), (healthy, StreamEnd::Finish), "{name}");
            assert_eq!(
                p.outcome,
                Outcome::Fault(FailureClass::SlowFirstToken),
                "{name}"
            );
        }
        let whole = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#;
        let p = plan_for(
            Some(FailureClass::SlowFirstToken),
            Dialect::Openai,
            "/v1/chat/completions",
            None,
            whole,
        );
        assert_eq!(
            p.delay,
            Duration::from_millis(700),
            "a non-stream answer comes whole, late"
        );
        assert!(matches!(p.delivery, Delivery::Body(_)));
    }

    #[test]
    fn hang_plans_no_answer_at_all() {
        for (name, dialect, path, query, body, _) in stream_requests() {
            let p = plan_for(Some(FailureClass::Hang), dialect, path, query, &body);
            assert_eq!(p.delivery, Delivery::Hang, "{name}");
            assert!(
                p.headers.iter().all(|(h, _)| h.ends_with("request-id")),
                "{name}: {:?}",
                p.headers
            );
            assert_eq!(p.outcome, Outcome::Fault(FailureClass::Hang), "{name}");
        }
    }

    #[test]
    fn refused_requests_are_not_faults() {
        let spec = DeploymentSpec::new("a", Dialect::Anthropic);
        let body = br#"{"model":"claude-3-opus","messages":[]}"#;
        let req = IncomingRequest {
            method: "POST",
            path: "/v1/messages",
            query: None,
            body,
        };
        let p = plan(&spec, &req, &ctx(1));
        assert_eq!(p.status, 400);
        assert_eq!(p.outcome, Outcome::Refused);
    }
}
