//! The dashboard's routes over an [`EpochSource`]:
//!
//! - `GET /dashboard`: the page (`assets/index.html`), which fetches the JSON below and renders
//!   it (tables with `data-*` attributes, charts);
//! - `GET /dashboard/assets/{file}`: its script and style, and the vendored uPlot
//!   (`assets/vendor/`), all compiled into the binary: the page loads nothing from elsewhere
//!   (its Content-Security-Policy says so);
//! - `GET /dashboard/api/epochs`: `{"source": .., "epochs": [EpochSummary, ..]}`, newest first;
//! - `GET /dashboard/api/epochs/{id}`: the [`EpochView`] (404 when unknown, 400 for an id that
//!   is not one).
//!
//! Answers are cached for [`CACHE_TTL`], views of epochs whose deadline is more than
//! [`SETTLED_AFTER`] past for [`SETTLED_TTL`] (at most [`CACHE_ENTRIES`] epochs, the oldest
//! dropped first), and at most [`MAX_BUILDS`] views are built at once, so reloading the page or
//! walking the epoch list does not re-read the store each time.

use crate::source::{DashboardError, EpochSource, valid_epoch_id};
use crate::view::{EpochSummary, EpochView};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long an answer is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(10);
/// How long after its deadline an epoch counts as settled (its reports are in).
pub const SETTLED_AFTER: Duration = Duration::from_secs(3600);
/// How long the view of a settled epoch is reused.
pub const SETTLED_TTL: Duration = Duration::from_secs(300);
/// Epoch views cached at most.
pub const CACHE_ENTRIES: usize = 32;
/// Views built at once.
pub const MAX_BUILDS: usize = 2;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const DASHBOARD_JS: &str = include_str!("../assets/dashboard.js");
const DASHBOARD_CSS: &str = include_str!("../assets/dashboard.css");
const UPLOT_JS: &str = include_str!("../assets/vendor/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../assets/vendor/uPlot.min.css");

/// The page's Content-Security-Policy: its own origin only, no inline script.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// Cached views: when built, for how long, the view.
type Cache<T> = Mutex<HashMap<String, (Instant, Duration, Arc<T>)>>;

struct Dashboard {
    source: Arc<dyn EpochSource>,
    list: Mutex<Option<(Instant, Arc<Vec<EpochSummary>>)>>,
    views: Cache<Option<EpochView>>,
    builds: tokio::sync::Semaphore,
}

/// The dashboard's routes over `source`, for merging into any router (`Router<S>` for every
/// state `S`).
pub fn router<S: Clone + Send + Sync + 'static>(source: Arc<dyn EpochSource>) -> Router<S> {
    let state = Arc::new(Dashboard {
        source,
        list: Mutex::new(None),
        views: Mutex::new(HashMap::new()),
        builds: tokio::sync::Semaphore::new(MAX_BUILDS),
    });
    Router::new()
        .route("/dashboard", get(index))
        .route("/dashboard/", get(index))
        .route("/dashboard/assets/{file}", get(asset))
        .route("/dashboard/api/epochs", get(epochs))
        .route("/dashboard/api/epochs/{id}", get(epoch))
        .with_state(state)
}

fn with_type(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn index() -> Response {
    let mut r = with_type(INDEX_HTML, "text/html; charset=utf-8");
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

async fn asset(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "dashboard.js" => with_type(DASHBOARD_JS, "text/javascript; charset=utf-8"),
        "dashboard.css" => with_type(DASHBOARD_CSS, "text/css; charset=utf-8"),
        "uPlot.iife.min.js" => with_type(UPLOT_JS, "text/javascript; charset=utf-8"),
        "uPlot.min.css" => with_type(UPLOT_CSS, "text/css; charset=utf-8"),
        _ => error(StatusCode::NOT_FOUND, "no such asset"),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({"error": message}))).into_response()
}

fn failed(e: &DashboardError) -> Response {
    tracing::error!(error = %resi_core::error::ErrorChain(e), "dashboard");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the dashboard's source failed (see the log)",
    )
}

fn fresh(at: Instant) -> bool {
    at.elapsed() < CACHE_TTL
}

/// How long `view` is reused.
fn ttl(view: &Option<EpochView>) -> Duration {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let settled_ms = i64::try_from(SETTLED_AFTER.as_millis()).unwrap_or(i64::MAX);
    match view.as_ref().and_then(|v| v.deadline_ms) {
        Some(dl) if now_ms.saturating_sub(dl) > settled_ms => SETTLED_TTL,
        _ => CACHE_TTL,
    }
}

async fn epochs(State(d): State<Arc<Dashboard>>) -> Response {
    let cached = d
        .list
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .filter(|(at, _)| fresh(*at))
        .map(|(_, l)| l.clone());
    let list = match cached {
        Some(l) => l,
        None => {
            let Ok(_permit) = d.builds.acquire().await else {
                return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
            };
            match d.source.epochs().await {
                Ok(l) => {
                    let l = Arc::new(l);
                    *d.list.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some((Instant::now(), l.clone()));
                    l
                }
                Err(e) => return failed(&e),
            }
        }
    };
    axum::Json(serde_json::json!({"source": d.source.name(), "epochs": &*list})).into_response()
}

async fn epoch(State(d): State<Arc<Dashboard>>, Path(id): Path<String>) -> Response {
    if !valid_epoch_id(&id) {
        return error(StatusCode::BAD_REQUEST, "not an epoch id");
    }
    let cached = d
        .views
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id)
        .filter(|(at, ttl, _)| at.elapsed() < *ttl)
        .map(|(_, _, v)| v.clone());
    let view = match cached {
        Some(v) => v,
        None => {
            let Ok(_permit) = d.builds.acquire().await else {
                return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
            };
            match d.source.epoch(&id).await {
                Ok(v) => {
                    let v = Arc::new(v);
                    let mut views = d.views.lock().unwrap_or_else(PoisonError::into_inner);
                    views.retain(|_, (at, ttl, _)| at.elapsed() < *ttl);
                    while views.len() >= CACHE_ENTRIES {
                        let Some(oldest) = views
                            .iter()
                            .min_by_key(|(_, (at, _, _))| *at)
                            .map(|(k, _)| k.clone())
                        else {
                            break;
                        };
                        views.remove(&oldest);
                    }
                    views.insert(id.clone(), (Instant::now(), ttl(&v), v.clone()));
                    v
                }
                Err(e) => return failed(&e),
            }
        }
    };
    match &*view {
        Some(v) => axum::Json(v).into_response(),
        None => error(StatusCode::NOT_FOUND, "epoch not known to this source"),
    }
}
