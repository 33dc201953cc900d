//! `zipcode-competitive` 1.1.0: the rules of 1.0.0 (spec `scoring-zipcode-competitive-v1.md`)
//! on the `resi:policy@1.1.0` ABI, where a zipcode's listings arrive as one listing batch
//! (`resi_rules::batch`) and are read in place instead of being copied into records.
//!
//! Params, the spot-check sample, the tie-break, `finalize` and the canonical outcome are the
//! frozen 1.0.0 core's own functions; what is written again here is what touches listings:
//! the gates G1..G3 and the honeypot check over borrowed [`ListingView`]s, the spot-check walk
//! and `score-zipcode`. G2 is `resi_rules::identity`, the rule the miner applies when it
//! builds a submission. The outcome equals 1.0.0's on the same input except for the policy
//! version it names (tests in the host run both on the released vectors and random epochs).
//!
//! Integer arithmetic only; every collection iterated is sorted by a canonical key first; no
//! hash set or map is built from submitted data (G2 sorts), so no input can make it slow.

#![forbid(unsafe_code)]

use resi_rules::batch::{self, BatchReader, ListingView};
use resi_rules::identity::{Uniqueness, present};
use std::collections::{BTreeMap, BTreeSet};
pub use zipcode_competitive_core as v1_0;
use zipcode_competitive_core::gates::{at_least_pct, ceil_pct, floor_pct, parse_iso8601};
use zipcode_competitive_core::params::Params;
use zipcode_competitive_core::{
    Assignment, Candidate, CheckRequest, Epoch, Gate, ListingRef, Observation, Observed, Outcome,
    PolicyError, PolicyInfo, ZipcodeResult, sample,
};

/// Policy name (the same policy as 1.0.0).
pub const NAME: &str = v1_0::NAME;
/// Policy version.
pub const VERSION: &str = "1.1.0";

/// One miner's submission for one zipcode; its listings are the next `listings` of the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmissionHead<'a> {
    /// Miner hotkey (ss58).
    pub hotkey: &'a str,
    /// Object-store time of the manifest, unix milliseconds.
    pub submitted_at_ms: u64,
    /// Manifest signature, nonce and digests verified by the host.
    pub manifest_ok: bool,
    /// sha256 of the listings file.
    pub digest: &'a [u8],
    /// How many listings of the batch are this submission's.
    pub listings: u32,
}

/// Name, version and default params.
pub fn info() -> PolicyInfo {
    PolicyInfo {
        name: NAME.into(),
        version: VERSION.into(),
        default_params: v1_0::params::default_params_json(),
    }
}

fn parse_params(json: &str) -> Result<Params, PolicyError> {
    Params::parse(json).map_err(PolicyError::Params)
}

/// A zipcode's submissions over its batch: listing `i` of submission `s` starts at
/// `offsets[s.first + i]`.
struct Zipcode<'a> {
    batch: &'a [u8],
    offsets: Vec<u32>,
    subs: Vec<Sub<'a>>,
}

struct Sub<'a> {
    head: &'a SubmissionHead<'a>,
    /// Position in the submissions as given.
    index: usize,
    first: usize,
}

impl<'a> Zipcode<'a> {
    fn new(heads: &'a [SubmissionHead<'a>], batch: &'a [u8]) -> Result<Self, PolicyError> {
        let total: u64 = heads.iter().map(|h| u64::from(h.listings)).sum();
        let offsets = batch::index(batch, total).map_err(|e| PolicyError::Input(e.to_string()))?;
        let mut first = 0usize;
        let subs = heads
            .iter()
            .enumerate()
            .map(|(index, head)| {
                let s = Sub { head, index, first };
                first += head.listings as usize;
                s
            })
            .collect();
        Ok(Zipcode {
            batch,
            offsets,
            subs,
        })
    }

    /// Listing `i` of `sub`.
    fn listing(&self, sub: &Sub<'_>, i: usize) -> Result<ListingView<'a>, PolicyError> {
        let at = self.offsets[sub.first + i] as usize;
        BatchReader::read_at(self.batch, at)
            .map(|(view, _)| view)
            .map_err(|e| PolicyError::Input(e.to_string()))
    }
}

