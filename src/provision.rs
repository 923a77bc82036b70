//! Installs pinned tools into crossfire's cache, once: Python packages into a
//! virtual environment (`python3 -m venv` + pip). Concurrent crossfire
//! processes wait for each other on a file lock; a half-finished install is
//! redone; what got installed is checked against the pins, loudly.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The LiteLLM version crossfire installs when none is on PATH. 1.108.7
/// installed cleanly with the `proxy` extra from this registry on 2026-11-24;
/// 1.110.x did not (pip silently picked an older release).
pub const LITELLM_VERSION: &str = "1.108.7";

/// The Portkey gateway version crossfire installs (npm `@portkey-ai/gateway`).
pub const PORTKEY_VERSION: &str = "1.15.2";

/// The TensorZero version crossfire installs (PyPI `tensorzero`, whose wheel
/// carries the Rust gateway). crossfire starts the gateway through a private
/// helper of that wheel, so the pin is exact and checked after install.
pub const TENSORZERO_VERSION: &str = "2026.6.0";

/// Pins of the official SDKs used to judge the mocks' fidelity.
pub const OPENAI_SDK_VERSION: &str = "3.57.0";
/// See [`OPENAI_SDK_VERSION`].
pub const ANTHROPIC_SDK_VERSION: &str = "2.13.0";

/// Provisioning failed: an infrastructure error (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// No usable Python.
    #[error("cannot run `{python}` to create a virtual environment: {detail}; install Python 3.9+ or set CROSSFIRE_PYTHON")]
    NoPython {
        /// The interpreter tried.
        python: String,
        /// What went wrong.
        detail: String,
    },
    /// A step of the install failed.
    #[error("installing {what} failed at `{step}` (exit {code:?}); the last lines were:\n{tail}")]
    Step {
        /// What was being installed.
        what: String,
        /// The command.
        step: String,
        /// Its exit code.
        code: Option<i32>,
        /// The last lines of its output.
        tail: String,
    },
    /// The installed version is not the pinned one.
    #[error("{installer} installed {package} {got}, but {wanted} was pinned; crossfire will not run an unpinned version (pip picks an older release when companion packages are missing from the registry)")]
    VersionMismatch {
        /// `pip` or `npm`.
        installer: &'static str,
        /// Distribution name.
        package: String,
        /// The pin.
        wanted: String,
        /// What is there.
        got: String,
    },
    /// File system trouble in the cache.
    #[error("cache folder {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ProvisionError + '_ {
    move |source| ProvisionError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// crossfire's cache folder: `$CROSSFIRE_CACHE`, else `$XDG_CACHE_HOME/crossfire`,
/// else `~/.cache/crossfire`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CROSSFIRE_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir).join("crossfire");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("crossfire")
}

/// A Python virtual environment to provision.
#[derive(Debug, Clone)]
pub struct PythonEnvSpec {
    /// Folder name under `<cache>/python/`.
    pub name: String,
    /// pip requirements, pinned (`litellm[proxy]==1.108.7`).
    pub requirements: Vec<String>,
    /// (distribution, version) that must be installed afterwards.
    pub expect: Vec<(String, String)>,
}

impl PythonEnvSpec {
    /// The LiteLLM proxy at a version.
    pub fn litellm(version: &str) -> PythonEnvSpec {
        PythonEnvSpec {
            name: format!("litellm-{version}"),
            requirements: vec![format!("litellm[proxy]=={version}")],
            expect: vec![("litellm".into(), version.into())],
        }
    }

    /// The TensorZero Python package (with its embedded gateway) at a version.
    pub fn tensorzero(version: &str) -> PythonEnvSpec {
        PythonEnvSpec {
            name: format!("tensorzero-{version}"),
            requirements: vec![format!("tensorzero=={version}")],
            expect: vec![("tensorzero".into(), version.into())],
        }
    }

    /// The official OpenAI and Anthropic Python SDKs.
    pub fn sdks() -> PythonEnvSpec {
        PythonEnvSpec {
            name: format!("sdks-openai-{OPENAI_SDK_VERSION}-anthropic-{ANTHROPIC_SDK_VERSION}"),
            requirements: vec![
                format!("openai=={OPENAI_SDK_VERSION}"),
                format!("anthropic=={ANTHROPIC_SDK_VERSION}"),
            ],
            expect: vec![
                ("openai".into(), OPENAI_SDK_VERSION.into()),
                ("anthropic".into(), ANTHROPIC_SDK_VERSION.into()),
            ],
        }
    }
}

