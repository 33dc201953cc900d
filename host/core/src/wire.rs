//! Request and response bodies of the SN46 HTTP protocol, as serde types in the exact wire shapes.
//!
//! Field names follow `spec/protocol.md` to the letter: most bodies are camelCase, but the S3
//! access endpoints mix in snake_case (`miner_hotkey`, `list_url`). Responses tolerate unknown
//! fields (servers may add more) and keep the ones a resi peer needs typed; fields only some
//! servers send are `Option` and are left out when absent. [`NestError`] is the NestJS error body
//! every endpoint uses for 4xx/5xx answers.

use crate::epoch::EpochId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use utoipa::{IntoParams, ToSchema};

/// Path of the health check (GET, unsigned).
pub const PATH_HEALTHCHECK: &str = "/healthcheck";
/// Path of the miners' current assignment (GET, signed query).
pub const PATH_ASSIGNMENT_CURRENT: &str = "/api/v1/zipcode-assignments/current";
/// Prefix of the validators' assignment of an epoch: append the epoch id (GET, signed query).
pub const PATH_ASSIGNMENT_EPOCH_PREFIX: &str = "/api/v1/zipcode-assignments/epoch/";
/// Path of the miners' status report (POST, signed body).
pub const PATH_STATUS: &str = "/api/v1/zipcode-assignments/status";
/// Path of the public statistics (GET, unsigned).
pub const PATH_STATS: &str = "/api/v1/zipcode-assignments/stats";
/// Path of the miners' upload access (POST, signed body).
pub const PATH_FOLDER_ACCESS: &str = "/get-folder-access";
/// Path of the validators' result upload access (POST, signed body).
pub const PATH_VALIDATOR_UPLOAD: &str = "/api/v1/s3-access/validator-upload";
/// Path of the validators' read access to all miner data (POST, signed body).
pub const PATH_VALIDATOR_ACCESS: &str = "/get-validator-access";
/// Path of the validators' read access to one miner's data (POST, signed body).
pub const PATH_MINER_SPECIFIC_ACCESS: &str = "/get-miner-specific-access";

/// Validity of an access grant requested with `expiry`: one day.
pub const ACCESS_EXPIRY_SECS: i64 = 86_400;

/// `purpose` of a validator upload of epoch results.
pub const PURPOSE_EPOCH_VALIDATION_RESULTS: &str = "epoch_validation_results";

/// The signed query of `/current` and `/epoch/{id}`: `?hotkey=..&signature=..&timestamp=..`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedQuery {
    /// SS58 address of the signing hotkey.
    pub hotkey: String,
    /// 128 lowercase hex chars.
    pub signature: String,
    /// Unix seconds.
    pub timestamp: i64,
}

/// `GET /healthcheck` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthResponse {
    /// `"ok"` when healthy.
    pub status: String,
    /// Service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Service version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One assigned zipcode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ZipcodeAssignment {
    /// 5-digit zipcode.
    pub zipcode: String,
    /// Expected number of listings.
    pub expected_listings: u32,
    /// Two-letter state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// City name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// County name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
    /// `PREMIUM`, `STANDARD` or `EMERGING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_tier: Option<String>,
    /// Region name, e.g. `Northeast`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geographic_region: Option<String>,
    /// resi extension, only in the validators' `/epoch/{id}` answer after the epoch: honeypot flag.
    /// Must never be set in the miners' `/current` answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_honeypot: Option<bool>,
    /// resi extension, with `is_honeypot`: the true listing count of a honeypot (0).
    #[serde(default, alias = "trueCount", skip_serializing_if = "Option::is_none")]
    pub actual_listings: Option<u32>,
}

/// Metadata of an assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentMetadata {
    /// Sum of `expectedListings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_expected_listings: Option<u64>,
    /// Number of zipcodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipcode_count: Option<u32>,
    /// Selection algorithm version, e.g. `v1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm_version: Option<String>,
    /// Seed the selection is reproducible from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_seed: Option<u64>,
    /// resi extension: sha256 (hex) of the epoch's validation seed, published at epoch start
    /// so that validators can check the seed revealed after the deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_seed_sha256: Option<String>,
}