/// A listing is complete when `address, price, listing_date, property_type, listing_status,
/// source_url, scraped_timestamp, zipcode` are present and non-empty, plus `zpid` or `mls_id`.
pub fn is_complete(l: &ListingView<'_>) -> bool {
    !l.address.is_empty()
        && l.price.is_some()
        && !l.listing_date.is_empty()
        && !l.property_type.is_empty()
        && !l.listing_status.is_empty()
        && !l.source_url.is_empty()
        && !l.scraped_timestamp.is_empty()
        && !l.zipcode.is_empty()
        && (present(l.zpid).is_some() || present(l.mls_id).is_some())
}

/// A listing is reasonable when its price is within `price_min..=price_max`, bedrooms,
/// bathrooms and sqft (when present) within their ranges, and both dates parse.
pub fn is_reasonable(params: &Params, l: &ListingView<'_>) -> bool {
    l.price
        .is_some_and(|p| (params.price_min..=params.price_max).contains(&p))
        && l.bedrooms
            .is_none_or(|b| u64::from(b) <= params.bedrooms_max)
        && l.bathrooms_hundredths
            .is_none_or(|b| u64::from(b) <= params.bathrooms_max_hundredths)
        && l.sqft
            .is_none_or(|s| (params.sqft_min..=params.sqft_max).contains(&u64::from(s)))
        && parse_iso8601(l.listing_date)
        && parse_iso8601(l.scraped_timestamp)
}

struct Evaluated<'z, 'a> {
    sub: &'z Sub<'a>,
    gates: [Gate; 4],
    honeypot: bool,
}

impl Evaluated<'_, '_> {
    fn is_candidate(&self) -> bool {
        self.gates.iter().all(|g| *g == Gate::Passed)
    }
    fn hotkey(&self) -> &str {
        self.sub.head.hotkey
    }
}

/// G2 (uniqueness) and G3 (quality) of one submission in one pass over its listings.
fn g2_g3(
    params: &Params,
    assignment: &Assignment,
    z: &Zipcode<'_>,
    sub: &Sub<'_>,
) -> Result<(bool, bool), PolicyError> {
    let n = sub.head.listings as usize;
    let mut unique = Uniqueness::with_capacity(n);
    let (mut zip_ok, mut complete, mut reasonable) = (true, 0u64, 0u64);
    for i in 0..n {
        let l = z.listing(sub, i)?;
        unique.push(l.zpid, l.mls_id, l.address);
        zip_ok &= l.zipcode == assignment.zipcode;
        complete += u64::from(is_complete(&l));
        reasonable += u64::from(is_reasonable(params, &l));
    }
    let n = n as u64;
    let g3 = zip_ok
        && at_least_pct(complete, n, params.complete_min_pct)
        && at_least_pct(reasonable, n, params.reasonable_min_pct);
    Ok((unique.passes(), g3))
}

