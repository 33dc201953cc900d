//! End to end on loopback: a stand-in coordinator (assignment, status, `/get-folder-access`
//! with real resi-store grants, the local store's upload endpoint), the synthetic market, the
//! market scraper component, and one miner completing an epoch. The uploaded parquet files hold
//! exactly the market's listings for each zipcode; manifests verify. Then the miner is run
//! again on the same data directory: nothing is scraped or uploaded twice.
//!
//! Fault: the object store's upload endpoint (a server on its own port) dies in the middle of
//! the uploads, losing the answer to one upload that landed, and stays down while the miner
//! retries and is interrupted; the next run retries until the endpoint is back on the same
//! address and finishes with exactly one copy of each object, nothing lost.
//!
//! Needs the guests built (`cargo xtask guests`).

use resi_testkit::coordinator as support;

use resi_core::Hotkey;
use resi_market::{Market, MarketConfig, serve_market};
use resi_miner::{Miner, MinerConfig};
use resi_submission::manifest::Manifest;
use resi_submission::{ObjectKey, ReadCaps, SubmissionFile, read_listings};
use resi_testkit::coordinator::StoreChoice;
use resi_testkit::scraper::ScraperToml;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miner_completes_an_epoch_with_the_markets_listings() {
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

// ---------------------------------------------------------------------------------------------
// Fault: the object store goes away in the middle of an epoch's uploads and comes back.
// ---------------------------------------------------------------------------------------------

/// A tiny zipcode table written by the test (three STANDARD zipcodes), so the market needs no
/// data file.
fn small_table() -> resi_market::ZipTable {
    resi_market::ZipTable::parse(
        "zipcode,type,active,city,state,county,lat,lon,timezone\n\
         19103,STANDARD,true,Philadelphia,PA,Philadelphia County,39.9522,-75.1741,America/New_York\n\
         60614,STANDARD,true,Chicago,IL,Cook County,41.9227,-87.6533,America/Chicago\n\
         94110,STANDARD,true,San Francisco,CA,San Francisco County,37.7485,-122.4184,America/Los_Angeles\n",
    )
    .expect("zipcode table")
}

/// The state of the stand-in object store's upload endpoint, shared by its incarnations.
#[derive(Clone)]
struct UploadEndpoint {
    store: resi_store::Store,
    /// Every upload that reached the store, in order: (key, answered).
    log: Arc<std::sync::Mutex<Vec<(String, bool)>>>,
    /// 1-based number of the upload request that lands in the store but is never answered
    /// (the store dies under it); 0 = none.
    hang_at: Arc<std::sync::atomic::AtomicUsize>,
    requests: Arc<std::sync::atomic::AtomicUsize>,
    hung: Arc<tokio::sync::Notify>,
}

async fn flaky_upload(
    axum::extract::State(s): axum::extract::State<UploadEndpoint>,
    mut form: axum::extract::Multipart,
) -> Result<axum::http::StatusCode, (axum::http::StatusCode, String)> {
    use std::sync::atomic::Ordering;
    let bad = |e: String| (axum::http::StatusCode::BAD_REQUEST, e);
    let n = s.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let hang_at = s.hang_at.load(Ordering::SeqCst);
    if hang_at != 0 && n > hang_at {
        // The store is going down: later requests of this incarnation reach nothing.
        std::future::pending::<()>().await;
    }
    let mut fields = std::collections::BTreeMap::new();
    while let Some(field) = form.next_field().await.map_err(|e| bad(e.to_string()))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let filename = field.file_name().unwrap_or("file").to_owned();
            let data = field.bytes().await.map_err(|e| bad(e.to_string()))?;
            let mut up = s
                .store
                .begin_local_upload(&fields, &filename, chrono::Utc::now())
                .await
                .map_err(|e| (axum::http::StatusCode::FORBIDDEN, e.to_string()))?;
            up.write(&data).await.map_err(|e| bad(e.to_string()))?;
            let key = up.finish().await.map_err(|e| bad(e.to_string()))?;
            if hang_at == n {
                // The object is in the store, but the answer never leaves: the store goes
                // down under this request.
                s.log.lock().expect("lock").push((key.clone(), false));
                s.hung.notify_one();
                std::future::pending::<()>().await;
            }
            s.log.lock().expect("lock").push((key, true));
            return Ok(axum::http::StatusCode::NO_CONTENT);
        }
        fields.insert(name, field.text().await.map_err(|e| bad(e.to_string()))?);
    }
    Err(bad("no file".into()))
}

