//! `redfin-scraper`: recently sold homes of a zipcode from Redfin's stingray API, and single
//! homes looked up again by their Redfin URL (validators' spot checks).
//!
//! Every stingray body is the 4 bytes `{}&&` then the envelope
//! `{"version":N,"errorMessage":"Success","resultCode":0,"payload":{...}}`; `resultCode != 0`
//! is a refusal and stops the scrape with Redfin's `errorMessage`.
//!
//! `scrape(task)`:
//! 1. `GET /stingray/do/location-autocomplete?location={zip}&v=2` and take the Places row whose
//!    `id` is `2_<region_id>` (region type 2 = zipcode). No such row: Redfin does not serve the
//!    zipcode, 0 listings.
//! 2. `GET /stingray/api/gis?al=1&num_homes=350&region_id=..&region_type=2&sold_within_days=..
//!    &status=9&uipt=..&v=8&page_number=1` (+ `min_price`/`max_price`). A call returns at most
//!    ~350 homes and has no server-side pagination, so a full answer is split: first into one
//!    query per home type (`uipt`), then into price bands (split at the median price of the
//!    capped answer), until every part is under the cap. Homes are deduplicated by
//!    `propertyId`; each answer's new homes are emitted as one batch.
//! 3. Only sold homes count: `mlsStatus` Sold or Closed. `soldDate` alone is not enough (on an
//!    active home it is the *previous* sale). Homes of other zipcodes are dropped (logged); a
//!    `serviceRegionName` naming another zipcode, or an answer where no home is in the zipcode,
//!    means Redfin substituted another region: the scrape stops with an error.
//!
//! Field mapping (`{value,level}` wrappers and bare values both accepted):
//! - `zpid`: none. Redfin has no Zillow id, and a Redfin `propertyId` in `zpid` would read as
//!   a Zillow id to anyone comparing sources. The identity is `mls_id` = `mlsId.value` (the
//!   MLS number, or Redfin's own "Listing #" for homes it lists itself); it is unique per home
//!   within a zipcode, which the policy's uniqueness gate (G2) needs, and `source_url` carries
//!   the Redfin `propertyId` for `verify`.
//! - `address`: `streetLine.value` (+ `unitNumber.value` when the street line lacks it),
//!   `, {city}, {state} {zip}`; `zipcode`: `zip`.
//! - `price`: `price.value` (the sale price); homes whose price is hidden are skipped (logged).
//! - `bedrooms` `beds`, `bathrooms` `baths` (x100), `sqft` `sqFt.value`.
//! - `listing_date`: the sale date (`soldDate`, ms) minus `dom.value` days: the day it was
//!   listed (`YYYY-MM-DD`); `days_on_market`: `dom.value`.
//! - `property_type`: `uiPropertyType` 1 SINGLE_FAMILY, 2 CONDO, 3 TOWNHOUSE, 4 MULTI_FAMILY,
//!   5 LAND, 6 OTHER, 7 MANUFACTURED, 8 COOPERATIVE; `listing_status`: `SOLD`.
//! - `source_url`: `https://www.redfin.com` + `url`.
//!
//! `verify(ref)`: the home's path from `source_url` (`/ST/City/Street-ZIP/home/{propertyId}`)
//! -> `initialInfo?path=` (404: not found) -> `propertyId`, `listingId` -> `aboveTheFold`
//! (address, beds, baths, sqft, status, "Last Sold Price") and `belowTheFold` (the newest "Sold"
//! event: MLS number, price, date). A sold price hidden at the source is an error
//! ("unverifiable"), never a record with a guessed price. The found record's MLS number is the
//! claimed one when any event of the home's history carries it as `sourceId`, else the newest
//! sale's `sourceId`. A reference without a Redfin URL is looked up by MLS number among the
//! zipcode's recent sales.
//!
//! Errors on purpose: 403, AWS WAF challenge pages (`awswaf.com`, `challenge.js`), redirects to
//! `/login` and 200 answers carrying HTML stop with "Redfin blocked the client" and name the
//! manifest's `proxy` option; 429 waits `Retry-After` (capped) and retries; the host's
//! rate limit waits and retries; 5xx, timeouts and truncated bodies retry with backoff, a
//! bounded number of times; nothing waits past the task's deadline.
//!
//! Config (all optional): `sold_within_days` (90), `uipt` (`1,2,3,4,5,6,7,8`), `num_homes`
//! (350), `user_agent`, `accept_language`, `max_attempts` (8), `max_requests` (400 per scrape),
//! `retry_after_cap_s` (60), `verify_budget_ms` (60000), `verify_sold_within_days` (1095).

use resi_guest::scraper::*;
use serde_json::Value;
use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct RedfinScraper;

