//! Successful answers per dialect: JSON bodies and SSE event streams with a
//! realistic `usage` block, the reply text naming the request marker.

use crate::dialect::{Dialect, Wire};
use crate::request::Api;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// OpenAI's `chat.completion` object, in OpenAI's field order. Serialised
/// straight from structs: this is the hot path of load runs.
#[derive(Serialize)]
struct OpenaiCompletion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [OpenaiChoice<'a>; 1],
    usage: OpenaiUsage,
    service_tier: &'static str,
    system_fingerprint: &'static str,
}

#[derive(Serialize)]
struct OpenaiChoice<'a> {
    index: u32,
    message: OpenaiMessage<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct OpenaiMessage<'a> {
    role: &'static str,
    content: &'a str,
    refusal: Option<()>,
    annotations: [(); 0],
}

#[derive(Serialize)]
struct OpenaiUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Serialize)]
struct PromptDetails {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

impl From<&Usage> for OpenaiUsage {
    fn from(u: &Usage) -> OpenaiUsage {
        OpenaiUsage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.prompt_tokens + u.completion_tokens,
            prompt_tokens_details: PromptDetails {
                cached_tokens: u.cached_tokens,
                audio_tokens: 0,
            },
            completion_tokens_details: CompletionDetails {
                reasoning_tokens: u.reasoning_tokens,
                audio_tokens: 0,
                accepted_prediction_tokens: 0,
                rejected_prediction_tokens: 0,
            },
        }
    }
}
use serde_json::{json, Value};

/// Token usage an answer reports, as the mock's ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub prompt_tokens: u64,
    /// Output tokens, reasoning ones included.
    pub completion_tokens: u64,
    /// Prompt tokens served from the provider's cache.
    pub cached_tokens: u64,
    /// Output tokens spent on hidden reasoning.
    pub reasoning_tokens: u64,
}

/// What a success answer says: ids, model, reply words and usage.
#[derive(Debug, Clone)]
pub struct Reply<'a> {
    /// Response id (`chatcmpl-...`, `msg_...`).
    pub id: &'a str,
    /// Model name as the answer reports it.
    pub model: &'a str,
    /// Unix seconds for `created`.
    pub created: u64,
    /// The reply, in pieces; a stream sends one piece per content event.
    pub pieces: &'a [String],
    /// Usage the answer reports.
    pub usage: Usage,
    /// OpenAI: send the usage chunk (`stream_options.include_usage`).
    pub include_usage: bool,
    /// Gemini streaming: SSE (`alt=sse`) rather than a JSON array.
    pub sse: bool,
    /// The completion API asked: the dialect's own, or OpenAI's Responses API.
    pub api: Api,
    /// Responses API: the `max_output_tokens` asked, echoed in the response object.
    pub max_output_tokens: Option<u64>,
}

/// A stream split where faults cut it: events before any content, content
/// events, and the events that close a complete stream (terminator included).
#[derive(Debug, Clone, Default)]
pub struct StreamParts {
    /// Opening events (OpenAI role chunk; Anthropic message_start, content_block_start, ping).
    pub preamble: Vec<Bytes>,
    /// One event per reply piece.
    pub content: Vec<Bytes>,
    /// Closing events (finish reason, usage, `[DONE]` / `message_stop`).
    pub finale: Vec<Bytes>,
}

