//! A real HAProxy (2.6.12, Debian) in front of tiny hyper replicas, and a
//! real Redis (7.0.15): what crossfire's balancer and shared-state modules
//! start, read and measure. Every server is on 127.0.0.1.

use bytes::Bytes;
use crossfire::gateway::balancer::{
    self, Backend, BalancerSettings, RunningBalancer, MARKER_HEADER, REPLICA_HEADER,
};
use crossfire::gateway::process::group_alive;
use crossfire::gateway::redis::{self, Reply};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The bodies of the POSTs a replica received.
type Seen = Arc<Mutex<Vec<Vec<u8>>>>;

/// A replica: answers a GET 200 at once, a POST with its name after
/// `delay`. Aborting the task closes its port and every
/// connection it holds, as a killed process would.
struct Replica {
    port: u16,
    seen: Seen,
    task: tokio::task::JoinHandle<()>,
}

async fn replica(name: &'static str, delay: Duration) -> Replica {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let log = log.clone();
            conns.spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let log = log.clone();
                    async move {
                        // Health checks and the launcher's readiness GET
                        // are not what the tests count.
                        let counted = req.method() == hyper::Method::POST;
                        let body = req.into_body().collect().await?.to_bytes();
                        if counted {
                            log.lock().expect("lock").push(body.to_vec());
                            tokio::time::sleep(delay).await;
                        }
                        Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(name))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Replica { port, seen, task }
}

fn backends(replicas: &[&Replica]) -> Vec<Backend> {
    replicas
        .iter()
        .enumerate()
        .map(|(i, r)| Backend {
            name: format!("replica-{}", i + 1),
            port: r.port,
        })
        .collect()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn start(
    settings: &BalancerSettings,
    replicas: &[&Replica],
    dir: &std::path::Path,
) -> RunningBalancer {
    balancer::start(
        settings,
        &backends(replicas),
        "/health",
        dir,
        &CancellationToken::new(),
    )
    .await
    .expect("HAProxy starts (apt-get install -y haproxy)")
}

/// Waits up to a second for `n` request lines carrying a marker.
async fn logged(b: &RunningBalancer, n: usize) -> Vec<balancer::LogLine> {
    let start = Instant::now();
    loop {
        let lines: Vec<_> = balancer::read_log(&b.log)
            .into_iter()
            .filter(|l| l.marker.is_some())
            .collect();
        if lines.len() >= n || start.elapsed() > Duration::from_secs(1) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn requests_alternate_between_replicas_and_each_is_logged_with_its_marker_and_server() {
    let (a, b) = (
        replica("a", Duration::ZERO).await,
        replica("b", Duration::ZERO).await,
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let lb = start(&BalancerSettings::default(), &[&a, &b], dir.path()).await;
    assert!(lb.base_url.starts_with("http://127.0.0.1:"));
    assert_eq!(lb.log, dir.path().join("balancer.log"));
    let http = client();
    let mut served = Vec::new();
    for n in 0..6 {
        let r = http
            .post(format!("{}/v1/chat/completions", lb.base_url))
            .header(MARKER_HEADER, format!("xf:t:{n}"))
            .body("{}")
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), 200);
        let header = r.headers()[REPLICA_HEADER]
            .to_str()
            .expect("ascii")
            .to_string();
        let body = r.text().await.expect("body");
        served.push((format!("xf:t:{n}"), header, body));
        // Raw stdout logging is unbuffered: the line is there right after
        // the answer.
        let waited = Instant::now();
        assert_eq!(logged(&lb, n + 1).await.len(), n + 1);
        assert!(waited.elapsed() < Duration::from_millis(500));
    }
    let replicas: Vec<&str> = served.iter().map(|s| s.1.as_str()).collect();
    assert!(
        replicas.windows(2).all(|w| w[0] != w[1]),
        "round robin: {replicas:?}"
    );
    for (_, header, body) in &served {
        let expected = if body == "a" {
            "replica-1"
        } else {
            "replica-2"
        };
        assert_eq!(header, expected);
    }
    let lines = logged(&lb, 6).await;
    let from_log: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l.marker.clone().unwrap_or_default(),
                l.server.clone().unwrap_or_default(),
            )
        })
        .collect();
    let from_client: Vec<(String, String)> = served
        .iter()
        .map(|(m, h, _)| (m.clone(), h.clone()))
        .collect();
    assert_eq!(from_log, from_client);
    for l in &lines {
        assert_eq!(
            (l.status, l.retries, l.redispatched, l.termination.as_str()),
            (Some(200), 0, false, "----")
        );
        assert!(l.total_ms.is_some());
        assert!(l.accept_unix_ms.is_some_and(|t| t > 1_600_000_000_000));
    }
    let states = lb.server_states().await.expect("admin socket");
    assert_eq!(
        states.into_iter().collect::<Vec<_>>(),
        vec![("replica-1".into(), true), ("replica-2".into(), true)]
    );
}

