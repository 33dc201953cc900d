//! `resi devnet --services` over one real 30 s epoch: chain, market, store, coordinator,
//! miners and validators in one process. It exits 0, every validator prints the same outcome
//! hash, every miner gets weight, and the JSON report in the data dir says the same.
//!
//! Needs the guests built (`cargo xtask guests`).

use std::path::PathBuf;
use std::process::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn one_epoch_over_services_agrees_and_pays_every_miner() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("devnet");
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .current_dir(repo_root())
        .args([
            "devnet",
            "--services",
            "--epochs",
            "1",
            "--epoch-secs",
            "30",
            "--miners",
            "3",
            "--validators",
            "2",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Validator rows: `validatorN  <outcome hash>  agreement`.
    let hashes: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("validator") && !l.starts_with("validator "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(hashes.len(), 2, "{stdout}");
    assert!(hashes.iter().all(|h| h.len() == 64), "{stdout}");
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{stdout}");

    // Miner rows: `minerN  uid  rank  ppb  status ...`.
    let ppb: Vec<u64> = stdout
        .lines()
        .filter(|l| l.starts_with("miner") && !l.starts_with("miner "))
        .map(|l| l.split_whitespace().nth(3).unwrap().parse().unwrap())
        .collect();
    assert_eq!(ppb.len(), 3, "{stdout}");
    assert!(ppb.iter().all(|p| *p > 0), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("devnet-report.json")).unwrap())
            .unwrap();
    let epoch = &report["epochs"][0];
    for m in epoch["miners"].as_array().unwrap() {
        assert!(m["ppb"].as_u64().unwrap() > 0, "{m}");
        assert_eq!(m["final_status"], "COMPLETED", "{m}");
    }
    for v in epoch["validators"].as_array().unwrap() {
        assert_eq!(v["outcome_hash"].as_str(), Some(hashes[0]), "{v}");
        assert!(v["weights"].is_object(), "{v}");
    }
    assert_eq!(
        epoch["chain_weights"].as_array().unwrap().len(),
        2,
        "{epoch}"
    );
}
