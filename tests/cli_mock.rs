//! `crossfire mock` as a user runs it: flags and files in, URLs out, a journal
//! on disk, exit 0 on SIGTERM, exit 2 with a located message on bad input.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::{crossfire, wait_with_timeout, ChildGuard};

#[test]
fn bad_mock_inputs_exit_2_with_located_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mock");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("bad-"))
        .collect();
    files.sort();
    let mut shown = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let out = crossfire()
            .current_dir(&dir)
            .args(["mock", &name])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        shown.push(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    insta::assert_snapshot!(shown.join("\n"));
}

#[test]
fn bad_mock_flags_exit_2_naming_the_flag() {
    let cases: &[&[&str]] = &[
        &["--deployment", "a=opneai"],
        &["--deployment", "a"],
        &["--deployment", "a=openai", "--fault", "b=rate_limit"],
        &[
            "--deployment",
            "a=openai",
            "--fault",
            "a=rate_limit@frist:2",
        ],
        &["--deployment", "a=openai", "--fault", "a=timeout(delay=5x)"],
        &[],
    ];
    let mut shown = Vec::new();
    for args in cases {
        let out = crossfire().arg("mock").args(*args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        shown.push(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    insta::assert_snapshot!(shown.join("\n"));
}

#[test]
fn serves_prints_urls_journals_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mock/good.yaml");
    let mut child = ChildGuard(
        crossfire()
            .args(["mock", "--json", "--journal"])
            .arg(&journal)
            .arg(&good)
            .args(["--deployment", "extra=gemini"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let lines = support::lines(child.stdout.take().unwrap());
    let mut urls = std::collections::HashMap::new();
    for n in 0..3 {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("line {n} of `crossfire mock` never came: {e}"))
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        urls.insert(
            v["id"].as_str().unwrap().to_string(),
            v["url"].as_str().unwrap().to_string(),
        );
    }
    assert!(urls["claude"].starts_with("http://127.0.0.1:"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let statuses: Vec<u16> = rt.block_on(async {
        let c = reqwest::Client::new();
        let mut s = Vec::new();
        for i in 0..3 {
            let r = c
                .post(format!("{}/v1/messages", urls["claude"]))
                .json(
                    &serde_json::json!({"model": "claude-3-opus", "max_tokens": 5,
                    "messages": [{"role": "user", "content": format!("hi [xf:cli:{i}]")}]}),
                )
                .send()
                .await
                .unwrap();
            s.push(r.status().as_u16());
        }
        s
    });
    assert_eq!(statuses, [429, 429, 200]);
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(status, Some(0));
    let attempts = mock_providers::journal::read_jsonl(&journal).unwrap();
    let markers: Vec<_> = attempts.iter().map(|a| a.marker.clone().unwrap()).collect();
    assert_eq!(markers, ["xf:cli:0", "xf:cli:1", "xf:cli:2"]);
}

/// A `hang` holds its client forever, yet SIGTERM still ends `crossfire
/// mock` at once (exit 0), and the journal on disk has the hung attempt.
#[test]
fn a_hang_from_a_flag_does_not_hold_up_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let mut child = ChildGuard(
        crossfire()
            .args(["mock", "--json", "--journal"])
            .arg(&journal)
            .args(["--deployment", "gpt=openai"])
            .args(["--fault", "gpt=hang@outage:from=0s,for=1h"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let lines = support::lines(child.stdout.take().unwrap());
    let line = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("`crossfire mock` printed no URL")
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = v["url"].as_str().unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/v1/chat/completions"))
            .json(&serde_json::json!({"model": "gpt-4o",
                "messages": [{"role": "user", "content": "hi [xf:cli:h]"}]}))
            .timeout(Duration::from_millis(700))
            .send()
            .await
            .unwrap_err()
    });
    assert!(err.is_timeout(), "{err}");
    let began = std::time::Instant::now();
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(status, Some(0));
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    let attempts = mock_providers::journal::read_jsonl(&journal).unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0].outcome,
        mock_providers::Outcome::Fault(mock_providers::FailureClass::Hang)
    );
    assert_eq!(attempts[0].status, None);
}