fn evaluate<'z, 'a>(
    params: &Params,
    epoch: &Epoch,
    assignment: &Assignment,
    z: &'z Zipcode<'a>,
) -> Result<Vec<Evaluated<'z, 'a>>, PolicyError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(z.subs.len());
    for sub in &z.subs {
        let head = sub.head;
        if !seen.insert(head.hotkey) {
            return Err(PolicyError::Input(format!(
                "two submissions of {} for zipcode {}",
                head.hotkey, assignment.zipcode
            )));
        }
        let mut gates = [Gate::Skipped; 4];
        let mut honeypot = false;
        let g0 = head.manifest_ok
            && head.submitted_at_ms <= epoch.deadline_ms.saturating_add(params.grace_ms);
        if g0 {
            gates[0] = Gate::Passed;
            let n = u64::from(head.listings);
            if assignment.honeypot {
                let t = u64::from(assignment.true_count);
                let slack = params
                    .honeypot_slack_min
                    .max(ceil_pct(t, params.honeypot_slack_pct));
                honeypot = n > t.saturating_add(slack);
            }
            let e = u64::from(assignment.expected);
            let g1 = floor_pct(e, params.quantity_min_pct) <= n
                && n <= ceil_pct(e, params.quantity_max_pct);
            if !g1 {
                gates[1] = Gate::Failed;
            } else {
                gates[1] = Gate::Passed;
                let (g2, g3) = g2_g3(params, assignment, z, sub)?;
                if !g2 {
                    gates[2] = Gate::Failed;
                } else {
                    gates[2] = Gate::Passed;
                    gates[3] = if g3 { Gate::Passed } else { Gate::Failed };
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
    out.sort_by(|a, b| a.hotkey().cmp(b.hotkey()));
    Ok(out)
}

/// What `plan-zipcode` returns: the checks still wanted and the state for the next call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Spot checks still wanted; empty = done.
    pub checks: Vec<CheckRequest>,
    /// The zipcode's state ([`Evaluated`] gates of every submission) for its next call.
    pub state: Vec<u8>,
}

/// First bytes of a state.
const STATE_MAGIC: &[u8; 4] = b"zc11";

/// A fixed 64-bit fingerprint of what the gates depend on (params, epoch deadline, the
/// assignment and every submission's head), so that a state handed back for another input is
/// refused rather than believed. Not a defence against the host (the validator's own
/// process), a check against its mistakes.
fn fingerprint(params_json: &str, epoch: &Epoch, assignment: &Assignment, z: &Zipcode<'_>) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut h = 0u64;
    let mut eat = |bytes: &[u8]| {
        h = (h.rotate_left(26) ^ bytes.len() as u64).wrapping_mul(K);
        for w in bytes.chunks(8) {
            let mut a = [0u8; 8];
            a[..w.len()].copy_from_slice(w);
            h = (h.rotate_left(26) ^ u64::from_le_bytes(a)).wrapping_mul(K);
        }
    };
    eat(params_json.as_bytes());
    eat(&epoch.deadline_ms.to_le_bytes());
    eat(assignment.zipcode.as_bytes());
    eat(&[u8::from(assignment.honeypot), 0, 0, 0]);
    eat(&assignment.expected.to_le_bytes());
    eat(&assignment.true_count.to_le_bytes());
    for s in &z.subs {
        let head = s.head;
        eat(head.hotkey.as_bytes());
        eat(head.digest);
        eat(&head.submitted_at_ms.to_le_bytes());
        eat(&[u8::from(head.manifest_ok)]);
        eat(&head.listings.to_le_bytes());
    }
    h
}

fn gate_bits(g: Gate) -> u8 {
    match g {
        Gate::Passed => 0,
        Gate::Failed => 1,
        Gate::Skipped => 2,
    }
}

fn gate_of(bits: u8) -> Option<Gate> {
    match bits {
        0 => Some(Gate::Passed),
        1 => Some(Gate::Failed),
        2 => Some(Gate::Skipped),
        _ => None,
    }
}

/// The state: magic, fingerprint, then per submission (in the order given) one byte of gates
/// (two bits each, G0 lowest) and one honeypot byte.
fn encode_state(fp: u64, z: &Zipcode<'_>, evaluated: &[Evaluated<'_, '_>]) -> Vec<u8> {
    let mut per = vec![(0u8, 0u8); z.subs.len()];
    for e in evaluated {
        let gates = e
            .gates
            .iter()
            .enumerate()
            .fold(0u8, |acc, (i, g)| acc | gate_bits(*g) << (2 * i));
        per[e.sub.index] = (gates, u8::from(e.honeypot));
    }
    let mut out = Vec::with_capacity(12 + 2 * per.len());
    out.extend_from_slice(STATE_MAGIC);
    out.extend_from_slice(&fp.to_le_bytes());
    for (g, h) in per {
        out.push(g);
        out.push(h);
    }
    out
}

/// The submissions' gates: from `state` when it is given, else worked out ([`evaluate`]).
fn evaluated<'z, 'a>(
    params: &Params,
    params_json: &str,
    epoch: &Epoch,
    assignment: &Assignment,
    z: &'z Zipcode<'a>,
    state: &[u8],
) -> Result<(Vec<Evaluated<'z, 'a>>, u64), PolicyError> {
    let fp = fingerprint(params_json, epoch, assignment, z);
    if state.is_empty() {
        return Ok((evaluate(params, epoch, assignment, z)?, fp));
    }
    let refused = || {
        PolicyError::Input(format!(
            "the state handed back for zipcode {} is not one this policy made for this input",
            assignment.zipcode
        ))
    };
    let body = state
        .strip_prefix(STATE_MAGIC.as_slice())
        .filter(|b| b.len() == 8 + 2 * z.subs.len())
        .ok_or_else(refused)?;
    let (fp_bytes, per) = body.split_at(8);
    let mut given = [0u8; 8];
    given.copy_from_slice(fp_bytes);
    if u64::from_le_bytes(given) != fp {
        return Err(refused());
    }
    let mut out = Vec::with_capacity(z.subs.len());
    for (sub, pair) in z.subs.iter().zip(per.chunks_exact(2)) {
        let mut gates = [Gate::Skipped; 4];
        for (i, g) in gates.iter_mut().enumerate() {
            *g = gate_of((pair[0] >> (2 * i)) & 3).ok_or_else(refused)?;
        }
        out.push(Evaluated {
            sub,
            gates,
            honeypot: pair[1] != 0,
        });
    }
    out.sort_by(|a, b| a.hotkey().cmp(b.hotkey()));
    Ok((out, fp))
}

fn candidate_order<'b, 'z, 'a>(
    epoch: &Epoch,
    evaluated: &'b [Evaluated<'z, 'a>],
) -> Vec<&'b Evaluated<'z, 'a>> {
    let mut c: Vec<(u64, [u8; 32], &Evaluated<'z, 'a>)> = evaluated
        .iter()
        .filter(|e| e.is_candidate())
        .map(|e| {
            (
                e.sub.head.submitted_at_ms,
                v1_0::tie_break(&epoch.validation_seed, e.hotkey()),
                e,
            )
        })
        .collect();
    c.sort_by(|a, b| (a.0, a.1, a.2.hotkey()).cmp(&(b.0, b.1, b.2.hotkey())));
    c.into_iter().map(|(_, _, e)| e).collect()
}

