//! The coordinator's Prometheus series (served at `/metrics` with the `resi_` prefix of
//! [`resi_ops::metrics::new_registry`]): what every request did, recorded by one middleware
//! ([`track`]), and the current epoch, read at scrape time ([`EpochCollector`]).
//!
//! | series | type | labels |
//! |---|---|---|
//! | `resi_coordinator_http_requests_total` | counter | `endpoint` (route template), `method`, `status` |
//! | `resi_coordinator_http_request_duration_seconds` | histogram | `endpoint` |
//! | `resi_coordinator_refusals_total` | counter | `reason` (see [`Refusal`]) |
//! | `resi_coordinator_rate_limit_hits_total` | counter | `rule` (e.g. `current`, `folder_day`) |
//! | `resi_coordinator_grants_total` | counter | `kind` (see [`GRANT_ROUTES`]) |
//! | `resi_coordinator_epoch_start_timestamp_seconds` | gauge | |
//! | `resi_coordinator_epoch_end_timestamp_seconds` | gauge | |
//! | `resi_coordinator_epoch_zipcodes` | gauge | (honeypots included) |
//! | `resi_coordinator_epoch_honeypots` | gauge | |
//! | `resi_coordinator_epoch_expected_listings` | gauge | |
//! | `resi_coordinator_epoch_miners_reported` | gauge | `status` (a miner's latest report) |
//!
//! `endpoint` is the matched route template (`/api/v1/zipcode-assignments/epoch/{id}`), or
//! `unmatched` for a path no route serves, so clients cannot grow the label set.

use crate::db::Db;
use crate::epochs::Epochs;
use crate::{Clock, server};
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use resi_core::wire::{self, MinerStatus};
use std::sync::Arc;
use std::time::Instant;

/// The `endpoint` label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Routes whose successful answer hands out one grant, and the grant's `kind` label.
pub const GRANT_ROUTES: &[(&str, &str)] = &[
    (wire::PATH_FOLDER_ACCESS, "miner_upload"),
    (wire::PATH_VALIDATOR_UPLOAD, "validator_upload"),
    (wire::PATH_VALIDATOR_ACCESS, "validator_read"),
    (wire::PATH_MINER_SPECIFIC_ACCESS, "miner_read"),
];

/// Why a request was refused, attached to an error response by the code that refused it and
/// counted by [`track`]. A 4xx answer without one is counted under a reason derived from its
/// status ([`Refusal::of_status`]).
///
/// Reasons of the authentication path, in its order: `bad_query` / `bad_body` (missing or
/// malformed parameters), `timestamp` (outside the window), `bad_hotkey`, `malformed_signature`,
/// `bad_signature` (does not verify), `not_registered`, `no_permit` (validator-only endpoint),
/// `replay`, `rate_limited` (with the rule). Elsewhere: `bad_nonce`, `epoch_not_started`,
/// `body_too_large`, `timeout`, `upload_refused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The `reason` label.
    pub reason: &'static str,
    /// The rate-limit rule that was exhausted, for `rate_limited`.
    pub rule: Option<&'static str>,
}

impl Refusal {
    /// The reason of a 4xx answer nobody labelled (axum's own rejections, the fallback).
    pub fn of_status(status: u16) -> &'static str {
        match status {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            408 => "timeout",
            413 => "body_too_large",
            429 => "rate_limited",
            _ => "other",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(resi_ops::metrics::seconds_buckets())
}

/// The request series, updated by [`track`].
#[derive(Debug)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    refusals: Family<ReasonLabels, Counter>,
    rate_limited: Family<RuleLabels, Counter>,
    grants: Family<KindLabels, Counter>,
}

