//! Fidelity is judged by real clients: every dialect's failure answers are fed
//! to the real LiteLLM exception mapping (litellm 1.108.7, the SDK inside the
//! LiteLLM proxy) and to the official openai and anthropic Python SDKs, and the
//! exception class each raises is asserted. Both Python environments are
//! installed by crossfire's own provisioning code into its cache, once.

use crossfire::provision::{self, PythonEnv, PythonEnvSpec};
use mock_providers::{
    DeploymentSpec, Dialect, FailureClass, Fault, JournalConfig, MockSet, Schedule,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The model each dialect is asked for.
fn model(d: Dialect) -> &'static str {
    match d {
        Dialect::Azure => "gpt4o-deployment",
        other => other.default_model(),
    }
}

/// Stream faults are only observable on a stream: the byte-level ones, and
/// those about a first event, a terminator or one event.
fn streams(class: FailureClass) -> bool {
    matches!(
        class,
        FailureClass::StreamCut
            | FailureClass::StreamError
            | FailureClass::Stall
            | FailureClass::SlowFirstToken
            | FailureClass::NoDone
            | FailureClass::MalformedEvent
    )
}

fn env(spec: PythonEnvSpec) -> PythonEnv {
    provision::ensure_python_env(&spec, &mut |line| eprintln!("[provision] {line}"))
        .unwrap_or_else(|e| panic!("provisioning {} failed: {e}", spec.name))
}

fn classify(env: &PythonEnv, cases: &[Value]) -> BTreeMap<String, Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity/classify.py");
    let results = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(env.python())
        .arg(&script)
        .arg(results.path())
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(cases).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "classify.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(results.path())
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn fault_for(class: FailureClass) -> Fault {
    Fault::new(class)
        .delay(Duration::from_secs(4))
        .retry_after(Duration::from_secs(1))
        .after_events(1)
}

