//! A real HAProxy in front of N gateway replicas: the config crossfire gives
//! it (pure [`render`]), its start under the launcher (one process, one
//! group, killed with crossfire), which replicas it holds up or down (its
//! admin socket), and its log read back one request at a time.
//!
//! Port: HAProxy 2.6 refuses `bind 127.0.0.1:0` ("invalid port '0'"), so
//! the frontend port comes from [`process::free_port`]; between that port's
//! release and HAProxy's bind another server could take it, so [`start`]
//! checks that HAProxy's own group listens on it and, when HAProxy could not
//! bind, tries again with another port.
//!
//! Facts measured with HAProxy 2.6.12 (Debian 12), which the defaults and
//! the tests rely on:
//! - raw logging to stdout writes one line per request as the request ends,
//!   unbuffered: the line is in the log file moments after the answer;
//! - `retry-on` other than `conn-failure` replays a POST with its body (no
//!   `option http-buffer-request` needed) only when the whole request fits
//!   one buffer (`tune.bufsize`, 16384 bytes by default): a 20 KB prompt is
//!   not retried on `response-timeout` unless [`BalancerSettings::bufsize`]
//!   is raised;
//! - with `option redispatch` (its default interval), retries go to the
//!   same server except the last, which goes to another one.

use super::launcher::{launch, Listen, ProcessSpec};
use super::process::{self, ProcessGuard};
use super::program::{self, Needed};
use super::GatewayError;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// The header the client sends each request's marker (`xf:<run>:<n>`) in;
/// HAProxy captures it into its log.
pub const MARKER_HEADER: &str = "x-crossfire-marker";

/// The answer header HAProxy names the replica that served in.
pub const REPLICA_HEADER: &str = "x-crossfire-replica";

/// The `retry-on` keywords HAProxy 2.6 accepts, status codes included
/// (each checked with `haproxy -c`; 429 and 505 are refused).
pub const RETRY_ON_WORDS: &[&str] = &[
    "none",
    "conn-failure",
    "empty-response",
    "junk-response",
    "response-timeout",
    "0rtt-rejected",
    "all-retryable-errors",
    "401",
    "403",
    "404",
    "408",
    "425",
    "500",
    "501",
    "502",
    "503",
    "504",
];

/// HAProxy's default `tune.bufsize`: the largest request it can replay.
pub const DEFAULT_BUFSIZE: u32 = 16384;

const HAPROXY: Needed = Needed {
    program: "haproxy",
    package: "haproxy",
    purpose: "run gateway replicas behind a load balancer (`replicas:`)",
};

/// The log line prefix of a request, telling it from HAProxy's own notices
/// ("Server replicas/replica-1 is DOWN ...") on the same stdout.
const LOG_PREFIX: &str = "xf-request";

/// How the balancer spreads, retries and checks: the knobs a team sets in
/// its own HAProxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalancerSettings {
    /// `retry-on` keywords (see [`RETRY_ON_WORDS`]).
    pub retry_on: Vec<String>,
    /// `retries`: attempts after the first.
    pub retries: u32,
    /// `option redispatch`: the last retry goes to another replica.
    pub redispatch: bool,
    /// `timeout connect`.
    pub timeout_connect: Duration,
    /// `timeout server`: the longest wait for a replica's bytes.
    pub timeout_server: Duration,
    /// `timeout client`.
    pub timeout_client: Duration,
    /// `inter`: time between health checks of a replica.
    pub check_interval: Duration,
    /// `timeout check`.
    pub check_timeout: Duration,
    /// `fall`: failed checks in a row that mark a replica down.
    pub fall: u32,
    /// `rise`: passed checks in a row that mark it up again.
    pub rise: u32,
    /// `tune.bufsize`: a request larger than this is never retried past
    /// `conn-failure`.
    pub bufsize: u32,
}

