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
//!
//! Reports are evidence, not votes anyone can cast: every report is signed by its validator's
//! hotkey ([`ValidationReport::sign`]), and another validator's report counts only when its
//! folder `validators/{hotkey}/` is a canonical SS58 address of a registered validator with a
//! permit ([`Peers`], from the chain), the report names that same hotkey and the signature
//! verifies. Everything else is listed in [`Agreement::ignored`] with the reason. One folder
//! per key, so one vote per hotkey.
//!
//! Reports are bounded whatever miners upload: [`bound_rejections`] keeps at most
//! [`MAX_REJECTIONS_PER_MINER`] entries per miner (one per distinct reason first) and states
//! how many were left out, so a report always fits under [`MAX_REPORT_BYTES`].

use crate::ingest::Rejection;
use resi_chain::Metagraph;
use resi_core::error::ErrorChain;
use resi_core::keys::{Hotkey, PublicKey, Signature};
use resi_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Report format tag.
pub const REPORT_FORMAT: &str = "resi/validation-report/v1";
/// Share (percent) of agreeing validators for strong consensus.
pub const STRONG_PCT: u64 = 90;
/// Share (percent) of agreeing validators for consensus.
pub const CONSENSUS_PCT: u64 = 70;
/// Largest report read from another validator.
pub const MAX_REPORT_BYTES: u64 = 64 << 20;
/// Most rejection entries one miner (or the unparseable keys, under hotkey `""`) gets in a
/// report; the rest are counted in [`RejectionsOmitted`].
pub const MAX_REJECTIONS_PER_MINER: usize = 32;
/// Domain separation of the report signature.
const REPORT_SIGNING_CONTEXT: &[u8] = b"resi/validation-report/v1 sha256:";

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
    /// Refused objects and submissions, with reasons (bounded per miner, see
    /// [`bound_rejections`]).
    pub rejected: Vec<Rejection>,
    /// Rejections left out of `rejected` by the bound, counted per miner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_omitted: Vec<RejectionsOmitted>,
    /// Spot checks answered (lookups + cache hits).
    pub spot_checks: usize,
    /// When the report was made (RFC 3339).
    pub created_at: String,
    /// The validator hotkey's sr25519 signature (128 lowercase hex) over
    /// [`ValidationReport::signing_message`]; `None` only before [`ValidationReport::sign`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// How many of one miner's rejections a report leaves out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionsOmitted {
    /// Miner hotkey (`""` for object keys that did not parse).
    pub hotkey: String,
    /// Entries left out.
    pub omitted: usize,
}

