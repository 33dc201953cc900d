//! Commit-reveal v4 for resi: weights timelock-encrypted to a drand quicknet round, byte for
//! byte as `bittensor-drand` 2.0.0 builds them and as subtensor decrypts them at reveal, and the
//! reveal-round schedule the reference computes.
//!
//! - [`WeightsTlockPayload`]: the SCALE payload subtensor decodes after decrypting a commit.
//! - [`encrypt_commit`]: the `commit` argument of `commit_timelocked_(mechanism_)weights`, i.e.
//!   the ark `serialize_compressed` of a `TLECiphertext<TinyBLS381>` (Boneh-Franklin IBE to the
//!   identity `sha256(reveal_round as u64 big-endian)` under the drand quicknet key, the body
//!   AES-256-GCM). Its length is always the payload's plus [`COMMIT_OVERHEAD_BYTES`].
//! - [`decrypt_commit`]: what the chain does at reveal, given the round's published signature,
//!   so anyone can check a commit offline.
//! - [`schedule`]: the first reveal block (epoch-index model of `get_encrypted_commit_v2`, and
//!   the legacy modulo model) and the drand round for it.
//! - [`TestBeacon`]: a local stand-in for drand (devnet and tests only).
//!
//! The IBE, pairing and AES code is the crates.io crate `timelock` 0.0.1 (the code
//! bittensor-drand and subtensor build on), vendored in `src/tle/` so it builds on the same
//! w3f-bls 0.1.9 that sp-core puts in the lockfile; see README.md for provenance and the one
//! functional change. Nothing here implements curve arithmetic itself.

extern crate alloc;

mod beacon;
pub mod schedule;
#[rustfmt::skip]
mod tle;

pub use beacon::TestBeacon;
/// The `rand_core` version the RNG bound of [`encrypt_commit`] refers to (`OsRng` is enabled).
pub use rand_core;

use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use parity_scale_codec::{Decode, Encode};
use rand_core::{CryptoRng, RngCore};
use sha2::Digest;
use std::sync::OnceLock;
use tle::curves::drand::TinyBLS381;
use tle::ibe::fullident::Identity;
use tle::stream_ciphers::AESGCMStreamCipherProvider;
use tle::tlock::{Error as TleError, TLECiphertext, tld, tle as tlock_encrypt};
use w3f_bls::EngineBLS;

/// The drand quicknet public key (a G2 point, 96 bytes compressed), as in bittensor-drand's
/// `DRAND_PUBLIC_KEY` and drand's chain info for chain hash
/// `52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971`.
pub const QUICKNET_PUBLIC_KEY: [u8; 96] = hex_array(
    "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
);

/// The unix time (seconds) of drand quicknet round 1.
pub const QUICKNET_GENESIS_TIME: u64 = 1_692_803_367;

/// Seconds between two drand quicknet rounds.
pub const QUICKNET_PERIOD_SECS: u64 = 3;

/// The largest `commit` the chain accepts (subtensor's `MAX_CRV3_COMMIT_SIZE_BYTES`, the bound of
/// the call's `BoundedVec<u8, _>`).
pub const MAX_COMMIT_BYTES: usize = 5000;

/// How many bytes a commit is longer than its SCALE payload: the G2 point `U` (96), the IBE
/// `V` and `W` (8-byte length + 32 each), the body's length (8), the AES output (ciphertext
/// length 8 + 16-byte tag, nonce length 8 + 12) and the cipher suite (8 + `AES_GCM_`).
pub const COMMIT_OVERHEAD_BYTES: usize = 244;

/// The largest SCALE payload that still fits in [`MAX_COMMIT_BYTES`] (about 1177 uid/weight
/// pairs with a 32-byte hotkey).
pub const MAX_PAYLOAD_BYTES: usize = MAX_COMMIT_BYTES - COMMIT_OVERHEAD_BYTES;

/// The plaintext of a commit: subtensor's `WeightsTlockPayload` (`pallets/subtensor/src/coinbase/
/// reveal_commits.rs`), which is bittensor-drand's too. At reveal the chain requires `hotkey` to
/// be the committing account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsTlockPayload {
    /// The committer's hotkey (sr25519 public key). On the wire a `Vec<u8>` (compact length 32,
    /// prefix `0x80`), as the chain declares it.
    pub hotkey: [u8; 32],
    /// The uids weights are set for.
    pub uids: Vec<u16>,
    /// The weight of each uid (same length as `uids`; the chain checks that at reveal).
    pub values: Vec<u16>,
    /// The subnet's weights version key at reveal time.
    pub version_key: u64,
}

