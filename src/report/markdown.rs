//! `--markdown FILE`: a report a person reads in a pull request, a wiki, or a
//! GitHub job summary (`$GITHUB_STEP_SUMMARY`): summary, findings with
//! evidence, and a flowchart of where traffic went per model group.

use crate::outcome::{Event, RunSummary, ScenarioReport};
use std::path::{Component, Path, PathBuf};

/// Writes the Markdown report when the run finishes.
#[derive(Debug)]
pub struct MarkdownReporter {
    path: PathBuf,
}

impl MarkdownReporter {
    /// A reporter writing to `path`.
    pub fn new(path: PathBuf) -> MarkdownReporter {
        MarkdownReporter { path }
    }

    /// Consumes an event.
    pub fn event(&mut self, e: &Event) {
        if let Event::RunFinished(summary) = e {
            let dir = match self.path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            super::write(&self.path, Ok(render(summary, dir).into_bytes()));
        }
    }
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✅"
    } else {
        "❌"
    }
}

/// `to` as a path relative to the folder `from`, both made absolute first
/// (symlinks resolved) when they exist; `to` itself when no relative path
/// leads there (another drive).
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let from = std::fs::canonicalize(from).unwrap_or_else(|_| from.to_path_buf());
    let to_abs = std::fs::canonicalize(to).unwrap_or_else(|_| to.to_path_buf());
    if from.is_absolute() != to_abs.is_absolute() {
        return to.to_path_buf();
    }
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to_abs.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 && from.is_absolute() {
        return to.to_path_buf();
    }
    let mut rel = PathBuf::new();
    for _ in common..a.len() {
        rel.push("..");
    }
    for c in &b[common..] {
        rel.push(c);
    }
    rel
}

/// A Markdown image link to `file`, relative to the report's folder `dir`.
pub fn image(alt: &str, dir: &Path, file: &Path) -> String {
    let rel = relative(dir, file)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let target = if rel.contains([' ', '(', ')']) {
        format!("<{rel}>")
    } else {
        rel
    };
    format!("![{alt}]({target})\n\n")
}

/// The whole report, to be written into the folder `dir` (the timelines'
/// image links are relative to it).
pub fn render(summary: &RunSummary, dir: &Path) -> String {
    let passed = summary.scenarios.iter().filter(|s| s.passed()).count();
    let mut s = format!(
        "# crossfire run\n\n{passed} of {} scenarios passed.\n\n| | scenario | gateway | requests | paths | findings |\n|---|---|---|---|---|---|\n",
        summary.scenarios.len()
    );
    for r in &summary.scenarios {
        let paths: Vec<String> = r.counts.iter().map(|(c, n)| format!("{c} {n}")).collect();
        s.push_str(&format!(
            "| {} | {} | {}{} | {} | {} | {} |\n",
            mark(r.passed()),
            r.name,
            r.gateway,
            r.gateway_version
                .as_ref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            r.paths.len(),
            paths.join(", "),
            r.findings.len() + r.escaped.len()
        ));
    }
    for r in &summary.scenarios {
        s.push_str(&scenario(r, dir));
    }
    s
}

fn scenario(r: &ScenarioReport, dir: &Path) -> String {
    let mut s = format!("\n## {} {}\n\n", mark(r.passed()), r.name);
    if let Some(a) = &r.about {
        s.push_str(&format!("{}\n\n", a.trim()));
    }
    if r.interrupted {
        s.push_str(&format!(
            "**Interrupted:** {} requests answered, {} cut short before the gateway answered; expectations were not judged.\n\n",
            r.paths.len(),
            r.cut_short.len()
        ));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!(
            "**Error:** {}\n\n",
            e.lines().next().unwrap_or("")
        ));
    }
    for e in &r.escaped {
        s.push_str(&format!(
            "**Escaped:** the gateway tried to reach `{}`.\n\n",
            e.target
        ));
    }
    let timing = r.timing.lines();
    if !timing.is_empty() {
        s.push_str("### In time\n\n");
        for line in timing {
            s.push_str(&format!("- {line}\n"));
        }
        s.push('\n');
    }
    if let Some(router) = &r.router {
        s.push_str("### The router's replicas\n\n");
        for line in router.lines() {
            s.push_str(&format!("- {line}\n"));
        }
        s.push('\n');
    }
    if !r.verdicts.is_empty() {
        s.push_str("### Expectations\n\n");
        for v in &r.verdicts {
            s.push_str(&format!(
                "- {} {} ({})\n",
                mark(v.held),
                v.expectation,
                v.detail
            ));
            if let Some(ex) = &v.example {
                s.push_str(&format!("  - e.g. `{ex}`\n"));
            }
        }
        s.push('\n');
    }
    if !r.findings.is_empty() {
        s.push_str(&format!("### Findings ({})\n\n", r.findings.len()));
        for f in r.findings.iter().take(5) {
            s.push_str(&format!(
                "- **{}** request #{}: {}\n  - `{}`\n",
                f.kind.replace('_', " "),
                f.request,
                f.message,
                f.path
            ));
        }
        if r.findings.len() > 5 {
            s.push_str(&format!(
                "- ... and {} more (see the JSON report)\n",
                r.findings.len() - 5
            ));
        }
        s.push('\n');
    }
    if let Some(a) = &r.audit {
        s.push_str(&format!(
            "Routing tax: {:+.1}% tokens, {:+.1}% bytes. Cost at list prices ${:.6}; the gateway reported {}.\n\n",
            a.tokens.token_overhead_pct,
            a.tokens.byte_overhead_pct,
            a.cost.truth_usd,
            a.cost.reported_text()
        ));
    }
    if let Some(l) = &r.latency {
        s.push_str(&format!(
            "Gateway latency overhead over direct calls: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms.\n\n",
            l.overhead_p50_us as f64 / 1000.0,
            l.overhead_p90_us as f64 / 1000.0,
            l.overhead_p99_us as f64 / 1000.0
        ));
    }
    if let Some(crate::snapshot::SnapshotStatus::Changed { summary, diff, .. }) = &r.snapshot {
        s.push_str("### Routing changed\n\n");
        for line in summary {
            s.push_str(&format!("- {line}\n"));
        }
        s.push_str(&format!("\n```diff\n{diff}```\n\n"));
    }
    if let Some(t) = &r.timeline {
        s.push_str("### Timeline\n\n");
        s.push_str(&image(&format!("timeline of {}", r.name), dir, t));
    }
    s.push_str(&super::mermaid::by_group(
        &r.paths,
        "### Where traffic went:",
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_is_linked_relative_to_the_report_folder() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("runs/20260101T000000Z/01-rate limit");
        std::fs::create_dir_all(&run).unwrap();
        let svg = run.join("timeline.svg");
        std::fs::write(&svg, "<svg/>").unwrap();
        let reports = dir.path().join("reports");
        std::fs::create_dir_all(&reports).unwrap();
        assert_eq!(
            image("timeline of x", &reports, &svg),
            "![timeline of x](<../runs/20260101T000000Z/01-rate limit/timeline.svg>)\n\n"
        );
        assert_eq!(
            image("t", dir.path(), &dir.path().join("runs/a.svg")),
            "![t](runs/a.svg)\n\n"
        );
    }
}
