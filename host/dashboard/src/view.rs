//! The typed JSON view of one epoch the page renders ([`EpochView`]), and its builders from the
//! validator's own types: a [`ValidationReport`] becomes a [`ReportView`] (ranks, weights,
//! flags and every candidate's gate results, read from the canonical outcome), an [`Agreement`]
//! plus the reports read becomes an [`AgreementView`].
//!
//! Everything here is data from outside (miners' hotkeys, zipcodes, validators' reports): the
//! page inserts it as text only.

use resi_validator::report::{PolicyRef, RejectionsOmitted};
use resi_validator::{Agreement, ConsensusLevel, Rejection, ValidationReport};
use serde::{Deserialize, Serialize};

/// One line of the epoch list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// Epoch id.
    pub epoch_id: String,
    /// Lifecycle status when the source knows it (`ACTIVE`, `COMPLETED`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Epoch start, unix milliseconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<i64>,
}

/// Everything the page shows about one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochView {
    /// Who serves it: `coordinator` or `validator`.
    pub source: String,
    /// Epoch id.
    pub epoch_id: String,
    /// Lifecycle status when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Epoch start, unix milliseconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<i64>,
    /// Submission deadline, unix milliseconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<i64>,
    /// The assigned zipcodes.
    pub assignments: Vec<AssignmentView>,
    /// What each miner put in the store per zipcode, and when.
    pub deliveries: Vec<DeliveryView>,
    /// Miners' own status reports (coordinator only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<MinerStatusView>,
    /// The report the ranks and gates come from (the validator's own, or on the coordinator
    /// one counted report with the majority outcome hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportView>,
    /// Agreement between the validators' reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<AgreementView>,
    /// Weights this validator set (validator only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<WeightsView>,
    /// What the source could not read, in words (the page lists them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl EpochView {
    /// An empty view of `epoch_id` served by `source`.
    pub fn new(source: &str, epoch_id: &str) -> Self {
        Self {
            source: source.to_owned(),
            epoch_id: epoch_id.to_owned(),
            status: None,
            start_ms: None,
            deadline_ms: None,
            assignments: Vec::new(),
            deliveries: Vec::new(),
            statuses: Vec::new(),
            report: None,
            agreement: None,
            weights: None,
            notes: Vec::new(),
        }
    }

    /// Every miner hotkey the view names (report, rejections, deliveries, statuses), sorted.
    pub fn hotkeys(&self) -> Vec<String> {
        let mut out: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        if let Some(r) = &self.report {
            out.extend(r.miners.iter().map(|m| m.hotkey.clone()));
            for z in &r.zipcodes {
                out.extend(z.candidates.iter().map(|c| c.hotkey.clone()));
            }
            out.extend(r.rejected.iter().map(|x| x.hotkey.clone()));
        }
        out.extend(self.deliveries.iter().map(|d| d.hotkey.clone()));
        out.extend(self.statuses.iter().map(|s| s.hotkey.clone()));
        out.remove("");
        out.into_iter().collect()
    }
}

/// One assigned zipcode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentView {
    /// The zipcode.
    pub zipcode: String,
    /// Expected listings as assigned; `None` when the source does not know the assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<u32>,
    /// Honeypot flag; `None` until revealed (after the deadline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honeypot: Option<bool>,
    /// True listing count of a honeypot, once revealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub true_count: Option<u32>,
    /// City, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// One miner's objects for one zipcode in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// Miner hotkey (from the object key).
    pub hotkey: String,
    /// Zipcode (from the object key).
    pub zipcode: String,
    /// When the submission was committed: the store's Last-Modified of `manifest.json`, else
    /// of its latest object; unix milliseconds.
    pub at_ms: i64,
    /// Objects.
    pub files: u32,
    /// Bytes of all its objects.
    pub bytes: u64,
    /// True when a `manifest.json` is among them.
    pub manifest: bool,
    /// `listing_count` of the manifest, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listings: Option<u64>,
    /// Committed after the submission deadline (when the deadline is known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<bool>,
}

