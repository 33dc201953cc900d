//! What both sources read from the object store: the miners' deliveries of an epoch
//! (`data/hotkey={hk}/epoch={id}/zipcode={zip}/...`, dated by the store's Last-Modified) and
//! the validators' published reports (`validators/{hotkey}/epoch={id}/validation_report.json`)
//! with the agreement between them, counted by the validator's own rules
//! ([`resi_validator::report::compute_agreement`]: signed, folder = hotkey, same policy pin,
//! and a validator permit when [`Peers`] are given).
//!
//! Reads are bounded: at most [`MAX_REPORTS`] reports of [`MAX_REPORT_BYTES`] each (only their
//! hashes are kept, plus the one report shown), at most [`MAX_MANIFEST_READS`] manifests.

use crate::view::{AgreementView, DeliveryView, PeerReportView};
use futures::StreamExt as _;
use resi_core::error::ErrorChain;
use resi_core::keys::PublicKey;
use resi_store::{Store, StoreError};
use resi_submission::{ObjectKey, SubmissionFile};
use resi_validator::report::{MAX_REPORT_BYTES, compute_agreement};
use resi_validator::{Peers, ValidationReport};
use std::collections::BTreeMap;

/// Most validators' reports read for one epoch.
pub const MAX_REPORTS: usize = 64;
/// Most manifests read for listing counts in one epoch (further deliveries show no count).
pub const MAX_MANIFEST_READS: usize = 4096;
/// Manifests read at once.
const MANIFEST_CONCURRENCY: usize = 8;

/// Every delivery of `hotkeys` in epoch `epoch_id`, by (hotkey, zipcode): the objects' count,
/// bytes and commit time, and the manifest's `listing_count`; `late` when `deadline_ms` is known.
pub async fn deliveries(
    store: &Store,
    epoch_id: &str,
    hotkeys: &[String],
    deadline_ms: Option<i64>,
) -> Result<Vec<DeliveryView>, StoreError> {
    let mut by: BTreeMap<(String, String), (DeliveryView, Option<String>)> = BTreeMap::new();
    for hk in hotkeys {
        let prefix = format!("data/hotkey={hk}/epoch={epoch_id}/");
        for m in store.list(&prefix).await? {
            let Ok(k) = ObjectKey::parse(&m.key) else {
                continue;
            };
            if k.epoch_id != epoch_id || &k.hotkey != hk {
                continue;
            }
            let at = m.last_modified.timestamp_millis();
            let (d, manifest_key) = by
                .entry((k.hotkey.clone(), k.zipcode.clone()))
                .or_insert_with(|| {
                    (
                        DeliveryView {
                            hotkey: k.hotkey.clone(),
                            zipcode: k.zipcode.clone(),
                            at_ms: at,
                            files: 0,
                            bytes: 0,
                            manifest: false,
                            listings: None,
                            late: None,
                        },
                        None,
                    )
                });
            d.files += 1;
            d.bytes = d.bytes.saturating_add(m.size);
            if k.file == SubmissionFile::Manifest {
                d.manifest = true;
                d.at_ms = at;
                *manifest_key = Some(m.key.clone());
            } else if !d.manifest {
                d.at_ms = d.at_ms.max(at);
            }
        }
    }
    let reads: Vec<(usize, String)> = by
        .values()
        .enumerate()
        .filter_map(|(i, (_, k))| k.clone().map(|k| (i, k)))
        .take(MAX_MANIFEST_READS)
        .collect();
    let counts: BTreeMap<usize, u64> = futures::stream::iter(reads)
        .map(|(i, key)| async move {
            let bytes = store
                .get(&key, resi_submission::manifest::MAX_MANIFEST_BYTES)
                .await
                .ok()?;
            let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            v["listing_count"].as_u64().map(|n| (i, n))
        })
        .buffer_unordered(MANIFEST_CONCURRENCY)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    Ok(by
        .into_values()
        .enumerate()
        .map(|(i, (mut d, _))| {
            d.listings = counts.get(&i).copied();
            d.late = deadline_ms.map(|dl| d.at_ms > dl);
            d
        })
        .collect())
}

/// The validators' reports of an epoch and their agreement.
#[derive(Debug, Clone)]
pub struct Reports {
    /// The report to show: `own`'s when given and counted, else a counted report with the
    /// majority hash.
    pub shown: Option<ValidationReport>,
    /// The agreement, when any report was found.
    pub agreement: Option<AgreementView>,
}

