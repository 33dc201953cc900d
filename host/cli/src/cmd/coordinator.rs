//! `resi coordinator`: run the SN46 coordinator (epochs, assignments, signed API, store grants).

use anyhow::{Context, bail};
use clap::Args;
use resi_coordinator::{
    CoordinatorConfig, CsvMarketData, ExpectedCounts, RateLimits, StoreConfig, ZipTable,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Run the coordinator: every epoch it draws zipcodes (weighted by expected listings, inside
/// target +- tolerance, with a 24 h cooldown and 5-10% honeypots), publishes them with a nonce and
/// a validation-seed commitment, serves the signed SN46 API (miners: /current, /status,
/// /get-folder-access; validators: /epoch/{id}, read and upload grants) and hands out object-store
/// grants confined to each miner's `data/hotkey={hotkey}/` folder.
///
/// Examples:
///   resi coordinator --market-data market.csv                       # production 4 h epochs, local store
///   resi coordinator --epoch-length 60s --market-data market.csv --data-dir /tmp/coord
///   resi coordinator --s3-endpoint http://127.0.0.1:5055 --s3-bucket resi --s3-path-style ...
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct CoordinatorArgs {
    /// Config file (TOML, keys are this command's flags; `resi config example ROLE` prints
    /// one). Flags and environment variables override it.
    #[arg(long, env = "RESI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8700")]
    pub listen: SocketAddr,
    /// URL clients reach this server at (put into local-store upload grants); default http://LISTEN.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Directory of the coordinator's SQLite state (epochs, nonces, seeds, secrets, replay and
    /// rate-limit state). Restarting with the same directory changes nothing for clients.
    #[arg(long, default_value = ".resi/coordinator")]
    pub data_dir: PathBuf,
    /// Epoch length: 4h in production; seconds-long epochs (60s, 10m) for development. Must
    /// divide a day for epochs to start at 00:00 UTC.
    #[arg(long, default_value = "4h", value_parser = parse_duration)]
    pub epoch_length: Duration,
    /// The zipcode table (CSV: zipcode,type,active,city,state,county,lat,lon,timezone);
    /// default: the US table compiled into resi.
    #[arg(long, env = "RESI_ZIPCODES")]
    pub zipcodes: Option<PathBuf>,
    /// Expected listings per zipcode: CSV `zipcode,expected_listings[,market_tier]`
    /// (market_tier PREMIUM/STANDARD/EMERGING; derived from the count when absent).
    #[arg(long)]
    pub market_data: PathBuf,
    /// Object store: `local:DIR` (default: DATA_DIR/store). Use the --s3-* options for S3.
    #[arg(long, conflicts_with = "s3_bucket")]
    pub store: Option<String>,
    /// S3 store options.
    #[command(flatten)]
    pub s3: super::s3::S3Args,
    /// Chain for registrations and validator permits: `local:PATH` (the embedded local chain;
    /// default ~/.resi/local-chain.sqlite).
    #[arg(long, conflicts_with = "network")]
    pub chain: Option<String>,
    /// Or a subtensor node (finney, test, ws(s)://...) to check registrations on.
    #[command(flatten)]
    pub subtensor: super::args::SubtensorArg,
    /// Subnet whose registrations are checked.
    #[arg(long, default_value_t = 46)]
    pub netuid: u16,
    /// Target total of expected listings per epoch (5,000..15,000).
    #[arg(long, default_value_t = 10_000)]
    pub target_listings: u32,
    /// Tolerance around the target, percent.
    #[arg(long, default_value_t = 10)]
    pub tolerance_percent: u32,
    /// Smallest expected listings of an assigned zipcode.
    #[arg(long, default_value_t = 200)]
    pub min_listings: u32,
    /// Largest expected listings of an assigned zipcode.
    #[arg(long, default_value_t = 3000)]
    pub max_listings: u32,
    /// Hours before a zipcode may be assigned again.
    #[arg(long, default_value_t = 24)]
    pub cooldown_hours: u32,
    /// Smallest object miners may upload (the protocol's 1024; lower for development).
    #[arg(long, default_value_t = 1024)]
    pub min_upload_bytes: u64,
    /// Multiply every documented rate limit by this factor (development, load tests).
    #[arg(long, default_value_t = 1)]
    pub rate_limit_factor: u32,
}

/// Parses `4h`, `90m`, `60s` or plain seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 's')) => (&s[..i], 1),
        _ => (s, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 4h, 10m or 60s"))?;
    if n == 0 {
        return Err("duration must be positive".into());
    }
    Ok(Duration::from_secs(n * mult))
}

impl CoordinatorArgs {
    fn config(&self) -> anyhow::Result<CoordinatorConfig> {
        let mut c = CoordinatorConfig::new(&self.data_dir);
        c.listen = self.listen;
        c.public_url = self.public_url.clone();
        c.epoch_length_secs =
            u32::try_from(self.epoch_length.as_secs()).context("--epoch-length is too long")?;
        c.netuid = self.netuid;
        c.selection.target_listings = self.target_listings;
        c.selection.tolerance_percent = self.tolerance_percent;
        c.selection.min_listings = self.min_listings;
        c.selection.max_listings = self.max_listings;
        c.cooldown_hours = self.cooldown_hours;
        c.miner_upload_min_bytes = self.min_upload_bytes;
        c.rate_limits = RateLimits::default().scaled(self.rate_limit_factor.max(1));
        c.store = match (self.s3.config(), &self.store) {
            (Some(s3), _) => StoreConfig::S3(s3),
            (None, Some(spec)) => match spec.strip_prefix("local:") {
                Some(dir) => StoreConfig::Local(PathBuf::from(dir)),
                None => bail!("--store {spec:?}: expected local:DIR (use --s3-bucket for S3)"),
            },
            (None, None) => StoreConfig::Local(self.data_dir.join("store")),
        };
        Ok(c)
    }

    fn chain_path(&self) -> anyhow::Result<PathBuf> {
        match &self.chain {
            None => Ok(resi_chain::local::default_db_path()),
            Some(spec) => match spec.strip_prefix("local:") {
                Some(p) => Ok(PathBuf::from(p)),
                None => bail!("--chain {spec:?}: expected local:PATH"),
            },
        }
    }
}

/// Runs `resi coordinator` until SIGTERM or SIGINT (Ctrl-C).
pub fn run(args: CoordinatorArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let table = match &args.zipcodes {
        Some(path) => ZipTable::load(path).context("--zipcodes")?,
        None => ZipTable::embedded()?,
    };
    let counts: Arc<dyn ExpectedCounts> =
        Arc::new(CsvMarketData::load(&args.market_data).context("loading the --market-data file")?);
    let chain_path = args.chain_path()?;
    let chain = args.subtensor.open(&chain_path, "--chain local:")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let rows = table.rows.len();
        let running = resi_coordinator::serve(config.clone(), Arc::new(table), counts, chain)
            .await
            .context("starting the coordinator")?;
        println!(
            "coordinator: {rows} zipcodes, {}-second epochs, target {} listings, data in {}, listening on {}; Ctrl-C or SIGTERM to stop",
            config.epoch_length_secs,
            config.selection.target_listings,
            config.data_dir.display(),
            running.url()
        );
        let shutdown = resi_ops::Shutdown::new();
        shutdown
            .on_signals()
            .context("installing the SIGTERM/SIGINT handlers")?;
        shutdown.wait().await;
        // Requests in flight are answered (each is bounded by --request-timeout); every write is
        // an SQLite transaction, so nothing is half-stored either way.
        running.shutdown().await;
        println!(
            "coordinator stopped ({}); state in {}",
            shutdown.reason().unwrap_or_default(),
            config.data_dir.display()
        );
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("4h"), Ok(Duration::from_secs(14_400)));
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("0s").is_err() && parse_duration("x").is_err());
    }
}
