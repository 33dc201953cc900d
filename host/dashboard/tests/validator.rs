//! The validator's dashboard in a real browser: a small epoch (honest early and late miners, a
//! fabricator, a duplicator, a honeypot abuser) validated by three validators with the
//! validator's own pipeline (`validate_epoch`, the released policy, signed reports in the
//! store), a fourth validator's report with another outcome hash, and a report in a folder that
//! is no hotkey. The page, served by the router over `ValidatorSource`, is loaded in headless
//! Chromium; its rendered DOM must show every assignment, every miner's rank, weight and flags,
//! every candidate's gates, and the agreement `resi_validator::agreement` computes.

use crate::browser;
use crate::common::{self, TruthVerifier};
use resi_core::keys::Hotkey;
use resi_core::listing::Listing;
use resi_dashboard::ValidatorSource;
use resi_sandbox::policy::wit;
use resi_store::Store;
use resi_validator::db::Db;
use resi_validator::report::{ConsensusLevel, validator_prefix};
use resi_validator::{
    AssignmentFacts, EpochFacts, IngestOptions, Peers, PolicyPin, ValidatorConfig, agreement,
    validate_epoch,
};
use std::sync::Arc;
use std::time::Duration;

const EPOCH: &str = "2025-10-01T16-00-00";
const NONCE: &str = "376ce532f42cf2a5";

fn key(n: u8) -> Hotkey {
    Hotkey::from_seed(&[n; 32])
}