/// A provisioned virtual environment.
#[derive(Debug, Clone)]
pub struct PythonEnv {
    /// The venv folder.
    pub root: PathBuf,
}

impl PythonEnv {
    /// Its Python interpreter.
    pub fn python(&self) -> PathBuf {
        self.root.join("bin").join("python")
    }

    /// A console script installed in it (`litellm`).
    pub fn bin(&self, name: &str) -> PathBuf {
        self.root.join("bin").join(name)
    }
}

const READY: &str = ".crossfire-ready";

/// An exclusive lock on a file, released on drop.
struct FileLock(File);

impl FileLock {
    fn acquire(path: &Path, progress: &mut dyn FnMut(&str)) -> Result<FileLock, ProvisionError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            progress("another crossfire is installing the same environment; waiting for it");
            // SAFETY: as above.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(ProvisionError::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::last_os_error(),
                });
            }
        }
        Ok(FileLock(file))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: unlocking our own descriptor.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// The Python interpreter used to create environments: `$CROSSFIRE_PYTHON` or `python3`.
pub fn system_python() -> String {
    std::env::var("CROSSFIRE_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Makes sure the environment exists and holds the pinned versions,
/// installing it if needed. `progress` receives one line per step.
pub fn ensure_python_env(
    spec: &PythonEnvSpec,
    progress: &mut dyn FnMut(&str),
) -> Result<PythonEnv, ProvisionError> {
    let base = cache_dir().join("python");
    fs::create_dir_all(&base).map_err(io_err(&base))?;
    let root = base.join(&spec.name);
    let env = PythonEnv { root: root.clone() };
    let ready = root.join(READY);
    let wanted = spec.requirements.join("\n");
    if fs::read_to_string(&ready).is_ok_and(|r| r == wanted) {
        verify_once(&env, &spec.expect)?;
        return Ok(env);
    }
    let _lock = FileLock::acquire(&base.join(format!("{}.lock", spec.name)), progress)?;
    if fs::read_to_string(&ready).is_ok_and(|r| r == wanted) {
        verify_once(&env, &spec.expect)?;
        return Ok(env);
    }
    if root.exists() {
        progress(&format!(
            "removing an unfinished install at {}",
            root.display()
        ));
        fs::remove_dir_all(&root).map_err(io_err(&root))?;
    }
    let what = spec.requirements.join(" ");
    progress(&format!(
        "installing {what} into {} (once; later runs reuse it)",
        root.display()
    ));
    let python = system_python();
    let status = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ProvisionError::NoPython {
            python: python.clone(),
            detail: e.to_string(),
        })?;
    if !status.status.success() {
        return Err(ProvisionError::NoPython {
            python,
            detail: String::from_utf8_lossy(&status.stderr).trim().to_string(),
        });
    }
    let mut pip = Command::new(env.python());
    pip.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
    ])
    .args(&spec.requirements);
    run_streaming(pip, &what, progress)?;
    verify_once(&env, &spec.expect)?;
    let mut f = File::create(&ready).map_err(io_err(&ready))?;
    f.write_all(wanted.as_bytes()).map_err(io_err(&ready))?;
    progress(&format!("installed {what}"));
    Ok(env)
}

/// An npm project to provision: a `package.json` installed into the cache.
#[derive(Debug, Clone)]
pub struct NodeEnvSpec {
    /// Folder name under `<cache>/node/`.
    pub name: String,
    /// The `package.json` written there.
    pub package_json: String,
    /// (package, version) that must be installed afterwards.
    pub expect: Vec<(String, String)>,
}

impl NodeEnvSpec {
    /// The Portkey gateway at a version. `@hono/node-server` and `hono` are
    /// pinned to the versions of the gateway's own lockfile at v1.15.2: the
    /// package ships no lockfile, and the newest `@hono/node-server` breaks
    /// every streaming request (Portkey-AI/gateway#1389, measured here).
    pub fn portkey(version: &str) -> NodeEnvSpec {
        let package_json = serde_json::json!({
            "name": "crossfire-portkey",
            "private": true,
            "dependencies": {"@portkey-ai/gateway": version},
            "overrides": {"@hono/node-server": "1.13.5", "hono": "4.9.7"}
        });
        NodeEnvSpec {
            name: format!("portkey-{version}"),
            package_json: serde_json::to_string_pretty(&package_json).unwrap_or_default(),
            expect: vec![
                ("@portkey-ai/gateway".into(), version.into()),
                ("@hono/node-server".into(), "1.13.5".into()),
            ],
        }
    }
}

