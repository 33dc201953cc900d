//! Loading components by sha256 pin: the bytes must hash to the pinned value or nothing runs.

use crate::SandboxError;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A sha256 digest used to pin a component (displayed as 64 lowercase hex chars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Pin(pub [u8; 32]);

impl Sha256Pin {
    /// The sha256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Pin(Sha256::digest(bytes).into())
    }

    /// Checks that `bytes` hash to this pin.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), SandboxError> {
        let actual = Sha256Pin::of(bytes);
        if actual == *self {
            Ok(())
        } else {
            Err(SandboxError::HashMismatch {
                expected: self.to_string(),
                actual: actual.to_string(),
            })
        }
    }
}

impl fmt::Display for Sha256Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// Why a string is not a sha256 pin.
#[derive(Debug, thiserror::Error)]
#[error("not a sha256 pin (want 64 hex characters, optionally prefixed by `sha256:`): {0:?}")]
pub struct ParsePinError(String);

impl FromStr for Sha256Pin {
    type Err = ParsePinError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex_part = s.trim().strip_prefix("sha256:").unwrap_or(s.trim());
        let mut out = [0u8; 32];
        if hex_part.len() != 64 || hex::decode_to_slice(hex_part, &mut out).is_err() {
            return Err(ParsePinError(s.to_string()));
        }
        Ok(Sha256Pin(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        let pin = Sha256Pin::of(b"abc");
        let text = pin.to_string();
        assert_eq!(
            text,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(text.parse::<Sha256Pin>().unwrap(), pin);
        assert_eq!(format!("sha256:{text}").parse::<Sha256Pin>().unwrap(), pin);
        assert!("abc".parse::<Sha256Pin>().is_err());
        assert!("zz".repeat(32).parse::<Sha256Pin>().is_err());
    }

    #[test]
    fn mismatch_names_both_hashes() {
        let pin = Sha256Pin::of(b"expected");
        let err = pin.verify(b"other").unwrap_err().to_string();
        assert!(err.contains(&pin.to_string()), "{err}");
        assert!(err.contains(&Sha256Pin::of(b"other").to_string()), "{err}");
    }
}
