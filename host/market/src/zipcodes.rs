//! The US zipcode table (by default the one compiled into resi, `resi-zipdata`): which zipcodes exist, their kind, and
//! where they are. Only active STANDARD zipcodes hold homes; PO BOX, UNIQUE and MILITARY
//! zipcodes (and decommissioned ones) hold none.

use crate::MarketError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The USPS kind of a zipcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ZipKind {
    /// A delivery area with addresses: the only kind holding homes.
    Standard,
    /// Post office boxes only.
    #[serde(rename = "PO BOX")]
    PoBox,
    /// A single organisation (a university, an agency).
    Unique,
    /// APO/FPO military addresses.
    Military,
}

impl ZipKind {
    fn parse(s: &str) -> Option<ZipKind> {
        match s {
            "STANDARD" => Some(ZipKind::Standard),
            "PO BOX" => Some(ZipKind::PoBox),
            "UNIQUE" => Some(ZipKind::Unique),
            "MILITARY" => Some(ZipKind::Military),
            _ => None,
        }
    }
}

/// One row of the zipcode table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Zipcode {
    /// Five digits.
    pub zipcode: String,
    /// USPS kind.
    #[serde(rename = "type")]
    pub kind: ZipKind,
    /// Whether USPS still delivers to it.
    pub active: bool,
    /// Primary city name.
    pub city: String,
    /// Two-letter state (or territory) code.
    pub state: String,
    /// County name.
    pub county: String,
    /// Latitude in millionths of a degree (integers keep the universe platform-independent).
    #[serde(skip)]
    pub lat_e6: i64,
    /// Longitude in millionths of a degree.
    #[serde(skip)]
    pub lon_e6: i64,
}

impl Zipcode {
    /// Whether homes can be listed here: an active STANDARD zipcode.
    pub fn holds_homes(&self) -> bool {
        self.kind == ZipKind::Standard && self.active
    }
}

/// The zipcode table, keyed by zipcode.
#[derive(Debug, Clone, Default)]
pub struct ZipTable {
    rows: BTreeMap<String, Zipcode>,
}

/// Parses a decimal degree string (e.g. `-75.1741`) into millionths without floats.
fn parse_e6(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty()
        || frac.len() > 6
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    let frac_val: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let scale = 10i64.pow(6 - frac.len() as u32);
    let v = int.checked_mul(1_000_000)?.checked_add(frac_val * scale)?;
    Some(if neg { -v } else { v })
}

pub use resi_rules::zipcode::is_zipcode;

impl ZipTable {
    /// Reads the table from a CSV file with the header
    /// `zipcode,type,active,city,state,county,lat,lon,timezone`.
    pub fn load(path: &Path) -> Result<ZipTable, MarketError> {
        let text = std::fs::read_to_string(path).map_err(|source| MarketError::ReadZipcodes {
            path: path.to_path_buf(),
            source,
        })?;
        ZipTable::parse(&text).map_err(|(line, reason)| MarketError::BadZipcodeRow {
            path: path.to_path_buf(),
            line,
            reason,
        })
    }

    /// The table compiled into resi (`resi-zipdata`).
    pub fn embedded() -> Result<ZipTable, MarketError> {
        ZipTable::parse(&resi_zipdata::csv()).map_err(|(line, reason)| MarketError::BadZipcodeRow {
            path: std::path::PathBuf::from(resi_zipdata::ORIGIN),
            line,
            reason,
        })
    }

    /// Parses CSV text; the error is (1-based line number, reason).
    pub fn parse(text: &str) -> Result<ZipTable, (usize, String)> {
        let mut rows = BTreeMap::new();
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, header))
                if header
                    .trim_end()
                    .starts_with("zipcode,type,active,city,state,county,lat,lon") => {}
            _ => {
                return Err((
                    1,
                    "expected the header zipcode,type,active,city,state,county,lat,lon,...".into(),
                ));
            }
        }
        for (i, line) in lines {
            let line_no = i + 1;
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 8 {
                return Err((
                    line_no,
                    format!("expected at least 8 fields, found {}", f.len()),
                ));
            }
            if !is_zipcode(f[0]) {
                return Err((line_no, format!("zipcode {:?} is not 5 digits", f[0])));
            }
            let kind = ZipKind::parse(f[1])
                .ok_or_else(|| (line_no, format!("unknown zipcode type {:?}", f[1])))?;
            let active = match f[2] {
                "true" => true,
                "false" => false,
                other => {
                    return Err((
                        line_no,
                        format!("active must be true or false, found {other:?}"),
                    ));
                }
            };
            let lat_e6 =
                parse_e6(f[6]).ok_or_else(|| (line_no, format!("bad latitude {:?}", f[6])))?;
            let lon_e6 =
                parse_e6(f[7]).ok_or_else(|| (line_no, format!("bad longitude {:?}", f[7])))?;
            let row = Zipcode {
                zipcode: f[0].to_string(),
                kind,
                active,
                city: f[3].to_string(),
                state: f[4].to_string(),
                county: f[5].to_string(),
                lat_e6,
                lon_e6,
            };
            rows.insert(row.zipcode.clone(), row);
        }
        Ok(ZipTable { rows })
    }

    /// Looks one zipcode up.
    pub fn get(&self, zipcode: &str) -> Option<&Zipcode> {
        self.rows.get(zipcode)
    }

    /// Every zipcode, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = &Zipcode> {
        self.rows.values()
    }

    /// Number of zipcodes in the table.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degrees_parse_without_floats() {
        assert_eq!(parse_e6("-75.1741"), Some(-75_174_100));
        assert_eq!(parse_e6("40"), Some(40_000_000));
        assert_eq!(parse_e6("0.000001"), Some(1));
        assert_eq!(parse_e6("1.2345678"), None);
        assert_eq!(parse_e6("abc"), None);
    }

    #[test]
    fn rows_parse() {
        let t = ZipTable::parse(
            "zipcode,type,active,city,state,county,lat,lon,timezone\n\
             00501,UNIQUE,true,Holtsville,NY,Suffolk County,40.8154,-73.0451,America/New_York\n\
             19103,STANDARD,true,Philadelphia,PA,Philadelphia County,39.9513,-75.1741,America/New_York\n",
        )
        .expect("parse");
        assert_eq!(t.len(), 2);
        assert!(t.get("19103").expect("row").holds_homes());
        assert!(!t.get("00501").expect("row").holds_homes());
        assert!(ZipTable::parse("nope\n").is_err());
    }
}