impl Metrics {
    /// Registers the request series and the [`EpochCollector`] under `coordinator_` in
    /// `registry`.
    pub fn register(
        registry: &mut Registry,
        epochs: Arc<Epochs>,
        db: Arc<Db>,
        clock: Clock,
    ) -> Arc<Self> {
        let m = Metrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            refusals: Family::default(),
            rate_limited: Family::default(),
            grants: Family::default(),
        };
        let r = registry.sub_registry_with_prefix("coordinator");
        r.register(
            "http_requests",
            "API requests answered, by route template, method and status code",
            m.requests.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "Time to answer an API request (until the response headers), by route template",
            Unit::Seconds,
            m.latency.clone(),
        );
        r.register(
            "refusals",
            "Requests refused with a 4xx answer, by reason",
            m.refusals.clone(),
        );
        r.register(
            "rate_limit_hits",
            "Requests refused by a rate limit, by rule",
            m.rate_limited.clone(),
        );
        r.register(
            "grants",
            "Object-store grants handed out, by kind",
            m.grants.clone(),
        );
        r.register_collector(Box::new(EpochCollector { epochs, db, clock }));
        Arc::new(m)
    }

    fn record(
        &self,
        endpoint: String,
        method: &Method,
        status: u16,
        secs: f64,
        refusal: Option<Refusal>,
    ) {
        let is_grant = (200..300)
            .contains(&status)
            .then(|| GRANT_ROUTES.iter().find(|(p, _)| *p == endpoint))
            .flatten();
        if let Some((_, kind)) = is_grant {
            self.grants.get_or_create(&KindLabels { kind }).inc();
        }
        if (400..500).contains(&status) {
            let reason = refusal.map_or_else(|| Refusal::of_status(status), |r| r.reason);
            self.refusals.get_or_create(&ReasonLabels { reason }).inc();
            if status == 429 {
                let rule = refusal.and_then(|r| r.rule).unwrap_or("unknown");
                self.rate_limited.get_or_create(&RuleLabels { rule }).inc();
            }
        }
        self.latency
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.clone(),
            })
            .observe(secs);
        self.requests
            .get_or_create(&RequestLabels {
                endpoint,
                method: method_label(method),
                status,
            })
            .inc();
    }
}

/// The `method` label: the standard methods by name, anything else `other` (clients choose the
/// method, so its label set must be bounded).
fn method_label(m: &Method) -> &'static str {
    const KNOWN: [Method; 7] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
    ];
    KNOWN
        .iter()
        .find(|k| *k == m)
        .map_or("other", |k| k.as_str())
}

/// Middleware recording every request's route template, method, status, latency, refusal
/// reason, rate-limit rule and grant (layered outermost, so it sees the final status).
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let endpoint = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let method = req.method().clone();
    let resp = next.run(req).await;
    let refusal = resp.extensions().get::<Refusal>().copied();
    metrics.record(
        endpoint,
        &method,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
        refusal,
    );
    resp
}

/// The current epoch's gauges, computed on each scrape from the epoch cache and the status
/// table (nothing to keep in step).
pub struct EpochCollector {
    epochs: Arc<Epochs>,
    db: Arc<Db>,
    clock: Clock,
}

impl std::fmt::Debug for EpochCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochCollector").finish_non_exhaustive()
    }
}

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, v: i64) -> std::fmt::Result {
    let g = ConstGauge::new(v);
    let m = enc.encode_descriptor(name, help, None, g.metric_type())?;
    g.encode(m)
}

impl Collector for EpochCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let now = (self.clock)();
        let Ok(ep) = self.epochs.schedule.current(now) else {
            return Ok(());
        };
        let id = ep.id.to_string();
        let rec = match self.epochs.get(&id) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => {
                tracing::warn!(error = %resi_core::error::ErrorChain(&e), "metrics: reading the current epoch");
                return Ok(());
            }
        };
        let honeypots = rec.zipcodes.iter().filter(|z| z.is_honeypot).count();
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        gauge(
            &mut enc,
            "epoch_start_timestamp_seconds",
            "Start of the current epoch, unix seconds",
            rec.row.start_ts,
        )?;
        gauge(
            &mut enc,
            "epoch_end_timestamp_seconds",
            "Submission deadline (end) of the current epoch, unix seconds",
            rec.row.end_ts,
        )?;
        gauge(
            &mut enc,
            "epoch_zipcodes",
            "Zipcodes assigned in the current epoch, honeypots included",
            count(rec.zipcodes.len()),
        )?;
        gauge(
            &mut enc,
            "epoch_honeypots",
            "Honeypot zipcodes among the current epoch's assignments",
            count(honeypots),
        )?;
        gauge(
            &mut enc,
            "epoch_expected_listings",
            "Sum of the expected listings shown for the current epoch's zipcodes",
            i64::try_from(rec.total_expected()).unwrap_or(i64::MAX),
        )?;
        let reported = match self.db.status_counts(&rec.row.id) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %resi_core::error::ErrorChain(&e), "metrics: reading status reports");
                return Ok(());
            }
        };
        let family = Family::<StatusLabels, Gauge>::default();
        for s in [
            MinerStatus::InProgress,
            MinerStatus::Completed,
            MinerStatus::Failed,
            MinerStatus::Timeout,
        ] {
            let status = server::miner_status_text(s);
            let n = reported
                .iter()
                .find(|(k, _)| k == status)
                .map_or(0, |(_, n)| *n);
            family
                .get_or_create(&StatusLabels { status })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let m = enc.encode_descriptor(
            "epoch_miners_reported",
            "Miners whose latest status report for the current epoch has this status",
            None,
            MetricType::Gauge,
        )?;
        family.encode(m)
    }
}
