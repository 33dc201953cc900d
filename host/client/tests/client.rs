//! resi-client against a real HTTP server on 127.0.0.1 (axum): success with signature checks on
//! the server side, 401, 429 with Retry-After, 500 then success, timeout, circuit breaker opening
//! and closing, malformed JSON, and a presigned POST upload answered with 204.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use resi_client::{ApiClient, ApiError, BreakerConfig, BreakerState, ClientConfig, RetryPolicy};
use resi_core::epoch::EpochId;
use resi_core::wire::{
    FolderAccessRequest, MinerSpecificAccessRequest, MinerStatus, NestError, PresignedPost,
    SignedQuery, StatusRequest, ValidatorAccessRequest, ValidatorUploadRequest,
};
use resi_core::{Hotkey, commitments, verify_hex};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const NONCE: &str = "376ce532f42cf2a5";

#[derive(Clone, Default)]
struct Counters {
    hits: Arc<AtomicUsize>,
}

impl Counters {
    fn next(&self) -> usize {
        self.hits.fetch_add(1, Ordering::SeqCst)
    }
    fn count(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn nest(status: StatusCode, msg: &str) -> Response {
    (status, Json(NestError::new(status.as_u16(), msg))).into_response()
}

fn assignment(epoch: &str) -> Value {
    json!({"success":true,"epochId":epoch,"epochStart":"2025-10-01T16:00:00.000Z",
        "epochEnd":"2025-10-01T20:00:00.000Z","nonce":NONCE,"targetListings":10000,
        "tolerancePercent":10,"submissionDeadline":"2025-10-01T20:00:00.000Z",
        "zipcodes":[{"zipcode":"19103","expectedListings":250}]})
}

/// The coordinator's checks on a signed request; `Some(error response)` if it must be refused.
fn check_sig(hotkey: &str, msg: &str, sig: &str, ts: i64) -> Option<Response> {
    if let Err(e) = resi_core::auth::check_timestamp(ts, resi_core::auth::now_unix()) {
        return Some(nest(StatusCode::BAD_REQUEST, &e.to_string()));
    }
    verify_hex(hotkey, msg.as_bytes(), sig)
        .err()
        .map(|e| nest(StatusCode::UNAUTHORIZED, &e.to_string()))
}

async fn current(Query(q): Query<SignedQuery>) -> Response {
    let msg = commitments::assignment_current(q.timestamp);
    if let Some(r) = check_sig(&q.hotkey, &msg, &q.signature, q.timestamp) {
        return r;
    }
    Json(assignment("2025-10-01T16-00-00")).into_response()
}

async fn epoch(Path(id): Path<String>, Query(q): Query<SignedQuery>) -> Response {
    let msg = commitments::validation(&id, q.timestamp);
    if let Some(r) = check_sig(&q.hotkey, &msg, &q.signature, q.timestamp) {
        return r;
    }
    Json(assignment(&id)).into_response()
}

async fn status(Json(b): Json<StatusRequest>) -> Response {
    let msg = commitments::status(&b.epoch_id.to_string(), b.timestamp);
    if let Some(r) = check_sig(&b.hotkey, &msg, &b.signature, b.timestamp) {
        return r;
    }
    if b.nonce != NONCE {
        return nest(StatusCode::BAD_REQUEST, "Invalid nonce for epoch");
    }
    Json(json!({"success": true, "message": "Status updated"})).into_response()
}

async fn folder(State(base): State<String>, Json(b): Json<FolderAccessRequest>) -> Response {
    let msg = commitments::folder_access(&b.coldkey, &b.hotkey, b.timestamp);
    if let Some(r) = check_sig(&b.hotkey, &msg, &b.signature, b.timestamp) {
        return r;
    }
    assert_eq!(b.expiry, b.timestamp + 86_400);
    Json(
        json!({"folder": format!("data/hotkey={}/", b.hotkey), "url": format!("{base}/s3"),
        "fields": {"policy": "cG9saWN5", "x-amz-signature": "abc", "key": "ignored"},
        "expiry": b.expiry, "list_url": format!("{base}/s3?list")}),
    )
    .into_response()
}

async fn validator_upload(
    State(base): State<String>,
    Json(b): Json<ValidatorUploadRequest>,
) -> Response {
    let msg = commitments::validator_upload(b.timestamp);
    if let Some(r) = check_sig(&b.hotkey, &msg, &b.signature, b.timestamp) {
        return r;
    }
    Json(
        json!({"folder": format!("validators/{}/", b.hotkey), "url": format!("{base}/s3"),
        "fields": {"policy": "p"}}),
    )
    .into_response()
}

async fn validator_access(Json(b): Json<ValidatorAccessRequest>) -> Response {
    let msg = commitments::validator_access(b.timestamp);
    if let Some(r) = check_sig(&b.hotkey, &msg, &b.signature, b.timestamp) {
        return r;
    }
    Json(json!({"bucket": "b", "region": "us-east-2", "list_url": "https://l"})).into_response()
}

async fn miner_access(Json(b): Json<MinerSpecificAccessRequest>) -> Response {
    let msg = commitments::miner_specific_access(&b.miner_hotkey, b.timestamp);
    if let Some(r) = check_sig(&b.hotkey, &msg, &b.signature, b.timestamp) {
        return r;
    }
    Json(json!({"folder": format!("data/hotkey={}/", b.miner_hotkey)})).into_response()
}

async fn s3_upload(State(c): State<Counters>, mut form: Multipart) -> Response {
    c.next();
    let mut names = Vec::new();
    let mut key = String::new();
    let mut file = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let data = field.bytes().await.unwrap_or_default();
        if name == "key" {
            key = String::from_utf8_lossy(&data).into_owned();
        }
        if name == "file" {
            file = data.to_vec();
        }
        names.push(name);
    }
    // S3 wants the policy fields first and the file last.
    if names.last().map(String::as_str) != Some("file") || !names.contains(&"policy".to_owned()) {
        return (StatusCode::BAD_REQUEST, format!("bad form order {names:?}")).into_response();
    }
    if file.len() < 1024 {
        return (StatusCode::BAD_REQUEST,
            "<Error><Code>EntityTooSmall</Code><Message>Your proposed upload is smaller than the minimum allowed size</Message></Error>")
            .into_response();
    }
    if !key.starts_with("data/hotkey=") {
        return (
            StatusCode::FORBIDDEN,
            "<Error><Code>AccessDenied</Code><Message>bad key</Message></Error>",
        )
            .into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}

/// A server with every protocol endpoint, checking signatures like the coordinator would.
async fn protocol_server() -> (String, Counters) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let uploads = Counters::default();
    let router = Router::new()
        .route(
            "/healthcheck",
            get(|| async { Json(json!({"status":"ok","service":"test","version":"1"})) }),
        )
        .route("/api/v1/zipcode-assignments/current", get(current))
        .route("/api/v1/zipcode-assignments/epoch/{id}", get(epoch))
        .route("/api/v1/zipcode-assignments/status", post(status))
        .route(
            "/api/v1/zipcode-assignments/stats",
            get(|| async {
                Json(
                    json!({"success":true,"currentTime":1759336626,"systemStatus":"operational",
                "epochStatus":{},"recentPerformance":[]}),
                )
            }),
        )
        .route("/get-folder-access", post(folder))
        .route("/api/v1/s3-access/validator-upload", post(validator_upload))
        .with_state(base.clone())
        .route("/get-validator-access", post(validator_access))
        .route("/get-miner-specific-access", post(miner_access))
        .route("/s3", post(s3_upload).with_state(uploads.clone()));
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (base, uploads)
}

fn fast_config(base: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new(base);
    cfg.request_timeout = Duration::from_secs(10);
    cfg.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(2),
    };
    cfg.breaker = BreakerConfig {
        failure_threshold: 100,
        cool_down: Duration::from_millis(200),
    };
    cfg
}

