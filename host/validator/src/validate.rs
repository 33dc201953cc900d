//! One epoch end to end: ingest, run the pinned policy with spot checks, publish the report,
//! the winners' listings and the epoch metadata; then (separately) agreement and weights.
//!
//! The epoch is streamed one zipcode at a time so memory stays bounded by the largest zipcode:
//! the store is listed once ([`EpochIngest::list`]); then, in ascending zipcode order, one
//! zipcode's files are fetched, verified and parsed ([`EpochIngest::next_zipcode`]), scored by
//! the [`EpochRunner`] (planning rounds with spot checks, `score-zipcode`) and dropped, keeping
//! only the listings of the submissions its result ranks; `finalize` then gives the outcome,
//! whose winners' listings make `validated_data.parquet`.

use crate::db::Db;
use crate::error::ValidatorError;
use crate::facts::EpochFacts;
use crate::ingest::{EpochIngest, IngestOptions};
use crate::observer::{SpotChecker, Verifier};
use crate::pin::PolicyPin;
use crate::report::{
    Agreement, PolicyRef, REPORT_FORMAT, ValidationReport, bound_rejections, rank_scores,
    validator_prefix, winners,
};
use crate::weights::{EmitWeights, to_emit};
use resi_chain::Chain;
use resi_core::error::ErrorChain;
use resi_core::keys::Hotkey;
use resi_core::listing::Listing;
use resi_policy::input::ZipcodeBatch;
use resi_policy::{EpochRunner, RunError, RunReport, WasmBackend, ZipcodeRun};
use resi_store::Store;
use std::collections::BTreeMap;
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

