//! The checks subtensor applies to `set_weights`, in the chain's order, over a [`Metagraph`].
//!
//! The local chain enforces them; the subtensor client runs them before building an extrinsic so
//! a call that must fail is never paid for. Commit-reveal is checked first: when it is on, the
//! chain rejects every plain `set_weights` regardless of its contents.

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
    let netuid = meta.netuid;
    if meta.commit_reveal_enabled {
        return Err(ChainError::CommitRevealEnabled { netuid });
    }
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
    Ok(neuron.uid)
}
