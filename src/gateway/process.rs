//! A gateway process in its own process group, logged to a file, and killed
//! (the whole group) when its guard is dropped: on success, failure, panic and
//! Ctrl-C alike, and when crossfire itself dies by any signal, SIGKILL
//! included.
//!
//! A death signal (`PR_SET_PDEATHSIG`) reaches one process only, so a gateway
//! behind a wrapper (`sh -c "python3 gw.py; echo"`) would outlive crossfire.
//! Each group therefore has a watcher: a copy of crossfire forked (twice, so
//! init adopts it) just before the gateway is executed, in a group of its
//! own, running no crossfire code. It holds the read end of a pipe whose only
//! writer is crossfire; when the pipe closes (crossfire ended, however it
//! ended) it sends SIGTERM to the gateway's group, then SIGKILL after
//! [`ORPHAN_GRACE`]. It leaves by itself once the group is gone.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the watcher waits after SIGTERM before it sends SIGKILL to the
/// group of a crossfire that died.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(1);

/// A running process group, ended on drop.
#[derive(Debug)]
pub struct ProcessGuard {
    child: Child,
    pgid: i32,
    log: PathBuf,
    name: String,
    /// The write end of the watcher's pipe: closing it (dropping it, or
    /// crossfire dying) ends the group.
    lifeline: Option<OwnedFd>,
}

