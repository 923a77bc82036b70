//! The router as the thing that fails: a gateway run as replicas behind a
//! real load balancer (HAProxy), the Redis its replicas share router state
//! through when the config asks for one, and the gateway faults done to the
//! replicas in time (kill, terminate, freeze, thaw, restart). What it all
//! did is measured in [`measure`].
//!
//! Each replica calls the mocks at its own base URL ([`replica_base`]), so
//! every provider attempt names the replica that sent it; the client sends
//! its marker in a header the balancer logs, so every request names the
//! replica it was handed to.

pub mod judge;
pub mod measure;

use crate::gateway::adapter::{GatewayConfig, Launch};
use crate::gateway::balancer::{self, Backend, RunningBalancer};
use crate::gateway::process::ProcessGuard;
use crate::gateway::sink::{self, Sink};
use crate::gateway::{redis, GatewayError, GatewayOptions, RunningGateway};
use crate::scenario::{GatewayFault, ReplicaAction, Replicas};
use measure::{replica_name, Fired};
use mock_providers::server::replica_base;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The replicas, their balancer, and the Redis they share, when they do.
/// Dropping it stops every process it started.
#[derive(Debug)]
pub struct Router {
    /// The load balancer the client calls.
    pub balancer: RunningBalancer,
    /// The Redis crossfire started for the config's shared router state.
    pub redis: Option<redis::RunningRedis>,
    /// Where the config shares router state (its line), when it does.
    pub shared_state: Option<String>,
    /// How many replicas.
    pub count: u32,
    /// The path the gateway serves under (TensorZero's `/openai`).
    path: String,
    replicas: tokio::sync::Mutex<Vec<Replica>>,
    recipe: Recipe,
}

/// One replica's process and where it listens.
#[derive(Debug)]
struct Replica {
    n: u32,
    port: u16,
    process: Option<ProcessGuard>,
    sink: Option<Sink>,
    escapes_file: Option<PathBuf>,
    restarts: u32,
}

/// What starting a replica again needs.
struct Recipe {
    config: Arc<dyn GatewayConfig>,
    bases: BTreeMap<String, String>,
    run_dir: PathBuf,
    startup_timeout: Duration,
    options: GatewayOptions,
    key: String,
    redis: Option<String>,
    cancel: CancellationToken,
}

impl std::fmt::Debug for Recipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipe")
            .field("run_dir", &self.run_dir)
            .finish_non_exhaustive()
    }
}

impl Recipe {
    /// Starts replica `n` (on `port` when it comes back), in its own folder.
    async fn start(
        &self,
        n: u32,
        port: Option<u16>,
        dir: &Path,
    ) -> Result<RunningGateway, GatewayError> {
        crate::gateway::create_dir(dir)?;
        let bases: BTreeMap<String, String> = self
            .bases
            .iter()
            .map(|(id, base)| (id.clone(), replica_base(base, n)))
            .collect();
        self.config
            .start(Launch {
                bases: &bases,
                run_dir: dir,
                startup_timeout: self.startup_timeout,
                options: &self.options,
                cancel: &self.cancel,
                port,
                key: Some(&self.key),
                replica: Some(n),
                redis: self.redis.as_deref(),
            })
            .await
    }
}

/// The port a started gateway listens on.
fn port_of(gw: &RunningGateway) -> Result<u16, GatewayError> {
    reqwest::Url::parse(&gw.base_url)
        .ok()
        .and_then(|u| u.port())
        .ok_or_else(|| GatewayError::start(format!("cannot read the port of {}", gw.base_url)))
}

/// Names on each path the replica the balancer handed its request to last,
/// from the balancer's log.
pub fn name_replicas(paths: &mut [crate::paths::RequestPath], log: &[balancer::LogLine]) {
    let server: std::collections::HashMap<&str, &str> = log
        .iter()
        .filter_map(|l| Some((l.marker.as_deref()?, l.server.as_deref()?)))
        .collect();
    for p in paths {
        p.replica = server.get(p.marker.as_str()).map(|s| s.to_string());
    }
}

/// A key every replica accepts.
fn shared_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("sk-crossfire-replicas-{nanos:x}{:x}", std::process::id())
}

