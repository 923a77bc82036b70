//! Reading a team's `tensorzero.toml` the way TensorZero 2026.6.0 reads it:
//! models with their `routing` and `providers`, functions with their
//! variants, `retries`, `timeouts` and `experimentation`. Every key
//! TensorZero refuses is refused here too, at its file:line:column, with the
//! keys it accepts (the lists are the ones its own errors print, see
//! `/work/notes/tensorzero.md`). Sections crossfire does not need
//! (`gateway`, `metrics`, `tools`, ...) are kept as they are.

pub use super::toml_src::TomlSource;
use crate::diag::{suggest, InputError};
use mock_providers::Dialect;
use std::path::Path;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The top-level sections TensorZero 2026.6.0 accepts.
pub const TOP_KEYS: [&str; 14] = [
    "gateway",
    "clickhouse",
    "postgres",
    "rate_limiting",
    "object_storage",
    "models",
    "embedding_models",
    "functions",
    "metrics",
    "tools",
    "evaluations",
    "provider_types",
    "optimizers",
    "autopilot",
];

/// The keys of `[models.<name>]`.
pub const MODEL_KEYS: [&str; 5] = [
    "routing",
    "providers",
    "timeouts",
    "skip_relay",
    "namespace",
];

/// Keys every provider type accepts besides its own.
pub const PROVIDER_COMMON_KEYS: [&str; 7] = [
    "type",
    "extra_body",
    "extra_headers",
    "timeouts",
    "cost",
    "batch_cost",
    "discard_unknown_chunks",
];

/// Every provider type of TensorZero 2026.6.0 with the keys of its own.
pub const PROVIDER_TYPES: [(&str, &[&str]); 19] = [
    (
        "anthropic",
        &[
            "model_name",
            "api_base",
            "api_key_location",
            "beta_structured_outputs",
            "provider_tools",
        ],
    ),
    (
        "aws_bedrock",
        &[
            "model_id",
            "region",
            "allow_auto_detect_region",
            "endpoint_url",
            "api_key",
            "access_key_id",
            "secret_access_key",
            "session_token",
        ],
    ),
    (
        "aws_sagemaker",
        &[
            "endpoint_name",
            "model_name",
            "region",
            "allow_auto_detect_region",
            "hosted_provider",
            "endpoint_url",
            "access_key_id",
            "secret_access_key",
            "session_token",
        ],
    ),
    ("azure", &["deployment_id", "endpoint", "api_key_location"]),
    (
        "gcp_vertex_anthropic",
        &[
            "model_id",
            "location",
            "project_id",
            "credential_location",
            "provider_tools",
        ],
    ),
    (
        "gcp_vertex_gemini",
        &[
            "model_id",
            "endpoint_id",
            "location",
            "project_id",
            "credential_location",
        ],
    ),
    (
        "google_ai_studio_gemini",
        &["model_name", "api_key_location"],
    ),
    (
        "groq",
        &["model_name", "api_key_location", "reasoning_format"],
    ),
    ("hyperbolic", &["model_name", "api_key_location"]),
    (
        "fireworks",
        &["model_name", "api_key_location", "parse_think_blocks"],
    ),
    (
        "mistral",
        &["model_name", "api_key_location", "prompt_mode"],
    ),
    (
        "openai",
        &[
            "model_name",
            "api_base",
            "api_key_location",
            "api_type",
            "include_encrypted_reasoning",
            "provider_tools",
            "content_type_overrides",
        ],
    ),
    ("openrouter", &["model_name", "api_key_location"]),
    (
        "together",
        &["model_name", "api_key_location", "parse_think_blocks"],
    ),
    ("vllm", &["model_name", "api_base", "api_key_location"]),
    ("xai", &["model_name", "api_key_location"]),
    ("tgi", &["api_base", "api_key_location"]),
    ("sglang", &["model_name", "api_base", "api_key_location"]),
    ("deepseek", &["model_name", "api_key_location"]),
];

/// The keys of `[functions.<name>]` (besides `type`).
pub const FUNCTION_KEYS: [&str; 12] = [
    "type",
    "variants",
    "system_schema",
    "user_schema",
    "assistant_schema",
    "schemas",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "description",
    "experimentation",
    "evaluators",
];

