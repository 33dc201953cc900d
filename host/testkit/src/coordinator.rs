//! A stand-in coordinator on 127.0.0.1: [`start_coordinator`] serves a fixed assignment,
//! records status reports, hands out real `resi-store` presigned-POST grants and (for a local
//! store) accepts the uploads itself; [`serve_reveal`] answers the validators-only
//! `/epoch/{id}` to correctly signed requests.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use resi_store::{LocalGrants, Store};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the stand-in coordinator saw.
#[derive(Clone)]
pub struct Coord {
    /// The store its grants are for.
    pub store: Store,
    /// The `/current` answer.
    pub assignment: Value,
    /// Every status body received.
    pub statuses: Arc<Mutex<Vec<Value>>>,
    /// Keys uploaded through the local-store endpoint, in order.
    pub uploads: Arc<Mutex<Vec<String>>>,
    /// Folder-access grants handed out.
    pub grants: Arc<Mutex<u32>>,
    /// Delay before each local upload is stored (default none), to catch a miner mid-upload.
    pub upload_delay: Arc<Mutex<Duration>>,
    /// Local uploads received but not yet answered.
    pub uploading: Arc<std::sync::atomic::AtomicUsize>,
}

/// Which store the stand-in grants access to.
pub enum StoreChoice {
    /// A local directory; uploads come back to the stand-in's `/local-store/upload`.
    Local(PathBuf),
    /// A given store (e.g. S3): uploads go straight to it.
    Given(Store),
}

async fn current(State(c): State<Coord>) -> Json<Value> {
    Json(c.assignment.clone())
}

async fn status(State(c): State<Coord>, Json(body): Json<Value>) -> Json<Value> {
    c.statuses.lock().expect("lock").push(body);
    Json(json!({"success": true}))
}

async fn folder_access(
    State(c): State<Coord>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, (StatusCode, String)> {
    let hk = body["hotkey"].as_str().unwrap_or_default();
    let post = c
        .store
        .presigned_post(
            &format!("data/hotkey={hk}/"),
            1024,
            5 << 30,
            chrono::Utc::now(),
            Duration::from_secs(3600),
        )
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    *c.grants.lock().expect("lock") += 1;
    Ok(Json(serde_json::to_value(post).expect("json")))
}

async fn local_upload(
    State(c): State<Coord>,
    mut form: Multipart,
) -> Result<StatusCode, (StatusCode, String)> {
    let bad = |e: String| (StatusCode::BAD_REQUEST, e);
    let mut fields = BTreeMap::new();
    while let Some(field) = form.next_field().await.map_err(|e| bad(e.to_string()))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let filename = field.file_name().unwrap_or("file").to_owned();
            let data = field.bytes().await.map_err(|e| bad(e.to_string()))?;
            let delay = *c.upload_delay.lock().expect("lock");
            if !delay.is_zero() {
                use std::sync::atomic::Ordering;
                c.uploading.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                c.uploading.fetch_sub(1, Ordering::SeqCst);
            }
            let mut up = c
                .store
                .begin_local_upload(&fields, &filename, chrono::Utc::now())
                .await
                .map_err(|e| (StatusCode::FORBIDDEN, e.to_string()))?;
            up.write(&data).await.map_err(|e| bad(e.to_string()))?;
            let key = up.finish().await.map_err(|e| bad(e.to_string()))?;
            c.uploads.lock().expect("lock").push(key);
            return Ok(StatusCode::NO_CONTENT);
        }
        fields.insert(name, field.text().await.map_err(|e| bad(e.to_string()))?);
    }
    Err(bad("no file".into()))
}

/// Starts the stand-in coordinator serving `assignment`; returns its base URL and its record.
pub async fn start_coordinator(store: StoreChoice, assignment: Value) -> (String, Coord) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let store = match store {
        StoreChoice::Local(root) => {
            Store::local(root)
                .expect("store")
                .with_local_grants(LocalGrants {
                    upload_url: format!("http://{addr}/local-store/upload"),
                    secret: "test-secret".into(),
                })
        }
        StoreChoice::Given(store) => store,
    };
    let coord = Coord {
        store,
        assignment,
        statuses: Arc::default(),
        uploads: Arc::default(),
        grants: Arc::default(),
        upload_delay: Arc::default(),
        uploading: Arc::default(),
    };
    let app = Router::new()
        .route("/api/v1/zipcode-assignments/current", get(current))
        .route("/api/v1/zipcode-assignments/status", post(status))
        .route("/get-folder-access", post(folder_access))
        .route("/local-store/upload", post(local_upload))
        .with_state(coord.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), coord)
}

/// Serves `reveal` as the validators-only `/api/v1/zipcode-assignments/epoch/{epoch_id}`,
/// answered only to a request signed by the hotkey it names (400 without the signature's
/// query, 401 for a bad signature, 404 for another epoch); returns the base URL.
pub async fn serve_reveal(epoch_id: &str, reveal: Value) -> String {
    use axum::extract::{Path, Query};
    use std::collections::HashMap;
    let epoch_id = epoch_id.to_owned();
    let app = Router::new().route(
        "/api/v1/zipcode-assignments/epoch/{id}",
        get(
            move |Path(id): Path<String>, Query(q): Query<HashMap<String, String>>| {
                let (epoch_id, reveal) = (epoch_id.clone(), reveal.clone());
                async move {
                    let (Some(hk), Some(sig), Some(ts)) =
                        (q.get("hotkey"), q.get("signature"), q.get("timestamp"))
                    else {
                        return Err(StatusCode::BAD_REQUEST);
                    };
                    let ts: i64 = ts.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
                    let msg = resi_core::commitments::validation(&id, ts);
                    resi_core::verify_hex(hk, msg.as_bytes(), sig)
                        .map_err(|_| StatusCode::UNAUTHORIZED)?;
                    if id != epoch_id {
                        return Err(StatusCode::NOT_FOUND);
                    }
                    Ok(Json(reveal))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}
