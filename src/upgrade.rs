//! `crossfire drill --versions A,B`: the same drill on two versions of a
//! gateway, and the cells whose routing differs, in words. Judged on
//! routing behaviour only (the snapshot's path shapes: deployments, what
//! each answered, what the client saw, and where requests ended), never on
//! timings. A cell whose paths vary within one run on either version (or a
//! group the gateway picks at random) is reported as nondeterministic when
//! the two versions share a path there, not as a change.

use crate::drill::DrillReport;
use crate::snapshot::{self, GroupBehaviour, RoutingBehaviour};
use serde::Serialize;
use std::collections::BTreeSet;

/// One version's drill, summed up.
#[derive(Debug, Clone, Serialize)]
pub struct VersionRun {
    /// The version asked for.
    pub version: String,
    /// The version the gateway reported (or its package said).
    pub reported: Option<String>,
    /// Cells drilled.
    pub cells: usize,
    /// Findings (illusions, contradictions) in that drill.
    pub findings: usize,
    /// The drill's run folder.
    pub out: std::path::PathBuf,
    /// How the gateway's process ended during the drill, when it did.
    pub gateway_exited: Option<String>,
}

/// A cell that differs between the versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellDiff {
    /// `class, group`.
    pub cell: String,
    /// In words: `on context_overflow, claude-opus used to ... and now ...`.
    pub line: String,
    /// Path shapes on the first version (with counts).
    pub before: Vec<(String, u64)>,
    /// Path shapes on the second.
    pub after: Vec<(String, u64)>,
}

/// The upgrade diff.
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeDiff {
    /// Gateway kind.
    pub gateway: &'static str,
    /// The config drilled.
    pub config: std::path::PathBuf,
    /// Each version's drill, in the order given.
    pub runs: Vec<VersionRun>,
    /// Cells whose routing changed.
    pub changed: Vec<CellDiff>,
    /// Cells whose paths vary within a run: not judged.
    pub nondeterministic: Vec<CellDiff>,
    /// Cells the same on both.
    pub unchanged: usize,
    /// Whether Ctrl-C cut it short (nothing is judged then).
    pub interrupted: bool,
}

impl UpgradeDiff {
    /// Whether anything changed (exit 1).
    pub fn changed(&self) -> bool {
        !self.changed.is_empty()
    }
}

/// Whether a cell's paths vary within one run.
fn varies(g: &GroupBehaviour) -> bool {
    g.random || g.paths.len() > 1
}

/// Provider attempts per request on a cell's commonest path.
fn attempts(g: &GroupBehaviour) -> Option<usize> {
    let (shape, _) = g.paths.iter().max_by_key(|(_, n)| **n)?;
    let hops = shape.split(" => ").next()?;
    (!hops.starts_with("no provider attempt")).then(|| hops.split(" -> ").count())
}

/// The cells of `a` and `b` that differ, split into changes and
/// nondeterministic cells, and how many are the same.
pub fn compare(
    a: &RoutingBehaviour,
    b: &RoutingBehaviour,
) -> (Vec<CellDiff>, Vec<CellDiff>, usize) {
    let (mut changed, mut varying, mut same) = (Vec::new(), Vec::new(), 0);
    let cells: BTreeSet<&String> = a.groups.keys().chain(b.groups.keys()).collect();
    let empty = GroupBehaviour::default();
    for cell in cells {
        let (x, y) = (
            a.groups.get(cell).unwrap_or(&empty),
            b.groups.get(cell).unwrap_or(&empty),
        );
        if x == y {
            same += 1;
            continue;
        }
        let one = |g: &GroupBehaviour| RoutingBehaviour {
            groups: [(cell.clone(), g.clone())].into_iter().collect(),
            ..RoutingBehaviour::default()
        };
        let words = snapshot::summary(&one(x), &one(y), "on ");
        let shapes = |g: &GroupBehaviour| g.paths.iter().map(|(s, n)| (s.clone(), *n)).collect();
        let shared = x.paths.keys().any(|k| y.paths.contains_key(k));
        let nondeterministic = (varies(x) || varies(y)) && shared;
        let line = match words.into_iter().next() {
            Some(l) if l.ends_with("takes other paths to the same end") => {
                match (attempts(x), attempts(y)) {
                    (Some(p), Some(q)) if p != q => {
                        format!("{l}: {q} provider attempts per request, where it made {p}")
                    }
                    _ => l,
                }
            }
            Some(l) if nondeterministic => {
                format!("{l} (its paths vary within a run: not judged as a change)")
            }
            Some(l) => l,
            None => format!("on {cell} takes other paths"),
        };
        let d = CellDiff {
            cell: cell.clone(),
            line,
            before: shapes(x),
            after: shapes(y),
        };
        if nondeterministic {
            varying.push(d);
        } else {
            changed.push(d);
        }
    }
    (changed, varying, same)
}

