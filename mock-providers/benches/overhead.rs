//! Overhead of the crossfire mock server against a bare hyper server, side by
//! side in one run on loopback: latency at 1 connection, throughput at 32
//! connections, and resident memory over a million requests.
//!
//! Run: `cargo bench -p mock-providers --bench overhead`. It prints a table
//! and PASS/MISS per goal; a miss never fails the process.
//!
//! How the load is generated, and why: the servers and the load generator are
//! in this one process, on two separate multi-thread tokio runtimes whose
//! worker threads are named `xf-server` and `xf-load`. On a 2-core machine the
//! default is one worker each, so the server side and the client side each
//! have a core of their own, the client never steals the server's core in
//! bursts, and both servers are measured under exactly the same split. An
//! external tool (wrk, oha) would need a process and a core of its own too,
//! and its cost would not be visible; here the CPU time of every thread is
//! read from `/proc/self/task/*/schedstat`, so the table also shows the
//! server CPU spent per request (the overhead itself, whatever the client's
//! speed) and how busy the load generator was (when it is near 100%, the
//! throughput figure is bounded by the client, not the server). The client is
//! hyper's own HTTP/1.1 connection (`hyper::client::conn::http1`), one per
//! keep-alive connection, no pool: the cheapest client hyper offers. Two
//! workers on each side (`XF_BENCH_SERVER_THREADS=2 XF_BENCH_CLIENT_THREADS=2`)
//! oversubscribe the 2 cores and give the same ratios with more noise.
//!
//! Noise: the two servers are measured in alternating order, round after
//! round (A B, then B A, ...), after a warm-up of each, and the rounds are
//! merged, so a slow second hits both.
//!
//! Settings (environment variables, defaults in brackets):
//! - `XF_BENCH_SECS` [5]: seconds per measured phase per round;
//! - `XF_BENCH_ROUNDS` [4]: rounds of the four phases (even, so each server
//!   goes first as often);
//! - `XF_BENCH_WARMUP_SECS` [2]: warm-up per server;
//! - `XF_BENCH_CONNECTIONS` [32]: connections of the throughput phase;
//! - `XF_BENCH_MEM_REQUESTS` [1000000]: requests of the memory phase;
//! - `XF_BENCH_SERVER_THREADS` [1], `XF_BENCH_CLIENT_THREADS` [1]: workers.

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mock_providers::{DeploymentSpec, Dialect, JournalConfig, MockSet};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const PATH: &str = "/v1/chat/completions";
const SERVER_THREAD: &str = "xf-server";
const LOAD_THREAD: &str = "xf-load";

/// The goals, as the project states them.
const LATENCY_GOAL: f64 = 1.5;
const THROUGHPUT_GOAL: f64 = 0.5;
/// RSS growth from the flat-from checkpoint (25% of the requests, and never
/// before the journal ring is full) to the end still counted as flat:
/// the larger of this share of the RSS and [`FLAT_FLOOR_BYTES`].
const FLAT_SHARE: f64 = 0.05;
const FLAT_FLOOR_BYTES: u64 = 4 << 20;

/// Run settings, read from the environment.
#[derive(Debug, Clone, Copy)]
struct Settings {
    phase: Duration,
    rounds: u32,
    warmup: Duration,
    connections: usize,
    mem_requests: u64,
    server_threads: usize,
    client_threads: usize,
}

impl Settings {
    fn from_env() -> Result<Settings, BoxError> {
        Ok(Settings {
            phase: Duration::from_secs_f64(env_or("XF_BENCH_SECS", 5.0)?),
            rounds: env_or("XF_BENCH_ROUNDS", 4)?,
            warmup: Duration::from_secs_f64(env_or("XF_BENCH_WARMUP_SECS", 2.0)?),
            connections: env_or("XF_BENCH_CONNECTIONS", 32)?,
            mem_requests: env_or("XF_BENCH_MEM_REQUESTS", 1_000_000)?,
            server_threads: env_or("XF_BENCH_SERVER_THREADS", 1)?,
            client_threads: env_or("XF_BENCH_CLIENT_THREADS", 1)?,
        })
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, BoxError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(text) => text.trim().parse().map_err(|_| {
            format!("{name}={text:?} is not a valid number; unset it or give e.g. {name}=5").into()
        }),
    }
}

