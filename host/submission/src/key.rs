//! Object keys of a submission and their parser.
//!
//! Layout: `data/hotkey={hotkey}/epoch={epochId}/zipcode={zipcode}/{file}` where `file` is
//! `listings.parquet`, `manifest.json` or the upstream `data_{YYYYmmdd_HHMMSS}.json`.

use std::fmt;
use thiserror::Error;

/// Name of the listings file.
pub const LISTINGS_FILE: &str = "listings.parquet";
/// Name of the manifest file.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Which file of a submission a key names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubmissionFile {
    /// `listings.parquet`.
    Listings,
    /// `manifest.json`.
    Manifest,
    /// Upstream `data_{YYYYmmdd_HHMMSS}.json`; holds the `YYYYmmdd_HHMMSS` stamp.
    Upstream(String),
}

impl SubmissionFile {
    /// The upstream file for a time: `data_{YYYYmmdd_HHMMSS}.json`.
    pub fn upstream_at(time: chrono::DateTime<chrono::Utc>) -> Self {
        SubmissionFile::Upstream(time.format("%Y%m%d_%H%M%S").to_string())
    }

    /// The file name.
    pub fn file_name(&self) -> String {
        match self {
            SubmissionFile::Listings => LISTINGS_FILE.to_owned(),
            SubmissionFile::Manifest => MANIFEST_FILE.to_owned(),
            SubmissionFile::Upstream(stamp) => format!("data_{stamp}.json"),
        }
    }

    fn parse(name: &str) -> Result<Self, KeyError> {
        match name {
            LISTINGS_FILE => Ok(SubmissionFile::Listings),
            MANIFEST_FILE => Ok(SubmissionFile::Manifest),
            other => {
                let stamp = other
                    .strip_prefix("data_")
                    .and_then(|s| s.strip_suffix(".json"))
                    .ok_or_else(|| KeyError::UnknownFile(other.to_owned()))?;
                chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d_%H%M%S")
                    .ok()
                    .filter(|_| stamp.len() == 15)
                    .ok_or_else(|| KeyError::UnknownFile(other.to_owned()))?;
                Ok(SubmissionFile::Upstream(stamp.to_owned()))
            }
        }
    }
}

/// A parsed submission object key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    /// Miner hotkey (SS58).
    pub hotkey: String,
    /// Epoch id.
    pub epoch_id: String,
    /// 5-digit zipcode.
    pub zipcode: String,
    /// Which file.
    pub file: SubmissionFile,
}

/// Why a string is not a submission object key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The key does not have the `data/hotkey=../epoch=../zipcode=../file` shape.
    #[error("object key {0:?} is not data/hotkey={{hk}}/epoch={{id}}/zipcode={{zip}}/{{file}}")]
    Shape(String),
    /// A path segment is empty, holds a character outside its alphabet, or (for `hotkey`) is
    /// not a canonical SS58 address.
    #[error("object key segment {segment} has a bad value {value:?}")]
    BadSegment {
        /// Segment name (`hotkey`, `epoch`, `zipcode`).
        segment: &'static str,
        /// Its value.
        value: String,
    },
    /// The file name is none of the submission's files.
    #[error("unknown submission file {0:?}")]
    UnknownFile(String),
}

fn segment_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        && s != "."
        && s != ".."
}

fn check(segment: &'static str, value: &str) -> Result<(), KeyError> {
    let ok = match segment {
        "zipcode" => resi_core::listing::is_zipcode(value),
        // One key, one folder: only the canonical SS58 spelling names a miner.
        "hotkey" => resi_core::keys::PublicKey::from_ss58(value).is_ok(),
        _ => segment_ok(value),
    };
    if ok {
        Ok(())
    } else {
        Err(KeyError::BadSegment {
            segment,
            value: value.to_owned(),
        })
    }
}

/// `data/hotkey={hotkey}/`: the miner's folder (what `/get-folder-access` grants).
pub fn hotkey_prefix(hotkey: &str) -> String {
    format!("data/hotkey={hotkey}/")
}

/// `data/hotkey={hotkey}/epoch={epoch_id}/`.
pub fn epoch_prefix(hotkey: &str, epoch_id: &str) -> String {
    format!("data/hotkey={hotkey}/epoch={epoch_id}/")
}

