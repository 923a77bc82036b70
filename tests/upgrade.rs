//! `crossfire drill --versions OLD,NEW`: the same drill on two real
//! versions of a gateway, and the cells that route differently. The pairs
//! and what differs were found by running them here; the LiteLLM pair
//! (1.90.7 and 1.108.7) is run by the README's command in tests/readme.rs.

mod support;

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn versions_must_be_two_different_versions() {
    for (versions, says) in [
        ("1.108.7", "is two different versions"),
        ("1.108.7,1.108.7", "is two different versions"),
        ("1.108.7,", "is two different versions"),
        ("1.90.7,1.108.7;true", "is not a version"),
    ] {
        let out = support::crossfire()
            .args(["drill", "--gateway", "litellm", "--config"])
            .arg(root().join("examples/litellm/fallbacks.yaml"))
            .args(["--versions", versions])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{versions}: {stderr}");
        assert!(
            stderr.contains(&format!("--versions {versions}")),
            "{stderr}"
        );
        assert!(stderr.contains(says), "{versions}: {stderr}");
    }
    // A diff of two versions is not a snapshot check.
    let out = support::crossfire()
        .args(["drill", "--gateway", "litellm", "--config"])
        .arg(root().join("examples/litellm/fallbacks.yaml"))
        .args(["--versions", "1.90.7,1.108.7", "--snapshots", "snaps"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--snapshots"));
}

/// Measured on this machine's PyPI mirror (2026-12-01): LiteLLM 1.110.2's
/// `proxy` extra asks for `litellm-proxy==1.110.2`, which the registry
/// lacks; pip's resolver, asked for the newest release below it, lands on
/// 1.108.7 (1.108.8 to 1.110.1 lack `litellm-proxy-extras` releases).
#[test]
fn an_uninstallable_version_is_named_with_pips_reason_and_the_newest_that_installs() {
    let out = support::crossfire()
        .args(["drill", "--gateway", "litellm", "--config"])
        .arg(root().join("examples/litellm/fallbacks.yaml"))
        .args(["--versions", "1.108.7,1.110.2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("error: --versions 1.108.7,1.110.2: litellm 1.110.2 cannot be installed: ERROR: Could not find a version that satisfies the requirement litellm-proxy==1.110.2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the registry has litellm 1.110.2, but not everything it needs"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the newest version below it that installs here: 1.108.7"),
        "{stderr}"
    );
}

/// Portkey 1.9.8 and 1.15.2 (npm), measured here: 1.9.8's process exits
/// when an upstream stream is cut (Node's fetch raises `other side closed`
/// and nothing catches it); 1.15.2 passes the cut stream on and lives.
#[test]
fn portkey_1_9_8_dies_on_a_cut_stream_and_1_15_2_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::crossfire()
        .args(["drill", "--gateway", "portkey", "--config"])
        .arg(root().join("examples/portkey/fallback.json"))
        .args([
            "--versions",
            "1.9.8,1.15.2",
            "--classes",
            "stream_cut",
            "--out",
        ])
        .arg(dir.path())
        .arg("--markdown")
        .arg(dir.path().join("diff.md"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("CHANGED on portkey 1.9.8 the gateway's process exited during the drill, on 1.15.2 it did not"),
        "{stdout}"
    );
    let diff: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("upgrade-diff.json")).unwrap())
            .unwrap();
    let runs = diff["runs"].as_array().unwrap();
    assert_eq!(runs[0]["reported"], "1.9.8");
    assert_eq!(runs[1]["reported"], "1.15.2");
    assert!(runs[0]["gateway_exited"]
        .as_str()
        .unwrap()
        .contains("exit status: 1"));
    assert!(runs[1]["gateway_exited"].is_null());
    let md = std::fs::read_to_string(dir.path().join("diff.md")).unwrap();
    assert!(
        md.starts_with("# Upgrade diff: portkey 1.9.8 → 1.15.2\n"),
        "{md}"
    );
    assert!(
        md.contains("- on portkey 1.9.8 the gateway's process exited during the drill"),
        "{md}"
    );
    // The old version's own drill says so too.
    let drill: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("portkey-1.9.8/drill.json")).unwrap(),
    )
    .unwrap();
    assert!(
        drill["gateway_exited"]
            .as_str()
            .unwrap()
            .contains("other side closed"),
        "{drill}"
    );
}
