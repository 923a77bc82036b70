//! Each provider entry of a `tensorzero.toml` becomes a mock deployment
//! (provider, dialect, upstream model). An entry no mock can stand for (a
//! type TensorZero gives no base URL, a variant's `provider::model`
//! shorthand) is named with its place, and stops the run unless allowed.

use super::config::{Provider, TensorzeroConfig, VariantModel};
use crate::deployment::Deployment;
use crate::diag::{InputError, Location};
use mock_providers::DeploymentSpec;

/// Something in the config that would call a real provider: crossfire has no
/// mock for it. With `--allow-unmapped` it runs sealed (its attempts reach
/// the egress sink and are reported as escapes).
#[derive(Debug, Clone, PartialEq)]
pub struct Unmapped {
    /// Where (`models.gemini.providers.google`, `functions.chat.variants.b`).
    pub path: String,
    /// Its line.
    pub line: usize,
    /// Why crossfire cannot point it at a mock.
    pub reason: String,
}

/// The deployments of a config, one per mapped provider entry, and what
/// stays unmapped. Unless `allow_unmapped`, the first unmapped entry is an
/// error naming it.
pub fn deployments(
    cfg: &TensorzeroConfig,
    allow_unmapped: bool,
) -> Result<(Vec<Deployment>, Vec<Unmapped>), InputError> {
    let mut list = Vec::new();
    let mut unmapped = Vec::new();
    for p in cfg.providers() {
        match &p.mapped {
            Some((provider, dialect)) => list.push(Deployment {
                spec: DeploymentSpec::new(p.id.clone(), *dialect),
                provider: provider.clone(),
                model: p.upstream_model.clone(),
            }),
            None => unmapped.push(unmapped_provider(p)),
        }
    }
    for f in &cfg.functions {
        for v in &f.variants {
            if let VariantModel::Shorthand(m) = &v.model {
                unmapped.push(Unmapped {
                    path: format!("functions.{}.variants.{}", f.name, v.name),
                    line: v.line,
                    reason: format!(
                        "`model = \"{m}\"` is TensorZero's shorthand for the real provider at its default address; crossfire can only mock a model of `[models]`: define `[models.<name>]` with a provider and name it here"
                    ),
                });
            }
        }
    }
    if !allow_unmapped {
        if let Some(u) = unmapped.first() {
            return Err(InputError::At {
                location: Location {
                    file: cfg.src.file.clone(),
                    line: u.line,
                    column: 1,
                },
                message: format!(
                    "`{}`: {}; pass --allow-unmapped to run anyway with its traffic sealed",
                    u.path, u.reason
                ),
            });
        }
    }
    Ok((list, unmapped))
}

fn unmapped_provider(p: &Provider) -> Unmapped {
    Unmapped {
        path: p.path.clone(),
        line: p.line,
        reason: p.unmapped_reason.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::read;
    use super::super::toml_src::TomlSource;
    use super::*;
    use mock_providers::Dialect;

    fn cfg(text: &str) -> TensorzeroConfig {
        read(TomlSource::from_text("tz.toml".into(), text.into())).unwrap()
    }

    const MIXED: &str = r#"
[models.gpt]
routing = ["openai", "azure", "gemini"]

[models.gpt.providers.openai]
type = "openai"
model_name = "gpt-4o"

[models.gpt.providers.azure]
type = "azure"
deployment_id = "gpt-4o-prod"
endpoint = "https://team.openai.azure.com"

[models.gpt.providers.gemini]
type = "google_ai_studio_gemini"
model_name = "gemini-2.0-flash"
"#;

    #[test]
    fn each_mapped_provider_is_a_deployment_with_its_upstream_model() {
        let (list, unmapped) = deployments(&cfg(MIXED), true).unwrap();
        let got: Vec<_> = list
            .iter()
            .map(|d| {
                (
                    d.id(),
                    d.provider.as_str(),
                    d.spec.dialect,
                    d.model.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("gpt.openai", "openai", Dialect::Openai, "gpt-4o"),
                ("gpt.azure", "azure", Dialect::Azure, "gpt-4o-prod"),
            ]
        );
        assert_eq!(unmapped.len(), 1);
        assert_eq!(unmapped[0].path, "models.gpt.providers.gemini");
    }

    #[test]
    fn an_unmapped_provider_stops_the_run_naming_its_place() {
        let e = deployments(&cfg(MIXED), false).unwrap_err().to_string();
        assert!(
            e.starts_with("tz.toml:14:1: `models.gpt.providers.gemini`: TensorZero 2026.6.0 gives type `google_ai_studio_gemini` no base URL"),
            "{e}"
        );
        assert!(e.ends_with("pass --allow-unmapped to run anyway with its traffic sealed"));
    }

    #[test]
    fn a_shorthand_variant_model_is_unmapped() {
        let c = cfg("[functions.f]\ntype = \"chat\"\n[functions.f.variants.v]\ntype = \"chat_completion\"\nmodel = \"openai::gpt-4o\"\n");
        let e = deployments(&c, false).unwrap_err().to_string();
        assert!(e.starts_with("tz.toml:3:1: `functions.f.variants.v`: `model = \"openai::gpt-4o\"` is TensorZero's shorthand"), "{e}");
    }
}