/// A server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Bare,
    Mock,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Bare => "bare hyper",
            Server::Mock => "crossfire mock",
        }
    }
}

/// When a load phase ends.
enum Stop {
    /// Requests start until this instant.
    At(Instant),
    /// Exactly this many requests start, across all connections.
    After { target: u64, started: AtomicU64 },
}

impl Stop {
    fn after(requests: u64) -> Stop {
        Stop::After {
            target: requests,
            started: AtomicU64::new(0),
        }
    }

    /// Whether one more request may start.
    fn take_one(&self) -> bool {
        match self {
            Stop::At(deadline) => Instant::now() < *deadline,
            Stop::After { target, started } => started.fetch_add(1, Ordering::Relaxed) < *target,
        }
    }
}

/// Raw facts of one load phase (or several, merged).
struct Run {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    /// Request latency, nanoseconds.
    latency: Histogram<u64>,
    server_cpu: Duration,
    server_writes: u64,
    load_cpu: Duration,
}

impl Run {
    fn empty() -> Run {
        Run {
            requests: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            latency: new_histogram(),
            server_cpu: Duration::ZERO,
            server_writes: 0,
            load_cpu: Duration::ZERO,
        }
    }

    fn merge(&mut self, other: &Run) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.server_cpu += other.server_cpu;
        self.server_writes += other.server_writes;
        self.load_cpu += other.load_cpu;
        // Both histograms share bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }

    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn quantile_us(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }

    fn server_cpu_us_per_request(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }

    fn server_writes_per_request(&self) -> f64 {
        self.server_writes as f64 / self.requests.max(1) as f64
    }

    /// Share of the given threads' capacity that was busy.
    fn busy(cpu: Duration, elapsed: Duration, threads: usize) -> f64 {
        cpu.as_secs_f64() / (elapsed.as_secs_f64() * threads as f64).max(1e-9)
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 ns to 60 s at 3 significant digits; these bounds are always valid.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap_or_else(|_| unreachable!())
}

// ---------------------------------------------------------------- servers --

/// The baseline: read the body, parse it as JSON, answer a small
/// OpenAI-like JSON body with serde_json. Nothing else.
async fn start_bare(shutdown: CancellationToken) -> Result<SocketAddr, BoxError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else { continue };
            let _ = stream.set_nodelay(true);
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(bare_answer));
                tokio::select! {
                    _ = conn => {}
                    _ = shutdown.cancelled() => {}
                }
            });
        }
    });
    Ok(addr)
}

