//! Drill isolation in one proxy. LiteLLM keeps state per deployment and per
//! group (cooldowns, failure counts), so one drill cell's faults would change
//! the next cell's routing. Instead of restarting the proxy per cell (about 9 s
//! each), every cell gets its own copy of its group and of every group its
//! fallbacks can reach, with its own deployments (own mocks, own ids): the
//! copies share no router state, and one proxy serves every cell at once.

use super::config::{self, Fallbacks, LitellmConfig};
use super::intent::general_targets;
use super::rewrite::{child_mapping, key};
use crate::diag::{InputError, Source};
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

pub use crate::deployment::{cell_of, cell_suffix as suffix, original};

/// Every group a group's failures can reach, itself included.
pub fn closure(cfg: &LitellmConfig, group: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([group.to_string()]);
    while let Some(g) = queue.pop_front() {
        if !seen.insert(g.clone()) {
            continue;
        }
        let mut next = general_targets(cfg, &g);
        for list in [
            cfg.routing.context_window_fallbacks.as_ref(),
            cfg.routing.content_policy_fallbacks.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            if let Some((_, t)) = list.iter().find(|(k, _)| *k == g) {
                next.extend(t.iter().cloned());
            }
        }
        queue.extend(next.into_iter().filter(|t| !seen.contains(t)));
    }
    seen
}

fn list_value(entries: &[(String, Vec<String>)]) -> Value {
    Value::Sequence(
        entries
            .iter()
            .map(|(g, t)| {
                let mut m = Mapping::new();
                m.insert(key(g), Value::Sequence(t.iter().map(|x| key(x)).collect()));
                Value::Mapping(m)
            })
            .collect(),
    )
}

/// The config with one isolated copy per cell (cell k is `groups[k]`), read
/// back as a config of its own (written to `file`).
pub fn isolate(
    cfg: &LitellmConfig,
    cells: &[String],
    file: &Path,
) -> Result<LitellmConfig, InputError> {
    let mut doc = cfg.doc.clone();
    let Some(root) = doc.as_mapping_mut() else {
        return Err(InputError::file(
            file,
            "the LiteLLM config is not a mapping",
        ));
    };
    let originals: Vec<Value> = root
        .get(key("model_list"))
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    let mut model_list = Vec::new();
    let mut fallbacks: Fallbacks = Vec::new();
    let mut cw: Fallbacks = Vec::new();
    let mut cp: Fallbacks = Vec::new();
    let copy_list =
        |list: Option<&Fallbacks>, reach: &BTreeSet<String>, s: &str, out: &mut Fallbacks| {
            for (g, t) in list.into_iter().flatten() {
                if reach.contains(g) {
                    out.push((
                        format!("{g}{s}"),
                        t.iter().map(|x| format!("{x}{s}")).collect(),
                    ));
                }
            }
        };
    for (k, group) in cells.iter().enumerate() {
        let s = suffix(k);
        let reach = closure(cfg, group);
        for (item, raw) in cfg.items.iter().zip(originals.iter()) {
            if !reach.contains(&item.group) {
                continue;
            }
            let mut copy = raw.clone();
            if let Some(m) = copy.as_mapping_mut() {
                m.insert(key("model_name"), key(&format!("{}{s}", item.group)));
                if let Some(info) = child_mapping(m, "model_info") {
                    info.insert(key("id"), key(&format!("{}{s}", item.id)));
                }
            }
            model_list.push(copy);
        }
        // `*` entries and default_fallbacks become explicit entries, so every
        // copy falls back to copies of its own cell.
        for g in &reach {
            let t = general_targets(cfg, g);
            if !t.is_empty() {
                fallbacks.push((
                    format!("{g}{s}"),
                    t.iter().map(|x| format!("{x}{s}")).collect(),
                ));
            }
        }
        copy_list(
            cfg.routing.context_window_fallbacks.as_ref(),
            &reach,
            &s,
            &mut cw,
        );
        copy_list(
            cfg.routing.content_policy_fallbacks.as_ref(),
            &reach,
            &s,
            &mut cp,
        );
    }
    // LiteLLM reads an empty class list as unset (`[] or module default`),
    // and then uses `fallbacks`; a list whose entries all name other groups
    // makes it fall back nowhere. Keep the copy non-empty with an entry no
    // request asks for, so the cells behave like the team's config.
    for (list, copy) in [
        (cfg.routing.context_window_fallbacks.as_ref(), &mut cw),
        (cfg.routing.content_policy_fallbacks.as_ref(), &mut cp),
    ] {
        if list.is_some_and(|l| !l.is_empty()) && copy.is_empty() {
            copy.push(("crossfire-no-such-group".to_string(), vec![]));
        }
    }
    root.insert(key("model_list"), Value::Sequence(model_list));
    let mut written: BTreeMap<&str, Value> = BTreeMap::new();
    written.insert("fallbacks", list_value(&fallbacks));
    if cfg.routing.context_window_fallbacks.is_some() {
        written.insert("context_window_fallbacks", list_value(&cw));
    }
    if cfg.routing.content_policy_fallbacks.is_some() {
        written.insert("content_policy_fallbacks", list_value(&cp));
    }
    for section in ["router_settings", "litellm_settings"] {
        if let Some(m) = root.get_mut(key(section)).and_then(Value::as_mapping_mut) {
            for k in [
                "fallbacks",
                "context_window_fallbacks",
                "content_policy_fallbacks",
                "default_fallbacks",
            ] {
                m.remove(key(k));
            }
        }
    }
    if let Some(m) = child_mapping(root, "router_settings") {
        for (k, v) in written {
            m.insert(key(k), v);
        }
    }
    // The copy is a file in the run folder: no credential of the team's
    // reaches it (rewrite puts the mocks' dummies in later anyway).
    super::rewrite::scrub(&mut doc);
    let text = super::yaml::emit(&doc);
    std::fs::write(file, &text)
        .map_err(|e| InputError::file(file, format!("cannot write: {e}")))?;
    let mut copy = config::read(Source::from_text(file, text))?;
    // The scrub replaced `os.environ/NAME` secrets with dummies; the proxy
    // still gets every variable the team's config names, as a dummy.
    copy.env_refs.extend(cfg.env_refs.iter().cloned());
    Ok(copy)
}
