//! The `zillow-rapidapi-scraper` component against the Zillow RapidAPI mimic on loopback, run
//! through the sandbox's scraper engine.
//!
//! The test host stands in for the manifest gate: it lets the component reach only
//! `https://zillow-com1.p.rapidapi.com` (the real URLs the scraper builds), rewrites that origin
//! to the mimic's `http://127.0.0.1:PORT`, and substitutes `{{secret:RAPIDAPI_KEY}}` with the
//! test key (or drops the header, as a miner without the secret would send it).
//!
//! Replay: the real captured pages in `tests/fixtures/sources/zillow-rapidapi/` are ForSale
//! items (no real RecentlySold page exists). The replay mimic serves a capture whatever the
//! query's `status_type`, and the scraper maps whatever status it reads, so the RecentlySold
//! scraper's mapping is checked on them unchanged: `listing-status` is the item's
//! `listingStatus` (`FOR_SALE`), and `listing-date`, which is the sale day for a sold item, is
//! the scrape day minus `daysOnZillow` for these items without `dateSold`. Only page 1 of each
//! zipcode was captured: the replay answers `{}` for page 2, where the scraper stops.

use resi_market::mimic::{self, MimicData, MimicOptions, MimicState, Source};
use resi_market::{Market, MarketConfig, NaiveDate, RateLimit, ZipKind};
use resi_sandbox::SandboxError;
use resi_sandbox::scraper::wit::*;
use resi_sandbox::scraper::{
    HostAbort, Run, Scraper, ScraperEngine, ScraperEngineOptions, ScraperHost,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ORIGIN: &str = "https://zillow-com1.p.rapidapi.com";
const SECRET_REF: &str = "{{secret:RAPIDAPI_KEY}}";
/// The key the mimic accepts; it must never show up in anything the scraper produces.
const TEST_KEY: &str = "resi-test-key-5d1f0c7a9e";
const ZILLOW: &str = "https://www.zillow.com";

fn fixtures() -> PathBuf {
    resi_testkit::repo_root()
        .join("tests/fixtures")
        .join("sources/zillow-rapidapi")
}

/// Something the test host does instead of a request.
#[derive(Clone, Copy)]
enum Injected {
    /// The gate's own limit: `fetch-error::rate-limited(ms)`.
    RateLimited(u32),
    /// An upstream answer with this status.
    Status(u16),
}

/// The test host: origin rewrite, secret substitution, records of everything.
struct TestHost {
    client: reqwest::Client,
    base: String,
    secret: Option<String>,
    host_header: Option<String>,
    inject: VecDeque<Injected>,
    /// Answers searches itself instead of the mimic (see [`FakeSearch`]).
    fake: Option<Arc<FakeSearch>>,
    emitted: Vec<Listing>,
    batches: usize,
    logs: Vec<String>,
    urls: Vec<String>,
    /// (status, Retry-After) of every upstream answer.
    answers: Vec<(u16, Option<String>)>,
}

impl TestHost {
    fn new(mimic: &MimicServer) -> TestHost {
        TestHost {
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: format!("http://{}", mimic.addr),
            secret: Some(TEST_KEY.to_string()),
            host_header: None,
            inject: VecDeque::new(),
            fake: None,
            emitted: Vec::new(),
            batches: 0,
            logs: Vec::new(),
            urls: Vec::new(),
            answers: Vec::new(),
        }
    }

    fn with_secret(mut self, secret: Option<&str>) -> TestHost {
        self.secret = secret.map(str::to_string);
        self
    }
}

impl ScraperHost for TestHost {
    async fn fetch(&mut self, request: Request) -> Result<Response, FetchError> {
        let Some(rest) = request
            .url
            .strip_prefix(ORIGIN)
            .filter(|r| r.starts_with('/'))
        else {
            return Err(FetchError::NotAllowed(request.url));
        };
        self.urls.push(request.url.clone());
        match self.inject.pop_front() {
            Some(Injected::RateLimited(ms)) => return Err(FetchError::RateLimited(ms)),
            Some(Injected::Status(status)) => {
                return Ok(Response {
                    status,
                    headers: Vec::new(),
                    body: b"<html>upstream trouble</html>".to_vec(),
                });
            }
            None => {}
        }
        if let Some(fake) = &self.fake {
            return Ok(fake.answer(rest));
        }
        let url = format!("{}{rest}", self.base);
        let mut builder = super::support::request(&self.client, &request, &url)?;
        for (name, value) in request.headers {
            let value = if value.contains(SECRET_REF) {
                match &self.secret {
                    Some(secret) => value.replace(SECRET_REF, secret),
                    None => continue,
                }
            } else {
                value
            };
            let value = match &self.host_header {
                Some(h) if name.eq_ignore_ascii_case("x-rapidapi-host") => h.clone(),
                _ => value,
            };
            builder = builder.header(name, value);
        }
        let response = super::support::send(builder).await?;
        let retry_after = response
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .map(|(_, v)| v.clone());
        self.answers.push((response.status, retry_after));
        Ok(response)
    }

    async fn emit(&mut self, batch: Vec<Listing>) -> Result<(), HostAbort> {
        self.batches += 1;
        self.emitted.extend(batch);
        Ok(())
    }

    fn log(&mut self, level: Level, message: String) {
        self.logs.push(format!("{level:?}: {message}"));
    }
}

struct MimicServer {
    addr: SocketAddr,
    state: Arc<MimicState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MimicServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(data: MimicData, options: MimicOptions) -> MimicServer {
    let state = MimicState::new(data, options);
    let app = mimic::router(Source::ZillowRapidApi, state.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    MimicServer { addr, state, task }
}

fn options() -> MimicOptions {
    MimicOptions {
        api_key: TEST_KEY.to_string(),
        ..MimicOptions::default()
    }
}

fn market(min: u32, max: u32) -> Arc<Market> {
    Arc::new(
        Market::new(MarketConfig {
            seed: 46,
            min_listings: min,
            max_listings: max,
            ..MarketConfig::default()
        })
        .expect("market"),
    )
}

fn guest() -> Vec<u8> {
    resi_testkit::guest("zillow-rapidapi-scraper")
}

fn scraper() -> Scraper<TestHost> {
    let mut options = ScraperEngineOptions::default();
    options.limits.timeout = Some(Duration::from_secs(300));
    ScraperEngine::new(options)
        .expect("engine")
        .load(&guest())
        .expect("load")
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

fn listing_ref(zpid: &str) -> ListingRef {
    ListingRef {
        zpid: Some(zpid.to_string()),
        mls_id: None,
        zipcode: String::new(),
        address: String::new(),
        source_url: String::new(),
    }
}

/// Everything of a listing but the scrape time.
#[derive(Debug, PartialEq, Clone)]
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

/// Every text a run produced: logs, the error, the listings.
fn texts<T: std::fmt::Debug>(run: &Run<TestHost, T>) -> Vec<String> {
    let mut out = run.host.logs.clone();
    match &run.result {
        Ok(v) => out.push(format!("{v:?}")),
        Err(e) => out.push(e.to_string()),
    }
    out.extend(run.host.emitted.iter().map(|l| format!("{:?}", key(l))));
    out
}

fn assert_secret_kept<T: std::fmt::Debug>(run: &Run<TestHost, T>) {
    for text in texts(run) {
        assert!(!text.contains(TEST_KEY), "the key leaked into {text:?}");
    }
}

fn guest_error<T: std::fmt::Debug>(run: &Run<TestHost, T>) -> String {
    match &run.result {
        Err(SandboxError::Guest(msg)) => msg.clone(),
        other => panic!("expected the guest's error, got {other:?}"),
    }
}

fn date_minus(date: NaiveDate, days: u64) -> String {
    (date - chrono::Days::new(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn utc_date_of_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("ms")
        .format("%Y-%m-%d")
        .to_string()
}

fn resi_type(zillow: &str) -> String {
    if zillow == "LOT" { "LAND" } else { zillow }.to_string()
}

/// The listing a search item must become, computed from the raw JSON, or `None` when the
/// item's address does not end in the assigned zipcode.
fn expected_from_item(item: &Value, zip: &str, scraped_day: NaiveDate) -> Option<Key> {
    let address = item["address"].as_str().expect("address").to_string();
    let last_word = address.rsplit(' ').next().unwrap_or_default();
    // A shown price of 0 is no price: the item is dropped (logged), like one without a price.
    if last_word != zip || item["price"].as_u64() == Some(0) {
        return None;
    }
    let dom = item["daysOnZillow"].as_u64();
    let listing_date = match item["dateSold"].as_i64() {
        Some(ms) => utc_date_of_ms(ms),
        None => date_minus(scraped_day, dom.unwrap_or(0)),
    };
    Some(Key {
        zpid: Some(item["zpid"].as_str().expect("zpid is a string").to_string()),
        mls_id: None,
        address,
        zipcode: zip.to_string(),
        price: item["price"].as_u64(),
        bedrooms: item["bedrooms"].as_u64().map(|b| b as u32),
        bathrooms_hundredths: item["bathrooms"]
            .as_f64()
            .map(|b| (b * 100.0).round() as u32),
        sqft: item["livingArea"].as_u64().map(|s| s as u32),
        listing_date,
        property_type: resi_type(item["propertyType"].as_str().expect("propertyType")),
        listing_status: item["listingStatus"].as_str().expect("status").to_string(),
        days_on_market: dom.map(|d| d as u32),
        source_url: format!("{ZILLOW}{}", item["detailUrl"].as_str().expect("detailUrl")),
    })
}

/// The listing `verify` must find for a `/property` body of a home for sale.
fn expected_from_property(home: &Value) -> Key {
    let a = &home["address"];
    let s = |v: &Value| v.as_str().expect("text").to_string();
    Key {
        zpid: Some(
            home["zpid"]
                .as_u64()
                .expect("zpid is an integer")
                .to_string(),
        ),
        mls_id: home["mlsid"]
            .as_str()
            .or(home["attributionInfo"]["mlsId"].as_str())
            .map(str::to_string),
        address: format!(
            "{}, {}, {} {}",
            s(&a["streetAddress"]),
            s(&a["city"]),
            s(&a["state"]),
            s(&a["zipcode"])
        ),
        zipcode: s(&home["zipcode"]),
        price: home["price"].as_u64(),
        bedrooms: home["bedrooms"].as_u64().map(|b| b as u32),
        bathrooms_hundredths: home["bathrooms"]
            .as_f64()
            .map(|b| (b * 100.0).round() as u32),
        sqft: home["livingArea"].as_u64().map(|v| v as u32),
        listing_date: s(&home["datePosted"]),
        property_type: resi_type(home["homeType"].as_str().expect("homeType")),
        listing_status: s(&home["homeStatus"]),
        days_on_market: home["resoFacts"]["daysOnZillow"].as_u64().map(|d| d as u32),
        source_url: format!("{ZILLOW}{}", s(&home["url"])),
    }
}

fn scraped_day(l: &Listing) -> NaiveDate {
    assert!(
        l.scraped_timestamp.len() == 20 && l.scraped_timestamp.ends_with('Z'),
        "{}",
        l.scraped_timestamp
    );
    NaiveDate::parse_from_str(&l.scraped_timestamp[..10], "%Y-%m-%d").expect("scraped day")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// Captured search pages by zipcode, page 1 first.
fn captured_pages() -> BTreeMap<String, Vec<(u32, Value)>> {
    let mut pages: BTreeMap<String, Vec<(u32, Value)>> = BTreeMap::new();
    for entry in std::fs::read_dir(fixtures().join("search")).expect("search dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_string();
        let (zip, page) = name.split_once("-page").expect("{zip}-page{n}.json");
        pages
            .entry(zip.to_string())
            .or_default()
            .push((page.parse().expect("page number"), read_json(&path)));
    }
    for list in pages.values_mut() {
        list.sort_by_key(|(n, _)| *n);
    }
    pages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_scrapes_every_captured_page_field_by_field() {
    let mimic = serve(MimicData::Replay(fixtures()), options()).await;
    let scraper = scraper();
    let pages = captured_pages();
    assert!(pages.len() >= 5, "{:?}", pages.keys());
    let mut total = 0;
    for (zip, captured) in &pages {
        // The scraper walks pages 1, 2, ... while they are captured (and at most totalPages).
        let mut items: Vec<&Value> = Vec::new();
        for (i, (n, page)) in captured.iter().enumerate() {
            let total_pages = page["totalPages"].as_u64().unwrap_or(0);
            if *n as usize != i + 1 || u64::from(*n) > total_pages {
                break;
            }
            items.extend(page["props"].as_array().into_iter().flatten());
        }
        let run = scraper.scrape(TestHost::new(&mimic), &task(zip, &[])).await;
        let summary = run
            .result
            .as_ref()
            .map_err(|e| e.to_string())
            .expect("scrape");
        assert_secret_kept(&run);
        let emitted = &run.host.emitted;
        assert_eq!(summary.emitted as usize, emitted.len(), "{zip}");
        let expected: Vec<&Value> = items
            .iter()
            .copied()
            .filter(|item| {
                let day = NaiveDate::from_ymd_opt(2000, 1, 1).expect("day");
                expected_from_item(item, zip, day).is_some()
            })
            .collect();
        assert_eq!(emitted.len(), expected.len(), "{zip}: {:?}", run.host.logs);
        for (got, item) in emitted.iter().zip(&expected) {
            let want = expected_from_item(item, zip, scraped_day(got)).expect("kept");
            assert_eq!(key(got), want, "{zip}");
        }
        let dropped = items.len() - expected.len();
        if dropped > 0 {
            assert!(
                run.host
                    .logs
                    .iter()
                    .any(|l| l.contains(&format!("dropped {dropped} item"))),
                "{zip}: drops are logged: {:?}",
                run.host.logs
            );
        }
        total += emitted.len();
        println!(
            "{zip}: {} items captured, {} emitted, {dropped} dropped (no zipcode {zip} in the address)",
            items.len(),
            emitted.len()
        );
    }
    // 10001, 30309, 37201: 41 each; 60601: 32 (9 builder plans without a zipcode); 33101: `{}`;
    // less the two items of 30309 shown at price 0.
    assert_eq!(total, 41 * 3 + 32 - 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_verifies_every_captured_property() {
    let mimic = serve(MimicData::Replay(fixtures()), options()).await;
    let scraper = scraper();
    let mut properties = BTreeMap::new();
    for entry in std::fs::read_dir(fixtures().join("property")).expect("property dir") {
        let path = entry.expect("entry").path();
        let zpid = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_string();
        properties.insert(zpid, read_json(&path));
    }
    assert!(properties.len() >= 164);
    let mut verified = BTreeMap::new();
    let mut unpriced = 0;
    for (zpid, home) in &properties {
        let run = scraper
            .verify(TestHost::new(&mimic), &listing_ref(zpid), &[])
            .await;
        assert_secret_kept(&run);
        match run.result {
            // A price of 0 at the source confirms no price: unverifiable, not a record.
            Err(e) if home["price"].as_u64() == Some(0) => {
                assert!(e.to_string().contains("unverifiable"), "{zpid}: {e}");
                unpriced += 1;
            }
            Ok(Verification::Found(l)) => {
                assert_eq!(key(&l), expected_from_property(home), "{zpid}");
                verified.insert(zpid.clone(), key(&l));
            }
            other => panic!("{zpid}: {other:?}"),
        }
    }
    // What the scraper emits from a search page passes the policy's spot check against what the
    // verifier finds for the same home (identifiers, zipcode, address, price, beds, baths).
    let day = NaiveDate::from_ymd_opt(2025, 9, 12).expect("day");
    let mut compared = 0;
    for (zip, captured) in captured_pages() {
        for (_, page) in captured {
            for item in page["props"].as_array().into_iter().flatten() {
                let Some(listed) = expected_from_item(item, &zip, day) else {
                    continue;
                };
                let Some(found) = verified.get(listed.zpid.as_deref().unwrap_or_default()) else {
                    continue;
                };
                assert_eq!(
                    (&listed.zpid, &listed.zipcode, &listed.address, listed.price),
                    (&found.zpid, &found.zipcode, &found.address, found.price)
                );
                assert_eq!(
                    (listed.bedrooms, listed.bathrooms_hundredths),
                    (found.bedrooms, found.bathrooms_hundredths)
                );
                compared += 1;
            }
        }
    }
    assert_eq!(unpriced, 2, "the two captured homes shown at price 0");
    assert_eq!(
        compared,
        155 - 2,
        "every emitted item whose property was verified"
    );
    // Unknown and impossible zpids.
    for zpid in ["1", "99999999999", "not-a-zpid"] {
        let run = scraper
            .verify(TestHost::new(&mimic), &listing_ref(zpid), &[])
            .await;
        assert!(
            matches!(run.result, Ok(Verification::NotFound)),
            "{zpid}: {:?}",
            run.result
        );
    }
    // No zpid, but a Zillow URL holding one.
    let (zpid, home) = properties.iter().next().expect("one");
    let mut target = listing_ref("");
    target.zpid = None;
    target.source_url = format!("{ZILLOW}{}", home["url"].as_str().expect("url"));
    let run = scraper.verify(TestHost::new(&mimic), &target, &[]).await;
    match run.result {
        Ok(Verification::Found(l)) => assert_eq!(l.zpid.as_deref(), Some(zpid.as_str())),
        other => panic!("{other:?}"),
    }
}

/// Sold variants of a real `/property` body (the captures are all FOR_SALE): a sale with
/// `lastSoldPrice`, one whose price the source withholds (non-disclosure states), and `{}`.
/// Written to a scratch replay directory; nothing of it is a capture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_sold_homes_and_withheld_sale_prices() {
    let real: Value = read_json(&fixtures().join("property/2069666193.json"));
    let dir = std::env::temp_dir().join(format!("resi-zillow-replay-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("property")).expect("dir");
    let sold_ms = 1_757_649_600_000_i64; // 2025-09-12T04:00:00Z, midnight US Eastern
    let variant = |zpid: u64, last_sold: Value| {
        let mut home = real.clone();
        home["zpid"] = zpid.into();
        home["homeStatus"] = "RECENTLY_SOLD".into();
        home["dateSold"] = sold_ms.into();
        home["lastSoldPrice"] = last_sold.clone();
        let mut history = vec![serde_json::json!({
            "date": "2025-09-12", "time": sold_ms, "event": "Sold", "price": last_sold,
            "source": "Public Record"
        })];
        history.extend(home["priceHistory"].as_array().cloned().unwrap_or_default());
        home["priceHistory"] = Value::Array(history);
        std::fs::write(
            dir.join(format!("property/{zpid}.json")),
            serde_json::to_vec(&home).expect("json"),
        )
        .expect("write");
    };
    variant(9_000_000_001, 2_650_000.into());
    variant(9_000_000_002, Value::Null);
    std::fs::write(dir.join("property/9000000003.json"), b"{}").expect("write");

    let mimic = serve(MimicData::Replay(dir.clone()), options()).await;
    let scraper = scraper();
    let run = scraper
        .verify(TestHost::new(&mimic), &listing_ref("9000000001"), &[])
        .await;
    match run.result {
        Ok(Verification::Found(l)) => {
            let mut want = expected_from_property(&real);
            want.zpid = Some("9000000001".into());
            want.price = Some(2_650_000);
            want.listing_status = "RECENTLY_SOLD".into();
            want.listing_date = "2025-09-12".into();
            assert_eq!(key(&l), want);
        }
        other => panic!("{other:?}"),
    }
    let run = scraper
        .verify(TestHost::new(&mimic), &listing_ref("9000000002"), &[])
        .await;
    let msg = guest_error(&run);
    assert!(msg.starts_with("unverifiable:"), "{msg}");
    assert!(msg.contains("no sale price"), "{msg}");
    let run = scraper
        .verify(TestHost::new(&mimic), &listing_ref("9000000003"), &[])
        .await;
    assert!(
        matches!(run.result, Ok(Verification::NotFound)),
        "{:?}",
        run.result
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The keys of each item of `props`, in the order they are written.
#[derive(Deserialize)]
struct PageKeys {
    props: Vec<ItemKeys>,
}

struct ItemKeys(Vec<String>);

impl<'de> Deserialize<'de> for ItemKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ItemKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<ItemKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    m.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(ItemKeys(keys))
            }
        }
        d.deserialize_map(V)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mimic_speaks_the_real_wire_format() {
    let market = market(9_999, 9_999);
    let mimic = serve(MimicData::Synthetic(market.clone()), options()).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let get = |path: String, key: Option<&'static str>, host: &'static str| {
        let mut r = client.get(format!("http://{}{path}", mimic.addr));
        if let Some(k) = key {
            r = r.header("X-RapidAPI-Key", k);
        }
        r.header("X-RapidAPI-Host", host).send()
    };
    let ok_host = "zillow-com1.p.rapidapi.com";
    let search = |zip: &str, page: u32| {
        format!(
            "/propertyExtendedSearch?location={zip}&status_type=RecentlySold&sort=Newest&page={page}"
        )
    };
    let sold = mimic.state.sold("19103");
    assert!(sold.len() > 2_000, "{}", sold.len());

    let r = get(search("19103", 1), Some(TEST_KEY), ok_host)
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("body");
    let page: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(page["totalResultCount"].as_u64(), Some(sold.len() as u64));
    assert_eq!(
        page["totalPages"].as_u64(),
        Some(sold.len().div_ceil(41) as u64)
    );
    assert_eq!(page["resultsPerPage"].as_u64(), Some(41));
    assert_eq!(page["currentPage"].as_u64(), Some(1));
    assert_eq!(page["props"].as_array().map(Vec::len), Some(41));
    let first = &page["props"][0];
    assert_eq!(first["zpid"].as_str(), Some(sold[0].zpid.as_str()));
    assert_eq!(first["listingStatus"], "RECENTLY_SOLD");
    assert_eq!(first["price"].as_u64(), Some(sold[0].price));
    assert!(first["dateSold"].as_i64().is_some());

    // Same keys in the same order as the real captured items, plus dateSold after daysOnZillow.
    let real: PageKeys = serde_json::from_slice(
        &std::fs::read(fixtures().join("search/10001-page1.json")).expect("read"),
    )
    .expect("real keys");
    let mimicked: PageKeys = serde_json::from_str(&text).expect("keys");
    let strip = |keys: &[String], drop: &[&str]| -> Vec<String> {
        keys.iter()
            .filter(|k| !drop.contains(&k.as_str()))
            .cloned()
            .collect()
    };
    let real_order = strip(&real.props[0].0, &["unit", "newConstructionType"]);
    for item in &mimicked.props {
        let mut want = real_order.clone();
        let at = want
            .iter()
            .position(|k| k == "daysOnZillow")
            .expect("daysOnZillow")
            + 1;
        want.insert(at, "dateSold".into());
        assert_eq!(strip(&item.0, &["unit"]), want);
    }

    // Page 20 is the last one served; past it, 400. A page past the end and a PO box: `{}`.
    let r = get(search("19103", 20), Some(TEST_KEY), ok_host)
        .await
        .expect("get");
    let p20: Value = r.json().await.expect("json");
    assert_eq!(
        p20["props"][0]["zpid"].as_str(),
        Some(sold[19 * 41].zpid.as_str())
    );
    let r = get(search("19103", 21), Some(TEST_KEY), ok_host)
        .await
        .expect("get");
    assert_eq!(r.status(), 400);
    let po_box = market
        .zipcodes()
        .iter()
        .find(|z| z.kind == ZipKind::PoBox)
        .map(|z| z.zipcode.clone())
        .expect("a PO box zipcode");
    for path in [
        search(&po_box, 1),
        format!("{}&minPrice=1&maxPrice=2", search("19103", 1)),
    ] {
        let r = get(path, Some(TEST_KEY), ok_host).await.expect("get");
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.expect("body"), "{}");
    }
    // Filters.
    let price = sold[0].price;
    let r = get(
        format!("{}&minPrice={price}&maxPrice={price}", search("19103", 1)),
        Some(TEST_KEY),
        ok_host,
    )
    .await
    .expect("get");
    let p: Value = r.json().await.expect("json");
    let n = sold.iter().filter(|l| l.price == price).count();
    assert_eq!(p["totalResultCount"].as_u64(), Some(n as u64));

    // /property of a sold home.
    let home = &sold[0];
    let r = get(
        format!("/property?zpid={}", home.zpid),
        Some(TEST_KEY),
        ok_host,
    )
    .await
    .expect("get");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["zpid"].as_u64(), home.zpid.parse().ok());
    assert_eq!(body["homeStatus"], "RECENTLY_SOLD");
    assert_eq!(body["lastSoldPrice"].as_u64(), Some(home.price));
    assert_eq!(body["priceHistory"][0]["event"], "Sold");
    assert_eq!(body["address"]["zipcode"], "19103");
    let r = get("/property?zpid=123".into(), Some(TEST_KEY), ok_host)
        .await
        .expect("get");
    assert_eq!(r.status(), 404);

    // The gateway's answers, byte for byte.
    let invalid = r#"{"message":"Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info."}"#;
    let r = get(search("19103", 1), None, ok_host).await.expect("get");
    assert_eq!(r.status(), 401);
    assert_eq!(r.text().await.expect("body"), invalid);
    let r = get(search("19103", 1), Some("wrong"), ok_host)
        .await
        .expect("get");
    assert_eq!(r.status(), 403);
    assert_eq!(r.text().await.expect("body"), invalid);
    let r = get(search("19103", 1), Some(TEST_KEY), "other.p.rapidapi.com")
        .await
        .expect("get");
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.text().await.expect("body"),
        r#"{"message":"You are not subscribed to this API."}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mimic_throttles_like_rapidapi() {
    for retry_after in [true, false] {
        let mimic = serve(
            MimicData::Synthetic(market(200, 400)),
            MimicOptions {
                rate_limit: Some(RateLimit {
                    per_second: 1.0,
                    burst: 1,
                    per_client: false,
                }),
                retry_after,
                monthly_quota: Some(2),
                ..options()
            },
        )
        .await;
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let url = format!("http://{}/property?zpid=1", mimic.addr);
        let send = || {
            client
                .get(&url)
                .header("X-RapidAPI-Key", TEST_KEY)
                .header("X-RapidAPI-Host", "zillow-com1.p.rapidapi.com")
                .send()
        };
        assert_eq!(send().await.expect("get").status(), 404);
        let r = send().await.expect("get");
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers().contains_key("retry-after"), retry_after);
        assert_eq!(
            r.text().await.expect("body"),
            r#"{"message":"You have exceeded the rate limit per second for your plan, BASIC, by the API provider"}"#
        );
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        assert_eq!(send().await.expect("get").status(), 404);
        let r = send().await.expect("get");
        assert_eq!(r.status(), 429);
        assert_eq!(
            r.text().await.expect("body"),
            r#"{"message":"You have exceeded the MONTHLY quota for Requests on your current plan, BASIC. Upgrade your plan at https://rapidapi.com/apimaker/api/zillow-com1"}"#
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_goes_past_the_820_cap_with_unique_listings() {
    let market = market(9_999, 9_999);
    let mimic = serve(MimicData::Synthetic(market.clone()), options()).await;
    let scraper = scraper();
    let zip = "19103";
    let sold = mimic.state.sold(zip);
    assert!(sold.len() >= 2_000, "{}", sold.len());
    let started = Instant::now();
    let run = scraper.scrape(TestHost::new(&mimic), &task(zip, &[])).await;
    let elapsed = started.elapsed();
    let summary = run
        .result
        .as_ref()
        .map_err(|e| e.to_string())
        .expect("scrape");
    assert_secret_kept(&run);
    let emitted = &run.host.emitted;
    assert_eq!(summary.emitted as usize, emitted.len());
    let zpids: HashSet<&str> = emitted.iter().filter_map(|l| l.zpid.as_deref()).collect();
    assert_eq!(zpids.len(), emitted.len(), "no zpid twice");
    assert_eq!(emitted.len(), sold.len());
    let by_zpid: BTreeMap<&str, &Listing> = emitted
        .iter()
        .map(|l| (l.zpid.as_deref().unwrap_or_default(), l))
        .collect();
    for home in sold.iter() {
        let got = by_zpid
            .get(home.zpid.as_str())
            .unwrap_or_else(|| panic!("{} missing", home.zpid));
        let want = Key {
            zpid: Some(home.zpid.clone()),
            mls_id: None,
            address: home.address.clone(),
            zipcode: home.zipcode.clone(),
            price: Some(home.price),
            bedrooms: home.bedrooms,
            bathrooms_hundredths: home.bathrooms_hundredths,
            sqft: home.sqft,
            listing_date: home.sold_date.clone().expect("sold"),
            property_type: home.property_type.clone(),
            listing_status: "RECENTLY_SOLD".into(),
            days_on_market: Some(home.days_on_market),
            source_url: got.source_url.clone(),
        };
        assert_eq!(key(got), want);
        assert!(
            got.source_url
                .starts_with("https://www.zillow.com/homedetails/")
                && got.source_url.ends_with(&format!("/{}_zpid/", home.zpid)),
            "{}",
            got.source_url
        );
    }
    assert!(
        run.host.batches >= (sold.len() / 41),
        "emitted page by page"
    );
    println!(
        "{zip}: {} recent sales, {} unique listings in {} requests ({} pages), {:.1} s, {:.0} listings/s unthrottled",
        sold.len(),
        emitted.len(),
        mimic.state.requests(),
        summary.pages,
        elapsed.as_secs_f64(),
        emitted.len() as f64 / elapsed.as_secs_f64()
    );
    // The spot check of a sold home finds it with its sale price.
    for home in sold.iter().take(3) {
        let run = scraper
            .verify(TestHost::new(&mimic), &listing_ref(&home.zpid), &[])
            .await;
        match run.result {
            Ok(Verification::Found(l)) => {
                let got = by_zpid[home.zpid.as_str()];
                let mut want = key(got);
                want.mls_id = home.mls_id.clone();
                assert_eq!(key(&l), want);
            }
            other => panic!("{other:?}"),
        }
    }
    // A home for sale is found with its asking price and listing date.
    let for_sale = market
        .listings(zip)
        .into_iter()
        .find(|l| l.listing_status == "FOR_SALE")
        .expect("a home for sale");
    let run = scraper
        .verify(TestHost::new(&mimic), &listing_ref(&for_sale.zpid), &[])
        .await;
    match run.result {
        Ok(Verification::Found(l)) => {
            assert_eq!(l.price, Some(for_sale.price));
            assert_eq!(l.listing_status, "FOR_SALE");
            assert_eq!(l.listing_date, for_sale.listing_date);
            assert_eq!(l.address, for_sale.address);
        }
        other => panic!("{other:?}"),
    }
}

/// A zipcode of the default-sized market with this many recent sales (one query, no split).
fn zip_with_sales(mimic: &MimicServer, range: std::ops::RangeInclusive<usize>) -> String {
    [
        "19103", "10001", "60614", "94105", "30309", "37201", "02139", "98101",
    ]
    .into_iter()
    .find(|z| range.contains(&mimic.state.sold(z).len()))
    .expect("a zipcode with enough sales")
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_and_subscription_errors_name_the_secret() {
    let market = market(200, 1_000);
    let mimic = serve(MimicData::Synthetic(market.clone()), options()).await;
    let scraper = scraper();
    let zip = zip_with_sales(&mimic, 1..=820);

    // No key (the header is left out), a wrong key.
    for (secret, status) in [(None, 401), (Some("wrong-key-0000"), 403)] {
        let run = scraper
            .scrape(TestHost::new(&mimic).with_secret(secret), &task(&zip, &[]))
            .await;
        let msg = guest_error(&run);
        assert!(msg.contains("RAPIDAPI_KEY"), "{msg}");
        assert!(msg.contains("Invalid API key"), "{msg}");
        assert!(msg.contains(&format!("HTTP {status}")), "{msg}");
        assert!(run.host.emitted.is_empty());
        assert_eq!(run.host.urls.len(), 1, "no retries of a refused key");
        assert_secret_kept(&run);
        if let Some(s) = secret {
            assert!(texts(&run).iter().all(|t| !t.contains(s)), "{msg}");
        }
        let run = scraper
            .verify(
                TestHost::new(&mimic).with_secret(secret),
                &listing_ref("1"),
                &[],
            )
            .await;
        assert!(guest_error(&run).contains("RAPIDAPI_KEY"));
    }
    // Not subscribed.
    let mut host = TestHost::new(&mimic);
    host.host_header = Some("some-other-api.p.rapidapi.com".into());
    let run = scraper.scrape(host, &task(&zip, &[])).await;
    let msg = guest_error(&run);
    assert!(msg.contains("not subscribed"), "{msg}");
    assert!(msg.contains("RAPIDAPI_KEY"), "{msg}");
    assert_secret_kept(&run);
    // A URL outside the allowlist never happens: every request went to the real origin.
    assert!(run.host.urls.iter().all(|u| u.starts_with(ORIGIN)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_second_limits_are_waited_out_with_and_without_retry_after() {
    for retry_after in [true, false] {
        let mimic = serve(
            MimicData::Synthetic(market(200, 1_000)),
            MimicOptions {
                rate_limit: Some(RateLimit {
                    per_second: 2.0,
                    burst: 1,
                    per_client: false,
                }),
                retry_after,
                ..options()
            },
        )
        .await;
        let zip = zip_with_sales(&mimic, 124..=820);
        let run = scraper()
            .scrape(TestHost::new(&mimic), &task(&zip, &[]))
            .await;
        run.result
            .as_ref()
            .map_err(|e| e.to_string())
            .expect("scrape");
        assert_secret_kept(&run);
        let sold = mimic.state.sold(&zip);
        let got: HashSet<&str> = run
            .host
            .emitted
            .iter()
            .filter_map(|l| l.zpid.as_deref())
            .collect();
        let want: HashSet<&str> = sold.iter().map(|l| l.zpid.as_str()).collect();
        assert_eq!(got, want, "{zip}");
        let throttled: Vec<&(u16, Option<String>)> =
            run.host.answers.iter().filter(|(s, _)| *s == 429).collect();
        assert!(!throttled.is_empty(), "the limit was hit");
        assert!(throttled.iter().all(|(_, ra)| ra.is_some() == retry_after));
        println!(
            "retry_after={retry_after}: {zip}: {} listings, {} answers of which {} were 429",
            run.host.emitted.len(),
            run.host.answers.len(),
            throttled.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_quota_stops_and_keeps_what_was_emitted() {
    let mimic = serve(
        MimicData::Synthetic(market(200, 1_000)),
        MimicOptions {
            monthly_quota: Some(3),
            ..options()
        },
    )
    .await;
    let zip = zip_with_sales(&mimic, 124..=820);
    let run = scraper()
        .scrape(TestHost::new(&mimic), &task(&zip, &[]))
        .await;
    let msg = guest_error(&run);
    assert!(msg.contains("monthly quota"), "{msg}");
    assert!(msg.contains("emitting 123 listings"), "{msg}");
    assert_eq!(
        run.host.emitted.len(),
        123,
        "three pages emitted before the quota ran out"
    );
    assert_eq!(run.host.urls.len(), 4, "no retries once the quota is gone");
    let sold = mimic.state.sold(&zip);
    for (got, home) in run.host.emitted.iter().zip(sold.iter()) {
        assert_eq!(got.zpid.as_deref(), Some(home.zpid.as_str()));
    }
    assert_secret_kept(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_zipcodes_host_limits_upstream_errors_and_deadlines() {
    let market = market(200, 1_000);
    let mimic = serve(MimicData::Synthetic(market.clone()), options()).await;
    let scraper = scraper();
    // `{}`: a PO box zipcode has no sales; 0 listings, not an error.
    let po_box = market
        .zipcodes()
        .iter()
        .find(|z| z.kind == ZipKind::PoBox)
        .map(|z| z.zipcode.clone())
        .expect("PO box");
    let run = scraper
        .scrape(TestHost::new(&mimic), &task(&po_box, &[]))
        .await;
    let summary = run
        .result
        .as_ref()
        .map_err(|e| e.to_string())
        .expect("scrape");
    assert_eq!((summary.emitted, summary.pages), (0, 1));
    assert!(run.host.emitted.is_empty());

    // The host's own rate limit and a few 5xx answers are waited out.
    let zip = zip_with_sales(&mimic, 42..=820);
    let mut host = TestHost::new(&mimic);
    host.inject = [
        Injected::RateLimited(30),
        Injected::Status(503),
        Injected::RateLimited(20),
        Injected::Status(502),
    ]
    .into();
    let run = scraper
        .scrape(host, &task(&zip, &[("backoff_cap_ms", "50")]))
        .await;
    run.result
        .as_ref()
        .map_err(|e| e.to_string())
        .expect("scrape");
    assert_eq!(run.host.emitted.len(), mimic.state.sold(&zip).len());
    assert_secret_kept(&run);

    // A 5xx that does not stop: bounded retries, then an error.
    let mut host = TestHost::new(&mimic);
    host.inject = std::iter::repeat_n(Injected::Status(500), 50).collect();
    let run = scraper
        .scrape(
            host,
            &task(&zip, &[("max_attempts", "3"), ("backoff_cap_ms", "20")]),
        )
        .await;
    let msg = guest_error(&run);
    assert!(msg.contains("gave up after 3 attempts"), "{msg}");
    assert_eq!(run.host.urls.len(), 3);

    // A deadline already past: nothing is requested.
    let mut t = task(&zip, &[]);
    t.deadline_ms = now_ms().saturating_sub(1_000);
    let run = scraper.scrape(TestHost::new(&mimic), &t).await;
    assert!(guest_error(&run).contains("deadline"));
    assert!(run.host.urls.is_empty());

    // A bad config value is named.
    let run = scraper
        .scrape(
            TestHost::new(&mimic),
            &task(&zip, &[("status_type", "Sold")]),
        )
        .await;
    assert!(guest_error(&run).contains("status_type"));
}

/// Listings per second through the scraper against the mimic limited like a paid plan
/// (printed; no timed assertion).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_at_a_plan_rate_limit() {
    let per_second = 5.0;
    let mimic = serve(
        MimicData::Synthetic(market(9_999, 9_999)),
        MimicOptions {
            rate_limit: Some(RateLimit {
                per_second,
                burst: 5,
                per_client: false,
            }),
            ..options()
        },
    )
    .await;
    let zip = "60614";
    let started = Instant::now();
    let run = scraper()
        .scrape(TestHost::new(&mimic), &task(zip, &[]))
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    run.result
        .as_ref()
        .map_err(|e| e.to_string())
        .expect("scrape");
    assert_eq!(run.host.emitted.len(), mimic.state.sold(zip).len());
    let throttled = run.host.answers.iter().filter(|(s, _)| *s == 429).count();
    println!(
        "throughput at {per_second} req/s: {} listings in {:.1} s = {:.0} listings/s ({} requests admitted, {throttled} answered 429)",
        run.host.emitted.len(),
        elapsed,
        run.host.emitted.len() as f64 / elapsed,
        mimic.state.requests()
    );
}

/// The template manifest loads (its pin matches the built component, its secret resolves) and
/// its config scrapes a zipcode under the manifest's sandbox limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_manifest_loads_and_scrapes() {
    let path = resi_testkit::repo_root().join("guests/scrapers/zillow-rapidapi/scraper.toml");
    let loaded = resi_scraper::ScraperManifest::load_with_secrets(&path, |name| {
        (name == "RAPIDAPI_KEY").then(|| TEST_KEY.to_string())
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}: the template pins release/zillow-rapidapi-scraper.wasm; after \
             `cargo xtask guests` copy guests/dist/zillow-rapidapi-scraper.wasm there and put \
             its sha256 into {}",
            path.display()
        )
    });
    let m = &loaded.manifest;
    assert_eq!(m.network.allow, vec![format!("{ORIGIN}:443")]);
    assert_eq!(m.secrets.names, vec!["RAPIDAPI_KEY".to_string()]);
    assert_eq!(
        loaded.secrets.get("RAPIDAPI_KEY").map(String::as_str),
        Some(TEST_KEY)
    );
    assert!(m.network.requests_per_second <= 2.0);
    let engine = ScraperEngine::new(ScraperEngineOptions::default()).expect("engine");
    let scraper = loaded.instantiate(&engine).expect("instantiate");
    let mimic = serve(MimicData::Synthetic(market(200, 1_000)), options()).await;
    let zip = zip_with_sales(&mimic, 1..=820);
    let mut t = task(&zip, &[]);
    t.config = m.config.clone().into_iter().collect();
    let run = scraper.scrape(TestHost::new(&mimic), &t).await;
    run.result
        .as_ref()
        .map_err(|e| e.to_string())
        .expect("scrape");
    assert_eq!(run.host.emitted.len(), mimic.state.sold(&zip).len());
    assert_secret_kept(&run);
}

/// A stand-in of the search API inside the test host, for what the synthetic universe never
/// holds: thousands of sales at one single price, so the scraper must split past the price
/// bands by `home_type` and then by living area. Filters and paging as the mimic applies them.
struct FakeSearch {
    items: Vec<Value>,
}

/// A number from a JSON number or a string like `"$450,000"`.
fn loose_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.replace(['$', ','], "").trim().parse().ok(),
        _ => None,
    }
}

impl FakeSearch {
    fn answer(&self, path_and_query: &str) -> Response {
        let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
        let q: BTreeMap<&str, &str> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let num = |k: &str| q.get(k).and_then(|v| v.parse::<f64>().ok());
        let category = |t: &str| match t {
            "SINGLE_FAMILY" => "Houses",
            "CONDO" => "Condos",
            "TOWNHOUSE" => "Townhomes",
            "MULTI_FAMILY" => "Multi-family",
            _ => "Other",
        };
        let in_range = |v: Option<f64>, lo: Option<f64>, hi: Option<f64>| {
            (lo.is_none() && hi.is_none())
                || v.is_some_and(|v| lo.is_none_or(|l| v >= l) && hi.is_none_or(|h| v <= h))
        };
        let matching: Vec<&Value> = self
            .items
            .iter()
            .filter(|i| in_range(loose_number(&i["price"]), num("minPrice"), num("maxPrice")))
            .filter(|i| {
                in_range(
                    loose_number(&i["livingArea"]),
                    num("sqftMin"),
                    num("sqftMax"),
                )
            })
            .filter(|i| {
                q.get("home_type").is_none_or(|types| {
                    let t = category(i["propertyType"].as_str().unwrap_or_default());
                    types.split(',').any(|x| x == t)
                })
            })
            .collect();
        let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let json = |status: u16, body: Value| Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(&body).expect("json"),
        };
        if page > 20 {
            return json(400, serde_json::json!({"message": "page must be 1 to 20"}));
        }
        let start = (page - 1) * 41;
        if start >= matching.len() {
            return json(200, serde_json::json!({}));
        }
        let props: Vec<&Value> = matching[start..(start + 41).min(matching.len())].to_vec();
        json(
            200,
            serde_json::json!({
                "props": props, "resultsPerPage": 41, "totalPages": matching.len().div_ceil(41),
                "totalResultCount": matching.len(), "schools": {}, "currentPage": page
            }),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_price_over_the_cap_splits_by_home_type_then_living_area() {
    let sold_ms = 1_757_649_600_000_i64;
    let types = ["CONDO", "TOWNHOUSE", "MULTI_FAMILY"];
    let mut items: Vec<Value> = (0..3_000u64)
        .map(|i| {
            let property_type = if i % 10 < 7 { "SINGLE_FAMILY" } else { types[(i % 3) as usize] };
            // Real data's loose numbers: strings, floats, integers.
            let price: Value = match i % 3 {
                0 => "$450,000".into(),
                1 => 450_000.0.into(),
                _ => 450_000.into(),
            };
            let bedrooms: Value = if i % 2 == 0 { "3".into() } else { 3.into() };
            serde_json::json!({
                "bathrooms": 2.5, "propertyType": property_type, "livingArea": 600 + (i * 7) % 2_400,
                "address": format!("{} Test Ave, Springfield, IL 62701", 100 + i),
                "price": price, "bedrooms": bedrooms, "listingStatus": "RECENTLY_SOLD",
                "zpid": format!("{}", 7_000_000_000 + i),
                "detailUrl": format!("/homedetails/x/{}_zpid/", 7_000_000_000 + i),
                "daysOnZillow": i % 60, "dateSold": sold_ms,
            })
        })
        .collect();
    // An exact duplicate, a home of another zipcode, a home without a price (first, so that
    // the unfiltered page 1 shows them: a price band never matches a home without a price).
    items.push(items[5].clone());
    let mut foreign = items[6].clone();
    foreign["address"] = "1 Elsewhere Rd, Springfield, IL 62702".into();
    foreign["zpid"] = "7999999998".into();
    items.insert(0, foreign);
    let mut unpriced = items[7].clone();
    unpriced["price"] = Value::Null;
    unpriced["zpid"] = "7999999999".into();
    items.insert(0, unpriced);

    let mimic = serve(MimicData::Replay(fixtures()), options()).await;
    let mut host = TestHost::new(&mimic);
    host.fake = Some(Arc::new(FakeSearch { items }));
    let run = scraper().scrape(host, &task("62701", &[])).await;
    let summary = run
        .result
        .as_ref()
        .map_err(|e| e.to_string())
        .expect("scrape");
    let emitted = &run.host.emitted;
    let zpids: HashSet<&str> = emitted.iter().filter_map(|l| l.zpid.as_deref()).collect();
    assert_eq!(emitted.len(), 3_000, "{:?}", run.host.logs);
    assert_eq!(zpids.len(), 3_000);
    assert_eq!(summary.emitted, 3_000);
    for l in emitted {
        assert_eq!(l.price, Some(450_000));
        assert_eq!(l.bedrooms, Some(3));
        assert_eq!(l.bathrooms_hundredths, Some(250));
        assert_eq!(l.listing_date, "2025-09-12");
        assert_eq!(l.zipcode, "62701");
    }
    let logs = run.host.logs.join("\n");
    assert!(
        logs.contains("zpid 7999999998: zipcode 62702 is not the assigned 62701"),
        "{logs}"
    );
    assert!(logs.contains("zpid 7999999999: no price"), "{logs}");
    let urls = &run.host.urls;
    assert!(
        urls.iter()
            .any(|u| u.contains("minPrice=450000") || u.contains("maxPrice=450000"))
    );
    assert!(urls.iter().any(|u| u.contains("home_type=Houses")));
    assert!(
        urls.iter()
            .any(|u| u.contains("home_type=Houses") && u.contains("sqftMax="))
    );
    assert!(urls.iter().all(|u| !u.contains("page=21")));
    println!(
        "3,000 sales at one price: {} requests ({} pages)",
        urls.len(),
        summary.pages
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sold_in_last_narrows_the_scrape() {
    let market = market(200, 1_000);
    let mimic = serve(MimicData::Synthetic(market.clone()), options()).await;
    let zip = zip_with_sales(&mimic, 42..=820);
    let run = scraper()
        .scrape(TestHost::new(&mimic), &task(&zip, &[("sold_in_last", "7")]))
        .await;
    run.result
        .as_ref()
        .map_err(|e| e.to_string())
        .expect("scrape");
    let since = date_minus(market.config().now, 7);
    let want: Vec<String> = mimic
        .state
        .sold(&zip)
        .iter()
        .filter(|l| l.sold_date.as_deref().is_some_and(|d| d >= since.as_str()))
        .map(|l| l.zpid.clone())
        .collect();
    let got: Vec<String> = run
        .host
        .emitted
        .iter()
        .filter_map(|l| l.zpid.clone())
        .collect();
    assert_eq!(got, want);
    assert!(!want.is_empty() && want.len() < mimic.state.sold(&zip).len());
    assert!(run.host.urls.iter().all(|u| u.contains("&soldInLast=7")));
}
