//! `zillow-rapidapi-scraper`: recently sold homes of a zipcode from RapidAPI's `zillow-com1`
//! (`https://zillow-com1.p.rapidapi.com`), and spot checks of single homes by zpid.
//!
//! # Requests
//! Every request carries `X-RapidAPI-Key: {{secret:RAPIDAPI_KEY}}` (the host writes the miner's
//! key there; this component never sees it) and `X-RapidAPI-Host: zillow-com1.p.rapidapi.com`.
//!
//! - `scrape`: `GET /propertyExtendedSearch?location={zip}&status_type=RecentlySold&sort=Newest
//!   &page={n}` plus the split parameters below. A page holds 41 items and the API serves at most
//!   20 pages, so one query reaches at most 820 results. When `totalResultCount` is above 820 the
//!   query is split and each part walked on its own: price bands (`minPrice`/`maxPrice`, bisected
//!   until a part is at most 820), then, for a single price still above it, `home_type`, then
//!   living-area bands (`sqftMin`/`sqftMax`). Parts overlap nowhere, and listings are
//!   deduplicated by zpid anyway. (`soldInLast` cannot split: its windows are nested, the 7-day
//!   results are inside the 14-day ones, and a query sorted `Newest` already returns the newest
//!   820; it is offered as the `sold_in_last` config to narrow the whole scrape.)
//!   Each page's new listings are emitted as one batch when it arrives, so what was emitted
//!   survives a later error or the deadline.
//! - `verify`: `GET /property?zpid={zpid}`; a home that sold (`RECENTLY_SOLD`, `SOLD`) is found
//!   with its sale price (`lastSoldPrice`, else the newest `Sold` event of `priceHistory`); when
//!   the source shows no sale price (non-disclosure states such as Texas) the answer is an error
//!   `unverifiable: ...`, never a record with another price. A 404 or a body without a zpid is
//!   `not-found`.
//!
//! # Mapping (search item -> listing)
//! `zpid` (a string at the source) -> `zpid`; `address` (one string `"street, city, ST zip"`) ->
//! `address` as is, and its trailing 5 digits -> `zipcode` (an item of another zipcode, or with
//! no zipcode, is dropped and logged); `price` (the sale price of a sold item) -> `price`;
//! `bedrooms`; `bathrooms` -> hundredths; `livingArea` -> `sqft`; `dateSold` (epoch ms) -> the
//! UTC date `YYYY-MM-DD` as `listing-date` (an item without it: today minus `daysOnZillow`);
//! `propertyType` (`LOT` becomes `LAND`); `listingStatus`; `daysOnZillow` -> `days-on-market`;
//! `https://www.zillow.com` + `detailUrl` -> `source-url`. Numbers may arrive as integers,
//! floats, strings (`"$450,000"`) or null; an item without a zpid, address, price, type, status
//! or zipcode is dropped, never emitted incomplete.
//!
//! # Errors
//! - 401/403 `Invalid API key` (or no key): stops, naming the secret `RAPIDAPI_KEY`.
//! - 403 `You are not subscribed to this API.`: stops, naming the secret's account.
//! - 429 per-second limit: waits `Retry-After` when present, else backs off exponentially
//!   (`backoff_cap_ms`), at most `max_attempts` tries per request.
//! - 429 `MONTHLY quota`: stops and says so (retrying only burns nothing but time).
//! - 200 `{}` (a zipcode without listings): 0 listings, not an error.
//! - the host's `rate-limited(ms)`: waits that long and retries (the manifest's own limit).
//! - 5xx, timeouts, transport errors, unreadable bodies: bounded retries with backoff.
//!
//! Nothing waits past the task's `deadline-ms`.
//!
//! # Config (manifest `[config]`)
//! - `status_type` (default `RecentlySold`; `ForSale`, `ForRent` also accepted).
//! - `sort` (default `Newest`).
//! - `sold_in_last` (optional: `1`, `7`, `14`, `30`, `90`, `6m`, `12m`, `24m`, `36m`): only
//!   homes sold in that window (RecentlySold only).
//! - `max_attempts` (default 8): tries per request.
//! - `backoff_cap_ms` (default 16000): longest backoff between tries.
//! - `max_requests` (default 2000): most requests one scrape makes (guards a monthly quota).
//! - `verify_budget_ms` (default 60000): how long one `verify` may spend retrying.

