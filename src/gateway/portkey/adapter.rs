//! Portkey behind crossfire's one gateway interface.

use super::config::{self as portkey_config, PortkeyConfig};
use super::{account, lint};
use crate::deployment::{cell_suffix, Deployment};
use crate::diag::InputError;
use crate::gateway::adapter::{
    AccountCheck, Adapter, BoxFuture, DrillDeployment, DrillPlan, DrillRoute, GatewayConfig,
    Launch, Mapped,
};
use crate::gateway::{GatewayError, RunningGateway};
use crate::intent::{Intent, RoutingIntent};
use crate::lint::{Prediction, Warning};
use mock_providers::FailureClass;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The open-source Portkey gateway, with the team's routing config.
pub struct Portkey;

impl Adapter for Portkey {
    fn name(&self) -> &'static str {
        "portkey"
    }

    fn config_noun(&self) -> &'static str {
        "the team's Portkey config JSON"
    }

    fn startup_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn load(&self, file: &Path) -> Result<Arc<dyn GatewayConfig>, InputError> {
        Ok(Arc::new(portkey_config::load(file)?))
    }

    fn render(&self, intent: &RoutingIntent) -> (&'static str, String) {
        ("portkey.json", render(intent))
    }
}

/// A routing intent as a Portkey config: a fallback strategy over targets.
pub fn render(i: &RoutingIntent) -> String {
    let target = |route: &str| {
        let (p, m) = crate::intent::route_parts(route).unwrap_or(("openai", route));
        let provider = match p {
            "azure" => "azure-openai",
            "gemini" => "google",
            "mistral" => "mistral-ai",
            other => other,
        };
        let mut params = serde_json::json!({"model": m});
        if p == "anthropic" {
            params["max_tokens"] = serde_json::json!(512);
        }
        serde_json::json!({"provider": provider, "api_key": "sk-crossfire-dummy", "override_params": params})
    };
    let mut targets = vec![target(&i.primary)];
    targets.extend(i.fallbacks.iter().map(|f| target(f)));
    serde_json::to_string_pretty(
        &serde_json::json!({"strategy": {"mode": "fallback"}, "targets": targets}),
    )
    .unwrap_or_default()
}

/// Deployments from a Portkey config: one per leaf target; a target crossfire
/// has no mock for stops the run, naming it.
pub fn deployments(cfg: &PortkeyConfig) -> Result<Vec<Deployment>, InputError> {
    let mut list = Vec::new();
    for leaf in &cfg.leaves {
        let Some((provider, dialect)) = &leaf.mapped else {
            return Err(cfg.src.error_at(
                format!("{}.provider", leaf.path).trim_start_matches('.'),
                format!(
                    "target `{}`: crossfire has no mock for Portkey provider `{}`; mapped providers are {}",
                    leaf.id,
                    leaf.provider_name,
                    portkey_config::PROVIDERS.map(|(name, ..)| name).join(", ")
                ),
            ));
        };
        let model = leaf
            .model
            .clone()
            .unwrap_or_else(|| dialect.default_model().to_string());
        list.push(Deployment::new(leaf.id.clone(), *dialect, provider, &model));
    }
    Ok(list)
}

