//! `resi validator`: validate an epoch (ingest, pinned policy with spot checks through a
//! verifier component, report to the store), compare with other validators, set weights.
//!
//! The epoch facts come from the coordinator's validators-only `/epoch/{id}` answer, fetched
//! with the validator's hotkey (`--coordinator`) or read from a JSON file (`--epoch-json`); the
//! object store is a local directory (`--store`); the chain is the embedded local chain
//! (`--chain.local`). `run` without `--once` loops: after each epoch boundary it validates the
//! epoch that just closed (once its seed is revealed) and sets weights.

use super::wallet::WalletArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use resi_scraper::ScraperManifest;
use resi_store::Store;
use resi_validator::db::Db;
use resi_validator::{
    ComponentVerifier, EpochFacts, IngestOptions, Peers, PolicyPin, Validator, ValidatorConfig,
    ValidatorMetrics, agreement,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Subcommands of `resi validator`.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Validate an epoch, publish the report, compare with other validators and set weights.
    Run(RunArgs),
    /// Validate one epoch and print the ranked table (uploads the report).
    Score(CommonArgs),
    /// Show agreement of the validators' reports for an epoch (only signed reports of
    /// registered validators with a permit count).
    Consensus(ConsensusArgs),
}

/// Options shared by the subcommands.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Epoch id (`YYYY-MM-DDTHH-MM-SS`); default: the epoch that closed last.
    #[arg(long)]
    pub epoch: Option<String>,
    /// The coordinator's `/epoch/{id}` answer for validators, as a JSON file (instead of
    /// fetching it from `--coordinator`).
    #[arg(long = "epoch-json", conflicts_with = "coordinator")]
    pub epoch_json: Option<PathBuf>,
    /// Coordinator URL to fetch the epoch's facts from (signed by the validator hotkey).
    #[arg(long, env = "RESI_COORDINATOR")]
    pub coordinator: Option<String>,
    /// Epoch length of the subnet (4h in production; short for development, e.g. 60s).
    #[arg(long = "epoch-length", default_value = "4h", value_parser = super::coordinator::parse_duration)]
    pub epoch_length: Duration,
    /// Object store: a local directory (the coordinator's local store), unless --s3-bucket.
    #[arg(long, default_value = "./resi-store", conflicts_with = "s3_bucket")]
    pub store: PathBuf,
    /// S3 store options (the bucket the coordinator grants uploads to).
    #[command(flatten)]
    pub s3: super::s3::S3Args,
    /// The pinned scoring policy: a release directory (its policy.toml pins wasm and params),
    /// or a release compiled into resi by `name/version` or `sha256:<wasm sha256>`.
    #[arg(long, default_value = crate::embedded::DEFAULT_POLICY)]
    pub policy: String,
    /// Verifier scraper manifest (scraper.toml).
    #[arg(long)]
    pub verifier: PathBuf,
    /// Where the verifier's connections go (a local mimic, a test CA).
    #[command(flatten)]
    pub routing: super::args::RoutingArgs,
    /// Validator database.
    #[arg(long, default_value = "./validator.sqlite")]
    pub db: PathBuf,
    /// Zipcodes read and scored at once, each on its own thread (the outcome and hashes do not
    /// depend on it; memory grows with it, one zipcode per thread). Default 1: one thread scores
    /// while another reads the next zipcode, the fastest on 2 cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Wallet holding the validator hotkey.
    #[command(flatten)]
    pub wallet: WalletArgs,
}

/// `resi validator consensus` options.
#[derive(Debug, Args)]
pub struct ConsensusArgs {
    /// Common options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Local chain database (who holds a validator permit).
    #[arg(long = "chain.local", default_value = "./chain.sqlite")]
    pub chain: PathBuf,
    /// Or a subtensor node (finney, test, ws(s)://...).
    #[command(flatten)]
    pub subtensor: super::args::SubtensorArg,
    /// Subnet.
    #[arg(long, default_value_t = 46)]
    pub netuid: u16,
}

