//! Every process crossfire starts dies with crossfire, by any signal. A
//! gateway behind a shell wrapper (`sh -c "python3 refgw.py ...; echo"`) and
//! the real LiteLLM proxy (1.108.7, installed by crossfire) run while traffic
//! flows; crossfire gets SIGKILL (nothing of it runs afterwards); every
//! process of the gateway's group is gone within a couple of seconds.
//! Regression: a death signal reached only the group leader (the shell),
//! and the real gateway kept running with parent 1; LiteLLM, given SIGTERM
//! with requests in flight, stayed up while it waited for them.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::{case, refgw_config, target, ChildGuard, THREE_DEPLOYMENTS};

/// One process of a group, read from `/proc/<pid>/stat`.
#[derive(Debug, Clone, PartialEq)]
struct Proc {
    pid: i32,
    state: char,
    cmdline: String,
}

/// Every live (not zombie) process.
fn processes() -> Vec<(i32, Proc)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parens.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(pgrp)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        let state = state.chars().next().unwrap_or('?');
        let Ok(pgrp) = pgrp.parse::<i32>() else {
            continue;
        };
        if state == 'Z' || state == 'X' {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        out.push((
            pgrp,
            Proc {
                pid,
                state,
                cmdline,
            },
        ));
    }
    out
}

/// The live processes of group `pgid`.
fn group_members(pgid: i32) -> Vec<Proc> {
    processes()
        .into_iter()
        .filter(|(g, _)| *g == pgid)
        .map(|(_, p)| p)
        .collect()
}

/// The live processes whose command line names `dir` (the test's run
/// folder): crossfire, its watcher (a fork of it), and the gateways, which
/// get their config from there.
fn naming(dir: &Path) -> Vec<Proc> {
    let dir = dir.display().to_string();
    processes()
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| p.cmdline.contains(&dir))
        .collect()
}

/// Kills (by group id) what a failed test would otherwise leave running:
/// only the group of the crossfire this test started.
struct GroupGuard(i32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if !group_members(self.0).is_empty() {
            // SAFETY: signalling the process group the test's crossfire made.
            unsafe { libc::kill(-self.0, libc::SIGKILL) };
        }
    }
}

/// Waits until `run_dir` has a gateway group id and the journal shows
/// traffic flowing through it.
fn wait_for_traffic(run_dir: &Path, limit: Duration) -> i32 {
    let start = Instant::now();
    loop {
        let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap_or_default();
        let pgid = std::fs::read_to_string(run_dir.join("gateway.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        if let (Some(pgid), true) = (pgid, journal.lines().count() >= 2) {
            return pgid;
        }
        assert!(
            start.elapsed() < limit,
            "no traffic through the gateway after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGKILLs crossfire and returns how long everything it started (the
/// gateway's group, and every process naming the run folder `dir`) took to
/// be gone, or what still ran after `limit`.
fn kill_crossfire_and_time_the_rest(
    child: &mut ChildGuard,
    pgid: i32,
    dir: &Path,
    limit: Duration,
) -> Result<Duration, Vec<Proc>> {
    child.kill().expect("SIGKILL crossfire");
    child.wait().expect("reap crossfire");
    let killed = Instant::now();
    let left = || {
        let mut left = group_members(pgid);
        let named: Vec<Proc> = naming(dir)
            .into_iter()
            .filter(|p| !left.contains(p))
            .collect();
        left.extend(named);
        left
    };
    while killed.elapsed() < limit {
        if left().is_empty() {
            return Ok(killed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(left())
}

/// Runs `c` with `crossfire run`, waits for traffic through the gateway
/// (then `settle`), checks that the gateway group holds a process whose
/// command line contains `gateway` and that one watcher runs, SIGKILLs
/// crossfire, and asserts that everything it started is gone within 3 s.
fn sigkill_leaves_nothing(c: &support::Case, run: &str, gateway: &str, settle: Duration) {
    let out = c.dir.path().join("out");
    let mut child = support::spawn_run(c, &out);
    let pgid = wait_for_traffic(&out.join(run), Duration::from_secs(180));
    let _cleanup = GroupGuard(pgid);
    std::thread::sleep(settle);
    let before = group_members(pgid);
    assert!(
        before.iter().any(|p| p.cmdline.contains(gateway)),
        "no `{gateway}` in the gateway's group: {before:?}"
    );
    // crossfire and its watcher (a fork of it), outside the gateway's group.
    let watchers: Vec<Proc> = naming(&out)
        .into_iter()
        .filter(|p| p.cmdline.contains("crossfire") && p.pid != child.id() as i32)
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(watchers.len(), 1, "{watchers:?}");
    match kill_crossfire_and_time_the_rest(&mut child, pgid, &out, Duration::from_secs(3)) {
        Ok(took) => eprintln!("{run}: all gone {took:?} after SIGKILL of crossfire"),
        Err(left) => panic!("still running 3 s after crossfire died: {left:?}"),
    }
}

#[test]
fn a_gateway_behind_a_shell_wrapper_dies_with_a_sigkilled_crossfire() {
    // The wrapper runs the gateway, which spawns a helper: three processes
    // of one group, of which only the shell would get a death signal.
    let c = case(
        &format!(
            "name: wrapped\ngateway:\n  kind: command\n  command: [sh, -c, \"python3 REFGW {{{{ config }}}}; echo wrapper done\"]\n  config: gateway.json.tmpl\n  ready: /health\n{THREE_DEPLOYMENTS}traffic:\n  - model: claude-opus\n    duration: 60s\n    rate: 20\n"
        ),
        Some(
            &refgw_config(&format!(
                "{{\"mode\": \"fallback\", \"targets\": [{}]}}",
                target("gpt", "openai")
            ))
            .replace("\"groups\"", "\"spawn_helper\": true,\n  \"groups\""),
        ),
    );
    sigkill_leaves_nothing(&c, "01-wrapped", "refgw.py", Duration::ZERO);
}

#[test]
fn the_litellm_proxy_dies_with_a_sigkilled_crossfire() {
    // After three answers, requests hang at the provider: LiteLLM, given
    // SIGTERM alone, waits for them before it exits (how it outlived
    // crossfire).
    let c = case(
        "name: long\ngateway: {kind: litellm, config: litellm.yaml}\nfaults:\n  - on: anthropic\n    fault: timeout\n    delay: 60s\n    schedule: {after: 3}\ntraffic:\n  - model: claude-opus\n    duration: 120s\n    rate: 5\n",
        None,
    );
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/litellm/fallbacks.yaml"),
        c.dir.path().join("litellm.yaml"),
    )
    .expect("copy the config");
    sigkill_leaves_nothing(&c, "01-long", "litellm", Duration::from_secs(1));
}

#[test]
fn the_portkey_gateway_dies_with_a_sigkilled_crossfire() {
    let c = case(
        &format!(
            "name: pk\ngateway: {{kind: portkey, config: {}}}\nfaults:\n  - on: anthropic\n    fault: timeout\n    delay: 60s\n    schedule: {{after: 3}}\ntraffic:\n  - model: claude-opus\n    duration: 120s\n    rate: 5\n",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/portkey/fallback.json")
                .display()
        ),
        None,
    );
    sigkill_leaves_nothing(&c, "01-pk", "start-server.js", Duration::from_secs(1));
}
