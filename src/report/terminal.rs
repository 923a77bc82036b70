//! The terminal: a progress bar on runs longer than a moment (only on a TTY),
//! then per scenario the count of each path class, each expectation held or
//! not with an example path, and the findings.

use super::style::Style;
use crate::outcome::{Event, ScenarioReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Prints progress to stderr and results to stdout.
#[derive(Debug)]
pub struct TerminalReporter {
    bar: Option<ProgressBar>,
    tty: bool,
}

impl Default for TerminalReporter {
    fn default() -> Self {
        TerminalReporter::new()
    }
}

impl TerminalReporter {
    /// A reporter; the progress bar shows only when stderr is a terminal.
    pub fn new() -> TerminalReporter {
        TerminalReporter {
            bar: None,
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// Consumes an event.
    pub fn event(&mut self, e: &Event) {
        match e {
            Event::ScenarioStarted { name, planned, .. } if self.tty => {
                let bar = match planned {
                    Some(n) => ProgressBar::new(*n),
                    None => ProgressBar::new_spinner(),
                };
                bar.set_draw_target(ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_message(name.clone());
                // Only runs longer than a moment show a bar.
                bar.enable_steady_tick(Duration::from_millis(200));
                self.bar = Some(bar);
            }
            Event::RequestDone(_) => {
                if let Some(b) = &self.bar {
                    b.inc(1);
                }
            }
            Event::ScenarioFinished(report) => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(render_scenario_styled(report, Style::stdout()).as_bytes());
            }
            Event::RunFinished(summary) => {
                let passed = summary.scenarios.iter().filter(|s| s.passed()).count();
                let total = summary.scenarios.len();
                let mut line = format!(
                    "{total} scenario{}: {passed} passed, {} failed; run folder {}\n",
                    if total == 1 { "" } else { "s" },
                    total - passed,
                    summary.out.display()
                );
                if summary.interrupted {
                    line = format!("interrupted; {line}");
                }
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
            _ => {}
        }
    }
}

/// The block printed for a finished scenario, without colour.
pub fn render_scenario(r: &ScenarioReport) -> String {
    render_scenario_styled(r, Style::plain())
}

/// The block printed for a finished scenario.
pub fn render_scenario_styled(r: &ScenarioReport, st: Style) -> String {
    let mut s = String::new();
    // An interrupted scenario neither passed nor failed: it says what ran.
    let mark = if r.passed() {
        st.good("PASS")
    } else if r.interrupted && r.error.is_none() {
        st.warn("INTERRUPTED")
    } else {
        st.bad("FAIL")
    };
    let version = r
        .gateway_version
        .as_ref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    s.push_str(&format!(
        "{mark} {} ({}{version} gateway, {} requests, {:.1}s)\n",
        r.name,
        r.gateway,
        r.paths.len(),
        r.duration_ms as f64 / 1000.0
    ));
    for e in &r.escaped {
        s.push_str(&format!(
            "  {} the gateway tried to reach {} ({}); crossfire's seal refused it\n",
            st.bad("ESCAPED:"),
            e.target,
            e.method
        ));
    }
    if !r.unmapped.is_empty() {
        s.push_str(&format!(
            "  unmapped (sealed, no mock): {}\n",
            r.unmapped.join(", ")
        ));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!("  error: {}\n", e.replace('\n', "\n  ")));
        if let Some(log) = &r.gateway_log {
            s.push_str(&format!("  gateway log: {}\n", log.display()));
        }
    }
    if r.interrupted {
        let attempts: usize = r.cut_short.iter().map(|p| p.steps.len()).sum();
        let cut = match r.cut_short.len() {
            0 => String::new(),
            n => format!(
                "; {n} {} cut short before the gateway answered (their {attempts} provider attempts are in the journal)",
                if n == 1 { "request was" } else { "requests were" }
            ),
        };
        s.push_str(&format!(
            "  interrupted: {} {} answered{cut}; expectations were not judged\n",
            r.paths.len(),
            if r.paths.len() == 1 {
                "request was"
            } else {
                "requests were"
            }
        ));
    }
    if r.request_cap_reached {
        s.push_str(&format!(
            "  stopped at {} requests, the most a scenario sends (its `duration` allowed more)\n",
            crate::scenario::model::MAX_REQUESTS
        ));
    }
    if !r.counts.is_empty() {
        let counts: Vec<String> = r.counts.iter().map(|(c, n)| format!("{c} {n}")).collect();
        s.push_str(&format!("  paths: {}\n", counts.join(", ")));
    }
    if let Some(a) = &r.audit {
        s.push_str(&format!(
            "  routing tax: {:+.1}% tokens, {:+.1}% bytes; cost ${:.6} at list prices, the gateway reported {}\n",
            a.tokens.token_overhead_pct,
            a.tokens.byte_overhead_pct,
            a.cost.truth_usd,
            a.cost.reported_text()
        ));
    }
    if let Some(l) = &r.latency {
        s.push_str(&format!(
            "  gateway latency overhead: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms (over direct calls, {} pairs)\n",
            l.overhead_p50_us as f64 / 1000.0,
            l.overhead_p90_us as f64 / 1000.0,
            l.overhead_p99_us as f64 / 1000.0,
            l.direct.count.min(l.gateway.count)
        ));
    }
    if !r.stray.is_empty() {
        s.push_str(&format!(
            "  attempts no request claims: {}\n",
            r.stray.len()
        ));
    }
    for line in r.timing.lines() {
        s.push_str(&format!("  {line}\n"));
    }
    for line in r.router.iter().flat_map(|x| x.lines()) {
        s.push_str(&format!("  {line}\n"));
    }
    for v in &r.verdicts {
        let tick = if v.held {
            st.good("ok  ")
        } else {
            st.bad("FAIL")
        };
        s.push_str(&format!("  {tick} {} ({})\n", v.expectation, v.detail));
        if let Some(ex) = &v.example {
            s.push_str(&format!("       e.g. {ex}\n"));
        }
    }
    if !r.findings.is_empty() {
        let of_kind = |kind: &str| r.findings.iter().filter(|f| f.kind == kind).count();
        let illusions = of_kind("failover_illusion");
        let noun = if illusions == 1 {
            "request"
        } else {
            "requests"
        };
        for (n, bad, label, what) in [
            (
                of_kind("deployment_not_loaded"),
                true,
                "Not loaded by the gateway:",
                "deployments skipped at start",
            ),
            (
                of_kind("unserved_endpoint"),
                false,
                "Unserved:",
                "endpoints the mocks do not serve",
            ),
            (illusions, true, "Failover Illusion:", noun),
            (
                of_kind("gateway_account"),
                false,
                "The gateway's own account:",
                "disagreements with the providers",
            ),
        ] {
            if n > 0 {
                let label = if bad { st.bad(label) } else { st.warn(label) };
                s.push_str(&format!("  {label} {n} {what}\n"));
            }
        }
        // Per kind, the first three: requests with their path and why,
        // findings about the gateway or the mocks by their message.
        let mut kinds: Vec<&str> = Vec::new();
        for f in &r.findings {
            if !kinds.contains(&f.kind) {
                kinds.push(f.kind);
            }
        }
        for kind in kinds {
            for f in r.findings.iter().filter(|f| f.kind == kind).take(3) {
                if f.path.is_empty() {
                    s.push_str(&format!("    {}\n", f.message));
                } else {
                    s.push_str(&format!(
                        "    #{} {}\n       {}\n",
                        f.request, f.message, f.path
                    ));
                }
                if let (Some(why), "failover_illusion") = (&f.why, f.kind) {
                    s.push_str(&format!("       why: {why}\n"));
                }
            }
        }
    }
    match &r.snapshot {
        Some(crate::snapshot::SnapshotStatus::Changed {
            file,
            diff,
            summary,
        }) => {
            s.push_str(&format!(
                "  {} ({}):\n",
                st.bad("SNAPSHOT CHANGED"),
                file.display()
            ));
            for line in summary {
                s.push_str(&format!("    {line}\n"));
            }
            for line in diff.lines() {
                s.push_str(&format!("    {line}\n"));
            }
            s.push_str("    (accept with --update-snapshots)\n");
        }
        Some(crate::snapshot::SnapshotStatus::New { file }) => {
            s.push_str(&format!("  snapshot written: {}\n", file.display()));
        }
        Some(crate::snapshot::SnapshotStatus::Updated { file }) => {
            s.push_str(&format!("  snapshot updated: {}\n", file.display()));
        }
        _ => {}
    }
    if !r.passed() {
        s.push_str(&format!("  run folder: {}\n", r.run_dir.display()));
    }
    s
}
