//! Counting prompt tokens, and saying which counter made every figure.
//!
//! OpenAI models are counted with their real tokenizer (tiktoken's
//! `cl100k_base` / `o200k_base`, through `tiktoken-rs`) using OpenAI's chat
//! formula: 3 tokens per message, plus the role and content tokens, plus 3 for
//! the reply priming. Models without a public tokenizer (Claude, Gemini, Llama,
//! Mistral, DeepSeek) are approximated: one token per 4 characters of text,
//! rounded up, plus 3 per message. Every count carries its [`TokenCounter`].

use serde::{Deserialize, Serialize};
use std::fmt;
use tiktoken_rs::tokenizer::{get_tokenizer, Tokenizer};
use tiktoken_rs::CoreBPE;

/// Which counter produced a token figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenCounter {
    /// tiktoken `cl100k_base` (GPT-4, GPT-3.5).
    TiktokenCl100k,
    /// tiktoken `o200k_base` (GPT-4o, GPT-4.1, GPT-5, o-series).
    TiktokenO200k,
    /// Approximation: ceil(characters / 4) + 3 per message.
    ApproxChars4,
}

impl TokenCounter {
    /// The counter crossfire uses for a model.
    pub fn for_model(model: &str) -> TokenCounter {
        let bare = crate::models::bare_model(model);
        // Azure deployment names and bare family names ("gpt-4o") are not
        // always in tiktoken's map; fall back to the family prefixes.
        let tokenizer = get_tokenizer(bare).or_else(|| {
            if bare.starts_with("gpt-4o")
                || bare.starts_with("gpt-4.1")
                || bare.starts_with("gpt-5")
                || bare.starts_with("o1")
                || bare.starts_with("o3")
                || bare.starts_with("o4")
            {
                Some(Tokenizer::O200kBase)
            } else if bare.starts_with("gpt-4") || bare.starts_with("gpt-3.5") {
                Some(Tokenizer::Cl100kBase)
            } else {
                None
            }
        });
        match tokenizer {
            Some(Tokenizer::Cl100kBase) => TokenCounter::TiktokenCl100k,
            Some(Tokenizer::O200kBase) | Some(Tokenizer::O200kHarmony) => {
                TokenCounter::TiktokenO200k
            }
            _ => TokenCounter::ApproxChars4,
        }
    }

    /// The name written next to every token figure.
    pub fn name(self) -> &'static str {
        match self {
            TokenCounter::TiktokenCl100k => "tiktoken:cl100k_base",
            TokenCounter::TiktokenO200k => "tiktoken:o200k_base",
            TokenCounter::ApproxChars4 => "approx:chars/4",
        }
    }

    fn bpe(self) -> Option<&'static CoreBPE> {
        match self {
            TokenCounter::TiktokenCl100k => Some(tiktoken_rs::cl100k_base_singleton()),
            TokenCounter::TiktokenO200k => Some(tiktoken_rs::o200k_base_singleton()),
            TokenCounter::ApproxChars4 => None,
        }
    }

    /// Tokens in one piece of text, without chat framing.
    ///
    /// crossfire's prompts end with a unique marker (` [xf:run:n]`) after
    /// text that repeats from request to request. The marker starts a new
    /// pre-token under tiktoken's split (a space and a bracket after a word), so
    /// the count is the sum of both parts: the repeated part is counted once
    /// and remembered, the marker every time. chars/4 rounds up, so its
    /// parts would not add up to the whole: it is never split.
    pub fn count_text(self, text: &str) -> u64 {
        if let Some(i) = text.rfind(" [xf:") {
            if text.ends_with(']') && i > 0 && self != TokenCounter::ApproxChars4 {
                let (head, marker) = text.split_at(i);
                return self.count_remembered(head) + self.count_plain(marker);
            }
        }
        if text.len() >= 64 {
            return self.count_remembered(text);
        }
        self.count_plain(text)
    }

    /// Tokens of `text`, counted every time.
    pub(crate) fn count_plain(self, text: &str) -> u64 {
        match self.bpe() {
            Some(bpe) => bpe.encode_ordinary(text).len() as u64,
            None => text.chars().count().div_ceil(4) as u64,
        }
    }

    /// Counts through a small per-thread memo (a pure function of the text).
    pub(crate) fn count_remembered(self, text: &str) -> u64 {
        use std::cell::RefCell;
        use std::collections::HashMap;
        use std::hash::{Hash, Hasher};
        thread_local! {
            static MEMO: RefCell<HashMap<(TokenCounter, u64, usize), u64>> = RefCell::new(HashMap::new());
        }
        if self == TokenCounter::ApproxChars4 {
            return self.count_plain(text);
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        let key = (self, h.finish(), text.len());
        if let Some(n) = MEMO.with(|m| m.borrow().get(&key).copied()) {
            return n;
        }
        let n = self.count_plain(text);
        MEMO.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= 4096 {
                m.clear();
            }
            m.insert(key, n);
        });
        n
    }

    /// Prompt tokens of a chat: per message 3 + role + content, plus 3.
    pub fn count_chat<'a>(self, messages: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
        let mut total = 3;
        for (role, content) in messages {
            total += 3 + self.count_role(role) + self.count_text(content);
        }
        total
    }

    /// Tokens of a role name; the usual roles are one token under tiktoken.
    fn count_role(self, role: &str) -> u64 {
        match (self, role) {
            (TokenCounter::ApproxChars4, _) => self.count_text(role),
            (_, "user" | "assistant" | "system" | "model" | "tool" | "developer") => 1,
            _ => self.count_text(role),
        }
    }
}