fn index_observations(
    observations: &[Observation],
) -> Result<BTreeMap<(&str, u32), &Observed>, PolicyError> {
    let mut map = BTreeMap::new();
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Passed,
    Failed { fabrication: bool },
    Undecided,
}

/// Whether the source's record matches the submitted listing (1.0.0's rule): every id both
/// have agrees and at least one is shared, same zipcode, same normalized address, price
/// within `price_tolerance_pct` of the source's, bedrooms and bathrooms equal when both have
/// them.
pub fn matches(params: &Params, submitted: &ListingView<'_>, observed: &v1_0::Listing) -> bool {
    let mut shared_id = false;
    for (a, b) in [
        (submitted.zpid, observed.zpid.as_deref()),
        (submitted.mls_id, observed.mls_id.as_deref()),
    ] {
        if let (Some(a), Some(b)) = (present(a), present(b)) {
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
        && resi_rules::address::normalize(submitted.address)
            == resi_rules::address::normalize(&observed.address)
        && price_ok
        && eq_if_both(submitted.bedrooms, observed.bedrooms)
        && eq_if_both(
            submitted.bathrooms_hundredths,
            observed.bathrooms_hundredths,
        )
}

fn verdict(
    params: &Params,
    z: &Zipcode<'_>,
    sub: &Sub<'_>,
    seen: &[(u64, &Observed)],
) -> Result<Verdict, PolicyError> {
    let mut verifiable = 0u64;
    let mut matched = 0u64;
    let mut not_found = false;
    for (pos, o) in seen {
        match o {
            Observed::Found(record) => {
                verifiable += 1;
                let submitted = z.listing(sub, *pos as usize)?;
                matched += u64::from(matches(params, &submitted, record));
            }
            Observed::NotFound => {
                verifiable += 1;
                not_found = true;
            }
            Observed::Unverifiable => {}
        }
    }
    Ok(if not_found {
        Verdict::Failed { fabrication: true }
    } else if verifiable == 0 {
        Verdict::Undecided
    } else if at_least_pct(matched, verifiable, params.match_min_pct) {
        Verdict::Passed
    } else {
        Verdict::Failed { fabrication: false }
    })
}

fn listing_ref(l: &ListingView<'_>) -> ListingRef {
    ListingRef {
        zpid: l.zpid.map(str::to_owned),
        mls_id: l.mls_id.map(str::to_owned),
        zipcode: l.zipcode.to_owned(),
        address: l.address.to_owned(),
        source_url: l.source_url.to_owned(),
    }
}

struct Walk<'a> {
    verdicts: BTreeMap<&'a str, Verdict>,
    missing: Vec<CheckRequest>,
}

/// The spot-check walk of 1.0.0: candidates in order, in batches no larger than the winners
/// still wanted and the examinations left, each sampled; stops at the first batch with a
/// missing observation (those are what `plan-zipcode` asks for).
fn walk<'a>(
    params: &Params,
    epoch: &Epoch,
    assignment: &Assignment,
    z: &Zipcode<'a>,
    order: &[&Evaluated<'_, 'a>],
    observations: &BTreeMap<(&str, u32), &Observed>,
) -> Result<Walk<'a>, PolicyError> {
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
            let head = sub.head;
            let n = u64::from(head.listings);
            let seed = sample::sample_seed(
                &epoch.validation_seed,
                head.hotkey,
                &assignment.zipcode,
                head.digest,
            );
            let positions = sample::sample_positions(&seed, n, sample::sample_size(params, n));
            let mut seen = Vec::with_capacity(positions.len());
            for pos in positions {
                let index = pos as u32;
                match observations.get(&(head.hotkey, index)) {
                    Some(o) => seen.push((pos, *o)),
                    None => missing.push(CheckRequest {
                        hotkey: head.hotkey.to_owned(),
                        index,
                        target: listing_ref(&z.listing(sub, pos as usize)?),
                    }),
                }
            }
            batch_verdicts.push((head.hotkey, verdict(params, z, sub, &seen)?));
        }
        if !missing.is_empty() {
            missing.sort_by(|a, b| (&a.hotkey, a.index).cmp(&(&b.hotkey, b.index)));
            return Ok(Walk { verdicts, missing });
        }
        for (hotkey, v) in batch_verdicts {
            examined += 1;
            passed += u64::from(v == Verdict::Passed);
            verdicts.insert(hotkey, v);
        }
        next += batch.len();
    }
    Ok(Walk {
        verdicts,
        missing: Vec::new(),
    })
}

