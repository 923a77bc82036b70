//! The TensorZero target: TensorZero's Rust gateway as shipped inside its
//! PyPI wheel (`tensorzero`, pinned), installed by crossfire into its cache
//! and started through a launcher script crossfire owns; the team's
//! `tensorzero.toml` rewritten to the mocks.

pub mod config;
pub mod mapping;
pub mod rewrite;
pub mod toml_src;

use crate::provision::{self, PythonEnvSpec};
use std::path::PathBuf;

/// The installed TensorZero package: the Python that runs the launcher.
#[derive(Debug, Clone)]
pub struct TensorzeroInstall {
    /// The cached venv's interpreter.
    pub python: PathBuf,
    /// The pinned version.
    pub version: String,
}

/// Installs (once) the pinned `tensorzero` wheel into crossfire's cache and
/// checks that pip installed exactly that version.
pub fn install(
    progress: &mut dyn FnMut(&str),
) -> Result<TensorzeroInstall, provision::ProvisionError> {
    let version = provision::TENSORZERO_VERSION;
    let env = provision::ensure_python_env(&PythonEnvSpec::tensorzero(version), progress)?;
    Ok(TensorzeroInstall {
        python: env.python(),
        version: version.to_string(),
    })
}
