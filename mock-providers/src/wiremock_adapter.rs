//! A `wiremock::Respond` that serves the same response plans as crossfire's
//! own server, for Rust teams that already test their LLM client with wiremock.
//!
//! wiremock writes every body whole, so byte-level actions degrade to their
//! content-level equivalent: a `stream_cut` or `stall` stream is served up to
//! the fault and then ends (no terminator, but a cleanly finished HTTP body),
//! and a `connection_reset` is answered with the dialect's HTTP 500, marked by
//! an `x-crossfire-degraded: connection_reset` header. A `hang` cannot hold a
//! wiremock connection open without a response: it is answered like a
//! `connection_reset` after a day ([`HANG_DEGRADED_DELAY`]), so a client
//! times out as it would on a hang, marked `x-crossfire-degraded: hang`. A
//! `slow_first_token` stream cannot send its headers early: the whole answer
//! waits for the fault's delay, marked `x-crossfire-degraded: slow_first_token`.
//! Use
//! [`MockSet`](crate::MockSet) when the socket itself must misbehave.
//!
//! ```
//! # async fn demo() {
//! use mock_providers::wiremock_adapter::ProviderResponder;
//! use mock_providers::{DeploymentSpec, Dialect, Fault, FailureClass, Schedule};
//! use wiremock::{matchers::method, Mock, MockServer};
//!
//! let server = MockServer::start().await;
//! // Anthropic answers 529 Overloaded twice, then serves.
//! Mock::given(method("POST"))
//!     .respond_with(ProviderResponder::new(
//!         DeploymentSpec::new("claude", Dialect::Anthropic)
//!             .fault(Fault::new(FailureClass::Overloaded), Schedule::First(2)),
//!     ))
//!     .mount(&server)
//!     .await;
//! // Point your client's Anthropic base URL at `server.uri()`.
//! # }
//! ```

use crate::journal::{unix_ms, Attempt, Journal};
use crate::plan::{self, AttemptContext, Delivery, DeploymentSpec, StreamEnd};
use crate::request::{self, find_marker, IncomingRequest, Traffic};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use wiremock::{Request, Respond, ResponseTemplate};

/// How long a degraded `hang` holds its answer back on wiremock: longer than
/// any test waits.
pub const HANG_DEGRADED_DELAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Serves one mock deployment's plans through wiremock.
pub struct ProviderResponder {
    spec: DeploymentSpec,
    attempts: AtomicU64,
    seqs: AtomicU64,
    started: Instant,
    journal: Option<Arc<Journal>>,
}

impl ProviderResponder {
    /// A responder for this deployment, journaling nothing.
    pub fn new(spec: DeploymentSpec) -> ProviderResponder {
        ProviderResponder {
            spec,
            attempts: AtomicU64::new(0),
            seqs: AtomicU64::new(0),
            started: Instant::now(),
            journal: None,
        }
    }

    /// Also records every attempt in `journal`.
    pub fn with_journal(mut self, journal: Arc<Journal>) -> ProviderResponder {
        self.started = journal.started();
        self.journal = Some(journal);
        self
    }
}

impl Respond for ProviderResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let incoming = IncomingRequest {
            method: request.method.as_str(),
            path: request.url.path(),
            query: request.url.query(),
            body: &request.body,
        };
        // Schedules count completion attempts only, as in the hyper server.
        let endpoint = request::endpoint(self.spec.dialect, &incoming);
        let traffic = endpoint.traffic();
        let attempt = match traffic {
            Traffic::Completion => self.attempts.fetch_add(1, Ordering::Relaxed) + 1,
            Traffic::Side | Traffic::Unserved => 0,
        };
        let seq = match &self.journal {
            Some(j) => j.next_seq(),
            None => self.seqs.fetch_add(1, Ordering::Relaxed) + 1,
        };
        let since_start = self.started.elapsed();
        let received_unix_ms = unix_ms();
        let ctx = AttemptContext {
            seq,
            attempt,
            since_start,
            now_unix: received_unix_ms / 1000,
        };
        let plan = plan::plan_at(&self.spec, endpoint, &incoming, &ctx);
        let mut degraded = None;
        let mut delay = plan.delay;
        let (status, body, completed, events_sent) = match &plan.delivery {
            Delivery::Body(b) => (plan.status, b.to_vec(), true, 0),
            Delivery::Truncated { body, keep } => (plan.status, body[..*keep].to_vec(), false, 0),
            Delivery::Events {
                events,
                end,
                first_delay,
                ..
            } => {
                if !first_delay.is_zero() {
                    degraded = Some("slow_first_token");
                    delay += *first_delay;
                }
                (
                    plan.status,
                    events.concat(),
                    *end == StreamEnd::Finish,
                    events.len() as u32,
                )
            }
            Delivery::Reset | Delivery::Hang => {
                if plan.delivery == Delivery::Hang {
                    degraded = Some("hang");
                    delay = HANG_DEGRADED_DELAY;
                } else {
                    degraded = Some("connection_reset");
                }
                let fallback = crate::error_answers::error_answer(
                    self.spec.dialect,
                    crate::FailureClass::ServerError,
                    &crate::error_answers::ErrorContext {
                        model: plan.request.as_ref().map_or("", |r| r.model.as_str()),
                        prompt_tokens: 0,
                        max_tokens: None,
                        context_window: 0,
                        fault: &crate::Fault::new(crate::FailureClass::ServerError),
                        request_id: &plan::request_id(self.spec.dialect, seq),
                        now_unix: ctx.now_unix,
                    },
                );
                (fallback.status, fallback.body.to_vec(), false, 0)
            }
        };
        if let Some(journal) = &self.journal {
            let now = journal.now_us();
            let received_us = since_start.as_micros() as u64;
            journal.record(Attempt {
                seq,
                attempt,
                traffic,
                deployment: self.spec.id.clone(),
                dialect: self.spec.dialect,
                method: request.method.to_string(),
                path: match request.url.query() {
                    Some(q) => format!("{}?{q}", request.url.path()),
                    None => request.url.path().to_string(),
                },
                model: plan.request.as_ref().map(|r| r.model.clone()),
                marker: find_marker(&request.body),
                stream: plan.request.as_ref().is_some_and(|r| r.stream),
                bytes_in: request.body.len() as u64,
                prompt_tokens: plan.request.as_ref().map(|r| r.prompt_tokens),
                token_counter: plan.request.as_ref().map(|r| r.counter),
                max_tokens: plan.request.as_ref().and_then(|r| r.max_tokens),
                outcome: plan.outcome,
                cause: plan.cause,
                status: Some(status),
                usage: plan.usage,
                bytes_out: body.len() as u64,
                events_sent,
                completed,
                replica: None,
                received_unix_ms,
                received_us,
                first_byte_us: Some(now + delay.as_micros() as u64),
                finished_us: now + delay.as_micros() as u64,
            });
        }
        let mut template = ResponseTemplate::new(status);
        let mut content_type = "application/json".to_string();
        for (name, value) in &plan.headers {
            if *name == "content-type" {
                content_type = value.clone();
            } else {
                template = template.append_header(*name, value.as_str());
            }
        }
        if let Some(what) = degraded {
            template = template.insert_header("x-crossfire-degraded", what);
        }
        if !delay.is_zero() {
            template = template.set_delay(delay);
        }
        template.set_body_raw(body, &content_type)
    }
}
