//! End to end on loopback: a stand-in coordinator (assignment, status, `/get-folder-access`
//! with real resi-store grants, the local store's upload endpoint), the synthetic market, the
//! market scraper component, and one miner completing an epoch. The uploaded parquet files hold
//! exactly the market's listings for each zipcode; manifests verify. Then the miner is run
//! again on the same data directory: nothing is scraped or uploaded twice.
//!
//! Needs the guests built (`cargo xtask guests`).

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use resi_core::Hotkey;
use resi_market::{Market, MarketConfig, serve_market};
use resi_miner::{Miner, MinerConfig};
use resi_store::{LocalGrants, Store};
use resi_submission::manifest::Manifest;
use resi_submission::{ObjectKey, ReadCaps, SubmissionFile, read_listings};
use serde_json::{Value, json};
use sha2::Digest as _;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
struct Coord {
    store: Store,
    assignment: Value,
    statuses: Arc<Mutex<Vec<Value>>>,
    uploads: Arc<Mutex<Vec<String>>>,
}

async fn current(State(c): State<Coord>) -> Json<Value> {
    Json(c.assignment.clone())
}

async fn status(State(c): State<Coord>, Json(body): Json<Value>) -> Json<Value> {
    c.statuses.lock().expect("lock").push(body);
    Json(json!({"success": true}))
}

async fn folder_access(
    State(c): State<Coord>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, (StatusCode, String)> {
    let hk = body["hotkey"].as_str().unwrap_or_default();
    let post = c
        .store
        .presigned_post(
            &format!("data/hotkey={hk}/"),
            1024,
            5 << 30,
            chrono::Utc::now(),
            Duration::from_secs(3600),
        )
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(serde_json::to_value(post).expect("json")))
}

async fn local_upload(
    State(c): State<Coord>,
    mut form: Multipart,
) -> Result<StatusCode, (StatusCode, String)> {
    let bad = |e: String| (StatusCode::BAD_REQUEST, e);
    let mut fields = BTreeMap::new();
    while let Some(field) = form.next_field().await.map_err(|e| bad(e.to_string()))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let filename = field.file_name().unwrap_or("file").to_owned();
            let data = field.bytes().await.map_err(|e| bad(e.to_string()))?;
            let mut up = c
                .store
                .begin_local_upload(&fields, &filename, chrono::Utc::now())
                .await
                .map_err(|e| (StatusCode::FORBIDDEN, e.to_string()))?;
            up.write(&data).await.map_err(|e| bad(e.to_string()))?;
            let key = up.finish().await.map_err(|e| bad(e.to_string()))?;
            c.uploads.lock().expect("lock").push(key);
            return Ok(StatusCode::NO_CONTENT);
        }
        fields.insert(name, field.text().await.map_err(|e| bad(e.to_string()))?);
    }
    Err(bad("no file".into()))
}

fn guests_dir() -> PathBuf {
    std::env::var_os("RESI_GUESTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../guests/dist"))
}

/// Writes a scraper.toml for the market scraper pointing at `base_url`.
fn scraper_toml(dir: &std::path::Path, base_url: &str) -> PathBuf {
    let wasm = guests_dir().join("market-scraper.wasm");
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); build the guests: cargo xtask guests",
            wasm.display()
        )
    });
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    std::fs::copy(&wasm, dir.join("market-scraper.wasm")).expect("copy wasm");
    let path = dir.join("scraper.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"market\"\nversion = \"0.1.0\"\nwasm = \"market-scraper.wasm\"\nsha256 = \"{sha}\"\n\
             [network]\nallow = [\"{base_url}\"]\nrequests_per_second = 1000\nburst = 1000\n\
             [limits]\ntimeout_s = 120\nmax_listings = 5000\n[config]\nbase_url = \"{base_url}\"\n"
        ),
    )
    .expect("write scraper.toml");
    path
}

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

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let store = Store::local(tmp.path().join("store"))
        .expect("store")
        .with_local_grants(LocalGrants {
            upload_url: format!("http://{addr}/local-store/upload"),
            secret: "test-secret".into(),
        });
    let deadline = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let coord = Coord {
        store: store.clone(),
        assignment: json!({
            "success": true, "epochId": "2025-10-01T16-00-00", "nonce": "376ce532f42cf2a5",
            "submissionDeadline": deadline,
            "zipcodes": zips.iter().map(|z| json!({"zipcode": z, "expectedListings": market.count(z)})).collect::<Vec<_>>(),
        }),
        statuses: Arc::default(),
        uploads: Arc::default(),
    };
    let app = Router::new()
        .route("/api/v1/zipcode-assignments/current", get(current))
        .route("/api/v1/zipcode-assignments/status", post(status))
        .route("/get-folder-access", post(folder_access))
        .route("/local-store/upload", post(local_upload))
        .with_state(coord.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let hotkey = Hotkey::from_uri("//Alice").expect("alice");
    let coldkey = Hotkey::from_uri("//Bob").expect("bob").ss58();
    let manifest_path = scraper_toml(tmp.path(), &server.base_url());
    let make_miner = || {
        let client = resi_client::ApiClient::new(
            resi_client::ClientConfig::new(format!("http://{addr}")),
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
