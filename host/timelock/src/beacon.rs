//! A local stand-in for drand, for a local chain and tests: a secret scalar whose G2 public key
//! commits are encrypted to ([`crate::encrypt_commit_to`]) and whose "round signatures" open them
//! ([`crate::decrypt_commit`]), exactly as quicknet's do for quicknet commits.

use crate::tle::curves::drand::TinyBLS381;
use ark_ec::Group;
use ark_ff::PrimeField;
use ark_serialize::CanonicalSerialize;
use sha2::Digest;
use w3f_bls::EngineBLS;

type Scalar = <TinyBLS381 as EngineBLS>::Scalar;

/// A deterministic test beacon: the BLS secret is derived from a seed, so a devnet's validators
/// and its chain agree on it. NOT for real chains: whoever knows the seed opens every commit.
#[derive(Clone)]
pub struct TestBeacon {
    secret: Scalar,
}

impl std::fmt::Debug for TestBeacon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestBeacon")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl TestBeacon {
    /// The beacon whose secret is `sha256("resi-timelock test beacon" ‖ seed)` reduced mod the
    /// group order.
    pub fn from_seed(seed: &[u8]) -> Self {
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"resi-timelock test beacon");
        hasher.update(seed);
        let secret = Scalar::from_be_bytes_mod_order(&hasher.finalize());
        Self { secret }
    }

    /// The public key (compressed G2, 96 bytes) to pass to [`crate::encrypt_commit_to`].
    pub fn public_key(&self) -> [u8; 96] {
        let key = <TinyBLS381 as EngineBLS>::PublicKeyGroup::generator() * self.secret;
        let mut out = Vec::with_capacity(96);
        key.serialize_compressed(&mut out)
            .expect("a G2 point serialises");
        out.try_into().expect("a compressed G2 point is 96 bytes")
    }

    /// The round's signature (compressed G1, 48 bytes): the IBE secret of the round's identity,
    /// what [`crate::decrypt_commit`] takes.
    pub fn round_signature(&self, round: u64) -> [u8; 48] {
        let secret = crate::round_identity(round).extract::<TinyBLS381>(self.secret);
        let mut out = Vec::with_capacity(48);
        secret
            .0
            .serialize_compressed(&mut out)
            .expect("a G1 point serialises");
        out.try_into().expect("a compressed G1 point is 48 bytes")
    }
}
