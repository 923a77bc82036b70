//! The one launcher of every process gateway (LiteLLM, Portkey, a team's
//! own command, ...): a clean environment, an egress sink when asked, the log
//! in the run folder, the process in its own group under a guard, readiness
//! polled where it listens, the time it took. Adapters say what to run; how
//! a gateway process starts and is waited for lives here once.

use super::process::{self, ProcessGuard};
use super::sink::Sink;
use super::GatewayError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A gateway process to start.
#[derive(Debug)]
pub struct ProcessSpec {
    /// Its name in messages and the guard (`litellm`).
    pub name: String,
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The folder it runs in.
    pub cwd: PathBuf,
    /// Its environment, on top of a clean one (no API keys of the shell).
    pub env: Vec<(OsString, OsString)>,
    /// Where it listens.
    pub listen: Listen,
    /// The path polled until it answers 2xx (or a status of `ready_also`),
    /// when [`ProcessSpec::probe`] is [`Probe::Http`].
    pub ready: String,
    /// How readiness is polled: an HTTP GET of `ready`, or a TCP connect for
    /// a server that speaks no HTTP (Redis).
    pub probe: Probe,
    /// Other statuses that say the gateway is up (a gateway whose only
    /// route is a POST answers a GET with 405).
    pub ready_also: &'static [u16],
    /// How long to wait for readiness.
    pub timeout: Duration,
    /// Point its outbound HTTP(S) at an egress sink (proxy variables).
    pub sink: bool,
    /// What to say when the program cannot be started ("install Node.js 18
    /// or newer").
    pub hint: Option<&'static str>,
    /// The log file's name in the run folder (`gateway.log`); the process
    /// group id is written beside it, same name with `.pid`.
    pub log_name: String,
}

/// How a starting process is known to be ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// It answers an HTTP GET of the spec's `ready` path.
    Http,
    /// It accepts a TCP connection.
    Tcp,
}

impl ProcessSpec {
    /// A process listening on the port it binds when given port 0, its
    /// outbound traffic sealed by a sink.
    pub fn new(name: &str, program: impl Into<PathBuf>, cwd: &Path) -> ProcessSpec {
        ProcessSpec {
            name: name.to_string(),
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.to_path_buf(),
            env: Vec::new(),
            listen: Listen::Picked,
            ready: "/".to_string(),
            probe: Probe::Http,
            ready_also: &[],
            timeout: Duration::from_secs(60),
            sink: true,
            hint: None,
            log_name: "gateway.log".to_string(),
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, a: impl Into<OsString>) -> ProcessSpec {
        self.args.push(a.into());
        self
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = A>, A: Into<OsString>>(mut self, args: I) -> ProcessSpec {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> ProcessSpec {
        self.env.push((k.into(), v.into()));
        self
    }
}

/// What says a gateway is up: a GET of `path` answering 2xx or one of
/// `also`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The path.
    pub path: String,
    /// Statuses besides 2xx that say it is up.
    pub also: &'static [u16],
}

/// A started, ready gateway process.
#[derive(Debug)]
pub struct Launched {
    /// What said it was up.
    pub health: Health,
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub base_url: String,
    /// The process group, ended on drop.
    pub guard: ProcessGuard,
    /// Time from spawn to ready.
    pub startup: Duration,
    /// The egress sink it is sealed with.
    pub sink: Option<Sink>,
}

/// Starts `spec` with its log at `run_dir/<log_name>` (`gateway.log`) and
/// waits until it is ready.
pub async fn launch(
    spec: ProcessSpec,
    run_dir: &Path,
    cancel: &CancellationToken,
) -> Result<Launched, GatewayError> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args).current_dir(&spec.cwd);
    process::clean_env(&mut cmd);
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    let sink = if spec.sink {
        let sink = Sink::start()
            .await
            .map_err(|e| GatewayError::start(format!("cannot start the egress sink: {e}")))?;
        cmd.envs(sink.env());
        Some(sink)
    } else {
        None
    };
    let log = run_dir.join(&spec.log_name);
    let mut guard = ProcessGuard::spawn(&spec.name, cmd, &log).map_err(|e| {
        let shown = std::iter::once(spec.program.display().to_string())
            .chain(spec.args.iter().map(|a| a.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(" ");
        GatewayError::start(match spec.hint {
            Some(hint) => format!("cannot start `{shown}` ({hint}): {e}"),
            None => format!("cannot start `{shown}`: {e}"),
        })
    })?;
    let started = Instant::now();
    let base_url = wait_ready(&mut guard, &spec, cancel).await?;
    Ok(Launched {
        health: Health {
            path: spec.ready.clone(),
            also: spec.ready_also,
        },
        base_url,
        guard,
        startup: started.elapsed(),
        sink,
    })
}

/// Where a starting gateway listens.
#[derive(Debug, Clone, Copy)]
pub enum Listen {
    /// The port crossfire gave it (a command gateway's `{{ port }}`).
    Given(u16),
    /// The port it bound when started on port 0, read from /proc: no port
    /// is chosen by crossfire and let go before the gateway binds it, so no
    /// other server (a mock binding port 0 meanwhile) can take it.
    Picked,
}

/// Where a gateway started on `port` listens: there, or where the OS put
/// it when no port was given.
pub fn listen(port: Option<u16>) -> Listen {
    port.map_or(Listen::Picked, Listen::Given)
}

/// Polls the ready path where the gateway listens until it answers 2xx (or
/// a status the spec accepts), the process exits, the time runs out, or
/// Ctrl-C arrives; returns its base URL.
async fn wait_ready(
    guard: &mut ProcessGuard,
    spec: &ProcessSpec,
    cancel: &CancellationToken,
) -> Result<String, GatewayError> {
    let (listen, path, limit) = (spec.listen, spec.ready.as_str(), spec.timeout);
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| GatewayError::start(format!("cannot build an HTTP client: {e}")))?;
    let deadline = Instant::now() + limit;
    let mut last = "it listens on no port yet".to_string();
    loop {
        if let Some(status) = guard.exited() {
            return Err(GatewayError::Start {
                message: format!(
                    "the gateway exited before it was ready ({status}); log: {}",
                    guard.log().display()
                ),
                log_tail: guard.log_tail(4000),
            });
        }
        let ports = match listen {
            Listen::Given(port) => vec![port],
            Listen::Picked => process::listening_ports(guard.pgid()),
        };
        for port in ports {
            let base = format!("http://127.0.0.1:{port}");
            if spec.probe == Probe::Tcp {
                match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                    Ok(_) => return Ok(base),
                    Err(e) => {
                        last = format!("127.0.0.1:{port}: {e}");
                        continue;
                    }
                }
            }
            let url = format!("{base}{path}");
            match client.get(&url).send().await {
                Ok(r)
                    if r.status().is_success()
                        || spec.ready_also.contains(&r.status().as_u16()) =>
                {
                    return Ok(base)
                }
                Ok(r) => last = format!("{url} answered {}", r.status()),
                Err(e) => last = format!("{url}: {e}"),
            }
        }
        if Instant::now() >= deadline {
            return Err(GatewayError::Start {
                message: format!(
                    "the gateway was not ready after {:.0?} ({last}); log: {}",
                    limit,
                    guard.log().display()
                ),
                log_tail: guard.log_tail(4000),
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = cancel.cancelled() => return Err(GatewayError::Interrupted),
        }
    }
}
