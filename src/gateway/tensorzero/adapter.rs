//! TensorZero behind crossfire's one gateway interface.

use super::config::{self as tz_config, TensorzeroConfig};
use super::{isolate, lint, mapping};
use crate::deployment::{cell_of, cell_suffix, original, Deployment};
use crate::diag::InputError;
use crate::gateway::adapter::{
    AccountCheck, Adapter, BoxFuture, DrillDeployment, DrillPlan, DrillRoute, GatewayConfig,
    Launch, Mapped,
};
use crate::gateway::{GatewayError, RunningGateway};
use crate::intent::{route_parts, Intent, RoutingIntent};
use crate::lint::{Prediction, Warning};
use mock_providers::FailureClass;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// TensorZero's Rust gateway, from its PyPI wheel, with the team's
/// `tensorzero.toml`.
pub struct Tensorzero;

impl Adapter for Tensorzero {
    fn name(&self) -> &'static str {
        "tensorzero"
    }

    fn config_noun(&self) -> &'static str {
        "the team's tensorzero.toml"
    }

    fn startup_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn load(&self, file: &Path) -> Result<Arc<dyn GatewayConfig>, InputError> {
        Ok(Arc::new(tz_config::load(file)?))
    }

    fn render(&self, intent: &RoutingIntent) -> (&'static str, String) {
        ("tensorzero.toml", render(intent))
    }
}

/// A routing intent as a `tensorzero.toml`: one model named after the
/// intent's group, its `routing` the primary then the fallbacks, each a
/// provider entry of its type.
pub fn render(i: &RoutingIntent) -> String {
    let routes: Vec<&String> = std::iter::once(&i.primary).chain(&i.fallbacks).collect();
    let mut names = Vec::new();
    let mut entries = String::new();
    for (k, route) in routes.iter().enumerate() {
        let (provider, model) = route_parts(route).unwrap_or(("openai", route.as_str()));
        let name = format!(
            "{provider}{}",
            if k == 0 {
                String::new()
            } else {
                format!("-{k}")
            }
        );
        // Only the types TensorZero 2026.6.0 lets crossfire point at a mock:
        // an OpenAI-compatible provider stands for the rest, at its real host.
        let (kind, extra) = match provider {
            "anthropic" => ("anthropic", String::new()),
            "azure" => (
                "azure",
                format!("endpoint = \"https://crossfire.openai.azure.com\"\ndeployment_id = \"{model}\"\n"),
            ),
            "openai" => ("openai", String::new()),
            other => (
                "openai",
                format!("api_base = \"https://{}/v1/\"\n", host_of(other)),
            ),
        };
        entries.push_str(&format!(
            "\n[models.\"{group}\".providers.{name}]\ntype = \"{kind}\"\nmodel_name = \"{model}\"\n{extra}",
            group = i.group
        ));
        names.push(format!("\"{name}\""));
    }
    format!(
        "# Rendered by crossfire compare from a routing intent.\n[models.\"{}\"]\nrouting = [{}]\n{entries}",
        i.group,
        names.join(", ")
    )
}

/// The API host of a provider TensorZero reaches through its OpenAI type.
fn host_of(provider: &str) -> &'static str {
    match provider {
        "groq" => "api.groq.com/openai",
        "mistral" => "api.mistral.ai",
        "deepseek" => "api.deepseek.com",
        "gemini" => "generativelanguage.googleapis.com/v1beta/openai",
        _ => "api.openai.com",
    }
}

/// The longest timeout the config sets anywhere, in seconds: a timeout
/// cell's slow answer outlasts it, so the timeout really fires.
fn longest_timeout(cfg: &TensorzeroConfig) -> Option<f64> {
    let of = |t: &tz_config::Timeouts| {
        [
            t.non_streaming_total_ms,
            t.streaming_ttft_ms,
            t.streaming_total_ms,
        ]
    };
    cfg.models
        .iter()
        .flat_map(|m| {
            of(&m.timeouts)
                .into_iter()
                .chain(m.providers.iter().flat_map(|p| of(&p.timeouts)))
        })
        .flatten()
        .max()
        .map(|ms| ms as f64 / 1000.0)
}

/// The deployments of a config and what stays unmapped.
fn mapped(cfg: &TensorzeroConfig, allow_unmapped: bool) -> Result<Mapped, InputError> {
    let (deployments, unmapped) = mapping::deployments(cfg, allow_unmapped)?;
    Ok(Mapped {
        deployments,
        unmapped: unmapped
            .into_iter()
            .map(|u| format!("{} (line {}): {}", u.path, u.line, u.reason))
            .collect(),
    })
}