use resi_guest::scraper::*;
use serde_json::Value;
use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct ZillowRapidApi;

/// The API's origin (what the manifest allows).
const ORIGIN: &str = "https://zillow-com1.p.rapidapi.com";
/// The `X-RapidAPI-Host` header value.
const API_HOST: &str = "zillow-com1.p.rapidapi.com";
/// The manifest secret holding the RapidAPI key; the host substitutes it into the header.
const SECRET_HEADER: &str = "{{secret:RAPIDAPI_KEY}}";
/// Zillow's site, the origin of `detailUrl`.
const ZILLOW: &str = "https://www.zillow.com";
/// Pages the API serves per query.
const PAGE_CAP: u32 = 20;
/// Items per page.
const PER_PAGE: u64 = 41;
/// Results one query can reach: 20 pages of 41.
const QUERY_CAP: u64 = PAGE_CAP as u64 * PER_PAGE;
/// `home_type` values, one part each when a single price is over the cap.
const HOME_TYPES: &[&str] = &[
    "Houses",
    "Townhomes",
    "Multi-family",
    "Condos",
    "Apartments",
    "Manufactured",
    "LotsLand",
];
const SOLD_IN_LAST: &[&str] = &["1", "7", "14", "30", "90", "6m", "12m", "24m", "36m"];
/// Prices above this are not bisected further (none is real).
const PRICE_CEILING: u64 = 10_000_000_000;
/// Living areas above this are not bisected further.
const SQFT_CEILING: u64 = 10_000_000;
const BACKOFF_BASE_MS: u64 = 500;
const RETRY_AFTER_CAP_MS: u64 = 60_000;