/// The variant types of TensorZero 2026.6.0.
pub const VARIANT_TYPES: [&str; 5] = [
    "chat_completion",
    "experimental_best_of_n_sampling",
    "experimental_dynamic_in_context_learning",
    "experimental_mixture_of_n",
    "experimental_chain_of_thought",
];

/// The keys of a `chat_completion` variant.
pub const CHAT_COMPLETION_KEYS: [&str; 24] = [
    "type",
    "weight",
    "model",
    "system_template",
    "user_template",
    "assistant_template",
    "input_wrappers",
    "templates",
    "temperature",
    "top_p",
    "max_tokens",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "stop_sequences",
    "reasoning_effort",
    "service_tier",
    "thinking_budget_tokens",
    "verbosity",
    "json_mode",
    "retries",
    "extra_body",
    "extra_headers",
    "timeouts",
];

/// The experimentation types of a function.
pub const EXPERIMENTATION_TYPES: [&str; 5] = [
    "static",
    "adaptive",
    "static_weights",
    "uniform",
    "track_and_stop",
];

/// Timeouts at one level (model, provider or variant), in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Timeouts {
    /// `timeouts.non_streaming.total_ms`.
    pub non_streaming_total_ms: Option<u64>,
    /// `timeouts.streaming.ttft_ms`.
    pub streaming_ttft_ms: Option<u64>,
    /// `timeouts.streaming.total_ms`.
    pub streaming_total_ms: Option<u64>,
}

impl Timeouts {
    /// Whether any timeout is set.
    pub fn any(&self) -> bool {
        self.non_streaming_total_ms.is_some()
            || self.streaming_ttft_ms.is_some()
            || self.streaming_total_ms.is_some()
    }
}

/// One provider entry of a model: a deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// The model it belongs to (`gpt-4o`).
    pub model: String,
    /// Its name in `providers` (`openai`).
    pub name: String,
    /// The deployment id crossfire gives it: `<model>.<provider>` (a drill
    /// cell's copy keeps the cell suffix at the end: `gpt.openai--cell0`).
    pub id: String,
    /// Its `type` (`openai`, `anthropic`, `azure`, ...).
    pub kind: String,
    /// The model the upstream is asked for (`model_name`, Azure's
    /// `deployment_id`, Vertex's `model_id`; the dialect's default else).
    pub upstream_model: String,
    /// `api_base` (Azure: `endpoint`) as the team wrote it.
    pub base: Option<String>,
    /// Its own timeouts.
    pub timeouts: Timeouts,
    /// crossfire's provider and dialect, when a mock can stand for it.
    pub mapped: Option<(String, Dialect)>,
    /// Why it cannot, when it cannot.
    pub unmapped_reason: Option<String>,
    /// Where its table is (`models.gpt.providers.openai`).
    pub path: String,
    /// Line of its table.
    pub line: usize,
}

/// A model: providers tried in `routing` order.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Its name (`[models.<name>]`).
    pub name: String,
    /// Its providers, in `routing` order.
    pub providers: Vec<Provider>,
    /// Model-level timeouts (over all its providers together).
    pub timeouts: Timeouts,
    /// Line of `routing`.
    pub line: usize,
}

/// A variant's `retries`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Retries {
    /// `num_retries` (TensorZero's default: 0).
    pub num_retries: u32,
    /// `max_delay_s` (TensorZero's default: 10).
    pub max_delay_s: f64,
}

impl Default for Retries {
    fn default() -> Retries {
        Retries {
            num_retries: 0,
            max_delay_s: 10.0,
        }
    }
}

/// What a variant calls.
#[derive(Debug, Clone, PartialEq)]
pub enum VariantModel {
    /// A model of `[models]`.
    Named(String),
    /// A shorthand `provider::model` (`openai::gpt-4o`): TensorZero calls the
    /// real provider at its default address; no mock can stand for it.
    Shorthand(String),
    /// No `model` (an experimental variant type).
    None,
}

/// A variant of a function.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Its name.
    pub name: String,
    /// Its `type`.
    pub kind: String,
    /// What it calls.
    pub model: VariantModel,
    /// `weight`, if set.
    pub weight: Option<f64>,
    /// `retries`.
    pub retries: Retries,
    /// Its timeouts.
    pub timeouts: Timeouts,
    /// Line of its table.
    pub line: usize,
}

