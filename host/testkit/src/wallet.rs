//! TEST ONLY wallets: the checked-in fixture and throwaway ones written for a test.

use resi_core::Hotkey;
use resi_core::wallet::{KeySource, WalletLocation, write_test_hotkey_wallet};
use std::path::{Path, PathBuf};

/// The wallet name of the TEST ONLY fixture wallet (hotkeys `miner1`, `alice_uri`).
pub const FIXTURE_WALLET_NAME: &str = "sn46test";

/// The `--wallet.path` of the TEST ONLY fixture wallet, `tests/fixtures/bittensor/wallet`.
pub fn fixture_wallet_path() -> PathBuf {
    crate::paths::fixtures().join("bittensor").join("wallet")
}

/// The fixture wallet's `hotkey`.
pub fn fixture_wallet(hotkey: &str) -> WalletLocation {
    let path = fixture_wallet_path();
    WalletLocation::new(&path.to_string_lossy(), FIXTURE_WALLET_NAME, hotkey)
        .expect("fixture wallet location")
}

/// Writes a TEST ONLY unencrypted wallet `name` with hotkey `hotkey` from the secret URI
/// `hotkey_uri` (e.g. `//Alice`) and the coldkey of `coldkey_uri` under `--wallet.path`
/// `wallets` (overwriting an earlier one); returns the hotkey.
pub fn test_wallet(
    wallets: &Path,
    name: &str,
    hotkey: &str,
    hotkey_uri: &str,
    coldkey_uri: &str,
) -> Hotkey {
    let loc = WalletLocation::new(&wallets.to_string_lossy(), name, hotkey).expect("location");
    let cold = Hotkey::from_uri(coldkey_uri).expect("coldkey uri").public();
    write_test_hotkey_wallet(&loc, &KeySource::Uri(hotkey_uri.into()), &cold, true)
        .expect("TEST ONLY wallet")
        .hotkey
}
