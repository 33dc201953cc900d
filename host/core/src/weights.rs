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

#[cfg(test)]
mod tests {
    use super::*;

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
