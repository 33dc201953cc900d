//! The market scraper in Rust (`market-scraper`) and its Python port (`market-scraper-py`,
//! componentize-py) side by side, against the same `resi market` on loopback, through the
//! manifest-enforcing host a miner uses (allowlist, rate limit, listing checks):
//! component size, compile time (`ScraperEngine::load`: compile and link), instantiation
//! (an `info` call on a fresh instance), and scraping (fresh instance per zipcode, as the
//! miner does): listings per second and fuel per listing.
//!
//! ```sh
//! cargo xtask guests        # builds both (componentize-py from the test venv)
//! cargo bench -p resi-market --bench scrapers
//! RESI_BENCH_ROUNDS=5 cargo bench -p resi-market --bench scrapers
//! ```
//!
//! Prints medians of `RESI_BENCH_ROUNDS` (default 3) rounds; each scraping round scrapes the
//! same 6 zipcodes.

use resi_market::{Market, MarketConfig, serve_market};
use resi_sandbox::scraper::wit::Task;
use resi_sandbox::scraper::{Scraper, ScraperEngine, ScraperEngineOptions};
use resi_scraper::manifest::NetworkSection;
use resi_scraper::{HttpGate, ManifestHost, MemorySink};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ZIPCODES: &[&str] = &["19103", "10001", "60614", "94110", "02139", "30301"];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn host(origin: &str) -> ManifestHost<MemorySink> {
    let rules = NetworkSection {
        allow: vec![origin.to_string()],
        requests_per_second: 10_000.0,
        burst: 10_000,
        ..NetworkSection::default()
    };
    let gate = HttpGate::new("bench", &rules, BTreeMap::new()).expect("gate");
    ManifestHost::new("bench", gate, MemorySink::default(), 100_000)
}

struct Figures {
    size: usize,
    compile_s: f64,
    instantiate_ms: f64,
    listings_per_s: f64,
    fuel_per_listing: f64,
    peak_mib: f64,
}

async fn measure(name: &str, origin: &str, rounds: usize) -> Figures {
    let bytes = resi_testkit::guest(name);
    let mut options = ScraperEngineOptions::default();
    options.limits.timeout = Some(Duration::from_secs(300));
    let engine = ScraperEngine::<ManifestHost<MemorySink>>::new(options).expect("engine");
    let mut compile = Vec::new();
    let mut scraper: Option<Scraper<ManifestHost<MemorySink>>> = None;
    for _ in 0..rounds {
        let t = Instant::now();
        scraper = Some(engine.load(&bytes).expect("load"));
        compile.push(t.elapsed().as_secs_f64());
    }
    let scraper = scraper.expect("loaded");
    let mut instantiate = Vec::new();
    for _ in 0..rounds.max(5) {
        let t = Instant::now();
        scraper.info(host(origin)).await.result.expect("info");
        instantiate.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (mut rates, mut fuel, mut peak) = (Vec::new(), Vec::new(), 0usize);
    for _ in 0..rounds {
        let (mut listings, mut secs, mut used) = (0u64, 0f64, 0u64);
        for zip in ZIPCODES {
            let task = Task {
                epoch_id: "2025-10-01T16-00-00".into(),
                zipcode: (*zip).into(),
                expected: 500,
                deadline_ms: now_ms() + 300_000,
                config: vec![
                    ("base_url".into(), origin.to_string()),
                    ("page_size".into(), "100".into()),
                ],
            };
            let t = Instant::now();
            let run = scraper.scrape(host(origin), &task).await;
            secs += t.elapsed().as_secs_f64();
            run.result.expect("scrape");
            listings += run.host.sink.listings.len() as u64;
            used += run.fuel_used;
            peak = peak.max(run.peak_memory);
        }
        rates.push(listings as f64 / secs);
        fuel.push(used as f64 / listings.max(1) as f64);
    }
    Figures {
        size: bytes.len(),
        compile_s: median(compile),
        instantiate_ms: median(instantiate),
        listings_per_s: median(rates),
        fuel_per_listing: median(fuel),
        peak_mib: peak as f64 / (1 << 20) as f64,
    }
}

fn main() {
    let rounds = std::env::var("RESI_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let market = Arc::new(
            Market::new(MarketConfig {
                seed: 46,
                zipcodes_path: None,
                ..MarketConfig::default()
            })
            .expect("market"),
        );
        let listings: u32 = ZIPCODES.iter().map(|z| market.count(z)).sum();
        let server = serve_market(market, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("serve");
        let origin = server.base_url();
        println!(
            "market scraper, Rust vs Python, {} zipcodes ({listings} listings) per round, medians of {rounds}",
            ZIPCODES.len()
        );
        println!(
            "{:<20} {:>12} {:>11} {:>14} {:>12} {:>14} {:>10}",
            "component", "size", "compile", "instantiate", "listings/s", "fuel/listing", "peak mem"
        );
        let mut rows = Vec::new();
        for name in ["market-scraper", "market-scraper-py"] {
            let f = measure(name, &origin, rounds).await;
            println!(
                "{name:<20} {:>10.2}MB {:>9.2} s {:>11.2} ms {:>12.0} {:>14.0} {:>7.1} MiB",
                f.size as f64 / 1e6,
                f.compile_s,
                f.instantiate_ms,
                f.listings_per_s,
                f.fuel_per_listing,
                f.peak_mib
            );
            rows.push(f);
        }
        let (r, p) = (&rows[0], &rows[1]);
        println!(
            "python / rust: size {:.0}x, compile {:.0}x, instantiate {:.1}x, listings/s {:.2}x, fuel/listing {:.1}x",
            p.size as f64 / r.size as f64,
            p.compile_s / r.compile_s,
            p.instantiate_ms / r.instantiate_ms,
            p.listings_per_s / r.listings_per_s,
            p.fuel_per_listing / r.fuel_per_listing
        );
        server.shutdown().await.expect("shutdown");
    });
}
