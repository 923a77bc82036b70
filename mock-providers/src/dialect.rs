//! The wire APIs a mock speaks, and the provider families that share them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The provider API a mock deployment imitates.
///
/// Several dialects share one wire format ([`Wire`]) but differ in error wording:
/// Groq, Mistral, DeepSeek and vLLM all speak OpenAI chat completions, yet each
/// words its rate-limit and overflow errors its own way, and gateways match on
/// those words.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// OpenAI chat completions (`/v1/chat/completions`).
    Openai,
    /// Azure OpenAI (`/openai/deployments/{deployment}/chat/completions`).
    Azure,
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
    /// Google Gemini, AI Studio (`/v1beta/models/{model}:generateContent`).
    Gemini,
    /// Groq, OpenAI-compatible.
    Groq,
    /// Mistral La Plateforme, OpenAI-compatible.
    Mistral,
    /// DeepSeek, OpenAI-compatible.
    Deepseek,
    /// A self-hosted vLLM server, OpenAI-compatible.
    Vllm,
}

/// The wire format a dialect speaks: request shape, paths and success bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// OpenAI chat completions, and every OpenAI-compatible API.
    OpenaiChat,
    /// Azure OpenAI: OpenAI bodies behind deployment paths and `api-key`.
    AzureChat,
    /// Anthropic Messages.
    AnthropicMessages,
    /// Gemini generateContent.
    Gemini,
}

impl Dialect {
    /// Every dialect, in a stable order (used for listings and suggestions).
    pub const ALL: [Dialect; 8] = [
        Dialect::Openai,
        Dialect::Azure,
        Dialect::Anthropic,
        Dialect::Gemini,
        Dialect::Groq,
        Dialect::Mistral,
        Dialect::Deepseek,
        Dialect::Vllm,
    ];

    /// The name used in files, flags and the journal.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Openai => "openai",
            Dialect::Azure => "azure",
            Dialect::Anthropic => "anthropic",
            Dialect::Gemini => "gemini",
            Dialect::Groq => "groq",
            Dialect::Mistral => "mistral",
            Dialect::Deepseek => "deepseek",
            Dialect::Vllm => "vllm",
        }
    }

    /// Parses a dialect name as written in files and flags.
    pub fn from_name(name: &str) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The wire format this dialect speaks.
    pub fn wire(self) -> Wire {
        match self {
            Dialect::Openai
            | Dialect::Groq
            | Dialect::Mistral
            | Dialect::Deepseek
            | Dialect::Vllm => Wire::OpenaiChat,
            Dialect::Azure => Wire::AzureChat,
            Dialect::Anthropic => Wire::AnthropicMessages,
            Dialect::Gemini => Wire::Gemini,
        }
    }

    /// Whether the provider serves OpenAI's Responses API (`POST /v1/responses`)
    /// beside chat completions: OpenAI and Azure do (Groq and vLLM too, at
    /// their OpenAI-compatible paths); Mistral and DeepSeek do not.
    pub fn serves_responses_api(self) -> bool {
        matches!(
            self,
            Dialect::Openai | Dialect::Azure | Dialect::Groq | Dialect::Vllm
        )
    }

    /// A model a request to this dialect names when the caller gives none.
    pub fn default_model(self) -> &'static str {
        match self {
            Dialect::Openai | Dialect::Azure => "gpt-4o",
            Dialect::Anthropic => "claude-sonnet-4-5",
            Dialect::Gemini => "gemini-2.5-flash",
            Dialect::Groq => "llama-3.3-70b-versatile",
            Dialect::Mistral => "mistral-large-latest",
            Dialect::Deepseek => "deepseek-chat",
            Dialect::Vllm => "meta-llama/Llama-3.1-8B-Instruct",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
