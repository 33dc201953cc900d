//! Shared helpers of the resi-policy tests: the release under `policies/`, listing and
//! submission builders, and the spot-check sample of a submission.

#![allow(dead_code)]

use resi_policy::input::{EpochJson, ListingJson, ObservationJson, ObservedJson, SubmissionJson};
use resi_policy::vectors::Release;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use zipcode_competitive_core::params::Params;
use zipcode_competitive_core::sample;

/// The released policy directory.
pub fn release_dir() -> PathBuf {
    resi_testkit::policy_release()
}

/// The release, with its component verified against policy.toml.
pub fn release() -> Release {
    Release::load(&release_dir()).expect("release loads and matches its pin")
}

/// Submission deadline of the test epoch: 2025-10-01T20:00:00Z.
pub const DEADLINE_MS: u64 = 1_759_348_800_000;
/// Epoch start: 2025-10-01T16:00:00Z.
pub const START_MS: u64 = DEADLINE_MS - 4 * 3_600_000;

/// The test epoch: validation seed = bytes 0..32.
pub fn epoch() -> EpochJson {
    EpochJson {
        epoch_id: "2025-10-01T16-00-00".into(),
        nonce: "376ce532f42cf2a5".into(),
        validation_seed: hex::encode((0u8..32).collect::<Vec<u8>>()),
        deadline_ms: DEADLINE_MS,
    }
}

/// A complete, reasonable listing number `i` of `zip`.
pub fn listing(zip: &str, i: usize) -> ListingJson {
    ListingJson {
        zpid: Some(format!("{zip}{i:04}")),
        mls_id: None,
        address: format!("{} Market St", 100 + i),
        zipcode: zip.into(),
        price: Some(250_000 + i as u64 * 1_000),
        bedrooms: Some(3),
        bathrooms_hundredths: Some(200),
        sqft: Some(1_500),
        listing_date: "2025-09-15".into(),
        property_type: "SINGLE_FAMILY".into(),
        listing_status: "FOR_SALE".into(),
        days_on_market: Some(5),
        source_url: format!("https://www.zillow.com/homedetails/{zip}{i:04}_zpid/"),
        scraped_timestamp: "2025-10-01T17:00:00Z".into(),
    }
}

/// A submission of `n` good listings by `hotkey` for `zip`, `offset_s` seconds after the start.
pub fn submission(hotkey: &str, zip: &str, offset_s: u64, n: usize) -> SubmissionJson {
    SubmissionJson {
        hotkey: hotkey.into(),
        zipcode: zip.into(),
        submitted_at_ms: START_MS + offset_s * 1_000,
        manifest_ok: true,
        digest: hex::encode(Sha256::digest(format!("{hotkey}/{zip}/{n}").as_bytes())),
        listings: (0..n).map(|i| listing(zip, i)).collect(),
    }
}

/// Positions the policy samples from `sub` (default params) in the test epoch.
pub fn sampled(sub: &SubmissionJson) -> Vec<u32> {
    let seed_bytes = hex::decode(epoch().validation_seed).expect("hex");
    let digest = hex::decode(&sub.digest).expect("hex");
    let seed = sample::sample_seed(&seed_bytes, &sub.hotkey, &sub.zipcode, &digest);
    let n = sub.listings.len() as u64;
    let k = sample::sample_size(&Params::default(), n);
    sample::sample_positions(&seed, n, k)
        .into_iter()
        .map(|p| p as u32)
        .collect()
}

/// Observations of every sampled listing of `sub`, as `f(position, submitted listing)` says.
pub fn observe(
    sub: &SubmissionJson,
    f: impl Fn(usize, u32, &ListingJson) -> Option<ObservedJson>,
) -> Vec<ObservationJson> {
    sampled(sub)
        .into_iter()
        .enumerate()
        .filter_map(|(nth, index)| {
            f(nth, index, &sub.listings[index as usize]).map(|seen| ObservationJson {
                hotkey: sub.hotkey.clone(),
                zipcode: sub.zipcode.clone(),
                index,
                seen,
            })
        })
        .collect()
}

/// Every sampled listing found exactly as submitted.
pub fn all_found(sub: &SubmissionJson) -> Vec<ObservationJson> {
    observe(sub, |_, _, l| {
        Some(ObservedJson::Found { listing: l.clone() })
    })
}
