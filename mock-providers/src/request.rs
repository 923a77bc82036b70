//! Reading what a gateway sent: endpoint, model, stream flags, prompt tokens
//! and the crossfire request marker, for every dialect. Pure: no sockets.

use crate::dialect::{Dialect, Wire};
use crate::tokens::TokenCounter;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The parts of an HTTP request a mock needs.
#[derive(Debug, Clone, Copy)]
pub struct IncomingRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path without the query string.
    pub path: &'a str,
    /// Query string without `?`, if any.
    pub query: Option<&'a str>,
    /// Request body.
    pub body: &'a [u8],
}

/// What a well-formed request asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRequest {
    /// The model asked for (Azure: the deployment name; Gemini: from the path).
    pub model: String,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// OpenAI: `stream_options.include_usage`.
    pub include_usage: bool,
    /// Gemini streaming: `alt=sse` (SSE) rather than a streamed JSON array.
    pub sse: bool,
    /// The output token cap asked for.
    pub max_tokens: Option<u64>,
    /// Prompt tokens counted by `counter`.
    pub prompt_tokens: u64,
    /// The counter that made `prompt_tokens`.
    pub counter: TokenCounter,
    /// Number of messages (system prompt included).
    pub messages: u32,
    /// Which completion API the request speaks.
    pub api: Api,
}

/// A request the real provider would refuse before any model runs.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestProblem {
    /// No endpoint of this dialect at that method and path.
    UnknownEndpoint,
    /// Azure: the `api-version` query parameter is missing.
    MissingApiVersion,
    /// The body is not JSON (or not an object).
    InvalidJson(String),
    /// A required field is missing.
    MissingField(&'static str),
}

/// Finds the crossfire marker `[xf:<run>:<n>]` anywhere in a body, whatever
/// the dialect: gateways forward message text across translation.
///
/// ```
/// use mock_providers::request::find_marker;
/// assert_eq!(find_marker(br#"{"content":"hi [xf:ab12:7]"}"#), Some("xf:ab12:7".to_string()));
/// assert_eq!(find_marker(b"no marker"), None);
/// ```
pub fn find_marker(body: &[u8]) -> Option<String> {
    const OPEN: &[u8] = b"[xf:";
    let mut from = 0;
    while let Some(pos) = find(&body[from..], OPEN) {
        let start = from + pos + 1;
        let rest = &body[start..];
        let end = rest
            .iter()
            .take(96)
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_')));
        if let Some(end) = end {
            if rest[end] == b']' && end > 3 {
                return std::str::from_utf8(&rest[..end]).ok().map(str::to_owned);
            }
        }
        from = start;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What a request is to a mock: a completion attempt (the traffic faults and
/// schedules count), side traffic a gateway or SDK sends on its own (model
/// lists, token counts, health), or an endpoint the mock does not serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Traffic {
    /// A completion endpoint: chat completions, messages, generateContent,
    /// the Responses API. Faults, schedules and context windows apply.
    #[default]
    Completion,
    /// An endpoint the real provider serves beside completions; answered as
    /// the provider does, never faulted, never counted by a schedule.
    Side,
    /// No endpoint of this dialect at that method and path.
    Unserved,
}

impl Traffic {
    /// `completion`, `side` or `unserved`.
    pub fn name(self) -> &'static str {
        match self {
            Traffic::Completion => "completion",
            Traffic::Side => "side",
            Traffic::Unserved => "unserved",
        }
    }
}

/// Which completion API a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The dialect's own completion API (chat completions, messages,
    /// generateContent).
    Native,
    /// OpenAI's Responses API (`POST /v1/responses`).
    Responses,
}

/// A side endpoint: what the real provider serves beside completions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SideEndpoint {
    /// The model list (`GET /v1/models`, Gemini `GET /v1beta/models`, Azure
    /// `GET /openai/models`).
    ListModels,
    /// One model (`GET /v1/models/{id}`).
    GetModel(String),
    /// Token counting: Anthropic `POST /v1/messages/count_tokens` (model in
    /// the body), Gemini `POST /v1beta/models/{m}:countTokens`.
    CountTokens {
        /// The model named by the path (Gemini).
        model: Option<String>,
    },
    /// Azure's deployment list (`GET /openai/deployments`).
    ListDeployments,
    /// One Azure deployment (`GET /openai/deployments/{d}`).
    GetDeployment(String),
    /// A health check (vLLM's `GET /health`).
    Health,
}

