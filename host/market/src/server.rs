//! The market's HTTP server (axum): the JSON API of the crate docs plus the hostile-site layer
//! (latency, token-bucket rate limit with `Retry-After`, deterministic fault injection).

use crate::zipcodes::{Zipcode, is_zipcode};
use crate::{Listing, Market, MarketConfig, MarketError};
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Largest page a search answers.
pub const MAX_PAGE_SIZE: u32 = 500;
/// How many distinct URLs the fault schedule tracks before it starts over.
pub const MAX_TRACKED_URLS: usize = 1_000_000;
/// Page size when the query names none.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Counters of a running server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// `/api/` requests received.
    pub requests: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// Requests answered with an injected fault.
    pub faults: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    rate_limited: AtomicU64,
    faults: AtomicU64,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

struct AppState {
    market: Arc<Market>,
    buckets: Mutex<HashMap<Option<IpAddr>, Bucket>>,
    attempts: Mutex<HashMap<String, u32>>,
    counters: Counters,
}

/// An injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500 Internal Server Error.
    Internal,
    /// 502 Bad Gateway.
    BadGateway,
    /// 503 Service Unavailable.
    Unavailable,
    /// 200 with the JSON body cut in half.
    Truncated,
}

/// Whether attempt `attempt` (0-based) at `path_and_query` fails, for a fault `seed` and `rate`.
pub fn fault_for(seed: u64, rate: f64, path_and_query: &str, attempt: u32) -> Option<Fault> {
    if rate <= 0.0 {
        return None;
    }
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(path_and_query.as_bytes());
    h.update([0u8]);
    h.update(attempt.to_le_bytes());
    let d = h.finalize();
    let mut a = [0u8; 8];
    a.copy_from_slice(&d[..8]);
    let u = (u64::from_le_bytes(a) >> 11) as f64 / (1u64 << 53) as f64;
    if u >= rate {
        return None;
    }
    Some(match d[8] % 4 {
        0 => Fault::Internal,
        1 => Fault::BadGateway,
        2 => Fault::Unavailable,
        _ => Fault::Truncated,
    })
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Latency, rate limit and faults for `/api/`.
async fn hostile(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let http = &state.market.config().http;
    state.counters.requests.fetch_add(1, Ordering::Relaxed);
    if !http.latency.is_zero() {
        tokio::time::sleep(http.latency).await;
    }
    if let Some(limit) = http.rate_limit {
        let key = limit.per_client.then(|| peer.ip());
        let wait_secs = {
            let mut buckets = state.buckets.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let b = buckets.entry(key).or_insert(Bucket {
                tokens: f64::from(limit.burst),
                updated: now,
            });
            let elapsed = now.duration_since(b.updated).as_secs_f64();
            b.tokens = (b.tokens + elapsed * limit.per_second).min(f64::from(limit.burst));
            b.updated = now;
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                None
            } else {
                Some(((1.0 - b.tokens) / limit.per_second).ceil().max(1.0) as u64)
            }
        };
        if let Some(secs) = wait_secs {
            state.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                format!("rate limited; retry after {secs} s"),
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return resp;
        }
    }
    let faults = http.faults;
    if faults.rate > 0.0 {
        let key = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let attempt = {
            let mut attempts = state.attempts.lock().unwrap_or_else(|p| p.into_inner());
            if attempts.len() >= MAX_TRACKED_URLS && !attempts.contains_key(&key) {
                // Bound memory on long runs; the schedule restarts from attempt 0 for every URL.
                attempts.clear();
            }
            let n = attempts.entry(key.clone()).or_insert(0);
            let a = *n;
            *n = n.saturating_add(1);
            a
        };
        if let Some(fault) = fault_for(faults.seed, faults.rate, &key, attempt) {
            state.counters.faults.fetch_add(1, Ordering::Relaxed);
            return match fault {
                Fault::Internal => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "injected fault: internal error",
                ),
                Fault::BadGateway => error(StatusCode::BAD_GATEWAY, "injected fault: bad gateway"),
                Fault::Unavailable => error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "injected fault: unavailable",
                ),
                Fault::Truncated => {
                    let resp = next.run(req).await;
                    let (mut parts, body) = resp.into_parts();
                    let bytes = axum::body::to_bytes(body, usize::MAX)
                        .await
                        .unwrap_or_default();
                    let cut = bytes.slice(..bytes.len() / 2);
                    parts.status = StatusCode::OK;
                    parts.headers.remove(header::CONTENT_LENGTH);
                    Response::from_parts(parts, Body::from(cut))
                }
            };
        }
    }
    next.run(req).await
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    let c = state.market.config();
    Json(json!({
        "status": "ok",
        "service": "resi-market",
        "version": env!("CARGO_PKG_VERSION"),
        "seed": c.seed,
        "now": c.now.format("%Y-%m-%d").to_string(),
        "zipcodes": state.market.zipcodes().len(),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct SearchQuery {
    zipcode: Option<String>,
    page: Option<String>,
    page_size: Option<String>,
}

#[derive(Serialize)]
struct SearchPage {
    zipcode: String,
    page: u32,
    page_size: u32,
    total: u32,
    total_pages: u32,
    results: Vec<Listing>,
}

fn parse_positive(name: &str, value: Option<&str>, default: u32, max: u32) -> Result<u32, String> {
    let Some(v) = value else { return Ok(default) };
    match v.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("{name} must be an integer in 1..={max}, got {v:?}")),
    }
}

async fn search(
    State(state): State<Arc<AppState>>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Response {
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad query: {e}")),
    };
    let Some(zipcode) = q.zipcode else {
        return error(StatusCode::BAD_REQUEST, "missing query parameter zipcode");
    };
    if !is_zipcode(&zipcode) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("zipcode must be 5 digits, got {zipcode:?}"),
        );
    }
    if state.market.zipcodes().get(&zipcode).is_none() {
        return error(StatusCode::NOT_FOUND, format!("unknown zipcode {zipcode}"));
    }
    let page = match parse_positive("page", q.page.as_deref(), 1, u32::MAX / MAX_PAGE_SIZE) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let page_size = match parse_positive(
        "page_size",
        q.page_size.as_deref(),
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
    ) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let total = state.market.count(&zipcode);
    let results = state
        .market
        .page(&zipcode, (page - 1) * page_size, page_size);
    Json(SearchPage {
        total_pages: total.div_ceil(page_size),
        zipcode,
        page,
        page_size,
        total,
        results,
    })
    .into_response()
}

