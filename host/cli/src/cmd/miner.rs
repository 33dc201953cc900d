//! `resi miner run`: the SN46 miner. Polls the coordinator for the current epoch, scrapes the
//! assigned zipcodes through a pinned scraper component into SQLite, uploads per zipcode
//! `listings.parquet` and a signed `manifest.json` (manifest last) through the coordinator's
//! presigned grant, reports status, and waits for the next epoch. Crash-safe: restart with
//! the same `--data-dir` after any kill and it resumes.

use super::wallet::WalletArgs;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use resi_client::{ApiClient, ClientConfig};
use resi_miner::{Miner, MinerConfig};
use resi_scraper::manifest::ScraperManifest;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Miner subcommands.
#[derive(Debug, Subcommand)]
pub enum MinerCmd {
    /// Mine: scrape assigned zipcodes every epoch and upload signed submissions.
    ///
    /// Per epoch: GET the assignment, report IN_PROGRESS, scrape zipcodes --concurrency at a
    /// time (each under the epoch deadline and the scraper's timeout), validate and commit
    /// every emitted batch to <data-dir>/miner.sqlite, write listings.parquet + manifest.json
    /// per zipcode, upload them (manifest last) with the /get-folder-access grant, report
    /// COMPLETED with the completed zipcodes.
    ///
    /// Safe to kill at any moment: restarting with the same --data-dir resumes; finished
    /// zipcodes are not scraped again, uploaded files not uploaded again, and listings of an
    /// interrupted zipcode are deduplicated by zpid / mls_id / normalized address.
    /// An unreachable coordinator or object store is retried with backoff until the deadline.
    ///
    /// Examples:
    ///   resi miner run --coordinator http://127.0.0.1:8080 --scraper scrapers/market/scraper.toml
    ///   resi miner run --wallet.name miner --wallet.hotkey default \
    ///       --coordinator https://api.example.org --scraper scraper.toml --concurrency 8
    ///   resi miner run ... --once --upstream-json     # one epoch, also the upstream JSON format
    #[command(verbatim_doc_comment)]
    Run(RunArgs),
}

/// Arguments of `resi miner run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Config file (TOML, keys are this command's flags; `resi config example ROLE` prints
    /// one). Flags and environment variables override it.
    #[arg(long, env = "RESI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    wallet: WalletArgs,
    /// Coordinator base URL.
    #[arg(long, env = "RESI_COORDINATOR", value_name = "URL")]
    coordinator: String,
    /// The scraper manifest (scraper.toml); its wasm must match the manifest's sha256.
    #[arg(long, value_name = "scraper.toml")]
    scraper: PathBuf,
    /// Directory of the miner's state (SQLite). Keep it across restarts.
    #[arg(long, default_value = "~/.resi/miner", value_name = "DIR")]
    data_dir: String,
    /// Zipcodes scraped at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Mine one epoch (or resume it), then exit.
    #[arg(long)]
    once: bool,
    /// Also upload the upstream JSON format (data_{YYYYmmdd_HHMMSS}.json) per zipcode.
    #[arg(long)]
    upstream_json: bool,
    /// Seconds between polls once the current epoch is done.
    #[arg(long, default_value_t = 30)]
    poll_secs: u64,
    /// Scrape attempts per zipcode before giving it up.
    #[arg(long, default_value_t = 3)]
    max_attempts: u32,
    /// Where the scraper's connections go (a local mimic of the source, a test CA).
    #[command(flatten)]
    routing: super::args::RoutingArgs,
    /// Serve Prometheus /metrics and /healthcheck on this address (off by default), e.g.
    /// 127.0.0.1:9101. Listing counts per zipcode, scrapes, uploads, retries, scraper fuel,
    /// memory and time, time from assignment to upload.
    #[arg(long = "metrics-addr", env = "RESI_METRICS_ADDR", value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// On SIGTERM/SIGINT, how long the upload in hand may take to finish before the miner
    /// exits anyway (everything is in <data-dir>/miner.sqlite either way; a restart resumes).
    #[arg(long = "shutdown-timeout", default_value = "30s", value_parser = super::coordinator::parse_duration, value_name = "DURATION")]
    shutdown_timeout: std::time::Duration,
}

