//! A gateway process in its own process group, logged to a file, and killed
//! (the whole group) when its guard is dropped: on success, failure, panic and
//! Ctrl-C alike.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running process group, ended on drop.
#[derive(Debug)]
pub struct ProcessGuard {
    child: Child,
    pgid: i32,
    log: PathBuf,
    name: String,
}

impl ProcessGuard {
    /// Spawns `command` as the leader of a new process group, its output
    /// appended to `log`. The child also gets SIGTERM if crossfire dies.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> std::io::Result<ProcessGuard> {
        let out = File::options().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        // SAFETY: prctl with constant arguments is async-signal-safe; it only
        // asks the kernel to signal the child when its parent thread exits.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = command.spawn()?;
        let pgid = child.id() as i32;
        // The process group id beside the log, for a person (or a test) who
        // wants to check that nothing outlived the run.
        if let Some(dir) = log.parent() {
            let _ = std::fs::write(dir.join("gateway.pid"), format!("{pgid}\n"));
        }
        Ok(ProcessGuard {
            child,
            pgid,
            log: log.to_path_buf(),
            name: name.to_string(),
        })
    }

    /// The log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Whether the leader has exited, and how.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `max` bytes of the log, for error messages.
    pub fn log_tail(&self, max: u64) -> String {
        log_tail(&self.log, max)
    }

    /// Ends the group: SIGTERM, up to `grace` for it to go, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        signal_group(self.pgid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            let _ = self.child.try_wait();
            if !group_alive(self.pgid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if group_alive(self.pgid) {
            tracing::warn!(gateway = %self.name, "process group did not stop on SIGTERM; killing it");
            signal_group(self.pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: signalling a process group this guard created.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Whether any process of the group is still alive (zombies of the leader
/// excepted once reaped).
pub fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// The last `max` bytes of a file, lossily decoded.
pub fn log_tail(path: &Path, max: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Environment variables a gateway process keeps; everything else (API keys
/// in the shell above all) stays out.
pub const PASSED_ENV: [&str; 6] = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ"];

/// Clears a command's environment but for [`PASSED_ENV`].
pub fn clean_env(cmd: &mut Command) {
    cmd.env_clear();
    for k in PASSED_ENV {
        if let Some(v) = std::env::var_os(k) {
            cmd.env(k, v);
        }
    }
}

/// A free TCP port on 127.0.0.1, chosen by the OS (bind to port 0, read it,
/// release it) for a gateway that takes its port as an argument.
pub fn free_port() -> Result<u16, super::GatewayError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| super::GatewayError::start(format!("no free port on 127.0.0.1: {e}")))
}
