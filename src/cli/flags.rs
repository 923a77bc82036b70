//! Flags several commands share, defined once and flattened into each command
//! with `#[command(flatten)]`. A command whose help says more than the shared
//! text overrides the help line only (`mut_arg`), never the flag itself.

use crossfire::diag::InputError;
use crossfire::{gateway, runner, scenario};
use std::path::PathBuf;

/// `--out DIR`: the run folder.
#[derive(clap::Args, Clone, Default)]
pub struct RunFolder {
    /// The run folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl RunFolder {
    /// The folder given, or a new one under the default place.
    pub fn dir(self) -> PathBuf {
        self.out.unwrap_or_else(runner::default_out_dir)
    }
}

/// `--json FILE`: the command's result as JSON.
#[derive(clap::Args, Clone, Default)]
pub struct JsonFile {
    /// Write the result as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// `--markdown FILE`: the command's result as Markdown.
#[derive(clap::Args, Clone, Default)]
pub struct MarkdownFile {
    /// Write the result as Markdown.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// Routing snapshot flags.
#[derive(clap::Args, Clone, Default)]
pub struct SnapshotArgs {
    /// Compare each routing behaviour with the accepted snapshot in DIR (a
    /// difference fails the run); write it when there is none.
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Accept the behaviour seen as the new snapshot.
    #[arg(long, requires = "snapshots")]
    pub update_snapshots: bool,
}

impl SnapshotArgs {
    /// The snapshot options, when `--snapshots` is given.
    pub fn options(&self) -> Option<crossfire::snapshot::SnapshotOptions> {
        self.snapshots
            .as_ref()
            .map(|dir| crossfire::snapshot::SnapshotOptions {
                dir: dir.clone(),
                update: self.update_snapshots,
            })
    }
}

/// Flags that choose and configure the gateway under test.
#[derive(clap::Args, Clone, Default)]
pub struct GatewayArgs {
    /// Gateway target, overriding the scenario's: direct, command, url, or a
    /// gateway run from its own config (litellm, portkey, ...).
    #[arg(long, value_name = "KIND")]
    pub gateway: Option<String>,
    /// The gateway's own config (LiteLLM `config.yaml`, Portkey JSON, ...).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Base URL of a gateway already running (`--gateway url`).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    #[command(flatten)]
    pub program: ProgramArgs,
}

/// Flags about how crossfire runs a gateway program, whichever it is.
#[derive(clap::Args, Clone, Default)]
pub struct ProgramArgs {
    /// Run even when config items have no mock; their traffic is sealed and reported.
    #[arg(long)]
    pub allow_unmapped: bool,
    /// The `litellm` program to run (default: on PATH, else installed pinned).
    #[arg(long, value_name = "PATH")]
    pub litellm: Option<PathBuf>,
    /// Install and run this LiteLLM version instead of the pinned one.
    #[arg(long, value_name = "VERSION")]
    pub litellm_version: Option<String>,
    /// Install and run this Portkey or TensorZero version instead of the
    /// pinned one.
    #[arg(long, value_name = "VERSION")]
    pub gateway_version: Option<String>,
}

impl ProgramArgs {
    /// How crossfire starts the gateway programs.
    pub fn gateway_options(&self) -> gateway::GatewayOptions {
        gateway::GatewayOptions {
            litellm: gateway::litellm::LitellmOptions {
                path: self.litellm.clone(),
                version: self.litellm_version.clone(),
            },
            version: self.gateway_version.clone(),
        }
    }
}

impl GatewayArgs {
    /// How scenarios load under these flags: the gateway override, checked.
    pub fn load_options(&self) -> Result<scenario::LoadOptions, InputError> {
        let gateway = match &self.gateway {
            None => {
                if self.config.is_some() {
                    return Err(InputError::flag("--config", "goes with `--gateway KIND`, e.g. `--gateway litellm --config litellm.yaml`"));
                }
                None
            }
            Some(kind) => {
                let parsed = scenario::file::GatewayKind::from_name(kind).ok_or_else(|| {
                    InputError::flag(
                        format!("--gateway {kind}"),
                        format!(
                            "unknown gateway kind; {}",
                            crossfire::diag::suggest(
                                kind,
                                scenario::file::GatewayKind::names().iter().copied()
                            )
                        ),
                    )
                })?;
                if let Some(c) = &self.config {
                    if !c.is_file() {
                        return Err(InputError::flag(
                            format!("--config {}", c.display()),
                            "no such file",
                        ));
                    }
                }
                Some(scenario::GatewayOverride {
                    kind: parsed,
                    config: self.config.clone(),
                    url: self.url.clone(),
                })
            }
        };
        Ok(scenario::LoadOptions {
            gateway,
            allow_unmapped: self.program.allow_unmapped,
            replicas: None,
        })
    }

    /// How crossfire starts the gateway programs.
    pub fn gateway_options(&self) -> gateway::GatewayOptions {
        self.program.gateway_options()
    }

    /// `--allow-unmapped`.
    pub fn allow_unmapped(&self) -> bool {
        self.program.allow_unmapped
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        crate::Cli::command().debug_assert();
    }

    /// A shared flag keeps the help line its command gave it before the flags
    /// were shared.
    #[test]
    fn shared_flags_keep_each_commands_help_line() {
        let cli = crate::Cli::command();
        let help = |command: &str, flag: &str| {
            cli.find_subcommand(command)
                .and_then(|c| c.get_arguments().find(|a| a.get_id() == flag))
                .and_then(|a| a.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default()
        };
        let table = [
            (
                "run",
                "out",
                "The run folder (journals, gateway logs, rendered configs, reports)",
            ),
            (
                "run",
                "json",
                "Write the whole run, every path included, as JSON",
            ),
            (
                "run",
                "markdown",
                "Write a Markdown report (summary, findings, a flow diagram per model group)",
            ),
            ("explore", "out", "The run folder"),
            ("compare", "out", "The run folder"),
            ("compare", "json", "Write the comparison as JSON"),
            ("compare", "markdown", "Write the table as Markdown"),
            ("drill", "out", "The run folder"),
            ("drill", "json", "Write the drill as JSON"),
            (
                "drill",
                "markdown",
                "Write the drill as Markdown (matrix, cells, warnings)",
            ),
            ("lint", "json", "Write predictions and warnings as JSON"),
        ];
        for (command, flag, expected) in table {
            assert_eq!(help(command, flag), expected, "{command} --{flag}");
        }
    }
}
