//! `manifest.json`: the signed description of one (epoch, zipcode) submission, uploaded last
//! (it is the commit point).
//!
//! The signature is the hotkey's sr25519 signature over the manifest's canonical form: the
//! sorted-key compact JSON ([`crate::canonical`]) of every field except `signature`. The file
//! itself is that same canonical JSON with `signature` included.
//!
//! `padding` is a string of dots, part of the signed content, that makes the file at least
//! [`crate::MIN_OBJECT_BYTES`] long (the store refuses smaller objects). Readers ignore it.

use crate::caps::{ReadCaps, ReadError};
use crate::key::ObjectKey;
use resi_core::keys::{Hotkey, VerifyError, verify_hex};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest manifest accepted by [`Manifest::from_json`], in bytes (also capped by
/// [`ReadCaps::max_file_bytes`]).
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// Version of the manifest layout (`manifest_version`).
pub const MANIFEST_VERSION: u32 = 1;

/// The scraper that produced the listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScraperInfo {
    /// Scraper name (from scraper.toml).
    pub name: String,
    /// Scraper version.
    pub version: String,
    /// Lowercase hex sha256 of the scraper's wasm component.
    pub wasm_sha256: String,
}

/// Manifest content before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedManifest {
    /// Epoch id.
    pub epoch_id: String,
    /// The epoch's nonce from the coordinator.
    pub nonce: String,
    /// Miner hotkey (SS58).
    pub hotkey: String,
    /// 5-digit zipcode.
    pub zipcode: String,
    /// Rows in `listings.parquet`.
    pub listing_count: u64,
    /// Lowercase hex sha256 of `listings.parquet`.
    pub parquet_sha256: String,
    /// Size of `listings.parquet` in bytes.
    pub parquet_size: u64,
    /// Scraper identity.
    pub scraper: ScraperInfo,
    /// When scraping this zipcode started (RFC 3339 UTC).
    pub mining_start_time: String,
    /// When scraping this zipcode ended (RFC 3339 UTC).
    pub mining_end_time: String,
}

/// A signed manifest, as stored in `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Layout version ([`MANIFEST_VERSION`]).
    pub manifest_version: u32,
    /// Data format version ([`crate::DATA_FORMAT_VERSION`]).
    pub data_format_version: u32,
    /// Epoch id.
    pub epoch_id: String,
    /// The epoch's nonce.
    pub nonce: String,
    /// Miner hotkey (SS58); the signer.
    pub hotkey: String,
    /// 5-digit zipcode.
    pub zipcode: String,
    /// Rows in `listings.parquet`.
    pub listing_count: u64,
    /// Lowercase hex sha256 of `listings.parquet`.
    pub parquet_sha256: String,
    /// Size of `listings.parquet` in bytes.
    pub parquet_size: u64,
    /// Scraper identity.
    pub scraper: ScraperInfo,
    /// Scraping start (RFC 3339 UTC).
    pub mining_start_time: String,
    /// Scraping end (RFC 3339 UTC).
    pub mining_end_time: String,
    /// Dots that pad the file to at least 1024 bytes; signed, otherwise meaningless.
    #[serde(default)]
    pub padding: String,
    /// 128 hex chars: the hotkey's signature over the canonical form.
    pub signature: String,
}

/// Why a manifest is not acceptable.
#[derive(Debug, Error)]
pub enum ManifestError {
    /// The file could not be read (size cap, malformed JSON).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The manifest names another hotkey than expected.
    #[error("manifest is for hotkey {found}, expected {expected}")]
    WrongHotkey {
        /// In the manifest.
        found: String,
        /// Expected.
        expected: String,
    },
    /// The signature does not verify.
    #[error("the manifest signature is invalid")]
    BadSignature(#[from] VerifyError),
    /// A field disagrees with the object key it was found under.
    #[error("manifest {field} is {found:?} but its object key says {expected:?}")]
    KeyMismatch {
        /// Field name.
        field: &'static str,
        /// In the manifest.
        found: String,
        /// In the key.
        expected: String,
    },
    /// The parquet file is not the one the manifest describes.
    #[error("listings.parquet does not match the manifest: {0}")]
    ParquetMismatch(String),
    /// A version this reader does not know.
    #[error("unsupported manifest_version {manifest} / data_format_version {data}")]
    UnsupportedVersion {
        /// manifest_version.
        manifest: u32,
        /// data_format_version.
        data: u32,
    },
}

impl UnsignedManifest {
    /// Signs the manifest with `hotkey`; `self.hotkey` is replaced by the signer's address.
    pub fn sign(self, hotkey: &Hotkey) -> Manifest {
        let mut m = Manifest {
            manifest_version: MANIFEST_VERSION,
            data_format_version: crate::DATA_FORMAT_VERSION,
            epoch_id: self.epoch_id,
            nonce: self.nonce,
            hotkey: hotkey.ss58(),
            zipcode: self.zipcode,
            listing_count: self.listing_count,
            parquet_sha256: self.parquet_sha256,
            parquet_size: self.parquet_size,
            scraper: self.scraper,
            mining_start_time: self.mining_start_time,
            mining_end_time: self.mining_end_time,
            padding: String::new(),
            // Same length as a real signature, so the padding computed below is exact.
            signature: "0".repeat(128),
        };
        let len = m.to_json_bytes().len();
        if len < crate::MIN_OBJECT_BYTES {
            m.padding = ".".repeat(crate::MIN_OBJECT_BYTES - len);
        }
        m.signature = hotkey.sign(&m.canonical_bytes()).to_hex();
        m
    }
}

impl Manifest {
    fn value(&self) -> serde_json::Value {
        // Serializing plain strings and integers cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The signed bytes: canonical JSON of every field but `signature`.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut v = self.value();
        if let Some(map) = v.as_object_mut() {
            map.remove("signature");
        }
        crate::canonical::to_canonical_string(&v).into_bytes()
    }