impl Default for BalancerSettings {
    /// What a team would start with: HAProxy's own retry behaviour
    /// (`conn-failure` only, so a request a replica received is never sent
    /// twice), 2 retries, redispatch on, checks every second with fall 2 and
    /// rise 2, 1 s to connect, 60 s for server and client.
    fn default() -> BalancerSettings {
        BalancerSettings {
            retry_on: vec!["conn-failure".to_string()],
            retries: 2,
            redispatch: true,
            timeout_connect: Duration::from_secs(1),
            timeout_server: Duration::from_secs(60),
            timeout_client: Duration::from_secs(60),
            check_interval: Duration::from_secs(1),
            check_timeout: Duration::from_secs(1),
            fall: 2,
            rise: 2,
            bufsize: DEFAULT_BUFSIZE,
        }
    }
}

/// One gateway replica behind the balancer, always on 127.0.0.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// Its server name (`replica-1`), in the log and the answer header.
    pub name: String,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

/// The haproxy.cfg text: frontend on `127.0.0.1:listen_port`, every backend
/// on 127.0.0.1 (a backend has no address to give: crossfire never balances
/// onto another machine), health checks of `health_path`, the admin socket
/// at `stats_socket`, one parseable log line per request on stdout.
///
/// ```
/// use crossfire::gateway::balancer::{render, Backend, BalancerSettings};
/// let cfg = render(
///     &BalancerSettings::default(),
///     8000,
///     &[Backend { name: "replica-1".into(), port: 4001 }],
///     "/health/liveliness",
///     std::path::Path::new("/tmp/haproxy.sock"),
/// );
/// assert!(cfg.contains("server replica-1 127.0.0.1:4001 check"));
/// ```
pub fn render(
    settings: &BalancerSettings,
    listen_port: u16,
    backends: &[Backend],
    health_path: &str,
    stats_socket: &Path,
) -> String {
    let ms = |d: Duration| format!("{}ms", d.as_millis());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Rendered by crossfire: gateway replicas behind HAProxy."
    );
    let _ = writeln!(s, "global");
    let _ = writeln!(s, "    log stdout format raw local0");
    let _ = writeln!(
        s,
        "    stats socket {} mode 600 level admin",
        stats_socket.display()
    );
    if settings.bufsize != DEFAULT_BUFSIZE {
        let _ = writeln!(s, "    tune.bufsize {}", settings.bufsize);
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "defaults");
    let _ = writeln!(s, "    mode http");
    let _ = writeln!(s, "    log global");
    let _ = writeln!(s, "    timeout connect {}", ms(settings.timeout_connect));
    let _ = writeln!(s, "    timeout server {}", ms(settings.timeout_server));
    let _ = writeln!(s, "    timeout client {}", ms(settings.timeout_client));
    let _ = writeln!(s, "    timeout check {}", ms(settings.check_timeout));
    let _ = writeln!(s, "    retries {}", settings.retries);
    if !settings.retry_on.is_empty() {
        let _ = writeln!(s, "    retry-on {}", settings.retry_on.join(" "));
    }
    let _ = writeln!(
        s,
        "    {}option redispatch",
        if settings.redispatch { "" } else { "no " }
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "frontend gateway");
    let _ = writeln!(s, "    bind 127.0.0.1:{listen_port}");
    let _ = writeln!(
        s,
        "    http-request capture req.hdr({MARKER_HEADER}) len 64"
    );
    // One `key=value` per field; the marker quoted (a client's header),
    // `%rc` is `+N` when the request was redispatched, `%Ts%ms` the accept
    // time in unix milliseconds (`%ms` is zero-padded to 3 digits).
    let _ = writeln!(
        s,
        "    log-format \"{LOG_PREFIX} marker=%{{+Q}}[capture.req.hdr(0)] server=%s status=%ST retries=%rc termination=%tsc total_ms=%Ta accept_ms=%Ts%ms\""
    );
    let _ = writeln!(
        s,
        "    http-response set-header {REPLICA_HEADER} %[srv_name]"
    );
    let _ = writeln!(s, "    default_backend replicas");
    let _ = writeln!(s);
    let _ = writeln!(s, "backend replicas");
    let _ = writeln!(s, "    balance roundrobin");
    let _ = writeln!(s, "    option httpchk GET {health_path}");
    let _ = writeln!(s, "    http-check expect status 200");
    let _ = writeln!(
        s,
        "    default-server inter {} fall {} rise {}",
        ms(settings.check_interval),
        settings.fall,
        settings.rise
    );
    for b in backends {
        let _ = writeln!(s, "    server {} 127.0.0.1:{} check", b.name, b.port);
    }
    s
}