/// Where a request lands among a dialect's endpoints.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    /// A completion endpoint; `Err` when the provider refuses the address
    /// itself (Azure without `api-version`).
    Completion(Result<Route, RequestProblem>),
    /// A side endpoint.
    Side(SideEndpoint),
    /// Not served by this dialect.
    Unserved,
}

impl Endpoint {
    /// The kind of traffic this endpoint is.
    pub fn traffic(&self) -> Traffic {
        match self {
            Endpoint::Completion(_) => Traffic::Completion,
            Endpoint::Side(_) => Traffic::Side,
            Endpoint::Unserved => Traffic::Unserved,
        }
    }
}

/// Whether the query string has `api-version=`.
fn has_api_version(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("api-version=")))
}

/// Side endpoints shared by the OpenAI-style and Anthropic model lists:
/// `GET .../models` and `GET .../models/{id}` (ids may hold a `/`).
fn model_endpoints(method: &str, path: &str) -> Option<SideEndpoint> {
    if method != "GET" {
        return None;
    }
    if path.ends_with("/models") {
        return Some(SideEndpoint::ListModels);
    }
    let (_, id) = path.split_once("/models/")?;
    (!id.is_empty()).then(|| SideEndpoint::GetModel(id.to_string()))
}

/// Which endpoint of a dialect a method and path name.
///
/// ```
/// use mock_providers::request::{endpoint, Endpoint, IncomingRequest, SideEndpoint, Traffic};
/// use mock_providers::Dialect;
/// let get = |path| IncomingRequest { method: "GET", path, query: None, body: b"" };
/// assert_eq!(endpoint(Dialect::Openai, &get("/v1/models")), Endpoint::Side(SideEndpoint::ListModels));
/// assert_eq!(endpoint(Dialect::Openai, &get("/v1/files")).traffic(), Traffic::Unserved);
/// ```
pub fn endpoint(dialect: Dialect, req: &IncomingRequest<'_>) -> Endpoint {
    let path = req.path.trim_end_matches('/');
    let post = req.method == "POST";
    match dialect.wire() {
        Wire::OpenaiChat => {
            if post && path.ends_with("/chat/completions") {
                Endpoint::Completion(Ok(Route::Openai))
            } else if post && path.ends_with("/responses") && dialect.serves_responses_api() {
                Endpoint::Completion(Ok(Route::Responses))
            } else if let Some(side) = model_endpoints(req.method, path) {
                Endpoint::Side(side)
            } else if dialect == Dialect::Vllm && req.method == "GET" && path == "/health" {
                Endpoint::Side(SideEndpoint::Health)
            } else {
                Endpoint::Unserved
            }
        }
        Wire::AzureChat => azure_endpoint(req, path),
        Wire::AnthropicMessages => {
            if post && path.ends_with("/messages/count_tokens") {
                Endpoint::Side(SideEndpoint::CountTokens { model: None })
            } else if post && path.ends_with("/messages") {
                Endpoint::Completion(Ok(Route::Anthropic))
            } else if let Some(side) = model_endpoints(req.method, path) {
                Endpoint::Side(side)
            } else {
                Endpoint::Unserved
            }
        }
        Wire::Gemini => gemini_endpoint(req, path),
    }
}

