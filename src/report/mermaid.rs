//! Mermaid flowcharts of where traffic went: per model group, the client, each
//! deployment its requests touched, and how they ended, with edges labelled by
//! counts and by what each deployment answered. A person sees the Failover
//! Illusion instead of reading about it.

use crate::paths::Path;
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
pub fn flowchart(group: &str, paths: &[&Path]) -> String {
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
            let node = id("d", &s.deployment);
            nodes.entry(node.clone()).or_insert_with(|| {
                format!("[\"{}<br/>{}\"]", label(&s.deployment), label(&s.provider))
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
pub fn by_group(paths: &[Path], heading: &str) -> String {
    let mut groups: BTreeMap<&str, Vec<&Path>> = BTreeMap::new();
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