/// Spot checks still wanted for one zipcode given the observations so far (empty = done),
/// and the state to hand to the zipcode's next call (`state` is the previous call's, or
/// empty).
#[allow(clippy::too_many_arguments)]
pub fn plan_zipcode(
    params_json: &str,
    epoch: &Epoch,
    assignment: &Assignment,
    submissions: &[SubmissionHead<'_>],
    listings: &[u8],
    observations: &[Observation],
    state: &[u8],
) -> Result<Plan, PolicyError> {
    let params = parse_params(params_json)?;
    let z = Zipcode::new(submissions, listings)?;
    let (evaluated, fp) = evaluated(&params, params_json, epoch, assignment, &z, state)?;
    let order = candidate_order(epoch, &evaluated);
    let observed = index_observations(observations)?;
    let checks = walk(&params, epoch, assignment, &z, &order, &observed)?.missing;
    Ok(Plan {
        checks,
        state: encode_state(fp, &z, &evaluated),
    })
}

/// Gates, ranks and shares of one zipcode (1.0.0's rule); `state` is the last
/// `plan-zipcode`'s, or empty.
#[allow(clippy::too_many_arguments)]
pub fn score_zipcode(
    params_json: &str,
    epoch: &Epoch,
    assignment: &Assignment,
    total_expected: u64,
    submissions: &[SubmissionHead<'_>],
    listings: &[u8],
    observations: &[Observation],
    state: &[u8],
) -> Result<ZipcodeResult, PolicyError> {
    let params = parse_params(params_json)?;
    let z = Zipcode::new(submissions, listings)?;
    let (evaluated, _) = evaluated(&params, params_json, epoch, assignment, &z, state)?;
    let order = candidate_order(epoch, &evaluated);
    let observed = index_observations(observations)?;
    let walk = walk(&params, epoch, assignment, &z, &order, &observed)?;
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
        u128::from(assignment.expected) * v1_0::SCALE / u128::from(total_expected)
    };
    let mut ranks: BTreeMap<&str, u8> = BTreeMap::new();
    let mut participants: BTreeSet<&str> = BTreeSet::new();
    for e in &order {
        let hotkey = e.hotkey();
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
            let hotkey = e.hotkey();
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
                share: u64::try_from(share).unwrap_or(u64::MAX),
                flags: if fabrication {
                    vec![v1_0::FLAG_FABRICATION.to_string()]
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

/// Combines zipcode results into weights and the canonical outcome: 1.0.0's `finalize`, with
/// this version named in the outcome.
pub fn finalize(
    params_json: &str,
    epoch: &Epoch,
    results: &[ZipcodeResult],
) -> Result<Outcome, PolicyError> {
    let mut outcome = v1_0::finalize(params_json, epoch, results)?;
    // The version is a root key of the canonical object; a JSON string cannot hold an
    // unescaped quote, so this text occurs exactly once.
    let from = format!("\"version\":\"{}\"", v1_0::VERSION);
    let to = format!("\"version\":\"{VERSION}\"");
    outcome.canonical_json = outcome.canonical_json.replacen(&from, &to, 1);
    Ok(outcome)
}
