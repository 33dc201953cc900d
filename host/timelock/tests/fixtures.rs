//! Fixtures shared by the test modules: published drand quicknet round signatures and the
//! reference payload.
//!
//! A quicknet beacon is a deterministic BLS signature over `sha256(round as u64 big-endian)`, so
//! a past round's signature never changes and a test can embed it.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use resi_timelock::WeightsTlockPayload;

/// Quicknet round 1000 (`https://api.drand.sh/52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971/public/1000`),
/// as in subtensor `pallets/drand/src/tests.rs` and timelock's own quicknet test.
pub const SIG_1000: &str = "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39";

/// Quicknet round 2000, as in subtensor `pallets/commitments/src/tests.rs`.
pub const SIG_2000: &str = "b6cb8f482a0b15d45936a4c4ea08e98a087e71787caee3f4d07a8a9843b1bc5423c6b3c22f446488b3137eaca799c77e";

/// The reference payload's SCALE bytes (hotkey 0x07 x 32, uids [0, 1, 5], values
/// [65535, 32768, 1], version key 10005000), as bittensor-drand 2.0.0 encodes it.
pub const EXAMPLE_PAYLOAD_HEX: &str = concat!(
    "80",
    "0707070707070707070707070707070707070707070707070707070707070707",
    "0c000001000500",
    "0cffff00800100",
    "08aa980000000000",
);

/// The payload of [`EXAMPLE_PAYLOAD_HEX`].
pub fn example_payload() -> WeightsTlockPayload {
    WeightsTlockPayload {
        hotkey: [7; 32],
        uids: vec![0, 1, 5],
        values: vec![65535, 32768, 1],
        version_key: 10_005_000,
    }
}

/// A published signature as bytes.
pub fn sig(hex_sig: &str) -> Vec<u8> {
    hex::decode(hex_sig).expect("fixture signature is hex")
}

/// A seeded RNG (tests only: production commits use OsRng).
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}