#[tokio::test]
async fn a_dropped_replica_is_marked_down_within_fall_checks_and_no_request_fails_by_default() {
    let (a, b) = (
        replica("a", Duration::ZERO).await,
        replica("b", Duration::ZERO).await,
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = BalancerSettings::default();
    let lb = start(&settings, &[&a, &b], dir.path()).await;
    let clock = Instant::now();
    let stop = CancellationToken::new();
    let watcher = lb.watch(clock, Duration::from_millis(100), stop.clone());
    let http = client();
    let mut statuses = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut dropped_at = None;
    let mut n = 0;
    // HAProxy starts a server at the lowest healthy level: one failed check
    // then marks it down. After `fall` passed checks it takes `fall` failed
    // ones, which is what this test measures.
    let drop_after = settings.check_interval * settings.fall + Duration::from_millis(300);
    let limit = settings.check_interval * settings.fall + Duration::from_secs(1);
    while clock.elapsed() < drop_after + limit + Duration::from_millis(300) {
        if dropped_at.is_none() && clock.elapsed() > drop_after {
            b.task.abort();
            dropped_at = Some(clock.elapsed());
            // Let the replica's connections close before the next request:
            // a request racing its close is not retried (see the report of
            // `a_replica_closing_a_reused_connection_unanswered_closes_the_client_s`).
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let sent = Instant::now();
        let r = http
            .get(format!("{}/v1/models", lb.base_url))
            .header(MARKER_HEADER, format!("xf:d:{n}"))
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "request {n} failed: {e:?} alive={}\n{}",
                    group_alive(lb.guard.pgid()),
                    std::fs::read_to_string(&lb.log).unwrap_or_default()
                )
            });
        slowest = slowest.max(sent.elapsed());
        statuses.push(r.status().as_u16());
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    let changes = watcher.await.expect("watcher");
    let dropped_at = dropped_at.expect("dropped");
    let down = changes
        .iter()
        .find(|c| c.server == "replica-2" && !c.up)
        .unwrap_or_else(|| panic!("replica-2 never went down: {changes:?}"));
    eprintln!(
        "replica-2 down {:?} after the drop; {n} requests, slowest {slowest:?}; changes {changes:?}",
        down.at - dropped_at
    );
    assert!(down.at - dropped_at <= limit, "{changes:?}");
    // Both were up when watching began; replica-1 never changed.
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // The requests sent to the dead replica before it was marked down were
    // retried (refused connection) and redispatched to replica-1.
    let lines = logged(&lb, n).await;
    let retried: Vec<_> = lines.iter().filter(|l| l.retries > 0).collect();
    assert!(!retried.is_empty(), "no request met the dead replica");
    assert!(retried
        .iter()
        .all(|l| l.redispatched && l.server.as_deref() == Some("replica-1")));
}

