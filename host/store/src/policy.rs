//! Browser-upload POST policies: building and signing them (S3 SigV4 form) and verifying a
//! submitted form against one, as the local store's upload endpoint must do.
//!
//! The local store signs exactly the same document as S3 would, with its own secret as the
//! "secret access key", so the miner's code path (multipart POST of `fields` + `key` + file,
//! HTTP 204) is identical for both backends.

use crate::sigv4;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Form field names of a SigV4 POST.
pub mod field {
    /// Object key (may contain `${filename}`).
    pub const KEY: &str = "key";
    /// The base64 policy document.
    pub const POLICY: &str = "policy";
    /// `AWS4-HMAC-SHA256`.
    pub const ALGORITHM: &str = "x-amz-algorithm";
    /// `AKID/date/region/s3/aws4_request`.
    pub const CREDENTIAL: &str = "x-amz-credential";
    /// `YYYYMMDDTHHMMSSZ`.
    pub const DATE: &str = "x-amz-date";
    /// Hex signature of the policy.
    pub const SIGNATURE: &str = "x-amz-signature";
}

/// Why a submitted upload form does not satisfy its policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A required form field is absent.
    #[error("upload form lacks the field {0:?}")]
    MissingField(&'static str),
    /// The signature does not match the policy.
    #[error("the policy signature does not verify")]
    BadSignature,
    /// The credential names another access key or region than this store's.
    #[error("credential {0:?} was not issued by this store")]
    ForeignCredential(String),
    /// The policy is not base64 JSON of the expected shape.
    #[error("malformed policy document: {0}")]
    Malformed(String),
    /// The policy's `expiration` has passed.
    #[error("the upload policy expired at {0}")]
    Expired(String),
    /// A condition is not met by the form.
    #[error("policy condition failed: {0}")]
    ConditionFailed(String),
    /// The file is shorter or longer than `content-length-range` allows.
    #[error("file of {len} bytes is outside the allowed range {min}..={max}")]
    LengthOutOfRange {
        /// The file length (or at least this many bytes were received).
        len: u64,
        /// Allowed minimum.
        min: u64,
        /// Allowed maximum.
        max: u64,
    },
}

/// Signing identity of a policy: access key id, secret, region, bucket.
#[derive(Debug, Clone)]
pub struct PolicySigner {
    /// Access key id named in `x-amz-credential`.
    pub access_key: String,
    /// Secret used to derive the signing key.
    pub secret: String,
    /// Region in the credential scope.
    pub region: String,
    /// Bucket named in the `{"bucket": ...}` condition.
    pub bucket: String,
}