/// Settings read from the manifest config.
struct Settings {
    status_type: String,
    sort: String,
    sold_in_last: Option<String>,
    max_attempts: u32,
    backoff_cap_ms: u64,
    max_requests: u32,
    verify_budget_ms: u64,
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
        let status_type = config_value(config, "status_type")
            .unwrap_or("RecentlySold")
            .trim()
            .to_string();
        if !["RecentlySold", "ForSale", "ForRent"].contains(&status_type.as_str()) {
            return Err(format!(
                "config key status_type must be RecentlySold, ForSale or ForRent, got {status_type:?}"
            ));
        }
        let sort = config_value(config, "sort")
            .unwrap_or("Newest")
            .trim()
            .to_string();
        if sort.is_empty() || !sort.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("config key sort {sort:?} is not a sort name"));
        }
        let sold_in_last = match config_value(config, "sold_in_last").map(str::trim) {
            None | Some("") => None,
            Some(v) if SOLD_IN_LAST.contains(&v) => Some(v.to_string()),
            Some(v) => {
                return Err(format!(
                    "config key sold_in_last must be one of {}, got {v:?}",
                    SOLD_IN_LAST.join(", ")
                ));
            }
        };
        Ok(Settings {
            status_type,
            sort,
            sold_in_last,
            max_attempts: number("max_attempts", 8, 100)? as u32,
            backoff_cap_ms: number("backoff_cap_ms", 16_000, 600_000)?,
            max_requests: number("max_requests", 2_000, 1_000_000)? as u32,
            verify_budget_ms: number("verify_budget_ms", 60_000, 3_600_000)?,
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
fn civil(days: i64) -> (i64, i64, i64) {
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `YYYY-MM-DD` (UTC) of a unix-milliseconds instant (may be negative).
fn date_of_ms(ms: i64) -> String {
    let (y, m, d) = civil(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// ISO 8601 UTC date-time of a unix-milliseconds instant, e.g. `2025-10-01T16:05:00Z`.
fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let rem = secs % 86_400;
    let (y, m, d) = civil((secs / 86_400) as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
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

/// The `message` of a RapidAPI error body, or the start of the body.
fn message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned())
}

/// A definitive answer of the API to one request.
enum Answer {
    /// HTTP 200 with a JSON body.
    Body(Value),
    /// HTTP 404.
    NotFound,
}

/// Requests through the host, with the retry rules of the API.
struct Client<'a> {
    settings: &'a Settings,
    deadline_ms: u64,
    requests: u32,
}

impl Client<'_> {
    fn backoff_ms(&self, attempt: u32) -> u64 {
        BACKOFF_BASE_MS
            .saturating_mul(1u64 << attempt.min(20))
            .min(self.settings.backoff_cap_ms)
    }

    /// GETs `path` (with its query) from the API, retrying what is retryable.
    fn get(&mut self, path: &str) -> Result<Answer, String> {
        let request = Request {
            method: String::from("GET"),
            url: format!("{ORIGIN}{path}"),
            headers: vec![
                (String::from("X-RapidAPI-Key"), String::from(SECRET_HEADER)),
                (String::from("X-RapidAPI-Host"), String::from(API_HOST)),
            ],
            body: None,
        };
        let mut attempt = 0u32;
        let mut last = String::new();
        loop {
            if now_ms() >= self.deadline_ms {
                return Err(format!(
                    "deadline reached before GET {path} succeeded{}",
                    if last.is_empty() {
                        String::new()
                    } else {
                        format!(" (last: {last})")
                    }
                ));
            }
            if self.requests >= self.settings.max_requests {
                return Err(format!(
                    "made max_requests = {} requests; stopping before GET {path}",
                    self.settings.max_requests
                ));
            }
            let counted;
            let wait = match fetch(&request) {
                Ok(r) => {
                    self.requests += 1;
                    counted = true;
                    match r.status {
                        200 => match serde_json::from_slice::<Value>(&r.body) {
                            Ok(v) => return Ok(Answer::Body(v)),
                            Err(e) => {
                                last = format!("unreadable body ({} bytes): {e}", r.body.len());
                                self.backoff_ms(attempt)
                            }
                        },
                        404 => return Ok(Answer::NotFound),
                        401 | 403 => {
                            let text = message(&r.body);
                            if text.to_ascii_lowercase().contains("not subscribed") {
                                return Err(format!(
                                    "RapidAPI answered HTTP {} {text:?}: the RapidAPI account of the \
                                     key in secret RAPIDAPI_KEY is not subscribed to the zillow-com1 API \
                                     (subscribe to a plan of zillow-com1 with that account)",
                                    r.status
                                ));
                            }
                            return Err(format!(
                                "RapidAPI refused the key (HTTP {} {text:?}): set the secret \
                                 RAPIDAPI_KEY (environment RESI_SECRET_RAPIDAPI_KEY) to the \
                                 application key of your RapidAPI account",
                                r.status
                            ));
                        }
                        429 => {
                            let text = message(&r.body);
                            if text.to_ascii_lowercase().contains("monthly") {
                                return Err(format!(
                                    "the monthly quota of the RapidAPI plan is used up (HTTP 429 \
                                     {text:?}); no request succeeds until it resets or the plan of \
                                     the key in secret RAPIDAPI_KEY is upgraded"
                                ));
                            }
                            let retry_after = header(&r, "retry-after")
                                .and_then(|v| v.trim().parse::<u64>().ok());
                            last = format!(
                                "429 per-second rate limit ({text:?}, Retry-After {})",
                                retry_after.map_or("absent".to_string(), |s| format!("{s} s"))
                            );
                            match retry_after {
                                Some(s) => s.saturating_mul(1000).clamp(100, RETRY_AFTER_CAP_MS),
                                None => self.backoff_ms(attempt),
                            }
                        }
                        s if (500..=599).contains(&s) => {
                            last = format!("HTTP {s}: {}", message(&r.body));
                            self.backoff_ms(attempt)
                        }
                        s => return Err(format!("GET {path}: HTTP {s}: {}", message(&r.body))),
                    }
                }
                Err(FetchError::RateLimited(ms)) => {
                    // The manifest's own limit: waiting is the plan, not a failed try.
                    counted = false;
                    last = format!("host rate limit ({ms} ms)");
                    u64::from(ms).max(1)
                }
                Err(FetchError::Timeout(e)) => {
                    counted = true;
                    last = format!("timeout: {e}");
                    self.backoff_ms(attempt)
                }
                Err(FetchError::Transport(e)) => {
                    counted = true;
                    last = format!("transport: {e}");
                    self.backoff_ms(attempt)
                }
                Err(other) => return Err(format!("GET {path}: refused by the host: {other:?}")),
            };
            if counted {
                attempt += 1;
                if attempt >= self.settings.max_attempts {
                    return Err(format!(
                        "GET {path}: gave up after {attempt} attempts (last: {last})"
                    ));
                }
            }
            if now_ms().saturating_add(wait) >= self.deadline_ms {
                return Err(format!(
                    "deadline reached while retrying GET {path} (last: {last})"
                ));
            }
            log(
                Level::Debug,
                &format!("GET {path}: {last}; retrying in {wait} ms"),
            );
            std::thread::sleep(Duration::from_millis(wait));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tolerant reading of real JSON values.

/// A finite number from a JSON number or a numeric string (`"$450,000"`, `" 2.5 "`).
fn number(v: Option<&Value>) -> Option<f64> {
    let f = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let t: String = s
                .chars()
                .filter(|c| !matches!(c, ',' | '$') && !c.is_whitespace())
                .collect();
            t.parse::<f64>().ok()?
        }
        _ => return None,
    };
    f.is_finite().then_some(f)
}

/// A whole non-negative amount, rounded half away from zero.
fn whole_u64(v: Option<&Value>) -> Option<u64> {
    if let Some(n) = v.and_then(Value::as_u64) {
        return Some(n);
    }
    let f = number(v)?;
    (f >= 0.0 && f < 1e19).then(|| f.round() as u64)
}

fn whole_u32(v: Option<&Value>) -> Option<u32> {
    whole_u64(v).and_then(|n| u32::try_from(n).ok())
}

/// Hundredths of a decimal amount (2.5 -> 250).
fn hundredths(v: Option<&Value>) -> Option<u32> {
    let f = number(v)?;
    let h = (f * 100.0).round();
    (f >= 0.0 && h <= f64::from(u32::MAX)).then(|| h as u32)
}

/// A non-empty text from a string or a number (ids arrive both ways).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_string())
        }
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                Some(i.to_string())
            } else if let Some(i) = n.as_i64() {
                Some(i.to_string())
            } else {
                let f = n.as_f64()?;
                (f.fract() == 0.0 && f.abs() < 1e15).then(|| format!("{}", f as i64))
            }
        }
        _ => None,
    }
}

