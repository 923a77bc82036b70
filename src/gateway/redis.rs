//! A real Redis for gateway replicas that share router state (LiteLLM's
//! `router_settings.redis_host`): started on 127.0.0.1 only, nothing saved
//! to disk, in its own process group under the launcher, ready when it
//! answers `PING`. crossfire speaks the few commands it needs (RESP) by
//! hand: no client crate.
//!
//! Port: `--port 0` turns Redis's TCP listener off, so the port comes from
//! [`process::free_port`]; when Redis cannot bind it (taken meanwhile),
//! [`start`] tries again with another.

use super::launcher::{launch, Listen, Probe, ProcessSpec};
use super::process::{self, ProcessGuard};
use super::program::{self, Needed};
use super::GatewayError;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

const REDIS: Needed = Needed {
    program: "redis-server",
    package: "redis-server",
    purpose: "share router state between gateway replicas (Redis)",
};

/// Finds `redis-server` on PATH or in /usr/sbin; when missing, an error
/// naming the feature that needs it and `apt-get install -y redis-server`.
pub fn redis_server() -> Result<PathBuf, GatewayError> {
    program::find(&REDIS)
}

/// A running Redis. Dropping it ends its process group.
#[derive(Debug)]
pub struct RunningRedis {
    /// Always `127.0.0.1`.
    pub host: String,
    /// Its TCP port.
    pub port: u16,
    /// Its log (`redis.log` in the run folder).
    pub log: PathBuf,
    /// Time from spawn to its first `PONG`.
    pub startup: Duration,
    /// The process group.
    pub guard: ProcessGuard,
}

/// Starts Redis with its log and working folder in `run_dir`, and waits
/// until it answers `PING`.
pub async fn start(
    run_dir: &Path,
    cancel: &CancellationToken,
) -> Result<RunningRedis, GatewayError> {
    let program = redis_server()?;
    let run_dir = super::absolute(run_dir)?;
    super::create_dir(&run_dir)?;
    let mut last = None;
    for _ in 0..3 {
        let port = process::free_port()?;
        let mut spec = ProcessSpec::new("redis", &program, &run_dir).args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
        ]);
        spec = spec.arg("--dir").arg(&run_dir);
        spec.listen = Listen::Given(port);
        spec.probe = Probe::Tcp;
        spec.timeout = Duration::from_secs(10);
        spec.sink = false;
        spec.hint = Some("install it with `apt-get install -y redis-server`");
        spec.log_name = "redis.log".into();
        let started = Instant::now();
        match launch(spec, &run_dir, cancel).await {
            Ok(l) if process::listening_ports(l.guard.pgid()).contains(&port) => {
                let redis = RunningRedis {
                    host: "127.0.0.1".into(),
                    port,
                    log: run_dir.join("redis.log"),
                    startup: Duration::ZERO,
                    guard: l.guard,
                };
                return ready(redis, started, cancel).await;
            }
            // Another server took the port between its release and Redis's bind.
            Ok(_) => last = Some(GatewayError::start(format!("port {port} was taken"))),
            Err(GatewayError::Start { message, log_tail })
                if log_tail.contains("Address already in use") =>
            {
                last = Some(GatewayError::Start { message, log_tail })
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| GatewayError::start("Redis could not bind a port")))
}

/// Waits for the first `PONG` (Redis accepts connections a moment before
/// it serves them only while loading data, which it has none of; this is
/// the proof it speaks).
async fn ready(
    mut redis: RunningRedis,
    started: Instant,
    cancel: &CancellationToken,
) -> Result<RunningRedis, GatewayError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if redis.ping().await {
            redis.startup = started.elapsed();
            return Ok(redis);
        }
        if Instant::now() >= deadline {
            return Err(GatewayError::Start {
                message: format!(
                    "Redis accepted connections but never answered PING; log: {}",
                    redis.log.display()
                ),
                log_tail: redis.guard.log_tail(4000),
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = cancel.cancelled() => return Err(GatewayError::Interrupted),
        }
    }
}

/// One answer of Redis (RESP 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Simple(String),
    /// `-ERR ...`.
    Error(String),
    /// `:1`.
    Integer(i64),
    /// `$3\r\nabc`, or `$-1` (no such key) as `None`.
    Bulk(Option<Vec<u8>>),
    /// `*2 ...`, or `*-1` as an empty list.
    Array(Vec<Reply>),
}

