//! `resi-market`: the local listing market of the devnet, a deterministic synthetic property
//! universe served over HTTP on loopback.
//!
//! Every home is derived from `sha256(seed || zipcode || index)` alone, so the same seed gives
//! the same universe on every machine, in any order of requests. Only active STANDARD zipcodes
//! hold homes (a seeded count in a configurable range, by default at most 1,000 like Zillow's search, 9,999 at most);
//! PO BOX, UNIQUE and MILITARY zipcodes hold none. Miners scrape it with a scraper component,
//! the coordinator reads its counts as expected listings, and validators compare submissions
//! against [`Market`] directly.
//!
//! # Library
//! [`Market::new`] builds the universe from a [`MarketConfig`]; [`Market::listings`],
//! [`Market::count`] and [`Market::get`] answer without HTTP. [`serve`] (or [`serve_market`])
//! starts the HTTP server and returns a [`MarketServer`] with its address, counters and a
//! graceful shutdown; [`run`] serves until Ctrl-C (the `resi market` command).
//!
//! # HTTP API
//! All answers are JSON. Errors are `{"error": "<what went wrong>"}` with a 4xx/5xx status.
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /health` | `{"status":"ok","service":"resi-market","seed":N,"now":"YYYY-MM-DD","zipcodes":N}` (never rate limited or faulted) |
//! | `GET /api/search?zipcode=19103&page=1&page_size=100` | `{"zipcode","page","page_size","total","total_pages","results":[listing...]}`; pages start at 1, `page_size` 1..=500 (default 100), a page past the end has empty `results`; 400 for a malformed zipcode or paging, 404 for a zipcode not in the table |
//! | `GET /api/homes/{zpid}` | one listing; 404 `{"error":"no home with zpid ..."}` when unknown |
//! | `GET /api/zipcodes/{zipcode}` | `{"zipcode","type","active","city","state","county","listings"}`; `listings` is 0 for PO BOX, UNIQUE, MILITARY and inactive zipcodes; 404 when not in the table |
//! | `GET /api/zipcodes?zipcodes=19103,10001` | `{"zipcodes":[...same records...],"unknown":["..."]}`; `?state=PA` filters by state; with neither, every zipcode |
//!
//! A listing is `{"zpid","mls_id","address","street","city","state","zipcode","latitude",
//! "longitude","price","bedrooms","bathrooms","sqft","lot_sqft","year_built","property_type",
//! "listing_status","listing_date","sold_date","days_on_market","source_url"}` with `bathrooms`
//! a decimal (2.5), dates `YYYY-MM-DD`, `price` whole dollars (the sale price once sold), and
//! `source_url` = `{public_url}/api/homes/{zpid}`. Search results are in a fixed order.
//!
//! # Hostile-site behaviour (all under `/api/`)
//! - **Latency**: every answer waits [`HttpBehavior::latency`] first.
//! - **Rate limit**: a token bucket ([`RateLimit`]), per client IP or global; when empty the
//!   answer is `429` with `Retry-After: <seconds>`.
//! - **Faults**: a fraction [`Faults::rate`] of answers is replaced by a 500, 502 or 503 or by a
//!   `200` whose JSON body is cut in half. Whether the *n*-th request for a given path and query
//!   fails is decided by `sha256(fault_seed || path?query || n)`, so a run is reproducible and
//!   retrying a request eventually succeeds. (The per-URL attempt counters start over after
//!   [`server::MAX_TRACKED_URLS`] distinct URLs, bounding memory.)

pub mod mimic;
pub mod server;
pub mod universe;
pub mod zipcodes;

pub use server::{MarketServer, ServerStats, run, serve, serve_market};
pub use universe::Listing;
pub use zipcodes::{ZipKind, ZipTable, Zipcode};

pub use chrono::NaiveDate;
use std::path::PathBuf;
use std::time::Duration;

/// The default most homes of a zipcode: Zillow's own search shows at most 1,000 results for
/// an area.
pub const MAX_LISTINGS_PER_ZIPCODE: u32 = 1_000;

/// The most homes a zipcode of the universe can hold (a zpid keeps the home's index in four
/// digits); the mimics of the real sources use more than [`MAX_LISTINGS_PER_ZIPCODE`] to go past
/// the sources' per-query caps.
pub const MAX_HOMES_PER_ZIPCODE: u32 = 9_999;

/// Errors of the market.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    /// The zipcode table could not be read.
    #[error("reading the zipcode table {path}")]
    ReadZipcodes {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A row of the zipcode table is malformed.
    #[error("zipcode table {path}, line {line}: {reason}")]
    BadZipcodeRow {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The configuration is inconsistent.
    #[error("invalid market configuration: {0}")]
    InvalidConfig(String),
    /// The server could not bind or serve.
    #[error("market server on {addr}")]
    Serve {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A token-bucket rate limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second (may be fractional, e.g. 0.5).
    pub per_second: f64,
    /// Bucket size: how many requests may arrive at once after a quiet period.
    pub burst: u32,
    /// One bucket per client IP (true) or one for everybody (false).
    pub per_client: bool,
}

impl RateLimit {
    /// Parses `N/s`, `N/m` or a bare `N` (per second); the burst is `max(1, ceil(per second))`.
    pub fn parse(text: &str) -> Result<RateLimit, MarketError> {
        let bad = || {
            MarketError::InvalidConfig(format!(
                "rate limit {text:?}: expected N/s, N/m or N (per second)"
            ))
        };
        let t = text.trim();
        let (num, per) = match t.split_once('/') {
            Some((n, unit)) => (n.trim(), unit.trim()),
            None => (t, "s"),
        };
        let n: f64 = num.parse().map_err(|_| bad())?;
        let per_second = match per {
            "s" | "sec" | "second" => n,
            "m" | "min" | "minute" => n / 60.0,
            _ => return Err(bad()),
        };
        if !(per_second.is_finite() && per_second > 0.0) {
            return Err(bad());
        }
        Ok(RateLimit {
            per_second,
            burst: per_second.ceil().max(1.0) as u32,
            per_client: true,
        })
    }
}

/// Injected faults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// Fraction of `/api/` answers replaced by a fault, 0.0..=1.0.
    pub rate: f64,
    /// Seed of the fault schedule.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults { rate: 0.0, seed: 0 }
    }
}

/// How the HTTP server behaves (the universe does not depend on any of it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpBehavior {
    /// Delay before every `/api/` answer.
    pub latency: Duration,
    /// Optional rate limit of `/api/`.
    pub rate_limit: Option<RateLimit>,
    /// Injected faults.
    pub faults: Faults,
}

