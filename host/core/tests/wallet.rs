//! Loads every key of the TEST ONLY wallet `tests/fixtures/bittensor/wallet/sn46test` (written by
//! bittensor-wallet 4.1.1), decrypts its `$NACL` coldkey, and round-trips generated wallets.

use resi_core::keys::PublicKey;
use resi_core::wallet::{
    KeySource, Keyfile, WalletError, WalletLocation, nacl_decrypt, nacl_encrypt,
    write_test_hotkey_wallet,
};

const MINER1: &str = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV";
const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
const PASSWORD: &str = "TestOnly-pw-123!";

fn wallets_dir() -> String {
    resi_testkit::paths::fixtures()
        .join("bittensor/wallet")
        .to_string_lossy()
        .into_owned()
}

fn loc(hotkey: &str) -> WalletLocation {
    WalletLocation::new(&wallets_dir(), "sn46test", hotkey).unwrap()
}

#[test]
fn loads_every_hotkey() {
    for (name, ss58) in [("miner1", MINER1), ("alice_uri", ALICE)] {
        let l = loc(name);
        let key = l.load_hotkey_with_password(None).unwrap();
        assert_eq!(key.ss58(), ss58, "{name}");
        assert_eq!(l.hotkey_public().unwrap().to_ss58(), ss58, "{name} pub.txt");
        let sig = key.sign(b"zipcode:assignment:current:1700000000");
        assert!(
            key.public()
                .verify(b"zipcode:assignment:current:1700000000", &sig)
        );
        assert_eq!(l.coldkey_public().unwrap().to_ss58(), BOB);
    }
    // The pub.txt files are public only.
    let err = Keyfile::read(&loc("miner1").hotkey_pub_file(), None)
        .unwrap()
        .hotkey()
        .unwrap_err();
    assert!(matches!(err, WalletError::PublicOnly { .. }), "{err}");
}

#[test]
fn missing_hotkey_names_the_file() {
    let err = loc("nope").load_hotkey_with_password(None).unwrap_err();
    assert!(matches!(err, WalletError::NotFound { .. }));
    assert!(err.to_string().contains("hotkeys/nope"), "{err}");
}

#[test]
fn nacl_coldkey_decrypts_and_wrong_password_is_clear() {
    let l = loc("miner1");
    assert!(matches!(
        l.load_coldkey(None),
        Err(WalletError::PasswordRequired { .. })
    ));
    let cold = l.load_coldkey(Some(PASSWORD)).unwrap();
    assert_eq!(cold.ss58(), BOB);
    let err = l.load_coldkey(Some("wrong")).unwrap_err();
    assert!(matches!(err, WalletError::WrongPassword { .. }), "{err}");
    assert!(err.to_string().contains("wrong password"), "{err}");
}

#[test]
fn nacl_encrypt_roundtrip() {
    let data = br#"{"ss58Address":"x"}"#;
    let enc = nacl_encrypt(data, "pw", &[7u8; 24]).unwrap();
    assert!(enc.starts_with(b"$NACL"));
    assert_eq!(
        nacl_decrypt(std::path::Path::new("mem"), &enc, "pw").unwrap(),
        data
    );
}

#[test]
fn writes_wallets_bittensor_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    let cold = PublicKey::from_ss58(BOB).unwrap();

    let l = WalletLocation::new(&path, "dev", "alice").unwrap();
    let w = write_test_hotkey_wallet(&l, &KeySource::Uri("//Alice".into()), &cold, false).unwrap();
    assert_eq!(w.hotkey.ss58(), ALICE);
    assert_eq!(w.files.len(), 3);
    // Same fields as the alice_uri file bittensor wrote.
    let ours: serde_json::Value =
        serde_json::from_slice(&std::fs::read(l.hotkey_file()).unwrap()).unwrap();
    let theirs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(loc("alice_uri").hotkey_file()).unwrap()).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&ours), keys(&theirs));
    assert_eq!(ours["publicKey"], theirs["publicKey"]);
    assert_eq!(ours["ss58Address"], theirs["ss58Address"]);
    assert_eq!(l.load_hotkey_with_password(None).unwrap().ss58(), ALICE);
    assert_eq!(l.coldkey_public().unwrap(), cold);
    assert!(matches!(
        write_test_hotkey_wallet(&l, &KeySource::Uri("//Alice".into()), &cold, false),
        Err(WalletError::AlreadyExists { .. })
    ));

    let dev_phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
    let l2 = WalletLocation::new(&path, "dev", "m1").unwrap();
    write_test_hotkey_wallet(&l2, &KeySource::Mnemonic(dev_phrase.into()), &cold, true).unwrap();
    let ours: serde_json::Value =
        serde_json::from_slice(&std::fs::read(l2.hotkey_file()).unwrap()).unwrap();
    let theirs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(loc("miner1").hotkey_file()).unwrap()).unwrap();
    assert_eq!(keys(&ours), keys(&theirs));
    for field in ["secretSeed", "publicKey", "ss58Address", "secretPhrase"] {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
    let ours_pub = std::fs::read_to_string(l2.hotkey_pub_file()).unwrap();
    let theirs_pub = std::fs::read_to_string(loc("miner1").hotkey_pub_file()).unwrap();
    let a: serde_json::Value = serde_json::from_str(&ours_pub).unwrap();
    let b: serde_json::Value = serde_json::from_str(&theirs_pub).unwrap();
    assert_eq!(a, b);

    let l3 = WalletLocation::new(&path, "dev", "rand").unwrap();
    let w = write_test_hotkey_wallet(&l3, &KeySource::RandomMnemonic, &cold, false).unwrap();
    let phrase = w.phrase.unwrap();
    assert_eq!(phrase.split_whitespace().count(), 12);
    assert_eq!(
        l3.load_hotkey_with_password(None).unwrap().ss58(),
        w.hotkey.ss58()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(l3.hotkey_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
