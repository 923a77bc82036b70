//! Routing snapshots: the normalised routing behaviour of a scenario or a
//! drill, stable across runs of the same config, stored as YAML that reads
//! well in a pull request, and compared with the last accepted one.
//!
//! Per traffic group, a snapshot holds the multiset of path shapes
//! (deployment ids, what each answered, what the client saw) and the
//! providers requests ended on; no timings, ids, ports or markers. Where the
//! gateway picks at random by design (load-balanced groups), it holds the set
//! of shapes without counts, and says so.

use crate::paths::RequestPath;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The routing behaviour of one traffic group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GroupBehaviour {
    /// Whether the gateway picks at random here (counts left out).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub random: bool,
    /// Path shape -> requests that took it (0 when `random`).
    pub paths: BTreeMap<String, u64>,
    /// Providers requests ended on (`failed` for failures).
    pub ends_on: BTreeSet<String>,
}

/// The routing behaviour of a scenario or a drill: what a snapshot stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RoutingBehaviour {
    /// Scenario or drill name.
    pub name: String,
    /// Why some counts are left out, when they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Per traffic group (a drill: `group / failure class`).
    pub groups: BTreeMap<String, GroupBehaviour>,
}

/// A path's shape: `anthropic/claude 429 -> openai/gpt 200 => client 200`.
pub fn shape(p: &RequestPath) -> String {
    let mut parts: Vec<String> = p.steps.iter().map(crate::paths::Step::short).collect();
    if parts.is_empty() {
        parts.push("no provider attempt".into());
    }
    let client = match (p.client_status, p.class.succeeded()) {
        (Some(s), true) => format!("client {s}"),
        (Some(s), false) if p.ok => format!("client {s} (error swallowed)"),
        (Some(s), false) => format!("client {s} (failed)"),
        (None, _) => "client error".into(),
    };
    format!("{} => {client}", parts.join(" -> "))
}

/// Builds the behaviour of a set of paths, grouped by `key` (the model group,
/// or `group / class` in a drill). Groups in `random` keep shapes, not counts.
pub fn behaviour<'a>(
    name: &str,
    paths: impl IntoIterator<Item = (String, &'a RequestPath)>,
    random: &BTreeSet<String>,
) -> RoutingBehaviour {
    let mut groups: BTreeMap<String, GroupBehaviour> = BTreeMap::new();
    for (key, p) in paths {
        let g = groups.entry(key.clone()).or_default();
        g.random = random.contains(&key);
        *g.paths.entry(shape(p)).or_insert(0) += 1;
        g.ends_on.insert(
            p.served_by()
                .map(|s| s.provider.clone())
                .unwrap_or_else(|| "failed".into()),
        );
    }
    for g in groups.values_mut().filter(|g| g.random) {
        for count in g.paths.values_mut() {
            *count = 0;
        }
    }
    let note = (!random.is_empty()).then(|| {
        format!(
            "{} picked at random by the gateway: their snapshot keeps which paths and providers occur, not how often",
            random.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    });
    RoutingBehaviour {
        name: name.to_string(),
        note,
        groups,
    }
}

impl RoutingBehaviour {
    /// The snapshot file's text.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_default()
    }

    /// Equal for a snapshot: random groups compare shapes and providers only.
    pub fn matches(&self, other: &RoutingBehaviour) -> bool {
        self.groups == other.groups
    }
}

/// Where a group mostly ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// Served by this deployment (`claude-sonnet (anthropic)`).
    On(String),
    /// Failed; what the client saw.
    Fail(String),
}

/// The commonest end of a group's paths.
fn dominant_end(g: &GroupBehaviour) -> Option<End> {
    g.paths.iter().max_by_key(|(_, n)| **n).map(|(shape, _)| {
        let (hops, client) = shape.split_once(" => ").unwrap_or((shape, ""));
        if client.contains("failed") || client.contains("swallowed") || client.contains("error") {
            End::Fail(client.to_string())
        } else {
            let last = hops.rsplit(" -> ").next().unwrap_or(hops);
            let who = last.split(' ').next().unwrap_or(last);
            match who.split_once('/') {
                Some((provider, deployment)) => End::On(format!("{deployment} ({provider})")),
                None => End::On(who.to_string()),
            }
        }
    })
}

/// One line per group that changed, in words.
pub fn summary(old: &RoutingBehaviour, new: &RoutingBehaviour, context: &str) -> Vec<String> {
    let keys: BTreeSet<&String> = old.groups.keys().chain(new.groups.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        match (old.groups.get(k), new.groups.get(k)) {
            (Some(a), Some(b)) if a != b => {
                let line = match (dominant_end(a), dominant_end(b)) {
                    (Some(End::On(x)), Some(End::On(y))) if x != y => {
                        format!("used to end on {x} and now ends on {y}")
                    }
                    (Some(End::On(x)), Some(End::Fail(c))) => {
                        format!("used to end on {x} and now fails ({c})")
                    }
                    (Some(End::Fail(c)), Some(End::On(y))) => {
                        format!("used to fail ({c}) and now ends on {y}")
                    }
                    (Some(End::Fail(c)), Some(End::Fail(d))) if c != d => {
                        format!("used to fail ({c}) and now fails ({d})")
                    }
                    _ => "takes other paths to the same end".to_string(),
                };
                out.push(format!("{context}{k} {line}"));
            }
            (Some(_), None) => out.push(format!("{context}{k} is no longer exercised")),
            (None, Some(_)) => out.push(format!("{context}{k} is new")),
            _ => {}
        }
    }
    out
}