/// Finds HAProxy on PATH or in /usr/sbin; when missing, an error naming the
/// feature that needs it and `apt-get install -y haproxy`.
pub fn haproxy() -> Result<PathBuf, GatewayError> {
    program::find(&HAPROXY)
}

/// Whether `word` is a `retry-on` keyword HAProxy 2.6 accepts.
pub fn is_retry_on_word(word: &str) -> bool {
    RETRY_ON_WORDS.contains(&word)
}

/// Checks what [`render`] trusts: server names, the health path and the
/// retry-on words are single tokens HAProxy reads as meant.
pub fn validate(
    settings: &BalancerSettings,
    backends: &[Backend],
    health_path: &str,
) -> Result<(), String> {
    if backends.is_empty() {
        return Err("a balancer needs at least one replica".into());
    }
    for b in backends {
        let ok = !b.name.is_empty()
            && b.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            return Err(format!(
                "replica name `{}` must be letters, digits, `-`, `_` or `.`",
                b.name
            ));
        }
        if b.port == 0 {
            return Err(format!("replica `{}` has port 0", b.name));
        }
    }
    let mut names: Vec<&str> = backends.iter().map(|b| b.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("two replicas are named `{}`", w[0]));
    }
    if !health_path.starts_with('/') || health_path.chars().any(|c| c.is_whitespace() || c == '"') {
        return Err(format!(
            "health path `{health_path}` must start with `/` and hold no spaces or quotes"
        ));
    }
    if let Some(w) = settings.retry_on.iter().find(|w| !is_retry_on_word(w)) {
        return Err(format!(
            "`{w}` is no retry-on keyword of HAProxy 2.6; known: {}",
            RETRY_ON_WORDS.join(", ")
        ));
    }
    Ok(())
}

/// A running HAProxy. Dropping it ends its process group.
#[derive(Debug)]
pub struct RunningBalancer {
    /// Where clients call (`http://127.0.0.1:PORT`).
    pub base_url: String,
    /// Time from spawn to its frontend answering.
    pub startup: Duration,
    /// Its log (`balancer.log` in the run folder): one line per request.
    pub log: PathBuf,
    /// The haproxy.cfg it runs.
    pub config: PathBuf,
    /// Its admin socket.
    pub socket: PathBuf,
    /// The process group.
    pub guard: ProcessGuard,
    /// A folder of its own for the socket when the run folder's path is
    /// too long for a UNIX socket; removed on drop.
    _socket_dir: Option<TempDir>,
}

/// A replica going up or down in HAProxy's eyes (or its state when watching
/// began).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// Time since the watcher's clock.
    pub at: Duration,
    /// The server name (`replica-1`).
    pub server: String,
    /// Up (serving) or down.
    pub up: bool,
}

