//! `zipcode-competitive-core`: the pure logic of the `zipcode-competitive` 1.0.0 scoring policy
//! (spec: `scoring-zipcode-competitive-v1.md`), with its own plain Rust types.
//!
//! It is compiled twice: into the wasm policy component (through a thin wit-bindgen adapter)
//! and natively by the host (`resi-policy`) to compare both. Integer arithmetic only; every
//! collection that is iterated is sorted by a canonical key first, so results do not depend on
//! the order of zipcodes, submissions or observations. Hash maps use a fixed (unkeyed) hasher
//! and are only used for lookups, never iterated.
//!
//! The entry points mirror the WIT `policy` interface: [`info`], [`plan_zipcode`],
//! [`score_zipcode`] and [`finalize`].

#![forbid(unsafe_code)]

pub mod canonical;
pub mod gates;
pub mod params;
pub mod sample;
pub mod types;

use canonical::{Value, object, string};
use params::Params;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasherDefault;
pub use types::*;

/// A hash map with a fixed, unkeyed hasher (deterministic, no randomness needed on wasm).
pub(crate) type FixedMap<K, V> = HashMap<K, V, BuildHasherDefault<DefaultHasher>>;
/// A hash set with a fixed, unkeyed hasher.
pub(crate) type FixedSet<K> = HashSet<K, BuildHasherDefault<DefaultHasher>>;

/// Policy name.
pub const NAME: &str = "zipcode-competitive";
/// Policy version.
pub const VERSION: &str = "1.0.0";
/// Fixed-point scale of shares: 10^18 = the whole epoch.
pub const SCALE: u128 = 1_000_000_000_000_000_000;
/// Parts per billion.
pub const PPB: u128 = 1_000_000_000;
/// The flag that zeroes a miner's whole epoch.
pub const FLAG_FABRICATION: &str = "fabrication";
/// Number of gates reported per candidate (G0..G4).
pub const GATES: usize = 5;

/// Why the policy refused its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// The params JSON is invalid.
    Params(String),
    /// The input breaks the contract (duplicates, inconsistent totals, ...).
    Input(String),
    /// `score-zipcode` was called before planning finished.
    MissingObservation {
        /// Miner hotkey.
        hotkey: String,
        /// Listing position.
        index: u32,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Params(m) => write!(f, "{m}"),
            PolicyError::Input(m) => write!(f, "invalid input: {m}"),
            PolicyError::MissingObservation { hotkey, index } => write!(
                f,
                "score-zipcode called before planning finished: no observation for listing \
                 {index} of {hotkey}"
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

/// The policy's name, version and default parameters.
pub fn info() -> PolicyInfo {
    PolicyInfo {
        name: NAME.into(),
        version: VERSION.into(),
        default_params: params::default_params_json(),
    }
}

fn parse_params(json: &str) -> Result<Params, PolicyError> {
    Params::parse(json).map_err(PolicyError::Params)
}

/// Per-submission gate evaluation before spot checks.
struct Evaluated<'a> {
    sub: &'a Submission,
    /// G0..G3 verdicts.
    gates: [Gate; 4],
    /// Honeypot fabrication.
    honeypot: bool,
}

impl Evaluated<'_> {
    fn is_candidate(&self) -> bool {
        self.gates.iter().all(|g| *g == Gate::Passed)
    }
}

