//! Helpers both browser tests use: an honest signed submission written the way a miner writes
//! it, and a verifier that knows the real listings.

use futures::future::BoxFuture;
use resi_core::keys::Hotkey;
use resi_core::listing::Listing;
use resi_sandbox::policy::wit;
use resi_store::Store;
use resi_submission::{ScraperInfo, UnsignedManifest, write_listings};
use resi_validator::{Verifier, VerifyAnswer};
use std::collections::BTreeMap;

/// A verifier that knows the real listings by zpid.
pub struct TruthVerifier(pub BTreeMap<String, wit::Listing>);

impl Verifier for TruthVerifier {
    fn verify(&self, t: wit::ListingRef) -> BoxFuture<'static, Result<VerifyAnswer, String>> {
        let r = match t.zpid.as_ref().and_then(|z| self.0.get(z)) {
            Some(l) => Ok(VerifyAnswer::Found(l.clone())),
            None => Ok(VerifyAnswer::NotFound),
        };
        Box::pin(async move { r })
    }
}

/// Writes an honest signed submission (parquet first, manifest last), as the miner does.
pub async fn submit(
    store: &Store,
    hk: &Hotkey,
    epoch: &str,
    nonce: &str,
    zip: &str,
    l: &[Listing],
) {
    let parquet = write_listings(l).unwrap();
    let m = UnsignedManifest {
        epoch_id: epoch.into(),
        nonce: nonce.into(),
        hotkey: hk.ss58(),
        zipcode: zip.into(),
        listing_count: l.len() as u64,
        parquet_sha256: resi_submission::sha256_hex(&parquet),
        parquet_size: parquet.len() as u64,
        scraper: ScraperInfo {
            name: "test".into(),
            version: "1".into(),
            wasm_sha256: "00".repeat(32),
        },
        mining_start_time: "2025-10-01T16:00:00Z".into(),
        mining_end_time: "2025-10-01T17:00:00Z".into(),
    }
    .sign(hk);
    let p = format!("data/hotkey={}/epoch={epoch}/zipcode={zip}/", hk.ss58());
    store
        .put(&format!("{p}listings.parquet"), parquet)
        .await
        .unwrap();
    store
        .put(&format!("{p}manifest.json"), m.to_json_bytes())
        .await
        .unwrap();
}
