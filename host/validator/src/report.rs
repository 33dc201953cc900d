//! What a validator publishes for an epoch under `validators/{hotkey}/epoch={id}/`:
//! `validation_report.json` ([`ValidationReport`]), `validated_data.parquet` (the winners'
//! listings) and `epoch_metadata.json`; and agreement with the other validators' reports.
//!
//! Agreement thresholds, over the validators whose report for the epoch could be read
//! (this validator included) and that ran the same pinned policy:
//! - `>= 90%` share the majority outcome hash: [`ConsensusLevel::Strong`];
//! - `>= 70%`: [`ConsensusLevel::Consensus`];
//! - otherwise [`ConsensusLevel::None`]: the validator abstains from setting weights.
//!
//! A validator whose own hash is not the majority's is an outlier of its own count: it also
//! abstains (its inputs differ; `input_hash` says whether the inputs or the execution did).

use crate::ingest::Rejection;
use resi_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Report format tag.
pub const REPORT_FORMAT: &str = "resi/validation-report/v1";
/// Share (percent) of agreeing validators for strong consensus.
pub const STRONG_PCT: u64 = 90;
/// Share (percent) of agreeing validators for consensus.
pub const CONSENSUS_PCT: u64 = 70;
/// Largest report read from another validator.
pub const MAX_REPORT_BYTES: u64 = 64 << 20;

/// The policy a report was computed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    /// Policy name.
    pub name: String,
    /// Policy version.
    pub version: String,
    /// Component sha256, hex.
    pub wasm_sha256: String,
    /// Params sha256, hex.
    pub params_sha256: String,
}

/// One miner's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinerScore {
    /// Miner hotkey.
    pub hotkey: String,
    /// Weight in parts per billion.
    pub ppb: u64,
    /// Rank by ppb (1 = highest; ties share the rank).
    pub rank: u32,
    /// Policy flags (`fabrication`, ...).
    pub flags: Vec<String>,
}

/// `validation_report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// [`REPORT_FORMAT`].
    pub format: String,
    /// Validator hotkey (SS58).
    pub validator: String,
    /// Epoch id.
    pub epoch_id: String,
    /// The pinned policy.
    pub policy: PolicyRef,
    /// Consensus hash, hex.
    pub outcome_hash: String,
    /// Input hash, hex.
    pub input_hash: String,
    /// Miners sorted by rank, then hotkey.
    pub scores: Vec<MinerScore>,
    /// The canonical outcome (per zipcode ranks, gate results, shares, flags), parsed.
    pub outcome: serde_json::Value,
    /// Submissions given to the policy.
    pub submissions: usize,
    /// Refused objects and submissions, with reasons.
    pub rejected: Vec<Rejection>,
    /// Spot checks answered (lookups + cache hits).
    pub spot_checks: usize,
    /// When the report was made (RFC 3339).
    pub created_at: String,
}

/// Ranks miners by ppb (descending; equal ppb share a rank), ties in order by hotkey.
pub fn rank_scores(miners: &[(String, u64, Vec<String>)]) -> Vec<MinerScore> {
    let mut v: Vec<&(String, u64, Vec<String>)> = miners.iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out = Vec::with_capacity(v.len());
    let mut rank = 0u32;
    let mut last = None;
    for (i, (hk, ppb, flags)) in v.into_iter().enumerate() {
        if last != Some(*ppb) {
            rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
            last = Some(*ppb);
        }
        out.push(MinerScore {
            hotkey: hk.clone(),
            ppb: *ppb,
            rank,
            flags: flags.clone(),
        });
    }
    out
}

/// The prefix of a validator's objects for an epoch.
pub fn validator_prefix(hotkey: &str, epoch_id: &str) -> String {
    format!("validators/{hotkey}/epoch={epoch_id}/")
}

/// Winners (rank 1..3) per zipcode from a canonical outcome: `(zipcode, hotkey, rank)`.
pub fn winners(outcome: &serde_json::Value) -> Vec<(String, String, u32)> {
    let mut out = Vec::new();
    for z in outcome["zipcodes"].as_array().into_iter().flatten() {
        let zip = z["zipcode"].as_str().unwrap_or_default();
        for c in z["candidates"].as_array().into_iter().flatten() {
            if let (Some(hk), Some(rank)) = (c["hotkey"].as_str(), c["rank"].as_u64()) {
                out.push((zip.to_string(), hk.to_string(), rank as u32));
            }
        }
    }
    out
}