/// `resi validator run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Config file (TOML, keys are this command's flags; `resi config example ROLE` prints
    /// one). Flags and environment variables override it.
    #[arg(long, env = "RESI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Common options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Validate one epoch (`--epoch`, or the one that closed last) and exit.
    #[arg(long)]
    pub once: bool,
    /// Local chain database.
    #[arg(long = "chain.local", default_value = "./chain.sqlite")]
    pub chain: PathBuf,
    /// Or a subtensor node (finney, test, ws(s)://...) to read the metagraph from and set
    /// weights on.
    #[command(flatten)]
    pub subtensor: super::args::SubtensorArg,
    /// Subnet.
    #[arg(long, default_value_t = 46)]
    pub netuid: u16,
    /// Route this percentage of the weight to `--burn-uid`.
    #[arg(long = "burn-pct")]
    pub burn_pct: Option<u8>,
    /// Uid receiving the burn share.
    #[arg(long = "burn-uid", default_value_t = 0)]
    pub burn_uid: u16,
    /// Weights version key to send when it is above the subnet's WeightsVersionKey (which is
    /// sent otherwise).
    #[arg(long = "weights-version-key", value_name = "N")]
    pub weights_version_key: Option<u64>,
    /// Longest wait, in seconds, for the subnet's weights rate limit to pass before setting
    /// weights.
    #[arg(
        long = "rate-limit-wait-secs",
        default_value_t = 1800,
        value_name = "SECS"
    )]
    pub rate_limit_wait_secs: u64,
    /// Serve Prometheus /metrics, /healthcheck and the epoch dashboard (/dashboard) on this
    /// address (off by default), e.g. 127.0.0.1:9102.
    #[arg(long = "metrics-addr", env = "RESI_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// Runs a subcommand.
pub fn run(cmd: Cmd) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cmd {
            Cmd::Score(c) => score(c, None, &Ops::new()).await,
            Cmd::Run(r) => {
                let target = WeightTarget {
                    local: r.chain,
                    subtensor: r.subtensor,
                    netuid: r.netuid,
                    weights: resi_validator::WeightOptions {
                        burn: r.burn_pct.map(|p| (r.burn_uid, p)),
                        version_key: r.weights_version_key,
                        rate_limit_wait: std::time::Duration::from_secs(r.rate_limit_wait_secs),
                        ..Default::default()
                    },
                };
                let mut ops = Ops::new();
                ops.shutdown
                    .on_signals()
                    .context("installing the SIGTERM/SIGINT handlers")?;
                let _server = match r.metrics_addr {
                    Some(addr) => {
                        let mut registry = resi_ops::metrics::new_registry();
                        ops.metrics.register(&mut registry);
                        let (dashboard, source) = validator_router(&r.common)?;
                        ops.dashboard = Some(source);
                        Some(
                            resi_ops::serve(
                                addr,
                                Arc::new(registry),
                                ops.health.clone(),
                                dashboard,
                            )
                            .await?,
                        )
                    }
                    None => None,
                };
                if r.once {
                    let epoch = r
                        .common
                        .epoch
                        .clone()
                        .unwrap_or_else(|| "the last epoch".into());
                    return until_shutdown(&ops, &epoch, score(r.common, Some(target), &ops)).await;
                }
                run_loop(r.common, target, &ops).await
            }
            Cmd::Consensus(c) => consensus(c).await,
        }
    })
}

/// The validator's operations: metrics, health, shutdown.
struct Ops {
    metrics: ValidatorMetrics,
    health: Arc<resi_ops::Health>,
    shutdown: resi_ops::Shutdown,
    /// The dashboard's source when `--metrics-addr` serves it: told each epoch's facts (which
    /// no report holds) and the permitted validators.
    dashboard: Option<Arc<resi_dashboard::ValidatorSource>>,
}

impl Ops {
    fn new() -> Self {
        Ops {
            metrics: ValidatorMetrics::new(),
            health: Arc::new(resi_ops::Health::new("validator")),
            shutdown: resi_ops::Shutdown::new(),
            dashboard: None,
        }
    }
}

