//! The Prometheus registry of a role and its OpenMetrics text exposition.
//!
//! Each role builds its metric families at start-up (`prometheus_client` counters, gauges and
//! histograms, cheap to update from any thread), registers them here under the `resi_` prefix,
//! then shares the registry read-only with the HTTP endpoint.

use std::sync::Arc;

/// A role's registry, shared with the `/metrics` endpoint once every series is registered.
pub type Registry = Arc<prometheus_client::registry::Registry>;

/// Content type of the exposition (OpenMetrics text, which Prometheus scrapes natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A new registry whose series are all named `resi_<name>`.
pub fn new_registry() -> prometheus_client::registry::Registry {
    prometheus_client::registry::Registry::with_prefix("resi")
}

/// The registry's series in OpenMetrics text.
pub fn encode(registry: &prometheus_client::registry::Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; an encoder error would be a bug in a metric type.
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, registry) {
        tracing::error!(error = %e, "encoding metrics");
    }
    out
}

/// Histogram buckets for durations in seconds, from 1 ms to about 2 h (wide enough for an API
/// request and for a whole epoch's stage).
pub fn seconds_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.001, 2.5, 18)
}
