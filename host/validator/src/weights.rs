//! From the outcome's parts-per-billion to weights on chain, as upstream SN46 validators do:
//! hotkeys not in the metagraph are skipped, the validator's own uid gets 0, an optional burn
//! uid receives a fixed share, then bittensor's `process_weights_for_netuid` (the subnet's
//! `MinAllowedWeights` and `MaxWeightsLimit`) and `convert_weights_and_uids_for_emit`.

use crate::error::ValidatorError;
use resi_chain::Metagraph;
use resi_core::keys::PublicKey;
use std::collections::BTreeMap;

/// Weights ready for `set_weights`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmitWeights {
    /// Uids.
    pub uids: Vec<u16>,
    /// u16 weights (max = 65535).
    pub weights: Vec<u16>,
    /// Hotkeys with weight that are not in the metagraph (skipped).
    pub skipped: Vec<String>,
}

/// Maps `(hotkey, ppb)` to uids. `burn = Some((uid, pct))` routes `pct`% of the total to `uid`.
pub fn to_emit(
    miners: &[(String, u64)],
    metagraph: &Metagraph,
    own_uid: Option<u16>,
    burn: Option<(u16, u8)>,
) -> Result<EmitWeights, ValidatorError> {
    let mut by_uid: BTreeMap<u16, f64> = BTreeMap::new();
    let mut skipped = Vec::new();
    for (hk, ppb) in miners {
        if *ppb == 0 {
            continue;
        }
        let uid = PublicKey::from_ss58(hk)
            .ok()
            .and_then(|pk| metagraph.uid_of(&pk));
        match uid {
            Some(u) if Some(u) == own_uid => {}
            Some(u) => *by_uid.entry(u).or_default() += *ppb as f64,
            None => skipped.push(hk.clone()),
        }
    }
    if let Some((uid, pct)) = burn {
        let pct = f64::from(pct.min(100));
        let total: f64 = by_uid.values().sum();
        if pct >= 100.0 || total == 0.0 {
            by_uid.clear();
            by_uid.insert(uid, 1.0);
        } else {
            let burn_w = total * pct / (100.0 - pct);
            *by_uid.entry(uid).or_default() += burn_w;
        }
    }
    let uids: Vec<u16> = by_uid.keys().copied().collect();
    let w: Vec<f64> = by_uid.values().copied().collect();
    // Processed as bittensor's process_weights_for_netuid does, so the chain's MinAllowedWeights
    // and MaxWeightsLimit hold.
    let (uids, weights) = resi_core::weights::weights_for_chain(
        &uids,
        &w,
        metagraph.n,
        metagraph.min_allowed_weights,
        metagraph.max_weights_limit,
    )
    .map_err(|e| ValidatorError::Weights(e.to_string()))?;
    Ok(EmitWeights {
        uids,
        weights,
        skipped,
    })
}
