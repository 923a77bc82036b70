//! Hostile input files (issue 10): every file crossfire reads (scenario,
//! LiteLLM and Portkey configs, mock files) goes through one reader that
//! refuses, at once and by name, what would hang or exhaust it: nesting
//! thousands deep, files past the size limit, devices, FIFOs, folders and
//! symlink loops. A UTF-8 byte-order mark is accepted everywhere.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use support::{crossfire, wait_with_timeout, ChildGuard};

/// Each command that reads one input file, with the file last.
const READERS: &[(&str, &[&str])] = &[
    ("check", &["check"]),
    ("lint (LiteLLM)", &["lint"]),
    ("lint (Portkey)", &["lint", "--gateway", "portkey"]),
    ("drill", &["drill", "--gateway", "litellm", "--config"]),
    ("mock", &["mock"]),
    (
        "tax",
        &[
            "tax",
            "--monthly-spend",
            "100",
            "--selection-savings",
            "10",
            "--from",
        ],
    ),
];

/// Runs crossfire on `file` and returns its exit code and stderr, the temp
/// folder written as `<tmp>`. A watchdog, not a timing: before the fix the
/// nested file kept `check` busy for minutes and /dev/zero was read forever.
fn run(args: &[&str], file: &Path, tmp: &Path) -> (Option<i32>, String) {
    let err = tmp.join("stderr.txt");
    let child = crossfire()
        .args(args)
        .arg(file)
        .current_dir(tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(child);
    let code = wait_with_timeout(&mut child, Duration::from_secs(60));
    let text = std::fs::read_to_string(&err).unwrap_or_default();
    (code, text.replace(&tmp.display().to_string(), "<tmp>"))
}

/// Every reader, on each file, refuses it with exit 2 and a message.
fn refusals(files: &[(&str, PathBuf)], tmp: &Path) -> String {
    let mut shown = String::new();
    for (what, file) in files {
        for (name, args) in READERS {
            let (code, stderr) = run(args, file, tmp);
            assert_eq!(
                code,
                Some(2),
                "{name} on {what}: expected bad input (exit 2), got {code:?}: {stderr}"
            );
            shown.push_str(&format!("{what} | {name}: {}", stderr.trim_end()));
            shown.push('\n');
        }
    }
    shown
}

/// Regression: a 400 KB file of 200,000 nested `[` kept `check` and `lint`
/// busy for more than a minute (the YAML scanner is quadratic in depth).
#[test]
fn nesting_thousands_deep_is_refused_at_once_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let deep = tmp.path().join("deep.json");
    let levels = 200_000;
    std::fs::write(
        &deep,
        format!(
            "{{\"name\": {}{}}}\n",
            "[".repeat(levels),
            "]".repeat(levels)
        ),
    )
    .unwrap();
    let block = tmp.path().join("block.yaml");
    std::fs::write(&block, format!("{}x\n", "- ".repeat(levels))).unwrap();
    let shown = refusals(
        &[("flow nesting", deep), ("block nesting", block)],
        tmp.path(),
    );
    insta::assert_snapshot!(shown);
}

/// Regression: /dev/zero was read without limit (2 GB and growing); a FIFO,
/// a folder and a symlink loop were all "no such file or folder".
#[test]
fn what_is_not_a_regular_file_is_named_and_never_read() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("fifo.yaml");
    let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let folder = tmp.path().join("folder.yaml");
    std::fs::create_dir(&folder).unwrap();
    let a = tmp.path().join("loop-a.yaml");
    let b = tmp.path().join("loop-b.yaml");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let shown = refusals(
        &[
            ("device", PathBuf::from("/dev/zero")),
            ("fifo", fifo),
            ("folder", folder),
            ("symlink loop", a),
        ],
        tmp.path(),
    );
    insta::assert_snapshot!(shown);
}

/// A file past the size limit is refused before it is read whole; a file
/// that is not UTF-8 says so and where.
#[test]
fn files_past_the_size_limit_or_not_utf8_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.yaml");
    let line = "# a comment line that pads the file past the limit\n";
    let n = (crossfire::diag::MAX_INPUT_BYTES as usize) / line.len() + 1;
    std::fs::write(&big, line.repeat(n)).unwrap();
    let latin1 = tmp.path().join("latin1.yaml");
    std::fs::write(&latin1, b"name: caf\xe9\n").unwrap();
    let shown = refusals(&[("too big", big), ("latin-1", latin1)], tmp.path());
    insta::assert_snapshot!(shown);
}

/// Regression: a scenario starting with a UTF-8 byte-order mark failed with
/// `missing key traffic` at 1:2. Every input file takes one now, and
/// locations on the first line are not shifted by it.
#[test]
fn a_byte_order_mark_is_accepted_in_every_input_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let with_bom = |from: &str, name: &str| {
        let text = std::fs::read_to_string(root.join(from)).unwrap();
        let to = tmp.path().join(name);
        std::fs::write(&to, format!("\u{feff}{text}")).unwrap();
        to
    };
    let scenario = with_bom("scenarios/anthropic-overloaded-direct.yaml", "s.yaml");
    crossfire::scenario::load(&scenario).unwrap_or_else(|e| panic!("{e}"));
    let mock = with_bom("tests/data/mock/good.yaml", "m.yaml");
    crossfire::mock::load_file(&mock).unwrap_or_else(|e| panic!("{e}"));
    // Each command answers the same with and without the mark.
    for (args, from, name) in [
        (
            &["check"][..],
            "scenarios/anthropic-overloaded-direct.yaml",
            "s.yaml",
        ),
        (&["lint"][..], "examples/litellm/fallbacks.yaml", "l.yaml"),
        (
            &["lint", "--gateway", "portkey"][..],
            "examples/portkey/fallback.json",
            "p.json",
        ),
    ] {
        let (code, stderr) = run(args, &with_bom(from, name), tmp.path());
        let (plain_code, _) = run(args, &root.join(from), tmp.path());
        assert_ne!(code, Some(2), "{args:?} on a file with a BOM: {stderr}");
        assert_eq!(code, plain_code, "{args:?} on a file with a BOM: {stderr}");
    }
    let typo = tmp.path().join("typo.yaml");
    std::fs::write(&typo, "\u{feff}nme: x\n").unwrap();
    let e = crossfire::scenario::load(&typo).unwrap_err().to_string();
    assert!(e.contains("typo.yaml:1:1: unknown key `nme`"), "{e}");
}

/// A LiteLLM `include:` goes through the same reader: a device is named,
/// deep nesting refused at its place, and before an included device was
/// "not there".
#[test]
fn litellm_includes_are_read_within_the_same_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.yaml");
    std::fs::write(
        &config,
        "include:\n  - zero.yaml\nmodel_list:\n  - model_name: gpt\n    litellm_params:\n      model: openai/gpt-4o\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", tmp.path().join("zero.yaml")).unwrap();
    let (code, device) = run(&["lint"], &config, tmp.path());
    assert_eq!(code, Some(2), "{device}");
    std::fs::remove_file(tmp.path().join("zero.yaml")).unwrap();
    std::fs::write(
        tmp.path().join("zero.yaml"),
        format!(
            "model_list: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    )
    .unwrap();
    let (code, deep) = run(&["lint"], &config, tmp.path());
    assert_eq!(code, Some(2), "{deep}");
    insta::assert_snapshot!(format!("{device}{deep}"), @r"
    error: <tmp>/zero.yaml: a character device, not a regular file; crossfire reads its input from regular files
    error: <tmp>/zero.yaml:1:268: lists and maps nested more than 64 levels deep; crossfire reads files nested up to 64 levels (is a bracket left open?)
    ");
}
