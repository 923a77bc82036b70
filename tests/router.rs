//! The router itself as the thing that fails: two real LiteLLM proxy
//! replicas (1.108.7) behind a real HAProxy (Debian's 2.6), one replica
//! killed, frozen or terminated while traffic runs, and a provider outage each replica
//! learns on its own unless they share Redis. Every figure pinned here was
//! measured by running it; the runs are serialized (two proxies start at a
//! time) and each sends 8 to 10 s of traffic.

mod support;

use crossfire::gateway::litellm::VERSION as LITELLM_VERSION;
use crossfire::outcome::ScenarioReport;
use crossfire::scenario::ReplicaAction;

/// The LiteLLM version the figures here were measured on.
const MEASURED_ON: &str = "1.108.7";

/// One run at a time: each starts two proxies.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Claude primary, GPT fallback, no retries, a failing deployment cooled
/// down for 30 s on its first failure; `extra` is added under
/// `router_settings`.
fn config(extra: &str) -> String {
    format!(
        "model_list:\n  - model_name: claude-opus\n    litellm_params:\n      model: anthropic/claude-opus-4-1\n      api_key: os.environ/ANTHROPIC_API_KEY\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: os.environ/OPENAI_API_KEY\nrouter_settings:\n  num_retries: 0\n  allowed_fails: 0\n  cooldown_time: 30\n{extra}  fallbacks:\n    - claude-opus: [gpt-4o]\n"
    )
}

/// Runs `scenario` (its gateway section is written here) over `config`.
async fn run(balancer: &str, config: &str, rest: &str) -> ScenarioReport {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = support::case(
        &format!(
            "name: router\ngateway:\n  kind: litellm\n  config: litellm.yaml\n  replicas: 2\n{balancer}{rest}"
        ),
        None,
    );
    std::fs::write(c.dir.path().join("litellm.yaml"), config).unwrap();
    let r = support::run(&c).await;
    // The figures, for re-measuring on another version (`--nocapture`).
    eprintln!(
        "{}",
        r.router
            .as_ref()
            .map(|x| x.lines().join("\n"))
            .unwrap_or_default()
    );
    assert_eq!(r.error, None);
    assert_eq!(LITELLM_VERSION, MEASURED_ON, "re-measure the figures here");
    assert_eq!(r.gateway_version.as_deref(), Some(MEASURED_ON));
    r
}

/// Claude down for the first 2 s of the traffic (each replica cools it
/// down for 30 s on its first failure), and every GPT answer held back 1 s
/// so requests are in flight on both replicas when one is killed or frozen.
const FAULTS: &str = "faults:\n  - on: anthropic\n    fault: server_error\n    schedule: {window: [0s, 2s]}\n  - on: openai\n    fault: timeout\n    delay: 1s\n";

/// Four requests a second: each takes 1 s (GPT's held answer), so about
/// four are in flight at any time.
const TRAFFIC: &str =
    "traffic:\n  - model: claude-opus\n    rate: 4\n    concurrency: 8\n    duration: 8s\n    timeout: 20s\n";

#[tokio::test]
async fn a_replica_killed_mid_traffic_fails_what_it_held_and_the_default_balancer_sends_nothing_twice(
) {
    let r = run(
        "",
        &config(""),
        &format!("{FAULTS}gateway_faults:\n  - {{on: replica-2, fault: kill, at: 4s}}\n{TRAFFIC}expect:\n  - no_duplicate_attempts: true\n  - reroute_within: 4s\n"),
    )
    .await;
    let router = r.router.as_ref().unwrap();
    let kill = &router.faults[0];
    assert_eq!(kill.action, ReplicaAction::Kill);
    assert!(kill.fired && kill.met_traffic, "{kill:?}");
    // HAProxy 2.6 by default retries only a connection it could not make:
    // the requests replica-2 held when it died fail (measured: 2 and 3,
    // each a connection reset at the client), none is sent again.
    assert!(kill.failed_requests >= 1, "{kill:?}");
    assert!(
        kill.failed_requests <= 4,
        "at most what was in flight: {kill:?}"
    );
    assert!(router.duplicates.is_empty(), "{:?}", router.duplicates);
    // Health checks every 1 s, 2 failures to go down: measured 1.595 s and
    // 1.638 s (a refused connection fails a check at once).
    let out = kill.out_after_ms.unwrap();
    assert!(out <= 4_000, "marked down after {out} ms");
    // No shared state: each replica met Claude's outage on its own.
    assert!(router.shared_state.contains("each replica keeps its own"));
    for name in ["replica-1", "replica-2"] {
        let a = router.attempts[name];
        assert!(a.failed >= 1, "{name} never met the outage: {a:?}");
    }
    for v in &r.verdicts {
        assert!(v.held, "{} ({})", v.expectation, v.detail);
    }
}

