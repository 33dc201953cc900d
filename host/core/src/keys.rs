//! sr25519 keys, signatures and SS58 addresses, compatible with the Python bittensor libraries.
//!
//! Owns everything about a single key: [`Hotkey`] (a keypair that signs), [`PublicKey`] (verifies,
//! converts to and from SS58 with prefix 42), [`Signature`] (64 bytes, 128 lowercase hex chars on
//! the wire, no `0x`) and [`verify_hex`], the one-call check a server does on a signed request.
//!
//! Canonical forms: one key has exactly one accepted address and one signature exactly one
//! accepted wire spelling. [`PublicKey::from_ss58`] refuses whitespace, the two-byte prefix
//! form of network 42 and any other spelling that does not re-encode to itself, and
//! [`Signature::from_wire_hex`] accepts only 128 lowercase hex characters. Identities, replay
//! keys, rate limits and folders are therefore safe to key by the text a parse accepted.
//!
//! Signing is schnorrkel's `sign_simple(b"substrate", msg)` over the raw message bytes, exactly as
//! `sp_core::sr25519::Pair::sign` and bittensor's `Keypair.sign` do. Signatures are randomized, so
//! tests compare by verifying, never by bytes. Verification accepts a signature over the raw message
//! or over `<Bytes>` + message + `</Bytes>` (the polkadot.js `signRaw` form), as bittensor does.

use sp_core::Pair as _;
use sp_core::crypto::SecretStringError;
use sp_core::sr25519;
use std::fmt;
use std::str::FromStr;

/// The SS58 address format (network prefix) of Bittensor: the generic Substrate prefix 42.
pub const SS58_PREFIX: u16 = 42;

/// Length in bytes of an sr25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;

/// Length in bytes of an sr25519 signature.
pub const SIGNATURE_LEN: usize = 64;

const SS58_CHECKSUM_PREFIX: &[u8] = b"SS58PRE";
const BYTES_WRAP_OPEN: &[u8] = b"<Bytes>";
const BYTES_WRAP_CLOSE: &[u8] = b"</Bytes>";

/// Why a string is not a valid SS58 address for this network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ss58Error {
    /// The string contains characters outside the base58 alphabet.
    #[error("SS58 address {address:?} is not valid base58: {reason}")]
    BadBase58 {
        /// The address as given.
        address: String,
        /// What the base58 decoder complained about.
        reason: String,
    },
    /// The decoded bytes have the wrong length for a 32-byte account id.
    #[error(
        "SS58 address {address:?} decodes to {found} bytes, expected {expected} (prefix + 32-byte key + 2-byte checksum)"
    )]
    WrongLength {
        /// The address as given.
        address: String,
        /// Number of decoded bytes.
        found: usize,
        /// Number of bytes an address with this prefix must decode to.
        expected: usize,
    },
    /// The first byte is not a valid SS58 prefix byte.
    #[error("SS58 address {address:?} starts with the invalid prefix byte 0x{byte:02x}")]
    InvalidPrefixByte {
        /// The address as given.
        address: String,
        /// The offending first byte.
        byte: u8,
    },
    /// The 2-byte blake2b checksum does not match (typo or truncated address).
    #[error("SS58 address {address:?} has a bad checksum (mistyped or corrupted address)")]
    BadChecksum {
        /// The address as given.
        address: String,
    },
    /// The address decodes to a key but is not that key's one canonical SS58 spelling (padded
    /// with whitespace, or the two-byte prefix form of network 42).
    #[error(
        "SS58 address {address:?} is not in canonical form; the canonical address of this key is {canonical}"
    )]
    NonCanonical {
        /// The address as given.
        address: String,
        /// The one accepted spelling of the same key.
        canonical: String,
    },
    /// A valid address, but for another network than Bittensor (prefix 42).
    #[error(
        "SS58 address {address:?} uses network prefix {found}, expected {SS58_PREFIX} (Bittensor / generic Substrate)"
    )]
    WrongPrefix {
        /// The address as given.
        address: String,
        /// The network prefix found in the address.
        found: u16,
    },
}

