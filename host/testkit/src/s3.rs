//! The moto S3 server of `cargo xtask test` (`RESI_S3_ENDPOINT`).
//!
//! Tests that need S3 skip loudly when it is not set, and fail instead when
//! `RESI_REQUIRE_S3=1` (as `cargo xtask test` sets it).

use std::io::{Read as _, Write as _};

/// The moto endpoint (`http://host:port`), or None after a loud skip naming `test` (a failure
/// when `RESI_REQUIRE_S3=1`).
pub fn moto_endpoint(test: &str) -> Option<String> {
    match std::env::var("RESI_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ => {
            assert!(
                std::env::var("RESI_REQUIRE_S3").as_deref() != Ok("1"),
                "RESI_REQUIRE_S3=1 but RESI_S3_ENDPOINT is unset"
            );
            eprintln!(
                "!!!! SKIPPED {test}: RESI_S3_ENDPOINT is not set (run `cargo xtask test`) !!!!"
            );
            None
        }
    }
}

/// Creates `bucket` on moto (which accepts an unsigned CreateBucket) with a plain HTTP/1.1 PUT.
pub fn create_bucket(endpoint: &str, bucket: &str) {
    let hostport = endpoint
        .strip_prefix("http://")
        .expect("RESI_S3_ENDPOINT is http://host:port")
        .trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(hostport).expect("connect to moto");
    s.write_all(
        format!(
            "PUT /{bucket} HTTP/1.1\r\nHost: {hostport}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .expect("send");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "create bucket {bucket}: {answer}"
    );
}

/// The S3 settings of `bucket` on moto at `endpoint` (path style, moto's test credentials).
#[cfg(feature = "store")]
pub fn moto_config(endpoint: &str, bucket: &str) -> resi_store::S3Config {
    resi_store::S3Config {
        endpoint: Some(endpoint.to_owned()),
        bucket: bucket.to_owned(),
        region: "us-east-1".into(),
        access_key_id: "testing".into(),
        secret_access_key: "testing-secret".into(),
        path_style: true,
    }
}

/// A fresh bucket `bucket` on moto for `test` (created, its settings returned), or None after a
/// loud skip (see [`moto_endpoint`]).
#[cfg(feature = "store")]
pub fn moto_bucket(test: &str, bucket: &str) -> Option<resi_store::S3Config> {
    let endpoint = moto_endpoint(test)?;
    create_bucket(&endpoint, bucket);
    Some(moto_config(&endpoint, bucket))
}
