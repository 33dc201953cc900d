//! HTTP client of the SN46 coordinator API, for resi miners and validators.
//!
//! [`ApiClient`] calls every endpoint of `spec/protocol.md`, signing each request with its
//! [`Hotkey`] (fresh timestamp and signature on every attempt, so retries stay inside the
//! server's 300 s window). Around each call:
//!
//! - timeouts: connect and per-request ([`ClientConfig`]);
//! - retries ([`RetryPolicy`]): 5xx and network errors/timeouts are retried with exponential
//!   backoff and jitter; 429 is retried after the server's `Retry-After` (if it is not longer
//!   than allowed); other 4xx are never retried;
//! - a [`CircuitBreaker`] so a dead API is not hammered;
//! - errors as [`ApiError`], carrying the endpoint, status and the server's message (NestJS body).
//!
//! [`ApiClient::upload_presigned`] performs the presigned S3 POST upload (multipart `fields` +
//! `key` + file, HTTP 204 = success), with the same retries but outside the API's breaker.

#![warn(missing_docs)]

mod breaker;
mod error;

pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker};
pub use error::ApiError;

use error::{server_message, snippet};
use reqwest::{Method, StatusCode};
use resi_core::Hotkey;
use resi_core::auth::now_unix;
use resi_core::commitments;
use resi_core::epoch::EpochId;
use resi_core::wire::{
    ACCESS_EXPIRY_SECS, AccessGrant, AssignmentResponse, FolderAccessRequest, HealthResponse,
    MinerSpecificAccessRequest, MinerStatus, PATH_ASSIGNMENT_CURRENT, PATH_ASSIGNMENT_EPOCH_PREFIX,
    PATH_FOLDER_ACCESS, PATH_HEALTHCHECK, PATH_MINER_SPECIFIC_ACCESS, PATH_STATS, PATH_STATUS,
    PATH_VALIDATOR_ACCESS, PATH_VALIDATOR_UPLOAD, PURPOSE_EPOCH_VALIDATION_RESULTS, PresignedPost,
    SignedQuery, StatsResponse, StatusRequest, SuccessResponse, ValidatorAccessRequest,
    ValidatorUploadRequest, ZipcodeCompleted,
};
use serde::de::DeserializeOwned;
use std::hash::{BuildHasher as _, Hasher as _};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = no retries).
    pub max_retries: u32,
    /// Backoff before the first retry; doubles each retry.
    pub base_delay: Duration,
    /// Upper bound of one backoff.
    pub max_delay: Duration,
    /// Longest `Retry-After` the client waits for; longer ones return [`ApiError::RateLimited`].
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The backoff before retry number `retry` (0-based): `base * 2^retry`, capped at `max_delay`,
    /// with jitter drawn uniformly from its upper half.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX));
        let cap = exp.min(self.max_delay);
        let half = cap / 2;
        let jitter_nanos = (cap - half).as_nanos() as u64;
        let r = if jitter_nanos == 0 {
            0
        } else {
            random_u64() % (jitter_nanos + 1)
        };
        half + Duration::from_nanos(r)
    }
}

/// A per-call random number from the std hasher's random keys (enough for jitter).
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish()
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// API base URL, e.g. `https://api.example.org` (no trailing path needed).
    pub base_url: String,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout of API calls.
    pub request_timeout: Duration,
    /// Whole-request timeout of presigned uploads (files can be large).
    pub upload_timeout: Duration,
    /// Retry settings (API calls and uploads).
    pub retry: RetryPolicy,
    /// Circuit breaker settings (API calls only).
    pub breaker: BreakerConfig,
}

impl ClientConfig {
    /// Defaults for `base_url`: 10 s connect, 30 s request, 10 min upload timeouts, 3 retries,
    /// breaker opening after 5 consecutive failures for 30 s.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(600),
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
        }
    }
}

/// A miner's status report; the client adds `hotkey`, `timestamp` and `signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The epoch reported on.
    pub epoch_id: EpochId,
    /// The epoch's nonce from the assignment.
    pub nonce: String,
    /// Progress.
    pub status: MinerStatus,
    /// Whether the S3 upload finished.
    pub s3_upload_complete: bool,
    /// Total listings scraped.
    pub listings_scraped: Option<u64>,
    /// Completed zipcodes.
    pub zipcodes_completed: Option<Vec<ZipcodeCompleted>>,
    /// ISO 8601 time of the upload.
    pub s3_upload_timestamp: Option<String>,
}

/// What one attempt produced, before retry decisions.
enum Attempt {
    Answer {
        status: StatusCode,
        retry_after: Option<Duration>,
        body: Vec<u8>,
    },
    Failed(reqwest::Error),
}