#[test]
fn real_clients_classify_every_failure_like_the_real_provider() {
    let litellm = env(crossfire::gateway::litellm::env_spec(
        crossfire::gateway::litellm::VERSION,
    ));
    let sdks = env(PythonEnvSpec::sdks());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let specs: Vec<DeploymentSpec> = Dialect::ALL
        .iter()
        .flat_map(|&d| {
            // Every class: the answered ones, and the byte-level and timing
            // ones a client can observe.
            FailureClass::ALL.iter().map(move |&c| {
                DeploymentSpec::new(format!("{d}-{c}"), d).fault(fault_for(c), Schedule::Always)
            })
        })
        .chain(
            Dialect::ALL
                .iter()
                .map(|&d| DeploymentSpec::new(format!("{d}-served"), d)),
        )
        .collect();
    let mocks = rt
        .block_on(MockSet::start(specs, JournalConfig::default()))
        .unwrap();
    let case = |client: &str, d: Dialect, class: Option<FailureClass>| {
        let id = match class {
            Some(c) => format!("{d}-{c}"),
            None => format!("{d}-served"),
        };
        json!({
            "id": format!("{client}/{id}"),
            "client": client,
            "dialect": d.name(),
            "base_url": mocks.get(&id).unwrap().base_url(),
            "model": model(d),
            "stream": class.is_some_and(streams),
            // Only the timing faults meet the client's timer: a `timeout`
            // answers after 4 s, so 1.5 s fires first however slow the
            // machine; a `stall` is read after its first event (classify.py
            // runs it again with a longer timer when the first event had
            // not come). A `hang` never answers and a `slow_first_token`
            // holds its first event 4 s: both meet the 1.5 s timer. Every
            // other case answers at once: a timer that can only fire on a
            // busy machine.
            "timeout": match class {
                Some(
                    FailureClass::Timeout
                    | FailureClass::Stall
                    | FailureClass::Hang
                    | FailureClass::SlowFirstToken,
                ) => 1.5,
                _ => 20.0,
            },
            "after_content": class == Some(FailureClass::Stall),
        })
    };
    let all = |client: &str, dialects: &[Dialect]| -> Vec<Value> {
        dialects
            .iter()
            .flat_map(|&d| {
                std::iter::once(case(client, d, None)).chain(
                    FailureClass::ALL
                        .iter()
                        .map(move |&c| case(client, d, Some(c))),
                )
            })
            .collect()
    };
    let openai_family = [
        Dialect::Openai,
        Dialect::Azure,
        Dialect::Groq,
        Dialect::Mistral,
        Dialect::Deepseek,
        Dialect::Vllm,
    ];
    let mut results = classify(&litellm, &all("litellm", &Dialect::ALL));
    let mut sdk_cases = all("openai", &openai_family);
    sdk_cases.extend(all("anthropic", &[Dialect::Anthropic]));
    results.extend(classify(&sdks, &sdk_cases));
    drop(mocks);
    let dump = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fidelity-results.json");
    let _ = std::fs::write(&dump, serde_json::to_string_pretty(&results).unwrap());
    eprintln!("all client results: {}", dump.display());

    let exception = |id: &str| -> String {
        results
            .get(id)
            .unwrap_or_else(|| panic!("no result for {id}"))["exception"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // A stall is read after its first event, on every client.
    for (id, v) in &results {
        if id.ends_with("-stall") {
            assert!(v["chunks"].as_u64() > Some(0), "{id}: {v}");
        }
    }
    // Every healthy mock is accepted by every client.
    for d in Dialect::ALL {
        assert_eq!(exception(&format!("litellm/{d}-served")), "", "litellm {d}");
    }
    for d in openai_family {
        assert_eq!(
            exception(&format!("openai/{d}-served")),
            "",
            "openai SDK {d}"
        );
    }
    assert_eq!(exception("anthropic/anthropic-served"), "");

    // The classes LiteLLM's routing decisions hinge on map to LiteLLM's own
    // exception for that class, except where LiteLLM reads the real
    // provider's answer otherwise (pinned from running litellm 1.108.7).
    let expect_litellm = |d: Dialect, class: FailureClass| -> Option<&'static str> {
        use FailureClass::*;
        Some(match (d, class) {
            // LiteLLM matches policy words in `error.message` only for the
            // openai provider; OpenAI's real wording ("...our safety
            // system.") has none of them.
            (Dialect::Openai, ContentPolicy) => "BadRequestError",
            // Gemini refuses a blocked prompt with a 200 and no candidates;
            // LiteLLM returns it as a success with empty content.
            (Dialect::Gemini, ContentPolicy) => "",
            // Groq's real overflow text ("Please reduce the length of the
            // messages or completion.", OpenHands#1902) has none of LiteLLM's
            // context-window phrases.
            (Dialect::Groq, ContextOverflow) => "BadRequestError",
            // LiteLLM's openai-compatible mapping has no 401 branch for these.
            (Dialect::Groq | Dialect::Deepseek, Auth) => "BadRequestError",
            // Mistral's wording (synthesised, see errors.rs) is not matched.
            (Dialect::Mistral, ContextOverflow | ContentPolicy) => "BadRequestError",
            (_, RateLimit) => "RateLimitError",
            (_, ContextOverflow) => "ContextWindowExceededError",
            (_, ContentPolicy) => "ContentPolicyViolationError",
            (_, Auth) => "AuthenticationError",
            (_, NotFound) => "NotFoundError",
            (_, Timeout) => "Timeout",
            _ => return None,
        })
    };
    let mut misses = Vec::new();
    for d in Dialect::ALL {
        for class in FailureClass::ALL {
            let Some(wanted) = expect_litellm(d, class) else {
                continue;
            };
            let got = exception(&format!("litellm/{d}-{class}"));
            if got != wanted {
                misses.push(format!("litellm {d} {class}: `{got}` (wanted `{wanted}`)"));
            }
        }
    }
    // The official SDKs map by status: 429 -> RateLimitError, 401 ->
    // AuthenticationError, 404 -> NotFoundError, 400 -> BadRequestError, 5xx
    // -> InternalServerError.
    let expect_sdk = [
        (FailureClass::RateLimit, "RateLimitError"),
        (FailureClass::QuotaExhausted, "RateLimitError"),
        (FailureClass::Auth, "AuthenticationError"),
        (FailureClass::ContextOverflow, "BadRequestError"),
        (FailureClass::ContentPolicy, "BadRequestError"),
        (FailureClass::NotFound, "NotFoundError"),
        (FailureClass::ServerError, "InternalServerError"),
        (FailureClass::BadGateway, "InternalServerError"),
        (FailureClass::Unavailable, "InternalServerError"),
        (FailureClass::Overloaded, "InternalServerError"),
        (FailureClass::Timeout, "APITimeoutError"),
        (FailureClass::ConnectionReset, "APIConnectionError"),
    ];
    for (class, wanted) in expect_sdk {
        for d in openai_family {
            let got = exception(&format!("openai/{d}-{class}"));
            if got != wanted {
                misses.push(format!("openai SDK {d} {class}: {got} (wanted {wanted})"));
            }
        }
        let got = exception(&format!("anthropic/anthropic-{class}"));
        let wanted = match class {
            FailureClass::Overloaded => "OverloadedError",
            // The anthropic SDK has its own class for a 503.
            FailureClass::Unavailable => "ServiceUnavailableError",
            // The SDK knows Anthropic's spend-limit detail code.
            FailureClass::QuotaExhausted => "EnforcedSpendLimitReachedError",
            _ => wanted,
        };
        if got != wanted {
            misses.push(format!("anthropic SDK {class}: {got} (wanted {wanted})"));
        }
    }
    // The time and stream faults, as the official SDKs meet them (openai
    // 3.57.0, anthropic 2.13.0, a 1.5 s client timeout): a hang and a late
    // first token meet the timer; a stream without its terminator ends
    // quietly after all its chunks (neither SDK needs `[DONE]` or
    // `message_stop`); one malformed event stops the stream with the JSON
    // parser's error after the good chunks before it.
    let chunks = |id: &str| results[id]["chunks"].as_u64().unwrap_or(0);
    for d in openai_family {
        for (class, wanted) in [
            (FailureClass::Hang, "APITimeoutError"),
            (FailureClass::SlowFirstToken, "APITimeoutError"),
            (FailureClass::NoDone, ""),
            (FailureClass::MalformedEvent, "JSONDecodeError"),
        ] {
            let id = format!("openai/{d}-{class}");
            if exception(&id) != wanted {
                misses.push(format!(
                    "openai SDK {d} {class}: {} (wanted `{wanted}`)",
                    exception(&id)
                ));
            }
        }
        // preamble, 6 content chunks, the finish chunk: all of them.
        assert_eq!(
            chunks(&format!("openai/{d}-no_done")),
            8,
            "openai SDK {d} no_done"
        );
        assert_eq!(
            chunks(&format!("openai/{d}-malformed_event")),
            2,
            "openai SDK {d} malformed_event"
        );
    }
    for (class, wanted) in [
        (FailureClass::Hang, "APITimeoutError"),
        // The anthropic SDK does not wrap a read timeout met while
        // iterating a stream: httpx's own exception reaches the caller.
        (FailureClass::SlowFirstToken, "ReadTimeout"),
        (FailureClass::NoDone, ""),
        (FailureClass::MalformedEvent, "JSONDecodeError"),
    ] {
        let id = format!("anthropic/anthropic-{class}");
        if exception(&id) != wanted {
            misses.push(format!(
                "anthropic SDK {class}: {} (wanted `{wanted}`)",
                exception(&id)
            ));
        }
    }
    assert!(
        chunks("anthropic/anthropic-no_done") >= 9,
        "every event but message_stop"
    );
    for d in Dialect::ALL {
        // LiteLLM reads a hang as its own Timeout on every provider.
        if exception(&format!("litellm/{d}-hang")) != "Timeout" {
            misses.push(format!(
                "litellm {d} hang: {}",
                exception(&format!("litellm/{d}-hang"))
            ));
        }
        // Its stream wrapper completes a stream without a terminator.
        if !exception(&format!("litellm/{d}-no_done")).is_empty() {
            misses.push(format!(
                "litellm {d} no_done: {}",
                exception(&format!("litellm/{d}-no_done"))
            ));
        }
    }
    // One malformed event: LiteLLM's OpenAI-SDK path (openai, azure) raises
    // MidStreamFallbackError; its own SSE readers return a success: they
    // skip the bad event for the OpenAI-compatible providers (all 8 chunks
    // but it) and end the stream at it for Anthropic and Gemini (the
    // answer silently cut to the chunks before it).
    for d in [
        Dialect::Groq,
        Dialect::Mistral,
        Dialect::Deepseek,
        Dialect::Vllm,
    ] {
        let id = format!("litellm/{d}-malformed_event");
        assert_eq!((exception(&id).as_str(), chunks(&id)), ("", 8), "{id}");
    }
    for d in [Dialect::Anthropic, Dialect::Gemini] {
        let id = format!("litellm/{d}-malformed_event");
        assert_eq!(exception(&id), "", "{id}");
        assert!(
            chunks(&id) < chunks(&format!("litellm/{d}-no_done")),
            "{id}: not cut"
        );
    }
    // crossfire's lint and drill predict with a table of LiteLLM's readings;
    // it must be what LiteLLM does.
    for d in Dialect::ALL {
        for class in FailureClass::ALL {
            let v = &results[&format!("litellm/{d}-{class}")];
            let observed = (
                v["exception"].as_str().unwrap().to_string(),
                v["status"].as_u64().unwrap_or(0) as u16,
            );
            let (e, st) = crossfire::gateway::litellm::exceptions::litellm_exception(d, class);
            if observed != (e.to_string(), st) {
                misses.push(format!(
                    "exceptions.rs says {d} {class} -> {e} {st}; LiteLLM raised {} {}",
                    observed.0, observed.1
                ));
            }
        }
    }
    // The whole matrix, pinned: a change in any client's reading is a diff.
    let table: BTreeMap<String, String> = results
        .iter()
        .map(|(id, v)| {
            let status = match &v["status"] {
                Value::Null => String::new(),
                s => format!(" {s}"),
            };
            (
                id.clone(),
                format!("{}{status}", v["exception"].as_str().unwrap_or("")),
            )
        })
        .collect();
    // The snapshot's name says which clients it was measured with.
    assert_eq!(
        (
            crossfire::gateway::litellm::VERSION,
            provision::OPENAI_SDK_VERSION,
            provision::ANTHROPIC_SDK_VERSION
        ),
        ("1.108.7", "3.57.0", "2.13.0"),
        "crossfire now pins other clients: rename the snapshot after them and re-measure"
    );
    insta::assert_yaml_snapshot!(
        "fidelity_litellm_1_108_7_openai_3_57_0_anthropic_2_13_0",
        table
    );
    assert!(
        misses.is_empty(),
        "clients read these answers differently:\n{}",
        misses.join("\n")
    );
}