fn evaluate<'a>(
    params: &Params,
    epoch: &Epoch,
    assignment: &Assignment,
    submissions: &'a [Submission],
) -> Result<Vec<Evaluated<'a>>, PolicyError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(submissions.len());
    for sub in submissions {
        if !seen.insert(sub.hotkey.as_str()) {
            return Err(PolicyError::Input(format!(
                "two submissions of {} for zipcode {}",
                sub.hotkey, assignment.zipcode
            )));
        }
        let mut gates = [Gate::Skipped; 4];
        let mut honeypot = false;
        if gates::g0(params, epoch, sub) {
            gates[0] = Gate::Passed;
            honeypot = gates::honeypot_fabricated(params, assignment, sub);
            let checks: [&dyn Fn() -> bool; 3] = [
                &|| gates::g1(params, assignment, sub),
                &|| gates::g2(sub),
                &|| gates::g3(params, assignment, sub),
            ];
            for (i, check) in checks.iter().enumerate() {
                if check() {
                    gates[i + 1] = Gate::Passed;
                } else {
                    gates[i + 1] = Gate::Failed;
                    break;
                }
            }
        } else {
            gates[0] = Gate::Failed;
        }
        out.push(Evaluated {
            sub,
            gates,
            honeypot,
        });
    }
    out.sort_by(|a, b| a.sub.hotkey.cmp(&b.sub.hotkey));
    Ok(out)
}

/// `sha256(validation_seed || hotkey)`: the tie-break of equal submission times.
pub fn tie_break(validation_seed: &[u8], hotkey: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(validation_seed);
    h.update(hotkey.as_bytes());
    h.finalize().into()
}

/// Candidates (G0..G3 passed) in examination order: `submitted_at_ms`, then
/// `sha256(validation_seed || hotkey)` ascending, then hotkey.
fn candidate_order<'a, 'b>(
    epoch: &Epoch,
    evaluated: &'b [Evaluated<'a>],
) -> Vec<&'b Evaluated<'a>> {
    let mut c: Vec<(u64, [u8; 32], &Evaluated<'a>)> = evaluated
        .iter()
        .filter(|e| e.is_candidate())
        .map(|e| {
            (
                e.sub.submitted_at_ms,
                tie_break(&epoch.validation_seed, &e.sub.hotkey),
                e,
            )
        })
        .collect();
    c.sort_by(|a, b| (a.0, a.1, &a.2.sub.hotkey).cmp(&(b.0, b.1, &b.2.sub.hotkey)));
    c.into_iter().map(|(_, _, e)| e).collect()
}

/// Observations indexed by (hotkey, index); a duplicate key is refused.
fn index_observations(
    observations: &[Observation],
) -> Result<FixedMap<(&str, u32), &Observed>, PolicyError> {
    let mut map = FixedMap::with_capacity_and_hasher(observations.len(), Default::default());
    for o in observations {
        if map.insert((o.hotkey.as_str(), o.index), &o.seen).is_some() {
            return Err(PolicyError::Input(format!(
                "two observations of listing {} of {}",
                o.index, o.hotkey
            )));
        }
    }
    Ok(map)
}

/// G4 verdict of one examined candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Enough verifiable matches.
    Passed,
    /// Too few matches, or a `not_found` (then `fabrication`).
    Failed { fabrication: bool },
    /// Every observation unverifiable (or nothing to sample): no verdict, a participant.
    Undecided,
}

/// Does the observed record match the submitted listing? Identifiers present on both sides
/// are equal and at least one is shared, zipcode and normalized address equal, both prices
/// present and `|submitted - observed| * 100 <= tolerance_pct * observed`, bedrooms and
/// bathrooms equal where both sides have them.
pub fn matches(params: &Params, submitted: &Listing, observed: &Listing) -> bool {
    let mut shared_id = false;
    for (a, b) in [
        (&submitted.zpid, &observed.zpid),
        (&submitted.mls_id, &observed.mls_id),
    ] {
        let a = a.as_deref().filter(|s| !s.is_empty());
        let b = b.as_deref().filter(|s| !s.is_empty());
        if let (Some(a), Some(b)) = (a, b) {
            if a != b {
                return false;
            }
            shared_id = true;
        }
    }
    let price_ok = match (submitted.price, observed.price) {
        (Some(s), Some(o)) => {
            u128::from(s.abs_diff(o)) * 100
                <= u128::from(params.price_tolerance_pct) * u128::from(o)
        }
        _ => false,
    };
    let eq_if_both = |a: Option<u32>, b: Option<u32>| match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    shared_id
        && submitted.zipcode == observed.zipcode
        && gates::normalize_address(&submitted.address)
            == gates::normalize_address(&observed.address)
        && price_ok
        && eq_if_both(submitted.bedrooms, observed.bedrooms)
        && eq_if_both(
            submitted.bathrooms_hundredths,
            observed.bathrooms_hundredths,
        )
}

