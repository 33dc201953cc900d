//! Hostile submissions written straight into a local store: truncated parquet, wrong schema,
//! a 2 GB claim in a manifest, a forged signature, a wrong nonce, a duplicated (copied)
//! manifest, listings for another zipcode, an unassigned zipcode. Each is recorded with its
//! reason (in the report and in SQLite) and the epoch still scores the honest miner.

use crate::common;

use common::*;
use resi_store::Store;
use resi_submission::write_listings;
use resi_validator::db::Db;
use resi_validator::{IngestOptions, PolicyPin, ValidatorConfig, validate_epoch};
use std::sync::Arc;
use std::time::Duration;

fn wrong_schema_parquet() -> Vec<u8> {
    use parquet::data_type::Int32Type;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let schema = Arc::new(parse_message_type("message other { required int32 x; }").unwrap());
    let mut buf = Vec::new();
    let mut w = SerializedFileWriter::new(
        &mut buf,
        schema,
        Arc::new(WriterProperties::builder().build()),
    )
    .unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut col = rg.next_column().unwrap().unwrap();
    col.typed::<Int32Type>()
        .write_batch(&[1, 2, 3], None, None)
        .unwrap();
    col.close().unwrap();
    rg.close().unwrap();
    w.close().unwrap();
    buf
}

