//! LiteLLM behind crossfire's one gateway interface.

use super::config::{self as litellm_config, LitellmConfig};
use super::{account, intent, isolate, lint, loaded, rewrite};
use crate::deployment::{cell_suffix, original, Deployment};
use crate::diag::InputError;
use crate::gateway::adapter::{
    AccountCheck, Adapter, BoxFuture, DrillDeployment, DrillPlan, DrillRoute, GatewayConfig,
    Launch, Mapped, NotLoaded,
};
use crate::gateway::{GatewayError, RunningGateway};
use crate::intent::{Intent, RoutingIntent};
use crate::lint::{Prediction, Warning};
use mock_providers::FailureClass;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The LiteLLM proxy, run from the team's own `config.yaml`.
pub struct Litellm;

impl Adapter for Litellm {
    fn name(&self) -> &'static str {
        "litellm"
    }

    fn config_noun(&self) -> &'static str {
        "the team's LiteLLM proxy config"
    }

    fn startup_timeout(&self) -> Duration {
        // The proxy starts in about 9 s alone on 2 cores, 30-40 s when
        // several start at once.
        Duration::from_secs(180)
    }

    fn load(&self, file: &Path) -> Result<Arc<dyn GatewayConfig>, InputError> {
        Ok(Arc::new(litellm_config::load(file)?))
    }

    fn render(&self, intent: &RoutingIntent) -> (&'static str, String) {
        ("litellm.yaml", render(intent))
    }
}

/// A routing intent as a LiteLLM proxy config: a group per model, the
/// intent's group falling back across them.
pub fn render(i: &RoutingIntent) -> String {
    let mut out =
        String::from("# Rendered by crossfire compare from a routing intent.\nmodel_list:\n");
    let mut groups = Vec::new();
    out.push_str(&format!(
        "  - model_name: {}\n    litellm_params:\n      model: {}\n",
        i.group, i.primary
    ));
    for f in &i.fallbacks {
        let model = crate::intent::route_parts(f).map_or(f.as_str(), |(_, m)| m);
        groups.push(model.to_string());
        out.push_str(&format!(
            "  - model_name: {model}\n    litellm_params:\n      model: {f}\n"
        ));
    }
    out.push_str(&format!(
        "router_settings:\n  fallbacks:\n    - {}: [{}]\n",
        i.group,
        groups.join(", ")
    ));
    out
}

/// Deployments from a LiteLLM config: one per mapped `model_list` item. An
/// item without a mock stops the run (naming it) unless allowed.
pub fn deployments(cfg: &LitellmConfig, allow_unmapped: bool) -> Result<Mapped, InputError> {
    let mut mapped = Mapped::default();
    for item in &cfg.items {
        match &item.mapped {
            Some((provider, dialect)) => mapped.deployments.push(Deployment::new(
                item.id.clone(),
                *dialect,
                provider,
                &item.upstream_model,
            )),
            None if allow_unmapped => mapped
                .unmapped
                .push(format!("{} ({}, group {})", item.id, item.model, item.group)),
            None => {
                return Err(cfg.item_error(
                    item,
                    "litellm_params.model",
                    format!(
                        "model `{}` (group `{}`): {}; pass --allow-unmapped to run anyway with its traffic sealed",
                        item.model,
                        item.group,
                        item.unmapped_reason.clone().unwrap_or_default()
                    ),
                ))
            }
        }
    }
    Ok(mapped)
}

