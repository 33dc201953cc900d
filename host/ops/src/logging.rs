//! `--log-format`: human-readable lines (default) or one JSON object per event, for log
//! shippers (journald, pm2, Loki). Both honour `RUST_LOG`.

use std::str::FromStr;
use tracing_subscriber::EnvFilter;

/// How log events are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `2025-10-01T16:00:00Z  INFO resi_miner: message key=value`.
    #[default]
    Text,
    /// `{"timestamp":"...","level":"INFO","fields":{"message":"..."},"target":"..."}`.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?} (text or json)")),
        }
    }
}

/// Installs the global subscriber: `RUST_LOG` if set, else `default_filter`.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(false).init(),
    }
}
