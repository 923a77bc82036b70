//! What each provider answers when it fails: status, headers and body, byte for
//! byte, per dialect and failure class.
//!
//! Sources are in `shared/provider-errors.md` (public docs and bug reports).
//! Where that list has no entry for a dialect and class, the answer follows the
//! provider's documented error envelope with the provider's usual wording; such
//! entries are marked `synthesised` in [`provenance`]. Numbers inside messages
//! (token counts, limits, seconds) come from the request and the model.

use crate::dialect::Dialect;
use crate::fault::{FailureClass, Fault};
use bytes::Bytes;
use serde_json::{json, Value};
use std::time::Duration;

/// One HTTP answer: status, headers (content type included) and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, in order.
    pub headers: Vec<(&'static str, String)>,
    /// Response body.
    pub body: Bytes,
}

/// The facts an error message is filled from.
#[derive(Debug, Clone)]
pub struct ErrorContext<'a> {
    /// The model asked for.
    pub model: &'a str,
    /// Prompt tokens counted in the request.
    pub prompt_tokens: u64,
    /// Output tokens asked for, if any.
    pub max_tokens: Option<u64>,
    /// The model's context window.
    pub context_window: u64,
    /// The fault being answered (parameters such as `retry_after`).
    pub fault: &'a Fault,
    /// A request id, unique per attempt.
    pub request_id: &'a str,
    /// Wall clock, seconds since the Unix epoch (for reset times).
    pub now_unix: u64,
}

/// Where an answer's wording comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// Listed in `shared/provider-errors.md` with a public source.
    Documented,
    /// The provider's error envelope with its usual wording; no verbatim source.
    Synthesised,
}

/// Whether the answer for (dialect, class) is documented or synthesised.
pub fn provenance(dialect: Dialect, class: FailureClass) -> Provenance {
    use Dialect::*;
    use FailureClass::*;
    let documented = match dialect {
        Openai => matches!(
            class,
            ServerError
                | Overloaded
                | RateLimit
                | QuotaExhausted
                | ContextOverflow
                | ContentPolicy
                | Auth
                | StreamError
        ),
        Azure => matches!(class, RateLimit | NotFound | ContentPolicy),
        Anthropic => matches!(
            class,
            ServerError
                | Overloaded
                | RateLimit
                | QuotaExhausted
                | ContextOverflow
                | Auth
                | StreamError
        ),
        Gemini => matches!(
            class,
            RateLimit | QuotaExhausted | Overloaded | ContextOverflow
        ),
        Groq => matches!(class, RateLimit),
        Mistral => matches!(class, RateLimit),
        Deepseek | Vllm => matches!(class, ContextOverflow),
    };
    if documented {
        Provenance::Documented
    } else {
        Provenance::Synthesised
    }
}

const JSON: &str = "application/json";

/// The edge proxy's HTML page for a 502, as Cloudflare-fronted APIs send it.
const CLOUDFLARE_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";

/// Google front end's HTML page for a 502.
const GOOGLE_502: &str = "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 502 (Server Error)!!1</title>\n  <p><b>502.</b> <ins>That\u{2019}s an error.</ins>\n  <p>The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds.  <ins>That\u{2019}s all we know.</ins>\n";

/// The error answer a provider of this dialect gives for this failure class.
///
/// Byte-level and timing classes (`stream_cut`, `stall`, `connection_reset`,
/// `timeout`, `malformed`) are not error answers; they are handled by the
/// response plan. For them this returns the dialect's 500.
pub fn error_answer(dialect: Dialect, class: FailureClass, ctx: &ErrorContext<'_>) -> Answer {
    match dialect {
        Dialect::Openai | Dialect::Groq | Dialect::Deepseek | Dialect::Vllm | Dialect::Mistral => {
            openai_family(dialect, class, ctx)
        }
        Dialect::Azure => azure(class, ctx),
        Dialect::Anthropic => anthropic(class, ctx),
        Dialect::Gemini => gemini(class, ctx),
    }
}