/// Everything that defines a market.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketConfig {
    /// Universe seed: same seed, same homes.
    pub seed: u64,
    /// Path of a zipcode table CSV; `None` uses the table compiled into resi
    /// (`resi-zipdata`).
    pub zipcodes_path: Option<PathBuf>,
    /// Fewest homes in an active STANDARD zipcode.
    pub min_listings: u32,
    /// Most homes in an active STANDARD zipcode (at most [`MAX_HOMES_PER_ZIPCODE`]).
    pub max_listings: u32,
    /// The market's "today": listing and sale dates fall within the 90 days before it.
    pub now: NaiveDate,
    /// Origin used in `source_url` (e.g. `http://127.0.0.1:8787`); part of the universe.
    pub public_url: String,
    /// Server behaviour.
    pub http: HttpBehavior,
}

/// The default "today" of the universe: fixed, so a seed means the same homes on any day.
pub fn default_now() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 10, 1).unwrap_or_default()
}

/// Parses a "today" for [`MarketConfig::now`]: `YYYY-MM-DD`, or `today` (UTC).
pub fn parse_now(text: &str) -> Result<NaiveDate, MarketError> {
    if text == "today" {
        return Ok(chrono::Utc::now().date_naive());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| {
        MarketError::InvalidConfig(format!(
            "date {text:?}: expected YYYY-MM-DD or `today` ({e})"
        ))
    })
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            seed: 46,
            zipcodes_path: None,
            min_listings: 200,
            max_listings: MAX_LISTINGS_PER_ZIPCODE,
            now: default_now(),
            public_url: "http://127.0.0.1:8787".into(),
            http: HttpBehavior::default(),
        }
    }
}