async fn home(State(state): State<Arc<AppState>>, Path(zpid): Path<String>) -> Response {
    match state.market.get(&zpid) {
        Some(l) => Json(l).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no home with zpid {zpid}")),
    }
}

#[derive(Serialize)]
struct ZipCount<'a> {
    #[serde(flatten)]
    zipcode: &'a Zipcode,
    listings: u32,
}

async fn zipcode(State(state): State<Arc<AppState>>, Path(zip): Path<String>) -> Response {
    match state.market.zipcodes().get(&zip) {
        Some(z) => Json(ZipCount {
            zipcode: z,
            listings: state.market.count(&zip),
        })
        .into_response(),
        None => error(StatusCode::NOT_FOUND, format!("unknown zipcode {zip}")),
    }
}

#[derive(Deserialize)]
struct ZipsQuery {
    zipcodes: Option<String>,
    state: Option<String>,
}

async fn zipcodes(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ZipsQuery>, QueryRejection>,
) -> Response {
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad query: {e}")),
    };
    let m = &state.market;
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    let state_ok = |z: &Zipcode| {
        q.state
            .as_deref()
            .is_none_or(|s| z.state.eq_ignore_ascii_case(s))
    };
    match q.zipcodes.as_deref() {
        Some(list) => {
            for zip in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match m.zipcodes().get(zip) {
                    Some(z) if state_ok(z) => found.push(ZipCount {
                        zipcode: z,
                        listings: m.count(zip),
                    }),
                    Some(_) => {}
                    None => unknown.push(zip.to_string()),
                }
            }
        }
        None => {
            for z in m.zipcodes().iter().filter(|z| state_ok(z)) {
                found.push(ZipCount {
                    zipcode: z,
                    listings: m.count(&z.zipcode),
                });
            }
        }
    }
    Json(json!({ "zipcodes": found, "unknown": unknown })).into_response()
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint; see GET /health and /api/search",
    )
}

fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/api/search", get(search))
        .route("/api/homes/{zpid}", get(home))
        .route("/api/zipcodes", get(zipcodes))
        .route("/api/zipcodes/{zipcode}", get(zipcode))
        .layer(from_fn_with_state(state.clone(), hostile));
    Router::new()
        .route("/health", get(health))
        .route("/healthcheck", get(health))
        .merge(api)
        .fallback(not_found)
        .with_state(state)
}

/// A running market server.
pub struct MarketServer {
    addr: SocketAddr,
    state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl MarketServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The universe it serves.
    pub fn market(&self) -> &Arc<Market> {
        &self.state.market
    }

    /// Counters so far.
    pub fn stats(&self) -> ServerStats {
        let c = &self.state.counters;
        ServerStats {
            requests: c.requests.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            faults: c.faults.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting connections, lets open requests finish, and waits for the server.
    pub async fn shutdown(mut self) -> Result<(), MarketError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let addr = self.addr;
        match (&mut self.task).await {
            Ok(r) => r.map_err(|source| MarketError::Serve { addr, source }),
            Err(e) => Err(MarketError::Serve {
                addr,
                source: std::io::Error::other(e),
            }),
        }
    }

    /// Waits until the server stops by itself (it only does on an I/O error).
    pub async fn wait(mut self) -> Result<(), MarketError> {
        let addr = self.addr;
        let r = (&mut self.task).await;
        self.shutdown.take();
        match r {
            Ok(r) => r.map_err(|source| MarketError::Serve { addr, source }),
            Err(e) => Err(MarketError::Serve {
                addr,
                source: std::io::Error::other(e),
            }),
        }
    }
}

/// Builds the market from `config` and serves it on `addr` (port 0 picks a free port).
pub async fn serve(config: MarketConfig, addr: SocketAddr) -> Result<MarketServer, MarketError> {
    serve_market(Arc::new(Market::new(config)?), addr).await
}

/// Serves an existing market on `addr`, with the behaviour of its `config().http`.
pub async fn serve_market(
    market: Arc<Market>,
    addr: SocketAddr,
) -> Result<MarketServer, MarketError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MarketError::Serve { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| MarketError::Serve { addr, source })?;
    let state = Arc::new(AppState {
        market,
        buckets: Mutex::new(HashMap::new()),
        attempts: Mutex::new(HashMap::new()),
        counters: Counters::default(),
    });
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    tracing::info!(%local, "market listening");
    Ok(MarketServer {
        addr: local,
        state,
        shutdown: Some(tx),
        task,
    })
}

/// Serves `config` on `addr` until Ctrl-C (the `resi market` command).
pub async fn run(config: MarketConfig, addr: SocketAddr) -> Result<(), MarketError> {
    let mut server = serve(config, addr).await?;
    let local = server.addr();
    tokio::select! {
        r = tokio::signal::ctrl_c() => {
            r.map_err(|source| MarketError::Serve { addr: local, source })?;
            tracing::info!("Ctrl-C: stopping the market");
            server.shutdown().await
        }
        r = &mut server.task => match r {
            Ok(r) => r.map_err(|source| MarketError::Serve { addr: local, source }),
            Err(e) => Err(MarketError::Serve { addr: local, source: std::io::Error::other(e) }),
        },
    }
}
