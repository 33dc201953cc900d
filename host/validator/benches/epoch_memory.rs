//! Memory and time of validating one large epoch: `validate_epoch` with a released, pinned
//! `zipcode-competitive` (1.1.0, or `RESI_BENCH_POLICY=1.0.0`) over a synthetic epoch in a local-directory store (real parquet
//! files and sr25519-signed manifests, as miners upload them).
//!
//! ```sh
//! cargo bench -p resi-validator --bench epoch_memory
//! RESI_BENCH_MINERS=50 RESI_BENCH_ZIPCODES=10 RESI_BENCH_LISTINGS=100 \
//!     cargo bench -p resi-validator --bench epoch_memory
//! ```
//!
//! Defaults: 200 miners x 25 zipcodes x ~400 listings (miner `m` submits `400 - 10 + m % 21`
//! listings per zipcode, 2.0 M listings in all). Every 40th miner fabricates (its listings are
//! unknown to the source, so spot checks find them `not_found`), every 50th signs the wrong
//! nonce (refused at ingestion).
//!
//! Two phases, two processes: this process generates the store, then runs itself again with
//! `RESI_BENCH_PHASE=validate` so that the figures are the validation's alone. The child loads
//! the pinned policy, then validates the epoch (spot checks answered by an in-process verifier
//! that rebuilds the true listings from their ids, so it holds no data) and prints: wall time,
//! peak RSS (`VmHWM` of `/proc/self/status`, reset through `/proc/self/clear_refs` after
//! start-up when the kernel allows it) and the growth of RSS during validation over the RSS
//! before it. For comparison the parent prints the size of the largest zipcode's data.
//!
//! `RESI_BENCH_HOSTILE=1` adds the worst hostile zipcode ingestion allows to the first zipcode:
//! a dictionary bomb (100k rows of 4,096-byte fields, a few KB on disk; refused by the per-file
//! decoded budget) and five miners' plain files of ~82 MiB decoded each (within every per-file
//! cap; together over the zipcode's budget, so the largest is refused and the other four, with
//! the honest miners, fill the zipcode's 384 MiB budget: about the most one policy call can be
//! given).
//!
//! `RESI_BENCH_THREADS=n` sets [`IngestOptions::threads`] (default 1);
//! `RESI_BENCH_READ_AHEAD=0` turns read-ahead off.
//!
//! `RESI_BENCH_DIR=path` keeps the generated store there (reused when it already holds an
//! epoch of the same size), e.g. to compare two builds on the same data.

use futures::future::BoxFuture;
use resi_core::keys::Hotkey;
use resi_core::listing::Listing;
use resi_sandbox::policy::wit;
use resi_store::Store;
use resi_submission::{ScraperInfo, UnsignedManifest, write_listings};
use resi_validator::db::Db;
use resi_validator::{
    AssignmentFacts, EpochFacts, IngestOptions, PolicyPin, ValidatorConfig, Verifier, VerifyAnswer,
    validate_epoch,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator the `resi` binary runs with, so the figures are the product's (remove these
/// two lines to measure glibc's).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EPOCH: &str = "2025-10-01T16-00-00";
const NONCE: &str = "376ce532f42cf2a5";
/// Far ahead: every submission written now is on time.
const DEADLINE_MS: u64 = 4_102_444_800_000;
/// Listings per zipcode the source holds beyond `expected`.
const EXTRA: u64 = 20;
/// First listing id of a fabricator (unknown to the source).
const FABRICATED: u64 = 50_000;

/// Epoch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Size {
    miners: u64,
    zipcodes: u64,
    listings: u64,
}

impl Size {
    fn from_env() -> Self {
        let var = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|v| *v > 0)
                .unwrap_or(default)
        };
        Size {
            miners: var("RESI_BENCH_MINERS", 200),
            zipcodes: var("RESI_BENCH_ZIPCODES", 25),
            listings: var("RESI_BENCH_LISTINGS", 400),
        }
    }

    fn tag(&self) -> String {
        let hostile = if hostile() { "-hostile" } else { "" };
        format!(
            "{}x{}x{}{hostile}",
            self.miners, self.zipcodes, self.listings
        )
    }

    /// Listings miner `m` submits per zipcode.
    fn count(&self, m: u64) -> u64 {
        (self.listings + m % 21).saturating_sub(10).max(1)
    }
}

fn zipcode(z: u64) -> String {
    format!("{:05}", 10_001 + z * 97)
}

fn hotkey(m: u64) -> Hotkey {
    let mut seed = [0x5a; 32];
    seed[..8].copy_from_slice(&m.to_be_bytes());
    Hotkey::from_seed(&seed)
}

