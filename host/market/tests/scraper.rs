//! The `market-scraper` component, run through the sandbox's scraper engine against the real
//! market on loopback: it emits exactly the market's homes for a zipcode, also through injected
//! faults and rate limiting, stops at the task deadline, and verifies single homes by zpid.
//!
//! Its Python port (`market-scraper-py`, guests/scrapers/market-py, built with componentize-py)
//! passes the same scenarios, run one after the other on one loaded component (compiling the
//! Python interpreter's component takes tens of seconds in a debug build).
//!
//! The test host's `fetch` is a plain pass-through with reqwest (no allowlist): the manifest-
//! enforcing host lives elsewhere; this test is about the scraper and the market.

use resi_market::{
    Faults, HttpBehavior, Market, MarketConfig, MarketServer, RateLimit, serve_market,
};
use resi_sandbox::SandboxError;
use resi_sandbox::scraper::wit::*;
use resi_sandbox::scraper::{HostAbort, Scraper, ScraperEngine, ScraperEngineOptions, ScraperHost};
use resi_testkit::guest;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Performs every request with reqwest and records what the guest emits.
struct PassThrough {
    client: reqwest::Client,
    emitted: Vec<Listing>,
    batches: usize,
    logs: Vec<String>,
}

impl PassThrough {
    fn new() -> PassThrough {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        PassThrough {
            client,
            emitted: Vec::new(),
            batches: 0,
            logs: Vec::new(),
        }
    }
}

impl ScraperHost for PassThrough {
    async fn fetch(&mut self, request: Request) -> Result<Response, FetchError> {
        let mut builder = super::support::request(&self.client, &request, &request.url)?;
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        super::support::send(builder).await
    }

    async fn emit(&mut self, batch: Vec<Listing>) -> Result<(), HostAbort> {
        self.batches += 1;
        self.emitted.extend(batch);
        Ok(())
    }

    fn log(&mut self, _level: Level, message: String) {
        self.logs.push(message);
    }
}

fn engine() -> ScraperEngine<PassThrough> {
    let mut options = ScraperEngineOptions::default();
    options.limits.timeout = Some(Duration::from_secs(300));
    ScraperEngine::new(options).expect("engine")
}

fn config(seed: u64, http: HttpBehavior) -> MarketConfig {
    MarketConfig {
        seed,
        zipcodes_path: None,
        http,
        ..MarketConfig::default()
    }
}

