//! `resi scraper test`: run a scraper component locally under its manifest and show what it
//! found, whether each listing is valid, and what it cost (fuel, memory, time, requests).

use crate::cmd::args::RoutingArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use resi_core::listing::Listing;
use resi_sandbox::scraper::wit::Task;
use resi_sandbox::scraper::{ScraperEngine, ScraperEngineOptions};
use resi_scraper::manifest::ScraperManifest;
use resi_scraper::{HttpGate, ManifestHost, MemorySink};
use std::path::PathBuf;
use std::process::ExitCode;

/// Scraper subcommands.
#[derive(Debug, Subcommand)]
pub enum ScraperCmd {
    /// Run a scraper on one zipcode and print its listings with a validation report.
    ///
    /// The scraper runs exactly as the miner runs it: the wasm is checked against the
    /// manifest's sha256, the network goes through the manifest's allowlist, limits apply.
    /// Secrets are read from RESI_SECRET_<NAME>.
    ///
    /// Exit status: 0 when the scrape finished and every listing is valid, 1 otherwise.
    ///
    /// Examples:
    ///   resi scraper test scrapers/market/scraper.toml --zipcode 19103
    ///   resi scraper test scraper.toml --zipcode 10001 --expected 400 --json > out.json
    #[command(verbatim_doc_comment)]
    Test(TestArgs),
    /// Count the recently sold listings a scraper finds per zipcode and write the coordinator's
    /// market-data CSV (`zipcode,expected_listings`, for `resi coordinator --market-data`).
    ///
    /// Each zipcode is scraped exactly as a miner would (same component, allowlist, limits,
    /// secrets from RESI_SECRET_<NAME>); the count is the listings that are valid and distinct
    /// (what an honest miner can deliver). Zipcodes that fail are listed and left out of the
    /// file; the exit status is then 1. Progress goes to stderr.
    ///
    /// Examples:
    ///   resi scraper count zillow.toml --zipcodes 10001,30309 --out market.csv
    ///   resi scraper count redfin.toml --zipcodes-file candidates.txt --out market.csv
    #[command(verbatim_doc_comment)]
    Count(CountArgs),
    /// Create a scraper project: source, scraper.toml, the WIT, README and test.sh.
    ///
    /// Python projects are the Python market scraper with resi's Python SDK (resi_scraper.py:
    /// requests with retries and Retry-After, batches, listing helpers), built with
    /// componentize-py; Rust projects use wit-bindgen and build for wasm32-wasip2. Both scrape
    /// `resi market` as they are: build, test, then change them for your source.
    ///
    /// Examples:
    ///   resi scraper new my-scraper                      # Python, in ./my-scraper
    ///   resi scraper new my-scraper --lang rust --dir scrapers/mine
    ///   cd my-scraper && ./test.sh                       # build + scrape resi market once
    #[command(verbatim_doc_comment)]
    New(super::scraper_project::NewArgs),
    /// Build a scraper project (Python: componentize-py; Rust: cargo for wasm32-wasip2) and
    /// write the component's sha256 into its scraper.toml.
    ///
    /// Examples:
    ///   resi scraper build                 # the project in the current folder
    ///   resi scraper build my-scraper --componentize-py ~/.venv/bin/componentize-py
    #[command(verbatim_doc_comment)]
    Build(super::scraper_project::BuildArgs),
}

/// Arguments of `resi scraper count`.
#[derive(Debug, Args)]
pub struct CountArgs {
    /// The scraper manifest (scraper.toml).
    manifest: PathBuf,
    /// Zipcodes to count, comma separated.
    #[arg(long, value_delimiter = ',', required_unless_present = "zipcodes_file")]
    zipcodes: Vec<String>,
    /// A file of zipcodes: one per line, or a CSV whose first column is the zipcode (a header
    /// line and `#` comments are skipped).
    #[arg(long, value_name = "FILE")]
    zipcodes_file: Option<PathBuf>,
    /// Where to write the CSV.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    routing: RoutingArgs,
}

/// Arguments of `resi scraper test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The scraper manifest (scraper.toml).
    manifest: PathBuf,
    /// Zipcode to scrape.
    #[arg(long)]
    zipcode: String,
    /// Expected listing count handed to the scraper (as the coordinator would).
    #[arg(long, default_value_t = 250)]
    expected: u32,
    /// Print JSON (listings, per-listing reasons, usage) instead of a table.
    #[arg(long)]
    json: bool,
    /// Table rows to print (all listings are validated regardless).
    #[arg(long, default_value_t = 20)]
    rows: usize,
    #[command(flatten)]
    routing: RoutingArgs,
}

