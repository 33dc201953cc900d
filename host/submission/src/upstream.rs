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

    /// Parses an untrusted upstream JSON file, enforcing `caps`: size before parsing; the
    /// number of listings before materialising any (a first pass counts them without
    /// allocating, so `[{},{},...]` cannot expand into millions of records); string lengths,
    /// the decoded size and `listing_count` after.
    pub fn from_json(bytes: &[u8], caps: &ReadCaps) -> Result<Self, ReadError> {
        caps.check_size("upstream JSON", bytes.len() as u64)?;
        let counted: CountListings =
            serde_json::from_slice(bytes).map_err(|source| ReadError::Json {
                what: "upstream JSON",
                source,
            })?;
        caps.check_rows(counted.listings.0)?;
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
        caps.check_decoded(crate::caps::decoded_cost(&s.listings))?;
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

/// The first pass of [`UpstreamSubmission::from_json`]: only the number of listings.
#[derive(Deserialize)]
struct CountListings {
    #[serde(default)]
    listings: SeqLen,
}

/// The length of a JSON array, counted without keeping its elements.
#[derive(Default)]
struct SeqLen(u64);

impl<'de> Deserialize<'de> for SeqLen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> serde::de::Visitor<'de> for Count {
            type Value = SeqLen;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of listings")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<SeqLen, A::Error> {
                let mut n = 0u64;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(SeqLen(n))
            }
        }
        d.deserialize_seq(Count)
    }
}