/// What `retry-on` does to a POST whose replica answers too late: each
/// replica waits 2 s, `timeout server` is 300 ms.
async fn slow_post(settings: BalancerSettings, body: Vec<u8>) -> (u16, usize, usize, String) {
    let (a, b) = (
        replica("a", Duration::from_secs(2)).await,
        replica("b", Duration::from_secs(2)).await,
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = BalancerSettings {
        timeout_server: Duration::from_millis(300),
        retries: 1,
        ..settings
    };
    let lb = start(&settings, &[&a, &b], dir.path()).await;
    let r = client()
        .post(format!("{}/v1/chat/completions", lb.base_url))
        .header(MARKER_HEADER, "xf:p:0")
        .body(body.clone())
        .send()
        .await
        .expect("answer");
    let status = r.status().as_u16();
    let line = logged(&lb, 1).await;
    let attempts = [&a, &b]
        .iter()
        .map(|r| r.seen.lock().expect("lock").clone())
        .collect::<Vec<_>>()
        .concat();
    let same = attempts.iter().filter(|b2| **b2 == body).count();
    let term = line
        .first()
        .map(|l| format!("{} retries={}", l.termination, l.retries))
        .unwrap_or_default();
    (status, attempts.len(), same, term)
}

#[tokio::test]
async fn a_post_is_sent_twice_on_response_timeout_only_when_retry_on_asks_and_it_fits_the_buffer() {
    let small = b"{\"model\":\"m\"}".to_vec();
    let big = vec![b'x'; 20_000];
    let timeout = || BalancerSettings {
        retry_on: vec!["response-timeout".into()],
        ..BalancerSettings::default()
    };
    // Default (conn-failure): the replica received it, so never again.
    assert_eq!(
        slow_post(BalancerSettings::default(), small.clone()).await,
        (504, 1, 1, "sH-- retries=0".into())
    );
    // response-timeout: the same body reaches a second replica, no
    // `option http-buffer-request` needed.
    assert_eq!(
        slow_post(timeout(), small).await,
        (504, 2, 2, "sH-- retries=1".into())
    );
    // Unless it is larger than tune.bufsize (16384): not retried...
    assert_eq!(
        slow_post(timeout(), big.clone()).await,
        (504, 1, 1, "sH-- retries=0".into())
    );
    // ... until the buffer holds it.
    let roomy = BalancerSettings {
        bufsize: 65_536,
        ..timeout()
    };
    assert_eq!(
        slow_post(roomy, big).await,
        (504, 2, 2, "sH-- retries=1".into())
    );
}

#[tokio::test]
async fn a_run_folder_too_long_for_a_unix_socket_gets_its_socket_elsewhere() {
    let a = replica("a", Duration::ZERO).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let long = dir.path().join("r".repeat(120));
    let lb = start(&BalancerSettings::default(), &[&a], &long).await;
    assert!(!lb.socket.starts_with(&long));
    assert!(lb.server_states().await.expect("admin socket")["replica-1"]);
    let socket = lb.socket.clone();
    drop(lb);
    assert!(!socket.exists(), "the socket's folder is removed");
}

#[tokio::test]
async fn dropping_the_balancer_ends_haproxy() {
    let a = replica("a", Duration::ZERO).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let lb = start(&BalancerSettings::default(), &[&a], dir.path()).await;
    let pgid = lb.guard.pgid();
    assert!(group_alive(pgid));
    let pid_file = std::fs::read_to_string(dir.path().join("balancer.pid")).expect("pid file");
    assert_eq!(pid_file.trim(), pgid.to_string());
    drop(lb);
    assert!(!group_alive(pgid));
}

#[tokio::test]
async fn redis_answers_ping_keeps_what_is_set_and_dies_with_its_guard() {
    let dir = tempfile::tempdir().expect("temp dir");
    let r = redis::start(dir.path(), &CancellationToken::new())
        .await
        .expect("Redis starts (apt-get install -y redis-server)");
    assert_eq!(r.host, "127.0.0.1");
    assert!(r.ping().await);
    assert_eq!(
        r.command(&["SET", "router:deployment-1", "cooldown"]).await,
        Ok(Reply::Simple("OK".into()))
    );
    assert_eq!(
        r.command(&["GET", "router:deployment-1"]).await,
        Ok(Reply::Bulk(Some(b"cooldown".to_vec())))
    );
    assert_eq!(r.command(&["GET", "nothing"]).await, Ok(Reply::Bulk(None)));
    assert_eq!(r.keys("router:*").await, vec!["router:deployment-1"]);
    // Nothing is saved to disk.
    assert_eq!(
        r.command(&["CONFIG", "GET", "save"]).await,
        Ok(Reply::Array(vec![
            Reply::Bulk(Some(b"save".to_vec())),
            Reply::Bulk(Some(Vec::new()))
        ]))
    );
    assert!(std::fs::read_to_string(&r.log)
        .expect("redis.log")
        .contains("Ready to accept connections"));
    let pgid = r.guard.pgid();
    drop(r);
    assert!(!group_alive(pgid));
}

#[tokio::test]
async fn with_every_replica_down_haproxy_answers_503_itself_and_logs_no_server() {
    let a = replica("a", Duration::ZERO).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let lb = start(&BalancerSettings::default(), &[&a], dir.path()).await;
    a.task.abort();
    let clock = Instant::now();
    while lb.server_states().await.expect("admin socket")["replica-1"] {
        assert!(clock.elapsed() < Duration::from_secs(4), "never down");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = client()
        .get(format!("{}/v1/models", lb.base_url))
        .header(MARKER_HEADER, "xf:n:0")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 503);
    assert!(r.headers().get(REPLICA_HEADER).is_none());
    let line = logged(&lb, 1).await;
    let line = line.first().expect("logged");
    assert_eq!(
        (
            line.server.as_deref(),
            line.status,
            line.retries,
            line.termination.as_str()
        ),
        (None, Some(503), 0, "SC--")
    );
}