fn alice() -> Hotkey {
    Hotkey::from_uri("//Alice").unwrap()
}

#[tokio::test]
async fn every_endpoint_succeeds_with_valid_signatures() {
    let (base, uploads) = protocol_server().await;
    let c = ApiClient::new(fast_config(&base), Some(alice())).unwrap();
    assert_eq!(c.health().await.unwrap().status, "ok");
    let a = c.assignment_current().await.unwrap();
    assert_eq!(a.nonce, NONCE);
    assert_eq!(a.zipcodes[0].zipcode, "19103");
    let id = EpochId::parse("2025-10-01T12-00-00").unwrap();
    assert_eq!(c.assignment_for_epoch(&id).await.unwrap().epoch_id, id);
    let mut update = resi_client::StatusUpdate {
        epoch_id: a.epoch_id,
        nonce: NONCE.into(),
        status: MinerStatus::Completed,
        s3_upload_complete: true,
        listings_scraped: Some(250),
        zipcodes_completed: None,
        s3_upload_timestamp: None,
    };
    assert!(c.report_status(&update).await.unwrap().success);
    update.nonce = "0000000000000000".into();
    let err = c.report_status(&update).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("Invalid nonce for epoch"), "{err}");
    assert_eq!(c.stats().await.unwrap().current_time, 1_759_336_626);

    let bob = Hotkey::from_uri("//Bob").unwrap().ss58();
    let post = c.folder_access(&bob).await.unwrap();
    assert_eq!(
        post.folder.as_deref(),
        Some(format!("data/hotkey={}/", alice().ss58()).as_str())
    );
    let up = c.validator_upload(&id, 1.5, 30).await.unwrap();
    assert!(up.url.ends_with("/s3"));
    assert_eq!(
        c.validator_access().await.unwrap().bucket.as_deref(),
        Some("b")
    );
    assert_eq!(
        c.miner_specific_access(&bob).await.unwrap().folder,
        Some(format!("data/hotkey={bob}/"))
    );

    // Presigned POST upload: 204 = success; S3's XML error is surfaced.
    let key = format!(
        "data/hotkey={}/epoch=x/zipcode=19103/data.json",
        alice().ss58()
    );
    c.upload_presigned(&post, &key, "data.json", vec![b'x'; 2048])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("listings.parquet");
    std::fs::write(&file, vec![7u8; 4096]).unwrap();
    c.upload_presigned_file(&post, &key, &file).await.unwrap();
    let err = c
        .upload_presigned(&post, &key, "small.json", vec![b'x'; 10])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("EntityTooSmall"), "{err}");
    assert_eq!(uploads.count(), 3, "4xx uploads are not retried");
    let err = c
        .upload_presigned_file(&post, &key, &dir.path().join("missing"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::File { .. }), "{err}");

    // No hotkey: signed endpoints refuse before any request.
    let anon = ApiClient::new(fast_config(&base), None).unwrap();
    assert!(matches!(
        anon.assignment_current().await,
        Err(ApiError::NoHotkey { .. })
    ));
    assert!(anon.health().await.is_ok());
}