async fn put(store: &Store, key: String, bytes: Vec<u8>) {
    store.put(&key, bytes).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_submissions_are_recorded_and_the_epoch_scores() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path().join("store")).unwrap();
    let facts = facts(&[("19103", 20, false, 0), ("10001", 20, false, 0)]);
    let real_a = listings("19103", 0, 20);
    let real_b = listings("10001", 0, 20);

    // Honest miner: both zipcodes.
    let honest = key(1);
    submit(&store, &honest, "19103", &real_a).await;
    submit(&store, &honest, "10001", &real_b).await;

    // Truncated parquet, described faithfully by a signed manifest.
    let k = key(2);
    let mut parquet = write_listings(&real_a).unwrap();
    parquet.truncate(parquet.len() / 2);
    let m = unsigned(&k, "19103", &parquet, 20).sign(&k);
    let p = prefix(&k.ss58(), "19103");
    put(&store, format!("{p}listings.parquet"), parquet).await;
    put(&store, format!("{p}manifest.json"), m.to_json_bytes()).await;

    // Wrong schema.
    let k = key(3);
    let parquet = wrong_schema_parquet();
    let m = unsigned(&k, "19103", &parquet, 3).sign(&k);
    let p = prefix(&k.ss58(), "19103");
    put(&store, format!("{p}listings.parquet"), parquet).await;
    put(&store, format!("{p}manifest.json"), m.to_json_bytes()).await;

    // A 2 GB claim.
    let k = key(4);
    let parquet = write_listings(&real_a).unwrap();
    let mut u = unsigned(&k, "19103", &parquet, 20);
    u.parquet_size = 2_000_000_000;
    let m = u.sign(&k);
    let p = prefix(&k.ss58(), "19103");
    put(&store, format!("{p}listings.parquet"), parquet).await;
    put(&store, format!("{p}manifest.json"), m.to_json_bytes()).await;

    // Forged signature: signed by another key, claiming to be key 5.
    let k = key(5);
    let forger = key(50);
    let parquet = write_listings(&real_a).unwrap();
    let mut m = unsigned(&forger, "19103", &parquet, 20).sign(&forger);
    m.hotkey = k.ss58();
    let p = prefix(&k.ss58(), "19103");
    put(&store, format!("{p}listings.parquet"), parquet).await;
    put(&store, format!("{p}manifest.json"), m.to_json_bytes()).await;

    // Wrong nonce.
    let k = key(6);
    let parquet = write_listings(&real_a).unwrap();
    let mut u = unsigned(&k, "19103", &parquet, 20);
    u.nonce = "0000000000000000".into();
    let m = u.sign(&k);
    let p = prefix(&k.ss58(), "19103");
    put(&store, format!("{p}listings.parquet"), parquet.clone()).await;
    put(&store, format!("{p}manifest.json"), m.to_json_bytes()).await;

    // Duplicate manifest: a valid 19103 submission, its manifest copied under 10001.
    let k = key(7);
    submit(&store, &k, "19103", &real_a).await;
    let m = unsigned(&k, "19103", &write_listings(&real_a).unwrap(), 20).sign(&k);
    let p = prefix(&k.ss58(), "10001");
    put(
        &store,
        format!("{p}listings.parquet"),
        write_listings(&real_a).unwrap(),
    )
    .await;
    put(&store, format!("{p}manifest.json"), m.to_json_bytes()).await;

    // Listings for another zipcode, in a valid signed submission for 19103.
    let k = key(8);
    submit(&store, &k, "19103", &real_b).await;

    // A zipcode that is not assigned.
    let k = key(9);
    submit(&store, &k, "90210", &listings("90210", 0, 20)).await;

    let db = Arc::new(Db::open(&dir.path().join("validator.sqlite")).unwrap());
    let cfg = ValidatorConfig {
        hotkey: key(100),
        pin: PolicyPin::from_release(&release()).unwrap(),
        ingest: IngestOptions::default(),
        concurrency: 4,
        verify_timeout: Duration::from_secs(30),
        upload: true,
    };
    let verifier = Arc::new(TruthVerifier::new(
        &real_a.iter().chain(&real_b).cloned().collect::<Vec<_>>(),
    ));
    let result = validate_epoch(&cfg, &store, db.clone(), verifier, &facts)
        .await
        .unwrap();
    let report = &result.report;
    let reason = |n: u8| -> String {
        let hk = key(n).ss58();
        report
            .rejected
            .iter()
            .filter(|r| r.hotkey == hk)
            .map(|r| r.reason.clone())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    for (n, want) in [
        (2, "truncated parquet"),
        (3, "wrong parquet schema"),
        (4, "2000000000-byte listings.parquet"),
        (5, "forged or invalid manifest"),
        (6, "wrong nonce"),
        (7, "duplicate or copied manifest"),
        (8, "another zipcode than 19103"),
        (9, "not assigned"),
    ] {
        let got = reason(n);
        assert!(got.contains(want), "key {n}: expected {want:?} in {got:?}");
    }
    // Recorded in SQLite too.
    let stored = db.rejections(common::EPOCH).unwrap();
    assert_eq!(stored.len(), report.rejected.len());
    // The honest miner wins both zipcodes; the copier's valid 19103 submission ranks second.
    let top = &report.scores[0];
    assert_eq!(top.hotkey, honest.ss58(), "{:#?}", report.scores);
    assert!(top.ppb > 0);
    // Listings for another zipcode fail the quality gate: key 8 earns nothing.
    let k8 = report.scores.iter().find(|s| s.hotkey == key(8).ss58());
    assert!(k8.is_none_or(|s| s.ppb == 0), "{k8:?}");
    // Outputs uploaded.
    let prefix = format!("validators/{}/epoch={}/", key(100).ss58(), common::EPOCH);
    for f in [
        "validation_report.json",
        "validated_data.parquet",
        "epoch_metadata.json",
    ] {
        store.head(&format!("{prefix}{f}")).await.unwrap();
    }
    let winners =
        resi_submission::read_listings(&result.validated_data, &Default::default()).unwrap();
    assert!(!winners.is_empty());
}

#[test]
fn a_policy_other_than_the_pinned_one_is_refused_naming_both_hashes() {
    let r = resi_policy::vectors::Release::load(&release()).unwrap();
    let err = PolicyPin::load(&r.wasm, None, &"ab".repeat(32), &r.manifest.params_sha256)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&r.manifest.wasm_sha256) && err.contains(&"ab".repeat(32)),
        "{err}"
    );
    let err = PolicyPin::load(
        &r.wasm,
        Some(r#"{"k_min":3}"#),
        &r.manifest.wasm_sha256,
        &r.manifest.params_sha256,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("policy params") && err.contains(&r.manifest.params_sha256),
        "{err}"
    );
}

