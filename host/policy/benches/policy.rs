//! Native vs wasm zipcode-competitive, 1.0.0 (listing records) and 1.1.0 (one listing batch
//! per zipcode), on a large synthetic epoch: 200 miners x 25 zipcodes x ~400 listings
//! (2 million listings), generated deterministically. Each iteration runs the
//! whole epoch through the runner (planning rounds, scoring, finalize) with an observer that
//! finds every sampled listing as submitted; the measured time is the time spent in policy
//! calls. Before measuring, one run of each backend prints its fuel, peak memory, policy time
//! and wall time (including the input hash), and checks that all four give the same outcome
//! (1.1.0 names its own version in it).
//!
//! `cargo bench -p resi-policy -- --sample-size 10`

use criterion::{Criterion, criterion_group, criterion_main};
use resi_policy::error::ObserveError;
use resi_policy::input::{EpochRun, ZipcodeInput};
use resi_policy::vectors::Release;
use resi_policy::{Backend, NativeBackend, Observer, WasmBackend, run_epoch};
use resi_sandbox::policy::wit;
use resi_sandbox::policy::{PolicyEngine, PolicyEngineOptions};
use std::collections::HashMap;
use std::time::Instant;

const MINERS: u64 = 200;
const ZIPCODES: u64 = 25;
const EXPECTED: u32 = 400;
const DEADLINE_MS: u64 = 1_759_348_800_000;

fn listing(zip: &str, i: u64) -> wit::Listing {
    wit::Listing {
        zpid: Some(format!("{zip}{i:05}")),
        mls_id: None,
        address: format!("{} Elm Street Unit {}", 10 + i * 3, i % 7),
        zipcode: zip.to_string(),
        price: Some(150_000 + (i * 7_919) % 900_000),
        bedrooms: Some((i % 6) as u32),
        bathrooms_hundredths: Some(100 + (i % 4) as u32 * 50),
        sqft: Some(600 + (i * 37 % 3_000) as u32),
        listing_date: "2025-09-20".into(),
        property_type: "SINGLE_FAMILY".into(),
        listing_status: "FOR_SALE".into(),
        days_on_market: Some((i % 90) as u32),
        source_url: format!("https://www.zillow.com/homedetails/{zip}{i:05}_zpid/"),
        scraped_timestamp: "2025-10-01T17:30:00Z".into(),
    }
}

/// The synthetic epoch: miner `m` submits `400 - 10 + (m % 21)` listings per zipcode at a
/// pseudo-random time; every 50th miner is late, every 40th has a bad manifest.
fn epoch() -> EpochRun {
    let zipcodes = (0..ZIPCODES)
        .map(|z| {
            let zip = format!("{:05}", 10_001 + z * 97);
            let pool: Vec<wit::Listing> = (0..EXPECTED as u64 + 20)
                .map(|i| listing(&zip, i))
                .collect();
            let submissions = (0..MINERS)
                .map(|m| {
                    let n = (EXPECTED as u64 - 10 + m % 21) as usize;
                    let offset = (m * 7_919 + z * 104_729) % 10_000;
                    let late = m % 50 == 49;
                    wit::Submission {
                        hotkey: format!("5Miner{m:04}"),
                        submitted_at_ms: if late {
                            DEADLINE_MS + 3_600_000
                        } else {
                            DEADLINE_MS - 3_600_000 + offset * 1_000
                        },
                        manifest_ok: m % 40 != 39,
                        digest: {
                            let mut d = [0u8; 32];
                            d[..8].copy_from_slice(&(m * 1_000 + z).to_be_bytes());
                            d.to_vec()
                        },
                        listings: pool[..n].to_vec(),
                    }
                })
                .collect();
            ZipcodeInput {
                assignment: wit::Assignment {
                    zipcode: zip,
                    expected: EXPECTED,
                    honeypot: false,
                    true_count: 0,
                },
                submissions,
            }
        })
        .collect();
    EpochRun {
        epoch: wit::Epoch {
            epoch_id: "2025-10-01T16-00-00".into(),
            nonce: "376ce532f42cf2a5".into(),
            validation_seed: (100u8..132).collect(),
            deadline_ms: DEADLINE_MS,
        },
        zipcodes,
    }
}

/// Finds every requested listing exactly as submitted.
struct Honest<'a> {
    index: HashMap<(&'a str, &'a str), &'a wit::Submission>,
}

impl<'a> Honest<'a> {
    fn new(run: &'a EpochRun) -> Self {
        let mut index = HashMap::new();
        for z in &run.zipcodes {
            for s in &z.submissions {
                index.insert((z.assignment.zipcode.as_str(), s.hotkey.as_str()), s);
            }
        }
        Honest { index }
    }
}