/// What comparing with the accepted snapshot found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SnapshotStatus {
    /// Same as the accepted snapshot.
    Matched {
        /// The file.
        file: PathBuf,
    },
    /// No snapshot yet: this one was written.
    New {
        /// The file.
        file: PathBuf,
    },
    /// `--update-snapshots`: the accepted snapshot was replaced.
    Updated {
        /// The file.
        file: PathBuf,
    },
    /// Different from the accepted snapshot: a finding.
    Changed {
        /// The file.
        file: PathBuf,
        /// A unified diff, accepted -> now.
        diff: String,
        /// One line per changed group, in words.
        summary: Vec<String>,
    },
}

impl SnapshotStatus {
    /// Whether the run must fail for it.
    pub fn failed(&self) -> bool {
        matches!(self, SnapshotStatus::Changed { .. })
    }
}

/// A snapshot folder and whether to accept what is seen.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    /// The folder.
    pub dir: PathBuf,
    /// `--update-snapshots`.
    pub update: bool,
}

/// A file name from a scenario or drill name.
pub fn file_name(name: &str) -> String {
    format!("{}.yaml", crate::diag::slug(name))
}

/// Compares with (or writes) the snapshot of `b` in `opts.dir`. `context`
/// starts each summary line (`on rate_limit, `).
pub fn check(
    b: &RoutingBehaviour,
    opts: &SnapshotOptions,
    context: &str,
) -> std::io::Result<SnapshotStatus> {
    std::fs::create_dir_all(&opts.dir)?;
    let file = opts.dir.join(file_name(&b.name));
    let now = b.to_yaml();
    let broken = |why: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the accepted snapshot {} {why}; fix it, or accept this run's with --update-snapshots",
                file.display()
            ),
        )
    };
    // A missing snapshot is new; one that cannot be read is never quietly
    // replaced (a merge conflict in it must fail the check, not pass it).
    let accepted: Option<RoutingBehaviour> = match std::fs::read_to_string(&file) {
        Ok(text) => match serde_yaml::from_str(&text) {
            Ok(a) => Some(a),
            Err(_) if opts.update => {
                std::fs::write(&file, &now)?;
                return Ok(SnapshotStatus::Updated { file });
            }
            Err(e) => return Err(broken(format!("is not a snapshot ({e})"))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(broken(format!("cannot be read ({e})"))),
    };
    match (accepted, opts.update) {
        (None, _) => {
            std::fs::write(&file, &now)?;
            Ok(SnapshotStatus::New { file })
        }
        (Some(a), _) if a.matches(b) => Ok(SnapshotStatus::Matched { file }),
        (Some(_), true) => {
            std::fs::write(&file, &now)?;
            Ok(SnapshotStatus::Updated { file })
        }
        (Some(a), false) => {
            let before = a.to_yaml();
            let diff = similar::TextDiff::from_lines(&before, &now)
                .unified_diff()
                .context_radius(3)
                .header("accepted", "this run")
                .to_string();
            Ok(SnapshotStatus::Changed {
                file,
                summary: summary(&a, b, context),
                diff,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn behaviour() -> RoutingBehaviour {
        RoutingBehaviour {
            name: "drill".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_broken_accepted_snapshot_fails_and_is_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join(file_name("drill"));
        let conflict = "<<<<<<< HEAD\nname: drill\n=======\nname: other\n>>>>>>> branch\n";
        std::fs::write(&file, conflict).expect("write");
        let mut opts = SnapshotOptions {
            dir: dir.path().to_path_buf(),
            update: false,
        };
        let e = check(&behaviour(), &opts, "").unwrap_err();
        assert!(e.to_string().contains("is not a snapshot"), "{e}");
        assert_eq!(std::fs::read_to_string(&file).expect("read"), conflict);
        opts.update = true;
        assert!(matches!(
            check(&behaviour(), &opts, ""),
            Ok(SnapshotStatus::Updated { .. })
        ));
        opts.update = false;
        assert!(matches!(
            check(&behaviour(), &opts, ""),
            Ok(SnapshotStatus::Matched { .. })
        ));
    }

    #[test]
    fn a_missing_snapshot_is_written_as_new() {
        let dir = tempfile::tempdir().expect("temp dir");
        let opts = SnapshotOptions {
            dir: dir.path().to_path_buf(),
            update: false,
        };
        assert!(matches!(
            check(&behaviour(), &opts, ""),
            Ok(SnapshotStatus::New { .. })
        ));
        assert!(dir.path().join(file_name("drill")).is_file());
    }
}
