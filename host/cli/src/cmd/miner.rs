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
    let miner = Miner::new(client, hotkey, loaded, cfg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let summaries = runtime.block_on(miner.run())?;
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