/// A pipe whose ends are closed on exec: (read, write).
fn lifeline_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two new file descriptors into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned here only.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl ProcessGuard {
    /// Spawns `command` as the leader of a new process group, its output
    /// appended to `log`, with a watcher. The whole group ends when the guard
    /// is dropped or crossfire dies.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> std::io::Result<ProcessGuard> {
        let out = File::options().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        let (watch, lifeline) = lifeline_pipe()?;
        let watch_fd = watch.as_raw_fd();
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        // SAFETY: the closure runs in the forked child of a multi-threaded
        // process, so it calls only async-signal-safe functions (prctl,
        // fork, waitpid, setpgid, close, dup2, poll, read, kill, nanosleep,
        // sigaction, _exit) and allocates nothing. In the gateway it returns
        // and the command is executed as usual; the watcher never returns.
        unsafe {
            command.pre_exec(move || start_watcher(watch_fd));
        }
        let child = command.spawn()?;
        drop(watch);
        let pgid = child.id() as i32;
        // The process group id beside the log (`gateway.log` ->
        // `gateway.pid`), for a person (or a test) who wants to check that
        // nothing outlived the run.
        let _ = std::fs::write(log.with_extension("pid"), format!("{pgid}\n"));
        Ok(ProcessGuard {
            child,
            pgid,
            log: log.to_path_buf(),
            name: name.to_string(),
            lifeline: Some(lifeline),
        })
    }

    /// The process group (the gateway's pid).
    pub fn pgid(&self) -> i32 {
        self.pgid
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

    /// Sends `signal` to the whole group while it lives (a gateway
    /// fault: SIGKILL, SIGTERM, SIGSTOP, SIGCONT); false when it is gone.
    pub fn signal(&mut self, signal: i32) -> bool {
        let _ = self.child.try_wait();
        if !group_alive(self.pgid) {
            return false;
        }
        signal_group(self.pgid, signal);
        true
    }

    /// Ends the group: SIGTERM, up to `grace` for it to go, then SIGKILL.
    /// A frozen group is woken to receive it.
    pub fn stop(&mut self, grace: Duration) {
        signal_group(self.pgid, libc::SIGTERM);
        signal_group(self.pgid, libc::SIGCONT);
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
        // The group is gone; the watcher leaves when its pipe closes.
        self.lifeline.take();
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

/// In the forked child (the gateway-to-be, already leading its group),
/// before exec: starts the watcher, detached, and returns.
fn start_watcher(watch: RawFd) -> std::io::Result<()> {
    // SAFETY (whole function): only async-signal-safe calls, see `spawn`.
    unsafe {
        // std has made this process a group leader already; say so here
        // too, since the watcher relies on it.
        libc::setpgid(0, 0);
        // The gateway itself still ends when crossfire's thread goes.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
        let group = libc::getpid();
        match libc::fork() {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {
                // Fork again and let the middle process go: init adopts the
                // watcher, which is then no child of the gateway (a gateway
                // never sees it exit or has to reap it).
                match libc::fork() {
                    0 => watch_group(watch, group),
                    -1 => libc::_exit(1),
                    _ => libc::_exit(0),
                }
            }
            middle => {
                let mut st = 0;
                while libc::waitpid(middle, &mut st, 0) < 0
                    && *libc::__errno_location() == libc::EINTR
                {}
                // No watcher, no start: a gateway must not outlive crossfire.
                if !libc::WIFEXITED(st) || libc::WEXITSTATUS(st) != 0 {
                    return Err(std::io::Error::from_raw_os_error(libc::EAGAIN));
                }
            }
        }
        libc::close(watch);
        Ok(())
    }
}

/// The watcher: in a group of its own, it waits for crossfire's end of the
/// pipe to close, then ends `group`; it leaves once `group` is gone.
///
/// # Safety
/// Runs in a forked child of a multi-threaded process: async-signal-safe
/// calls only, no allocation.
unsafe fn watch_group(watch: RawFd, group: libc::pid_t) -> ! {
    // Out of the gateway's group: its SIGTERM and SIGKILL are not for us.
    libc::setpgid(0, 0);
    for sig in [libc::SIGINT, libc::SIGHUP, libc::SIGPIPE] {
        libc::signal(sig, libc::SIG_IGN);
    }
    // Keep the pipe; close every other descriptor inherited from crossfire
    // (stdio, another gateway's pipe, std's exec-error pipe), or they would
    // stay open as long as the watcher lives.
    const WATCH: RawFd = 0;
    libc::dup2(watch, WATCH);
    if libc::syscall(libc::SYS_close_range, WATCH + 1, libc::c_uint::MAX, 0) != 0 {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        let max = limit.rlim_cur.min(65_536) as RawFd;
        for fd in WATCH + 1..max {
            libc::close(fd);
        }
    }
    loop {
        let mut pfd = libc::pollfd {
            fd: WATCH,
            events: libc::POLLIN,
            revents: 0,
        };
        if libc::poll(&mut pfd, 1, 100) > 0 {
            // crossfire never writes: readable means its end closed.
            let mut byte = 0u8;
            let n = libc::read(WATCH, (&mut byte as *mut u8).cast(), 1);
            if n == 0 || (n < 0 && *libc::__errno_location() != libc::EINTR) {
                end_group(group);
            }
        }
        if group_gone(group) {
            libc::_exit(0);
        }
    }
}

/// Whether no process of `group` exists any more.
unsafe fn group_gone(group: libc::pid_t) -> bool {
    libc::kill(-group, 0) != 0 && *libc::__errno_location() == libc::ESRCH
}

/// crossfire is gone: SIGTERM to the group, up to [`ORPHAN_GRACE`] for it
/// to go, then SIGKILL.
unsafe fn end_group(group: libc::pid_t) -> ! {
    // After a normal stop the group is gone before the pipe closes.
    if group_gone(group) {
        libc::_exit(0);
    }
    libc::kill(-group, libc::SIGTERM);
    let step = libc::timespec {
        tv_sec: 0,
        tv_nsec: 20_000_000,
    };
    for _ in 0..ORPHAN_GRACE.as_millis() / 20 {
        if group_gone(group) {
            libc::_exit(0);
        }
        libc::nanosleep(&step, std::ptr::null_mut());
    }
    libc::kill(-group, libc::SIGKILL);
    libc::_exit(0)
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

/// Every process of group `pgid`, with its `/proc/PID/stat` line.
pub fn group_members(pgid: i32) -> Vec<(String, String)> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    procs
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.to_string();
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
            let group = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(2))
                .and_then(|g| g.parse::<i32>().ok());
            (group == Some(pgid)).then_some((pid, stat))
        })
        .collect()
}

