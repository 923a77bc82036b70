//! The TensorZero target against the real gateway (PyPI `tensorzero`
//! 2026.6.0, provisioned into crossfire's cache) and real mocks.

use crossfire::gateway::tensorzero;

#[test]
fn the_pinned_tensorzero_installs_and_is_the_version_pip_reports() {
    let started = std::time::Instant::now();
    let install = tensorzero::install(&mut |l| eprintln!("{l}")).expect("install");
    eprintln!("install took {:?}", started.elapsed());
    assert_eq!(install.version, "2026.6.0");
    assert!(install.python.exists());
}