/// The zipcode of an address `"street, city, ST 12345"` (or `... 12345-6789`): its trailing
/// five digits.
fn zipcode_of(address: &str) -> Option<String> {
    let a = address.trim_end().as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let end = if a.len() >= 10 && a[a.len() - 5] == b'-' && digits(&a[a.len() - 4..]) {
        a.len() - 5
    } else {
        a.len()
    };
    if end < 5 || !digits(&a[end - 5..end]) || (end > 5 && a[end - 6].is_ascii_digit()) {
        return None;
    }
    Some(String::from_utf8_lossy(&a[end - 5..end]).into_owned())
}

/// Zillow's property type in the upper-case names of `docs/listing.md` (`LOT` is `LAND`).
fn property_type(zillow: &str) -> String {
    match zillow {
        "LOT" | "LOTS" => "LAND".to_string(),
        other => other.to_string(),
    }
}

/// `https://www.zillow.com` + a detail path; absolute URLs stay; without one, the canonical
/// `/homedetails/{zpid}_zpid/` (Zillow redirects it to the full slug).
fn source_url(path: Option<String>, zpid: &str) -> String {
    match path {
        Some(p) if p.starts_with("https://") || p.starts_with("http://") => p,
        Some(p) if p.starts_with('/') => format!("{ZILLOW}{p}"),
        _ => format!("{ZILLOW}/homedetails/{zpid}_zpid/"),
    }
}

/// A date `YYYY-MM-DD` from epoch milliseconds or a date string.
fn date_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => n.as_i64().map(date_of_ms),
        Value::String(s) => {
            let s = s.trim();
            let ok = s.len() >= 10
                && s.as_bytes()[4] == b'-'
                && s.as_bytes()[7] == b'-'
                && s[..10].bytes().filter(u8::is_ascii_digit).count() == 8;
            ok.then(|| s[..10].to_string())
        }
        _ => None,
    }
}