fn sse_data(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

fn sse_event(name: &str, v: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {v}\n\n"))
}

fn openai_usage(u: &Usage) -> Value {
    serde_json::to_value(OpenaiUsage::from(u)).unwrap_or(Value::Null)
}

fn anthropic_usage(u: &Usage) -> Value {
    json!({
        "input_tokens": u.prompt_tokens - u.cached_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": u.cached_tokens,
        "output_tokens": u.completion_tokens,
        "service_tier": "standard"
    })
}

fn gemini_usage(u: &Usage) -> Value {
    let mut m = json!({
        "promptTokenCount": u.prompt_tokens,
        "candidatesTokenCount": u.completion_tokens - u.reasoning_tokens,
        "totalTokenCount": u.prompt_tokens + u.completion_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": u.prompt_tokens}]
    });
    if u.cached_tokens > 0 {
        m["cachedContentTokenCount"] = json!(u.cached_tokens);
    }
    if u.reasoning_tokens > 0 {
        m["thoughtsTokenCount"] = json!(u.reasoning_tokens);
    }
    m
}

/// The whole JSON body of a non-streaming success answer.
pub fn body(dialect: Dialect, r: &Reply<'_>) -> Bytes {
    let text: String = r.pieces.concat();
    if r.api == Api::Responses {
        return Bytes::from(responses_object(r, "completed", Some(&text)).to_string());
    }
    let v = match dialect.wire() {
        Wire::OpenaiChat => return openai_body(r, &text),
        Wire::AzureChat => {
            let choice = json!({
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": null, "annotations": []},
                "logprobs": null,
                "finish_reason": "stop",
                "content_filter_results": azure_filter_results()
            });
            json!({
                "id": r.id, "object": "chat.completion", "created": r.created, "model": r.model,
                "choices": [choice], "usage": openai_usage(&r.usage),
                "system_fingerprint": "fp_crossfire",
                "prompt_filter_results":
                    [{"prompt_index": 0, "content_filter_results": azure_filter_results()}]
            })
        }
        Wire::AnthropicMessages => json!({
            "id": r.id, "type": "message", "role": "assistant", "model": r.model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": anthropic_usage(&r.usage)
        }),
        Wire::Gemini => json!({
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": "STOP", "index": 0}],
            "usageMetadata": gemini_usage(&r.usage),
            "modelVersion": r.model,
            "responseId": r.id
        }),
    };
    Bytes::from(v.to_string())
}

/// The OpenAI body, serialized from borrowed fields: the hot path of load runs.
fn openai_body(r: &Reply<'_>, text: &str) -> Bytes {
    let completion = OpenaiCompletion {
        id: r.id,
        object: "chat.completion",
        created: r.created,
        model: r.model,
        choices: [OpenaiChoice {
            index: 0,
            message: OpenaiMessage {
                role: "assistant",
                content: text,
                refusal: None,
                annotations: [],
            },
            logprobs: None,
            finish_reason: "stop",
        }],
        usage: OpenaiUsage::from(&r.usage),
        service_tier: "default",
        system_fingerprint: "fp_crossfire",
    };
    serde_json::to_vec(&completion)
        .map(Bytes::from)
        .unwrap_or_default()
}

fn azure_filter_results() -> Value {
    json!({
        "hate": {"filtered": false, "severity": "safe"},
        "self_harm": {"filtered": false, "severity": "safe"},
        "sexual": {"filtered": false, "severity": "safe"},
        "violence": {"filtered": false, "severity": "safe"}
    })
}

/// The event stream of a streaming success answer, split for faults.
pub fn stream(dialect: Dialect, r: &Reply<'_>) -> StreamParts {
    if r.api == Api::Responses {
        return responses_stream(r);
    }
    match dialect.wire() {
        Wire::OpenaiChat | Wire::AzureChat => openai_stream(r),
        Wire::AnthropicMessages => anthropic_stream(r),
        Wire::Gemini => gemini_stream(r),
    }
}

fn openai_stream(r: &Reply<'_>) -> StreamParts {
    let chunk = |delta: Value, finish: Value| {
        let mut v = json!({
            "id": r.id, "object": "chat.completion.chunk", "created": r.created, "model": r.model,
            "system_fingerprint": "fp_crossfire",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        });
        if r.include_usage {
            v["usage"] = Value::Null;
        }
        sse_data(&v)
    };
    let preamble = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )];
    let content = r
        .pieces
        .iter()
        .map(|p| chunk(json!({"content": p}), Value::Null))
        .collect();
    let mut finale = vec![chunk(json!({}), json!("stop"))];
    if r.include_usage {
        finale.push(sse_data(&json!({
            "id": r.id, "object": "chat.completion.chunk", "created": r.created, "model": r.model,
            "system_fingerprint": "fp_crossfire", "choices": [], "usage": openai_usage(&r.usage)
        })));
    }
    finale.push(Bytes::from_static(b"data: [DONE]\n\n"));
    StreamParts {
        preamble,
        content,
        finale,
    }
}

fn anthropic_stream(r: &Reply<'_>) -> StreamParts {
    let start_usage = Usage {
        completion_tokens: 1,
        ..r.usage
    };
    let preamble = vec![
        sse_event(
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": r.id, "type": "message", "role": "assistant", "model": r.model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": anthropic_usage(&start_usage)}}),
        ),
        sse_event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        sse_event("ping", &json!({"type": "ping"})),
    ];
    let content = r
        .pieces
        .iter()
        .map(|p| {
            sse_event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}),
            )
        })
        .collect();
    let finale = vec![
        sse_event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": 0}),
        ),
        sse_event(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"output_tokens": r.usage.completion_tokens}}),
        ),
        sse_event("message_stop", &json!({"type": "message_stop"})),
    ];
    StreamParts {
        preamble,
        content,
        finale,
    }
}