/// Starts HAProxy for `backends` with its config, socket and log in
/// `run_dir`, and waits until its frontend answers (any status: a 503
/// while no replica is up yet is fine). Start it after the replicas are
/// ready, or they count as down until `rise` checks pass.
pub async fn start(
    settings: &BalancerSettings,
    backends: &[Backend],
    health_path: &str,
    run_dir: &Path,
    cancel: &CancellationToken,
) -> Result<RunningBalancer, GatewayError> {
    validate(settings, backends, health_path)
        .map_err(|e| GatewayError::start(format!("cannot start the balancer: {e}")))?;
    let program = haproxy()?;
    let run_dir = super::absolute(run_dir)?;
    super::create_dir(&run_dir)?;
    let (socket, socket_dir) = socket_path(&run_dir)?;
    let config = run_dir.join("haproxy.cfg");
    let mut last = None;
    for _ in 0..3 {
        let port = process::free_port()?;
        super::write_file(
            &config,
            render(settings, port, backends, health_path, &socket),
        )?;
        let mut spec = ProcessSpec::new("haproxy", &program, &run_dir)
            .arg("-db")
            .arg("-f")
            .arg(&config);
        spec.listen = Listen::Given(port);
        spec.ready_also = &[400, 401, 403, 404, 405, 429, 500, 502, 503, 504];
        spec.timeout = Duration::from_secs(10);
        spec.sink = false;
        spec.hint = Some("install it with `apt-get install -y haproxy`");
        spec.log_name = "balancer.log".into();
        match launch(spec, &run_dir, cancel).await {
            Ok(l) if process::listening_ports(l.guard.pgid()).contains(&port) => {
                return Ok(RunningBalancer {
                    base_url: l.base_url,
                    startup: l.startup,
                    log: run_dir.join("balancer.log"),
                    config,
                    socket,
                    guard: l.guard,
                    _socket_dir: socket_dir,
                })
            }
            // Another server took the port between its release and
            // HAProxy's bind, and answered the readiness check.
            Ok(_) => last = Some(GatewayError::start(format!("port {port} was taken"))),
            Err(GatewayError::Start { message, log_tail })
                if log_tail.contains("cannot bind socket") =>
            {
                last = Some(GatewayError::Start { message, log_tail })
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| GatewayError::start("HAProxy could not bind a port")))
}

/// The admin socket's path: `run_dir/haproxy.sock`, or a temporary folder
/// of its own when that is too long for a UNIX socket.
fn socket_path(run_dir: &Path) -> Result<(PathBuf, Option<TempDir>), GatewayError> {
    let inside = run_dir.join("haproxy.sock");
    if program::fits_unix_socket(&inside) {
        return Ok((inside, None));
    }
    let dir = TempDir::new()?;
    Ok((dir.0.join("haproxy.sock"), Some(dir)))
}

/// A folder under the system's temp folder, removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, GatewayError> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("crossfire-haproxy-{}-{n}", std::process::id()));
        super::create_dir(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl RunningBalancer {
    /// Each replica's state in HAProxy's eyes, by server name: up (`UP`,
    /// including `UP 1/2` while failing checks) or not (`DOWN`, `MAINT`,
    /// ...). Read from `show stat` on the admin socket.
    pub async fn server_states(&self) -> Result<BTreeMap<String, bool>, String> {
        server_states_at(&self.socket).await
    }

    /// Polls [`RunningBalancer::server_states`] every `every` until `cancel`,
    /// and returns each server's first state and every change after it,
    /// timed from `clock`.
    pub fn watch(
        &self,
        clock: Instant,
        every: Duration,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<Vec<StateChange>> {
        let socket = self.socket.clone();
        tokio::spawn(async move {
            let mut known: BTreeMap<String, bool> = BTreeMap::new();
            let mut changes = Vec::new();
            loop {
                if let Ok(states) = server_states_at(&socket).await {
                    let at = clock.elapsed();
                    for (server, up) in states {
                        if known.get(&server) != Some(&up) {
                            changes.push(StateChange {
                                at,
                                server: server.clone(),
                                up,
                            });
                            known.insert(server, up);
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = cancel.cancelled() => return changes,
                }
            }
        })
    }

    /// Sends one command to the admin socket and returns the answer.
    pub async fn admin(&self, command: &str) -> Result<String, String> {
        admin_at(&self.socket, command).await
    }
}

async fn server_states_at(socket: &Path) -> Result<BTreeMap<String, bool>, String> {
    Ok(parse_show_stat(
        &admin_at(socket, "show stat").await?,
        "replicas",
    ))
}

async fn admin_at(socket: &Path, command: &str) -> Result<String, String> {
    let talk = async {
        let mut s = tokio::net::UnixStream::connect(socket).await?;
        s.write_all(format!("{command}\n").as_bytes()).await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok::<_, std::io::Error>(out)
    };
    match tokio::time::timeout(Duration::from_secs(2), talk).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(format!("HAProxy's admin socket {}: {e}", socket.display())),
        Err(_) => Err(format!(
            "HAProxy's admin socket {} did not answer in 2 s",
            socket.display()
        )),
    }
}

/// The servers of `backend` in a `show stat` CSV answer, up or not.
pub fn parse_show_stat(csv: &str, backend: &str) -> BTreeMap<String, bool> {
    let mut lines = csv.lines();
    let Some(header) = lines.next().and_then(|h| h.strip_prefix("# ")) else {
        return BTreeMap::new();
    };
    let col = |name: &str| header.split(',').position(|c| c == name);
    let (Some(px), Some(sv), Some(st)) = (col("pxname"), col("svname"), col("status")) else {
        return BTreeMap::new();
    };
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c.len() > st.max(px).max(sv))
        .filter(|c| c[px] == backend && c[sv] != "BACKEND" && c[sv] != "FRONTEND")
        .map(|c| (c[sv].to_string(), c[st].starts_with("UP")))
        .collect()
}

/// One request as HAProxy logged it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogLine {
    /// The request's marker (the [`MARKER_HEADER`] it carried).
    pub marker: Option<String>,
    /// The replica that answered last; `None` for `<NOSRV>` (none was
    /// tried, e.g. every replica down).
    pub server: Option<String>,
    /// The status the client got; `None` when none was sent.
    pub status: Option<u16>,
    /// Retries HAProxy made (connection retries and L7 retries).
    pub retries: u32,
    /// Whether the request was redispatched to another replica.
    pub redispatched: bool,
    /// HAProxy's termination state (`----`, `SC--`, `sH--`); see
    /// [`termination_in_words`].
    pub termination: String,
    /// Time from the request's first byte to the end (`%Ta`), ms.
    pub total_ms: Option<u64>,
    /// When HAProxy accepted the connection, unix milliseconds.
    pub accept_unix_ms: Option<u64>,
}

/// Reads one line of the balancer log; `None` for any line that is not a
/// request (HAProxy's notices share the stream).
///
/// ```
/// use crossfire::gateway::balancer::parse_log_line;
/// let l = parse_log_line(r#"xf-request marker="xf:r:1" server=replica-2 status=200 retries=+1 termination=---- total_ms=3 accept_ms=1796106865303"#).unwrap();
/// assert_eq!(l.server.as_deref(), Some("replica-2"));
/// assert!(l.redispatched);
/// ```
pub fn parse_log_line(line: &str) -> Option<LogLine> {
    let rest = line
        .trim_end()
        .strip_prefix(LOG_PREFIX)?
        .strip_prefix(' ')?;
    let rest = rest.strip_prefix("marker=")?;
    let (marker, rest) = if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"')?;
        (&quoted[..end], quoted[end + 1..].trim_start())
    } else {
        let (m, r) = rest.split_once(' ')?;
        (m, r)
    };
    let mut fields = BTreeMap::new();
    for kv in rest.split(' ').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=')?;
        fields.insert(k, v);
    }
    let retries = *fields.get("retries")?;
    let (redispatched, count) = match retries.strip_prefix('+') {
        Some(n) => (true, n),
        None => (false, retries),
    };
    let number = |k: &str| {
        fields
            .get(k)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|n| *n >= 0)
    };
    let server = *fields.get("server")?;
    Some(LogLine {
        marker: (!marker.is_empty() && marker != "-").then(|| marker.to_string()),
        server: (server != "<NOSRV>" && server != "-").then(|| server.to_string()),
        status: number("status").and_then(|n| u16::try_from(n).ok()),
        retries: count.parse().ok()?,
        redispatched,
        termination: fields.get("termination")?.to_string(),
        total_ms: number("total_ms").map(|n| n as u64),
        accept_unix_ms: number("accept_ms").map(|n| n as u64),
    })
}

