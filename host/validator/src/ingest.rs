//! Ingestion: every miner's submissions for one epoch, from the object store to the policy's
//! input, defensively.
//!
//! Rules (the same for every validator, so their inputs agree):
//! - Objects are listed under `data/hotkey=*/epoch={id}/` (per known hotkey, or all of `data/`);
//!   keys that do not parse are refused. Metadata is listed first; then one zipcode at a time
//!   its files are fetched, verified and parsed, and the bytes dropped.
//! - A submission is one (hotkey, zipcode). With `manifest.json` (the commit point): the
//!   manifest must parse (size-capped), name the hotkey/epoch/zipcode of its key, verify under
//!   the hotkey's sr25519 signature, carry the epoch's nonce, declare a parquet size within the
//!   cap, and `listings.parquet` must exist with exactly that size and sha256, parse under the
//!   caps (rows, field lengths, uncompressed size) and hold `listing_count` rows. The submission
//!   time is the store's Last-Modified of `manifest.json`, never a time the miner wrote.
//! - Without a manifest, the upstream JSON `data_*.json` (the latest one by Last-Modified; older
//!   ones are recorded as superseded) is read under the same caps and given to the policy with
//!   `manifest_ok = false`: it takes part in the input (and the gate results show G0 failed) but
//!   can never be paid, because nothing binds it to the epoch nonce or the hotkey's signature.
//! - Memory is bounded whatever the encoding: each file's decoded size is counted while it is
//!   decoded ([`ReadCaps::max_decoded_bytes`]); the submissions of one zipcode together may
//!   hold at most [`IngestOptions::zipcode_budget`] (in [`resi_submission::decoded_cost`]
//!   units). Over it, the largest submissions are refused first (ties: the greater hotkey),
//!   until the rest fit: honest submissions are the small ones, so a miner who inflates its
//!   own files loses only its own submission, never another's and never the epoch.
//! - Anything refused becomes a [`Rejection`] with its reason; it never stops the epoch.
//! - Zipcodes that are not assigned in the epoch are refused.
//!
//! Memory: [`EpochIngest::list`] lists the epoch's objects once (keys and sizes only) and
//! groups them by zipcode; [`EpochIngest::next_zipcode`] then fetches, verifies and parses the
//! files of one assigned zipcode, in ascending zipcode order (the order of the streaming
//! [`resi_policy::EpochRunner`]), and returns that zipcode's policy input. A caller that scores
//! each zipcode before reading the next holds at most the largest zipcode's listings, as one
//! listing batch ([`ZipcodeBatch`]: `listings.parquet` is decoded straight into it, with no
//! record or string per listing); the raw files are only held one at a time. [`ingest_epoch`]
//! reads the whole epoch into one [`EpochRun`] of records (tools, tests) and holds every
//! accepted listing.

use crate::facts::EpochFacts;
use resi_core::error::ErrorChain;
use resi_policy::EpochRun;
use resi_policy::input::{SubmissionBatch, ZipcodeBatch, ZipcodeInput};
use resi_sandbox::policy::wit;
use resi_store::{ObjectMeta, Store};
use resi_submission::manifest::MAX_MANIFEST_BYTES;
use resi_submission::{Manifest, ObjectKey, ReadCaps, SubmissionFile, UpstreamSubmission};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A refused (or downgraded) submission or object, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Miner hotkey (from the object key; empty when the key does not parse).
    pub hotkey: String,
    /// Zipcode (from the object key; empty when the key does not parse).
    pub zipcode: String,
    /// The object key concerned.
    pub key: String,
    /// Why.
    pub reason: String,
    /// True when the submission was still given to the policy (upstream JSON with
    /// `manifest_ok = false`); false when it was left out.
    pub given_to_policy: bool,
}

/// Default of [`IngestOptions::zipcode_budget`]: 384 MiB of decoded listings per zipcode. The
/// largest honest zipcode (3,450 listings at ~350 bytes from each of 256 uids) is ~300 MiB; the
/// policy needs about 1.1 bytes of linear memory per decoded byte, so a full budget stays far
/// under its 1 GiB limit (measured: BENCHMARKS.md, `RESI_BENCH_HOSTILE=1`).
pub const DEFAULT_ZIPCODE_BUDGET: u64 = 384 << 20;

