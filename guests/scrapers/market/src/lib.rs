//! `market-scraper`: scrapes resi's local listing market (`resi market`), written the way a
//! miner writes a scraper for a real site.
//!
//! Config (from the scraper manifest):
//! - `base_url` (required): the market's origin, e.g. `http://127.0.0.1:8787`.
//! - `page_size` (default 100, at most 500): results per search page.
//! - `max_attempts` (default 12): tries per request before giving up.
//! - `verify_budget_ms` (default 60000): how long one `verify` may spend retrying.
//!
//! `scrape` walks `GET /api/search?zipcode=..&page=..&page_size=..` page by page and emits each
//! page as one batch (so a later failure or timeout never loses what was found), skipping
//! duplicates should the site shift between pages. Every request goes through the host's
//! `fetch` and is retried on 429 (waiting `Retry-After`), 5xx, unreadable bodies (truncated
//! JSON), host-side rate limits and transport errors, with exponential backoff; nothing waits
//! past the task's deadline. `verify` looks a home up by zpid with `GET /api/homes/{zpid}`:
//! 200 is found, 404 is not found, anything else after retries is an error (unverifiable).

use resi_guest::scraper::*;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct MarketScraper;

const DEFAULT_PAGE_SIZE: u32 = 100;
const MAX_PAGE_SIZE: u32 = 500;
const DEFAULT_MAX_ATTEMPTS: u32 = 12;
const DEFAULT_VERIFY_BUDGET_MS: u64 = 60_000;
const BACKOFF_BASE_MS: u64 = 200;
const BACKOFF_CAP_MS: u64 = 10_000;
/// Longest a single `Retry-After` is honoured; beyond it the wait is capped (and retried).
const RETRY_AFTER_CAP_MS: u64 = 60_000;

/// One search page as the market serves it.
#[derive(Deserialize)]
struct SearchPage {
    total: u32,
    total_pages: u32,
    results: Vec<Home>,
}

/// One home as the market serves it (only the fields a listing needs).
#[derive(Deserialize)]
struct Home {
    zpid: Option<String>,
    mls_id: Option<String>,
    address: Option<String>,
    zipcode: Option<String>,
    price: Option<u64>,
    bedrooms: Option<u32>,
    bathrooms: Option<f64>,
    sqft: Option<u32>,
    listing_date: Option<String>,
    property_type: Option<String>,
    listing_status: Option<String>,
    days_on_market: Option<u32>,
    source_url: Option<String>,
}

/// Settings read from the manifest config.
struct Settings {
    base: String,
    page_size: u32,
    max_attempts: u32,
}

