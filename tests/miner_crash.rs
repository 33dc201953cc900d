//! Crash safety of `resi miner run` as a real process: the miner is `kill -9`ed at several
//! points of an epoch (early in start-up, mid-scrape with listings committed, once a zipcode
//! is built or uploaded, a while after scraping started) and restarted on the same
//! `--data-dir` until it finishes. Its uploads are then compared with an uninterrupted run
//! into another data directory and store: per zipcode the same listings (parsed parquet rows
//! keyed by zpid, `scraped_timestamp` ignored), no duplicate zpids, exactly one parquet, one
//! upstream JSON and one manifest per zipcode, manifests verify and describe their parquet,
//! and the coordinator got COMPLETED with every zipcode.
//!
//! Everything runs on 127.0.0.1: the synthetic market (slowed down with its latency option so
//! kills land mid-scrape), a stand-in coordinator (assignment, status, `/get-folder-access`
//! with real resi-store grants, the local store's upload endpoint) and a TEST ONLY wallet.
//! Which states the kills hit is printed (`--nocapture`); assertions depend only on the final
//! results, never on timing.
//!
//! A second test stops the miner with SIGTERM while an upload is in flight (the stand-in
//! coordinator holds each upload for a while): the upload in hand finishes, the miner exits by
//! itself within its `--shutdown-timeout` saying which zipcodes were left, reports no final
//! status, and the next start finishes the epoch with every listing.
//!
//! Needs the guests built (`cargo xtask guests`).

use resi_testkit::coordinator as support;

use resi_core::listing::Listing;
use resi_market::{HttpBehavior, Market, MarketConfig, serve_market};
use resi_miner::StateDb;
use resi_store::Store;
use resi_submission::manifest::Manifest;
use resi_submission::{ObjectKey, ReadCaps, SubmissionFile, read_listings};
use resi_testkit::coordinator::StoreChoice;
use resi_testkit::scraper::ScraperToml;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EPOCH: &str = "2025-10-01T16-00-00";
const NONCE: &str = "376ce532f42cf2a5";
/// Hang guard per miner process (not an assertion about speed).
const RUN_LIMIT: Duration = Duration::from_secs(600);

struct MinerCmd {
    wallet_path: PathBuf,
    scraper: PathBuf,
    coordinator: String,
    data_dir: PathBuf,
    log: PathBuf,
    /// More flags.
    extra: Vec<String>,
}