/// Ingestion options.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Caps on untrusted files.
    pub caps: ReadCaps,
    /// Most decoded bytes ([`resi_submission::decoded_cost`]) the submissions of one zipcode
    /// may hold together; over it the largest are refused (see the module doc).
    pub zipcode_budget: u64,
    /// Hotkeys to list (e.g. the metagraph's); `None` lists all of `data/`.
    pub hotkeys: Option<Vec<String>>,
    /// Leave out, with a reason, submissions whose commit object (`manifest.json`, else the
    /// latest upstream JSON) the store dated after this (unix ms). Set to the deadline plus
    /// the policy's grace, so what the policy sees does not depend on when the validator lists
    /// the store: later arrivals could only have failed G0.
    pub accept_until_ms: Option<u64>,
    /// Read the next zipcode (fetch, verify, parse) on its own thread while the policy scores
    /// the current one (default). The policy still sees zipcodes in order, so the outcome and
    /// hashes are the same either way; off, one zipcode at a time is in memory.
    pub read_ahead: bool,
    /// Zipcodes read and scored at once, each on its own thread (fetch, verify, parse, policy
    /// calls, spot checks), merged back in zipcode order so that the outcome and hashes do not
    /// depend on it. Memory grows with it: each thread holds one zipcode (at most
    /// `zipcode_budget` decoded bytes). 1 (the default, [`default_threads`]) with `read_ahead`
    /// is the two-thread pipeline (one reads, one scores); 1 without it reads and scores one
    /// zipcode at a time.
    pub threads: usize,
}

/// Default of [`IngestOptions::threads`]: 1. On the 2-core machines measured, one scoring
/// thread with read-ahead beat two workers that each read and score (BENCHMARKS.md), so more
/// threads are asked for explicitly (`resi validator --threads N`).
pub fn default_threads() -> usize {
    1
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            caps: ReadCaps::default(),
            zipcode_budget: DEFAULT_ZIPCODE_BUDGET,
            hotkeys: None,
            accept_until_ms: None,
            read_ahead: true,
            threads: default_threads(),
        }
    }
}

/// A whole epoch ready for the policy (what [`ingest_epoch`] returns).
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The policy input (assignments in the coordinator's order).
    pub run: EpochRun,
    /// Every refused object or submission, sorted by (hotkey, zipcode, key).
    pub rejected: Vec<Rejection>,
    /// Submissions given to the policy.
    pub accepted: usize,
}

/// What ingesting an epoch refused and accepted, once every zipcode has been read
/// ([`EpochIngest::finish`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// Every refused object or submission, sorted by (hotkey, zipcode, key).
    pub rejected: Vec<Rejection>,
    /// Submissions given to the policy.
    pub accepted: usize,
}

#[derive(Debug, Default)]
struct Group {
    manifest: Option<ObjectMeta>,
    listings: Option<ObjectMeta>,
    upstream: Vec<ObjectMeta>,
}

fn ms(m: &ObjectMeta) -> u64 {
    u64::try_from(m.last_modified.timestamp_millis()).unwrap_or(0)
}

/// One epoch's submissions, listed once and read one zipcode at a time.
///
/// [`EpochIngest::list`] lists the objects of the epoch (refusing keys that do not parse and
/// zipcodes that are not assigned, without reading them); [`EpochIngest::next_zipcode`]
/// returns the assigned zipcodes one by one in ascending zipcode order, each with its
/// verified submissions (an assigned zipcode nobody submitted for comes with none);
/// [`EpochIngest::finish`] returns the rejections and the accepted count.
#[derive(Debug)]
pub struct EpochIngest {
    ctx: Arc<ReadContext>,
    epoch: wit::Epoch,
    /// Every assignment, in ascending zipcode order.
    assignments: Vec<wit::Assignment>,
    /// Assigned zipcodes not read yet, in order, with their listed files by hotkey.
    pending: VecDeque<(wit::Assignment, BTreeMap<String, Group>)>,
    /// Zipcodes handed out by [`EpochIngest::next_files`] so far.
    taken: usize,
    rejected: Vec<Rejection>,
    accepted: usize,
    last_held: u64,
}

/// What reading any zipcode of the epoch needs (shared by the zipcodes read in parallel).
#[derive(Debug)]
struct ReadContext {
    facts: EpochFacts,
    caps: ReadCaps,
    zipcode_budget: u64,
    accept_until_ms: Option<u64>,
}