fn azure_endpoint(req: &IncomingRequest<'_>, path: &str) -> Endpoint {
    let versioned = has_api_version(req.query);
    let needs_version = |route: Route| {
        Endpoint::Completion(if versioned {
            Ok(route)
        } else {
            Err(RequestProblem::MissingApiVersion)
        })
    };
    let post = req.method == "POST";
    let get = req.method == "GET";
    if let Some(rest) = path.strip_prefix("/openai/deployments/") {
        if let Some(deployment) = rest.strip_suffix("/chat/completions") {
            if post && !deployment.is_empty() && !deployment.contains('/') {
                return needs_version(Route::Azure {
                    deployment: deployment.to_string(),
                });
            }
        } else if get && !rest.is_empty() && !rest.contains('/') {
            return Endpoint::Side(SideEndpoint::GetDeployment(rest.to_string()));
        }
        return Endpoint::Unserved;
    }
    match (req.method, path) {
        // The v1 API needs no api-version; the model is in the body.
        ("POST", "/openai/v1/chat/completions") => Endpoint::Completion(Ok(Route::Openai)),
        ("POST", "/openai/v1/responses") => Endpoint::Completion(Ok(Route::Responses)),
        ("POST", "/openai/responses") => needs_version(Route::Responses),
        ("GET", "/openai/deployments") => Endpoint::Side(SideEndpoint::ListDeployments),
        _ => match path
            .strip_prefix("/openai/v1")
            .or_else(|| path.strip_prefix("/openai"))
        {
            Some(rest) if rest.starts_with("/models") => {
                model_endpoints(req.method, rest).map_or(Endpoint::Unserved, Endpoint::Side)
            }
            _ => Endpoint::Unserved,
        },
    }
}

fn gemini_endpoint(req: &IncomingRequest<'_>, path: &str) -> Endpoint {
    if req.method == "GET" && path.ends_with("/models") {
        return Endpoint::Side(SideEndpoint::ListModels);
    }
    let Some((_, tail)) = path.split_once("/models/") else {
        return Endpoint::Unserved;
    };
    let Some((model, method)) = tail.rsplit_once(':') else {
        return match req.method {
            "GET" if !tail.is_empty() => Endpoint::Side(SideEndpoint::GetModel(tail.to_string())),
            _ => Endpoint::Unserved,
        };
    };
    if req.method != "POST" {
        return Endpoint::Unserved;
    }
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        "countTokens" => {
            return Endpoint::Side(SideEndpoint::CountTokens {
                model: Some(model.to_string()),
            })
        }
        _ => return Endpoint::Unserved,
    };
    let sse = req
        .query
        .is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
    Endpoint::Completion(Ok(Route::Gemini {
        model: model.to_string(),
        stream,
        sse,
    }))
}

/// The completion endpoint a request reached, with what its path says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// OpenAI-compatible chat completions: the model is in the body.
    Openai,
    /// Azure chat completions: the model is the deployment in the path.
    Azure {
        /// The deployment named by the path.
        deployment: String,
    },
    /// OpenAI's Responses API (OpenAI, Azure): the model is in the body.
    Responses,
    /// Anthropic messages.
    Anthropic,
    /// Gemini: the model and the stream flags are in the path and query.
    Gemini {
        /// The model named by the path.
        model: String,
        /// `streamGenerateContent`.
        stream: bool,
        /// `alt=sse`.
        sse: bool,
    },
}

/// An OpenAI chat body, borrowed: the hot path of load runs reads only these
/// fields, without building a JSON tree.
#[derive(serde::Deserialize)]
struct OpenaiBody<'a> {
    #[serde(borrow, default)]
    model: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    messages: Option<Vec<OpenaiMessage<'a>>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
}

#[derive(serde::Deserialize)]
struct OpenaiMessage<'a> {
    #[serde(borrow, default)]
    role: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<&'a serde_json::value::RawValue>,
}

#[derive(serde::Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

/// Text of a raw `content`: a string directly, else through the general reader.
fn raw_content_text(raw: Option<&serde_json::value::RawValue>) -> String {
    let Some(raw) = raw else {
        return String::new();
    };
    let text = raw.get();
    if text.starts_with('"') {
        return serde_json::from_str::<String>(text).unwrap_or_default();
    }
    content_text(serde_json::from_str::<Value>(text).ok().as_ref())
}