/// The epoch dashboard (`/dashboard`) over this validator's reports in the store and its
/// database.
fn validator_router(
    c: &CommonArgs,
) -> anyhow::Result<(axum::Router, Arc<resi_dashboard::ValidatorSource>)> {
    let hotkey = c.wallet.load_hotkey()?;
    let store = match c.s3.config() {
        Some(s3) => Store::s3(s3)?,
        None => Store::local(&c.store)?,
    };
    let db = Arc::new(Db::open(&c.db)?);
    let source = Arc::new(resi_dashboard::ValidatorSource::new(store, hotkey.ss58()).with_db(db));
    Ok((resi_dashboard::router(source.clone()), source))
}

/// Runs one epoch's work unless shutdown comes first. An epoch cut short publishes nothing:
/// the spot checks already made are in the database, and the next start validates the epoch
/// again from its store (the same report).
async fn until_shutdown(
    ops: &Ops,
    epoch: &str,
    work: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    tokio::select! {
        r = work => r,
        _ = ops.shutdown.wait() => {
            ops.metrics.epoch("interrupted");
            let reason = ops.shutdown.reason().unwrap_or_default();
            tracing::warn!(epoch, reason = %reason, "validation stopped before the epoch was done; it is validated again on the next start");
            println!("validator stopped ({reason}): epoch {epoch} left unfinished (nothing published); the next start validates it again");
            Ok(ExitCode::SUCCESS)
        }
    }
}

struct Setup {
    cfg: ValidatorConfig,
    store: Store,
    db: Arc<Db>,
    facts: EpochFacts,
}

/// The epoch to work on: `--epoch`, else the one that closed last.
fn epoch_id(c: &CommonArgs) -> anyhow::Result<resi_core::epoch::EpochId> {
    match &c.epoch {
        Some(id) => id
            .parse()
            .map_err(|e| anyhow::anyhow!("--epoch {id:?}: {e}")),
        None => {
            let secs = u32::try_from(c.epoch_length.as_secs()).context("--epoch-length")?;
            let schedule = resi_core::epoch::EpochSchedule::new(secs)?;
            Ok(schedule.previous(resi_core::auth::now_unix())?.id)
        }
    }
}

/// The epoch's facts, from `--epoch-json` or the coordinator.
async fn facts(c: &CommonArgs, hotkey: &resi_core::Hotkey) -> anyhow::Result<EpochFacts> {
    let id = epoch_id(c)?;
    let facts = match (&c.epoch_json, &c.coordinator) {
        (Some(path), _) => {
            let file = || format!("the --epoch-json file {}", path.display());
            let text = std::fs::read(path).with_context(|| format!("reading {}", file()))?;
            let value: serde_json::Value =
                serde_json::from_slice(&text).with_context(|| format!("parsing {}", file()))?;
            EpochFacts::from_json(&value).with_context(|| format!("reading {}", file()))?
        }
        (None, Some(url)) => {
            let client = resi_client::ApiClient::new(
                resi_client::ClientConfig::new(url.clone()),
                Some(hotkey.clone()),
            )?;
            let reveal = client
                .epoch_reveal(&id)
                .await
                .with_context(|| format!("fetching epoch {id} from {url}"))?;
            EpochFacts::from_reveal(&reveal)?
        }
        (None, None) => anyhow::bail!("give --coordinator URL or --epoch-json FILE"),
    };
    anyhow::ensure!(
        facts.epoch_id == id.to_string(),
        "the facts are for epoch {}, not {id}",
        facts.epoch_id
    );
    Ok(facts)
}

async fn setup(c: &CommonArgs) -> anyhow::Result<Setup> {
    let hotkey = c.wallet.load_hotkey()?;
    let pin = PolicyPin::from_loaded(&crate::embedded::release(&c.policy)?)?;
    let facts = facts(c, &hotkey).await?;
    Ok(Setup {
        cfg: ValidatorConfig {
            hotkey,
            pin,
            ingest: IngestOptions {
                threads: c
                    .threads
                    .map(usize::from)
                    .unwrap_or_else(resi_validator::ingest::default_threads),
                ..IngestOptions::default()
            },
            concurrency: 8,
            verify_timeout: Duration::from_secs(30),
            upload: true,
        },
        store: match c.s3.config() {
            Some(s3) => Store::s3(s3)?,
            None => Store::local(&c.store)?,
        },
        db: Arc::new(Db::open(&c.db)?),
        facts,
    })
}