impl MarketConfig {
    /// Checks the configuration, naming the first problem.
    pub fn validate(&self) -> Result<(), MarketError> {
        if self.min_listings > self.max_listings {
            return Err(MarketError::InvalidConfig(format!(
                "min_listings {} exceeds max_listings {}",
                self.min_listings, self.max_listings
            )));
        }
        if self.max_listings > MAX_HOMES_PER_ZIPCODE {
            return Err(MarketError::InvalidConfig(format!(
                "max_listings {} exceeds the cap of {MAX_HOMES_PER_ZIPCODE}",
                self.max_listings
            )));
        }
        let f = self.http.faults.rate;
        if !(0.0..=1.0).contains(&f) {
            return Err(MarketError::InvalidConfig(format!(
                "fault rate {f} is outside 0.0..=1.0"
            )));
        }
        if let Some(r) = self.http.rate_limit
            && (!(r.per_second.is_finite() && r.per_second > 0.0) || r.burst == 0)
        {
            return Err(MarketError::InvalidConfig(format!(
                "rate limit {} /s with burst {} must be positive",
                r.per_second, r.burst
            )));
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(MarketError::InvalidConfig(format!(
                "public url {:?} must start with http:// or https://",
                self.public_url
            )));
        }
        Ok(())
    }
}

/// The synthetic universe. Homes are generated on demand from the seed, never stored.
#[derive(Debug, Clone)]
pub struct Market {
    config: MarketConfig,
    zipcodes: ZipTable,
}

impl Market {
    /// Loads the zipcode table and checks the configuration.
    pub fn new(config: MarketConfig) -> Result<Market, MarketError> {
        config.validate()?;
        let zipcodes = match &config.zipcodes_path {
            Some(path) => ZipTable::load(path)?,
            None => ZipTable::embedded()?,
        };
        Ok(Market { config, zipcodes })
    }

    /// Builds a market over an already loaded zipcode table.
    pub fn with_table(config: MarketConfig, zipcodes: ZipTable) -> Result<Market, MarketError> {
        config.validate()?;
        Ok(Market { config, zipcodes })
    }

    /// The configuration.
    pub fn config(&self) -> &MarketConfig {
        &self.config
    }

    /// The zipcode table.
    pub fn zipcodes(&self) -> &ZipTable {
        &self.zipcodes
    }

    /// How many homes `zipcode` holds: 0 for unknown, PO BOX, UNIQUE, MILITARY and inactive
    /// zipcodes, else a seeded count in `min_listings..=max_listings`.
    pub fn count(&self, zipcode: &str) -> u32 {
        match self.zipcodes.get(zipcode) {
            Some(z) if z.holds_homes() => {
                let (lo, hi) = (self.config.min_listings, self.config.max_listings);
                universe::Draw::new(self.config.seed, "count", zipcode, 0)
                    .range(u64::from(lo), u64::from(hi)) as u32
            }
            _ => 0,
        }
    }

    /// Home `index` of `zipcode`, if it exists.
    pub fn listing(&self, zipcode: &str, index: u32) -> Option<Listing> {
        let zip = self.zipcodes.get(zipcode)?;
        (index < self.count(zipcode)).then(|| {
            universe::generate(
                self.config.seed,
                zip,
                index,
                self.config.now,
                &self.config.public_url,
            )
        })
    }

    /// Every home of `zipcode`, in search order (empty when it holds none).
    pub fn listings(&self, zipcode: &str) -> Vec<Listing> {
        self.page(zipcode, 0, self.count(zipcode))
    }

    /// Homes `start..start+len` of `zipcode` in search order (clipped to what exists).
    pub fn page(&self, zipcode: &str, start: u32, len: u32) -> Vec<Listing> {
        let Some(zip) = self.zipcodes.get(zipcode) else {
            return Vec::new();
        };
        let end = start.saturating_add(len).min(self.count(zipcode));
        (start..end)
            .map(|i| {
                universe::generate(
                    self.config.seed,
                    zip,
                    i,
                    self.config.now,
                    &self.config.public_url,
                )
            })
            .collect()
    }

    /// Looks a home up by zpid.
    pub fn get(&self, zpid: &str) -> Option<Listing> {
        let (zipcode, index) = universe::split_zpid(self.config.seed, zpid)?;
        self.listing(&zipcode, index)
    }
}
