//! `resi validator score --coordinator URL`: the validator fetches the epoch's revealed facts
//! from the coordinator's validators-only `/epoch/{id}` (signed with its hotkey, checked here by a
//! stand-in coordinator on 127.0.0.1), scores the epoch from the store and prints its table.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::get;
use resi_core::wallet::{KeySource, WalletLocation, write_test_hotkey_wallet};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

const EPOCH: &str = "2025-10-01T16-00-00";

fn reveal() -> serde_json::Value {
    let seed = [9u8; 32];
    serde_json::json!({
        "success": true, "epochId": EPOCH, "nonce": "376ce532f42cf2a5",
        "epochStart": "2025-10-01T16:00:00.000Z", "epochEnd": "2025-10-01T20:00:00.000Z",
        "submissionDeadline": "2025-10-01T20:00:00.000Z",
        "zipcodes": [{"zipcode": "19103", "expectedListings": 250, "isHoneypot": false}],
        "metadata": {"validationSeedSha256": hex::encode(Sha256::digest(seed))},
        "validationSeed": hex::encode(seed),
    })
}

/// A stand-in coordinator answering `/epoch/{id}` only to a correctly signed request.
async fn coordinator() -> String {
    let app = Router::new().route(
        "/api/v1/zipcode-assignments/epoch/{id}",
        get(
            |Path(id): Path<String>, Query(q): Query<HashMap<String, String>>| async move {
                let (Some(hk), Some(sig), Some(ts)) =
                    (q.get("hotkey"), q.get("signature"), q.get("timestamp"))
                else {
                    return Err(StatusCode::BAD_REQUEST);
                };
                let ts: i64 = ts.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
                let msg = resi_core::commitments::validation(&id, ts);
                resi_core::verify_hex(hk, msg.as_bytes(), sig)
                    .map_err(|_| StatusCode::UNAUTHORIZED)?;
                if id != EPOCH {
                    return Err(StatusCode::NOT_FOUND);
                }
                Ok(axum::Json(reveal()))
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread")]
async fn score_fetches_the_reveal_from_the_coordinator() {
    let url = coordinator().await;
    let dir = tempfile::tempdir().unwrap();
    let wallets = dir.path().join("wallets");
    let loc = WalletLocation::new(wallets.to_str().unwrap(), "validator", "default").unwrap();
    let cold = resi_core::Hotkey::from_uri("//ValidatorCold")
        .unwrap()
        .public();
    write_test_hotkey_wallet(&loc, &KeySource::Uri("//Validator1".into()), &cold, true).unwrap();
    let guests = std::env::var_os("RESI_GUESTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../guests/dist"));
    let wasm = std::fs::read(guests.join("market-scraper.wasm")).expect("cargo xtask guests");
    std::fs::write(dir.path().join("verifier.wasm"), &wasm).unwrap();
    std::fs::write(
        dir.path().join("verifier.toml"),
        format!(
            "name = \"market\"\nversion = \"0.1.0\"\nwasm = \"verifier.wasm\"\nsha256 = \"{}\"\n[config]\nbase_url = \"http://127.0.0.1:9\"\n",
            hex::encode(Sha256::digest(&wasm))
        ),
    )
    .unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dirp = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_resi"))
            .current_dir(&root)
            .args([
                "validator",
                "score",
                "--epoch",
                EPOCH,
                "--coordinator",
                &url,
            ])
            .arg("--store")
            .arg(dirp.join("store"))
            .arg("--db")
            .arg(dirp.join("validator.sqlite"))
            .arg("--verifier")
            .arg(dirp.join("verifier.toml"))
            .args([
                "--wallet.path",
                wallets.to_str().unwrap(),
                "--wallet.name",
                "validator",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("epoch         {EPOCH}")),
        "{stdout}"
    );
    assert!(stdout.contains("outcome_hash"), "{stdout}");
}