/// Validates one epoch: ingestion streamed into the policy one zipcode at a time, with spot
/// checks through `verifier`, then the report; uploads `validation_report.json`,
/// `validated_data.parquet` and `epoch_metadata.json` under `validators/{hotkey}/epoch={id}/`
/// when `cfg.upload`. Peak memory is about the largest zipcode's listings plus the winners'.
///
/// Rejections are recorded in SQLite once every zipcode has been read (also when the policy
/// run then fails: they cover the zipcodes read until then).
pub async fn validate_epoch(
    cfg: &ValidatorConfig,
    store: &Store,
    db: Arc<Db>,
    verifier: Arc<dyn Verifier>,
    facts: &EpochFacts,
) -> Result<EpochResult, ValidatorError> {
    // Submissions committed after the deadline plus the pinned policy's grace could only fail
    // G0: they are left out before the policy, so every validator scores the same input
    // however late it lists the store.
    let mut opts = cfg.ingest.clone();
    if opts.accept_until_ms.is_none() {
        let grace = u64::try_from(cfg.pin.grace().as_millis()).unwrap_or(u64::MAX);
        opts.accept_until_ms = Some(facts.deadline_ms.saturating_add(grace));
    }
    let ingest = EpochIngest::list(store, facts, &opts).await?;
    let backend = cfg.pin.backend.clone();
    let params = cfg.pin.params.clone();
    let handle = tokio::runtime::Handle::current();
    let (streamed, summary, spot_checks) = {
        let db = db.clone();
        let store = store.clone();
        let (concurrency, timeout) = (cfg.concurrency, cfg.verify_timeout);
        let (read_ahead, threads) = (opts.read_ahead, opts.threads);
        tokio::task::spawn_blocking(move || {
            let mut ingest = ingest;
            let checker = || {
                SpotChecker::new(
                    verifier.clone(),
                    db.clone(),
                    handle.clone(),
                    concurrency,
                    timeout,
                )
            };
            let (streamed, spot_checks) = if threads > 1 {
                parallel_epoch(
                    &backend,
                    &params,
                    &mut ingest,
                    &store,
                    &handle,
                    &checker,
                    threads,
                )
            } else {
                let mut checker = checker();
                let streamed = stream_epoch(
                    &backend,
                    &params,
                    &mut ingest,
                    &store,
                    &handle,
                    &mut checker,
                    read_ahead,
                );
                (streamed, checker.lookups + checker.cache_hits)
            };
            (streamed, ingest.finish(), spot_checks)
        })
        .await
        .map_err(|e| ValidatorError::Other(format!("policy thread: {e}")))?
    };
    // Bounded per miner so that no upload can inflate the report past what peers read.
    let (rejected, rejected_omitted) = bound_rejections(summary.rejected);
    db.record_rejections(&facts.epoch_id, &rejected)?;
    tracing::info!(
        epoch = %facts.epoch_id,
        accepted = summary.accepted,
        rejected = rejected.len(),
        "ingested submissions"
    );
    let (run, mut ranked) = streamed?;
    let outcome: serde_json::Value = serde_json::from_str(run.canonical_outcome())
        .map_err(|e| ValidatorError::Other(format!("canonical outcome: {e}")))?;
    let miners: Vec<(String, u64, Vec<String>)> = run
        .outcome
        .miners
        .iter()
        .map(|m| (m.hotkey.clone(), m.ppb, m.flags.clone()))
        .collect();
    let mut report = ValidationReport {
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
        submissions: summary.accepted,
        rejected,
        rejected_omitted,
        spot_checks,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        signature: None,
    };
    report.sign(&cfg.hotkey);
    // The winners' listings, in (zipcode, rank) order, taken from the ranked submissions kept
    // while streaming.
    let mut win = winners(&report.outcome);
    win.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
    let mut listings = Vec::new();
    let mut truncated = false;
    for (zip, hk, rank) in win {
        let key = (zip, hk);
        match ranked.remove(&key) {
            Some(Some(l)) => listings.extend(l),
            // Over the epoch's budget: left out (stream_epoch warned once for all of them).
            Some(None) => truncated = true,
            None => tracing::warn!(
                zipcode = %key.0,
                hotkey = %key.1,
                rank,
                "a winner of the outcome was not ranked by score-zipcode: \
                 its listings are not in validated_data.parquet"
            ),
        }
    }
    drop(ranked);
    let validated_data = resi_submission::write_listings(&listings).map_err(|e| {
        ValidatorError::Other(format!("validated_data.parquet: {}", ErrorChain(&e)))
    })?;
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
            "validated_data_truncated": truncated,
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

/// Listings of the submissions `score-zipcode` ranked, by (zipcode, hotkey); `None` for one
/// left out of `validated_data.parquet` by [`WINNERS_BUDGET`].
type Ranked = BTreeMap<(String, String), Option<Vec<Listing>>>;

/// Most decoded bytes ([`resi_submission::decoded_cost`]) of ranked submissions kept over an
/// epoch for `validated_data.parquet`; later ranked submissions are left out of that file (it
/// is not part of consensus) with a warning in the log, so the epoch's memory stays
/// bounded however large the winners' files are.
pub const WINNERS_BUDGET: u64 = 256 << 20;

/// Zipcodes read ahead of the policy (each held in memory until scored).
const PREFETCH_ZIPCODES: usize = 1;

/// A zipcode holding more decoded bytes than this is not read ahead of: the next one is read
/// only after it has been scored, so read-ahead adds at most this much to the epoch's peak.
pub const READ_AHEAD_MAX_BYTES: u64 = 64 << 20;

/// Streams the epoch through the policy: each zipcode is read from the store (on `handle`)
/// right before it is scored, and dropped after it, except for the listings of the
/// submissions its result ranks (the candidates for `validated_data.parquet`). Runs on a
/// blocking thread (the spot checker blocks on the async verifier).
fn stream_epoch(
    backend: &WasmBackend,
    params: &str,
    ingest: &mut EpochIngest,
    store: &Store,
    handle: &tokio::runtime::Handle,
    checker: &mut SpotChecker,
    read_ahead: bool,
) -> Result<(RunReport, Ranked), ValidatorError> {
    let mut runner = EpochRunner::new(
        backend,
        params,
        ingest.epoch().clone(),
        ingest.assignments(),
    )?;
    let mut keeper = Keeper::default();
    // Reading a zipcode (fetch, verify, parse) overlaps with scoring the one before it: a
    // producer thread reads zipcodes in order into a channel of PREFETCH_ZIPCODES, the policy
    // scores them in the same order, so the outcome and hashes are as without it.
    let (tx, rx) = std::sync::mpsc::sync_channel(PREFETCH_ZIPCODES);
    // The reading thread also encodes what the policy's calls carry (a 1.1.0 policy's listing
    // batch), so the scoring thread only runs the policy.
    let preparer = runner.scorer();
    let scored = std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            while let Some(z) = handle.block_on(ingest.next_zipcode(store)) {
                let prepared = preparer.prepare(&z);
                let z = (z, prepared);
                // A large zipcode is scored alone, so at most one large one is in memory.
                if !read_ahead || ingest.last_held() > READ_AHEAD_MAX_BYTES {
                    // Hand over one zipcode and wait until it has been scored.
                    let (done_tx, done_rx) = std::sync::mpsc::sync_channel(0);
                    if tx.send((z, Some(done_tx))).is_err() || done_rx.recv().is_err() {
                        break;
                    }
                    continue;
                }
                let z = (z, None);
                if tx.send(z).is_err() {
                    break; // the policy stopped (an error): read no further
                }
            }
        });
        let mut scored = Ok(());
        for ((z, prepared), done) in rx.iter() {
            let result = match runner.zipcode_prepared(&z, prepared, checker) {
                Ok(r) => r,
                Err(e) => {
                    scored = Err(e);
                    break;
                }
            };
            keeper.keep(result, &z);
            drop(z);
            if let Some(done) = done {
                let _ = done.send(());
            }
        }
        drop(rx);
        if producer.join().is_err() {
            return Err(ValidatorError::Other("the zipcode reader panicked".into()));
        }
        scored.map_err(ValidatorError::from)
    });
    scored?;
    Ok((runner.finish()?, keeper.finish()))
}

