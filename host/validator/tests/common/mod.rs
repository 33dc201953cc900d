//! Shared helpers of the validator tests: keys, listings, signed submissions written straight
//! into a store, a verifier double that knows the "real" listings.

#![allow(dead_code)]

use futures::future::BoxFuture;
use resi_core::keys::Hotkey;
use resi_core::listing::Listing;
use resi_sandbox::policy::wit;
use resi_store::Store;
use resi_submission::{ScraperInfo, UnsignedManifest, write_listings};
use resi_validator::{AssignmentFacts, EpochFacts, Verifier, VerifyAnswer};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const EPOCH: &str = "2025-10-01T16-00-00";
pub const NONCE: &str = "376ce532f42cf2a5";

pub fn key(n: u8) -> Hotkey {
    Hotkey::from_seed(&[n; 32])
}

pub fn release() -> PathBuf {
    resi_testkit::policy_release()
}

pub fn facts(zips: &[(&str, u32, bool, u32)]) -> EpochFacts {
    EpochFacts {
        epoch_id: EPOCH.into(),
        nonce: NONCE.into(),
        // Far ahead: submissions written now are on time.
        deadline_ms: 4_102_444_800_000,
        validation_seed: [7; 32],
        assignments: zips
            .iter()
            .map(|(z, e, h, t)| AssignmentFacts {
                zipcode: z.to_string(),
                expected: *e,
                honeypot: *h,
                true_count: *t,
            })
            .collect(),
    }
}

/// `n` real listings of `zipcode` (ids start at `first`).
pub use resi_testkit::listings::listings;

pub fn prefix(hk: &str, zipcode: &str) -> String {
    format!("data/hotkey={hk}/epoch={EPOCH}/zipcode={zipcode}/")
}

pub fn unsigned(hk: &Hotkey, zipcode: &str, parquet: &[u8], count: u64) -> UnsignedManifest {
    UnsignedManifest {
        epoch_id: EPOCH.into(),
        nonce: NONCE.into(),
        hotkey: hk.ss58(),
        zipcode: zipcode.into(),
        listing_count: count,
        parquet_sha256: resi_submission::sha256_hex(parquet),
        parquet_size: parquet.len() as u64,
        scraper: ScraperInfo {
            name: "test".into(),
            version: "1".into(),
            wasm_sha256: "00".repeat(32),
        },
        mining_start_time: "2025-10-01T16:00:00Z".into(),
        mining_end_time: "2025-10-01T17:00:00Z".into(),
    }
}

/// Writes an honest signed submission (parquet first, manifest last).
pub async fn submit(store: &Store, hk: &Hotkey, zipcode: &str, l: &[Listing]) {
    let parquet = write_listings(l).unwrap();
    let m = unsigned(hk, zipcode, &parquet, l.len() as u64).sign(hk);
    let p = prefix(&hk.ss58(), zipcode);
    store
        .put(&format!("{p}listings.parquet"), parquet)
        .await
        .unwrap();
    store
        .put(&format!("{p}manifest.json"), m.to_json_bytes())
        .await
        .unwrap();
}

/// A verifier that knows the real listings by zpid.
pub struct TruthVerifier(pub BTreeMap<String, wit::Listing>);

impl TruthVerifier {
    pub fn new(real: &[Listing]) -> Self {
        TruthVerifier(
            real.iter()
                .map(|l| {
                    (
                        l.zpid.clone().unwrap_or_default(),
                        resi_sandbox::policy::wit::Listing::from(l),
                    )
                })
                .collect(),
        )
    }
}

impl Verifier for TruthVerifier {
    fn verify(&self, t: wit::ListingRef) -> BoxFuture<'static, Result<VerifyAnswer, String>> {
        let r = match t.zpid.as_ref().and_then(|z| self.0.get(z)) {
            Some(l) => Ok(VerifyAnswer::Found(l.clone())),
            None => Ok(VerifyAnswer::NotFound),
        };
        Box::pin(async move { r })
    }
}