/// Why a hex string is not a valid signature or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexKeyError {
    /// Not hexadecimal.
    #[error("{what} is not valid hex: {reason}")]
    BadHex {
        /// What was being parsed ("signature", "public key", ...).
        what: &'static str,
        /// What the hex decoder complained about.
        reason: String,
    },
    /// Not the one wire spelling (lowercase hex without `0x` or whitespace).
    #[error("{what} must be {len} lowercase hex characters without 0x or whitespace")]
    NonCanonical {
        /// What was being parsed.
        what: &'static str,
        /// The number of hex characters expected.
        len: usize,
    },
    /// Hex decoded fine but to the wrong number of bytes.
    #[error("{what} must be {expected} bytes ({} hex chars), got {found} bytes", expected * 2)]
    WrongLength {
        /// What was being parsed.
        what: &'static str,
        /// Expected byte length.
        expected: usize,
        /// Actual byte length.
        found: usize,
    },
}

/// Why [`verify_hex`] rejected a signed message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The signer address is not a valid SS58 address (its message names the address).
    #[error(transparent)]
    BadAddress(#[from] Ss58Error),
    /// The signature is not 64 bytes of hex (its message says "signature ...").
    #[error(transparent)]
    MalformedSignature(#[from] HexKeyError),
    /// Well-formed, but not a signature of this message by this key.
    #[error("signature does not match the message for hotkey {ss58}")]
    Mismatch {
        /// The address the signature was checked against.
        ss58: String,
    },
}

/// Why a key could not be made from a phrase, URI, seed or secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The BIP39 mnemonic is invalid (wrong words, wrong checksum, wrong word count).
    #[error("invalid secret phrase (BIP39 mnemonic or dev URI): {0}")]
    BadPhrase(String),
    /// A seed or secret key has the wrong length or is not a valid key.
    #[error("invalid secret key bytes: {0}")]
    BadSecret(String),
}

fn secret_string_error(e: SecretStringError) -> KeyError {
    match e {
        SecretStringError::InvalidSeedLength | SecretStringError::InvalidSeed => {
            KeyError::BadSecret(format!("{e:?}"))
        }
        other => KeyError::BadPhrase(format!("{other:?}")),
    }
}

fn decode_hex(what: &'static str, s: &str, expected: usize) -> Result<Vec<u8>, HexKeyError> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let bytes = hex::decode(s).map_err(|e| HexKeyError::BadHex {
        what,
        reason: e.to_string(),
    })?;
    if bytes.len() != expected {
        return Err(HexKeyError::WrongLength {
            what,
            expected,
            found: bytes.len(),
        });
    }
    Ok(bytes)
}

fn ss58_checksum(body: &[u8]) -> [u8; 64] {
    let mut data = Vec::with_capacity(SS58_CHECKSUM_PREFIX.len() + body.len());
    data.extend_from_slice(SS58_CHECKSUM_PREFIX);
    data.extend_from_slice(body);
    sp_crypto_hashing::blake2_512(&data)
}

/// Encodes a 32-byte public key as an SS58 address with the given network prefix (0..16383).
pub fn ss58_encode_with_prefix(key: &[u8; PUBLIC_KEY_LEN], prefix: u16) -> String {
    let prefix = prefix & 0x3fff;
    let mut body: Vec<u8> = if prefix < 64 {
        vec![prefix as u8]
    } else {
        vec![
            (((prefix & 0b0000_0000_1111_1100) as u8) >> 2) | 0b0100_0000,
            ((prefix >> 8) as u8) | (((prefix & 0b0000_0000_0000_0011) as u8) << 6),
        ]
    };
    body.extend_from_slice(key);
    let hash = ss58_checksum(&body);
    body.extend_from_slice(&hash[..2]);
    bs58::encode(body).into_string()
}