/// The listings of ranked submissions, kept while zipcodes are scored (up to
/// [`WINNERS_BUDGET`]) for `validated_data.parquet`.
#[derive(Default)]
struct Keeper {
    ranked: Ranked,
    kept: u64,
    left_out: usize,
}

impl Keeper {
    /// Keeps the listings of the submissions of `z` that `result` ranks.
    fn keep(&mut self, result: &resi_sandbox::policy::wit::ZipcodeResult, z: &ZipcodeBatch) {
        let winners: Vec<&str> = result
            .candidates
            .iter()
            .filter(|c| c.rank.is_some())
            .map(|c| c.hotkey.as_str())
            .collect();
        let zipcode = &z.assignment().zipcode;
        tracing::debug!(
            %zipcode,
            submissions = z.heads().len(),
            ranked = winners.len(),
            "scored zipcode"
        );
        for (i, s) in z.heads().iter().enumerate() {
            if !winners.contains(&s.hotkey.as_str()) {
                continue;
            }
            let listings: Vec<Listing> = z
                .listings(i)
                .map_while(Result::ok)
                .map(|v| Listing::from(&resi_sandbox::policy::listing_of_view(&v)))
                .collect();
            let cost = resi_submission::decoded_cost(&listings);
            let key = (zipcode.clone(), s.hotkey.clone());
            if self.kept.saturating_add(cost) > WINNERS_BUDGET {
                self.left_out += 1;
                self.ranked.insert(key, None);
                continue;
            }
            self.kept += cost;
            self.ranked.insert(key, Some(listings));
        }
    }

    fn finish(self) -> Ranked {
        if self.left_out > 0 {
            tracing::warn!(
                left_out = self.left_out,
                budget = WINNERS_BUDGET,
                "validated_data.parquet: ranked submissions over the epoch's budget left out"
            );
        }
        self.ranked
    }
}

/// What a worker of [`parallel_epoch`] sends back for one zipcode: what reading it gave and
/// what the policy made of it.
struct Scored {
    read: crate::ingest::ReadZipcode,
    run: Result<ZipcodeRun, RunError>,
}

