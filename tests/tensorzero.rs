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
        crossfire::gateway::tensorzero::VERSION,
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
    let install = tensorzero::install(None, &mut |_| {}).unwrap();
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
    eprintln!("TensorZero ready after {:?}", r.gw.startup);
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
    for class in crossfire::lint::DRILL_CLASSES {
        let stream = crossfire::lint::streams(class);
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
    let install = tensorzero::install(None, &mut |_| {}).unwrap();
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

/// One model per failure class, each `routing = [openai, anthropic]`.
fn per_class_config(classes: &[mock_providers::FailureClass]) -> String {
    let mut toml = String::new();
    for c in classes {
        toml.push_str(&format!(
            "[models.{c}]\nrouting = [\"openai\", \"anthropic\"]\n\
             [models.{c}.providers.openai]\ntype = \"openai\"\nmodel_name = \"gpt-4o\"\n\
             timeouts = {{ non_streaming = {{ total_ms = 500 }}, streaming = {{ ttft_ms = 500 }} }}\n\
             [models.{c}.providers.anthropic]\ntype = \"anthropic\"\nmodel_name = \"claude-sonnet-4-5\"\n\n"
        ));
    }
    toml
}

/// TensorZero 2026.6.0 does not classify provider errors: every error
/// status (400 overflow and content policy, 401, 429, 5xx, 529) and a
/// provider timeout move the request to the next provider of `routing`
/// after one attempt; no retry on the same provider.
#[tokio::test]
async fn every_provider_error_moves_to_the_next_provider_after_one_attempt() {
    use mock_providers::FailureClass as F;
    let classes = [
        F::ServerError,
        F::Overloaded,
        F::RateLimit,
        F::QuotaExhausted,
        F::ContextOverflow,
        F::ContentPolicy,
        F::Auth,
        F::Timeout,
    ];
    let faults: Vec<(String, Fault)> = classes
        .iter()
        .map(|c| {
            let mut f = Fault::new(*c);
            f.delay = Duration::from_secs(3);
            (format!("{c}.openai"), f)
        })
        .collect();
    let refs: Vec<(&str, Fault, Schedule)> = faults
        .iter()
        .map(|(id, f)| (id.as_str(), f.clone(), Schedule::Always))
        .collect();
    let toml = per_class_config(&classes);
    let r = rig(&toml, &refs).await;
    assert_measured_version(&r.gw);
    let cfg = config::read(config::TomlSource::from_text("t.toml".into(), toml)).unwrap();
    for (n, c) in classes.iter().enumerate() {
        let group = tensorzero::client_model(&c.to_string());
        let seen = r.send(&group, n, false).await;
        // lint's literal prediction is what the gateway did.
        let p = tensorzero::lint::predict(&cfg, &group, *c).unwrap();
        assert_eq!(
            p.text,
            format!("{c}.openai -> {c}.anthropic (anthropic) 200"),
            "{c}"
        );
        assert_eq!(seen.status, p.client_status, "{c}: {}", seen.body);
        assert_eq!(seen.status, 200, "{c}: {}", seen.body);
        assert_eq!(
            seen.attempts,
            [format!("{c}.openai {c}"), format!("{c}.anthropic ok")],
            "{c}"
        );
    }
}

/// Every provider failing reaches the client as 502 whatever the upstream
/// said (a 429 and its Retry-After are lost); a slow primary without any
/// `timeouts` is waited for (TensorZero 2026.6.0's default outbound timeout
/// is 15 minutes).
#[tokio::test]
async fn all_providers_failing_is_a_502_and_a_slow_primary_without_timeouts_is_waited_for() {
    let mut slow = Fault::new(mock_providers::FailureClass::Timeout);
    slow.delay = Duration::from_millis(1500);
    let r = rig(
        SINGLE,
        &[
            (
                "solo.openai",
                Fault::new(mock_providers::FailureClass::RateLimit),
                Schedule::Always,
            ),
            ("claude.anthropic", slow, Schedule::Always),
        ],
    )
    .await;
    assert_measured_version(&r.gw);
    for stream in [false, true] {
        let seen = r
            .send(
                &tensorzero::client_model("solo"),
                usize::from(stream),
                stream,
            )
            .await;
        assert_eq!(seen.status, 502, "stream {stream}: {}", seen.body);
        assert!(
            seen.body.contains("All model providers failed"),
            "{}",
            seen.body
        );
        assert_eq!(seen.attempts, ["solo.openai rate_limit"]);
    }
    let started = std::time::Instant::now();
    let seen = r.send(&tensorzero::client_model("claude"), 3, false).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(seen.attempts, ["claude.anthropic timeout"]);
}

/// A stream that breaks after its first events is not failed over: the
/// client gets HTTP 200, an in-band `data: {"error": ...}` event, an empty
/// chunk and `data: [DONE]`: a client that ignores the error event sees a
/// complete, short answer (TensorZero 2026.6.0).
#[tokio::test]
async fn a_broken_stream_stays_on_its_provider_and_ends_with_done() {
    use mock_providers::FailureClass as F;
    let classes = [F::StreamCut, F::StreamError];
    let refs: Vec<(String, Fault)> = classes
        .iter()
        .map(|c| (format!("{c}.openai"), Fault::new(*c)))
        .collect();
    let refs: Vec<(&str, Fault, Schedule)> = refs
        .iter()
        .map(|(id, f)| (id.as_str(), f.clone(), Schedule::Always))
        .collect();
    let r = rig(&per_class_config(&classes), &refs).await;
    assert_measured_version(&r.gw);
    for (n, c) in classes.iter().enumerate() {
        let seen = r
            .send(&tensorzero::client_model(&c.to_string()), n, true)
            .await;
        assert_eq!(seen.status, 200, "{c}");
        assert_eq!(seen.attempts, [format!("{c}.openai {c}")], "{c}");
        assert!(
            seen.body.contains("data: {\"error\":"),
            "{c}: {}",
            seen.body
        );
        assert!(seen.done, "{c}: the stream ends with [DONE]");
    }
}

/// A variant's `retries` repeat its whole model (N + 1 attempts), then
/// another variant is tried; with no other variant the client gets 502.
/// With `experimentation` static candidate + fallback variants the order is
/// fixed (without it the first variant is drawn at random).
#[tokio::test]
async fn variant_retries_repeat_the_model_then_the_fallback_variant_serves() {
    let toml = format!(
        "{SINGLE}\n[functions.ordered]\ntype = \"chat\"\n\
         [functions.ordered.variants.main]\ntype = \"chat_completion\"\nmodel = \"solo\"\n\
         retries = {{ num_retries = 2, max_delay_s = 0.1 }}\n\
         [functions.ordered.variants.backup]\ntype = \"chat_completion\"\nmodel = \"claude\"\n\
         [functions.ordered.experimentation]\ntype = \"static\"\ncandidate_variants = [\"main\"]\nfallback_variants = [\"backup\"]\n"
    );
    let r = rig(
        &toml,
        &[(
            "solo.openai",
            Fault::new(mock_providers::FailureClass::RateLimit),
            Schedule::Always,
        )],
    )
    .await;
    assert_measured_version(&r.gw);
    for n in 0..3 {
        let seen = r
            .send(&tensorzero::client_function("ordered"), n, false)
            .await;
        assert_eq!(seen.status, 200, "{}", seen.body);
        assert_eq!(
            seen.attempts,
            [
                "solo.openai rate_limit",
                "solo.openai rate_limit",
                "solo.openai rate_limit",
                "claude.anthropic ok"
            ]
        );
    }
    let seen = r
        .send(&tensorzero::client_function("pinned"), 9, false)
        .await;
    assert_eq!(seen.status, 502, "{}", seen.body);
    assert_eq!(
        seen.attempts,
        ["solo.openai rate_limit", "solo.openai rate_limit"]
    );
}

/// A drill cell's copy runs on the real gateway and reaches its own mocks.
#[tokio::test]
async fn an_isolated_cell_reaches_its_own_mock() {
    let cfg = config::read(config::TomlSource::from_text(
        "t.toml".into(),
        ROUTED.to_string(),
    ))
    .unwrap();
    let cells = [
        tensorzero::client_model("gpt"),
        tensorzero::client_model("gpt"),
    ];
    let isolated = tensorzero::isolate::isolate(&cfg, &cells).unwrap();
    let text = isolated.src.text.clone();
    let r = rig(
        &text,
        &[(
            "gpt.openai--cell1",
            Fault::new(mock_providers::FailureClass::RateLimit),
            Schedule::Always,
        )],
    )
    .await;
    let seen = r
        .send(&tensorzero::client_model("gpt--cell1"), 1, false)
        .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(
        seen.attempts,
        ["gpt.openai--cell1 rate_limit", "gpt.anthropic--cell1 ok"]
    );
    let seen = r
        .send(&tensorzero::client_model("gpt--cell0"), 2, false)
        .await;
    assert_eq!(seen.attempts, ["gpt.openai--cell0 ok"]);
}

fn example(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/tensorzero")
        .join(name)
}

/// The example a new user starts from runs on TensorZero 2026.6.0 and
/// crosses to Anthropic when OpenAI rate-limits; its function keeps a
/// cross-provider promise.
#[tokio::test]
async fn the_example_config_runs_and_crosses_providers() {
    let text = std::fs::read_to_string(example("tensorzero.toml")).unwrap();
    let r = rig(
        &text,
        &[(
            "gpt-4o.openai",
            Fault::new(mock_providers::FailureClass::RateLimit),
            Schedule::Always,
        )],
    )
    .await;
    assert_measured_version(&r.gw);
    let seen = r.send(&tensorzero::client_model("gpt-4o"), 1, false).await;
    assert_eq!(
        seen.attempts,
        ["gpt-4o.openai rate_limit", "gpt-4o.anthropic ok"]
    );
    let seen = r.send(&tensorzero::client_function("chat"), 2, false).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.attempts, ["claude-sonnet.anthropic ok"]);
}

