//! `crossfire mock` input: a small YAML file and/or flags that name
//! deployments and their faults, validated whole before anything starts.

use crate::diag::{suggest, InputError, Source};
use crate::faults::{parse_dialect, parse_fault_flag, DeploymentFile, FaultFile};
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
        if deployments.iter().any(|s| s.id == d.id) {
            return Err(src.error_at(
                &format!("deployments[{i}].id"),
                format!(
                    "deployment id `{}` is used twice; every deployment needs its own id",
                    d.id
                ),
            ));
        }
        if d.id.is_empty() || d.id.contains(char::is_whitespace) {
            return Err(src.error_at(
                &format!("deployments[{i}].id"),
                "a deployment id must be a non-empty word without spaces",
            ));
        }
        deployments.push(d.to_spec());
    }
    for (i, f) in file.faults.iter().enumerate() {
        let path = format!("faults[{i}]");
        let rule = f.to_rule(src, &path)?;
        let ids: Vec<String> = deployments.iter().map(|d| d.id.clone()).collect();
        let Some(target) = deployments.iter_mut().find(|d| d.id == f.on) else {
            return Err(src.error_at(
                &format!("{path}.on"),
                format!(
                    "no deployment has id `{}`; {}",
                    f.on,
                    suggest(&f.on, ids.iter().map(String::as_str))
                ),
            ));
        };
        target.faults.push(rule);
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
        if id.is_empty() {
            return Err(InputError::flag(
                &shown,
                "the deployment id before `=` is empty",
            ));
        }
        if plan.deployments.iter().any(|d| d.id == id) {
            return Err(InputError::flag(
                &shown,
                format!("deployment id `{id}` is used twice; every deployment needs its own id"),
            ));
        }
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
        let ids: Vec<String> = plan.deployments.iter().map(|d| d.id.clone()).collect();
        let target = plan
            .deployments
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or_else(|| {
                InputError::flag(
                    &shown,
                    format!(
                        "no deployment has id `{id}`; {}",
                        suggest(id, ids.iter().map(String::as_str))
                    ),
                )
            })?;
        target.faults.push(rule);
    }
    if plan.deployments.is_empty() {
        return Err(InputError::flag(
            "--deployment",
            "no deployments to serve; give a mock file or `--deployment ID=DIALECT`",
        ));
    }
    Ok(())
}