/// Decodes an SS58 address, returning the network prefix and the 32-byte public key.
///
/// Checks, in order: base58, the prefix byte, the length, the checksum. Does not check which
/// network the prefix names; [`PublicKey::from_ss58`] additionally requires prefix 42.
pub fn ss58_decode_any(address: &str) -> Result<(u16, [u8; PUBLIC_KEY_LEN]), Ss58Error> {
    let data = bs58::decode(address)
        .into_vec()
        .map_err(|e| Ss58Error::BadBase58 {
            address: address.to_owned(),
            reason: e.to_string(),
        })?;
    let Some(&first) = data.first() else {
        return Err(Ss58Error::WrongLength {
            address: address.to_owned(),
            found: 0,
            expected: 1 + PUBLIC_KEY_LEN + 2,
        });
    };
    let (prefix_len, prefix) = match first {
        0..=63 => (1usize, u16::from(first)),
        64..=127 => {
            let Some(&second) = data.get(1) else {
                return Err(Ss58Error::WrongLength {
                    address: address.to_owned(),
                    found: data.len(),
                    expected: 2 + PUBLIC_KEY_LEN + 2,
                });
            };
            let lower = (first << 2) | (second >> 6);
            let upper = second & 0b0011_1111;
            (2usize, u16::from(lower) | (u16::from(upper) << 8))
        }
        _ => {
            return Err(Ss58Error::InvalidPrefixByte {
                address: address.to_owned(),
                byte: first,
            });
        }
    };
    let expected = prefix_len + PUBLIC_KEY_LEN + 2;
    if data.len() != expected {
        return Err(Ss58Error::WrongLength {
            address: address.to_owned(),
            found: data.len(),
            expected,
        });
    }
    let body_len = prefix_len + PUBLIC_KEY_LEN;
    let hash = ss58_checksum(&data[..body_len]);
    if data[body_len..] != hash[..2] {
        return Err(Ss58Error::BadChecksum {
            address: address.to_owned(),
        });
    }
    let mut key = [0u8; PUBLIC_KEY_LEN];
    key.copy_from_slice(&data[prefix_len..body_len]);
    Ok((prefix, key))
}

/// An sr25519 public key (a Bittensor hotkey or coldkey account id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; PUBLIC_KEY_LEN]);

impl PublicKey {
    /// Wraps 32 raw public-key bytes.
    pub fn from_bytes(bytes: [u8; PUBLIC_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Parses `0x`-prefixed (or bare) hex of 32 bytes, as in a keyfile's `publicKey`.
    pub fn from_hex(s: &str) -> Result<Self, HexKeyError> {
        let bytes = decode_hex("public key", s, PUBLIC_KEY_LEN)?;
        let mut key = [0u8; PUBLIC_KEY_LEN];
        key.copy_from_slice(&bytes);
        Ok(Self(key))
    }

    /// Parses an SS58 address; it must carry Bittensor's network prefix 42 and be the key's
    /// canonical spelling (what [`PublicKey::to_ss58`] writes): no whitespace, no two-byte
    /// prefix form.
    pub fn from_ss58(address: &str) -> Result<Self, Ss58Error> {
        let (prefix, key) = ss58_decode_any(address)?;
        if prefix != SS58_PREFIX {
            return Err(Ss58Error::WrongPrefix {
                address: address.to_owned(),
                found: prefix,
            });
        }
        let key = Self(key);
        let canonical = key.to_ss58();
        if canonical != address {
            return Err(Ss58Error::NonCanonical {
                address: address.to_owned(),
                canonical,
            });
        }
        Ok(key)
    }

    /// The SS58 address (prefix 42) of this key.
    pub fn to_ss58(&self) -> String {
        ss58_encode_with_prefix(&self.0, SS58_PREFIX)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    /// `0x`-prefixed lowercase hex, as bittensor writes `publicKey` and `accountId`.
    pub fn to_hex_0x(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// True if `sig` is this key's signature of `msg`, either over the raw bytes or over the
    /// `<Bytes>`-wrapped form.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> bool {
        let public = sr25519::Public::from_raw(self.0);
        let signature = sr25519::Signature::from_raw(sig.0);
        if sr25519::Pair::verify(&signature, msg, &public) {
            return true;
        }
        let mut wrapped =
            Vec::with_capacity(BYTES_WRAP_OPEN.len() + msg.len() + BYTES_WRAP_CLOSE.len());
        wrapped.extend_from_slice(BYTES_WRAP_OPEN);
        wrapped.extend_from_slice(msg);
        wrapped.extend_from_slice(BYTES_WRAP_CLOSE);
        sr25519::Pair::verify(&signature, &wrapped, &public)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ss58())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_ss58())
    }
}

impl FromStr for PublicKey {
    type Err = Ss58Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_ss58(s)
    }
}