/// The same-provider example: four places to go on paper, one provider.
/// lint predicts a "successful" fallback that stays on OpenAI, warns that
/// routing moves only within OpenAI, and derives no cross-provider promise
/// (nothing in the config can keep one).
#[test]
fn the_same_provider_example_is_a_failover_illusion() {
    let cfg = config::load(&example("same-provider.toml")).unwrap();
    let p = tensorzero::lint::predict(
        &cfg,
        &tensorzero::client_function("chat"),
        mock_providers::FailureClass::RateLimit,
    )
    .unwrap();
    // "Fallback successful", and it never left OpenAI.
    assert_eq!(p.text, "gpt-4o.primary -> gpt-4o.secondary (openai) 200");
    assert_eq!(p.outcome, crossfire::paths::PathClass::FellBackSameProvider);
    let intent = tensorzero::lint::intent(&cfg, &crossfire::lint::DRILL_CLASSES);
    assert!(
        intent.is_empty(),
        "nothing in it can leave OpenAI: {intent:#?}"
    );
    let warnings = tensorzero::lint::warnings(&cfg);
    assert!(
        warnings
            .iter()
            .any(|w| w.message.contains("moves only within openai")),
        "{warnings:#?}"
    );
}

/// Runs crossfire's launcher on `toml` with the pinned gateway: `Ok` when it
/// came up (then it is stopped), `Err(log)` when it refused.
fn launch_once(toml: &str, pinned: &str) -> Result<(), String> {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tensorzero.toml");
    std::fs::write(&config, toml).unwrap();
    let launcher = dir.path().join("launch.py");
    std::fs::write(&launcher, tensorzero::LAUNCHER).unwrap();
    let install = tensorzero::install(None, &mut |_| {}).unwrap();
    let mut child = std::process::Command::new(&install.python)
        .arg(&launcher)
        .arg(&config)
        .arg(pinned)
        .env_clear()
        .env("TENSORZERO_DISABLE_PSEUDONYMOUS_USAGE_ANALYTICS", "1")
        .env("OPENAI_API_KEY", "sk-crossfire-dummy")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Up to the ready line, or the end when the launcher gives up.
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut ready = false;
    for line in std::io::BufRead::lines(out).map_while(Result::ok) {
        if line.contains("crossfire_tensorzero") {
            ready = true;
            break;
        }
        seen.push_str(&line);
        seen.push('\n');
    }
    let _ = child.kill();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = child.wait();
    if ready {
        Ok(())
    } else {
        Err(format!("{seen}{err}"))
    }
}

