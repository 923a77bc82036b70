//! `crossfire lint`'s report as a person reads it.

use crate::lint::LintReport;

/// lint as a person reads it.
pub fn text(r: &LintReport) -> String {
    let mut s = format!(
        "crossfire lint {} ({} rules; these are predictions, not observations: `crossfire drill` runs them)\n",
        r.config.display(),
        r.rules
    );
    if !r.warnings.is_empty() {
        s.push_str("\nwarnings:\n");
        for w in &r.warnings {
            s.push_str(&format!("  {}\n", w.line_text()));
        }
    }
    let wg = super::column_width(r.predictions.iter().map(|p| &p.group), "group");
    let wp = super::column_width(r.predictions.iter().map(|p| &p.text), "prediction");
    s.push_str(&format!(
        "\npredicted paths (every deployment of the group failing that way, its fallbacks healthy):\n  {:wg$}  {:16}  {:wp$}  why\n",
        "group", "failure", "prediction"
    ));
    for p in &r.predictions {
        s.push_str(&format!(
            "  {:wg$}  {:16}  {:wp$}  {}\n",
            p.group,
            p.class.name(),
            p.text,
            p.why
        ));
    }
    s
}