fn verdict(params: &Params, sub: &Submission, seen: &[(u64, &Observed)]) -> Verdict {
    let mut verifiable = 0u64;
    let mut matched = 0u64;
    let mut not_found = false;
    for (pos, o) in seen {
        match o {
            Observed::Found(record) => {
                verifiable += 1;
                let submitted = &sub.listings[*pos as usize];
                matched += u64::from(matches(params, submitted, record));
            }
            Observed::NotFound => {
                verifiable += 1;
                not_found = true;
            }
            Observed::Unverifiable => {}
        }
    }
    if not_found {
        Verdict::Failed { fabrication: true }
    } else if verifiable == 0 {
        Verdict::Undecided
    } else if gates::at_least_pct(matched, verifiable, params.match_min_pct) {
        Verdict::Passed
    } else {
        Verdict::Failed { fabrication: false }
    }
}

/// Outcome of walking the candidates: verdicts so far and the checks still missing.
struct Walk<'a> {
    verdicts: BTreeMap<&'a str, Verdict>,
    missing: Vec<CheckRequest>,
}

/// Deep validation in candidate order until `winners` pass or `max_deep` are examined.
///
/// Each round requests the samples of the next `min(winners - passed, max_deep - examined)`
/// candidates at once: all of them are examined whatever their verdicts (passing fewer than
/// that many cannot reach `winners`, and they fit in `max_deep`), so batching never asks for a
/// check the sequential procedure would not make.
fn walk<'a>(
    params: &Params,
    epoch: &Epoch,
    assignment: &Assignment,
    order: &[&Evaluated<'a>],
    observations: &FixedMap<(&str, u32), &Observed>,
) -> Walk<'a> {
    let winners = params.rank_shares_pct.len() as u64;
    let mut verdicts = BTreeMap::new();
    let (mut passed, mut examined, mut next) = (0u64, 0u64, 0usize);
    while passed < winners && examined < params.max_deep && next < order.len() {
        let window = (winners - passed).min(params.max_deep - examined) as usize;
        let batch = &order[next..order.len().min(next + window)];
        let mut missing = Vec::new();
        let mut batch_verdicts = Vec::new();
        for e in batch {
            let sub = e.sub;
            let n = sub.listings.len() as u64;
            let seed = sample::sample_seed(
                &epoch.validation_seed,
                &sub.hotkey,
                &assignment.zipcode,
                &sub.digest,
            );
            let positions = sample::sample_positions(&seed, n, sample::sample_size(params, n));
            let mut seen = Vec::with_capacity(positions.len());
            for pos in positions {
                let index = pos as u32;
                match observations.get(&(sub.hotkey.as_str(), index)) {
                    Some(o) => seen.push((pos, *o)),
                    None => missing.push(CheckRequest {
                        hotkey: sub.hotkey.clone(),
                        index,
                        target: ListingRef::of(&sub.listings[pos as usize]),
                    }),
                }
            }
            batch_verdicts.push((sub.hotkey.as_str(), verdict(params, sub, &seen)));
        }
        if !missing.is_empty() {
            missing.sort_by(|a, b| (&a.hotkey, a.index).cmp(&(&b.hotkey, b.index)));
            return Walk { verdicts, missing };
        }
        for (hotkey, v) in batch_verdicts {
            examined += 1;
            passed += u64::from(v == Verdict::Passed);
            verdicts.insert(hotkey, v);
        }
        next += batch.len();
    }
    Walk {
        verdicts,
        missing: Vec::new(),
    }
}

