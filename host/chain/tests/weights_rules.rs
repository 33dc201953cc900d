//! Weights processed as bittensor's `process_weights_for_netuid` does ([`weights_for_chain`])
//! always pass the chain's
//! `MinAllowedWeights` and `MaxWeightsLimit` checks ([`check_weights`]), over random subnets.
//!
//! [`weights_for_chain`]: resi_core::weights::weights_for_chain

use resi_chain::checks::{check_weights, within_max_weight_limit};
use resi_chain::{Metagraph, Neuron};
use resi_core::keys::Hotkey;
use resi_core::weights::weights_for_chain;

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[test]
fn processed_weights_pass_min_allowed_and_max_limit() {
    let signer = Hotkey::from_uri("//Alice").unwrap();
    let others: Vec<_> = (0..64)
        .map(|i| Hotkey::from_uri(&format!("//n{i}")).unwrap().public())
        .collect();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for case in 0..2_000 {
        let n = 1 + rng.below(64) as u16;
        let min_allowed = rng.below(u64::from(n) + 4) as u16;
        // Limits from "one uid may hold everything" down to below 1/n (then uniform).
        let max_limit = match rng.below(4) {
            0 => u16::MAX,
            _ => 1 + rng.below(65534) as u16,
        };
        let count = rng.below(u64::from(n) + 1) as usize;
        let mut uids: Vec<u16> = (0..n).collect();
        for i in (1..uids.len()).rev() {
            uids.swap(i, rng.below(i as u64 + 1) as usize);
        }
        uids.truncate(count);
        let weights: Vec<f64> = uids
            .iter()
            .map(|_| match rng.below(5) {
                0 => 0.0,
                1 => 1e6 * (1 + rng.below(1000)) as f64,
                _ => (1 + rng.below(1_000_000)) as f64 / 1e3,
            })
            .collect();
        let (e_uids, e_weights) =
            weights_for_chain(&uids, &weights, n, min_allowed, max_limit).unwrap();
        // The validator is uid 0 with a permit; the subnet has n uids.
        let neurons = (0..n)
            .map(|uid| Neuron {
                uid,
                hotkey: if uid == 0 {
                    signer.public()
                } else {
                    others[usize::from(uid)]
                },
                validator_permit: true,
                last_update: 0,
            })
            .collect();
        let meta = Metagraph {
            netuid: 46,
            block: 1000,
            n,
            neurons,
            weights_version_key: 0,
            commit_reveal_enabled: false,
            weights_set_rate_limit: 0,
            tempo: 360,
            min_allowed_weights: min_allowed,
            max_weights_limit: max_limit,
        };
        let uniform = n as f64 * (f64::from(max_limit) / 65535.0) <= 1.0;
        if uniform {
            // No weights over n uids can meet such a limit (bittensor then answers uniform
            // weights); the chain refuses them, and so does check_weights before sending.
            continue;
        }
        let r = check_weights(&meta, &signer.public(), &e_uids, &e_weights, 0);
        assert!(
            r.is_ok(),
            "case {case}: n {n} min {min_allowed} limit {max_limit} in {uids:?} {weights:?} -> {e_uids:?} {e_weights:?}: {r:?}"
        );
        assert!(
            within_max_weight_limit(&e_weights, max_limit),
            "case {case}"
        );
    }
}
