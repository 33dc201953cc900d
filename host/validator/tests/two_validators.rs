//! Two validators over one store and a local chain: honest early and late miners, a
//! fabricator, a duplicator and a honeypot abuser. Both validators reach the same outcome hash,
//! agree (strong consensus), the fabricator and honeypot abuser get 0, the honest early miner
//! wins, and weights land on the local chain.

mod common;

use common::*;
use resi_chain::{LocalChain, SubnetParams};
use resi_store::Store;
use resi_validator::db::Db;
use resi_validator::report::ConsensusLevel;
use resi_validator::validate::set_weights;
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
        let set = set_weights(&chain, 46, &key(v), &dbs[i], &reports[i], &a, None)
            .await
            .unwrap()
            .expect("weights set");
        assert!(!set.0.uids.is_empty());
        assert!(dbs[i].weights_set(common::EPOCH).unwrap());
    }
    let history = chain.weights_history(46).unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
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
