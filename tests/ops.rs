//! Operations of the roles as processes: `--log-format json` writes one JSON object per log
//! event, and SIGTERM stops a miner that is waiting out an unreachable coordinator (its retry
//! backoff ends at once; it says it stopped and exits 0). The SIGTERM tests of the miner
//! mid-upload and the validator mid-epoch are in `miner_crash` and `validator_cli`.

use resi_testkit::scraper::ScraperToml;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn json_logs_and_sigterm_during_retries() {
    let tmp = tempfile::tempdir().expect("tmp");
    let wallets = tmp.path().join("wallets");
    resi_testkit::wallet::test_wallet(&wallets, "ops", "test", "//Alice", "//Bob");
    // Nothing listens on port 1: every assignment fetch fails and is retried.
    let scraper = ScraperToml::market("http://127.0.0.1:1").write(tmp.path());
    let stderr_path = tmp.path().join("stderr");
    let stdout_path = tmp.path().join("stdout");
    let mut child = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args([
            "--log-format",
            "json",
            "miner",
            "run",
            "--coordinator",
            "http://127.0.0.1:1",
        ])
        .arg("--scraper")
        .arg(&scraper)
        .arg("--data-dir")
        .arg(tmp.path().join("miner"))
        .arg("--wallet.path")
        .arg(&wallets)
        .args(["--wallet.name", "ops", "--wallet.hotkey", "test"])
        .env_remove("BT_WALLET_PATH")
        .env_remove("BT_WALLET_NAME")
        .env_remove("BT_WALLET_HOTKEY")
        .env_remove("RESI_COORDINATOR")
        .env_remove("RESI_CONFIG")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("stdout"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr"))
        .spawn()
        .expect("spawn resi miner run");
    let started = Instant::now();
    // Wait for two failed fetches (the backoff then grows to seconds).
    while std::fs::read_to_string(&stderr_path)
        .unwrap_or_default()
        .matches("failed; retrying")
        .count()
        < 2
    {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "miner exited early"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no retries logged (hang guard)"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let signalled = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if signalled.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the miner did not stop within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = std::fs::read_to_string(&stderr_path).expect("stderr");
    let stdout = std::fs::read_to_string(&stdout_path).expect("stdout");
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("miner stopped (SIGTERM received)"),
        "{stdout}"
    );
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(events.len() >= 3, "{stderr}");
    for e in &events {
        assert!(e["timestamp"].is_string() && e["level"].is_string(), "{e}");
        assert!(e["fields"]["message"].is_string(), "{e}");
    }
    let retry = events
        .iter()
        .find(|e| e["fields"]["message"] == "failed; retrying")
        .expect("a retry event");
    assert_eq!(retry["level"], "WARN");
    assert_eq!(retry["fields"]["what"], "fetching the current assignment");
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["signal"] == "SIGTERM" && e["level"] == "WARN"),
        "{stderr}"
    );
}
