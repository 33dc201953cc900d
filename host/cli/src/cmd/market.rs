//! `resi market`: serve the local listing market, the devnet's stand-in for the real listing
//! sites (a deterministic synthetic universe of homes per zipcode, see the `resi-market` crate).

use anyhow::Context;
use clap::Args;
use resi_market::{Faults, HttpBehavior, MarketConfig, MarketError, NaiveDate, RateLimit};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// What `resi market --help` teaches after the options.
const AFTER_HELP: &str = "\
Every home is derived from sha256(seed || zipcode || index): the same --seed gives the same homes
on every machine. Active STANDARD zipcodes hold --min-listings..=--max-listings homes (by default
at most 1000, like Zillow's search); PO BOX, UNIQUE and MILITARY zipcodes hold none.

Endpoints (JSON):
  GET /health
  GET /api/search?zipcode=19103&page=1&page_size=100    -> {total, total_pages, results: [home]}
  GET /api/homes/{zpid}                                 -> one home (404 if unknown)
  GET /api/zipcodes/{zipcode}                           -> {zipcode, type, city, ..., listings}
  GET /api/zipcodes?zipcodes=19103,10001  (or ?state=PA) -> counts in bulk

To rehearse a hostile site add --latency-ms, --rate-limit (429 + Retry-After) and --fault-rate
(500/502/503 or truncated bodies; which request fails is reproducible from --fault-seed).

With --mimic zillow-rapidapi|redfin the same universe's recent sales are served in that real
source's exact wire format instead (auth, pagination, caps, 429 and error bodies), over TLS with a
throwaway test CA written to --ca-out, so the real scraper component runs against it unchanged:
give the miner (or `resi scraper test`) the --resolve and --ca-cert flags it prints. With
--replay DIR it serves a directory of real captured bodies verbatim instead (layout: see
tests/fixtures/sources/<source>/README.md in the repository).

Examples:
  resi market
  resi market --seed 7 --rate-limit 20/s --fault-rate 0.05
  resi market --max-listings 400 --counts-csv market.csv     # counts for `resi coordinator`
  resi market --mimic zillow-rapidapi --listen 127.0.0.1:8443 --rate-limit 2/s
  resi market --mimic redfin --replay ./captures/redfin
  curl 'http://127.0.0.1:8787/api/search?zipcode=19103&page_size=2'";

/// Serve the local listing market: a deterministic synthetic universe of homes per zipcode,
/// the devnet's stand-in for the real listing sites.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct MarketArgs {
    /// Address to listen on (keep it on loopback unless you mean to expose it).
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Universe seed: same seed, same homes everywhere.
    #[arg(long, default_value_t = 46)]
    seed: u64,
    /// The zipcode table (CSV: zipcode,type,active,city,state,county,lat,lon,timezone);
    /// default: the US table compiled into resi.
    #[arg(long, env = "RESI_ZIPCODES")]
    zipcodes: Option<PathBuf>,
    /// Fewest homes in an active STANDARD zipcode.
    #[arg(long, default_value_t = 200)]
    min_listings: u32,
    /// Most homes in an active STANDARD zipcode (at most 9999; more than 1000 only makes sense
    /// with --mimic, to go past a real source's per-query caps).
    #[arg(long, default_value_t = 1000)]
    max_listings: u32,
    /// The market's "today" (YYYY-MM-DD, or `today`); dates fall in the 90 days before it.
    /// Fixed by default so a seed means the same homes on any day.
    #[arg(long, default_value = "2025-10-01", value_parser = parse_now)]
    now: NaiveDate,
    /// Origin written into each home's source_url [default: http://<listen>].
    #[arg(long)]
    public_url: Option<String>,
    /// Delay before every /api/ answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Token-bucket rate limit of /api/ per client IP: `N/s`, `N/m` or `N` (per second);
    /// over it the answer is 429 with Retry-After. Off by default.
    #[arg(long, value_parser = parse_rate)]
    rate_limit: Option<RateLimit>,
    /// Apply --rate-limit to all clients together instead of per client IP.
    #[arg(long, requires = "rate_limit")]
    global_rate_limit: bool,
    /// Fraction of /api/ answers replaced by a fault (500, 502, 503 or a truncated body).
    #[arg(long, default_value_t = 0.0, value_parser = parse_fraction)]
    fault_rate: f64,
    /// Seed of the fault schedule (which request fails is reproducible).
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// Instead of serving, write `zipcode,expected_listings` for every zipcode of the table
    /// (0 where the market holds no homes) to FILE: the coordinator's `--market-data`.
    #[arg(long, value_name = "FILE")]
    counts_csv: Option<PathBuf>,
    /// With --counts-csv: only these zipcodes (comma separated) instead of the whole table
    /// (with --mimic each count generates every home of the zipcode).
    #[arg(
        long,
        value_delimiter = ',',
        requires = "counts_csv",
        value_name = "ZIPCODES"
    )]
    counts_for: Vec<String>,
    /// Serve the universe in a real source's wire format: zillow-rapidapi or redfin.
    #[arg(long, value_name = "SOURCE", value_parser = parse_source)]
    mimic: Option<resi_market::mimic::Source>,
    /// With --mimic: serve the captured bodies in DIR verbatim instead of the universe.
    #[arg(long, value_name = "DIR", requires = "mimic")]
    replay: Option<PathBuf>,
    /// With --mimic: the API key requests must carry (zillow-rapidapi's X-RapidAPI-Key).
    #[arg(long, default_value = "resi-mimic-key", requires = "mimic")]
    api_key: String,
    /// With --mimic: requests served before every further one gets the monthly-quota answer.
    #[arg(long, value_name = "N", requires = "mimic")]
    monthly_quota: Option<u64>,
    /// With --mimic: answer 429 without a Retry-After header (both are seen from real services).
    #[arg(long, requires = "mimic")]
    no_retry_after: bool,
    /// With --mimic: sales within this many days before --now are the recent sales served.
    #[arg(long, default_value_t = 90, requires = "mimic")]
    sold_within_days: u32,
    /// With --mimic: serve plain HTTP instead of TLS.
    #[arg(long, requires = "mimic")]
    no_tls: bool,
    /// With --mimic: where to write the test CA certificate (PEM) for --ca-cert.
    #[arg(long, default_value = "./resi-mimic-ca.pem", requires = "mimic")]
    ca_out: PathBuf,
}

