//! Weight normalization for `set_weights`, exactly as bittensor's `convert_weights_and_uids_for_emit`.
//!
//! The float weights are max-upscaled (`w / max(w)`), scaled to `u16::MAX` and rounded half to
//! even (Python's `round`, Rust's [`f64::round_ties_even`]); zero entries are dropped together
//! with their uids. bittensor converts the numpy float32 array to Python floats (exact widening to
//! f64) before dividing, so the arithmetic here is f64 on the widened inputs.

/// Why a weight vector cannot be emitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    /// `uids` and `weights` differ in length.
    #[error("{uids} uids but {weights} weights: the lists must have the same length")]
    LengthMismatch {
        /// Number of uids.
        uids: usize,
        /// Number of weights.
        weights: usize,
    },
    /// A weight is negative.
    #[error("weight {value} for uid {uid} is negative; weights must be >= 0")]
    Negative {
        /// The uid with the bad weight.
        uid: u16,
        /// The weight.
        value: f64,
    },
    /// A weight is NaN or infinite.
    #[error("weight for uid {uid} is not a finite number ({value})")]
    NotFinite {
        /// The uid with the bad weight.
        uid: u16,
        /// The weight.
        value: f64,
    },
}

/// Equal lengths, every weight finite and non-negative.
fn check_inputs(uids: &[u16], weights: &[f64]) -> Result<(), WeightsError> {
    if uids.len() != weights.len() {
        return Err(WeightsError::LengthMismatch {
            uids: uids.len(),
            weights: weights.len(),
        });
    }
    for (&uid, &value) in uids.iter().zip(weights) {
        if !value.is_finite() {
            return Err(WeightsError::NotFinite { uid, value });
        }
        if value < 0.0 {
            return Err(WeightsError::Negative { uid, value });
        }
    }
    Ok(())
}

/// Converts f32 weights (what a validator computes; the inputs of the bittensor vectors) to the
/// `(uids, u16 weights)` pair sent on chain. An all-zero (or empty) input yields two empty lists:
/// nothing to set.
pub fn convert_weights_and_uids_for_emit(
    uids: &[u16],
    weights: &[f32],
) -> Result<(Vec<u16>, Vec<u16>), WeightsError> {
    let widened: Vec<f64> = weights.iter().map(|&w| f64::from(w)).collect();
    convert_weights_and_uids_for_emit_f64(uids, &widened)
}

/// [`convert_weights_and_uids_for_emit`] for weights already in f64 (Python floats).
pub fn convert_weights_and_uids_for_emit_f64(
    uids: &[u16],
    weights: &[f64],
) -> Result<(Vec<u16>, Vec<u16>), WeightsError> {
    check_inputs(uids, weights)?;
    let sum: f64 = weights.iter().sum();
    if sum == 0.0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let max = weights.iter().copied().fold(0.0_f64, f64::max);
    let mut out_uids = Vec::with_capacity(uids.len());
    let mut out_weights = Vec::with_capacity(uids.len());
    for (&uid, &w) in uids.iter().zip(weights) {
        let scaled = ((w / max) * f64::from(u16::MAX)).round_ties_even();
        // w <= max, so scaled is within 0..=65535.
        let v = scaled.clamp(0.0, f64::from(u16::MAX)) as u16;
        if v != 0 {
            out_uids.push(uid);
            out_weights.push(v);
        }
    }
    Ok((out_uids, out_weights))
}

