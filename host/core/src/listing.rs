//! The listing record of the SN46 protocol (`spec/protocol.md`, "Listing record") and the
//! miner-side validity check (the upstream scraper check), with one reason per failed rule.
//!
//! JSON uses the upstream snake_case field names. Deserialization is tolerant the way real
//! scrapers' output needs: ids and numbers may arrive as numbers or strings, prices as floats.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// One property listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Listing {
    /// Zillow property id.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub zpid: Option<String>,
    /// MLS number.
    #[serde(
        default,
        deserialize_with = "de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub mls_id: Option<String>,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// 5-digit zipcode.
    #[serde(default, deserialize_with = "de_string")]
    pub zipcode: String,
    /// Price in whole US dollars.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub price: Option<u64>,
    /// Bedrooms.
    #[serde(default, deserialize_with = "de_opt_u32")]
    pub bedrooms: Option<u32>,
    /// Bathrooms (2.5 = two full and one half bath).
    #[serde(default, deserialize_with = "de_opt_f64")]
    pub bathrooms: Option<f64>,
    /// Living area, square feet.
    #[serde(default, deserialize_with = "de_opt_u32")]
    pub sqft: Option<u32>,
    /// ISO 8601 listing date.
    #[serde(default)]
    pub listing_date: String,
    /// SINGLE_FAMILY, CONDO, ...
    #[serde(default)]
    pub property_type: String,
    /// FOR_SALE, SOLD, ...
    #[serde(default)]
    pub listing_status: String,
    /// Days on market.
    #[serde(default, deserialize_with = "de_opt_u32")]
    pub days_on_market: Option<u32>,
    /// Listing URL at the source.
    #[serde(default)]
    pub source_url: String,
    /// ISO 8601 time the listing was scraped.
    #[serde(default)]
    pub scraped_timestamp: String,
}

/// Lowest price the protocol accepts (USD).
pub const MIN_PRICE: u64 = 1_000;
/// Highest price the protocol accepts (USD).
pub const MAX_PRICE: u64 = 100_000_000;

/// Why a listing does not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", content = "detail", rename_all = "snake_case")]
pub enum Invalid {
    /// A required field is missing or empty.
    Missing(&'static str),
    /// Neither `zpid` nor `mls_id` is present.
    NoId,
    /// Price outside `1000..=100000000`.
    PriceOutOfRange(u64),
    /// Zipcode is not 5 digits.
    BadZipcode(String),
    /// Zipcode differs from the assigned one.
    WrongZipcode {
        /// What the listing says.
        found: String,
        /// What was assigned.
        assigned: String,
    },
    /// A date field is not ISO 8601.
    BadDate {
        /// Field name.
        field: &'static str,
        /// The value.
        value: String,
    },
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::Missing(field) => write!(f, "missing {field}"),
            Invalid::NoId => write!(f, "neither zpid nor mls_id"),
            Invalid::PriceOutOfRange(p) => {
                write!(f, "price {p} outside {MIN_PRICE}..={MAX_PRICE}")
            }
            Invalid::BadZipcode(z) => write!(f, "zipcode {z:?} is not 5 digits"),
            Invalid::WrongZipcode { found, assigned } => {
                write!(f, "zipcode {found} but {assigned} was assigned")
            }
            Invalid::BadDate { field, value } => write!(f, "{field} {value:?} is not ISO 8601"),
        }
    }
}

pub use resi_rules::zipcode::is_zipcode;

/// True when `s` is an ISO 8601 date (`2025-10-01`) or date-time (RFC 3339, or without offset).
pub fn is_iso_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
        || chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