fn parse_source(s: &str) -> Result<resi_market::mimic::Source, String> {
    resi_market::mimic::Source::parse(s).map_err(|e| e.to_string())
}

fn parse_now(s: &str) -> Result<NaiveDate, String> {
    resi_market::parse_now(s).map_err(|e| e.to_string())
}

fn parse_rate(s: &str) -> Result<RateLimit, String> {
    RateLimit::parse(s).map_err(|e| e.to_string())
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!(
            "expected a fraction between 0.0 and 1.0, got {s:?}"
        )),
    }
}

impl MarketArgs {
    /// The market configuration these arguments describe.
    pub fn config(&self) -> MarketConfig {
        let rate_limit = self.rate_limit.map(|r| RateLimit {
            per_client: !self.global_rate_limit,
            ..r
        });
        MarketConfig {
            seed: self.seed,
            zipcodes_path: self.zipcodes.clone(),
            min_listings: self.min_listings,
            max_listings: self.max_listings,
            now: self.now,
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.listen)),
            http: HttpBehavior {
                latency: Duration::from_millis(self.latency_ms),
                rate_limit,
                faults: Faults {
                    rate: self.fault_rate,
                    seed: self.fault_seed,
                },
            },
        }
    }
}

/// Builds the market; an unreadable or malformed table is blamed on `--zipcodes`.
fn market(config: MarketConfig) -> anyhow::Result<resi_market::Market> {
    resi_market::Market::new(config).map_err(|e| {
        let context = match e {
            MarketError::ReadZipcodes { .. } | MarketError::BadZipcodeRow { .. } => {
                "loading the market's --zipcodes table"
            }
            _ => "loading the market",
        };
        anyhow::Error::new(e).context(context)
    })
}