async fn start(config: MarketConfig) -> MarketServer {
    let market = Arc::new(Market::new(config).expect("market"));
    serve_market(market, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("serve")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn task(server: &MarketServer, zipcode: &str, extra: &[(&str, &str)]) -> Task {
    let mut config = vec![("base_url".to_string(), server.base_url())];
    config.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Task {
        epoch_id: "2025-10-01T16-00-00".into(),
        zipcode: zipcode.into(),
        expected: server.market().count(zipcode),
        deadline_ms: now_ms() + 240_000,
        config,
    }
}

/// Everything of a listing but the scrape time.
#[derive(Debug, PartialEq)]
struct Key {
    zpid: Option<String>,
    mls_id: Option<String>,
    address: String,
    zipcode: String,
    price: Option<u64>,
    bedrooms: Option<u32>,
    bathrooms_hundredths: Option<u32>,
    sqft: Option<u32>,
    listing_date: String,
    property_type: String,
    listing_status: String,
    days_on_market: Option<u32>,
    source_url: String,
}

fn key(l: &Listing) -> Key {
    Key {
        zpid: l.zpid.clone(),
        mls_id: l.mls_id.clone(),
        address: l.address.clone(),
        zipcode: l.zipcode.clone(),
        price: l.price,
        bedrooms: l.bedrooms,
        bathrooms_hundredths: l.bathrooms_hundredths,
        sqft: l.sqft,
        listing_date: l.listing_date.clone(),
        property_type: l.property_type.clone(),
        listing_status: l.listing_status.clone(),
        days_on_market: l.days_on_market,
        source_url: l.source_url.clone(),
    }
}

fn reference(l: &resi_market::Listing) -> Key {
    Key {
        zpid: Some(l.zpid.clone()),
        mls_id: l.mls_id.clone(),
        address: l.address.clone(),
        zipcode: l.zipcode.clone(),
        price: Some(l.price),
        bedrooms: l.bedrooms,
        bathrooms_hundredths: l.bathrooms_hundredths,
        sqft: l.sqft,
        listing_date: l.listing_date.clone(),
        property_type: l.property_type.clone(),
        listing_status: l.listing_status.clone(),
        days_on_market: Some(l.days_on_market),
        source_url: l.source_url.clone(),
    }
}

fn assert_same_as_market(server: &MarketServer, zipcode: &str, emitted: &[Listing]) {
    let expected: Vec<Key> = server
        .market()
        .listings(zipcode)
        .iter()
        .map(reference)
        .collect();
    let got: Vec<Key> = emitted.iter().map(key).collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "{zipcode}: emitted {} of {}",
        got.len(),
        expected.len()
    );
    assert_eq!(got, expected, "{zipcode}");
    assert!(
        emitted
            .iter()
            .all(|l| l.scraped_timestamp.ends_with('Z') && l.scraped_timestamp.len() == 20)
    );
}

async fn scraper_emits_exactly_the_market_listings(scraper: &Scraper<PassThrough>) {
    let server = start(config(46, HttpBehavior::default())).await;
    for (zip, page_size) in [("19103", "100"), ("94105", "41")] {
        let run = scraper
            .scrape(
                PassThrough::new(),
                &task(&server, zip, &[("page_size", page_size)]),
            )
            .await;
        let summary = run.result.expect("scrape");
        assert_eq!(summary.emitted as usize, run.host.emitted.len());
        let pages = server
            .market()
            .count(zip)
            .div_ceil(page_size.parse().expect("int"));
        assert_eq!(summary.pages, pages);
        assert_eq!(run.host.batches as u32, pages, "one batch per page");
        assert_same_as_market(&server, zip, &run.host.emitted);
    }
    // A PO BOX zipcode: one empty page, nothing emitted.
    let po_box = server
        .market()
        .zipcodes()
        .iter()
        .find(|z| z.kind == resi_market::ZipKind::PoBox)
        .map(|z| z.zipcode.clone())
        .expect("a PO BOX zipcode");
    let run = scraper
        .scrape(PassThrough::new(), &task(&server, &po_box, &[]))
        .await;
    assert_eq!(run.result.expect("scrape").emitted, 0);
    assert!(run.host.emitted.is_empty());
    server.shutdown().await.expect("shutdown");
}

async fn scraper_retries_through_injected_faults(scraper: &Scraper<PassThrough>) {
    let http = HttpBehavior {
        faults: Faults {
            rate: 0.35,
            seed: 9,
        },
        ..HttpBehavior::default()
    };
    let server = start(config(46, http)).await;
    let run = scraper
        .scrape(
            PassThrough::new(),
            &task(&server, "10001", &[("page_size", "50")]),
        )
        .await;
    run.result.expect("scrape");
    assert_same_as_market(&server, "10001", &run.host.emitted);
    // The fault schedule is a function of the seed and the request sequence, so this is stable.
    assert!(server.stats().faults > 0, "{:?}", server.stats());
    server.shutdown().await.expect("shutdown");
}

async fn scraper_waits_out_rate_limits(scraper: &Scraper<PassThrough>) {
    // One token per second and no burst: back-to-back pages are answered 429 + Retry-After: 1.
    let http = HttpBehavior {
        rate_limit: Some(RateLimit {
            per_second: 1.0,
            burst: 1,
            per_client: false,
        }),
        faults: Faults { rate: 0.1, seed: 3 },
        ..HttpBehavior::default()
    };
    let server = start(config(46, http)).await;
    let run = scraper
        .scrape(
            PassThrough::new(),
            &task(&server, "60614", &[("page_size", "250")]),
        )
        .await;
    run.result.expect("scrape");
    assert_same_as_market(&server, "60614", &run.host.emitted);
    assert!(server.stats().rate_limited > 0, "{:?}", server.stats());
    server.shutdown().await.expect("shutdown");
}

async fn scraper_stops_at_the_deadline(scraper: &Scraper<PassThrough>) {
    let server = start(config(46, HttpBehavior::default())).await;
    let mut t = task(&server, "19103", &[]);
    t.deadline_ms = now_ms().saturating_sub(1_000);
    let run = scraper.scrape(PassThrough::new(), &t).await;
    match run.result {
        Err(SandboxError::Guest(msg)) => assert!(msg.contains("deadline"), "{msg}"),
        Err(other) => panic!("expected the guest's deadline error, got {other}"),
        Ok(s) => panic!("scraped past the deadline: {s:?}"),
    }
    assert!(run.host.emitted.is_empty());
    // A missing base_url is a clear error too.
    let mut t = task(&server, "19103", &[]);
    t.config.clear();
    let run = scraper.scrape(PassThrough::new(), &t).await;
    assert!(
        run.result
            .expect_err("no base_url")
            .to_string()
            .contains("base_url")
    );
    server.shutdown().await.expect("shutdown");
}

fn listing_ref(zpid: Option<&str>, mls_id: Option<&str>, zipcode: &str) -> ListingRef {
    ListingRef {
        zpid: zpid.map(str::to_string),
        mls_id: mls_id.map(str::to_string),
        zipcode: zipcode.into(),
        address: String::new(),
        source_url: String::new(),
    }
}

async fn verify_finds_real_homes_and_not_fabricated_ones(scraper: &Scraper<PassThrough>) {
    let http = HttpBehavior {
        faults: Faults { rate: 0.3, seed: 5 },
        ..HttpBehavior::default()
    };
    let server = start(config(46, http)).await;
    let cfg = vec![("base_url".to_string(), server.base_url())];
    let home = server.market().listing("19103", 7).expect("home");

    let run = scraper
        .verify(
            PassThrough::new(),
            &listing_ref(Some(&home.zpid), None, "19103"),
            &cfg,
        )
        .await;
    match run.result.expect("verify") {
        Verification::Found(l) => assert_eq!(key(&l), reference(&home)),
        Verification::NotFound => panic!("a real home was not found"),
    }
    // Without a zpid, the MLS number is looked up in the zipcode's search results.
    if let Some(mls) = home.mls_id.as_deref() {
        let run = scraper
            .verify(
                PassThrough::new(),
                &listing_ref(None, Some(mls), "19103"),
                &cfg,
            )
            .await;
        match run.result.expect("verify") {
            Verification::Found(l) => assert_eq!(key(&l), reference(&home)),
            Verification::NotFound => panic!("a real MLS number was not found"),
        }
    }
    let fabricated = format!("{}99", &home.zpid[..home.zpid.len() - 2]);
    let fabricated = if server.market().get(&fabricated).is_some() {
        "1910399999".to_string()
    } else {
        fabricated
    };
    for zpid in [fabricated.as_str(), "424242", "not-a-zpid"] {
        let run = scraper
            .verify(
                PassThrough::new(),
                &listing_ref(Some(zpid), None, "19103"),
                &cfg,
            )
            .await;
        assert!(
            matches!(run.result, Ok(Verification::NotFound)),
            "{zpid}: {:?}",
            run.result.err()
        );
    }
    server.shutdown().await.expect("shutdown");
}

async fn verify_is_unverifiable_when_the_market_is_down(scraper: &Scraper<PassThrough>) {
    let server = start(config(46, HttpBehavior::default())).await;
    let base = server.base_url();
    let zpid = server.market().listing("19103", 0).expect("home").zpid;
    server.shutdown().await.expect("shutdown");
    let cfg = vec![
        ("base_url".to_string(), base),
        ("max_attempts".to_string(), "2".to_string()),
    ];
    let run = scraper
        .verify(
            PassThrough::new(),
            &listing_ref(Some(&zpid), None, "19103"),
            &cfg,
        )
        .await;
    match run.result {
        Err(SandboxError::Guest(msg)) => assert!(msg.contains("gave up"), "{msg}"),
        Err(other) => panic!("expected the guest's error, got {other}"),
        Ok(v) => panic!("verified against a stopped market: {v:?}"),
    }
}

/// Loads a published guest (the Rust market scraper or its Python port).
fn load(name: &str) -> Scraper<PassThrough> {
    engine().load(&guest(name)).expect("load")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_emits_exactly_the_market_listings() {
    scraper_emits_exactly_the_market_listings(&load("market-scraper")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_retries_through_injected_faults() {
    scraper_retries_through_injected_faults(&load("market-scraper")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_waits_out_rate_limits() {
    scraper_waits_out_rate_limits(&load("market-scraper")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_stops_at_the_deadline() {
    scraper_stops_at_the_deadline(&load("market-scraper")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_verify_finds_real_homes_and_not_fabricated_ones() {
    verify_finds_real_homes_and_not_fabricated_ones(&load("market-scraper")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_verify_is_unverifiable_when_the_market_is_down() {
    verify_is_unverifiable_when_the_market_is_down(&load("market-scraper")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_port_passes_the_same_scenarios() {
    let scraper = load("market-scraper-py");
    scraper_emits_exactly_the_market_listings(&scraper).await;
    scraper_retries_through_injected_faults(&scraper).await;
    scraper_waits_out_rate_limits(&scraper).await;
    scraper_stops_at_the_deadline(&scraper).await;
    verify_finds_real_homes_and_not_fabricated_ones(&scraper).await;
    verify_is_unverifiable_when_the_market_is_down(&scraper).await;
}