/// An OpenAI or Azure body; Azure's model is the `deployment` of its path.
fn parse_openai(
    deployment: Option<String>,
    req: &IncomingRequest<'_>,
) -> Result<ParsedRequest, RequestProblem> {
    let body: OpenaiBody<'_> =
        serde_json::from_slice(req.body).map_err(|e| RequestProblem::InvalidJson(e.to_string()))?;
    let model = match deployment {
        Some(deployment) => deployment,
        None => body
            .model
            .map(|m| m.into_owned())
            .ok_or(RequestProblem::MissingField("model"))?,
    };
    let messages = body
        .messages
        .ok_or(RequestProblem::MissingField("messages"))?;
    let counter = TokenCounter::for_model(&model);
    let texts: Vec<(std::borrow::Cow<'_, str>, String)> = messages
        .iter()
        .map(|m| {
            (
                m.role.clone().unwrap_or(std::borrow::Cow::Borrowed("user")),
                raw_content_text(m.content),
            )
        })
        .collect();
    let prompt_tokens = counter.count_chat(texts.iter().map(|(r, c)| (r.as_ref(), c.as_str())));
    Ok(ParsedRequest {
        model,
        stream: body.stream.unwrap_or(false),
        include_usage: body
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
        sse: true,
        max_tokens: body.max_completion_tokens.or(body.max_tokens),
        prompt_tokens,
        counter,
        messages: texts.len() as u32,
        api: Api::Native,
    })
}

/// Reads a completion request the way the real provider would, or says why
/// it refuses it. Side and unserved endpoints are [`RequestProblem::UnknownEndpoint`].
pub fn parse(dialect: Dialect, req: &IncomingRequest<'_>) -> Result<ParsedRequest, RequestProblem> {
    match endpoint(dialect, req) {
        Endpoint::Completion(route) => parse_route(route?, req),
        Endpoint::Side(_) | Endpoint::Unserved => Err(RequestProblem::UnknownEndpoint),
    }
}

/// Reads a request that reached a completion endpoint.
pub fn parse_route(
    route: Route,
    req: &IncomingRequest<'_>,
) -> Result<ParsedRequest, RequestProblem> {
    match route {
        Route::Openai => parse_openai(None, req),
        Route::Azure { deployment } => parse_openai(Some(deployment), req),
        Route::Responses => parse_responses(&json_object(req.body)?),
        Route::Anthropic => parse_anthropic(&json_object(req.body)?, true),
        Route::Gemini { model, stream, sse } => {
            parse_gemini(model, stream, sse, &json_object(req.body)?)
        }
    }
}

/// Reads a token-counting request (Anthropic `count_tokens`, Gemini
/// `countTokens`): the prompt it would send, counted.
pub fn parse_count_tokens(
    dialect: Dialect,
    model: Option<&str>,
    body: &[u8],
) -> Result<ParsedRequest, RequestProblem> {
    let body = json_object(body)?;
    match (dialect.wire(), model) {
        (Wire::Gemini, Some(model)) => {
            // Either `contents` directly or a whole `generateContentRequest`.
            let inner = body.get("generateContentRequest").unwrap_or(&body);
            parse_gemini(model.to_string(), false, false, inner)
        }
        _ => parse_anthropic(&body, false),
    }
}

/// A Responses API body: `input` is a string or a list of items; the
/// `instructions` are the system prompt.
fn parse_responses(body: &Value) -> Result<ParsedRequest, RequestProblem> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or(RequestProblem::MissingField("model"))?
        .to_string();
    let input = body
        .get("input")
        .ok_or(RequestProblem::MissingField("input"))?;
    let mut texts: Vec<(String, String)> = Vec::new();
    if let Some(instructions) = body.get("instructions").and_then(Value::as_str) {
        if !instructions.is_empty() {
            texts.push(("system".into(), instructions.to_string()));
        }
    }
    match input {
        Value::String(text) => texts.push(("user".into(), text.clone())),
        Value::Array(items) => {
            for item in items {
                let role = item.get("role").and_then(Value::as_str).unwrap_or("user");
                let text = match item.get("content") {
                    Some(content) => content_text(Some(content)),
                    // function_call_output, function_call: their text is in
                    // `output` or `arguments`.
                    None => ["output", "arguments"]
                        .iter()
                        .filter_map(|k| item.get(*k).and_then(Value::as_str))
                        .collect(),
                };
                texts.push((role.to_string(), text));
            }
        }
        _ => return Err(RequestProblem::MissingField("input")),
    }
    let stream = flag(&body["stream"]);
    let max_tokens = body.get("max_output_tokens").and_then(Value::as_u64);
    let mut parsed = counted(model, stream, true, max_tokens, &texts, body);
    parsed.api = Api::Responses;
    Ok(parsed)
}