/// A 64-byte sr25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; SIGNATURE_LEN]);

impl Signature {
    /// Wraps 64 raw signature bytes.
    pub fn from_bytes(bytes: [u8; SIGNATURE_LEN]) -> Self {
        Self(bytes)
    }

    /// Parses 128 hex chars; a `0x` prefix and upper case are tolerated.
    pub fn from_hex(s: &str) -> Result<Self, HexKeyError> {
        let bytes = decode_hex("signature", s, SIGNATURE_LEN)?;
        let mut sig = [0u8; SIGNATURE_LEN];
        sig.copy_from_slice(&bytes);
        Ok(Self(sig))
    }

    /// Parses the protocol's wire form: exactly 128 lowercase hex characters, no `0x`, no
    /// whitespace. Any other spelling of the same bytes is refused, so the accepted text is
    /// the signature's one canonical form.
    pub fn from_wire_hex(s: &str) -> Result<Self, HexKeyError> {
        let len = SIGNATURE_LEN * 2;
        if s.len() != len || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(HexKeyError::NonCanonical {
                what: "signature",
                len,
            });
        }
        Self::from_hex(s)
    }

    /// 128 lowercase hex chars without `0x`: the wire form of the protocol.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The raw 64 bytes.
    pub fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

/// An sr25519 keypair that signs protocol commitments (a Bittensor hotkey; also used for coldkeys).
///
/// `Debug` prints only the address; the secret never appears in logs.
#[derive(Clone)]
pub struct Hotkey {
    pair: sr25519::Pair,
}

impl Hotkey {
    /// From a secret URI as `btcli`/substrate understand it: a BIP39 mnemonic, a dev URI such as
    /// `//Alice`, or either followed by derivation junctions (`phrase//hard/soft`).
    pub fn from_uri(uri: &str) -> Result<Self, KeyError> {
        let pair = sr25519::Pair::from_string(uri, None).map_err(secret_string_error)?;
        Ok(Self { pair })
    }

    /// From a BIP39 mnemonic (no password), as bittensor's `Keypair.create_from_mnemonic`.
    pub fn from_phrase(phrase: &str) -> Result<Self, KeyError> {
        let (pair, _seed) =
            sr25519::Pair::from_phrase(phrase, None).map_err(secret_string_error)?;
        Ok(Self { pair })
    }

