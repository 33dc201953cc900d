//! The epoch as the coordinator reveals it to validators once the submission deadline has
//! passed: the `/epoch/{id}` answer ([`resi_core::wire::EpochReveal`]: the upstream shape plus
//! resi's validator-only extensions):
//! - `validationSeed`: 32 bytes as hex (required for scoring);
//! - `metadata.validationSeedSha256`: the commitment published at epoch start; when present the seed
//!   must hash to it, otherwise the epoch is refused (the coordinator changed the seed);
//! - per zipcode `isHoneypot` (bool) and `trueCount` or `actualListings` (u32).

use crate::error::ValidatorError;
use resi_core::wire::EpochReveal;
use resi_sandbox::policy::wit;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One assigned zipcode as validators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentFacts {
    /// The zipcode.
    pub zipcode: String,
    /// Expected listing count.
    pub expected: u32,
    /// Honeypot zipcode.
    pub honeypot: bool,
    /// True listing count (honeypots).
    pub true_count: u32,
}

/// What a validator needs to know about an epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochFacts {
    /// Epoch id.
    pub epoch_id: String,
    /// Epoch nonce.
    pub nonce: String,
    /// Submission deadline, unix milliseconds.
    pub deadline_ms: u64,
    /// Revealed validation seed.
    pub validation_seed: [u8; 32],
    /// Assignments, in the coordinator's order.
    pub assignments: Vec<AssignmentFacts>,
}

/// Parses an ISO 8601 / RFC 3339 time to unix milliseconds.
pub fn parse_time_ms(s: &str) -> Result<u64, ValidatorError> {
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map_err(|e| ValidatorError::Facts(format!("time {s:?}: {e}")))?;
    u64::try_from(t.timestamp_millis())
        .map_err(|_| ValidatorError::Facts(format!("time {s:?} is before 1970")))
}

impl EpochFacts {
    /// Reads the validators' `/epoch/{id}` answer from JSON (a file, or a raw answer).
    pub fn from_json(v: &Value) -> Result<Self, ValidatorError> {
        let reveal: EpochReveal = serde_json::from_value(v.clone())
            .map_err(|e| ValidatorError::Facts(format!("not an /epoch/{{id}} answer: {e}")))?;
        Self::from_reveal(&reveal)
    }

    /// The facts of a revealed epoch: the seed must be present and, when the assignment
    /// published its commitment, hash to it.
    pub fn from_reveal(r: &EpochReveal) -> Result<Self, ValidatorError> {
        let a = &r.assignment;
        let epoch_id = a.epoch_id.to_string();
        let deadline_ms = parse_time_ms(&a.submission_deadline)?;
        let seed_hex = r.validation_seed.as_deref().ok_or_else(|| {
            ValidatorError::Facts(format!(
                "epoch {epoch_id}: no validationSeed (not revealed yet: the epoch is not over?)"
            ))
        })?;
        let seed: [u8; 32] = hex::decode(seed_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                ValidatorError::Facts(format!("validationSeed {seed_hex:?} is not 32 hex bytes"))
            })?;
        let commitment = a
            .metadata
            .as_ref()
            .and_then(|m| m.validation_seed_sha256.as_deref());
        if let Some(commit) = commitment {
            let got = hex::encode(Sha256::digest(seed));
            if !got.eq_ignore_ascii_case(commit) {
                return Err(ValidatorError::Facts(format!(
                    "validation seed hashes to {got}, but the commitment published at epoch start is {commit}"
                )));
            }
        }
        let assignments = a
            .zipcodes
            .iter()
            .map(|z| AssignmentFacts {
                zipcode: z.zipcode.clone(),
                expected: z.expected_listings,
                honeypot: z.is_honeypot.unwrap_or(false),
                true_count: z.actual_listings.unwrap_or(0),
            })
            .collect();
        Ok(EpochFacts {
            epoch_id,
            nonce: a.nonce.clone(),
            deadline_ms,
            validation_seed: seed,
            assignments,
        })
    }

    /// The facts in the `/epoch/{id}` JSON shape [`EpochFacts::from_json`] reads.
    pub fn to_json(&self) -> Value {
        let deadline = chrono::DateTime::from_timestamp_millis(self.deadline_ms as i64)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        serde_json::json!({
            "success": true,
            "epochId": self.epoch_id,
            "nonce": self.nonce,
            "submissionDeadline": deadline,
            "validationSeed": hex::encode(self.validation_seed),
            "metadata": {"validationSeedSha256": hex::encode(Sha256::digest(self.validation_seed))},
            "zipcodes": self.assignments.iter().map(|a| serde_json::json!({
                "zipcode": a.zipcode,
                "expectedListings": a.expected,
                "isHoneypot": a.honeypot,
                "trueCount": a.true_count,
            })).collect::<Vec<_>>(),
        })
    }

    /// The policy's epoch facts.
    pub fn wit_epoch(&self) -> wit::Epoch {
        wit::Epoch {
            epoch_id: self.epoch_id.clone(),
            nonce: self.nonce.clone(),
            validation_seed: self.validation_seed.to_vec(),
            deadline_ms: self.deadline_ms,
        }
    }

    /// The assignment of `zipcode`, if assigned.
    pub fn assignment(&self, zipcode: &str) -> Option<&AssignmentFacts> {
        self.assignments.iter().find(|a| a.zipcode == zipcode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact shape resi's coordinator answers on `/epoch/{id}` after the deadline.
    fn coordinator_answer(seed: [u8; 32], commitment: &str) -> Value {
        serde_json::json!({
            "success": true,
            "epochId": "2025-10-01T16-00-00",
            "epochStart": "2025-10-01T16:00:00.000Z",
            "epochEnd": "2025-10-01T20:00:00.000Z",
            "nonce": "376ce532f42cf2a5",
            "submissionDeadline": "2025-10-01T20:00:00.000Z",
            "zipcodes": [
                {"zipcode": "19103", "expectedListings": 250, "isHoneypot": false},
                {"zipcode": "00501", "expectedListings": 230, "isHoneypot": true, "actualListings": 0}
            ],
            "metadata": {"validationSeedSha256": commitment},
            "validationSeed": hex::encode(seed),
        })
    }

    #[test]
    fn reads_the_coordinators_reveal_and_checks_the_commitment() {
        let seed = [7u8; 32];
        let good = hex::encode(Sha256::digest(seed));
        let facts = EpochFacts::from_json(&coordinator_answer(seed, &good)).unwrap();
        assert_eq!(facts.validation_seed, seed);
        let honeypot = facts.assignment("00501").unwrap();
        assert!(honeypot.honeypot);
        assert_eq!(honeypot.true_count, 0);
        assert!(!facts.assignment("19103").unwrap().honeypot);
        let err = EpochFacts::from_json(&coordinator_answer(seed, &"00".repeat(32))).unwrap_err();
        assert!(err.to_string().contains("commitment"), "{err}");
    }
}