/// The body as a JSON object.
fn json_object(body: &[u8]) -> Result<Value, RequestProblem> {
    let body: Value =
        serde_json::from_slice(body).map_err(|e| RequestProblem::InvalidJson(e.to_string()))?;
    if !body.is_object() {
        return Err(RequestProblem::InvalidJson(
            "the body is not a JSON object".into(),
        ));
    }
    Ok(body)
}

fn flag(v: &Value) -> bool {
    v.as_bool().unwrap_or(false)
}

/// An Anthropic messages body; `count_tokens` needs no `max_tokens`.
fn parse_anthropic(body: &Value, needs_max_tokens: bool) -> Result<ParsedRequest, RequestProblem> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or(RequestProblem::MissingField("model"))?
        .to_string();
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or(RequestProblem::MissingField("messages"))?;
    let max_tokens = body.get("max_tokens").and_then(Value::as_u64);
    if needs_max_tokens && max_tokens.is_none() {
        return Err(RequestProblem::MissingField("max_tokens"));
    }
    let mut texts: Vec<(String, String)> = Vec::new();
    // An empty system prompt (`"system": []`, as Portkey sends) is no message.
    if let Some(system) = body.get("system") {
        let text = content_text(Some(system));
        if !text.is_empty() {
            texts.push(("system".into(), text));
        }
    }
    for m in messages {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
        texts.push((role.to_string(), content_text(m.get("content"))));
    }
    let stream = flag(&body["stream"]);
    Ok(counted(model, stream, true, max_tokens, &texts, body))
}

fn parse_gemini(
    model: String,
    stream: bool,
    sse: bool,
    body: &Value,
) -> Result<ParsedRequest, RequestProblem> {
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .ok_or(RequestProblem::MissingField("contents"))?;
    let mut texts: Vec<(String, String)> = Vec::new();
    if let Some(system) = body
        .get("systemInstruction")
        .or_else(|| body.get("system_instruction"))
    {
        let text = parts_text(system.get("parts"));
        if !text.is_empty() {
            texts.push(("system".into(), text));
        }
    }
    for c in contents {
        let role = c.get("role").and_then(Value::as_str).unwrap_or("user");
        texts.push((role.to_string(), parts_text(c.get("parts"))));
    }
    // Gemini's JSON reads both spellings; LiteLLM sends the snake_case one.
    let max_tokens = body
        .get("generationConfig")
        .or_else(|| body.get("generation_config"))
        .and_then(|g| {
            g.get("maxOutputTokens")
                .or_else(|| g.get("max_output_tokens"))
        })
        .and_then(Value::as_u64);
    Ok(counted(model, stream, sse, max_tokens, &texts, body))
}

/// A parsed Anthropic or Gemini request, its prompt counted with the model's
/// counter.
fn counted(
    model: String,
    stream: bool,
    sse: bool,
    max_tokens: Option<u64>,
    texts: &[(String, String)],
    body: &Value,
) -> ParsedRequest {
    let counter = TokenCounter::for_model(&model);
    let prompt_tokens = counter.count_chat(texts.iter().map(|(r, c)| (r.as_str(), c.as_str())));
    let include_usage = body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .is_some_and(flag);
    ParsedRequest {
        model,
        stream,
        include_usage,
        sse,
        max_tokens,
        prompt_tokens,
        counter,
        messages: texts.len() as u32,
        api: Api::Native,
    }
}

/// Text of an OpenAI or Anthropic `content`: a string, or the text of its blocks.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => {
            let mut text = String::new();
            for b in blocks {
                if let Some(t) = b.get("text").and_then(Value::as_str) {
                    text.push_str(t);
                } else if let Some(inner) = b.get("content") {
                    text.push_str(&content_text(Some(inner)));
                }
            }
            text
        }
        _ => String::new(),
    }
}

