//! Miner pipeline throughput: listings per second through the sandboxed market scraper (against
//! the local market on loopback) -> SQLite (every batch committed) -> parquet -> object store
//! (local directory), per stage and end to end. A bench command that prints figures:
//! `cargo bench -p resi-miner --bench pipeline` (needs `cargo xtask guests`).

use resi_miner::sink::SqliteSink;
use resi_miner::state::StateDb;
use resi_sandbox::scraper::wit::Task;
use resi_sandbox::scraper::{ScraperEngine, ScraperEngineOptions};
use resi_scraper::manifest::NetworkSection;
use resi_scraper::{HttpGate, ManifestHost};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ZIPCODES: [&str; 6] = ["19103", "10001", "94105", "60614", "02108", "98101"];
const ROUNDS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let wasm = resi_testkit::guest("market-scraper");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = resi_market::MarketConfig {
        zipcodes_path: None,
        ..resi_market::MarketConfig::default()
    };
    let market = rt
        .block_on(resi_market::serve(
            config,
            "127.0.0.1:0".parse().expect("addr"),
        ))
        .expect("market");
    let base = market.base_url();
    let network = NetworkSection {
        allow: vec![base.clone()],
        requests_per_second: 10_000.0,
        burst: 10_000,
        ..NetworkSection::default()
    };
    let engine = ScraperEngine::<ManifestHost<SqliteSink>>::new(ScraperEngineOptions::default())
        .expect("engine");
    let scraper = engine.load(&wasm).expect("load");
    let (mut t_scrape, mut t_parquet, mut t_store, mut t_total) = (vec![], vec![], vec![], vec![]);
    let mut listings_per_round = 0usize;
    for round in 0..ROUNDS {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut db = StateDb::open(&tmp.path().join("miner.sqlite")).expect("db");
        let zips: Vec<(String, u32)> = ZIPCODES
            .iter()
            .map(|z| (z.to_string(), market.market().count(z)))
            .collect();
        db.add_epoch(
            "bench",
            "0000000000000000",
            "2099-01-01T00:00:00Z",
            "{}",
            &zips,
        )
        .expect("epoch");
        let db = Arc::new(Mutex::new(db));
        let store = resi_store::Store::local(tmp.path().join("store")).expect("store");
        let (mut scrape, mut parquet, mut put) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let mut n = 0;
        let all = Instant::now();
        for (zip, expected) in &zips {
            let start = Instant::now();
            let gate = HttpGate::new("market", &network, BTreeMap::new()).expect("gate");
            let sink = SqliteSink::new(db.clone(), "bench", zip);
            let host = ManifestHost::new("market", gate, sink, 5_000);
            let task = Task {
                epoch_id: "bench".into(),
                zipcode: zip.clone(),
                expected: *expected,
                deadline_ms: u64::MAX,
                config: vec![("base_url".into(), base.clone())],
            };
            let run = rt.block_on(scraper.scrape(host, &task));
            run.result.expect("scrape");
            scrape += start.elapsed();
            let start = Instant::now();
            let rows = db
                .lock()
                .expect("db")
                .valid_listings("bench", zip)
                .expect("rows");
            n += rows.len();
            let bytes = resi_submission::write_listings(&rows).expect("parquet");
            parquet += start.elapsed();
            let start = Instant::now();
            rt.block_on(store.put(
                &format!("data/hotkey=bench/epoch=bench/zipcode={zip}/listings.parquet"),
                bytes,
            ))
            .expect("put");
            put += start.elapsed();
        }
        t_total.push(all.elapsed());
        t_scrape.push(scrape);
        t_parquet.push(parquet);
        t_store.push(put);
        listings_per_round = n;
        eprintln!("round {round}: {n} listings in {:.2?}", all.elapsed());
    }
    let rate = |d: Duration| listings_per_round as f64 / d.as_secs_f64();
    let (s, p, u, t) = (
        median(t_scrape),
        median(t_parquet),
        median(t_store),
        median(t_total),
    );
    println!(
        "miner pipeline, {} zipcodes, {listings_per_round} listings per round, median of {ROUNDS} rounds",
        ZIPCODES.len()
    );
    println!(
        "  scrape (wasm scraper -> gate -> market, every batch committed to SQLite): {s:.2?}  {:.0} listings/s",
        rate(s)
    );
    println!(
        "  SQLite read-back + parquet write:                                       {p:.2?}  {:.0} listings/s",
        rate(p)
    );
    println!(
        "  object store put (local directory):                                     {u:.2?}  {:.0} listings/s",
        rate(u)
    );
    println!(
        "  end to end:                                                             {t:.2?}  {:.0} listings/s",
        rate(t)
    );
}