    /// The file content: canonical JSON of every field including `signature`.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        crate::canonical::to_canonical_string(&self.value()).into_bytes()
    }

    /// Parses an untrusted `manifest.json` (size-capped, unknown fields rejected). Does not
    /// verify the signature: call [`Manifest::verify`].
    pub fn from_json(bytes: &[u8], caps: &ReadCaps) -> Result<Self, ManifestError> {
        let size = bytes.len() as u64;
        if size > MAX_MANIFEST_BYTES {
            return Err(ReadError::TooLarge {
                what: "manifest.json",
                size,
                max: MAX_MANIFEST_BYTES,
            }
            .into());
        }
        caps.check_size("manifest.json", size)?;
        let m: Manifest = serde_json::from_slice(bytes).map_err(|source| ReadError::Json {
            what: "manifest.json",
            source,
        })?;
        for (field, len) in [
            ("epoch_id", m.epoch_id.len()),
            ("nonce", m.nonce.len()),
            ("hotkey", m.hotkey.len()),
            ("zipcode", m.zipcode.len()),
            ("parquet_sha256", m.parquet_sha256.len()),
            ("scraper.name", m.scraper.name.len()),
            ("scraper.version", m.scraper.version.len()),
            ("scraper.wasm_sha256", m.scraper.wasm_sha256.len()),
            ("mining_start_time", m.mining_start_time.len()),
            ("mining_end_time", m.mining_end_time.len()),
        ] {
            caps.check_field(0, field, len)?;
        }
        if m.manifest_version != MANIFEST_VERSION
            || m.data_format_version != crate::DATA_FORMAT_VERSION
        {
            return Err(ManifestError::UnsupportedVersion {
                manifest: m.manifest_version,
                data: m.data_format_version,
            });
        }
        Ok(m)
    }

    /// Checks that the manifest is `expected_hotkey`'s and that its signature verifies.
    pub fn verify(&self, expected_hotkey: &str) -> Result<(), ManifestError> {
        if self.hotkey != expected_hotkey {
            return Err(ManifestError::WrongHotkey {
                found: self.hotkey.clone(),
                expected: expected_hotkey.to_owned(),
            });
        }
        verify_hex(&self.hotkey, &self.canonical_bytes(), &self.signature)?;
        Ok(())
    }

    /// Checks hotkey, epoch and zipcode against the object key the manifest was found under.
    pub fn check_key(&self, key: &ObjectKey) -> Result<(), ManifestError> {
        for (field, found, expected) in [
            ("hotkey", &self.hotkey, &key.hotkey),
            ("epoch_id", &self.epoch_id, &key.epoch_id),
            ("zipcode", &self.zipcode, &key.zipcode),
        ] {
            if found != expected {
                return Err(ManifestError::KeyMismatch {
                    field,
                    found: found.clone(),
                    expected: expected.clone(),
                });
            }
        }
        Ok(())
    }

    /// Checks that `parquet` is the file this manifest describes (size and sha256).
    pub fn check_parquet(&self, parquet: &[u8]) -> Result<(), ManifestError> {
        if parquet.len() as u64 != self.parquet_size {
            return Err(ManifestError::ParquetMismatch(format!(
                "{} bytes, manifest says {}",
                parquet.len(),
                self.parquet_size
            )));
        }
        let sha = crate::sha256_hex(parquet);
        if !sha.eq_ignore_ascii_case(&self.parquet_sha256) {
            return Err(ManifestError::ParquetMismatch(format!(
                "sha256 {sha}, manifest says {}",
                self.parquet_sha256
            )));
        }
        Ok(())
    }
}