    /// From a 32-byte substrate mini-secret (a keyfile's `secretSeed`).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            pair: sr25519::Pair::from_seed(seed),
        }
    }

    /// From 64 schnorrkel secret-key bytes, scalar ‖ nonce (a keyfile's `privateKey`).
    pub fn from_secret_bytes(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() != 64 {
            return Err(KeyError::BadSecret(format!(
                "privateKey must be 64 bytes (scalar ‖ nonce), got {}",
                secret.len()
            )));
        }
        let pair = sr25519::Pair::from_seed_slice(secret).map_err(secret_string_error)?;
        Ok(Self { pair })
    }

    /// From 64 secret-key bytes in schnorrkel's ed25519-expanded form (the scalar multiplied by
    /// the cofactor), which older substrate-interface based bittensor wallets wrote to `privateKey`.
    pub fn from_ed25519_secret_bytes(secret: &[u8]) -> Result<Self, KeyError> {
        let sk = schnorrkel::SecretKey::from_ed25519_bytes(secret).map_err(|e| {
            KeyError::BadSecret(format!("not an ed25519-form schnorrkel secret: {e}"))
        })?;
        Self::from_secret_bytes(&sk.to_bytes())
    }

    /// A new random key and its 12-word BIP39 mnemonic.
    pub fn generate() -> (Self, String) {
        let (pair, phrase, _seed) = sr25519::Pair::generate_with_phrase(None);
        (Self { pair }, phrase)
    }

    /// Signs `msg` (schnorrkel, context `substrate`). Randomized: two calls give different bytes.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.pair.sign(msg).0)
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.pair.public().0)
    }

    /// The SS58 address (prefix 42).
    pub fn ss58(&self) -> String {
        self.public().to_ss58()
    }

    /// The 64-byte schnorrkel secret (scalar ‖ nonce), as bittensor stores it in `privateKey`.
    pub(crate) fn secret_bytes(&self) -> Vec<u8> {
        self.pair.to_raw_vec()
    }
}

impl fmt::Debug for Hotkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hotkey({})", self.ss58())
    }
}

/// Returns the 32-byte mini-secret seed of a mnemonic, as bittensor writes `secretSeed`.
pub(crate) fn phrase_seed(phrase: &str) -> Result<[u8; 32], KeyError> {
    let (_pair, seed) = sr25519::Pair::from_phrase(phrase, None).map_err(secret_string_error)?;
    Ok(seed)
}