/// Seconds as providers write them in messages: `1`, `2.644`.
fn secs_text(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `retry-after` header value: whole seconds, rounded up, at least 1.
fn retry_after_header(d: Duration) -> String {
    (d.as_millis().div_ceil(1000).max(1)).to_string()
}

/// Tokens a rate-limited request asks for, and a plausible "used" figure that
/// together exceed the limit.
fn rate_numbers(ctx: &ErrorContext<'_>, limit: u64) -> (u64, u64) {
    let requested = (ctx.prompt_tokens + ctx.max_tokens.unwrap_or(0)).max(1);
    let used = limit - requested.min(limit) / 2;
    (requested, used)
}

fn answer(status: u16, mut headers: Vec<(&'static str, String)>, body: Value) -> Answer {
    headers.insert(0, ("content-type", JSON.to_string()));
    Answer {
        status,
        headers,
        body: Bytes::from(body.to_string()),
    }
}

fn html(status: u16, page: &'static str) -> Answer {
    Answer {
        status,
        headers: vec![("content-type", "text/html".to_string())],
        body: Bytes::from_static(page.as_bytes()),
    }
}

fn openai_error(message: &str, kind: Value, param: Value, code: Value) -> Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
}

/// Mistral's envelope: the error fields at top level.
fn mistral_error(message: &str, kind: &str, code: Value) -> Value {
    json!({"object": "error", "message": message, "type": kind, "param": null, "code": code})
}

fn overflow_message_openai(ctx: &ErrorContext<'_>) -> String {
    match ctx.max_tokens {
        Some(out) => format!(
            "This model's maximum context length is {} tokens. However, you requested {} tokens ({} in the messages, {} in the completion). Please reduce the length of the messages or completion.",
            ctx.context_window,
            ctx.prompt_tokens + out,
            ctx.prompt_tokens,
            out
        ),
        None => format!(
            "This model's maximum context length is {} tokens. However, your messages resulted in {} tokens. Please reduce the length of the messages.",
            ctx.context_window, ctx.prompt_tokens
        ),
    }
}

fn openai_family(dialect: Dialect, class: FailureClass, ctx: &ErrorContext<'_>) -> Answer {
    use FailureClass::*;
    let rid = vec![("x-request-id", ctx.request_id.to_string())];
    let model = crate::models::bare_model(ctx.model);
    if dialect == Dialect::Mistral {
        return mistral(class, ctx, model);
    }
    match class {
        BadGateway => html(502, CLOUDFLARE_502),
        Unavailable => answer(
            503,
            rid,
            openai_error(
                "Service Unavailable",
                json!("service_unavailable_error"),
                Value::Null,
                json!("service_unavailable"),
            ),
        ),
        Overloaded => answer(
            503,
            rid,
            openai_error(
                "The server is overloaded or not ready yet.",
                json!("service_unavailable_error"),
                Value::Null,
                json!("server_is_overloaded"),
            ),
        ),
        RateLimit => {
            let (limit, reset_requests) = match dialect {
                Dialect::Groq => (6_000, "2m59.56s"),
                _ => (30_000, "6ms"),
            };
            let (requested, used) = rate_numbers(ctx, limit);
            let wait = secs_text(ctx.fault.retry_after);
            let message = match dialect {
                Dialect::Groq => format!(
                    "Rate limit reached for model `{model}` in organization `org_01crossfire` service tier `on_demand` on tokens per minute (TPM): Limit {limit}, Used {used}, Requested {requested}. Please try again in {wait}s. Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing"
                ),
                _ => format!(
                    "Rate limit reached for {model} in organization org-crossfire on tokens per min (TPM): Limit {limit}, Used {used}, Requested {requested}. Please try again in {wait}s. Visit https://platform.openai.com/account/rate-limits to learn more."
                ),
            };
            let mut headers = rid;
            headers.extend([
                ("retry-after", retry_after_header(ctx.fault.retry_after)),
                ("x-ratelimit-limit-requests", "10000".to_string()),
                ("x-ratelimit-limit-tokens", limit.to_string()),
                ("x-ratelimit-remaining-requests", "9999".to_string()),
                (
                    "x-ratelimit-remaining-tokens",
                    (limit - used).to_string(),
                ),
                ("x-ratelimit-reset-requests", reset_requests.to_string()),
                ("x-ratelimit-reset-tokens", format!("{wait}s")),
            ]);
            answer(
                429,
                headers,
                openai_error(&message, json!("tokens"), Value::Null, json!("rate_limit_exceeded")),
            )
        }
        QuotaExhausted => answer(
            429,
            rid,
            openai_error(
                "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                json!("insufficient_quota"),
                Value::Null,
                json!("insufficient_quota"),
            ),
        ),
        ContextOverflow => {
            let body = match dialect {
                Dialect::Groq => openai_error(
                    "Please reduce the length of the messages or completion.",
                    json!("invalid_request_error"),
                    json!("messages"),
                    json!("context_length_exceeded"),
                ),
                Dialect::Deepseek => openai_error(
                    &overflow_message_requested(ctx),
                    json!("invalid_request_error"),
                    Value::Null,
                    json!("invalid_request_error"),
                ),
                Dialect::Vllm => openai_error(
                    &overflow_message_requested(ctx),
                    json!("BadRequestError"),
                    Value::Null,
                    json!(400),
                ),
                _ => openai_error(
                    &overflow_message_openai(ctx),
                    json!("invalid_request_error"),
                    json!("messages"),
                    json!("context_length_exceeded"),
                ),
            };
            answer(400, rid, body)
        }
        ContentPolicy => answer(
            400,
            rid,
            openai_error(
                "Your request was rejected as a result of our safety system.",
                json!("invalid_request_error"),
                Value::Null,
                json!("content_policy_violation"),
            ),
        ),
        Auth => {
            let body = match dialect {
                Dialect::Groq => openai_error(
                    "Invalid API Key",
                    json!("invalid_request_error"),
                    Value::Null,
                    json!("invalid_api_key"),
                ),
                Dialect::Deepseek => openai_error(
                    "Authentication Fails, Your api key: ****mock is invalid",
                    json!("authentication_error"),
                    Value::Null,
                    json!("invalid_request_error"),
                ),
                _ => openai_error(
                    "Incorrect API key provided: sk-cross*****mock. You can find your API key at https://platform.openai.com/account/api-keys.",
                    json!("invalid_request_error"),
                    Value::Null,
                    json!("invalid_api_key"),
                ),
            };
            answer(401, rid, body)
        }
        NotFound => answer(
            404,
            rid,
            openai_error(
                &format!("The model `{model}` does not exist or you do not have access to it."),
                json!("invalid_request_error"),
                Value::Null,
                json!("model_not_found"),
            ),
        ),
        ServerError | StreamError | Timeout | Malformed | StreamCut | Stall | ConnectionReset
        | Hang | SlowFirstToken | NoDone | MalformedEvent => {
            answer(
                500,
                rid,
                openai_error(
                    "The server had an error while processing your request. Sorry about that!",
                    json!("server_error"),
                    Value::Null,
                    Value::Null,
                ),
            )
        }
    }
}

/// "you requested N tokens (P in the messages, M in the completion)": the
/// vLLM and DeepSeek wording, which always names the completion share.
fn overflow_message_requested(ctx: &ErrorContext<'_>) -> String {
    let out = ctx.max_tokens.unwrap_or(0);
    format!(
        "This model's maximum context length is {} tokens. However, you requested {} tokens ({} in the messages, {} in the completion). Please reduce the length of the messages or completion.",
        ctx.context_window,
        ctx.prompt_tokens + out,
        ctx.prompt_tokens,
        out
    )
}

fn mistral(class: FailureClass, ctx: &ErrorContext<'_>, _model: &str) -> Answer {
    use FailureClass::*;
    let rid = vec![("x-request-id", ctx.request_id.to_string())];
    match class {
        BadGateway => html(502, CLOUDFLARE_502),
        RateLimit => answer(
            429,
            rid,
            mistral_error("Rate limit exceeded", "rate_limited", json!("1300")),
        ),
        QuotaExhausted => answer(
            429,
            rid,
            mistral_error(
                "Service tier capacity exceeded for this model.",
                "service_tier_capacity_exceeded",
                json!("3505"),
            ),
        ),
        ContextOverflow => answer(
            400,
            rid,
            mistral_error(
                &format!(
                    "Prompt contains {} tokens and 0 draft tokens, too large for model with {} maximum context length",
                    ctx.prompt_tokens, ctx.context_window
                ),
                "invalid_request_error",
                Value::Null,
            ),
        ),
        ContentPolicy => answer(
            400,
            rid,
            mistral_error(
                "The request was blocked by the moderation system.",
                "invalid_request_error",
                Value::Null,
            ),
        ),
        Auth => answer(
            401,
            rid,
            json!({"message": "Unauthorized", "request_id": ctx.request_id}),
        ),
        NotFound => answer(
            404,
            rid,
            mistral_error(
                &format!("Invalid model: {}", ctx.model),
                "invalid_model",
                json!("1500"),
            ),
        ),
        Unavailable | Overloaded => answer(
            503,
            rid,
            mistral_error(
                "Service unavailable.",
                "service_unavailable",
                json!("3000"),
            ),
        ),
        ServerError | StreamError | Timeout | Malformed | StreamCut | Stall | ConnectionReset
        | Hang | SlowFirstToken | NoDone | MalformedEvent => {
            answer(
                500,
                rid,
                mistral_error("Internal server error", "internal_server_error", json!("1000")),
            )
        }
    }
}

fn azure(class: FailureClass, ctx: &ErrorContext<'_>) -> Answer {
    use FailureClass::*;
    let ids = vec![
        ("apim-request-id", ctx.request_id.to_string()),
        ("x-ms-region", "East US".to_string()),
    ];
    match class {
        RateLimit => {
            let wait = ctx.fault.retry_after;
            let mut headers = ids;
            headers.extend([
                ("retry-after", retry_after_header(wait)),
                ("retry-after-ms", wait.as_millis().to_string()),
                ("x-ratelimit-remaining-requests", "0".to_string()),
                ("x-ratelimit-remaining-tokens", "0".to_string()),
            ]);
            let message = format!(
                "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-08-01-preview have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after {} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.",
                retry_after_header(wait)
            );
            answer(
                429,
                headers,
                json!({"error": {"code": "429", "message": message}}),
            )
        }
        QuotaExhausted => answer(
            429,
            ids,
            json!({"error": {"code": "insufficient_quota", "message": "The subscription has exceeded its token quota for this billing period. Please check your plan and billing details."}}),
        ),
        NotFound => answer(
            404,
            ids,
            json!({"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}),
        ),
        ContentPolicy => answer(
            400,
            ids,
            json!({"error": {
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
                "type": null, "param": "prompt", "code": "content_filter", "status": 400,
                "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
                    "hate": {"filtered": true, "severity": "high"},
                    "self_harm": {"filtered": false, "severity": "safe"},
                    "sexual": {"filtered": false, "severity": "safe"},
                    "violence": {"filtered": false, "severity": "safe"}}}}}),
        ),
        ContextOverflow => answer(
            400,
            ids,
            openai_error(
                &overflow_message_openai(ctx),
                json!("invalid_request_error"),
                json!("messages"),
                json!("context_length_exceeded"),
            ),
        ),
        Auth => answer(
            401,
            ids,
            json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}),
        ),
        BadGateway => html(502, CLOUDFLARE_502),
        Unavailable | Overloaded => answer(
            503,
            ids,
            json!({"error": {"code": "ServiceUnavailable", "message": "The service is temporarily unable to process your request. Please try again later."}}),
        ),
        ServerError | StreamError | Timeout | Malformed | StreamCut | Stall | ConnectionReset
        | Hang | SlowFirstToken | NoDone | MalformedEvent => answer(
            500,
            ids,
            json!({"error": {"code": "InternalServerError", "message": "The server had an error while processing your request. Sorry about that!"}}),
        ),
    }
}

