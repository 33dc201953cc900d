//! The HTTP API: every endpoint of `spec/protocol.md` in its exact paths, shapes and status
//! codes, plus the local store's upload endpoint.
//!
//! Every signed request goes through [`AppState::authenticate`], in this order: timestamp window
//! (400), address and signature (400 malformed / 401 wrong), registration (403), validator
//! permit where needed (403), then in one SQLite transaction replay protection (401 "Signature
//! already used") and the rate limits (429 + `Retry-After`).
//!
//! Each handler carries its `#[utoipa::path]` (parameters, bodies, every status): [`api`] builds
//! the routes and the OpenAPI document from those annotations ([`crate::openapi`]). A refusal
//! carries its reason ([`Refusal`]) for the request series ([`crate::metrics`]).
//!
//! Every error is a NestJS body (`{"statusCode":400,"message":["..."],"error":"Bad Request"}`):
//! the handlers' own, and axum's (405, 413, extractor rejections) rewritten by a middleware.
//! API request bodies are capped at [`API_BODY_LIMIT_BYTES`] (413), status reports at
//! [`STATUS_BODY_LIMIT_BYTES`], and an API request taking longer than
//! `CoordinatorConfig::request_timeout` is answered 408.
//!
//! `/epoch/{id}` (validators) answers an epoch's assignment only once the epoch has started
//! (403 before: miners cannot see it earlier either); only once its submission deadline has
//! passed does it add the resi extension: `validationSeed` (hex of the 32-byte seed whose SHA-256
//! every assignment publishes as `metadata.validationSeedSha256`), `isHoneypot` on every zipcode
//! and `actualListings: 0` on honeypots.
//!
//! `POST /local-store/upload` exists only when the store is a local directory. Before the grant
//! is verified it reads at most [`UPLOAD_MAX_TEXT_FIELDS`] text fields of at most
//! [`UPLOAD_FIELD_LIMIT_BYTES`] each, chunk by chunk, and at most [`UPLOAD_FORM_LIMIT_BYTES`] in
//! all (413 beyond); the file is then streamed to disk, bounded by the grant's
//! `content-length-range`. One grant writes at most `CoordinatorConfig::local_objects_per_grant`
//! objects (403 after).

use crate::db::{Admission, Db, RateCheck};
use crate::epochs::{EpochRecord, Epochs, status_at};
use crate::metrics::{self, Metrics, Refusal};
use crate::openapi::{self, LocalUploadForm, PublicErrors, SignedBodyErrors, SignedErrors};
use crate::registry::{Membership, Registry};
use crate::{Clock, CoordinatorConfig, Limit, StoreConfig};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest as _, Multipart, Path, Query, Request, State,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::{TimeZone as _, Utc};
use futures::StreamExt as _;
use resi_core::commitments;
use resi_core::epoch::iso_millis;
use resi_core::keys::{PublicKey, Signature};
use resi_core::wire::{
    self, AccessGrant, AssignmentResponse, EpochReveal, Expiry, FolderAccessRequest,
    MinerSpecificAccessRequest, MinerStatus, NestError, NestMessage, PresignedPost, SignedQuery,
    StatsResponse, StatusRequest, ValidatorAccessRequest, ValidatorUploadRequest,
};
use resi_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use utoipa::{OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Path of the local store's upload endpoint (multipart POST like S3's; 204 on success).
pub const PATH_LOCAL_UPLOAD: &str = "/local-store/upload";
/// Route of the validators' `/epoch/{id}` ([`wire::PATH_ASSIGNMENT_EPOCH_PREFIX`] + `{id}`).
pub const PATH_ASSIGNMENT_EPOCH: &str = "/api/v1/zipcode-assignments/epoch/{id}";
const _: () = assert!(
    is_prefix(wire::PATH_ASSIGNMENT_EPOCH_PREFIX, PATH_ASSIGNMENT_EPOCH)
        && PATH_ASSIGNMENT_EPOCH.len() == wire::PATH_ASSIGNMENT_EPOCH_PREFIX.len() + "{id}".len()
);

