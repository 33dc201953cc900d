//! `resi component inspect` driven as users run it: the example policy imports nothing and is
//! accepted; a component importing WASI is refused as a policy with a non-zero exit.

use std::path::PathBuf;
use std::process::Command;

fn guest(name: &str) -> PathBuf {
    let path = resi_testkit::guest_path(name);
    assert!(
        path.exists(),
        "{} missing: run `cargo xtask guests`",
        path.display()
    );
    path
}

fn sha256_hex(path: &PathBuf) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn example_policy_prints_sha256_and_no_imports() {
    let path = guest("example-policy");
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["component", "inspect"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("sha256:   {}", sha256_hex(&path))),
        "{stdout}"
    );
    assert!(stdout.contains("kind:     policy"), "{stdout}");
    assert!(stdout.contains("imports: none"), "{stdout}");
    assert!(stdout.contains("resi:policy/policy@1.0.0"), "{stdout}");
    assert!(stdout.contains("policy (accepted)"), "{stdout}");
}

#[test]
fn wasi_component_is_refused_as_a_policy() {
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["component", "inspect", "--as", "policy"])
        .arg(guest("example-scraper"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("REFUSED"), "{stdout}");
    assert!(stdout.contains("wasi:"), "{stdout}");
}

#[test]
fn scraper_passes_its_own_profile_and_json_output_parses() {
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["component", "inspect", "--json"])
        .arg(guest("example-scraper"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "scraper");
    assert_eq!(v["accepted"], true);
    assert!(
        v["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "resi:scraper/http@1.0.0")
    );
}

#[test]
fn garbage_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.wasm");
    std::fs::write(&path, b"not wasm at all").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["component", "inspect"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid component"), "{stderr}");
}