/// Text of Gemini `parts`.
fn parts_text(parts: Option<&Value>) -> String {
    parts
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<String>()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(path: &'a str, query: Option<&'a str>, body: &'a [u8]) -> IncomingRequest<'a> {
        IncomingRequest {
            method: "POST",
            path,
            query,
            body,
        }
    }

    #[test]
    fn openai_paths_with_and_without_v1() {
        let body = br#"{"model":"gpt-4","messages":[{"role":"user","content":"Hello"}],"stream":true,"stream_options":{"include_usage":true}}"#;
        for path in ["/v1/chat/completions", "/chat/completions"] {
            let p = parse(Dialect::Openai, &req(path, None, body)).unwrap();
            assert_eq!(p.model, "gpt-4");
            assert!(p.stream && p.include_usage);
            assert_eq!(p.prompt_tokens, 8);
            assert_eq!(p.counter, TokenCounter::TiktokenCl100k);
        }
        assert_eq!(
            parse(Dialect::Openai, &req("/v1/completions", None, body)),
            Err(RequestProblem::UnknownEndpoint)
        );
    }

    #[test]
    fn an_empty_system_prompt_is_not_counted() {
        let with = br#"{"model":"claude-3-opus","max_tokens":5,"system":[],"messages":[{"role":"user","content":"hi there"}]}"#;
        let without = br#"{"model":"claude-3-opus","max_tokens":5,"messages":[{"role":"user","content":"hi there"}]}"#;
        let count = |b: &[u8]| {
            parse(Dialect::Anthropic, &req("/v1/messages", None, b))
                .unwrap()
                .prompt_tokens
        };
        assert_eq!(count(with), count(without));
    }

    #[test]
    fn anthropic_requires_max_tokens() {
        let body = br#"{"model":"claude-3-opus","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}"#;
        assert_eq!(
            parse(Dialect::Anthropic, &req("/v1/messages", None, body)),
            Err(RequestProblem::MissingField("max_tokens"))
        );
    }

    #[test]
    fn azure_takes_model_from_deployment_and_needs_api_version() {
        let body = br#"{"messages":[{"role":"user","content":"hi"}]}"#;
        let path = "/openai/deployments/my-gpt4o/chat/completions";
        let p = parse(
            Dialect::Azure,
            &req(path, Some("api-version=2024-08-01-preview"), body),
        )
        .unwrap();
        assert_eq!(p.model, "my-gpt4o");
        assert_eq!(
            parse(Dialect::Azure, &req(path, None, body)),
            Err(RequestProblem::MissingApiVersion)
        );
    }

    #[test]
    fn gemini_model_and_stream_from_path() {
        let body = br#"{"contents":[{"role":"user","parts":[{"text":"hello there"}]}],"generationConfig":{"maxOutputTokens":50}}"#;
        let p = parse(
            Dialect::Gemini,
            &req(
                "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
                Some("alt=sse"),
                body,
            ),
        )
        .unwrap();
        assert_eq!(p.model, "gemini-2.0-flash");
        assert!(p.stream && p.sse);
        assert_eq!(p.max_tokens, Some(50));
        assert_eq!(p.counter, TokenCounter::ApproxChars4);
    }

    #[test]
    fn endpoints_per_dialect_are_completion_side_or_unserved() {
        use Traffic::*;
        let cases = [
            (
                Dialect::Openai,
                "POST",
                "/v1/chat/completions",
                None,
                Completion,
            ),
            (Dialect::Openai, "POST", "/v1/responses", None, Completion),
            (Dialect::Openai, "GET", "/v1/models", None, Side),
            (Dialect::Openai, "GET", "/v1/models/gpt-4o/", None, Side),
            (Dialect::Openai, "POST", "/v1/completions", None, Unserved),
            (Dialect::Openai, "GET", "/health", None, Unserved),
            (Dialect::Vllm, "GET", "/health", None, Side),
            (Dialect::Mistral, "POST", "/v1/responses", None, Unserved),
            (Dialect::Deepseek, "POST", "/v1/responses", None, Unserved),
            (Dialect::Anthropic, "POST", "/v1/messages", None, Completion),
            (
                Dialect::Anthropic,
                "POST",
                "/v1/messages/count_tokens",
                None,
                Side,
            ),
            (Dialect::Anthropic, "GET", "/v1/models", None, Side),
            (Dialect::Anthropic, "POST", "/v1/complete", None, Unserved),
            (
                Dialect::Gemini,
                "POST",
                "/v1beta/models/g:generateContent",
                None,
                Completion,
            ),
            (
                Dialect::Gemini,
                "POST",
                "/v1beta/models/g:countTokens",
                None,
                Side,
            ),
            (Dialect::Gemini, "GET", "/v1beta/models/g", None, Side),
            (Dialect::Gemini, "GET", "/v1beta/models", None, Side),
            (
                Dialect::Gemini,
                "POST",
                "/v1beta/models/g:embedContent",
                None,
                Unserved,
            ),
            (
                Dialect::Azure,
                "POST",
                "/openai/deployments/d/chat/completions",
                Some("api-version=1"),
                Completion,
            ),
            // Without api-version still a completion attempt, refused as Azure does.
            (
                Dialect::Azure,
                "POST",
                "/openai/deployments/d/chat/completions",
                None,
                Completion,
            ),
            (
                Dialect::Azure,
                "POST",
                "/openai/responses",
                Some("api-version=1"),
                Completion,
            ),
            (
                Dialect::Azure,
                "POST",
                "/openai/v1/responses",
                None,
                Completion,
            ),
            (
                Dialect::Azure,
                "POST",
                "/openai/v1/chat/completions",
                None,
                Completion,
            ),
            (
                Dialect::Azure,
                "GET",
                "/openai/models",
                Some("api-version=1"),
                Side,
            ),
            (
                Dialect::Azure,
                "GET",
                "/openai/v1/models/gpt-4o",
                None,
                Side,
            ),
            (
                Dialect::Azure,
                "GET",
                "/openai/deployments",
                Some("api-version=1"),
                Side,
            ),
            (
                Dialect::Azure,
                "GET",
                "/openai/deployments/d",
                Some("api-version=1"),
                Side,
            ),
            (
                Dialect::Azure,
                "POST",
                "/v1/chat/completions",
                None,
                Unserved,
            ),
        ];
        for (dialect, method, path, query, want) in cases {
            let req = IncomingRequest {
                method,
                path,
                query,
                body: b"",
            };
            assert_eq!(
                endpoint(dialect, &req).traffic(),
                want,
                "{dialect} {method} {path}"
            );
        }
        let req = IncomingRequest {
            method: "POST",
            path: "/openai/deployments/d/chat/completions",
            query: None,
            body: b"",
        };
        assert_eq!(
            endpoint(Dialect::Azure, &req),
            Endpoint::Completion(Err(RequestProblem::MissingApiVersion))
        );
    }

    #[test]
    fn responses_input_and_instructions_are_counted() {
        let body = br#"{"model":"gpt-4o","instructions":"Be brief.","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Hello"}]}],"max_output_tokens":50,"stream":true}"#;
        let p = parse(Dialect::Openai, &req("/v1/responses", None, body)).unwrap();
        assert_eq!(p.api, Api::Responses);
        assert_eq!(p.messages, 2);
        assert!(p.stream);
        assert_eq!(p.max_tokens, Some(50));
        let plain = br#"{"model":"gpt-4o","input":"Hello"}"#;
        let q = parse(Dialect::Openai, &req("/v1/responses", None, plain)).unwrap();
        assert_eq!(q.messages, 1);
        assert!(q.prompt_tokens < p.prompt_tokens);
        assert_eq!(
            parse(
                Dialect::Openai,
                &req("/v1/responses", None, br#"{"model":"gpt-4o"}"#)
            ),
            Err(RequestProblem::MissingField("input"))
        );
    }

    /// LiteLLM 1.108.7 writes Gemini's output cap in snake_case.
    #[test]
    fn gemini_output_cap_in_either_spelling() {
        let body = br#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"max_output_tokens":50}}"#;
        let p = parse(
            Dialect::Gemini,
            &req("/models/gemini-2.5-flash:generateContent", None, body),
        )
        .unwrap();
        assert_eq!(p.max_tokens, Some(50));
    }

    #[test]
    fn marker_is_found_in_escaped_json_and_bad_candidates_are_skipped() {
        assert_eq!(
            find_marker(br#"[xf:] [xf:no space] "text":"q [xf:run1:42]\n""#),
            Some("xf:run1:42".into())
        );
    }
}