/// One assigned zipcode's listed files, not read yet: [`ZipcodeFiles::read`] fetches,
/// verifies and parses them, on any thread, independently of the other zipcodes.
#[derive(Debug)]
pub struct ZipcodeFiles {
    ctx: Arc<ReadContext>,
    index: usize,
    assignment: wit::Assignment,
    groups: BTreeMap<String, Group>,
}

/// One zipcode read: the policy's input and what reading it refused and accepted (recorded
/// into the epoch's totals by [`EpochIngest::record`]).
#[derive(Debug)]
pub struct ReadZipcode {
    /// Position of the zipcode in the epoch's order (ascending zipcode), from 0.
    pub index: usize,
    /// The zipcode's verified submissions.
    pub input: ZipcodeBatch,
    /// Refused (or downgraded) submissions and objects.
    pub rejected: Vec<Rejection>,
    /// Submissions given to the policy.
    pub accepted: usize,
    /// Decoded bytes ([`resi_submission::decoded_cost`]) the input holds.
    pub held: u64,
}

impl EpochIngest {
    /// Lists every object of `facts.epoch_id` (under the known hotkeys' prefixes, or all of
    /// `data/`) and groups them by zipcode and hotkey; nothing is read yet. Fails only when
    /// the store cannot be listed.
    pub async fn list(
        store: &Store,
        facts: &EpochFacts,
        opts: &IngestOptions,
    ) -> Result<Self, resi_store::StoreError> {
        let epoch_id = &facts.epoch_id;
        let mut metas = Vec::new();
        match &opts.hotkeys {
            Some(hotkeys) => {
                for hk in hotkeys {
                    let prefix = format!("data/hotkey={hk}/epoch={epoch_id}/");
                    metas.extend(store.list(&prefix).await?);
                }
            }
            None => {
                let needle = format!("/epoch={epoch_id}/");
                metas.extend(
                    store
                        .list("data/")
                        .await?
                        .into_iter()
                        .filter(|m| m.key.contains(&needle)),
                );
            }
        }
        let mut rejected = Vec::new();
        // zipcode -> hotkey -> files
        let mut by_zip: BTreeMap<String, BTreeMap<String, Group>> = BTreeMap::new();
        for m in metas {
            let key = match ObjectKey::parse(&m.key) {
                Ok(k) if k.epoch_id == *epoch_id => k,
                Ok(_) => continue,
                Err(e) => {
                    rejected.push(note(
                        "",
                        "",
                        &m.key,
                        format!("unrecognized object key: {e}"),
                        false,
                    ));
                    continue;
                }
            };
            let g = by_zip
                .entry(key.zipcode.clone())
                .or_default()
                .entry(key.hotkey.clone())
                .or_default();
            match key.file {
                SubmissionFile::Manifest => g.manifest = Some(m),
                SubmissionFile::Listings => g.listings = Some(m),
                SubmissionFile::Upstream(_) => g.upstream.push(m),
            }
        }
        let mut assignments: Vec<wit::Assignment> = facts
            .assignments
            .iter()
            .map(|a| wit::Assignment {
                zipcode: a.zipcode.clone(),
                expected: a.expected,
                honeypot: a.honeypot,
                true_count: a.true_count,
            })
            .collect();
        // Stable: of a zipcode assigned twice (which the runner refuses), the first gets the
        // submissions, as in the coordinator's order.
        assignments.sort_by(|a, b| a.zipcode.cmp(&b.zipcode));
        let pending = assignments
            .iter()
            .map(|a| (a.clone(), by_zip.remove(&a.zipcode).unwrap_or_default()))
            .collect();
        // What is left is not assigned: refused without reading it.
        for (zipcode, groups) in by_zip {
            for (hk, g) in groups {
                let key = g
                    .manifest
                    .as_ref()
                    .or(g.listings.as_ref())
                    .or(g.upstream.first())
                    .map(|m| m.key.clone())
                    .unwrap_or_default();
                rejected.push(note(
                    &hk,
                    &zipcode,
                    &key,
                    format!("zipcode {zipcode} is not assigned in epoch {epoch_id}"),
                    false,
                ));
            }
        }
        Ok(EpochIngest {
            epoch: facts.wit_epoch(),
            ctx: Arc::new(ReadContext {
                facts: facts.clone(),
                caps: opts.caps,
                zipcode_budget: opts.zipcode_budget,
                accept_until_ms: opts.accept_until_ms,
            }),
            assignments,
            pending,
            taken: 0,
            rejected,
            accepted: 0,
            last_held: 0,
        })
    }

