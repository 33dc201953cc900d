//! The zipcode table (`us-zipcodes.csv`) and the expected listing counts joined to it.
//!
//! Expected counts come from an [`ExpectedCounts`] source: a market-data CSV
//! (`zipcode,expected_listings[,market_tier]`, [`CsvMarketData`]), a map ([`MapCounts`]) or any
//! closure ([`FnCounts`], e.g. the devnet's local market).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Why a zipcode table or market-data file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{path} line {line}: {reason}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// The USPS kind of a zipcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZipKind {
    /// Ordinary delivery area: holds homes.
    Standard,
    /// Post-office boxes only: no homes (honeypot material).
    PoBox,
    /// A single organisation: no homes (honeypot material).
    Unique,
    /// Military.
    Military,
}

/// Market tier of a zipcode, with its weight factor in the draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarketTier {
    /// Factor 1.5.
    Premium,
    /// Factor 1.0.
    Standard,
    /// Factor 0.8.
    Emerging,
}

impl MarketTier {
    /// The tier's weight factor.
    pub fn factor(self) -> f64 {
        match self {
            MarketTier::Premium => 1.5,
            MarketTier::Standard => 1.0,
            MarketTier::Emerging => 0.8,
        }
    }

    /// `PREMIUM`, `STANDARD` or `EMERGING`.
    pub fn as_str(self) -> &'static str {
        match self {
            MarketTier::Premium => "PREMIUM",
            MarketTier::Standard => "STANDARD",
            MarketTier::Emerging => "EMERGING",
        }
    }

    /// Parses the wire name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PREMIUM" => Some(Self::Premium),
            "STANDARD" => Some(Self::Standard),
            "EMERGING" => Some(Self::Emerging),
            _ => None,
        }
    }

    /// The tier of a zipcode without an explicit one, from its expected listings:
    /// 1,000 or more PREMIUM, 400 or more STANDARD, else EMERGING.
    pub fn from_expected(expected: u32) -> Self {
        match expected {
            1000.. => Self::Premium,
            400.. => Self::Standard,
            _ => Self::Emerging,
        }
    }
}

/// One row of the zipcode table.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipInfo {
    /// 5 digits.
    pub zipcode: String,
    /// USPS kind.
    pub kind: ZipKind,
    /// City.
    pub city: String,
    /// Two-letter state.
    pub state: String,
    /// County.
    pub county: String,
}

/// The zipcode table, in file order.
#[derive(Debug, Clone, Default)]
pub struct ZipTable {
    /// All active rows.
    pub rows: Vec<ZipInfo>,
}

impl ZipTable {
    /// Loads `zipcode,type,active,city,state,county,lat,lon,timezone` (header required); inactive
    /// rows are skipped.
    pub fn load(path: &Path) -> Result<Self, TableError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TableError::Read {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p)
    }

    /// The table compiled into resi (`resi-zipdata`).
    pub fn embedded() -> Result<Self, TableError> {
        Self::parse(&resi_zipdata::csv(), resi_zipdata::ORIGIN)
    }

    /// Parses the CSV text (`origin` names it in errors).
    pub fn parse(text: &str, origin: &str) -> Result<Self, TableError> {
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(',').collect();
            let err = |reason: String| TableError::Line {
                path: origin.to_owned(),
                line: i + 1,
                reason,
            };
            if f.len() < 6 {
                return Err(err(format!("expected 9 columns, found {}", f.len())));
            }
            if f[0].len() != 5 || !f[0].bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(format!("zipcode {:?} is not 5 digits", f[0])));
            }
            let kind = match f[1] {
                "STANDARD" => ZipKind::Standard,
                "PO BOX" => ZipKind::PoBox,
                "UNIQUE" => ZipKind::Unique,
                "MILITARY" => ZipKind::Military,
                other => return Err(err(format!("unknown zipcode type {other:?}"))),
            };
            if f[2] != "true" {
                continue;
            }
            rows.push(ZipInfo {
                zipcode: f[0].to_owned(),
                kind,
                city: f[3].to_owned(),
                state: f[4].to_owned(),
                county: f[5].to_owned(),
            });
        }
        Ok(Self { rows })
    }
}

