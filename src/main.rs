//! The `crossfire` command: parse arguments and hand them to the command's
//! module under `cli/`, which maps the result to a documented exit code.

mod cli;

use clap::{Parser, Subcommand};
use crossfire::exit;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "crossfire", version, about = "Failover chaos-testing harness for LLM gateways", after_help = exit::HELP)]
struct Cli {
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

/// The subcommands; each one's help text and flags live in its module.
#[derive(Subcommand)]
enum Command {
    Run(cli::run::Args),
    Check(cli::check::Args),
    Schema(cli::schema::Args),
    Explore(cli::explore::Args),
    Compare(cli::compare::Args),
    Tax(cli::tax::Args),
    Lint(cli::lint::Args),
    Drill(cli::drill::Args),
    Mock(cli::mock::Args),
    Load(Box<cli::load::Args>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::common::init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INFRA as u8);
        }
    };
    match cli.command {
        Command::Run(args) => cli::run::exec(args, &runtime),
        Command::Check(args) => cli::check::exec(args),
        Command::Schema(args) => cli::schema::exec(args),
        Command::Explore(args) => cli::explore::exec(args, runtime),
        Command::Compare(args) => cli::compare::exec(args, &runtime),
        Command::Tax(args) => cli::tax::exec(args),
        Command::Lint(args) => cli::lint::exec(args),
        Command::Drill(args) => cli::drill::exec(args, &runtime),
        Command::Mock(args) => cli::mock::exec(args, &runtime),
        Command::Load(args) => cli::load::exec(*args, &runtime),
    }
}
