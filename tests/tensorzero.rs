//! The TensorZero target against the real gateway (PyPI `tensorzero`
//! 2026.6.0, provisioned into crossfire's cache, started through crossfire's
//! launcher) and real mocks. Every behaviour pinned here was observed by
//! running it; each test names the version it was measured on.

use crossfire::gateway::tensorzero::{self, config, mapping};
use crossfire::gateway::RunningGateway;
use mock_providers::{Attempt, Fault, JournalConfig, MockSet, Schedule};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The TensorZero version every behaviour pinned here was measured on.
const MEASURED_ON: &str = "2026.6.0";

fn assert_measured_version(gw: &RunningGateway) {
    assert_eq!(
        crossfire::provision::TENSORZERO_VERSION,
        MEASURED_ON,
        "crossfire now pins another TensorZero: re-measure the behaviour pinned here"
    );
    assert_eq!(gw.installed_version.as_deref(), Some(MEASURED_ON));
    assert_eq!(gw.version(&[]), Ok(Some(MEASURED_ON.to_string())));
}

/// A running TensorZero on mocks, with the run folder it writes to.
struct Rig {
    gw: RunningGateway,
    mocks: MockSet,
    _dir: tempfile::TempDir,
}

/// Starts mocks for every mapped provider of `toml` (faults by deployment
/// id) and the real gateway on the rewritten config.
async fn rig(toml: &str, faults: &[(&str, Fault, Schedule)]) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("team-tensorzero.toml");
    std::fs::write(&file, toml).unwrap();
    let cfg = config::load(&file).unwrap();
    let (deployments, _) = mapping::deployments(&cfg, true).unwrap();
    let specs = deployments
        .into_iter()
        .map(|d| {
            faults
                .iter()
                .filter(|(id, ..)| *id == d.id())
                .fold(d.spec.clone(), |s, (_, f, sch)| {
                    s.fault(f.clone(), sch.clone())
                })
        })
        .collect();
    let mocks = MockSet::start(specs, JournalConfig::default())
        .await
        .unwrap();
    let bases: BTreeMap<String, String> = cfg
        .providers()
        .filter_map(|p| mocks.get(&p.id).map(|m| (p.id.clone(), m.base_url())))
        .collect();
    let install = tensorzero::install(&mut |_| {}).unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let gw = tensorzero::start(
        &cfg,
        &install,
        &bases,
        &run,
        Duration::from_secs(20),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    Rig {
        gw,
        mocks,
        _dir: dir,
    }
}

/// What one client request met.
#[derive(Debug)]
struct Seen {
    status: u16,
    /// The stream ended with `[DONE]` (streams only).
    done: bool,
    body: String,
    /// Deployment ids of its attempts with their outcome, in order.
    attempts: Vec<String>,
}

impl Rig {
    async fn send(&self, model: &str, n: usize, stream: bool) -> Seen {
        let marker = format!("xf:tz:{n}");
        let body = serde_json::json!({
            "model": model,
            "messages": [{"role": "user", "content": format!("hello [{marker}]")}],
            "stream": stream,
        });
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let r = client
            .post(format!("{}/v1/chat/completions", self.gw.base_url))
            .json(&body)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r
            .text()
            .await
            .unwrap_or_else(|e| format!("<body error: {e}>"));
        // Attempts may still be journalled as the answer returns.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let attempts = self
            .mocks
            .journal()
            .attempts()
            .into_iter()
            .filter(|a: &Attempt| a.marker.as_deref() == Some(marker.as_str()))
            .map(|a| {
                let outcome = match a.failure() {
                    Some(c) => c.to_string(),
                    None => "ok".into(),
                };
                format!("{} {outcome}", a.deployment)
            })
            .collect();
        Seen {
            status,
            done: text.contains("[DONE]"),
            body: text,
            attempts,
        }
    }
}

const ROUTED: &str = r#"
[models.gpt]
routing = ["openai", "anthropic"]

[models.gpt.providers.openai]
type = "openai"
model_name = "gpt-4o"

[models.gpt.providers.anthropic]
type = "anthropic"
model_name = "claude-sonnet-4-5"
"#;

#[tokio::test]
async fn the_pinned_gateway_starts_on_loopback_and_answers_from_its_mock() {
    let r = rig(ROUTED, &[]).await;
    assert_measured_version(&r.gw);
    assert!(
        r.gw.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        r.gw.base_url
    );
    assert!(r.gw.startup < Duration::from_secs(5), "{:?}", r.gw.startup);
    let seen = r.send(&tensorzero::client_model("gpt"), 1, false).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.attempts, ["gpt.openai ok"]);
    assert!(r.gw.escapes().is_empty(), "{:?}", r.gw.escapes());
}

/// Exploration: every drill class on the primary, printed (run with
/// `--ignored --nocapture`); the pinned tests below assert what it showed.
#[tokio::test]
#[ignore]
async fn explore_every_drill_class() {
    for class in crossfire::gateway::litellm::lint::DRILL_CLASSES {
        let stream = crossfire::gateway::litellm::lint::streams(class);
        let mut fault = Fault::new(class);
        fault.delay = Duration::from_secs(2);
        let r = rig(ROUTED, &[("gpt.openai", fault, Schedule::Always)]).await;
        let seen = r.send(&tensorzero::client_model("gpt"), 1, stream).await;
        println!(
            "{class}: client {} done={} attempts={:?} body={}",
            seen.status,
            seen.done,
            seen.attempts,
            seen.body.chars().take(300).collect::<String>()
        );
    }
}

