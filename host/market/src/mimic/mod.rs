//! Mimics of the real listing sources: the synthetic universe (or a directory of real captured
//! bodies, verbatim) served in each source's exact wire format, with its auth, pagination,
//! caps, rate limits and error bodies, so the real scraper components can be tested and run
//! against loopback unchanged.
//!
//! This module owns what the sources share: which source ([`Source`]), where the data comes
//! from ([`MimicData`]), the knobs ([`MimicOptions`]), admission (per-second rate limit and
//! monthly quota, [`Admission`]) and the synthetic universe's recent sales ([`MimicState::sold`]).
//! Each source's wire format lives in its own module ([`zillow`], [`redfin`]).

pub mod redfin;
pub mod tls;
pub mod zillow;

use crate::{Listing, Market, MarketError, RateLimit};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A real listing source resi has a scraper and a mimic for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// RapidAPI's `zillow-com1` (`https://zillow-com1.p.rapidapi.com`).
    ZillowRapidApi,
    /// Redfin's stingray API (`https://www.redfin.com`).
    Redfin,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 2] = [Source::ZillowRapidApi, Source::Redfin];

    /// The name used by flags and folders: `zillow-rapidapi`, `redfin`.
    pub fn name(self) -> &'static str {
        match self {
            Source::ZillowRapidApi => "zillow-rapidapi",
            Source::Redfin => "redfin",
        }
    }

    /// The real origin's host name (what a scraper's allowlist names, port 443).
    pub fn host(self) -> &'static str {
        match self {
            Source::ZillowRapidApi => "zillow-com1.p.rapidapi.com",
            Source::Redfin => "www.redfin.com",
        }
    }

    /// Parses [`Source::name`].
    pub fn parse(text: &str) -> Result<Source, MarketError> {
        Source::ALL
            .into_iter()
            .find(|s| s.name() == text)
            .ok_or_else(|| {
                MarketError::InvalidConfig(format!(
                    "unknown source {text:?}: expected zillow-rapidapi or redfin"
                ))
            })
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a mimic's answers come from.
#[derive(Debug, Clone)]
pub enum MimicData {
    /// The synthetic universe, rendered in the source's wire format.
    Synthetic(Arc<Market>),
    /// A directory of real captured bodies served verbatim (layout per source module).
    Replay(PathBuf),
}

/// How a mimic behaves beyond its data.
#[derive(Debug, Clone, PartialEq)]
pub struct MimicOptions {
    /// The API key requests must carry (RapidAPI's `X-RapidAPI-Key`); sources without keys
    /// ignore it.
    pub api_key: String,
    /// Per-second rate limit, answered with the source's own 429.
    pub rate_limit: Option<RateLimit>,
    /// Whether a 429 carries `Retry-After` (the real services are reported both ways).
    pub retry_after: bool,
    /// Requests served before every further one gets the monthly-quota answer.
    pub monthly_quota: Option<u64>,
    /// Sales within this many days before the market's "today" count as recent.
    pub sold_within_days: u32,
}

impl Default for MimicOptions {
    fn default() -> Self {
        MimicOptions {
            api_key: "resi-mimic-key".into(),
            rate_limit: None,
            retry_after: true,
            monthly_quota: None,
            sold_within_days: 90,
        }
    }
}

/// Whether a request may be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Answer it.
    Ok,
    /// Over the per-second limit; a token is due in this many whole seconds (at least 1).
    RateLimited {
        /// Seconds until the next token.
        retry_after_s: u64,
    },
    /// The monthly quota is used up.
    QuotaExhausted,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Most zipcodes whose recent sales are kept in memory at once.
const SOLD_CACHE: usize = 64;

/// The shared state of one mimic server.
pub struct MimicState {
    /// The data.
    pub data: MimicData,
    /// The knobs.
    pub options: MimicOptions,
    bucket: Mutex<Option<Bucket>>,
    requests: AtomicU64,
    sold: Mutex<HashMap<String, Arc<Vec<Listing>>>>,
}

impl MimicState {
    /// State for `data` under `options`.
    pub fn new(data: MimicData, options: MimicOptions) -> Arc<MimicState> {
        Arc::new(MimicState {
            data,
            options,
            bucket: Mutex::new(None),
            requests: AtomicU64::new(0),
            sold: Mutex::new(HashMap::new()),
        })
    }

    /// Requests admitted so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Counts one request against the quota and the rate limit (quota first, as RapidAPI does).
    pub fn admit(&self) -> Admission {
        if let Some(quota) = self.options.monthly_quota
            && self.requests.load(Ordering::Relaxed) >= quota
        {
            return Admission::QuotaExhausted;
        }
        if let Some(limit) = self.options.rate_limit {
            let mut guard = match self.bucket.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            let now = Instant::now();
            let burst = f64::from(limit.burst);
            let bucket = guard.get_or_insert(Bucket {
                tokens: burst,
                updated: now,
            });
            bucket.tokens = (bucket.tokens
                + now.duration_since(bucket.updated).as_secs_f64() * limit.per_second)
                .min(burst);
            bucket.updated = now;
            if bucket.tokens < 1.0 {
                let wait = (1.0 - bucket.tokens) / limit.per_second;
                return Admission::RateLimited {
                    retry_after_s: (wait.ceil() as u64).max(1),
                };
            }
            bucket.tokens -= 1.0;
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        Admission::Ok
    }

    /// The synthetic market's recently sold homes of `zipcode` (sold within
    /// [`MimicOptions::sold_within_days`] of the market's today), newest sale first, ties by
    /// zpid; empty in replay mode or for a zipcode without homes.
    pub fn sold(&self, zipcode: &str) -> Arc<Vec<Listing>> {
        let MimicData::Synthetic(market) = &self.data else {
            return Arc::new(Vec::new());
        };
        if let Ok(cache) = self.sold.lock()
            && let Some(hit) = cache.get(zipcode)
        {
            return hit.clone();
        }
        let homes = Arc::new(recent_sales(market, zipcode, self.options.sold_within_days));
        if let Ok(mut cache) = self.sold.lock() {
            if cache.len() >= SOLD_CACHE {
                cache.clear();
            }
            cache.insert(zipcode.to_owned(), homes.clone());
        }
        homes
    }
}

/// The homes of `zipcode` sold within `days` of the market's today, newest sale first, ties by
/// zpid. The one definition of "recent sales" of the synthetic universe: the mimics serve it
/// and the devnet's coordinator counts it as the expected listings.
pub fn recent_sales(market: &Market, zipcode: &str, days: u32) -> Vec<Listing> {
    let today = market.config().now;
    let since = today - chrono::Days::new(u64::from(days));
    let mut sold: Vec<Listing> = market
        .listings(zipcode)
        .into_iter()
        .filter(|l| {
            l.sold_date
                .as_deref()
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .is_some_and(|d| d >= since && d <= today)
        })
        .collect();
    sold.sort_by(|a, b| b.sold_date.cmp(&a.sold_date).then(a.zpid.cmp(&b.zpid)));
    sold
}

/// The path every mimic answers with `{"service":"resi-mimic","source":NAME,"requests":N}`
/// (not rate limited, not counted): readiness for scripts and tests.
pub const HEALTH_PATH: &str = "/resi-mimic/health";

/// The HTTP routes of `source`'s mimic over `state`, plus [`HEALTH_PATH`].
pub fn router(source: Source, state: Arc<MimicState>) -> Router {
    let routes = match source {
        Source::ZillowRapidApi => zillow::router(state.clone()),
        Source::Redfin => redfin::router(state.clone()),
    };
    routes.route(
        HEALTH_PATH,
        axum::routing::get(move || async move {
            axum::Json(serde_json::json!({
                "service": "resi-mimic",
                "source": source.name(),
                "requests": state.requests(),
            }))
        }),
    )
}

/// A running mimic: its address, its state (request counts) and a shutdown.
pub struct MimicServer {
    addr: SocketAddr,
    state: Arc<MimicState>,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl MimicServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its state.
    pub fn state(&self) -> &Arc<MimicState> {
        &self.state
    }

    /// Stops accepting and closes open connections gracefully.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for MimicServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}

/// Serves `source`'s mimic over `state` on `addr` (port 0 picks one), over TLS with `tls`'s
/// certificates when given (what a scraper routed by `--resolve` expects), else plain HTTP.
pub async fn serve(
    source: Source,
    state: Arc<MimicState>,
    addr: SocketAddr,
    tls: Option<&tls::TestCa>,
) -> Result<MimicServer, MarketError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MarketError::Serve { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| MarketError::Serve { addr, source })?;
    let app = router(source, state.clone());
    let acceptor = tls.map(tls::TestCa::acceptor);
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            let (stream, _peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "mimic accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = rx.changed() => break,
            };
            let app = app.clone();
            let acceptor = acceptor.clone();
            let mut closing = rx.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: axum::http::Request<hyper::body::Incoming>| {
                        let mut app = app.clone();
                        tower_service::Service::call(&mut app, req)
                    },
                );
                let http = hyper::server::conn::http1::Builder::new();
                match acceptor {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls) => {
                            let conn =
                                http.serve_connection(hyper_util::rt::TokioIo::new(tls), svc);
                            tokio::select! { _ = conn => {}, _ = closing.changed() => {} }
                        }
                        Err(e) => tracing::debug!(error = %e, "mimic TLS handshake failed"),
                    },
                    None => {
                        let conn = http.serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
                        tokio::select! { _ = conn => {}, _ = closing.changed() => {} }
                    }
                }
            });
        }
    });
    tracing::info!(%local, %source, tls = tls.is_some(), "mimic listening");
    Ok(MimicServer {
        addr: local,
        state,
        shutdown: Some(tx),
        task,
    })
}