fn anthropic_error(kind: &str, message: &str, request_id: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id})
}

/// RFC 3339 UTC time (`2026-11-25T06:15:18Z`) from Unix seconds.
pub fn rfc3339(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn anthropic(class: FailureClass, ctx: &ErrorContext<'_>) -> Answer {
    use FailureClass::*;
    let rid = ctx.request_id;
    let ids = vec![("request-id", rid.to_string())];
    match class {
        RateLimit => {
            let wait = ctx.fault.retry_after;
            let reset = rfc3339(ctx.now_unix + wait.as_secs().max(1));
            let limit = 20_000;
            let (_, used) = rate_numbers(ctx, limit);
            let mut headers = ids;
            headers.extend([
                ("retry-after", retry_after_header(wait)),
                ("anthropic-ratelimit-requests-limit", "50".to_string()),
                ("anthropic-ratelimit-requests-remaining", "49".to_string()),
                ("anthropic-ratelimit-requests-reset", reset.clone()),
                ("anthropic-ratelimit-input-tokens-limit", limit.to_string()),
                (
                    "anthropic-ratelimit-input-tokens-remaining",
                    (limit - used).to_string(),
                ),
                ("anthropic-ratelimit-input-tokens-reset", reset.clone()),
                (
                    "anthropic-ratelimit-output-tokens-limit",
                    "8000".to_string(),
                ),
                (
                    "anthropic-ratelimit-output-tokens-remaining",
                    "8000".to_string(),
                ),
                ("anthropic-ratelimit-output-tokens-reset", reset.clone()),
                ("anthropic-ratelimit-tokens-limit", "28000".to_string()),
                (
                    "anthropic-ratelimit-tokens-remaining",
                    (limit - used).to_string(),
                ),
                ("anthropic-ratelimit-tokens-reset", reset),
            ]);
            let message = "This request would exceed the rate limit for your organization (7c1b2e0a-5f3d-4c8e-9a21-0c5f1e2d3b4a) of 20,000 input tokens per minute. For details, refer to: https://docs.anthropic.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.";
            answer(
                429,
                headers,
                anthropic_error("rate_limit_error", message, rid),
            )
        }
        QuotaExhausted => {
            let regain = rfc3339((ctx.now_unix / 86_400 + 6) * 86_400);
            let message = format!(
                "You have reached your specified workspace API usage limits. You will regain access on {} at 00:00 UTC.",
                &regain[..10]
            );
            answer(
                429,
                ids,
                json!({"type": "error", "error": {"type": "rate_limit_error", "message": message,
                    "details": {"error_code": "enforced_spend_limit_reached"}}, "request_id": rid}),
            )
        }
        Overloaded => answer(
            529,
            ids,
            anthropic_error("overloaded_error", "Overloaded", rid),
        ),
        ContextOverflow => answer(
            400,
            ids,
            anthropic_error(
                "invalid_request_error",
                &format!(
                    "prompt is too long: {} tokens > {} maximum",
                    ctx.prompt_tokens, ctx.context_window
                ),
                rid,
            ),
        ),
        ContentPolicy => answer(
            400,
            ids,
            anthropic_error(
                "invalid_request_error",
                "Output blocked by content filtering policy",
                rid,
            ),
        ),
        Auth => answer(
            401,
            ids,
            anthropic_error("authentication_error", "invalid x-api-key", rid),
        ),
        NotFound => answer(
            404,
            ids,
            anthropic_error("not_found_error", &format!("model: {}", ctx.model), rid),
        ),
        BadGateway => html(502, CLOUDFLARE_502),
        Unavailable => answer(
            503,
            ids,
            anthropic_error("api_error", "Service Unavailable", rid),
        ),
        ServerError | StreamError | Timeout | Malformed | StreamCut | Stall | ConnectionReset
        | Hang | SlowFirstToken | NoDone | MalformedEvent => answer(
            500,
            ids,
            anthropic_error("api_error", "Internal server error", rid),
        ),
    }
}

fn google_error(code: u16, message: &str, status: &str, details: Option<Value>) -> Value {
    let mut error = json!({"code": code, "message": message, "status": status});
    if let Some(details) = details {
        error["details"] = details;
    }
    json!({ "error": error })
}

fn gemini(class: FailureClass, ctx: &ErrorContext<'_>) -> Answer {
    use FailureClass::*;
    let model = crate::models::bare_model(ctx.model);
    let quota_message = "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.";
    let quota_failure = |quota_id: &str, metric: &str, value: &str| {
        json!({"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
            "quotaMetric": metric,
            "quotaId": quota_id,
            "quotaDimensions": {"location": "global", "model": model},
            "quotaValue": value}]})
    };
    let help = json!({"@type": "type.googleapis.com/google.rpc.Help", "links": [{
        "description": "Learn more about Gemini API quotas",
        "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]});
    match class {
        RateLimit => answer(
            429,
            vec![],
            google_error(
                429,
                quota_message,
                "RESOURCE_EXHAUSTED",
                Some(json!([
                    quota_failure(
                        "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "15"
                    ),
                    help,
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                     "retryDelay": format!("{}s", ctx.fault.retry_after.as_secs().max(1))}
                ])),
            ),
        ),
        QuotaExhausted => answer(
            429,
            vec![],
            google_error(
                429,
                quota_message,
                "RESOURCE_EXHAUSTED",
                Some(json!([
                    quota_failure(
                        "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                        "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "1500"
                    ),
                    help
                ])),
            ),
        ),
        Overloaded => answer(
            503,
            vec![],
            google_error(
                503,
                "The model is overloaded. Please try again later.",
                "UNAVAILABLE",
                None,
            ),
        ),
        Unavailable => answer(
            503,
            vec![],
            google_error(
                503,
                "The service is currently unavailable.",
                "UNAVAILABLE",
                None,
            ),
        ),
        ContextOverflow => answer(
            400,
            vec![],
            google_error(
                400,
                &format!(
                    "The input token count ({}) exceeds the maximum number of tokens allowed ({}).",
                    ctx.prompt_tokens, ctx.context_window
                ),
                "INVALID_ARGUMENT",
                None,
            ),
        ),
        ContentPolicy => {
            // Gemini refuses a blocked prompt with a 200 and no candidates.
            let body = json!({
                "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
                    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
                    {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "HIGH"},
                    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "NEGLIGIBLE"}]},
                "usageMetadata": {"promptTokenCount": ctx.prompt_tokens, "totalTokenCount": ctx.prompt_tokens,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": ctx.prompt_tokens}]},
                "modelVersion": model,
            });
            answer(200, vec![], body)
        }
        Auth => answer(
            400,
            vec![],
            google_error(
                400,
                "API key not valid. Please pass a valid API key.",
                "INVALID_ARGUMENT",
                Some(json!([
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                     "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
                    {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
                     "message": "API key not valid. Please pass a valid API key."}
                ])),
            ),
        ),
        NotFound => answer(
            404,
            vec![],
            google_error(
                404,
                &format!("models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."),
                "NOT_FOUND",
                None,
            ),
        ),
        BadGateway => html(502, GOOGLE_502),
        ServerError | StreamError | Timeout | Malformed | StreamCut | Stall | ConnectionReset
        | Hang | SlowFirstToken | NoDone | MalformedEvent => {
            answer(
                500,
                vec![],
                google_error(
                    500,
                    "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
                    "INTERNAL",
                    None,
                ),
            )
        }
    }
}