/// One incarnation of the upload endpoint: its own runtime, so stopping it really closes the
/// listener and every open connection (an upload in flight gets no answer) and the port is
/// refused until it is started again.
struct StoreServer {
    runtime: Option<tokio::runtime::Runtime>,
}

impl StoreServer {
    fn start(listener: std::net::TcpListener, state: UploadEndpoint) -> Self {
        listener.set_nonblocking(true).expect("nonblocking");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("store runtime");
        let app = axum::Router::new()
            .route("/upload", axum::routing::post(flaky_upload))
            .with_state(state);
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let _ = axum::serve(listener, app).await;
        });
        StoreServer {
            runtime: Some(runtime),
        }
    }

    /// Binds `addr` again (a closed port may take a moment to be free) and starts serving.
    async fn restart(addr: std::net::SocketAddr, state: UploadEndpoint) -> Self {
        for _ in 0..400 {
            match std::net::TcpListener::bind(addr) {
                Ok(l) => return Self::start(l, state),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(25)).await,
            }
        }
        panic!("cannot bind {addr} again");
    }

    fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for StoreServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits (bounded, not a timing assertion: a hang guard) until `cond` holds.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..6_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("hang guard: still waiting for {what}");
}

/// The object store dies in the middle of the miner's uploads: one upload lands in the store
/// but its answer is lost as the server goes away, and every later attempt finds the port
/// closed. The miner keeps retrying (fetching a fresh grant each time) without losing or
/// giving up anything; the run is then interrupted while the store is still down, and the next
/// run on the same data directory retries until the store is back and uploads the rest. The
/// store then holds exactly one parquet, one upstream JSON and one manifest per zipcode with
/// the market's listings, manifests verify and describe their parquet, the coordinator got
/// one COMPLETED naming every zipcode, and a further run does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_down_mid_upload_then_back_loses_and_duplicates_nothing() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const EPOCH: &str = "2025-10-01T16-00-00";
    let tmp = tempfile::tempdir().expect("tmp");
    let market = Arc::new(
        Market::with_table(
            MarketConfig {
                seed: 46,
                min_listings: 20,
                max_listings: 60,
                ..MarketConfig::default()
            },
            small_table(),
        )
        .expect("market"),
    );
    let server = serve_market(market.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("serve market");
    let zips: Vec<String> = ["19103", "60614", "94110"]
        .iter()
        .map(|z| z.to_string())
        .collect();
    assert!(zips.iter().all(|z| market.count(z) > 0));

    // The store and its upload endpoint on a port of its own.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let store_addr = listener.local_addr().expect("addr");
    let store = resi_store::Store::local(tmp.path().join("store"))
        .expect("store")
        .with_local_grants(resi_store::LocalGrants {
            upload_url: format!("http://{store_addr}/upload"),
            secret: "test-secret".into(),
        });
    let endpoint = UploadEndpoint {
        store: store.clone(),
        log: Arc::default(),
        // Three uploads are answered, the fourth lands but its answer is lost.
        hang_at: Arc::new(AtomicUsize::new(4)),
        requests: Arc::default(),
        hung: Arc::default(),
    };
    let mut store_server = StoreServer::start(listener, endpoint.clone());

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
    let hk = hotkey.ss58();
    let coldkey = Hotkey::from_uri("//Bob").expect("bob").ss58();
    let manifest_path = ScraperToml::market(&server.base_url()).write(tmp.path());
    let data_dir = tmp.path().join("miner");
    let make_miner = || {
        let mut ccfg = resi_client::ClientConfig::new(coord_url.clone());
        ccfg.retry = resi_client::RetryPolicy {
            max_retries: 1,
            base_delay: std::time::Duration::from_millis(50),
            max_delay: std::time::Duration::from_millis(200),
            ..resi_client::RetryPolicy::default()
        };
        let client = resi_client::ApiClient::new(ccfg, Some(hotkey.clone())).expect("client");
        let loaded = resi_scraper::manifest::ScraperManifest::load(&manifest_path).expect("load");
        let mut cfg = MinerConfig::new(data_dir.clone(), coldkey.clone());
        cfg.once = true;
        cfg.concurrency = 2;
        cfg.upstream_json = true;
        cfg.progress = false;
        cfg.max_backoff = std::time::Duration::from_millis(500);
        Miner::new(client, hotkey.clone(), loaded, cfg).expect("miner")
    };
    let grants = || *coord.grants.lock().expect("lock");

    // Run 1: the store dies under the fourth upload; the miner retries against a closed port
    // (each failed attempt asks for a new grant) and is then interrupted, store still down.
    {
        let first = make_miner();
        let run = first.run();
        tokio::pin!(run);
        let outage = async {
            tokio::time::timeout(
                std::time::Duration::from_secs(120),
                endpoint.hung.notified(),
            )
            .await
            .expect("hang guard: the miner never reached the fourth upload");
            store_server.stop();
            let at_stop = grants();
            wait_for("two failed upload attempts against the dead store", || {
                grants() >= at_stop + 2
            })
            .await;
        };
        tokio::select! {
            r = &mut run => panic!("the miner finished while the store was down: {r:?}"),
            () = outage => {}
        }
    }

    // Nothing built is lost, and what the miner records as uploaded is in the store.
    let db = resi_miner::StateDb::open(&data_dir.join("miner.sqlite")).expect("state db");
    let in_store: std::collections::BTreeSet<String> = store
        .list(&format!("data/hotkey={hk}/"))
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .collect();
    let (mut built, mut marked) = (BTreeSet::new(), BTreeSet::new());
    for row in db.zipcodes(EPOCH).expect("rows") {
        assert_ne!(row.state, resi_miner::ZipState::Failed, "{row:?}");
        for f in db.files(EPOCH, &row.zipcode).expect("files") {
            assert!(!f.bytes.is_empty(), "{}", f.key);
            if f.uploaded_at.is_some() {
                marked.insert(f.key.clone());
            }
            built.insert(f.key);
        }
    }
    let lost_answer = endpoint
        .log
        .lock()
        .expect("lock")
        .iter()
        .find(|(_, answered)| !answered)
        .map(|(k, _)| k.clone())
        .expect("the upload whose answer was lost");
    println!(
        "outage: {} of {} built files recorded as uploaded, {} in the store, lost answer for {lost_answer}, {} grants so far",
        marked.len(),
        built.len(),
        in_store.len(),
        grants()
    );
    assert!(!marked.is_empty(), "uploads before the outage are recorded");
    assert!(
        marked.is_subset(&in_store),
        "recorded as uploaded but not in the store: {marked:?} vs {in_store:?}"
    );
    assert!(in_store.is_subset(&built), "{in_store:?} vs {built:?}");
    assert!(
        in_store.contains(&lost_answer) && !marked.contains(&lost_answer),
        "{lost_answer}: in the store, not recorded as uploaded"
    );
    assert!(
        coord
            .statuses
            .lock()
            .expect("lock")
            .iter()
            .all(|s| s["status"] != "COMPLETED"),
        "no final status while uploads are pending"
    );
    drop(db);

    // Run 2 on the same data directory starts while the store is still down, then the store
    // comes back on the same address.
    let second = make_miner();
    let before = grants();
    let mut restart_at = 0;
    let back = async {
        wait_for("the next run retrying against the dead store", || {
            grants() >= before + 2
        })
        .await;
        endpoint.hang_at.store(0, Ordering::SeqCst);
        restart_at = endpoint.log.lock().expect("lock").len();
        StoreServer::restart(store_addr, endpoint.clone()).await
    };
    let (summaries, _restarted) = tokio::join!(second.run(), back);
    let summaries = summaries.expect("run 2");
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    let s = &summaries[0];
    assert_eq!(s.final_status.as_deref(), Some("COMPLETED"), "{s:?}");
    assert!(s.failed.is_empty(), "{s:?}");
    assert_eq!(
        s.uploaded
            .iter()
            .map(|(z, _)| z.clone())
            .collect::<Vec<_>>(),
        zips
    );

    // Exactly one parquet, one upstream JSON and one manifest per zipcode, with the market's
    // listings; manifests verify.
    let keys: Vec<String> = store
        .list(&format!("data/hotkey={hk}/"))
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(keys.len(), zips.len() * 3, "{keys:?}");
    for zip in &zips {
        let key = |f| ObjectKey::new(&hk, EPOCH, zip, f).expect("key").to_key();
        let prefix = format!("data/hotkey={hk}/epoch={EPOCH}/zipcode={zip}/");
        let json_keys: Vec<&String> = keys
            .iter()
            .filter(|k| k.starts_with(&prefix) && k.contains("/data_") && k.ends_with(".json"))
            .collect();
        assert_eq!(json_keys.len(), 1, "one upstream JSON for {zip}: {keys:?}");
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
        let upstream: serde_json::Value =
            serde_json::from_slice(&store.get(json_keys[0], 64 << 20).await.expect("json"))
                .expect("upstream json");
        assert_eq!(
            upstream["listings"].as_array().map(Vec::len),
            Some(want.len()),
            "{zip}"
        );
    }

    // The upload whose answer was lost was sent again (same key: overwritten, not doubled);
    // nothing recorded as uploaded before the outage was sent again; per zipcode the manifest
    // was the last object sent.
    let log = endpoint.log.lock().expect("lock").clone();
    println!(
        "{} uploads reached the store ({} after it came back), {} grants in all",
        log.len(),
        log.len() - restart_at,
        grants()
    );
    let after_restart: Vec<&String> = log[restart_at..].iter().map(|(k, _)| k).collect();
    assert!(after_restart.contains(&&lost_answer), "{log:?}");
    for k in &marked {
        assert!(!after_restart.contains(&k), "{k} uploaded again: {log:?}");
    }
    for k in &keys {
        assert!(log.iter().any(|(key, _)| key == k), "{k}: {log:?}");
    }
    for zip in &zips {
        let sent: Vec<&String> = log
            .iter()
            .filter(|(k, _)| k.contains(&format!("zipcode={zip}/")))
            .map(|(k, _)| k)
            .collect();
        assert!(
            sent.last().expect("uploads").ends_with("manifest.json"),
            "{zip}: {sent:?}"
        );
    }
    let statuses = coord.statuses.lock().expect("lock").clone();
    let completed: Vec<&serde_json::Value> = statuses
        .iter()
        .filter(|s| s["status"] == "COMPLETED")
        .collect();
    assert_eq!(completed.len(), 1, "{statuses:?}");
    let named: Vec<&str> = completed[0]["zipcodesCompleted"]
        .as_array()
        .expect("zipcodesCompleted")
        .iter()
        .map(|z| z["zipcode"].as_str().expect("zipcode"))
        .collect();
    assert_eq!(named, zips.iter().map(String::as_str).collect::<Vec<_>>());

    // Once done, another run uploads and reports nothing.
    let again = make_miner().run().await.expect("run 3");
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(endpoint.log.lock().expect("lock").len(), log.len());
    assert_eq!(coord.statuses.lock().expect("lock").len(), statuses.len());
    store_server.stop();
}
