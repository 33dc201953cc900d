//! The README's "Every role as its own process" block, run as written by bash: `resi market`
//! (counts file, then served), `resi chain local register`, `resi coordinator`, `resi miner run`
//! and `resi validator run` as separate processes talking over loopback, then the weights on the
//! local chain. Exit status 0, the miner completes its epoch, the validator sets weights, the
//! chain records them.
//!
//! Binds the market's and the coordinator's default ports (127.0.0.1:8787 and :8700). Needs the
//! guests built (`cargo xtask guests`).

use std::path::PathBuf;
use std::process::Command;

use resi_testkit::repo_root;

/// The README's one ```bash block.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let mut blocks = readme.split("```bash\n").skip(1);
    let block = blocks
        .next()
        .expect("the README has a ```bash walkthrough block");
    assert!(blocks.next().is_none(), "one ```bash block expected");
    block.split("```").next().unwrap_or_default().to_owned()
}

#[test]
fn readme_walkthrough_runs_every_role_as_a_process() {
    let script = walkthrough();
    for role in [
        "resi market",
        "resi coordinator",
        "resi miner run",
        "resi validator run",
    ] {
        assert!(script.contains(role), "walkthrough lost `{role}`");
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_resi"));
    let bin_dir = bin.parent().expect("bin dir");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Strict mode, and the background services stopped however the script ends.
    let full =
        format!("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{script}");
    let out = Command::new("bash")
        .arg("-c")
        .arg(&full)
        .current_dir(repo_root())
        .env("PATH", path)
        .env("DEV", tmp.path())
        .env_remove("BT_WALLET_PATH")
        .env_remove("BT_WALLET_NAME")
        .env_remove("BT_WALLET_HOTKEY")
        .env_remove("RESI_COORDINATOR")
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("0 failed, status COMPLETED"), "{stdout}");
    assert!(stdout.contains("agreement     1/1"), "{stdout}");
    assert!(stdout.contains("weights set   1 uids"), "{stdout}");
    // The miner (uid 0) holds all the weight the validator (uid 1) set on the chain.
    assert!(stdout.contains("0:65535"), "{stdout}");
    assert!(tmp.path().join("coordinator").exists());
    assert!(tmp.path().join("validator.sqlite").exists());
}
