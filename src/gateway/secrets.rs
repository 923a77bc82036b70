//! What a team wrote as a credential in a gateway config, and what replaces
//! it before the config reaches any file crossfire writes.
//!
//! A value is a secret when the key it sits under names one (`api_key`,
//! `master_key`, `redis_password`, `aws_session_token`, `openai_organization`,
//! `vertex_credentials`, anything ending in `_key`), when it sits in a
//! header mapping (`extra_headers`, `headers`), or by its form: a URL's
//! `user:password@`, a URL query parameter such as `?key=`, a
//! `Bearer`/`Basic` credential, a provider key prefix such as `sk-`. Secrets
//! become [`DUMMY_KEY`]; a URL keeps its scheme, host, port and path, which is
//! what routing and provider mapping read.

/// The dummy every secret in a gateway config is replaced with.
pub const DUMMY_KEY: &str = "sk-crossfire-dummy";

/// Fragments of a key name that mark its value as a secret wherever they
/// appear in it.
const SECRET_FRAGMENTS: [&str; 8] = [
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "service_account",
    "master_key",
    "salt_key",
    "client_secret",
];

/// Words of a key name (split at `_`, `-` and `.`) that mark its value as a
/// secret.
const SECRET_WORDS: [&str; 11] = [
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "credential",
    "credentials",
    "authorization",
    "cookie",
    "organization",
    "dsn",
];

/// Words of a key name that mark a limit or a price, never a secret
/// (`max_tokens`, `input_cost_per_token`, `known_tokenizer_config`).
const NOT_SECRET_WORDS: [&str; 5] = ["tokens", "tokenizer", "cost", "budget", "limit"];

fn words(k: &str) -> impl Iterator<Item = &str> {
    k.split(['_', '-', '.']).filter(|w| !w.is_empty())
}

/// Whether a config key holds a secret (an API key, token, password,
/// organization, a service account), whatever the case and separators.
pub fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase().replace('-', "_");
    if words(&k).any(|w| NOT_SECRET_WORDS.contains(&w)) {
        return false;
    }
    SECRET_FRAGMENTS.iter().any(|f| k.contains(f))
        || k.ends_with("_key")
        || k == "key"
        || words(&k).any(|w| SECRET_WORDS.contains(&w))
        || k == "openai_project"
}

/// Whether a key holds a secret even when it is written as a number (a
/// numeric password or key). Narrower than [`is_secret_key`]: a number under
/// a `*token*` key may be a limit crossfire does not know.
pub fn is_password_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase().replace('-', "_");
    ["password", "passwd", "passphrase", "secret"]
        .iter()
        .any(|w| k.contains(w))
        || ((k.ends_with("_key") || k == "key") && is_secret_key(&k))
}

/// Whether a key holds a mapping of header names to values
/// (`extra_headers`, `headers`, `default_headers`): every value in it is
/// replaced, the names are kept.
pub fn is_header_map_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    k.ends_with("headers") || k.ends_with("header")
}

/// Whether a LiteLLM section holds values exported to the environment
/// (`environment_variables`): every value in it is a secret.
pub fn is_environment_key(k: &str) -> bool {
    k == "environment_variables"
}

/// Query parameters whose values are credentials (`?key=` for Gemini,
/// `?api-key=` for Azure, signed URLs).
fn is_secret_query_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    matches!(
        n.as_str(),
        "key" | "code" | "sig" | "signature" | "auth" | "apikey" | "password" | "pass"
    ) || is_secret_key(&n)
}

/// Prefixes of well-known provider keys, found whatever key they sit under.
const KEY_PREFIXES: [&str; 6] = ["sk-", "sk_", "AIza", "gsk_", "xai-", "AKIA"];

/// The replacement for a string value, or `None` to keep it as written.
/// `secret`: the value sits under a secret key, in a header mapping or in
/// the environment section.
///
/// ```
/// use crossfire::gateway::secrets::{scrub_str, DUMMY_KEY};
/// assert_eq!(scrub_str("sk-live-0123456789abcdef", false).as_deref(), Some(DUMMY_KEY));
/// assert_eq!(
///     scrub_str("https://bob:hunter2@llm.example.com/v1?key=abc&x=1", false).as_deref(),
///     Some("https://llm.example.com/v1?key=sk-crossfire-dummy&x=1"),
/// );
/// assert_eq!(scrub_str("gpt-4o", false), None);
/// ```
pub fn scrub_str(s: &str, secret: bool) -> Option<String> {
    if secret {
        return (s != DUMMY_KEY).then(|| DUMMY_KEY.to_string());
    }
    let trimmed = s.trim();
    // A credential is one long token: `Bearer abc...`, `sk-proj-...`; free
    // text that starts with "Basic" or "sk-" is left alone.
    let token = |t: &str| t.len() >= 8 && !t.contains(char::is_whitespace);
    let scheme = trimmed
        .split_once(' ')
        .filter(|(w, rest)| {
            ["bearer", "basic"].contains(&w.to_ascii_lowercase().as_str()) && token(rest.trim())
        })
        .is_some();
    let provider_key = trimmed.len() >= 20
        && token(trimmed)
        && KEY_PREFIXES.iter().any(|p| trimmed.starts_with(p));
    if scheme || (provider_key && s != DUMMY_KEY) {
        return Some(DUMMY_KEY.to_string());
    }
    let url = scrub_url(s);
    (url != s).then_some(url)
}

