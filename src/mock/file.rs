//! `crossfire mock` input: a small YAML file and/or flags that name
//! deployments and their faults, validated whole before anything starts.

use crate::deployment_file::{
    check_id, parse_dialect, parse_fault_flag, DeploymentFile, FaultFile,
};
use crate::diag::{suggest, InputError, Source};
use mock_providers::DeploymentSpec;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A mock file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockFile {
    /// The deployments to serve.
    #[serde(default)]
    pub deployments: Vec<DeploymentFile>,
    /// Faults, each `on` a deployment id.
    #[serde(default)]
    pub faults: Vec<FaultFile>,
    /// JSONL journal file, relative to the mock file.
    pub journal: Option<PathBuf>,
}

/// What `crossfire mock` serves: valid deployments and where to journal.
#[derive(Debug, Clone, PartialEq)]
pub struct MockPlan {
    /// Deployments with their faults.
    pub deployments: Vec<DeploymentSpec>,
    /// JSONL journal file, if any.
    pub journal: Option<PathBuf>,
}

/// Reads and checks a mock file.
pub fn load_file(path: &Path) -> Result<MockPlan, InputError> {
    let src = Source::read(path)?;
    from_source(&src)
}

/// Checks a mock file already read.
pub fn from_source(src: &Source) -> Result<MockPlan, InputError> {
    let file: MockFile = src.parse()?;
    let mut deployments: Vec<DeploymentSpec> = Vec::new();
    for (i, d) in file.deployments.iter().enumerate() {
        check_id(&d.id, deployments.iter().map(|s| s.id.as_str()))
            .map_err(|m| src.error_at(&format!("deployments[{i}].id"), m))?;
        deployments.push(d.to_spec());
    }
    for (i, f) in file.faults.iter().enumerate() {
        let path = format!("faults[{i}]");
        let rule = f.to_rule(src, &path, None)?;
        let Some(target) = deployments.iter().position(|d| d.id == f.on) else {
            return Err(src.error_at(
                &format!("{path}.on"),
                format!(
                    "no deployment has id `{}`; {}",
                    f.on,
                    suggest(&f.on, deployments.iter().map(|d| d.id.as_str()))
                ),
            ));
        };
        deployments[target].faults.push(rule);
    }
    let journal = file.journal.map(|j| match src.file.parent() {
        Some(dir) if j.is_relative() => dir.join(j),
        _ => j,
    });
    Ok(MockPlan {
        deployments,
        journal,
    })
}

/// Adds `--deployment ID=DIALECT` and `--fault ID=FAULT[@SCHEDULE]` flags to a plan.
pub fn apply_flags(
    plan: &mut MockPlan,
    deployments: &[String],
    faults: &[String],
) -> Result<(), InputError> {
    for flag in deployments {
        let shown = format!("--deployment {flag}");
        let (id, dialect) = flag.split_once('=').ok_or_else(|| {
            InputError::flag(&shown, "expected ID=DIALECT, as in `claude=anthropic`")
        })?;
        let dialect = parse_dialect(dialect).map_err(|m| InputError::flag(&shown, m))?;
        check_id(id, plan.deployments.iter().map(|d| d.id.as_str()))
            .map_err(|m| InputError::flag(&shown, m))?;
        plan.deployments.push(DeploymentSpec::new(id, dialect));
    }
    for flag in faults {
        let shown = format!("--fault {flag}");
        let (id, fault) = flag.split_once('=').ok_or_else(|| {
            InputError::flag(
                &shown,
                "expected ID=FAULT[@SCHEDULE], as in `claude=rate_limit@first:3`",
            )
        })?;
        let rule = parse_fault_flag(fault).map_err(|m| InputError::flag(&shown, m))?;
        let Some(target) = plan.deployments.iter().position(|d| d.id == id) else {
            return Err(InputError::flag(
                &shown,
                format!(
                    "no deployment has id `{id}`; {}",
                    suggest(id, plan.deployments.iter().map(|d| d.id.as_str()))
                ),
            ));
        };
        plan.deployments[target].faults.push(rule);
    }
    if plan.deployments.is_empty() {
        return Err(InputError::flag(
            "--deployment",
            "no deployments to serve; give a mock file or `--deployment ID=DIALECT`",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Result<MockPlan, String> {
        from_source(&Source::from_text(Path::new("m.yaml"), text.into())).map_err(|e| e.to_string())
    }

    fn flags(deployments: &[&str]) -> Result<MockPlan, String> {
        let mut p = MockPlan {
            deployments: vec![],
            journal: None,
        };
        let deployments: Vec<String> = deployments.iter().map(|d| d.to_string()).collect();
        apply_flags(&mut p, &deployments, &[])
            .map(|()| p)
            .map_err(|e| e.to_string())
    }

    /// The file and the flag once took different ids than scenarios: the
    /// file allowed `/`, the flag allowed spaces.
    #[test]
    fn deployment_ids_follow_one_rule_in_files_and_flags() {
        let rule = "a deployment id must be a non-empty word without spaces or `/`";
        assert_eq!(
            plan("deployments:\n  - id: a/b\n    dialect: openai\n").unwrap_err(),
            format!("m.yaml:2:9: {rule}")
        );
        assert_eq!(
            flags(&["a b=openai"]).unwrap_err(),
            format!("--deployment a b=openai: {rule}")
        );
        assert_eq!(
            flags(&["=openai"]).unwrap_err(),
            format!("--deployment =openai: {rule}")
        );
        assert_eq!(
            flags(&["a=openai", "a=anthropic"]).unwrap_err(),
            "--deployment a=anthropic: deployment id `a` is used twice; every deployment needs its own id"
        );
        assert_eq!(flags(&["a=openai"]).unwrap().deployments[0].id, "a");
    }
}
