//! End to end over real services on 127.0.0.1: a local chain, the synthetic market, the real
//! coordinator (injected clock), a fabricating miner writing straight into the store, three
//! honest `resi_miner::Miner`s running the market scraper one after another, then (after the
//! deadline) two validators reading the revealed epoch from the coordinator and validating it
//! with the released policy and the market scraper as verifier. Both reach the same outcome
//! hash, the honest miners all get weight with the earliest first, the fabricator gets 0 with
//! the `fabrication` flag, and both validators' weights land on the local chain.
//!
//! Needs the guests built (`cargo xtask guests`).

use resi_chain::{LocalChain, SubnetParams};
use resi_client::{ApiClient, ClientConfig};
use resi_coordinator::zipcodes::ZipTable;
use resi_coordinator::{CoordinatorConfig, FnCounts, RateLimits, StoreConfig};
use resi_core::keys::Hotkey;
use resi_core::listing::Listing;
use resi_market::{Market, MarketConfig, serve_market};
use resi_miner::{Miner, MinerConfig};
use resi_scraper::ScraperManifest;
use resi_store::Store;
use resi_submission::{ScraperInfo, UnsignedManifest, write_listings};
use resi_testkit::scraper::ScraperToml;
use resi_validator::db::Db;
use resi_validator::report::ConsensusLevel;
use resi_validator::validate::{WeightOptions, set_weights};
use resi_validator::{
    ComponentVerifier, EpochFacts, IngestOptions, PolicyPin, ValidatorConfig, agreement,
    validate_epoch,
};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

const EPOCH_SECS: i64 = 3600;

fn client(url: &str, key: &Hotkey) -> ApiClient {
    ApiClient::new(ClientConfig::new(url), Some(key.clone())).expect("client")
}

