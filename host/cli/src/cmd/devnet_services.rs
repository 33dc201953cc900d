//! `resi devnet --services`: the whole subnet as services in one process, over real short
//! epochs on the wall clock.
//!
//! Runs, as tokio tasks: the embedded local chain (SQLite in the data dir; miners and
//! validators registered with TEST ONLY `//MinerN` / `//ValidatorN` keys, also written as
//! wallets under the data dir), the synthetic market, the object store (a local directory),
//! the real coordinator (epoch length `--epoch-secs`, small targets, scaled rate limits), N
//! `resi_miner::Miner`s (staggered a few seconds apart each epoch, so their ranks differ) and M
//! validators that, after each deadline, fetch the revealed epoch from the coordinator,
//! validate it with the released policy and the market scraper as verifier, compare outcome
//! hashes and set weights on the local chain. After each epoch it prints a table and writes
//! everything as JSON to `devnet-report.json` in the data dir.

use anyhow::{Context, bail};
use resi_chain::{LocalChain, SubnetParams};
use resi_client::{ApiClient, ClientConfig};
use resi_coordinator::zipcodes::ZipTable;
use resi_coordinator::{CoordinatorConfig, FnCounts, RateLimits, StoreConfig};
use resi_core::epoch::{Epoch, EpochSchedule};
use resi_core::keys::Hotkey;
use resi_core::wallet::{KeySource, WalletLocation, write_test_hotkey_wallet};
use resi_market::{Market, MarketConfig, serve_market};
use resi_miner::{Miner, MinerConfig};
use resi_sandbox::scraper::{ScraperEngine, ScraperEngineOptions};
use resi_scraper::{ManifestHost, MemorySink, ScraperManifest};
use resi_store::Store;
use resi_validator::db::Db;
use resi_validator::validate::set_weights;
use resi_validator::{
    ComponentVerifier, EpochFacts, IngestOptions, PolicyPin, ValidationReport, ValidatorConfig,
    agreement, validate_epoch,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

const NETUID: u16 = 46;

/// Options of `--services` mode (flattened into `DevnetArgs`).
#[derive(Debug, Clone, clap::Args)]
pub struct ServicesArgs {
    /// Run the full composition (chain, market, store, coordinator, miners, validators) over
    /// real short epochs instead of the single-process epoch.
    #[arg(long)]
    pub services: bool,
    /// `--services`: number of epochs to run.
    #[arg(long, default_value_t = 2)]
    pub epochs: u32,
    /// `--services`: epoch length in seconds.
    #[arg(long = "epoch-secs", default_value_t = 60)]
    pub epoch_secs: u32,
    /// `--services`: number of validators.
    #[arg(long, default_value_t = 2)]
    pub validators: u32,
    /// `--services`: data directory (chain, coordinator, store, wallets, report); must be empty
    /// or absent. Default: a temporary directory.
    #[arg(long = "data-dir")]
    pub data_dir: Option<PathBuf>,
    /// `--services`: keep the data directory at the end (a given `--data-dir` is always kept).
    #[arg(long)]
    pub keep: bool,
}

/// What `run` needs from the devnet options.
pub struct Inputs {
    /// Guests directory (market-scraper.wasm).
    pub guests: PathBuf,
    /// Released policy directory.
    pub policy: PathBuf,
    /// Zipcode table.
    pub zipcodes: PathBuf,
    /// Number of miners.
    pub miners: u32,
    /// Market seed.
    pub seed: u64,
    /// The `--services` options.
    pub services: ServicesArgs,
}

/// Runs `resi devnet --services`.
pub fn run(inputs: Inputs) -> anyhow::Result<ExitCode> {
    let s = &inputs.services;
    if s.epochs == 0 || s.validators == 0 || inputs.miners == 0 {
        bail!("--epochs, --validators and --miners must be at least 1");
    }
    if s.epoch_secs < 20 {
        bail!("--epoch-secs must be at least 20");
    }
    // The data dir: given (kept) or a temporary one (removed unless --keep).
    let (tmp, dir) = match &s.data_dir {
        Some(d) => {
            if d.exists() && std::fs::read_dir(d)?.next().is_some() {
                bail!("--data-dir {} is not empty", d.display());
            }
            std::fs::create_dir_all(d)?;
            (None, d.clone())
        }
        None => {
            let t = tempfile::Builder::new().prefix("resi-devnet-").tempdir()?;
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let keep = s.keep || s.data_dir.is_some();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run_services(&inputs, &dir));
    drop(runtime);
    if keep {
        if let Some(t) = tmp {
            let _ = t.keep();
        }
        println!("data dir kept at {}", dir.display());
    }
    result.map(|()| ExitCode::SUCCESS)
}

/// A scraper.toml for the market scraper allowlisting `base_url`, next to a copy of the wasm.
fn scraper_toml(dir: &Path, guests: &Path, base_url: &str) -> anyhow::Result<PathBuf> {
    let wasm = guests.join("market-scraper.wasm");
    let bytes = std::fs::read(&wasm).with_context(|| {
        format!(
            "reading {} (build the guests: cargo xtask guests)",
            wasm.display()
        )
    })?;
    let sha = hex::encode(resi_policy::hash::sha256(&bytes));
    std::fs::write(dir.join("market-scraper.wasm"), &bytes)?;
    let path = dir.join("scraper.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"market\"\nversion = \"0.1.0\"\nwasm = \"market-scraper.wasm\"\nsha256 = \"{sha}\"\n\
             [network]\nallow = [\"{base_url}\"]\nrequests_per_second = 1000\nburst = 1000\n\
             [limits]\ntimeout_s = 120\nmax_listings = 5000\n[config]\nbase_url = \"{base_url}\"\n"
        ),
    )?;
    Ok(path)
}

fn client(url: &str, key: &Hotkey) -> anyhow::Result<ApiClient> {
    Ok(ApiClient::new(
        ClientConfig::new(url.to_string()),
        Some(key.clone()),
    )?)
}

/// The epoch to mine next: the current one if at least half of it is left, else the next.
fn pick_epoch(schedule: &EpochSchedule) -> anyhow::Result<Epoch> {
    let now = resi_core::auth::now_unix();
    let cur = schedule.current(now)?;
    let left = cur.end.timestamp() - now;
    if left * 2 >= i64::from(schedule.length_secs()) {
        Ok(cur)
    } else {
        Ok(schedule.next(now)?)
    }
}

async fn sleep_until_unix(t: i64) {
    let now = resi_core::auth::now_unix();
    if t > now {
        tokio::time::sleep(Duration::from_secs(u64::try_from(t - now).unwrap_or(0))).await;
    }
}

struct MinerResult {
    uploaded: Vec<(String, u64)>,
    failed: Vec<(String, String)>,
    status: Option<String>,
    error: Option<String>,
}

async fn run_services(inputs: &Inputs, dir: &Path) -> anyhow::Result<()> {
    let s = &inputs.services;
    println!(
        "devnet --services: {} miners, {} validators, {} epochs of {} s; data dir {}",
        inputs.miners,
        s.validators,
        s.epochs,
        s.epoch_secs,
        dir.display()
    );

    // Chain with TEST ONLY keys, also written as wallets under the data dir.
    let chain_path = dir.join("chain.sqlite");
    let chain = LocalChain::open_with_block_time(&chain_path, 0).context("local chain")?;
    chain.set_subnet(
        NETUID,
        &SubnetParams {
            weights_set_rate_limit: 0,
            commit_reveal_enabled: false,
            ..SubnetParams::default()
        },
    )?;
    let owner = Hotkey::from_uri("//Owner")?;
    let coldkey = owner.ss58();
    let wallets = dir.join("wallets");
    let write_wallet = |uri: &str, name: &str| -> anyhow::Result<Hotkey> {
        let loc = WalletLocation::new(&wallets.to_string_lossy(), "devnet", name)?;
        let w = write_test_hotkey_wallet(&loc, &KeySource::Uri(uri.into()), &owner.public(), true)?;
        Ok(w.hotkey)
    };
    let mut miners = Vec::new();
    for n in 1..=inputs.miners {
        let k = write_wallet(&format!("//Miner{n}"), &format!("miner{n}"))?;
        chain.register(NETUID, &k.public(), false)?;
        miners.push(k);
    }
    let mut validators = Vec::new();
    for n in 1..=s.validators {
        let k = write_wallet(&format!("//Validator{n}"), &format!("validator{n}"))?;
        chain.register(NETUID, &k.public(), true)?;
        validators.push(k);
    }
    let uid = |k: &Hotkey| chain.uid_of_now(NETUID, &k.public()).ok().flatten();

    // Market.
    let market = Arc::new(
        Market::new(MarketConfig {
            seed: inputs.seed,
            zipcodes_path: inputs.zipcodes.clone(),
            min_listings: 200,
            max_listings: 400,
            ..MarketConfig::default()
        })
        .context("market")?,
    );
    let market_srv = serve_market(market.clone(), "127.0.0.1:0".parse()?)
        .await
        .context("serving the market")?;

    // Coordinator with real short epochs, over the local store.
    let objects = dir.join("objects");
    std::fs::create_dir_all(&objects)?;
    let mut cfg = CoordinatorConfig::new(dir.join("coordinator"));
    cfg.listen = "127.0.0.1:0".parse()?;
    cfg.epoch_length_secs = s.epoch_secs;
    cfg.netuid = NETUID;
    cfg.miner_upload_min_bytes = 16;
    cfg.registry_ttl = Duration::ZERO;
    cfg.cooldown_hours = 0;
    cfg.rate_limits = RateLimits::default().scaled(100);
    cfg.store = StoreConfig::Local(objects.clone());
    cfg.selection.target_listings = 1_000;
    let table = Arc::new(ZipTable::load(&inputs.zipcodes).context("zipcode table")?);
    let m = market.clone();
    let counts = FnCounts::new(move |z| Some(m.count(z)));
    let coord =
        resi_coordinator::serve(cfg, table, Arc::new(counts), LocalChain::open(&chain_path)?)
            .await
            .context("starting the coordinator")?;
    let url = coord.url();
    let store = Store::local(&objects)?;
    let manifest_path = scraper_toml(dir, &inputs.guests, &market_srv.base_url())?;
    println!(
        "market {}  coordinator {}  store {}",
        market_srv.base_url(),
        url,
        objects.display()
    );

    // Validators' verifier, policy and databases.
    let loaded = ScraperManifest::load(&manifest_path).context("scraper manifest")?;
    let engine = ScraperEngine::<ManifestHost<MemorySink>>::new(ScraperEngineOptions::default())?;
    let scraper = engine
        .load(&loaded.wasm)?
        .with_limits(loaded.manifest.sandbox_limits(engine.limits()));
    let verifier = Arc::new(ComponentVerifier::new(
        scraper,
        loaded.manifest,
        loaded.secrets,
    ));
    let pin = PolicyPin::from_release(&inputs.policy)
        .with_context(|| format!("policy {}", inputs.policy.display()))?;
    let mut dbs = Vec::new();
    for i in 1..=validators.len() {
        dbs.push(Arc::new(Db::open(
            &dir.join(format!("validator{i}.sqlite")),
        )?));
    }

    let schedule = EpochSchedule::new(s.epoch_secs)?;
    let stagger = i64::from((s.epoch_secs / 10 / inputs.miners).clamp(1, 3));
    let mut epochs_json = Vec::new();
    let mut failure: Option<String> = None;
    for k in 0..s.epochs {
        let epoch = pick_epoch(&schedule)?;
        let start = epoch.start().timestamp();
        let deadline = epoch.end.timestamp();
        println!(
            "\n== epoch {}/{}: {} (deadline {})",
            k + 1,
            s.epochs,
            epoch.id,
            epoch.end
        );

        // Miners, staggered; each gives up at the deadline.
        let mut tasks = Vec::new();
        for (i, hk) in miners.iter().enumerate() {
            let (hk, url, coldkey, mp) = (
                hk.clone(),
                url.clone(),
                coldkey.clone(),
                manifest_path.clone(),
            );
            let data = dir.join(format!("miner{}", i + 1));
            let begin = start + 1 + stagger * i as i64;
            tasks.push(tokio::spawn(async move {
                sleep_until_unix(begin).await;
                let work = async {
                    let loaded = ScraperManifest::load(&mp)?;
                    let mut mcfg = MinerConfig::new(data, coldkey);
                    mcfg.once = true;
                    mcfg.concurrency = 2;
                    mcfg.progress = false;
                    mcfg.max_backoff = Duration::from_secs(2);
                    let miner = Miner::new(client(&url, &hk)?, hk.clone(), loaded, mcfg)?;
                    anyhow::Ok(miner.run().await?)
                };
                let left = u64::try_from(deadline - resi_core::auth::now_unix()).unwrap_or(0);
                match tokio::time::timeout(Duration::from_secs(left), work).await {
                    Ok(Ok(summaries)) => {
                        let last = summaries.into_iter().last();
                        MinerResult {
                            uploaded: last
                                .as_ref()
                                .map(|s| s.uploaded.clone())
                                .unwrap_or_default(),
                            failed: last.as_ref().map(|s| s.failed.clone()).unwrap_or_default(),
                            status: last.and_then(|s| s.final_status),
                            error: None,
                        }
                    }
                    Ok(Err(e)) => MinerResult {
                        uploaded: vec![],
                        failed: vec![],
                        status: None,
                        error: Some(format!("{e:#}")),
                    },
                    Err(_) => MinerResult {
                        uploaded: vec![],
                        failed: vec![],
                        status: None,
                        error: Some("did not finish before the deadline".into()),
                    },
                }
            }));
        }
        let mut mined = Vec::new();
        for t in tasks {
            mined.push(t.await?);
        }

        // After the deadline: every validator fetches the reveal and validates.
        sleep_until_unix(deadline + 1).await;
        let mut vtasks = Vec::new();
        for (i, v) in validators.iter().enumerate() {
            let (v, url, store, db, verifier, pin, id) = (
                v.clone(),
                url.clone(),
                store.clone(),
                dbs[i].clone(),
                verifier.clone(),
                pin.clone(),
                epoch.id,
            );
            vtasks.push(tokio::spawn(async move {
                let c = client(&url, &v)?;
                let mut tries = 0;
                let raw = loop {
                    match c.epoch_reveal(&id).await {
                        Ok(r) if r.get("validationSeed").is_some() => break r,
                        Ok(_) | Err(_) if tries < 20 => {
                            tries += 1;
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                        Ok(r) => bail!("epoch {id} not revealed: {r}"),
                        Err(e) => bail!("fetching epoch {id}: {e}"),
                    }
                };
                let facts = EpochFacts::from_json(&raw)?;
                let vcfg = ValidatorConfig {
                    hotkey: v,
                    pin,
                    ingest: IngestOptions::default(),
                    concurrency: 4,
                    verify_timeout: Duration::from_secs(30),
                    upload: true,
                };
                let r = validate_epoch(&vcfg, &store, db, verifier, &facts).await?;
                anyhow::Ok(r.report)
            }));
        }
        let mut reports: Vec<ValidationReport> = Vec::new();
        for t in vtasks {
            reports.push(t.await??);
        }
        // Agreement and weights, once every report is in the store.
        let mut vjson = Vec::new();
        let mut vrows = Vec::new();
        for (i, v) in validators.iter().enumerate() {
            let r = &reports[i];
            let a = agreement(&store, r).await?;
            let set = set_weights(&chain, NETUID, v, &dbs[i], r, &a, None).await?;
            let weights = set
                .as_ref()
                .map(|(w, tx)| json!({"uids": w.uids, "weights": w.weights, "tx": tx}));
            vrows.push(format!(
                "{:<12} {:<64}  {}/{} {:?}  {}",
                format!("validator{}", i + 1),
                r.outcome_hash,
                a.agreeing,
                a.validators,
                a.level,
                if set.is_some() {
                    "weights set"
                } else {
                    "abstained"
                }
            ));
            vjson.push(json!({
                "validator": format!("validator{}", i + 1),
                "hotkey": v.ss58(),
                "uid": uid(v),
                "outcome_hash": r.outcome_hash,
                "input_hash": r.input_hash,
                "agreement": a,
                "weights": weights,
            }));
        }

        // The table.
        let scores = &reports[0].scores;
        let mut mjson = Vec::new();
        println!(
            "{:<8} {:>4} {:>4} {:>12}  {:<9} {:<40} flags",
            "miner", "uid", "rank", "ppb", "status", "zipcodes (listings)"
        );
        for (i, (hk, m)) in miners.iter().zip(&mined).enumerate() {
            let sc = scores.iter().find(|x| x.hotkey == hk.ss58());
            let zips: Vec<String> = m
                .uploaded
                .iter()
                .map(|(z, n)| format!("{z}({n})"))
                .collect();
            let listings: u64 = m.uploaded.iter().map(|(_, n)| n).sum();
            println!(
                "{:<8} {:>4} {:>4} {:>12}  {:<9} {:<40} {}{}",
                format!("miner{}", i + 1),
                uid(hk).map(|u| u.to_string()).unwrap_or_default(),
                sc.map(|x| x.rank.to_string()).unwrap_or("-".into()),
                sc.map(|x| x.ppb).unwrap_or(0),
                m.status.as_deref().unwrap_or("-"),
                format!("{} = {listings}", zips.join(" ")),
                sc.map(|x| x.flags.join(",")).unwrap_or_default(),
                m.error
                    .as_deref()
                    .map(|e| format!(" error: {e}"))
                    .unwrap_or_default(),
            );
            mjson.push(json!({
                "miner": format!("miner{}", i + 1),
                "hotkey": hk.ss58(),
                "uid": uid(hk),
                "uploaded": m.uploaded,
                "failed": m.failed,
                "listings": listings,
                "final_status": m.status,
                "error": m.error,
                "rank": sc.map(|x| x.rank),
                "ppb": sc.map(|x| x.ppb).unwrap_or(0),
                "flags": sc.map(|x| x.flags.clone()).unwrap_or_default(),
            }));
        }
        println!("\n{:<12} {:<64}  agreement", "validator", "outcome hash");
        for row in &vrows {
            println!("{row}");
        }
        let history = chain.weights_history(NETUID)?;
        let onchain: Vec<Value> = history
            .iter()
            .rev()
            .take(validators.len())
            .rev()
            .map(|w| {
                json!({"block": w.block, "setter_uid": w.uid, "uids": w.uids, "weights": w.weights, "tx": w.tx_hash})
            })
            .collect();
        println!("\nweights on chain (netuid {NETUID}):");
        for w in history.iter().rev().take(validators.len()).rev() {
            let pairs: Vec<String> = w
                .uids
                .iter()
                .zip(&w.weights)
                .map(|(u, x)| format!("{u}:{x}"))
                .collect();
            println!("  uid {:>3} set  {}", w.uid, pairs.join(" "));
        }
        let hashes: std::collections::BTreeSet<&str> =
            reports.iter().map(|r| r.outcome_hash.as_str()).collect();
        if hashes.len() != 1 {
            failure.get_or_insert(format!("epoch {}: validators disagree", epoch.id));
        }
        epochs_json.push(json!({
            "epoch_id": epoch.id.to_string(),
            "deadline": epoch.end.to_rfc3339(),
            "miners": mjson,
            "validators": vjson,
            "chain_weights": onchain,
        }));
        let report = json!({
            "netuid": NETUID,
            "epoch_secs": s.epoch_secs,
            "market": market_srv.base_url(),
            "coordinator": url,
            "epochs": epochs_json,
        });
        std::fs::write(
            dir.join("devnet-report.json"),
            serde_json::to_string_pretty(&report)?,
        )?;
    }
    println!("\nwrote {}", dir.join("devnet-report.json").display());
    coord.shutdown().await;
    market_srv.shutdown().await?;
    match failure {
        Some(f) => bail!(f),
        None => Ok(()),
    }
}