impl WeightsTlockPayload {
    /// The SCALE bytes: `compact(32) ‖ hotkey ‖ compact(n) ‖ uids (u16 LE) ‖ compact(n) ‖ values
    /// (u16 LE) ‖ version_key (u64 LE)`, exactly what the chain decodes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.hotkey.as_slice().encode_to(&mut out);
        self.uids.encode_to(&mut out);
        self.values.encode_to(&mut out);
        self.version_key.encode_to(&mut out);
        out
    }

    /// Decodes [`WeightsTlockPayload::encode`]'s bytes. Stricter than the chain: the hotkey must
    /// be 32 bytes and nothing may follow the version key.
    pub fn decode(bytes: &[u8]) -> Result<Self, TimelockError> {
        let bad = |what: &str, e: parity_scale_codec::Error| {
            TimelockError::BadPayload(format!("{what}: {e}"))
        };
        let mut input = bytes;
        let hotkey = Vec::<u8>::decode(&mut input).map_err(|e| bad("hotkey", e))?;
        let hotkey: [u8; 32] = hotkey.try_into().map_err(|h: Vec<u8>| {
            TimelockError::BadPayload(format!("hotkey is {} bytes, not 32", h.len()))
        })?;
        let uids = Vec::<u16>::decode(&mut input).map_err(|e| bad("uids", e))?;
        let values = Vec::<u16>::decode(&mut input).map_err(|e| bad("values", e))?;
        let version_key = u64::decode(&mut input).map_err(|e| bad("version_key", e))?;
        if !input.is_empty() {
            return Err(TimelockError::BadPayload(format!(
                "{} bytes after the version key",
                input.len()
            )));
        }
        Ok(Self {
            hotkey,
            uids,
            values,
            version_key,
        })
    }

    /// The length of [`WeightsTlockPayload::encode`]'s output, without encoding.
    pub fn encoded_len(&self) -> usize {
        self.hotkey.as_slice().encoded_size()
            + self.uids.encoded_size()
            + self.values.encoded_size()
            + 8
    }

    /// The length of the commit [`encrypt_commit`] makes of this payload.
    pub fn commit_len(&self) -> usize {
        self.encoded_len() + COMMIT_OVERHEAD_BYTES
    }
}

/// Why a commit could not be made or opened.
#[derive(Debug, thiserror::Error)]
pub enum TimelockError {
    /// The commit would exceed the chain's bound ([`MAX_COMMIT_BYTES`]): too many weights.
    #[error("the commit would be {len} bytes, more than the chain accepts ({max})")]
    CommitTooLarge {
        /// The commit's length.
        len: usize,
        /// [`MAX_COMMIT_BYTES`].
        max: usize,
    },
    /// The timelock encryption itself failed (not expected with valid inputs).
    #[error("timelock encryption failed: {0}")]
    Encrypt(String),
    /// The beacon public key given to [`encrypt_commit_to`] is not a G2 point.
    #[error("not a beacon public key (96-byte compressed G2 point): {0}")]
    BadPublicKey(String),
    /// The commit is not a well-formed `TLECiphertext<TinyBLS381>`, its body does not decrypt
    /// under the key the signature recovered, or the signature is not a G1 point.
    #[error("malformed commit or signature: {0}")]
    Malformed(String),
    /// The signature does not open the commit: it is another round's (or another beacon's), or
    /// the commit's IBE header was altered.
    #[error("the signature does not open this commit (wrong round, or an altered header)")]
    WrongSignature,
    /// The commit decrypted, but not to a [`WeightsTlockPayload`].
    #[error("the decrypted commit is not a WeightsTlockPayload: {0}")]
    BadPayload(String),
}

/// Encrypts to `reveal_round` under the quicknet key. `rng` supplies the ephemeral key and IBE
/// randomness (OsRng in production; a seeded ChaCha in tests).
///
/// The same steps as bittensor-drand's `encrypt_and_compress`: 32 bytes of `rng` for the AES
/// key, then `tle` (IBE randomness, then the AES-GCM nonce) from the same `rng`. Commits are
/// randomised: compare them by decrypting, never by bytes.
pub fn encrypt_commit<R: RngCore + CryptoRng>(
    payload: &WeightsTlockPayload,
    reveal_round: u64,
    rng: &mut R,
) -> Result<Vec<u8>, TimelockError> {
    encrypt_with(quicknet_key(), payload, reveal_round, rng)
}

/// [`encrypt_commit`] under another beacon's public key (a [`TestBeacon`]'s, for a local chain).
/// Real chains reveal with drand quicknet only: use [`encrypt_commit`] for them.
pub fn encrypt_commit_to<R: RngCore + CryptoRng>(
    beacon_public_key: &[u8],
    payload: &WeightsTlockPayload,
    reveal_round: u64,
    rng: &mut R,
) -> Result<Vec<u8>, TimelockError> {
    let key = parse_public_key(beacon_public_key).map_err(TimelockError::BadPublicKey)?;
    encrypt_with(key, payload, reveal_round, rng)
}