fn verifier(
    path: &std::path::Path,
    routing: &super::args::RoutingArgs,
) -> anyhow::Result<Arc<ComponentVerifier>> {
    let loaded = ScraperManifest::load(path).context("loading the --verifier manifest")?;
    Ok(Arc::new(ComponentVerifier::load(
        &loaded.with_routing(routing.routing()?),
    )?))
}

/// Where weights go after scoring.
#[derive(Debug, Clone)]
struct WeightTarget {
    /// The local chain file (when no subtensor is given).
    local: PathBuf,
    /// A subtensor node.
    subtensor: super::args::SubtensorArg,
    /// The subnet.
    netuid: u16,
    /// Burn, version key, rate-limit wait.
    weights: resi_validator::WeightOptions,
}

/// `run` without `--once`: after every epoch boundary and the policy's grace, validate the
/// epoch that just closed (retrying until the coordinator reveals its seed) and set weights.
/// Failures are logged and retried; they never end the loop.
async fn run_loop(mut c: CommonArgs, target: WeightTarget, ops: &Ops) -> anyhow::Result<ExitCode> {
    // Every wait ends early on shutdown.
    let sleep = |d: Duration| async move {
        tokio::select! {
            _ = tokio::time::sleep(d) => false,
            _ = ops.shutdown.wait() => true,
        }
    };
    anyhow::ensure!(
        c.epoch.is_none(),
        "--epoch is for --once; the loop follows the clock"
    );
    let secs = u32::try_from(c.epoch_length.as_secs()).context("--epoch-length")?;
    let schedule = resi_core::epoch::EpochSchedule::new(secs)?;
    // Submissions may arrive until the deadline plus the policy's grace: every validator lists
    // the store only after it (and a little settling time), so they all see the same set.
    let grace = PolicyPin::from_loaded(&crate::embedded::release(&c.policy)?)?.grace();
    let settle = grace.as_secs() as i64 + 2;
    let mut done: Option<String> = None;
    loop {
        let now = resi_core::auth::now_unix();
        let closed = schedule.previous(now)?;
        let ready = closed.end.timestamp() + settle;
        if now < ready && done.as_deref() != Some(closed.id.to_string().as_str()) {
            tracing::info!(epoch = %closed.id, wait_s = ready - now, "waiting for the grace period");
            if sleep(Duration::from_secs(u64::try_from(ready - now).unwrap_or(0))).await {
                return Ok(stopped(ops));
            }
            continue;
        }
        let previous = closed.id.to_string();
        if done.as_deref() != Some(previous.as_str()) {
            c.epoch = Some(previous.clone());
            let work = score(clone_args(&c), Some(target.clone()), ops);
            match until_shutdown(ops, &previous, work).await {
                Ok(_) if ops.shutdown.is_triggered() => return Ok(ExitCode::SUCCESS),
                Ok(_) => done = Some(previous.clone()),
                Err(e) => {
                    tracing::warn!("epoch {previous}: {e:#}; retrying in 10 s")
                }
            }
            c.epoch = None;
            if done.as_deref() != Some(previous.as_str()) {
                if sleep(Duration::from_secs(10)).await {
                    return Ok(stopped(ops));
                }
                continue;
            }
        }
        let next = schedule.current(now)?.end.timestamp();
        let wait = u64::try_from(next - now).unwrap_or(0) + 1;
        tracing::info!("epoch {previous} validated; next boundary in {wait} s");
        if sleep(Duration::from_secs(wait)).await {
            return Ok(stopped(ops));
        }
    }
}

/// Shutdown between epochs: nothing was in hand.
fn stopped(ops: &Ops) -> ExitCode {
    let reason = ops.shutdown.reason().unwrap_or_default();
    println!("validator stopped ({reason}) between epochs; nothing was in progress");
    ExitCode::SUCCESS
}

