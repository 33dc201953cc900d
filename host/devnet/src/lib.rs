//! `resi-devnet`: the whole subnet on one machine, over real short epochs on the wall clock.
//!
//! One run starts, as tokio tasks in one process: the embedded local chain (SQLite; every
//! participant a TEST ONLY hotkey registered on netuid 46, also written as a bittensor wallet
//! under the data directory, see [`cast`]), the synthetic market on loopback, the object store
//! (a local directory, or S3 at an endpoint such as moto), the real coordinator with short
//! epochs, honest [`resi_miner::Miner`]s running the sandboxed market scraper (each starting a
//! little later than the one before: different speeds), optional adversaries ([`rogue`]), and
//! validators that, once an epoch's deadline and grace have passed, fetch the revealed epoch
//! from the coordinator, validate it with the sha256-pinned `zipcode-competitive` policy
//! (spot-checking through the scraper's `verify`), compare outcome hashes and set weights on
//! the local chain. Mining of the next epoch overlaps validation of the last, as on the real
//! subnet.
//!
//! The policy runs with the released component and its default params except `grace_ms`,
//! scaled to the short epoch the way production scales it (15 minutes of a 4-hour epoch,
//! 1/16), so that a late miner can be late within a two-minute devnet; the params are pinned by
//! their own sha256, printed at start.
//!
//! After each epoch [`report`] prints the tables and rewrites `devnet-report.json` and
//! `weights.html` in the data directory.

#![warn(missing_docs)]

pub mod cast;
pub mod report;
pub mod rogue;

use anyhow::{Context, bail};
use cast::{Cast, Member, Role};
use report::{ChainWeights, DevnetReport, EpochReport, MinerRow, ValidatorRow};
use resi_chain::{LocalChain, SubnetParams};
use resi_client::{ApiClient, ClientConfig};
use resi_coordinator::zipcodes::ZipTable;
use resi_coordinator::{
    CoordinatorConfig, ExpectedCounts, FnCounts, MapCounts, RateLimits, StoreConfig,
};
use resi_core::epoch::{Epoch, EpochSchedule};
use resi_core::keys::Hotkey;
use resi_market::{Market, MarketConfig, serve_market};
use resi_miner::{Miner, MinerConfig, MinerMetrics};
use resi_policy::hash;
use resi_policy::vectors::Release;
use resi_scraper::ScraperManifest;
use resi_scraper::gate::{HostRoute, Routing};
use resi_scraper::manifest::LoadedScraper;
use resi_store::{S3Config, Store};
use resi_submission::{ReadCaps, ScraperInfo};
use resi_validator::db::Db;
use resi_validator::report::validator_prefix;
use resi_validator::{
    ComponentVerifier, EpochFacts, EpochResult, IngestOptions, PolicyPin, ValidationReport,
    Validator, ValidatorConfig, ValidatorMetrics,
};
use rogue::{Rogue, RogueResult};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The subnet id the devnet registers everybody on.
pub const NETUID: u16 = 46;

/// Production's grace is 15 minutes of a 4-hour epoch: the devnet keeps that proportion.
const GRACE_DIVISOR: u64 = 16;

/// What to run.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// The market scraper component the miners run (and the validators verify with).
    pub market_scraper: Vec<u8>,
    /// The released policy the validators pin.
    pub release: Release,
    /// Zipcode table CSV; `None` uses the US table compiled into resi.
    pub zipcodes: Option<PathBuf>,
    /// Honest miners.
    pub miners: u32,
    /// Validators.
    pub validators: u32,
    /// Epochs to run.
    pub epochs: u32,
    /// Epoch length in seconds.
    pub epoch_secs: u32,
    /// Add a fabricator, a duplicator, a late miner and a honeypot abuser.
    pub adversaries: bool,
    /// Market universe seed.
    pub seed: u64,
    /// Where everything lives (chain, coordinator, store, wallets, miners, reports); must exist.
    pub data_dir: PathBuf,
    /// S3 instead of a local-directory store.
    pub s3: Option<S3Config>,
    /// Mine a real source's mimic with its real scraper component instead of the market API.
    pub source: Option<SourceScraper>,
}

