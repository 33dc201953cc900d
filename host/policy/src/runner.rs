//! Drives one epoch through a policy backend: per zipcode, planning rounds answered by an
//! [`Observer`] until the policy asks for nothing, then `score-zipcode`; finally `finalize`.
//! Records fuel, peak memory and wall time of every call and computes the consensus hashes.
//!
//! The runner is synchronous (policy calls are CPU-bound and blocking). An async validator runs
//! it on a blocking thread and lets its observer block on the async verifier.

use crate::backend::Backend;
use crate::error::{ObserveError, RunError};
use crate::hash::{self, Digest32};
use crate::input::{EpochRun, ObservationMap};
use resi_sandbox::policy::wit;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Most planning rounds per zipcode before the runner gives up on a policy.
pub const MAX_ROUNDS: u32 = 256;

/// Answers a policy's spot-check requests (the validator: a verifier component plus a cache;
/// vectors: recorded observations).
pub trait Observer {
    /// One answer per request, in the same order.
    fn observe(
        &mut self,
        zipcode: &str,
        requests: &[wit::CheckRequest],
    ) -> Result<Vec<wit::Observed>, ObserveError>;
}

/// Answers from recorded observations keyed by (hotkey, zipcode, index); a request with no
/// record is `unverifiable`.
#[derive(Debug, Clone, Default)]
pub struct RecordedObserver {
    records: ObservationMap,
}

impl RecordedObserver {
    /// An observer over `records`.
    pub fn new(records: ObservationMap) -> Self {
        RecordedObserver { records }
    }
}

impl Observer for RecordedObserver {
    fn observe(
        &mut self,
        zipcode: &str,
        requests: &[wit::CheckRequest],
    ) -> Result<Vec<wit::Observed>, ObserveError> {
        Ok(requests
            .iter()
            .map(|r| {
                self.records
                    .get(&(r.hotkey.clone(), zipcode.to_string(), r.index))
                    .cloned()
                    .unwrap_or(wit::Observed::Unverifiable)
            })
            .collect())
    }
}

/// Which policy call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `info`.
    Info,
    /// `plan-zipcode`.
    Plan,
    /// `score-zipcode`.
    Score,
    /// `finalize`.
    Finalize,
}

/// Resources of one call.
#[derive(Debug, Clone)]
pub struct CallStat {
    /// The call.
    pub kind: CallKind,
    /// Zipcode, for plan and score.
    pub zipcode: Option<String>,
    /// Fuel (wasm only).
    pub fuel: Option<u64>,
    /// Peak linear memory in bytes (wasm only).
    pub peak_memory: Option<usize>,
    /// Wall time of the call (including conversion of its arguments).
    pub elapsed: Duration,
}

/// What running an epoch produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The policy's outcome.
    pub outcome: wit::Outcome,
    /// Canonical params JSON used.
    pub params: String,
    /// sha256 of the policy component.
    pub policy_sha256: Digest32,
    /// sha256 of the canonical params.
    pub params_sha256: Digest32,
    /// The consensus hash.
    pub outcome_hash: Digest32,
    /// Hash of the canonical inputs including observations.
    pub input_hash: Digest32,
    /// Check requests answered, over all zipcodes.
    pub observations: usize,
    /// Every call made, in order.
    pub calls: Vec<CallStat>,
}

impl RunReport {
    /// The canonical outcome JSON.
    pub fn canonical_outcome(&self) -> &str {
        &self.outcome.canonical_json
    }
    /// Total fuel over all calls (0 for native).
    pub fn total_fuel(&self) -> u64 {
        self.calls.iter().filter_map(|c| c.fuel).sum()
    }
    /// Total wall time of the policy calls.
    pub fn total_time(&self) -> Duration {
        self.calls.iter().map(|c| c.elapsed).sum()
    }
    /// Highest peak memory of any call, in bytes (0 for native).
    pub fn peak_memory(&self) -> usize {
        self.calls
            .iter()
            .filter_map(|c| c.peak_memory)
            .max()
            .unwrap_or(0)
    }
}

fn call_err(call: String) -> impl FnOnce(crate::error::BackendError) -> RunError {
    move |source| RunError::Call { call, source }
}

