//! `{{ name }}` templates for command gateways: the user's config and command
//! line get the mock URLs filled in. Unknown names are bad input, found before
//! anything starts.

use crate::diag::{suggest, InputError, Location};
use std::collections::BTreeMap;
use std::path::Path;

/// Template variables and their values.
pub type Vars = BTreeMap<String, String>;

/// The fields each deployment offers: `deployments.<id>.<field>`.
pub const DEPLOYMENT_FIELDS: [&str; 6] =
    ["base_url", "host", "port", "dialect", "provider", "model"];

/// The names of every variable a command gateway template may use.
pub fn names<'a>(deployment_ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut list: Vec<String> = ["port", "base_url", "config", "run_dir"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for id in deployment_ids {
        for field in DEPLOYMENT_FIELDS {
            list.push(format!("deployments.{id}.{field}"));
        }
    }
    list
}

/// A `{{ name }}` use in a text, with its byte offset.
fn uses(text: &str) -> Result<Vec<(usize, usize, String)>, usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{") {
        let start = from + open;
        let Some(close) = text[start + 2..].find("}}") else {
            return Err(start);
        };
        let end = start + 2 + close + 2;
        out.push((start, end, text[start + 2..end - 2].trim().to_string()));
        from = end;
    }
    Ok(out)
}

fn location(text: &str, offset: usize, file: &Path) -> Location {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Location {
        file: file.to_path_buf(),
        line,
        column,
    }
}

/// Checks that every `{{ name }}` in `text` is known. `origin` names the text
/// in errors (a file, or a scenario key).
pub fn check(text: &str, known: &[String], origin: &Path) -> Result<(), InputError> {
    let list = uses(text).map_err(|offset| InputError::At {
        location: location(text, offset, origin),
        message: "`{{` is not closed by `}}`".into(),
    })?;
    for (start, _, name) in list {
        if !known.contains(&name) {
            return Err(InputError::At {
                location: location(text, start, origin),
                message: format!(
                    "unknown template variable `{name}`; {}",
                    suggest(&name, known.iter().map(String::as_str))
                ),
            });
        }
    }
    Ok(())
}

/// Checks a short text (a command argument, an env value); the error is the
/// message alone, for the caller to place.
pub fn check_in(text: &str, known: &[String]) -> Result<(), String> {
    let list = uses(text).map_err(|_| "`{{` is not closed by `}}`".to_string())?;
    for (_, _, name) in list {
        if !known.contains(&name) {
            return Err(format!(
                "unknown template variable `{name}`; {}",
                suggest(&name, known.iter().map(String::as_str))
            ));
        }
    }
    Ok(())
}

/// Fills every `{{ name }}` in `text` (checked before with [`check`]).
pub fn render(text: &str, vars: &Vars) -> String {
    let Ok(list) = uses(text) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end, name) in list {
        out.push_str(&text[last..start]);
        match vars.get(&name) {
            Some(v) => out.push_str(v),
            None => out.push_str(&text[start..end]),
        }
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// The environment variable a template variable is also exported as:
/// `deployments.claude-eu.base_url` -> `CROSSFIRE_DEPLOYMENT_CLAUDE_EU_BASE_URL`.
pub fn env_name(var: &str) -> String {
    let tail = var
        .strip_prefix("deployments.")
        .map_or_else(|| var.to_string(), |rest| format!("deployment.{rest}"));
    let mut name = String::from("CROSSFIRE_");
    for c in tail.chars() {
        name.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        });
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_checks() {
        let known = names(["claude"]);
        let text = "a: {{ deployments.claude.base_url }}\nport: {{port}}\n";
        check(text, &known, Path::new("t.yaml")).unwrap();
        let mut vars = Vars::new();
        vars.insert(
            "deployments.claude.base_url".into(),
            "http://127.0.0.1:1".into(),
        );
        vars.insert("port".into(), "99".into());
        assert_eq!(render(text, &vars), "a: http://127.0.0.1:1\nport: 99\n");
        let err = check(
            "x\n  {{ deployments.cluade.base_url }}",
            &known,
            Path::new("t.yaml"),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.yaml:2:3: unknown template variable `deployments.cluade.base_url`; did you mean `deployments.claude.base_url`?"
        );
        assert!(check("{{ port", &known, Path::new("t")).is_err());
    }

    #[test]
    fn env_names() {
        assert_eq!(
            env_name("deployments.claude-eu.base_url"),
            "CROSSFIRE_DEPLOYMENT_CLAUDE_EU_BASE_URL"
        );
        assert_eq!(env_name("port"), "CROSSFIRE_PORT");
    }
}