const fn is_prefix(prefix: &str, s: &str) -> bool {
    let (p, s) = (prefix.as_bytes(), s.as_bytes());
    if p.len() > s.len() {
        return false;
    }
    let mut i = 0;
    while i < p.len() {
        if p[i] != s[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The `/status` answer. Fields in alphabetical order: the bytes of the earlier untyped answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusAck {
    /// The epoch reported on.
    pub epoch_id: String,
    /// `Status updated`.
    pub message: String,
    /// The status stored.
    pub status: MinerStatus,
    /// Always true on 200.
    pub success: bool,
}

/// The validator-upload answer: a presigned POST plus the epoch and the suggested key prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidatorUploadGrant {
    /// The grant.
    #[serde(flatten)]
    pub post: PresignedPost,
    /// The epoch whose results are uploaded.
    pub epoch_id: String,
    /// `validators/{hotkey}/epoch={epochId}/`.
    pub recommended_path: String,
    /// Always true on 200.
    pub success: bool,
}

/// Largest request body of every API endpoint (they take small JSON); 413 beyond.
pub const API_BODY_LIMIT_BYTES: usize = 64 * 1024;
/// Largest status report stored (a report of 100 completed zipcodes is under 8 KiB); 413 beyond.
pub const STATUS_BODY_LIMIT_BYTES: usize = 16 * 1024;
/// Largest text field of a local upload form (the policy is under 1 KiB); 413 beyond.
pub const UPLOAD_FIELD_LIMIT_BYTES: usize = 8 * 1024;
/// Most text fields of a local upload form (S3's form has 7); 413 beyond.
pub const UPLOAD_MAX_TEXT_FIELDS: usize = 32;
/// Most bytes of a local upload form read before the file's data (text fields, part headers and
/// boundaries); 413 beyond.
pub const UPLOAD_FORM_LIMIT_BYTES: u64 = 512 * 1024;
/// Bytes allowed past the file's maximum length (closing boundary, read-ahead).
const UPLOAD_FILE_SLACK_BYTES: u64 = 64 * 1024;

/// The NestJS body of an error: `status` with its reason phrase and one message.
fn nest_error(status: StatusCode, message: String) -> NestError {
    NestError {
        status_code: status.as_u16(),
        message: Some(NestMessage::Many(vec![message])),
        error: Some(status.canonical_reason().unwrap_or("Error").to_owned()),
    }
}

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
    /// The request series ([`metrics::track`]).
    pub metrics: Arc<Metrics>,
    /// The registry `/metrics` exposes.
    pub prometheus: resi_ops::Registry,
    /// What `/healthcheck` answers.
    pub health: Arc<resi_ops::Health>,
}

/// An error answer: status, message, optional `Retry-After` seconds and the refusal reason the
/// metrics count it under.
#[derive(Debug)]
pub struct ApiErr {
    status: u16,
    message: String,
    retry_after: Option<i64>,
    reason: Option<&'static str>,
    rule: Option<&'static str>,
}

impl ApiErr {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
            reason: None,
            rule: None,
        }
    }
    /// The same answer, counted under refusal `reason` (see [`Refusal`]).
    fn because(self, reason: &'static str) -> Self {
        Self {
            reason: Some(reason),
            ..self
        }
    }
    /// 429 for rate-limit `rule`, retry after `secs`.
    fn limited(secs: i64, rule: &'static str) -> Self {
        Self {
            retry_after: Some(secs),
            rule: Some(rule),
            ..Self::new(429, "Too many requests, retry later").because("rate_limited")
        }
    }
    fn internal(e: impl std::error::Error) -> Self {
        tracing::error!(error = %resi_core::error::ErrorChain(&e), "internal error");
        Self::new(500, "Internal server error")
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (code, axum::Json(nest_error(code, self.message))).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Some(reason) = self.reason {
            resp.extensions_mut().insert(Refusal {
                reason,
                rule: self.rule,
            });
        }
        resp
    }
}

