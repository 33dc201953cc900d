//! The upstream JSON submission format, one object per (epoch, zipcode) at
//! `data/hotkey={hk}/epoch={id}/zipcode={zip}/data_{YYYYmmdd_HHMMSS}.json`:
//! `{"epoch_id","zipcode","miner_hotkey","submission_timestamp","listing_count","listings":[...]}`.
//!
//! The writer pads short files with trailing spaces (valid JSON whitespace) to
//! [`crate::MIN_OBJECT_BYTES`].

use crate::caps::{ReadCaps, ReadError};
use resi_core::listing::Listing;
use serde::{Deserialize, Serialize};

/// One upstream-format submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamSubmission {
    /// Epoch id.
    pub epoch_id: String,
    /// 5-digit zipcode.
    pub zipcode: String,
    /// Miner hotkey (SS58).
    pub miner_hotkey: String,
    /// The miner's own submission time (ISO 8601; not trusted: the store's time is).
    pub submission_timestamp: String,
    /// Number of listings.
    pub listing_count: u64,
    /// The listings.
    pub listings: Vec<Listing>,
}

impl UpstreamSubmission {
    /// Serializes to JSON, padded with trailing spaces to at least 1024 bytes.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        // Serializing strings, integers and listings cannot fail.
        let mut out = serde_json::to_vec(self).unwrap_or_default();
        if out.len() < crate::MIN_OBJECT_BYTES {
            out.resize(crate::MIN_OBJECT_BYTES, b' ');
        }
        out
    }

    /// Parses an untrusted upstream JSON file, enforcing `caps` (size before parsing; row count,
    /// string lengths and `listing_count` after).
    pub fn from_json(bytes: &[u8], caps: &ReadCaps) -> Result<Self, ReadError> {
        caps.check_size("upstream JSON", bytes.len() as u64)?;
        let s: UpstreamSubmission =
            serde_json::from_slice(bytes).map_err(|source| ReadError::Json {
                what: "upstream JSON",
                source,
            })?;
        caps.check_rows(s.listings.len() as u64)?;
        for (field, len) in [
            ("epoch_id", s.epoch_id.len()),
            ("zipcode", s.zipcode.len()),
            ("miner_hotkey", s.miner_hotkey.len()),
            ("submission_timestamp", s.submission_timestamp.len()),
        ] {
            caps.check_field(0, field, len)?;
        }
        for (row, l) in s.listings.iter().enumerate() {
            check_listing_fields(caps, row, l)?;
        }
        if s.listing_count != s.listings.len() as u64 {
            return Err(ReadError::CountMismatch {
                declared: s.listing_count,
                actual: s.listings.len() as u64,
            });
        }
        Ok(s)
    }
}

/// Checks every string field of `l` against `caps.max_field_len`.
pub fn check_listing_fields(caps: &ReadCaps, row: usize, l: &Listing) -> Result<(), ReadError> {
    for (field, len) in [
        ("zpid", l.zpid.as_deref().map_or(0, str::len)),
        ("mls_id", l.mls_id.as_deref().map_or(0, str::len)),
        ("address", l.address.len()),
        ("zipcode", l.zipcode.len()),
        ("listing_date", l.listing_date.len()),
        ("property_type", l.property_type.len()),
        ("listing_status", l.listing_status.len()),
        ("source_url", l.source_url.len()),
        ("scraped_timestamp", l.scraped_timestamp.len()),
    ] {
        caps.check_field(row, field, len)?;
    }
    Ok(())
}