#[tokio::test]
async fn unauthorized_is_typed_and_not_retried() {
    let hits = Counters::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/api/v1/zipcode-assignments/current",
        get(move || {
            let h = h.clone();
            async move {
                h.next();
                (StatusCode::UNAUTHORIZED,
                 Json(json!({"statusCode":401,"message":"Invalid signature","error":"Unauthorized"})))
            }
        }),
    ))
    .await;
    let c = ApiClient::new(fast_config(&base), Some(alice())).unwrap();
    let err = c.assignment_current().await.unwrap_err();
    match &err {
        ApiError::Http {
            endpoint,
            status,
            message,
            body,
        } => {
            assert_eq!(endpoint, "GET /api/v1/zipcode-assignments/current");
            assert_eq!(*status, 401);
            assert_eq!(message, "Invalid signature");
            assert_eq!(
                body.as_ref().unwrap().error.as_deref(),
                Some("Unauthorized")
            );
        }
        other => panic!("expected Http 401, got {other:?}"),
    }
    assert_eq!(hits.count(), 1);
    assert_eq!(c.breaker_state(), BreakerState::Closed);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let hits = Counters::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/healthcheck",
        get(move || {
            let h = h.clone();
            async move {
                if h.next() == 0 {
                    let mut headers = HeaderMap::new();
                    headers.insert("retry-after", "1".parse().unwrap());
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        headers,
                        Json(NestError::new(429, "slow down")),
                    )
                        .into_response()
                } else {
                    Json(json!({"status":"ok"})).into_response()
                }
            }
        }),
    ))
    .await;
    let c = ApiClient::new(fast_config(&base), None).unwrap();
    assert_eq!(c.health().await.unwrap().status, "ok");
    assert_eq!(hits.count(), 2);

    // A Retry-After longer than the client accepts is returned as RateLimited right away.
    let hits2 = Counters::default();
    let h2 = hits2.clone();
    let base = serve(Router::new().route(
        "/healthcheck",
        get(move || {
            let h = h2.clone();
            async move {
                h.next();
                let mut headers = HeaderMap::new();
                headers.insert("retry-after", "3600".parse().unwrap());
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    headers,
                    Json(NestError::new(429, "slow down")),
                )
            }
        }),
    ))
    .await;
    let c = ApiClient::new(fast_config(&base), None).unwrap();
    let err = c.health().await.unwrap_err();
    match &err {
        ApiError::RateLimited {
            retry_after,
            message,
            ..
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
            assert_eq!(message, "slow down");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(err.status(), Some(429));
    assert_eq!(hits2.count(), 1);
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let hits = Counters::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/api/v1/zipcode-assignments/stats",
        get(move || {
            let h = h.clone();
            async move {
                if h.next() < 2 {
                    nest(StatusCode::INTERNAL_SERVER_ERROR, "database down")
                } else {
                    Json(json!({"success":true,"currentTime":5,"systemStatus":"operational","epochStatus":{}})).into_response()
                }
            }
        }),
    ))
    .await;
    let c = ApiClient::new(fast_config(&base), None).unwrap();
    assert_eq!(c.stats().await.unwrap().current_time, 5);
    assert_eq!(hits.count(), 3);

    // Persistent 500s: the last error carries the server's message after max_retries + 1 tries.
    let hits = Counters::default();
    let h = hits.clone();
    let base = serve(Router::new().route(
        "/healthcheck",
        get(move || {
            let h = h.clone();
            async move {
                h.next();
                nest(StatusCode::SERVICE_UNAVAILABLE, "maintenance")
            }
        }),
    ))
    .await;
    let c = ApiClient::new(fast_config(&base), None).unwrap();
    let err = c.health().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.to_string().contains("maintenance"), "{err}");
    assert_eq!(hits.count(), 4);
}