/// Maps one `propertyExtendedSearch` item; `Err` says why it is dropped.
fn search_listing(item: &Value, zip: &str, now: u64) -> Result<Listing, String> {
    let zpid = text(item.get("zpid")).ok_or("no zpid")?;
    let why = |what: &str| format!("zpid {zpid}: {what}");
    let address = text(item.get("address")).ok_or_else(|| why("no address"))?;
    let zipcode = zipcode_of(&address)
        .ok_or_else(|| why(&format!("address {address:?} ends in no zipcode")))?;
    if zipcode != zip {
        return Err(why(&format!("zipcode {zipcode} is not the assigned {zip}")));
    }
    // Real pages carry `"price": 0` for homes without a shown price: no price at all.
    let price = whole_u64(item.get("price"))
        .filter(|p| *p > 0)
        .ok_or_else(|| why("no price"))?;
    let property_type = text(item.get("propertyType"))
        .map(|t| property_type(&t))
        .ok_or_else(|| why("no propertyType"))?;
    let listing_status = text(item.get("listingStatus")).ok_or_else(|| why("no listingStatus"))?;
    let days_on_market = whole_u32(item.get("daysOnZillow"));
    let listing_date = date_of(item.get("dateSold")).unwrap_or_else(|| {
        let back = u64::from(days_on_market.unwrap_or(0)).saturating_mul(86_400_000);
        date_of_ms(now.saturating_sub(back) as i64)
    });
    Ok(Listing {
        source_url: source_url(text(item.get("detailUrl")), &zpid),
        zpid: Some(zpid),
        mls_id: None,
        address,
        zipcode,
        price: Some(price),
        bedrooms: whole_u32(item.get("bedrooms")),
        bathrooms_hundredths: hundredths(item.get("bathrooms")),
        sqft: whole_u32(item.get("livingArea")),
        listing_date,
        property_type,
        listing_status,
        days_on_market,
        scraped_timestamp: iso8601(now),
    })
}

/// Maps a `/property` body; `Err` is the reason it is unverifiable.
fn property_listing(home: &Value, now: u64) -> Result<Listing, String> {
    let zpid = text(home.get("zpid")).ok_or("unverifiable: the /property body has no zpid")?;
    let unverifiable = |what: &str| format!("unverifiable: zpid {zpid}: {what}");
    let address_obj = home.get("address").filter(|a| a.is_object());
    let field = |key: &str| {
        address_obj
            .and_then(|a| text(a.get(key)))
            .or_else(|| text(home.get(key)))
    };
    let street = field("streetAddress").ok_or_else(|| unverifiable("no streetAddress"))?;
    let zipcode = text(home.get("zipcode"))
        .or_else(|| address_obj.and_then(|a| text(a.get("zipcode"))))
        .ok_or_else(|| unverifiable("no zipcode"))?;
    let mut address = street;
    let city = field("city");
    let state = field("state");
    if let Some(c) = &city {
        address.push_str(", ");
        address.push_str(c);
    }
    address.push_str(", ");
    if let Some(s) = &state {
        address.push_str(s);
        address.push(' ');
    }
    address.push_str(&zipcode);
    let status = text(home.get("homeStatus")).ok_or_else(|| unverifiable("no homeStatus"))?;
    let sold = matches!(status.as_str(), "RECENTLY_SOLD" | "SOLD");
    let history: &[Value] = home
        .get("priceHistory")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    // priceHistory is newest first; the newest sale is the one a sold claim is about.
    let last_sale = history
        .iter()
        .filter(|e| e.get("event").and_then(Value::as_str) == Some("Sold"))
        .max_by_key(|e| e.get("time").and_then(Value::as_i64).unwrap_or(i64::MIN));
    let (price, listing_date) = if sold {
        let price = whole_u64(home.get("lastSoldPrice"))
            .or_else(|| last_sale.and_then(|e| whole_u64(e.get("price"))))
            .ok_or_else(|| {
                unverifiable(&format!(
                    "{status} but the source shows no sale price (lastSoldPrice and the Sold \
                     event's price are null, as in non-disclosure states)"
                ))
            })?;
        let date = date_of(home.get("dateSold"))
            .or_else(|| date_of(home.get("dateSoldString")))
            .or_else(|| last_sale.and_then(|e| date_of(e.get("time")).or(date_of(e.get("date")))))
            .unwrap_or_else(|| date_of_ms(now as i64));
        (price, date)
    } else {
        let price = whole_u64(home.get("price"))
            .filter(|p| *p > 0)
            .ok_or_else(|| unverifiable("no price (absent or 0 at the source)"))?;
        let date = date_of(home.get("datePosted")).unwrap_or_else(|| date_of_ms(now as i64));
        (price, date)
    };
    let property_type = text(home.get("homeType"))
        .map(|t| property_type(&t))
        .ok_or_else(|| unverifiable("no homeType"))?;
    let mls_id = text(home.get("mlsid")).or_else(|| {
        home.get("attributionInfo")
            .and_then(|a| text(a.get("mlsId")))
    });
    let days_on_market = home
        .get("resoFacts")
        .and_then(|r| whole_u32(r.get("daysOnZillow")))
        .or_else(|| whole_u32(home.get("daysOnZillow")));
    Ok(Listing {
        source_url: source_url(
            text(home.get("url")).or_else(|| text(home.get("hdpUrl"))),
            &zpid,
        ),
        zpid: Some(zpid.clone()),
        mls_id,
        address,
        zipcode,
        price: Some(price),
        bedrooms: whole_u32(home.get("bedrooms")),
        bathrooms_hundredths: hundredths(home.get("bathrooms")),
        sqft: whole_u32(home.get("livingArea")).or_else(|| whole_u32(home.get("livingAreaValue"))),
        listing_date,
        property_type,
        listing_status: status,
        days_on_market,
        scraped_timestamp: iso8601(now),
    })
}

