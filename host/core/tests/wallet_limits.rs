//! Wallet names cannot leave the wallet directory, and keyfiles are read with a size cap.

use resi_core::keys::{Hotkey, PublicKey};
use resi_core::wallet::{
    KeySource, MAX_KEYFILE_BYTES, WalletError, WalletLocation, write_test_hotkey_wallet,
};
use std::path::Path;

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn coldkey() -> PublicKey {
    Hotkey::from_uri("//Bob").unwrap().public()
}

#[test]
fn names_that_are_not_a_single_file_name_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = path_str(dir.path());
    for bad in [
        "../outside",
        "..",
        ".",
        "",
        "/etc",
        "a/b",
        "a/",
        "a\\b",
        "nul\0byte",
    ] {
        let err = WalletLocation::new(&root, bad, "default").unwrap_err();
        assert!(
            matches!(&err, WalletError::InvalidName { flag: "--wallet.name", value } if value == bad),
            "{bad:?}: {err}"
        );
        assert!(err.to_string().contains("--wallet.name"), "{err}");
        let err = WalletLocation::new(&root, "default", bad).unwrap_err();
        assert!(
            matches!(&err, WalletError::InvalidName { flag: "--wallet.hotkey", value } if value == bad),
            "{bad:?}: {err}"
        );
    }
    // Ordinary names, dots inside included, are fine.
    for good in ["default", "miner-1", "sn46.test", "..hidden", "a..b"] {
        WalletLocation::new(&root, good, good).unwrap();
    }
}

#[test]
fn loaders_check_names_of_a_location_built_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let good = WalletLocation::new(&path_str(dir.path()), "w", "hk").unwrap();
    write_test_hotkey_wallet(&good, &KeySource::Uri("//Alice".into()), &coldkey(), false).unwrap();
    // Built by hand (the fields are public): `other/../w` reaches the real wallet `w`.
    std::fs::create_dir(dir.path().join("other")).unwrap();
    let evil = WalletLocation {
        path: dir.path().join("other"),
        name: "../w".into(),
        hotkey: "hk".into(),
    };
    for err in [
        evil.load_hotkey_with_password(None)
            .map(|_| ())
            .unwrap_err(),
        evil.hotkey_public().map(|_| ()).unwrap_err(),
        evil.coldkey_public().map(|_| ()).unwrap_err(),
        evil.load_coldkey(None).map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(err, WalletError::InvalidName { .. }), "{err}");
    }
    let err = write_test_hotkey_wallet(&evil, &KeySource::Uri("//Eve".into()), &coldkey(), true)
        .unwrap_err();
    assert!(matches!(err, WalletError::InvalidName { .. }), "{err}");
    // The real wallet is untouched.
    assert_eq!(
        good.load_hotkey_with_password(None).unwrap().ss58(),
        Hotkey::from_uri("//Alice").unwrap().ss58()
    );
}

#[test]
fn oversized_keyfiles_are_refused_without_reading_them_whole() {
    let dir = tempfile::tempdir().unwrap();
    let loc = WalletLocation::new(&path_str(dir.path()), "w", "hk").unwrap();
    write_test_hotkey_wallet(&loc, &KeySource::Uri("//Alice".into()), &coldkey(), false).unwrap();
    let file = loc.hotkey_file();
    let json = std::fs::read(&file).unwrap();
    assert!(loc.load_hotkey_with_password(None).is_ok());

    // Still valid JSON, padded with whitespace up to exactly the cap: accepted.
    let mut at_cap = json.clone();
    at_cap.resize(MAX_KEYFILE_BYTES as usize, b' ');
    std::fs::write(&file, &at_cap).unwrap();
    assert!(loc.load_hotkey_with_password(None).is_ok());

    // One byte more (and a megabyte more): refused, naming the file and the cap.
    for len in [MAX_KEYFILE_BYTES as usize + 1, 1 << 20] {
        let mut big = json.clone();
        big.resize(len, b' ');
        std::fs::write(&file, &big).unwrap();
        let err = loc.load_hotkey_with_password(None).unwrap_err();
        assert!(
            matches!(&err, WalletError::TooLarge { path, max } if *path == file && *max == MAX_KEYFILE_BYTES),
            "{err}"
        );
        assert!(
            err.to_string().contains(&MAX_KEYFILE_BYTES.to_string()),
            "{err}"
        );
    }
}