/// Checks that `sig_hex` is the signature of `msg` by the hotkey at `ss58`.
///
/// This is what a server runs on every signed request: address and signature formats are
/// checked first (both in their one canonical form, see the module doc) so the error says which
/// part of the request is wrong.
pub fn verify_hex(ss58: &str, msg: &[u8], sig_hex: &str) -> Result<(), VerifyError> {
    let key = PublicKey::from_ss58(ss58)?;
    let sig = Signature::from_wire_hex(sig_hex)?;
    if key.verify(msg, &sig) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch {
            ss58: ss58.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    #[test]
    fn alice_uri_address() {
        let k = Hotkey::from_uri("//Alice").unwrap();
        assert_eq!(k.ss58(), ALICE);
        assert_eq!(
            k.public().to_hex_0x(),
            "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
        );
    }

    #[test]
    fn sign_verify_roundtrip_and_randomized() {
        let k = Hotkey::from_uri("//Bob").unwrap();
        let a = k.sign(b"hello");
        let b = k.sign(b"hello");
        assert_ne!(a, b, "sr25519 signatures are randomized");
        assert!(k.public().verify(b"hello", &a));
        assert!(!k.public().verify(b"hellO", &a));
        assert_eq!(a.to_hex().len(), 128);
        assert_eq!(a.to_hex(), a.to_hex().to_lowercase());
        assert_eq!(Signature::from_hex(&a.to_hex()).unwrap(), a);
        assert_eq!(
            Signature::from_hex(&format!("0x{}", a.to_hex().to_uppercase())).unwrap(),
            a
        );
        verify_hex(&k.ss58(), b"hello", &a.to_hex()).unwrap();
    }

    #[test]
    fn wrapped_form_verifies() {
        let k = Hotkey::from_uri("//Alice").unwrap();
        let sig = k.sign(b"<Bytes>msg</Bytes>");
        assert!(k.public().verify(b"msg", &sig));
    }

    #[test]
    fn ss58_errors_name_the_problem() {
        let bad58 = PublicKey::from_ss58("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKut0I");
        assert!(
            matches!(bad58, Err(Ss58Error::BadBase58 { .. })),
            "{bad58:?}"
        );
        let short = PublicKey::from_ss58("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKut");
        assert!(
            matches!(short, Err(Ss58Error::WrongLength { .. })),
            "{short:?}"
        );
        let typo = PublicKey::from_ss58("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ");
        assert!(
            matches!(typo, Err(Ss58Error::BadChecksum { .. })),
            "{typo:?}"
        );
        let key = *PublicKey::from_ss58(ALICE).unwrap().as_bytes();
        let polkadot = ss58_encode_with_prefix(&key, 0);
        let err = PublicKey::from_ss58(&polkadot).unwrap_err();
        assert_eq!(
            err,
            Ss58Error::WrongPrefix {
                address: polkadot.clone(),
                found: 0
            }
        );
        assert!(err.to_string().contains("prefix 0"));
        let kusama_like = ss58_encode_with_prefix(&key, 1284);
        assert_eq!(ss58_decode_any(&kusama_like).unwrap(), (1284, key));
    }

    #[test]
    fn verify_hex_errors() {
        let k = Hotkey::from_uri("//Alice").unwrap();
        let sig = k.sign(b"m").to_hex();
        for bad in [
            "zz".to_string(),
            "abcd".to_string(),
            format!("0x{sig}"),
            format!("0X{sig}"),
            sig.to_uppercase(),
            format!(" {sig}"),
            format!("{sig}\n"),
            format!("{sig}\u{a0}"),
        ] {
            assert!(
                matches!(
                    verify_hex(ALICE, b"m", &bad),
                    Err(VerifyError::MalformedSignature(
                        HexKeyError::NonCanonical { .. }
                    ))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            verify_hex("nope", b"m", &sig),
            Err(VerifyError::BadAddress(_))
        ));
        assert!(matches!(
            verify_hex(ALICE, b"other", &sig),
            Err(VerifyError::Mismatch { .. })
        ));
    }

    /// The two-byte prefix spelling of network 42 (`0x4a 0x80`): a second address of one key.
    fn two_byte_alias(key: &[u8; 32]) -> String {
        let mut body = vec![0x4a, 0x80];
        body.extend_from_slice(key);
        let hash = ss58_checksum(&body);
        body.extend_from_slice(&hash[..2]);
        bs58::encode(body).into_string()
    }

    #[test]
    fn one_key_has_one_address() {
        let key = *PublicKey::from_ss58(ALICE).unwrap().as_bytes();
        let alias = two_byte_alias(&key);
        assert_eq!(ss58_decode_any(&alias).unwrap(), (SS58_PREFIX, key));
        for bad in [
            alias,
            format!(" {ALICE}"),
            format!("{ALICE} "),
            format!("{ALICE}\n"),
            format!("\u{a0}{ALICE}"),
        ] {
            let err = PublicKey::from_ss58(&bad).unwrap_err();
            assert!(
                matches!(&err, Ss58Error::NonCanonical { canonical, .. } if canonical == ALICE)
                    || matches!(err, Ss58Error::BadBase58 { .. }),
                "{bad:?}: {err:?}"
            );
            assert!(
                verify_hex(
                    &bad,
                    b"m",
                    &Hotkey::from_uri("//Alice").unwrap().sign(b"m").to_hex()
                )
                .is_err()
            );
        }
    }

    #[test]
    fn ed25519_form_secret_gives_same_key() {
        let k = Hotkey::from_uri("//Alice").unwrap();
        let sk = schnorrkel::SecretKey::from_bytes(&k.secret_bytes()).unwrap();
        let ed = sk.to_ed25519_bytes();
        assert_eq!(
            Hotkey::from_ed25519_secret_bytes(&ed).unwrap().ss58(),
            ALICE
        );
        assert!(Hotkey::from_secret_bytes(&ed).map_or(true, |k| k.ss58() != ALICE));
    }

    #[test]
    fn debug_hides_secret() {
        let k = Hotkey::from_uri("//Alice").unwrap();
        assert_eq!(format!("{k:?}"), format!("Hotkey({ALICE})"));
    }
}