/// Runs a miner subcommand.
pub fn run(cmd: MinerCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        MinerCmd::Run(args) => run_miner(args),
    }
}

fn run_miner(args: RunArgs) -> anyhow::Result<ExitCode> {
    let hotkey = args.wallet.load_hotkey()?;
    let coldkey = args
        .wallet
        .location()?
        .coldkey_public()
        .map(|k| k.to_ss58())
        .unwrap_or_else(|e| {
            tracing::warn!(error = %resi_core::error::ErrorChain(&e), "no coldkeypub.txt; signing folder access with the hotkey address as coldkey");
            hotkey.ss58()
        });
    let loaded = ScraperManifest::load(&args.scraper)
        .context("loading the --scraper manifest")?
        .with_routing(args.routing.routing()?);
    let data_dir = resi_core::wallet::expand_tilde(&args.data_dir)?;
    let client = ApiClient::new(ClientConfig::new(&args.coordinator), Some(hotkey.clone()))?;
    let mut cfg = MinerConfig::new(data_dir, coldkey);
    cfg.concurrency = args.concurrency.max(1);
    cfg.once = args.once;
    cfg.upstream_json = args.upstream_json;
    cfg.poll_interval = std::time::Duration::from_secs(args.poll_secs.max(1));
    cfg.max_attempts = args.max_attempts.max(1);
    cfg.progress = std::io::stderr().is_terminal();
    tracing::info!(hotkey = %hotkey.ss58(), coordinator = %args.coordinator, scraper = %loaded.manifest.name, pin = %loaded.pin, "miner starting");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let shutdown = cfg.shutdown.clone();
    let mut registry = resi_ops::metrics::new_registry();
    cfg.metrics.register(&mut registry);
    let registry = std::sync::Arc::new(registry);
    let health = cfg.health.clone();
    let miner = Miner::new(client, hotkey, loaded, cfg)?;
    let grace = args.shutdown_timeout;
    let summaries = runtime.block_on(async {
        shutdown.on_signals().context("installing the SIGTERM/SIGINT handlers")?;
        let _server = match args.metrics_addr {
            Some(addr) => Some(resi_ops::serve(addr, registry, health, axum::Router::new()).await?),
            None => None,
        };
        let run = miner.run();
        tokio::pin!(run);
        tokio::select! {
            r = &mut run => r.map_err(anyhow::Error::from),
            _ = shutdown.wait() => {
                // The miner stops taking work at once; give the work in hand `grace`.
                match tokio::time::timeout(grace, &mut run).await {
                    Ok(r) => r.map_err(anyhow::Error::from),
                    Err(_) => {
                        tracing::warn!(grace_secs = grace.as_secs(), "shutdown: the work in hand did not finish in time; it is in the state database and resumes on the next start");
                        Ok(Vec::new())
                    }
                }
            }
        }
    })?;
    if let Some(reason) = shutdown.reason() {
        for s in &summaries {
            if let Some((_, left)) = &s.stopped {
                println!(
                    "epoch {}: stopped ({reason}): {} zipcodes uploaded, {} left: {}",
                    s.epoch_id,
                    s.uploaded.len(),
                    left.len(),
                    left.iter()
                        .map(|(z, st)| format!("{z} ({st})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        println!("miner stopped ({reason}); restart with the same --data-dir to resume");
        return Ok(ExitCode::SUCCESS);
    }
    let failed = summaries
        .iter()
        .any(|s| !s.failed.is_empty() || s.final_status.as_deref() != Some("COMPLETED"));
    for s in &summaries {
        println!(
            "epoch {}: {} zipcodes uploaded ({} listings), {} failed, status {}",
            s.epoch_id,
            s.uploaded.len(),
            s.uploaded.iter().map(|(_, n)| n).sum::<u64>(),
            s.failed.len(),
            s.final_status.as_deref().unwrap_or("NOT DELIVERED")
        );
        for (z, e) in &s.failed {
            println!("  failed {z}: {e}");
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