// ---------------------------------------------------------------------------------------------
// Scraping past the cap.

/// One part of a split query; `None` bounds are open.
#[derive(Clone, Default)]
struct Part {
    min_price: Option<u64>,
    max_price: Option<u64>,
    home_type: Option<&'static str>,
    min_sqft: Option<u64>,
    max_sqft: Option<u64>,
}

impl Part {
    fn query(&self, settings: &Settings, zip: &str, page: u32) -> String {
        let mut q = format!(
            "/propertyExtendedSearch?location={}&status_type={}&sort={}&page={page}",
            encode(zip),
            settings.status_type,
            settings.sort
        );
        if settings.status_type == "RecentlySold"
            && let Some(w) = &settings.sold_in_last
        {
            q.push_str(&format!("&soldInLast={w}"));
        }
        let mut add = |key: &str, v: Option<String>| {
            if let Some(v) = v {
                q.push_str(&format!("&{key}={}", encode(&v)));
            }
        };
        add("minPrice", self.min_price.map(|p| p.to_string()));
        add("maxPrice", self.max_price.map(|p| p.to_string()));
        add("home_type", self.home_type.map(str::to_string));
        add("sqftMin", self.min_sqft.map(|p| p.to_string()));
        add("sqftMax", self.max_sqft.map(|p| p.to_string()));
        q
    }

    fn describe(&self) -> String {
        let band = |lo: Option<u64>, hi: Option<u64>| match (lo, hi) {
            (None, None) => None,
            (lo, Some(hi)) => Some(format!("{}..={hi}", lo.unwrap_or(0))),
            (Some(lo), None) => Some(format!("{lo}..")),
        };
        let mut parts = Vec::new();
        if let Some(b) = band(self.min_price, self.max_price) {
            parts.push(format!("price {b}"));
        }
        if let Some(t) = self.home_type {
            parts.push(format!("home_type {t}"));
        }
        if let Some(b) = band(self.min_sqft, self.max_sqft) {
            parts.push(format!("sqft {b}"));
        }
        if parts.is_empty() {
            "the whole zipcode".to_string()
        } else {
            parts.join(", ")
        }
    }

    /// Halves a band `lo..=hi` (`hi` open when `None`); `None` when it is one value.
    fn halve(
        lo: Option<u64>,
        hi: Option<u64>,
        first_cut: u64,
        ceiling: u64,
    ) -> Option<[(Option<u64>, Option<u64>); 2]> {
        let low = lo.unwrap_or(0);
        match hi {
            None if low < ceiling => {
                let cut = if low == 0 {
                    first_cut
                } else {
                    low.saturating_mul(2)
                };
                Some([(lo, Some(cut)), (Some(cut + 1), None)])
            }
            Some(high) if high > low => {
                let cut = low + (high - low) / 2;
                Some([(lo, Some(cut)), (Some(cut + 1), Some(high))])
            }
            _ => None,
        }
    }

