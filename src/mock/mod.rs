//! `crossfire mock`: what it reads (`file.rs`: a mock file and flags, checked
//! whole) and how it serves (`serve.rs`: until SIGINT or SIGTERM, one listing
//! line per deployment). The file and flag forms it shares with scenarios
//! are in [`crate::deployment_file`].

mod file;
mod serve;

pub use file::{apply_flags, from_source, load_file, MockFile, MockPlan};
pub use serve::{serve, stop_signal, wait_for_stop_signal, Listing};