type ApiResult = Result<Response, ApiErr>;

/// Who signed an authenticated request.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The hotkey's canonical SS58 address (the only spelling used after authentication).
    pub ss58: String,
    /// Its role on the subnet.
    pub member: Membership,
}

fn json_ok(v: impl serde::Serialize) -> ApiResult {
    Ok(axum::Json(v).into_response())
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiErr> {
    serde_json::from_slice(body)
        .map_err(|e| ApiErr::new(400, format!("Invalid request body: {e}")).because("bad_body"))
}

/// The signed query of the GET endpoints, with 400s naming the missing or bad parameter.
fn signed_query(q: &HashMap<String, String>) -> Result<(String, String, i64), ApiErr> {
    let get = |k: &str| {
        q.get(k)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| ApiErr::new(400, format!("{k} is required")).because("bad_query"))
    };
    let ts = get("timestamp")?.parse::<i64>().map_err(|_| {
        ApiErr::new(400, "timestamp must be an integer (unix seconds)").because("bad_query")
    })?;
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
    ///
    /// The hotkey and signature are parsed into their canonical types first (a padded,
    /// re-prefixed or otherwise non-canonical spelling is a 400), and only canonical values key
    /// the replay table, the rate limits and everything the handler does after: the returned
    /// [`Signer`]'s `ss58` is the one spelling of the key.
    pub async fn authenticate(
        &self,
        hotkey: &str,
        signature: &str,
        ts: i64,
        message: &str,
        validator_only: bool,
        rules: &[RateCheck],
    ) -> Result<Signer, ApiErr> {
        let now = self.now();
        resi_core::auth::check_timestamp(ts, now)
            .map_err(|e| ApiErr::new(400, e.to_string()).because("timestamp"))?;
        let key = PublicKey::from_ss58(hotkey)
            .map_err(|e| ApiErr::new(400, format!("hotkey: {e}")).because("bad_hotkey"))?;
        let sig = Signature::from_wire_hex(signature)
            .map_err(|e| ApiErr::new(400, e.to_string()).because("malformed_signature"))?;
        if !key.verify(message.as_bytes(), &sig) {
            return Err(ApiErr::new(401, "Invalid signature").because("bad_signature"));
        }
        let ss58 = key.to_ss58();
        let member = self
            .registry
            .lookup(key.as_bytes())
            .await
            .map_err(ApiErr::internal)?;
        match member {
            Membership::Unregistered => {
                return Err(ApiErr::new(
                    403,
                    format!(
                        "Hotkey {ss58} is not registered on subnet {}",
                        self.config.netuid
                    ),
                )
                .because("not_registered"));
            }
            Membership::Miner if validator_only => {
                return Err(ApiErr::new(403, "Validator permit required").because("no_permit"));
            }
            _ => {}
        }
        let admission = self
            .db
            .admit(Some((&ss58, &sig.to_hex(), ts)), &ss58, rules, now)
            .map_err(ApiErr::internal)?;
        match admission {
            Admission::Admitted => Ok(Signer { ss58, member }),
            Admission::Replayed => {
                Err(ApiErr::new(401, "Signature already used (replay)").because("replay"))
            }
            Admission::Limited { retry_after, rule } => Err(ApiErr::limited(retry_after, rule)),
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
                tracing::error!(error = %resi_core::error::ErrorChain(&e), "generating the current epoch");
                ApiErr::new(404, "No active epoch")
            }),
            Err(e) => Err(ApiErr::internal(e)),
        }
    }
}