impl GatewayConfig for LitellmConfig {
    fn adapter(&self) -> &'static dyn Adapter {
        &Litellm
    }

    fn file(&self) -> &Path {
        &self.src.file
    }

    fn groups(&self) -> Vec<String> {
        LitellmConfig::groups(self)
    }

    fn refuses_group(&self, group: &str) -> Option<String> {
        let known = LitellmConfig::groups(self);
        (!known.contains(&group.to_string())).then(|| {
            format!(
                "the LiteLLM config has no model group `{group}`; {}",
                crate::diag::suggest(group, known.iter().map(String::as_str))
            )
        })
    }

    fn deployments(&self, allow_unmapped: bool) -> Result<Mapped, InputError> {
        deployments(self, allow_unmapped)
    }

    fn intent(&self, _groups: &BTreeSet<&str>) -> Intent {
        intent::derive(self)
    }

    fn causes(
        &self,
        group: &str,
        promised: &BTreeMap<FailureClass, BTreeSet<String>>,
    ) -> BTreeMap<FailureClass, String> {
        intent::causes(self, group, promised)
    }

    /// `router_settings.cooldown_time`, else LiteLLM 1.108.7's default
    /// (5 s, seen in its own 429: "Try again in 5 seconds"); none when
    /// cooldowns are disabled.
    fn cooldown(&self) -> Option<Duration> {
        if self.routing.disable_cooldowns {
            return None;
        }
        Some(Duration::from_secs_f64(
            self.routing.cooldown_time.unwrap_or(5.0).clamp(0.0, 60.0),
        ))
    }

    fn shared_state(&self) -> Option<String> {
        // The key itself, not its nearest parent: a config without it
        // shares nothing.
        let at = |key: &str| {
            self.src
                .index
                .keys_get(&format!("router_settings.{key}"))
                .map(|(line, _)| {
                    format!(
                        "`router_settings.{key}` at {}:{line}",
                        self.src.file.display()
                    )
                })
        };
        at("redis_host").or_else(|| at("redis_url"))
    }

    fn rules(&self) -> String {
        format!("LiteLLM {}", super::VERSION)
    }

    fn warnings(&self) -> Vec<Warning> {
        lint::warnings(self)
    }

    fn self_answer_cause(&self, status: u16, body: &str) -> Option<String> {
        // LiteLLM 1.108.7 answers 429 "No deployments available for selected
        // model ... All deployments for selected model are in cooldown".
        if status != 429 || !body.contains("are in cooldown") {
            return None;
        }
        let at = |key: &str| {
            self.src
                .index
                .key(&format!("router_settings.{key}"))
                .map(|(line, _)| format!("{}:{line}", self.src.file.display()))
        };
        let r = &self.routing;
        let cooldown = match (r.cooldown_time, at("cooldown_time")) {
            (Some(t), Some(line)) => format!("`router_settings.cooldown_time: {t}` at {line}"),
            _ => "LiteLLM's default cooldown (no `router_settings.cooldown_time`)".to_string(),
        };
        let fails = match (r.allowed_fails, at("allowed_fails")) {
            (Some(n), Some(line)) => format!(", after `allowed_fails: {n}` at {line}"),
            _ => String::new(),
        };
        Some(format!(
            "every deployment of the group was cooling down: {cooldown}{fails}"
        ))
    }

    fn predict(&self, group: &str, class: FailureClass) -> Option<Prediction> {
        lint::predict(self, group, class)
    }

    fn picks_at_random(&self, group: &str) -> bool {
        self.items_of(group).len() > 1
    }

    fn account(
        &self,
        deployments: &[Deployment],
        bases: &BTreeMap<String, String>,
    ) -> Option<Box<dyn AccountCheck>> {
        let deployment_at = deployments
            .iter()
            .filter_map(|d| {
                let base = bases.get(d.id())?;
                Some((
                    rewrite::api_base_for(d.spec.dialect, base),
                    d.id().to_string(),
                ))
            })
            .collect();
        let group_of = self
            .items
            .iter()
            .map(|i| (i.id.clone(), i.group.clone()))
            .collect();
        Some(Box::new(account::LitellmAccount {
            deployment_at,
            group_of,
        }))
    }

    fn start<'a>(&'a self, l: Launch<'a>) -> BoxFuture<'a, Result<RunningGateway, GatewayError>> {
        Box::pin(async move {
            let bin = super::binary(&l.options.litellm, &mut |line| {
                eprintln!("crossfire: {line}")
            })?;
            super::start(self, &bin, &l).await
        })
    }

    fn not_loaded<'a>(
        &'a self,
        bases: &'a BTreeMap<String, String>,
        gateway: &'a RunningGateway,
        log: &'a Path,
    ) -> BoxFuture<'a, Result<Vec<NotLoaded>, GatewayError>> {
        Box::pin(loaded::not_loaded(self, bases, gateway, log))
    }

    fn drill_groups(&self) -> Result<Vec<String>, InputError> {
        // The same rule as `run`: an item without a mock would send its
        // traffic to the real provider, so it stops the drill unless allowed
        // (checked by the caller with `deployments`).
        let groups: Vec<String> = LitellmConfig::groups(self)
            .into_iter()
            .filter(|g| self.items_of(g).iter().any(|i| i.mapped.is_some()))
            .collect();
        if groups.is_empty() {
            let unmapped: Vec<String> = self
                .items
                .iter()
                .filter(|i| i.mapped.is_none())
                .map(|i| format!("`{}`", i.model))
                .collect();
            return Err(self.src.error_at_key(
                "model_list",
                format!(
                    "no model group to drill has an item crossfire can map to a mock (unmapped: {}); nothing to drill",
                    unmapped.join(", ")
                ),
            ));
        }
        Ok(groups)
    }

    /// Every cell gets its own copy of its group and of every group its
    /// fallbacks reach (see `isolate`): one proxy serves every cell.
    fn drill_plan(
        &self,
        pairs: &[(String, FailureClass)],
        out: &Path,
    ) -> Result<DrillPlan, GatewayError> {
        let cell_groups: Vec<String> = pairs.iter().map(|(g, _)| g.clone()).collect();
        let isolated = isolate::isolate(self, &cell_groups, &out.join("drill-source.yaml"))?;
        let group_of: HashMap<String, String> = self
            .items
            .iter()
            .map(|i| (i.id.clone(), i.group.clone()))
            .collect();
        let copies = deployments(&isolated, true)?.deployments;
        let deployments = copies
            .into_iter()
            .map(|d| {
                let cell = isolate::cell_of(d.id());
                let primary = cell.is_some_and(|k| {
                    group_of
                        .get(original(d.id()))
                        .is_some_and(|g| *g == pairs[k].0)
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
                primary_model: self
                    .items_of(g)
                    .first()
                    .map(|i| i.upstream_model.clone())
                    .unwrap_or_default(),
                // Every deployment of the group carries the fault: a
                // random pick among them cannot miss it.
                primary_share: 1.0,
            })
            .collect();
        Ok(DrillPlan {
            config: Arc::new(isolated),
            deployments,
            routes,
            group_of,
            timeout: self.routing.timeout,
        })
    }
}