/// Spot checks still wanted for one zipcode given the observations so far; empty = done.
pub fn plan_zipcode(
    params_json: &str,
    epoch: &Epoch,
    assignment: &Assignment,
    submissions: &[Submission],
    observations: &[Observation],
) -> Result<Vec<CheckRequest>, PolicyError> {
    let params = parse_params(params_json)?;
    let evaluated = evaluate(&params, epoch, assignment, submissions)?;
    let order = candidate_order(epoch, &evaluated);
    let observed = index_observations(observations)?;
    Ok(walk(&params, epoch, assignment, &order, &observed).missing)
}

/// Gates, ranks and shares of one zipcode. `total_expected` sums `expected` over the epoch's
/// non-honeypot zipcodes.
pub fn score_zipcode(
    params_json: &str,
    epoch: &Epoch,
    assignment: &Assignment,
    total_expected: u64,
    submissions: &[Submission],
    observations: &[Observation],
) -> Result<ZipcodeResult, PolicyError> {
    let params = parse_params(params_json)?;
    let evaluated = evaluate(&params, epoch, assignment, submissions)?;
    let order = candidate_order(epoch, &evaluated);
    let observed = index_observations(observations)?;
    let walk = walk(&params, epoch, assignment, &order, &observed);
    if let Some(first) = walk.missing.first() {
        return Err(PolicyError::MissingObservation {
            hotkey: first.hotkey.clone(),
            index: first.index,
        });
    }
    let pool: u128 = if assignment.honeypot || total_expected == 0 {
        0
    } else {
        if u64::from(assignment.expected) > total_expected {
            return Err(PolicyError::Input(format!(
                "zipcode {} expects {} listings, more than total-expected {total_expected}",
                assignment.zipcode, assignment.expected
            )));
        }
        u128::from(assignment.expected) * SCALE / u128::from(total_expected)
    };

    // Ranks in candidate order among G4 passes; participants = candidates neither winning nor
    // failing G4.
    let mut ranks: BTreeMap<&str, u8> = BTreeMap::new();
    let mut participants: BTreeSet<&str> = BTreeSet::new();
    for e in &order {
        let hotkey = e.sub.hotkey.as_str();
        match walk.verdicts.get(hotkey) {
            Some(Verdict::Passed) => {
                let rank = ranks.len() + 1;
                ranks.insert(hotkey, rank as u8);
            }
            Some(Verdict::Failed { .. }) => {}
            Some(Verdict::Undecided) | None => {
                participants.insert(hotkey);
            }
        }
    }
    let per_head = if participants.is_empty() {
        0
    } else {
        pool * u128::from(params.participation_pct) / 100 / participants.len() as u128
    };

    let candidates = evaluated
        .iter()
        .map(|e| {
            let hotkey = e.sub.hotkey.as_str();
            let verdict = walk.verdicts.get(hotkey).copied();
            let g4 = match verdict {
                Some(Verdict::Passed) => Gate::Passed,
                Some(Verdict::Failed { .. }) => Gate::Failed,
                Some(Verdict::Undecided) | None => Gate::Skipped,
            };
            let mut gates = e.gates.to_vec();
            gates.push(g4);
            let rank = ranks.get(hotkey).copied();
            let share = match rank {
                Some(r) => pool * u128::from(params.rank_shares_pct[usize::from(r) - 1]) / 100,
                None if participants.contains(hotkey) => per_head,
                None => 0,
            };
            let fabrication =
                e.honeypot || matches!(verdict, Some(Verdict::Failed { fabrication: true }));
            Candidate {
                hotkey: hotkey.to_string(),
                gates,
                rank,
                // share <= pool <= SCALE < 2^64
                share: u64::try_from(share).unwrap_or(u64::MAX),
                flags: if fabrication {
                    vec![FLAG_FABRICATION.to_string()]
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    Ok(ZipcodeResult {
        zipcode: assignment.zipcode.clone(),
        candidates,
    })
}

fn candidate_value(c: &Candidate) -> Value {
    let mut flags: Vec<&String> = c.flags.iter().collect();
    flags.sort();
    flags.dedup();
    object([
        ("hotkey", string(&c.hotkey)),
        (
            "gates",
            Value::Array(c.gates.iter().map(|g| string(g.as_str())).collect()),
        ),
        (
            "rank",
            c.rank.map_or(Value::Null, |r| Value::Int(i128::from(r))),
        ),
        ("share", Value::Int(i128::from(c.share))),
        (
            "flags",
            Value::Array(flags.into_iter().map(|f| string(f)).collect()),
        ),
    ])
}

/// Combines per-zipcode results into per-miner weights and the canonical outcome. The result
/// is the same whatever the order of `results` and of the candidates inside them.
pub fn finalize(
    params_json: &str,
    epoch: &Epoch,
    results: &[ZipcodeResult],
) -> Result<Outcome, PolicyError> {
    parse_params(params_json)?;
    let mut sorted: Vec<&ZipcodeResult> = results.iter().collect();
    sorted.sort_by(|a, b| a.zipcode.cmp(&b.zipcode));
    if let Some(w) = sorted.windows(2).find(|w| w[0].zipcode == w[1].zipcode) {
        return Err(PolicyError::Input(format!(
            "zipcode {} has two results",
            w[0].zipcode
        )));
    }
    let mut raw: BTreeMap<&str, u128> = BTreeMap::new();
    let mut flags: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut zipcodes = Vec::with_capacity(sorted.len());
    for r in &sorted {
        let mut cands: Vec<&Candidate> = r.candidates.iter().collect();
        cands.sort_by(|a, b| a.hotkey.cmp(&b.hotkey));
        if let Some(w) = cands.windows(2).find(|w| w[0].hotkey == w[1].hotkey) {
            return Err(PolicyError::Input(format!(
                "zipcode {} lists {} twice",
                r.zipcode, w[0].hotkey
            )));
        }
        for c in &cands {
            *raw.entry(c.hotkey.as_str()).or_default() += u128::from(c.share);
            let f = flags.entry(c.hotkey.as_str()).or_default();
            f.extend(c.flags.iter().map(String::as_str));
        }
        zipcodes.push(object([
            ("zipcode", string(&r.zipcode)),
            (
                "candidates",
                Value::Array(cands.iter().map(|c| candidate_value(c)).collect()),
            ),
        ]));
    }
    for (hotkey, f) in &flags {
        if !f.is_empty() {
            raw.insert(hotkey, 0);
        }
    }
    let total: u128 = raw.values().sum();
    let mut miners = Vec::with_capacity(raw.len());
    let mut miner_values = Vec::with_capacity(raw.len());
    for (hotkey, r) in &raw {
        let ppb = (r * PPB).checked_div(total).unwrap_or(0);
        let f: Vec<String> = flags
            .get(hotkey)
            .map(|f| f.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        miner_values.push(object([
            ("hotkey", string(hotkey)),
            ("ppb", Value::Int(ppb as i128)),
            ("raw", Value::Int(*r as i128)),
            ("flags", Value::Array(f.iter().map(|s| string(s)).collect())),
        ]));
        miners.push(MinerWeight {
            hotkey: hotkey.to_string(),
            ppb: ppb as u64,
            flags: f,
        });
    }
    let root = object([
        ("policy", string(NAME)),
        ("version", string(VERSION)),
        ("epoch_id", string(&epoch.epoch_id)),
        ("miners", Value::Array(miner_values)),
        ("zipcodes", Value::Array(zipcodes)),
    ]);
    Ok(Outcome {
        miners,
        canonical_json: root.to_canonical(),
    })
}