/// The assignment answer of `rec` in the protocol's typed shape; `reveal` adds the validators'
/// extension (honeypot flags and the validation seed).
fn assignment_answer(rec: &EpochRecord, reveal: bool) -> Result<wire::EpochReveal, ApiErr> {
    let ts = |t: i64| {
        Utc.timestamp_opt(t, 0)
            .single()
            .map(|d| iso_millis(&d))
            .unwrap_or_default()
    };
    let seed_sha = hex::decode(&rec.row.validation_seed)
        .map(|b| hex::encode(Sha256::digest(b)))
        .map_err(ApiErr::internal)?;
    let epoch_id = rec.row.id.parse().map_err(ApiErr::internal)?;
    let zipcodes = rec
        .zipcodes
        .iter()
        .map(|z| wire::ZipcodeAssignment {
            zipcode: z.zipcode.clone(),
            expected_listings: z.expected_listings,
            state: Some(z.state.clone()),
            city: Some(z.city.clone()),
            county: Some(z.county.clone()),
            market_tier: Some(z.market_tier.clone()),
            geographic_region: Some(z.region.clone()),
            is_honeypot: reveal.then_some(z.is_honeypot),
            actual_listings: (reveal && z.is_honeypot).then_some(0),
        })
        .collect::<Vec<_>>();
    let assignment = wire::AssignmentResponse {
        success: true,
        epoch_id,
        epoch_start: Some(ts(rec.row.start_ts)),
        epoch_end: Some(ts(rec.row.end_ts)),
        nonce: rec.row.nonce.clone(),
        target_listings: Some(rec.row.target_listings),
        tolerance_percent: Some(rec.row.tolerance_percent),
        submission_deadline: ts(rec.row.end_ts),
        metadata: Some(wire::AssignmentMetadata {
            total_expected_listings: Some(rec.total_expected()),
            zipcode_count: u32::try_from(zipcodes.len()).ok(),
            algorithm_version: Some("v1.0".into()),
            selection_seed: Some(rec.row.selection_seed),
            validation_seed_sha256: Some(seed_sha),
        }),
        zipcodes,
    };
    Ok(wire::EpochReveal {
        assignment,
        validation_seed: reveal.then(|| rec.row.validation_seed.clone()),
    })
}

/// The miners' current assignment.
///
/// Signs `zipcode:assignment:current:{timestamp}`; any registered hotkey.
#[utoipa::path(get, path = wire::PATH_ASSIGNMENT_CURRENT, tag = "miners",
    params(SignedQuery),
    responses(
        (status = 200, description = "The running epoch's assignment", body = AssignmentResponse),
        (status = 404, description = "No active epoch", body = NestError),
        SignedErrors,
    ))]
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
    json_ok(assignment_answer(&rec, false)?.assignment)
}

/// An epoch's assignment for validators.
///
/// Served once the epoch has started (403 before). After its submission deadline it adds
/// `validationSeed` and the honeypot flags (`isHoneypot`, `actualListings: 0`). Signs
/// `zipcode:validation:{id}:{timestamp}`; needs a validator permit.
#[utoipa::path(get, path = PATH_ASSIGNMENT_EPOCH, tag = "validators",
    params(
        ("id" = String, Path, description = "Epoch id, e.g. `2025-10-01T16-00-00`"),
        SignedQuery,
    ),
    responses(
        (status = 200, description = "The epoch's assignment, revealed after the deadline", body = EpochReveal),
        (status = 404, description = "The epoch was never generated", body = NestError),
        SignedErrors,
    ))]
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
    // The next epoch is generated ahead of its start; nobody may see it before then.
    if st.now() < ep.start().timestamp() {
        return Err(ApiErr::new(
            403,
            format!(
                "Epoch {id} has not started yet; its assignment is served from {}",
                iso_millis(&ep.start())
            ),
        )
        .because("epoch_not_started"));
    }
    let rec = st
        .epochs
        .get(&ep.id.to_string())
        .map_err(ApiErr::internal)?
        .ok_or_else(|| ApiErr::new(404, format!("Epoch {id} not found")))?;
    let reveal = st.now() >= rec.row.end_ts;
    json_ok(assignment_answer(&rec, reveal)?)
}

