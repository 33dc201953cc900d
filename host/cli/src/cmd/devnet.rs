//! `resi devnet`: one epoch of the subnet on this machine, on embedded defaults.
//!
//! What runs today: the local synthetic market on loopback; miners that scrape their assigned
//! zipcodes with the real `market-scraper` component through the manifest gate (the market's
//! IP literal is the only allowlisted origin); optional adversaries (a fabricator, a duplicator,
//! a late miner and a honeypot abuser); and a validator that scores the epoch with the released,
//! sha256-pinned `zipcode-competitive` policy, answering its spot checks with the scraper's
//! `verify` against the market. It prints the weights and the consensus hashes.
//! `--services` runs the full composition instead (chain, market, object store, coordinator,
//! miners and validators over real short epochs): see [`super::devnet_services`].

use anyhow::{Context, bail};
use clap::Args;
use resi_policy::hash::sha256;
use resi_policy::{ObserveError, Observer, Release, WasmBackend, run_epoch};
use resi_sandbox::Sha256Pin;
use resi_sandbox::policy::wit as pw;
use resi_sandbox::policy::{PolicyEngine, PolicyEngineOptions};
use resi_sandbox::scraper::wit as sw;
use resi_sandbox::scraper::{Scraper, ScraperEngine, ScraperEngineOptions};
use resi_scraper::manifest::NetworkSection;
use resi_scraper::{HttpGate, ManifestHost, MemorySink};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of the local devnet.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  cargo xtask devnet -- --adversaries\n  cargo xtask devnet -- --services --epochs 2 --epoch-secs 60"
)]
pub struct DevnetArgs {
    /// Directory holding the built guest components (`cargo xtask guests` writes guests/dist).
    #[arg(long, env = "RESI_GUESTS_DIR", default_value = "guests/dist")]
    guests: PathBuf,
    /// Released policy directory (policy.toml + policy.wasm, pinned by sha256).
    #[arg(long, default_value = "policies/zipcode-competitive/1.0.0")]
    policy: PathBuf,
    /// US zipcode table.
    #[arg(long, default_value = "../shared/data/us-zipcodes.csv")]
    zipcodes: PathBuf,
    /// Number of honest miners (they submit one minute apart).
    #[arg(long, default_value_t = 3)]
    miners: u32,
    /// Add a fabricator, a duplicator, a late miner and a honeypot abuser.
    #[arg(long)]
    adversaries: bool,
    /// Market universe seed.
    #[arg(long, default_value_t = 46)]
    seed: u64,
    /// Also write the outcome as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The full composition over real short epochs (`--services` and its options).
    #[command(flatten)]
    services: super::devnet_services::ServicesArgs,
}

const ZIPCODES: [&str; 4] = ["19103", "10001", "94105", "60614"];
const HONEYPOT: &str = "00501";
const EPOCH_ID: &str = "2025-10-01T16-00-00";
const DEADLINE_MS: u64 = 1_759_348_800_000;

fn to_policy(l: sw::Listing) -> pw::Listing {
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

/// Spot checks through the verifier (`market-scraper`'s `verify`) against the market.
struct VerifierObserver<'a> {
    runtime: &'a tokio::runtime::Runtime,
    scraper: Scraper<ManifestHost<MemorySink>>,
    network: NetworkSection,
    config: Vec<(String, String)>,
}

impl Observer for VerifierObserver<'_> {
    fn observe(
        &mut self,
        _zipcode: &str,
        requests: &[pw::CheckRequest],
    ) -> Result<Vec<pw::Observed>, ObserveError> {
        let mut out = Vec::with_capacity(requests.len());
        for r in requests {
            let gate = HttpGate::new("verifier", &self.network, BTreeMap::new())
                .map_err(|e| ObserveError(e.to_string()))?;
            let host = ManifestHost::new("verifier", gate, MemorySink::default(), 0);
            let target = sw::ListingRef {
                zpid: r.target.zpid.clone(),
                mls_id: r.target.mls_id.clone(),
                zipcode: r.target.zipcode.clone(),
                address: r.target.address.clone(),
                source_url: r.target.source_url.clone(),
            };
            let run = self
                .runtime
                .block_on(self.scraper.verify(host, &target, &self.config));
            out.push(match run.result {
                Ok(sw::Verification::Found(l)) => pw::Observed::Found(to_policy(l)),
                Ok(sw::Verification::NotFound) => pw::Observed::NotFound,
                Err(_) => pw::Observed::Unverifiable,
            });
        }
        Ok(out)
    }
}