/// Why another validator's report was not counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportSignatureError {
    /// The report carries no signature.
    #[error("unsigned report")]
    Unsigned,
    /// The `validator` field is not a canonical SS58 address.
    #[error("the validator field is not a valid hotkey")]
    BadValidator(#[from] resi_core::keys::Ss58Error),
    /// The signature is not 128 lowercase hex characters (its message says "signature ...").
    #[error(transparent)]
    MalformedSignature(#[from] resi_core::keys::HexKeyError),
    /// Well-formed but not this validator's signature of this report.
    #[error("the signature does not match the report and its validator hotkey")]
    Mismatch,
}

impl ValidationReport {
    /// The message the validator signs: a context tag and the sha256 of the report's compact
    /// JSON without `signature` (object keys sorted, as `serde_json::Value` writes them).
    pub fn signing_message(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.signature = None;
        let body = serde_json::to_value(&unsigned)
            .and_then(|v| serde_json::to_vec(&v))
            .unwrap_or_default();
        let mut msg = REPORT_SIGNING_CONTEXT.to_vec();
        msg.extend_from_slice(hex::encode(Sha256::digest(&body)).as_bytes());
        msg
    }

    /// Signs the report with the validator's hotkey (sets `validator` to its address).
    pub fn sign(&mut self, key: &Hotkey) {
        self.validator = key.ss58();
        self.signature = Some(key.sign(&self.signing_message()).to_hex());
    }

    /// Checks the signature against the `validator` hotkey; returns that key.
    pub fn verify_signature(&self) -> Result<PublicKey, ReportSignatureError> {
        let sig = self
            .signature
            .as_deref()
            .ok_or(ReportSignatureError::Unsigned)?;
        let key = PublicKey::from_ss58(&self.validator)?;
        let sig = Signature::from_wire_hex(sig)?;
        if key.verify(&self.signing_message(), &sig) {
            Ok(key)
        } else {
            Err(ReportSignatureError::Mismatch)
        }
    }
}

/// Keeps at most [`MAX_REJECTIONS_PER_MINER`] rejections per miner: first one of each distinct
/// reason (up to the bound, in input order), then the rest in order; returns what it left out per
/// miner. `rejected` must be sorted by hotkey (as [`crate::ingest::IngestSummary`] is).
pub fn bound_rejections(rejected: Vec<Rejection>) -> (Vec<Rejection>, Vec<RejectionsOmitted>) {
    let mut by_miner: BTreeMap<String, Vec<Rejection>> = BTreeMap::new();
    for r in rejected {
        by_miner.entry(r.hotkey.clone()).or_default().push(r);
    }
    let mut kept = Vec::new();
    let mut omitted = Vec::new();
    for (hotkey, list) in by_miner {
        if list.len() <= MAX_REJECTIONS_PER_MINER {
            kept.extend(list);
            continue;
        }
        let total = list.len();
        let mut seen = BTreeSet::new();
        let mut take = vec![false; total];
        let mut n = 0;
        for (i, r) in list.iter().enumerate() {
            if n < MAX_REJECTIONS_PER_MINER && seen.insert(reason_kind(&r.reason)) {
                take[i] = true;
                n += 1;
            }
        }
        for t in take.iter_mut() {
            if n >= MAX_REJECTIONS_PER_MINER {
                break;
            }
            if !*t {
                *t = true;
                n += 1;
            }
        }
        kept.extend(
            list.into_iter()
                .zip(take)
                .filter_map(|(r, t)| t.then_some(r)),
        );
        omitted.push(RejectionsOmitted {
            hotkey,
            omitted: total - n,
        });
    }
    (kept, omitted)
}

/// The kind of a rejection reason: its text up to the first `:` (the detail differs per object).
fn reason_kind(reason: &str) -> &str {
    reason.split(':').next().unwrap_or(reason)
}

/// The validators whose reports count: registered hotkeys with a validator permit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peers {
    permitted: BTreeSet<PublicKey>,
}

impl Peers {
    /// The permitted validators of a metagraph.
    pub fn from_metagraph(m: &Metagraph) -> Self {
        Self {
            permitted: m
                .neurons
                .iter()
                .filter(|n| n.validator_permit)
                .map(|n| n.hotkey)
                .collect(),
        }
    }

    /// An explicit set (tests, tools).
    pub fn from_keys(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        Self {
            permitted: keys.into_iter().collect(),
        }
    }

    /// True when `key` may vote.
    pub fn permits(&self, key: &PublicKey) -> bool {
        self.permitted.contains(key)
    }
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

/// Reads every validator's report for `own.epoch_id` and computes agreement with `own`,
/// counting only signed reports of `peers` (see the module doc).
pub async fn agreement(
    store: &Store,
    own: &ValidationReport,
    peers: &Peers,
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
        match PublicKey::from_ss58(&who) {
            Ok(k) if peers.permits(&k) => {}
            Ok(_) => {
                ignored.push((m.key, "not a registered validator with a permit".into()));
                continue;
            }
            Err(e) => {
                ignored.push((m.key, format!("folder is not a validator hotkey: {e}")));
                continue;
            }
        }
        let r = match store.get(&m.key, MAX_REPORT_BYTES).await {
            Ok(b) => serde_json::from_slice::<ValidationReport>(&b).map_err(|e| e.to_string()),
            Err(e) => Err(ErrorChain(&e).to_string()),
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
            Ok(r) => match r.verify_signature() {
                Ok(_) => {
                    reports.insert(who, (r.outcome_hash, r.input_hash));
                }
                Err(e) => ignored.push((m.key, format!("not counted: {}", ErrorChain(&e)))),
            },
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