/// Builds the SigV4 POST form fields for uploads under `prefix` with a file length in
/// `min_len..=max_len`, valid until `expires`. Conditions: bucket, `starts-with $key prefix`,
/// `content-length-range`, algorithm, credential, date.
pub fn build_fields(
    signer: &PolicySigner,
    prefix: &str,
    min_len: u64,
    max_len: u64,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> BTreeMap<String, String> {
    let date = sigv4::date_stamp(&now);
    let credential = sigv4::credential(&signer.access_key, &date, &signer.region);
    let amz_date = sigv4::amz_date(&now);
    let doc = json!({
        "expiration": expires.to_rfc3339_opts(SecondsFormat::Secs, true),
        "conditions": [
            {"bucket": signer.bucket},
            ["starts-with", "$key", prefix],
            ["content-length-range", min_len, max_len],
            {"x-amz-algorithm": sigv4::ALGORITHM},
            {"x-amz-credential": credential},
            {"x-amz-date": amz_date},
        ]
    });
    let policy = B64.encode(doc.to_string());
    let signature = sigv4::sign_policy(&signer.secret, &date, &signer.region, &policy);
    BTreeMap::from([
        (field::KEY.to_owned(), format!("{prefix}${{filename}}")),
        (field::ALGORITHM.to_owned(), sigv4::ALGORITHM.to_owned()),
        (field::CREDENTIAL.to_owned(), credential),
        (field::DATE.to_owned(), amz_date),
        (field::POLICY.to_owned(), policy),
        (field::SIGNATURE.to_owned(), signature),
    ])
}

/// The decoded policy document of a form's `policy` field.
pub fn decode(policy_b64: &str) -> Result<Value, PolicyError> {
    let bytes = B64
        .decode(policy_b64.trim())
        .map_err(|e| PolicyError::Malformed(format!("not base64: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| PolicyError::Malformed(format!("not JSON: {e}")))
}

/// A form that passed every check but the file length, which is known only once the file is
/// read: the resolved key and the allowed length range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedForm {
    /// Object key (`${filename}` substituted).
    pub key: String,
    /// Minimum file length.
    pub min_len: u64,
    /// Maximum file length.
    pub max_len: u64,
}

impl VerifiedForm {
    /// Checks a file length against the policy's range.
    pub fn check_len(&self, len: u64) -> Result<(), PolicyError> {
        if len < self.min_len || len > self.max_len {
            return Err(PolicyError::LengthOutOfRange {
                len,
                min: self.min_len,
                max: self.max_len,
            });
        }
        Ok(())
    }
}

/// Verifies the form `fields` (everything but the file) against `signer` at time `now`:
/// signature, issuer, expiration and every condition except the content length (returned in the
/// [`VerifiedForm`]). `filename` substitutes `${filename}` in the key, as S3 does.
pub fn verify_form(
    signer: &PolicySigner,
    fields: &BTreeMap<String, String>,
    filename: &str,
    now: DateTime<Utc>,
) -> Result<VerifiedForm, PolicyError> {
    let get = |name: &'static str| {
        fields
            .get(name)
            .map(String::as_str)
            .ok_or(PolicyError::MissingField(name))
    };
    let policy_b64 = get(field::POLICY)?;
    let credential = get(field::CREDENTIAL)?;
    let signature = get(field::SIGNATURE)?;
    let mut parts = credential.split('/');
    let (Some(akid), Some(date), Some(region), Some("s3"), Some("aws4_request"), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(PolicyError::ForeignCredential(credential.to_owned()));
    };
    if akid != signer.access_key || region != signer.region {
        return Err(PolicyError::ForeignCredential(credential.to_owned()));
    }
    let expected = sigv4::sign_policy(&signer.secret, date, region, policy_b64);
    if !constant_time_eq(
        expected.as_bytes(),
        signature.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(PolicyError::BadSignature);
    }
    let doc = decode(policy_b64)?;
    let expiration = doc["expiration"]
        .as_str()
        .ok_or_else(|| PolicyError::Malformed("no expiration".into()))?;
    let exp = DateTime::parse_from_rfc3339(expiration)
        .map_err(|e| PolicyError::Malformed(format!("expiration {expiration:?}: {e}")))?;
    if exp.with_timezone(&Utc) <= now {
        return Err(PolicyError::Expired(expiration.to_owned()));
    }
    let key = get(field::KEY)?.replace("${filename}", filename);
    let value_of = |name: &str| -> Option<String> {
        let name = name.trim_start_matches('$');
        if name == "bucket" {
            Some(signer.bucket.clone())
        } else if name == field::KEY {
            Some(key.clone())
        } else {
            fields.get(name).cloned()
        }
    };
    let conditions = doc["conditions"]
        .as_array()
        .ok_or_else(|| PolicyError::Malformed("no conditions".into()))?;
    let mut range = None;
    let mut key_constrained = false;
    for cond in conditions {
        match cond {
            Value::Object(map) => {
                for (name, want) in map {
                    let want = want.as_str().unwrap_or_default();
                    if value_of(name).as_deref() != Some(want) {
                        return Err(PolicyError::ConditionFailed(format!(
                            "{name} must be {want:?}"
                        )));
                    }
                    key_constrained |= name == field::KEY;
                }
            }
            Value::Array(items) => match items.as_slice() {
                [op, name, want] if op == "eq" || op == "starts-with" => {
                    let (Some(name), Some(want)) = (name.as_str(), want.as_str()) else {
                        return Err(PolicyError::Malformed(format!("condition {cond}")));
                    };
                    let have = value_of(name).unwrap_or_default();
                    let ok = if op == "eq" {
                        have == want
                    } else {
                        have.starts_with(want)
                    };
                    if !ok {
                        return Err(PolicyError::ConditionFailed(format!(
                            "{name} {} {want:?} (got {have:?})",
                            if op == "eq" {
                                "must equal"
                            } else {
                                "must start with"
                            }
                        )));
                    }
                    key_constrained |= name.trim_start_matches('$') == field::KEY;
                }
                [op, min, max] if op == "content-length-range" => {
                    let (Some(min), Some(max)) = (min.as_u64(), max.as_u64()) else {
                        return Err(PolicyError::Malformed(format!("condition {cond}")));
                    };
                    range = Some((min, max));
                }
                _ => return Err(PolicyError::Malformed(format!("condition {cond}"))),
            },
            _ => return Err(PolicyError::Malformed(format!("condition {cond}"))),
        }
    }
    // A grant without a key condition would allow writing anywhere: refuse it outright.
    if !key_constrained {
        return Err(PolicyError::Malformed(
            "policy does not constrain $key".into(),
        ));
    }
    let (min_len, max_len) = range.unwrap_or((0, u64::MAX));
    Ok(VerifiedForm {
        key,
        min_len,
        max_len,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn signer() -> PolicySigner {
        PolicySigner {
            access_key: "resi-local".into(),
            secret: "s3cret".into(),
            region: "local".into(),
            bucket: "local".into(),
        }
    }

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 10, 1, h, 0, 0).single().unwrap()
    }

    #[test]
    fn roundtrip_and_every_refusal() {
        let s = signer();
        let f = build_fields(&s, "data/hotkey=A/", 10, 100, t(1), t(2));
        let mut form = f.clone();
        form.insert("key".into(), "data/hotkey=A/x.json".into());
        let ok = verify_form(&s, &form, "ignored", t(1)).unwrap();
        assert_eq!(ok.key, "data/hotkey=A/x.json");
        assert_eq!((ok.min_len, ok.max_len), (10, 100));
        assert!(ok.check_len(10).is_ok() && ok.check_len(100).is_ok());
        assert!(matches!(
            ok.check_len(9),
            Err(PolicyError::LengthOutOfRange { .. })
        ));
        assert!(matches!(
            ok.check_len(101),
            Err(PolicyError::LengthOutOfRange { .. })
        ));
        // ${filename} substitution as S3 does.
        assert_eq!(
            verify_form(&s, &f, "f.bin", t(1)).unwrap().key,
            "data/hotkey=A/f.bin"
        );
        // Outside the prefix.
        let mut evil = form.clone();
        evil.insert("key".into(), "data/hotkey=B/x.json".into());
        assert!(matches!(
            verify_form(&s, &evil, "", t(1)),
            Err(PolicyError::ConditionFailed(_))
        ));
        // Expired.
        assert!(matches!(
            verify_form(&s, &form, "", t(3)),
            Err(PolicyError::Expired(_))
        ));
        // Tampered policy (a wider prefix) with the old signature.
        let mut tampered = form.clone();
        let wider = build_fields(&s, "data/", 10, 100, t(1), t(2));
        tampered.insert("policy".into(), wider["policy"].clone());
        assert_eq!(
            verify_form(&s, &tampered, "", t(1)),
            Err(PolicyError::BadSignature)
        );
        // Another secret.
        let other = PolicySigner {
            secret: "other".into(),
            ..signer()
        };
        assert_eq!(
            verify_form(&other, &form, "", t(1)),
            Err(PolicyError::BadSignature)
        );
        // Missing signature.
        let mut bare = form.clone();
        bare.remove("x-amz-signature");
        assert_eq!(
            verify_form(&s, &bare, "", t(1)),
            Err(PolicyError::MissingField("x-amz-signature"))
        );
    }
}
