//! Process exit codes, as documented in `--help` and the README.

/// Every expectation held; no finding.
pub const OK: i32 = 0;
/// A finding (such as the Failover Illusion) or a failed expectation.
pub const FINDING: i32 = 1;
/// Bad input: a scenario, config or flag is wrong. Nothing was run.
pub const BAD_INPUT: i32 = 2;
/// Infrastructure: a gateway would not start, a port could not be bound,
/// provisioning failed.
pub const INFRA: i32 = 3;

/// Ctrl-C ended the run; the run folder keeps what was recorded.
pub const INTERRUPTED: i32 = 130;

/// The exit-code table shown in `--help`.
pub const HELP: &str = "Exit codes:
  0  every expectation held, no finding
  1  a finding (e.g. the Failover Illusion) or a failed expectation
  2  bad input: scenario, gateway config or flag (nothing was run)
  3  infrastructure: gateway would not start, port, provisioning
  130 interrupted by Ctrl-C (the run folder keeps what was recorded)";