impl Observer for Honest<'_> {
    fn observe(
        &mut self,
        zipcode: &str,
        requests: &[wit::CheckRequest],
    ) -> Result<Vec<wit::Observed>, ObserveError> {
        requests
            .iter()
            .map(|r| {
                let sub = self
                    .index
                    .get(&(zipcode, r.hotkey.as_str()))
                    .ok_or_else(|| {
                        ObserveError(format!("unknown submission {} {zipcode}", r.hotkey))
                    })?;
                let l = sub
                    .listings
                    .get(r.index as usize)
                    .ok_or_else(|| ObserveError(format!("index {} out of range", r.index)))?;
                Ok(wit::Observed::Found(l.clone()))
            })
            .collect()
    }
}

fn bench(c: &mut Criterion) {
    let release = Release::load(&resi_testkit::policy_release()).expect("release");
    let release_1_1 = Release::load(&resi_testkit::policy_release_1_1()).expect("release 1.1.0");
    let params = release.manifest.default_params.clone();
    let engine = PolicyEngine::new(PolicyEngineOptions::default()).expect("engine");
    let wasm = WasmBackend::new(engine.load(&release.wasm).expect("load"));
    let native = NativeBackend::new(release.manifest.wasm_pin().expect("pin"));
    let wasm_1_1 = WasmBackend::new(engine.load(&release_1_1.wasm).expect("load 1.1.0"));
    let native_1_1 = NativeBackend::v1_1(release_1_1.manifest.wasm_pin().expect("pin"));
    let start = Instant::now();
    let run = epoch();
    let listings: usize = run
        .zipcodes
        .iter()
        .flat_map(|z| &z.submissions)
        .map(|s| s.listings.len())
        .sum();
    eprintln!("generated {listings} listings in {:?}", start.elapsed());

    let once = |name: &str, backend: &dyn Backend| {
        if std::env::var("RESI_BENCH_ONLY").is_ok_and(|only| only != name) {
            return None;
        }
        let start = Instant::now();
        let report = run_epoch(backend, &params, &run, &mut Honest::new(&run)).expect("epoch runs");
        eprintln!(
            "{name}: {:?} wall, {:?} in policy calls, {} calls, {} observations, fuel {}, peak memory {} MiB",
            start.elapsed(),
            report.total_time(),
            report.calls.len(),
            report.observations,
            report.total_fuel(),
            report.peak_memory() / (1 << 20)
        );
        for (kind, n, t, f) in report.call_summary() {
            eprintln!(
                "    {kind:12} {n:4} calls {t:>12.3?} fuel {:.2} G",
                f as f64 / 1e9
            );
        }
        Some(report)
    };
    // `RESI_BENCH_ONLY=<name>` runs one backend once (for a profiler) and nothing else.
    if std::env::var_os("RESI_BENCH_ONLY").is_some() {
        for (name, b) in [
            ("1.0.0 native", &native as &dyn Backend),
            ("1.0.0 wasm", &wasm as &dyn Backend),
            ("1.1.0 native", &native_1_1 as &dyn Backend),
            ("1.1.0 wasm", &wasm_1_1 as &dyn Backend),
        ] {
            once(name, b);
        }
        return;
    }
    let (Some(n), Some(w)) = (once("1.0.0 native", &native), once("1.0.0 wasm", &wasm)) else {
        return;
    };
    assert_eq!(
        n.canonical_outcome(),
        w.canonical_outcome(),
        "native and wasm disagree"
    );
    assert_eq!(n.outcome_hash, w.outcome_hash);
    let as_1_0 = |r: &resi_policy::RunReport| {
        r.canonical_outcome()
            .replacen("\"version\":\"1.1.0\"", "\"version\":\"1.0.0\"", 1)
    };
    for (name, b) in [
        ("1.1.0 native", &native_1_1 as &dyn Backend),
        ("1.1.0 wasm", &wasm_1_1 as &dyn Backend),
    ] {
        let Some(r) = once(name, b) else { return };
        assert_eq!(
            as_1_0(&r),
            n.canonical_outcome(),
            "{name} differs from 1.0.0"
        );
        assert_eq!(r.input_hash, n.input_hash);
    }

    // Measured: time inside the policy calls (argument conversion/lowering included), not the
    // observer or the input hash, so the figure compares the two backends only.
    let mut group = c.benchmark_group("zipcode-competitive epoch 200x25x400");
    group.sample_size(10);
    for (name, backend) in [
        ("1.0.0 native", &native as &dyn Backend),
        ("1.0.0 wasm", &wasm as &dyn Backend),
        ("1.1.0 native", &native_1_1 as &dyn Backend),
        ("1.1.0 wasm", &wasm_1_1 as &dyn Backend),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        run_epoch(backend, &params, &run, &mut Honest::new(&run))
                            .expect("runs")
                            .total_time()
                    })
                    .sum()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