impl GatewayConfig for PortkeyConfig {
    fn adapter(&self) -> &'static dyn Adapter {
        &Portkey
    }

    fn file(&self) -> &Path {
        &self.src.file
    }

    /// The whole config is one group: the client's `model` does not pick a
    /// target.
    fn groups(&self) -> Vec<String> {
        vec![self.name.clone()]
    }

    fn refuses_group(&self, _group: &str) -> Option<String> {
        None
    }

    fn deployments(&self, _allow_unmapped: bool) -> Result<Mapped, InputError> {
        Ok(Mapped {
            deployments: deployments(self)?,
            unmapped: Vec::new(),
        })
    }

    /// Every model traffic asks for goes through the one config: each gets
    /// its promise.
    fn intent(&self, groups: &BTreeSet<&str>) -> Intent {
        match lint::intent(self, &FailureClass::ALL).into_values().next() {
            Some(promise) => groups
                .iter()
                .map(|g| (g.to_string(), promise.clone()))
                .collect(),
            None => Intent::new(),
        }
    }

    fn causes(
        &self,
        _group: &str,
        promised: &BTreeMap<FailureClass, BTreeSet<String>>,
    ) -> BTreeMap<FailureClass, String> {
        lint::causes(self, promised)
    }

    fn rules(&self) -> String {
        format!("Portkey gateway {}", super::VERSION)
    }

    fn warnings(&self) -> Vec<Warning> {
        lint::warnings(self)
    }

    fn predict(&self, _group: &str, class: FailureClass) -> Option<Prediction> {
        crate::lint::predicts(class).then(|| lint::predict(self, class))
    }

    fn picks_at_random(&self, _group: &str) -> bool {
        self.has_loadbalance()
    }

    fn account(
        &self,
        _deployments: &[Deployment],
        _bases: &BTreeMap<String, String>,
    ) -> Option<Box<dyn AccountCheck>> {
        Some(Box::new(account::PortkeyAccount {
            leaf_at: self
                .leaves
                .iter()
                .map(|l| (l.path.clone(), l.id.clone()))
                .collect(),
        }))
    }

    fn start<'a>(&'a self, l: Launch<'a>) -> BoxFuture<'a, Result<RunningGateway, GatewayError>> {
        Box::pin(async move {
            let install = super::install(l.options.version.as_deref(), &mut |line| {
                eprintln!("crossfire: {line}")
            })?;
            super::start(
                self,
                &install,
                l.bases,
                l.run_dir,
                l.startup_timeout,
                l.port,
                l.cancel,
            )
            .await
        })
    }

    fn drill_groups(&self) -> Result<Vec<String>, InputError> {
        deployments(self)?;
        Ok(vec![self.name.clone()])
    }

    /// The whole config is one group; every cell has its own copy of every
    /// target (own mocks) and sends its own rewritten config in
    /// `x-portkey-config` (see [`GatewayConfig::cell_headers`]).
    fn drill_plan(
        &self,
        pairs: &[(String, FailureClass)],
        _out: &Path,
    ) -> Result<DrillPlan, GatewayError> {
        let originals = deployments(self)?;
        let primary = self.primary();
        let mut copies = Vec::new();
        for k in 0..pairs.len() {
            for (i, d) in originals.iter().enumerate() {
                let mut copy = d.clone();
                copy.spec.id = format!("{}{}", d.id(), cell_suffix(k));
                copies.push(DrillDeployment {
                    deployment: copy,
                    cell: Some(k),
                    primary: primary.contains(&i),
                });
            }
        }
        let first_model = primary
            .first()
            .map(|i| originals[*i].model.clone())
            .unwrap_or_else(|| "gpt-4o".into());
        let routes = pairs
            .iter()
            .map(|_| DrillRoute {
                model: first_model.clone(),
                primary_model: first_model.clone(),
                primary_share: self.primary_share(),
            })
            .collect();
        Ok(DrillPlan {
            config: Arc::new(self.clone()),
            deployments: copies,
            routes,
            group_of: self
                .leaves
                .iter()
                .map(|l| (l.id.clone(), l.id.clone()))
                .collect(),
            timeout: None,
        })
    }

    fn cell_headers(
        &self,
        cell: usize,
        bases: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, GatewayError> {
        let own: BTreeMap<String, String> = self
            .leaves
            .iter()
            .filter_map(|l| {
                bases
                    .get(&format!("{}{}", l.id, cell_suffix(cell)))
                    .map(|b| (l.id.clone(), b.clone()))
            })
            .collect();
        let header = serde_json::to_string(&portkey_config::rewrite(self, &own))
            .map_err(|e| GatewayError::start(format!("cannot encode the Portkey config: {e}")))?;
        Ok(BTreeMap::from([("x-portkey-config".to_string(), header)]))
    }
}