/// crossfire refuses what TensorZero 2026.6.0 refuses, and a config using
/// every common provider key, timeouts at every level, retries and
/// experimentation is accepted by both.
#[test]
fn crossfire_and_tensorzero_refuse_the_same_configs() {
    let good = r#"
[models.m]
routing = ["p"]
timeouts = { non_streaming = { total_ms = 5000 }, streaming = { ttft_ms = 1000, total_ms = 9000 } }
skip_relay = true

[models.m.providers.p]
type = "openai"
model_name = "gpt-4o"
api_base = "http://127.0.0.1:9/v1/"
extra_body = [{ pointer = "/x", value = 1 }]
extra_headers = [{ name = "x-team", value = "a" }]
cost = []
batch_cost = []
discard_unknown_chunks = true
timeouts = { non_streaming = { total_ms = 1000 } }

[functions.f]
type = "chat"

[functions.f.variants.v]
type = "chat_completion"
model = "m"
retries = { num_retries = 2, max_delay_s = 0.5 }
timeouts = { non_streaming = { total_ms = 2000 } }

[functions.f.experimentation]
type = "static"
candidate_variants = ["v"]
fallback_variants = []
"#;
    let read = |t: &str| config::read(config::TomlSource::from_text("t.toml".into(), t.into()));
    read(good).unwrap();
    launch_once(good, MEASURED_ON).unwrap();
    let bad = [
        ("modles = 1\n", "unknown field `modles`"),
        (
            "[functions.f]\ntype = \"chat\"\n[functions.f.variants.v]\ntype = \"chat_completion\"\nmodel = \"openai::gpt-4o\"\nweight = 1.0\n[functions.f.experimentation]\ntype = \"static\"\ncandidate_variants = [\"v\"]\n",
            "Cannot mix `experimentation` configuration with individual variant `weight`",
        ),
        (
            "[models.m]\nrouting = [\"q\"]\n[models.m.providers.p]\ntype = \"openai\"\nmodel_name = \"x\"\n",
            "does not exist in `providers`",
        ),
        (
            "[models.m]\nrouting = [\"p\"]\n[models.m.providers.p]\ntype = \"openai\"\nmodel_name = \"x\"\n[models.m.providers.q]\ntype = \"openai\"\nmodel_name = \"x\"\n",
            "is not listed in `routing`",
        ),
        (
            "[models.m]\nrouting = [\"p\"]\n[models.m.providers.p]\ntype = \"groq\"\nmodel_name = \"x\"\napi_base = \"http://h\"\n",
            "unknown field `api_base`",
        ),
        (
            "[models.m]\nrouting = [\"p\"]\ntimeouts = { non_streaming = { total = 1 } }\n[models.m.providers.p]\ntype = \"openai\"\nmodel_name = \"x\"\n",
            "unknown field `total`",
        ),
        (
            "[functions.f]\ntype = \"chat\"\n[functions.f.variants.v]\ntype = \"chat_completion\"\nmodel = \"nope\"\n",
            "not found in model table",
        ),
        (
            "[functions.f]\ntype = \"chat\"\n[functions.f.variants.v]\ntype = \"chat_completion\"\nmodel = \"openai::gpt-4o\"\ntemprature = 1\n",
            "unknown field `temprature`",
        ),
    ];
    for (toml, tensorzero_says) in bad {
        let ours = read(toml).unwrap_err().to_string();
        let theirs = launch_once(toml, MEASURED_ON).unwrap_err();
        assert!(
            theirs.contains(tensorzero_says),
            "TensorZero on\n{toml}\nsaid: {theirs}"
        );
        assert!(ours.starts_with("t.toml:"), "{ours}");
    }
}

