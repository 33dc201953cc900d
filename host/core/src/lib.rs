//! Light core of resi: protocol types, epochs, keys and signing, listing schema, submission format.
//!
//! Modules:
//! - [`keys`]: sr25519 hotkeys, signatures, SS58 addresses (bittensor-compatible signing).
//! - [`wallet`]: bittensor wallet directories and keyfiles (plain and `$NACL`-encrypted).
//! - [`commitments`]: the exact strings signed for each protocol endpoint.
//! - [`auth`]: the timestamp window servers enforce on signed requests.
//! - [`epoch`]: epoch ids and boundaries (4 h epochs aligned to 00:00 UTC, shorter for development).
//! - [`listing`]: the listing record and the protocol's validity rules.
//! - [`wire`]: request and response bodies of the SN46 HTTP protocol.
//! - [`weights`]: bittensor's float-to-u16 weight normalization.
//! - [`error`]: printing an error with its causes on one line ([`error::ErrorChain`]).

#![warn(missing_docs)]

pub mod auth;
pub mod commitments;
pub mod epoch;
pub mod error;
pub mod keys;
pub mod listing;
pub mod wallet;
pub mod weights;
pub mod wire;

pub use keys::{Hotkey, PublicKey, Signature, verify_hex};
