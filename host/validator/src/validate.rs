//! One epoch end to end: ingest, run the pinned policy with spot checks, publish the report,
//! the winners' listings and the epoch metadata; then (separately) agreement and weights.

use crate::db::Db;
use crate::error::ValidatorError;
use crate::facts::EpochFacts;
use crate::ingest::{IngestOptions, ingest_epoch, listing_from_wit};
use crate::observer::{SpotChecker, Verifier};
use crate::pin::PolicyPin;
use crate::report::{
    Agreement, PolicyRef, REPORT_FORMAT, ValidationReport, rank_scores, validator_prefix, winners,
};
use crate::weights::{EmitWeights, to_emit};
use resi_chain::Chain;
use resi_core::keys::Hotkey;
use resi_policy::{RunReport, run_epoch};
use resi_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// How a validator runs.
#[derive(Clone)]
pub struct ValidatorConfig {
    /// The validator's hotkey (names its output folder; signs weights).
    pub hotkey: Hotkey,
    /// The pinned policy.
    pub pin: PolicyPin,
    /// Ingestion caps and hotkeys.
    pub ingest: IngestOptions,
    /// Concurrent verifier lookups.
    pub concurrency: usize,
    /// Timeout of one verifier lookup.
    pub verify_timeout: Duration,
    /// Upload the report, data and metadata to the store.
    pub upload: bool,
}

/// What validating an epoch produced.
#[derive(Debug, Clone)]
pub struct EpochResult {
    /// The report (also uploaded).
    pub report: ValidationReport,
    /// The policy run (fuel, calls, hashes).
    pub run: RunReport,
    /// `validated_data.parquet` bytes.
    pub validated_data: Vec<u8>,
}

fn hex32(d: &[u8; 32]) -> String {
    hex::encode(d)
}