/// A miner's progress report on an epoch.
///
/// The latest report per miner and epoch is kept. Signs `zipcode:status:{epochId}:{timestamp}`;
/// the epoch's nonce must match (400 otherwise).
#[utoipa::path(post, path = wire::PATH_STATUS, tag = "miners",
    request_body = StatusRequest,
    responses(
        (status = 200, description = "Report stored", body = StatusAck),
        (status = 404, description = "Unknown epoch", body = NestError),
        SignedBodyErrors,
    ))]
async fn status(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    if body.len() > STATUS_BODY_LIMIT_BYTES {
        return Err(ApiErr::new(
            413,
            format!(
                "Status report is {} bytes, more than the {STATUS_BODY_LIMIT_BYTES} accepted",
                body.len()
            ),
        )
        .because("body_too_large"));
    }
    let req: StatusRequest = parse_body(&body)?;
    let id = req.epoch_id.to_string();
    let rules = [check(st.config.rate_limits.status, "status")];
    let signer = st
        .authenticate(
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
        return Err(ApiErr::new(400, "Invalid nonce for epoch").because("bad_nonce"));
    }
    let status = miner_status_text(req.status);
    let stored = String::from_utf8_lossy(&body);
    st.db
        .put_status(
            &id,
            &signer.ss58,
            status,
            req.s3_upload_complete,
            req.listings_scraped,
            &stored,
            st.now(),
        )
        .map_err(ApiErr::internal)?;
    json_ok(StatusAck {
        epoch_id: id,
        message: "Status updated".into(),
        status: req.status,
        success: true,
    })
}

/// Public statistics.
///
/// The current epoch, timing, selection configuration and recent epochs' report counts.
/// Rate-limited per client address.
#[utoipa::path(get, path = wire::PATH_STATS, tag = "public",
    responses(
        (status = 200, description = "Statistics", body = StatsResponse),
        PublicErrors,
    ))]
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
        Admission::Limited { retry_after, rule } => {
            return Err(ApiErr::limited(retry_after, rule));
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

/// A miner's upload grant.
///
/// A presigned POST limited to `data/hotkey={hotkey}/`. Signs
/// `s3:data:access:{coldkey}:{hotkey}:{timestamp}`.
#[utoipa::path(post, path = wire::PATH_FOLDER_ACCESS, tag = "miners",
    request_body = FolderAccessRequest,
    responses(
        (status = 200, description = "Presigned POST for the miner's folder", body = PresignedPost),
        SignedBodyErrors,
    ))]
async fn folder_access(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let req: FolderAccessRequest = parse_body(&body)?;
    let l = &st.config.rate_limits;
    let rules = [
        check(l.folder_minute, "folder_minute"),
        check(l.folder_day, "folder_day"),
    ];
    PublicKey::from_ss58(&req.coldkey).map_err(|e| ApiErr::new(400, format!("coldkey: {e}")))?;
    let msg = commitments::folder_access(&req.coldkey, &req.hotkey, req.timestamp);
    let signer = st
        .authenticate(
            &req.hotkey,
            &req.signature,
            req.timestamp,
            &msg,
            false,
            &rules,
        )
        .await?;
    let prefix = format!("data/hotkey={}/", signer.ss58);
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

/// A validator's upload grant for an epoch's results.
///
/// A presigned POST under `validators/{hotkey}/`. Signs `s3:validator:upload:{timestamp}`;
/// `purpose` must be `epoch_validation_results`.
#[utoipa::path(post, path = wire::PATH_VALIDATOR_UPLOAD, tag = "validators",
    request_body = ValidatorUploadRequest,
    responses(
        (status = 200, description = "Presigned POST for the validator's folder", body = ValidatorUploadGrant),
        SignedBodyErrors,
    ))]