/// The launcher drives a private helper: another installed version stops it
/// with a message naming both versions, before anything starts.
#[test]
fn the_launcher_refuses_a_version_it_was_not_written_for() {
    let err = launch_once("", "2099.1.0").unwrap_err();
    assert!(
        err.contains("tensorzero 2026.6.0 is installed, crossfire was written for 2099.1.0"),
        "{err}"
    );
}

/// The launcher ends when its parent dies, even one that cannot clean up
/// (killed at once): nothing of TensorZero outlives crossfire.
#[test]
fn the_launcher_dies_with_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tensorzero.toml");
    std::fs::write(&config, "").unwrap();
    let launcher = dir.path().join("launch.py");
    std::fs::write(&launcher, tensorzero::LAUNCHER).unwrap();
    let install = tensorzero::install(None, &mut |_| {}).unwrap();
    let pid_file = dir.path().join("pid");
    // The shell starts the launcher, waits for its ready line, and is killed.
    let script = format!(
        "'{py}' '{l}' '{c}' {MEASURED_ON} > '{out}' 2>&1 & echo $! > '{pid}'; \
         for i in $(seq 100); do grep -q crossfire_tensorzero '{out}' && break; sleep 0.1; done; kill -9 $$",
        py = install.python.display(),
        l = launcher.display(),
        c = config.display(),
        out = dir.path().join("out").display(),
        pid = pid_file.display(),
    );
    let status = std::process::Command::new("sh")
        .args(["-c", &script])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TENSORZERO_DISABLE_PSEUDONYMOUS_USAGE_ANALYTICS", "1")
        .status()
        .unwrap();
    assert!(!status.success(), "the parent shell was killed");
    let out = std::fs::read_to_string(dir.path().join("out")).unwrap_or_default();
    assert!(
        out.contains("crossfire_tensorzero"),
        "it was running: {out}"
    );
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    // Gone, or a zombie nobody reaps (PID 1 in some containers does not).
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map(|s| {
                !s.lines()
                    .any(|l| l.starts_with("State:") && l.contains('Z'))
            })
            .unwrap_or(false)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while running() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!running(), "the launcher {pid} outlived its parent");
}