/// bittensor's `process_weights_for_netuid` (weight_utils, `exclude_quantile` 0) for a subnet
/// of `n` uids with `MinAllowedWeights = min_allowed` and `MaxWeightsLimit = max_weight_limit`
/// (out of 65535): the weights the chain will accept, as floats for
/// [`convert_weights_and_uids_for_emit_f64`].
///
/// - no positive weight, or a subnet smaller than `min_allowed`: uniform over all `n` uids;
/// - fewer positive weights than `min_allowed` (counting only those that survive the u16
///   conversion), or too few for any clip to meet the limit: every uid gets `1e-5` plus its
///   weight scaled to a maximum of 1, then the max-weight clip;
/// - otherwise the positive weights, clipped so none exceeds `max_weight_limit / 65535` of the
///   sum ([`normalize_max_weight`]).
///
/// Differences, on purpose, so the chain never refuses what this returns: bittensor adds the
/// weights of the padded case by position in `uids` (only right when `uids` is `0..n`; here by
/// uid), does not scale them first (so the floor can round to 0 and fall below the minimum), and
/// does not pad when the kept weights are too few to clip under the limit.
pub fn process_weights_for_netuid(
    uids: &[u16],
    weights: &[f64],
    n: u16,
    min_allowed: u16,
    max_weight_limit: u16,
) -> Result<(Vec<u16>, Vec<f64>), WeightsError> {
    check_inputs(uids, weights)?;
    let limit = f64::from(max_weight_limit) / f64::from(u16::MAX);
    let positive: Vec<(u16, f64)> = uids
        .iter()
        .copied()
        .zip(weights.iter().copied())
        .filter(|&(_, w)| w > 0.0)
        .collect();
    let all: Vec<u16> = (0..n).collect();
    if n == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    if positive.is_empty() || n < min_allowed {
        return Ok((all, vec![1.0 / f64::from(n); usize::from(n)]));
    }
    let (kept_uids, kept): (Vec<u16>, Vec<f64>) = positive.into_iter().unzip();
    let max = kept.iter().copied().fold(0.0_f64, f64::max);
    // Weights that round to 0 in `convert_weights_and_uids_for_emit` are dropped there.
    let surviving = kept
        .iter()
        .filter(|&&w| w / max * f64::from(u16::MAX) >= 0.5)
        .count();
    // `len * limit == 1` is feasible (uniform weights sit exactly at the limit).
    let clip_impossible = max_weight_limit != u16::MAX
        && (kept.len() as f64 * limit) < 1.0
        && f64::from(n) * limit >= 1.0;
    if surviving < usize::from(min_allowed) || clip_impossible {
        // Scaled to a maximum of 1 first, so the 1e-5 floor survives the u16 conversion.
        let mut padded = vec![1e-5; usize::from(n)];
        for (&uid, &w) in kept_uids.iter().zip(&kept) {
            if let Some(slot) = padded.get_mut(usize::from(uid)) {
                *slot += w / max;
            }
        }
        return Ok((all, normalize_max_weight(&padded, limit)));
    }
    Ok((kept_uids, normalize_max_weight(&kept, limit)))
}

/// The `(uids, u16 weights)` to send for these float weights on a subnet of `n` uids with
/// `MinAllowedWeights = min_allowed` and `MaxWeightsLimit = max_weight_limit`:
/// [`process_weights_for_netuid`] then [`convert_weights_and_uids_for_emit_f64`], with the
/// clip tightened step by step when the u16 rounding pushes the largest share over the limit
/// ([`within_max_weight_limit`] is the chain's rule, checked in integers).
pub fn weights_for_chain(
    uids: &[u16],
    weights: &[f64],
    n: u16,
    min_allowed: u16,
    max_weight_limit: u16,
) -> Result<(Vec<u16>, Vec<u16>), WeightsError> {
    let mut limit = max_weight_limit;
    let mut last = (Vec::new(), Vec::new());
    for _ in 0..32 {
        let (p_uids, p_weights) = process_weights_for_netuid(uids, weights, n, min_allowed, limit)?;
        last = convert_weights_and_uids_for_emit_f64(&p_uids, &p_weights)?;
        if within_max_weight_limit(&last.1, max_weight_limit) {
            break;
        }
        limit = limit.saturating_sub((limit / 1000).max(1));
    }
    Ok(last)
}

/// subtensor's `max_weight_limited` rule: the largest weight's share of the sum is at most
/// `limit / 65535` (65535 = no limit), checked in integers as the bittensor SDK does
/// (`max * 65535 <= limit * sum`), which is never looser than the chain's fixed-point test.
pub fn within_max_weight_limit(weights: &[u16], limit: u16) -> bool {
    if limit == u16::MAX || weights.is_empty() {
        return true;
    }
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    let max = weights.iter().copied().max().map_or(0, u128::from);
    sum == 0 || max * u128::from(u16::MAX) <= u128::from(limit) * sum
}