/// The real origin: the scraper always uses it (a test or a proxy routes it elsewhere).
const ORIGIN: &str = "https://www.redfin.com";
const PREFIX: &[u8] = b"{}&&";
const DEFAULT_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const BACKOFF_BASE_MS: u64 = 250;
const BACKOFF_CAP_MS: u64 = 15_000;
/// Host-side rate-limit answers tolerated per request (each waits the host's figure).
const MAX_HOST_WAITS: u32 = 10_000;
const DAY_MS: u64 = 86_400_000;

/// Settings read from the manifest config.
struct Settings {
    sold_within_days: u32,
    uipt: Vec<u32>,
    num_homes: usize,
    user_agent: String,
    accept_language: String,
    max_attempts: u32,
    max_requests: u32,
    retry_after_cap_ms: u64,
    verify_budget_ms: u64,
    verify_sold_within_days: u32,
}

impl Settings {
    fn from_config(config: &[(String, String)]) -> Result<Settings, String> {
        let number = |key: &str, default: u64, max: u64| -> Result<u64, String> {
            match config_value(config, key) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => Err(format!(
                        "config key {key} must be an integer in 1..={max}, got {v:?}"
                    )),
                },
            }
        };
        let uipt = match config_value(config, "uipt") {
            None => (1..=8).collect(),
            Some(v) => {
                let mut codes = Vec::new();
                for part in v.split(',') {
                    match part.trim().parse::<u32>() {
                        Ok(n) if (1..=8).contains(&n) => codes.push(n),
                        _ => {
                            return Err(format!(
                                "config key uipt must list home types 1..=8, got {v:?}"
                            ));
                        }
                    }
                }
                codes.sort_unstable();
                codes.dedup();
                codes
            }
        };
        Ok(Settings {
            sold_within_days: number("sold_within_days", 90, 3650)? as u32,
            uipt,
            num_homes: number("num_homes", 350, 350)? as usize,
            user_agent: config_value(config, "user_agent")
                .unwrap_or(DEFAULT_UA)
                .to_string(),
            accept_language: config_value(config, "accept_language")
                .unwrap_or("en-US,en;q=0.9")
                .to_string(),
            max_attempts: number("max_attempts", 8, 100)? as u32,
            max_requests: number("max_requests", 400, 100_000)? as u32,
            retry_after_cap_ms: number("retry_after_cap_s", 60, 3600)? * 1000,
            verify_budget_ms: number("verify_budget_ms", 60_000, 3_600_000)?,
            verify_sold_within_days: number("verify_sold_within_days", 1095, 3650)? as u32,
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `(year, month, day, seconds of the day)` of a unix-milliseconds instant (UTC).
fn civil(ms: u64) -> (i64, i64, i64, u64) {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem)
}

/// ISO 8601 UTC date-time, e.g. `2025-10-01T16:05:00Z`.
fn iso8601(ms: u64) -> String {
    let (y, m, d, rem) = civil(ms);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The calendar date of an instant, `YYYY-MM-DD`. Redfin's dates are local midnights of US
/// time zones (04:00 to 10:00 UTC), so the UTC date is the local date.
fn date(ms: u64) -> String {
    let (y, m, d, _) = civil(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn backoff_ms(attempt: u32) -> u64 {
    BACKOFF_BASE_MS
        .saturating_mul(1u64 << attempt.min(16))
        .min(BACKOFF_CAP_MS)
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(160)]).into_owned();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn contains(body: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    body.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn looks_like_html(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    body[start..].first() == Some(&b'<')
}

/// The text of a "blocked" stop: what Redfin answered and what to do about it.
fn blocked(what: &str, url: &str) -> String {
    format!(
        "Redfin blocked the client ({what}) at GET {url}: Redfin refuses datacenter addresses \
         and non-browser clients; route the scraper through a residential proxy (the `proxy` \
         option in the manifest's [network] section) and keep a browser `user_agent` in \
         [config]"
    )
}

fn waf_page(body: &[u8]) -> bool {
    contains(body, "awswaf.com") || contains(body, "challenge.js")
}

/// What one stingray call came back with.
enum Answer {
    /// The envelope (prefix stripped, `resultCode` 0).
    Body(Value),
    /// HTTP 404.
    NotFound,
    /// A redirect (status, `Location`), for callers that expect one.
    Redirect(u16, String),
}

/// A client of the stingray API: retries, limits, counters.
struct Client<'a> {
    settings: &'a Settings,
    deadline_ms: u64,
    requests: u32,
    referer: String,
}

impl Client<'_> {
    fn request(&self, url: &str) -> Request {
        Request {
            method: "GET".into(),
            url: url.into(),
            headers: vec![
                ("User-Agent".into(), self.settings.user_agent.clone()),
                (
                    "Accept".into(),
                    "application/json, text/javascript, */*; q=0.01".into(),
                ),
                (
                    "Accept-Language".into(),
                    self.settings.accept_language.clone(),
                ),
                ("Referer".into(), self.referer.clone()),
                ("X-Requested-With".into(), "XMLHttpRequest".into()),
            ],
            body: None,
        }
    }

    fn sleep(&self, wait: u64, url: &str, last: &str) -> Result<(), String> {
        if now_ms().saturating_add(wait) >= self.deadline_ms {
            return Err(format!(
                "deadline reached while retrying GET {url} (last: {last})"
            ));
        }
        log(
            Level::Debug,
            &format!("GET {url}: {last}; retrying in {wait} ms"),
        );
        std::thread::sleep(Duration::from_millis(wait));
        Ok(())
    }

    /// GETs a stingray URL (path and query under [`ORIGIN`]) and returns its envelope.
    fn get(&mut self, path: &str) -> Result<Answer, String> {
        let url = format!("{ORIGIN}{path}");
        if self.requests >= self.settings.max_requests {
            return Err(format!(
                "request budget spent ({} requests, config max_requests) before GET {url}",
                self.settings.max_requests
            ));
        }
        self.requests += 1;
        let mut last = String::new();
        let mut attempt = 0u32;
        let mut host_waits = 0u32;
        while attempt < self.settings.max_attempts {
            if now_ms() >= self.deadline_ms {
                return Err(format!(
                    "deadline reached before GET {url} succeeded (last: {last})"
                ));
            }
            let wait = match fetch(&self.request(&url)) {
                Ok(r) => match r.status {
                    200 => {
                        if looks_like_html(&r.body) {
                            let what = if waf_page(&r.body) {
                                "HTTP 200 with an AWS WAF challenge page".to_string()
                            } else {
                                format!(
                                    "HTTP 200 with an HTML page instead of JSON: {}",
                                    snippet(&r.body)
                                )
                            };
                            return Err(blocked(&what, &url));
                        }
                        let json = r.body.strip_prefix(PREFIX).unwrap_or(&r.body);
                        match serde_json::from_slice::<Value>(json) {
                            Ok(v) => {
                                let code = v.get("resultCode").and_then(Value::as_i64).unwrap_or(0);
                                if code != 0 {
                                    let message = v
                                        .get("errorMessage")
                                        .and_then(Value::as_str)
                                        .unwrap_or("(no errorMessage)");
                                    return Err(format!(
                                        "Redfin refused GET {url}: resultCode {code}: {message}"
                                    ));
                                }
                                return Ok(Answer::Body(v));
                            }
                            Err(e) => {
                                last = format!("unreadable body ({} bytes): {e}", r.body.len());
                                backoff_ms(attempt)
                            }
                        }
                    }
                    404 => return Ok(Answer::NotFound),
                    301 | 302 | 303 | 307 | 308 => {
                        let location = header(&r, "location").unwrap_or("").to_string();
                        if location.contains("/login") {
                            return Err(blocked(
                                &format!("HTTP {} redirect to {location}", r.status),
                                &url,
                            ));
                        }
                        return Ok(Answer::Redirect(r.status, location));
                    }
                    429 => {
                        last = "HTTP 429 Too Many Requests".into();
                        header(&r, "retry-after")
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .map(|s| s.saturating_mul(1000).min(self.settings.retry_after_cap_ms))
                            .unwrap_or_else(|| backoff_ms(attempt + 2))
                    }
                    403 => {
                        let what = if waf_page(&r.body) {
                            "HTTP 403 with an AWS WAF challenge page".to_string()
                        } else {
                            format!("HTTP 403: {}", snippet(&r.body))
                        };
                        return Err(blocked(&what, &url));
                    }
                    s if (500..=599).contains(&s) => {
                        last = format!("HTTP {s}: {}", snippet(&r.body));
                        backoff_ms(attempt)
                    }
                    s if waf_page(&r.body) => {
                        return Err(blocked(
                            &format!("HTTP {s} with an AWS WAF challenge page"),
                            &url,
                        ));
                    }
                    s => return Err(format!("GET {url}: HTTP {s}: {}", snippet(&r.body))),
                },
                Err(FetchError::RateLimited(ms)) => {
                    // The manifest's own rate limit: waiting is the point, not a failure.
                    host_waits += 1;
                    if host_waits > MAX_HOST_WAITS {
                        return Err(format!("GET {url}: the host's rate limit never cleared"));
                    }
                    let wait = u64::from(ms).max(1);
                    if now_ms().saturating_add(wait) >= self.deadline_ms {
                        return Err(format!(
                            "deadline reached waiting for the host's rate limit before GET {url}"
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(wait));
                    continue;
                }
                Err(FetchError::Timeout(e)) => {
                    last = format!("timeout: {e}");
                    backoff_ms(attempt)
                }
                Err(FetchError::Transport(e)) => {
                    last = format!("transport: {e}");
                    backoff_ms(attempt)
                }
                Err(other) => return Err(format!("GET {url}: refused by the host: {other:?}")),
            };
            attempt += 1;
            if attempt < self.settings.max_attempts {
                self.sleep(wait, &url, &last)?;
            }
        }
        Err(format!(
            "GET {url}: gave up after {} attempts (last: {last})",
            self.settings.max_attempts
        ))
    }

    /// [`Client::get`] where anything but a body is an error.
    fn body(&mut self, path: &str) -> Result<Value, String> {
        match self.get(path)? {
            Answer::Body(v) => Ok(v),
            Answer::NotFound => Err(format!("GET {ORIGIN}{path}: HTTP 404")),
            Answer::Redirect(s, to) => Err(format!("GET {ORIGIN}{path}: HTTP {s} to {to}")),
        }
    }
}

/// A value that may be wrapped as `{"value": x, "level": n}`.
fn unwrap(v: Option<&Value>) -> Option<&Value> {
    match v? {
        Value::Object(m) if m.contains_key("level") || m.contains_key("value") => {
            m.get("value").filter(|x| !x.is_null())
        }
        Value::Null => None,
        other => Some(other),
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    let s = match unwrap(v)? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

fn number(v: Option<&Value>) -> Option<f64> {
    match unwrap(v)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace([',', '$'], "").parse().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite() && *n >= 0.0)
}

fn whole(v: Option<&Value>, max: f64) -> Option<u64> {
    number(v).filter(|n| *n <= max).map(|n| n.round() as u64)
}

fn property_type(code: Option<u64>) -> &'static str {
    match code {
        Some(1) => "SINGLE_FAMILY",
        Some(2) => "CONDO",
        Some(3) => "TOWNHOUSE",
        Some(4) => "MULTI_FAMILY",
        Some(5) => "LAND",
        Some(7) => "MANUFACTURED",
        Some(8) => "COOPERATIVE",
        _ => "OTHER",
    }
}

fn is_sold(home: &Value) -> bool {
    text(home.get("mlsStatus")).is_some_and(|s| {
        let s = s.to_ascii_lowercase();
        s == "sold" || s == "closed"
    })
}

fn absolute(url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        url.to_string()
    } else {
        format!("{ORIGIN}/{}", url.trim_start_matches('/'))
    }
}

fn street_address(
    street: &str,
    unit: Option<String>,
    city: &str,
    state: &str,
    zip: &str,
) -> String {
    let mut street = street.to_string();
    if let Some(unit) = unit
        && !street
            .to_ascii_lowercase()
            .contains(&unit.to_ascii_lowercase())
    {
        street.push(' ');
        street.push_str(&unit);
    }
    format!("{street}, {city}, {state} {zip}")
}

/// Maps a sold gis home to the listing record, or says why it cannot be one.
fn to_listing(home: &Value, scraped: &str) -> Result<Listing, &'static str> {
    let mls_id = text(home.get("mlsId")).ok_or("no MLS or listing number")?;
    let street = text(home.get("streetLine")).ok_or("no street address")?;
    let zip = text(home.get("zip"))
        .or_else(|| text(home.get("postalCode")))
        .ok_or("no zip")?;
    let city = text(home.get("city")).unwrap_or_default();
    let state = text(home.get("state")).unwrap_or_default();
    let price = if home.get("hideSalePrice").and_then(Value::as_bool) == Some(true) {
        None
    } else {
        whole(home.get("price"), 1e15)
    };
    let price = price.ok_or("sale price hidden")?;
    let sold_ms = whole(home.get("soldDate"), 1e15).ok_or("no soldDate")?;
    let dom = whole(home.get("dom"), 100_000.0).map(|d| d as u32);
    let listed_ms = sold_ms.saturating_sub(u64::from(dom.unwrap_or(0)) * DAY_MS);
    let url = text(home.get("url")).ok_or("no url")?;
    Ok(Listing {
        zpid: None,
        mls_id: Some(mls_id),
        address: street_address(&street, text(home.get("unitNumber")), &city, &state, &zip),
        zipcode: zip,
        price: Some(price),
        bedrooms: whole(home.get("beds"), 1e6).map(|n| n as u32),
        bathrooms_hundredths: number(home.get("baths"))
            .filter(|b| *b < 1e6)
            .map(|b| (b * 100.0).round() as u32),
        sqft: whole(home.get("sqFt"), 1e9).map(|n| n as u32),
        listing_date: date(listed_ms),
        property_type: property_type(whole(home.get("uiPropertyType"), 100.0)).into(),
        listing_status: "SOLD".into(),
        days_on_market: dom,
        source_url: absolute(&url),
        scraped_timestamp: scraped.into(),
    })
}

/// The Redfin region id of a zipcode, or `None` when Redfin has no zipcode region for it.
fn region_of(client: &mut Client, zip: &str) -> Result<Option<String>, String> {
    let path = format!(
        "/stingray/do/location-autocomplete?location={}&start=0&count=10&v=2&al=1&iss=false&ooa=true&mrs=false",
        encode(zip)
    );
    let body = match client.get(&path)? {
        Answer::Body(v) => v,
        Answer::NotFound => return Ok(None),
        Answer::Redirect(s, to) => return Err(format!("autocomplete: HTTP {s} to {to}")),
    };
    let payload = body.get("payload");
    let mut rows: Vec<&Value> = Vec::new();
    if let Some(m) = payload.and_then(|p| p.get("exactMatch")) {
        rows.push(m);
    }
    for section in payload
        .and_then(|p| p.get("sections"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        rows.extend(
            section
                .get("rows")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
    }
    for row in rows {
        let Some(id) = row.get("id").and_then(Value::as_str) else {
            continue;
        };
        let name = row.get("name").and_then(Value::as_str).unwrap_or("");
        if let Some(region) = id.strip_prefix("2_")
            && name.trim().starts_with(zip)
            && !region.is_empty()
            && region.bytes().all(|b| b.is_ascii_digit())
        {
            return Ok(Some(region.to_string()));
        }
    }
    Ok(None)
}

/// One gis query: home types and an inclusive price band.
#[derive(Clone, Debug)]
struct Query {
    uipt: Vec<u32>,
    min_price: Option<u64>,
    max_price: Option<u64>,
}

impl Query {
    fn path(&self, region: &str, sold_within_days: u32, num_homes: usize) -> String {
        let uipt: Vec<String> = self.uipt.iter().map(u32::to_string).collect();
        let mut path = format!(
            "/stingray/api/gis?al=1&num_homes={num_homes}&ord=redfin-recommended-asc&page_number=1\
             &region_id={region}&region_type=2&sold_within_days={sold_within_days}&status=9\
             &uipt={}&v=8",
            uipt.join("%2C")
        );
        if let Some(p) = self.min_price {
            path.push_str(&format!("&min_price={p}"));
        }
        if let Some(p) = self.max_price {
            path.push_str(&format!("&max_price={p}"));
        }
        path
    }

    fn describe(&self) -> String {
        format!(
            "uipt {:?}, price {}..={}",
            self.uipt,
            self.min_price.unwrap_or(0),
            self.max_price.map_or("any".to_string(), |p| p.to_string())
        )
    }

    /// Whether the answer respected this query's filters (else splitting cannot help).
    fn respected_by(&self, homes: &[Value]) -> bool {
        homes.iter().all(|h| {
            let t = whole(h.get("uiPropertyType"), 100.0);
            let p = whole(h.get("price"), 1e15);
            t.is_none_or(|t| self.uipt.contains(&(t as u32)))
                && p.is_none_or(|p| {
                    self.min_price.is_none_or(|lo| p >= lo)
                        && self.max_price.is_none_or(|hi| p <= hi)
                })
        })
    }

    /// Splits a capped query; `None` when it cannot be split further.
    fn split(&self, homes: &[Value]) -> Option<Vec<Query>> {
        if self.uipt.len() > 1 {
            return Some(
                self.uipt
                    .iter()
                    .map(|t| Query {
                        uipt: vec![*t],
                        ..self.clone()
                    })
                    .collect(),
            );
        }
        let lo = self.min_price.unwrap_or(0);
        if self.max_price.is_some_and(|hi| hi <= lo) {
            return None;
        }
        let mut prices: Vec<u64> = homes
            .iter()
            .filter_map(|h| whole(h.get("price"), 1e15))
            .collect();
        prices.sort_unstable();
        let median = prices.get(prices.len() / 2).copied().unwrap_or(lo);
        let mid = match self.max_price {
            Some(hi) if median >= lo && median < hi => median,
            Some(hi) => lo + (hi - lo) / 2,
            None => median.max(lo),
        };
        Some(vec![
            Query {
                max_price: Some(mid),
                ..self.clone()
            },
            Query {
                min_price: Some(mid + 1),
                ..self.clone()
            },
        ])
    }
}

#[derive(Default)]
struct Counts {
    emitted: u32,
    other_zip: u32,
    not_sold: u32,
    skipped: u32,
}

fn scrape_zipcode(task: &Task, counts: &mut Counts, requests: &mut u32) -> Result<(), String> {
    let settings = Settings::from_config(&task.config)?;
    let zip = task.zipcode.trim();
    let mut client = Client {
        settings: &settings,
        deadline_ms: task.deadline_ms,
        requests: 0,
        referer: format!("{ORIGIN}/zipcode/{zip}/filter/include=sold-3mo"),
    };
    let result = scrape_with(&mut client, &settings, zip, counts);
    *requests = client.requests;
    result
}

fn scrape_with(
    client: &mut Client,
    settings: &Settings,
    zip: &str,
    counts: &mut Counts,
) -> Result<(), String> {
    let Some(region) = region_of(client, zip)? else {
        log(
            Level::Warn,
            &format!("{zip}: Redfin's autocomplete has no zipcode region for it: 0 listings"),
        );
        return Ok(());
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue = vec![Query {
        uipt: settings.uipt.clone(),
        min_price: None,
        max_price: None,
    }];
    while let Some(query) = queue.pop() {
        let path = query.path(&region, settings.sold_within_days, settings.num_homes);
        let body = client.body(&path)?;
        let payload = body.get("payload");
        if let Some(name) = payload
            .and_then(|p| p.get("serviceRegionName"))
            .and_then(Value::as_str)
            && name.len() == 5
            && name.bytes().all(|b| b.is_ascii_digit())
            && name != zip
        {
            return Err(format!(
                "Redfin answered region {region} with another region (serviceRegionName {name}, \
                 not {zip}): it substituted a region it indexes for one it does not"
            ));
        }
        let homes: &[Value] = payload
            .and_then(|p| p.get("homes"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let zips: HashSet<String> = homes.iter().filter_map(|h| text(h.get("zip"))).collect();
        if !homes.is_empty() && !zips.contains(zip) {
            let mut zs: Vec<String> = zips.into_iter().collect();
            zs.sort();
            return Err(format!(
                "Redfin answered region {region} with homes of zipcodes {zs:?} and none in {zip}: \
                 it substituted another region"
            ));
        }
        let scraped = iso8601(now_ms());
        let mut batch = Vec::new();
        for home in homes {
            if text(home.get("zip")).as_deref() != Some(zip) {
                counts.other_zip += 1;
                continue;
            }
            if !is_sold(home) {
                counts.not_sold += 1;
                continue;
            }
            let key = text(home.get("propertyId"))
                .or_else(|| text(home.get("url")))
                .unwrap_or_default();
            if !seen.insert(key.clone()) {
                continue;
            }
            match to_listing(home, &scraped) {
                Ok(l) => batch.push(l),
                Err(why) => {
                    counts.skipped += 1;
                    log(Level::Debug, &format!("{zip}: skipped home {key}: {why}"));
                }
            }
        }
        if !batch.is_empty() {
            emit(&batch);
            counts.emitted += batch.len() as u32;
        }
        log(
            Level::Debug,
            &format!(
                "{zip}: {} -> {} homes, {} new listings ({} so far)",
                query.describe(),
                homes.len(),
                batch.len(),
                counts.emitted
            ),
        );
        if homes.len() >= settings.num_homes {
            if !query.respected_by(homes) {
                log(
                    Level::Warn,
                    &format!(
                        "{zip}: {}: the answer ignores the query's filters; cannot split past \
                         the cap of {}",
                        query.describe(),
                        settings.num_homes
                    ),
                );
                continue;
            }
            match query.split(homes) {
                Some(parts) => queue.extend(parts.into_iter().rev()),
                None => log(
                    Level::Warn,
                    &format!(
                        "{zip}: {} still returns the cap of {} homes and cannot be split: \
                         some sales may be missing",
                        query.describe(),
                        settings.num_homes
                    ),
                ),
            }
        }
    }
    Ok(())
}

/// The path of a Redfin home URL (`/ST/City/Street-ZIP/home/{id}`), when it is one.
fn home_path(source_url: &str) -> Option<String> {
    let rest = source_url
        .trim()
        .strip_prefix("https://www.redfin.com")
        .or_else(|| source_url.trim().strip_prefix("http://www.redfin.com"))?;
    let path = rest
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    let (_, id) = path.rsplit_once("/home/")?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then(|| path.to_string())
}

fn verify_home(
    client: &mut Client,
    target: &ListingRef,
    path: &str,
) -> Result<Verification, String> {
    let info = match client.get(&format!(
        "/stingray/api/home/details/initialInfo?path={}&al=1",
        encode(path)
    ))? {
        Answer::Body(v) => v,
        Answer::NotFound => return Ok(Verification::NotFound),
        Answer::Redirect(s, to) => {
            return Err(format!(
                "unverifiable: initialInfo answered HTTP {s} to {to}"
            ));
        }
    };
    let payload = info.get("payload");
    let property_id = text(payload.and_then(|p| p.get("propertyId")))
        .ok_or_else(|| format!("unverifiable: initialInfo for {path} has no propertyId"))?;
    let listing_id = text(payload.and_then(|p| p.get("listingId"))).unwrap_or_default();
    let query = format!(
        "propertyId={}&listingId={}&accessLevel=1",
        encode(&property_id),
        encode(&listing_id)
    );
    let above = client.body(&format!("/stingray/api/home/details/aboveTheFold?{query}"))?;
    let below = client.body(&format!("/stingray/api/home/details/belowTheFold?{query}"))?;
    let section = above
        .get("payload")
        .and_then(|p| p.get("addressSectionInfo"))
        .ok_or_else(|| {
            format!("unverifiable: aboveTheFold of {property_id} has no addressSectionInfo")
        })?;
    let events: &[Value] = below
        .get("payload")
        .and_then(|p| p.get("propertyHistoryInfo"))
        .and_then(|h| h.get("events"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let newest = |prefix: &str| {
        events
            .iter()
            .filter(|e| {
                e.get("eventDescription")
                    .and_then(Value::as_str)
                    .is_some_and(|d| d.starts_with(prefix))
            })
            .max_by_key(|e| whole(e.get("eventDate"), 1e15).unwrap_or(0))
    };
    let sold_event = newest("Sold");
    let status = section.get("status");
    let token = status
        .and_then(|s| s.get("longerDefinitionToken"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let display = status
        .and_then(|s| s.get("displayValue"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let sold = token.eq_ignore_ascii_case("sold")
        || display.eq_ignore_ascii_case("sold")
        || display.eq_ignore_ascii_case("closed");
    let price_info = section.get("priceInfo");
    let amount = whole(price_info.and_then(|p| p.get("amount")), 1e15);
    let price = if sold {
        amount.or_else(|| sold_event.and_then(|e| whole(e.get("price"), 1e15)))
    } else {
        amount
    };
    let url = text(section.get("url")).unwrap_or_else(|| path.to_string());
    let Some(price) = price else {
        return Err(format!(
            "unverifiable: Redfin hides the {} price of {}",
            if sold { "sold" } else { "listed" },
            absolute(&url)
        ));
    };
    let zip = text(section.get("zip")).unwrap_or_else(|| target.zipcode.clone());
    let street = text(
        section
            .get("streetAddress")
            .and_then(|s| s.get("assembledAddress")),
    )
    .ok_or_else(|| format!("unverifiable: aboveTheFold of {property_id} has no street address"))?;
    let city = text(section.get("city")).unwrap_or_default();
    let state = text(section.get("state")).unwrap_or_default();
    let sold_ms = whole(section.get("soldDate"), 1e15)
        .or_else(|| sold_event.and_then(|e| whole(e.get("eventDate"), 1e15)));
    let listed_ms = events
        .iter()
        .filter(|e| {
            e.get("eventDescription")
                .and_then(Value::as_str)
                .is_some_and(|d| d.starts_with("Listed"))
        })
        .filter_map(|e| whole(e.get("eventDate"), 1e15))
        .filter(|t| !sold || sold_ms.is_none_or(|s| *t <= s))
        .max();
    // The MLS number: the claimed one when the home's history at Redfin carries it (a home
    // sold through several MLSs has several), else the newest sale's, else the newest event's.
    let claimed = target
        .mls_id
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let mls_id = claimed
        .filter(|m| {
            events
                .iter()
                .any(|e| text(e.get("sourceId")).as_deref() == Some(*m))
        })
        .map(str::to_string)
        .or_else(|| {
            sold_event
                .or_else(|| events.first())
                .and_then(|e| text(e.get("sourceId")))
        });
    let now = now_ms();
    let end = if sold { sold_ms.unwrap_or(now) } else { now };
    Ok(Verification::Found(Listing {
        zpid: None,
        mls_id,
        address: street_address(&street, None, &city, &state, &zip),
        zipcode: zip,
        price: Some(price),
        bedrooms: whole(section.get("beds"), 1e6).map(|n| n as u32),
        bathrooms_hundredths: number(section.get("baths"))
            .filter(|b| *b < 1e6)
            .map(|b| (b * 100.0).round() as u32),
        sqft: whole(section.get("sqFt"), 1e9).map(|n| n as u32),
        listing_date: date(listed_ms.or(sold_ms).unwrap_or(now)),
        property_type: property_type(None).into(),
        listing_status: if sold { "SOLD" } else { "FOR_SALE" }.into(),
        days_on_market: listed_ms.map(|l| (end.saturating_sub(l) / DAY_MS) as u32),
        source_url: absolute(&url),
        scraped_timestamp: iso8601(now),
    }))
}

/// Finds a home by MLS number among the zipcode's recent sales (no Redfin URL to go by).
fn verify_by_search(
    client: &mut Client,
    settings: &Settings,
    target: &ListingRef,
    mls_id: &str,
) -> Result<Verification, String> {
    let zip = target.zipcode.trim();
    let Some(region) = region_of(client, zip)? else {
        return Err(format!(
            "unverifiable: Redfin has no zipcode region for {zip}"
        ));
    };
    let mut queue = vec![Query {
        uipt: settings.uipt.clone(),
        min_price: None,
        max_price: None,
    }];
    let mut complete = true;
    while let Some(query) = queue.pop() {
        let body = client.body(&query.path(
            &region,
            settings.verify_sold_within_days,
            settings.num_homes,
        ))?;
        let homes: &[Value] = body
            .get("payload")
            .and_then(|p| p.get("homes"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let scraped = iso8601(now_ms());
        for home in homes {
            if text(home.get("mlsId")).as_deref() == Some(mls_id)
                && text(home.get("zip")).as_deref() == Some(zip)
            {
                return match to_listing(home, &scraped) {
                    Ok(l) if is_sold(home) => Ok(Verification::Found(l)),
                    Ok(_) => Err(format!(
                        "unverifiable: {mls_id} is listed but not sold at Redfin"
                    )),
                    Err(why) => Err(format!("unverifiable: {mls_id}: {why}")),
                };
            }
        }
        if homes.len() >= settings.num_homes {
            match query.split(homes).filter(|_| query.respected_by(homes)) {
                Some(parts) => queue.extend(parts),
                None => complete = false,
            }
        }
    }
    if complete {
        Ok(Verification::NotFound)
    } else {
        Err(format!(
            "unverifiable: {mls_id} is not among the results Redfin returns under its cap"
        ))
    }
}

impl Guest for RedfinScraper {
    fn info() -> ScraperInfo {
        ScraperInfo {
            name: "redfin".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            sources: vec!["redfin.com".into()],
        }
    }

    fn scrape(task: Task) -> Result<ScrapeSummary, String> {
        let mut counts = Counts::default();
        let mut requests = 0u32;
        let result = scrape_zipcode(&task, &mut counts, &mut requests);
        let tally = format!(
            "{} listings in {requests} requests; dropped {} homes of other zipcodes, {} not sold, \
             {} incomplete",
            counts.emitted, counts.other_zip, counts.not_sold, counts.skipped
        );
        match result {
            Ok(()) => {
                log(Level::Info, &format!("{}: {tally}", task.zipcode));
                Ok(ScrapeSummary {
                    emitted: counts.emitted,
                    pages: requests,
                })
            }
            Err(e) => Err(format!("{}: {e} (after {tally})", task.zipcode)),
        }
    }

    fn verify(target: ListingRef, config: Vec<(String, String)>) -> Result<Verification, String> {
        let settings = Settings::from_config(&config)?;
        let mut client = Client {
            settings: &settings,
            deadline_ms: now_ms().saturating_add(settings.verify_budget_ms),
            requests: 0,
            referer: format!("{ORIGIN}/"),
        };
        if let Some(path) = home_path(&target.source_url) {
            client.referer = format!("{ORIGIN}{path}");
            return verify_home(&mut client, &target, &path);
        }
        match target
            .mls_id
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
        {
            Some(mls) => verify_by_search(&mut client, &settings, &target, mls),
            None => Err(format!(
                "unverifiable: neither a Redfin home URL nor an MLS number (source_url {:?})",
                target.source_url
            )),
        }
    }
}

resi_guest::export_scraper!(RedfinScraper);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(date(712_998_000_000), "1992-08-05");
        assert_eq!(date(1_628_233_200_000), "2021-08-06");
    }

    #[test]
    fn unwraps_values() {
        let v: Value = serde_json::from_str(r#"{"a":{"value":5,"level":1},"b":7,"c":{"level":1}}"#)
            .expect("json");
        assert_eq!(number(v.get("a")), Some(5.0));
        assert_eq!(number(v.get("b")), Some(7.0));
        assert_eq!(number(v.get("c")), None);
    }

    #[test]
    fn home_paths() {
        assert_eq!(
            home_path("https://www.redfin.com/IL/Naperville/1161-Sequoia-Rd-60540/home/18071974"),
            Some("/IL/Naperville/1161-Sequoia-Rd-60540/home/18071974".into())
        );
        assert_eq!(
            home_path("https://www.zillow.com/homedetails/1_zpid/"),
            None
        );
        assert_eq!(home_path("https://www.redfin.com/home/"), None);
    }
}
