//! Every malformed scenario in tests/data/scenarios/bad is refused before
//! anything starts, with a message naming file:line:column, what was wrong and
//! what would be right. None panics. The messages are snapshotted.

use std::path::Path;

#[test]
fn malformed_scenarios_are_refused_with_located_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenarios/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 25,
        "only {} malformed scenarios",
        files.len()
    );
    let mut shown = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
        let result = std::panic::catch_unwind(|| {
            crossfire::scenario::load(relative).and_then(|s| crossfire::scenario::preflight(&s))
        });
        let message = match result {
            Err(_) => panic!("{} panicked", relative.display()),
            Ok(Ok(())) => panic!("{} was accepted", relative.display()),
            Ok(Err(e)) => e.to_string(),
        };
        let name = relative.display().to_string();
        // A template error names the template, which sits beside its scenario.
        assert!(
            message.starts_with(name.trim_end_matches(".yaml")),
            "the message does not start with the file: {message}"
        );
        shown.push(message);
    }
    insta::assert_snapshot!(shown.join("\n"));
}

#[test]
fn the_shipped_scenarios_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for file in crossfire::runner::discover(&[dir]).unwrap() {
        let s = crossfire::scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
        crossfire::scenario::preflight(&s).unwrap();
    }
}
