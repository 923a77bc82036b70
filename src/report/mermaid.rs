//! Mermaid flowcharts of where traffic went: per model group, the client, each
//! deployment its requests touched, and how they ended, with edges labelled by
//! counts and by what each deployment answered. A person sees the Failover
//! Illusion instead of reading about it.

use crate::paths::RequestPath;
use std::collections::BTreeMap;

fn id(prefix: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}_{clean}")
}

fn label(text: &str) -> String {
    text.replace('"', "#quot;")
}

/// What a step answered, for an edge label.
fn answer(s: &crate::paths::Step) -> String {
    match (s.outcome, s.status) {
        // An edge has room to name the fault behind an error status too.
        (mock_providers::Outcome::Fault(c), Some(st)) if st != 200 => format!("{st} {c}"),
        _ => s.answer(),
    }
}

/// The flowchart of one model group's paths; node ids carry the group, so
/// several charts can share a page.
pub fn flowchart(group: &str, paths: &[&RequestPath]) -> String {
    flowchart_named(group, paths, &|d| d)
}

/// The flowchart of a drill's paths, drawn on the team's own deployments:
/// a drill runs each cell on its own copies (`anthropic--cell3`), which are
/// crossfire's isolation, not the config a team reads. Every copy is drawn
/// as its original, one node per deployment, and the edges of all cells add
/// up, labelled by what the deployment answered (status and failure class)
/// and how often.
pub fn drill_flowchart(group: &str, paths: &[&RequestPath]) -> String {
    flowchart_named(group, paths, &crate::deployment::original)
}

/// The flowchart, each step's deployment drawn under `name(deployment)`.
fn flowchart_named(group: &str, paths: &[&RequestPath], name: &dyn Fn(&str) -> &str) -> String {
    let mut nodes: BTreeMap<String, String> = BTreeMap::new();
    let mut edges: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let client = id("client", group);
    nodes.insert(
        client.clone(),
        format!("([\"{}: {} requests\"])", label(group), paths.len()),
    );
    let mut failed_nodes = Vec::new();
    for p in paths {
        let mut prev = client.clone();
        let mut prev_label = "request".to_string();
        for s in &p.steps {
            let deployment = name(&s.deployment);
            let node = id("d", deployment);
            nodes.entry(node.clone()).or_insert_with(|| {
                format!("[\"{}<br/>{}\"]", label(deployment), label(&s.provider))
            });
            *edges
                .entry((prev.clone(), node.clone(), prev_label.clone()))
                .or_insert(0) += 1;
            prev = node;
            prev_label = answer(s);
        }
        let (end, text) = match (p.client_status, p.class.succeeded()) {
            (Some(st), true) => (format!("ok_{st}"), format!("client {st}")),
            (Some(st), false) if p.ok => (
                format!("swallowed_{st}"),
                format!("client {st}, error swallowed"),
            ),
            (Some(st), false) => (format!("fail_{st}"), format!("client {st}, failed")),
            (None, _) => ("fail_none".to_string(), "client error".to_string()),
        };
        let end = id(&end, group);
        if !p.class.succeeded() && !failed_nodes.contains(&end) {
            failed_nodes.push(end.clone());
        }
        nodes
            .entry(end.clone())
            .or_insert_with(|| format!("([\"{}\"])", label(&text)));
        if p.steps.is_empty() {
            prev_label = "answered by the gateway".into();
        }
        *edges.entry((prev, end, prev_label)).or_insert(0) += 1;
    }
    let mut out = String::from("flowchart LR\n");
    for (n, shape) in &nodes {
        out.push_str(&format!("  {n}{shape}\n"));
    }
    for ((from, to, what), count) in &edges {
        out.push_str(&format!(
            "  {from} -->|\"{count}x {}\"| {to}\n",
            label(what)
        ));
    }
    if !failed_nodes.is_empty() {
        out.push_str("  classDef failed fill:#fde2e2,stroke:#c62828,color:#7f0000\n");
        out.push_str(&format!("  class {} failed\n", failed_nodes.join(",")));
    }
    out
}

/// One flowchart per model group, as Markdown code blocks with headings.
pub fn by_group(paths: &[RequestPath], heading: &str) -> String {
    let mut groups: BTreeMap<&str, Vec<&RequestPath>> = BTreeMap::new();
    for p in paths {
        groups.entry(p.model.as_str()).or_default().push(p);
    }
    let mut out = String::new();
    for (g, list) in groups {
        out.push_str(&format!(
            "{heading} `{g}`\n\n```mermaid\n{}```\n\n",
            flowchart(g, &list)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::{PathClass, Step};
    use mock_providers::{FailureClass, Outcome};

    fn step(seq: u64, deployment: &str, provider: &str, outcome: Outcome, status: u16) -> Step {
        Step {
            replica: None,
            seq,
            deployment: deployment.into(),
            provider: provider.into(),
            outcome,
            status: Some(status),
            completed: true,
            service_us: 0,
            prompt_tokens: None,
        }
    }

    /// Cell `k`: a 429 on Claude's copy, crossed to GPT's copy.
    fn crossed_in_cell(k: usize) -> RequestPath {
        let n = k as u64;
        RequestPath {
            replica: None,
            n,
            marker: format!("xf:t:{n}"),
            traffic: 0,
            model: format!("claude-opus--cell{k}"),
            steps: vec![
                step(
                    2 * n,
                    &format!("anthropic--cell{k}"),
                    "anthropic",
                    Outcome::Fault(FailureClass::RateLimit),
                    429,
                ),
                step(
                    2 * n + 1,
                    &format!("openai--cell{k}"),
                    "openai",
                    Outcome::Served,
                    200,
                ),
            ],
            client_status: Some(200),
            ok: true,
            class: PathClass::CrossedProvider,
            met_fault: true,
            latency_us: 0,
        }
    }

    #[test]
    fn a_drill_chart_draws_each_team_deployment_once_and_adds_up_the_cells() {
        let paths: Vec<RequestPath> = (0..10).map(crossed_in_cell).collect();
        let refs: Vec<&RequestPath> = paths.iter().collect();
        let chart = drill_flowchart("claude-opus", &refs);
        assert!(!chart.contains("cell"), "{chart}");
        assert_eq!(chart.matches("d_anthropic[").count(), 1, "{chart}");
        assert_eq!(chart.matches("d_openai[").count(), 1, "{chart}");
        assert!(
            chart.contains("d_anthropic -->|\"10x 429 rate_limit\"| d_openai"),
            "{chart}"
        );
        assert!(
            chart.contains("client_claude_opus -->|\"10x request\"| d_anthropic"),
            "{chart}"
        );
        insta::assert_snapshot!(chart);
    }

    #[test]
    fn a_run_chart_keeps_the_deployment_ids_it_was_given() {
        let paths = [crossed_in_cell(1)];
        let refs: Vec<&RequestPath> = paths.iter().collect();
        let chart = flowchart("claude-opus", &refs);
        assert!(chart.contains("d_anthropic__cell1"), "{chart}");
    }
}
