//! `resi devnet`: the whole subnet on one machine.
//!
//! Until the coordinator, miner and validator services land, this runs the sandbox path of an
//! epoch end to end in one process: three miners run the example scraper component on a few
//! zipcodes (listings streamed through `emit`), and the example policy component scores the
//! submissions into weights, printed as a table.

use anyhow::Context;
use clap::Args;
use resi_sandbox::policy::wit as pw;
use resi_sandbox::policy::{PolicyEngine, PolicyEngineOptions};
use resi_sandbox::scraper::wit as sw;
use resi_sandbox::scraper::{HostAbort, ScraperEngine, ScraperEngineOptions, ScraperHost};
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of the local devnet.
#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Directory holding the built guest components (`cargo xtask guests` writes guests/dist).
    #[arg(long, env = "RESI_GUESTS_DIR", default_value = "guests/dist")]
    guests: PathBuf,
    /// Number of miners.
    #[arg(long, default_value_t = 3)]
    miners: u32,
}

#[derive(Default)]
struct Collect(Vec<sw::Listing>);

impl ScraperHost for Collect {
    async fn fetch(&mut self, request: sw::Request) -> Result<sw::Response, sw::FetchError> {
        Err(sw::FetchError::NotAllowed(request.url))
    }
    async fn emit(&mut self, batch: Vec<sw::Listing>) -> Result<(), HostAbort> {
        self.0.extend(batch);
        Ok(())
    }
    fn log(&mut self, _level: sw::Level, message: String) {
        tracing::info!(target: "scraper", "{message}");
    }
}

fn to_policy_listing(l: sw::Listing) -> pw::Listing {
    pw::Listing {
        zpid: l.zpid,
        mls_id: l.mls_id,
        address: l.address,
        zipcode: l.zipcode,
        price: l.price,
        bedrooms: l.bedrooms,
        bathrooms_hundredths: l.bathrooms_hundredths,
        sqft: l.sqft,
        listing_date: l.listing_date,
        property_type: l.property_type,
        listing_status: l.listing_status,
        days_on_market: l.days_on_market,
        source_url: l.source_url,
        scraped_timestamp: l.scraped_timestamp,
    }
}

/// Runs the devnet.
pub fn run(args: DevnetArgs) -> anyhow::Result<ExitCode> {
    let read = |name: &str| {
        let path = args.guests.join(format!("{name}.wasm"));
        std::fs::read(&path).with_context(|| {
            format!(
                "reading {} (build the guests: cargo xtask guests)",
                path.display()
            )
        })
    };
    let scraper_bytes = read("example-scraper")?;
    let policy_bytes = read("example-policy")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let zipcodes = [("19103", 250u32), ("10001", 400), ("94105", 300)];
    let scrapers = ScraperEngine::<Collect>::new(ScraperEngineOptions::default())?;
    let scraper = scrapers.load(&scraper_bytes)?;
    println!(
        "devnet: {} miners x {} zipcodes, example scraper {}",
        args.miners,
        zipcodes.len(),
        scraper.sha256()
    );
    let mut per_zip: Vec<(pw::Assignment, Vec<pw::Submission>)> = Vec::new();
    for (zip, expected) in zipcodes {
        let mut submissions = Vec::new();
        for m in 0..args.miners {
            let task = sw::Task {
                epoch_id: "devnet-0".into(),
                zipcode: zip.into(),
                expected: expected - m * 10,
                deadline_ms: u64::MAX,
                config: Vec::new(),
            };
            let run = runtime.block_on(scraper.scrape(Collect::default(), &task));
            run.result
                .with_context(|| format!("miner-{m} scraping {zip}"))?;
            submissions.push(pw::Submission {
                hotkey: format!("miner-{m}"),
                submitted_at_ms: u64::from(m) * 1000,
                manifest_ok: true,
                digest: vec![0; 32],
                listings: run.host.0.into_iter().map(to_policy_listing).collect(),
            });
        }
        let assignment = pw::Assignment {
            zipcode: zip.into(),
            expected,
            honeypot: false,
            true_count: 0,
        };
        per_zip.push((assignment, submissions));
    }
    let policy = PolicyEngine::new(PolicyEngineOptions::default())?.load(&policy_bytes)?;
    let epoch = pw::Epoch {
        epoch_id: "devnet-0".into(),
        nonce: "0000000000000000".into(),
        validation_seed: vec![0; 32],
        deadline_ms: u64::MAX,
    };
    let total: u64 = zipcodes.iter().map(|(_, e)| u64::from(*e)).sum();
    let mut results = Vec::new();
    for (assignment, submissions) in &per_zip {
        results.push(
            policy
                .score_zipcode("{}", &epoch, assignment, total, submissions, &[])?
                .value,
        );
    }
    let outcome = policy.finalize("{}", &epoch, &results)?;
    println!("{:<10} {:>12}", "miner", "weight (ppb)");
    for m in &outcome.value.miners {
        println!("{:<10} {:>12}", m.hotkey, m.ppb);
    }
    println!(
        "policy {} used {} fuel in finalize",
        policy.sha256(),
        outcome.fuel_used
    );
    Ok(ExitCode::SUCCESS)
}