/// Runs a scraper subcommand.
pub fn run(cmd: ScraperCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ScraperCmd::Test(args) => test(args),
        ScraperCmd::Count(args) => count(args),
        ScraperCmd::New(args) => super::scraper_project::new(args),
        ScraperCmd::Build(args) => super::scraper_project::build(args),
    }
}

fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        resi_core::listing::is_zipcode(&args.zipcode),
        "--zipcode {:?} is not 5 digits",
        args.zipcode
    );
    // Its errors name the file: "reading scraper.toml: No such file or directory".
    let loaded = ScraperManifest::load(&args.manifest)
        .context("loading the scraper")?
        .with_routing(args.routing.routing()?);
    let m = &loaded.manifest;
    let engine = ScraperEngine::<ManifestHost<MemorySink>>::new(ScraperEngineOptions::default())?;
    let scraper = loaded.instantiate(&engine)?;
    let gate = HttpGate::for_scraper(&loaded)?;
    let host = ManifestHost::new(&m.name, gate, MemorySink::default(), m.limits.max_listings);
    let task = Task {
        epoch_id: "local-test".into(),
        zipcode: args.zipcode.clone(),
        expected: args.expected,
        deadline_ms: u64::try_from(
            (chrono::Utc::now() + chrono::Duration::seconds(m.limits.timeout_s as i64))
                .timestamp_millis(),
        )
        .unwrap_or(u64::MAX),
        config: m.config_pairs(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let run = runtime.block_on(scraper.scrape(host, &task));
    let listings: Vec<Listing> = run
        .host
        .sink
        .listings
        .into_iter()
        .map(resi_core::listing::Listing::from)
        .collect();
    let reports: Vec<Vec<String>> = listings
        .iter()
        .map(|l| {
            l.validate(&args.zipcode)
                .iter()
                .map(ToString::to_string)
                .collect()
        })
        .collect();
    let invalid = reports.iter().filter(|r| !r.is_empty()).count();
    let ok = run.result.is_ok() && invalid == 0;
    if args.json {
        let value = serde_json::json!({
            "scraper": {"name": m.name, "version": m.version, "sha256": loaded.pin.to_string()},
            "zipcode": args.zipcode,
            "result": match &run.result {
                Ok(s) => serde_json::json!({"ok": true, "emitted": s.emitted, "pages": s.pages}),
                Err(e) => serde_json::json!({"ok": false, "error": e.to_string(), "kind": e.kind()}),
            },
            "usage": {
                "fuel": run.fuel_used,
                "peak_memory_bytes": run.peak_memory,
                "elapsed_ms": run.elapsed.as_millis() as u64,
                "requests": run.host.requests,
                "batches": run.host.sink.batches,
            },
            "listings": listings.iter().zip(&reports).map(|(l, r)| serde_json::json!({
                "listing": l, "valid": r.is_empty(), "reasons": r,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "{} {} ({})  zipcode {}",
            m.name, m.version, loaded.pin, args.zipcode
        );
        println!(
            "{:<12} {:<34} {:>11} {:>4} {:>5} {:>6} {:<14} verdict",
            "zpid/mls", "address", "price", "bd", "ba", "sqft", "status"
        );
        for (l, r) in listings.iter().zip(&reports).take(args.rows) {
            let id = l
                .zpid
                .clone()
                .or_else(|| l.mls_id.clone())
                .unwrap_or_default();
            let address: String = l.address.chars().take(34).collect();
            println!(
                "{:<12} {:<34} {:>11} {:>4} {:>5} {:>6} {:<14} {}",
                id,
                address,
                l.price.map(|p| p.to_string()).unwrap_or_default(),
                l.bedrooms.map(|b| b.to_string()).unwrap_or_default(),
                l.bathrooms.map(|b| b.to_string()).unwrap_or_default(),
                l.sqft.map(|s| s.to_string()).unwrap_or_default(),
                l.listing_status,
                if r.is_empty() {
                    "ok".to_string()
                } else {
                    r.join("; ")
                }
            );
        }
        if listings.len() > args.rows {
            println!(
                "... {} more (use --rows or --json)",
                listings.len() - args.rows
            );
        }
        println!(
            "listings: {} ({} valid, {} invalid) in {} batches",
            listings.len(),
            listings.len() - invalid,
            invalid,
            run.host.sink.batches
        );
        println!(
            "usage:    fuel {}  peak memory {:.1} MiB  time {:.2?}  requests {}",
            run.fuel_used,
            run.peak_memory as f64 / (1 << 20) as f64,
            run.elapsed,
            run.host.requests
        );
        match &run.result {
            Ok(s) => println!(
                "result:   ok (scraper reports {} emitted, {} pages)",
                s.emitted, s.pages
            ),
            Err(e) => println!("result:   FAILED ({}): {e}", e.kind()),
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The zipcodes named by `--zipcodes` and `--zipcodes-file`, in order, without repeats.
fn count_zipcodes(args: &CountArgs) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |z: &str, whence: &str| -> anyhow::Result<()> {
        let z = z.trim();
        anyhow::ensure!(
            resi_core::listing::is_zipcode(z),
            "{whence}: {z:?} is not a 5-digit zipcode"
        );
        if !out.iter().any(|o| o == z) {
            out.push(z.to_owned());
        }
        Ok(())
    };
    for z in &args.zipcodes {
        push(z, "--zipcodes")?;
    }
    if let Some(path) = &args.zipcodes_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--zipcodes-file {}: cannot read it", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let first = line
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"');
            if first.is_empty()
                || first.starts_with('#')
                || (i == 0 && !first.starts_with(|c: char| c.is_ascii_digit()))
            {
                continue;
            }
            push(
                first,
                &format!("--zipcodes-file {} line {}", path.display(), i + 1),
            )?;
        }
    }
    anyhow::ensure!(!out.is_empty(), "no zipcodes to count");
    Ok(out)
}

fn count(args: CountArgs) -> anyhow::Result<ExitCode> {
    use std::fmt::Write as _;
    let zipcodes = count_zipcodes(&args)?;
    let loaded = ScraperManifest::load(&args.manifest)
        .context("loading the scraper")?
        .with_routing(args.routing.routing()?);
    let m = &loaded.manifest;
    let engine = ScraperEngine::<ManifestHost<MemorySink>>::new(ScraperEngineOptions::default())?;
    let scraper = loaded.instantiate(&engine)?;
    // One gate for every zipcode, so the manifest's rate limit holds across them.
    let gate = HttpGate::for_scraper(&loaded)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut csv = String::from("zipcode,expected_listings\n");
    let mut failed = Vec::new();
    let mut total = 0u64;
    for (i, zip) in zipcodes.iter().enumerate() {
        let host = ManifestHost::new(
            &m.name,
            gate.clone(),
            MemorySink::default(),
            m.limits.max_listings,
        );
        let task = Task {
            epoch_id: "count".into(),
            zipcode: zip.clone(),
            expected: 0,
            deadline_ms: u64::try_from(
                (chrono::Utc::now() + chrono::Duration::seconds(m.limits.timeout_s as i64))
                    .timestamp_millis(),
            )
            .unwrap_or(u64::MAX),
            config: m.config_pairs(),
        };
        let run = runtime.block_on(scraper.scrape(host, &task));
        let mut listings: Vec<Listing> = run
            .host
            .sink
            .listings
            .into_iter()
            .map(resi_core::listing::Listing::from)
            .filter(|l| l.validate(zip).is_empty())
            .collect();
        resi_core::listing::retain_distinct(&mut listings);
        match run.result {
            Ok(_) => {
                let _ = writeln!(csv, "{zip},{}", listings.len());
                total += listings.len() as u64;
                eprintln!(
                    "[{}/{}] {zip}: {} listings ({} requests)",
                    i + 1,
                    zipcodes.len(),
                    listings.len(),
                    run.host.requests
                );
            }
            Err(e) => {
                eprintln!(
                    "[{}/{}] {zip}: FAILED ({}): {e}",
                    i + 1,
                    zipcodes.len(),
                    e.kind()
                );
                failed.push(zip.clone());
            }
        }
    }
    std::fs::write(&args.out, csv)
        .with_context(|| format!("writing the --out file {}", args.out.display()))?;
    println!(
        "wrote {}: {} zipcodes, {total} listings{}",
        args.out.display(),
        zipcodes.len() - failed.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!("; failed and left out: {}", failed.join(", "))
        }
    );
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