async fn validator_upload(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let req: ValidatorUploadRequest = parse_body(&body)?;
    let rules = [check(
        st.config.rate_limits.validator_upload,
        "validator_upload",
    )];
    let msg = commitments::validator_upload(req.timestamp);
    let signer = st
        .authenticate(
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
    let prefix = format!("validators/{}/", signer.ss58);
    let post = st
        .store
        .presigned_post(
            &prefix,
            1,
            st.config.validator_upload_max_bytes,
            Utc::now(),
            st.config.grant_expiry,
        )
        .map_err(store_err)?;
    json_ok(ValidatorUploadGrant {
        post,
        epoch_id: req.epoch_id.to_string(),
        recommended_path: format!("{prefix}epoch={}/", req.epoch_id),
        success: true,
    })
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

/// A validator's read grant on all miner data.
///
/// Covers `data/`. Signs `s3:validator:access:{timestamp}`.
#[utoipa::path(post, path = wire::PATH_VALIDATOR_ACCESS, tag = "validators",
    request_body = ValidatorAccessRequest,
    responses(
        (status = 200, description = "Read grant (presigned list URL on S3, the directory on a local store)", body = AccessGrant),
        SignedBodyErrors,
    ))]
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

/// A validator's read grant on one miner's data.
///
/// Covers `data/hotkey={miner_hotkey}/`. Signs `s3:validator:miner:{miner_hotkey}:{timestamp}`.
#[utoipa::path(post, path = wire::PATH_MINER_SPECIFIC_ACCESS, tag = "validators",
    request_body = MinerSpecificAccessRequest,
    responses(
        (status = 200, description = "Read grant on the miner's folder", body = AccessGrant),
        SignedBodyErrors,
    ))]
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
    let miner = PublicKey::from_ss58(&req.miner_hotkey)
        .map_err(|e| ApiErr::new(400, format!("miner_hotkey: {e}")))?;
    json_ok(read_grant(
        &st,
        &format!("data/hotkey={}/", miner.to_ss58()),
        req.expiry,
    )?)
}

/// What a local upload may still read from its body: [`UPLOAD_FORM_LIMIT_BYTES`] until the
/// grant is verified, then the grant's maximum file length plus a little.
#[derive(Debug)]
struct UploadBudget {
    read: AtomicU64,
    allowed: AtomicU64,
    exceeded: AtomicBool,
    file_max: AtomicU64,
}

/// The body of a local upload went over its [`UploadBudget`].
#[derive(Debug, thiserror::Error)]
#[error("upload body over its size budget")]
struct OverBudget;

impl UploadBudget {
    fn new() -> Self {
        Self {
            read: AtomicU64::new(0),
            allowed: AtomicU64::new(UPLOAD_FORM_LIMIT_BYTES),
            exceeded: AtomicBool::new(false),
            file_max: AtomicU64::new(0),
        }
    }

    fn take(&self, n: usize) -> Result<(), OverBudget> {
        let read = self
            .read
            .fetch_add(n as u64, Ordering::Relaxed)
            .saturating_add(n as u64);
        if read > self.allowed.load(Ordering::Relaxed) {
            self.exceeded.store(true, Ordering::Relaxed);
            return Err(OverBudget);
        }
        Ok(())
    }

    /// Opens the budget for a file of at most `max_len` bytes.
    fn allow_file(&self, max_len: u64) {
        let read = self.read.load(Ordering::Relaxed);
        self.file_max.store(max_len, Ordering::Relaxed);
        self.allowed.store(
            read.saturating_add(max_len)
                .saturating_add(UPLOAD_FILE_SLACK_BYTES),
            Ordering::Relaxed,
        );
    }

