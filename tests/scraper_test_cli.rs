//! `resi scraper test` driven as a scraper author runs it: a manifest next to the component,
//! listings and validation printed, a wrong pin refused with both hashes named.

use resi_testkit::guest_path as guest;
use resi_testkit::scraper::ScraperToml;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sha256_hex(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(
        std::fs::read(path).expect("built guests (cargo xtask guests)"),
    ))
}

fn manifest(dir: &Path, sha: &str) -> PathBuf {
    ScraperToml::guest("example-scraper", "example")
        .wasm_file("example.wasm")
        .sha256(sha)
        .write(dir)
}

#[test]
fn prints_listings_validation_and_usage() {
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), &sha256_hex(&guest("example-scraper")));
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["scraper", "test"])
        .arg(&path)
        .args(["--zipcode", "19103", "--expected", "120", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"]["ok"], true);
    assert_eq!(v["listings"].as_array().unwrap().len(), 120);
    assert!(
        v["listings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["valid"] == true)
    );
    assert_eq!(v["usage"]["batches"], 2);
    assert!(v["usage"]["fuel"].as_u64().unwrap() > 0);

    let table = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["scraper", "test"])
        .arg(&path)
        .args(["--zipcode", "19103", "--expected", "30"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{text}");
    assert!(
        text.contains("listings: 30 (30 valid, 0 invalid)"),
        "{text}"
    );
    assert!(text.contains("usage:"), "{text}");
}

#[test]
fn wrong_pin_is_refused_naming_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = "00".repeat(32);
    let path = manifest(dir.path(), &wrong);
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["scraper", "test"])
        .arg(&path)
        .args(["--zipcode", "19103"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&wrong) && err.contains(&sha256_hex(&guest("example-scraper"))),
        "{err}"
    );
}
