//! `resi devnet` as the README runs it: the epoch completes, adversaries score 0, honest miners
//! share the weight, and two runs agree on the outcome hash (determinism end to end, even though
//! each run scrapes the market afresh).

use std::path::PathBuf;
use std::process::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn devnet(json: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .current_dir(repo_root())
        .args(["devnet", "--adversaries", "--json"])
        .arg(json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("outcome hash"), "{stdout}");
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

#[test]
fn adversaries_score_zero_and_runs_agree() {
    let dir = tempfile::tempdir().unwrap();
    let first = devnet(&dir.path().join("a.json"));
    let second = devnet(&dir.path().join("b.json"));
    assert_eq!(first["outcome_hash"], second["outcome_hash"]);
    // Inputs legitimately differ between runs (each scrape stamps its own time), so only the
    // outcome must agree; the input hash is there to explain a disagreement.
    assert_eq!(first["input_hash"].as_str().map(str::len), Some(64));
    let miners = first["outcome"]["miners"]
        .as_array()
        .expect("miners in the outcome");
    let ppb = |name: &str| {
        miners
            .iter()
            .find(|m| m["hotkey"] == name)
            .and_then(|m| m["ppb"].as_u64())
            .unwrap_or_else(|| panic!("{name} missing from {miners:?}"))
    };
    for adversary in ["fabricator", "duplicator", "late", "honeypot-abuser"] {
        assert_eq!(ppb(adversary), 0, "{adversary}");
    }
    let honest: Vec<u64> = (0..3).map(|i| ppb(&format!("honest-{i}"))).collect();
    assert!(honest.iter().all(|p| *p > 0), "{honest:?}");
    assert!(
        honest[0] > honest[1] && honest[1] > honest[2],
        "earlier miners rank higher: {honest:?}"
    );
    let total: u64 = miners.iter().filter_map(|m| m["ppb"].as_u64()).sum();
    assert!(total <= 1_000_000_000 && total > 999_999_000, "{total}");
}
