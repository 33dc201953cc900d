//! The spot-check sample (spec "Spot checks"), exactly:
//! `seed = sha256("resi/spot-check/v1" || validation_seed || 0x00 || hotkey || 0x00 || zipcode
//! || 0x00 || digest)`, `draw(i)` = first 8 bytes big-endian of `sha256(seed || u32_be(i))`,
//! partial Fisher-Yates over `0..n` for `j in 0..k` with `r = draw(j) % (n - j)`, the sample is
//! the first `k` positions sorted ascending.

use crate::FixedMap;
use crate::gates::ceil_pct;
use crate::params::Params;
use sha2::{Digest, Sha256};

/// Domain tag of the sample seed.
pub const SPOT_CHECK_DOMAIN: &[u8] = b"resi/spot-check/v1";

/// Sample size: `clamp(ceil(n * spot_check_pct / 100), k_min, k_max)`, never more than `n`.
pub fn sample_size(params: &Params, n: u64) -> u64 {
    ceil_pct(n, params.spot_check_pct)
        .clamp(params.k_min, params.k_max)
        .min(n)
}

/// The per-submission sample seed.
pub fn sample_seed(validation_seed: &[u8], hotkey: &str, zipcode: &str, digest: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(SPOT_CHECK_DOMAIN);
    h.update(validation_seed);
    h.update([0u8]);
    h.update(hotkey.as_bytes());
    h.update([0u8]);
    h.update(zipcode.as_bytes());
    h.update([0u8]);
    h.update(digest);
    h.finalize().into()
}

/// Draw `i` of a seed.
pub fn draw(seed: &[u8; 32], i: u32) -> u64 {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(i.to_be_bytes());
    let out: [u8; 32] = h.finalize().into();
    let mut first = [0u8; 8];
    first.copy_from_slice(&out[..8]);
    u64::from_be_bytes(first)
}

/// The `k` sampled positions out of `0..n`, ascending (partial Fisher-Yates; positions not yet
/// swapped are implicit, so memory is `O(k)`).
pub fn sample_positions(seed: &[u8; 32], n: u64, k: u64) -> Vec<u64> {
    let k = k.min(n);
    let mut swapped: FixedMap<u64, u64> = FixedMap::default();
    let mut out = Vec::with_capacity(k as usize);
    for j in 0..k {
        // j < k <= n <= u32-range in practice; draw indices are u32 by the spec.
        let r = draw(seed, j as u32) % (n - j);
        let target = j + r;
        let at_j = swapped.get(&j).copied().unwrap_or(j);
        let at_target = swapped.get(&target).copied().unwrap_or(target);
        swapped.insert(j, at_target);
        swapped.insert(target, at_j);
        out.push(at_target);
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let p = Params::default();
        assert_eq!(sample_size(&p, 0), 0);
        assert_eq!(sample_size(&p, 1), 1);
        assert_eq!(sample_size(&p, 20), 2);
        assert_eq!(sample_size(&p, 41), 3);
        assert_eq!(sample_size(&p, 400), 10);
    }

    #[test]
    fn sample_is_a_set_of_distinct_positions() {
        let seed = [7u8; 32];
        for n in 1..50 {
            let s = sample_positions(&seed, n, 10);
            assert_eq!(s.len() as u64, n.min(10));
            assert!(s.windows(2).all(|w| w[0] < w[1]));
            assert!(s.iter().all(|p| *p < n));
        }
    }
}