/// The validators' `/epoch/{id}` answer: the assignment plus, once the submission deadline has
/// passed, the revealed validation seed (and honeypot flags on the zipcodes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EpochReveal {
    /// The assignment as miners saw it (plus the honeypot extension after the deadline).
    #[serde(flatten)]
    pub assignment: AssignmentResponse,
    /// The 32-byte validation seed as hex; `None` before the deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_seed: Option<String>,
}

/// `/current` and `/epoch/{id}` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentResponse {
    /// Always true on 200.
    pub success: bool,
    /// The epoch.
    #[schema(value_type = String, example = "2025-10-01T16-00-00")]
    pub epoch_id: EpochId,
    /// Epoch start, ISO 8601 with milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_start: Option<String>,
    /// Epoch end, ISO 8601 with milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_end: Option<String>,
    /// The epoch nonce: 16 lowercase hex chars.
    pub nonce: String,
    /// Target number of listings for the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_listings: Option<u32>,
    /// Tolerance around the target, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_percent: Option<u32>,
    /// Submission deadline (= epoch end), ISO 8601 with milliseconds.
    pub submission_deadline: String,
    /// Assigned zipcodes.
    pub zipcodes: Vec<ZipcodeAssignment>,
    /// Assignment metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<AssignmentMetadata>,
}

/// A miner's progress in a status report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MinerStatus {
    /// Still scraping.
    InProgress,
    /// Done and uploaded.
    Completed,
    /// Gave up.
    Failed,
    /// Ran out of time.
    Timeout,
}

/// One zipcode a miner completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ZipcodeCompleted {
    /// The zipcode.
    pub zipcode: String,
    /// Listings scraped for it.
    pub listings_scraped: u32,
    /// ISO 8601 completion time.
    pub completed_at: String,
}

/// `POST /api/v1/zipcode-assignments/status` body (signs [`crate::commitments::status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusRequest {
    /// SS58 hotkey.
    pub hotkey: String,
    /// Hex signature.
    pub signature: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// The epoch reported on.
    #[schema(value_type = String, example = "2025-10-01T16-00-00")]
    pub epoch_id: EpochId,
    /// The epoch's nonce (400 "Invalid nonce for epoch" otherwise).
    pub nonce: String,
    /// Progress.
    pub status: MinerStatus,
    /// Whether the S3 upload finished.
    pub s3_upload_complete: bool,
    /// Total listings scraped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listings_scraped: Option<u64>,
    /// Completed zipcodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipcodes_completed: Option<Vec<ZipcodeCompleted>>,
    /// ISO 8601 time of the upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_upload_timestamp: Option<String>,
}

/// A generic `{"success": .., "message": ..}` answer (status report and similar); other fields kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SuccessResponse {
    /// Whether the call succeeded.
    #[serde(default)]
    pub success: bool,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Any further fields.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// `/stats` → `epochStatus.currentEpoch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsCurrentEpoch {
    /// Epoch id.
    pub id: String,
    /// `PENDING`, `ACTIVE`, `COMPLETED` or `ARCHIVED`.
    pub status: String,
    /// ISO start.
    pub start_time: String,
    /// ISO end.
    pub end_time: String,
    /// Epoch nonce.
    pub nonce: String,
    /// Number of zipcodes.
    pub zipcode_count: u32,
    /// Target listings.
    pub target_listings: u32,
    /// Sum of expected listings.
    pub actual_expected: u64,
}

/// `/stats` → `epochStatus.timing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsTiming {
    /// Seconds until the current epoch ends.
    pub time_until_epoch_end: i64,
    /// Seconds until the next epoch starts.
    pub time_until_next_epoch: i64,
    /// Epoch length in hours: an integer (`4`) in production, fractional for short dev epochs;
    /// kept as a JSON number so it round-trips unchanged.
    #[schema(value_type = f64)]
    pub epoch_duration_hours: serde_json::Number,
}

/// `/stats` → `epochStatus.nextEpoch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsNextEpoch {
    /// ISO start of the next epoch.
    pub start_time: String,
}

/// `/stats` → `epochStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsEpochStatus {
    /// The current epoch, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_epoch: Option<StatsCurrentEpoch>,
    /// Timing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<StatsTiming>,
    /// The next epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_epoch: Option<StatsNextEpoch>,
}

