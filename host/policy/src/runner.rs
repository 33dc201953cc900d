//! Drives one epoch through a policy backend: per zipcode, planning rounds answered by an
//! [`Observer`] until the policy asks for nothing, then `score-zipcode`; finally `finalize`.
//! Records fuel, peak memory and wall time of every call and computes the consensus hashes.
//!
//! [`EpochRunner`] takes the epoch one zipcode at a time (ascending zipcode order, the order of
//! the canonical input), so a caller that reads zipcodes one by one holds at most the largest
//! zipcode's submissions; [`run_epoch`] runs an [`EpochRun`] held whole through it. Both give
//! the same outcome, `outcome_hash` and `input_hash`.
//!
//! The runner is synchronous (policy calls are CPU-bound and blocking). An async validator runs
//! it on a blocking thread and lets its observer block on the async verifier.

use crate::backend::{Backend, ZipcodeCarry};
use crate::error::BackendError;
use crate::error::{ObserveError, OrderError, RunError};
use crate::hash::{self, Digest32, InputHasher};
use crate::input::{EpochRun, ObservationMap, ZipcodeBatch, ZipcodeInput};
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
    /// Calls grouped by what they were: `first plan` (each zipcode's first `plan-zipcode`),
    /// `later plans`, `score`, `finalize`, `info`; each with the number of calls, their wall
    /// time and fuel, in that order.
    pub fn call_summary(&self) -> Vec<(&'static str, usize, Duration, u64)> {
        let kinds = ["first plan", "later plans", "score", "finalize", "info"];
        let mut out: Vec<(&'static str, usize, Duration, u64)> =
            kinds.iter().map(|k| (*k, 0, Duration::ZERO, 0)).collect();
        let mut planned = BTreeSet::new();
        for c in &self.calls {
            let i = match (c.kind, &c.zipcode) {
                (CallKind::Plan, Some(z)) if planned.insert(z.as_str()) => 0,
                (CallKind::Plan, _) => 1,
                (CallKind::Score, _) => 2,
                (CallKind::Finalize, _) => 3,
                (CallKind::Info, _) => 4,
            };
            out[i].1 += 1;
            out[i].2 += c.elapsed;
            out[i].3 += c.fuel.unwrap_or(0);
        }
        out.retain(|k| k.1 > 0);
        out
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
///
/// A thin wrapper over [`EpochRunner`]: the zipcodes are run in ascending zipcode order
/// whatever their order in `run` (the outcome and both hashes do not depend on it). Refuses an
/// epoch that assigns a zipcode twice ([`OrderError::DuplicateAssignment`]).
pub fn run_epoch<B: Backend + ?Sized, O: Observer + ?Sized>(
    backend: &B,
    params: &str,
    run: &EpochRun,
    observer: &mut O,
) -> Result<RunReport, RunError> {
    let assignments: Vec<wit::Assignment> =
        run.zipcodes.iter().map(|z| z.assignment.clone()).collect();
    let mut runner = EpochRunner::new(backend, params, run.epoch.clone(), &assignments)?;
    let mut order: Vec<&ZipcodeInput> = run.zipcodes.iter().collect();
    order.sort_by(|a, b| a.assignment.zipcode.cmp(&b.assignment.zipcode));
    for z in order {
        runner.zipcode(z, observer)?;
    }
    runner.finish()
}

/// One zipcode's policy calls, done by a [`ZipcodeScorer`] (on any thread) and merged in
/// order by [`EpochRunner::merge`].
#[derive(Debug, Clone)]
pub struct ZipcodeRun {
    assignment: wit::Assignment,
    result: wit::ZipcodeResult,
    calls: Vec<CallStat>,
    answered: usize,
    /// The zipcode's part of the canonical input ([`hash::zipcode_canonical`]).
    canonical: Vec<u8>,
}

impl ZipcodeRun {
    /// The zipcode's result (gates, ranks, shares).
    pub fn result(&self) -> &wit::ZipcodeResult {
        &self.result
    }
}

/// What a zipcode's calls start with, made ahead ([`ZipcodeScorer::prepare`]), with the time
/// that took (counted into the zipcode's first call).
#[derive(Debug)]
pub struct Prepared {
    carry: Result<ZipcodeCarry, BackendError>,
    took: Duration,
}

/// The part of an [`EpochRunner`] that scores one zipcode, free of the runner's order and
/// totals, so that zipcodes can be scored on several threads at once (each with its own
/// observer). Borrowed from the runner by [`EpochRunner::scorer`].
pub struct ZipcodeScorer<'a, B: Backend + ?Sized> {
    backend: &'a B,
    params: &'a str,
    epoch: wit::Epoch,
    total_expected: u64,
}

impl<B: Backend + ?Sized> ZipcodeScorer<'_, B> {
    /// Planning rounds answered by `observer` until the policy asks for nothing, then
    /// `score-zipcode`; also writes the zipcode's part of the canonical input. The caller can
    /// drop `z` once this returns.
    pub fn score<O: Observer + ?Sized>(
        &self,
        z: &ZipcodeBatch,
        observer: &mut O,
    ) -> Result<ZipcodeRun, RunError> {
        let mut calls = Vec::new();
        let (result, observations, answered) = self.run(z, None, observer, &mut calls)?;
        Ok(ZipcodeRun {
            assignment: z.assignment().clone(),
            canonical: hash::zipcode_canonical(z, &observations),
            result,
            calls,
            answered,
        })
    }

    /// What the zipcode's calls start with ([`Backend::prepare`]: a 1.0.0 policy's records),
    /// made ahead, e.g. on the thread that read the zipcode while this one scores the previous
    /// one ([`EpochRunner::zipcode_prepared`]).
    pub fn prepare(&self, z: &ZipcodeBatch) -> Prepared {
        let start = Instant::now();
        let carry = self.backend.prepare(z);
        Prepared {
            carry,
            took: start.elapsed(),
        }
    }

    /// The rounds and the score of one zipcode; every call made is pushed to `calls` (also
    /// those of a run that then fails).
    fn run<O: Observer + ?Sized>(
        &self,
        z: &ZipcodeBatch,
        prepared: Option<Prepared>,
        observer: &mut O,
        calls: &mut Vec<CallStat>,
    ) -> Result<(wit::ZipcodeResult, Vec<wit::Observation>, usize), RunError> {
        let (backend, params) = (self.backend, self.params);
        let zipcode = z.assignment().zipcode.as_str();
        let mut observations: Vec<wit::Observation> = Vec::new();
        let mut asked: BTreeSet<(String, u32)> = BTreeSet::new();
        let mut rounds = 0u32;
        let mut answered = 0usize;
        // A 1.0.0 policy's records, decoded once for every call of the zipcode; the time that
        // took counts into the first call (as lowering records counts into each).
        let Prepared { carry, took } = prepared.unwrap_or_else(|| self.prepare(z));
        let mut carry = carry.map_err(call_err(format!("plan-zipcode {zipcode}")))?;
        let mut encoded_in = Some(took);
        loop {
            let start = Instant::now() - encoded_in.take().unwrap_or_default();
            let plan = backend
                .plan_zipcode(params, &self.epoch, z, &mut carry, &observations)
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
                &self.epoch,
                self.total_expected,
                z,
                &mut carry,
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
        Ok((scored.value, observations, answered))
    }
}

/// Runs one epoch through a policy one zipcode at a time, so that the caller only ever holds
/// one zipcode's submissions: [`EpochRunner::new`] with the epoch's assignments, then
/// [`EpochRunner::zipcode`] for every assigned zipcode in ascending zipcode order (planning
/// rounds answered by the observer, then `score-zipcode`; the caller may drop the zipcode's
/// input as soon as it returns), then [`EpochRunner::finish`] (`finalize` and the hashes).
///
/// `input_hash` is computed on the way ([`InputHasher`]); it is the canonical one because the
/// runner refuses a zipcode out of order, twice, not assigned or with another assignment, and
/// refuses to finish with a zipcode missing ([`OrderError`]). What the runner keeps between
/// zipcodes is small: the per-zipcode results, the call statistics and the hash state.
///
/// A refused zipcode leaves the runner as it was; so does a failed policy or observer call
/// (the zipcode is not counted as run, though its calls stay in the statistics).
pub struct EpochRunner<'a, B: Backend + ?Sized> {
    backend: &'a B,
    params: &'a str,
    epoch: wit::Epoch,
    total_expected: u64,
    /// Every assignment, in ascending zipcode order (the order zipcodes must come in).
    order: Vec<wit::Assignment>,
    /// Index in `order` of the next zipcode to run.
    next: usize,
    hasher: InputHasher,
    results: Vec<wit::ZipcodeResult>,
    calls: Vec<CallStat>,
    answered: usize,
}

