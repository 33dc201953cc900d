//! Consensus hashes (spec "Consensus"):
//! - `params_sha256 = sha256(canonical params JSON)`;
//! - `outcome_hash = sha256("resi/consensus/v1" || policy_wasm_sha256 (32 raw bytes) ||
//!   params_sha256 (32 raw bytes) || epoch_id (UTF-8) || canonical_outcome (UTF-8))`;
//! - `input_hash = sha256("resi/input/v1" || canonical_input)` where `canonical_input` is the
//!   RFC 8785 JSON `{"epoch":E,"zipcodes":[Z...]}`: `E` as [`crate::input::epoch_value`], one
//!   `Z` per zipcode sorted by zipcode as [`crate::input::zipcode_value`] (assignment,
//!   submissions sorted by hotkey with listings in file order, and the observations the policy
//!   was given, sorted by (hotkey, index)). Params are not part of it: they are pinned by
//!   `params_sha256`.

use crate::error::InputError;
use crate::input::{EpochRun, epoch_value, zipcode_value};
use resi_sandbox::policy::wit;
use sha2::{Digest, Sha256};
use zipcode_competitive_core::canonical;

/// Domain tag of `outcome_hash`.
pub const CONSENSUS_DOMAIN: &[u8] = b"resi/consensus/v1";
/// Domain tag of `input_hash`.
pub const INPUT_DOMAIN: &[u8] = b"resi/input/v1";

/// A 32-byte sha256 digest.
pub type Digest32 = [u8; 32];

/// sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest32 {
    Sha256::digest(bytes).into()
}

/// Canonical JSON (RFC 8785, integers only) of any integer-only JSON text.
pub fn canonicalize_json(json: &str) -> Result<String, InputError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| InputError::Json(e.to_string()))?;
    canonicalize_value(&value)
}

/// Canonical JSON (RFC 8785, integers only) of a parsed JSON value.
pub fn canonicalize_value(value: &serde_json::Value) -> Result<String, InputError> {
    Ok(canonical::from_json(value)
        .map_err(InputError::NotInteger)?
        .to_canonical())
}

/// `params_sha256`: sha256 of the canonical params JSON.
pub fn params_sha256(canonical_params: &str) -> Digest32 {
    sha256(canonical_params.as_bytes())
}

/// `outcome_hash` of a canonical outcome.
pub fn outcome_hash(
    policy_wasm_sha256: &Digest32,
    params_sha256: &Digest32,
    epoch_id: &str,
    canonical_outcome: &str,
) -> Digest32 {
    let mut h = Sha256::new();
    h.update(CONSENSUS_DOMAIN);
    h.update(policy_wasm_sha256);
    h.update(params_sha256);
    h.update(epoch_id.as_bytes());
    h.update(canonical_outcome.as_bytes());
    h.finalize().into()
}

/// `input_hash` of an epoch and the observations the policy was given per zipcode
/// (`observations[i]` belongs to `run.zipcodes[i]`). Streams the canonical JSON into the hash
/// one zipcode at a time.
pub fn input_hash(run: &EpochRun, observations: &[Vec<wit::Observation>]) -> Digest32 {
    let mut order: Vec<usize> = (0..run.zipcodes.len()).collect();
    order.sort_by(|a, b| {
        run.zipcodes[*a]
            .assignment
            .zipcode
            .cmp(&run.zipcodes[*b].assignment.zipcode)
    });
    let mut h = Sha256::new();
    h.update(INPUT_DOMAIN);
    h.update(b"{\"epoch\":");
    h.update(epoch_value(&run.epoch).to_canonical().as_bytes());
    h.update(b",\"zipcodes\":[");
    for (n, i) in order.iter().enumerate() {
        if n > 0 {
            h.update(b",");
        }
        let obs = observations.get(*i).map(Vec::as_slice).unwrap_or(&[]);
        h.update(
            zipcode_value(&run.zipcodes[*i], obs)
                .to_canonical()
                .as_bytes(),
        );
    }
    h.update(b"]}");
    h.finalize().into()
}
