//! The HTTP API: every endpoint of `spec/protocol.md` in its exact paths, shapes and status
//! codes, plus the local store's upload endpoint.
//!
//! Every signed request goes through [`AppState::authenticate`], in this order: timestamp window
//! (400), address and signature (400 malformed / 401 wrong), registration (403), validator
//! permit where needed (403), then in one SQLite transaction replay protection (401 "Signature
//! already used") and the rate limits (429 + `Retry-After`). Errors are NestJS bodies
//! (`{"statusCode":400,"message":["..."],"error":"Bad Request"}`).
//!
//! `/epoch/{id}` (validators) answers the stored assignment at any time; only once the epoch's
//! submission deadline has passed does it add the resi extension: `validationSeed` (hex of the
//! 32-byte seed whose SHA-256 every assignment publishes as `metadata.validationSeedSha256`),
//! `isHoneypot` on every zipcode and `actualListings: 0` on honeypots.

use crate::db::{Admission, Db, RateCheck};
use crate::epochs::{EpochRecord, Epochs, status_at};
use crate::registry::{Membership, Registry};
use crate::{Clock, CoordinatorConfig, Limit, StoreConfig};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{TimeZone as _, Utc};
use resi_core::commitments;
use resi_core::epoch::iso_millis;
use resi_core::keys::{PublicKey, VerifyError, verify_hex};
use resi_core::wire::{
    self, AccessGrant, Expiry, FolderAccessRequest, MinerSpecificAccessRequest, NestError,
    StatusRequest, ValidatorAccessRequest, ValidatorUploadRequest,
};
use resi_store::Store;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Path of the local store's upload endpoint (multipart POST like S3's; 204 on success).
pub const PATH_LOCAL_UPLOAD: &str = "/local-store/upload";

/// Shared state of the handlers.
pub struct AppState {
    /// Settings.
    pub config: CoordinatorConfig,
    /// Database.
    pub db: Arc<Db>,
    /// Epochs.
    pub epochs: Arc<Epochs>,
    /// Object store grants are issued on.
    pub store: Store,
    /// Chain registrations.
    pub registry: Registry,
    /// Clock.
    pub clock: Clock,
}

/// An error answer: status, message, optional `Retry-After` seconds.
#[derive(Debug)]
pub struct ApiErr {
    status: u16,
    message: String,
    retry_after: Option<i64>,
}

impl ApiErr {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(500, "Internal server error")
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp =
            (code, axum::Json(NestError::new(self.status, self.message))).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

type ApiResult = Result<Response, ApiErr>;

fn json_ok(v: impl serde::Serialize) -> ApiResult {
    Ok(axum::Json(v).into_response())
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiErr> {
    serde_json::from_slice(body).map_err(|e| ApiErr::new(400, format!("Invalid request body: {e}")))
}

/// The signed query of the GET endpoints, with 400s naming the missing or bad parameter.
fn signed_query(q: &HashMap<String, String>) -> Result<(String, String, i64), ApiErr> {
    let get = |k: &str| {
        q.get(k)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| ApiErr::new(400, format!("{k} is required")))
    };
    let ts = get("timestamp")?
        .parse::<i64>()
        .map_err(|_| ApiErr::new(400, "timestamp must be an integer (unix seconds)"))?;
    Ok((get("hotkey")?, get("signature")?, ts))
}

fn check(l: Limit, rule: &'static str) -> RateCheck {
    RateCheck {
        rule,
        window_secs: l.window_secs,
        max: l.max,
    }
}

impl AppState {
    fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Authenticates a signed request (see the module doc for the order of checks).
    pub async fn authenticate(
        &self,
        hotkey: &str,
        signature: &str,
        ts: i64,
        message: &str,
        validator_only: bool,
        rules: &[RateCheck],
    ) -> Result<Membership, ApiErr> {
        let now = self.now();
        resi_core::auth::check_timestamp(ts, now).map_err(|e| ApiErr::new(400, e.to_string()))?;
        match verify_hex(hotkey, message.as_bytes(), signature) {
            Ok(()) => {}
            Err(VerifyError::Mismatch { .. }) => return Err(ApiErr::new(401, "Invalid signature")),
            Err(e) => return Err(ApiErr::new(400, e.to_string())),
        }
        let pk = PublicKey::from_ss58(hotkey).map_err(|e| ApiErr::new(400, e.to_string()))?;
        let member = self
            .registry
            .lookup(pk.as_bytes())
            .await
            .map_err(ApiErr::internal)?;
        match member {
            Membership::Unregistered => {
                return Err(ApiErr::new(
                    403,
                    format!(
                        "Hotkey {hotkey} is not registered on subnet {}",
                        self.config.netuid
                    ),
                ));
            }
            Membership::Miner if validator_only => {
                return Err(ApiErr::new(403, "Validator permit required"));
            }
            _ => {}
        }
        let sig = signature.to_ascii_lowercase();
        let admission = self
            .db
            .admit(Some((hotkey, &sig, ts)), hotkey, rules, now)
            .map_err(ApiErr::internal)?;
        match admission {
            Admission::Admitted => Ok(member),
            Admission::Replayed => Err(ApiErr::new(401, "Signature already used (replay)")),
            Admission::Limited(s) => Err(ApiErr {
                retry_after: Some(s),
                ..ApiErr::new(429, "Too many requests, retry later")
            }),
        }
    }