/// Validates one epoch: ingestion, the policy run with spot checks through `verifier`, the
/// report; uploads `validation_report.json`, `validated_data.parquet` and
/// `epoch_metadata.json` under `validators/{hotkey}/epoch={id}/` when `cfg.upload`.
pub async fn validate_epoch(
    cfg: &ValidatorConfig,
    store: &Store,
    db: Arc<Db>,
    verifier: Arc<dyn Verifier>,
    facts: &EpochFacts,
) -> Result<EpochResult, ValidatorError> {
    let ingested = ingest_epoch(store, facts, &cfg.ingest).await?;
    db.record_rejections(&facts.epoch_id, &ingested.rejected)?;
    tracing::info!(
        epoch = %facts.epoch_id,
        accepted = ingested.accepted,
        rejected = ingested.rejected.len(),
        "ingested submissions"
    );
    let backend = cfg.pin.backend.clone();
    let params = cfg.pin.params.clone();
    let handle = tokio::runtime::Handle::current();
    let run_input = ingested.run;
    let (run, run_input, spot_checks) = {
        let db = db.clone();
        let (concurrency, timeout) = (cfg.concurrency, cfg.verify_timeout);
        tokio::task::spawn_blocking(move || {
            let mut checker = SpotChecker::new(verifier, db, handle, concurrency, timeout);
            let r = run_epoch(&backend, &params, &run_input, &mut checker);
            (r, run_input, checker.lookups + checker.cache_hits)
        })
        .await
        .map_err(|e| ValidatorError::Other(format!("policy thread: {e}")))?
    };
    let run = run?;
    let outcome: serde_json::Value = serde_json::from_str(run.canonical_outcome())
        .map_err(|e| ValidatorError::Other(format!("canonical outcome: {e}")))?;
    let miners: Vec<(String, u64, Vec<String>)> = run
        .outcome
        .miners
        .iter()
        .map(|m| (m.hotkey.clone(), m.ppb, m.flags.clone()))
        .collect();
    let report = ValidationReport {
        format: REPORT_FORMAT.into(),
        validator: cfg.hotkey.ss58(),
        epoch_id: facts.epoch_id.clone(),
        policy: PolicyRef {
            name: cfg.pin.name.clone(),
            version: cfg.pin.version.clone(),
            wasm_sha256: hex32(&run.policy_sha256),
            params_sha256: hex32(&run.params_sha256),
        },
        outcome_hash: hex32(&run.outcome_hash),
        input_hash: hex32(&run.input_hash),
        scores: rank_scores(&miners),
        outcome,
        submissions: ingested.accepted,
        rejected: ingested.rejected,
        spot_checks,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    // The winners' listings, in (zipcode, rank) order.
    let mut win = winners(&report.outcome);
    win.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
    let mut listings = Vec::new();
    for (zip, hk, _) in &win {
        if let Some(s) = run_input
            .zipcodes
            .iter()
            .filter(|z| &z.assignment.zipcode == zip)
            .flat_map(|z| z.submissions.iter())
            .find(|s| &s.hotkey == hk)
        {
            listings.extend(s.listings.iter().map(listing_from_wit));
        }
    }
    drop(run_input);
    let validated_data = resi_submission::write_listings(&listings)
        .map_err(|e| ValidatorError::Other(format!("validated_data.parquet: {e}")))?;
    db.record_outcome(
        &facts.epoch_id,
        &report.outcome_hash,
        &report.input_hash,
        &report.policy.wasm_sha256,
        &report.policy.params_sha256,
        run.canonical_outcome(),
        chrono::Utc::now().timestamp(),
    )?;
    if cfg.upload {
        let prefix = validator_prefix(&report.validator, &facts.epoch_id);
        let json = serde_json::to_vec_pretty(&report)
            .map_err(|e| ValidatorError::Other(format!("report: {e}")))?;
        let metadata = serde_json::json!({
            "epoch_id": facts.epoch_id,
            "validator": report.validator,
            "nonce": facts.nonce,
            "deadline_ms": facts.deadline_ms,
            "validation_seed": hex::encode(facts.validation_seed),
            "zipcodes": facts.assignments.len(),
            "submissions": report.submissions,
            "rejected": report.rejected.len(),
            "winners_listings": listings.len(),
            "outcome_hash": report.outcome_hash,
            "input_hash": report.input_hash,
            "policy": report.policy,
            "total_fuel": run.total_fuel(),
            "policy_time_ms": run.total_time().as_millis() as u64,
            "created_at": report.created_at,
        });
        store
            .put(
                &format!("{prefix}validated_data.parquet"),
                validated_data.clone(),
            )
            .await?;
        store
            .put(
                &format!("{prefix}epoch_metadata.json"),
                serde_json::to_vec_pretty(&metadata).unwrap_or_default(),
            )
            .await?;
        // The report last: its presence means the epoch's outputs are complete.
        store
            .put(&format!("{prefix}validation_report.json"), json)
            .await?;
    }
    Ok(EpochResult {
        report,
        run,
        validated_data,
    })
}

/// Sets weights from `report` when `agreement` allows it; returns what was set (`None` when
/// abstaining or when nothing has weight).
pub async fn set_weights<C: Chain>(
    chain: &C,
    netuid: u16,
    signer: &Hotkey,
    db: &Db,
    report: &ValidationReport,
    agreement: &Agreement,
    burn: Option<(u16, u8)>,
) -> Result<Option<(EmitWeights, String)>, ValidatorError> {
    if !agreement.set_weights {
        tracing::warn!(
            epoch = %report.epoch_id,
            agree_pct = agreement.agree_pct,
            "no consensus on the outcome hash: abstaining from weights"
        );
        return Ok(None);
    }
    let metagraph = chain.metagraph(netuid).await?;
    let own = metagraph.uid_of(&signer.public());
    let miners: Vec<(String, u64)> = report
        .scores
        .iter()
        .map(|s| (s.hotkey.clone(), s.ppb))
        .collect();
    let emit = to_emit(&miners, &metagraph, own, burn)?;
    if emit.uids.is_empty() {
        return Ok(None);
    }
    let tx = chain
        .set_weights(
            netuid,
            signer,
            &emit.uids,
            &emit.weights,
            metagraph.weights_version_key,
        )
        .await?;
    db.record_weights(
        &report.epoch_id,
        &emit.uids,
        &emit.weights,
        &tx.tx_hash,
        chrono::Utc::now().timestamp(),
    )?;
    Ok(Some((emit, tx.tx_hash)))
}