/// A model-level timeout covers all its providers: when it fires the model
/// fails with 502, the next provider of `routing` is not tried (TensorZero
/// 2026.6.0; a provider-level timeout moves on, see above).
#[tokio::test]
async fn a_model_level_timeout_fails_the_model_without_trying_the_next_provider() {
    let toml = r#"
[models.m]
routing = ["openai", "anthropic"]
timeouts = { non_streaming = { total_ms = 500 } }

[models.m.providers.openai]
type = "openai"
model_name = "gpt-4o"

[models.m.providers.anthropic]
type = "anthropic"
model_name = "claude-sonnet-4-5"
"#;
    let mut slow = Fault::new(mock_providers::FailureClass::Timeout);
    slow.delay = Duration::from_secs(2);
    let r = rig(toml, &[("m.openai", slow, Schedule::Always)]).await;
    assert_measured_version(&r.gw);
    let seen = r.send(&tensorzero::client_model("m"), 1, false).await;
    assert_eq!(seen.status, 502, "{}", seen.body);
    assert!(seen.body.contains("timed out"), "{}", seen.body);
    assert_eq!(seen.attempts, ["m.openai timeout"]);
    let cfg = config::read(config::TomlSource::from_text("t.toml".into(), toml.into())).unwrap();
    let p = tensorzero::lint::predict(
        &cfg,
        &tensorzero::client_model("m"),
        mock_providers::FailureClass::Timeout,
    )
    .unwrap();
    assert_eq!(p.client_status, seen.status);
    assert_eq!(p.text, "m.openai -> client 502");
}