/// A miner's latest status report to the coordinator (its own claims).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinerStatusView {
    /// Miner hotkey.
    pub hotkey: String,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED` or `TIMEOUT`.
    pub status: String,
    /// The miner says its upload finished.
    pub upload_complete: bool,
    /// Listings it says it scraped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listings: Option<u64>,
    /// When the coordinator received the report, unix milliseconds.
    pub received_ms: i64,
    /// Zipcodes it says it completed: (zipcode, listings, completion time as sent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zipcodes: Vec<(String, u32, String)>,
}

/// One validator's report, as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportView {
    /// Validator hotkey.
    pub validator: String,
    /// The pinned policy.
    pub policy: PolicyRef,
    /// Outcome hash.
    pub outcome_hash: String,
    /// Input hash.
    pub input_hash: String,
    /// When it was made.
    pub created_at: String,
    /// Submissions given to the policy.
    pub submissions: usize,
    /// Spot checks answered.
    pub spot_checks: usize,
    /// Miners by rank: rank, weight, flags.
    pub miners: Vec<MinerView>,
    /// Per zipcode, every candidate's gates, rank, share and flags.
    pub zipcodes: Vec<ZipcodeOutcomeView>,
    /// Refused submissions with reasons.
    pub rejected: Vec<Rejection>,
    /// Rejections left out of the report, per miner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_omitted: Vec<RejectionsOmitted>,
}

/// One miner's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinerView {
    /// Miner hotkey.
    pub hotkey: String,
    /// Rank (1 = highest).
    pub rank: u32,
    /// Weight, parts per billion.
    pub ppb: u64,
    /// Policy flags.
    pub flags: Vec<String>,
}

/// One zipcode of the canonical outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZipcodeOutcomeView {
    /// The zipcode.
    pub zipcode: String,
    /// Its candidates (every submission given to the policy), in the outcome's order.
    pub candidates: Vec<CandidateView>,
}

/// One candidate of a zipcode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateView {
    /// Miner hotkey.
    pub hotkey: String,
    /// Gate results in order G0, G1, ... (`passed`, `failed`, `skipped`).
    pub gates: Vec<String>,
    /// Rank in the zipcode, if ranked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u64>,
    /// Share of the zipcode's reward, as the decimal string of the outcome's integer.
    pub share: String,
    /// Flags raised in this zipcode.
    pub flags: Vec<String>,
}

/// Agreement between the validators whose reports could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementView {
    /// Reports counted.
    pub validators: usize,
    /// The most common outcome hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub majority_hash: Option<String>,
    /// Reports with the majority hash.
    pub agreeing: usize,
    /// `agreeing * 100 / validators`, floored.
    pub agree_pct: u64,
    /// `strong`, `consensus` or `none`.
    pub level: ConsensusLevel,
    /// True when validator permits from the chain were checked (else: every report whose
    /// signature verifies is counted).
    pub permits_checked: bool,
    /// Every report found, counted or not.
    pub reports: Vec<PeerReportView>,
}

/// One validator's report in the agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerReportView {
    /// The folder's validator hotkey (or the object key for a folder that is none).
    pub validator: String,
    /// Outcome hash, when the report could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_hash: Option<String>,
    /// Input hash, when the report could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_hash: Option<String>,
    /// Policy version, when the report could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
    /// Counted in the agreement.
    pub counted: bool,
    /// Has the majority hash.
    pub majority: bool,
    /// Why it was not counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// Weights a validator set for the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightsView {
    /// Uids.
    pub uids: Vec<u16>,
    /// u16 weights.
    pub weights: Vec<u16>,
    /// Transaction hash.
    pub tx: String,
}

impl ReportView {
    /// The view of a report: its scores, and its canonical outcome's zipcodes read defensively
    /// (a field of an unexpected type reads as empty).
    pub fn from_report(r: &ValidationReport) -> Self {
        let zipcodes = r.outcome["zipcodes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|z| ZipcodeOutcomeView {
                zipcode: z["zipcode"].as_str().unwrap_or_default().to_owned(),
                candidates: z["candidates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| CandidateView {
                        hotkey: c["hotkey"].as_str().unwrap_or_default().to_owned(),
                        gates: strings(&c["gates"]),
                        rank: c["rank"].as_u64(),
                        share: match &c["share"] {
                            serde_json::Value::Number(n) => n.to_string(),
                            _ => "0".to_owned(),
                        },
                        flags: strings(&c["flags"]),
                    })
                    .collect(),
            })
            .collect();
        Self {
            validator: r.validator.clone(),
            policy: r.policy.clone(),
            outcome_hash: r.outcome_hash.clone(),
            input_hash: r.input_hash.clone(),
            created_at: r.created_at.clone(),
            submissions: r.submissions,
            spot_checks: r.spot_checks,
            miners: r
                .scores
                .iter()
                .map(|s| MinerView {
                    hotkey: s.hotkey.clone(),
                    rank: s.rank,
                    ppb: s.ppb,
                    flags: s.flags.clone(),
                })
                .collect(),
            zipcodes,
            rejected: r.rejected.clone(),
            rejected_omitted: r.rejected_omitted.clone(),
        }
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect()
}

impl AgreementView {
    /// The view of `agreement`, with one row per report found: `found` holds every report key's
    /// validator and, when readable, its hashes and policy version.
    pub fn new(agreement: &Agreement, permits_checked: bool, found: Vec<PeerReportView>) -> Self {
        let mut reports = found;
        for p in &mut reports {
            p.majority =
                p.counted && p.outcome_hash.is_some() && p.outcome_hash == agreement.majority_hash;
        }
        Self {
            validators: agreement.validators,
            majority_hash: agreement.majority_hash.clone(),
            agreeing: agreement.agreeing,
            agree_pct: agreement.agree_pct,
            level: agreement.level,
            permits_checked,
            reports,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resi_validator::report::{MinerScore, REPORT_FORMAT};

    fn report(outcome: serde_json::Value) -> ValidationReport {
        ValidationReport {
            format: REPORT_FORMAT.into(),
            validator: "v".into(),
            epoch_id: "2025-10-01T16-00-00".into(),
            policy: PolicyRef {
                name: "p".into(),
                version: "1".into(),
                wasm_sha256: "00".into(),
                params_sha256: "11".into(),
            },
            outcome_hash: "aa".into(),
            input_hash: "bb".into(),
            scores: vec![MinerScore {
                hotkey: "m".into(),
                ppb: 1_000_000_000,
                rank: 1,
                flags: vec![],
            }],
            outcome,
            submissions: 1,
            rejected: vec![],
            rejected_omitted: vec![],
            spot_checks: 0,
            created_at: "2025-10-01T20:00:00.000Z".into(),
            signature: None,
        }
    }

    #[test]
    fn reads_the_outcome_and_tolerates_odd_shapes() {
        let v = ReportView::from_report(&report(serde_json::json!({"zipcodes": [
            {"zipcode": "19103", "candidates": [
                {"hotkey": "m", "gates": ["passed", "failed", "skipped"], "rank": null,
                 "share": 550000000000000000u64, "flags": ["fabrication"]},
                {"hotkey": 7, "gates": "x", "share": "y"}
            ]},
            {"zipcode": null}
        ]})));
        assert_eq!(v.zipcodes.len(), 2);
        let c = &v.zipcodes[0].candidates;
        assert_eq!(c[0].gates, ["passed", "failed", "skipped"]);
        assert_eq!(c[0].rank, None);
        assert_eq!(c[0].share, "550000000000000000");
        assert_eq!(c[0].flags, ["fabrication"]);
        assert_eq!(c[1].hotkey, "");
        assert!(c[1].gates.is_empty());
        assert_eq!(c[1].share, "0");
        assert!(v.zipcodes[1].candidates.is_empty());
        assert_eq!(v.miners[0].ppb, 1_000_000_000);
        // Not an object at all: no zipcodes, no panic.
        assert!(
            ReportView::from_report(&report(serde_json::json!(3)))
                .zipcodes
                .is_empty()
        );
    }
}