/// `data/hotkey={hotkey}/epoch={epoch_id}/zipcode={zipcode}/`.
pub fn zipcode_prefix(hotkey: &str, epoch_id: &str, zipcode: &str) -> String {
    format!("data/hotkey={hotkey}/epoch={epoch_id}/zipcode={zipcode}/")
}

impl ObjectKey {
    /// A key, checking every segment.
    pub fn new(
        hotkey: &str,
        epoch_id: &str,
        zipcode: &str,
        file: SubmissionFile,
    ) -> Result<Self, KeyError> {
        check("hotkey", hotkey)?;
        check("epoch", epoch_id)?;
        check("zipcode", zipcode)?;
        Ok(Self {
            hotkey: hotkey.to_owned(),
            epoch_id: epoch_id.to_owned(),
            zipcode: zipcode.to_owned(),
            file,
        })
    }

    /// Parses `data/hotkey={hk}/epoch={id}/zipcode={zip}/{file}`.
    pub fn parse(key: &str) -> Result<Self, KeyError> {
        let shape = || KeyError::Shape(key.to_owned());
        let parts: Vec<&str> = key.split('/').collect();
        let [data, hk, ep, zip, file] = parts.as_slice() else {
            return Err(shape());
        };
        if *data != "data" {
            return Err(shape());
        }
        let hotkey = hk.strip_prefix("hotkey=").ok_or_else(shape)?;
        let epoch_id = ep.strip_prefix("epoch=").ok_or_else(shape)?;
        let zipcode = zip.strip_prefix("zipcode=").ok_or_else(shape)?;
        let file = SubmissionFile::parse(file)?;
        Self::new(hotkey, epoch_id, zipcode, file)
    }

    /// The object key string.
    pub fn to_key(&self) -> String {
        format!(
            "{}{}",
            zipcode_prefix(&self.hotkey, &self.epoch_id, &self.zipcode),
            self.file.file_name()
        )
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HK: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    #[test]
    fn round_trip() {
        for file in [
            SubmissionFile::Listings,
            SubmissionFile::Manifest,
            SubmissionFile::Upstream("20251001_163000".into()),
        ] {
            let k = ObjectKey::new(HK, "2025-10-01T16-00-00", "19103", file).expect("key");
            let s = k.to_key();
            assert!(s.starts_with(&format!(
                "data/hotkey={HK}/epoch=2025-10-01T16-00-00/zipcode=19103/"
            )));
            assert_eq!(ObjectKey::parse(&s).expect("parse"), k);
        }
    }

    #[test]
    fn rejects_bad_keys() {
        let base = format!("data/hotkey={HK}/epoch=e1/zipcode=19103/");
        assert!(matches!(
            ObjectKey::parse(&format!("{base}x.bin")),
            Err(KeyError::UnknownFile(_))
        ));
        assert!(matches!(
            ObjectKey::parse(&format!("{base}data_2025_1.json")),
            Err(KeyError::UnknownFile(_))
        ));
        assert!(matches!(
            ObjectKey::parse(&format!(
                "data/hotkey={HK}/epoch=e1/zipcode=1910/manifest.json"
            )),
            Err(KeyError::BadSegment {
                segment: "zipcode",
                ..
            })
        ));
        assert!(matches!(
            ObjectKey::parse(&format!(
                "data/hotkey={HK}/epoch=../zipcode=19103/manifest.json"
            )),
            Err(KeyError::BadSegment {
                segment: "epoch",
                ..
            })
        ));
        // A second spelling of one key (padding, the two-byte prefix form) is not a folder.
        for hk in [format!(" {HK}"), format!("{HK}%20"), "hk1".to_string()] {
            assert!(matches!(
                ObjectKey::parse(&format!(
                    "data/hotkey={hk}/epoch=e1/zipcode=19103/manifest.json"
                )),
                Err(KeyError::BadSegment {
                    segment: "hotkey",
                    ..
                })
            ));
        }
        assert!(matches!(
            ObjectKey::parse("data/x/manifest.json"),
            Err(KeyError::Shape(_))
        ));
        assert!(matches!(
            ObjectKey::parse(&format!(
                "validators/hotkey={HK}/epoch=e1/zipcode=19103/manifest.json"
            )),
            Err(KeyError::Shape(_))
        ));
    }
}