/// The diff of two drills of the same config, with the versions asked for.
pub fn diff(runs: &[(String, &DrillReport)], random: &BTreeSet<String>) -> Option<UpgradeDiff> {
    let [(va, a), (vb, b)] = runs else {
        return None;
    };
    let summary = |v: &String, r: &DrillReport| VersionRun {
        version: v.clone(),
        reported: r.gateway_version.clone(),
        cells: r.cells.len(),
        findings: r.findings(),
        out: r.out.clone(),
        gateway_exited: r
            .gateway_exited
            .as_ref()
            .map(|e| e.lines().next().unwrap_or_default().to_string()),
    };
    let interrupted = a.interrupted || b.interrupted;
    let (mut changed, nondeterministic, unchanged) = if interrupted {
        (Vec::new(), Vec::new(), 0)
    } else {
        compare(
            &crate::drill::behaviour(a, random),
            &crate::drill::behaviour(b, random),
        )
    };
    // A gateway that dies on one version and not on the other is the
    // biggest change of all, whatever its cells show after it.
    let died = |r: &DrillReport| r.gateway_exited.is_some();
    if died(a) != died(b) && !interrupted {
        let (dead, alive) = if died(a) { (va, vb) } else { (vb, va) };
        changed.insert(
            0,
            CellDiff {
                cell: "the gateway process".into(),
                line: format!(
                    "on {} {dead} the gateway's process exited during the drill, on {alive} it did not (every cell after it met a dead gateway)",
                    a.gateway
                ),
                before: Vec::new(),
                after: Vec::new(),
            },
        );
    }
    Some(UpgradeDiff {
        gateway: a.gateway,
        config: a.config.clone(),
        runs: vec![summary(va, a), summary(vb, b)],
        changed,
        nondeterministic,
        unchanged,
        interrupted,
    })
}

/// The diff as text: a line per changed cell, then the rest counted.
pub fn render_text(d: &UpgradeDiff) -> String {
    let [a, b] = &d.runs[..] else {
        return String::new();
    };
    let mut s = format!(
        "crossfire drill --versions: {} {} -> {} on {}\n",
        d.gateway,
        a.version,
        b.version,
        d.config.display()
    );
    for r in &d.runs {
        s.push_str(&format!(
            "  {} (reported {}): {} cells, {} findings, run folder {}\n",
            r.version,
            r.reported.as_deref().unwrap_or("no version"),
            r.cells,
            r.findings,
            r.out.display()
        ));
    }
    s.push('\n');
    if d.interrupted {
        s.push_str("interrupted: nothing is judged\n");
        return s;
    }
    for c in &d.changed {
        s.push_str(&format!("CHANGED {}\n", c.line));
        if c.before.is_empty() && c.after.is_empty() {
            for r in [a, b] {
                if let Some(e) = &r.gateway_exited {
                    s.push_str(&format!("  {}: {e}\n", r.version));
                }
            }
            continue;
        }
        s.push_str(&format!("  {}: {}\n", a.version, shapes(&c.before)));
        s.push_str(&format!("  {}: {}\n", b.version, shapes(&c.after)));
    }
    for c in &d.nondeterministic {
        s.push_str(&format!("VARIES  {}\n", c.line));
    }
    s.push_str(&format!(
        "{} cell(s) route differently, {} vary within a run, {} unchanged\n",
        d.changed.len(),
        d.nondeterministic.len(),
        d.unchanged
    ));
    s
}