/// The canonical params to use: `params` canonicalized, or the policy's defaults when `None`.
pub fn resolve_params<B: Backend + ?Sized>(
    backend: &B,
    params: Option<&serde_json::Value>,
) -> Result<String, RunError> {
    match params {
        Some(v) if !v.is_null() => Ok(hash::canonicalize_value(v)?),
        _ => {
            let info = backend.info().map_err(call_err("info".into()))?;
            Ok(hash::canonicalize_json(&info.value.default_params)?)
        }
    }
}

/// Runs `run` through `backend` with canonical `params`, asking `observer` for spot checks.
pub fn run_epoch<B: Backend + ?Sized, O: Observer + ?Sized>(
    backend: &B,
    params: &str,
    run: &EpochRun,
    observer: &mut O,
) -> Result<RunReport, RunError> {
    let total_expected = run.total_expected();
    let mut calls = Vec::new();
    let mut results = Vec::with_capacity(run.zipcodes.len());
    let mut all_observations = Vec::with_capacity(run.zipcodes.len());
    let mut answered = 0usize;
    for z in &run.zipcodes {
        let zipcode = z.assignment.zipcode.as_str();
        let mut observations: Vec<wit::Observation> = Vec::new();
        let mut asked: BTreeSet<(String, u32)> = BTreeSet::new();
        let mut rounds = 0u32;
        loop {
            let start = Instant::now();
            let plan = backend
                .plan_zipcode(
                    params,
                    &run.epoch,
                    &z.assignment,
                    &z.submissions,
                    &observations,
                )
                .map_err(call_err(format!("plan-zipcode {zipcode}")))?;
            calls.push(CallStat {
                kind: CallKind::Plan,
                zipcode: Some(zipcode.to_string()),
                fuel: plan.fuel,
                peak_memory: plan.peak_memory,
                elapsed: start.elapsed(),
            });
            let requests = plan.value;
            if requests.is_empty() {
                break;
            }
            rounds += 1;
            if rounds > MAX_ROUNDS {
                return Err(RunError::NoConvergence {
                    zipcode: zipcode.into(),
                    reason: format!("more than {MAX_ROUNDS} rounds"),
                });
            }
            for r in &requests {
                if !asked.insert((r.hotkey.clone(), r.index)) {
                    return Err(RunError::NoConvergence {
                        zipcode: zipcode.into(),
                        reason: format!("listing {} of {} requested again", r.index, r.hotkey),
                    });
                }
            }
            let seen = observer.observe(zipcode, &requests)?;
            if seen.len() != requests.len() {
                return Err(RunError::ObserverCount {
                    zipcode: zipcode.into(),
                    asked: requests.len(),
                    got: seen.len(),
                });
            }
            answered += seen.len();
            observations.extend(
                requests
                    .into_iter()
                    .zip(seen)
                    .map(|(r, seen)| wit::Observation {
                        hotkey: r.hotkey,
                        index: r.index,
                        seen,
                    }),
            );
        }
        let start = Instant::now();
        let scored = backend
            .score_zipcode(
                params,
                &run.epoch,
                &z.assignment,
                total_expected,
                &z.submissions,
                &observations,
            )
            .map_err(call_err(format!("score-zipcode {zipcode}")))?;
        calls.push(CallStat {
            kind: CallKind::Score,
            zipcode: Some(zipcode.to_string()),
            fuel: scored.fuel,
            peak_memory: scored.peak_memory,
            elapsed: start.elapsed(),
        });
        results.push(scored.value);
        all_observations.push(observations);
    }
    let start = Instant::now();
    let outcome = backend
        .finalize(params, &run.epoch, &results)
        .map_err(call_err("finalize".into()))?;
    calls.push(CallStat {
        kind: CallKind::Finalize,
        zipcode: None,
        fuel: outcome.fuel,
        peak_memory: outcome.peak_memory,
        elapsed: start.elapsed(),
    });
    let outcome = outcome.value;
    let policy_sha256 = backend.policy_sha256();
    let params_sha256 = hash::params_sha256(params);
    let outcome_hash = hash::outcome_hash(
        &policy_sha256,
        &params_sha256,
        &run.epoch.epoch_id,
        &outcome.canonical_json,
    );
    let input_hash = hash::input_hash(run, &all_observations);
    Ok(RunReport {
        outcome,
        params: params.to_string(),
        policy_sha256,
        params_sha256,
        outcome_hash,
        input_hash,
        observations: answered,
        calls,
    })
}
