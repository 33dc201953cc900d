//! Load benchmark: signed `GET /current` requests over loopback against a coordinator with the
//! rate limits raised. Requests are signed up front (each signature is single-use), then sent by
//! concurrent workers; prints requests/s and latency percentiles. Bounded to ~10 s.
//! Run: `cargo bench -p resi-coordinator --bench load`.

use resi_chain::{LocalChain, SubnetParams};
use resi_coordinator::zipcodes::ZipKind;
use resi_coordinator::{CoordinatorConfig, FnCounts, RateLimits, StoreConfig, ZipTable, serve};
use resi_core::Hotkey;
use resi_core::auth::now_unix;
use resi_core::commitments;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REQUESTS: usize = 20_000;
const WORKERS: usize = 32;
const HOTKEYS: usize = 64;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let table = Arc::new(ZipTable::embedded().unwrap());
    let standard: std::collections::HashSet<String> = table
        .rows
        .iter()
        .filter(|z| z.kind == ZipKind::Standard)
        .map(|z| z.zipcode.clone())
        .collect();
    let counts = FnCounts::new(move |z| {
        let n: u64 = z.parse().ok()?;
        Some(if standard.contains(z) {
            (50 + (n.wrapping_mul(2_654_435_761) >> 7) % 3000) as u32
        } else {
            0
        })
    });
    let chain = LocalChain::open(dir.path().join("chain.sqlite")).unwrap();
    chain.set_subnet(46, &SubnetParams::default()).unwrap();
    let keys: Vec<Hotkey> = (0..HOTKEYS)
        .map(|i| Hotkey::from_uri(&format!("//Bench{i}")).unwrap())
        .collect();
    for k in &keys {
        chain.register(46, &k.public(), false).unwrap();
    }
    let mut cfg = CoordinatorConfig::new(dir.path().join("coord"));
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.rate_limits = RateLimits::default().scaled(1_000_000);
    cfg.store = StoreConfig::Local(dir.path().join("objects"));
    let srv = serve(cfg, table, Arc::new(counts), chain).await.unwrap();
    let url = format!("{}/api/v1/zipcode-assignments/current", srv.url());

    let t0 = Instant::now();
    let ts = now_unix();
    let signed: Vec<String> = (0..REQUESTS)
        .map(|i| {
            let k = &keys[i % HOTKEYS];
            // Distinct timestamps per hotkey are not needed: sr25519 signatures are randomized.
            let sig = k
                .sign(commitments::assignment_current(ts).as_bytes())
                .to_hex();
            format!("{url}?hotkey={}&signature={sig}&timestamp={ts}", k.ss58())
        })
        .collect();
    println!("signed {REQUESTS} requests in {:.2?}", t0.elapsed());

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(WORKERS)
        .build()
        .unwrap();
    let queue = Arc::new(std::sync::Mutex::new(signed));
    let deadline = Instant::now() + Duration::from_secs(10);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let (http, queue) = (http.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            loop {
                if Instant::now() > deadline {
                    break;
                }
                let Some(u) = queue.lock().unwrap().pop() else {
                    break;
                };
                let t = Instant::now();
                match http.get(&u).send().await {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        lat.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "signed GET /current: {} ok, {errors} errors in {:.2?} over {WORKERS} connections = {:.0} req/s; latency p50 {:.2?} p99 {:.2?} max {:.2?}",
        lat.len(),
        elapsed,
        lat.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        lat[lat.len() - 1]
    );
    srv.shutdown().await;
}
