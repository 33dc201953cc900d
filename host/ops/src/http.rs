//! The operations endpoint of a miner or validator (`--metrics-addr`): `GET /metrics`
//! (Prometheus) and `GET /healthcheck` (JSON [`crate::health::HealthReport`]), plus any routes
//! the role adds (the validator's epoch dashboard). Off unless the flag is given; the flag's
//! default address is loopback.

use crate::health::Health;
use crate::metrics::{CONTENT_TYPE, encode};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Clone)]
struct Ops {
    registry: Arc<prometheus_client::registry::Registry>,
    health: Arc<Health>,
}

/// The `/metrics` and `/healthcheck` routes over `registry` and `health` (the coordinator merges
/// them into its API router; [`serve`] serves them alone).
pub fn routes(registry: crate::Registry, health: Arc<Health>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthcheck", get(healthcheck))
        .with_state(Ops { registry, health })
}

async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        encode(&ops.registry),
    )
}

async fn healthcheck(State(ops): State<Ops>) -> impl IntoResponse {
    axum::Json(ops.health.report())
}

/// A running operations endpoint.
#[derive(Debug)]
pub struct MetricsServer {
    /// The address it listens on (the port resolved when 0 was asked for).
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("--metrics-addr {addr}: cannot listen: {source}")]
pub struct ServeError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// Serves [`routes`] and `extra` on `addr` until the returned server is stopped or dropped with
/// the runtime.
pub async fn serve(
    addr: SocketAddr,
    registry: crate::Registry,
    health: Arc<Health>,
    extra: Router,
) -> Result<MetricsServer, ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServeError { addr, source })?;
    let app = routes(registry, health).merge(extra);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics endpoint stopped");
        }
    });
    tracing::info!(%addr, "serving /metrics and /healthcheck");
    Ok(MetricsServer { addr, task })
}