impl Listing {
    /// Checks the listing against the protocol's rules; `assigned` is the zipcode it was
    /// scraped for. Returns every failed rule (empty = valid).
    pub fn validate(&self, assigned: &str) -> Vec<Invalid> {
        let mut out = Vec::new();
        let required: [(&'static str, &str); 7] = [
            ("address", &self.address),
            ("listing_date", &self.listing_date),
            ("property_type", &self.property_type),
            ("listing_status", &self.listing_status),
            ("source_url", &self.source_url),
            ("scraped_timestamp", &self.scraped_timestamp),
            ("zipcode", &self.zipcode),
        ];
        for (name, value) in required {
            if value.trim().is_empty() {
                out.push(Invalid::Missing(name));
            }
        }
        let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !has(&self.zpid) && !has(&self.mls_id) {
            out.push(Invalid::NoId);
        }
        match self.price {
            None => out.push(Invalid::Missing("price")),
            Some(p) if !(MIN_PRICE..=MAX_PRICE).contains(&p) => {
                out.push(Invalid::PriceOutOfRange(p))
            }
            Some(_) => {}
        }
        if !self.zipcode.is_empty() {
            if !is_zipcode(&self.zipcode) {
                out.push(Invalid::BadZipcode(self.zipcode.clone()));
            } else if self.zipcode != assigned {
                out.push(Invalid::WrongZipcode {
                    found: self.zipcode.clone(),
                    assigned: assigned.to_string(),
                });
            }
        }
        for (field, value) in [
            ("listing_date", &self.listing_date),
            ("scraped_timestamp", &self.scraped_timestamp),
        ] {
            if !value.is_empty() && !is_iso_date(value) {
                out.push(Invalid::BadDate {
                    field,
                    value: value.clone(),
                });
            }
        }
        out
    }

    /// Bathrooms in whole hundredths, the integer form policies see: `bathrooms × 100` rounded
    /// half away from zero; absent when that is negative, not finite or beyond `u32`. A
    /// consensus rule: validators feed the policy exactly this.
    pub fn bathrooms_hundredths(&self) -> Option<u32> {
        self.bathrooms.and_then(hundredths)
    }
}

/// Bathrooms as whole hundredths ([`Listing::bathrooms_hundredths`]): `b × 100` rounded half
/// away from zero; `None` when that is negative, not finite or beyond `u32`.
pub fn hundredths(b: f64) -> Option<u32> {
    let h = (b * 100.0).round();
    (h.is_finite() && h >= 0.0 && h <= f64::from(u32::MAX)).then_some(h as u32)
}

/// The normalized address of the uniqueness rule (`docs/listing.md`, G2): lower case, every
/// character that is neither a letter, a digit nor whitespace removed, whitespace runs collapsed
/// to one space, the ends trimmed. Letters and digits include non-ASCII ones. The rule is
/// `resi_rules::address`, the one the policy applies.
pub fn normalize_address(address: &str) -> String {
    resi_rules::address::normalize(address)
}

/// Keeps, in order, every listing that shares no identity with an earlier kept one: a non-empty
/// `zpid`, a non-empty `mls_id` or a non-empty normalized address (the identity of the
/// policy's uniqueness gate G2, `resi_rules::identity`). Returns how many were dropped. What
/// it keeps always passes G2 (a property test in the miner's tests).
pub fn retain_distinct(listings: &mut Vec<Listing>) -> usize {
    use resi_rules::identity::Identity;
    use std::collections::HashSet;
    let before = listings.len();
    let mut zpids: HashSet<String> = HashSet::with_capacity(before);
    let mut mls: HashSet<String> = HashSet::with_capacity(before);
    let mut addresses: HashSet<String> = HashSet::with_capacity(before);
    listings.retain(|l| {
        let id = Identity::of(l.zpid.as_deref(), l.mls_id.as_deref(), &l.address);
        let taken = id.zpid.is_some_and(|z| zpids.contains(z))
            || id.mls_id.is_some_and(|m| mls.contains(m))
            || id.address.as_ref().is_some_and(|a| addresses.contains(a));
        if taken {
            return false;
        }
        if let Some(z) = id.zpid {
            zpids.insert(z.to_owned());
        }
        if let Some(m) = id.mls_id {
            mls.insert(m.to_owned());
        }
        if let Some(a) = id.address {
            addresses.insert(a);
        }
        true
    });
    before - listings.len()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Loose {
    Str(String),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
}

fn loose_to_string(v: Loose) -> String {
    match v {
        Loose::Str(s) => s,
        Loose::U64(n) => n.to_string(),
        Loose::I64(n) => n.to_string(),
        Loose::F64(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Loose::F64(f) => f.to_string(),
        Loose::Bool(b) => b.to_string(),
    }
}

fn loose_to_f64(v: Loose) -> Option<f64> {
    match v {
        // Rust's float parser also reads "NaN" and "inf": a number JSON cannot hold, so it would
        // not survive re-serialisation (found with the upstream fuzz target's round trip).
        Loose::Str(s) => s
            .trim()
            .replace([',', '$'], "")
            .parse()
            .ok()
            .filter(|f: &f64| f.is_finite()),
        Loose::U64(n) => Some(n as f64),
        Loose::I64(n) => Some(n as f64),
        Loose::F64(f) if f.is_finite() => Some(f),
        _ => None,
    }
}

fn de_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<Loose>::deserialize(d)?
        .map(loose_to_string)
        .unwrap_or_default())
}

fn de_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Loose>::deserialize(d)?
        .map(loose_to_string)
        .filter(|s| !s.is_empty()))
}

fn de_opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<Loose>::deserialize(d)?.and_then(loose_to_f64))
}

fn de_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(de_opt_f64(d)?
        .filter(|f| *f >= 0.0 && *f < 1e19)
        .map(|f| f.round() as u64))
}