impl GatewayConfig for TensorzeroConfig {
    fn adapter(&self) -> &'static dyn Adapter {
        &Tensorzero
    }

    fn file(&self) -> &Path {
        &self.src.file
    }

    /// Models and functions, as the client names them
    /// (`tensorzero::model_name::gpt`).
    fn groups(&self) -> Vec<String> {
        lint::groups(self)
    }

    fn refuses_group(&self, group: &str) -> Option<String> {
        let known = lint::groups(self);
        (!known.iter().any(|g| g == group)).then(|| {
            format!(
                "the TensorZero config has no model or function `{group}` (a client names them `tensorzero::model_name::<model>` or `tensorzero::function_name::<function>`); {}",
                crate::diag::suggest(group, known.iter().map(String::as_str))
            )
        })
    }

    fn deployments(&self, allow_unmapped: bool) -> Result<Mapped, InputError> {
        mapped(self, allow_unmapped)
    }

    fn intent(&self, _groups: &BTreeSet<&str>) -> Intent {
        lint::intent(self, &FailureClass::ALL)
    }

    fn causes(
        &self,
        group: &str,
        promised: &BTreeMap<FailureClass, BTreeSet<String>>,
    ) -> BTreeMap<FailureClass, String> {
        lint::causes(self, group, promised)
    }

    fn rules(&self) -> String {
        format!("TensorZero {}", super::VERSION)
    }

    fn warnings(&self) -> Vec<Warning> {
        lint::warnings(self)
    }

    fn predict(&self, group: &str, class: FailureClass) -> Option<Prediction> {
        lint::predict(self, group, class)
    }

    /// A function without a fixed order draws its first variant at random.
    fn picks_at_random(&self, group: &str) -> bool {
        lint::primary(self, group).is_some_and(|(_, share)| share < 1.0)
    }

    /// TensorZero gives no account of a request in its answer headers.
    fn account(
        &self,
        _deployments: &[Deployment],
        _bases: &BTreeMap<String, String>,
    ) -> Option<Box<dyn AccountCheck>> {
        None
    }

    fn start<'a>(&'a self, l: Launch<'a>) -> BoxFuture<'a, Result<RunningGateway, GatewayError>> {
        Box::pin(async move {
            if let Some(port) = l.port {
                return Err(GatewayError::start(format!(
                    "TensorZero's embedded gateway picks its own port and cannot be restarted on port {port}, where the balancer expects the replica"
                )));
            }
            let install = super::install(l.options.version.as_deref(), &mut |line| {
                eprintln!("crossfire: {line}")
            })?;
            super::start(
                self,
                &install,
                l.bases,
                l.run_dir,
                l.startup_timeout,
                l.cancel,
            )
            .await
        })
    }

    fn drill_groups(&self) -> Result<Vec<String>, InputError> {
        let groups: Vec<String> = lint::groups(self)
            .into_iter()
            .filter(|g| lint::primary(self, g).is_some_and(|(p, _)| p.mapped.is_some()))
            .collect();
        if groups.is_empty() {
            return Err(InputError::file(
                &self.src.file,
                "no model or function to drill has a provider crossfire can map to a mock; nothing to drill",
            ));
        }
        Ok(groups)
    }

    /// Every cell gets its own copy of its model (or function and the
    /// models its variants call), its own mocks; one gateway serves all.
    fn drill_plan(
        &self,
        pairs: &[(String, FailureClass)],
        _out: &Path,
    ) -> Result<DrillPlan, GatewayError> {
        let cell_groups: Vec<String> = pairs.iter().map(|(g, _)| g.clone()).collect();
        let isolated = isolate::isolate(self, &cell_groups)?;
        let primaries: Vec<Option<(String, f64)>> = pairs
            .iter()
            .map(|(g, _)| lint::primary(self, g).map(|(p, share)| (p.id.clone(), share)))
            .collect();
        let copies = mapped(&isolated, true)?.deployments;
        let deployments = copies
            .into_iter()
            .map(|d| {
                let cell = cell_of(d.id());
                let primary = cell.is_some_and(|k| {
                    primaries[k]
                        .as_ref()
                        .is_some_and(|(id, _)| id == original(d.id()))
                });
                DrillDeployment {
                    deployment: d,
                    cell,
                    primary,
                }
            })
            .collect();
        let routes = pairs
            .iter()
            .enumerate()
            .map(|(k, (g, _))| DrillRoute {
                model: format!("{g}{}", cell_suffix(k)),
                primary_model: lint::primary(self, g)
                    .map(|(p, _)| p.upstream_model.clone())
                    .unwrap_or_default(),
                primary_share: primaries[k].as_ref().map_or(1.0, |(_, s)| *s),
            })
            .collect();
        // Predictions name provider entries: each is its own shape.
        let group_of = self
            .providers()
            .map(|p| (p.id.clone(), p.id.clone()))
            .collect::<HashMap<_, _>>();
        Ok(DrillPlan {
            config: Arc::new(isolated),
            deployments,
            routes,
            group_of,
            timeout: longest_timeout(self),
        })
    }
}
