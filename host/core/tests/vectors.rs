//! Checks resi-core against the bittensor interop vectors in `tests/fixtures/bittensor`
//! (written by the official `bittensor-wallet` 4.1.1 package).

use resi_core::keys::{Hotkey, PublicKey, Signature, verify_hex};
use resi_core::weights::convert_weights_and_uids_for_emit;
use serde_json::Value;
use std::path::PathBuf;

fn vectors_dir() -> PathBuf {
    resi_testkit::paths::fixtures().join("bittensor")
}

fn load(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} missing"))
}

#[test]
fn every_signature_vector_verifies() {
    let doc = load("vectors.json");
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 3);
    for v in vectors {
        let label = s(v, "label");
        let ss58 = s(v, "ss58");
        let msg = s(v, "message").as_bytes();
        assert_eq!(
            format!("0x{}", hex::encode(msg)),
            s(v, "message_hex"),
            "{label}"
        );
        let key = PublicKey::from_ss58(ss58).unwrap();
        assert_eq!(key.to_hex_0x(), s(v, "pubkey_hex"), "{label}");
        assert_eq!(key.to_ss58(), ss58);
        let sig = Signature::from_hex(s(v, "signature_hex")).unwrap();
        assert_eq!(
            v["verify_self"],
            Value::Bool(key.verify(msg, &sig)),
            "{label}"
        );
        verify_hex(ss58, msg, s(v, "signature_hex")).unwrap();
        assert!(!key.verify(b"zipcode:assignment:current:1700000001", &sig));
        assert_eq!(v["verify_wrong_msg"], Value::Bool(false));

        // Re-derive the key from whatever secret the vector carries and sign ourselves.
        let derived = if let Some(m) = v["mnemonic"].as_str() {
            Hotkey::from_phrase(m).unwrap()
        } else if let Some(u) = v["uri"].as_str() {
            Hotkey::from_uri(u).unwrap()
        } else {
            let seed = hex::decode(s(v, "seed_hex").trim_start_matches("0x")).unwrap();
            Hotkey::from_seed(&seed.try_into().unwrap())
        };
        assert_eq!(derived.ss58(), ss58, "{label}");
        let ours = derived.sign(msg);
        assert!(key.verify(msg, &ours));
        // The <Bytes>-wrapped form verifies too (the library reports verify_bytes_wrapped_sig).
        let mut wrapped = b"<Bytes>".to_vec();
        wrapped.extend_from_slice(msg);
        wrapped.extend_from_slice(b"</Bytes>");
        assert_eq!(
            v["verify_bytes_wrapped_sig"],
            Value::Bool(key.verify(msg, &derived.sign(&wrapped)))
        );

        let kf = &v["keyfile_json"];
        let private = hex::decode(s(kf, "privateKey").trim_start_matches("0x")).unwrap();
        let from_private = Hotkey::from_secret_bytes(&private).unwrap();
        assert_eq!(from_private.ss58(), ss58, "{label}: privateKey derivation");
    }
}

#[test]
fn every_weights_vector_matches() {
    let doc = load("weights_vectors.json");
    let cases = doc.as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let uids: Vec<u16> = serde_json::from_value(case["uids"].clone()).unwrap();
        let weights: Vec<f32> = serde_json::from_value(case["weights_f32_in"].clone()).unwrap();
        let want_uids: Vec<u16> = serde_json::from_value(case["emit"]["uids"].clone()).unwrap();
        let want_w: Vec<u16> = serde_json::from_value(case["emit"]["weights_u16"].clone()).unwrap();
        let (got_uids, got_w) = convert_weights_and_uids_for_emit(&uids, &weights).unwrap();
        assert_eq!((got_uids, got_w), (want_uids, want_w), "{case}");
    }
}