/// Listing `i` of `zip` as the source holds it.
fn listing(zip: &str, i: u64) -> Listing {
    Listing {
        zpid: Some(format!("{zip}{i:05}")),
        mls_id: None,
        address: format!("{} Elm Street Unit {}", 10 + i * 3, i % 7),
        zipcode: zip.to_string(),
        price: Some(150_000 + (i * 7_919) % 900_000),
        bedrooms: Some((i % 6) as u32),
        bathrooms: Some(1.0 + (i % 4) as f64 * 0.5),
        sqft: Some(600 + (i * 37 % 3_000) as u32),
        listing_date: "2025-09-20".into(),
        property_type: "SINGLE_FAMILY".into(),
        listing_status: "FOR_SALE".into(),
        days_on_market: Some((i % 90) as u32),
        source_url: format!("https://www.zillow.com/homedetails/{zip}{i:05}_zpid/"),
        scraped_timestamp: "2025-10-01T17:30:00Z".into(),
    }
}

fn facts(size: Size) -> EpochFacts {
    EpochFacts {
        epoch_id: EPOCH.into(),
        nonce: NONCE.into(),
        deadline_ms: DEADLINE_MS,
        validation_seed: [7; 32],
        assignments: (0..size.zipcodes)
            .map(|z| AssignmentFacts {
                zipcode: zipcode(z),
                expected: u32::try_from(size.listings).unwrap_or(u32::MAX),
                honeypot: false,
                true_count: 0,
            })
            .collect(),
    }
}

/// Bytes a zipcode's listings take in memory as the policy's records (struct plus strings).
fn record_bytes(l: &Listing) -> usize {
    std::mem::size_of::<wit::Listing>()
        + l.zpid.as_ref().map_or(0, String::len)
        + l.mls_id.as_ref().map_or(0, String::len)
        + l.address.len()
        + l.zipcode.len()
        + l.listing_date.len()
        + l.property_type.len()
        + l.listing_status.len()
        + l.source_url.len()
        + l.scraped_timestamp.len()
}

/// What the generator wrote.
#[derive(Debug, Default)]
struct Generated {
    listings: u64,
    files_bytes: u64,
    /// Largest zipcode: (zipcode, listings, parquet bytes, record bytes).
    largest: (String, u64, u64, usize),
}

async fn generate(store: &Store, size: Size) -> Generated {
    let mut out = Generated::default();
    let keys: Vec<Hotkey> = (0..size.miners).map(hotkey).collect();
    for z in 0..size.zipcodes {
        let zip = zipcode(z);
        let (mut listings, mut parquet_bytes, mut records) = (0u64, 0u64, 0usize);
        for (m, hk) in keys.iter().enumerate() {
            let m = m as u64;
            let first = if m % 40 == 39 { FABRICATED } else { 0 };
            let rows: Vec<Listing> = (first..first + size.count(m))
                .map(|i| listing(&zip, i))
                .collect();
            let parquet = write_listings(&rows).expect("parquet");
            let nonce = if m % 50 == 49 {
                "0000000000000000"
            } else {
                NONCE
            };
            listings += rows.len() as u64;
            parquet_bytes += parquet.len() as u64;
            records += rows.iter().map(record_bytes).sum::<usize>();
            let parquet_len = parquet.len();
            let manifest_len = put_signed(store, hk, &zip, parquet, rows.len() as u64, nonce).await;
            out.files_bytes += (parquet_len + manifest_len) as u64;
        }
        if z == 0 && hostile() {
            write_hostile(store, &zip).await;
        }
        out.listings += listings;
        if listings > out.largest.1 {
            out.largest = (zip, listings, parquet_bytes, records);
        }
    }
    out
}

fn hostile() -> bool {
    std::env::var("RESI_BENCH_HOSTILE").is_ok_and(|v| v == "1")
}

/// Puts `listings.parquet` and its manifest signed by `hk` with `nonce`; returns the
/// manifest's size.
async fn put_signed(
    store: &Store,
    hk: &Hotkey,
    zip: &str,
    parquet: Vec<u8>,
    rows: u64,
    nonce: &str,
) -> usize {
    let manifest = UnsignedManifest {
        epoch_id: EPOCH.into(),
        nonce: nonce.into(),
        hotkey: hk.ss58(),
        zipcode: zip.to_string(),
        listing_count: rows,
        parquet_sha256: resi_submission::sha256_hex(&parquet),
        parquet_size: parquet.len() as u64,
        scraper: ScraperInfo {
            name: "bench".into(),
            version: "1".into(),
            wasm_sha256: "00".repeat(32),
        },
        mining_start_time: "2025-10-01T16:00:00Z".into(),
        mining_end_time: "2025-10-01T17:00:00Z".into(),
    }
    .sign(hk)
    .to_json_bytes();
    let prefix = format!("data/hotkey={}/epoch={EPOCH}/zipcode={zip}/", hk.ss58());
    store
        .put(&format!("{prefix}listings.parquet"), parquet)
        .await
        .expect("put parquet");
    let len = manifest.len();
    store
        .put(&format!("{prefix}manifest.json"), manifest)
        .await
        .expect("put manifest");
    len
}