/// Client of the SN46 coordinator API. Cheap to clone; clones share the connection pool and the
/// circuit breaker.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    hotkey: Option<Arc<Hotkey>>,
    cfg: ClientConfig,
    breaker: Arc<CircuitBreaker>,
}

impl ApiClient {
    /// A client for `cfg.base_url`, signing with `hotkey` (None: only unsigned endpoints work).
    pub fn new(cfg: ClientConfig, hotkey: Option<Hotkey>) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("resi/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Setup(format!("cannot build HTTP client: {e}")))?;
        let base = cfg.base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ApiError::Setup(format!(
                "API base URL {:?} must start with http:// or https://",
                cfg.base_url
            )));
        }
        Ok(Self {
            http,
            base,
            hotkey: hotkey.map(Arc::new),
            breaker: Arc::new(CircuitBreaker::new(cfg.breaker)),
            cfg,
        })
    }

    /// The signing hotkey, if any.
    pub fn hotkey(&self) -> Option<&Hotkey> {
        self.hotkey.as_deref()
    }

    /// The circuit breaker's state.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    fn signer(&self, endpoint: &str) -> Result<&Hotkey, ApiError> {
        self.hotkey.as_deref().ok_or_else(|| ApiError::NoHotkey {
            endpoint: endpoint.to_owned(),
        })
    }

    /// `GET /healthcheck`.
    pub async fn health(&self) -> Result<HealthResponse, ApiError> {
        self.call_json(Method::GET, PATH_HEALTHCHECK, |r| r).await
    }

    /// `GET /api/v1/zipcode-assignments/current` (miners).
    pub async fn assignment_current(&self) -> Result<AssignmentResponse, ApiError> {
        let key = self.signer(&endpoint(&Method::GET, PATH_ASSIGNMENT_CURRENT))?;
        self.call_json(Method::GET, PATH_ASSIGNMENT_CURRENT, |r| {
            let ts = now_unix();
            r.query(&signed_query(key, &commitments::assignment_current(ts), ts))
        })
        .await
    }

    /// `GET /epoch/{epochId}` as raw JSON, so the resi extensions of the validators' answer
    /// (`validationSeed`, `isHoneypot`, `actualListings`, `metadata.validationSeedSha256`)
    /// reach the validator intact. Signed with the validation commitment.
    pub async fn epoch_reveal(
        &self,
        epoch_id: &EpochId,
    ) -> Result<resi_core::wire::EpochReveal, ApiError> {
        let path = format!("{PATH_ASSIGNMENT_EPOCH_PREFIX}{epoch_id}");
        let key = self.signer(&endpoint(&Method::GET, &path))?;
        let id = epoch_id.to_string();
        self.call_json(Method::GET, &path, |r| {
            let ts = now_unix();
            r.query(&signed_query(key, &commitments::validation(&id, ts), ts))
        })
        .await
    }

    /// `GET /api/v1/zipcode-assignments/epoch/{epochId}` (validators).
    pub async fn assignment_for_epoch(
        &self,
        epoch_id: &EpochId,
    ) -> Result<AssignmentResponse, ApiError> {
        let path = format!("{PATH_ASSIGNMENT_EPOCH_PREFIX}{epoch_id}");
        let key = self.signer(&endpoint(&Method::GET, &path))?;
        let id = epoch_id.to_string();
        self.call_json(Method::GET, &path, |r| {
            let ts = now_unix();
            r.query(&signed_query(key, &commitments::validation(&id, ts), ts))
        })
        .await
    }

    /// `POST /api/v1/zipcode-assignments/status` (miners).
    pub async fn report_status(&self, update: &StatusUpdate) -> Result<SuccessResponse, ApiError> {
        let key = self.signer(&endpoint(&Method::POST, PATH_STATUS))?;
        let id = update.epoch_id.to_string();
        self.call_json(Method::POST, PATH_STATUS, |r| {
            let ts = now_unix();
            r.json(&StatusRequest {
                hotkey: key.ss58(),
                signature: key.sign(commitments::status(&id, ts).as_bytes()).to_hex(),
                timestamp: ts,
                epoch_id: update.epoch_id,
                nonce: update.nonce.clone(),
                status: update.status,
                s3_upload_complete: update.s3_upload_complete,
                listings_scraped: update.listings_scraped,
                zipcodes_completed: update.zipcodes_completed.clone(),
                s3_upload_timestamp: update.s3_upload_timestamp.clone(),
            })
        })
        .await
    }

    /// `GET /api/v1/zipcode-assignments/stats` (public).
    pub async fn stats(&self) -> Result<StatsResponse, ApiError> {
        self.call_json(Method::GET, PATH_STATS, |r| r).await
    }

    /// `POST /get-folder-access` (miners): a presigned POST for `data/hotkey={hotkey}/`.
    /// `coldkey` is the miner's coldkey address (from `coldkeypub.txt`).
    pub async fn folder_access(&self, coldkey: &str) -> Result<PresignedPost, ApiError> {
        let key = self.signer(&endpoint(&Method::POST, PATH_FOLDER_ACCESS))?;
        self.call_json(Method::POST, PATH_FOLDER_ACCESS, |r| {
            let ts = now_unix();
            let hotkey = key.ss58();
            let msg = commitments::folder_access(coldkey, &hotkey, ts);
            r.json(&FolderAccessRequest {
                coldkey: coldkey.to_owned(),
                signature: key.sign(msg.as_bytes()).to_hex(),
                hotkey,
                timestamp: ts,
                expiry: ts + ACCESS_EXPIRY_SECS,
            })
        })
        .await
    }

    /// `POST /api/v1/s3-access/validator-upload` (validators): upload access for epoch results.
    pub async fn validator_upload(
        &self,
        epoch_id: &EpochId,
        estimated_data_size_mb: f64,
        retention_days: u32,
    ) -> Result<PresignedPost, ApiError> {
        let key = self.signer(&endpoint(&Method::POST, PATH_VALIDATOR_UPLOAD))?;
        self.call_json(Method::POST, PATH_VALIDATOR_UPLOAD, |r| {
            let ts = now_unix();
            r.json(&ValidatorUploadRequest {
                hotkey: key.ss58(),
                signature: key
                    .sign(commitments::validator_upload(ts).as_bytes())
                    .to_hex(),
                timestamp: ts,
                epoch_id: *epoch_id,
                purpose: PURPOSE_EPOCH_VALIDATION_RESULTS.to_owned(),
                estimated_data_size_mb,
                retention_days,
            })
        })
        .await
    }

    /// `POST /get-validator-access` (validators): read access to all miner data.
    pub async fn validator_access(&self) -> Result<AccessGrant, ApiError> {
        let key = self.signer(&endpoint(&Method::POST, PATH_VALIDATOR_ACCESS))?;
        self.call_json(Method::POST, PATH_VALIDATOR_ACCESS, |r| {
            let ts = now_unix();
            r.json(&ValidatorAccessRequest {
                hotkey: key.ss58(),
                timestamp: ts,
                signature: key
                    .sign(commitments::validator_access(ts).as_bytes())
                    .to_hex(),
                expiry: ts + ACCESS_EXPIRY_SECS,
            })
        })
        .await
    }

    /// `POST /get-miner-specific-access` (validators): read access to one miner's data.
    pub async fn miner_specific_access(&self, miner_hotkey: &str) -> Result<AccessGrant, ApiError> {
        let key = self.signer(&endpoint(&Method::POST, PATH_MINER_SPECIFIC_ACCESS))?;
        self.call_json(Method::POST, PATH_MINER_SPECIFIC_ACCESS, |r| {
            let ts = now_unix();
            r.json(&MinerSpecificAccessRequest {
                hotkey: key.ss58(),
                signature: key
                    .sign(commitments::miner_specific_access(miner_hotkey, ts).as_bytes())
                    .to_hex(),
                timestamp: ts,
                miner_hotkey: miner_hotkey.to_owned(),
                expiry: ts + ACCESS_EXPIRY_SECS,
            })
        })
        .await
    }

    /// Uploads `data` as object `key` with a presigned POST: multipart form of `post.fields`, then
    /// `key`, then the file (S3 requires the file last). HTTP 204 (or any 2xx) is success.
    /// Retried like API calls on 5xx and network errors, but outside the API's circuit breaker.
    pub async fn upload_presigned(
        &self,
        post: &PresignedPost,
        key: &str,
        file_name: &str,
        data: Vec<u8>,
    ) -> Result<(), ApiError> {
        let ep = format!("POST {} (presigned upload of {key})", post.url);
        let data = Arc::new(data);
        let (status, body) = self
            .execute(
                &ep,
                Method::POST,
                &post.url,
                false,
                self.cfg.upload_timeout,
                |r| {
                    let mut form = reqwest::multipart::Form::new();
                    for (name, value) in &post.fields {
                        if name != "key" {
                            form = form.text(name.clone(), value.clone());
                        }
                    }
                    form = form.text("key", key.to_owned()).part(
                        "file",
                        reqwest::multipart::Part::bytes(data.as_ref().clone())
                            .file_name(file_name.to_owned()),
                    );
                    r.multipart(form)
                },
            )
            .await?;
        tracing::debug!(%status, key, bytes = body.len(), "presigned upload done");
        Ok(())
    }

    /// [`Self::upload_presigned`] of a local file.
    pub async fn upload_presigned_file(
        &self,
        post: &PresignedPost,
        key: &str,
        path: &Path,
    ) -> Result<(), ApiError> {
        let data = tokio::fs::read(path)
            .await
            .map_err(|source| ApiError::File {
                path: path.to_owned(),
                source,
            })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned());
        self.upload_presigned(post, key, &name, data).await
    }

    async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let ep = endpoint(&method, path);
        let url = format!("{}{path}", self.base);
        let (status, body) = self
            .execute(&ep, method, &url, true, self.cfg.request_timeout, build)
            .await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Decode {
            endpoint: ep,
            status: status.as_u16(),
            reason: e.to_string(),
            snippet: snippet(&String::from_utf8_lossy(&body)),
        })
    }

    async fn attempt(
        &self,
        method: Method,
        url: &str,
        build: &impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Attempt {
        let req = build(self.http.request(method, url));
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(e),
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match resp.bytes().await {
            Ok(b) => Attempt::Answer {
                status,
                retry_after,
                body: b.to_vec(),
            },
            Err(e) => Attempt::Failed(e),
        }
    }

    /// Runs one logical call with retries (and the breaker if `use_breaker`); returns the 2xx
    /// status and body.
    async fn execute(
        &self,
        ep: &str,
        method: Method,
        url: &str,
        use_breaker: bool,
        timeout: Duration,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), ApiError> {
        let build = |r: reqwest::RequestBuilder| build(r.timeout(timeout));
        let policy = self.cfg.retry;
        let mut retry: u32 = 0;
        loop {
            if use_breaker && let Err(retry_in) = self.breaker.try_acquire() {
                return Err(ApiError::CircuitOpen {
                    endpoint: ep.to_owned(),
                    retry_in,
                });
            }
            let outcome = self.attempt(method.clone(), url, &build).await;
            let retries_left = retry < policy.max_retries;
            let (err, wait) = match outcome {
                Attempt::Answer { status, body, .. } if status.is_success() => {
                    if use_breaker {
                        self.breaker.record_success();
                    }
                    return Ok((status, body));
                }
                Attempt::Answer {
                    status,
                    retry_after,
                    body,
                } if status == StatusCode::TOO_MANY_REQUESTS => {
                    // A live server limiting us: not a breaker failure.
                    if use_breaker {
                        self.breaker.record_success();
                    }
                    let (message, _) = server_message(&body);
                    let err = ApiError::RateLimited {
                        endpoint: ep.to_owned(),
                        retry_after,
                        message,
                    };
                    let wait = match retry_after {
                        Some(d) if d <= policy.max_retry_after => Some(d),
                        Some(_) => None,
                        None => Some(policy.backoff(retry)),
                    };
                    (err, wait)
                }
                Attempt::Answer { status, body, .. } => {
                    let (message, nest) = server_message(&body);
                    let err = ApiError::Http {
                        endpoint: ep.to_owned(),
                        status: status.as_u16(),
                        message,
                        body: nest,
                    };
                    if status.is_server_error() {
                        let opened = use_breaker && self.breaker.record_failure();
                        (err, (!opened).then(|| policy.backoff(retry)))
                    } else {
                        // 4xx: the request is wrong; retrying cannot help.
                        if use_breaker {
                            self.breaker.record_success();
                        }
                        return Err(err);
                    }
                }
                Attempt::Failed(e) => {
                    let err = if e.is_timeout() {
                        ApiError::Timeout {
                            endpoint: ep.to_owned(),
                            timeout,
                        }
                    } else if e.is_builder() {
                        return Err(ApiError::Setup(format!("{ep}: {e}")));
                    } else {
                        ApiError::Network {
                            endpoint: ep.to_owned(),
                            source: e,
                        }
                    };
                    let opened = use_breaker && self.breaker.record_failure();
                    (err, (!opened).then(|| policy.backoff(retry)))
                }
            };
            match wait {
                Some(d) if retries_left => {
                    tracing::debug!(endpoint = ep, error = %resi_core::error::ErrorChain(&err), wait_ms = d.as_millis() as u64, "retrying");
                    tokio::time::sleep(d).await;
                    retry += 1;
                }
                _ => return Err(err),
            }
        }
    }
}

fn endpoint(method: &Method, path: &str) -> String {
    format!("{method} {path}")
}

fn signed_query(key: &Hotkey, commitment: &str, ts: i64) -> SignedQuery {
    SignedQuery {
        hotkey: key.ss58(),
        signature: key.sign(commitment.as_bytes()).to_hex(),
        timestamp: ts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(5),
        };
        for retry in 0..40 {
            let d = p.backoff(retry);
            let cap = Duration::from_millis(100)
                .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
                .min(Duration::from_secs(1));
            assert!(
                d >= cap / 2 && d <= cap,
                "retry {retry}: {d:?} vs cap {cap:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_base_url() {
        assert!(matches!(
            ApiClient::new(ClientConfig::new("localhost:80"), None),
            Err(ApiError::Setup(_))
        ));
    }
}
