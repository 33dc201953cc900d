//! SCALE encoding of what resi sends to subtensor: the weights calls, storage keys, mortal eras,
//! the signing payload and signed v4 extrinsics.
//!
//! Everything here is pure byte layout; pallet/call indices, storage hashers and the
//! transaction-extension list come from [`crate::metadata`], never from constants.

use parity_scale_codec::{Compact, Encode};
use sp_crypto_hashing::{blake2_128, blake2_256, twox_64, twox_128, twox_256};

/// Signed v4 extrinsic version byte: `0x80` (signed) | 4.
pub const SIGNED_V4: u8 = 0x84;
/// `MultiAddress::Id` variant index.
pub const MULTI_ADDRESS_ID: u8 = 0x00;
/// `MultiSignature::Sr25519` variant index.
pub const MULTI_SIGNATURE_SR25519: u8 = 0x01;
/// Mortal era period resi uses for its extrinsics (blocks).
pub const DEFAULT_ERA_PERIOD: u64 = 64;

/// A storage key hasher, as named in runtime metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hasher {
    /// blake2-128 (opaque).
    Blake2_128,
    /// blake2-256 (opaque).
    Blake2_256,
    /// blake2-128 followed by the key itself.
    Blake2_128Concat,
    /// xxhash 128 (opaque).
    Twox128,
    /// xxhash 256 (opaque).
    Twox256,
    /// xxhash 64 followed by the key itself.
    Twox64Concat,
    /// The key itself.
    Identity,
}

impl Hasher {
    /// Hashes an encoded key part.
    pub fn hash(self, encoded: &[u8]) -> Vec<u8> {
        match self {
            Hasher::Blake2_128 => blake2_128(encoded).to_vec(),
            Hasher::Blake2_256 => blake2_256(encoded).to_vec(),
            Hasher::Blake2_128Concat => [&blake2_128(encoded)[..], encoded].concat(),
            Hasher::Twox128 => twox_128(encoded).to_vec(),
            Hasher::Twox256 => twox_256(encoded).to_vec(),
            Hasher::Twox64Concat => [&twox_64(encoded)[..], encoded].concat(),
            Hasher::Identity => encoded.to_vec(),
        }
    }

    /// Bytes of hash before the concatenated key (for `*Concat` and `Identity` hashers), or
    /// `None` if the key cannot be recovered from the hash.
    pub fn concat_offset(self) -> Option<usize> {
        match self {
            Hasher::Blake2_128Concat => Some(16),
            Hasher::Twox64Concat => Some(8),
            Hasher::Identity => Some(0),
            _ => None,
        }
    }
}

/// `twox128(pallet) ‖ twox128(item)`: the prefix of every key of a storage item.
pub fn storage_prefix(pallet: &str, item: &str) -> Vec<u8> {
    let mut key = twox_128(pallet.as_bytes()).to_vec();
    key.extend_from_slice(&twox_128(item.as_bytes()));
    key
}

/// The full storage key of `pallet.item(keys...)`: the prefix followed by each SCALE-encoded key
/// hashed with its hasher.
pub fn storage_key(pallet: &str, item: &str, keys: &[(Hasher, &[u8])]) -> Vec<u8> {
    let mut key = storage_prefix(pallet, item);
    for (hasher, encoded) in keys {
        key.extend_from_slice(&hasher.hash(encoded));
    }
    key
}

/// Encodes `set_weights(netuid, dests, weights, version_key)` with the given
/// `(pallet index, call index)`.
pub fn encode_set_weights_call(
    index: (u8, u8),
    netuid: u16,
    dests: &[u16],
    weights: &[u16],
    version_key: u64,
) -> Vec<u8> {
    let mut out = vec![index.0, index.1];
    netuid.encode_to(&mut out);
    dests.encode_to(&mut out);
    weights.encode_to(&mut out);
    version_key.encode_to(&mut out);
    out
}

/// Encodes `set_mechanism_weights(netuid, mecid, dests, weights, version_key)` with the given
/// `(pallet index, call index)`.
pub fn encode_set_mechanism_weights_call(
    index: (u8, u8),
    netuid: u16,
    mecid: u8,
    dests: &[u16],
    weights: &[u16],
    version_key: u64,
) -> Vec<u8> {
    let mut out = vec![index.0, index.1];
    netuid.encode_to(&mut out);
    mecid.encode_to(&mut out);
    dests.encode_to(&mut out);
    weights.encode_to(&mut out);
    version_key.encode_to(&mut out);
    out
}