impl<B: Backend + ?Sized> std::fmt::Debug for EpochRunner<'_, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochRunner")
            .field("epoch_id", &self.epoch.epoch_id)
            .field("zipcodes", &self.order.len())
            .field("run", &self.next)
            .field("calls", &self.calls.len())
            .finish()
    }
}

fn same_assignment(a: &wit::Assignment, b: &wit::Assignment) -> bool {
    a.zipcode == b.zipcode
        && a.expected == b.expected
        && a.honeypot == b.honeypot
        && a.true_count == b.true_count
}

impl<'a, B: Backend + ?Sized> EpochRunner<'a, B> {
    /// A runner for `epoch` whose assigned zipcodes are `assignments` (in any order; they are
    /// run in ascending zipcode order). `total-expected` is summed from them up front, as
    /// `score-zipcode` needs it for the first zipcode already. No policy call is made yet.
    pub fn new(
        backend: &'a B,
        params: &'a str,
        epoch: wit::Epoch,
        assignments: &[wit::Assignment],
    ) -> Result<Self, RunError> {
        let mut order = assignments.to_vec();
        order.sort_by(|a, b| a.zipcode.cmp(&b.zipcode));
        if let Some(w) = order.windows(2).find(|w| w[0].zipcode == w[1].zipcode) {
            return Err(OrderError::DuplicateAssignment(w[0].zipcode.clone()).into());
        }
        let total_expected = order
            .iter()
            .filter(|a| !a.honeypot)
            .map(|a| u64::from(a.expected))
            .sum();
        let hasher = InputHasher::new(&epoch);
        Ok(EpochRunner {
            backend,
            params,
            epoch,
            total_expected,
            results: Vec::with_capacity(order.len()),
            order,
            next: 0,
            hasher,
            calls: Vec::new(),
            answered: 0,
        })
    }

