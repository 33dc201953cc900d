//! The `redfin-scraper` component against the Redfin stingray mimic on loopback: the real
//! captured homes (replay of `tests/fixtures/sources/redfin`), the synthetic universe past the
//! ~350-per-call cap, every error class, and `verify`.
//!
//! The scraper always requests its real origin `https://www.redfin.com`; this test's host
//! rewrites that origin to the mimic's `http://127.0.0.1:PORT` and otherwise passes requests
//! through with reqwest (no allowlist: the manifest-enforcing gate is tested elsewhere).

use resi_market::mimic::{self, MimicData, MimicOptions, MimicState, Source};
use resi_market::{Market, MarketConfig, RateLimit};
use resi_sandbox::SandboxError;
use resi_sandbox::scraper::wit::*;
use resi_sandbox::scraper::{HostAbort, ScraperEngine, ScraperEngineOptions, ScraperHost};
use resi_testkit::guest;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ORIGIN: &str = "https://www.redfin.com";

/// Rewrites the real origin to the mimic, performs requests with reqwest, records the rest.
struct Host {
    client: reqwest::Client,
    base: String,
    emitted: Vec<Listing>,
    batches: usize,
    logs: Vec<String>,
    statuses: Vec<u16>,
    /// Answer every n-th request with the host's own `rate-limited(ms)` instead of sending it.
    host_limit_every: Option<usize>,
    calls: usize,
}

impl Host {
    fn new(base: &str) -> Host {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Host {
            client,
            base: base.to_string(),
            emitted: Vec::new(),
            batches: 0,
            logs: Vec::new(),
            statuses: Vec::new(),
            host_limit_every: None,
            calls: 0,
        }
    }
}