/// The time and stream faults on a provider with `ttft_ms = 500` and
/// `total_ms = 500` (TensorZero 2026.6.0, measured): a hang, and a first
/// token 2 s late, are cut by those timeouts and the next provider serves;
/// a stream without `[DONE]` is served whole, TensorZero writing its own
/// `[DONE]`; one malformed event in a stream becomes an in-band
/// `data: {"error": ...}` event and the rest of the stream follows, while a
/// non-stream body that is not JSON moves to the next provider.
#[tokio::test]
async fn time_and_stream_faults_meet_the_timeouts_and_the_stream_reader() {
    use mock_providers::FailureClass as F;
    let classes = [F::Hang, F::SlowFirstToken, F::NoDone, F::MalformedEvent];
    let refs: Vec<(String, Fault)> = classes
        .iter()
        .map(|c| {
            (
                format!("{c}.openai"),
                Fault::new(*c).delay(Duration::from_secs(2)),
            )
        })
        .collect();
    let refs: Vec<(&str, Fault, Schedule)> = refs
        .iter()
        .map(|(id, f)| (id.as_str(), f.clone(), Schedule::Always))
        .collect();
    let r = rig(&per_class_config(&classes), &refs).await;
    assert_measured_version(&r.gw);
    let send = |c: F, stream: bool| {
        let n = classes.iter().position(|x| *x == c).unwrap() * 2 + usize::from(stream);
        let model = tensorzero::client_model(&c.to_string());
        let r = &r;
        async move { r.send(&model, n, stream).await }
    };
    for stream in [false, true] {
        let seen = send(F::Hang, stream).await;
        assert_eq!(seen.status, 200);
        assert_eq!(
            seen.attempts,
            ["hang.openai hang", "hang.anthropic ok"],
            "stream {stream}"
        );
    }
    let seen = send(F::SlowFirstToken, false).await;
    assert_eq!(
        seen.attempts,
        [
            "slow_first_token.openai slow_first_token",
            "slow_first_token.anthropic ok"
        ]
    );
    // The abandoned stream is journaled when TensorZero closes its
    // connection, which may come a moment after the answer; the answer is
    // Claude's either way.
    let seen = send(F::SlowFirstToken, true).await;
    assert_eq!(seen.status, 200);
    assert_eq!(
        seen.attempts.last().map(String::as_str),
        Some("slow_first_token.anthropic ok")
    );
    assert!(seen
        .body
        .contains("slow_first_token.anthropic (anthropic) answers"));
    let seen = send(F::NoDone, true).await;
    assert_eq!(seen.attempts, ["no_done.openai no_done"]);
    assert!(seen.done && seen.body.contains(" ok5"), "{}", seen.body);
    let seen = send(F::MalformedEvent, false).await;
    assert_eq!(
        seen.attempts,
        [
            "malformed_event.openai malformed_event",
            "malformed_event.anthropic ok"
        ]
    );
    let seen = send(F::MalformedEvent, true).await;
    assert_eq!(seen.attempts, ["malformed_event.openai malformed_event"]);
    assert!(
        seen.body.contains(
            "data: {\"error\":{\"message\":\"Error from openai server: Error parsing chunk."
        ),
        "{}",
        seen.body
    );
    assert!(seen.done && seen.body.contains(" ok5"), "{}", seen.body);
}
