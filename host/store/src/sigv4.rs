//! AWS Signature Version 4 primitives: signing keys, POST policy signatures and presigned
//! (query-string) URLs.
//!
//! Written by hand because the object-store client signs requests it sends itself but offers
//! neither browser POST policies nor presigned listing URLs. Cross-checked against vectors from
//! botocore (see the tests).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The algorithm name carried in `x-amz-algorithm`.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Characters SigV4 leaves unencoded: `A-Z a-z 0-9 - _ . ~`.
const AWS_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of every length"),
    };
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// `YYYYMMDD` of `t`.
pub fn date_stamp(t: &DateTime<Utc>) -> String {
    t.format("%Y%m%d").to_string()
}

/// `YYYYMMDDTHHMMSSZ` of `t`.
pub fn amz_date(t: &DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The derived signing key `kSigning` for (secret, date, region, service).
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// `AKID/YYYYMMDD/region/s3/aws4_request`.
pub fn credential(access_key: &str, date: &str, region: &str) -> String {
    format!("{access_key}/{date}/{region}/s3/aws4_request")
}

/// The hex signature of a base64 POST policy: `hex(hmac(kSigning, policy_b64))`.
pub fn sign_policy(secret: &str, date: &str, region: &str, policy_b64: &str) -> String {
    hex::encode(hmac_sha256(
        &signing_key(secret, date, region, "s3"),
        policy_b64.as_bytes(),
    ))
}

/// AWS URI encoding of one component (`/` encoded too).
pub fn uri_encode(s: &str) -> String {
    utf8_percent_encode(s, AWS_ENCODE).to_string()
}

/// AWS URI encoding of a path: every segment encoded, `/` kept.
pub fn uri_encode_path(path: &str) -> String {
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// Inputs of a presigned (query-string authenticated) URL.
#[derive(Debug, Clone)]
pub struct PresignRequest<'a> {
    /// HTTP method, e.g. `GET` or `PUT`.
    pub method: &'a str,
    /// `scheme://host[:port]` without a trailing slash.
    pub origin: &'a str,
    /// Absolute path, already URI-encoded (e.g. `/bucket/data/a.json`).
    pub encoded_path: &'a str,
    /// Extra query parameters (not encoded).
    pub query: Vec<(String, String)>,
    /// Access key id.
    pub access_key: &'a str,
    /// Secret access key.
    pub secret: &'a str,
    /// Region.
    pub region: &'a str,
    /// Signing time.
    pub now: DateTime<Utc>,
    /// Validity in seconds (1..=604800).
    pub expires_secs: u64,
}

/// A presigned URL for `req` (SigV4 query parameters, `UNSIGNED-PAYLOAD`).
pub fn presign_url(req: &PresignRequest<'_>) -> String {
    let host = req
        .origin
        .split_once("://")
        .map(|(_, h)| h)
        .unwrap_or(req.origin);
    let date = date_stamp(&req.now);
    let mut query = req.query.clone();
    query.push(("X-Amz-Algorithm".into(), ALGORITHM.into()));
    query.push((
        "X-Amz-Credential".into(),
        credential(req.access_key, &date, req.region),
    ));
    query.push(("X-Amz-Date".into(), amz_date(&req.now)));
    query.push(("X-Amz-Expires".into(), req.expires_secs.to_string()));
    query.push(("X-Amz-SignedHeaders".into(), "host".into()));
    let mut encoded: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    encoded.sort();
    let canonical_query = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_request = format!(
        "{}\n{}\n{}\nhost:{}\n\nhost\nUNSIGNED-PAYLOAD",
        req.method, req.encoded_path, canonical_query, host
    );
    let scope = format!("{date}/{}/s3/aws4_request", req.region);
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{scope}\n{}",
        amz_date(&req.now),
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let sig = hex::encode(hmac_sha256(
        &signing_key(req.secret, &date, req.region, "s3"),
        string_to_sign.as_bytes(),
    ));
    format!(
        "{}{}?{canonical_query}&X-Amz-Signature={sig}",
        req.origin, req.encoded_path
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    /// Vectors produced by botocore 1.x (`generate_presigned_url` / `generate_presigned_post`
    /// with the clock fixed at 2025-10-01T16:00:00Z, key `AKIDEXAMPLE`,
    /// secret `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, region `us-east-1`).
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 10, 1, 16, 0, 0)
            .single()
            .unwrap()
    }

    #[test]
    fn presigned_get_matches_botocore() {
        let url = presign_url(&PresignRequest {
            method: "GET",
            origin: "http://127.0.0.1:5055",
            encoded_path: "/bucket/data/hotkey%3D5H/a.json",
            query: vec![],
            access_key: "AKIDEXAMPLE",
            secret: SECRET,
            region: "us-east-1",
            now: t0(),
            expires_secs: 3600,
        });
        assert_eq!(
            url,
            include_str!("../tests/vectors/presigned_get.txt").trim()
        );
    }

    #[test]
    fn post_policy_signature_matches_botocore() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../tests/vectors/presigned_post.json")).unwrap();
        let fields = &v["fields"];
        let sig = sign_policy(
            SECRET,
            "20251001",
            "us-east-1",
            fields["policy"].as_str().unwrap(),
        );
        assert_eq!(sig, fields["x-amz-signature"].as_str().unwrap());
    }
}
