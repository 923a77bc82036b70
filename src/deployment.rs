//! The mock deployments a gateway is tested against, the API a client
//! speaks, and the names of a drill cell's copies. A leaf module: scenarios,
//! gateway adapters, the runner and the reports all speak of deployments.

use mock_providers::{DeploymentSpec, Dialect};

/// The provider a dialect belongs to when a file does not say.
pub fn default_provider(dialect: Dialect) -> &'static str {
    dialect.name()
}

/// A mock deployment: the mock, and what it stands for.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The mock: id, dialect, faults.
    pub spec: DeploymentSpec,
    /// The provider it stands for.
    pub provider: String,
    /// The upstream model a gateway sends to it.
    pub model: String,
}

impl Deployment {
    /// A deployment without faults.
    pub fn new(id: impl Into<String>, dialect: Dialect, provider: &str, model: &str) -> Deployment {
        Deployment {
            spec: DeploymentSpec::new(id.into(), dialect),
            provider: provider.to_string(),
            model: model.to_string(),
        }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }
}

/// The API a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientApi {
    /// OpenAI chat completions (`/v1/chat/completions`).
    Openai,
    /// Anthropic messages (`/v1/messages`).
    Anthropic,
    /// The native API of a deployment's dialect (direct target).
    Native(Dialect),
}

/// The suffix of drill cell `k`'s copies of groups and deployments: every
/// cell gets its own copies, so no cell inherits another's router state.
pub fn cell_suffix(k: usize) -> String {
    format!("--cell{k}")
}

/// The original name of a copied group or deployment id.
///
/// ```
/// assert_eq!(crossfire::deployment::original("azure--cell3"), "azure");
/// assert_eq!(crossfire::deployment::original("azure"), "azure");
/// ```
pub fn original(name: &str) -> &str {
    match name.rfind("--cell") {
        Some(i) => &name[..i],
        None => name,
    }
}

/// The cell a copied name belongs to.
pub fn cell_of(name: &str) -> Option<usize> {
    name.rfind("--cell")
        .and_then(|i| name[i + 6..].parse().ok())
}
