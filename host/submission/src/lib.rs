//! The SN46 submission format, shared by miners (writers) and validators (readers).
//!
//! Per (epoch, zipcode) a miner uploads, under
//! `data/hotkey={hotkey}/epoch={epochId}/zipcode={zipcode}/`:
//! - `listings.parquet`: one row per listing, typed columns ([`parquet`]);
//! - `manifest.json`: counts, the parquet file's sha256 and size, the scraper's identity and the
//!   mining times, signed by the hotkey over its canonical form ([`manifest`]). It is uploaded
//!   last: it is the commit point of the submission;
//! - optionally the upstream format `data_{YYYYmmdd_HHMMSS}.json` ([`upstream`]).
//!
//! Modules:
//! - [`key`]: object keys and their parser.
//! - [`caps`]: the limits every reader enforces on untrusted input.
//! - [`parquet`]: the `listings.parquet` writer and defensive reader.
//! - [`manifest`]: the signed `manifest.json`.
//! - [`upstream`]: the upstream JSON format.
//! - [`canonical`]: sorted-key compact JSON (the signed form).
//!
//! Every file this crate writes is at least [`MIN_OBJECT_BYTES`] long, because the object store
//! refuses smaller objects (`content-length-range 1024..`).

#![warn(missing_docs)]

pub mod canonical;
pub mod caps;
pub mod key;
pub mod manifest;
pub mod parquet;
pub mod upstream;

pub use crate::parquet::{
    ListingBatch, WriteError, listing_key, read_batch, read_listings, write_listings,
};
pub use caps::{ROW_COST, ReadCaps, ReadError, decoded_cost, listing_cost};
pub use key::{KeyError, ObjectKey, SubmissionFile};
pub use manifest::{MANIFEST_VERSION, Manifest, ManifestError, ScraperInfo, UnsignedManifest};
pub use upstream::UpstreamSubmission;

/// Version of the data format written in manifests (`data_format_version`).
pub const DATA_FORMAT_VERSION: u32 = 1;

/// Smallest object the store accepts; every file written here is padded to at least this size.
pub const MIN_OBJECT_BYTES: usize = 1024;

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
