//! `resi-rules`: the rules that every part of resi must apply byte for byte the same, written
//! once. The miner applies them when it builds a submission, the validator's hashes when they
//! write canonical JSON, and the `zipcode-competitive` 1.1 policy when it scores; a rule
//! changed here changes all of them together.
//!
//! - [`json`]: the RFC 8785 string writer of canonical JSON.
//! - [`address`]: address normalisation (the uniqueness gate G2, spot-check matching).
//! - [`zipcode`]: what a zipcode is.
//! - [`identity`]: the identity of a listing under G2, and the G2 check itself.
//! - [`batch`]: the listing batch in which `resi:policy@1.1.0` passes a zipcode's listings.
//!
//! `no_std` (with `alloc`), no dependencies and no floating point: it compiles into the wasm
//! policies as it is, and natively into the host.
//!
//! The released `zipcode-competitive` 1.0.0 keeps its own copy of these rules: its source is
//! frozen so that its pinned component stays reproducible. Tests check both copies agree.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod address;
pub mod batch;
pub mod identity;
pub mod json;
pub mod zipcode;