/// The TCP ports a process group listens on, from /proc: every process of
/// the group, its socket inodes, and the listening sockets of
/// /proc/net/tcp{,6} with those inodes. A gateway started on port 0 binds
/// a port the OS picks; this is how crossfire learns which, with no window
/// in which another server could take a port crossfire chose and let go.
pub fn listening_ports(pgid: i32) -> Vec<u16> {
    let mut inodes = std::collections::HashSet::new();
    for (pid, _) in group_members(pgid) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                if let Some(inode) = target
                    .to_str()
                    .and_then(|t| t.strip_prefix("socket:["))
                    .and_then(|t| t.strip_suffix(']'))
                {
                    inodes.insert(inode.to_string());
                }
            }
        }
    }
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if cols.len() < 10 || cols[3] != "0A" || !inodes.contains(cols[9]) {
                continue;
            }
            let port = cols[1]
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if let Some(p) = port.filter(|p| !ports.contains(p)) {
                ports.push(p);
            }
        }
    }
    ports
}

/// A free TCP port on 127.0.0.1, chosen by the OS (bind to port 0, read it,
/// release it) for a gateway that takes its port as an argument.
pub fn free_port() -> Result<u16, super::GatewayError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| super::GatewayError::start(format!("no free port on 127.0.0.1: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ports_a_group_listens_on_are_read_from_proc() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new("python3");
        cmd.args([
            "-c",
            "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)",
        ]);
        let mut g =
            ProcessGuard::spawn("listener", cmd, &dir.path().join("gateway.log")).expect("spawn");
        let start = std::time::Instant::now();
        let mut found = vec![];
        while found.is_empty() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
            found = listening_ports(g.pgid());
        }
        let printed: u16 = std::fs::read_to_string(dir.path().join("gateway.log"))
            .expect("log")
            .lines()
            .find_map(|l| l.trim().parse().ok())
            .expect("the port the child printed");
        assert_eq!(found, vec![printed]);
        g.stop(Duration::from_secs(1));
        assert!(listening_ports(g.pgid()).is_empty());
    }
    use std::os::unix::process::ExitStatusExt;

    fn guard(script: &str) -> (tempfile::TempDir, ProcessGuard) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        let g = ProcessGuard::spawn("test", cmd, &dir.path().join("gateway.log")).expect("spawn");
        (dir, g)
    }

    fn wait_exit(g: &mut ProcessGuard) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = g.exited() {
                return s;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "never exited");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn the_gateway_exit_code_and_signal_are_its_own() {
        let (_d, mut g) = guard("exit 7");
        assert_eq!(wait_exit(&mut g).code(), Some(7));
        let (_d, mut g) = guard("kill -TERM $$");
        assert_eq!(wait_exit(&mut g).signal(), Some(libc::SIGTERM));
    }

    #[test]
    fn a_program_that_cannot_be_executed_fails_to_spawn() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cmd = Command::new("/no/such/gateway");
        let err = ProcessGuard::spawn("x", cmd, &dir.path().join("gateway.log"))
            .expect_err("no such program");
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }

    /// Closing crossfire's end of the pipe (what any death of crossfire
    /// does) ends the whole group, even processes that ignore SIGTERM.
    #[test]
    fn closing_the_lifeline_ends_the_group() {
        let (_d, mut g) = guard("trap '' TERM; sleep 30; echo");
        std::thread::sleep(Duration::from_millis(200));
        let pgid = g.pgid();
        assert!(group_alive(pgid));
        let started = Instant::now();
        g.lifeline.take();
        let status = wait_exit(&mut g);
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(started.elapsed() < ORPHAN_GRACE + Duration::from_secs(1));
    }
}