    /// Splits a part whose results exceed the cap into disjoint parts covering it.
    fn split(&self) -> Option<Vec<Part>> {
        if let Some(halves) = Part::halve(self.min_price, self.max_price, 1_000_000, PRICE_CEILING)
        {
            return Some(
                halves
                    .iter()
                    .map(|&(min_price, max_price)| Part {
                        min_price,
                        max_price,
                        ..self.clone()
                    })
                    .collect(),
            );
        }
        if self.home_type.is_none() {
            return Some(
                HOME_TYPES
                    .iter()
                    .map(|t| Part {
                        home_type: Some(t),
                        ..self.clone()
                    })
                    .collect(),
            );
        }
        let halves = Part::halve(self.min_sqft, self.max_sqft, 2_000, SQFT_CEILING)?;
        Some(
            halves
                .iter()
                .map(|&(min_sqft, max_sqft)| Part {
                    min_sqft,
                    max_sqft,
                    ..self.clone()
                })
                .collect(),
        )
    }
}

/// One search page as the API answers it; `{}` is a page of nothing.
struct Page {
    total: u64,
    total_pages: u64,
    props: Vec<Value>,
}

fn page_of(body: Value, path: &str) -> Result<Page, String> {
    let Value::Object(map) = body else {
        return Err(format!("GET {path}: the body is not a JSON object"));
    };
    let props = match map.get("props") {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Null) | None => {
            if let Some(m) = map.get("message").and_then(Value::as_str) {
                return Err(format!("GET {path}: the API answered {m:?}"));
            }
            Vec::new()
        }
        Some(_) => return Err(format!("GET {path}: `props` is not a list")),
    };
    let total = whole_u64(map.get("totalResultCount")).unwrap_or(props.len() as u64);
    let total_pages = whole_u64(map.get("totalPages")).unwrap_or_else(|| total.div_ceil(PER_PAGE));
    Ok(Page {
        total,
        total_pages,
        props,
    })
}

struct Scrape<'a> {
    zip: &'a str,
    client: Client<'a>,
    seen: HashSet<String>,
    emitted: u32,
    pages: u32,
    dropped: u32,
}

impl Scrape<'_> {
    fn page(&mut self, part: &Part, n: u32) -> Result<Page, String> {
        let path = part.query(self.client.settings, self.zip, n);
        let body = match self.client.get(&path)? {
            Answer::Body(v) => v,
            Answer::NotFound => return Err(format!("GET {path}: HTTP 404")),
        };
        self.pages += 1;
        let page = page_of(body, &path)?;
        let now = now_ms();
        let mut batch = Vec::with_capacity(page.props.len());
        let mut reasons = Vec::new();
        for item in &page.props {
            match search_listing(item, self.zip, now) {
                Ok(listing) => {
                    if self.seen.insert(listing.zpid.clone().unwrap_or_default()) {
                        batch.push(listing);
                    }
                }
                Err(why) => reasons.push(why),
            }
        }
        if !reasons.is_empty() {
            self.dropped += reasons.len() as u32;
            let shown: Vec<&str> = reasons.iter().take(5).map(String::as_str).collect();
            log(
                Level::Info,
                &format!(
                    "{}: page {n} of {}: dropped {} item(s): {}{}",
                    self.zip,
                    part.describe(),
                    reasons.len(),
                    shown.join("; "),
                    if reasons.len() > 5 { "; ..." } else { "" }
                ),
            );
        }
        if !batch.is_empty() {
            self.emitted += batch.len() as u32;
            emit(&batch);
        }
        log(
            Level::Debug,
            &format!(
                "{}: {} page {n}/{}: {} new of {} ({} so far)",
                self.zip,
                part.describe(),
                page.total_pages,
                batch.len(),
                page.props.len(),
                self.emitted
            ),
        );
        Ok(page)
    }

    fn run(&mut self) -> Result<(), String> {
        let mut stack = vec![Part::default()];
        let mut reported: Option<u64> = None;
        while let Some(part) = stack.pop() {
            let first = self.page(&part, 1)?;
            reported.get_or_insert(first.total);
            if first.total > QUERY_CAP {
                if let Some(parts) = part.split() {
                    log(
                        Level::Debug,
                        &format!(
                            "{}: {} holds {} results (over {QUERY_CAP}): split in {}",
                            self.zip,
                            part.describe(),
                            first.total,
                            parts.len()
                        ),
                    );
                    stack.extend(parts.into_iter().rev());
                    continue;
                }
                log(
                    Level::Warn,
                    &format!(
                        "{}: {} holds {} results and cannot be split further: only the first \
                         {QUERY_CAP} are reachable",
                        self.zip,
                        part.describe(),
                        first.total
                    ),
                );
            }
            if first.props.is_empty() {
                continue;
            }
            let last = first.total_pages.min(u64::from(PAGE_CAP)) as u32;
            for n in 2..=last {
                if self.page(&part, n)?.props.is_empty() {
                    break;
                }
            }
        }
        let reported = reported.unwrap_or(0);
        log(
            Level::Info,
            &format!(
                "{}: {} unique listings from {} requests ({} results reported, {} items dropped)",
                self.zip, self.emitted, self.pages, reported, self.dropped
            ),
        );
        Ok(())
    }
}