impl NodeEnvSpec {
    /// The Mermaid parser (with jsdom) that checks report diagrams in tests.
    pub fn mermaid_check() -> NodeEnvSpec {
        let package_json = serde_json::json!({
            "name": "crossfire-mermaid-check",
            "private": true,
            "type": "module",
            "dependencies": {"mermaid": "11.17.2", "jsdom": "25.0.1"}
        });
        NodeEnvSpec {
            name: "mermaid-11.17.2".into(),
            package_json: serde_json::to_string_pretty(&package_json).unwrap_or_default(),
            expect: vec![
                ("mermaid".into(), "11.17.2".into()),
                ("jsdom".into(), "25.0.1".into()),
            ],
        }
    }
}

/// The version of an installed npm package, from its `package.json`.
pub fn node_package_version(root: &Path, package: &str) -> Option<String> {
    let text =
        fs::read_to_string(root.join("node_modules").join(package).join("package.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("version")?.as_str().map(str::to_string)
}

/// Makes sure the npm project exists with the pinned versions, installing it
/// once. Returns its folder.
pub fn ensure_node_env(
    spec: &NodeEnvSpec,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, ProvisionError> {
    let base = cache_dir().join("node");
    fs::create_dir_all(&base).map_err(io_err(&base))?;
    let root = base.join(&spec.name);
    let ready = root.join(READY);
    let verify = |root: &Path| -> Result<(), ProvisionError> {
        for (package, wanted) in &spec.expect {
            let got = node_package_version(root, package).unwrap_or_else(|| "nothing".into());
            if &got != wanted {
                return Err(ProvisionError::VersionMismatch {
                    installer: "npm",
                    package: package.clone(),
                    wanted: wanted.clone(),
                    got,
                });
            }
        }
        Ok(())
    };
    if fs::read_to_string(&ready).is_ok_and(|r| r == spec.package_json) {
        verify(&root)?;
        return Ok(root);
    }
    let _lock = FileLock::acquire(&base.join(format!("{}.lock", spec.name)), progress)?;
    if fs::read_to_string(&ready).is_ok_and(|r| r == spec.package_json) {
        verify(&root)?;
        return Ok(root);
    }
    if root.exists() {
        progress(&format!(
            "removing an unfinished install at {}",
            root.display()
        ));
        fs::remove_dir_all(&root).map_err(io_err(&root))?;
    }
    fs::create_dir_all(&root).map_err(io_err(&root))?;
    fs::write(root.join("package.json"), &spec.package_json).map_err(io_err(&root))?;
    let what = spec
        .expect
        .iter()
        .map(|(p, v)| format!("{p}@{v}"))
        .collect::<Vec<_>>()
        .join(" ");
    progress(&format!(
        "installing {what} into {} with npm (once; later runs reuse it)",
        root.display()
    ));
    let mut npm = Command::new("npm");
    npm.args([
        "install",
        "--no-audit",
        "--no-fund",
        "--omit=dev",
        "--loglevel=error",
    ])
    .current_dir(&root);
    run_streaming(npm, &what, progress)?;
    verify(&root)?;
    fs::write(&ready, &spec.package_json).map_err(io_err(&ready))?;
    progress(&format!("installed {what}"));
    Ok(root)
}

/// Runs an install command, passing each output line to `progress` and
/// keeping the last lines for the error.
fn run_streaming(
    mut cmd: Command,
    what: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<(), ProvisionError> {
    let step = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ProvisionError::Step {
            what: what.into(),
            step: step.clone(),
            code: None,
            tail: e.to_string(),
        })?;
    let stderr = child.stderr.take();
    let err_thread = std::thread::spawn(move || {
        let mut lines = Vec::new();
        if let Some(e) = stderr {
            for line in BufReader::new(e).lines().map_while(Result::ok) {
                lines.push(line);
            }
        }
        lines
    });
    let mut tail: Vec<String> = Vec::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.starts_with("Collecting")
                || line.starts_with("Installing")
                || line.starts_with("Successfully")
                || line.starts_with("added ")
            {
                progress(line.trim());
            }
            tail.push(line);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
    }
    let status = child.wait().map_err(|e| ProvisionError::Step {
        what: what.into(),
        step: step.clone(),
        code: None,
        tail: e.to_string(),
    })?;
    let err_lines = err_thread.join().unwrap_or_default();
    if !status.success() {
        tail.extend(err_lines.into_iter().rev().take(20).rev());
        return Err(ProvisionError::Step {
            what: what.into(),
            step,
            code: status.code(),
            tail: tail.join("\n"),
        });
    }
    Ok(())
}

/// Checks the installed versions against the pins, once per process.
fn verify_once(env: &PythonEnv, expect: &[(String, String)]) -> Result<(), ProvisionError> {
    // Environments this process has checked: what runs must be what was
    // pinned, but one check per process is enough.
    static VERIFIED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut done = VERIFIED.lock().unwrap_or_else(|p| p.into_inner());
    if !done.contains(&env.root) {
        verify_versions(env, expect)?;
        done.push(env.root.clone());
    }
    Ok(())
}

/// Checks installed distribution versions against the pins.
pub fn verify_versions(env: &PythonEnv, expect: &[(String, String)]) -> Result<(), ProvisionError> {
    for (package, wanted) in expect {
        let out = Command::new(env.python())
            .args([
                "-c",
                "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))",
                package,
            ])
            .stdin(Stdio::null())
            .output()
            .map_err(io_err(&env.root))?;
        let got = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || &got != wanted {
            return Err(ProvisionError::VersionMismatch {
                installer: "pip",
                package: package.clone(),
                wanted: wanted.clone(),
                got: if got.is_empty() {
                    "nothing".into()
                } else {
                    got
                },
            });
        }
    }
    Ok(())
}

/// The `site-packages` folder of the Python environment a console script
/// (`<env>/bin/litellm`) belongs to: `<env>/lib/python3.X/site-packages`. The
/// same layout holds for a venv, a pipx venv, `~/.local` and `/usr/local`;
/// a symlinked script (pipx) is followed to its environment first.
pub fn site_packages_of(script: &Path) -> Option<PathBuf> {
    let script = fs::canonicalize(script).unwrap_or_else(|_| script.to_path_buf());
    let root = script.parent()?.parent()?;
    let mut found: Vec<PathBuf> = fs::read_dir(root.join("lib"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found.pop()
}

/// The version of a distribution installed in `site_packages`, read from its
/// `<name>-<version>.dist-info` folder (what `importlib.metadata` reads),
/// without starting Python.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("litellm-1.108.7.dist-info")).unwrap();
/// std::fs::create_dir(dir.path().join("litellm_enterprise-0.1.79.dist-info")).unwrap();
/// assert_eq!(crossfire::provision::installed_version(dir.path(), "litellm").as_deref(), Some("1.108.7"));
/// ```
pub fn installed_version(site_packages: &Path, distribution: &str) -> Option<String> {
    let prefix = format!("{}-", distribution.replace('-', "_"));
    fs::read_dir(site_packages)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .find_map(|name| {
            let version = name.strip_suffix(".dist-info")?.strip_prefix(&prefix)?;
            // `litellm_enterprise-...` starts with `litellm` too: a version
            // starts with a digit.
            version
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| version.to_string())
        })
}

#[cfg(test)]
mod lookup_tests {
    use super::*;

    #[test]
    fn the_version_is_found_beside_a_console_script_and_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("venv");
        let site = env.join("lib/python3.11/site-packages");
        fs::create_dir_all(site.join("litellm-1.108.7.dist-info")).unwrap();
        fs::create_dir_all(site.join("litellm_proxy_extras-0.4.110.dist-info")).unwrap();
        fs::create_dir_all(env.join("bin")).unwrap();
        let script = env.join("bin/litellm");
        fs::write(&script, "#!/bin/sh\n").unwrap();
        assert_eq!(site_packages_of(&script).as_deref(), Some(site.as_path()));
        // pipx puts a symlink on PATH, into its own venv.
        let on_path = dir.path().join("local-bin");
        fs::create_dir_all(&on_path).unwrap();
        std::os::unix::fs::symlink(&script, on_path.join("litellm")).unwrap();
        let found = site_packages_of(&on_path.join("litellm")).unwrap();
        assert_eq!(
            installed_version(&found, "litellm").as_deref(),
            Some("1.108.7")
        );
        assert_eq!(installed_version(&found, "openai"), None);
    }
}