impl ScraperHost for Host {
    async fn fetch(&mut self, request: Request) -> Result<Response, FetchError> {
        self.calls += 1;
        if let Some(n) = self.host_limit_every
            && self.calls.is_multiple_of(n)
        {
            return Err(FetchError::RateLimited(20));
        }
        let Some(rest) = request.url.strip_prefix(ORIGIN) else {
            return Err(FetchError::NotAllowed(request.url));
        };
        let url = format!("{}{rest}", self.base);
        let mut builder = super::support::request(&self.client, &request, &url)?;
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let response = super::support::send(builder).await?;
        self.statuses.push(response.status);
        Ok(response)
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

fn engine() -> ScraperEngine<Host> {
    let mut options = ScraperEngineOptions::default();
    options.limits.timeout = Some(Duration::from_secs(300));
    ScraperEngine::new(options).expect("engine")
}

fn fixtures() -> PathBuf {
    resi_testkit::repo_root()
        .join("tests/fixtures")
        .join("sources/redfin")
}

/// Serves the mimic on 127.0.0.1:0; returns its base URL and state.
async fn serve(data: MimicData, options: MimicOptions) -> (String, Arc<MimicState>) {
    let state = MimicState::new(data, options);
    let app = mimic::router(Source::Redfin, state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), state)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn task(zipcode: &str, config: &[(&str, &str)]) -> Task {
    Task {
        epoch_id: "2025-10-01T16-00-00".into(),
        zipcode: zipcode.into(),
        expected: 0,
        deadline_ms: now_ms() + 240_000,
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// Everything of a listing but the scrape time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    address: String,
    zpid: Option<String>,
    mls_id: Option<String>,
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
        address: l.address.clone(),
        zpid: l.zpid.clone(),
        mls_id: l.mls_id.clone(),
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

/// A stingray body from the fixture directory, parsed.
fn stingray_file(relative: &str) -> Value {
    let bytes = std::fs::read(fixtures().join(relative)).expect("fixture");
    let json = bytes
        .strip_prefix(b"{}&&")
        .expect("every stingray body starts with {}&&");
    serde_json::from_slice(json).expect("fixture json")
}

fn value(home: &Value, k: &str) -> Value {
    let v = &home[k];
    match v.get("value") {
        Some(inner) => inner.clone(),
        None if v.get("level").is_some() => Value::Null,
        None => v.clone(),
    }
}

/// What the scraper must emit for `zip` from a raw gis body, computed here independently.
fn expected_from_gis(gis: &Value, zip: &str) -> Vec<Key> {
    let mut out = Vec::new();
    for h in gis["payload"]["homes"].as_array().expect("homes") {
        let status = h["mlsStatus"].as_str().unwrap_or("");
        let street = value(h, "streetLine");
        let price = value(h, "price");
        if h["zip"] != zip
            || !(status == "Sold" || status == "Closed")
            || street.is_null()
            || price.is_null()
            || h["hideSalePrice"] == true
        {
            continue;
        }
        let dom = value(h, "dom").as_u64();
        let sold = h["soldDate"].as_i64().expect("sold homes carry soldDate");
        let listed = sold - dom.unwrap_or(0) as i64 * 86_400_000;
        let listed = chrono::DateTime::from_timestamp_millis(listed)
            .expect("date")
            .format("%Y-%m-%d")
            .to_string();
        let kind = match h["uiPropertyType"].as_u64() {
            Some(1) => "SINGLE_FAMILY",
            Some(2) => "CONDO",
            Some(3) => "TOWNHOUSE",
            other => panic!("the capture has only houses, got {other:?}"),
        };
        out.push(Key {
            address: format!(
                "{}, {}, {} {zip}",
                street.as_str().expect("street"),
                h["city"].as_str().expect("city"),
                h["state"].as_str().expect("state")
            ),
            zpid: None,
            mls_id: value(h, "mlsId").as_str().map(str::to_string),
            zipcode: zip.to_string(),
            price: price.as_u64(),
            bedrooms: h["beds"].as_u64().map(|b| b as u32),
            bathrooms_hundredths: h["baths"].as_f64().map(|b| (b * 100.0).round() as u32),
            sqft: value(h, "sqFt").as_u64().map(|s| s as u32),
            listing_date: listed,
            property_type: kind.to_string(),
            listing_status: "SOLD".into(),
            days_on_market: dom.map(|d| d as u32),
            source_url: format!("{ORIGIN}{}", h["url"].as_str().expect("url")),
        });
    }
    out
}

const ZIPS: [&str; 5] = ["60540", "60563", "60564", "60565", "60585"];

fn region_file(zip: &str) -> String {
    let region = mimic::redfin::region_id(zip).expect("region");
    format!("gis/{region}-page1.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_emits_exactly_the_captured_sold_homes() {
    let (base, _state) = serve(MimicData::Replay(fixtures()), MimicOptions::default()).await;
    let scraper = engine().load(&guest("redfin-scraper")).expect("load");
    let mut total = 0;
    for zip in ZIPS {
        let gis = stingray_file(&region_file(zip));
        let homes = gis["payload"]["homes"].as_array().expect("homes");
        let expected = expected_from_gis(&gis, zip);
        let run = scraper.scrape(Host::new(&base), &task(zip, &[])).await;
        let summary = run
            .result
            .unwrap_or_else(|e| panic!("{zip}: scrape failed: {e}"));
        let got: Vec<Key> = run.host.emitted.iter().map(key).collect();
        assert_eq!(summary.emitted as usize, got.len(), "{zip}");
        assert_eq!(got.len(), expected.len(), "{zip}: count");
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "{zip}: listing {i}");
        }
        // The trap: active homes of the zipcode whose soldDate is an old sale are not emitted.
        let stale: Vec<&Value> = homes
            .iter()
            .filter(|h| h["zip"] == zip && h["mlsStatus"] == "Active" && h["soldDate"].is_i64())
            .collect();
        for h in &stale {
            let url = format!("{ORIGIN}{}", h["url"].as_str().expect("url"));
            assert!(
                run.host.emitted.iter().all(|l| l.source_url != url),
                "{zip}: emitted the active home {url}"
            );
        }
        let foreign = homes.iter().filter(|h| h["zip"] != zip).count();
        println!(
            "{zip}: {} homes in the body ({foreign} of other zipcodes, {} active with an old \
             soldDate), {} emitted",
            homes.len(),
            stale.len(),
            got.len()
        );
        assert!(run.host.emitted.iter().all(|l| l.zipcode == zip
            && l.scraped_timestamp.ends_with('Z')
            && l.scraped_timestamp.len() == 20));
        total += got.len();
    }
    // 60563's body is the whole capture: most of its homes belong to other zipcodes.
    let whole = stingray_file(&region_file("60563"));
    assert_eq!(
        whole["payload"]["homes"].as_array().map(Vec::len),
        Some(197)
    );
    assert!(total > 50, "{total}");
}

fn reference(l: &Listing) -> ListingRef {
    ListingRef {
        zpid: l.zpid.clone(),
        mls_id: l.mls_id.clone(),
        zipcode: l.zipcode.clone(),
        address: l.address.clone(),
        source_url: l.source_url.clone(),
    }
}

/// The fields a spot check compares (plus status).
#[derive(Debug, PartialEq)]
struct Compared {
    mls_id: Option<String>,
    address: String,
    zipcode: String,
    price: Option<u64>,
    bedrooms: Option<u32>,
    bathrooms_hundredths: Option<u32>,
    sqft: Option<u32>,
    listing_status: String,
}

fn compared(l: &Listing) -> Compared {
    Compared {
        mls_id: l.mls_id.clone(),
        address: l.address.clone(),
        zipcode: l.zipcode.clone(),
        price: l.price,
        bedrooms: l.bedrooms,
        bathrooms_hundredths: l.bathrooms_hundredths,
        sqft: l.sqft,
        listing_status: l.listing_status.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_verify_finds_captured_homes() {
    let (base, _state) = serve(MimicData::Replay(fixtures()), MimicOptions::default()).await;
    let scraper = engine().load(&guest("redfin-scraper")).expect("load");
    let run = scraper.scrape(Host::new(&base), &task("60563", &[])).await;
    run.result.expect("scrape");
    let scraped: BTreeMap<String, Listing> = run
        .host
        .emitted
        .iter()
        .map(|l| (l.source_url.clone(), l.clone()))
        .collect();
    let mut found = 0;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures().join("home"))
        .expect("home dir")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let above = stingray_file(&format!(
            "home/{}/aboveTheFold.json",
            dir.file_name().expect("name").to_string_lossy()
        ));
        let section = &above["payload"]["addressSectionInfo"];
        let url = format!("{ORIGIN}{}", section["url"].as_str().expect("url"));
        let sold = section["status"]["longerDefinitionToken"] == "sold";
        let hidden = section["priceInfo"]["amount"].is_null();
        let target = match scraped.get(&url) {
            Some(l) => reference(l),
            None => ListingRef {
                zpid: None,
                mls_id: None,
                zipcode: section["zip"].as_str().expect("zip").into(),
                address: String::new(),
                source_url: url.clone(),
            },
        };
        let run = scraper.verify(Host::new(&base), &target, &[]).await;
        if hidden {
            match run.result {
                Err(SandboxError::Guest(msg)) => {
                    assert!(
                        msg.contains("unverifiable") && msg.contains("hides the sold price"),
                        "{msg}"
                    )
                }
                other => panic!("{url}: a hidden sold price must be unverifiable, got {other:?}"),
            }
            continue;
        }
        let Verification::Found(l) = run.result.expect("verify") else {
            panic!("{url}: a captured home was not found");
        };
        if sold {
            let s = scraped.get(&url).expect("a sold home of 60563 is scraped");
            assert_eq!(compared(&l), compared(s), "{url}");
            found += 1;
        } else {
            assert_eq!(l.listing_status, "FOR_SALE", "{url}");
            assert_eq!(l.price, section["priceInfo"]["amount"].as_u64(), "{url}");
        }
        assert_eq!(l.source_url, url);
    }
    assert!(found >= 4, "{found}");
    // A home Redfin does not know.
    let target = ListingRef {
        zpid: None,
        mls_id: Some("12345678".into()),
        zipcode: "60563".into(),
        address: "1 Nowhere Ln, Naperville, IL 60563".into(),
        source_url: format!("{ORIGIN}/IL/Naperville/1-Nowhere-Ln-60563/home/999999999"),
    };
    let run = scraper.verify(Host::new(&base), &target, &[]).await;
    assert!(
        matches!(run.result, Ok(Verification::NotFound)),
        "{:?}",
        run.result
    );
}

fn synthetic(min_max: u32) -> MimicData {
    let config = MarketConfig {
        min_listings: min_max,
        max_listings: min_max,
        zipcodes_path: None,
        ..MarketConfig::default()
    };
    MimicData::Synthetic(Arc::new(Market::new(config).expect("market")))
}

fn synthetic_key(l: &resi_market::Listing) -> Key {
    Key {
        address: l.address.clone(),
        zpid: None,
        mls_id: l.mls_id.clone(),
        zipcode: l.zipcode.clone(),
        price: Some(l.price),
        bedrooms: l.bedrooms,
        bathrooms_hundredths: l.bathrooms_hundredths,
        sqft: l.sqft,
        listing_date: l.listing_date.clone(),
        property_type: l.property_type.clone(),
        listing_status: "SOLD".into(),
        days_on_market: Some(l.days_on_market),
        source_url: String::new(),
    }
}

fn assert_same_as_universe(zip: &str, sold: &[resi_market::Listing], emitted: &[Listing]) {
    assert_eq!(
        emitted.len(),
        sold.len(),
        "{zip}: emitted {} of {}",
        emitted.len(),
        sold.len()
    );
    let ids: HashSet<&str> = emitted.iter().filter_map(|l| l.mls_id.as_deref()).collect();
    assert_eq!(
        ids.len(),
        emitted.len(),
        "{zip}: every listing has its own id"
    );
    let addresses: HashSet<String> = emitted.iter().map(|l| l.address.to_lowercase()).collect();
    assert_eq!(addresses.len(), emitted.len(), "{zip}: unique addresses");
    let by_zpid: BTreeMap<&str, &resi_market::Listing> =
        sold.iter().map(|l| (l.zpid.as_str(), l)).collect();
    for l in emitted {
        let zpid = l
            .source_url
            .rsplit_once("/home/")
            .map(|(_, id)| id)
            .expect("a Redfin home URL");
        assert!(
            l.source_url.starts_with(&format!("{ORIGIN}/")),
            "{}",
            l.source_url
        );
        let home = by_zpid
            .get(zpid)
            .unwrap_or_else(|| panic!("{zip}: {} is not a recent sale", l.source_url));
        let mut want = synthetic_key(home);
        let mut got = key(l);
        got.source_url.clear();
        if want.mls_id.is_none() {
            // Homes without an MLS number carry Redfin's own listing number.
            assert!(got.mls_id.is_some(), "{zip}: {}", l.address);
            want.mls_id = got.mls_id.clone();
        }
        assert_eq!(got, want, "{zip}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_zipcode_past_the_cap_gives_every_sale() {
    let (base, state) = serve(synthetic(7_000), MimicOptions::default()).await;
    let zip = "19103";
    let sold = state.sold(zip);
    assert!(sold.len() >= 2_000, "{}", sold.len());
    let scraper = engine().load(&guest("redfin-scraper")).expect("load");
    let started = Instant::now();
    let run = scraper.scrape(Host::new(&base), &task(zip, &[])).await;
    let summary = run.result.expect("scrape");
    assert_same_as_universe(zip, &sold, &run.host.emitted);
    println!(
        "{zip}: {} recent sales, {} emitted in {} requests, {} batches, {:.2} s",
        sold.len(),
        summary.emitted,
        summary.pages,
        run.host.batches,
        started.elapsed().as_secs_f64()
    );
    assert!(run.host.batches > 1, "emitted in batches");
    // A small zipcode needs one call; a PO BOX zipcode gives 0 listings, not an error.
    let (base, state) = serve(synthetic(200), MimicOptions::default()).await;
    let run = scraper.scrape(Host::new(&base), &task("60614", &[])).await;
    assert_eq!(
        run.result.expect("scrape").pages,
        2,
        "autocomplete + one gis call"
    );
    assert_same_as_universe("60614", &state.sold("60614"), &run.host.emitted);
    for zip in ["00501", "00000"] {
        let run = scraper.scrape(Host::new(&base), &task(zip, &[])).await;
        assert_eq!(run.result.expect("0 listings").emitted, 0, "{zip}");
    }
}

async fn scrape_error(base: &str, zip: &str, config: &[(&str, &str)]) -> String {
    let scraper = engine().load(&guest("redfin-scraper")).expect("load");
    let run = scraper.scrape(Host::new(base), &task(zip, config)).await;
    assert!(run.host.emitted.is_empty(), "{zip}");
    match run.result {
        Err(SandboxError::Guest(msg)) => msg,
        Err(other) => panic!("{zip}: expected the guest's error, got {other}"),
        Ok(s) => panic!("{zip}: expected an error, got {s:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_class_stops_with_its_message() {
    let (base, _state) = serve(synthetic(300), MimicOptions::default()).await;
    let blocked = |msg: &str| msg.contains("Redfin blocked the client") && msg.contains("`proxy`");
    let msg = scrape_error(&base, "00403", &[]).await;
    assert!(
        blocked(&msg) && msg.contains("HTTP 403 with an AWS WAF challenge page"),
        "{msg}"
    );
    let msg = scrape_error(&base, "00202", &[]).await;
    assert!(
        blocked(&msg) && msg.contains("HTTP 202 with an AWS WAF challenge page"),
        "{msg}"
    );
    let msg = scrape_error(&base, "00200", &[]).await;
    assert!(
        blocked(&msg) && msg.contains("HTTP 200 with an HTML page instead of JSON"),
        "{msg}"
    );
    let msg = scrape_error(&base, "19103", &[("user_agent", "resi-scraper/0.1")]).await;
    assert!(blocked(&msg) && msg.contains("HTTP 403"), "{msg}");
    let msg = scrape_error(&base, "00302", &[]).await;
    assert!(
        blocked(&msg) && msg.contains("HTTP 302 redirect to") && msg.contains("/login"),
        "{msg}"
    );
    let msg = scrape_error(&base, "00001", &[]).await;
    assert!(
        msg.contains("resultCode 1") && msg.contains(mimic::redfin::REFUSAL_MESSAGE),
        "{msg}"
    );
    let msg = scrape_error(&base, "00002", &[]).await;
    assert!(
        msg.contains("substituted") && msg.contains("19103"),
        "{msg}"
    );
    let msg = scrape_error(&base, "00503", &[("max_attempts", "3")]).await;
    assert!(
        msg.contains("gave up after 3 attempts") && msg.contains("HTTP 503"),
        "{msg}"
    );
    let mut t = task("19103", &[]);
    t.deadline_ms = now_ms().saturating_sub(1);
    let scraper = engine().load(&guest("redfin-scraper")).expect("load");
    let run = scraper.scrape(Host::new(&base), &t).await;
    match run.result {
        Err(SandboxError::Guest(msg)) => assert!(msg.contains("deadline"), "{msg}"),
        other => panic!("scraped past the deadline: {other:?}"),
    }
    // `{}` instead of an envelope: no homes, 0 listings, not an error.
    let run = scraper.scrape(Host::new(&base), &task("00204", &[])).await;
    assert_eq!(run.result.expect("{} is no homes").emitted, 0);
    // A bad config value names the key.
    let msg = scrape_error(&base, "19103", &[("uipt", "1,9")]).await;
    assert!(msg.contains("uipt"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_waited_out() {
    let scraper = engine().load(&guest("redfin-scraper")).expect("load");
    for retry_after in [true, false] {
        let options = MimicOptions {
            rate_limit: Some(RateLimit {
                per_second: 4.0,
                burst: 1,
                per_client: false,
            }),
            retry_after,
            ..MimicOptions::default()
        };
        let (base, state) = serve(synthetic(1_500), options).await;
        let zip = "10001";
        let run = scraper.scrape(Host::new(&base), &task(zip, &[])).await;
        run.result.expect("scrape");
        assert!(
            run.host.statuses.contains(&429),
            "retry_after {retry_after}: {:?}",
            run.host.statuses
        );
        assert_same_as_universe(zip, &state.sold(zip), &run.host.emitted);
    }
    // The host's own rate limit (`fetch-error::rate-limited`) on every third request.
    let (base, state) = serve(synthetic(1_500), MimicOptions::default()).await;
    let mut host = Host::new(&base);
    host.host_limit_every = Some(3);
    let run = scraper.scrape(host, &task("10001", &[])).await;
    run.result.expect("scrape");
    assert_same_as_universe("10001", &state.sold("10001"), &run.host.emitted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_verify_and_redirect() {
    let (base, state) = serve(synthetic(400), MimicOptions::default()).await;
    let scraper = engine().load(&guest("redfin-scraper")).expect("load");
    let run = scraper.scrape(Host::new(&base), &task("19103", &[])).await;
    run.result.expect("scrape");
    assert_same_as_universe("19103", &state.sold("19103"), &run.host.emitted);
    for l in run.host.emitted.iter().take(5) {
        let run = scraper.verify(Host::new(&base), &reference(l), &[]).await;
        match run.result.expect("verify") {
            Verification::Found(found) => assert_eq!(compared(&found), compared(l)),
            Verification::NotFound => panic!("{}: not found", l.source_url),
        }
        // Without a URL, the MLS number is searched among the zipcode's sales.
        let mut by_mls = reference(l);
        by_mls.source_url = String::new();
        let run = scraper.verify(Host::new(&base), &by_mls, &[]).await;
        match run.result.expect("verify by MLS number") {
            Verification::Found(found) => assert_eq!(compared(&found), compared(l)),
            Verification::NotFound => panic!("{:?}: not found by MLS number", l.mls_id),
        }
    }
    // A forged home id is not found; so is an MLS number nobody sold.
    let mut forged = reference(&run.host.emitted[0]);
    forged.source_url = format!("{ORIGIN}/PA/Philadelphia/1-Forged-St-19103/home/19103999999");
    let r = scraper.verify(Host::new(&base), &forged, &[]).await;
    assert!(
        matches!(r.result, Ok(Verification::NotFound)),
        "{:?}",
        r.result
    );
    forged.source_url.clear();
    forged.mls_id = Some("PA0000000".into());
    let r = scraper.verify(Host::new(&base), &forged, &[]).await;
    assert!(
        matches!(r.result, Ok(Verification::NotFound)),
        "{:?}",
        r.result
    );
    // `/home/{id}` redirects to the canonical slug.
    let l = &run.host.emitted[0];
    let id = l.source_url.rsplit_once("/home/").expect("id").1;
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("{base}/home/{id}"))
        .header("User-Agent", "Mozilla/5.0")
        .send()
        .await
        .expect("get");
    assert_eq!(response.status().as_u16(), 301);
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some(l.source_url.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_per_second_at_a_rate_limit() {
    let scraper = engine().load(&guest("redfin-scraper")).expect("load");
    for per_second in [5.0, 20.0] {
        let options = MimicOptions {
            rate_limit: Some(RateLimit {
                per_second,
                burst: per_second as u32,
                per_client: false,
            }),
            ..MimicOptions::default()
        };
        let (base, state) = serve(synthetic(6_000), options).await;
        let zip = "94105";
        let started = Instant::now();
        let run = scraper.scrape(Host::new(&base), &task(zip, &[])).await;
        let summary = run.result.expect("scrape");
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(summary.emitted as usize, state.sold(zip).len());
        let limited = run.host.statuses.iter().filter(|s| **s == 429).count();
        println!(
            "rate limit {per_second}/s: {} listings in {} requests ({limited} answered 429) in \
             {secs:.2} s = {:.0} listings/s",
            summary.emitted,
            summary.pages,
            f64::from(summary.emitted) / secs
        );
    }
}
