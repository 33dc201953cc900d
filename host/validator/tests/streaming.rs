//! The streamed validation (one zipcode read, scored and dropped at a time) gives what the
//! whole-epoch path gives: the same outcome and input hashes as [`run_epoch`] over
//! [`ingest_epoch`]'s [`EpochRun`], the same rejections and accepted count, and
//! `validated_data.parquet` holding exactly the winners' listings in (zipcode, rank) order.
//! Zipcodes are assigned out of order, one with no submission at all.

use crate::common;

use common::*;
use resi_policy::run_epoch;
use resi_store::Store;
use resi_validator::db::Db;
use resi_validator::observer::SpotChecker;
use resi_validator::report::winners;
use resi_validator::{
    EpochIngest, IngestOptions, PolicyPin, ValidatorConfig, ingest_epoch, validate_epoch,
};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_validation_equals_the_whole_epoch_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path().join("store")).unwrap();
    // Coordinator order is not zipcode order; 30301 gets no submission.
    let facts = facts(&[
        ("94105", 20, false, 0),
        ("10001", 20, false, 0),
        ("60601", 20, true, 10),
        ("30301", 20, false, 0),
        ("19103", 20, false, 0),
    ]);
    let mut real = Vec::new();
    for (zip, n) in [("94105", 20), ("10001", 20), ("60601", 10), ("19103", 20)] {
        real.extend(listings(zip, 0, n));
    }
    let of = |zip: &str| -> Vec<_> { real.iter().filter(|l| l.zipcode == zip).cloned().collect() };
    for (n, zips) in [
        (1u8, vec!["94105", "10001", "60601", "19103"]),
        (2, vec!["94105", "19103"]),
        (3, vec!["10001", "19103", "94105"]),
        (4, vec!["10001"]),
    ] {
        for zip in zips {
            submit(&store, &key(n), zip, &of(zip)).await;
        }
    }
    // A fabricator, a miner short of listings and a miner for an unassigned zipcode.
    submit(&store, &key(5), "19103", &listings("19103", 500, 20)).await;
    submit(&store, &key(6), "94105", &of("94105")[..12]).await;
    submit(&store, &key(7), "90210", &listings("90210", 0, 20)).await;
    // A wrong nonce.
    let k = key(8);
    let parquet = resi_submission::write_listings(&of("10001")).unwrap();
    let mut u = unsigned(&k, "10001", &parquet, 20);
    u.nonce = "0000000000000000".into();
    let p = prefix(&k.ss58(), "10001");
    store
        .put(&format!("{p}listings.parquet"), parquet)
        .await
        .unwrap();
    store
        .put(&format!("{p}manifest.json"), u.sign(&k).to_json_bytes())
        .await
        .unwrap();

    let pin = PolicyPin::from_release(&release()).unwrap();
    let verifier = Arc::new(TruthVerifier::new(&real));

    // Listing once: the unassigned zipcode is refused without reading it; zipcodes come in
    // ascending order, the one nobody submitted for included.
    let mut ingest = EpochIngest::list(&store, &facts, &IngestOptions::default())
        .await
        .unwrap();
    assert_eq!(ingest.rejected().len(), 1, "{:?}", ingest.rejected());
    let mut order = Vec::new();
    while let Some(z) = ingest.next_zipcode(&store).await {
        order.push((z.assignment().zipcode.clone(), z.heads().len()));
    }
    assert_eq!(
        order,
        vec![
            ("10001".to_string(), 3),
            ("19103".to_string(), 4),
            ("30301".to_string(), 0),
            ("60601".to_string(), 1),
            ("94105".to_string(), 4),
        ]
    );

    // The whole-epoch path.
    let whole = ingest_epoch(&store, &facts, &IngestOptions::default())
        .await
        .unwrap();
    let summary = ingest.finish();
    assert_eq!(summary.rejected, whole.rejected);
    assert_eq!(summary.accepted, whole.accepted);
    let zips: Vec<&str> = whole
        .run
        .zipcodes
        .iter()
        .map(|z| z.assignment.zipcode.as_str())
        .collect();
    assert_eq!(zips, ["94105", "10001", "60601", "30301", "19103"]);
    let reference = {
        let db = Arc::new(Db::open(&dir.path().join("reference.sqlite")).unwrap());
        let (backend, params, run) = (pin.backend.clone(), pin.params.clone(), whole.run.clone());
        let handle = tokio::runtime::Handle::current();
        let verifier = verifier.clone();
        tokio::task::spawn_blocking(move || {
            let mut checker = SpotChecker::new(verifier, db, handle, 4, Duration::from_secs(30));
            run_epoch(&backend, &params, &run, &mut checker)
        })
        .await
        .unwrap()
        .unwrap()
    };

    // The streamed path.
    let db = Arc::new(Db::open(&dir.path().join("validator.sqlite")).unwrap());
    let cfg = ValidatorConfig {
        hotkey: key(100),
        pin,
        ingest: IngestOptions::default(),
        concurrency: 4,
        verify_timeout: Duration::from_secs(30),
        upload: true,
    };
    let verifier_again = verifier.clone();
    let result = validate_epoch(&cfg, &store, db.clone(), verifier, &facts)
        .await
        .unwrap();
    let report = &result.report;
    assert_eq!(
        result.run.canonical_outcome(),
        reference.canonical_outcome()
    );
    assert_eq!(result.run.outcome_hash, reference.outcome_hash);
    assert_eq!(result.run.input_hash, reference.input_hash);
    assert_eq!(report.outcome_hash, hex::encode(reference.outcome_hash));
    assert_eq!(report.input_hash, hex::encode(reference.input_hash));
    assert_eq!(report.rejected, whole.rejected);
    assert_eq!(report.submissions, whole.accepted);
    assert_eq!(report.spot_checks, reference.observations);
    assert_eq!(db.rejections(EPOCH).unwrap().len(), whole.rejected.len());
    assert!(
        report
            .rejected
            .iter()
            .any(|r| r.hotkey == key(7).ss58() && r.reason.contains("not assigned"))
    );
    assert!(
        report
            .rejected
            .iter()
            .any(|r| r.hotkey == key(8).ss58() && r.reason.contains("wrong nonce"))
    );

    // validated_data.parquet: the winners' listings in (zipcode, rank) order.
    let mut win = winners(&report.outcome);
    assert!(win.len() >= 4, "{win:?}");
    win.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
    let mut want = Vec::new();
    for (zip, hk, _) in &win {
        let z = whole
            .run
            .zipcodes
            .iter()
            .find(|z| &z.assignment.zipcode == zip)
            .unwrap();
        let s = z.submissions.iter().find(|s| &s.hotkey == hk).unwrap();
        want.extend(s.listings.iter().map(resi_core::listing::Listing::from));
    }
    let got = resi_submission::read_listings(&result.validated_data, &Default::default()).unwrap();
    assert_eq!(got, want);

    // Whatever the pipeline: one zipcode at a time, one thread reading ahead, or 2 and 8
    // threads each reading and scoring its own zipcode: the same report and data.
    for (threads, read_ahead) in [(1, false), (1, true), (2, true), (8, true)] {
        let db_other = Arc::new(
            Db::open(
                &dir.path()
                    .join(format!("threads-{threads}-{read_ahead}.sqlite")),
            )
            .unwrap(),
        );
        let other_cfg = ValidatorConfig {
            ingest: IngestOptions {
                read_ahead,
                threads,
                ..IngestOptions::default()
            },
            upload: false,
            ..cfg.clone()
        };
        let other = validate_epoch(&other_cfg, &store, db_other, verifier_again.clone(), &facts)
            .await
            .unwrap();
        let what = format!("{threads} threads, read-ahead {read_ahead}");
        assert_eq!(
            other.run.canonical_outcome(),
            result.run.canonical_outcome(),
            "{what}"
        );
        assert_eq!(other.report.input_hash, report.input_hash, "{what}");
        assert_eq!(other.report.outcome_hash, report.outcome_hash, "{what}");
        assert_eq!(other.report.rejected, report.rejected, "{what}");
        assert_eq!(other.report.submissions, report.submissions, "{what}");
        assert_eq!(other.report.spot_checks, report.spot_checks, "{what}");
        assert_eq!(other.validated_data, result.validated_data, "{what}");
    }
}