impl MinerCmd {
    fn spawn(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        Command::new(env!("CARGO_BIN_EXE_resi"))
            .args(["miner", "run", "--once", "--upstream-json"])
            .arg("--wallet.path")
            .arg(&self.wallet_path)
            .args(["--wallet.name", "crash", "--wallet.hotkey", "test"])
            .args(["--coordinator", &self.coordinator])
            .arg("--scraper")
            .arg(&self.scraper)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--concurrency", "2", "--max-attempts", "3"])
            .args(&self.extra)
            .env_remove("BT_WALLET_PATH")
            .env_remove("BT_WALLET_NAME")
            .env_remove("BT_WALLET_HOTKEY")
            .env_remove("RESI_COORDINATOR")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn resi miner run")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// One zipcode's row as the miner's SQLite shows it.
#[derive(Debug, Clone)]
struct ZipSnap {
    zipcode: String,
    state: String,
    stored: u64,
}

/// The miner's state right now (None before the database or the epoch exists).
fn snapshot(data_dir: &Path) -> Option<Vec<ZipSnap>> {
    let path = data_dir.join("miner.sqlite");
    if !path.exists() {
        return None;
    }
    let db = StateDb::open(&path).ok()?;
    let rows = db.zipcodes(EPOCH).ok()?;
    if rows.is_empty() {
        return None;
    }
    rows.into_iter()
        .map(|r| {
            let (valid, invalid) = db.listing_counts(EPOCH, &r.zipcode).ok()?;
            Some(ZipSnap {
                state: r.state.as_str().to_owned(),
                zipcode: r.zipcode,
                stored: valid + invalid,
            })
        })
        .collect()
}

fn describe(snap: &Option<Vec<ZipSnap>>) -> String {
    match snap {
        None => "no epoch in the state database yet".into(),
        Some(rows) => rows
            .iter()
            .map(|z| format!("{}:{}({})", z.zipcode, z.state, z.stored))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// When to `kill -9` one miner process. Conditions are relative to the state the process
/// started from, so each kill lands on progress the killed process itself made.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// This long after spawning.
    AfterStartMs(u64),
    /// Once at least this many listings of the epoch are committed (and at least one by this
    /// process) while a zipcode is still being scraped.
    MidScrape(u64),
    /// Once a zipcode this process scraped is built (scraped) or uploaded while another one
    /// is not uploaded yet.
    Built,
    /// This long after this process committed its first listing.
    AfterProgressMs(u64),
}

fn stored(snap: &[ZipSnap]) -> u64 {
    snap.iter().map(|z| z.stored).sum()
}

fn done(state: &str) -> bool {
    matches!(state, "scraped" | "uploaded" | "reported")
}

impl Kill {
    fn due(
        self,
        started: Instant,
        progress_since: Option<Instant>,
        base: &[ZipSnap],
        snap: &[ZipSnap],
    ) -> bool {
        match self {
            Kill::AfterStartMs(ms) => started.elapsed() >= Duration::from_millis(ms),
            Kill::MidScrape(n) => {
                snap.iter().any(|z| z.state == "scraping")
                    && stored(snap) >= n.max(stored(base) + 1)
            }
            Kill::Built => {
                let was_done = |zip: &str| base.iter().any(|b| b.zipcode == zip && done(&b.state));
                snap.iter().any(|z| done(&z.state) && !was_done(&z.zipcode))
                    && snap
                        .iter()
                        .any(|z| !matches!(z.state.as_str(), "uploaded" | "reported"))
            }
            Kill::AfterProgressMs(ms) => {
                progress_since.is_some_and(|t| t.elapsed() >= Duration::from_millis(ms))
            }
        }
    }
}

/// Runs the miner until `kill` is due (then `kill -9`s it) or it exits; returns whether it
/// exited by itself successfully, and a line for the report.
async fn run_until(cmd: &MinerCmd, kill: Option<Kill>) -> (bool, String) {
    let base = snapshot(&cmd.data_dir).unwrap_or_default();
    let started = Instant::now();
    let mut child = cmd.spawn();
    let mut progress_since = None;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let snap = snapshot(&cmd.data_dir);
            return (
                status.success(),
                format!(
                    "exited by itself ({status}) after {} ms before {kill:?}: {}",
                    started.elapsed().as_millis(),
                    describe(&snap)
                ),
            );
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "miner still running after {RUN_LIMIT:?} (hang guard)\n{}",
                cmd.log_text()
            );
        }
        let snap = snapshot(&cmd.data_dir).unwrap_or_default();
        if progress_since.is_none() && stored(&snap) > stored(&base) {
            progress_since = Some(Instant::now());
        }
        if let Some(k) = kill
            && k.due(started, progress_since, &base, &snap)
        {
            child.kill().expect("kill -9");
            child.wait().expect("wait");
            return (
                false,
                format!(
                    "killed ({k:?}) after {} ms: {}",
                    started.elapsed().as_millis(),
                    describe(&snapshot(&cmd.data_dir))
                ),
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What a store holds for the epoch, per zipcode: listings by zpid (scraped_timestamp
/// cleared), after checking files, duplicates and the manifest.
async fn uploaded(
    store: &Store,
    hk: &str,
    zips: &[String],
) -> BTreeMap<String, BTreeMap<String, Listing>> {
    let keys: Vec<String> = store
        .list(&format!("data/hotkey={hk}/"))
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .collect();
    let mut out = BTreeMap::new();
    let mut expected_keys = BTreeSet::new();
    for zip in zips {
        let key = |f| ObjectKey::new(hk, EPOCH, zip, f).expect("key").to_key();
        let (pq_key, man_key) = (key(SubmissionFile::Listings), key(SubmissionFile::Manifest));
        let prefix = pq_key.trim_end_matches("listings.parquet").to_owned();
        let json_keys: Vec<&String> = keys
            .iter()
            .filter(|k| k.starts_with(&prefix) && k.contains("/data_") && k.ends_with(".json"))
            .collect();
        assert_eq!(
            json_keys.len(),
            1,
            "exactly one upstream JSON for {zip}: {keys:?}"
        );
        expected_keys.extend([pq_key.clone(), man_key.clone(), json_keys[0].clone()]);

        let parquet = store.get(&pq_key, 64 << 20).await.expect("parquet");
        let listings = read_listings(&parquet, &ReadCaps::default()).expect("read parquet");
        let m = store.get(&man_key, 64 << 10).await.expect("manifest");
        let m = Manifest::from_json(&m, &ReadCaps::default()).expect("manifest parses");
        m.verify(hk).expect("manifest verifies");
        m.check_parquet(&parquet)
            .expect("manifest describes the parquet");
        assert_eq!(m.listing_count as usize, listings.len(), "{zip}");
        assert_eq!(m.nonce, NONCE);
        assert_eq!(m.zipcode, *zip);

        let mut by_zpid = BTreeMap::new();
        for l in listings {
            let zpid = l.zpid.clone().expect("zpid");
            let mut l = l;
            l.scraped_timestamp.clear();
            assert!(
                by_zpid.insert(zpid.clone(), l).is_none(),
                "duplicate zpid {zpid} in {zip}"
            );
        }
        let upstream: Value =
            serde_json::from_slice(&store.get(json_keys[0], 64 << 20).await.expect("json"))
                .expect("upstream json parses");
        let json_zpids: BTreeSet<String> = upstream["listings"]
            .as_array()
            .expect("listings array")
            .iter()
            .map(|l| l["zpid"].as_str().expect("zpid").to_owned())
            .collect();
        assert_eq!(
            json_zpids,
            by_zpid.keys().cloned().collect::<BTreeSet<_>>(),
            "upstream JSON and parquet of {zip} disagree"
        );
        assert_eq!(
            upstream["listings"].as_array().map(Vec::len),
            Some(by_zpid.len()),
            "duplicates in the upstream JSON of {zip}"
        );
        out.insert(zip.clone(), by_zpid);
    }
    assert_eq!(
        keys.iter().cloned().collect::<BTreeSet<_>>(),
        expected_keys,
        "unexpected objects in the store"
    );
    out
}

fn assert_completed(coord: &support::Coord, zips: &[String]) {
    let statuses = coord.statuses.lock().expect("lock").clone();
    let last = statuses.last().expect("a status was reported");
    assert_eq!(last["status"], "COMPLETED", "{statuses:?}");
    let done: BTreeSet<&str> = last["zipcodesCompleted"]
        .as_array()
        .expect("zipcodesCompleted")
        .iter()
        .map(|z| z["zipcode"].as_str().expect("zipcode"))
        .collect();
    assert_eq!(done, zips.iter().map(String::as_str).collect(), "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_miner_resumes_to_the_same_uploads_as_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let market = Arc::new(
        Market::new(MarketConfig {
            seed: 46,
            zipcodes_path: None,
            min_listings: 30,
            max_listings: 70,
            http: HttpBehavior {
                latency: Duration::from_millis(60),
                ..HttpBehavior::default()
            },
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
    .take(4)
    .map(|z| z.to_string())
    .collect();
    assert!(zips.len() >= 3, "too few market zipcodes: {zips:?}");
    let total: u64 = zips.iter().map(|z| market.count(z) as u64).sum();

    let wallet_path = tmp.path().join("wallets");
    let hk =
        resi_testkit::wallet::test_wallet(&wallet_path, "crash", "test", "//Alice", "//Bob").ss58();

    let deadline = (chrono::Utc::now() + chrono::Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let assignment = json!({
        "success": true, "epochId": EPOCH, "nonce": NONCE, "submissionDeadline": deadline,
        "zipcodes": zips.iter().map(|z| json!({"zipcode": z, "expectedListings": market.count(z)})).collect::<Vec<_>>(),
    });
    let scraper = ScraperToml::market(&server.base_url())
        .timeout_s(300)
        .config("page_size", "8")
        .write(tmp.path());

    // The reference: one uninterrupted run.
    let (clean_url, clean_coord) = support::start_coordinator(
        StoreChoice::Local(tmp.path().join("store-clean")),
        assignment.clone(),
    )
    .await;
    let clean = MinerCmd {
        wallet_path: wallet_path.clone(),
        scraper: scraper.clone(),
        coordinator: clean_url,
        data_dir: tmp.path().join("miner-clean"),
        log: tmp.path().join("miner-clean.log"),
        extra: Vec::new(),
    };
    let (ok, line) = run_until(&clean, None).await;
    println!("uninterrupted run: {line}");
    assert!(ok, "uninterrupted run failed:\n{}", clean.log_text());

    // The crashing one: kill -9 at several points, restart on the same data dir.
    let (crash_url, crash_coord) = support::start_coordinator(
        StoreChoice::Local(tmp.path().join("store-crash")),
        assignment,
    )
    .await;
    let crash = MinerCmd {
        wallet_path,
        scraper,
        coordinator: crash_url,
        data_dir: tmp.path().join("miner-crash"),
        log: tmp.path().join("miner-crash.log"),
        extra: Vec::new(),
    };
    let kills = [
        Kill::AfterStartMs(150),
        Kill::MidScrape(total / 6),
        Kill::AfterProgressMs(150),
        Kill::MidScrape(total / 2),
        Kill::Built,
        Kill::AfterProgressMs(60),
        Kill::Built,
        Kill::MidScrape(total * 5 / 6),
        Kill::Built,
    ];
    let mut report = Vec::new();
    let mut finished = false;
    for k in kills {
        let (ok, line) = run_until(&crash, Some(k)).await;
        println!("crash run {}: {line}", report.len() + 1);
        report.push(line);
        if ok {
            finished = true;
            break;
        }
    }
    let mut restarts = 0;
    while !finished {
        restarts += 1;
        assert!(
            restarts <= 3,
            "the miner does not finish after the kills:\n{}",
            crash.log_text()
        );
        let (ok, line) = run_until(&crash, None).await;
        println!("crash run {} (no kill): {line}", report.len() + 1);
        report.push(line);
        finished = ok;
    }
    let killed = report.iter().filter(|l| l.starts_with("killed")).count();
    let resumed = crash
        .log_text()
        .matches("resuming interrupted scrape")
        .count();
    println!("{killed} kills; {resumed} interrupted zipcode scrapes resumed");

    let want = uploaded(&clean_coord.store, &hk, &zips).await;
    let got = uploaded(&crash_coord.store, &hk, &zips).await;
    for zip in &zips {
        assert_eq!(
            want[zip].len(),
            market.count(zip) as usize,
            "uninterrupted {zip}"
        );
        assert_eq!(
            got[zip].keys().collect::<Vec<_>>(),
            want[zip].keys().collect::<Vec<_>>(),
            "zpids of {zip} after {killed} kills"
        );
        assert_eq!(
            got[zip], want[zip],
            "listings of {zip} after {killed} kills"
        );
    }
    assert_completed(&clean_coord, &zips);
    assert_completed(&crash_coord, &zips);

    // Once done, another run does nothing.
    let before = crash_coord.statuses.lock().expect("lock").len();
    let (ok, line) = run_until(&crash, None).await;
    assert!(ok, "{line}");
    assert_eq!(crash_coord.statuses.lock().expect("lock").len(), before);
}

/// Sends SIGTERM to `child` (the `kill` command: a real signal, as systemd and pm2 send).
fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM failed: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_upload_finishes_the_upload_and_the_next_start_resumes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let market = Arc::new(
        Market::new(MarketConfig {
            seed: 47,
            zipcodes_path: None,
            min_listings: 20,
            max_listings: 40,
            ..MarketConfig::default()
        })
        .expect("market"),
    );
    let server = serve_market(market.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("serve market");
    let zips: Vec<String> = [
        "19103", "10001", "60614", "94110", "02139", "73301", "30301",
    ]
    .iter()
    .filter(|z| market.count(z) > 0)
    .take(4)
    .map(|z| z.to_string())
    .collect();
    assert!(zips.len() >= 3, "too few market zipcodes: {zips:?}");
    let wallet_path = tmp.path().join("wallets");
    let hk =
        resi_testkit::wallet::test_wallet(&wallet_path, "crash", "test", "//Alice", "//Bob").ss58();
    let deadline = (chrono::Utc::now() + chrono::Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let assignment = json!({
        "success": true, "epochId": EPOCH, "nonce": NONCE, "submissionDeadline": deadline,
        "zipcodes": zips.iter().map(|z| json!({"zipcode": z, "expectedListings": market.count(z)})).collect::<Vec<_>>(),
    });
    let scraper = ScraperToml::market(&server.base_url())
        .timeout_s(300)
        .write(tmp.path());
    let (url, coord) =
        support::start_coordinator(StoreChoice::Local(tmp.path().join("store")), assignment).await;
    *coord.upload_delay.lock().expect("lock") = Duration::from_millis(1500);
    let cmd = MinerCmd {
        wallet_path,
        scraper,
        coordinator: url,
        data_dir: tmp.path().join("miner"),
        log: tmp.path().join("miner.log"),
        extra: vec!["--shutdown-timeout".into(), "10s".into()],
    };
    let mut child = cmd.spawn();
    let started = Instant::now();
    while coord.uploading.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the miner exited before uploading:\n{}",
            cmd.log_text()
        );
        assert!(
            started.elapsed() < RUN_LIMIT,
            "no upload started (hang guard):\n{}",
            cmd.log_text()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let done_before = coord.uploads.lock().expect("lock").len();
    sigterm(&child);
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!(
                "the miner did not stop within 60 s of SIGTERM (--shutdown-timeout 10s):\n{}",
                cmd.log_text()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let log = cmd.log_text();
    println!(
        "stopped {} ms after SIGTERM: {status}",
        signalled.elapsed().as_millis()
    );
    assert!(status.success(), "{status}\n{log}");
    assert!(log.contains("miner stopped (SIGTERM received)"), "{log}");
    assert!(
        log.contains(" left: "),
        "the miner did not say what was left:\n{log}"
    );
    // The upload in hand was finished, not cut.
    assert!(
        coord.uploads.lock().expect("lock").len() > done_before,
        "the upload in flight at SIGTERM did not complete:\n{log}"
    );
    assert_eq!(coord.uploading.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(
        !coord
            .statuses
            .lock()
            .expect("lock")
            .iter()
            .any(|s| s["status"] == "COMPLETED"),
        "an interrupted epoch reported COMPLETED"
    );
    let snap = snapshot(&cmd.data_dir);
    println!("state after SIGTERM: {}", describe(&snap));

    // The next start resumes and finishes with every listing.
    *coord.upload_delay.lock().expect("lock") = Duration::ZERO;
    let (ok, line) = run_until(&cmd, None).await;
    assert!(ok, "{line}\n{}", cmd.log_text());
    let got = uploaded(&coord.store, &hk, &zips).await;
    for zip in &zips {
        assert_eq!(
            got[zip].len(),
            market.count(zip) as usize,
            "listings of {zip}"
        );
    }
    assert_completed(&coord, &zips);
}