/// Runs the devnet.
pub fn run(args: DevnetArgs) -> anyhow::Result<ExitCode> {
    if args.services.services {
        return super::devnet_services::run(super::devnet_services::Inputs {
            guests: args.guests,
            policy: args.policy,
            zipcodes: args.zipcodes,
            miners: args.miners,
            seed: args.seed,
            services: args.services,
        });
    }
    let scraper_path = args.guests.join("market-scraper.wasm");
    let scraper_bytes = std::fs::read(&scraper_path).with_context(|| {
        format!(
            "reading {} (build the guests: cargo xtask guests)",
            scraper_path.display()
        )
    })?;
    let release = Release::load(&args.policy)
        .with_context(|| format!("loading the policy release {}", args.policy.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    // The listing source: the local market on loopback.
    let config = resi_market::MarketConfig {
        seed: args.seed,
        zipcodes_path: args.zipcodes.clone(),
        ..resi_market::MarketConfig::default()
    };
    let market = runtime
        .block_on(resi_market::serve(config, "127.0.0.1:0".parse()?))
        .context("starting the local market")?;
    let base_url = market.base_url();
    let network = NetworkSection {
        allow: vec![base_url.clone()],
        requests_per_second: 1000.0,
        burst: 1000,
        ..NetworkSection::default()
    };
    let scraper_config = vec![("base_url".to_string(), base_url.clone())];
    println!(
        "devnet: market at {base_url}, policy {} {} ({})",
        release.manifest.name, release.manifest.version, release.manifest.wasm_sha256
    );

    // Assignments: four real zipcodes with the market's counts, one honeypot with none.
    let mut assignments = Vec::new();
    for zip in ZIPCODES {
        let expected = market.market().count(zip);
        if expected == 0 {
            bail!("zipcode {zip} holds no homes in this market; pick another seed");
        }
        assignments.push(pw::Assignment {
            zipcode: zip.into(),
            expected,
            honeypot: false,
            true_count: 0,
        });
    }
    assignments.push(pw::Assignment {
        zipcode: HONEYPOT.into(),
        expected: 240,
        honeypot: true,
        true_count: market.market().count(HONEYPOT),
    });

    // Miners scrape through the sandboxed market scraper.
    let engine = ScraperEngine::<ManifestHost<MemorySink>>::new(ScraperEngineOptions::default())?;
    let scraper = engine.load(&scraper_bytes)?;
    let mut scraped: BTreeMap<String, Vec<pw::Listing>> = BTreeMap::new();
    for a in assignments.iter().filter(|a| !a.honeypot) {
        let gate = HttpGate::new("market", &network, BTreeMap::new())?;
        let host = ManifestHost::new("market", gate, MemorySink::default(), 5_000);
        let task = sw::Task {
            epoch_id: EPOCH_ID.into(),
            zipcode: a.zipcode.clone(),
            expected: a.expected,
            deadline_ms: u64::MAX,
            config: scraper_config.clone(),
        };
        let run = runtime.block_on(scraper.scrape(host, &task));
        run.result
            .with_context(|| format!("scraping {}", a.zipcode))?;
        println!(
            "  scraped {:>4} listings of {} in {:.2?} ({} requests)",
            run.host.sink.listings.len(),
            a.zipcode,
            run.elapsed,
            run.host.requests
        );
        scraped.insert(
            a.zipcode.clone(),
            run.host.sink.listings.into_iter().map(to_policy).collect(),
        );
    }
    let mut per_zip: BTreeMap<String, Vec<pw::Submission>> = BTreeMap::new();
    let submit = |per_zip: &mut BTreeMap<String, Vec<pw::Submission>>,
                  hotkey: &str,
                  zip: &str,
                  at: u64,
                  listings: Vec<pw::Listing>| {
        let digest = sha256(format!("{hotkey}/{zip}/{}", listings.len()).as_bytes()).to_vec();
        per_zip
            .entry(zip.to_string())
            .or_default()
            .push(pw::Submission {
                hotkey: hotkey.into(),
                submitted_at_ms: at,
                manifest_ok: true,
                digest,
                listings,
            });
    };
    let base_time = DEADLINE_MS - 3 * 3_600_000;
    for m in 0..args.miners {
        for (zip, listings) in &scraped {
            submit(
                &mut per_zip,
                &format!("honest-{m}"),
                zip,
                base_time + u64::from(m) * 60_000,
                listings.clone(),
            );
        }
    }
    if args.adversaries {
        for (zip, listings) in &scraped {
            // Fabricator: every listing's id is made up, so spot checks come back not-found.
            let fake: Vec<pw::Listing> = listings
                .iter()
                .map(|l| pw::Listing {
                    zpid: l.zpid.as_ref().map(|z| format!("9{z}")),
                    mls_id: None,
                    ..l.clone()
                })
                .collect();
            submit(&mut per_zip, "fabricator", zip, base_time - 60_000, fake);
            // Duplicator: pads its file with repeats of the same listings.
            let mut dup = listings[..listings.len() / 2].to_vec();
            dup.extend_from_slice(&listings[..listings.len() - dup.len()]);
            submit(&mut per_zip, "duplicator", zip, base_time - 30_000, dup);
            // Late miner: honest data, after the deadline and its grace.
            submit(
                &mut per_zip,
                "late",
                zip,
                DEADLINE_MS + 3_600_000,
                listings.clone(),
            );
        }
        // Honeypot abuser: honest elsewhere, invents homes for the honeypot zipcode.
        for (zip, listings) in &scraped {
            submit(
                &mut per_zip,
                "honeypot-abuser",
                zip,
                base_time + 30_000,
                listings.clone(),
            );
        }
        let invented: Vec<pw::Listing> = scraped
            .values()
            .next()
            .map(|l| {
                l.iter()
                    .take(240)
                    .map(|l| pw::Listing {
                        zipcode: HONEYPOT.into(),
                        ..l.clone()
                    })
                    .collect()
            })
            .unwrap_or_default();
        submit(
            &mut per_zip,
            "honeypot-abuser",
            HONEYPOT,
            base_time,
            invented,
        );
    }

    let epoch = pw::Epoch {
        epoch_id: EPOCH_ID.into(),
        nonce: "376ce532f42cf2a5".into(),
        validation_seed: sha256(b"devnet validation seed").to_vec(),
        deadline_ms: DEADLINE_MS,
    };
    let zipcodes = assignments
        .iter()
        .map(|a| resi_policy::input::ZipcodeInput {
            assignment: a.clone(),
            submissions: per_zip.remove(&a.zipcode).unwrap_or_default(),
        })
        .collect();
    let epoch_run = resi_policy::EpochRun { epoch, zipcodes };
    let pin: Sha256Pin = release
        .manifest
        .wasm_sha256
        .parse()
        .context("policy.toml wasm_sha256")?;
    let policy =
        PolicyEngine::new(PolicyEngineOptions::default())?.load_pinned(&release.wasm, &pin)?;
    let backend = WasmBackend::new(policy);
    let mut observer = VerifierObserver {
        runtime: &runtime,
        scraper,
        network,
        config: scraper_config,
    };
    let report = run_epoch(
        &backend,
        &release.manifest.default_params,
        &epoch_run,
        &mut observer,
    )?;

    println!("\n{:<18} {:>12}  flags", "miner", "weight (ppb)");
    let mut miners = report.outcome.miners.clone();
    miners.sort_by(|a, b| b.ppb.cmp(&a.ppb).then(a.hotkey.cmp(&b.hotkey)));
    for m in &miners {
        println!("{:<18} {:>12}  {}", m.hotkey, m.ppb, m.flags.join(","));
    }
    println!("\noutcome hash {}", hex::encode(report.outcome_hash));
    println!("input hash   {}", hex::encode(report.input_hash));
    println!(
        "spot checks  {}  policy fuel {}  policy time {:.2?}",
        report.observations,
        report.total_fuel(),
        report.total_time()
    );
    if let Some(path) = &args.json {
        let value = serde_json::json!({
            "epoch_id": EPOCH_ID,
            "outcome_hash": hex::encode(report.outcome_hash),
            "input_hash": hex::encode(report.input_hash),
            "outcome": serde_json::from_str::<serde_json::Value>(report.canonical_outcome())?,
        });
        std::fs::write(path, serde_json::to_string_pretty(&value)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    runtime.block_on(market.shutdown())?;
    Ok(ExitCode::SUCCESS)
}
