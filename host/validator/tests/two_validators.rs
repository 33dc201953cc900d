//! Two validators over one store and a local chain: honest early and late miners, a
//! fabricator, a duplicator and a honeypot abuser. Both validators reach the same outcome hash,
//! agree (strong consensus), the fabricator and honeypot abuser get 0, the honest early miner
//! wins, and weights land on the local chain. Fault: the chain unreachable at weight time
//! loses nothing, and the retry sets the weights once.

use crate::common;

use common::*;
use resi_chain::{LocalChain, SubnetParams};
use resi_store::Store;
use resi_validator::db::Db;
use resi_validator::report::ConsensusLevel;
use resi_validator::validate::{WeightOptions, set_weights};
use resi_validator::{IngestOptions, PolicyPin, ValidatorConfig, agreement, validate_epoch};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_validators_agree_and_set_weights() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path().join("store")).unwrap();
    let facts = facts(&[
        ("19103", 20, false, 0),
        ("10001", 20, false, 0),
        ("60601", 20, true, 10),
    ]);
    let real_a = listings("19103", 0, 20);
    let real_b = listings("10001", 0, 20);
    let real_h = listings("60601", 0, 10);

    let (early, late, fabricator, duplicator, abuser) = (key(1), key(2), key(3), key(4), key(5));
    submit(&store, &early, "19103", &real_a).await;
    submit(&store, &early, "10001", &real_b).await;
    submit(&store, &early, "60601", &real_h).await;
    // The fabricator invents listings no source holds.
    submit(&store, &fabricator, "19103", &listings("19103", 500, 20)).await;
    // The duplicator repeats one listing 20 times.
    let dup: Vec<_> = std::iter::repeat_n(real_b[0].clone(), 20).collect();
    submit(&store, &duplicator, "10001", &dup).await;
    // The honeypot abuser pads the honeypot (true count 10) to 20, and is honest elsewhere.
    submit(&store, &abuser, "60601", &listings("60601", 0, 20)).await;
    submit(&store, &abuser, "10001", &real_b).await;
    // The late honest miner submits after everyone else.
    submit(&store, &late, "19103", &real_a).await;
    submit(&store, &late, "10001", &real_b).await;

    let chain = LocalChain::open(dir.path().join("chain.sqlite")).unwrap();
    chain
        .set_subnet(
            46,
            &SubnetParams {
                weights_set_rate_limit: 0,
                commit_reveal_enabled: false,
                ..SubnetParams::default()
            },
        )
        .unwrap();
    for k in [&early, &late, &fabricator, &duplicator, &abuser] {
        chain.register(46, &k.public(), false).unwrap();
    }
    let verifier = Arc::new(TruthVerifier::new(
        &real_a
            .iter()
            .chain(&real_b)
            .chain(&real_h)
            .cloned()
            .collect::<Vec<_>>(),
    ));
    let pin = PolicyPin::from_release(&release()).unwrap();
    let mut reports = Vec::new();
    let mut dbs = Vec::new();
    for v in [100u8, 101] {
        chain.register(46, &key(v).public(), true).unwrap();
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
    assert_eq!(reports[0].outcome_hash, reports[1].outcome_hash);
    assert_eq!(reports[0].input_hash, reports[1].input_hash);
    let ppb = |hk: &str| {
        reports[0]
            .scores
            .iter()
            .find(|s| s.hotkey == hk)
            .map(|s| s.ppb)
            .unwrap_or(0)
    };
    assert_eq!(ppb(&fabricator.ss58()), 0, "{:#?}", reports[0].scores);
    assert_eq!(ppb(&abuser.ss58()), 0, "{:#?}", reports[0].scores);
    assert_eq!(ppb(&duplicator.ss58()), 0, "{:#?}", reports[0].scores);
    assert_eq!(
        reports[0].scores[0].hotkey,
        early.ss58(),
        "{:#?}",
        reports[0].scores
    );
    assert!(ppb(&early.ss58()) > ppb(&late.ss58()));
    assert!(ppb(&late.ss58()) > 0);

    let peers = resi_validator::Peers::from_metagraph(
        &resi_chain::Chain::metagraph(&chain, 46)
            .await
            .expect("metagraph"),
    );
    for (i, v) in [100u8, 101].into_iter().enumerate() {
        let a = agreement(&store, &reports[i], &peers).await.unwrap();
        assert_eq!(a.validators, 2);
        assert_eq!(a.level, ConsensusLevel::Strong);
        assert!(a.set_weights);
        let set = set_weights(
            &chain,
            46,
            &key(v),
            &dbs[i],
            &reports[i],
            &a,
            &WeightOptions::default(),
        )
        .await
        .unwrap()
        .expect("weights set");
        assert!(!set.0.uids.is_empty());
        assert!(dbs[i].weights_set(common::EPOCH).unwrap());
    }
    let history = chain.weights_history(46).unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
}

