//! Operations shared by resi's long-running roles (coordinator, miner, validator):
//! - [`metrics`]: the Prometheus registry each role registers its series in, and its text
//!   exposition;
//! - [`http`]: the `/metrics` and `/healthcheck` endpoint a miner or validator serves on
//!   `--metrics-addr` (the coordinator serves the same two routes on its API port);
//! - [`health`]: what `/healthcheck` answers;
//! - [`shutdown`]: SIGTERM / SIGINT turned into a shutdown every role's loop watches;
//! - [`logging`]: `--log-format text|json`.

pub mod health;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod shutdown;

pub use health::Health;
pub use http::{MetricsServer, serve};
pub use logging::LogFormat;
pub use metrics::Registry;
pub use shutdown::Shutdown;