    /// The epoch facts in the policy's types.
    pub fn epoch(&self) -> &wit::Epoch {
        &self.epoch
    }

    /// Every assignment of the epoch, in the order [`EpochIngest::next_zipcode`] returns them
    /// (ascending zipcode).
    pub fn assignments(&self) -> &[wit::Assignment] {
        &self.assignments
    }

    /// Assigned zipcodes not read yet.
    pub fn remaining(&self) -> usize {
        self.pending.len()
    }

    /// Submissions accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted
    }

    /// Rejections so far (not sorted yet).
    pub fn rejected(&self) -> &[Rejection] {
        &self.rejected
    }

    /// Reads the next assigned zipcode: fetches, verifies and parses each of its submissions,
    /// keeping only the parsed records; refused ones become rejections. `None` once every
    /// assigned zipcode has been read. Never fails: an object that cannot be read refuses its
    /// submission. ([`EpochIngest::next_files`], [`ZipcodeFiles::read`] and
    /// [`EpochIngest::record`] in one.)
    pub async fn next_zipcode(&mut self, store: &Store) -> Option<ZipcodeBatch> {
        let files = self.next_files()?;
        let read = files.read(store).await;
        Some(self.record(read))
    }

    /// The next assigned zipcode's files, to be read by [`ZipcodeFiles::read`] (zipcodes can
    /// be read in parallel); `None` once every one has been handed out.
    pub fn next_files(&mut self) -> Option<ZipcodeFiles> {
        let (assignment, groups) = self.pending.pop_front()?;
        let index = self.taken;
        self.taken += 1;
        Some(ZipcodeFiles {
            ctx: self.ctx.clone(),
            index,
            assignment,
            groups,
        })
    }

    /// Adds what reading one zipcode refused and accepted to the epoch's totals; returns the
    /// zipcode's input.
    pub fn record(&mut self, mut read: ReadZipcode) -> ZipcodeBatch {
        self.rejected.append(&mut read.rejected);
        self.accepted += read.accepted;
        self.last_held = read.held;
        read.input
    }

    /// Decoded bytes ([`resi_submission::decoded_cost`]) the zipcode returned last by
    /// [`EpochIngest::next_zipcode`] holds.
    pub fn last_held(&self) -> u64 {
        self.last_held
    }

    /// The rejections, sorted by (hotkey, zipcode, key), and the accepted count. Zipcodes not
    /// read yet contribute nothing.
    pub fn finish(self) -> IngestSummary {
        let mut rejected = self.rejected;
        rejected
            .sort_by(|a, b| (&a.hotkey, &a.zipcode, &a.key).cmp(&(&b.hotkey, &b.zipcode, &b.key)));
        IngestSummary {
            rejected,
            accepted: self.accepted,
        }
    }
}

impl ZipcodeFiles {
    /// Position of the zipcode in the epoch's order (ascending zipcode), from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The zipcode's assignment.
    pub fn assignment(&self) -> &wit::Assignment {
        &self.assignment
    }

