//! Interop with the real Python `bittensor-wallet==4.1.1`: the library verifies signatures resi
//! made for every commitment type, resi verifies signatures the library made, and the library
//! loads a wallet resi wrote.
//!
//! The interpreter comes from `RESI_PYTHON` (a venv with bittensor-wallet installed; the xtask
//! test runner creates `$HOME/.cache/resi-venv` and sets it). If `RESI_PYTHON` is unset the test
//! is skipped loudly, unless `RESI_REQUIRE_INTEROP=1`, in which case it fails.

use resi_core::commitments;
use resi_core::keys::{Hotkey, PublicKey, verify_hex};
use resi_core::wallet::{KeySource, WalletLocation, write_test_hotkey_wallet};
use serde_json::{Value, json};

const DEV_PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
const TS: i64 = 1_759_336_626;
const EPOCH: &str = "2025-10-01T16-00-00";

fn python() -> Option<String> {
    resi_testkit::python(
        "bittensor-wallet==4.1.1",
        "cargo test -p resi-core --test it interop",
    )
}

fn run(python: &str, request: &Value) -> Value {
    let script = resi_testkit::repo_root().join("tests/interop/bittensor_interop.py");
    let out = resi_testkit::run_python(python, &script, request.to_string().as_bytes());
    serde_json::from_slice(&out).unwrap()
}

/// One message per commitment type of the protocol.
fn all_commitments(signer: &str) -> Vec<String> {
    let other = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
    vec![
        commitments::assignment_current(TS),
        commitments::validation(EPOCH, TS),
        commitments::status(EPOCH, TS),
        commitments::status_legacy(signer, EPOCH, TS),
        commitments::folder_access(other, signer, TS),
        commitments::validator_upload(TS),
        commitments::validator_access(TS),
        commitments::miner_specific_access(other, TS),
    ]
}

#[test]
fn bittensor_verifies_resi_and_resi_verifies_bittensor() {
    let Some(py) = python() else { return };

    let (random, _) = Hotkey::generate();
    let keys = [
        Hotkey::from_uri("//Alice").unwrap(),
        Hotkey::from_phrase(DEV_PHRASE).unwrap(),
        Hotkey::from_uri(&format!("{DEV_PHRASE}//hot/1")).unwrap(),
        random,
    ];

    // resi signs -> bittensor verifies (raw and <Bytes>-wrapped), plus negative controls.
    let mut items = Vec::new();
    let mut expected = Vec::new();
    for key in &keys {
        for msg in all_commitments(&key.ss58()) {
            let sig = key.sign(msg.as_bytes()).to_hex();
            items.push(json!({"ss58": key.ss58(), "message": msg, "signature": sig}));
            expected.push(true);
            let wrapped = format!("<Bytes>{msg}</Bytes>");
            let wsig = key.sign(wrapped.as_bytes()).to_hex();
            items.push(json!({"ss58": key.ss58(), "message": msg, "signature": wsig}));
            expected.push(true);
            items.push(json!({"ss58": key.ss58(), "message": format!("{msg}0"), "signature": sig}));
            expected.push(false);
        }
    }
    let ans = run(&py, &json!({"op": "verify", "items": items}));
    let got: Vec<bool> = serde_json::from_value(ans["results"].clone()).unwrap();
    assert_eq!(got, expected, "bittensor's verdicts on resi signatures");

    // bittensor signs -> resi verifies.
    let uris = [
        "//Alice",
        "//Bob",
        DEV_PHRASE,
        &format!("{DEV_PHRASE}//hot/1"),
    ];
    let mut items = Vec::new();
    for uri in uris {
        let ss58 = Hotkey::from_uri(uri).unwrap().ss58();
        for msg in all_commitments(&ss58) {
            items.push(json!({"uri": uri, "message": msg}));
        }
    }
    let ans = run(&py, &json!({"op": "sign", "items": items.clone()}));
    let results = ans["results"].as_array().unwrap();
    assert_eq!(results.len(), items.len());
    for (item, res) in items.iter().zip(results) {
        let uri = item["uri"].as_str().unwrap();
        let msg = item["message"].as_str().unwrap();
        let ss58 = res["ss58"].as_str().unwrap();
        let sig = res["signature"].as_str().unwrap();
        assert_eq!(
            ss58,
            Hotkey::from_uri(uri).unwrap().ss58(),
            "address of {uri}"
        );
        verify_hex(ss58, msg.as_bytes(), sig).unwrap_or_else(|e| panic!("{uri} over {msg:?}: {e}"));
        assert!(verify_hex(ss58, format!("{msg}x").as_bytes(), sig).is_err());
    }
}

#[test]
fn bittensor_loads_a_wallet_resi_wrote() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    let cold = Hotkey::from_uri("//Bob").unwrap().public();
    for (hotkey, source) in [
        ("uri", KeySource::Uri("//Charlie".into())),
        ("phrase", KeySource::Mnemonic(DEV_PHRASE.into())),
        ("random", KeySource::RandomMnemonic),
    ] {
        let loc = WalletLocation::new(&path, "resi", hotkey).unwrap();
        let written = write_test_hotkey_wallet(&loc, &source, &cold, false).unwrap();
        let ans = run(
            &py,
            &json!({"op": "wallet", "path": path, "name": "resi", "hotkey": hotkey}),
        );
        assert_eq!(ans["hotkey_ss58"], json!(written.hotkey.ss58()), "{hotkey}");
        assert_eq!(ans["coldkeypub_ss58"], json!(cold.to_ss58()));
        let key = PublicKey::from_ss58(ans["hotkey_ss58"].as_str().unwrap()).unwrap();
        let sig = resi_core::Signature::from_hex(ans["signature"].as_str().unwrap()).unwrap();
        assert!(key.verify(b"interop", &sig), "{hotkey}");
    }
}