/// Every request line of a balancer log, in order (an unreadable log reads
/// as none).
pub fn read_log(path: &Path) -> Vec<LogLine> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(parse_log_line)
        .collect()
}

/// The first two characters of HAProxy's termination state in plain words:
/// who ended the request and what it was waiting for.
pub fn termination_in_words(state: &str) -> String {
    let mut chars = state.chars();
    let (first, second) = (chars.next().unwrap_or('-'), chars.next().unwrap_or('-'));
    let who = match first {
        '-' => None,
        'C' => Some("the client aborted"),
        'S' => Some("the server closed the connection or refused it"),
        'P' => Some("HAProxy aborted the request (a limit or a deny rule)"),
        'L' => Some("HAProxy answered by itself"),
        'R' => Some("HAProxy ran out of a resource"),
        'I' => Some("HAProxy hit an internal error"),
        'D' => Some("HAProxy killed the session because the server went down"),
        'U' => Some("HAProxy killed the session on a backup server"),
        'K' => Some("an admin killed the session"),
        'c' => Some("client timeout"),
        's' => Some("server timeout"),
        _ => Some("unknown end"),
    };
    let when = match second {
        '-' => None,
        'R' => Some("while waiting for the client's request"),
        'Q' => Some("while queued for a server"),
        'C' => Some("while connecting to the server"),
        'H' => Some("while waiting for the answer's headers"),
        'D' => Some("while passing the answer's body"),
        'L' => Some("while sending the last data to the client"),
        'T' => Some("while the request was tarpitted"),
        _ => Some("in an unknown phase"),
    };
    match (who, when) {
        (None, None) => "completed normally".to_string(),
        (Some(who), None) => who.to_string(),
        (None, Some(when)) => format!("ended {when}"),
        // "the server closed the connection or refused it before answering"
        // reads better than "... while waiting for the answer's headers".
        (Some(_), Some(_)) if first == 'S' && second == 'H' => {
            "the server closed the connection before answering".to_string()
        }
        (Some(_), Some(_)) if first == 'S' && second == 'C' => {
            "the server refused the connection (nothing listening, or a reset)".to_string()
        }
        (Some(who), Some(when)) => format!("{who} {when}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two() -> Vec<Backend> {
        vec![
            Backend {
                name: "replica-1".into(),
                port: 4001,
            },
            Backend {
                name: "replica-2".into(),
                port: 4002,
            },
        ]
    }

    #[test]
    fn the_default_config_retries_only_failed_connections() {
        insta::assert_snapshot!(render(
            &BalancerSettings::default(),
            8000,
            &two(),
            "/health/liveliness",
            Path::new("/run/x/haproxy.sock"),
        ));
    }

    #[test]
    fn settings_a_team_changes_show_in_the_config() {
        let s = BalancerSettings {
            retry_on: vec!["response-timeout".into(), "503".into()],
            retries: 1,
            redispatch: false,
            timeout_server: Duration::from_millis(1500),
            bufsize: 262_144,
            ..BalancerSettings::default()
        };
        let cfg = render(&s, 8000, &two(), "/h", Path::new("/s"));
        for line in [
            "    retry-on response-timeout 503\n",
            "    retries 1\n",
            "    no option redispatch\n",
            "    timeout server 1500ms\n",
            "    tune.bufsize 262144\n",
            "    option httpchk GET /h\n",
        ] {
            assert!(cfg.contains(line), "{line:?} missing in\n{cfg}");
        }
    }

    #[test]
    fn every_server_is_on_loopback() {
        let cfg = render(
            &BalancerSettings::default(),
            1,
            &two(),
            "/",
            Path::new("/s"),
        );
        let servers: Vec<&str> = cfg
            .lines()
            .filter(|l| l.trim_start().starts_with("server ") || l.contains("bind "))
            .collect();
        assert_eq!(servers.len(), 3);
        assert!(servers.iter().all(|l| l.contains(" 127.0.0.1:")));
    }

    #[test]
    fn bad_names_paths_and_words_are_refused_before_start() {
        let ok = BalancerSettings::default();
        let cases: Vec<(BalancerSettings, Vec<Backend>, &str)> = vec![
            (ok.clone(), vec![], "/"),
            (
                ok.clone(),
                vec![Backend {
                    name: "a b".into(),
                    port: 1,
                }],
                "/",
            ),
            (ok.clone(), [two(), two()].concat(), "/"),
            (ok.clone(), two(), "health"),
            (ok.clone(), two(), "/a b"),
            (
                BalancerSettings {
                    retry_on: vec!["429".into()],
                    ..ok.clone()
                },
                two(),
                "/",
            ),
        ];
        let errors: Vec<String> = cases
            .iter()
            .map(|(s, b, h)| validate(s, b, h).expect_err("refused"))
            .collect();
        insta::assert_snapshot!(errors.join("\n"));
        assert_eq!(validate(&ok, &two(), "/health"), Ok(()));
    }

    #[test]
    fn show_stat_gives_each_replica_up_or_down() {
        let csv = "# pxname,svname,qcur,status,weight\n\
                   gateway,FRONTEND,,OPEN,\n\
                   replicas,replica-1,0,UP,1\n\
                   replicas,replica-2,0,DOWN,1\n\
                   replicas,replica-3,0,UP 1/2,1\n\
                   replicas,replica-4,0,DOWN 1/2,1\n\
                   replicas,replica-5,0,MAINT,1\n\
                   replicas,BACKEND,0,UP,2\n\n";
        let states = parse_show_stat(csv, "replicas");
        assert_eq!(
            states.into_iter().collect::<Vec<_>>(),
            vec![
                ("replica-1".to_string(), true),
                ("replica-2".to_string(), false),
                ("replica-3".to_string(), true),
                ("replica-4".to_string(), false),
                ("replica-5".to_string(), false),
            ]
        );
    }

    /// Lines HAProxy 2.6.12 wrote in `tests/balancer.rs` runs: the
    /// launcher's readiness GET (no marker), a request served at once, one
    /// redispatched after its replica refused the connection, one with
    /// every replica down (`<NOSRV>`), and HAProxy's own notice; the `sH--`
    /// line (a replica answering after `timeout server`) is written by hand
    /// in the shape that test asserts.
    #[test]
    fn real_log_lines_are_read_and_notices_skipped() {
        let real = [
            r#"xf-request marker="" server=replica-1 status=200 retries=0 termination=---- total_ms=0 accept_ms=1796107642428"#,
            r#"xf-request marker="xf:d:0" server=replica-2 status=200 retries=0 termination=---- total_ms=1 accept_ms=1796107642441"#,
            r#"xf-request marker="xf:d:46" server=replica-1 status=200 retries=+1 termination=---- total_ms=0 accept_ms=1796107742578"#,
            r#"xf-request marker="xf:p:0" server=replica-1 status=504 retries=0 termination=sH-- total_ms=301 accept_ms=1796107743801"#,
            r#"xf-request marker="xf:n:0" server=<NOSRV> status=503 retries=0 termination=SC-- total_ms=0 accept_ms=1796107776717"#,
            "Server replicas/replica-2 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms. 1 active and 0 backup servers left.",
        ];
        let parsed: Vec<Option<LogLine>> = real.iter().map(|l| parse_log_line(l)).collect();
        insta::assert_debug_snapshot!(parsed);
    }

    #[test]
    fn termination_states_in_words() {
        let words: Vec<String> = [
            "----", "SC--", "SH--", "sH--", "CD--", "cR--", "SD--", "LR--",
        ]
        .iter()
        .map(|s| format!("{s}: {}", termination_in_words(s)))
        .collect();
        insta::assert_snapshot!(words.join("\n"));
    }
}