/// A submission committed after the deadline plus grace is left out before the policy (so the
/// outcome does not depend on when a validator lists the store), with a reason; on-time ones
/// score. By default the cutoff is the facts' deadline plus the pinned policy's grace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_after_the_deadline_and_grace_are_left_out_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path().join("store")).unwrap();
    let real = listings("19103", 0, 20);
    let (on_time, late) = (key(1), key(2));
    submit(&store, &on_time, "19103", &real).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let cutoff = chrono::Utc::now().timestamp_millis() as u64;
    tokio::time::sleep(Duration::from_millis(50)).await;
    submit(&store, &late, "19103", &real).await;

    let run = |facts: resi_validator::EpochFacts, accept_until_ms: Option<u64>| {
        let store = store.clone();
        let real = real.clone();
        let db_path = dir
            .path()
            .join(format!("v{}.sqlite", accept_until_ms.is_some()));
        async move {
            let cfg = ValidatorConfig {
                hotkey: key(100),
                pin: PolicyPin::from_release(&release()).unwrap(),
                ingest: IngestOptions {
                    accept_until_ms,
                    ..IngestOptions::default()
                },
                concurrency: 4,
                verify_timeout: Duration::from_secs(30),
                upload: false,
            };
            let db = Arc::new(Db::open(&db_path).unwrap());
            validate_epoch(
                &cfg,
                &store,
                db,
                Arc::new(TruthVerifier::new(&real)),
                &facts,
            )
            .await
            .unwrap()
            .report
        }
    };

    let report = run(facts(&[("19103", 20, false, 0)]), Some(cutoff)).await;
    let late_reasons: Vec<&str> = report
        .rejected
        .iter()
        .filter(|r| r.hotkey == late.ss58())
        .map(|r| r.reason.as_str())
        .collect();
    assert!(
        late_reasons
            .iter()
            .any(|r| r.starts_with("late: committed at")),
        "{late_reasons:?}"
    );
    assert_eq!(report.submissions, 1);
    assert!(!report.outcome.to_string().contains(&late.ss58()));
    assert!(
        report
            .scores
            .iter()
            .any(|s| s.hotkey == on_time.ss58() && s.ppb > 0)
    );

    // Default cutoff: a deadline 16 minutes ago plus the release's 15-minute grace is past, so
    // both submissions (written just now) are late.
    let mut past = facts(&[("19103", 20, false, 0)]);
    past.deadline_ms = (chrono::Utc::now().timestamp_millis() - 16 * 60_000) as u64;
    let report = run(past, None).await;
    assert_eq!(report.submissions, 0, "{:?}", report.rejected);
    assert_eq!(
        report
            .rejected
            .iter()
            .filter(|r| r.reason.starts_with("late:"))
            .count(),
        2,
        "{:?}",
        report.rejected
    );
}