/// The Responses API's context overflow (OpenAI, Azure and the compatible
/// dialects that serve it): its own wording, naming `input` rather than
/// `messages`, with chat's `context_length_exceeded` code.
pub fn responses_overflow_answer(dialect: Dialect, request_id: &str) -> Answer {
    let id_header = match dialect {
        Dialect::Azure => "apim-request-id",
        _ => "x-request-id",
    };
    answer(
        400,
        vec![(id_header, request_id.to_string())],
        openai_error(
            "Your input exceeds the context window of this model. Please adjust your input and try again.",
            json!("invalid_request_error"),
            json!("input"),
            json!("context_length_exceeded"),
        ),
    )
}

/// The event a dialect sends when a 200 stream turns into an error
/// (after some content), terminator included where the dialect has one.
pub fn stream_error_event(dialect: Dialect, request_id: &str) -> Bytes {
    let text = match dialect {
        Dialect::Anthropic => format!(
            "event: error\ndata: {}\n\n",
            json!({"type": "error", "error": {"details": null, "type": "overloaded_error", "message": "Overloaded"}, "request_id": request_id})
        ),
        Dialect::Gemini => format!(
            "data: {}\r\n\r\n",
            google_error(
                503,
                "The model is overloaded. Please try again later.",
                "UNAVAILABLE",
                None
            )
        ),
        _ => format!(
            "data: {}\n\n",
            openai_error(
                "The server had an error while processing your request. Sorry about that!",
                json!("server_error"),
                Value::Null,
                Value::Null,
            )
        ),
    };
    Bytes::from(text)
}