fn shapes(v: &[(String, u64)]) -> String {
    if v.is_empty() {
        return "not drilled".into();
    }
    v.iter()
        .map(|(s, n)| {
            if *n > 0 {
                format!("{n}x {s}")
            } else {
                s.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The diff as Markdown: a table of the cells that differ.
pub fn render_markdown(d: &UpgradeDiff) -> String {
    let [a, b] = &d.runs[..] else {
        return String::new();
    };
    let mut s = format!(
        "# Upgrade diff: {} {} → {}\n\nConfig `{}`. {} cell(s) route differently, {} vary within a run, {} unchanged.\n\n",
        d.gateway,
        a.version,
        b.version,
        d.config.display(),
        d.changed.len(),
        d.nondeterministic.len(),
        d.unchanged
    );
    if d.changed.is_empty() && d.nondeterministic.is_empty() {
        return s;
    }
    s.push_str(&format!(
        "| | cell | {} | {} |\n|---|---|---|---|\n",
        a.version, b.version
    ));
    let cell = |t: &str| t.replace('|', "\\|");
    for (tag, c) in d
        .changed
        .iter()
        .map(|c| ("changed", c))
        .chain(d.nondeterministic.iter().map(|c| ("varies", c)))
    {
        s.push_str(&format!(
            "| {tag} | {} | {} | {} |\n",
            cell(&c.cell),
            cell(&shapes(&c.before)),
            cell(&shapes(&c.after))
        ));
    }
    s.push('\n');
    for c in &d.changed {
        s.push_str(&format!("- {}\n", c.line));
    }
    s
}

/// The gateway kinds whose adapter installs a chosen version.
pub const VERSIONED: [&str; 3] = ["litellm", "portkey", "tensorzero"];

/// Installs `version` of gateway `kind` into crossfire's cache (once; a
/// later run reuses it), or says plainly why it cannot: the installer's own
/// words, and the registry's versions nearest to it.
pub fn install(kind: &str, version: &str, progress: &mut dyn FnMut(&str)) -> Result<(), String> {
    use crate::gateway::{litellm, portkey, tensorzero};
    let (result, package, registry) = match kind {
        "litellm" => (
            litellm::binary(
                &litellm::LitellmOptions {
                    path: None,
                    version: Some(version.to_string()),
                },
                progress,
            )
            .map(drop),
            "litellm",
            Registry::Pypi {
                env: litellm::env_spec(version).name,
                requirement: "litellm[proxy]",
            },
        ),
        "portkey" => (
            portkey::install(Some(version), progress).map(drop),
            "@portkey-ai/gateway",
            Registry::Npm,
        ),
        "tensorzero" => (
            tensorzero::install(Some(version), progress).map(drop),
            "tensorzero",
            Registry::Pypi {
                env: tensorzero::env_spec(version).name,
                requirement: "tensorzero",
            },
        ),
        other => {
            return Err(format!(
                "crossfire cannot install a chosen version of a `{other}` gateway; --versions works for {}",
                VERSIONED.join(", ")
            ))
        }
    };
    let Err(e) = result else { return Ok(()) };
    let reason = match &e {
        crate::provision::ProvisionError::Step { tail, .. } => {
            let errors: Vec<&str> = tail
                .lines()
                .filter(|l| l.starts_with("ERROR:") || l.starts_with("npm error"))
                .map(|l| l.split(" (from versions:").next().unwrap_or(l))
                .collect();
            if errors.is_empty() {
                e.to_string()
            } else {
                errors.join(" ")
            }
        }
        other => other.to_string(),
    };
    let near = match registry.versions(package) {
        Ok(all) if all.iter().any(|v| v == version) => {
            let below = match registry.newest_installable_below(version) {
                Some(v) => format!("; the newest version below it that installs here: {v}"),
                None => String::new(),
            };
            format!(
                "the registry has {package} {version}, but not everything it needs; the nearest other versions there: {}{below}",
                nearest(&all, version, 3).join(", ")
            )
        }
        Ok(all) => format!(
            "the registry has no {package} {version}; the nearest versions there: {}",
            nearest(&all, version, 3).join(", ")
        ),
        Err(why) => format!("the registry's versions could not be listed ({why})"),
    };
    Err(format!(
        "{package} {version} cannot be installed: {reason}; {near} (an older one may install where a newer one's companion packages are missing)"
    ))
}

/// Where a gateway's versions are listed.
enum Registry {
    /// PyPI, asked with the pip of this cached environment's folder.
    Pypi {
        /// The environment's folder name in the cache.
        env: String,
        /// What is installed (`litellm[proxy]`).
        requirement: &'static str,
    },
    /// npm.
    Npm,
}

impl Registry {
    /// The pip of the environment's folder (left by the failed install),
    /// else the system Python's.
    fn python(env: &str) -> std::ffi::OsString {
        let venv_python = crate::provision::cache_dir()
            .join("python")
            .join(env)
            .join("bin/python");
        if venv_python.exists() {
            venv_python.into_os_string()
        } else {
            crate::provision::system_python().into()
        }
    }

    /// pip's resolver, asked for the newest release below `version` whose
    /// requirements the registry has (it backtracks past the ones it lacks).
    fn newest_installable_below(&self, version: &str) -> Option<String> {
        let Registry::Pypi { env, requirement } = self else {
            return None;
        };
        // `--report -`: the resolution as JSON on stdout (`--quiet` keeps
        // pip's own lines out of it).
        let out = std::process::Command::new(Self::python(env))
            .args([
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--quiet",
                "--report",
                "-",
            ])
            .arg(format!("{requirement}<{version}"))
            .stdin(std::process::Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let name = requirement.split('[').next().unwrap_or(requirement);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        v["install"].as_array()?.iter().find_map(|i| {
            (i["metadata"]["name"].as_str()? == name)
                .then(|| i["metadata"]["version"].as_str().map(str::to_string))
                .flatten()
        })
    }

    fn versions(&self, package: &str) -> Result<Vec<String>, String> {
        let run = |mut c: std::process::Command| {
            c.stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| e.to_string())
                .and_then(|o| {
                    if o.status.success() {
                        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
                    } else {
                        Err(String::from_utf8_lossy(&o.stderr).trim().to_string())
                    }
                })
        };
        match self {
            Registry::Pypi { env, .. } => {
                let mut c = std::process::Command::new(Self::python(env));
                c.args(["-m", "pip", "index", "versions", package]);
                let out = run(c)?;
                let list = out
                    .lines()
                    .find_map(|l| l.strip_prefix("Available versions:"))
                    .ok_or("pip listed none")?;
                Ok(list.split(',').map(|v| v.trim().to_string()).collect())
            }
            Registry::Npm => {
                let mut c = std::process::Command::new("npm");
                c.args(["view", package, "versions", "--json"]);
                let out = run(c)?;
                serde_json::from_str(&out).map_err(|e| e.to_string())
            }
        }
    }
}

/// The version nearest `wanted` among `available` (registry order or
/// not): up to `n` on each side, older first.
pub fn nearest(available: &[String], wanted: &str, n: usize) -> Vec<String> {
    let key = |v: &str| -> Vec<u64> {
        v.split(['.', '-'])
            .map(|p| p.parse::<u64>().unwrap_or(0))
            .collect()
    };
    let w = key(wanted);
    let mut sorted: Vec<&String> = available.iter().filter(|v| v.as_str() != wanted).collect();
    sorted.sort_by_key(|v| key(v));
    sorted.dedup();
    let split = sorted.partition_point(|v| key(v) < w);
    let older = &sorted[split.saturating_sub(n)..split];
    let newer = &sorted[split..(split + n).min(sorted.len())];
    older.iter().chain(newer).map(|v| v.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(paths: &[(&str, u64)]) -> GroupBehaviour {
        GroupBehaviour {
            random: false,
            paths: paths.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
            ends_on: Default::default(),
        }
    }

    fn drill(cells: &[(&str, GroupBehaviour)]) -> RoutingBehaviour {
        RoutingBehaviour {
            name: "drill-x".into(),
            note: None,
            groups: cells
                .iter()
                .map(|(k, g)| (k.to_string(), g.clone()))
                .collect(),
        }
    }

    #[test]
    fn a_changed_end_is_a_change_a_varying_cell_is_not_and_the_rest_count() {
        let fell_back = "anthropic/claude-opus 400 -> openai/gpt-4o 200 => client 200";
        let refused = "anthropic/claude-opus 400 => client 400 (failed)";
        let a = drill(&[
            ("context_overflow, claude-opus", cell(&[(refused, 2)])),
            (
                "rate_limit, claude-opus",
                cell(&[(fell_back, 1), (refused, 1)]),
            ),
            ("timeout, claude-opus", cell(&[(fell_back, 2)])),
        ]);
        let b = drill(&[
            ("context_overflow, claude-opus", cell(&[(fell_back, 2)])),
            ("rate_limit, claude-opus", cell(&[(fell_back, 2)])),
            ("timeout, claude-opus", cell(&[(fell_back, 2)])),
        ]);
        let (changed, varying, same) = compare(&a, &b);
        assert_eq!(same, 1);
        let retried = "anthropic/claude-opus 429 -> anthropic/claude-opus 429 -> openai/gpt-4o 200 => client 200";
        let more = drill(&[("rate_limit, gpt-4o", cell(&[(retried, 2)]))]);
        let fewer = drill(&[(
            "rate_limit, gpt-4o",
            cell(&[(
                "anthropic/claude-opus 429 -> openai/gpt-4o 200 => client 200",
                2,
            )]),
        )]);
        assert_eq!(
            compare(&fewer, &more).0[0].line,
            "on rate_limit, gpt-4o takes other paths to the same end: 3 provider attempts per request, where it made 2"
        );
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert_eq!(
            changed[0].line,
            "on context_overflow, claude-opus used to fail (client 400 (failed)) and now ends on gpt-4o (openai)"
        );
        assert_eq!(varying.len(), 1, "{varying:?}");
        assert!(varying[0].line.contains("vary within a run"), "{varying:?}");
        // Disjoint paths are a change even where a run varies.
        let c = drill(&[(
            "rate_limit, claude-opus",
            cell(&[
                ("x => client 500 (failed)", 1),
                ("y => client 503 (failed)", 1),
            ]),
        )]);
        let d = drill(&[("rate_limit, claude-opus", cell(&[(fell_back, 2)]))]);
        assert_eq!(compare(&c, &d).0.len(), 1);
        assert_eq!(compare(&a, &a), (vec![], vec![], 3));
    }

    #[test]
    fn the_nearest_versions_are_on_both_sides() {
        let v: Vec<String> = [
            "1.108.6", "1.108.7", "1.110.2", "1.9.0", "1.108.10", "1.109.0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            nearest(&v, "1.108.9", 2),
            ["1.108.6", "1.108.7", "1.108.10", "1.109.0"]
        );
        assert_eq!(nearest(&v, "0.1", 1), ["1.9.0"]);
        assert_eq!(nearest(&v, "9.0", 1), ["1.110.2"]);
    }
}