async fn bare_answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let body = req.into_body().collect().await?.to_bytes();
    let (status, answer) = match serde_json::from_slice::<Value>(&body) {
        Ok(request) => (
            StatusCode::OK,
            json!({
                "id": "chatcmpl-bare", "object": "chat.completion", "created": 1_700_000_000,
                "model": request["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Hello from the baseline."}}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}
            }),
        ),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            json!({"error": {"message": e.to_string()}}),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(answer.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

// ----------------------------------------------------------------- client --

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, BoxError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Unique markers across every request of the run, as a gateway test would send.
static MARKER: AtomicU64 = AtomicU64::new(0);

fn chat_request(host: &HeaderValue) -> Request<Full<Bytes>> {
    let n = MARKER.fetch_add(1, Ordering::Relaxed);
    let body = format!(
        r#"{{"model":"gpt-4o","messages":[{{"role":"user","content":"hello [xf:bench:{n}]"}}]}}"#
    );
    let mut req = Request::new(Full::new(Bytes::from(body)));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = Uri::from_static(PATH);
    let headers = req.headers_mut();
    headers.insert(HOST, host.clone());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    req
}

/// Sends one request and reads the whole answer; returns its body length.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<usize, BoxError> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if status != StatusCode::OK {
        return Err(format!("status {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(body.len())
}

struct WorkerFacts {
    requests: u64,
    errors: u64,
    latency: Histogram<u64>,
    last_error: Option<String>,
}

/// One keep-alive connection sending requests back to back until `stop`.
async fn worker(addr: SocketAddr, stop: Arc<Stop>) -> WorkerFacts {
    let host = HeaderValue::from_str(&addr.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("127.0.0.1"));
    let mut facts = WorkerFacts {
        requests: 0,
        errors: 0,
        latency: new_histogram(),
        last_error: None,
    };
    let mut sender = None;
    while stop.take_one() {
        let conn = match sender.as_mut() {
            Some(conn) => conn,
            None => match connect(addr).await {
                Ok(conn) => sender.insert(conn),
                Err(e) => {
                    facts.errors += 1;
                    facts.last_error = Some(format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        // Built before the clock starts: the latency is the server's and the
        // wire's, not the client's formatting.
        let request = chat_request(&host);
        let started = Instant::now();
        match exchange(conn, request).await {
            Ok(_) => {
                facts
                    .latency
                    .saturating_record(started.elapsed().as_nanos() as u64);
                facts.requests += 1;
            }
            Err(e) => {
                facts.errors += 1;
                facts.last_error = Some(e.to_string());
                sender = None;
            }
        }
    }
    facts
}

/// Runs `connections` workers against `addr` until `stop`, on the load runtime.
fn load(rt: &Runtime, addr: SocketAddr, connections: usize, stop: Stop) -> Run {
    let stop = Arc::new(stop);
    let server_before = thread_use(SERVER_THREAD);
    let load_before = thread_use(LOAD_THREAD);
    let started = Instant::now();
    let facts: Vec<WorkerFacts> = rt.block_on(async {
        let handles: Vec<_> = (0..connections)
            .map(|_| tokio::spawn(worker(addr, stop.clone())))
            .collect();
        let mut facts = Vec::with_capacity(handles.len());
        for handle in handles {
            if let Ok(f) = handle.await {
                facts.push(f);
            }
        }
        facts
    });
    let elapsed = started.elapsed();
    let mut run = Run::empty();
    run.elapsed = elapsed;
    let server = thread_use(SERVER_THREAD).since(server_before);
    run.server_cpu = server.cpu;
    run.server_writes = server.writes;
    run.load_cpu = thread_use(LOAD_THREAD).since(load_before).cpu;
    for f in &facts {
        run.requests += f.requests;
        run.errors += f.errors;
        let _ = run.latency.add(&f.latency);
        if let Some(e) = &f.last_error {
            eprintln!("  warning: {addr}: {e}");
        }
    }
    run
}

// ------------------------------------------------------------ /proc facts --

/// What this process's threads whose name starts with `prefix` used so far:
/// CPU time (Linux `schedstat`) and write-like syscalls (`io`'s `syscw`:
/// socket writes, and the eventfd writes that wake another worker; socket
/// `recv` is not counted there, so reads are left out). Zeros elsewhere than
/// Linux.
#[derive(Debug, Clone, Copy, Default)]
struct ThreadUse {
    cpu: Duration,
    writes: u64,
}

impl ThreadUse {
    fn since(self, before: ThreadUse) -> ThreadUse {
        ThreadUse {
            cpu: self.cpu.saturating_sub(before.cpu),
            writes: self.writes.saturating_sub(before.writes),
        }
    }
}

fn thread_use(prefix: &str) -> ThreadUse {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return ThreadUse::default();
    };
    let mut cpu_ns = 0u64;
    let mut writes = 0u64;
    for task in tasks.flatten() {
        let dir = task.path();
        let named = std::fs::read_to_string(dir.join("comm"))
            .map(|comm| comm.starts_with(prefix))
            .unwrap_or(false);
        if !named {
            continue;
        }
        cpu_ns += std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        writes += std::fs::read_to_string(dir.join("io"))
            .ok()
            .and_then(|io| {
                let line = io.lines().find(|l| l.starts_with("syscw:"))?;
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            })
            .unwrap_or(0);
    }
    ThreadUse {
        cpu: Duration::from_nanos(cpu_ns),
        writes,
    }
}

/// Resident set size of this process in bytes (`VmRSS`), if Linux says.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

// ------------------------------------------------------------------ report --

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

fn row(label: &str, bare: f64, mock: f64, precision: usize) {
    let ratio = if bare > 0.0 { mock / bare } else { f64::NAN };
    println!("  {label:<34} {bare:>14.precision$} {mock:>16.precision$} {ratio:>10.2}x");
}

struct Checkpoint {
    requests: u64,
    rss: u64,
    per_second: f64,
}

fn main() -> Result<(), BoxError> {
    let settings = Settings::from_env()?;
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.server_threads.max(1))
        .thread_name(SERVER_THREAD)
        .enable_all()
        .build()?;
    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.client_threads.max(1))
        .thread_name(LOAD_THREAD)
        .enable_all()
        .build()?;

    let shutdown = CancellationToken::new();
    let bare_addr = server_rt.block_on(start_bare(shutdown.clone()))?;
    let mocks = server_rt.block_on(MockSet::start(
        vec![DeploymentSpec::new("oa", Dialect::Openai)],
        JournalConfig::default(),
    ))?;
    let mock_addr = mocks
        .get("oa")
        .ok_or("the mock set has no deployment `oa`")?
        .addr;
    let addr = |server: Server| match server {
        Server::Bare => bare_addr,
        Server::Mock => mock_addr,
    };

    println!("crossfire mock-providers overhead bench");
    println!(
        "  {} CPUs; server runtime {} worker(s), load runtime {} worker(s); \
         {:.1}s per phase x {} rounds, {:.1}s warm-up, {} connections",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        settings.server_threads,
        settings.client_threads,
        settings.phase.as_secs_f64(),
        settings.rounds,
        settings.warmup.as_secs_f64(),
        settings.connections,
    );

    // Both answer the same request; show what each sends back.
    for server in [Server::Bare, Server::Mock] {
        let address = addr(server);
        let size = load_rt.block_on(async move {
            let host = HeaderValue::from_str(&address.to_string())?;
            let mut sender = connect(address).await?;
            exchange(&mut sender, chat_request(&host)).await
        })?;
        println!(
            "  {:<15} http://{address}{PATH}, answer {size} bytes",
            server.name()
        );
    }

    // Warm-up: connections, allocator, the tokenizer tables.
    for server in [Server::Bare, Server::Mock] {
        let warm = Instant::now() + settings.warmup;
        load(&load_rt, addr(server), settings.connections, Stop::At(warm));
        load(
            &load_rt,
            addr(server),
            1,
            Stop::At(Instant::now() + settings.warmup / 4),
        );
    }

    // Measured rounds, alternating which server goes first.
    let mut sequential = [Run::empty(), Run::empty()];
    let mut concurrent = [Run::empty(), Run::empty()];
    for round in 0..settings.rounds {
        let order = if round % 2 == 0 {
            [Server::Bare, Server::Mock]
        } else {
            [Server::Mock, Server::Bare]
        };
        for server in order {
            let run = load(
                &load_rt,
                addr(server),
                1,
                Stop::At(Instant::now() + settings.phase),
            );
            eprintln!(
                "  round {} 1 conn   {:<15} {:>9.0} req/s  p50 {:>7.1} us",
                round + 1,
                server.name(),
                run.per_second(),
                run.quantile_us(0.5)
            );
            sequential[server as usize].merge(&run);
        }
        for server in order {
            let run = load(
                &load_rt,
                addr(server),
                settings.connections,
                Stop::At(Instant::now() + settings.phase),
            );
            eprintln!(
                "  round {} {} conns {:<15} {:>9.0} req/s",
                round + 1,
                settings.connections,
                server.name(),
                run.per_second()
            );
            concurrent[server as usize].merge(&run);
        }
    }

    // Memory: a fresh mock with the default journal, driven to the end while
    // the other servers stay up (so nothing freed earlier hides growth).
    let mem_mocks = server_rt.block_on(MockSet::start(
        vec![DeploymentSpec::new("mem", Dialect::Openai)],
        JournalConfig::default(),
    ))?;
    let mem_addr = mem_mocks
        .get("mem")
        .ok_or("the mock set has no deployment `mem`")?
        .addr;
    let total = settings.mem_requests;
    // RSS only levels off once the journal ring is full: flatness is judged
    // from the later of 25% of the requests and the ring's capacity.
    let memory_cap = JournalConfig::default().memory_cap as u64;
    let flat_from = (total / 4).max(memory_cap);
    let mut checkpoints = vec![Checkpoint {
        requests: 0,
        rss: rss_bytes().unwrap_or(0),
        per_second: 0.0,
    }];
    let mut marks: Vec<u64> = [total / 10, total / 4, flat_from, total / 2, total]
        .into_iter()
        .filter(|&n| n > 0 && n <= total)
        .collect();
    marks.sort_unstable();
    marks.dedup();
    let mut mem_errors = 0;
    for mark in marks {
        let done = checkpoints.last().map_or(0, |c| c.requests);
        let run = load(
            &load_rt,
            mem_addr,
            settings.connections,
            Stop::after(mark - done),
        );
        mem_errors += run.errors;
        checkpoints.push(Checkpoint {
            requests: done + run.requests,
            rss: rss_bytes().unwrap_or(0),
            per_second: run.per_second(),
        });
        eprintln!(
            "  memory: {:>8} requests, RSS {:.1} MiB",
            done + run.requests,
            mib(rss_bytes().unwrap_or(0))
        );
    }
    let journal = mem_mocks.journal().stats();

    // ---------------------------------------------------------------- table
    let [bare1, mock1] = &sequential;
    let [bare32, mock32] = &concurrent;
    let c = settings.connections;
    println!();
    println!(
        "  {:<34} {:>14} {:>16} {:>11}",
        "", "bare hyper", "crossfire mock", "mock/bare"
    );
    println!("  1 connection, keep-alive, sequential");
    row(
        "  p50 latency (us)",
        bare1.quantile_us(0.5),
        mock1.quantile_us(0.5),
        1,
    );
    row(
        "  p90 latency (us)",
        bare1.quantile_us(0.9),
        mock1.quantile_us(0.9),
        1,
    );
    row(
        "  p99 latency (us)",
        bare1.quantile_us(0.99),
        mock1.quantile_us(0.99),
        1,
    );
    row("  req/s", bare1.per_second(), mock1.per_second(), 0);
    row(
        "  server CPU per request (us)",
        bare1.server_cpu_us_per_request(),
        mock1.server_cpu_us_per_request(),
        1,
    );
    row(
        "  server write syscalls per request",
        bare1.server_writes_per_request(),
        mock1.server_writes_per_request(),
        2,
    );
    println!("  {c} connections, keep-alive");
    row("  req/s", bare32.per_second(), mock32.per_second(), 0);
    row(
        "  p50 latency (us)",
        bare32.quantile_us(0.5),
        mock32.quantile_us(0.5),
        1,
    );
    row(
        "  p99 latency (us)",
        bare32.quantile_us(0.99),
        mock32.quantile_us(0.99),
        1,
    );
    row(
        "  server CPU per request (us)",
        bare32.server_cpu_us_per_request(),
        mock32.server_cpu_us_per_request(),
        1,
    );
    row(
        "  server write syscalls per request",
        bare32.server_writes_per_request(),
        mock32.server_writes_per_request(),
        2,
    );
    row(
        "  server threads busy (%)",
        100.0 * Run::busy(bare32.server_cpu, bare32.elapsed, settings.server_threads),
        100.0 * Run::busy(mock32.server_cpu, mock32.elapsed, settings.server_threads),
        0,
    );
    row(
        "  load generator busy (%)",
        100.0 * Run::busy(bare32.load_cpu, bare32.elapsed, settings.client_threads),
        100.0 * Run::busy(mock32.load_cpu, mock32.elapsed, settings.client_threads),
        0,
    );
    println!(
        "  requests measured: bare {} + {}, mock {} + {}; errors: bare {}, mock {}",
        bare1.requests,
        bare32.requests,
        mock1.requests,
        mock32.requests,
        bare1.errors + bare32.errors,
        mock1.errors + mock32.errors,
    );

    println!();
    println!(
        "  memory, fresh mock, default journal cap, {c} connections (Attempt is {} bytes inline)",
        std::mem::size_of::<mock_providers::Attempt>()
    );
    println!(
        "  {:>10} {:>11} {:>12} {:>18} {:>10}",
        "requests", "RSS (MiB)", "growth (MiB)", "growth/request (B)", "req/s"
    );
    if let Some(first) = checkpoints.first() {
        println!("  {:>10} {:>11.1}", first.requests, mib(first.rss));
    }
    for pair in checkpoints.windows(2) {
        let [before, after] = pair else { continue };
        let growth = after.rss as i64 - before.rss as i64;
        let per_request = growth as f64 / (after.requests - before.requests).max(1) as f64;
        println!(
            "  {:>10} {:>11.1} {:>+12.1} {:>18.1} {:>10.0}",
            after.requests,
            mib(after.rss),
            growth as f64 / (1024.0 * 1024.0),
            per_request,
            after.per_second
        );
    }
    println!(
        "  journal: {} recorded, {} evicted, {} kept in memory; {} errors",
        journal.recorded,
        journal.evicted,
        journal.recorded - journal.evicted,
        mem_errors
    );

    // ---------------------------------------------------------------- goals
    let latency_ratio = mock1.quantile_us(0.5) / bare1.quantile_us(0.5).max(1e-9);
    let throughput_ratio = mock32.per_second() / bare32.per_second().max(1e-9);
    // Flat: from the flat-from checkpoint to the end, RSS grows by no more
    // than the tolerance. With fewer requests than the ring holds there is
    // no such checkpoint before the end, and nothing to judge.
    let last = checkpoints.last();
    let start = checkpoints[..checkpoints.len().saturating_sub(1)]
        .iter()
        .find(|c| c.requests >= flat_from && c.requests > 0);
    let (late_growth, tolerance) = match (start, last) {
        (Some(q), Some(l)) => (
            l.rss as i64 - q.rss as i64,
            ((q.rss as f64 * FLAT_SHARE) as u64).max(FLAT_FLOOR_BYTES),
        ),
        _ => (0, FLAT_FLOOR_BYTES),
    };
    let flat = late_growth <= tolerance as i64;
    println!();
    println!("  goals");
    println!(
        "  {}  p50 added latency at 1 connection within {LATENCY_GOAL}x of bare hyper: \
         {:.1} us vs {:.1} us = {latency_ratio:.2}x (+{:.1} us)",
        verdict(latency_ratio <= LATENCY_GOAL),
        mock1.quantile_us(0.5),
        bare1.quantile_us(0.5),
        mock1.quantile_us(0.5) - bare1.quantile_us(0.5),
    );
    println!(
        "  {}  throughput at {c} connections at least {:.0}% of bare hyper: \
         {:.0} vs {:.0} req/s = {:.0}%",
        verdict(throughput_ratio >= THROUGHPUT_GOAL),
        THROUGHPUT_GOAL * 100.0,
        mock32.per_second(),
        bare32.per_second(),
        throughput_ratio * 100.0,
    );
    match (start, last) {
        (Some(q), Some(l)) => println!(
            "  {}  memory after {total} requests flat: {:+.1} MiB from {} requests \
             to the end ({:.2} B/request; tolerance {:.1} MiB)",
            verdict(flat),
            late_growth as f64 / (1024.0 * 1024.0),
            q.requests,
            late_growth as f64 / (l.requests - q.requests).max(1) as f64,
            mib(tolerance),
        ),
        _ => println!(
            "  n/a   memory flat: not judged, {total} requests do not go past the journal \
             ring ({memory_cap} attempts); set XF_BENCH_MEM_REQUESTS above it"
        ),
    }
    if Run::busy(bare32.load_cpu, bare32.elapsed, settings.client_threads) > 0.9 {
        println!(
            "  note: the load generator was over 90% busy against bare hyper, so the bare \
             figure is client-bound; compare server CPU per request for the true ratio \
             ({:.2}x).",
            mock32.server_cpu_us_per_request() / bare32.server_cpu_us_per_request().max(1e-9)
        );
    }

    shutdown.cancel();
    server_rt.block_on(async {
        mem_mocks.shutdown().await;
        mocks.shutdown().await;
    });
    Ok(())
}