/// Findings 1 and 6 of the hardening review. A dictionary bomb (a few KB that decode to
/// gigabytes) and three miners' large files for one zipcode (each within every per-file cap,
/// together over what one policy call may hold) used to fail the whole epoch on every
/// validator. Now the bomb is refused by the per-file decoded budget, the largest of the large
/// files are refused by the zipcode's budget until the rest fit, the honest miner is paid, the
/// policy stays far under its memory limit, and the report bounds how many rejections one miner
/// can put in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bombs_lose_their_own_submissions_never_the_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path().join("store")).unwrap();
    let facts = facts(&[("19103", 20, false, 0)]);
    let real = listings("19103", 0, 20);
    let honest = key(1);
    submit(&store, &honest, "19103", &real).await;

    // The dictionary bomb, faithfully described by a signed manifest.
    let bomber = key(2);
    let bomb = resi_submission::parquet::hostile::dictionary_bomb(&real[0], 100_000, 4096);
    let m = unsigned(&bomber, "19103", &bomb, 100_000).sign(&bomber);
    let p = prefix(&bomber.ss58(), "19103");
    put(&store, format!("{p}listings.parquet"), bomb).await;
    put(&store, format!("{p}manifest.json"), m.to_json_bytes()).await;

    // Three large plain files, of 60, 55 and 50 rows with seven ~3.9 KB fields (1.65, 1.51 and
    // 1.38 MB decoded): over the zipcode budget of 2 MiB together, the two largest are refused.
    let fat = |rows: u32| -> Vec<resi_core::listing::Listing> {
        listings("19103", 1000 + rows * 100, rows)
            .into_iter()
            .map(|mut l| {
                l.address = format!("{} {}", l.address, "x".repeat(3900));
                l.source_url = format!("{}?{}", l.source_url, "y".repeat(3900));
                l.listing_date = "z".repeat(3900);
                l.scraped_timestamp = "w".repeat(3900);
                l.property_type = "v".repeat(3900);
                l.listing_status = "u".repeat(3900);
                l.mls_id = Some("t".repeat(3900));
                l
            })
            .collect()
    };
    let (big, bigger, biggest) = (key(5), key(4), key(3));
    submit(&store, &biggest, "19103", &fat(60)).await;
    submit(&store, &bigger, "19103", &fat(55)).await;
    submit(&store, &big, "19103", &fat(50)).await;

    // 2,000 junk objects in one miner's own folder (report inflation; the finding's 115,000
    // and the read cap: `scale::a_report_of_115000_rejections_stays_under_the_read_cap_and_\
    // states_the_truncation`, and through the store `scale::junk_objects_in_a_miners_folder_\
    // leave_the_uploaded_report_bounded_and_counted`).
    let junk = key(6);
    let jp = format!(
        "data/hotkey={}/epoch={}/zipcode=19103/",
        junk.ss58(),
        common::EPOCH
    );
    for i in 0..2_000 {
        put(&store, format!("{jp}junk-{i:05}.bin"), vec![b'j'; 16]).await;
    }

    let db = Arc::new(Db::open(&dir.path().join("validator.sqlite")).unwrap());
    let cfg = ValidatorConfig {
        hotkey: key(100),
        pin: PolicyPin::from_release(&release()).unwrap(),
        ingest: IngestOptions {
            zipcode_budget: 2 << 20,
            ..IngestOptions::default()
        },
        concurrency: 4,
        verify_timeout: Duration::from_secs(30),
        upload: true,
    };
    let result = validate_epoch(
        &cfg,
        &store,
        db.clone(),
        Arc::new(TruthVerifier::new(&real)),
        &facts,
    )
    .await
    .expect("the epoch scores");
    let report = &result.report;
    let reasons = |k: &resi_core::Hotkey| -> String {
        report
            .rejected
            .iter()
            .filter(|r| r.hotkey == k.ss58())
            .map(|r| r.reason.clone())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(
        reasons(&bomber).contains("decodes to more than the cap"),
        "{}",
        reasons(&bomber)
    );
    for k in [&biggest, &bigger] {
        assert!(
            reasons(k).contains("over the zipcode's memory budget"),
            "{}: {}",
            k.ss58(),
            reasons(k)
        );
    }
    assert!(
        !reasons(&big).contains("memory budget"),
        "{}",
        reasons(&big)
    );
    assert!(reasons(&honest).is_empty(), "{}", reasons(&honest));
    assert_eq!(report.submissions, 2, "honest + the smallest large file");
    let top = &report.scores[0];
    assert_eq!(top.hotkey, honest.ss58(), "{:#?}", report.scores);
    assert!(top.ppb > 0);
    assert!(
        result.run.peak_memory() < resi_sandbox::policy::POLICY_MEMORY_BYTES / 4,
        "policy peak memory {}",
        result.run.peak_memory()
    );
    // Unparseable junk keys: a bounded number of entries, the rest counted.
    let junk_entries = report
        .rejected
        .iter()
        .filter(|r| r.hotkey.is_empty())
        .count();
    assert!(
        junk_entries <= resi_validator::report::MAX_REJECTIONS_PER_MINER,
        "{junk_entries}"
    );
    let omitted: usize = report.rejected_omitted.iter().map(|o| o.omitted).sum();
    assert_eq!(junk_entries + omitted, 2_000);
    // The report is signed by the validator.
    assert_eq!(
        report.verify_signature().expect("signed"),
        key(100).public()
    );
}