impl Settings {
    fn from_config(config: &[(String, String)]) -> Result<Settings, String> {
        let base = config_value(config, "base_url")
            .ok_or("config key base_url is missing (e.g. http://127.0.0.1:8787)")?
            .trim_end_matches('/')
            .to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "base_url {base:?} must start with http:// or https://"
            ));
        }
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
        Ok(Settings {
            base,
            page_size: number(
                "page_size",
                u64::from(DEFAULT_PAGE_SIZE),
                u64::from(MAX_PAGE_SIZE),
            )? as u32,
            max_attempts: number("max_attempts", u64::from(DEFAULT_MAX_ATTEMPTS), 100)? as u32,
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// ISO 8601 UTC date-time of a unix-milliseconds instant, e.g. `2025-10-01T16:05:00Z`.
fn iso8601(ms: u64) -> String {
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
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
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

/// `Retry-After` in milliseconds, when it is a number of seconds.
fn retry_after_ms(response: &Response) -> Option<u64> {
    let secs: u64 = header(response, "retry-after")?.trim().parse().ok()?;
    Some(secs.saturating_mul(1000).min(RETRY_AFTER_CAP_MS))
}

fn backoff_ms(attempt: u32) -> u64 {
    BACKOFF_BASE_MS
        .saturating_mul(1u64 << attempt.min(16))
        .min(BACKOFF_CAP_MS)
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

/// GETs `url` and decodes its JSON, retrying what a flaky site makes retryable.
/// `Ok(None)` is a definitive 404.
fn get_json<T: DeserializeOwned>(
    url: &str,
    settings: &Settings,
    deadline_ms: u64,
) -> Result<Option<T>, String> {
    let mut last = String::new();
    for attempt in 0..settings.max_attempts {
        if now_ms() >= deadline_ms {
            return Err(format!(
                "deadline reached before GET {url} succeeded (last: {last})"
            ));
        }
        let wait = match get(url) {
            Ok(r) if r.status == 200 => match serde_json::from_slice::<T>(&r.body) {
                Ok(v) => return Ok(Some(v)),
                Err(e) => {
                    last = format!("unreadable body ({} bytes): {e}", r.body.len());
                    backoff_ms(attempt)
                }
            },
            Ok(r) if r.status == 404 => return Ok(None),
            Ok(r) if r.status == 429 => {
                last = String::from("429 Too Many Requests");
                retry_after_ms(&r).unwrap_or_else(|| backoff_ms(attempt))
            }
            Ok(r) if (500..=599).contains(&r.status) => {
                last = format!("HTTP {}: {}", r.status, snippet(&r.body));
                retry_after_ms(&r).unwrap_or_else(|| backoff_ms(attempt))
            }
            Ok(r) => {
                return Err(format!(
                    "GET {url}: HTTP {}: {}",
                    r.status,
                    snippet(&r.body)
                ));
            }
            Err(FetchError::RateLimited(ms)) => {
                last = format!("host rate limit ({ms} ms)");
                u64::from(ms).max(1)
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
        if now_ms().saturating_add(wait) >= deadline_ms {
            return Err(format!(
                "deadline reached while retrying GET {url} (last: {last})"
            ));
        }
        log(
            Level::Debug,
            &format!("GET {url}: {last}; retrying in {wait} ms"),
        );
        std::thread::sleep(Duration::from_millis(wait));
    }
    Err(format!(
        "GET {url}: gave up after {} attempts (last: {last})",
        settings.max_attempts
    ))
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

/// Maps a market home to the listing record; `None` when a required field is missing.
fn to_listing(home: Home, zipcode: &str, scraped: &str) -> Option<Listing> {
    let zpid = non_empty(home.zpid);
    let mls_id = non_empty(home.mls_id);
    if zpid.is_none() && mls_id.is_none() {
        return None;
    }
    Some(Listing {
        zpid,
        mls_id,
        address: non_empty(home.address)?,
        zipcode: non_empty(home.zipcode).unwrap_or_else(|| zipcode.to_string()),
        price: home.price,
        bedrooms: home.bedrooms,
        bathrooms_hundredths: home
            .bathrooms
            .filter(|b| b.is_finite() && *b >= 0.0 && *b < 1000.0)
            .map(|b| (b * 100.0).round() as u32),
        sqft: home.sqft,
        listing_date: non_empty(home.listing_date)?,
        property_type: non_empty(home.property_type)?,
        listing_status: non_empty(home.listing_status)?,
        days_on_market: home.days_on_market,
        source_url: non_empty(home.source_url)?,
        scraped_timestamp: scraped.to_string(),
    })
}

fn scrape_zipcode(task: &Task, emitted: &mut u32, pages: &mut u32) -> Result<(), String> {
    let settings = Settings::from_config(&task.config)?;
    let zip = &task.zipcode;
    let mut seen: HashSet<String> = HashSet::new();
    let mut page = 1u32;
    loop {
        let url = format!(
            "{}/api/search?zipcode={}&page={page}&page_size={}",
            settings.base,
            encode(zip),
            settings.page_size
        );
        let Some(result) = get_json::<SearchPage>(&url, &settings, task.deadline_ms)? else {
            return Err(format!("the market does not know zipcode {zip} (404)"));
        };
        *pages += 1;
        let scraped = iso8601(now_ms());
        let count = result.results.len();
        let mut batch = Vec::with_capacity(count);
        for home in result.results {
            let Some(listing) = to_listing(home, zip, &scraped) else {
                log(
                    Level::Warn,
                    &format!("page {page}: skipped a home missing required fields"),
                );
                continue;
            };
            let key = listing
                .zpid
                .clone()
                .or_else(|| listing.mls_id.clone())
                .unwrap_or_default();
            if seen.insert(key) {
                batch.push(listing);
            }
        }
        if !batch.is_empty() {
            emit(&batch);
            *emitted += batch.len() as u32;
        }
        log(
            Level::Debug,
            &format!(
                "{zip}: page {page}/{} -> {} new of {count} ({} of {} so far)",
                result.total_pages,
                batch.len(),
                *emitted,
                result.total
            ),
        );
        if count == 0 || page >= result.total_pages {
            if *emitted != result.total {
                log(
                    Level::Warn,
                    &format!(
                        "{zip}: the market reports {} homes, emitted {}",
                        result.total, *emitted
                    ),
                );
            }
            return Ok(());
        }
        page += 1;
    }
}

impl Guest for MarketScraper {
    fn info() -> ScraperInfo {
        ScraperInfo {
            name: "market".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            sources: vec!["resi-market".into()],
        }
    }

    fn scrape(task: Task) -> Result<ScrapeSummary, String> {
        let (mut emitted, mut pages) = (0u32, 0u32);
        match scrape_zipcode(&task, &mut emitted, &mut pages) {
            Ok(()) => {
                log(
                    Level::Info,
                    &format!("{}: {emitted} listings in {pages} pages", task.zipcode),
                );
                Ok(ScrapeSummary { emitted, pages })
            }
            Err(e) => Err(format!(
                "{}: {e} (after emitting {emitted} listings in {pages} pages)",
                task.zipcode
            )),
        }
    }

    fn verify(target: ListingRef, config: Vec<(String, String)>) -> Result<Verification, String> {
        let settings = Settings::from_config(&config)?;
        let budget = match config_value(&config, "verify_budget_ms") {
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("verify_budget_ms {v:?} is not an integer"))?,
            None => DEFAULT_VERIFY_BUDGET_MS,
        };
        let deadline = now_ms().saturating_add(budget);
        // The zpid, or failing that the id at the end of the source URL.
        let zpid = non_empty(target.zpid.clone()).or_else(|| {
            let tail = target.source_url.trim_end_matches('/').rsplit('/').next()?;
            (target.source_url.starts_with(&settings.base) && !tail.is_empty())
                .then(|| tail.to_string())
        });
        if let Some(zpid) = zpid {
            if !zpid.bytes().all(|b| b.is_ascii_digit()) || zpid.is_empty() {
                // The market's ids are all digits: this one cannot exist there.
                return Ok(Verification::NotFound);
            }
            let url = format!("{}/api/homes/{zpid}", settings.base);
            return match get_json::<Home>(&url, &settings, deadline)? {
                Some(home) => match to_listing(home, &target.zipcode, &iso8601(now_ms())) {
                    Some(l) => Ok(Verification::Found(l)),
                    None => Err(format!("{url}: the market's record lacks required fields")),
                },
                None => Ok(Verification::NotFound),
            };
        }
        // No id: look for the MLS number or the address in the zipcode's search results.
        let mut page = 1u32;
        loop {
            let url = format!(
                "{}/api/search?zipcode={}&page={page}&page_size={MAX_PAGE_SIZE}",
                settings.base,
                encode(&target.zipcode)
            );
            let Some(result) = get_json::<SearchPage>(&url, &settings, deadline)? else {
                return Ok(Verification::NotFound);
            };
            let scraped = iso8601(now_ms());
            for home in result.results {
                let hit = (target.mls_id.is_some() && home.mls_id == target.mls_id)
                    || home
                        .address
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(target.address.trim()));
                if hit && let Some(l) = to_listing(home, &target.zipcode, &scraped) {
                    return Ok(Verification::Found(l));
                }
            }
            if page >= result.total_pages {
                return Ok(Verification::NotFound);
            }
            page += 1;
        }
    }
}

resi_guest::export_scraper!(MarketScraper);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_759_334_700_000), "2025-10-01T16:05:00Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