impl RunningRedis {
    /// `redis://127.0.0.1:PORT`, for a gateway's config.
    pub fn url(&self) -> String {
        format!("redis://{}:{}", self.host, self.port)
    }

    /// Whether Redis answers `PING` with `PONG` within a second.
    pub async fn ping(&self) -> bool {
        matches!(self.command(&["PING"]).await, Ok(Reply::Simple(s)) if s == "PONG")
    }

    /// The keys matching `pattern` (`KEYS`), sorted: what the replicas
    /// stored. Empty when Redis does not answer.
    pub async fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = match self.command(&["KEYS", pattern]).await {
            Ok(Reply::Array(items)) => items
                .into_iter()
                .filter_map(|r| match r {
                    Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(&b).into_owned()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        keys.sort();
        keys
    }

    /// Sends one command on a new connection and reads its answer, within
    /// a second.
    pub async fn command(&self, args: &[&str]) -> Result<Reply, String> {
        let talk = async {
            let mut s = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| e.to_string())?;
            s.write_all(&encode(args))
                .await
                .map_err(|e| e.to_string())?;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                if let Some((reply, _)) = parse_reply(&buf)? {
                    return Ok(reply);
                }
                let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("Redis closed the connection mid-answer".to_string());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        };
        tokio::time::timeout(Duration::from_secs(1), talk)
            .await
            .map_err(|_| format!("Redis at {}:{} did not answer in 1 s", self.host, self.port))?
    }
}

/// A command as a RESP array of bulk strings.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The first complete answer in `buf` and the bytes it took; `Ok(None)`
/// when more bytes are needed, an error when `buf` is no RESP.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let Some((&kind, head)) = buf[..end].split_first() else {
        return Err("an empty RESP line".to_string());
    };
    let head = String::from_utf8_lossy(head).into_owned();
    let after = end + 2;
    let number = || {
        head.parse::<i64>()
            .map_err(|_| format!("`{head}` is no RESP length"))
    };
    match kind {
        b'+' => Ok(Some((Reply::Simple(head), after))),
        b'-' => Ok(Some((Reply::Error(head), after))),
        b':' => Ok(Some((Reply::Integer(number()?), after))),
        b'$' => {
            let Ok(len) = usize::try_from(number()?) else {
                return Ok(Some((Reply::Bulk(None), after)));
            };
            if buf.len() < after + len + 2 {
                return Ok(None);
            }
            let body = buf[after..after + len].to_vec();
            Ok(Some((Reply::Bulk(Some(body)), after + len + 2)))
        }
        b'*' => {
            let Ok(count) = usize::try_from(number()?) else {
                return Ok(Some((Reply::Array(Vec::new()), after)));
            };
            let mut items = Vec::new();
            let mut at = after;
            for _ in 0..count {
                match parse_reply(&buf[at..])? {
                    Some((item, used)) => {
                        items.push(item);
                        at += used;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Reply::Array(items), at)))
        }
        other => Err(format!("unknown RESP type byte {other:#04x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            encode(&["SET", "k", ""]),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n".to_vec()
        );
    }

    #[test]
    fn every_reply_kind_is_read_and_partial_ones_wait_for_more() {
        let cases: &[(&[u8], Reply)] = &[
            (b"+PONG\r\n", Reply::Simple("PONG".into())),
            (b"-ERR no\r\n", Reply::Error("ERR no".into())),
            (b":42\r\n", Reply::Integer(42)),
            (b"$-1\r\n", Reply::Bulk(None)),
            (b"$2\r\nhi\r\n", Reply::Bulk(Some(b"hi".to_vec()))),
            (
                b"*2\r\n$1\r\na\r\n$-1\r\n",
                Reply::Array(vec![Reply::Bulk(Some(b"a".to_vec())), Reply::Bulk(None)]),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                parse_reply(bytes),
                Ok(Some((want.clone(), bytes.len()))),
                "{}",
                String::from_utf8_lossy(bytes)
            );
            for cut in 0..bytes.len() {
                assert_eq!(parse_reply(&bytes[..cut]), Ok(None), "cut at {cut}");
            }
        }
        assert!(parse_reply(b"?x\r\n").is_err());
    }
}