/// `/stats` → `zipcodeStatistics.configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsConfiguration {
    /// Target listings per epoch.
    pub target_listings: u32,
    /// Tolerance, percent.
    pub tolerance_percent: u32,
    /// Cooldown before a zipcode is assigned again, hours.
    pub cooldown_hours: u32,
    /// Minimum expected listings of an assigned zipcode.
    pub min_listings: u32,
    /// Maximum expected listings of an assigned zipcode.
    pub max_listings: u32,
}

/// `/stats` → `zipcodeStatistics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsZipcodeStatistics {
    /// Assignment configuration.
    pub configuration: StatsConfiguration,
}

/// `GET /api/v1/zipcode-assignments/stats` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsResponse {
    /// Always true on 200.
    pub success: bool,
    /// Server time, unix seconds.
    pub current_time: i64,
    /// E.g. `operational`.
    pub system_status: String,
    /// Epoch status.
    pub epoch_status: StatsEpochStatus,
    /// Configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipcode_statistics: Option<StatsZipcodeStatistics>,
    /// Recent performance records (free-form).
    #[serde(default)]
    pub recent_performance: Vec<serde_json::Value>,
}

/// `POST /get-folder-access` body (signs [`crate::commitments::folder_access`] with the hotkey).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderAccessRequest {
    /// SS58 coldkey of the miner.
    pub coldkey: String,
    /// SS58 hotkey of the miner (the signer).
    pub hotkey: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// Hex signature.
    pub signature: String,
    /// `timestamp + 86400`.
    pub expiry: i64,
}

/// An `expiry` in an answer: unix seconds or an ISO string, depending on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Expiry {
    /// Unix seconds.
    Unix(i64),
    /// ISO 8601 text.
    Text(String),
}

/// A presigned S3 POST: the `/get-folder-access` answer (no `success` field), also the shape of
/// validator upload grants. Upload = multipart POST of `fields` + `key` + file to `url`; 204 = ok.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PresignedPost {
    /// Key prefix the policy allows, e.g. `data/hotkey={hotkey}/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// Bucket URL to POST to.
    pub url: String,
    /// Form fields of the presigned policy (policy, signature, credential, ...).
    pub fields: BTreeMap<String, String>,
    /// When the grant expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<Expiry>,
    /// Presigned URL to list the folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_url: Option<String>,
    /// Any further fields.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// `POST /api/v1/s3-access/validator-upload` body (signs [`crate::commitments::validator_upload`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidatorUploadRequest {
    /// SS58 validator hotkey.
    pub hotkey: String,
    /// Hex signature.
    pub signature: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// Epoch whose results are uploaded.
    #[schema(value_type = String, example = "2025-10-01T16-00-00")]
    pub epoch_id: EpochId,
    /// [`PURPOSE_EPOCH_VALIDATION_RESULTS`].
    pub purpose: String,
    /// Estimated upload size in MB.
    pub estimated_data_size_mb: f64,
    /// How long the results are kept, days.
    pub retention_days: u32,
}

/// `POST /get-validator-access` body (signs [`crate::commitments::validator_access`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidatorAccessRequest {
    /// SS58 validator hotkey.
    pub hotkey: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// Hex signature.
    pub signature: String,
    /// `timestamp + 86400`.
    pub expiry: i64,
}

/// `POST /get-miner-specific-access` body (signs [`crate::commitments::miner_specific_access`]).
/// Note the snake_case `miner_hotkey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MinerSpecificAccessRequest {
    /// SS58 validator hotkey.
    pub hotkey: String,
    /// Hex signature.
    pub signature: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// SS58 hotkey of the miner whose data is requested.
    pub miner_hotkey: String,
    /// `timestamp + 86400`.
    pub expiry: i64,
}

/// Answer of the validator read-access endpoints: presigned URLs whose exact set differs between
/// servers, so everything is kept; the common fields are typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccessGrant {
    /// Present on some servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// Bucket name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Key prefix the grant covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// When the grant expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<Expiry>,
    /// Presigned URL to list objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_url: Option<String>,
    /// Any further fields (other presigned URLs, upload fields, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// NestJS's `message`: one string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum NestMessage {
    /// One message.
    One(String),
    /// Several (validation pipe errors).
    Many(Vec<String>),
}

