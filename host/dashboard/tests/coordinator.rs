//! The coordinator's dashboard in a real browser: a real coordinator (`resi_coordinator::serve`,
//! local chain and store) assigns an epoch; two miners take it through the signed API and
//! upload signed submissions; one reports its status; after the deadline two permitted
//! validators fetch the revealed epoch, validate it with the validator's own pipeline and
//! publish their signed reports into the coordinator's store. The coordinator's `/dashboard`
//! must show every assignment with its revealed honeypot flag, the miners' status, their
//! deliveries, every miner's rank and weight and every candidate's gates from the reports, and
//! the validators' agreement.

use crate::browser;
use crate::common::{TruthVerifier, submit};
use resi_chain::{LocalChain, SubnetParams};
use resi_client::{ApiClient, ClientConfig, StatusUpdate};
use resi_coordinator::zipcodes::{ZipKind, ZipTable};
use resi_coordinator::{CoordinatorConfig, FnCounts, RateLimits, StoreConfig, serve};
use resi_core::keys::Hotkey;
use resi_core::wire::{MinerStatus, ZipcodeCompleted};
use resi_sandbox::policy::wit;
use resi_store::Store;
use resi_validator::db::Db;
use resi_validator::{EpochFacts, IngestOptions, PolicyPin, ValidatorConfig, validate_epoch};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

const EPOCH_SECS: i64 = 60;