/// The zpid of a Zillow URL (`.../12345_zpid/`).
fn zpid_of_url(url: &str) -> Option<String> {
    let end = url.find("_zpid")?;
    let digits: String = url[..end]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| digits.chars().rev().collect())
}

impl Guest for ZillowRapidApi {
    fn info() -> ScraperInfo {
        ScraperInfo {
            name: "zillow-rapidapi".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            sources: vec!["zillow.com (RapidAPI zillow-com1)".into()],
        }
    }

    fn scrape(task: Task) -> Result<ScrapeSummary, String> {
        let settings = Settings::from_config(&task.config)?;
        let mut scrape = Scrape {
            zip: &task.zipcode,
            client: Client {
                settings: &settings,
                deadline_ms: task.deadline_ms,
                requests: 0,
            },
            seen: HashSet::new(),
            emitted: 0,
            pages: 0,
            dropped: 0,
        };
        match scrape.run() {
            Ok(()) => Ok(ScrapeSummary {
                emitted: scrape.emitted,
                pages: scrape.pages,
            }),
            Err(e) => Err(format!(
                "{}: {e} (after emitting {} listings from {} pages)",
                task.zipcode, scrape.emitted, scrape.pages
            )),
        }
    }

    fn verify(target: ListingRef, config: Vec<(String, String)>) -> Result<Verification, String> {
        let settings = Settings::from_config(&config)?;
        let zpid = target
            .zpid
            .as_deref()
            .map(str::trim)
            .filter(|z| !z.is_empty())
            .map(str::to_string)
            .or_else(|| zpid_of_url(&target.source_url))
            .ok_or("unverifiable: the listing has neither a zpid nor a Zillow URL holding one")?;
        if !zpid.bytes().all(|b| b.is_ascii_digit()) {
            // Zillow's ids are all digits: this one cannot exist there.
            return Ok(Verification::NotFound);
        }
        let mut client = Client {
            settings: &settings,
            deadline_ms: now_ms().saturating_add(settings.verify_budget_ms),
            requests: 0,
        };
        let home = match client.get(&format!("/property?zpid={zpid}"))? {
            Answer::NotFound => return Ok(Verification::NotFound),
            Answer::Body(v) => v,
        };
        if text(home.get("zpid")).is_none() {
            // `{}` or an error body instead of a home: the API does not know the zpid.
            return Ok(Verification::NotFound);
        }
        property_listing(&home, now_ms()).map(Verification::Found)
    }
}

resi_guest::export_scraper!(ZillowRapidApi);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_zipcodes() {
        assert_eq!(iso8601(1_759_334_700_000), "2025-10-01T16:05:00Z");
        assert_eq!(date_of_ms(1_780_459_200_000), "2026-06-03");
        assert_eq!(
            zipcode_of("15 Hudson Yards APT 72C, New York, NY 10001").as_deref(),
            Some("10001")
        );
        assert_eq!(
            zipcode_of("1 Main St, Chicago, IL 60601-1234").as_deref(),
            Some("60601")
        );
        assert_eq!(zipcode_of("06 Tier Plan, Cirrus"), None);
        assert_eq!(zipcode_of("1 Main St, X, IL 123456"), None);
        assert_eq!(
            zpid_of_url("https://www.zillow.com/homedetails/a-b/2069666193_zpid/").as_deref(),
            Some("2069666193")
        );
    }
}