fn gemini_stream(r: &Reply<'_>) -> StreamParts {
    let n = r.pieces.len();
    let chunks: Vec<Value> = r
        .pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let last = i + 1 == n;
            let mut candidate =
                json!({"content": {"parts": [{"text": p}], "role": "model"}, "index": 0});
            if last {
                candidate["finishReason"] = json!("STOP");
            }
            let partial = Usage {
                completion_tokens: if last {
                    r.usage.completion_tokens
                } else {
                    r.usage.reasoning_tokens + i as u64 + 1
                },
                ..r.usage
            };
            json!({"candidates": [candidate], "usageMetadata": gemini_usage(&partial),
                "modelVersion": r.model, "responseId": r.id})
        })
        .collect();
    if r.sse {
        StreamParts {
            preamble: vec![],
            content: chunks
                .iter()
                .map(|c| Bytes::from(format!("data: {c}\r\n\r\n")))
                .collect(),
            finale: vec![],
        }
    } else {
        // A streamed JSON array: "[{..}", ",\r\n{..}", ..., "]".
        let content = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| Bytes::from(format!("{}{c}", if i == 0 { "[" } else { ",\r\n" })))
            .collect();
        StreamParts {
            preamble: vec![],
            content,
            finale: vec![Bytes::from_static(b"]")],
        }
    }
}

/// The content type of a stream for this dialect.
pub fn stream_content_type(dialect: Dialect, sse: bool) -> &'static str {
    if dialect == Dialect::Gemini && !sse {
        "application/json; charset=UTF-8"
    } else {
        "text/event-stream; charset=utf-8"
    }
}

/// A body that starts like the dialect's success JSON and breaks off: what a
/// `malformed` answer sends with status 200.
pub fn malformed_body(dialect: Dialect, r: &Reply<'_>) -> Bytes {
    let whole = body(dialect, r);
    let cut = whole.len() * 2 / 3;
    let mut broken = whole.slice(..cut).to_vec();
    broken.extend_from_slice(b"\"}]");
    Bytes::from(broken)
}

/// A stream event whose data is not valid JSON, in the dialect's framing
/// (Gemini: an SSE event, or an element of its JSON-array stream).
pub fn malformed_event(dialect: Dialect, r: &Reply<'_>) -> Bytes {
    if r.api == Api::Responses {
        return Bytes::from(format!(
            "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"item_id\":\"{}\",\"delta\":\"te\n\n",
            message_id(r)
        ));
    }
    match dialect.wire() {
        Wire::AnthropicMessages => Bytes::from_static(
            b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_de\n\n",
        ),
        Wire::Gemini if r.sse => {
            Bytes::from("data: {\"candidates\": [{\"content\": {\"parts\": [{\"te\r\n\r\n")
        }
        // An element of the JSON-array stream, broken off.
        Wire::Gemini => Bytes::from(",\r\n{\"candidates\": [{\"content\": {\"parts\": [{\"te"),
        Wire::OpenaiChat | Wire::AzureChat => Bytes::from(format!(
            "data: {{\"id\":\"{}\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"cont\n\n",
            r.id
        )),
    }
}

/// The Responses API `usage` block.
fn responses_usage(u: &Usage) -> Value {
    json!({
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens},
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.prompt_tokens + u.completion_tokens
    })
}

/// The id of the reply's output message: the response id's tail, `msg_` prefixed.
fn message_id(r: &Reply<'_>) -> String {
    format!("msg_{}", r.id.strip_prefix("resp_").unwrap_or(r.id))
}

fn reasoning_item(r: &Reply<'_>) -> Value {
    json!({"id": format!("rs_{}", r.id.strip_prefix("resp_").unwrap_or(r.id)),
        "type": "reasoning", "summary": []})
}

fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

fn message_item(r: &Reply<'_>, status: &str, text: Option<&str>) -> Value {
    let content: Vec<Value> = text.map(output_text).into_iter().collect();
    json!({"id": message_id(r), "type": "message", "status": status,
        "content": content, "role": "assistant"})
}