/// Finding 3 of the hardening review: agreement counted every folder under `validators/`, and
/// reports were unsigned. Now a report counts only when its folder is the canonical address of
/// a permitted validator, it names that validator and it carries that key's signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_and_unsigned_reports_are_not_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path().join("store")).unwrap();
    let facts = facts(&[("19103", 20, false, 0)]);
    let real = listings("19103", 0, 20);
    submit(&store, &key(1), "19103", &real).await;
    let db = Arc::new(Db::open(&dir.path().join("validator.sqlite")).unwrap());
    let cfg = ValidatorConfig {
        hotkey: key(100),
        pin: PolicyPin::from_release(&release()).unwrap(),
        ingest: IngestOptions::default(),
        concurrency: 4,
        verify_timeout: Duration::from_secs(30),
        upload: true,
    };
    let own = validate_epoch(
        &cfg,
        &store,
        db,
        Arc::new(TruthVerifier::new(&real)),
        &facts,
    )
    .await
    .unwrap()
    .report;
    own.verify_signature().expect("own report is signed");

    let other_hash = "ee".repeat(32);
    let publish = |folder: String, r: resi_validator::ValidationReport| {
        let store = store.clone();
        async move {
            let key = format!(
                "validators/{folder}/epoch={}/validation_report.json",
                common::EPOCH
            );
            store
                .put(&key, serde_json::to_vec(&r).unwrap())
                .await
                .unwrap();
        }
    };
    let forged = |signer: &resi_core::Hotkey, sign: bool| {
        let mut r = own.clone();
        r.outcome_hash = other_hash.clone();
        r.validator = signer.ss58();
        r.signature = None;
        if sign {
            r.sign(signer);
        }
        r
    };
    // Permitted validators 101..=103; 104 is registered without a permit.
    let peers = resi_validator::Peers::from_keys([100u8, 101, 102, 103].map(|n| key(n).public()));
    // 101: unsigned. 102: signed by 104 but claiming 102. 104: signed, no permit.
    publish(key(101).ss58(), forged(&key(101), false)).await;
    let mut claim = forged(&key(104), true);
    claim.validator = key(102).ss58();
    publish(key(102).ss58(), claim).await;
    publish(key(104).ss58(), forged(&key(104), true)).await;
    // Folders that are another spelling of a permitted validator's key, each holding a report
    // that validator really signed: padded with a leading space, padded with a trailing U+00A0
    // (percent-encoded, as it arrives in a URL), and SS58's two-byte prefix alias.
    let alias = two_byte_alias(103);
    let respelled = [
        format!(" {}", key(103).ss58()),
        format!("{}%C2%A0", key(103).ss58()),
        alias.clone(),
    ];
    for folder in &respelled {
        publish(folder.clone(), forged(&key(103), true)).await;
    }

    let a = resi_validator::agreement(&store, &own, &peers)
        .await
        .unwrap();
    assert_eq!(a.validators, 1, "only the own report counts: {a:#?}");
    assert!(a.set_weights, "{a:#?}");
    let why: Vec<&str> = a.ignored.iter().map(|(_, w)| w.as_str()).collect();
    assert!(why.iter().any(|w| w.contains("unsigned")), "{why:?}");
    assert!(why.iter().any(|w| w.contains("does not match")), "{why:?}");
    assert!(why.iter().any(|w| w.contains("permit")), "{why:?}");
    for folder in &respelled {
        let prefix = format!("validators/{folder}/");
        let ignored: Vec<&str> = a
            .ignored
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, w)| w.as_str())
            .collect();
        assert!(
            ignored.len() == 1 && ignored[0].contains("folder is not a validator hotkey"),
            "{folder:?}: {ignored:?} ({a:#?})"
        );
    }
    let why_alias = a
        .ignored
        .iter()
        .find(|(k, _)| k.starts_with(&format!("validators/{alias}/")))
        .map(|(_, w)| w.as_str())
        .unwrap_or_default();
    assert!(
        why_alias.contains("not in canonical form") && why_alias.contains(&key(103).ss58()),
        "{why_alias}"
    );

    // A real, signed report of a permitted validator does count (and disagrees here), once:
    // its other spellings beside it are still not further votes.
    publish(key(103).ss58(), forged(&key(103), true)).await;
    let a = resi_validator::agreement(&store, &own, &peers)
        .await
        .unwrap();
    assert_eq!(a.validators, 2, "{a:#?}");
    assert_eq!(a.outliers.len(), 1, "{a:#?}");
    assert!(
        a.outliers.iter().any(|(v, _, _)| *v == key(103).ss58()),
        "{a:#?}"
    );
}