/// NestJS error body: `{"statusCode":400,"message":["..."],"error":"Bad Request"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NestError {
    /// HTTP status code.
    pub status_code: u16,
    /// Message(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<NestMessage>,
    /// Reason phrase, e.g. `Bad Request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl NestError {
    /// A NestJS-style error with one message, reason phrase derived from the status.
    pub fn new(status_code: u16, message: impl Into<String>) -> Self {
        let error = match status_code {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Error",
        };
        Self {
            status_code,
            message: Some(NestMessage::Many(vec![message.into()])),
            error: Some(error.to_owned()),
        }
    }

    /// All messages, joined with `; `.
    pub fn message_text(&self) -> String {
        match &self.message {
            Some(NestMessage::One(m)) => m.clone(),
            Some(NestMessage::Many(ms)) => ms.join("; "),
            None => String::new(),
        }
    }
}

impl fmt::Display for NestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = self.message_text();
        match (&self.error, msg.is_empty()) {
            (Some(e), false) => write!(f, "{} {e}: {msg}", self.status_code),
            (Some(e), true) => write!(f, "{} {e}", self.status_code),
            (None, false) => write!(f, "{}: {msg}", self.status_code),
            (None, true) => write!(f, "{}", self.status_code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn roundtrip<T: Serialize + serde::de::DeserializeOwned>(text: &str) -> T {
        let original: Value = serde_json::from_str(text).unwrap();
        let typed: T = serde_json::from_str(text).unwrap();
        let back = serde_json::to_value(&typed).unwrap();
        assert_eq!(back, original, "round trip changed the JSON");
        typed
    }

    #[test]
    fn assignment_example_roundtrips() {
        let r: AssignmentResponse = roundtrip(
            r#"{"success":true,"epochId":"2025-10-01T16-00-00","epochStart":"2025-10-01T16:00:00.000Z",
 "epochEnd":"2025-10-01T20:00:00.000Z","nonce":"376ce532f42cf2a5","targetListings":10000,
 "tolerancePercent":10,"submissionDeadline":"2025-10-01T20:00:00.000Z",
 "zipcodes":[{"zipcode":"19103","expectedListings":250,"state":"PA","city":"Philadelphia",
   "county":"Philadelphia County","marketTier":"PREMIUM","geographicRegion":"Northeast"}],
 "metadata":{"totalExpectedListings":9420,"zipcodeCount":25,"algorithmVersion":"v1.0","selectionSeed":12345}}"#,
        );
        assert_eq!(r.epoch_id.to_string(), "2025-10-01T16-00-00");
        assert_eq!(r.zipcodes[0].expected_listings, 250);
        assert_eq!(r.zipcodes[0].is_honeypot, None);
        // The minimal set clients read is enough.
        let min: AssignmentResponse = serde_json::from_value(json!({"success":true,
            "epochId":"2025-10-01T16-00-00","nonce":"376ce532f42cf2a5",
            "submissionDeadline":"2025-10-01T20:00:00.000Z",
            "zipcodes":[{"zipcode":"19103","expectedListings":250}], "unknownExtra": 1}))
        .unwrap();
        assert!(min.metadata.is_none());
    }

    #[test]
    fn stats_example_roundtrips() {
        let s: StatsResponse = roundtrip(
            r#"{"success":true,"currentTime":1759336626,"systemStatus":"operational",
 "epochStatus":{"currentEpoch":{"id":"2025-10-01T16-00-00","status":"ACTIVE","startTime":"...","endTime":"...",
   "nonce":"376ce532f42cf2a5","zipcodeCount":25,"targetListings":10000,"actualExpected":9420},
  "timing":{"timeUntilEpochEnd":12173,"timeUntilNextEpoch":12173,"epochDurationHours":4},
  "nextEpoch":{"startTime":"..."}},
 "zipcodeStatistics":{"configuration":{"targetListings":10000,"tolerancePercent":10,"cooldownHours":24,
   "minListings":200,"maxListings":3000}},
 "recentPerformance":[]}"#,
        );
        assert_eq!(s.current_time, 1_759_336_626);
        let timing = s.epoch_status.timing.unwrap();
        assert_eq!(timing.epoch_duration_hours.as_u64(), Some(4));
    }

    #[test]
    fn status_request_shape() {
        let r: StatusRequest = roundtrip(
            r#"{"hotkey":"5H","signature":"ab","timestamp":1759336626,"epochId":"2025-10-01T16-00-00",
            "nonce":"376ce532f42cf2a5","status":"IN_PROGRESS","s3UploadComplete":false,"listingsScraped":10,
            "zipcodesCompleted":[{"zipcode":"19103","listingsScraped":10,"completedAt":"2025-10-01T17:00:00.000Z"}],
            "s3UploadTimestamp":"2025-10-01T17:00:00.000Z"}"#,
        );
        assert_eq!(r.status, MinerStatus::InProgress);
        for (st, text) in [
            (MinerStatus::Completed, "\"COMPLETED\""),
            (MinerStatus::Failed, "\"FAILED\""),
            (MinerStatus::Timeout, "\"TIMEOUT\""),
        ] {
            assert_eq!(serde_json::to_string(&st).unwrap(), text);
        }
    }

    #[test]
    fn s3_bodies_shapes() {
        let f: FolderAccessRequest = roundtrip(
            r#"{"coldkey":"5C","hotkey":"5H","timestamp":1,"signature":"ab","expiry":86401}"#,
        );
        assert_eq!(f.expiry, 86_401);
        let m: MinerSpecificAccessRequest = roundtrip(
            r#"{"hotkey":"5V","signature":"ab","timestamp":1,"miner_hotkey":"5M","expiry":86401}"#,
        );
        assert_eq!(m.miner_hotkey, "5M");
        let _: ValidatorAccessRequest =
            roundtrip(r#"{"hotkey":"5V","timestamp":1,"signature":"ab","expiry":86401}"#);
        let u: ValidatorUploadRequest = roundtrip(
            r#"{"hotkey":"5V","signature":"ab","timestamp":1,"epochId":"2025-10-01T16-00-00",
            "purpose":"epoch_validation_results","estimatedDataSizeMb":12.5,"retentionDays":90}"#,
        );
        assert_eq!(u.purpose, PURPOSE_EPOCH_VALIDATION_RESULTS);
        let p: PresignedPost = roundtrip(
            r#"{"folder":"data/hotkey=5H/","url":"https://b.s3.us-east-2.amazonaws.com",
            "fields":{"policy":"p","x-amz-signature":"s"},"expiry":1759423026,"list_url":"https://l"}"#,
        );
        assert_eq!(p.fields["policy"], "p");
        assert_eq!(p.expiry, Some(Expiry::Unix(1_759_423_026)));
        let g: AccessGrant = roundtrip(
            r#"{"bucket":"b","region":"us-east-2","expiry":"2025-10-02T16:00:00Z","urls":{"a":"b"}}"#,
        );
        assert!(g.extra.contains_key("urls"));
    }

    #[test]
    fn nest_error_forms() {
        let e: NestError = roundtrip(
            r#"{"statusCode":400,"message":["Invalid nonce for epoch"],"error":"Bad Request"}"#,
        );
        assert_eq!(e.to_string(), "400 Bad Request: Invalid nonce for epoch");
        let one: NestError =
            roundtrip(r#"{"statusCode":401,"message":"Invalid signature","error":"Unauthorized"}"#);
        assert_eq!(one.message_text(), "Invalid signature");
        let bare: NestError = roundtrip(r#"{"statusCode":404,"message":"Not Found"}"#);
        assert_eq!(bare.to_string(), "404: Not Found");
        assert_eq!(
            serde_json::to_value(NestError::new(429, "slow down")).unwrap(),
            json!({"statusCode":429,"message":["slow down"],"error":"Too Many Requests"})
        );
    }

    #[test]
    fn health_roundtrip() {
        let _: HealthResponse = roundtrip(r#"{"status":"ok","service":"resi","version":"0.1.0"}"#);
    }
}