    /// The answer to a form error: 413/403 if the budget ran out, else 400.
    fn form_error(&self, e: axum::extract::multipart::MultipartError) -> ApiErr {
        if !self.exceeded.load(Ordering::Relaxed) {
            return ApiErr::new(400, format!("Malformed upload form: {e}"));
        }
        match self.file_max.load(Ordering::Relaxed) {
            0 => ApiErr::new(
                413,
                format!(
                    "Upload form is larger than {UPLOAD_FORM_LIMIT_BYTES} bytes before the file"
                ),
            ),
            max => ApiErr::new(
                403,
                format!("Upload refused: the file is larger than the grant's {max} bytes"),
            )
            .because("upload_refused"),
        }
    }
}

/// At most `max` characters of `s`, for echoing client input in messages.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

/// The local store's stand-in for S3's POST upload.
///
/// Text fields first (each read with a cap, see the module doc), the file last (as S3
/// requires); the policy is verified before a byte is written, the length while streaming, and
/// the object appears atomically. 204 on success. Served only when the store is a local
/// directory.
#[utoipa::path(post, path = PATH_LOCAL_UPLOAD, tag = "store",
    request_body(content = LocalUploadForm, content_type = "multipart/form-data",
        description = "The grant's fields as text parts, the file last"),
    responses(
        (status = 204, description = "Stored"),
        (status = 400, description = "Malformed form, no file, or a bad key", body = NestError),
        (status = 403, description = "The grant's policy refuses the upload (signature, expiry, key prefix, length), or the grant's object cap is used up", body = NestError),
        (status = 413, description = "Too many or too large text fields before the file", body = NestError),
        (status = 500, description = "Internal error", body = NestError),
    ))]
async fn local_upload(State(st): State<Arc<AppState>>, req: Request) -> ApiResult {
    let budget = Arc::new(UploadBudget::new());
    let (parts, body) = req.into_parts();
    let counted = {
        let budget = budget.clone();
        body.into_data_stream().map(move |chunk| {
            let chunk = chunk?;
            budget.take(chunk.len())?;
            Ok::<_, axum::BoxError>(chunk)
        })
    };
    let req = Request::from_parts(parts, Body::from_stream(counted));
    let mut form = Multipart::from_request(req, &())
        .await
        .map_err(|r| ApiErr::new(400, r.body_text()))?;
    let mut fields = BTreeMap::new();
    let mut text_fields = 0usize;
    while let Some(mut part) = form.next_field().await.map_err(|e| budget.form_error(e))? {
        let name = part.name().unwrap_or_default().to_owned();
        if name != "file" {
            text_fields += 1;
            if text_fields > UPLOAD_MAX_TEXT_FIELDS {
                return Err(ApiErr::new(
                    413,
                    format!("Upload form has more than {UPLOAD_MAX_TEXT_FIELDS} text fields"),
                ));
            }
            let mut text = Vec::new();
            while let Some(chunk) = part.chunk().await.map_err(|e| budget.form_error(e))? {
                if text.len() + chunk.len() > UPLOAD_FIELD_LIMIT_BYTES {
                    return Err(ApiErr::new(
                        413,
                        format!(
                            "Upload form field {:?} is larger than {UPLOAD_FIELD_LIMIT_BYTES} bytes",
                            clip(&name, 64)
                        ),
                    ));
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text).map_err(|_| {
                ApiErr::new(
                    400,
                    format!("Upload form field {:?} is not UTF-8", clip(&name, 64)),
                )
            })?;
            fields.insert(name, text);
            continue;
        }
        let filename = part.file_name().unwrap_or("file").to_owned();
        let refused = |e: resi_store::StoreError| match e {
            resi_store::StoreError::Policy(p) => {
                ApiErr::new(403, format!("Upload refused: {p}")).because("upload_refused")
            }
            resi_store::StoreError::GrantExhausted { .. } => {
                ApiErr::new(403, format!("Upload refused: {e}")).because("upload_refused")
            }
            resi_store::StoreError::InvalidKey { .. } => ApiErr::new(400, e.to_string()),
            other => ApiErr::internal(other),
        };
        let mut up = st
            .store
            .begin_local_upload(&fields, &filename, Utc::now())
            .await
            .map_err(refused)?;
        budget.allow_file(up.max_len());
        while let Some(chunk) = part.chunk().await.map_err(|e| budget.form_error(e))? {
            up.write(&chunk).await.map_err(refused)?;
        }
        let key = up.finish().await.map_err(refused)?;
        tracing::debug!(key, "local upload stored");
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Err(ApiErr::new(400, "Upload form has no file field"))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Rewrites every error answer that is not JSON (axum's 405, 413 and extractor rejections) as a
/// NestJS body with the same status and headers.
async fn nest_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = clip(req.uri().path(), 200);
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(resp.headers()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // Rejection texts are one short line; anything longer is replaced by the reason phrase.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => format!("Cannot {method} {path}"),
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("Request body is larger than the {API_BODY_LIMIT_BYTES} bytes accepted")
        }
        _ if text.is_empty() => status.canonical_reason().unwrap_or("Error").to_owned(),
        _ => text,
    };
    let body = serde_json::to_vec(&nest_error(status, message)).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

/// Answers 408 when the request (body included) takes longer than `limit` (zero: no limit).
async fn request_deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if limit.is_zero() {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiErr::new(
            408,
            format!("Request not completed within {} s", limit.as_secs_f64()),
        )
        .because("timeout")
        .into_response(),
    }
}

async fn not_found() -> ApiErr {
    ApiErr::new(404, "Not Found")
}

/// The API routes and their OpenAPI document, built from one list: each handler's
/// `#[utoipa::path]` gives both its route and its documentation. The API has its body limit and
/// request timeout; the local upload endpoint exists when the store is local.
pub fn api(config: &CoordinatorConfig) -> OpenApiRouter<Arc<AppState>> {
    let mut api = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(current))
        .routes(routes!(epoch_by_id))
        .routes(routes!(status))
        .routes(routes!(stats))
        .routes(routes!(folder_access))
        .routes(routes!(validator_upload))
        .routes(routes!(validator_access))
        .routes(routes!(miner_specific))
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT_BYTES))
        .layer(middleware::from_fn_with_state(
            config.request_timeout,
            request_deadline,
        ));
    if matches!(config.store, StoreConfig::Local(_)) {
        // Bounded by the upload budget and the grant instead of a body limit.
        let (schemas, paths, upload) = routes!(local_upload);
        api = api.routes((schemas, paths, upload.layer(DefaultBodyLimit::disable())));
    }
    api
}

