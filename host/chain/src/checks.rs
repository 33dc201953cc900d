//! The checks subtensor applies to weights, in the chain's order, over a [`Metagraph`].
//!
//! The local chain enforces them; the subtensor client runs them before building an extrinsic so
//! a call that must fail is never paid for. With commit-reveal on, a plain `set_weights` is
//! refused whatever it holds ([`check_set_weights`]); a timelocked commit is checked at commit
//! time for the rate limit and at reveal time for everything else, so [`check_weights`] runs all
//! of them before the commit is sent.

use crate::error::ChainError;
use crate::types::Metagraph;
use resi_core::keys::PublicKey;
use std::collections::HashSet;

/// Checks a `set_weights` call by `signer` against `meta`; returns the signer's uid.
///
/// Order: commit-reveal, equal lengths, length <= subnet size, signer registered, version key,
/// rate limit (`blocks since LastUpdate >= WeightsSetRateLimit`, a never-set neuron passes),
/// validator permit, no duplicate uids, every uid exists.
pub fn check_set_weights(
    meta: &Metagraph,
    signer: &PublicKey,
    uids: &[u16],
    weights: &[u16],
    version_key: u64,
) -> Result<u16, ChainError> {
    if meta.commit_reveal_enabled {
        return Err(ChainError::CommitRevealEnabled {
            netuid: meta.netuid,
        });
    }
    check_weights(meta, signer, uids, weights, version_key)
}

/// Checks weights by `signer` against `meta` as the chain will when it applies them (directly,
/// or at the reveal of a commit), plus the rate limit; returns the signer's uid. Commit-reveal
/// is not looked at.
///
/// After [`check_set_weights`]' list: `min(n, MinAllowedWeights)` weights at least, and the
/// largest weight's share of the sum at most `MaxWeightsLimit / 65535` (both waived for a
/// weight on the signer's own uid alone, as on chain).
pub fn check_weights(
    meta: &Metagraph,
    signer: &PublicKey,
    uids: &[u16],
    weights: &[u16],
    version_key: u64,
) -> Result<u16, ChainError> {
    let netuid = meta.netuid;
    if uids.len() != weights.len() {
        return Err(ChainError::LengthMismatch {
            uids: uids.len(),
            weights: weights.len(),
        });
    }
    if uids.len() > usize::from(meta.n) {
        return Err(ChainError::TooManyWeights {
            len: uids.len(),
            n: meta.n,
        });
    }
    let Some(neuron) = meta.neurons.iter().find(|n| &n.hotkey == signer) else {
        return Err(ChainError::NotRegistered {
            netuid,
            hotkey: signer.to_ss58(),
        });
    };
    if version_key < meta.weights_version_key {
        return Err(ChainError::VersionKeyTooLow {
            netuid,
            given: version_key,
            required: meta.weights_version_key,
        });
    }
    let remaining = meta.blocks_until_weights_allowed(neuron.uid);
    if remaining > 0 {
        return Err(ChainError::RateLimited {
            netuid,
            uid: neuron.uid,
            last_update: neuron.last_update,
            current_block: meta.block,
            rate_limit: meta.weights_set_rate_limit,
            blocks_remaining: remaining,
        });
    }
    if !neuron.validator_permit {
        return Err(ChainError::NoValidatorPermit {
            netuid,
            uid: neuron.uid,
            hotkey: signer.to_ss58(),
        });
    }
    let mut seen = HashSet::with_capacity(uids.len());
    for &uid in uids {
        if !seen.insert(uid) {
            return Err(ChainError::DuplicateUid(uid));
        }
        if uid >= meta.n {
            return Err(ChainError::InvalidUid {
                netuid,
                uid,
                n: meta.n,
            });
        }
    }
    let self_weight = uids.len() == 1 && uids[0] == neuron.uid;
    let required = usize::from(meta.min_allowed_weights.min(meta.n));
    if !self_weight && uids.len() < required {
        return Err(ChainError::TooFewWeights {
            netuid,
            len: uids.len(),
            required,
        });
    }
    if !self_weight && !within_max_weight_limit(weights, meta.max_weights_limit) {
        let sum: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let max = weights.iter().copied().max().map_or(0, u64::from);
        return Err(ChainError::MaxWeightExceeded {
            netuid,
            share_ppm: (max * 1_000_000).checked_div(sum).unwrap_or(0),
            limit: meta.max_weights_limit,
        });
    }
    Ok(neuron.uid)
}

pub use resi_core::weights::within_max_weight_limit;