    fn current_epoch(&self) -> Result<Arc<EpochRecord>, ApiErr> {
        let now = self.now();
        let ep = self
            .epochs
            .schedule
            .current(now)
            .map_err(ApiErr::internal)?;
        match self.epochs.get(&ep.id.to_string()) {
            Ok(Some(r)) => Ok(r),
            Ok(None) => self.epochs.ensure(&ep, now).map_err(|e| {
                tracing::error!(error = %e, "generating the current epoch");
                ApiErr::new(404, "No active epoch")
            }),
            Err(e) => Err(ApiErr::internal(e)),
        }
    }
}

/// The assignment answer of `rec`; `reveal` adds the validators' extension.
fn assignment_json(rec: &EpochRecord, reveal: bool) -> Value {
    let ts = |t: i64| {
        Utc.timestamp_opt(t, 0)
            .single()
            .map(|d| iso_millis(&d))
            .unwrap_or_default()
    };
    let seed_sha = hex::decode(&rec.row.validation_seed)
        .map(|b| hex::encode(Sha256::digest(b)))
        .unwrap_or_default();
    let zipcodes: Vec<Value> = rec
        .zipcodes
        .iter()
        .map(|z| {
            let mut v = json!({
                "zipcode": z.zipcode,
                "expectedListings": z.expected_listings,
                "state": z.state,
                "city": z.city,
                "county": z.county,
                "marketTier": z.market_tier,
                "geographicRegion": z.region,
            });
            if reveal {
                v["isHoneypot"] = json!(z.is_honeypot);
                if z.is_honeypot {
                    v["actualListings"] = json!(0);
                }
            }
            v
        })
        .collect();
    let mut v = json!({
        "success": true,
        "epochId": rec.row.id,
        "epochStart": ts(rec.row.start_ts),
        "epochEnd": ts(rec.row.end_ts),
        "nonce": rec.row.nonce,
        "targetListings": rec.row.target_listings,
        "tolerancePercent": rec.row.tolerance_percent,
        "submissionDeadline": ts(rec.row.end_ts),
        "zipcodes": zipcodes,
        "metadata": {
            "totalExpectedListings": rec.total_expected(),
            "zipcodeCount": rec.zipcodes.len(),
            "algorithmVersion": "v1.0",
            "selectionSeed": rec.row.selection_seed,
            "validationSeedSha256": seed_sha,
        }
    });
    if reveal {
        v["validationSeed"] = json!(rec.row.validation_seed);
    }
    v
}

async fn healthcheck() -> ApiResult {
    json_ok(wire::HealthResponse {
        status: "ok".into(),
        service: Some("resi-coordinator".into()),
        version: Some(env!("CARGO_PKG_VERSION").into()),
    })
}

async fn current(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let (hotkey, sig, ts) = signed_query(&q)?;
    let rules = [check(st.config.rate_limits.current, "current")];
    st.authenticate(
        &hotkey,
        &sig,
        ts,
        &commitments::assignment_current(ts),
        false,
        &rules,
    )
    .await?;
    let rec = st.current_epoch()?;
    json_ok(assignment_json(&rec, false))
}

async fn epoch_by_id(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let (hotkey, sig, ts) = signed_query(&q)?;
    let rules = [check(st.config.rate_limits.epoch, "epoch")];
    st.authenticate(
        &hotkey,
        &sig,
        ts,
        &commitments::validation(&id, ts),
        true,
        &rules,
    )
    .await?;
    let ep = st
        .epochs
        .schedule
        .parse_id(&id)
        .map_err(|e| ApiErr::new(400, e.to_string()))?;
    let rec = st
        .epochs
        .get(&ep.id.to_string())
        .map_err(ApiErr::internal)?
        .ok_or_else(|| ApiErr::new(404, format!("Epoch {id} not found")))?;
    let reveal = st.now() >= rec.row.end_ts;
    json_ok(assignment_json(&rec, reveal))
}

async fn status(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let req: StatusRequest = parse_body(&body)?;
    let id = req.epoch_id.to_string();
    let rules = [check(st.config.rate_limits.status, "status")];
    st.authenticate(
        &req.hotkey,
        &req.signature,
        req.timestamp,
        &commitments::status(&id, req.timestamp),
        false,
        &rules,
    )
    .await?;
    let rec = st
        .epochs
        .get(&id)
        .map_err(ApiErr::internal)?
        .ok_or_else(|| ApiErr::new(404, format!("Epoch {id} not found")))?;
    if req.nonce != rec.row.nonce {
        return Err(ApiErr::new(400, "Invalid nonce for epoch"));
    }
    let status = serde_json::to_value(req.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let stored = String::from_utf8_lossy(&body);
    st.db
        .put_status(
            &id,
            &req.hotkey,
            &status,
            req.s3_upload_complete,
            req.listings_scraped,
            &stored,
            st.now(),
        )
        .map_err(ApiErr::internal)?;
    json_ok(json!({"success": true, "message": "Status updated", "epochId": id, "status": status}))
}

async fn stats(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> ApiResult {
    let now = st.now();
    let subject = format!("ip:{}", peer.ip());
    match st
        .db
        .admit(
            None,
            &subject,
            &[check(st.config.rate_limits.stats, "stats")],
            now,
        )
        .map_err(ApiErr::internal)?
    {
        Admission::Limited(s) => {
            return Err(ApiErr {
                retry_after: Some(s),
                ..ApiErr::new(429, "Too many requests, retry later")
            });
        }
        Admission::Admitted | Admission::Replayed => {}
    }
    let rec = st.current_epoch().ok();
    let len = i64::from(st.epochs.schedule.length_secs());
    let cur = st.epochs.schedule.current(now).map_err(ApiErr::internal)?;
    let end = cur.end.timestamp();
    let current_epoch = rec.map(|r| {
        json!({
            "id": r.row.id,
            "status": status_at(r.row.start_ts, r.row.end_ts, now),
            "startTime": iso_millis(&cur.start()),
            "endTime": iso_millis(&cur.end),
            "nonce": r.row.nonce,
            "zipcodeCount": r.zipcodes.len(),
            "targetListings": r.row.target_listings,
            "actualExpected": r.total_expected(),
        })
    });
    let hours = if len % 3600 == 0 {
        json!(len / 3600)
    } else {
        json!(len as f64 / 3600.0)
    };
    let recent: Vec<Value> = st
        .db
        .recent(6)
        .map_err(ApiErr::internal)?
        .into_iter()
        .map(|(id, status, reports, completed)| {
            json!({"epochId": id, "status": status, "statusReports": reports, "completedReports": completed})
        })
        .collect();
    let p = &st.config.selection;
    let mut epoch_status = json!({
        "timing": {"timeUntilEpochEnd": end - now, "timeUntilNextEpoch": end - now, "epochDurationHours": hours},
        "nextEpoch": {"startTime": iso_millis(&cur.end)},
    });
    if let Some(c) = current_epoch {
        epoch_status["currentEpoch"] = c;
    }
    json_ok(json!({
        "success": true,
        "currentTime": now,
        "systemStatus": "operational",
        "epochStatus": epoch_status,
        "zipcodeStatistics": {"configuration": {
            "targetListings": p.target_listings,
            "tolerancePercent": p.tolerance_percent,
            "cooldownHours": st.config.cooldown_hours,
            "minListings": p.min_listings,
            "maxListings": p.max_listings,
        }},
        "recentPerformance": recent,
    }))
}

/// Grant validity: what the client asked for (`expiry` unix seconds), capped by the config.
fn grant_duration(st: &AppState, requested_expiry: i64) -> Duration {
    let asked = requested_expiry.saturating_sub(st.now()).max(60) as u64;
    Duration::from_secs(asked.min(st.config.grant_expiry.as_secs()))
}

fn store_err(e: resi_store::StoreError) -> ApiErr {
    ApiErr::internal(e)
}

async fn folder_access(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let req: FolderAccessRequest = parse_body(&body)?;
    let l = &st.config.rate_limits;
    let rules = [
        check(l.folder_minute, "folder_minute"),
        check(l.folder_day, "folder_day"),
    ];
    let msg = commitments::folder_access(&req.coldkey, &req.hotkey, req.timestamp);
    st.authenticate(
        &req.hotkey,
        &req.signature,
        req.timestamp,
        &msg,
        false,
        &rules,
    )
    .await?;
    let prefix = format!("data/hotkey={}/", req.hotkey);
    let post = st
        .store
        .presigned_post(
            &prefix,
            st.config.miner_upload_min_bytes,
            st.config.miner_upload_max_bytes,
            Utc::now(),
            grant_duration(&st, req.expiry),
        )
        .map_err(store_err)?;
    json_ok(post)
}

async fn validator_upload(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let req: ValidatorUploadRequest = parse_body(&body)?;
    let rules = [check(
        st.config.rate_limits.validator_upload,
        "validator_upload",
    )];
    let msg = commitments::validator_upload(req.timestamp);
    st.authenticate(
        &req.hotkey,
        &req.signature,
        req.timestamp,
        &msg,
        true,
        &rules,
    )
    .await?;
    if req.purpose != wire::PURPOSE_EPOCH_VALIDATION_RESULTS {
        return Err(ApiErr::new(
            400,
            format!(
                "purpose must be {:?}",
                wire::PURPOSE_EPOCH_VALIDATION_RESULTS
            ),
        ));
    }
    let prefix = format!("validators/{}/", req.hotkey);
    let mut post = st
        .store
        .presigned_post(
            &prefix,
            1,
            st.config.validator_upload_max_bytes,
            Utc::now(),
            st.config.grant_expiry,
        )
        .map_err(store_err)?;
    post.extra.insert("success".into(), json!(true));
    post.extra
        .insert("epochId".into(), json!(req.epoch_id.to_string()));
    post.extra.insert(
        "recommendedPath".into(),
        json!(format!("{prefix}epoch={}/", req.epoch_id)),
    );
    json_ok(post)
}

/// A read grant on `folder`: presigned list URL on S3, the directory on a local store.
fn read_grant(st: &AppState, folder: &str, requested_expiry: i64) -> Result<AccessGrant, ApiErr> {
    let dur = grant_duration(st, requested_expiry);
    let now = Utc::now();
    let expires = now.timestamp() + dur.as_secs() as i64;
    let mut extra = BTreeMap::new();
    let (bucket, region, list_url) = match &st.config.store {
        StoreConfig::S3(c) => {
            let list = st
                .store
                .presigned_list_url(folder, now, dur)
                .map_err(store_err)?;
            extra.insert("store".into(), json!("s3"));
            extra.insert("endpoint".into(), json!(c.endpoint));
            extra.insert("pathStyle".into(), json!(c.path_style));
            (Some(c.bucket.clone()), Some(c.region.clone()), Some(list))
        }
        StoreConfig::Local(_) => {
            extra.insert("store".into(), json!("local"));
            if let Some(root) = st.store.local_root() {
                extra.insert("localRoot".into(), json!(root.display().to_string()));
            }
            (None, None, None)
        }
    };
    Ok(AccessGrant {
        success: Some(true),
        bucket,
        region,
        folder: Some(folder.to_owned()),
        expiry: Some(Expiry::Unix(expires)),
        list_url,
        extra,
    })
}

async fn validator_access(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let req: ValidatorAccessRequest = parse_body(&body)?;
    let rules = [check(
        st.config.rate_limits.validator_access,
        "validator_access",
    )];
    let msg = commitments::validator_access(req.timestamp);
    st.authenticate(
        &req.hotkey,
        &req.signature,
        req.timestamp,
        &msg,
        true,
        &rules,
    )
    .await?;
    json_ok(read_grant(&st, "data/", req.expiry)?)
}

async fn miner_specific(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let req: MinerSpecificAccessRequest = parse_body(&body)?;
    let rules = [check(
        st.config.rate_limits.miner_specific,
        "miner_specific",
    )];
    let msg = commitments::miner_specific_access(&req.miner_hotkey, req.timestamp);
    st.authenticate(
        &req.hotkey,
        &req.signature,
        req.timestamp,
        &msg,
        true,
        &rules,
    )
    .await?;
    PublicKey::from_ss58(&req.miner_hotkey)
        .map_err(|e| ApiErr::new(400, format!("miner_hotkey: {e}")))?;
    json_ok(read_grant(
        &st,
        &format!("data/hotkey={}/", req.miner_hotkey),
        req.expiry,
    )?)
}

/// `POST /local-store/upload`: the local store's stand-in for S3's POST upload. Text fields
/// first, the file last (as S3 requires); the policy is verified before a byte is written, the
/// length while streaming, and the object appears atomically. 204 on success.
async fn local_upload(State(st): State<Arc<AppState>>, mut form: Multipart) -> ApiResult {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiErr::new(400, format!("Malformed upload form: {e}"))
    };
    let mut fields = BTreeMap::new();
    while let Some(mut part) = form.next_field().await.map_err(bad)? {
        let name = part.name().unwrap_or_default().to_owned();
        if name != "file" {
            let text = part.text().await.map_err(bad)?;
            fields.insert(name, text);
            continue;
        }
        let filename = part.file_name().unwrap_or("file").to_owned();
        let refused = |e: resi_store::StoreError| match e {
            resi_store::StoreError::Policy(p) => ApiErr::new(403, format!("Upload refused: {p}")),
            resi_store::StoreError::InvalidKey { .. } => ApiErr::new(400, e.to_string()),
            other => ApiErr::internal(other),
        };
        let mut up = st
            .store
            .begin_local_upload(&fields, &filename, Utc::now())
            .await
            .map_err(refused)?;
        while let Some(chunk) = part.chunk().await.map_err(bad)? {
            up.write(&chunk).await.map_err(refused)?;
        }
        let key = up.finish().await.map_err(refused)?;
        tracing::debug!(key, "local upload stored");
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Err(ApiErr::new(400, "Upload form has no file field"))
}

async fn not_found() -> ApiErr {
    ApiErr::new(404, "Not Found")
}

/// The router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(wire::PATH_HEALTHCHECK, get(healthcheck))
        .route(wire::PATH_ASSIGNMENT_CURRENT, get(current))
        .route(
            &format!("{}{{id}}", wire::PATH_ASSIGNMENT_EPOCH_PREFIX),
            get(epoch_by_id),
        )
        .route(wire::PATH_STATUS, post(status))
        .route(wire::PATH_STATS, get(stats))
        .route(wire::PATH_FOLDER_ACCESS, post(folder_access))
        .route(wire::PATH_VALIDATOR_UPLOAD, post(validator_upload))
        .route(wire::PATH_VALIDATOR_ACCESS, post(validator_access))
        .route(wire::PATH_MINER_SPECIFIC_ACCESS, post(miner_specific))
        .route(
            PATH_LOCAL_UPLOAD,
            post(local_upload).layer(DefaultBodyLimit::disable()),
        )
        .fallback(not_found)
        .with_state(state)
}