/// What the chain does at reveal: decrypt with the round's 48-byte BLS signature, decode the payload.
///
/// Stricter than the chain where that cannot reject a commit resi or bittensor-drand makes: no
/// bytes may follow the ciphertext, and the IBE header's `V` and `W` must be 32 bytes (other
/// lengths would make the vendored decryption index out of bounds).
pub fn decrypt_commit(
    commit: &[u8],
    round_signature: &[u8],
) -> Result<WeightsTlockPayload, TimelockError> {
    WeightsTlockPayload::decode(&decrypt_commit_bytes(commit, round_signature)?)
}

/// [`decrypt_commit`] without decoding: the plaintext bytes.
pub fn decrypt_commit_bytes(
    commit: &[u8],
    round_signature: &[u8],
) -> Result<Vec<u8>, TimelockError> {
    let malformed = TimelockError::Malformed;
    let mut reader = commit;
    let ciphertext = TLECiphertext::<TinyBLS381>::deserialize_compressed(&mut reader)
        .map_err(|e| malformed(format!("not a TLECiphertext<TinyBLS381> ({e})")))?;
    if !reader.is_empty() {
        return Err(malformed(format!(
            "{} bytes after the ciphertext",
            reader.len()
        )));
    }
    let (v, w) = (ciphertext.header.v.len(), ciphertext.header.w.len());
    if v != 32 || w != 32 {
        return Err(malformed(format!(
            "IBE header V and W are {v} and {w} bytes, not 32"
        )));
    }
    if round_signature.len() != <TinyBLS381 as EngineBLS>::SIGNATURE_SERIALIZED_SIZE {
        return Err(malformed(format!(
            "a round signature is 48 bytes, got {}",
            round_signature.len()
        )));
    }
    let signature =
        <TinyBLS381 as EngineBLS>::SignatureGroup::deserialize_compressed(round_signature)
            .map_err(|e| malformed(format!("the signature is not a G1 point ({e})")))?;
    tld::<TinyBLS381, AESGCMStreamCipherProvider>(ciphertext, signature).map_err(|e| match e {
        TleError::InvalidSignature => TimelockError::WrongSignature,
        other => malformed(format!("the body does not decrypt ({other:?})")),
    })
}

/// The IBE identity of a drand round: `sha256(round as u64 big-endian)`, the message drand signs.
fn round_identity(round: u64) -> Identity {
    Identity::new(
        b"",
        vec![sha2::Sha256::digest(round.to_be_bytes()).to_vec()],
    )
}

type PublicKeyGroup = <TinyBLS381 as EngineBLS>::PublicKeyGroup;

fn quicknet_key() -> PublicKeyGroup {
    static KEY: OnceLock<PublicKeyGroup> = OnceLock::new();
    *KEY.get_or_init(|| {
        parse_public_key(&QUICKNET_PUBLIC_KEY).expect("the quicknet key is a valid G2 point")
    })
}

fn parse_public_key(bytes: &[u8]) -> Result<PublicKeyGroup, String> {
    if bytes.len() != <TinyBLS381 as EngineBLS>::PUBLICKEY_SERIALIZED_SIZE {
        return Err(format!("{} bytes, not 96", bytes.len()));
    }
    PublicKeyGroup::deserialize_compressed(bytes).map_err(|e| e.to_string())
}

fn encrypt_with<R: RngCore + CryptoRng>(
    key: PublicKeyGroup,
    payload: &WeightsTlockPayload,
    reveal_round: u64,
    rng: &mut R,
) -> Result<Vec<u8>, TimelockError> {
    let len = payload.commit_len();
    if len > MAX_COMMIT_BYTES {
        return Err(TimelockError::CommitTooLarge {
            len,
            max: MAX_COMMIT_BYTES,
        });
    }
    let plaintext = payload.encode();
    let mut aes_key = [0u8; 32];
    rng.fill_bytes(&mut aes_key);
    let ciphertext = tlock_encrypt::<TinyBLS381, AESGCMStreamCipherProvider, _>(
        key,
        aes_key,
        &plaintext,
        round_identity(reveal_round),
        &mut *rng,
    )
    .map_err(|e| TimelockError::Encrypt(format!("{e:?}")))?;
    let mut out = Vec::with_capacity(len);
    ciphertext
        .serialize_compressed(&mut out)
        .map_err(|e| TimelockError::Encrypt(e.to_string()))?;
    if out.len() != len {
        return Err(TimelockError::Encrypt(format!(
            "the ciphertext is {} bytes, expected {len}",
            out.len()
        )));
    }
    Ok(out)
}

/// Lowercase hex to bytes at compile time (for the key constant).
const fn hex_array<const N: usize>(hex: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not lowercase hex"),
        }
    }
    let bytes = hex.as_bytes();
    assert!(bytes.len() == 2 * N, "wrong hex length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(bytes[2 * i]) << 4) | nibble(bytes[2 * i + 1]);
        i += 1;
    }
    out
}