    /// The epoch being run.
    pub fn epoch(&self) -> &wit::Epoch {
        &self.epoch
    }

    /// Sum of `expected` over the non-honeypot assignments (the policy's `total-expected`).
    pub fn total_expected(&self) -> u64 {
        self.total_expected
    }

    /// Every assignment, in the order the zipcodes must be run (ascending zipcode).
    pub fn assignments(&self) -> &[wit::Assignment] {
        &self.order
    }

    /// The assignments not run yet, in order; the first is the one [`EpochRunner::zipcode`]
    /// takes next.
    pub fn pending(&self) -> &[wit::Assignment] {
        self.order.get(self.next..).unwrap_or(&[])
    }

    /// Checks that `a` is the next zipcode to run, with the epoch's assignment.
    fn check_next(&self, a: &wit::Assignment) -> Result<(), OrderError> {
        match self.order.get(self.next) {
            Some(want) if want.zipcode == a.zipcode => {
                if same_assignment(want, a) {
                    Ok(())
                } else {
                    Err(OrderError::AssignmentMismatch(a.zipcode.clone()))
                }
            }
            want => match self.order.binary_search_by(|x| x.zipcode.cmp(&a.zipcode)) {
                Err(_) => Err(OrderError::Unassigned(a.zipcode.clone())),
                Ok(i) if i < self.next => Err(OrderError::AlreadyRun(a.zipcode.clone())),
                Ok(_) => Err(OrderError::OutOfOrder {
                    zipcode: a.zipcode.clone(),
                    expected: want.map(|w| w.zipcode.clone()).unwrap_or_default(),
                }),
            },
        }
    }

