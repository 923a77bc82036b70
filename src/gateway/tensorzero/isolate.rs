//! Drill isolation in one gateway: every cell gets its own copy of its group
//! (a model, or a function with every model its variants call), named with
//! the cell suffix (`gpt--cell0`, deployments `gpt.openai--cell0`), so each
//! cell has its own mocks and whatever state TensorZero keeps per model or
//! function (variant sampling, experimentation) is not shared between cells.
//! One gateway serves every cell at once.

use super::config::{read, TensorzeroConfig, TomlSource, VariantModel};
use crate::deployment::cell_suffix as suffix;
use crate::diag::InputError;
use toml_edit::{DocumentMut, Item};

fn section<'a>(doc: &'a mut DocumentMut, name: &str) -> Option<&'a mut dyn toml_edit::TableLike> {
    doc.as_table_mut()
        .get_mut(name)
        .and_then(Item::as_table_like_mut)
}

/// The config with a copy of `cells[k]`'s group per cell `k` (groups as the
/// client names them: `tensorzero::model_name::<m>` or
/// `tensorzero::function_name::<f>`), the originals kept.
pub fn isolate(cfg: &TensorzeroConfig, cells: &[String]) -> Result<TensorzeroConfig, InputError> {
    let mut doc: DocumentMut = cfg.src.text.parse().map_err(|e: toml_edit::TomlError| {
        InputError::file(&cfg.src.file, format!("not valid TOML: {}", e.message()))
    })?;
    let unknown = |g: &str| {
        InputError::file(
            &cfg.src.file,
            format!("no model or function `{g}` to copy for a drill cell"),
        )
    };
    for (k, g) in cells.iter().enumerate() {
        let s = suffix(k);
        let models: Vec<String> = if let Some(m) = g.strip_prefix("tensorzero::model_name::") {
            vec![m.to_string()]
        } else if let Some(f) = g.strip_prefix("tensorzero::function_name::") {
            let func = cfg
                .functions
                .iter()
                .find(|x| x.name == f)
                .ok_or_else(|| unknown(g))?;
            let mut copy = section(&mut doc, "functions")
                .and_then(|t| t.get(f).cloned())
                .ok_or_else(|| unknown(g))?;
            for v in &func.variants {
                if let VariantModel::Named(m) = &v.model {
                    if let Some(vt) = copy
                        .as_table_like_mut()
                        .and_then(|t| t.get_mut("variants"))
                        .and_then(Item::as_table_like_mut)
                        .and_then(|t| t.get_mut(&v.name))
                        .and_then(Item::as_table_like_mut)
                    {
                        vt.insert("model", toml_edit::value(format!("{m}{s}")));
                    }
                }
            }
            if let Some(t) = section(&mut doc, "functions") {
                t.insert(&format!("{f}{s}"), copy);
            }
            let mut ms: Vec<String> = func
                .variants
                .iter()
                .filter_map(|v| match &v.model {
                    VariantModel::Named(m) => Some(m.clone()),
                    _ => None,
                })
                .collect();
            ms.dedup();
            ms
        } else {
            return Err(unknown(g));
        };
        for m in models {
            let copy = section(&mut doc, "models")
                .and_then(|t| t.get(&m).cloned())
                .ok_or_else(|| unknown(g))?;
            if let Some(t) = section(&mut doc, "models") {
                t.insert(&format!("{m}{s}"), copy);
            }
        }
    }
    read(TomlSource::from_text(cfg.src.file.clone(), doc.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEAM: &str = r#"
[models.gpt]
routing = ["openai", "anthropic"]

[models.gpt.providers.openai]
type = "openai"
model_name = "gpt-4o"

[models.gpt.providers.anthropic]
type = "anthropic"
model_name = "claude-sonnet-4-5"

[functions.chat]
type = "chat"

[functions.chat.variants.main]
type = "chat_completion"
model = "gpt"
"#;

    #[test]
    fn each_cell_gets_its_own_copies_with_their_own_deployments() {
        let cfg = read(TomlSource::from_text("t.toml".into(), TEAM.into())).unwrap();
        let out = isolate(
            &cfg,
            &[
                "tensorzero::model_name::gpt".to_string(),
                "tensorzero::function_name::chat".to_string(),
            ],
        )
        .unwrap();
        let ids: Vec<&str> = out.providers().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "gpt.openai",
                "gpt.anthropic",
                "gpt.openai--cell0",
                "gpt.anthropic--cell0",
                "gpt.openai--cell1",
                "gpt.anthropic--cell1",
            ]
        );
        let f = out
            .functions
            .iter()
            .find(|f| f.name == "chat--cell1")
            .unwrap();
        assert_eq!(
            f.variants[0].model,
            VariantModel::Named("gpt--cell1".into())
        );
        assert!(isolate(&cfg, &["tensorzero::model_name::nope".to_string()]).is_err());
    }
}