    /// Fetches, verifies and parses each submission of the zipcode (see the module doc for
    /// the rules and the zipcode's memory budget). Never fails: an object that cannot be read
    /// refuses its submission.
    pub async fn read(self, store: &Store) -> ReadZipcode {
        let ctx = &*self.ctx;
        let assignment = self.assignment;
        let zipcode = assignment.zipcode.clone();
        let epoch_id = &ctx.facts.epoch_id;
        let mut submissions: Vec<(SubmissionBatch, u64)> = Vec::with_capacity(self.groups.len());
        let mut rejected = Vec::new();
        let mut accepted = 0usize;
        let mut held = 0u64;
        for (hotkey, g) in self.groups {
            if let Some(reason) = too_late(&g, ctx.accept_until_ms) {
                rejected.push(reason.of(&hotkey, &zipcode));
                continue;
            }
            match load_submission(store, &ctx.facts, &ctx.caps, &hotkey, &zipcode, g).await {
                Loaded::Accepted(Accepted { sub, cost, foreign }, mut notes) => {
                    if foreign > 0 {
                        notes.push(note(
                            &hotkey,
                            &zipcode,
                            &format!("data/hotkey={hotkey}/epoch={epoch_id}/zipcode={zipcode}/"),
                            format!(
                                "{foreign} of {} listings are for another zipcode than {zipcode}: \
                                 given to the policy, whose quality gate (G3) refuses it",
                                sub.head().listings
                            ),
                            true,
                        ));
                    }
                    rejected.extend(notes);
                    submissions.push((sub, cost));
                    accepted += 1;
                    held = held.saturating_add(cost);
                    while held > ctx.zipcode_budget {
                        let Some(i) = largest(&submissions) else {
                            break;
                        };
                        let (big, cost) = submissions.remove(i);
                        held -= cost;
                        accepted -= 1;
                        rejected.push(note(
                            &big.head().hotkey,
                            &zipcode,
                            &format!(
                                "data/hotkey={}/epoch={epoch_id}/zipcode={zipcode}/",
                                big.head().hotkey
                            ),
                            format!(
                                "over the zipcode's memory budget: {cost} decoded bytes, the \
                                 largest submission while the zipcode's held more than {}",
                                ctx.zipcode_budget
                            ),
                            false,
                        ));
                    }
                }
                Loaded::Rejected(notes) => rejected.extend(notes),
            }
        }
        ReadZipcode {
            index: self.index,
            input: ZipcodeBatch::new(
                assignment,
                submissions.into_iter().map(|(s, _)| s).collect(),
            ),
            rejected,
            accepted,
            held,
        }
    }
}

/// Lists, verifies and reads every submission of `facts.epoch_id` into one [`EpochRun`]
/// (zipcodes in the coordinator's order). Holds every accepted listing of the epoch at once:
/// the validator streams through [`EpochIngest`] instead.
pub async fn ingest_epoch(
    store: &Store,
    facts: &EpochFacts,
    opts: &IngestOptions,
) -> Result<Ingested, resi_store::StoreError> {
    let mut ingest = EpochIngest::list(store, facts, opts).await?;
    let epoch = ingest.epoch().clone();
    let mut read: BTreeMap<String, ZipcodeInput> = BTreeMap::new();
    while let Some(z) = ingest.next_zipcode(store).await {
        // Ingestion's batches hold whole listings of UTF-8 strings, so they decode.
        let Ok(z) = z.to_input() else { continue };
        read.entry(z.assignment.zipcode.clone()).or_insert(z);
    }
    let zipcodes = facts
        .assignments
        .iter()
        .map(|a| {
            read.remove(&a.zipcode).unwrap_or_else(|| ZipcodeInput {
                assignment: wit::Assignment {
                    zipcode: a.zipcode.clone(),
                    expected: a.expected,
                    honeypot: a.honeypot,
                    true_count: a.true_count,
                },
                submissions: Vec::new(),
            })
        })
        .collect();
    let summary = ingest.finish();
    Ok(Ingested {
        run: EpochRun { epoch, zipcodes },
        rejected: summary.rejected,
        accepted: summary.accepted,
    })
}

/// The index of the largest submission (ties: the greater hotkey).
fn largest(subs: &[(SubmissionBatch, u64)]) -> Option<usize> {
    subs.iter()
        .enumerate()
        .max_by(|(_, a), (_, b)| (a.1, &a.0.head().hotkey).cmp(&(b.1, &b.0.head().hotkey)))
        .map(|(i, _)| i)
}

/// A submission committed after `accept_until_ms`: its commit object and when the store
/// dated it.
struct TooLate {
    key: String,
    at: chrono::DateTime<chrono::Utc>,
    until_ms: u64,
}