/// The moto S3 store of `cargo xtask test` (a fresh bucket), or None after a loud skip (a
/// failure when `RESI_REQUIRE_S3=1`).
fn moto() -> Option<resi_store::S3Config> {
    let bucket = format!("e2e-services-{}", std::process::id());
    resi_testkit::s3::moto_bucket("the S3 run", &bucket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miners_coordinator_market_and_two_validators() {
    epoch_over_services(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miners_coordinator_market_and_two_validators_on_moto_s3() {
    if let Some(s3) = moto() {
        epoch_over_services(Some(s3)).await;
    }
}

async fn epoch_over_services(s3: Option<resi_store::S3Config>) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();

    // Chain: 3 honest miners, a fabricator, a duplicator, a honeypot abuser and 2 validators
    // (TEST ONLY keys).
    let chain_path = dir.join("chain.sqlite");
    let chain = LocalChain::open_with_block_time(&chain_path, 0).expect("chain");
    chain
        .set_subnet(
            46,
            &SubnetParams {
                weights_set_rate_limit: 0,
                commit_reveal_enabled: false,
                ..SubnetParams::default()
            },
        )
        .expect("subnet");
    let miners: Vec<Hotkey> = (1..=3)
        .map(|n| Hotkey::from_uri(&format!("//Miner{n}")).expect("miner key"))
        .collect();
    let fabricator = Hotkey::from_uri("//Fabricator").expect("fabricator key");
    let duplicator = Hotkey::from_uri("//Duplicator").expect("duplicator key");
    let abuser = Hotkey::from_uri("//HoneypotAbuser").expect("abuser key");
    let validators: Vec<Hotkey> = (1..=2)
        .map(|n| Hotkey::from_uri(&format!("//Validator{n}")).expect("validator key"))
        .collect();
    for k in miners.iter().chain([&fabricator, &duplicator, &abuser]) {
        chain.register(46, &k.public(), false).expect("register");
    }
    for k in &validators {
        chain.register(46, &k.public(), true).expect("register");
    }
    let coldkey = Hotkey::from_uri("//Owner").expect("coldkey").ss58();

    // Market.
    let market = Arc::new(
        Market::new(MarketConfig {
            seed: 46,
            zipcodes_path: None,
            min_listings: 200,
            max_listings: 400,
            ..MarketConfig::default()
        })
        .expect("market"),
    );
    let market_srv = serve_market(market.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("serve market");

    // Coordinator, with a clock we can move past the deadline. If the hour is about to end,
    // start in the next epoch (less than MAX_AGE_SECS ahead, so miners' real-time signatures
    // still pass).
    let now = resi_core::auth::now_unix();
    let left = EPOCH_SECS - now.rem_euclid(EPOCH_SECS);
    let offset = Arc::new(AtomicI64::new(if left < 240 { left + 2 } else { 0 }));
    let clock_offset = offset.clone();
    let clock = move || resi_core::auth::now_unix() + clock_offset.load(Ordering::SeqCst);
    let objects = dir.join("objects");
    let mut cfg = CoordinatorConfig::new(dir.join("coord"));
    cfg.listen = "127.0.0.1:0".parse().expect("addr");
    cfg.epoch_length_secs = EPOCH_SECS as u32;
    cfg.miner_upload_min_bytes = 16;
    cfg.registry_ttl = Duration::ZERO;
    cfg.rate_limits = RateLimits::default().scaled(100);
    cfg.store = match &s3 {
        Some(c) => StoreConfig::S3(c.clone()),
        None => StoreConfig::Local(objects.clone()),
    };
    cfg.selection.target_listings = 1_500;
    cfg.clock = Some(Arc::new(clock.clone()));
    let table = Arc::new(ZipTable::embedded().expect("zipcode table"));
    let m = market.clone();
    let counts = FnCounts::new(move |z| Some(m.count(z)));
    let coord = resi_coordinator::serve(
        cfg,
        table,
        Arc::new(counts),
        LocalChain::open(&chain_path).expect("chain"),
    )
    .await
    .expect("coordinator");
    let url = coord.url();
    let store = match &s3 {
        Some(c) => Store::s3(c.clone()).expect("s3 store"),
        None => Store::local(&objects).expect("store"),
    };

    // The fabricator's assignment; it submits first (so it leads every ranking it enters),
    // with invented zpids for one real zipcode, straight into the store.
    let a = client(&url, &fabricator)
        .assignment_current()
        .await
        .expect("assignment");
    let epoch_id = a.epoch_id.to_string();
    let fab_zip = a
        .zipcodes
        .iter()
        .find(|z| market.count(&z.zipcode) > 0)
        .expect("a real zipcode")
        .clone();
    let base_url = market_srv.base_url();
    let invent = |zipcode: &str, n: u32, salt: u32| -> Vec<Listing> {
        (0..n)
            .map(|i| Listing {
                zpid: Some(format!("{}{:07}", 8_000 + salt, i)),
                address: format!("{i} Nowhere Lane, Springfield"),
                source_url: format!("{base_url}/homes/{}{:07}", 8_000 + salt, i),
                scraped_timestamp: chrono::Utc::now()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ..resi_testkit::listings::listing(zipcode, i)
            })
            .collect()
    };
    let submit = |hk: Hotkey, zipcode: String, listings: Vec<Listing>| {
        let store = &store;
        let epoch_id = epoch_id.clone();
        let nonce = a.nonce.clone();
        async move {
            let parquet = write_listings(&listings).expect("parquet");
            let now_s = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let manifest = UnsignedManifest {
                epoch_id: epoch_id.clone(),
                nonce,
                hotkey: hk.ss58(),
                zipcode: zipcode.clone(),
                listing_count: listings.len() as u64,
                parquet_sha256: resi_submission::sha256_hex(&parquet),
                parquet_size: parquet.len() as u64,
                scraper: ScraperInfo {
                    name: "market".into(),
                    version: "0.1.0".into(),
                    wasm_sha256: "00".repeat(32),
                },
                mining_start_time: now_s.clone(),
                mining_end_time: now_s,
            }
            .sign(&hk);
            let prefix = format!(
                "data/hotkey={}/epoch={epoch_id}/zipcode={zipcode}/",
                hk.ss58()
            );
            store
                .put(&format!("{prefix}listings.parquet"), parquet)
                .await
                .expect("put parquet");
            store
                .put(&format!("{prefix}manifest.json"), manifest.to_json_bytes())
                .await
                .expect("put manifest");
        }
    };
    // Fabricator: invented zpids for a real zipcode, submitted first.
    let fake = invent(&fab_zip.zipcode, fab_zip.expected_listings, 0);
    submit(fabricator.clone(), fab_zip.zipcode.clone(), fake).await;
    // Duplicator: the right count, but every listing twice (G2 uniqueness fails).
    let mut dup = invent(&fab_zip.zipcode, fab_zip.expected_listings.div_ceil(2), 1);
    dup.extend(dup.clone());
    dup.truncate(fab_zip.expected_listings as usize);
    submit(duplicator.clone(), fab_zip.zipcode.clone(), dup).await;
    // Honeypot abuser: homes for every assigned zipcode the market says holds none.
    let empty: Vec<_> = a
        .zipcodes
        .iter()
        .filter(|z| market.count(&z.zipcode) == 0)
        .cloned()
        .collect();
    assert!(!empty.is_empty(), "the coordinator assigned no honeypot");
    for (k, z) in empty.iter().enumerate() {
        let homes = invent(&z.zipcode, z.expected_listings, 2 + k as u32);
        submit(abuser.clone(), z.zipcode.clone(), homes).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;

    // The honest miners, one after another.
    let manifest_path = ScraperToml::market(&market_srv.base_url()).write(dir);
    for (i, hk) in miners.iter().enumerate() {
        let loaded = ScraperManifest::load(&manifest_path).expect("load scraper");
        let mut mcfg = MinerConfig::new(dir.join(format!("miner{i}")), coldkey.clone());
        mcfg.once = true;
        mcfg.concurrency = 2;
        mcfg.progress = false;
        let miner = Miner::new(client(&url, hk), hk.clone(), loaded, mcfg).expect("miner");
        let summaries = miner.run().await.expect("miner run");
        assert_eq!(summaries.len(), 1, "{summaries:?}");
        assert_eq!(summaries[0].epoch_id, epoch_id);
        assert_eq!(
            summaries[0].final_status.as_deref(),
            Some("COMPLETED"),
            "{summaries:?}"
        );
        // S3's Last-Modified has one-second resolution: space miners so their order is real.
        let gap = if s3.is_some() { 1_100 } else { 20 };
        tokio::time::sleep(Duration::from_millis(gap)).await;
    }

    // Past the deadline: the coordinator reveals the seed and the honeypots.
    let deadline = chrono::DateTime::parse_from_rfc3339(&a.submission_deadline)
        .expect("deadline")
        .timestamp();
    offset.store(deadline + 5 - resi_core::auth::now_unix(), Ordering::SeqCst);

    let loaded = ScraperManifest::load(&manifest_path).expect("load scraper");
    let verifier = Arc::new(ComponentVerifier::load(&loaded).expect("verifier"));
    let pin = PolicyPin::from_release(&resi_testkit::policy_release()).expect("policy pin");
    let http = reqwest::Client::new();
    let mut reports = Vec::new();
    let mut dbs = Vec::new();
    for (i, v) in validators.iter().enumerate() {
        let ts = clock();
        let msg = resi_core::commitments::validation(&epoch_id, ts);
        let raw: Value = http
            .get(format!("{url}/api/v1/zipcode-assignments/epoch/{epoch_id}"))
            .query(&[
                ("hotkey", v.ss58()),
                ("signature", v.sign(msg.as_bytes()).to_hex()),
                ("timestamp", ts.to_string()),
            ])
            .send()
            .await
            .expect("epoch request")
            .error_for_status()
            .expect("epoch answer")
            .json()
            .await
            .expect("epoch json");
        assert!(raw.get("validationSeed").is_some(), "{raw}");
        let facts = EpochFacts::from_json(&raw).expect("facts");
        assert_eq!(facts.epoch_id, epoch_id);
        let db = Arc::new(Db::open(&dir.join(format!("v{i}.sqlite"))).expect("db"));
        let vcfg = ValidatorConfig {
            hotkey: v.clone(),
            pin: pin.clone(),
            ingest: IngestOptions::default(),
            concurrency: 4,
            verify_timeout: Duration::from_secs(30),
            upload: true,
        };
        let r = validate_epoch(&vcfg, &store, db.clone(), verifier.clone(), &facts)
            .await
            .expect("validate");
        reports.push(r.report);
        dbs.push(db);
    }

    let scores = &reports[0].scores;
    assert_eq!(reports[0].outcome_hash, reports[1].outcome_hash);
    // (input_hash is not compared: it covers the verifier's observations, whose
    // scraped_timestamp is the time of each validator's own lookup.)
    let score = |hk: &Hotkey| scores.iter().find(|s| s.hotkey == hk.ss58()).cloned();
    for hk in &miners {
        let s = score(hk).unwrap_or_else(|| panic!("no score for {}: {scores:#?}", hk.ss58()));
        assert!(s.ppb > 0, "{scores:#?}");
    }
    assert_eq!(scores[0].hotkey, miners[0].ss58(), "{scores:#?}");
    let fab = score(&fabricator).expect("fabricator scored");
    assert_eq!(fab.ppb, 0, "{scores:#?}");
    assert!(fab.flags.iter().any(|f| f == "fabrication"), "{scores:#?}");
    let dup = score(&duplicator).map(|s| s.ppb).unwrap_or(0);
    assert_eq!(dup, 0, "{scores:#?}");
    let ab = score(&abuser).expect("honeypot abuser scored");
    assert_eq!(ab.ppb, 0, "{scores:#?}");
    assert!(ab.flags.iter().any(|f| f == "fabrication"), "{scores:#?}");

    let peers = resi_validator::Peers::from_metagraph(
        &resi_chain::Chain::metagraph(&chain, 46)
            .await
            .expect("metagraph"),
    );
    for (i, v) in validators.iter().enumerate() {
        let a = agreement(&store, &reports[i], &peers)
            .await
            .expect("agreement");
        assert_eq!(a.validators, 2);
        assert_eq!(a.level, ConsensusLevel::Strong);
        assert!(a.set_weights);
        let set = set_weights(
            &chain,
            46,
            v,
            &dbs[i],
            &reports[i],
            &a,
            &WeightOptions::default(),
        )
        .await
        .expect("set weights")
        .expect("weights set");
        assert!(!set.0.uids.is_empty());
    }
    let history = chain.weights_history(46).expect("history");
    assert_eq!(history.len(), 2, "{history:?}");
    coord.shutdown().await;
}