/// A real source's released scraper component, mined against its mimic.
#[derive(Debug, Clone)]
pub struct SourceScraper {
    /// Which source.
    pub source: resi_market::mimic::Source,
    /// The released component.
    pub wasm: Vec<u8>,
    /// Its released `scraper.toml` (real allowlist, secrets); its `wasm` line is rewritten to
    /// the copy in the data directory.
    pub manifest: String,
}

/// The release's default params with `grace_ms` scaled to `epoch_secs`: (canonical params,
/// grace in milliseconds).
pub fn devnet_params(default_params: &str, epoch_secs: u32) -> anyhow::Result<(String, u64)> {
    let mut v: serde_json::Value =
        serde_json::from_str(default_params).context("the release's default params")?;
    let grace = u64::from(epoch_secs) * 1000 / GRACE_DIVISOR;
    let obj = v
        .as_object_mut()
        .context("the release's default params are not a JSON object")?;
    anyhow::ensure!(
        obj.contains_key("grace_ms"),
        "the policy has no grace_ms param"
    );
    obj.insert("grace_ms".into(), grace.into());
    Ok((hash::canonicalize_value(&v)?, grace))
}

/// The object store's name for tables.
fn describe_store(dir: &Path, s3: &Option<S3Config>) -> String {
    match s3 {
        Some(c) => format!(
            "s3://{} at {}",
            c.bucket,
            c.endpoint.as_deref().unwrap_or("AWS")
        ),
        None => format!("local:{}", dir.join("objects").display()),
    }
}

/// Creates the bucket when it does not exist yet (S3-compatible endpoints such as moto or
/// MinIO accept an unsigned `PUT /{bucket}`; on AWS the bucket must exist).
async fn ensure_bucket(c: &S3Config) -> anyhow::Result<()> {
    let store = Store::s3(c.clone())?;
    if store.list("validators/").await.is_ok() {
        return Ok(());
    }
    let Some(endpoint) = &c.endpoint else {
        bail!("S3 bucket {} is not reachable; create it first", c.bucket);
    };
    let url = format!("{}/{}", endpoint.trim_end_matches('/'), c.bucket);
    let r = reqwest::Client::new()
        .put(&url)
        .send()
        .await
        .with_context(|| format!("S3 endpoint {endpoint} is not reachable"))?;
    if !(r.status().is_success() || r.status().as_u16() == 409) {
        bail!(
            "creating bucket {} at {endpoint}: HTTP {}",
            c.bucket,
            r.status()
        );
    }
    store
        .list("validators/")
        .await
        .with_context(|| format!("bucket {} at {endpoint}", c.bucket))?;
    Ok(())
}

/// A scraper.toml for the market scraper allowlisting `base_url`, next to a copy of the wasm.
fn scraper_toml(dir: &Path, bytes: &[u8], base_url: &str) -> anyhow::Result<(PathBuf, String)> {
    let sha = hex::encode(hash::sha256(bytes));
    std::fs::write(dir.join("market-scraper.wasm"), bytes)?;
    let manifest = ScraperManifest {
        name: "market".into(),
        version: "0.1.0".into(),
        wasm: "market-scraper.wasm".into(),
        sha256: sha.clone(),
        network: resi_scraper::manifest::NetworkSection {
            allow: vec![base_url.into()],
            requests_per_second: 1000.0,
            burst: 1000,
            ..Default::default()
        },
        limits: resi_scraper::manifest::LimitsSection {
            timeout_s: 120,
            max_listings: 5000,
            ..Default::default()
        },
        config: [("base_url".to_string(), base_url.to_string())].into(),
        secrets: Default::default(),
        dir: PathBuf::new(),
    };
    let path = dir.join("scraper.toml");
    std::fs::write(&path, manifest.to_toml()?)?;
    Ok((path, sha))
}

/// Candidate zipcodes the devnet counts in source mode.
const SOURCE_CANDIDATES: usize = 200;

/// Recent sales are sales of the last this many days (the mimic's and the counts' window).
const SOLD_WITHIN_DAYS: u32 = 90;

/// The API key the devnet's mimic requires and its miners and validators hold.
const MIMIC_KEY: &str = "resi-devnet-mimic-key";