impl TooLate {
    fn of(&self, hotkey: &str, zipcode: &str) -> Rejection {
        let until = chrono::DateTime::from_timestamp_millis(self.until_ms as i64)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_else(|| self.until_ms.to_string());
        note(
            hotkey,
            zipcode,
            &self.key,
            format!(
                "late: committed at {}, after the deadline plus grace ({until})",
                self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
            false,
        )
    }
}

/// The submission's commit object when the store dated it after `until_ms`.
fn too_late(g: &Group, until_ms: Option<u64>) -> Option<TooLate> {
    let until_ms = until_ms?;
    let commit = g
        .manifest
        .as_ref()
        .or_else(|| g.upstream.iter().max_by_key(|u| (ms(u), u.key.clone())))?;
    (ms(commit) > until_ms).then(|| TooLate {
        key: commit.key.clone(),
        at: commit.last_modified,
        until_ms,
    })
}

/// A submission read and verified.
struct Accepted {
    sub: SubmissionBatch,
    /// Its decoded cost ([`resi_submission::decoded_cost`]).
    cost: u64,
    /// Its listings whose zipcode is another one.
    foreign: u64,
}

enum Loaded {
    /// The submission, with notes.
    Accepted(Accepted, Vec<Rejection>),
    Rejected(Vec<Rejection>),
}

fn note(hotkey: &str, zipcode: &str, key: &str, reason: String, given: bool) -> Rejection {
    Rejection {
        hotkey: hotkey.to_string(),
        zipcode: zipcode.to_string(),
        key: key.to_string(),
        reason,
        given_to_policy: given,
    }
}

async fn load_submission(
    store: &Store,
    facts: &EpochFacts,
    caps: &ReadCaps,
    hotkey: &str,
    zipcode: &str,
    g: Group,
) -> Loaded {
    let mut notes = Vec::new();
    if let Some(mm) = g.manifest {
        for u in &g.upstream {
            notes.push(note(
                hotkey,
                zipcode,
                &u.key,
                "upstream JSON superseded by the signed manifest.json".into(),
                false,
            ));
        }
        let fail = |mut notes: Vec<Rejection>, reason: String| {
            notes.push(note(hotkey, zipcode, &mm.key, reason, false));
            Loaded::Rejected(notes)
        };
        match verify_manifest(
            store,
            facts,
            caps,
            hotkey,
            zipcode,
            &mm,
            g.listings.as_ref(),
        )
        .await
        {
            Ok(accepted) => Loaded::Accepted(accepted, notes),
            Err(reason) => fail(notes, reason),
        }
    } else if !g.upstream.is_empty() {
        let mut ups = g.upstream;
        ups.sort_by(|a, b| (ms(a), &a.key).cmp(&(ms(b), &b.key)));
        let Some(latest) = ups.pop() else {
            return Loaded::Rejected(notes);
        };
        for u in &ups {
            notes.push(note(
                hotkey,
                zipcode,
                &u.key,
                format!("upstream JSON superseded by the later {}", latest.key),
                false,
            ));
        }
        if let Some(l) = &g.listings {
            notes.push(note(
                hotkey,
                zipcode,
                &l.key,
                "listings.parquet without manifest.json (no commit point); the upstream JSON is used".into(),
                false,
            ));
        }
        match read_upstream(store, facts, caps, hotkey, zipcode, &latest).await {
            Ok(accepted) => {
                notes.push(note(
                    hotkey,
                    zipcode,
                    &latest.key,
                    "upstream JSON without a signed manifest: given to the policy with manifest_ok=false (cannot be paid)".into(),
                    true,
                ));
                Loaded::Accepted(accepted, notes)
            }
            Err(reason) => {
                notes.push(note(hotkey, zipcode, &latest.key, reason, false));
                Loaded::Rejected(notes)
            }
        }
    } else {
        let key = g.listings.map(|m| m.key).unwrap_or_default();
        notes.push(note(
            hotkey,
            zipcode,
            &key,
            "listings.parquet without manifest.json (no commit point)".into(),
            false,
        ));
        Loaded::Rejected(notes)
    }
}

async fn verify_manifest(
    store: &Store,
    facts: &EpochFacts,
    caps: &ReadCaps,
    hotkey: &str,
    zipcode: &str,
    mm: &ObjectMeta,
    listings: Option<&ObjectMeta>,
) -> Result<Accepted, String> {
    tracing::debug!(hotkey, zipcode, key = %mm.key, "verifying manifest");
    let max_manifest = MAX_MANIFEST_BYTES.min(caps.max_file_bytes);
    if mm.size > max_manifest {
        return Err(format!(
            "manifest.json is {} bytes, more than the cap of {max_manifest}",
            mm.size
        ));
    }
    let bytes = store
        .get(&mm.key, max_manifest)
        .await
        .map_err(|e| format!("reading manifest.json: {}", ErrorChain(&e)))?;
    let manifest = Manifest::from_json(&bytes, caps)
        .map_err(|e| format!("manifest.json: {}", ErrorChain(&e)))?;
    let key = ObjectKey::parse(&mm.key).map_err(|e| e.to_string())?;
    manifest
        .check_key(&key)
        .map_err(|e| format!("duplicate or copied manifest: {}", ErrorChain(&e)))?;
    manifest
        .verify(hotkey)
        .map_err(|e| format!("forged or invalid manifest: {}", ErrorChain(&e)))?;
    if manifest.nonce != facts.nonce {
        return Err(format!(
            "wrong nonce: manifest has {:?}, epoch {} has {:?}",
            manifest.nonce, facts.epoch_id, facts.nonce
        ));
    }
    if manifest.parquet_size > caps.max_file_bytes {
        return Err(format!(
            "manifest claims a {}-byte listings.parquet, more than the cap of {}",
            manifest.parquet_size, caps.max_file_bytes
        ));
    }
    if manifest.listing_count > caps.max_rows {
        return Err(format!(
            "manifest claims {} listings, more than the cap of {}",
            manifest.listing_count, caps.max_rows
        ));
    }
    let lm = listings.ok_or("manifest.json without listings.parquet")?;
    if lm.size != manifest.parquet_size {
        return Err(format!(
            "listings.parquet is {} bytes in the store, the manifest says {}",
            lm.size, manifest.parquet_size
        ));
    }
    let parquet = store
        .get(&lm.key, caps.max_file_bytes)
        .await
        .map_err(|e| format!("reading listings.parquet: {}", ErrorChain(&e)))?;
    manifest
        .check_parquet(&parquet)
        .map_err(|e| ErrorChain(&e).to_string())?;
    let batch = resi_submission::read_batch(&parquet, caps, zipcode)
        .map_err(|e| format!("listings.parquet: {}", ErrorChain(&e)))?;
    if batch.listings != manifest.listing_count {
        return Err(format!(
            "listings.parquet has {} rows, the manifest says {}",
            batch.listings, manifest.listing_count
        ));
    }
    let digest = resi_policy::hash::sha256(&parquet).to_vec();
    drop(parquet);
    let head = wit::SubmissionHead {
        hotkey: hotkey.to_string(),
        submitted_at_ms: ms(mm),
        manifest_ok: true,
        digest,
        listings: u32::try_from(batch.listings).map_err(|_| "too many listings".to_string())?,
    };
    let sub =
        SubmissionBatch::new(head, batch.bytes).map_err(|e| format!("listings.parquet: {e}"))?;
    Ok(Accepted {
        sub,
        cost: batch.decoded,
        foreign: batch.foreign,
    })
}

async fn read_upstream(
    store: &Store,
    facts: &EpochFacts,
    caps: &ReadCaps,
    hotkey: &str,
    zipcode: &str,
    m: &ObjectMeta,
) -> Result<Accepted, String> {
    if m.size > caps.max_file_bytes {
        return Err(format!(
            "upstream JSON is {} bytes, more than the cap of {}",
            m.size, caps.max_file_bytes
        ));
    }
    let bytes = store
        .get(&m.key, caps.max_file_bytes)
        .await
        .map_err(|e| format!("reading upstream JSON: {}", ErrorChain(&e)))?;
    let up = UpstreamSubmission::from_json(&bytes, caps)
        .map_err(|e| format!("upstream JSON: {}", ErrorChain(&e)))?;
    for (field, found, want) in [
        ("epoch_id", &up.epoch_id, &facts.epoch_id),
        ("zipcode", &up.zipcode, &zipcode.to_string()),
        ("miner_hotkey", &up.miner_hotkey, &hotkey.to_string()),
    ] {
        if found != want {
            return Err(format!(
                "upstream JSON {field} is {found:?} but its object key says {want:?}"
            ));
        }
    }
    let cost = resi_submission::decoded_cost(&up.listings);
    let foreign = up.listings.iter().filter(|l| l.zipcode != zipcode).count() as u64;
    let sub = wit::Submission {
        hotkey: hotkey.to_string(),
        submitted_at_ms: ms(m),
        manifest_ok: false,
        digest: resi_policy::hash::sha256(&bytes).to_vec(),
        listings: up.listings.into_iter().map(wit::Listing::from).collect(),
    };
    Ok(Accepted {
        sub: SubmissionBatch::from_records(&sub),
        cost,
        foreign,
    })
}