/// The Census region of a state (`Northeast`, `Midwest`, `South`, `West`; `Territories` else).
pub fn region_of(state: &str) -> &'static str {
    match state {
        "CT" | "ME" | "MA" | "NH" | "RI" | "VT" | "NJ" | "NY" | "PA" => "Northeast",
        "IL" | "IN" | "MI" | "OH" | "WI" | "IA" | "KS" | "MN" | "MO" | "NE" | "ND" | "SD" => {
            "Midwest"
        }
        "DE" | "DC" | "FL" | "GA" | "MD" | "NC" | "SC" | "VA" | "WV" | "AL" | "KY" | "MS"
        | "TN" | "AR" | "LA" | "OK" | "TX" => "South",
        "AZ" | "CO" | "ID" | "MT" | "NV" | "NM" | "UT" | "WY" | "AK" | "CA" | "HI" | "OR"
        | "WA" => "West",
        _ => "Territories",
    }
}

/// Where expected listing counts come from.
pub trait ExpectedCounts: Send + Sync {
    /// Expected listings of `zipcode`, or `None` if unknown (then it is never assigned).
    fn expected(&self, zipcode: &str) -> Option<u32>;

    /// The market tier, if the source knows it (else derived from the count).
    fn tier(&self, _zipcode: &str) -> Option<MarketTier> {
        None
    }
}

/// Counts and tiers from a market-data CSV: `zipcode,expected_listings[,market_tier]`
/// (a header line starting with `zipcode` is skipped).
#[derive(Debug, Clone, Default)]
pub struct CsvMarketData {
    rows: HashMap<String, (u32, Option<MarketTier>)>,
}

impl CsvMarketData {
    /// Loads the file.
    pub fn load(path: &Path) -> Result<Self, TableError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TableError::Read {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p)
    }

    /// Parses the CSV text (`origin` names it in errors).
    pub fn parse(text: &str, origin: &str) -> Result<Self, TableError> {
        let mut rows = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || (i == 0 && line.starts_with("zipcode")) {
                continue;
            }
            let err = |reason: String| TableError::Line {
                path: origin.to_owned(),
                line: i + 1,
                reason,
            };
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() < 2 {
                return Err(err(
                    "expected zipcode,expected_listings[,market_tier]".into()
                ));
            }
            let n: u32 = f[1]
                .parse()
                .map_err(|_| err(format!("expected_listings {:?} is not a count", f[1])))?;
            let tier = match f.get(2) {
                Some(t) if !t.is_empty() => Some(
                    MarketTier::parse(t)
                        .ok_or_else(|| err(format!("unknown market tier {t:?}")))?,
                ),
                _ => None,
            };
            rows.insert(f[0].to_owned(), (n, tier));
        }
        Ok(Self { rows })
    }
}

impl ExpectedCounts for CsvMarketData {
    fn expected(&self, zipcode: &str) -> Option<u32> {
        self.rows.get(zipcode).map(|r| r.0)
    }
    fn tier(&self, zipcode: &str) -> Option<MarketTier> {
        self.rows.get(zipcode).and_then(|r| r.1)
    }
}

/// Counts from a map.
#[derive(Debug, Clone, Default)]
pub struct MapCounts(pub HashMap<String, u32>);

impl ExpectedCounts for MapCounts {
    fn expected(&self, zipcode: &str) -> Option<u32> {
        self.0.get(zipcode).copied()
    }
}

/// Counts from a closure, e.g. `FnCounts::new(move |z| Some(market.count(z)))`.
#[derive(Clone)]
pub struct FnCounts(Arc<CountFn>);

/// The closure type behind [`FnCounts`].
pub type CountFn = dyn Fn(&str) -> Option<u32> + Send + Sync;

impl FnCounts {
    /// Wraps `f`.
    pub fn new(f: impl Fn(&str) -> Option<u32> + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl std::fmt::Debug for FnCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnCounts(..)")
    }
}

impl ExpectedCounts for FnCounts {
    fn expected(&self, zipcode: &str) -> Option<u32> {
        (self.0)(zipcode)
    }
}
