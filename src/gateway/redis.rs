//! STUB (replaced at merge).

/// A running redis.
#[derive(Debug)]
pub struct RunningRedis {
    /// host
    pub host: String,
    /// port
    pub port: u16,
    /// log
    pub log: std::path::PathBuf,
}

/// start
pub async fn start(
    _run_dir: &std::path::Path,
    _cancel: &tokio_util::sync::CancellationToken,
) -> Result<RunningRedis, super::GatewayError> {
    Err(super::GatewayError::start("stub"))
}