/// [`common::submit`] for this test's epoch.
async fn submit(store: &Store, hk: &Hotkey, zipcode: &str, l: &[Listing]) {
    common::submit(store, hk, EPOCH, NONCE, zipcode, l).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_dashboard_shows_the_epoch_report() {
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path().join("store")).unwrap();
    let facts = EpochFacts {
        epoch_id: EPOCH.into(),
        nonce: NONCE.into(),
        // Far ahead: submissions written now are on time.
        deadline_ms: 4_102_444_800_000,
        validation_seed: [7; 32],
        assignments: [
            ("19103", 20, false, 0),
            ("10001", 20, false, 0),
            ("60601", 20, true, 10),
        ]
        .iter()
        .map(|(z, e, h, t)| AssignmentFacts {
            zipcode: z.to_string(),
            expected: *e,
            honeypot: *h,
            true_count: *t,
        })
        .collect(),
    };
    let listings = resi_testkit::listings::listings;
    let (real_a, real_b, real_h) = (
        listings("19103", 0, 20),
        listings("10001", 0, 20),
        listings("60601", 0, 10),
    );
    let (early, late, fabricator, duplicator, abuser) = (key(1), key(2), key(3), key(4), key(5));
    submit(&store, &early, "19103", &real_a).await;
    submit(&store, &early, "10001", &real_b).await;
    submit(&store, &early, "60601", &real_h).await;
    submit(&store, &fabricator, "19103", &listings("19103", 500, 20)).await;
    let dup: Vec<_> = std::iter::repeat_n(real_b[0].clone(), 20).collect();
    submit(&store, &duplicator, "10001", &dup).await;
    submit(&store, &abuser, "60601", &listings("60601", 0, 20)).await;
    submit(&store, &abuser, "10001", &real_b).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    submit(&store, &late, "19103", &real_a).await;
    submit(&store, &late, "10001", &real_b).await;

    let verifier = Arc::new(TruthVerifier(
        real_a
            .iter()
            .chain(&real_b)
            .chain(&real_h)
            .map(|l| (l.zpid.clone().unwrap_or_default(), wit::Listing::from(l)))
            .collect(),
    ));
    let pin = PolicyPin::from_release(&resi_testkit::policy_release()).unwrap();
    let mut reports = Vec::new();
    let mut dbs = Vec::new();
    for v in [100u8, 101, 102] {
        let db = Arc::new(Db::open(&dir.path().join(format!("v{v}.sqlite"))).unwrap());
        let cfg = ValidatorConfig {
            hotkey: key(v),
            pin: pin.clone(),
            ingest: IngestOptions::default(),
            concurrency: 4,
            verify_timeout: Duration::from_secs(30),
            upload: true,
        };
        let r = validate_epoch(&cfg, &store, db.clone(), verifier.clone(), &facts)
            .await
            .unwrap();
        reports.push(r.report);
        dbs.push(db);
    }
    // A fourth validator disagrees (another outcome hash, validly signed by its key) ...
    let mut outlier = reports[0].clone();
    outlier.outcome_hash = "ab".repeat(32);
    outlier.sign(&key(103));
    store
        .put(
            &format!(
                "{}validation_report.json",
                validator_prefix(&outlier.validator, EPOCH)
            ),
            serde_json::to_vec(&outlier).unwrap(),
        )
        .await
        .unwrap();
    // ... and a folder that is no hotkey, whose name the page must show as text.
    let hostile = "x<img src=x onerror=alert(1)>";
    store
        .put(
            &format!("validators/{hostile}/epoch={EPOCH}/validation_report.json"),
            b"{}".to_vec(),
        )
        .await
        .unwrap();
    let peers = Peers::from_keys([100u8, 101, 102, 103].map(|v| key(v).public()));
    let expected_agreement = agreement(&store, &reports[0], &peers).await.unwrap();
    assert_eq!(expected_agreement.validators, 4);
    assert_eq!(expected_agreement.agreeing, 3);
    assert_eq!(expected_agreement.level, ConsensusLevel::Consensus);
    dbs[0]
        .record_weights(
            EPOCH,
            &[0, 1, 2],
            &[65535, 30000, 0],
            "0xfeed",
            1_759_334_400,
        )
        .unwrap();

    let source = ValidatorSource::new(store.clone(), key(100).ss58()).with_db(dbs[0].clone());
    source.record_facts(&facts);
    source.set_peers(peers);
    let app: axum::Router = resi_dashboard::router(Arc::new(source));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/dashboard?epoch={EPOCH}");

    let dom = browser::rendered(&chromium, &url, EPOCH, "validator").await;
    // Every assignment, with its expected count and (revealed) honeypot flag.
    browser::assert_assignments_shown(&dom, &facts);

    // Every miner's rank, weight and flags, in the report's order.
    let report = &reports[0];
    let miners = browser::rows(&dom, "miner");
    assert_eq!(miners.len(), report.scores.len());
    for (row, s) in miners.iter().zip(&report.scores) {
        assert_eq!(row["hotkey"], s.hotkey);
        assert_eq!(row["rank"], s.rank.to_string());
        assert_eq!(row["ppb"], s.ppb.to_string());
        assert_eq!(row["flags"], s.flags.join(","));
    }
    let flagged = report.scores.iter().filter(|s| !s.flags.is_empty()).count();
    assert!(
        flagged > 0,
        "the fabricator is flagged: {:#?}",
        report.scores
    );

    // Every candidate's gates, rank and flags, as the canonical outcome has them.
    let candidates = browser::rows(&dom, "candidate");
    let mut n = 0;
    for z in report.outcome["zipcodes"].as_array().unwrap() {
        for c in z["candidates"].as_array().unwrap() {
            n += 1;
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
            assert_eq!(row["gates"], gates.join(","), "{zip} {hk}");
            let rank = c["rank"]
                .as_u64()
                .map(|r| r.to_string())
                .unwrap_or_default();
            assert_eq!(row["rank"], rank, "{zip} {hk}");
            let flags: Vec<&str> = c["flags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            assert_eq!(row["flags"], flags.join(","), "{zip} {hk}");
        }
    }
    assert_eq!(candidates.len(), n);
    assert!(
        candidates.iter().any(|r| r["gates"].contains("failed")),
        "some gate fails in this epoch: {candidates:#?}"
    );

    // Deliveries: one per (miner, zipcode) submitted, with its listing count.
    let deliveries = browser::rows(&dom, "delivery");
    assert_eq!(deliveries.len(), 9, "{deliveries:#?}");
    let d = deliveries
        .iter()
        .find(|r| r["hotkey"] == late.ss58() && r["zipcode"] == "19103")
        .expect("the late miner's delivery");
    assert_eq!(d["listings"], "20");
    assert_eq!(d["late"], "false");

    // The agreement, as the validator computes it.
    let table = browser::element(&dom, "agreement");
    assert_eq!(
        table["validators"],
        expected_agreement.validators.to_string()
    );
    assert_eq!(table["agreeing"], expected_agreement.agreeing.to_string());
    assert_eq!(table["agree-pct"], expected_agreement.agree_pct.to_string());
    assert_eq!(table["level"], "consensus");
    assert_eq!(
        table["majority-hash"],
        expected_agreement.majority_hash.clone().unwrap()
    );
    let peers_shown = browser::rows(&dom, "peer");
    for r in &reports {
        let row = peers_shown
            .iter()
            .find(|p| p["validator"] == r.validator)
            .expect("every validator's report");
        assert_eq!(row["counted"], "true");
        assert_eq!(row["majority"], "true");
        assert_eq!(row["outcome-hash"], r.outcome_hash);
    }
    for (who, hash, _) in &expected_agreement.outliers {
        let row = peers_shown
            .iter()
            .find(|p| &p["validator"] == who)
            .expect("the outlier");
        assert_eq!(row["majority"], "false");
        assert_eq!(&row["outcome-hash"], hash);
    }
    let ignored = peers_shown
        .iter()
        .find(|p| p["counted"] == "false")
        .expect("the folder that is no hotkey");
    assert!(ignored["validator"].contains(hostile), "{ignored:?}");
    assert!(
        !dom.contains("<img src=\"x\""),
        "a folder name became markup:\n{dom}"
    );
    // The weights this validator set.
    let weights = browser::rows(&dom, "weight");
    assert_eq!(weights.len(), 3);
    assert_eq!(weights[0]["weight"], "65535");

    // Charts were drawn by the vendored uPlot.
    assert!(dom.matches("class=\"uplot").count() >= 3, "charts missing");

    let shot = {
        let (c, u) = (chromium.clone(), url.clone());
        tokio::task::spawn_blocking(move || browser::screenshot(&c, &u, "dashboard-validator"))
            .await
            .unwrap()
    };
    println!("screenshot: {}", shot.display());
    server.abort();
}
