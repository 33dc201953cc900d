//! The miner end to end against a real S3 server (moto, from `RESI_S3_ENDPOINT`, set by
//! `cargo xtask test`): a stand-in coordinator hands out resi-store's presigned S3 POST grant
//! for the miner's `data/hotkey=<hk>/` folder, the miner scrapes the synthetic market through
//! the market scraper and uploads straight to the bucket. The bucket then holds exactly the
//! market's listings per zipcode and a manifest that verifies; a second run uploads nothing.
//! Skipped loudly when `RESI_S3_ENDPOINT` is unset (a failure with `RESI_REQUIRE_S3=1`).
//!
//! Needs the guests built (`cargo xtask guests`).

use resi_testkit::coordinator as support;

use resi_core::Hotkey;
use resi_market::{Market, MarketConfig, serve_market};
use resi_miner::{Miner, MinerConfig};
use resi_store::Store;
use resi_submission::manifest::Manifest;
use resi_submission::{ObjectKey, ReadCaps, SubmissionFile, read_listings};
use resi_testkit::coordinator::StoreChoice;
use resi_testkit::s3::{create_bucket, moto_config, moto_endpoint as s3_endpoint};
use resi_testkit::scraper::ScraperToml;
use serde_json::json;
use std::sync::Arc;

const EPOCH: &str = "2025-10-01T16-00-00";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miner_uploads_an_epoch_to_s3_through_presigned_post() {
    let Some(endpoint) = s3_endpoint("miner_uploads_an_epoch_to_s3_through_presigned_post") else {
        return;
    };
    let bucket = format!("resi-miner-e2e-{}", std::process::id());
    create_bucket(&endpoint, &bucket);
    let store = Store::s3(moto_config(&endpoint, &bucket)).expect("s3 store");

    let tmp = tempfile::tempdir().expect("tmp");
    let market = Arc::new(
        Market::new(MarketConfig {
            seed: 46,
            zipcodes_path: None,
            min_listings: 20,
            max_listings: 120,
            ..MarketConfig::default()
        })
        .expect("market"),
    );
    let server = serve_market(market.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("serve market");
    let zips: Vec<String> = ["19103", "10001", "60614", "94110", "02139"]
        .iter()
        .filter(|z| market.count(z) > 0)
        .take(3)
        .map(|z| z.to_string())
        .collect();
    assert!(zips.len() >= 2, "too few market zipcodes: {zips:?}");

    let deadline = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let assignment = json!({
        "success": true, "epochId": EPOCH, "nonce": "376ce532f42cf2a5",
        "submissionDeadline": deadline,
        "zipcodes": zips.iter().map(|z| json!({"zipcode": z, "expectedListings": market.count(z)})).collect::<Vec<_>>(),
    });
    let (coord_url, coord) =
        support::start_coordinator(StoreChoice::Given(store.clone()), assignment).await;

    let hotkey = Hotkey::from_uri("//Alice").expect("alice");
    let coldkey = Hotkey::from_uri("//Bob").expect("bob").ss58();
    let manifest_path = ScraperToml::market(&server.base_url()).write(tmp.path());
    let make_miner = || {
        let client = resi_client::ApiClient::new(
            resi_client::ClientConfig::new(coord_url.clone()),
            Some(hotkey.clone()),
        )
        .expect("client");
        let loaded = resi_scraper::manifest::ScraperManifest::load(&manifest_path).expect("load");
        let mut cfg = MinerConfig::new(tmp.path().join("miner"), coldkey.clone());
        cfg.once = true;
        cfg.concurrency = 2;
        cfg.upstream_json = true;
        cfg.progress = false;
        Miner::new(client, hotkey.clone(), loaded, cfg).expect("miner")
    };
    let summaries = make_miner().run().await.expect("run");
    assert_eq!(summaries.len(), 1);
    let s = &summaries[0];
    assert_eq!(s.final_status.as_deref(), Some("COMPLETED"), "{s:?}");
    assert!(s.failed.is_empty(), "{s:?}");
    assert!(*coord.grants.lock().expect("lock") >= 1);

    let hk = hotkey.ss58();
    let listed: Vec<String> = store
        .list(&format!("data/hotkey={hk}/"))
        .await
        .expect("list bucket")
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(listed.len(), zips.len() * 3, "{listed:?}");
    for zip in &zips {
        let key = |f| ObjectKey::new(&hk, EPOCH, zip, f).expect("key").to_key();
        let parquet = store
            .get(&key(SubmissionFile::Listings), 64 << 20)
            .await
            .expect("parquet in the bucket");
        let listings = read_listings(&parquet, &ReadCaps::default()).expect("read parquet");
        let mut want: Vec<(String, Option<u64>)> = market
            .listings(zip)
            .into_iter()
            .map(|l| (l.zpid.clone(), Some(l.price)))
            .collect();
        want.sort();
        let mut got: Vec<(String, Option<u64>)> = listings
            .iter()
            .map(|l| (l.zpid.clone().expect("zpid"), l.price))
            .collect();
        got.sort();
        assert_eq!(got, want, "zipcode {zip}");
        let m = store
            .get(&key(SubmissionFile::Manifest), 64 << 10)
            .await
            .expect("manifest in the bucket");
        let m = Manifest::from_json(&m, &ReadCaps::default()).expect("manifest parses");
        m.verify(&hk).expect("manifest verifies");
        m.check_parquet(&parquet)
            .expect("manifest describes the parquet");
        assert_eq!(m.listing_count as usize, want.len());
        assert!(
            listed
                .iter()
                .any(|k| k.contains(&format!("zipcode={zip}/data_")) && k.ends_with(".json")),
            "{listed:?}"
        );
    }
    let statuses = coord.statuses.lock().expect("lock").clone();
    assert_eq!(statuses.last().expect("status")["status"], "COMPLETED");

    // A second run on the same data directory uploads nothing and reports nothing.
    let again = make_miner().run().await.expect("run again");
    assert!(again.is_empty());
    assert_eq!(
        store
            .list(&format!("data/hotkey={hk}/"))
            .await
            .expect("list")
            .len(),
        listed.len()
    );
    assert_eq!(coord.statuses.lock().expect("lock").len(), statuses.len());
}