/// Serves `src`'s mimic over TLS with a fresh test CA and loads its released scraper routed to
/// it (`--resolve` and `--ca-cert` as an operator would give them), with the mimic's key as
/// every declared secret and a rate limit raised to fit devnet epochs.
async fn source_scraper(
    dir: &Path,
    src: &SourceScraper,
    market: Arc<Market>,
) -> anyhow::Result<(LoadedScraper, String, resi_market::mimic::MimicServer)> {
    use resi_market::mimic::{self, MimicData, MimicOptions, MimicState, tls::TestCa};
    let ca = TestCa::generate()?;
    std::fs::write(dir.join("mimic-ca.pem"), ca.ca_pem())?;
    let state = MimicState::new(
        MimicData::Synthetic(market),
        MimicOptions {
            api_key: MIMIC_KEY.into(),
            sold_within_days: SOLD_WITHIN_DAYS,
            ..MimicOptions::default()
        },
    );
    let server = mimic::serve(src.source, state, "127.0.0.1:0".parse()?, Some(&ca))
        .await
        .with_context(|| format!("serving the {} mimic", src.source))?;
    let sha = hex::encode(hash::sha256(&src.wasm));
    let file = format!("{}-scraper.wasm", src.source);
    std::fs::write(dir.join(&file), &src.wasm)?;
    let manifest: String = src
        .manifest
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("wasm =") || l.trim_start().starts_with("wasm=") {
                format!("wasm = \"{file}\"\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let path = dir.join("scraper.toml");
    std::fs::write(&path, manifest)?;
    let mut loaded = ScraperManifest::load_with_secrets(&path, |_| Some(MIMIC_KEY.into()))
        .with_context(|| format!("the released {} scraper", src.source))?
        .with_routing(Routing {
            resolve: vec![HostRoute {
                host: src.source.host().into(),
                addr: server.addr(),
            }],
            roots_pem: vec![ca.ca_pem().as_bytes().to_vec()],
        });
    // The released rate limit is a real plan's; devnet epochs last seconds.
    loaded.manifest.network.requests_per_second = 200.0;
    loaded.manifest.network.burst = 200;
    println!(
        "mimic of {} on https://{} (routed from {}; CA {})",
        src.source,
        server.addr(),
        src.source.host(),
        dir.join("mimic-ca.pem").display()
    );
    Ok((loaded, sha, server))
}

fn client(url: &str, key: &Hotkey) -> anyhow::Result<ApiClient> {
    Ok(ApiClient::new(
        ClientConfig::new(url.to_string()),
        Some(key.clone()),
    )?)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn sleep_until_ms(t: i64) {
    let wait = t - now_ms();
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
}

/// The first epoch: the current one while at least 60% of it is left (miners then start from
/// now), else the next.
fn first_epoch(schedule: &EpochSchedule) -> anyhow::Result<Epoch> {
    let now = resi_core::auth::now_unix();
    let cur = schedule.current(now)?;
    if (cur.end.timestamp() - now) * 10 >= i64::from(schedule.length_secs()) * 6 {
        Ok(cur)
    } else {
        Ok(schedule.next(now)?)
    }
}

/// An honest miner's epoch.
#[derive(Debug, Default)]
struct HonestResult {
    uploaded: Vec<(String, u64)>,
    status: Option<String>,
    error: Option<String>,
}

/// Either kind of miner's epoch.
enum Mined {
    Honest(HonestResult),
    Rogue(RogueResult),
}

/// Everything the epoch loop needs.
struct World {
    cfg: DevnetConfig,
    cast: Cast,
    chain: LocalChain,
    market: Arc<Market>,
    store: Store,
    url: String,
    scraper: LoadedScraper,
    scraper_sha: String,
    verifier: Arc<ComponentVerifier>,
    pin: PolicyPin,
    grace_ms: u64,
    dbs: Vec<Arc<Db>>,
    ops: Ops,
}

/// Every honest miner's and validator's Prometheus series, each served with `/healthcheck` on
/// its own loopback port (as `--metrics-addr` serves one role); the addresses are printed and
/// written to `endpoints.json` in the data directory.
struct Ops {
    miners: HashMap<String, MinerMetrics>,
    validators: HashMap<String, ValidatorMetrics>,
    servers: Vec<resi_ops::MetricsServer>,
}

impl Ops {
    async fn serve(cast: &Cast, dir: &std::path::Path) -> anyhow::Result<Self> {
        async fn one(
            role: &'static str,
            reg: prometheus_client::registry::Registry,
        ) -> anyhow::Result<resi_ops::MetricsServer> {
            Ok(resi_ops::serve(
                "127.0.0.1:0".parse()?,
                Arc::new(reg),
                Arc::new(resi_ops::Health::new(role)),
                axum::Router::new(),
            )
            .await?)
        }
        let mut ops = Ops {
            miners: HashMap::new(),
            validators: HashMap::new(),
            servers: Vec::new(),
        };
        let mut endpoints = serde_json::Map::new();
        for m in &cast.miners {
            if let Role::Honest { .. } = m.role {
                let metrics = MinerMetrics::new();
                let mut reg = resi_ops::metrics::new_registry();
                metrics.register(&mut reg);
                let server = one("miner", reg).await?;
                endpoints.insert(m.name.clone(), format!("http://{}", server.addr).into());
                ops.servers.push(server);
                ops.miners.insert(m.name.clone(), metrics);
            }
        }
        for v in &cast.validators {
            let metrics = ValidatorMetrics::new();
            let mut reg = resi_ops::metrics::new_registry();
            metrics.register(&mut reg);
            let server = one("validator", reg).await?;
            endpoints.insert(v.name.clone(), format!("http://{}", server.addr).into());
            ops.servers.push(server);
            ops.validators.insert(v.name.clone(), metrics);
        }
        let text = serde_json::to_string_pretty(&endpoints)?;
        std::fs::write(dir.join("endpoints.json"), &text)?;
        Ok(ops)
    }
}

/// Runs the devnet; returns the report (also written to the data dir). Fails when the
/// validators disagree on an epoch's outcome hash.
pub async fn run(cfg: DevnetConfig) -> anyhow::Result<DevnetReport> {
    if cfg.epochs == 0 || cfg.validators == 0 || cfg.miners == 0 {
        bail!("--epochs, --validators and --miners must be at least 1");
    }
    if cfg.epoch_secs < 20 {
        bail!("--epoch-secs must be at least 20");
    }
    let dir = cfg.data_dir.clone();

    // The chain and everybody on it.
    let chain =
        LocalChain::open_with_block_time(dir.join("chain.sqlite"), 0).context("local chain")?;
    chain.set_subnet(
        NETUID,
        &SubnetParams {
            weights_set_rate_limit: 0,
            commit_reveal_enabled: false,
            ..SubnetParams::default()
        },
    )?;
    // Honest miners start this far apart (at least 2 s: S3 timestamps have 1 s resolution).
    let stagger = i64::from(cfg.epoch_secs / 10 / cfg.miners).clamp(2, 4);
    let cast = cast::enlist(
        &chain,
        NETUID,
        &dir.join("wallets"),
        cfg.miners,
        stagger,
        cfg.adversaries,
        cfg.validators,
    )?;

    // The market.
    let market = Arc::new(
        Market::new(MarketConfig {
            seed: cfg.seed,
            zipcodes_path: cfg.zipcodes.clone(),
            // A real source counts recent sales (about a third of the homes): more homes, so
            // zipcodes reach the coordinator's minimum and Redfin's per-call cap is crossed.
            min_listings: if cfg.source.is_some() { 600 } else { 200 },
            max_listings: if cfg.source.is_some() { 1_200 } else { 400 },
            ..MarketConfig::default()
        })
        .context(match cfg.zipcodes {
            Some(_) => "loading the market's --zipcodes table",
            None => "loading the market",
        })?,
    );
    let market_srv = serve_market(market.clone(), "127.0.0.1:0".parse()?)
        .await
        .context("serving the market")?;

    // The store and the coordinator.
    let objects = dir.join("objects");
    let (store, store_cfg) = match &cfg.s3 {
        Some(c) => {
            ensure_bucket(c).await?;
            (Store::s3(c.clone())?, StoreConfig::S3(c.clone()))
        }
        None => {
            std::fs::create_dir_all(&objects)?;
            (Store::local(&objects)?, StoreConfig::Local(objects.clone()))
        }
    };
    let mut ccfg = CoordinatorConfig::new(dir.join("coordinator"));
    ccfg.listen = "127.0.0.1:0".parse()?;
    ccfg.epoch_length_secs = cfg.epoch_secs;
    ccfg.netuid = NETUID;
    ccfg.miner_upload_min_bytes = 16;
    ccfg.registry_ttl = Duration::ZERO;
    ccfg.cooldown_hours = 0;
    ccfg.rate_limits = RateLimits::default().scaled(100);
    ccfg.store = store_cfg;
    ccfg.selection.target_listings = 1_000;
    let table = Arc::new(match &cfg.zipcodes {
        Some(path) => ZipTable::load(path).context("--zipcodes")?,
        None => ZipTable::embedded()?,
    });
    let m = market.clone();
    let counts: Arc<dyn ExpectedCounts> = match &cfg.source {
        // What the source's mimic serves as recent sales is what the owner would count there
        // (`resi scraper count` against the source). Counting means generating every home, so
        // the devnet counts a fixed sample of candidate zipcodes, as an owner counts a list.
        Some(_) => {
            let candidates = table
                .rows
                .iter()
                .filter(|z| {
                    market
                        .zipcodes()
                        .get(&z.zipcode)
                        .is_some_and(|m| m.holds_homes())
                })
                .step_by(97)
                .take(SOURCE_CANDIDATES)
                .map(|z| {
                    let n =
                        resi_market::mimic::recent_sales(&m, &z.zipcode, SOLD_WITHIN_DAYS).len();
                    (z.zipcode.clone(), n as u32)
                })
                .collect();
            Arc::new(MapCounts(candidates))
        }
        None => Arc::new(FnCounts::new(move |z| Some(m.count(z)))),
    };
    let coord = resi_coordinator::serve(
        ccfg,
        table,
        counts,
        LocalChain::open(dir.join("chain.sqlite"))?,
    )
    .await
    .context("starting the coordinator")?;
    let url = coord.url();

    // The scraper (miners' and validators' verifier) and the pinned policy.
    let (loaded, scraper_sha, mimic) = match &cfg.source {
        None => {
            let (path, sha) = scraper_toml(&dir, &cfg.market_scraper, &market_srv.base_url())?;
            let loaded = ScraperManifest::load(&path).context("scraper manifest")?;
            (loaded, sha, None)
        }
        Some(src) => {
            let (loaded, sha, server) = source_scraper(&dir, src, market.clone()).await?;
            (loaded, sha, Some(server))
        }
    };
    let verifier = Arc::new(ComponentVerifier::load(&loaded)?);
    let release = cfg.release.clone();
    let (params, grace_ms) = devnet_params(&release.manifest.default_params, cfg.epoch_secs)?;
    let params_sha = hex::encode(hash::params_sha256(&params));
    let pin = PolicyPin::load(
        &release.wasm,
        Some(&params),
        &release.manifest.wasm_sha256,
        &params_sha,
    )?;
    let mut dbs = Vec::new();
    for v in &cast.validators {
        dbs.push(Arc::new(Db::open(&dir.join(format!("{}.sqlite", v.name)))?));
    }

    println!(
        "devnet: {} miners{}, {} validators, {} epochs of {} s; data dir {}",
        cfg.miners,
        if cfg.adversaries {
            " + fabricator, duplicator, late, honeypot-abuser"
        } else {
            ""
        },
        cfg.validators,
        cfg.epochs,
        cfg.epoch_secs,
        dir.display()
    );
    println!(
        "market {}  coordinator {}  store {}",
        market_srv.base_url(),
        url,
        describe_store(&dir, &cfg.s3)
    );
    println!(
        "policy {} {}: wasm {}, params {} (release defaults, grace_ms {} = 1/16 epoch)",
        pin.name, pin.version, release.manifest.wasm_sha256, params_sha, grace_ms
    );

    let ops = Ops::serve(&cast, &dir).await?;
    println!(
        "metrics: coordinator {url}/metrics; miners and validators: {}",
        dir.join("endpoints.json").display()
    );
    let world = World {
        ops,
        store,
        chain,
        market,
        url: url.clone(),
        scraper: loaded,
        scraper_sha,
        verifier,
        pin,
        grace_ms,
        dbs,
        cast,
        cfg,
    };
    let mut report = DevnetReport {
        netuid: NETUID,
        epoch_secs: world.cfg.epoch_secs,
        grace_ms,
        store: describe_store(&dir, &world.cfg.s3),
        market: market_srv.base_url(),
        coordinator: url,
        policy: [
            world.pin.name.clone(),
            world.pin.version.clone(),
            release.manifest.wasm_sha256.clone(),
            params_sha,
        ],
        epochs: Vec::new(),
    };
    let result = epochs(&world, &mut report).await;
    coord.shutdown().await;
    market_srv.shutdown().await?;
    if let Some(m) = mimic {
        m.shutdown().await;
    }
    result?;
    Ok(report)
}

/// Spawns every miner's work for `epoch` (each sleeps until its start).
fn spawn_miners(w: &World, epoch: &Epoch) -> Vec<JoinHandle<Mined>> {
    let start_ms = epoch.start().timestamp_millis().max(now_ms());
    let deadline_ms = epoch.end.timestamp_millis();
    let late_at = deadline_ms + w.grace_ms as i64 + 1_500;
    let mut tasks = Vec::new();
    for (i, m) in w.cast.miners.iter().enumerate() {
        let member = m.clone();
        let (url, coldkey, mp) = (w.url.clone(), w.cast.coldkey.clone(), w.scraper.clone());
        let data = w.cfg.data_dir.join(&m.name);
        let metrics = w.ops.miners.get(&m.name).cloned();
        match m.role {
            Role::Honest { start_after_secs } => {
                tasks.push(tokio::spawn(async move {
                    sleep_until_ms(start_ms + start_after_secs * 1000).await;
                    let work = async {
                        let loaded = mp;
                        let mut mcfg = MinerConfig::new(data, coldkey);
                        mcfg.once = true;
                        mcfg.concurrency = 2;
                        mcfg.progress = false;
                        mcfg.max_backoff = Duration::from_secs(2);
                        if let Some(m) = metrics {
                            mcfg.metrics = m;
                        }
                        let miner =
                            Miner::new(client(&url, &member.hotkey)?, member.hotkey, loaded, mcfg)?;
                        anyhow::Ok(miner.run().await?)
                    };
                    let left = u64::try_from(deadline_ms - now_ms()).unwrap_or(0);
                    let mut r = HonestResult::default();
                    match tokio::time::timeout(Duration::from_millis(left), work).await {
                        Ok(Ok(summaries)) => {
                            if let Some(s) = summaries.into_iter().last() {
                                r.uploaded = s.uploaded;
                                r.status = s.final_status;
                                if !s.failed.is_empty() {
                                    r.error = Some(format!("failed zipcodes: {:?}", s.failed));
                                }
                            }
                        }
                        Ok(Err(e)) => r.error = Some(format!("{e:#}")),
                        Err(_) => r.error = Some("did not finish before the deadline".into()),
                    }
                    Mined::Honest(r)
                }));
            }
            _ => {
                let scraper = ScraperInfo {
                    name: "market".into(),
                    version: "0.1.0".into(),
                    wasm_sha256: w.scraper_sha.clone(),
                };
                let rogue = Rogue::new(member, &url, coldkey, w.market.clone(), scraper);
                // Adversaries are fast: they submit before everybody else.
                tasks.push(tokio::spawn(async move {
                    sleep_until_ms(start_ms + 500 + 10 * i as i64).await;
                    match rogue {
                        Ok(r) => Mined::Rogue(r.run(late_at).await),
                        Err(e) => Mined::Rogue(RogueResult {
                            uploaded: vec![],
                            error: Some(format!("{e:#}")),
                        }),
                    }
                }));
            }
        }
    }
    tasks
}

/// One validator of the devnet as a [`Validator`] service.
fn validator(w: &World, v: &Member, db: Arc<Db>) -> Validator {
    Validator {
        cfg: ValidatorConfig {
            hotkey: v.hotkey.clone(),
            pin: w.pin.clone(),
            ingest: IngestOptions::default(),
            concurrency: 4,
            verify_timeout: Duration::from_secs(30),
            upload: true,
        },
        store: w.store.clone(),
        db,
        verifier: w.verifier.clone(),
        metrics: w.ops.validators.get(&v.name).cloned().unwrap_or_default(),
    }
}

/// One validator's epoch: the revealed facts from the coordinator, then validation.
async fn validate(
    w: &World,
    v: &Member,
    db: Arc<Db>,
    epoch: &Epoch,
) -> anyhow::Result<(EpochResult, std::collections::BTreeSet<String>)> {
    let c = client(&w.url, &v.hotkey)?;
    let mut tries = 0;
    let raw = loop {
        match c.epoch_reveal(&epoch.id).await {
            Ok(r) if r.validation_seed.is_some() => break r,
            Ok(_) | Err(_) if tries < 20 => {
                tries += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(_) => bail!("epoch {} not revealed after 20 s", epoch.id),
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("fetching epoch {}", epoch.id)));
            }
        }
    };
    let facts = EpochFacts::from_reveal(&raw)?;
    let r = validator(w, v, db)
        .validate(&facts)
        .await
        .with_context(|| format!("{} validating epoch {}", v.name, epoch.id))?;
    let honeypots = facts
        .assignments
        .iter()
        .filter(|a| a.honeypot)
        .map(|a| a.zipcode.clone())
        .collect();
    Ok((r, honeypots))
}

/// Reads a validator's `validated_data.parquet` back from the store and counts the listings
/// the market has (same zpid, zipcode and address; same zipcode and normalised address when a
/// source has no zpid): (listings, traceable).
async fn trace(w: &World, r: &ValidationReport) -> anyhow::Result<(usize, usize)> {
    let key = format!(
        "{}validated_data.parquet",
        validator_prefix(&r.validator, &r.epoch_id)
    );
    let bytes = w.store.get(&key, 256 << 20).await?;
    let listings = resi_submission::read_listings(&bytes, &ReadCaps::default())
        .with_context(|| format!("reading {key}"))?;
    // Sources without zpids (Redfin) are traced by zipcode and normalised address.
    let mut by_address: HashMap<String, HashSet<String>> = HashMap::new();
    let norm = resi_core::listing::normalize_address;
    let traced = listings
        .iter()
        .filter(|l| match l.zpid.as_deref().filter(|z| !z.is_empty()) {
            Some(z) => w
                .market
                .get(z)
                .is_some_and(|m| m.zipcode == l.zipcode && m.address == l.address),
            None => by_address
                .entry(l.zipcode.clone())
                .or_insert_with(|| {
                    w.market
                        .listings(&l.zipcode)
                        .iter()
                        .map(|m| norm(&m.address))
                        .collect()
                })
                .contains(&norm(&l.address)),
        })
        .count();
    Ok((listings.len(), traced))
}

async fn epochs(w: &World, report: &mut DevnetReport) -> anyhow::Result<()> {
    let schedule = EpochSchedule::new(w.cfg.epoch_secs)?;
    let mut list = vec![first_epoch(&schedule)?];
    for _ in 1..w.cfg.epochs {
        let last = list.last().map(|e| e.end.timestamp()).unwrap_or_default();
        list.push(schedule.containing(last)?);
    }
    // Mining of every epoch is scheduled up front: miners follow the clock, not the validators.
    let mut mining: Vec<Vec<JoinHandle<Mined>>> = list.iter().map(|e| spawn_miners(w, e)).collect();
    let mut failure = None;
    for (k, epoch) in list.iter().enumerate() {
        println!(
            "\n== epoch {}/{}: {} (deadline {}, validated after {} ms of grace)",
            k + 1,
            list.len(),
            epoch.id,
            epoch.end,
            w.grace_ms
        );
        let mut mined = Vec::new();
        for t in std::mem::take(&mut mining[k]) {
            mined.push(t.await?);
        }
        sleep_until_ms(epoch.end.timestamp_millis() + w.grace_ms as i64 + 1_000).await;

        // Every validator validates, then compares and sets weights.
        let jobs = w
            .cast
            .validators
            .iter()
            .zip(&w.dbs)
            .map(|(v, db)| validate(w, v, db.clone(), epoch));
        let (results, honeypots): (Vec<EpochResult>, Vec<_>) = futures::future::join_all(jobs)
            .await
            .into_iter()
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        let honeypots = honeypots.into_iter().next().unwrap_or_default();
        let mut vrows = Vec::new();
        let history_before = w.chain.weights_history(NETUID)?.len();
        let mut reports: Vec<ValidationReport> = Vec::new();
        for ((v, db), result) in w.cast.validators.iter().zip(&w.dbs).zip(results) {
            let run = validator(w, v, db.clone())
                .agree_and_weigh(
                    result,
                    &w.chain,
                    NETUID,
                    &resi_validator::WeightOptions::default(),
                )
                .await?;
            let (a, set) = (run.agreement, run.weights);
            let r = &run.result.report;
            let (validated, traced) = trace(w, r).await?;
            vrows.push(ValidatorRow {
                validator: v.name.clone(),
                hotkey: v.hotkey.ss58(),
                uid: v.uid,
                outcome_hash: r.outcome_hash.clone(),
                input_hash: r.input_hash.clone(),
                agreement: a,
                weights: set.map(|(e, tx)| (e.uids, e.weights, tx)),
                validated_listings: validated,
                traceable_listings: traced,
                spot_checks: r.spot_checks as u64,
            });
            reports.push(run.result.report);
        }
        let chain_weights = w
            .chain
            .weights_history(NETUID)?
            .into_iter()
            .skip(history_before)
            .map(|h| ChainWeights {
                block: h.block,
                setter_uid: h.uid,
                uids: h.uids,
                weights: h.weights,
            })
            .collect();

        let first = &reports[0];
        let by_miner = report::outcome_by_miner(&first.outcome, &honeypots);
        let miners = w
            .cast
            .miners
            .iter()
            .zip(mined)
            .map(|(m, mined)| {
                let hk = m.hotkey.ss58();
                let score = first.scores.iter().find(|s| s.hotkey == hk);
                let o = by_miner.get(&hk).cloned().unwrap_or_default();
                let (uploaded, final_status, error) = match mined {
                    Mined::Honest(h) => (h.uploaded, h.status, h.error),
                    Mined::Rogue(r) => (r.uploaded, None, r.error),
                };
                MinerRow {
                    miner: m.name.clone(),
                    role: m.role.label(),
                    adversary: m.role.is_adversary(),
                    hotkey: hk.clone(),
                    uid: m.uid,
                    listings: uploaded.iter().map(|(_, n)| n).sum(),
                    uploaded,
                    gates_passed: o.gates_passed,
                    candidates: o.candidates,
                    ranks: o.ranks,
                    failed_gates: o.failed,
                    honeypots: o.honeypots,
                    ppb: score.map(|s| s.ppb).unwrap_or(0),
                    flags: score.map(|s| s.flags.clone()).unwrap_or_default(),
                    rejected: first
                        .rejected
                        .iter()
                        .filter(|x| x.hotkey == hk)
                        .map(|x| x.reason.clone())
                        .collect(),
                    final_status,
                    error,
                }
            })
            .collect();
        let agreed = reports.iter().all(|r| r.outcome_hash == first.outcome_hash);
        if !agreed {
            failure.get_or_insert_with(|| format!("epoch {}: validators disagree", epoch.id));
        }
        let e = EpochReport {
            epoch_id: epoch.id.to_string(),
            deadline: epoch.end.to_rfc3339(),
            miners,
            validators: vrows,
            chain_weights,
            agreed,
        };
        report::print_epoch(&e);
        report.epochs.push(e);
        let dir = &w.cfg.data_dir;
        std::fs::write(
            dir.join("devnet-report.json"),
            serde_json::to_string_pretty(report)?,
        )?;
        std::fs::write(dir.join("weights.html"), report::html_chart(report))?;
    }
    println!(
        "\nwrote {} and {}",
        w.cfg.data_dir.join("devnet-report.json").display(),
        w.cfg.data_dir.join("weights.html").display()
    );
    match failure {
        Some(f) => bail!(f),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devnet_params_scale_only_the_grace() {
        let (p, grace) = devnet_params(r#"{"b":1,"grace_ms":900000,"a":2}"#, 64).expect("params");
        assert_eq!(grace, 4_000);
        assert_eq!(p, r#"{"a":2,"b":1,"grace_ms":4000}"#);
        assert!(devnet_params(r#"{"a":1}"#, 60).is_err());
        assert!(devnet_params("[1]", 60).is_err());
    }
}