#[tokio::test]
async fn timeout_is_typed() {
    let base = serve(Router::new().route(
        "/healthcheck",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Json(json!({"status":"ok"}))
        }),
    ))
    .await;
    let mut cfg = fast_config(&base);
    cfg.request_timeout = Duration::from_millis(200);
    cfg.retry.max_retries = 1;
    let c = ApiClient::new(cfg, None).unwrap();
    let err = c.health().await.unwrap_err();
    assert!(matches!(err, ApiError::Timeout { .. }), "{err:?}");
    assert_eq!(err.endpoint(), Some("GET /healthcheck"));
}

#[tokio::test]
async fn malformed_json_is_a_clear_error() {
    let base = serve(Router::new().route(
        "/api/v1/zipcode-assignments/stats",
        get(|| async { "<html>not json</html>" }),
    ))
    .await;
    let c = ApiClient::new(fast_config(&base), None).unwrap();
    let err = c.stats().await.unwrap_err();
    match &err {
        ApiError::Decode {
            endpoint,
            status,
            snippet,
            ..
        } => {
            assert_eq!(endpoint, "GET /api/v1/zipcode-assignments/stats");
            assert_eq!(*status, 200);
            assert!(snippet.contains("not json"));
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert!(err.to_string().contains("malformed body"), "{err}");
}

#[tokio::test]
async fn circuit_breaker_opens_and_closes() {
    let hits = Counters::default();
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (h, ok) = (hits.clone(), healthy.clone());
    let base = serve(Router::new().route(
        "/healthcheck",
        get(move || {
            let (h, ok) = (h.clone(), ok.clone());
            async move {
                h.next();
                if ok.load(Ordering::SeqCst) {
                    Json(json!({"status":"ok"})).into_response()
                } else {
                    nest(StatusCode::INTERNAL_SERVER_ERROR, "down")
                }
            }
        }),
    ))
    .await;
    let mut cfg = fast_config(&base);
    cfg.retry.max_retries = 0;
    cfg.breaker = BreakerConfig {
        failure_threshold: 3,
        cool_down: Duration::from_millis(300),
    };
    let c = ApiClient::new(cfg, None).unwrap();
    for _ in 0..3 {
        assert_eq!(c.health().await.unwrap_err().status(), Some(500));
    }
    assert_eq!(c.breaker_state(), BreakerState::Open);
    // Open: fails fast without touching the server.
    let err = c.health().await.unwrap_err();
    assert!(matches!(err, ApiError::CircuitOpen { .. }), "{err:?}");
    assert_eq!(hits.count(), 3);

    // After the cool-down one probe goes through; failing re-opens.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(c.breaker_state(), BreakerState::HalfOpen);
    assert_eq!(c.health().await.unwrap_err().status(), Some(500));
    assert_eq!(hits.count(), 4);
    assert_eq!(c.breaker_state(), BreakerState::Open);

    // The server recovers: the next probe succeeds and closes the breaker.
    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(c.health().await.unwrap().status, "ok");
    assert_eq!(c.breaker_state(), BreakerState::Closed);
    assert_eq!(c.health().await.unwrap().status, "ok");
    assert_eq!(hits.count(), 6);
}

#[tokio::test]
async fn network_error_when_nothing_listens() {
    // Bind then drop to get a loopback port with no listener.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = fast_config(&format!("http://127.0.0.1:{port}"));
    cfg.retry.max_retries = 1;
    let c = ApiClient::new(cfg, None).unwrap();
    let err = c.health().await.unwrap_err();
    assert!(matches!(err, ApiError::Network { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("GET /healthcheck: network error"),
        "{err}"
    );
}

#[test]
fn presigned_post_fields_keep_order_free() {
    // Fields are a map; the client adds `key` itself and ignores a `key` in fields.
    let p: PresignedPost =
        serde_json::from_value(json!({"url":"http://x","fields":{"key":"k","policy":"p"}}))
            .unwrap();
    let fields: BTreeMap<String, String> = p.fields;
    assert_eq!(fields.len(), 2);
}