/// The router over `state`: [`api`], `/metrics` and `/healthcheck` ([`resi_ops::http::routes`]),
/// `/docs-json` and `/docs` ([`openapi::routes`]); NestJS bodies for every error and the request
/// series ([`metrics::track`]) around all of it.
pub fn router(state: Arc<AppState>) -> Router {
    let (api, spec) = api(&state.config).split_for_parts();
    let app = api
        .with_state(state.clone())
        .merge(crate::dashboard::router(&state))
        .merge(resi_ops::http::routes(
            state.prometheus.clone(),
            state.health.clone(),
        ))
        .merge(openapi::routes(&spec));
    // Routers merged here get the NestJS error bodies and the request series too.
    app.fallback(not_found)
        .layer(middleware::from_fn(nest_errors))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
}

/// The protocol's text of a miner status (`IN_PROGRESS`, ...), as stored and labelled.
pub fn miner_status_text(s: MinerStatus) -> &'static str {
    match s {
        MinerStatus::InProgress => "IN_PROGRESS",
        MinerStatus::Completed => "COMPLETED",
        MinerStatus::Failed => "FAILED",
        MinerStatus::Timeout => "TIMEOUT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miner_status_text_is_the_wire_spelling() {
        for s in [
            MinerStatus::InProgress,
            MinerStatus::Completed,
            MinerStatus::Failed,
            MinerStatus::Timeout,
        ] {
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(Value::from(miner_status_text(s)))
            );
        }
    }
}