/// bittensor's `normalize_max_weight`: weights summing to 1 in which none exceeds `limit`
/// (the largest are cut to a common cutoff); uniform when `len * limit <= 1`.
pub fn normalize_max_weight(x: &[f64], limit: f64) -> Vec<f64> {
    const EPSILON: f64 = 1e-7;
    let len = x.len();
    let sum: f64 = x.iter().sum();
    if len == 0 {
        return Vec::new();
    }
    if sum == 0.0 || len as f64 * limit <= 1.0 {
        return vec![1.0 / len as f64; len];
    }
    let mut values = x.to_vec();
    values.sort_by(f64::total_cmp);
    let estimation: Vec<f64> = values.iter().map(|v| v / sum).collect();
    if estimation.iter().copied().fold(0.0, f64::max) <= limit {
        return x.iter().map(|w| w / sum).collect();
    }
    let mut cumsum = Vec::with_capacity(len);
    let mut acc = 0.0;
    for e in &estimation {
        acc += e;
        cumsum.push(acc);
    }
    let n_values = (0..len)
        .filter(|&i| {
            let estimation_sum = (len - i - 1) as f64 * estimation[i];
            estimation[i] / (estimation_sum + cumsum[i] + EPSILON) < limit
        })
        .count()
        .max(1);
    let cutoff_scale =
        (limit * cumsum[n_values - 1] - EPSILON) / (1.0 - limit * (len - n_values) as f64);
    let cutoff = cutoff_scale * sum;
    let clipped: Vec<f64> = x
        .iter()
        .map(|&w| if w > cutoff { cutoff } else { w })
        .collect();
    let total: f64 = clipped.iter().sum();
    clipped.iter().map(|w| w / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processing_meets_min_allowed_and_max_limit() {
        // Enough positive weights, one dominant: clipped to the limit, zeros dropped.
        let (uids, w) =
            process_weights_for_netuid(&[0, 1, 2, 3], &[10.0, 1.0, 1.0, 0.0], 8, 2, 32768).unwrap();
        assert_eq!(uids, [0, 1, 2]);
        let max = w.iter().copied().fold(0.0, f64::max);
        assert!(max <= 32768.0 / 65535.0, "{w:?}");
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // Too few: every uid padded.
        let (uids, w) = process_weights_for_netuid(&[5], &[1.0], 8, 4, u16::MAX).unwrap();
        assert_eq!(uids, (0..8).collect::<Vec<_>>());
        assert!(w[5] > 0.99 && w.iter().all(|&x| x > 0.0));
        // Nothing positive, or a subnet below the minimum: uniform.
        let (uids, w) = process_weights_for_netuid(&[1], &[0.0], 4, 1, u16::MAX).unwrap();
        assert_eq!((uids.len(), w), (4, vec![0.25; 4]));
        let (uids, _) = process_weights_for_netuid(&[1], &[1.0], 3, 8, u16::MAX).unwrap();
        assert_eq!(uids, [0, 1, 2]);
        // No limit: only normalised; one weight stays one weight.
        let (_, w) = process_weights_for_netuid(&[0, 1], &[3.0, 1.0], 2, 1, u16::MAX).unwrap();
        assert_eq!(w, [0.75, 0.25]);
        let (uids, w) = process_weights_for_netuid(&[0], &[5.0], 2, 1, u16::MAX).unwrap();
        assert_eq!((uids, w), (vec![0], vec![1.0]));
        // Two weights at a 50% limit: feasible as they are, no padding.
        let (uids, _) = process_weights_for_netuid(&[0, 1], &[3.0, 1.0], 8, 1, 32768).unwrap();
        assert_eq!(uids, [0, 1]);
        // One weight under a 50% limit cannot stand alone: padded to every uid.
        let (uids, _) = process_weights_for_netuid(&[0], &[3.0], 8, 1, 32768).unwrap();
        assert_eq!(uids.len(), 8);
        assert!(process_weights_for_netuid(&[0], &[-1.0], 2, 1, 1).is_err());
    }

    #[test]
    fn spec_example() {
        assert_eq!(
            convert_weights_and_uids_for_emit_f64(&[0, 1, 2], &[0.7, 0.2, 0.1]).unwrap(),
            (vec![0, 1, 2], vec![65535, 18724, 9362])
        );
    }

    #[test]
    fn errors() {
        assert!(matches!(
            convert_weights_and_uids_for_emit(&[0, 1], &[1.0]),
            Err(WeightsError::LengthMismatch {
                uids: 2,
                weights: 1
            })
        ));
        assert!(matches!(
            convert_weights_and_uids_for_emit(&[0, 1], &[1.0, -0.5]),
            Err(WeightsError::Negative { uid: 1, .. })
        ));
        assert!(matches!(
            convert_weights_and_uids_for_emit(&[3], &[f32::NAN]),
            Err(WeightsError::NotFinite { uid: 3, .. })
        ));
        assert_eq!(
            convert_weights_and_uids_for_emit(&[], &[]).unwrap(),
            (vec![], vec![])
        );
    }

    #[test]
    fn ties_go_to_even() {
        // 0.5 / 1.0 * 65535 = 32767.5 -> 32768 (even); 1.5/2 * 65535 = 49151.25 -> 49151.
        assert_eq!(
            convert_weights_and_uids_for_emit_f64(&[0, 1], &[1.0, 0.5])
                .unwrap()
                .1,
            vec![65535, 32768]
        );
        // 32766.5 -> 32766 (even), not 32767 as `round` would give.
        let w = 32766.5 / 65535.0;
        assert_eq!(
            convert_weights_and_uids_for_emit_f64(&[0, 1], &[1.0, w])
                .unwrap()
                .1,
            vec![65535, 32766]
        );
    }
}