/// A function: variants, one sampled per request, the others tried after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// Its variants, in file order.
    pub variants: Vec<Variant>,
    /// `experimentation.type`, if set.
    pub experimentation: Option<String>,
    /// `experimentation.candidate_variants` (a list or a weight map's keys).
    pub candidates: Option<Vec<String>>,
    /// `experimentation.fallback_variants`.
    pub fallbacks: Vec<String>,
    /// Line of its table.
    pub line: usize,
}

/// A `tensorzero.toml`, read.
#[derive(Debug, Clone)]
pub struct TensorzeroConfig {
    /// The file and its text.
    pub src: TomlSource,
    /// Models, in file order.
    pub models: Vec<Model>,
    /// Functions, in file order.
    pub functions: Vec<Function>,
    /// `gateway.global_outbound_http_timeout_ms`.
    pub global_timeout_ms: Option<u64>,
}

impl TensorzeroConfig {
    /// A model by name.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Every provider entry, model by model, in routing order.
    pub fn providers(&self) -> impl Iterator<Item = &Provider> {
        self.models.iter().flat_map(|m| m.providers.iter())
    }
}

/// Reads and checks a `tensorzero.toml`.
pub fn load(path: &Path) -> Result<TensorzeroConfig, InputError> {
    read(TomlSource::read(path)?)
}

/// The provider and dialect of an `openai`-type entry's `api_base` host: an
/// OpenAI-compatible API of another company is that company.
fn openai_compatible(base: Option<&str>) -> (&'static str, Dialect) {
    let host = base
        .and_then(|b| b.split("://").nth(1))
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or("api.openai.com");
    match host {
        "api.openai.com" => ("openai", Dialect::Openai),
        "api.groq.com" => ("groq", Dialect::Groq),
        "api.mistral.ai" => ("mistral", Dialect::Mistral),
        "api.deepseek.com" => ("deepseek", Dialect::Deepseek),
        _ => ("vllm", Dialect::Vllm),
    }
}

/// crossfire's provider and dialect for a provider entry, or why none.
fn map_provider(kind: &str, base: Option<&str>) -> Result<(String, Dialect), String> {
    let (provider, dialect) = match kind {
        "openai" => openai_compatible(base),
        "anthropic" => ("anthropic", Dialect::Anthropic),
        "azure" => ("azure", Dialect::Azure),
        "vllm" => ("vllm", Dialect::Vllm),
        "sglang" => ("sglang", Dialect::Vllm),
        "tgi" => ("tgi", Dialect::Vllm),
        other => {
            return Err(format!(
                "TensorZero {} gives type `{other}` no base URL (`api_base`), so crossfire cannot point it at a mock; types it can: openai, anthropic, azure, vllm, sglang, tgi",
                super::VERSION
            ))
        }
    };
    Ok((provider.to_string(), dialect))
}

/// Reads a config from its source.
pub fn read(src: TomlSource) -> Result<TensorzeroConfig, InputError> {
    let root = src.parse()?;
    let r = Reader { src: &src };
    r.keys(root.get_ref(), "", &TOP_KEYS)?;
    let mut models = Vec::new();
    if let Some(v) = get(root.get_ref(), "models") {
        for (name, m) in r.table(v, "models")? {
            models.push(r.model(name.get_ref(), m)?);
        }
    }
    let mut functions = Vec::new();
    if let Some(v) = get(root.get_ref(), "functions") {
        for (name, f) in r.table(v, "functions")? {
            functions.push(r.function(name.get_ref(), f, &models)?);
        }
    }
    let global_timeout_ms = match get(root.get_ref(), "gateway") {
        Some(g) => match get(r.table(g, "gateway")?, "global_outbound_http_timeout_ms") {
            Some(v) => Some(r.uint(v, "gateway.global_outbound_http_timeout_ms")?),
            None => None,
        },
        None => None,
    };
    Ok(TensorzeroConfig {
        src,
        models,
        functions,
        global_timeout_ms,
    })
}

fn get<'a, 'i>(t: &'a DeTable<'i>, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
    t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
}

