//! No import circles between the record types, the runner and the reporters
//! (STYLE.md: lower layers never import higher ones). Reads `src/` and lists,
//! per top-level module, the `crate::X` it names outside comments and
//! `#[cfg(test)]` items; `scripts/module_edges.py` prints the whole graph.

use regex::Regex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `text` without line comments (doc links are no imports).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` without the items that follow `#[cfg(test)]`: a braced block, or
/// up to the `;` of a `mod x;`.
fn without_test_items(text: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let after = &rest[at + MARK.len()..];
        let brace = after.find('{');
        let semi = after.find(';');
        let end = match (brace, semi) {
            (Some(b), Some(s)) if s < b => s + 1,
            (None, Some(s)) => s + 1,
            (Some(b), _) => {
                let mut depth = 0;
                let mut end = after.len();
                for (i, c) in after[b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules `module` (`src/<module>.rs` and `src/<module>/`)
/// names, itself left out.
fn imports(module: &str) -> BTreeSet<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    let single = src.join(format!("{module}.rs"));
    if single.is_file() {
        files.push(single);
    }
    if src.join(module).is_dir() {
        rust_files(&src.join(module), &mut files);
    }
    assert!(!files.is_empty(), "no module `{module}` in src/");
    let path = Regex::new(r"crate::(\w+)").unwrap();
    let group = Regex::new(r"crate::\{([^}]*)\}").unwrap();
    let mut found = BTreeSet::new();
    for f in files {
        let text = without_test_items(&without_comments(&std::fs::read_to_string(f).unwrap()));
        found.extend(path.captures_iter(&text).map(|c| c[1].to_string()));
        for c in group.captures_iter(&text) {
            found.extend(
                c[1].split(',')
                    .filter_map(|item| item.trim().split("::").next())
                    .filter(|m| !m.is_empty())
                    .map(str::to_string),
            );
        }
    }
    found.remove(module);
    found
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_scanner_sees_imports_and_skips_comments_and_tests() {
    let text = "use crate::a::X;\nuse crate::{b, c::Y};\n/// [`Z`](crate::d::Z)\n#[cfg(test)]\nmod tests { use crate::e; }\n";
    let kept = without_test_items(&without_comments(text));
    assert!(kept.contains("crate::a") && kept.contains("crate::{b, c::Y}"));
    assert!(!kept.contains("crate::d") && !kept.contains("crate::e"));
}

/// The record types are a leaf: everything reads them, they read nothing.
#[test]
fn records_import_nothing_of_crossfire() {
    assert_eq!(imports("records"), set(&[]));
}

/// Paths are joined from records and mock attempts only.
#[test]
fn paths_import_only_the_records() {
    assert_eq!(imports("paths"), set(&["records"]));
}

/// The run folder's files are written from the record types alone.
#[test]
fn the_run_folder_imports_only_records_and_paths() {
    assert_eq!(imports("run_folder"), set(&["paths", "records"]));
}

/// What a run produced is read by the runner, the reporters and the CLI,
/// so it imports none of them.
#[test]
fn the_timeline_imports_only_the_records() {
    assert_eq!(imports("timeline"), set(&["records"]));
}

#[test]
fn outcomes_import_neither_the_runner_nor_the_reporters() {
    let found = imports("outcome");
    for higher in ["runner", "report", "traffic", "harness", "drill", "compare"] {
        assert!(
            !found.contains(higher),
            "outcome imports {higher}: {found:?}"
        );
    }
}

/// The runner emits events; reporters consume them. Neither names the other.
#[test]
fn the_runner_and_the_reporters_do_not_import_each_other() {
    let runner = imports("runner");
    let report = imports("report");
    assert!(
        !runner.contains("report"),
        "runner imports report: {runner:?}"
    );
    assert!(
        !report.contains("runner"),
        "report imports runner: {report:?}"
    );
}

/// The traffic driver fills records; records and paths never reach back.
#[test]
fn nothing_below_the_traffic_driver_imports_it() {
    for lower in ["records", "paths", "run_folder", "outcome", "snapshot"] {
        assert!(
            !imports(lower).contains("traffic"),
            "{lower} imports traffic"
        );
    }
}

/// Every top-level module of the library (`src/*.rs`, `src/*/`), `main.rs`,
/// `lib.rs` and the binary's `cli/` left out.
fn modules() -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut names: BTreeSet<String> = BTreeSet::new();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let p = e.path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if ["main", "lib", "cli"].contains(&name.as_str()) {
            continue;
        }
        // A folder is a module when it holds Rust (not `snapshots/`).
        let rust_dir = p.is_dir()
            && std::fs::read_dir(&p)
                .unwrap()
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "rs"));
        if rust_dir || p.extension().is_some_and(|x| x == "rs") {
            names.insert(name);
        }
    }
    names.into_iter().collect()
}

/// No import circle anywhere in the library: the modules can be put in an
/// order where each imports only modules before it.
#[test]
fn no_module_is_in_an_import_circle() {
    let all = modules();
    let mut edges: std::collections::BTreeMap<String, BTreeSet<String>> = all
        .iter()
        .map(|m| {
            let known: BTreeSet<String> =
                imports(m).into_iter().filter(|d| all.contains(d)).collect();
            (m.clone(), known)
        })
        .collect();
    // Peel off modules that import nothing left; what remains is circular.
    loop {
        let leaves: Vec<String> = edges
            .iter()
            .filter(|(_, d)| d.is_empty())
            .map(|(m, _)| m.clone())
            .collect();
        if leaves.is_empty() {
            break;
        }
        for l in &leaves {
            edges.remove(l);
        }
        for d in edges.values_mut() {
            for l in &leaves {
                d.remove(l);
            }
        }
    }
    assert!(
        edges.is_empty(),
        "modules in import circles (each with what it still imports): {edges:?}"
    );
}

/// Nothing outside a gateway's own folder names it: the rest of crossfire
/// asks the adapter (`gateway::adapter`), and `gateway/mod.rs` lists the
/// adapters once.
#[test]
fn no_module_outside_a_gateways_folder_names_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let gateways: Vec<String> = std::fs::read_dir(src.join("gateway"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(gateways.len() >= 2, "{gateways:?}");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let mut offenders = vec![];
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().to_string();
        if rel == "gateway/mod.rs" || rel.starts_with("cli/") {
            continue;
        }
        let text = without_test_items(&without_comments(&std::fs::read_to_string(&f).unwrap()));
        for g in &gateways {
            if rel.starts_with(&format!("gateway/{g}/")) {
                continue;
            }
            let names = [format!("gateway::{g}::"), format!("super::{g}::")];
            if names.iter().any(|n| text.contains(n.as_str())) {
                offenders.push(format!("{rel} names gateway `{g}`"));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}