fn de_opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(de_opt_f64(d)?
        .filter(|f| *f >= 0.0 && *f <= f64::from(u32::MAX))
        .map(|f| f.round() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Listing {
        Listing {
            zpid: Some("123".into()),
            mls_id: None,
            address: "1 Main St".into(),
            zipcode: "19103".into(),
            price: Some(450_000),
            bedrooms: Some(3),
            bathrooms: Some(2.5),
            sqft: Some(1_800),
            listing_date: "2025-09-01".into(),
            property_type: "SINGLE_FAMILY".into(),
            listing_status: "FOR_SALE".into(),
            days_on_market: Some(30),
            source_url: "https://example.invalid/1".into(),
            scraped_timestamp: "2025-10-01T16:05:00Z".into(),
        }
    }

    #[test]
    fn valid_listing_has_no_reasons() {
        assert!(good().validate("19103").is_empty());
        assert_eq!(good().bathrooms_hundredths(), Some(250));
    }

    #[test]
    fn every_rule_reports_its_reason() {
        let mut l = good();
        l.zpid = None;
        l.price = Some(999);
        l.address = " ".into();
        l.listing_date = "yesterday".into();
        let reasons = l.validate("19103");
        assert!(reasons.contains(&Invalid::NoId));
        assert!(reasons.contains(&Invalid::PriceOutOfRange(999)));
        assert!(reasons.contains(&Invalid::Missing("address")));
        assert!(reasons.iter().any(|r| matches!(
            r,
            Invalid::BadDate {
                field: "listing_date",
                ..
            }
        )));
        let mut other = good();
        other.zipcode = "10001".into();
        assert!(matches!(
            other.validate("19103")[..],
            [Invalid::WrongZipcode { .. }]
        ));
        other.zipcode = "1910".into();
        assert!(matches!(
            other.validate("19103")[..],
            [Invalid::BadZipcode(_)]
        ));
    }

    #[test]
    fn tolerant_json_from_upstream_scrapers() {
        let json = r#"{"zpid": 2077412345, "address": "9 Elm", "zipcode": 19103,
            "price": "450,000", "bedrooms": 3.0, "bathrooms": "2.5", "sqft": null,
            "listing_date": "2025-09-01", "property_type": "CONDO", "listing_status": "SOLD",
            "source_url": "u", "scraped_timestamp": "2025-10-01T00:00:00", "extra": 1}"#;
        let l: Listing = serde_json::from_str(json).unwrap();
        assert_eq!(l.zpid.as_deref(), Some("2077412345"));
        assert_eq!(l.zipcode, "19103");
        assert_eq!(l.price, Some(450_000));
        assert_eq!(l.bedrooms, Some(3));
        assert_eq!(l.bathrooms, Some(2.5));
        assert_eq!(l.sqft, None);
        assert!(l.validate("19103").is_empty());
    }

    #[test]
    fn non_finite_number_strings_are_absent() {
        for v in ["NaN", "inf", "-Infinity", "1e400"] {
            let json = format!(r#"{{"bathrooms": "{v}", "price": "{v}", "sqft": "{v}"}}"#);
            let l: Listing = serde_json::from_str(&json).unwrap();
            assert_eq!((l.bathrooms, l.price, l.sqft), (None, None, None), "{v}");
        }
    }

    /// Property: whatever mix of shared zpids, mls ids and address spellings a scraper emits,
    /// what `retain_distinct` keeps passes the released policy's own G2, and every listing it
    /// drops shares an identity with one it kept (it drops no more than it must).
    #[test]
    fn retained_listings_always_pass_the_policys_g2() {
        use zipcode_competitive_core as policy;
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let spellings = [
            "12 Main St",
            "12  main st.",
            " 12 MAIN ST ",
            "12 Main St #",
            "Ünit 5 Straße",
        ];
        for _case in 0..2_000 {
            let n = 1 + next(24) as usize;
            let mut listings: Vec<Listing> = (0..n)
                .map(|_| {
                    let mut l = good();
                    l.zpid = match next(4) {
                        0 => None,
                        1 => Some(String::new()),
                        _ => Some(format!("{}", next(8))),
                    };
                    l.mls_id = match next(3) {
                        0 => None,
                        _ => Some(format!("M{}", next(8))),
                    };
                    l.address = match next(4) {
                        0 => String::new(),
                        1 => spellings[next(spellings.len() as u64) as usize].to_owned(),
                        _ => format!("{} Oak Ave", next(16)),
                    };
                    l
                })
                .collect();
            let all = listings.clone();
            let dropped = retain_distinct(&mut listings);
            assert_eq!(dropped + listings.len(), all.len());
            let to_policy = |l: &Listing| policy::Listing {
                zpid: l.zpid.clone(),
                mls_id: l.mls_id.clone(),
                address: l.address.clone(),
                zipcode: l.zipcode.clone(),
                ..Default::default()
            };
            let sub = |ls: &[Listing]| policy::Submission {
                listings: ls.iter().map(to_policy).collect(),
                ..Default::default()
            };
            assert!(policy::gates::g2(&sub(&listings)), "{listings:?}");
            for l in &all {
                if listings.contains(l) {
                    continue;
                }
                let mut with = listings.clone();
                with.push(l.clone());
                assert!(!policy::gates::g2(&sub(&with)), "dropped {l:?} needlessly");
            }
            for a in spellings {
                assert_eq!(normalize_address(a), policy::gates::normalize_address(a));
            }
        }
    }
}