fn client(url: &str, key: &Hotkey) -> ApiClient {
    ApiClient::new(ClientConfig::new(url), Some(key.clone())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_dashboard_shows_the_epoch_and_its_reports() {
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let chain = LocalChain::open(dir.path().join("chain.sqlite")).unwrap();
    chain.set_subnet(46, &SubnetParams::default()).unwrap();
    let miners = [Hotkey::from_seed(&[1; 32]), Hotkey::from_seed(&[2; 32])];
    let validators = [Hotkey::from_seed(&[100; 32]), Hotkey::from_seed(&[101; 32])];
    for m in &miners {
        chain.register(46, &m.public(), false).unwrap();
    }
    for v in &validators {
        chain.register(46, &v.public(), true).unwrap();
    }

    // The coordinator's clock runs 1..60 s ahead of the real one (signed requests stay within
    // their time window) and starts 1 s into an epoch; it jumps one epoch ahead to pass the
    // deadline.
    let real = || chrono::Utc::now().timestamp();
    let offset = Arc::new(AtomicI64::new(
        EPOCH_SECS - real().rem_euclid(EPOCH_SECS) + 1,
    ));
    let clock_offset = offset.clone();
    let table = Arc::new(ZipTable::embedded().unwrap());
    let standard: std::collections::HashSet<String> = table
        .rows
        .iter()
        .filter(|z| z.kind == ZipKind::Standard)
        .map(|z| z.zipcode.clone())
        .collect();
    let standard_zips = standard.clone();
    let counts = FnCounts::new(move |z| {
        if !standard.contains(z) {
            return Some(0);
        }
        let n: u64 = z.parse().ok()?;
        Some(20 + (n.wrapping_mul(2_654_435_761) >> 7).rem_euclid(21) as u32)
    });
    let mut cfg = CoordinatorConfig::new(dir.path().join("coord"));
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.epoch_length_secs = EPOCH_SECS as u32;
    cfg.miner_upload_min_bytes = 16;
    cfg.registry_ttl = Duration::ZERO;
    cfg.rate_limits = RateLimits::default().scaled(100);
    cfg.store = StoreConfig::Local(dir.path().join("objects"));
    cfg.selection.target_listings = 100;
    cfg.selection.tolerance_percent = 20;
    cfg.selection.min_listings = 20;
    cfg.selection.max_listings = 40;
    cfg.selection.honeypot_min_percent = 20;
    cfg.selection.honeypot_max_percent = 40;
    cfg.clock = Some(Arc::new(move || {
        chrono::Utc::now().timestamp() + clock_offset.load(Ordering::SeqCst)
    }));
    let running = serve(cfg, table, Arc::new(counts), chain).await.unwrap();
    let url = running.url();
    let store = Store::local(dir.path().join("objects")).unwrap();

    // Miners: take the assignment, deliver, report.
    let assignment = client(&url, &miners[0]).assignment_current().await.unwrap();
    let epoch = assignment.epoch_id.to_string();
    let nonce = assignment.nonce.clone();
    let zips: Vec<(String, u32)> = assignment
        .zipcodes
        .iter()
        .map(|z| (z.zipcode.clone(), z.expected_listings))
        .collect();
    assert!(zips.len() >= 2, "{zips:?}");
    // Miner 0 mines the real zipcodes (honeypots are the assigned zipcodes that hold no homes,
    // PO boxes and the like); miner 1 copies it on the first and pads a honeypot.
    let mut real_listings = Vec::new();
    let mut mined = Vec::new();
    for (zip, expected) in &zips {
        let l = resi_testkit::listings::listings(zip, 0, *expected);
        if standard_zips.contains(zip) {
            submit(&store, &miners[0], &epoch, &nonce, zip, &l).await;
            real_listings.extend(l);
            mined.push((zip.clone(), *expected));
        } else {
            submit(&store, &miners[1], &epoch, &nonce, zip, &l).await;
        }
    }
    assert!(!mined.is_empty(), "{zips:?}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (zip, n) = &mined[0];
    let copy = resi_testkit::listings::listings(zip, 0, *n);
    submit(&store, &miners[1], &epoch, &nonce, zip, &copy).await;
    let completed: Vec<ZipcodeCompleted> = mined
        .iter()
        .map(|(z, n)| ZipcodeCompleted {
            zipcode: z.clone(),
            listings_scraped: *n,
            completed_at: "2025-10-01T16:30:00.000Z".into(),
        })
        .collect();
    client(&url, &miners[0])
        .report_status(&StatusUpdate {
            epoch_id: assignment.epoch_id,
            nonce: nonce.clone(),
            status: MinerStatus::Completed,
            s3_upload_complete: true,
            listings_scraped: Some(mined.iter().map(|(_, n)| u64::from(*n)).sum()),
            zipcodes_completed: Some(completed),
            s3_upload_timestamp: None,
        })
        .await
        .unwrap();

    // Past the deadline: validators fetch the revealed epoch and publish their reports.
    offset.fetch_add(EPOCH_SECS, Ordering::SeqCst);
    let reveal = client(&url, &validators[0])
        .epoch_reveal(&assignment.epoch_id)
        .await
        .unwrap();
    let facts = EpochFacts::from_reveal(&reveal).unwrap();
    let verifier = Arc::new(TruthVerifier(
        real_listings
            .iter()
            .map(|l| (l.zpid.clone().unwrap_or_default(), wit::Listing::from(l)))
            .collect(),
    ));
    let pin = PolicyPin::from_release(&resi_testkit::policy_release()).unwrap();
    let mut reports = Vec::new();
    for (i, v) in validators.iter().enumerate() {
        let db = Arc::new(Db::open(&dir.path().join(format!("v{i}.sqlite"))).unwrap());
        let cfg = ValidatorConfig {
            hotkey: v.clone(),
            pin: pin.clone(),
            ingest: IngestOptions::default(),
            concurrency: 4,
            verify_timeout: Duration::from_secs(30),
            upload: true,
        };
        let r = validate_epoch(&cfg, &store, db, verifier.clone(), &facts)
            .await
            .unwrap();
        reports.push(r.report);
    }
    assert_eq!(reports[0].outcome_hash, reports[1].outcome_hash);

    let page = format!("{url}/dashboard?epoch={epoch}");
    let dom = browser::rendered(&chromium, &page, &epoch, "coordinator").await;
    // Every assignment, with the honeypot flags the validators were revealed.
    browser::assert_assignments_shown(&dom, &facts);

    // The miner's status report and every delivery.
    let statuses = browser::rows(&dom, "status");
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0]["hotkey"], miners[0].ss58());
    assert_eq!(statuses[0]["status"], "COMPLETED");
    let deliveries = browser::rows(&dom, "delivery");
    assert_eq!(deliveries.len(), zips.len() + 1, "{deliveries:#?}");
    for (zip, n) in &mined {
        let d = deliveries
            .iter()
            .find(|d| d["hotkey"] == miners[0].ss58() && &d["zipcode"] == zip)
            .expect("the delivery");
        assert_eq!(d["listings"], n.to_string());
        assert_eq!(d["late"], "false");
    }

    // Ranks, weights, flags and gates from the (agreeing) reports.
    let report = &reports[0];
    assert_eq!(
        report.scores[0].hotkey,
        miners[0].ss58(),
        "{:#?}",
        report.scores
    );
    let rows = browser::rows(&dom, "miner");
    assert_eq!(rows.len(), report.scores.len());
    for (row, s) in rows.iter().zip(&report.scores) {
        assert_eq!(row["hotkey"], s.hotkey);
        assert_eq!(row["rank"], s.rank.to_string());
        assert_eq!(row["ppb"], s.ppb.to_string());
        assert_eq!(row["flags"], s.flags.join(","));
    }
    let candidates = browser::rows(&dom, "candidate");
    for z in report.outcome["zipcodes"].as_array().unwrap() {
        for c in z["candidates"].as_array().unwrap() {
            let (zip, hk) = (
                z["zipcode"].as_str().unwrap(),
                c["hotkey"].as_str().unwrap(),
            );
            let row = candidates
                .iter()
                .find(|r| r["zipcode"] == zip && r["hotkey"] == hk)
                .unwrap_or_else(|| panic!("candidate {hk} in {zip} not shown"));
            let gates: Vec<&str> = c["gates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g.as_str().unwrap())
                .collect();
            assert_eq!(row["gates"], gates.join(","));
        }
    }

    // Both validators agree; their permits were checked against the chain.
    let table = browser::element(&dom, "agreement");
    assert_eq!(table["validators"], "2");
    assert_eq!(table["agreeing"], "2");
    assert_eq!(table["agree-pct"], "100");
    assert_eq!(table["level"], "strong");
    assert_eq!(table["permits-checked"], "true");
    assert_eq!(table["majority-hash"], report.outcome_hash);

    let shot = {
        let (c, u) = (chromium.clone(), page.clone());
        tokio::task::spawn_blocking(move || browser::screenshot(&c, &u, "dashboard-coordinator"))
            .await
            .unwrap()
    };
    println!("screenshot: {}", shot.display());
    running.shutdown().await;
}