/// Reads every validator's report for `epoch_id` and computes their agreement as validators
/// do. `own` is the serving validator's hotkey (its report decides the policy pin compared;
/// otherwise the pin most counted reports share); `peers`, when given, must permit a folder's
/// hotkey for its report to count.
pub async fn reports(
    store: &Store,
    epoch_id: &str,
    own: Option<&str>,
    peers: Option<&Peers>,
) -> Result<Reports, StoreError> {
    let suffix = format!("/epoch={epoch_id}/validation_report.json");
    let keys: Vec<String> = store
        .list("validators/")
        .await?
        .into_iter()
        .filter(|m| m.key.ends_with(&suffix))
        .map(|m| m.key)
        .take(MAX_REPORTS)
        .collect();
    // Signed, well-placed reports, before the policy pin is compared.
    let mut verified: Vec<(String, ValidationReport)> = Vec::new();
    let mut rows: Vec<PeerReportView> = Vec::new();
    let row = |validator: &str, why: String| PeerReportView {
        validator: validator.to_owned(),
        outcome_hash: None,
        input_hash: None,
        policy_version: None,
        counted: false,
        majority: false,
        why: Some(why),
    };
    for key in keys {
        let who = key
            .strip_prefix("validators/")
            .and_then(|s| s.split('/').next())
            .unwrap_or_default()
            .to_owned();
        match PublicKey::from_ss58(&who) {
            Ok(k) if peers.is_none_or(|p| p.permits(&k)) => {}
            Ok(_) => {
                rows.push(row(&who, "not a registered validator with a permit".into()));
                continue;
            }
            Err(e) => {
                let name = if who.is_empty() { &key } else { &who };
                rows.push(row(name, format!("folder is not a validator hotkey: {e}")));
                continue;
            }
        }
        let r = match store.get(&key, MAX_REPORT_BYTES).await {
            Ok(b) => serde_json::from_slice::<ValidationReport>(&b).map_err(|e| e.to_string()),
            Err(e) => Err(ErrorChain(&e).to_string()),
        };
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                rows.push(row(&who, format!("unreadable: {e}")));
                continue;
            }
        };
        let mut line = PeerReportView {
            outcome_hash: Some(r.outcome_hash.clone()),
            input_hash: Some(r.input_hash.clone()),
            policy_version: Some(format!("{} {}", r.policy.name, r.policy.version)),
            ..row(&who, String::new())
        };
        if r.epoch_id != epoch_id || r.validator != who {
            line.why = Some("report names another epoch or validator".into());
            rows.push(line);
            continue;
        }
        if let Err(e) = r.verify_signature() {
            line.why = Some(format!("not counted: {}", ErrorChain(&e)));
            rows.push(line);
            continue;
        }
        verified.push((who, r));
    }
    if verified.is_empty() && rows.is_empty() {
        return Ok(Reports {
            shown: None,
            agreement: None,
        });
    }
    // The pin compared: the serving validator's, else the one most reports share.
    let pin = own
        .and_then(|o| verified.iter().find(|(w, _)| w == o))
        .map(|(_, r)| r.policy.clone())
        .or_else(|| {
            let mut n: BTreeMap<String, (usize, &ValidationReport)> = BTreeMap::new();
            for (_, r) in &verified {
                let k = format!("{}:{}", r.policy.wasm_sha256, r.policy.params_sha256);
                n.entry(k).or_insert((0, r)).0 += 1;
            }
            n.into_values()
                .max_by_key(|(c, _)| *c)
                .map(|(_, r)| r.policy.clone())
        });
    let mut counted: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut ignored = Vec::new();
    let mut kept: Vec<(String, ValidationReport)> = Vec::new();
    for (who, r) in verified {
        let mut line = PeerReportView {
            validator: who.clone(),
            outcome_hash: Some(r.outcome_hash.clone()),
            input_hash: Some(r.input_hash.clone()),
            policy_version: Some(format!("{} {}", r.policy.name, r.policy.version)),
            counted: true,
            majority: false,
            why: None,
        };
        if pin.as_ref() != Some(&r.policy) {
            let why = format!(
                "other policy pin (wasm {}, params {})",
                r.policy.wasm_sha256, r.policy.params_sha256
            );
            ignored.push((who.clone(), why.clone()));
            line.counted = false;
            line.why = Some(why);
            rows.push(line);
            continue;
        }
        counted.insert(who.clone(), (r.outcome_hash.clone(), r.input_hash.clone()));
        rows.push(line);
        kept.push((who, r));
    }
    let agreement = compute_agreement(epoch_id, own.unwrap_or_default(), &counted, ignored);
    let shown = own
        .and_then(|o| kept.iter().position(|(w, _)| w == o))
        .or_else(|| {
            kept.iter()
                .position(|(_, r)| Some(&r.outcome_hash) == agreement.majority_hash.as_ref())
        })
        .map(|i| kept.swap_remove(i).1);
    rows.sort_by(|a, b| a.validator.cmp(&b.validator));
    Ok(Reports {
        shown,
        agreement: Some(AgreementView::new(&agreement, peers.is_some(), rows)),
    })
}