/// Shared between [`parallel_epoch`]'s workers: the zipcodes not handed out yet and how far
/// the in-order merge has come.
struct Queue<'i> {
    ingest: &'i mut EpochIngest,
    /// Zipcodes merged so far.
    merged: usize,
    /// Set when the epoch stopped (a failed zipcode): workers take nothing more.
    stop: bool,
}

/// [`stream_epoch`] on `threads` threads: each worker takes the next zipcode, reads it (on
/// `handle`), scores it with its own spot checker, writes its part of the canonical input and
/// sends it back; this thread merges the zipcodes in order ([`EpochRunner::merge`]), so the
/// outcome and hashes are those of the single-threaded pipeline. A worker starts a zipcode
/// only while fewer than `threads` zipcodes wait to be merged, so at most `threads` zipcodes
/// are held at once. Returns the run and the spot checks made.
fn parallel_epoch(
    backend: &WasmBackend,
    params: &str,
    ingest: &mut EpochIngest,
    store: &Store,
    handle: &tokio::runtime::Handle,
    checker: &(dyn Fn() -> SpotChecker + Sync),
    threads: usize,
) -> (Result<(RunReport, Ranked), ValidatorError>, usize) {
    let mut runner = match EpochRunner::new(
        backend,
        params,
        ingest.epoch().clone(),
        ingest.assignments(),
    ) {
        Ok(r) => r,
        Err(e) => return (Err(e.into()), 0),
    };
    let scorer = runner.scorer();
    let queue = std::sync::Mutex::new(Queue {
        ingest,
        merged: 0,
        stop: false,
    });
    let turn = std::sync::Condvar::new();
    let (tx, rx) = std::sync::mpsc::channel::<Scored>();
    let spot_checks = std::sync::atomic::AtomicUsize::new(0);
    let mut keeper = Keeper::default();
    let merged: Result<(), ValidatorError> = std::thread::scope(|scope| {
        for _ in 0..threads {
            let (tx, queue, turn, spot_checks) = (tx.clone(), &queue, &turn, &spot_checks);
            let scorer = &scorer;
            scope.spawn(move || {
                let mut checker = checker();
                loop {
                    let files = {
                        let Ok(mut q) = queue.lock() else { break };
                        loop {
                            if q.stop || q.ingest.remaining() == 0 {
                                break None;
                            }
                            // The next zipcode's index is `taken`; wait while `threads`
                            // zipcodes are ahead of the merge.
                            let next = q.ingest.assignments().len() - q.ingest.remaining();
                            if next < q.merged + threads {
                                break q.ingest.next_files();
                            }
                            q = match turn.wait(q) {
                                Ok(q) => q,
                                Err(_) => break None,
                            };
                        }
                    };
                    let Some(files) = files else { break };
                    let read = handle.block_on(files.read(store));
                    let run = scorer.score(&read.input, &mut checker);
                    let scored = Scored { read, run };
                    if tx.send(scored).is_err() {
                        break;
                    }
                }
                spot_checks.fetch_add(
                    checker.lookups + checker.cache_hits,
                    std::sync::atomic::Ordering::Relaxed,
                );
            });
        }
        drop(tx);
        let mut waiting: BTreeMap<usize, Scored> = BTreeMap::new();
        let mut next = 0usize;
        let mut failed: Option<ValidatorError> = None;
        for scored in rx.iter() {
            waiting.insert(scored.read.index, scored);
            while let Some(s) = waiting.remove(&next) {
                next += 1;
                let z = match queue.lock() {
                    Ok(mut q) => q.ingest.record(s.read),
                    Err(_) => s.read.input,
                };
                if failed.is_none() {
                    let merged = s.run.map_err(ValidatorError::from).and_then(|run| {
                        let result = runner.merge(run)?;
                        keeper.keep(result, &z);
                        Ok(())
                    });
                    if let Err(e) = merged {
                        failed = Some(e);
                    }
                }
                if let Ok(mut q) = queue.lock() {
                    q.merged = next;
                    q.stop |= failed.is_some();
                }
                turn.notify_all();
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    });
    let spot_checks = spot_checks.into_inner();
    let result = merged.and_then(|()| Ok((runner.finish()?, keeper.finish())));
    (result, spot_checks)
}

/// How weights are set: the burn, the version key, how long to wait out the rate limit.
#[derive(Debug, Clone)]
pub struct WeightOptions {
    /// `(uid, percent)`: route that share of the total to `uid`.
    pub burn: Option<(u16, u8)>,
    /// A version key to send when it is higher than the subnet's `WeightsVersionKey` (which is
    /// sent otherwise).
    pub version_key: Option<u64>,
    /// The longest wait for the subnet's weights rate limit to pass (then the chain's
    /// `RateLimited` error is returned).
    pub rate_limit_wait: Duration,
    /// How often the block is read while waiting.
    pub poll: Duration,
}

impl Default for WeightOptions {
    /// No burn, the chain's version key, up to 30 minutes (150 finney blocks) of rate limit,
    /// polled every 3 s.
    fn default() -> Self {
        Self {
            burn: None,
            version_key: None,
            rate_limit_wait: Duration::from_secs(30 * 60),
            poll: Duration::from_secs(3),
        }
    }
}

/// Waits until `uid` may set weights on `netuid` again (the subnet's `WeightsSetRateLimit`
/// since its `LastUpdate`), reading the block every `opts.poll`, for at most
/// `opts.rate_limit_wait`; returns the metagraph read last (its rate limit may still hold when
/// the wait ran out).
pub async fn wait_for_weights_rate_limit<C: Chain>(
    chain: &C,
    netuid: u16,
    uid: u16,
    opts: &WeightOptions,
) -> Result<resi_chain::Metagraph, ValidatorError> {
    let deadline = tokio::time::Instant::now() + opts.rate_limit_wait;
    loop {
        let metagraph = chain.metagraph(netuid).await?;
        if metagraph.blocks_until_weights_allowed(uid) == 0
            || tokio::time::Instant::now() + opts.poll > deadline
        {
            return Ok(metagraph);
        }
        tokio::time::sleep(opts.poll).await;
    }
}

/// Sets weights from `report` when `agreement` allows it; returns what was set (`None` when
/// abstaining or when nothing has weight).
///
/// Once per epoch: when `db` already records weights for the epoch (a retry after a failure
/// further on, a re-run after a crash), nothing is sent and the recorded weights and
/// transaction are returned. A failed call (chain unreachable, refused) records nothing, so
/// the next attempt sends them.
pub async fn set_weights<C: Chain>(
    chain: &C,
    netuid: u16,
    signer: &Hotkey,
    db: &Db,
    report: &ValidationReport,
    agreement: &Agreement,
    opts: &WeightOptions,
) -> Result<Option<(EmitWeights, String)>, ValidatorError> {
    if let Some(done) = db.recorded_weights(&report.epoch_id)? {
        tracing::info!(
            epoch = %report.epoch_id,
            tx = %done.tx,
            "weights for this epoch were already set: not setting them again"
        );
        let emit = EmitWeights {
            uids: done.uids,
            weights: done.weights,
            skipped: Vec::new(),
        };
        return Ok(Some((emit, done.tx)));
    }
    if !agreement.set_weights {
        tracing::warn!(
            epoch = %report.epoch_id,
            agree_pct = agreement.agree_pct,
            "no consensus on the outcome hash: abstaining from weights"
        );
        return Ok(None);
    }
    let mut metagraph = chain.metagraph(netuid).await?;
    let own = metagraph.uid_of(&signer.public());
    if let Some(uid) = own
        && metagraph.blocks_until_weights_allowed(uid) > 0
    {
        tracing::info!(
            epoch = %report.epoch_id,
            uid,
            blocks = metagraph.blocks_until_weights_allowed(uid),
            "the subnet's weights rate limit is not over: waiting for it"
        );
        metagraph = wait_for_weights_rate_limit(chain, netuid, uid, opts).await?;
    }
    let burn = opts.burn;
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
            opts.version_key
                .unwrap_or(0)
                .max(metagraph.weights_version_key),
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