#[tokio::test]
async fn a_balancer_retrying_response_timeouts_sends_a_frozen_replicas_requests_twice() {
    let r = run(
        "  balancer:\n    retry_on: [conn-failure, response-timeout]\n    retries: 1\n    timeout_server: 2s\n",
        &config(""),
        &format!("{FAULTS}gateway_faults:\n  - {{on: replica-2, fault: freeze, at: 3s, for: 6s}}\n  - {{on: replica-1, fault: terminate, at: 13500ms}}\ntraffic:\n  - model: claude-opus\n    rate: 4\n    concurrency: 8\n    duration: 16s\n    timeout: 20s\nexpect:\n  - reroute_within: 6s\n  - serves_again_within: 6s\n"),
    )
    .await;
    let router = r.router.as_ref().unwrap();
    // The requests replica-2 had sent to OpenAI when it froze timed out at
    // the balancer (2 s) and were sent again through replica-1: the
    // provider saw them twice (measured: 6 and 9 requests), and each is a
    // finding; no client request failed.
    assert!(
        !router.duplicates.is_empty(),
        "{}",
        router.lines().join("\n")
    );
    let findings = r
        .findings
        .iter()
        .filter(|f| f.kind == "duplicate_attempt")
        .count();
    assert_eq!(findings, router.duplicates.len());
    assert!(router.duplicates.iter().all(|d| d.replicas == [1, 2]));
    let freeze = &router.faults[0];
    assert_eq!(freeze.action, ReplicaAction::Freeze);
    // A frozen replica accepts connections and answers nothing: only the
    // health checks take it out, each waiting out its 1 s timeout, 2 to go
    // down: measured 3.568 s and 3.642 s, over twice a dead replica's.
    let out = freeze.out_after_ms.unwrap();
    assert!((2_000..=6_000).contains(&out), "marked down after {out} ms");
    let thaw = &router.faults[1];
    assert_eq!(thaw.action, ReplicaAction::Thaw);
    let term = &router.faults[2];
    assert_eq!(term.action, ReplicaAction::Terminate);
    // SIGTERM is LiteLLM's graceful shutdown: the requests replica-1 held
    // (about two, each answered after 1 s) were answered before it exited,
    // none failed; the balancer marked it down 1.495 s after.
    assert!(term.fired && term.met_traffic, "{term:?}");
    assert_eq!(term.failed_requests, 0, "{term:?}");
    assert!(term.out_after_ms.is_some_and(|ms| ms <= 4_000), "{term:?}");
    // Thawed, it passes 2 checks (measured up after 1.617 s and 1.639 s)
    // and answers again (a 1 s answer ending 3.073 s and 3.159 s after).
    assert!(
        thaw.up_after_ms.is_some() && thaw.served_after_ms.is_some(),
        "{thaw:?}"
    );
    for v in &r.verdicts {
        assert!(v.held, "{} ({})", v.expectation, v.detail);
    }
}

/// Claude down for the whole run and one request every 2 s, one at a
/// time: the balancer's round robin gives the first to one replica and the
/// second to the other, 2 s after the first replica cooled Claude down.
const SEQUENTIAL_OUTAGE: &str = "faults:\n  - on: anthropic\n    fault: server_error\ntraffic:\n  - model: claude-opus\n    requests: 4\n    interval: 2s\n    timeout: 20s\n";

#[tokio::test]
async fn replicas_sharing_redis_learn_a_provider_outage_once() {
    let r = run(
        "",
        &config("  redis_host: redis.internal.example\n  redis_port: 6379\n  redis_password: os.environ/REDIS_PASSWORD\n"),
        SEQUENTIAL_OUTAGE,
    )
    .await;
    let router = r.router.as_ref().unwrap();
    assert!(
        router.shared_state.contains("router_settings.redis_host"),
        "{}",
        router.shared_state
    );
    // LiteLLM 1.108.7 keeps cooldowns in the shared Redis: the replica
    // that meets Claude's outage first cools it down there, and the other
    // never tries Claude. Requests go one at a time, 2 s apart, because
    // the cooldown is written by LiteLLM's failure callback after the
    // answer: under load, requests in flight on both replicas at once
    // each meet the outage before either has written it (CI measured 3
    // failed attempts on each replica with 4 requests a second).
    assert_eq!(router.attempts.len(), 2, "{:?}", router.attempts);
    let learned_from_the_other = router.attempts.values().filter(|a| a.failed == 0).count();
    assert_eq!(learned_from_the_other, 1, "{:?}", router.attempts);
    assert_eq!(router.failed_provider_attempts, 1, "{:?}", router.attempts);
}

#[tokio::test]
async fn replicas_without_shared_state_each_learn_a_provider_outage() {
    let r = run("", &config(""), SEQUENTIAL_OUTAGE).await;
    let router = r.router.as_ref().unwrap();
    assert!(router.shared_state.contains("each replica keeps its own"));
    // The same traffic without Redis: each replica meets the outage once
    // on its own and cools Claude down for itself, 2 failed in all.
    for (name, a) in &router.attempts {
        assert_eq!(a.failed, 1, "{name}: {:?}", router.attempts);
    }
    assert_eq!(router.failed_provider_attempts, 2, "{:?}", router.attempts);
}

#[tokio::test]
async fn a_drill_through_replicas_says_what_each_replica_sent() {
    let _one = ONE_AT_A_TIME.lock().await;
    let out = tempfile::tempdir().unwrap();
    let o = support::crossfire()
        .args(["drill", "--gateway", "litellm", "--config"])
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/litellm/fallbacks.yaml"),
        )
        .args([
            "--classes",
            "server_error",
            "--groups",
            "claude-opus",
            "--replicas",
            "2",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        support::drill_row(&stdout, "claude-opus", "server_error").contains("crossed"),
        "{stdout}"
    );
    let line = stdout
        .lines()
        .find(|l| l.contains("provider attempts per replica"))
        .unwrap_or_else(|| panic!("no replica line in\n{stdout}"));
    // Both replicas took traffic and met the fault: each sent attempts.
    for name in ["replica-1", "replica-2"] {
        assert!(line.contains(name), "{line}");
    }
    assert!(
        stdout.contains("duplicate provider attempts: 0"),
        "{stdout}"
    );
}