/// The two-byte prefix spelling (`0x4a 0x80`, network 42) of `key(n)`'s address: a second SS58
/// address of one key, as `one_key_has_one_address` (resi_core) builds it. Computed once (the
/// checksum is blake2b-512, which this crate does not link) and checked against the decoder.
fn two_byte_alias(n: u8) -> String {
    let alias = match n {
        2 => "Zp1jwobbxoqYEHeXpRvJ89nmupDvv7M5xjvbp7oJE8RRMbUX9",
        103 => "Zp4EFz5jgHuxoVhASrbMhtA57N6iEYMw8GBervFMaYhrv6W4F",
        _ => panic!("no alias computed for key {n}"),
    };
    // The alias decodes to network 42 and to the very same key, and is not its canonical form.
    let (prefix, bytes) = resi_core::keys::ss58_decode_any(alias).unwrap();
    assert_eq!(prefix, resi_core::keys::SS58_PREFIX);
    assert_eq!(&bytes, key(n).public().as_bytes());
    assert!(
        matches!(
            resi_core::PublicKey::from_ss58(alias),
            Err(resi_core::keys::Ss58Error::NonCanonical { canonical, .. }) if canonical == key(n).ss58()
        ),
        "{alias}"
    );
    alias.to_string()
}

/// Finding 2 of the hardening review, at the validator: SS58's two-byte prefix form of network
/// 42 is a second spelling of one hotkey. A miner that re-signed its submissions under that
/// spelling took ranks 1 and 2 in every zipcode for one uid. Now the alias folder is not a
/// miner: every object under it is refused with a reason naming the folder's hotkey segment,
/// it takes no part in the policy's input, and the outcome (the honest miner's score with it)
/// is exactly the one of the same store without the alias folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_byte_ss58_alias_is_not_a_second_miner() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path().join("store")).unwrap();
    let zips = ["19103", "10001"];
    let facts = facts(&[("19103", 20, false, 0), ("10001", 20, false, 0)]);
    let real: Vec<_> = zips.iter().map(|z| listings(z, 0, 20)).collect();
    let (attacker, honest) = (key(2), key(1));
    let alias = two_byte_alias(2);

    // The attacker first under its own address, then the same listings re-signed under the
    // alias (the manifest names the alias, as the object key does), then the honest miner.
    for (z, l) in zips.iter().zip(&real) {
        submit(&store, &attacker, z, l).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut alias_keys = Vec::new();
    for (z, l) in zips.iter().zip(&real) {
        let parquet = write_listings(l).unwrap();
        let mut m = unsigned(&attacker, z, &parquet, l.len() as u64).sign(&attacker);
        m.hotkey = alias.clone();
        m.signature = attacker.sign(&m.canonical_bytes()).to_hex();
        let p = prefix(&alias, z);
        for (name, bytes) in [
            ("listings.parquet", parquet),
            ("manifest.json", m.to_json_bytes()),
        ] {
            put(&store, format!("{p}{name}"), bytes).await;
            alias_keys.push(format!("{p}{name}"));
        }
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    for (z, l) in zips.iter().zip(&real) {
        submit(&store, &honest, z, l).await;
    }

    let run = |hotkeys: Option<Vec<String>>, db: &str| {
        let store = store.clone();
        let verifier = Arc::new(TruthVerifier::new(&real.concat()));
        let db = Arc::new(Db::open(&dir.path().join(db)).unwrap());
        let facts = facts.clone();
        async move {
            let cfg = ValidatorConfig {
                hotkey: key(100),
                pin: PolicyPin::from_release(&release()).unwrap(),
                ingest: IngestOptions {
                    hotkeys,
                    ..IngestOptions::default()
                },
                concurrency: 4,
                verify_timeout: Duration::from_secs(30),
                upload: false,
            };
            validate_epoch(&cfg, &store, db, verifier, &facts)
                .await
                .expect("the epoch scores")
                .report
        }
    };
    // The validator as it runs (every folder under data/), and the same objects listed only
    // under the two canonical addresses: what the epoch is without the alias folder.
    let report = run(None, "all.sqlite").await;
    let without_alias = run(
        Some(vec![attacker.ss58(), honest.ss58()]),
        "canonical.sqlite",
    )
    .await;

    // Every alias object is refused, with a reason, and was not given to the policy.
    for k in &alias_keys {
        let r = report
            .rejected
            .iter()
            .find(|r| &r.key == k)
            .unwrap_or_else(|| panic!("{k} not refused: {:#?}", report.rejected));
        assert!(
            r.reason.contains("segment hotkey") && r.reason.contains(&alias),
            "{}",
            r.reason
        );
        assert!(!r.given_to_policy, "{r:?}");
        assert!(r.hotkey.is_empty(), "not attributed to any miner: {r:?}");
    }
    assert_eq!(
        report.rejected.len(),
        alias_keys.len(),
        "{:#?}",
        report.rejected
    );
    // Two miners, not three: the alias is nowhere in the outcome.
    assert_eq!(report.submissions, 4);
    assert!(!report.outcome.to_string().contains(&alias));
    let mut miners: Vec<&str> = report.scores.iter().map(|s| s.hotkey.as_str()).collect();
    miners.sort_unstable();
    let mut want = vec![attacker.ss58(), honest.ss58()];
    want.sort_unstable();
    assert_eq!(miners, want);
    // One rank per zipcode for the attacker's uid (rank 1, submitted first); the honest miner
    // keeps rank 2 and is paid exactly what it is paid without the alias folder.
    for z in resi_validator::report::winners(&report.outcome) {
        let rank = if z.1 == attacker.ss58() { 1 } else { 2 };
        assert_eq!(z.2, rank, "{z:?}");
    }
    assert_eq!(report.outcome_hash, without_alias.outcome_hash);
    assert_eq!(report.input_hash, without_alias.input_hash);
    let ppb = |r: &resi_validator::ValidationReport| {
        r.scores
            .iter()
            .find(|s| s.hotkey == honest.ss58())
            .map(|s| s.ppb)
    };
    assert!(ppb(&report).is_some_and(|p| p > 0), "{:#?}", report.scores);
    assert_eq!(ppb(&report), ppb(&without_alias));
}
