//! The subcommands of the `crossfire` binary: one module per command, each a
//! parsed `Args` and an `exec` that returns the exit code; the flags several
//! commands share are defined once in `flags`.

pub mod check;
pub mod common;
pub mod compare;
pub mod drill;
pub mod explore;
pub mod flags;
pub mod lint;
pub mod load;
pub mod mock;
pub mod run;
pub mod schema;
pub mod tax;