impl fmt::Display for TokenCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Filler text of exactly `tokens` tokens under every counter: four-character
/// words with a leading space, each one token in `cl100k_base` and `o200k_base`.
pub fn filler(tokens: u64) -> String {
    const WORDS: [&str; 6] = [" the", " and", " for", " was", " not", " but"];
    let mut text = String::with_capacity(tokens as usize * 4);
    for i in 0..tokens as usize {
        text.push_str(WORDS[i % WORDS.len()]);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_by_model() {
        assert_eq!(
            TokenCounter::for_model("gpt-4"),
            TokenCounter::TiktokenCl100k
        );
        assert_eq!(
            TokenCounter::for_model("gpt-4o"),
            TokenCounter::TiktokenO200k
        );
        assert_eq!(
            TokenCounter::for_model("openai/gpt-4o-mini"),
            TokenCounter::TiktokenO200k
        );
        assert_eq!(
            TokenCounter::for_model("o3-mini"),
            TokenCounter::TiktokenO200k
        );
        assert_eq!(
            TokenCounter::for_model("claude-opus-4-1"),
            TokenCounter::ApproxChars4
        );
    }

    #[test]
    fn filler_has_exact_token_counts() {
        for counter in [
            TokenCounter::TiktokenCl100k,
            TokenCounter::TiktokenO200k,
            TokenCounter::ApproxChars4,
        ] {
            assert_eq!(counter.count_text(&filler(1000)), 1000, "{counter}");
            assert_eq!(counter.count_text(&filler(7)), 7, "{counter}");
        }
    }

    #[test]
    fn marker_split_counts_like_the_whole_text() {
        let texts = [
            "hello [xf:bench:1]".to_string(),
            format!("Answer briefly.{} [xf:ab12cd:1234]", filler(300)),
            "x [xf:r:1]".to_string(),
            "trailing spaces   [xf:r:99]".to_string(),
            "punct!?. [xf:r:7]".to_string(),
            "numbers 12345 [xf:r:7]".to_string(),
        ];
        for counter in [
            TokenCounter::TiktokenCl100k,
            TokenCounter::TiktokenO200k,
            TokenCounter::ApproxChars4,
        ] {
            for t in &texts {
                assert_eq!(
                    counter.count_text(t),
                    counter.count_plain(t),
                    "{counter}: {t}"
                );
                // Remembered the second time, same answer.
                assert_eq!(
                    counter.count_text(t),
                    counter.count_plain(t),
                    "{counter}: {t}"
                );
            }
        }
    }

    #[test]
    fn role_shortcut_matches_the_tokenizer() {
        for counter in [TokenCounter::TiktokenCl100k, TokenCounter::TiktokenO200k] {
            for role in ["user", "assistant", "system", "model", "tool", "developer"] {
                assert_eq!(
                    counter.count_role(role),
                    counter.count_text(role),
                    "{counter} {role}"
                );
            }
        }
    }

    #[test]
    fn chat_formula_matches_openai_cookbook() {
        // The cookbook example "Hello" as a user message: 3 + 1 + 1 + 3 = 8.
        let n = TokenCounter::TiktokenCl100k.count_chat([("user", "Hello")]);
        assert_eq!(n, 8);
    }
}