/// A Responses API `response` object in `status`; `text` fills its output
/// message (and `usage`) once there is one.
fn responses_object(r: &Reply<'_>, status: &str, text: Option<&str>) -> Value {
    let mut output = Vec::new();
    if text.is_some() {
        if r.usage.reasoning_tokens > 0 {
            output.push(reasoning_item(r));
        }
        output.push(message_item(r, "completed", text));
    }
    json!({
        "id": r.id, "object": "response", "created_at": r.created, "status": status,
        "background": false, "error": null, "incomplete_details": null,
        "instructions": null, "max_output_tokens": r.max_output_tokens,
        "max_tool_calls": null, "model": r.model, "output": output,
        "parallel_tool_calls": true, "previous_response_id": null,
        "prompt_cache_key": null, "reasoning": {"effort": null, "summary": null},
        "safety_identifier": null, "service_tier": "default", "store": true,
        "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto", "tools": [], "top_logprobs": 0, "top_p": 1.0,
        "truncation": "disabled",
        "usage": if text.is_some() { responses_usage(&r.usage) } else { Value::Null },
        "user": null, "metadata": {}
    })
}

/// Typed Responses API events: `response.created`, `response.in_progress`,
/// the output item and content part opened, one `response.output_text.delta`
/// per piece, then the text, part and item closed and `response.completed`
/// with the usage. No `[DONE]`: the Responses stream ends with its last event.
fn responses_stream(r: &Reply<'_>) -> StreamParts {
    let mut seq = 0u64;
    // `type` and `sequence_number` lead every event, as OpenAI writes them.
    let mut event = |name: &str, fields: Value| {
        let mut v = json!({"type": name, "sequence_number": seq});
        if let (Some(head), Value::Object(rest)) = (v.as_object_mut(), fields) {
            head.extend(rest);
        }
        seq += 1;
        sse_event(name, &v)
    };
    let text: String = r.pieces.concat();
    let reasoning = r.usage.reasoning_tokens > 0;
    let index = u32::from(reasoning);
    let item_id = message_id(r);
    let mut preamble = vec![
        event(
            "response.created",
            json!({"response": responses_object(r, "in_progress", None)}),
        ),
        event(
            "response.in_progress",
            json!({"response": responses_object(r, "in_progress", None)}),
        ),
    ];
    if reasoning {
        let item = reasoning_item(r);
        preamble.push(event(
            "response.output_item.added",
            json!({"output_index": 0, "item": item}),
        ));
        preamble.push(event(
            "response.output_item.done",
            json!({"output_index": 0, "item": item}),
        ));
    }
    preamble.push(event(
        "response.output_item.added",
        json!({"output_index": index, "item": message_item(r, "in_progress", None)}),
    ));
    preamble.push(event(
        "response.content_part.added",
        json!({"item_id": item_id, "output_index": index, "content_index": 0,
            "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}),
    ));
    let content = r
        .pieces
        .iter()
        .map(|p| {
            event(
                "response.output_text.delta",
                json!({"item_id": item_id, "output_index": index, "content_index": 0,
                    "delta": p, "logprobs": []}),
            )
        })
        .collect();
    let finale = vec![
        event(
            "response.output_text.done",
            json!({"item_id": item_id, "output_index": index, "content_index": 0,
                "text": text, "logprobs": []}),
        ),
        event(
            "response.content_part.done",
            json!({"item_id": item_id, "output_index": index, "content_index": 0,
                "part": output_text(&text)}),
        ),
        event(
            "response.output_item.done",
            json!({"output_index": index, "item": message_item(r, "completed", Some(&text))}),
        ),
        event(
            "response.completed",
            json!({"response": responses_object(r, "completed", Some(&text))}),
        ),
    ];
    StreamParts {
        preamble,
        content,
        finale,
    }
}

/// How a Responses API stream reports a failure after some content: a
/// `response.failed` event whose response carries the error. It is the
/// stream's last event; `sequence_number` continues the events sent before.
pub fn responses_failed_event(r: &Reply<'_>, sequence_number: u64) -> Bytes {
    let mut response = responses_object(r, "failed", None);
    response["error"] = json!({"code": "server_error",
        "message": "The server had an error while processing your request. Sorry about that!"});
    sse_event(
        "response.failed",
        &json!({"type": "response.failed", "sequence_number": sequence_number, "response": response}),
    )
}