/// The hostile miners of `RESI_BENCH_HOSTILE=1` (see the module doc).
async fn write_hostile(store: &Store, zip: &str) {
    let bomb = resi_submission::parquet::hostile::dictionary_bomb(&listing(zip, 0), 100_000, 4096);
    put_signed(store, &hotkey(900_000), zip, bomb, 100_000, NONCE).await;
    for (n, rows) in [
        (900_001u64, 3_100u64),
        (900_002, 3_080),
        (900_003, 3_060),
        (900_004, 3_040),
        (900_005, 3_020),
    ] {
        let fat: Vec<Listing> = (0..rows)
            .map(|i| {
                let mut l = listing(zip, 60_000 + n * 10_000 + i);
                l.address = format!("{} {}", l.address, "x".repeat(4000));
                l.source_url = format!("{}?{}", l.source_url, "y".repeat(4000));
                l.listing_date = "z".repeat(4000);
                l.scraped_timestamp = "w".repeat(4000);
                l.property_type = "v".repeat(4000);
                l.listing_status = "u".repeat(4000);
                l.mls_id = Some("t".repeat(4000));
                l
            })
            .collect();
        let parquet = write_listings(&fat).expect("parquet");
        put_signed(store, &hotkey(n), zip, parquet, rows, NONCE).await;
    }
}

/// The source: knows listing `i < expected + EXTRA` of every zipcode, rebuilt from its zpid.
struct SyntheticSource {
    known: u64,
}

impl Verifier for SyntheticSource {
    fn verify(&self, t: wit::ListingRef) -> BoxFuture<'static, Result<VerifyAnswer, String>> {
        let found = t.zpid.as_deref().and_then(|zpid| {
            let (zip, i) = zpid.split_at_checked(5)?;
            let i: u64 = i.parse().ok()?;
            (zip == t.zipcode && i < self.known).then(|| listing(zip, i))
        });
        let answer = match found {
            Some(l) => VerifyAnswer::Found(resi_sandbox::policy::wit::Listing::from(&l)),
            None => VerifyAnswer::NotFound,
        };
        Box::pin(async move { Ok(answer) })
    }
}

/// A `kB` field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line
        .trim_start_matches(field)
        .trim_start_matches(':')
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The pinned release: `RESI_BENCH_POLICY` (`1.1.0` by default, or `1.0.0`).
fn release() -> PathBuf {
    match std::env::var("RESI_BENCH_POLICY").as_deref() {
        Ok("1.0.0") => resi_testkit::policy_release(),
        _ => resi_testkit::policy_release_1_1(),
    }
}

