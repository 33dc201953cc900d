//! `resi validator score --coordinator URL`: the validator fetches the epoch's revealed facts
//! from the coordinator's validators-only `/epoch/{id}` (signed with its hotkey, checked here by a
//! stand-in coordinator on 127.0.0.1), scores the epoch from the store and prints its table.
//!
//! Fault (`killed`): `resi validator run --once` killed with SIGKILL in the middle of an epoch
//! and restarted on the same database and store (with the local chain unusable at weight time
//! until the kills are over) ends with the report, database rows and weights of an
//! uninterrupted validator, weights set once.

use resi_testkit::scraper::ScraperToml;
use sha2::{Digest, Sha256};
use std::process::Command;

const EPOCH: &str = "2025-10-01T16-00-00";

fn reveal() -> serde_json::Value {
    let seed = [9u8; 32];
    serde_json::json!({
        "success": true, "epochId": EPOCH, "nonce": "376ce532f42cf2a5",
        "epochStart": "2025-10-01T16:00:00.000Z", "epochEnd": "2025-10-01T20:00:00.000Z",
        "submissionDeadline": "2025-10-01T20:00:00.000Z",
        "zipcodes": [{"zipcode": "19103", "expectedListings": 250, "isHoneypot": false}],
        "metadata": {"validationSeedSha256": hex::encode(Sha256::digest(seed))},
        "validationSeed": hex::encode(seed),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn score_fetches_the_reveal_from_the_coordinator() {
    let url = resi_testkit::coordinator::serve_reveal(EPOCH, reveal()).await;
    let dir = tempfile::tempdir().unwrap();
    let wallets = dir.path().join("wallets");
    resi_testkit::wallet::test_wallet(
        &wallets,
        "validator",
        "default",
        "//Validator1",
        "//ValidatorCold",
    );
    ScraperToml::guest("market-scraper", "market")
        .wasm_file("verifier.wasm")
        .config("base_url", "http://127.0.0.1:9")
        .write_as(dir.path(), "verifier.toml");
    let root = resi_testkit::repo_root();
    let dirp = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_resi"))
            .current_dir(&root)
            .args([
                "validator",
                "score",
                "--epoch",
                EPOCH,
                "--coordinator",
                &url,
            ])
            .arg("--store")
            .arg(dirp.join("store"))
            .arg("--db")
            .arg(dirp.join("validator.sqlite"))
            .arg("--verifier")
            .arg(dirp.join("verifier.toml"))
            .args([
                "--wallet.path",
                wallets.to_str().unwrap(),
                "--wallet.name",
                "validator",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("epoch         {EPOCH}")),
        "{stdout}"
    );
    assert!(stdout.contains("outcome_hash"), "{stdout}");
}

// ---------------------------------------------------------------------------------------------
// Fault: `resi validator run --once` killed (SIGKILL) in the middle of an epoch, restarted on the
// same database and store; and the chain unusable at weight time.
// ---------------------------------------------------------------------------------------------

mod killed {
    use resi_chain::{LocalChain, SubnetParams};
    use resi_core::Hotkey;
    use resi_core::listing::Listing;
    use resi_store::Store;
    use resi_submission::{ScraperInfo, UnsignedManifest, write_listings};
    use resi_testkit::scraper::ScraperToml;
    use resi_validator::ValidationReport;
    use sha2::{Digest, Sha256};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    const EPOCH: &str = "2025-10-01T16-00-00";
    const NONCE: &str = "376ce532f42cf2a5";
    const ZIPCODES: u32 = 40;
    const LISTINGS: u32 = 120;
    /// Hang guard per validator process (not an assertion about speed).
    const RUN_LIMIT: Duration = Duration::from_secs(600);

    fn repo() -> PathBuf {
        resi_testkit::repo_root()
    }

    fn zipcodes() -> Vec<String> {
        (0..ZIPCODES)
            .map(|i| format!("{}", 10_001 + i * 7))
            .collect()
    }

    /// Listing `i` of `zip` exactly as the example scraper's `verify` reports it, so spot checks
    /// are deterministic (no clock, no network) and the input hash is reproducible.
    fn synthetic(zip: &str, i: u32) -> Listing {
        Listing {
            zpid: Some(format!("{zip}{i:05}")),
            mls_id: None,
            address: format!("{} Example St, Testville", 100 + i),
            zipcode: zip.into(),
            price: Some(250_000 + u64::from(i) * 1_000),
            bedrooms: Some(1 + i % 5),
            bathrooms: Some(f64::from(100 + (i % 3) * 50) / 100.0),
            sqft: Some(800 + i * 10),
            listing_date: "2025-09-01".into(),
            property_type: "SINGLE_FAMILY".into(),
            listing_status: "FOR_SALE".into(),
            days_on_market: Some(i % 90),
            source_url: format!("https://example.invalid/homedetails/{zip}{i:05}"),
            scraped_timestamp: "2025-10-01T16:05:00Z".into(),
        }
    }

    fn prefix(hk: &str, zip: &str) -> String {
        format!("data/hotkey={hk}/epoch={EPOCH}/zipcode={zip}/")
    }

    async fn submit(store: &Store, hk: &Hotkey, zip: &str, listings: &[Listing], manifest: bool) {
        let parquet = write_listings(listings).unwrap();
        let m = UnsignedManifest {
            epoch_id: EPOCH.into(),
            nonce: NONCE.into(),
            hotkey: hk.ss58(),
            zipcode: zip.into(),
            listing_count: listings.len() as u64,
            parquet_sha256: resi_submission::sha256_hex(&parquet),
            parquet_size: parquet.len() as u64,
            scraper: ScraperInfo {
                name: "example".into(),
                version: "0.1.0".into(),
                wasm_sha256: "00".repeat(32),
            },
            mining_start_time: "2025-10-01T16:00:00Z".into(),
            mining_end_time: "2025-10-01T17:00:00Z".into(),
        }
        .sign(hk);
        let p = prefix(&hk.ss58(), zip);
        store
            .put(&format!("{p}listings.parquet"), parquet)
            .await
            .unwrap();
        if manifest {
            store
                .put(&format!("{p}manifest.json"), m.to_json_bytes())
                .await
                .unwrap();
        }
    }

    /// One validator's command line.
    struct ValidatorCmd {
        wallets: PathBuf,
        name: &'static str,
        facts: PathBuf,
        store: PathBuf,
        db: PathBuf,
        verifier: PathBuf,
        log_dir: PathBuf,
        runs: std::cell::Cell<u32>,
    }

    impl ValidatorCmd {
        /// Spawns `resi validator run --once` against the local chain at `chain`; its stdout and
        /// stderr go to a log file of its own, returned with the child.
        fn spawn(&self, chain: &Path) -> (Child, PathBuf) {
            let n = self.runs.get() + 1;
            self.runs.set(n);
            let log = self.log_dir.join(format!("{}-{n}.log", self.name));
            let file = std::fs::File::create(&log).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_resi"))
                .current_dir(repo())
                .args(["validator", "run", "--once", "--epoch", EPOCH])
                .arg("--epoch-json")
                .arg(&self.facts)
                .arg("--store")
                .arg(&self.store)
                .arg("--db")
                .arg(&self.db)
                .arg("--verifier")
                .arg(&self.verifier)
                .arg("--policy")
                .arg(repo().join("policies/zipcode-competitive/1.0.0"))
                .arg("--chain.local")
                .arg(chain)
                .arg("--wallet.path")
                .arg(&self.wallets)
                .args(["--wallet.name", self.name, "--wallet.hotkey", "default"])
                .env_remove("BT_WALLET_PATH")
                .env_remove("BT_WALLET_NAME")
                .env_remove("BT_WALLET_HOTKEY")
                .env_remove("RESI_COORDINATOR")
                .env("RUST_LOG", "info,resi_validator=debug")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .spawn()
                .expect("spawn resi validator run");
            (child, log)
        }
    }

    /// What the validator database holds right now (None before it exists or has its tables).
    #[derive(Debug, Clone, Default, PartialEq)]
    struct DbSnap {
        observations: i64,
        rejections: i64,
        outcome_at: Option<i64>,
        weights: i64,
    }

    fn db_snap(path: &Path) -> Option<DbSnap> {
        if !path.exists() {
            return None;
        }
        let conn = rusqlite::Connection::open(path).ok()?;
        conn.busy_timeout(Duration::from_secs(5)).ok()?;
        let count = |sql: &str| -> Option<i64> { conn.query_row(sql, [], |r| r.get(0)).ok() };
        Some(DbSnap {
            observations: count("SELECT COUNT(*) FROM observations")?,
            rejections: count("SELECT COUNT(*) FROM rejections")?,
            outcome_at: count("SELECT created_at FROM outcomes"),
            weights: count("SELECT COUNT(*) FROM weights")?,
        })
    }

    /// When to `kill -9` one validator process; relative to what the process itself did.
    #[derive(Debug, Clone, Copy)]
    enum Kill {
        /// This long after spawning (start-up: wallet, policy and verifier compilation).
        AfterStartMs(u64),
        /// Once this process scored at least this many zipcodes (its debug log says so).
        Scored(usize),
        /// Once this process cached at least one more spot-check observation than there were
        /// when it started, and at least `n` are cached.
        Observed(i64),
        /// Once this process read every zipcode (rejections recorded; the outcome not yet or
        /// just now).
        Ingested,
        /// Once this process recorded the outcome (uploads, agreement and weights follow).
        Outcome,
        /// SIGTERM (not SIGKILL) once this process scored at least this many zipcodes: it
        /// must exit by itself, successfully, saying the epoch was left unfinished.
        Term(usize),
    }

    impl Kill {
        fn due(self, started: Instant, log: &str, base: &DbSnap, now: &DbSnap) -> bool {
            match self {
                Kill::AfterStartMs(ms) => started.elapsed() >= Duration::from_millis(ms),
                Kill::Scored(n) => log.matches("scored zipcode").count() >= n.max(1),
                Kill::Observed(n) => now.observations > base.observations && now.observations >= n,
                Kill::Ingested => log.contains("ingested submissions"),
                Kill::Outcome => now.outcome_at.is_some() && now.outcome_at != base.outcome_at,
                Kill::Term(n) => log.matches("scored zipcode").count() >= n.max(1),
            }
        }
    }

    /// Runs one validator process until `kill` is due (then SIGKILL) or it exits; returns its
    /// exit status (None when killed), its log and a line for the report.
    async fn run_until(
        cmd: &ValidatorCmd,
        chain: &Path,
        kill: Option<Kill>,
    ) -> (Option<std::process::ExitStatus>, String, String) {
        let base = db_snap(&cmd.db).unwrap_or_default();
        let started = Instant::now();
        let (mut child, log) = cmd.spawn(chain);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(status) = child.try_wait().expect("try_wait") {
                let line = format!(
                    "exited by itself ({status}) after {} ms before {kill:?}: {:?}",
                    started.elapsed().as_millis(),
                    db_snap(&cmd.db)
                );
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                return (Some(status), text, line);
            }
            if started.elapsed() > RUN_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("validator still running after {RUN_LIMIT:?} (hang guard)\n{text}");
            }
            let now = db_snap(&cmd.db).unwrap_or_default();
            if let Some(k) = kill
                && k.due(started, &text, &base, &now)
            {
                if let Kill::Term(_) = k {
                    let sent = Command::new("kill")
                        .args(["-TERM", &child.id().to_string()])
                        .status()
                        .expect("run kill");
                    assert!(sent.success(), "kill -TERM: {sent}");
                    let signalled = Instant::now();
                    let status = loop {
                        if let Some(status) = child.try_wait().expect("try_wait") {
                            break status;
                        }
                        if signalled.elapsed() > Duration::from_secs(60) {
                            let _ = child.kill();
                            panic!("validator did not stop within 60 s of SIGTERM\n{text}");
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    };
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    let line = format!(
                        "terminated ({k:?}) after {} ms, stopped {} ms after SIGTERM ({status}), {} zipcodes scored: {:?}",
                        started.elapsed().as_millis(),
                        signalled.elapsed().as_millis(),
                        text.matches("scored zipcode").count(),
                        db_snap(&cmd.db)
                    );
                    return (Some(status), text, line);
                }
                child.kill().expect("kill -9");
                child.wait().expect("wait");
                let line = format!(
                    "killed ({k:?}) after {} ms, {} zipcodes scored: {:?}",
                    started.elapsed().as_millis(),
                    text.matches("scored zipcode").count(),
                    db_snap(&cmd.db)
                );
                return (None, text, line);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn report_of(store: &Path, hk: &str) -> Option<ValidationReport> {
        let path = store
            .join(format!("validators/{hk}/epoch={EPOCH}"))
            .join("validation_report.json");
        let bytes = std::fs::read(path).ok()?;
        Some(serde_json::from_slice(&bytes).expect("report parses"))
    }

    fn validated_data(store: &Path, hk: &str) -> Vec<u8> {
        std::fs::read(
            store
                .join(format!("validators/{hk}/epoch={EPOCH}"))
                .join("validated_data.parquet"),
        )
        .expect("validated_data.parquet")
    }

    /// Every table of a validator database, sorted, after an integrity check.
    fn db_dump(path: &Path) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
        let conn = rusqlite::Connection::open(path).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{}", path.display());
        let rows = |sql: &str| -> Vec<String> {
            let mut st = conn.prepare(sql).unwrap();
            let mut v: Vec<String> = st
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            v.sort();
            v
        };
        (
            rows(
                "SELECT epoch_id || ' ' || hotkey || ' ' || zipcode || ' ' || object_key || ' ' || reason || ' ' || given_to_policy FROM rejections",
            ),
            rows("SELECT target || ' ' || seen FROM observations"),
            rows(
                "SELECT epoch_id || ' ' || outcome_hash || ' ' || input_hash || ' ' || wasm_sha256 || ' ' || params_sha256 || ' ' || canonical_outcome FROM outcomes",
            ),
            rows("SELECT epoch_id || ' ' || uids || ' ' || weights FROM weights"),
        )
    }

    /// `resi validator run --once` is killed with SIGKILL at several points of an epoch (start-up,
    /// after some zipcodes are scored and spot checks cached, once every zipcode is read, once
    /// the outcome is recorded) and restarted on the same database and store, first with the
    /// local chain unusable (a directory where its file should be: the run that gets that far
    /// scores, publishes and then fails at weight time with an error naming the chain), then
    /// with the chain back. Its report equals an uninterrupted validator's (outcome hash, input
    /// hash, scores, rejections; the same validated_data.parquet bytes), its database passes the
    /// integrity check and holds the same rows as the uninterrupted one (one outcome, the same
    /// rejections and spot-check observations, one weights row), and the chain holds exactly one
    /// weights call from each, equal; a further run sets nothing again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn killed_validator_resumes_to_the_report_of_an_uninterrupted_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let store_dir = dir.join("store");
        let store = Store::local(&store_dir).unwrap();
        let zips = zipcodes();

        // Miners: three honest (the same listings, one after another), a fabricator (right ids,
        // invented homes) and a miner whose manifests are missing (rejected).
        let honest: Vec<Hotkey> = (1..=3u8).map(|n| Hotkey::from_seed(&[n; 32])).collect();
        let fabricator = Hotkey::from_seed(&[9; 32]);
        let careless = Hotkey::from_seed(&[10; 32]);
        for hk in &honest {
            for zip in &zips {
                let l: Vec<Listing> = (0..LISTINGS).map(|i| synthetic(zip, i)).collect();
                submit(&store, hk, zip, &l, true).await;
            }
        }
        for zip in &zips {
            let invented: Vec<Listing> = (0..LISTINGS)
                .map(|i| Listing {
                    address: format!("{} Invented Ave, Nowhere", 7 + i),
                    price: Some(999_000 + u64::from(i)),
                    ..synthetic(zip, i)
                })
                .collect();
            submit(&store, &fabricator, zip, &invented, true).await;
        }
        for zip in zips.iter().take(5) {
            let l: Vec<Listing> = (0..LISTINGS).map(|i| synthetic(zip, i)).collect();
            submit(&store, &careless, zip, &l, false).await;
        }

        // The epoch as the coordinator reveals it (deadline ahead: every submission is on time).
        let seed = [5u8; 32];
        let deadline = (chrono::Utc::now() + chrono::Duration::hours(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let facts = serde_json::json!({
            "success": true, "epochId": EPOCH, "nonce": NONCE,
            "epochStart": "2025-10-01T16:00:00.000Z", "epochEnd": deadline,
            "submissionDeadline": deadline,
            "zipcodes": zips.iter().map(|z| serde_json::json!({
                "zipcode": z, "expectedListings": LISTINGS, "isHoneypot": false,
            })).collect::<Vec<_>>(),
            "metadata": {"validationSeedSha256": hex::encode(Sha256::digest(seed))},
            "validationSeed": hex::encode(seed),
        });
        let facts_path = dir.join("epoch.json");
        std::fs::write(&facts_path, serde_json::to_vec(&facts).unwrap()).unwrap();

        // The example scraper as verifier: deterministic answers, no network.
        let verifier = ScraperToml::guest("example-scraper", "example")
            .wasm_file("verifier.wasm")
            .write_as(dir, "verifier.toml");

        // Wallets and the local chain: the miners and both validators registered.
        let wallets = dir.join("wallets");
        let mut validator_keys = Vec::new();
        for (name, uri) in [("reference", "//Validator1"), ("crash", "//Validator2")] {
            validator_keys.push(resi_testkit::wallet::test_wallet(
                &wallets,
                name,
                "default",
                uri,
                "//ValidatorCold",
            ));
        }
        let chain_path = dir.join("chain.sqlite");
        let chain = LocalChain::open(&chain_path).unwrap();
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
        for hk in honest.iter().chain([&fabricator, &careless]) {
            chain.register(46, &hk.public(), false).unwrap();
        }
        for v in &validator_keys {
            chain.register(46, &v.public(), true).unwrap();
        }
        let uid_of = |hk: &Hotkey| chain.uid_of_now(46, &hk.public()).unwrap().unwrap();
        let calls_by = |hk: &Hotkey| {
            chain
                .weights_history(46)
                .unwrap()
                .into_iter()
                .filter(|w| w.uid == uid_of(hk))
                .collect::<Vec<_>>()
        };

        let cmd = |name: &'static str| ValidatorCmd {
            wallets: wallets.clone(),
            name,
            facts: facts_path.clone(),
            store: store_dir.clone(),
            db: dir.join(format!("{name}.sqlite")),
            verifier: verifier.clone(),
            log_dir: dir.to_path_buf(),
            runs: Default::default(),
        };
        let (reference, crash) = (cmd("reference"), cmd("crash"));
        let (ref_hk, crash_hk) = (validator_keys[0].ss58(), validator_keys[1].ss58());

        // The reference: one uninterrupted run.
        let t = Instant::now();
        let (status, log, line) = run_until(&reference, &chain_path, None).await;
        println!("reference run: {line}");
        assert!(status.is_some_and(|s| s.success()), "{log}");
        let want = report_of(&store_dir, &ref_hk).expect("reference report");
        let scored = log.matches("scored zipcode").count();
        assert_eq!(scored, zips.len(), "{log}");
        assert!(want.scores.iter().any(|s| s.ppb > 0), "{:#?}", want.scores);
        assert!(!want.rejected.is_empty());
        let ref_db = db_dump(&reference.db);
        let observations = ref_db.1.len() as i64;
        println!(
            "reference: {} ms, {} zipcodes, {observations} observations, {} rejections",
            t.elapsed().as_millis(),
            scored,
            ref_db.0.len()
        );

        // The crashing validator: killed at several points, restarted on the same database and
        // store, with the chain unusable until every kill is done.
        let chain_down = dir.join("chain-down");
        std::fs::create_dir_all(&chain_down).unwrap();
        let kills = [
            Kill::AfterStartMs(200),
            Kill::Scored(scored / 4),
            Kill::Observed(observations / 3),
            Kill::Scored(scored / 2),
            Kill::Term(scored * 3 / 5),
            Kill::Observed(observations * 2 / 3),
            Kill::Scored(scored * 3 / 4),
            Kill::Ingested,
            Kill::Outcome,
        ];
        let mut report = Vec::new();
        let mut chain_failure = None;
        for k in kills {
            let (status, log, line) = run_until(&crash, &chain_down, Some(k)).await;
            println!("crash run {}: {line}", report.len() + 1);
            report.push(line);
            if let (Kill::Term(_), Some(status)) = (k, status) {
                // Stopped mid-epoch by SIGTERM: a clean exit that says what was left, and
                // nothing published for the epoch.
                assert!(status.success(), "{log}");
                assert!(
                    log.contains("validator stopped (SIGTERM received): epoch")
                        && log.contains("left unfinished"),
                    "{log}"
                );
                assert!(
                    report_of(&store_dir, &crash_hk).is_none(),
                    "published mid-epoch"
                );
                continue;
            }
            if let Some(status) = status {
                chain_failure = Some((status, log));
                break;
            }
        }
        let mut restarts = 0;
        while chain_failure.is_none() {
            restarts += 1;
            assert!(restarts <= 2, "the validator does not get to weight time");
            let (status, log, line) = run_until(&crash, &chain_down, None).await;
            println!("crash run {} (no kill): {line}", report.len() + 1);
            report.push(line);
            chain_failure = status.map(|s| (s, log));
        }
        let killed = report.iter().filter(|l| l.starts_with("killed")).count();
        let terminated = report
            .iter()
            .filter(|l| l.starts_with("terminated"))
            .count();
        println!("{killed} kills, {terminated} SIGTERM");
        assert_eq!(terminated, 1, "the SIGTERM step did not run: {report:#?}");

        // At weight time the chain is unusable: a clear error, nothing stored lost, no weights.
        let (status, log) = chain_failure.unwrap();
        assert!(!status.success(), "{log}");
        assert!(
            log.contains("error:") && log.contains(&chain_down.display().to_string()),
            "the error names the chain: {log}"
        );
        let got = report_of(&store_dir, &crash_hk).expect("report published before weights");
        assert_eq!(
            (&got.outcome_hash, &got.input_hash),
            (&want.outcome_hash, &want.input_hash)
        );
        let snap = db_snap(&crash.db).unwrap();
        assert!(snap.outcome_at.is_some() && snap.weights == 0, "{snap:?}");
        assert!(calls_by(&validator_keys[1]).is_empty());

        // The chain is back: the next run sets weights, once; one more run sets nothing.
        for round in 0..2 {
            let (status, log, line) = run_until(&crash, &chain_path, None).await;
            println!("crash run with the chain (round {round}): {line}");
            assert!(status.is_some_and(|s| s.success()), "{log}");
            assert!(log.contains("weights set"), "{log}");
            assert_eq!(calls_by(&validator_keys[1]).len(), 1, "round {round}");
        }

        // The same report as the uninterrupted validator's.
        let got = report_of(&store_dir, &crash_hk).expect("crash report");
        assert_eq!(
            got.verify_signature().expect("signed"),
            validator_keys[1].public()
        );
        assert_eq!(got.outcome_hash, want.outcome_hash);
        assert_eq!(got.input_hash, want.input_hash);
        assert_eq!(got.scores, want.scores);
        assert_eq!(got.outcome, want.outcome);
        assert_eq!(got.rejected, want.rejected);
        assert_eq!(got.submissions, want.submissions);
        assert_eq!(got.spot_checks, want.spot_checks);
        assert_eq!(
            validated_data(&store_dir, &crash_hk),
            validated_data(&store_dir, &ref_hk)
        );

        // Its database: intact, the same rows as the uninterrupted one, no duplicates.
        let crash_db = db_dump(&crash.db);
        assert_eq!(crash_db.0, ref_db.0, "rejections");
        assert_eq!(crash_db.1.len(), ref_db.1.len(), "observations");
        assert_eq!(crash_db.1, ref_db.1, "observations");
        assert_eq!(crash_db.2.len(), 1, "one outcome");
        assert_eq!(crash_db.2, ref_db.2, "outcome");
        assert_eq!(crash_db.3.len(), 1, "one weights row: {:?}", crash_db.3);
        assert_eq!(crash_db.3, ref_db.3, "weights");

        // On the chain: one call from each validator, with the same weights.
        let (r, c) = (calls_by(&validator_keys[0]), calls_by(&validator_keys[1]));
        assert_eq!((r.len(), c.len()), (1, 1));
        assert_eq!((&c[0].uids, &c[0].weights), (&r[0].uids, &r[0].weights));
    }
}