const SINGLE: &str = r#"
[models.solo]
routing = ["openai"]

[models.solo.providers.openai]
type = "openai"
model_name = "gpt-4o"

[models.claude]
routing = ["anthropic"]

[models.claude.providers.anthropic]
type = "anthropic"
model_name = "claude-sonnet-4-5"

[models.slow]
routing = ["openai", "anthropic"]
timeouts = { non_streaming = { total_ms = 5000 } }

[models.slow.providers.openai]
type = "openai"
model_name = "gpt-4o"
timeouts = { non_streaming = { total_ms = 500 }, streaming = { ttft_ms = 500 } }

[models.slow.providers.anthropic]
type = "anthropic"
model_name = "claude-sonnet-4-5"

[functions.chat]
type = "chat"

[functions.chat.variants.main]
type = "chat_completion"
model = "solo"
retries = { num_retries = 2, max_delay_s = 0.2 }

[functions.chat.variants.backup]
type = "chat_completion"
model = "claude"

[functions.pinned]
type = "chat"

[functions.pinned.variants.main]
type = "chat_completion"
model = "solo"
retries = { num_retries = 1, max_delay_s = 0.2 }
"#;

#[tokio::test]
#[ignore]
async fn explore_retries_timeouts_streams() {
    let mut slow = Fault::new(mock_providers::FailureClass::Timeout);
    slow.delay = Duration::from_secs(2);
    let r = rig(
        SINGLE,
        &[
            (
                "solo.openai",
                Fault::new(mock_providers::FailureClass::RateLimit),
                Schedule::Always,
            ),
            ("slow.openai", slow, Schedule::Always),
        ],
    )
    .await;
    let mut n = 0;
    for (model, stream) in [
        ("tensorzero::model_name::solo", false),
        ("tensorzero::model_name::solo", true),
        ("tensorzero::model_name::slow", false),
        ("tensorzero::model_name::slow", true),
        ("tensorzero::function_name::chat", false),
        ("tensorzero::function_name::chat", false),
        ("tensorzero::function_name::chat", false),
        ("tensorzero::function_name::pinned", false),
        ("tensorzero::function_name::chat", true),
    ] {
        n += 1;
        let t = std::time::Instant::now();
        let seen = r.send(model, n, stream).await;
        println!(
            "{model} stream={stream}: client {} in {:?} attempts={:?} body={}",
            seen.status,
            t.elapsed(),
            seen.attempts,
            seen.body.chars().take(400).collect::<String>()
        );
    }
    for class in [
        mock_providers::FailureClass::StreamCut,
        mock_providers::FailureClass::StreamError,
    ] {
        let r = rig(
            ROUTED,
            &[("gpt.openai", Fault::new(class), Schedule::Always)],
        )
        .await;
        let seen = r.send("tensorzero::model_name::gpt", 1, true).await;
        println!("{class}: {}", seen.body);
    }
}

/// A provider crossfire cannot point at a mock (Gemini on AI Studio has no
/// `api_base` in TensorZero 2026.6.0) and one left un-rewritten both try to
/// leave: the gateway's HTTP client honours HTTPS_PROXY, so both end at the
/// egress sink, are reported as escapes, and the request moves on to the
/// mock. Nothing reached a real host.
#[tokio::test]
async fn an_unmapped_or_unrewritten_upstream_is_caught_by_the_seal() {
    let toml = r#"
[models.gpt]
routing = ["gemini", "claude", "openai"]

[models.gpt.providers.gemini]
type = "google_ai_studio_gemini"
model_name = "gemini-2.0-flash"

[models.gpt.providers.claude]
type = "anthropic"
model_name = "claude-sonnet-4-5"

[models.gpt.providers.openai]
type = "openai"
model_name = "gpt-4o"
"#;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tensorzero.toml");
    std::fs::write(&file, toml).unwrap();
    let cfg = config::load(&file).unwrap();
    let (deployments, unmapped) = mapping::deployments(&cfg, true).unwrap();
    assert_eq!(unmapped[0].path, "models.gpt.providers.gemini");
    let specs = deployments.into_iter().map(|d| d.spec).collect();
    let mocks = MockSet::start(specs, JournalConfig::default())
        .await
        .unwrap();
    // Only the OpenAI entry is rewritten: Claude keeps Anthropic's real address.
    let bases = BTreeMap::from([(
        "gpt.openai".to_string(),
        mocks.get("gpt.openai").unwrap().base_url(),
    )]);
    let install = tensorzero::install(&mut |_| {}).unwrap();
    let gw = tensorzero::start(
        &cfg,
        &install,
        &bases,
        dir.path(),
        Duration::from_secs(20),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_measured_version(&gw);
    let r = Rig {
        gw,
        mocks,
        _dir: dir,
    };
    let seen = r.send(&tensorzero::client_model("gpt"), 1, false).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.attempts, ["gpt.openai ok"]);
    let mut targets: Vec<String> = r.gw.escapes().into_iter().map(|e| e.target).collect();
    targets.sort();
    assert_eq!(
        targets,
        [
            "api.anthropic.com:443",
            "generativelanguage.googleapis.com:443"
        ],
        "TensorZero's usage analytics (howdy.tensorzero.com) must not be among them"
    );
}
