//! The Portkey target: the open-source Portkey gateway (npm
//! `@portkey-ai/gateway`, pinned), installed by crossfire into its cache, run
//! with node on 127.0.0.1 only and sealed by a preload script; the team's
//! config rewritten to the mocks and sent with every request as
//! `x-portkey-config`.

pub mod account;
pub mod adapter;
pub mod config;
pub mod lint;

pub use adapter::Portkey;

use super::launcher::{launch, ProcessSpec};
use super::{GatewayError, RunningGateway};
use crate::provision::{self, NodeEnvSpec};
use config::PortkeyConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The preload that keeps the gateway on loopback and refuses egress.
pub const SEAL: &str = include_str!("seal.cjs");

/// The Portkey gateway version crossfire installs (npm `@portkey-ai/gateway`).
pub const VERSION: &str = "1.15.2";

/// The Portkey gateway at a version, as crossfire installs it. `@hono/node-server`
/// and `hono` are pinned to the versions of the gateway's own lockfile at
/// v1.15.2: the package ships no lockfile, and the newest `@hono/node-server`
/// breaks every streaming request (Portkey-AI/gateway#1389, measured here).
pub fn env_spec(version: &str) -> NodeEnvSpec {
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

/// The installed gateway: its entry script.
#[derive(Debug, Clone)]
pub struct PortkeyInstall {
    /// `.../node_modules/@portkey-ai/gateway/build/start-server.js`.
    pub entry: PathBuf,
    /// The pinned version.
    pub version: String,
    /// The version its installed `package.json` says.
    pub installed_version: Option<String>,
}

/// Installs (once) and finds the gateway: `version`, or the pinned one.
pub fn install(
    version: Option<&str>,
    progress: &mut dyn FnMut(&str),
) -> Result<PortkeyInstall, provision::ProvisionError> {
    let version = version.unwrap_or(VERSION);
    let root = provision::ensure_node_env(&env_spec(version), progress)?;
    Ok(PortkeyInstall {
        entry: root.join("node_modules/@portkey-ai/gateway/build/start-server.js"),
        version: version.to_string(),
        installed_version: provision::node_package_version(&root, "@portkey-ai/gateway"),
    })
}

/// Starts the gateway, sealed, and waits until it answers.
pub async fn start(
    cfg: &PortkeyConfig,
    install: &PortkeyInstall,
    bases: &BTreeMap<String, String>,
    run_dir: &Path,
    startup_timeout: Duration,
    port: Option<u16>,
    cancel: &CancellationToken,
) -> Result<RunningGateway, GatewayError> {
    let doc = config::rewrite(cfg, bases);
    let run_dir = &super::absolute(run_dir)?;
    let config_path = run_dir.join("portkey-config.json");
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| GatewayError::start(format!("cannot encode the Portkey config: {e}")))?;
    super::write_file(&config_path, &text)?;
    let seal = run_dir.join("crossfire-seal.cjs");
    super::write_file(&seal, SEAL)?;
    let escapes = run_dir.join("escapes.jsonl");
    // The seal appends; a reused run folder must not report old escapes.
    let _ = std::fs::remove_file(&escapes);
    // Port 0: the OS picks, crossfire reads which from /proc. The seal,
    // not a sink, keeps it in: Node's fetch ignores proxy variables.
    let mut spec = ProcessSpec::new("portkey", "node", run_dir)
        .arg("--require")
        .arg(&seal)
        .arg(&install.entry)
        .arg(format!("--port={}", port.unwrap_or(0)))
        .arg("--headless")
        .env("CROSSFIRE_ESCAPES", &escapes)
        .env("NODE_ENV", "production");
    spec.sink = false;
    spec.listen = super::launcher::listen(port);
    spec.timeout = startup_timeout;
    spec.hint = Some("install Node.js 18 or newer");
    let up = launch(spec, run_dir, cancel).await?;
    let compact = serde_json::to_string(&doc)
        .map_err(|e| GatewayError::start(format!("cannot encode the Portkey config: {e}")))?;
    let mut gw = RunningGateway::at(
        up.base_url,
        BTreeMap::from([("x-portkey-config".to_string(), compact)]),
    );
    gw.process = Some(up.guard);
    gw.startup = up.startup;
    gw.health = Some(up.health);
    gw.escapes_file = Some(escapes);
    gw.account_headers = &["x-portkey-"];
    gw.pinned_version = Some(install.version.clone());
    // Portkey reports no version: its installed package says which one ran.
    gw.installed_version = install.installed_version.clone();
    Ok(gw)
}

#[cfg(test)]
mod tests {
    /// Every way a Node server can be asked to listen ends on loopback.
    #[test]
    fn the_seal_keeps_every_listen_form_on_loopback() {
        let dir = tempfile::tempdir().expect("temp dir");
        let seal = dir.path().join("seal.cjs");
        std::fs::write(&seal, super::SEAL).expect("write seal");
        let script = dir.path().join("listen.cjs");
        std::fs::write(
            &script,
            r#"const http = require('http');
const forms = [
  s => s.listen(), s => s.listen(() => {}), s => s.listen(undefined, '0.0.0.0', () => {}),
  s => s.listen(0), s => s.listen(0, '0.0.0.0'), s => s.listen('0', '::'),
  s => s.listen({ port: 0, host: '0.0.0.0' }), s => s.listen(0, () => {}),
];
forms.forEach((form, i) => {
  const s = http.createServer();
  s.on('listening', () => { console.log(i, s.address().address); s.close(); });
  form(s);
});
"#,
        )
        .expect("write script");
        let out = std::process::Command::new("node")
            .arg("--require")
            .arg(&seal)
            .arg(&script)
            .output()
            .expect("node runs (Node.js 18+ is a prerequisite)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort();
        assert_eq!(lines.len(), 8, "{text}");
        for l in lines {
            assert!(l.ends_with(" 127.0.0.1"), "listened elsewhere: {l}");
        }
    }
}
