//! `resi policy test|hash|inspect` over the real binary: the released zipcode-competitive
//! vectors pass (exit 0), a tampered vector fails (exit 1) with the mismatch named.

use std::path::PathBuf;
use std::process::Command;

fn release() -> PathBuf {
    resi_testkit::policy_release()
}

fn resi(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(args)
        .output()
        .expect("running resi")
}

#[test]
fn released_vectors_pass() {
    let r = release();
    let out = resi(&[
        "policy".as_ref(),
        "test".as_ref(),
        r.join("policy.wasm").as_os_str(),
        r.join("vectors").as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PASS"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn tampered_vector_fails() {
    let r = release();
    let dir = tempfile::tempdir().unwrap();
    let mut tampered = false;
    for entry in std::fs::read_dir(r.join("vectors")).unwrap() {
        let path = entry.unwrap().path();
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if !tampered {
            // Change the expected outcome hash of the first vector by one hex digit.
            let h = v["expected"]["outcome_hash"].as_str().unwrap().to_string();
            let flipped = match h.strip_prefix('0') {
                Some(rest) => format!("1{rest}"),
                None => format!("0{}", &h[1..]),
            };
            v["expected"]["outcome_hash"] = flipped.into();
            tampered = true;
        }
        std::fs::write(dir.path().join(path.file_name().unwrap()), v.to_string()).unwrap();
    }
    let out = resi(&[
        "policy".as_ref(),
        "test".as_ref(),
        r.join("policy.wasm").as_os_str(),
        dir.path().as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.contains("outcome_hash: expected"), "{stdout}");
}

#[test]
fn hash_matches_release_pins() {
    let r = release();
    let out = resi(&[
        "policy".as_ref(),
        "hash".as_ref(),
        r.join("policy.wasm").as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let toml = std::fs::read_to_string(r.join("policy.toml")).unwrap();
    assert!(toml.contains(v["wasm_sha256"].as_str().unwrap()));
    assert!(toml.contains(v["params_sha256"].as_str().unwrap()));
}

#[test]
fn inspect_accepts_the_released_policy() {
    let r = release();
    let out = resi(&[
        "policy".as_ref(),
        "inspect".as_ref(),
        r.join("policy.wasm").as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "zipcode-competitive");
    assert_eq!(v["accepted"], true);
    assert_eq!(v["imports"].as_array().unwrap().len(), 0);
}

/// `--json` and `--print-outcome` show the actual outcome and hashes: for a vector whose
/// expected outcome hash was changed, the actual hash is the released one and the actual
/// outcome is the released canonical outcome.
#[test]
fn print_outcome_and_json_show_what_the_policy_returned() {
    let r = release();
    let dir = tempfile::tempdir().unwrap();
    let mut first: Option<(String, serde_json::Value)> = None;
    for entry in std::fs::read_dir(r.join("vectors")).unwrap() {
        let path = entry.unwrap().path();
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if first.as_ref().is_none_or(|(n, _)| name < *n) {
            first = Some((name, v.clone()));
        }
        // Every vector's expected hash is wrong now.
        v["expected"]["outcome_hash"] = "00".repeat(32).into();
        std::fs::write(dir.path().join(path.file_name().unwrap()), v.to_string()).unwrap();
    }
    let (name, original) = first.unwrap();
    let out = resi(&[
        "policy".as_ref(),
        "test".as_ref(),
        r.join("policy.wasm").as_os_str(),
        dir.path().as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], false);
    let v = report["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name.as_str())
        .unwrap();
    assert_eq!(v["passed"], false);
    assert_eq!(
        v["hashes"]["outcome_hash"], original["expected"]["outcome_hash"],
        "the actual hash is the released one"
    );
    let expected_outcome: serde_json::Value =
        serde_json::from_str(original["expected"]["canonical_outcome"].as_str().unwrap()).unwrap();
    assert_eq!(v["outcome"], expected_outcome);

    let out = resi(&[
        "policy".as_ref(),
        "test".as_ref(),
        r.join("policy.wasm").as_os_str(),
        dir.path().as_os_str(),
        "--print-outcome".as_ref(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("     outcome:"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "outcome_hash  {}",
            original["expected"]["outcome_hash"].as_str().unwrap()
        )),
        "{stdout}"
    );
}