/// Starts `replicas` copies of the gateway `config` describes over the mocks
/// at `bases`, the Redis its config shares state through (when it names
/// one), and the balancer in front; returns what the client calls (the
/// balancer, with the first replica's headers and versions) and the router.
pub async fn start(
    config: Arc<dyn GatewayConfig>,
    replicas: &Replicas,
    bases: &BTreeMap<String, String>,
    run_dir: &Path,
    startup_timeout: Duration,
    options: &GatewayOptions,
    cancel: &CancellationToken,
) -> Result<(RunningGateway, Arc<Router>), GatewayError> {
    let started = Instant::now();
    let run_dir = crate::gateway::absolute(run_dir)?;
    let shared_state = config.shared_state();
    let redis = match &shared_state {
        Some(_) => Some(redis::start(&run_dir.join("redis"), cancel).await?),
        None => None,
    };
    let recipe = Recipe {
        config,
        bases: bases.clone(),
        run_dir: run_dir.clone(),
        startup_timeout,
        options: options.clone(),
        key: shared_key(),
        redis: redis.as_ref().map(|r| format!("{}:{}", r.host, r.port)),
        cancel: cancel.clone(),
    };
    // All at once: on 2 cores two LiteLLM proxies start in less than twice
    // the time of one.
    let dirs: Vec<PathBuf> = (1..=replicas.count)
        .map(|n| run_dir.join(replica_name(n)))
        .collect();
    let starts = (1..=replicas.count).map(|n| recipe.start(n, None, &dirs[n as usize - 1]));
    let mut gateways = Vec::new();
    for g in futures_util::future::join_all(starts).await {
        gateways.push(g?);
    }
    let mut list = Vec::new();
    let mut first: Option<RunningGateway> = None;
    for (i, mut gw) in gateways.into_iter().enumerate() {
        let port = port_of(&gw)?;
        list.push(Replica {
            n: i as u32 + 1,
            port,
            process: gw.process.take(),
            sink: gw.sink.take(),
            escapes_file: gw.escapes_file.take(),
            restarts: 0,
        });
        first.get_or_insert(gw);
    }
    let Some(mut outer) = first else {
        return Err(GatewayError::start("no replica to start"));
    };
    let health = outer
        .health
        .clone()
        .unwrap_or(crate::gateway::launcher::Health {
            path: "/".into(),
            also: &[],
        });
    let backends: Vec<Backend> = list
        .iter()
        .map(|r| Backend {
            name: replica_name(r.n),
            port: r.port,
        })
        .collect();
    let lb = balancer::start(
        &replicas.balancer,
        &backends,
        &health.path,
        &run_dir,
        cancel,
    )
    .await?;
    // The client calls the balancer on the replica's own path (TensorZero
    // serves under `/openai`).
    let origin = format!("http://127.0.0.1:{}", list[0].port);
    let suffix = outer
        .base_url
        .strip_prefix(&origin)
        .unwrap_or("")
        .to_string();
    outer.base_url = format!("{}{suffix}", lb.base_url.trim_end_matches('/'));
    outer.startup = started.elapsed();
    let router = Router {
        balancer: lb,
        redis,
        shared_state,
        count: replicas.count,
        path: suffix,
        replicas: tokio::sync::Mutex::new(list),
        recipe,
    };
    Ok((outer, Arc::new(router)))
}

impl Router {
    /// Everything the replicas tried to reach outside the machine.
    pub async fn escapes(&self) -> Vec<sink::Escape> {
        let list = self.replicas.lock().await;
        let mut out = Vec::new();
        for r in list.iter() {
            out.extend(r.sink.as_ref().map(Sink::escapes).unwrap_or_default());
            if let Some(f) = &r.escapes_file {
                out.extend(sink::read_escapes(f));
            }
        }
        out
    }

    /// Replica `n` called directly, with the client's headers (what it
    /// says of itself, not through the balancer).
    pub async fn replica(
        &self,
        n: u32,
        headers: &BTreeMap<String, String>,
    ) -> Option<RunningGateway> {
        let list = self.replicas.lock().await;
        let r = list.iter().find(|r| r.n == n)?;
        Some(RunningGateway::at(
            format!("http://127.0.0.1:{}{}", r.port, self.path),
            headers.clone(),
        ))
    }

    /// Does `action` to replica `n`; a restart returns how long the gateway
    /// took to be ready.
    pub async fn act(&self, n: u32, action: ReplicaAction) -> Result<Option<Duration>, String> {
        let mut list = self.replicas.lock().await;
        let r = list
            .iter_mut()
            .find(|r| r.n == n)
            .ok_or_else(|| format!("there is no replica-{n}"))?;
        let signal = |r: &mut Replica, sig: i32, what: &str| {
            if r.process.as_mut().is_some_and(|p| p.signal(sig)) {
                Ok(None)
            } else {
                Err(format!("replica-{n} is not running: nothing to {what}"))
            }
        };
        match action {
            ReplicaAction::Kill => signal(r, libc::SIGKILL, "kill"),
            ReplicaAction::Terminate => signal(r, libc::SIGTERM, "terminate"),
            ReplicaAction::Freeze => signal(r, libc::SIGSTOP, "freeze"),
            ReplicaAction::Thaw => signal(r, libc::SIGCONT, "thaw"),
            ReplicaAction::Restart => {
                // Whatever is left of it goes first, so the port is free.
                if let Some(mut old) = r.process.take() {
                    old.stop(Duration::from_secs(3));
                }
                r.restarts += 1;
                let dir = self
                    .recipe
                    .run_dir
                    .join(replica_name(n))
                    .join(format!("restart-{}", r.restarts));
                let (port, started) = (r.port, Instant::now());
                // The lock is held: one replica restarts at a time, and no
                // other fault acts on a half-started replica.
                let mut gw =
                    self.recipe.start(n, Some(port), &dir).await.map_err(|e| {
                        format!("replica-{n} did not come back on port {port}: {e}")
                    })?;
                r.process = gw.process.take();
                r.sink = gw.sink.take();
                r.escapes_file = gw.escapes_file.take();
                Ok(Some(started.elapsed()))
            }
        }
    }

    /// Does each gateway fault at its time since `clock` until `cancel`
    /// (the traffic is over): what was done, and when.
    pub async fn drive(
        self: Arc<Self>,
        faults: Vec<GatewayFault>,
        clock: Instant,
        cancel: CancellationToken,
    ) -> Vec<Fired> {
        let mut fired = Vec::new();
        for (i, f) in faults.iter().enumerate() {
            let due = clock + f.at;
            tokio::select! {
                _ = tokio::time::sleep_until(due.into()) => {}
                _ = cancel.cancelled() => break,
            }
            let at = clock.elapsed();
            let done = tokio::select! {
                done = self.act(f.replica, f.action) => done,
                _ = cancel.cancelled() => Err("the traffic was over before it was done".to_string()),
            };
            let (error, ready_after) = match done {
                Ok(ready) => (None, ready),
                Err(e) => (Some(e), None),
            };
            tracing::info!(fault = %f.label, ?error, "gateway fault");
            fired.push(Fired {
                fault: i,
                at,
                error,
                ready_after,
            });
        }
        fired
    }
}