/// How strongly validators agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsensusLevel {
    /// `>= 90%` agree.
    Strong,
    /// `>= 70%` agree.
    Consensus,
    /// Less: abstain.
    None,
}

/// Agreement between validators on one epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// Epoch id.
    pub epoch_id: String,
    /// Reports compared (same pinned policy), this validator's included.
    pub validators: usize,
    /// The most common outcome hash (ties: smallest hash).
    pub majority_hash: Option<String>,
    /// Validators with the majority hash.
    pub agreeing: usize,
    /// `agreeing * 100 / validators`, floored.
    pub agree_pct: u64,
    /// The level.
    pub level: ConsensusLevel,
    /// Validators with another hash: (hotkey, outcome hash, input hash).
    pub outliers: Vec<(String, String, String)>,
    /// Reports ignored (other policy pin, unreadable): (key, why).
    pub ignored: Vec<(String, String)>,
    /// True when this validator's hash is the majority's and the level is not `None`.
    pub set_weights: bool,
}

/// Reads every validator's report for `epoch_id` and computes agreement with `own`.
pub async fn agreement(
    store: &Store,
    own: &ValidationReport,
) -> Result<Agreement, resi_store::StoreError> {
    let suffix = format!("/epoch={}/validation_report.json", own.epoch_id);
    let metas = store.list("validators/").await?;
    let mut reports: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut ignored = Vec::new();
    reports.insert(
        own.validator.clone(),
        (own.outcome_hash.clone(), own.input_hash.clone()),
    );
    for m in metas.into_iter().filter(|m| m.key.ends_with(&suffix)) {
        let who = m
            .key
            .strip_prefix("validators/")
            .and_then(|s| s.split('/').next())
            .unwrap_or_default()
            .to_string();
        if who == own.validator {
            continue;
        }
        let r = match store.get(&m.key, MAX_REPORT_BYTES).await {
            Ok(b) => serde_json::from_slice::<ValidationReport>(&b).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match r {
            Err(e) => ignored.push((m.key, format!("unreadable: {e}"))),
            Ok(r) if r.policy != own.policy => ignored.push((
                m.key,
                format!(
                    "other policy pin (wasm {}, params {})",
                    r.policy.wasm_sha256, r.policy.params_sha256
                ),
            )),
            Ok(r) if r.epoch_id != own.epoch_id || r.validator != who => {
                ignored.push((m.key, "report names another epoch or validator".into()))
            }
            Ok(r) => {
                reports.insert(who, (r.outcome_hash, r.input_hash));
            }
        }
    }
    Ok(compute_agreement(
        &own.epoch_id,
        &own.validator,
        &reports,
        ignored,
    ))
}

/// Agreement over `reports` (validator -> (outcome hash, input hash)).
pub fn compute_agreement(
    epoch_id: &str,
    own: &str,
    reports: &BTreeMap<String, (String, String)>,
    ignored: Vec<(String, String)>,
) -> Agreement {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (h, _) in reports.values() {
        *counts.entry(h.as_str()).or_default() += 1;
    }
    let majority = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(h, n)| (h.to_string(), *n));
    let validators = reports.len();
    let (majority_hash, agreeing) = match majority {
        Some((h, n)) => (Some(h), n),
        None => (None, 0),
    };
    let agree_pct = if validators == 0 {
        0
    } else {
        (agreeing as u64 * 100) / validators as u64
    };
    let level = if agree_pct >= STRONG_PCT {
        ConsensusLevel::Strong
    } else if agree_pct >= CONSENSUS_PCT {
        ConsensusLevel::Consensus
    } else {
        ConsensusLevel::None
    };
    let outliers = reports
        .iter()
        .filter(|(_, (h, _))| Some(h) != majority_hash.as_ref())
        .map(|(v, (h, i))| (v.clone(), h.clone(), i.clone()))
        .collect();
    let own_hash = reports.get(own).map(|(h, _)| h);
    Agreement {
        epoch_id: epoch_id.to_string(),
        validators,
        set_weights: level != ConsensusLevel::None && own_hash == majority_hash.as_ref(),
        majority_hash,
        agreeing,
        agree_pct,
        level,
        outliers,
        ignored,
    }
}