fn clone_args(c: &CommonArgs) -> CommonArgs {
    CommonArgs {
        epoch: c.epoch.clone(),
        epoch_json: c.epoch_json.clone(),
        coordinator: c.coordinator.clone(),
        epoch_length: c.epoch_length,
        store: c.store.clone(),
        s3: c.s3.clone(),
        policy: c.policy.clone(),
        verifier: c.verifier.clone(),
        routing: c.routing.clone(),
        db: c.db.clone(),
        threads: c.threads,
        wallet: c.wallet.clone(),
    }
}

async fn score(c: CommonArgs, chain: Option<WeightTarget>, ops: &Ops) -> anyhow::Result<ExitCode> {
    let s = setup(&c).await?;
    let validator = Validator {
        cfg: s.cfg.clone(),
        store: s.store.clone(),
        db: s.db.clone(),
        verifier: verifier(&c.verifier, &c.routing)?,
        metrics: ops.metrics.clone(),
    };
    if let Some(d) = &ops.dashboard {
        d.record_facts(&s.facts);
    }
    let result = validator.validate(&s.facts).await?;
    ops.health
        .progress(format!("epoch {} validated", s.facts.epoch_id));
    let r = &result.report;
    println!("epoch         {}", r.epoch_id);
    println!("outcome_hash  {}", r.outcome_hash);
    println!("input_hash    {}", r.input_hash);
    println!(
        "policy        {} {} (wasm {}, params {})",
        r.policy.name, r.policy.version, r.policy.wasm_sha256, r.policy.params_sha256
    );
    println!("{:>4}  {:<50} {:>12}  flags", "rank", "hotkey", "ppb");
    for m in &r.scores {
        println!(
            "{:>4}  {:<50} {:>12}  {}",
            m.rank,
            m.hotkey,
            m.ppb,
            m.flags.join(",")
        );
    }
    println!("{} rejected:", r.rejected.len());
    for x in &r.rejected {
        println!("  {} {} {}: {}", x.hotkey, x.zipcode, x.key, x.reason);
    }
    if let Some(WeightTarget {
        local,
        subtensor,
        netuid,
        weights,
    }) = chain
    {
        let chain = subtensor.open(&local, "--chain.local")?;
        let run = validator
            .agree_and_weigh(result, &chain, netuid, &weights)
            .await?;
        if let Some(d) = &ops.dashboard
            && let Ok(m) = resi_chain::Chain::metagraph(&chain, netuid).await
        {
            d.set_peers(Peers::from_metagraph(&m));
        }
        ops.health.progress(format!(
            "epoch {}: agreement {}/{}, weights {}",
            run.agreement.epoch_id,
            run.agreement.agreeing,
            run.agreement.validators,
            if run.weights.is_some() {
                "set"
            } else {
                "not set"
            }
        ));
        let a = &run.agreement;
        println!(
            "agreement     {}/{} ({}%, {:?})",
            a.agreeing, a.validators, a.agree_pct, a.level
        );
        match run.weights {
            Some((w, tx)) => println!("weights set   {} uids, tx {tx}", w.uids.len()),
            None => println!("weights       not set (abstaining or nothing to weigh)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn consensus(a: ConsensusArgs) -> anyhow::Result<ExitCode> {
    let c = a.common;
    let s = setup(&c).await?;
    let key = format!(
        "{}validation_report.json",
        resi_validator::report::validator_prefix(&s.cfg.hotkey.ss58(), &s.facts.epoch_id)
    );
    let own = s.store.get(&key, resi_validator::report::MAX_REPORT_BYTES);
    let own: resi_validator::ValidationReport = serde_json::from_slice(&own.await.context(
        "this validator has no report for the epoch: run `resi validator score` first",
    )?)?;
    let chain = a.subtensor.open(&a.chain, "--chain.local")?;
    let peers = Peers::from_metagraph(&resi_chain::Chain::metagraph(&chain, a.netuid).await?);
    let a = agreement(&s.store, &own, &peers).await?;
    println!("{}", serde_json::to_string_pretty(&a)?);
    Ok(if a.set_weights {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