    /// Runs one zipcode: `plan-zipcode` in rounds, each answered by `observer`, until the
    /// policy asks for nothing, then `score-zipcode`. `z` must be the next pending zipcode
    /// ([`EpochRunner::pending`]); the runner keeps nothing of its submissions, so the caller
    /// can drop `z` once this returns. Returns the zipcode's result (gates, ranks, shares).
    pub fn zipcode<O: Observer + ?Sized>(
        &mut self,
        z: &ZipcodeInput,
        observer: &mut O,
    ) -> Result<&wit::ZipcodeResult, RunError> {
        self.check_next(&z.assignment)?;
        self.zipcode_with(&ZipcodeBatch::from_input(z), None, observer)
    }

    /// [`EpochRunner::zipcode`] on a zipcode held as a listing batch (as the validator reads
    /// it), with what its calls start with made ahead by [`ZipcodeScorer::prepare`] (for the
    /// same `z`).
    pub fn zipcode_prepared<O: Observer + ?Sized>(
        &mut self,
        z: &ZipcodeBatch,
        prepared: Prepared,
        observer: &mut O,
    ) -> Result<&wit::ZipcodeResult, RunError> {
        self.zipcode_with(z, Some(prepared), observer)
    }

    fn zipcode_with<O: Observer + ?Sized>(
        &mut self,
        z: &ZipcodeBatch,
        prepared: Option<Prepared>,
        observer: &mut O,
    ) -> Result<&wit::ZipcodeResult, RunError> {
        self.check_next(z.assignment())?;
        let scorer = self.scorer();
        let (result, observations, answered) =
            scorer.run(z, prepared, observer, &mut self.calls)?;
        self.hasher.zipcode(z, &observations);
        self.answered += answered;
        self.next += 1;
        self.results.push(result);
        Ok(&self.results[self.results.len() - 1])
    }

    /// What scores one zipcode, to be used on other threads ([`ZipcodeScorer::score`]); the
    /// runs it gives are merged back in order by [`EpochRunner::merge`].
    pub fn scorer(&self) -> ZipcodeScorer<'a, B> {
        ZipcodeScorer {
            backend: self.backend,
            params: self.params,
            epoch: self.epoch.clone(),
            total_expected: self.total_expected,
        }
    }

    /// Takes in a zipcode scored by [`ZipcodeScorer::score`], which must be the next pending
    /// zipcode (as for [`EpochRunner::zipcode`]); the outcome and both hashes are those of
    /// running the zipcodes here one by one, whichever thread scored them and in which order
    /// they finished. A refused run leaves the runner as it was.
    pub fn merge(&mut self, run: ZipcodeRun) -> Result<&wit::ZipcodeResult, RunError> {
        self.check_next(&run.assignment)?;
        self.hasher.zipcode_canonical(&run.canonical);
        self.calls.extend(run.calls);
        self.answered += run.answered;
        self.next += 1;
        self.results.push(run.result);
        Ok(&self.results[self.results.len() - 1])
    }

    /// Calls `finalize` over the zipcode results and computes the consensus hashes. Refuses
    /// to finish while an assigned zipcode has not been run ([`OrderError::Missing`]).
    pub fn finish(mut self) -> Result<RunReport, RunError> {
        if let Some(first) = self.pending().first() {
            return Err(OrderError::Missing {
                first: first.zipcode.clone(),
                count: self.pending().len(),
            }
            .into());
        }
        let start = Instant::now();
        let outcome = self
            .backend
            .finalize(self.params, &self.epoch, &self.results)
            .map_err(call_err("finalize".into()))?;
        self.calls.push(CallStat {
            kind: CallKind::Finalize,
            zipcode: None,
            fuel: outcome.fuel,
            peak_memory: outcome.peak_memory,
            elapsed: start.elapsed(),
        });
        let outcome = outcome.value;
        let policy_sha256 = self.backend.policy_sha256();
        let params_sha256 = hash::params_sha256(self.params);
        let outcome_hash = hash::outcome_hash(
            &policy_sha256,
            &params_sha256,
            &self.epoch.epoch_id,
            &outcome.canonical_json,
        );
        Ok(RunReport {
            outcome,
            params: self.params.to_string(),
            policy_sha256,
            params_sha256,
            outcome_hash,
            input_hash: self.hasher.finish(),
            observations: self.answered,
            calls: self.calls,
        })
    }
}