/// A dotted path with quoting where TOML needs it.
fn join(path: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("\"{key}\"")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

fn kind_of(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

struct Reader<'s> {
    src: &'s TomlSource,
}

impl Reader<'_> {
    fn err(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> InputError {
        self.src.error_at(span.start, message)
    }

    /// Refuses keys outside `allowed`, at the key.
    fn keys(&self, t: &DeTable<'_>, path: &str, allowed: &[&str]) -> Result<(), InputError> {
        for (k, _) in t.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                let at = if path.is_empty() {
                    String::new()
                } else {
                    format!(" in `{path}`")
                };
                return Err(self.err(
                    k.span(),
                    format!(
                        "unknown key `{}`{at}: TensorZero {} refuses it; {}",
                        k.get_ref(),
                        super::VERSION,
                        suggest(k.get_ref(), allowed.iter().copied())
                    ),
                ));
            }
        }
        Ok(())
    }

    fn table<'a, 'i>(
        &self,
        v: &'a Spanned<DeValue<'i>>,
        path: &str,
    ) -> Result<&'a DeTable<'i>, InputError> {
        match v.get_ref() {
            DeValue::Table(t) => Ok(t),
            other => Err(self.err(
                v.span(),
                format!("`{path}` must be a table, not {}", kind_of(other)),
            )),
        }
    }

    fn string(&self, v: &Spanned<DeValue<'_>>, path: &str) -> Result<String, InputError> {
        match v.get_ref() {
            DeValue::String(s) => Ok(s.to_string()),
            other => Err(self.err(
                v.span(),
                format!("`{path}` must be a string, not {}", kind_of(other)),
            )),
        }
    }

    fn uint(&self, v: &Spanned<DeValue<'_>>, path: &str) -> Result<u64, InputError> {
        match v.get_ref() {
            DeValue::Integer(i) => u64::from_str_radix(i.as_str(), i.radix()).map_err(|_| {
                self.err(
                    v.span(),
                    format!("`{path}` must be a whole number of 0 or more"),
                )
            }),
            other => Err(self.err(
                v.span(),
                format!("`{path}` must be a whole number, not {}", kind_of(other)),
            )),
        }
    }

    fn number(&self, v: &Spanned<DeValue<'_>>, path: &str) -> Result<f64, InputError> {
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            other => {
                return Err(self.err(
                    v.span(),
                    format!("`{path}` must be a number, not {}", kind_of(other)),
                ))
            }
        };
        parsed.ok_or_else(|| self.err(v.span(), format!("`{path}` is not a number")))
    }

    fn strings(
        &self,
        v: &Spanned<DeValue<'_>>,
        path: &str,
    ) -> Result<Vec<(String, usize)>, InputError> {
        let DeValue::Array(a) = v.get_ref() else {
            return Err(self.err(
                v.span(),
                format!(
                    "`{path}` must be an array of strings, not {}",
                    kind_of(v.get_ref())
                ),
            ));
        };
        a.iter()
            .enumerate()
            .map(|(i, e)| Ok((self.string(e, &format!("{path}[{i}]"))?, e.span().start)))
            .collect()
    }

    fn timeouts(&self, v: &Spanned<DeValue<'_>>, path: &str) -> Result<Timeouts, InputError> {
        let t = self.table(v, path)?;
        self.keys(t, path, &["non_streaming", "streaming"])?;
        let mut out = Timeouts::default();
        if let Some(ns) = get(t, "non_streaming") {
            let p = format!("{path}.non_streaming");
            let ns_t = self.table(ns, &p)?;
            self.keys(ns_t, &p, &["total_ms"])?;
            if let Some(v) = get(ns_t, "total_ms") {
                out.non_streaming_total_ms = Some(self.uint(v, &format!("{p}.total_ms"))?);
            }
        }
        if let Some(s) = get(t, "streaming") {
            let p = format!("{path}.streaming");
            let s_t = self.table(s, &p)?;
            self.keys(s_t, &p, &["ttft_ms", "total_ms"])?;
            if let Some(v) = get(s_t, "ttft_ms") {
                out.streaming_ttft_ms = Some(self.uint(v, &format!("{p}.ttft_ms"))?);
            }
            if let Some(v) = get(s_t, "total_ms") {
                out.streaming_total_ms = Some(self.uint(v, &format!("{p}.total_ms"))?);
            }
        }
        Ok(out)
    }

    fn model(&self, name: &str, v: &Spanned<DeValue<'_>>) -> Result<Model, InputError> {
        let path = join("models", name);
        let t = self.table(v, &path)?;
        self.keys(t, &path, &MODEL_KEYS)?;
        let Some(routing_v) = get(t, "routing") else {
            return Err(self.err(
                v.span(),
                format!("`{path}` has no `routing`: TensorZero needs the list of its providers in the order to try them, e.g. routing = [\"openai\", \"anthropic\"]"),
            ));
        };
        let routing = self.strings(routing_v, &format!("{path}.routing"))?;
        let empty = DeTable::default();
        let providers_t = match get(t, "providers") {
            Some(p) => self.table(p, &format!("{path}.providers"))?,
            None => &empty,
        };
        let names: Vec<&str> = providers_t
            .iter()
            .map(|(k, _)| k.get_ref().as_ref())
            .collect();
        for (entry, at) in &routing {
            if !names.contains(&entry.as_str()) {
                return Err(self.src.error_at(
                    *at,
                    format!(
                        "`{path}.routing` names `{entry}`, which is not in `{path}.providers`; {}",
                        suggest(entry, names.iter().copied())
                    ),
                ));
            }
        }
        for (k, _) in providers_t.iter() {
            if !routing.iter().any(|(r, _)| r == k.get_ref().as_ref()) {
                return Err(self.err(
                    k.span(),
                    format!(
                        "provider `{}` of `{path}` is not listed in `routing`: TensorZero {} refuses to start; add it to `routing` or remove it",
                        k.get_ref(),
                        super::VERSION
                    ),
                ));
            }
        }
        let timeouts = match get(t, "timeouts") {
            Some(tv) => self.timeouts(tv, &format!("{path}.timeouts"))?,
            None => Timeouts::default(),
        };
        let mut providers = Vec::new();
        for (entry, _) in &routing {
            let Some(pv) = get(providers_t, entry) else {
                continue;
            };
            providers.push(self.provider(name, entry, pv)?);
        }
        Ok(Model {
            name: name.to_string(),
            providers,
            timeouts,
            line: self.src.line_of(routing_v.span().start),
        })
    }

    fn provider(
        &self,
        model: &str,
        name: &str,
        v: &Spanned<DeValue<'_>>,
    ) -> Result<Provider, InputError> {
        let path = join(&join("models", model), "providers");
        let path = join(&path, name);
        let t = self.table(v, &path)?;
        let Some(type_v) = get(t, "type") else {
            return Err(self.err(
                v.span(),
                format!(
                    "`{path}` has no `type`; {}",
                    suggest("", PROVIDER_TYPES.iter().map(|(n, _)| *n))
                ),
            ));
        };
        let kind = self.string(type_v, &format!("{path}.type"))?;
        let Some((_, own)) = PROVIDER_TYPES.iter().find(|(n, _)| *n == kind) else {
            return Err(self.err(
                type_v.span(),
                format!(
                    "unknown provider type `{kind}` at `{path}.type`; {}",
                    suggest(&kind, PROVIDER_TYPES.iter().map(|(n, _)| *n))
                ),
            ));
        };
        let allowed: Vec<&str> = own
            .iter()
            .chain(PROVIDER_COMMON_KEYS.iter())
            .copied()
            .collect();
        self.keys(t, &path, &allowed)?;
        let text = |key: &str| -> Result<Option<String>, InputError> {
            get(t, key)
                .map(|v| self.string(v, &format!("{path}.{key}")))
                .transpose()
        };
        let base = match kind.as_str() {
            "azure" => text("endpoint")?,
            _ => text("api_base")?,
        };
        let upstream = match kind.as_str() {
            "azure" => text("deployment_id")?,
            "aws_bedrock" | "gcp_vertex_anthropic" | "gcp_vertex_gemini" => text("model_id")?,
            // TGI serves one model; TensorZero 2026.6.0 asks for it as `tgi`.
            "tgi" => Some("tgi".to_string()),
            _ => text("model_name")?,
        };
        let timeouts = match get(t, "timeouts") {
            Some(tv) => self.timeouts(tv, &format!("{path}.timeouts"))?,
            None => Timeouts::default(),
        };
        let mapped = map_provider(&kind, base.as_deref());
        let upstream_model = upstream.unwrap_or_else(|| match &mapped {
            Ok((_, d)) => d.default_model().to_string(),
            Err(_) => String::new(),
        });
        let (original, cell) = match model.rfind("--cell") {
            Some(i) => (&model[..i], &model[i..]),
            None => (model, ""),
        };
        Ok(Provider {
            model: model.to_string(),
            name: name.to_string(),
            id: format!("{original}.{name}{cell}"),
            kind,
            upstream_model,
            base,
            timeouts,
            unmapped_reason: mapped.as_ref().err().cloned(),
            mapped: mapped.ok(),
            path,
            line: self.src.line_of(v.span().start),
        })
    }

    fn function(
        &self,
        name: &str,
        v: &Spanned<DeValue<'_>>,
        models: &[Model],
    ) -> Result<Function, InputError> {
        let path = join("functions", name);
        let t = self.table(v, &path)?;
        match get(t, "type") {
            Some(tv) => {
                let kind = self.string(tv, &format!("{path}.type"))?;
                if kind != "chat" && kind != "json" {
                    return Err(self.err(
                        tv.span(),
                        format!(
                            "unknown function type `{kind}` at `{path}.type`; {}",
                            suggest(&kind, ["chat", "json"])
                        ),
                    ));
                }
            }
            None => {
                return Err(self.err(
                    v.span(),
                    format!("`{path}` has no `type`: TensorZero needs type = \"chat\" or \"json\""),
                ))
            }
        }
        self.keys(t, &path, &FUNCTION_KEYS)?;
        let mut variants = Vec::new();
        if let Some(vs) = get(t, "variants") {
            let vpath = format!("{path}.variants");
            for (vname, vv) in self.table(vs, &vpath)? {
                variants.push(self.variant(
                    &join(&vpath, vname.get_ref()),
                    vname.get_ref(),
                    vv,
                    models,
                )?);
            }
        }
        let mut experimentation = None;
        let mut candidates = None;
        let mut fallbacks = Vec::new();
        if let Some(ev) = get(t, "experimentation") {
            let epath = format!("{path}.experimentation");
            let et = self.table(ev, &epath)?;
            let weighted: Vec<&str> = variants
                .iter()
                .filter(|v| v.weight.is_some())
                .map(|v| v.name.as_str())
                .collect();
            if !weighted.is_empty() {
                return Err(self.err(
                    ev.span(),
                    format!(
                        "`{epath}` cannot be mixed with `weight` on variants ({}): TensorZero {} refuses to start; keep one of the two (`weight` is deprecated)",
                        weighted.join(", "),
                        super::VERSION
                    ),
                ));
            }
            if let Some(tv) = get(et, "type") {
                let kind = self.string(tv, &format!("{epath}.type"))?;
                if !EXPERIMENTATION_TYPES.contains(&kind.as_str()) {
                    return Err(self.err(
                        tv.span(),
                        format!(
                            "unknown experimentation type `{kind}`; {}",
                            suggest(&kind, EXPERIMENTATION_TYPES)
                        ),
                    ));
                }
                experimentation = Some(kind);
            }
            let known: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
            let check = |list: &[(String, usize)], key: &str| -> Result<(), InputError> {
                for (n, at) in list {
                    if !known.contains(&n.as_str()) {
                        return Err(self.src.error_at(
                            *at,
                            format!("`{epath}.{key}` names variant `{n}`, which `{path}` does not have; {}", suggest(n, known.iter().copied())),
                        ));
                    }
                }
                Ok(())
            };
            if let Some(cv) = get(et, "candidate_variants") {
                let list = match cv.get_ref() {
                    DeValue::Table(m) => m
                        .iter()
                        .map(|(k, _)| (k.get_ref().to_string(), k.span().start))
                        .collect(),
                    _ => self.strings(cv, &format!("{epath}.candidate_variants"))?,
                };
                check(&list, "candidate_variants")?;
                candidates = Some(list.into_iter().map(|(n, _)| n).collect());
            }
            if let Some(fv) = get(et, "fallback_variants") {
                let list = self.strings(fv, &format!("{epath}.fallback_variants"))?;
                check(&list, "fallback_variants")?;
                fallbacks = list.into_iter().map(|(n, _)| n).collect();
            }
        }
        Ok(Function {
            name: name.to_string(),
            variants,
            experimentation,
            candidates,
            fallbacks,
            line: self.src.line_of(v.span().start),
        })
    }

    fn variant(
        &self,
        path: &str,
        name: &str,
        v: &Spanned<DeValue<'_>>,
        models: &[Model],
    ) -> Result<Variant, InputError> {
        let t = self.table(v, path)?;
        let Some(type_v) = get(t, "type") else {
            return Err(self.err(
                v.span(),
                format!("`{path}` has no `type`; {}", suggest("", VARIANT_TYPES)),
            ));
        };
        let kind = self.string(type_v, &format!("{path}.type"))?;
        if !VARIANT_TYPES.contains(&kind.as_str()) {
            return Err(self.err(
                type_v.span(),
                format!(
                    "unknown variant type `{kind}` at `{path}.type`; {}",
                    suggest(&kind, VARIANT_TYPES)
                ),
            ));
        }
        if kind == "chat_completion" {
            self.keys(t, path, &CHAT_COMPLETION_KEYS)?;
        }
        let model = match get(t, "model") {
            Some(mv) => {
                let m = self.string(mv, &format!("{path}.model"))?;
                if models.iter().any(|x| x.name == m) {
                    VariantModel::Named(m)
                } else if m.contains("::") {
                    VariantModel::Shorthand(m)
                } else {
                    return Err(self.err(
                        mv.span(),
                        format!(
                            "`{path}.model` names `{m}`, which is not in `[models]` (TensorZero: \"Model name '{m}' not found in model table\"); {}",
                            suggest(&m, models.iter().map(|x| x.name.as_str()))
                        ),
                    ));
                }
            }
            None => VariantModel::None,
        };
        let weight = get(t, "weight")
            .map(|w| self.number(w, &format!("{path}.weight")))
            .transpose()?;
        let mut retries = Retries::default();
        if let Some(rv) = get(t, "retries") {
            let rpath = format!("{path}.retries");
            // TensorZero 2026.6.0 accepts unknown keys here; so does crossfire.
            let rt = self.table(rv, &rpath)?;
            if let Some(n) = get(rt, "num_retries") {
                let n_val = self.uint(n, &format!("{rpath}.num_retries"))?;
                retries.num_retries = u32::try_from(n_val).map_err(|_| {
                    self.err(n.span(), format!("`{rpath}.num_retries` is too large"))
                })?;
            }
            if let Some(d) = get(rt, "max_delay_s") {
                retries.max_delay_s = self.number(d, &format!("{rpath}.max_delay_s"))?;
            }
        }
        let timeouts = match get(t, "timeouts") {
            Some(tv) => self.timeouts(tv, &format!("{path}.timeouts"))?,
            None => Timeouts::default(),
        };
        Ok(Variant {
            name: name.to_string(),
            kind,
            model,
            weight,
            retries,
            timeouts,
            line: self.src.line_of(v.span().start),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn read_str(text: &str) -> Result<TensorzeroConfig, InputError> {
        read(TomlSource::from_text(
            PathBuf::from("tensorzero.toml"),
            text.to_string(),
        ))
    }

    const ROUTED: &str = r#"
[models.gpt]
routing = ["openai", "claude"]

[models.gpt.providers.openai]
type = "openai"
model_name = "gpt-4o"

[models.gpt.providers.claude]
type = "anthropic"
model_name = "claude-sonnet-4-5"
api_key_location = "env::ANTHROPIC_API_KEY"

[functions.chat]
type = "chat"

[functions.chat.variants.main]
type = "chat_completion"
model = "gpt"
retries = { num_retries = 2, max_delay_s = 1 }
"#;

    #[test]
    fn providers_come_in_routing_order_with_their_mock_dialects() {
        let cfg = read_str(ROUTED).unwrap();
        let m = cfg.model("gpt").unwrap();
        let ids: Vec<_> = m.providers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["gpt.openai", "gpt.claude"]);
        assert_eq!(
            m.providers[1].mapped,
            Some(("anthropic".to_string(), Dialect::Anthropic))
        );
        assert_eq!(m.providers[1].upstream_model, "claude-sonnet-4-5");
        let v = &cfg.functions[0].variants[0];
        assert_eq!(v.model, VariantModel::Named("gpt".into()));
        assert_eq!(v.retries.num_retries, 2);
    }

    #[test]
    fn an_openai_type_on_another_host_is_that_provider() {
        assert_eq!(
            openai_compatible(Some("https://api.groq.com/openai/v1")),
            ("groq", Dialect::Groq)
        );
        assert_eq!(openai_compatible(None), ("openai", Dialect::Openai));
        assert_eq!(
            openai_compatible(Some("http://10.0.0.7:8000/v1")),
            ("vllm", Dialect::Vllm)
        );
    }

    #[test]
    fn a_type_without_a_base_url_is_unmapped_with_the_reason() {
        let cfg = read_str(
            "[models.g]\nrouting = [\"g\"]\n[models.g.providers.g]\ntype = \"google_ai_studio_gemini\"\nmodel_name = \"gemini-2.0-flash\"\n",
        )
        .unwrap();
        let p = &cfg.models[0].providers[0];
        assert!(p.mapped.is_none());
        assert!(p
            .unmapped_reason
            .as_deref()
            .unwrap()
            .contains("no base URL (`api_base`)"));
    }

    /// What TensorZero 2026.6.0 refuses at start, refused here at the place.
    #[test]
    fn bad_inputs_are_refused_where_they_are() {
        let cases: &[(&str, &str)] = &[
            (
                "modles = 1\n",
                "tensorzero.toml:1:1: unknown key `modles`: TensorZero 2026.6.0 refuses it; did you mean `models`?",
            ),
            (
                "[models.m]\nrouting = [\"p\"]\nretries = 1\n[models.m.providers.p]\ntype = \"openai\"\n",
                "tensorzero.toml:3:1: unknown key `retries` in `models.m`: TensorZero 2026.6.0 refuses it; expected one of `routing`, `providers`, `timeouts`, `skip_relay`, `namespace`",
            ),
            (
                "[models.m]\nrouting = [\"q\"]\n[models.m.providers.p]\ntype = \"openai\"\n",
                "tensorzero.toml:2:12: `models.m.routing` names `q`, which is not in `models.m.providers`; expected one of `p`",
            ),
            (
                "[models.m]\nrouting = [\"p\"]\n[models.m.providers.p]\ntype = \"openia\"\n",
                "tensorzero.toml:4:8: unknown provider type `openia` at `models.m.providers.p.type`; did you mean `openai`?",
            ),
            (
                "[models.m]\nrouting = [\"p\"]\n[models.m.providers.p]\ntype = \"google_ai_studio_gemini\"\napi_base = \"http://x\"\n",
                "tensorzero.toml:5:1: unknown key `api_base` in `models.m.providers.p`: TensorZero 2026.6.0 refuses it; expected one of `model_name`, `api_key_location`, `type`, ",
            ),
            (
                "[models.m]\nrouting = [\"p\"]\ntimeouts = { non_streaming = { total = 5 } }\n[models.m.providers.p]\ntype = \"openai\"\n",
                "tensorzero.toml:3:32: unknown key `total` in `models.m.timeouts.non_streaming`: TensorZero 2026.6.0 refuses it; expected one of `total_ms`",
            ),
            (
                "[functions.f]\ntype = \"chat\"\n[functions.f.variants.v]\ntype = \"chat_completion\"\nmodel = \"gpt\"\n",
                "tensorzero.toml:5:9: `functions.f.variants.v.model` names `gpt`, which is not in `[models]` (TensorZero: \"Model name 'gpt' not found in model table\"); expected one of ",
            ),
            (
                "[functions.f]\ntype = \"chat\"\n[functions.f.variants.v]\ntype = \"chat_completion\"\nmodel = \"openai::gpt-4o\"\nretries = { num_retries = \"2\" }\n",
                "tensorzero.toml:6:27: `functions.f.variants.v.retries.num_retries` must be a whole number, not a string",
            ),
            (
                "[models.m\n",
                "tensorzero.toml:1:",
            ),
        ];
        for (text, want) in cases {
            let got = read_str(text).unwrap_err().to_string();
            assert!(
                got.starts_with(want),
                "for\n{text}\ngot:  {got}\nwant: {want}"
            );
        }
    }
}
