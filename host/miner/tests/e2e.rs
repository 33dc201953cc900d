//! End to end on loopback: a stand-in coordinator (assignment, status, `/get-folder-access`
//! with real resi-store grants, the local store's upload endpoint), the synthetic market, the
//! market scraper component, and one miner completing an epoch. The uploaded parquet files hold
//! exactly the market's listings for each zipcode; manifests verify. Then the miner is run
//! again on the same data directory: nothing is scraped or uploaded twice.
//!
//! Needs the guests built (`cargo xtask guests`).

mod support;

use resi_core::Hotkey;
use resi_market::{Market, MarketConfig, serve_market};
use resi_miner::{Miner, MinerConfig};
use resi_submission::manifest::Manifest;
use resi_submission::{ObjectKey, ReadCaps, SubmissionFile, read_listings};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use support::StoreChoice;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miner_completes_an_epoch_with_the_markets_listings() {
    let tmp = tempfile::tempdir().expect("tmp");
    let market = Arc::new(
        Market::new(MarketConfig {
            seed: 46,
            zipcodes_path: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/data/us-zipcodes.csv"),
            min_listings: 20,
            max_listings: 120,
            ..MarketConfig::default()
        })
        .expect("market"),
    );
    let server = serve_market(market.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("serve market");
    let zips: Vec<String> = [
        "19103", "10001", "60614", "94110", "02139", "73301", "30301", "98101",
    ]
    .iter()
    .filter(|z| market.count(z) > 0)
    .take(3)
    .map(|z| z.to_string())
    .collect();
    assert!(
        zips.len() >= 2,
        "market holds too few of the candidate zipcodes: {zips:?}"
    );

    let deadline = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let assignment = json!({
        "success": true, "epochId": "2025-10-01T16-00-00", "nonce": "376ce532f42cf2a5",
        "submissionDeadline": deadline,
        "zipcodes": zips.iter().map(|z| json!({"zipcode": z, "expectedListings": market.count(z)})).collect::<Vec<_>>(),
    });
    let (coord_url, coord) =
        support::start_coordinator(StoreChoice::Local(tmp.path().join("store")), assignment).await;
    let store = coord.store.clone();

    let hotkey = Hotkey::from_uri("//Alice").expect("alice");
    let coldkey = Hotkey::from_uri("//Bob").expect("bob").ss58();
    let manifest_path = support::scraper_toml(tmp.path(), &server.base_url(), 120, "");
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

    let hk = hotkey.ss58();
    for zip in &zips {
        let key = |f| {
            ObjectKey::new(&hk, "2025-10-01T16-00-00", zip, f)
                .expect("key")
                .to_key()
        };
        let parquet = store
            .get(&key(SubmissionFile::Listings), 64 << 20)
            .await
            .expect("parquet uploaded");
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
            .expect("manifest uploaded");
        let m = Manifest::from_json(&m, &ReadCaps::default()).expect("manifest parses");
        m.verify(&hk).expect("manifest verifies");
        m.check_parquet(&parquet)
            .expect("manifest describes the parquet");
        assert_eq!(m.listing_count as usize, want.len());
        assert_eq!(m.nonce, "376ce532f42cf2a5");
    }
    // Manifest last, per zipcode; upstream JSON present.
    let uploads = coord.uploads.lock().expect("lock").clone();
    assert_eq!(uploads.len(), zips.len() * 3, "{uploads:?}");
    for zip in &zips {
        let mine: Vec<&String> = uploads
            .iter()
            .filter(|k| k.contains(&format!("zipcode={zip}/")))
            .collect();
        assert!(
            mine.last().expect("uploads").ends_with("manifest.json"),
            "{mine:?}"
        );
        assert!(
            mine.iter()
                .any(|k| k.contains("/data_") && k.ends_with(".json"))
        );
    }
    let statuses = coord.statuses.lock().expect("lock").clone();
    assert_eq!(statuses.first().expect("status")["status"], "IN_PROGRESS");
    let last = statuses.last().expect("status");
    assert_eq!(last["status"], "COMPLETED");
    assert_eq!(
        last["zipcodesCompleted"]
            .as_array()
            .expect("completed")
            .len(),
        zips.len()
    );

    // A second run on the same data directory does nothing: the epoch is done.
    let again = make_miner().run().await.expect("run again");
    assert!(again.is_empty());
    assert_eq!(coord.uploads.lock().expect("lock").len(), zips.len() * 3);
    assert_eq!(coord.statuses.lock().expect("lock").len(), statuses.len());
}