/// Encodes `commit_timelocked_mechanism_weights(netuid, mecid, commit, reveal_round,
/// commit_reveal_version)` with the given `(pallet index, call index)`; `commit` is a
/// `BoundedVec<u8>` (compact length, bytes).
pub fn encode_commit_timelocked_mechanism_weights_call(
    index: (u8, u8),
    netuid: u16,
    mecid: u8,
    commit: &[u8],
    reveal_round: u64,
    commit_reveal_version: u16,
) -> Vec<u8> {
    let mut out = vec![index.0, index.1];
    netuid.encode_to(&mut out);
    mecid.encode_to(&mut out);
    commit.encode_to(&mut out);
    reveal_round.encode_to(&mut out);
    commit_reveal_version.encode_to(&mut out);
    out
}

/// Encodes `commit_timelocked_weights(netuid, commit, reveal_round, commit_reveal_version)`
/// (runtimes without mechanisms) with the given `(pallet index, call index)`.
pub fn encode_commit_timelocked_weights_call(
    index: (u8, u8),
    netuid: u16,
    commit: &[u8],
    reveal_round: u64,
    commit_reveal_version: u16,
) -> Vec<u8> {
    let mut out = vec![index.0, index.1];
    netuid.encode_to(&mut out);
    commit.encode_to(&mut out);
    reveal_round.encode_to(&mut out);
    commit_reveal_version.encode_to(&mut out);
    out
}

/// A mortal era: the two encoded bytes and the birth block whose hash the payload signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MortalEra {
    /// The period, a power of two in 4..=65536.
    pub period: u64,
    /// `birth % period`.
    pub phase: u64,
    /// The block the era starts at (its hash goes into the signed payload).
    pub birth_block: u64,
}

impl MortalEra {
    /// The era of `period` blocks (rounded to a power of two, clamped to 4..=65536) starting at
    /// `current`, as substrate's `Era::mortal`.
    pub fn new(period: u64, current: u64) -> Self {
        let period = period
            .checked_next_power_of_two()
            .unwrap_or(1 << 16)
            .clamp(4, 1 << 16);
        let phase = current % period;
        let quantize = (period >> 12).max(1);
        let phase = phase / quantize * quantize;
        let birth_block = (current.max(phase) - phase) / period * period + phase;
        Self {
            period,
            phase,
            birth_block,
        }
    }

    /// The two SCALE bytes of the era.
    pub fn encode(&self) -> [u8; 2] {
        let quantize = (self.period >> 12).max(1);
        let low = (self.period.trailing_zeros().saturating_sub(1)).clamp(1, 15) as u16;
        let high = ((self.phase / quantize) as u16) << 4;
        (low | high).to_le_bytes()
    }

    /// Decodes two era bytes into `(period, phase)`; `None` for an invalid encoding.
    pub fn decode(bytes: [u8; 2]) -> Option<(u64, u64)> {
        let encoded = u16::from_le_bytes(bytes);
        let period = 2u64 << (encoded % (1 << 4));
        let quantize = (period >> 12).max(1);
        let phase = u64::from(encoded >> 4) * quantize;
        (period >= 4 && phase < period).then_some((period, phase))
    }
}

/// The bytes an extrinsic signature covers: `call ‖ explicit ‖ implicit`, replaced by its
/// blake2-256 if longer than 256 bytes.
pub fn signing_payload(call: &[u8], explicit: &[u8], implicit: &[u8]) -> Vec<u8> {
    let payload = [call, explicit, implicit].concat();
    if payload.len() > 256 {
        blake2_256(&payload).to_vec()
    } else {
        payload
    }
}

/// A signed v4 extrinsic:
/// `compact(len) ‖ 0x84 ‖ 0x00 ‖ pubkey ‖ 0x01 ‖ signature ‖ explicit ‖ call`.
pub fn signed_extrinsic_v4(
    public: &[u8; 32],
    signature: &[u8; 64],
    explicit: &[u8],
    call: &[u8],
) -> Vec<u8> {
    let mut body = Vec::with_capacity(1 + 1 + 32 + 1 + 64 + explicit.len() + call.len());
    body.push(SIGNED_V4);
    body.push(MULTI_ADDRESS_ID);
    body.extend_from_slice(public);
    body.push(MULTI_SIGNATURE_SR25519);
    body.extend_from_slice(signature);
    body.extend_from_slice(explicit);
    body.extend_from_slice(call);
    let mut out = Compact(body.len() as u32).encode();
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn era_roundtrip_and_birth() {
        let era = MortalEra::new(64, 1000);
        assert_eq!(era.period, 64);
        assert_eq!(era.phase, 1000 % 64);
        assert_eq!(era.birth_block, 1000);
        assert_eq!(MortalEra::decode(era.encode()), Some((64, 1000 % 64)));
    }

    #[test]
    fn era_known_encoding() {
        // substrate: Era::mortal(64, 42) encodes as [0xa5, 0x02].
        assert_eq!(MortalEra::new(64, 42).encode(), [0xa5, 0x02]);
    }
}