/// The child: validates the epoch in `dir` and prints its figures.
fn validate_phase(dir: &Path, size: Size) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store = Store::local(dir.join("store")).expect("store");
    let db_path = dir.join(format!("validator-{}.sqlite", std::process::id()));
    let db = Arc::new(Db::open(&db_path).expect("db"));
    let pin = PolicyPin::from_release(&release()).expect("pinned release");
    let cfg = ValidatorConfig {
        hotkey: hotkey(1_000_000),
        pin,
        ingest: IngestOptions {
            read_ahead: std::env::var("RESI_BENCH_READ_AHEAD").as_deref() != Ok("0"),
            threads: std::env::var("RESI_BENCH_THREADS")
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(resi_validator::ingest::default_threads),
            ..IngestOptions::default()
        },
        concurrency: 8,
        verify_timeout: Duration::from_secs(30),
        upload: true,
    };
    let facts = facts(size);
    let verifier = Arc::new(SyntheticSource {
        known: size.listings + EXTRA,
    });
    let start_peak = status_bytes("VmHWM").unwrap_or(0);
    // Forget the start-up peak (policy compilation) when the kernel lets us.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_before = status_bytes("VmRSS").unwrap_or(0);
    let start = Instant::now();
    let result = runtime
        .block_on(validate_epoch(&cfg, &store, db, verifier, &facts))
        .expect("validate_epoch");
    let elapsed = start.elapsed();
    let peak = status_bytes("VmHWM").unwrap_or(0);
    let r = &result.report;
    println!(
        "validation ({}, {} {}, {} threads, read-ahead {}):",
        size.tag(),
        cfg.pin.name,
        cfg.pin.version,
        cfg.ingest.threads,
        cfg.ingest.read_ahead
    );
    println!("  wall time            {:.2} s", elapsed.as_secs_f64());
    println!(
        "  policy time          {:.2} s, fuel {:.1} G",
        result.run.total_time().as_secs_f64(),
        result.run.total_fuel() as f64 / 1e9
    );
    for (kind, n, t, f) in result.run.call_summary() {
        println!(
            "    {kind:12} {n:5} calls {:>8.2} s, fuel {:.2} G",
            t.as_secs_f64(),
            f as f64 / 1e9
        );
    }
    println!(
        "  peak RSS (VmHWM)     {}{}",
        mib(peak),
        if reset {
            String::new()
        } else {
            format!(
                " (not reset after start-up; start-up peak {})",
                mib(start_peak)
            )
        }
    );
    println!("  RSS before           {}", mib(rss_before));
    println!(
        "  RSS growth           {}",
        mib(peak.saturating_sub(rss_before))
    );
    println!(
        "  submissions          {} accepted, {} rejected, {} spot checks",
        r.submissions,
        r.rejected.len(),
        r.spot_checks
    );
    println!(
        "  validated_data       {} ({} winners' listings)",
        mib(result.validated_data.len() as u64),
        resi_submission::read_listings(&result.validated_data, &Default::default())
            .map(|l| l.len())
            .unwrap_or(0)
    );
    println!(
        "  policy peak memory   {} (limit {})",
        mib(result.run.peak_memory() as u64),
        mib(resi_sandbox::policy::POLICY_MEMORY_BYTES as u64)
    );
    for x in r
        .rejected
        .iter()
        .filter(|x| x.reason.contains("decodes to more") || x.reason.contains("memory budget"))
    {
        println!("  refused              {}: {}", x.hotkey, x.reason);
    }
    println!("  outcome_hash         {}", r.outcome_hash);
    println!("  input_hash           {}", r.input_hash);
    let _ = std::fs::remove_file(&db_path);
}

fn main() {
    let size = Size::from_env();
    if std::env::var("RESI_BENCH_PHASE").as_deref() == Ok("validate") {
        let dir = std::env::var("RESI_BENCH_DIR").expect("RESI_BENCH_DIR");
        validate_phase(Path::new(&dir), size);
        return;
    }
    let (_temp, dir) = match std::env::var("RESI_BENCH_DIR") {
        Ok(d) => (None, PathBuf::from(d)),
        Err(_) => {
            let t = tempfile::tempdir().expect("tempdir");
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let marker = dir.join("generated");
    let reuse = std::fs::read_to_string(&marker).ok();
    if reuse.as_deref().is_some_and(|m| m.starts_with(&size.tag())) {
        print!("reusing {}: {}", dir.display(), reuse.unwrap_or_default());
    } else {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let _ = std::fs::remove_dir_all(dir.join("store"));
        let store = Store::local(dir.join("store")).expect("store");
        let start = Instant::now();
        let g = runtime.block_on(generate(&store, size));
        let summary = format!(
            "{} epoch: {} listings, {} of parquet and manifests; largest zipcode {}: {} listings, \
             {} of parquet, {} as policy records\n",
            size.tag(),
            g.listings,
            mib(g.files_bytes),
            g.largest.0,
            g.largest.1,
            mib(g.largest.2),
            mib(g.largest.3 as u64)
        );
        print!(
            "generated in {:.1} s: {summary}",
            start.elapsed().as_secs_f64()
        );
        std::fs::write(&marker, summary).expect("marker");
    }
    let exe = std::env::current_exe().expect("current exe");
    let status = std::process::Command::new(exe)
        .env("RESI_BENCH_PHASE", "validate")
        .env("RESI_BENCH_DIR", &dir)
        .env("RESI_BENCH_MINERS", size.miners.to_string())
        .env("RESI_BENCH_ZIPCODES", size.zipcodes.to_string())
        .env("RESI_BENCH_LISTINGS", size.listings.to_string())
        .env("RESI_BENCH_HOSTILE", if hostile() { "1" } else { "0" })
        .env(
            "RESI_BENCH_READ_AHEAD",
            std::env::var("RESI_BENCH_READ_AHEAD").unwrap_or_else(|_| "1".into()),
        )
        .status()
        .expect("validation process");
    assert!(status.success(), "validation process failed: {status}");
}