/// Rows per table of the validator database at `path` (read with a second connection, as an
/// operator inspecting the file would).
fn table_rows(path: &std::path::Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    ["rejections", "observations", "outcomes", "weights"]
        .iter()
        .map(|t| {
            let n: i64 = conn
                .query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))
                .unwrap();
            (t.to_string(), n)
        })
        .collect()
}

/// Fault: the chain is unreachable at weight time. The validator scored the epoch (report,
/// outcome, rejections and spot-check observations stored, report published); then
/// `set_weights` meets a subtensor endpoint on 127.0.0.1 with nothing listening. The error
/// names the endpoint and says it is unreachable; nothing stored is lost or changed; weights
/// are not recorded as set. Once a chain answers, the retry sets the weights exactly once,
/// and a further retry (the loop or an operator re-running after a crash) does not set them
/// again: the chain's history holds one call and the database one weights row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_unreachable_at_weight_time_loses_nothing_and_sets_weights_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path().join("store")).unwrap();
    let facts = facts(&[("19103", 20, false, 0), ("10001", 20, false, 0)]);
    let real_a = listings("19103", 0, 20);
    let real_b = listings("10001", 0, 20);
    let (honest, late, fabricator) = (key(1), key(2), key(3));
    submit(&store, &honest, "19103", &real_a).await;
    submit(&store, &honest, "10001", &real_b).await;
    submit(&store, &fabricator, "19103", &listings("19103", 500, 20)).await;
    submit(&store, &late, "10001", &real_b).await;
    // A submission that is refused (manifest without its parquet) so rejections are stored.
    let orphan = listings("19103", 100, 20);
    let parquet = resi_submission::write_listings(&orphan).unwrap();
    let m = unsigned(&late, "19103", &parquet, 20).sign(&late);
    store
        .put(
            &format!("{}manifest.json", prefix(&late.ss58(), "19103")),
            m.to_json_bytes(),
        )
        .await
        .unwrap();

    let chain = LocalChain::open(dir.path().join("chain.sqlite")).unwrap();
    chain
        .set_subnet(
            46,
            &SubnetParams {
                weights_set_rate_limit: 0,
                commit_reveal_enabled: false,
                ..SubnetParams::default()
            },
        )
        .unwrap();
    for k in [&honest, &late, &fabricator] {
        chain.register(46, &k.public(), false).unwrap();
    }
    let validator = key(100);
    chain.register(46, &validator.public(), true).unwrap();
    let verifier = Arc::new(TruthVerifier::new(
        &real_a.iter().chain(&real_b).cloned().collect::<Vec<_>>(),
    ));
    let db_path = dir.path().join("v.sqlite");
    let db = Arc::new(Db::open(&db_path).unwrap());
    let cfg = ValidatorConfig {
        hotkey: validator.clone(),
        pin: PolicyPin::from_release(&release()).unwrap(),
        ingest: IngestOptions::default(),
        concurrency: 4,
        verify_timeout: Duration::from_secs(30),
        upload: true,
    };
    let r = validate_epoch(&cfg, &store, db.clone(), verifier, &facts)
        .await
        .unwrap()
        .report;
    assert!(!r.rejected.is_empty(), "{:#?}", r.rejected);
    assert!(r.scores.iter().any(|s| s.ppb > 0), "{:#?}", r.scores);
    let peers = resi_validator::Peers::from_metagraph(
        &resi_chain::Chain::metagraph(&chain, 46)
            .await
            .expect("metagraph"),
    );
    let a = agreement(&store, &r, &peers).await.unwrap();
    assert!(a.set_weights, "{a:?}");

    // What is stored before weight time.
    let report_key = format!(
        "{}validation_report.json",
        resi_validator::report::validator_prefix(&validator.ss58(), EPOCH)
    );
    let outputs = |store: Store| async move {
        let mut out = Vec::new();
        for m in store.list("validators/").await.unwrap() {
            let bytes = store.get(&m.key, 64 << 20).await.unwrap();
            out.push((m.key, bytes));
        }
        out
    };
    let published = outputs(store.clone()).await;
    assert_eq!(published.len(), 3, "report, data and metadata");
    let outcome = db.outcome(EPOCH).unwrap().expect("outcome stored");
    assert_eq!(
        (outcome.outcome_hash.as_str(), outcome.input_hash.as_str()),
        (r.outcome_hash.as_str(), r.input_hash.as_str())
    );
    let rejections = db.rejections(EPOCH).unwrap();
    assert_eq!(rejections.len(), r.rejected.len());
    let rows = table_rows(&db_path);
    assert_eq!(rows[3], ("weights".to_string(), 0));
    assert!(rows[1].1 > 0, "spot checks cached: {rows:?}");

    // The chain is unreachable: a subtensor endpoint on a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let down = resi_chain::SubtensorChain::connect(&endpoint).unwrap();
    let err = set_weights(
        &down,
        46,
        &validator,
        &db,
        &r,
        &a,
        &WeightOptions::default(),
    )
    .await
    .expect_err("no chain to set weights on");
    assert!(
        matches!(
            err,
            resi_validator::ValidatorError::Chain(resi_chain::ChainError::Unreachable { .. })
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("unreachable") && msg.contains(&endpoint),
        "the error names the endpoint and the fault: {msg}"
    );

    // Nothing stored was lost or changed.
    assert!(!db.weights_set(EPOCH).unwrap());
    assert_eq!(db.outcome(EPOCH).unwrap().as_ref(), Some(&outcome));
    assert_eq!(db.rejections(EPOCH).unwrap(), rejections);
    assert_eq!(table_rows(&db_path), rows);
    assert_eq!(outputs(store.clone()).await, published);
    let stored: resi_validator::ValidationReport =
        serde_json::from_slice(&store.get(&report_key, 1 << 20).await.unwrap()).unwrap();
    assert_eq!(stored.verify_signature().unwrap(), validator.public());
    assert_eq!(stored.outcome_hash, r.outcome_hash);
    assert!(chain.weights_history(46).unwrap().is_empty());

    // The chain is back: the retry sets the weights once.
    let (emit, tx) = set_weights(
        &chain,
        46,
        &validator,
        &db,
        &r,
        &a,
        &WeightOptions::default(),
    )
    .await
    .expect("weights set once the chain is back")
    .expect("something to weigh");
    assert!(!emit.uids.is_empty());
    assert!(db.weights_set(EPOCH).unwrap());
    let history = chain.weights_history(46).unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].tx_hash, tx);
    assert_eq!(
        (&history[0].uids, &history[0].weights),
        (&emit.uids, &emit.weights)
    );

    // Retried again (a loop that did not see the answer, a re-run after a crash): no second
    // call, the recorded weights are returned.
    let again = set_weights(
        &chain,
        46,
        &validator,
        &db,
        &r,
        &a,
        &WeightOptions::default(),
    )
    .await
    .expect("a retry after success is not an error")
    .expect("the weights already set");
    assert_eq!(
        (again.0.uids, again.0.weights, again.1),
        (emit.uids, emit.weights, tx)
    );
    assert_eq!(chain.weights_history(46).unwrap().len(), 1, "set twice");
    let after = table_rows(&db_path);
    assert_eq!(after[3], ("weights".to_string(), 1), "{after:?}");
    assert_eq!(&after[..3], &rows[..3], "nothing else changed: {after:?}");
    assert_eq!(outputs(store).await, published);
}

#[test]
fn thresholds() {
    use resi_validator::report::compute_agreement;
    use std::collections::BTreeMap;
    let mk = |hashes: &[&str]| -> BTreeMap<String, (String, String)> {
        hashes
            .iter()
            .enumerate()
            .map(|(i, h)| (format!("v{i}"), (h.to_string(), "i".into())))
            .collect()
    };
    let a = compute_agreement("e", "v0", &mk(&["a"; 10]), vec![]);
    assert_eq!((a.level, a.set_weights), (ConsensusLevel::Strong, true));
    let mut h = vec!["a"; 8];
    h.extend(["b", "c"]);
    let a = compute_agreement("e", "v0", &mk(&h), vec![]);
    assert_eq!(
        (a.level, a.agree_pct, a.outliers.len()),
        (ConsensusLevel::Consensus, 80, 2)
    );
    // An outlier abstains even when the others agree.
    let a = compute_agreement("e", "v9", &mk(&h), vec![]);
    assert!(!a.set_weights);
    let a = compute_agreement("e", "v0", &mk(&["a", "a", "b", "c"]), vec![]);
    assert_eq!((a.level, a.set_weights), (ConsensusLevel::None, false));
}
