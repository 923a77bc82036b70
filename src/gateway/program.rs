//! Finding a system program crossfire runs beside a gateway (HAProxy,
//! Redis), and saying plainly what to install when it is missing: the
//! program, its Debian package, and the feature that needs it.

use super::GatewayError;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A program some feature of crossfire needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needed {
    /// The program's file name (`haproxy`).
    pub program: &'static str,
    /// The Debian package that installs it (`haproxy`).
    pub package: &'static str,
    /// What crossfire needs it for, completing "crossfire needs `haproxy`
    /// ... to ...".
    pub purpose: &'static str,
}

/// Folders searched after `PATH`: a daemon is often installed in an `sbin`
/// folder that is not on an ordinary user's `PATH` (HAProxy is
/// `/usr/sbin/haproxy` on Debian).
pub const SBIN: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// Finds `needed` on `PATH`, then in [`SBIN`].
///
/// ```
/// use crossfire::gateway::program::{find, Needed};
/// let sh = Needed { program: "sh", package: "dash", purpose: "run scripts" };
/// assert!(find(&sh).is_ok());
/// ```
pub fn find(needed: &Needed) -> Result<PathBuf, GatewayError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(SBIN.iter().map(PathBuf::from))
        .collect::<Vec<_>>();
    find_in(needed, &dirs)
}

/// Finds `needed` in `dirs`, first executable file wins; when none has it,
/// an error naming the program, what needs it, and the install command.
pub fn find_in(needed: &Needed, dirs: &[PathBuf]) -> Result<PathBuf, GatewayError> {
    dirs.iter()
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(needed.program))
        .find(|p| is_executable(p))
        .ok_or_else(|| GatewayError::start(missing(needed)))
}

/// The message for a program found nowhere.
pub fn missing(needed: &Needed) -> String {
    format!(
        "crossfire needs `{program}` to {purpose}, and found no `{program}` on PATH or in {sbin}; \
         install it with `apt-get install -y {package}` (Debian/Ubuntu package `{package}`)",
        program = needed.program,
        purpose = needed.purpose,
        package = needed.package,
        sbin = SBIN.join(", "),
    )
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Whether `path` is short enough to be a UNIX socket address (the kernel
/// takes 107 bytes and a terminating NUL).
pub fn fits_unix_socket(path: &Path) -> bool {
    <OsStr as std::os::unix::ffi::OsStrExt>::as_bytes(path.as_os_str()).len() < 108
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOOL: Needed = Needed {
        program: "haproxy",
        package: "haproxy",
        purpose: "run gateway replicas behind a load balancer (`replicas:`)",
    };

    #[test]
    fn a_missing_program_names_the_feature_and_the_install_command() {
        let empty = tempfile::tempdir().expect("temp dir");
        let err = find_in(&TOOL, &[empty.path().to_path_buf()]).expect_err("not there");
        insta::assert_snapshot!(err.to_string());
    }

    #[test]
    fn the_first_executable_file_of_that_name_is_found() {
        let dir = tempfile::tempdir().expect("temp dir");
        let not_exec = dir.path().join("a");
        let exec = dir.path().join("b");
        for d in [&not_exec, &exec] {
            std::fs::create_dir(d).expect("dir");
            std::fs::write(d.join("haproxy"), "#!/bin/sh\n").expect("file");
        }
        std::fs::set_permissions(exec.join("haproxy"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        // A folder of that name is no program either.
        let folder = dir.path().join("c");
        std::fs::create_dir_all(folder.join("haproxy")).expect("dir");
        let found = find_in(&TOOL, &[folder, not_exec, exec.clone()]).expect("found");
        assert_eq!(found, exec.join("haproxy"));
    }

    #[test]
    fn a_socket_path_longer_than_107_bytes_does_not_fit() {
        assert!(fits_unix_socket(Path::new(&"a".repeat(107))));
        assert!(!fits_unix_socket(Path::new(&"a".repeat(108))));
    }
}