/// Writes the market's count of every zipcode as the coordinator's market-data CSV.
/// With `mimic_days`, the count is the recent sales a source mimic serves.
fn write_counts(
    config: MarketConfig,
    path: &std::path::Path,
    mimic_days: Option<u32>,
    only: &[String],
) -> anyhow::Result<ExitCode> {
    use std::fmt::Write as _;
    let market = market(config)?;
    let mut out = String::from("zipcode,expected_listings\n");
    let (mut zipcodes, mut homes) = (0u64, 0u64);
    for z in market
        .zipcodes()
        .iter()
        .filter(|z| only.is_empty() || only.iter().any(|o| o == &z.zipcode))
    {
        let n = match mimic_days {
            Some(days) => resi_market::mimic::recent_sales(&market, &z.zipcode, days).len() as u32,
            None => market.count(&z.zipcode),
        };
        let _ = writeln!(out, "{},{n}", z.zipcode);
        zipcodes += 1;
        homes += u64::from(n);
    }
    std::fs::write(path, out)
        .with_context(|| format!("writing the --counts-csv file {}", path.display()))?;
    println!(
        "wrote {}: {zipcodes} zipcodes, {homes} homes",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Serves the market until Ctrl-C (or writes `--counts-csv` and exits).
pub fn run(args: MarketArgs) -> anyhow::Result<ExitCode> {
    let config = args.config();
    if let Some(path) = &args.counts_csv {
        return write_counts(
            config,
            path,
            args.mimic.map(|_| args.sold_within_days),
            &args.counts_for,
        );
    }
    if let Some(source) = args.mimic {
        return serve_mimic(&args, source, config);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (seed, zipcodes) = (config.seed, config.zipcodes_path.clone());
        // Its errors name the address: "market server on 127.0.0.1:8787: Address in use".
        let server = resi_market::serve_market(Arc::new(market(config)?), args.listen).await?;
        println!(
            "market: seed {seed}, {} zipcodes from {}, listening on {}; Ctrl-C to stop",
            server.market().zipcodes().len(),
            zipcodes
                .as_deref()
                .map_or(resi_zipdata::ORIGIN.to_string(), |p| p
                    .display()
                    .to_string()),
            server.base_url()
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        server.shutdown().await.context("stopping the market")?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Serves `source`'s mimic until Ctrl-C.
fn serve_mimic(
    args: &MarketArgs,
    source: resi_market::mimic::Source,
    config: MarketConfig,
) -> anyhow::Result<ExitCode> {
    use resi_market::mimic::{self, MimicData, MimicOptions, MimicState, tls::TestCa};
    let data = match &args.replay {
        Some(dir) => {
            anyhow::ensure!(
                dir.is_dir(),
                "--replay {}: not a directory of captured bodies",
                dir.display()
            );
            MimicData::Replay(dir.clone())
        }
        None => MimicData::Synthetic(Arc::new(market(config)?)),
    };
    let options = MimicOptions {
        api_key: args.api_key.clone(),
        rate_limit: args.rate_limit,
        retry_after: !args.no_retry_after,
        monthly_quota: args.monthly_quota,
        sold_within_days: args.sold_within_days,
    };
    let ca = if args.no_tls {
        None
    } else {
        let ca = TestCa::generate()?;
        std::fs::write(&args.ca_out, ca.ca_pem())
            .with_context(|| format!("writing the --ca-out file {}", args.ca_out.display()))?;
        Some(ca)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let state = MimicState::new(data, options);
        let server = mimic::serve(source, state, args.listen, ca.as_ref()).await?;
        let what = match &args.replay {
            Some(dir) => format!("captured bodies in {}", dir.display()),
            None => format!("seed {} recent sales", args.seed),
        };
        println!(
            "mimic of {source} ({what}) listening on {}://{}; Ctrl-C to stop",
            if ca.is_some() { "https" } else { "http" },
            server.addr()
        );
        if ca.is_some() {
            println!(
                "point a scraper at it with: --resolve {}={} --ca-cert {}",
                source.host(),
                server.addr(),
                args.ca_out.display()
            );
        }
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