/// A URL (anywhere in a string) without its `user:password@` and with the
/// values of credential query parameters replaced; any other string as it
/// is.
fn scrub_url(s: &str) -> String {
    let Some(scheme_end) = s.find("://") else {
        return s.to_string();
    };
    let scheme_ok = !s[..scheme_end].is_empty()
        && s[..scheme_end]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return s.to_string();
    }
    let rest = &s[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let tail = &rest[authority_end..];
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (query, None),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, value)) if is_secret_query_param(name) && value != DUMMY_KEY => {
                        format!("{name}={DUMMY_KEY}")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("{path}?{}{fragment}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{}://{host}{tail}", &s[..scheme_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_found_by_name_and_limits_are_not() {
        for k in [
            "api_key",
            "LANGFUSE_SECRET_KEY",
            "aws_secret_access_key",
            "aws_session_token",
            "azure_ad_token",
            "master_key",
            "redis_password",
            "password",
            "openai_organization",
            "organization",
            "vertex_credentials",
            "vertex_service_account_json",
            "anthropic_key",
            "client_secret",
            "Authorization",
            "litellm_credential_name",
        ] {
            assert!(is_secret_key(k), "{k} holds a secret");
        }
        for k in [
            "api_base",
            "model",
            "max_tokens",
            "input_cost_per_token",
            "known_tokenizer_config",
            "max_budget",
            "key_management_system",
            "custom_host",
            "database_connection_pool_limit",
        ] {
            assert!(!is_secret_key(k), "{k} is no secret");
        }
    }

    #[test]
    fn numbers_are_secrets_under_password_and_key_names_only() {
        for k in ["redis_password", "api_key", "master_key", "client_secret"] {
            assert!(is_password_key(k), "{k}");
        }
        for k in [
            "max_tokens",
            "input_cost_per_token",
            "token_counter",
            "timeout",
        ] {
            assert!(!is_password_key(k), "{k}");
        }
    }

    #[test]
    fn url_userinfo_and_credential_parameters_are_removed_and_the_route_kept() {
        let cases = [
            (
                "postgresql://llm:pg-pass@db.internal:5432/litellm",
                "postgresql://db.internal:5432/litellm",
            ),
            ("redis://:r-pass@cache:6379", "redis://cache:6379"),
            (
                "https://u:p@gw.example.com/v1?api-key=z#frag",
                "https://gw.example.com/v1?api-key=sk-crossfire-dummy#frag",
            ),
        ];
        for (given, want) in cases {
            assert_eq!(scrub_str(given, false).as_deref(), Some(want), "{given}");
        }
        for kept in [
            "https://api.openai.com/v1",
            "anthropic/claude-opus-4-1",
            "os.environ/OPENAI_API_KEY",
            "http://127.0.0.1:4000/v1?model=x",
        ] {
            assert_eq!(scrub_str(kept, false), None, "{kept}");
        }
    }

    #[test]
    fn credentials_are_found_by_form_under_any_key() {
        for secret in [
            "Bearer abcdefgh123",
            "basic dXNlcjpwYXNzd29yZA==",
            "AIzaSyA1234567890abcdefgh",
            "sk-proj-abcdefghijklmnopqrstuvwxyz",
        ] {
            assert_eq!(
                scrub_str(secret, false).as_deref(),
                Some(DUMMY_KEY),
                "{secret}"
            );
        }
        for text in ["Basic support tier", "sk-large", "Bearer of bad news"] {
            assert_eq!(scrub_str(text, false), None, "{text}");
        }
        assert_eq!(scrub_str(DUMMY_KEY, false), None);
        assert_eq!(scrub_str(DUMMY_KEY, true), None);
        assert_eq!(scrub_str("anything", true).as_deref(), Some(DUMMY_KEY));
    }
}