/// The answer to a request the provider refuses before any model runs
/// (unknown path, bad JSON, missing field): what the real API says.
pub fn request_problem_answer(
    dialect: Dialect,
    problem: &crate::request::RequestProblem,
    method: &str,
    path: &str,
    request_id: &str,
) -> Answer {
    use crate::request::RequestProblem::*;
    let (status, message) = match problem {
        UnknownEndpoint => (404, format!("Invalid URL ({method} {path})")),
        MissingApiVersion => (404, "Resource not found".to_string()),
        InvalidJson(detail) => (
            400,
            format!("We could not parse the JSON body of your request. ({detail})"),
        ),
        MissingField(field) => (400, format!("{field}: Field required")),
    };
    match dialect {
        Dialect::Anthropic => {
            let kind = if status == 404 {
                "not_found_error"
            } else {
                "invalid_request_error"
            };
            let text = if status == 404 {
                "Not Found".to_string()
            } else {
                message
            };
            answer(
                status,
                vec![("request-id", request_id.to_string())],
                anthropic_error(kind, &text, request_id),
            )
        }
        Dialect::Gemini => {
            let google_status = if status == 404 {
                "NOT_FOUND"
            } else {
                "INVALID_ARGUMENT"
            };
            answer(
                status,
                vec![],
                google_error(status, &message, google_status, None),
            )
        }
        Dialect::Azure if matches!(problem, MissingApiVersion | UnknownEndpoint) => answer(
            404,
            vec![("apim-request-id", request_id.to_string())],
            json!({"error": {"code": "404", "message": "Resource not found"}}),
        ),
        _ => answer(
            status,
            vec![("x-request-id", request_id.to_string())],
            openai_error(
                &message,
                json!("invalid_request_error"),
                Value::Null,
                Value::Null,
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_587_318), "2026-11-25T06:15:18Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn seconds_are_written_like_providers_do() {
        assert_eq!(secs_text(Duration::from_millis(2644)), "2.644");
        assert_eq!(secs_text(Duration::from_secs(1)), "1");
        assert_eq!(retry_after_header(Duration::from_millis(1500)), "2");
        assert_eq!(retry_after_header(Duration::ZERO), "1");
    }
}
