//! `resi devnet`: the whole subnet on this machine over real short epochs (see `resi_devnet`).

use anyhow::{Context, bail};
use clap::Args;
use resi_store::S3Config;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run the whole subnet on this machine: the local chain with TEST ONLY hotkeys, the synthetic
/// market, the object store, the coordinator, miners and validators, over real short epochs.
///
/// Honest miners run the full pipeline (sandboxed market scraper, SQLite, parquet, signed
/// manifests, uploads through the coordinator's grants), each starting a little later than the
/// previous one. `--adversaries` adds a fabricator, a duplicator, a late miner and a honeypot
/// abuser. After each epoch's deadline (plus the policy's grace, scaled to the short epoch) every
/// validator fetches the revealed epoch, validates it with the sha256-pinned policy, compares
/// outcome hashes with the others and sets weights on the local chain.
///
/// After each epoch it prints a table per miner (zipcodes, listings, gates passed, ranks, ppb,
/// flags) and per validator (outcome hash, agreement, weights, validated data traced to the
/// market), and writes devnet-report.json and weights.html (a chart of weights per epoch) into
/// the data directory. Exit status 1 when validators disagree.
///
/// Examples:
///   resi devnet                                    # 3 miners, 2 validators, 2 epochs of 45 s
///   resi devnet --adversaries
///   resi devnet --epochs 3 --epoch-secs 60 --validators 3 --data-dir ./devnet
///   resi devnet --adversaries --s3-endpoint http://127.0.0.1:5000   # moto / MinIO
///   resi devnet --source zillow-rapidapi --adversaries   # the real scraper against a mimic
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DevnetArgs {
    /// Honest miners.
    #[arg(long, default_value_t = 3)]
    miners: u32,
    /// Add a fabricator, a duplicator, a late miner and a honeypot abuser (they end at 0).
    #[arg(long)]
    adversaries: bool,
    /// Validators.
    #[arg(long, default_value_t = 2)]
    validators: u32,
    /// Epochs to run.
    #[arg(long, default_value_t = 2)]
    epochs: u32,
    /// Epoch length in seconds (at least 20).
    #[arg(long = "epoch-secs", default_value_t = 45)]
    epoch_secs: u32,
    /// Data directory (chain, coordinator, store, wallets, miners, validators, reports); must be
    /// empty or absent, and is kept. Default: `./resi-devnet/run-<unix time>` under the working
    /// directory.
    #[arg(long = "data-dir")]
    data_dir: Option<PathBuf>,
    /// Kept for compatibility: the data directory is always kept.
    #[arg(long, hide = true)]
    keep: bool,
    /// Also copy the JSON report to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Use S3 at this endpoint (moto, MinIO, ...) instead of a local-directory store; the
    /// bucket is created when missing.
    #[arg(long = "s3-endpoint")]
    s3_endpoint: Option<String>,
    /// S3 bucket. Default: a new `resi-devnet-<unix time>` bucket.
    #[arg(long = "s3-bucket", requires = "s3_endpoint")]
    s3_bucket: Option<String>,
    /// S3 region.
    #[arg(long = "s3-region", default_value = "us-east-1")]
    s3_region: String,
    /// S3 access key id.
    #[arg(
        long = "s3-access-key",
        env = "AWS_ACCESS_KEY_ID",
        default_value = "testing"
    )]
    s3_access_key: String,
    /// S3 secret access key.
    #[arg(
        long = "s3-secret-key",
        env = "AWS_SECRET_ACCESS_KEY",
        default_value = "testing",
        hide_env_values = true
    )]
    s3_secret_key: String,
    /// Market universe seed.
    #[arg(long, default_value_t = 46)]
    seed: u64,
    /// Directory holding a built `market-scraper.wasm` (`cargo xtask guests` writes
    /// guests/dist); default: the market scraper compiled into resi.
    #[arg(long, env = "RESI_GUESTS_DIR")]
    guests: Option<PathBuf>,
    /// The scoring policy: a release directory (policy.toml + policy.wasm), or a release
    /// compiled into resi by `name/version` or `sha256:<wasm sha256>`.
    #[arg(long, default_value = crate::embedded::DEFAULT_POLICY)]
    policy: String,
    /// Zipcode table CSV; default: the US table compiled into resi.
    #[arg(long, env = "RESI_ZIPCODES")]
    zipcodes: Option<PathBuf>,
    /// Mine a real source instead of the market API: zillow-rapidapi or redfin. The released
    /// scraper of that source (compiled in) runs unchanged against a TLS mimic of the source
    /// serving the same universe, routed with --resolve/--ca-cert; validators spot-check with
    /// the same component as their verifier.
    #[arg(long, value_name = "SOURCE", value_parser = parse_source)]
    source: Option<resi_market::mimic::Source>,
}

fn parse_source(s: &str) -> Result<resi_market::mimic::Source, String> {
    resi_market::mimic::Source::parse(s).map_err(|e| e.to_string())
}

/// Runs the devnet.
pub fn run(args: DevnetArgs) -> anyhow::Result<ExitCode> {
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => PathBuf::from("resi-devnet").join(format!("run-{}", resi_core::auth::now_unix())),
    };
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!("--data-dir {} is not empty", dir.display());
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("--data-dir: creating {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("--data-dir {}", dir.display()))?;
    let release = crate::embedded::release(&args.policy)?;
    let market_scraper = crate::embedded::market_scraper(args.guests.as_deref())?;
    let s3 = args.s3_endpoint.as_ref().map(|endpoint| S3Config {
        endpoint: Some(endpoint.clone()),
        bucket: args
            .s3_bucket
            .clone()
            .unwrap_or_else(|| format!("resi-devnet-{}", resi_core::auth::now_unix())),
        region: args.s3_region.clone(),
        access_key_id: args.s3_access_key.clone(),
        secret_access_key: args.s3_secret_key.clone(),
        path_style: true,
    });
    let cfg = resi_devnet::DevnetConfig {
        market_scraper,
        release,
        zipcodes: args.zipcodes,
        miners: args.miners,
        validators: args.validators,
        epochs: args.epochs,
        epoch_secs: args.epoch_secs,
        adversaries: args.adversaries,
        seed: args.seed,
        data_dir: dir.clone(),
        s3,
        source: args.source.map(crate::embedded::source_scraper),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(resi_devnet::run(cfg));
    drop(runtime);
    if let (Ok(report), Some(path)) = (&result, &args.json) {
        std::fs::write(path, serde_json::to_string_pretty(report)?)
            .with_context(|| format!("writing the --json file {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    let _ = args.keep;
    println!("data dir kept at {}", dir.display());
    result.map(|_| ExitCode::SUCCESS)
}
