//! The synthetic property universe: every home is derived from `sha256(seed || zipcode || index)`
//! alone, so a listing never depends on iteration order, thread scheduling or platform.
//!
//! All arithmetic that shapes a listing is integer arithmetic (coordinates in millionths of a
//! degree, prices in dollars, multipliers in per-mille), so the same seed gives byte-identical
//! listings everywhere.

use crate::zipcodes::Zipcode;
use chrono::NaiveDate;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

/// One home in the market, as the market serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// Property id (decimal digits), unique in the universe.
    pub zpid: String,
    /// MLS number, for the ~70% of homes listed through an MLS.
    pub mls_id: Option<String>,
    /// Full address: `"123 Oak St Unit 4, Philadelphia, PA 19103"`.
    pub address: String,
    /// Street line only: `"123 Oak St Unit 4"`.
    pub street: String,
    /// City from the zipcode table.
    pub city: String,
    /// State code from the zipcode table.
    pub state: String,
    /// 5-digit zipcode.
    pub zipcode: String,
    /// Latitude in millionths of a degree (served as decimal degrees).
    #[serde(rename = "latitude", serialize_with = "ser_e6")]
    pub lat_e6: i64,
    /// Longitude in millionths of a degree (served as decimal degrees).
    #[serde(rename = "longitude", serialize_with = "ser_e6")]
    pub lon_e6: i64,
    /// Asking price, or sale price once sold, in whole US dollars.
    pub price: u64,
    /// Bedrooms (none for land).
    pub bedrooms: Option<u32>,
    /// Bathrooms in hundredths (served as a decimal, e.g. 2.5).
    #[serde(rename = "bathrooms", serialize_with = "ser_hundredths")]
    pub bathrooms_hundredths: Option<u32>,
    /// Living area in square feet (none for land).
    pub sqft: Option<u32>,
    /// Lot size in square feet.
    pub lot_sqft: u32,
    /// Year built (none for land).
    pub year_built: Option<u32>,
    /// SINGLE_FAMILY, CONDO, TOWNHOUSE, MULTI_FAMILY, MANUFACTURED or LAND.
    pub property_type: String,
    /// FOR_SALE, PENDING, CONTINGENT, SOLD or RECENTLY_SOLD.
    pub listing_status: String,
    /// ISO date the home was listed (`YYYY-MM-DD`).
    pub listing_date: String,
    /// ISO date it sold, for SOLD and RECENTLY_SOLD homes.
    pub sold_date: Option<String>,
    /// Days from listing to sale (sold homes) or to the market's "now" (others).
    pub days_on_market: u32,
    /// The market's detail URL of this home: `{public_url}/api/homes/{zpid}`.
    pub source_url: String,
}

fn ser_e6<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    // Division by a power of ten is correctly rounded IEEE arithmetic: identical everywhere.
    s.serialize_f64(*v as f64 / 1_000_000.0)
}

fn ser_hundredths<S: Serializer>(v: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(h) => s.serialize_f64(f64::from(*h) / 100.0),
        None => s.serialize_none(),
    }
}

/// A deterministic stream of pseudo-random numbers seeded by a sha256 digest (SplitMix64).
pub(crate) struct Draw {
    state: u64,
}

impl Draw {
    /// Seeds from `sha256(seed_le || tag || zipcode || index_le)`.
    pub(crate) fn new(seed: u64, tag: &str, zipcode: &str, index: u32) -> Draw {
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        h.update(tag.as_bytes());
        h.update([0u8]);
        h.update(zipcode.as_bytes());
        h.update(index.to_le_bytes());
        let d = h.finalize();
        let mut state = 0u64;
        for chunk in d.chunks_exact(8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            state ^= u64::from_le_bytes(w);
        }
        Draw { state }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (tiny modulo bias is irrelevant here).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Picks from `(item, weight)` pairs.
    fn weighted<'a, T>(&mut self, items: &'a [(T, u64)]) -> &'a T {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.next_u64() % total;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}

const STREETS: &[&str] = &[
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Walnut",
    "Chestnut",
    "Spruce",
    "Willow",
    "Birch",
    "Hickory",
    "Magnolia",
    "Sycamore",
    "Aspen",
    "Juniper",
    "Laurel",
    "Poplar",
    "Cherry",
    "Dogwood",
    "Hawthorn",
    "Washington",
    "Lincoln",
    "Jefferson",
    "Madison",
    "Adams",
    "Franklin",
    "Jackson",
    "Monroe",
    "Highland",
    "Lake",
    "Hill",
    "River",
    "Park",
    "Meadow",
    "Forest",
    "Sunset",
    "Ridge",
    "Valley",
    "Spring",
    "Church",
    "Mill",
    "School",
    "Market",
    "Main",
    "Center",
    "Union",
    "Liberty",
    "Summit",
    "Prospect",
    "Grove",
    "Orchard",
    "Harbor",
    "Bay",
    "Canyon",
    "Mesa",
    "Prairie",
    "Heritage",
    "Colonial",
    "Fairview",
    "Woodland",
];
const SUFFIXES: &[&str] = &[
    "St", "Ave", "Rd", "Ln", "Dr", "Ct", "Blvd", "Way", "Pl", "Ter", "Cir",
];

/// Typical price per square foot of a state, in dollars (a coarse regional heuristic).
fn state_ppsf(state: &str) -> u64 {
    match state {
        "HI" => 620,
        "CA" => 460,
        "DC" => 520,
        "MA" => 410,
        "WA" => 360,
        "NY" => 330,
        "CO" => 300,
        "NJ" => 290,
        "RI" | "OR" | "UT" => 280,
        "NH" | "MT" | "ID" => 250,
        "AZ" | "FL" | "NV" | "MD" | "VT" | "ME" => 240,
        "CT" | "VA" | "DE" => 230,
        "NC" | "SC" | "TN" | "TX" | "GA" | "MN" | "WY" | "AK" => 185,
        "PA" | "IL" | "WI" | "NM" | "SD" => 170,
        "MI" | "MO" | "NE" | "ND" | "IN" | "OH" => 145,
        "KY" | "IA" | "KS" | "AL" | "LA" | "OK" => 130,
        "AR" | "MS" | "WV" => 110,
        "PR" | "VI" | "GU" | "AS" | "MP" => 105,
        _ => 160,
    }
}

/// Major metro centres `(lat_e6, lon_e6, boost per-mille at the centre)`.
const METROS: &[(i64, i64, u64)] = &[
    (40_712_800, -74_006_000, 1_100),  // New York
    (37_774_900, -122_419_400, 1_200), // San Francisco
    (37_338_200, -121_886_300, 1_100), // San Jose
    (34_052_200, -118_243_700, 800),   // Los Angeles
    (42_360_100, -71_058_900, 800),    // Boston
    (47_606_200, -122_332_100, 700),   // Seattle
    (38_907_200, -77_036_900, 700),    // Washington
    (41_878_100, -87_629_800, 500),    // Chicago
    (25_761_700, -80_191_800, 600),    // Miami
    (39_739_200, -104_990_300, 500),   // Denver
    (30_267_200, -97_743_100, 500),    // Austin
    (32_715_700, -117_161_100, 700),   // San Diego
    (39_952_600, -75_165_200, 400),    // Philadelphia
    (33_749_000, -84_388_000, 400),    // Atlanta
    (32_776_700, -96_797_000, 400),    // Dallas
    (29_760_400, -95_369_800, 350),    // Houston
    (33_448_400, -112_074_000, 400),   // Phoenix
    (45_505_100, -122_675_000, 450),   // Portland
    (44_977_800, -93_265_000, 350),    // Minneapolis
    (21_306_900, -157_858_300, 400),   // Honolulu
    (36_162_700, -86_781_600, 400),    // Nashville
    (35_227_100, -80_843_100, 350),    // Charlotte
    (40_760_800, -111_891_000, 400),   // Salt Lake City
    (36_169_900, -115_139_800, 350),   // Las Vegas
];

/// Per-mille price boost from proximity to a major metro (integer squared-distance falloff).
fn metro_boost(lat_e6: i64, lon_e6: i64) -> u64 {
    let mut best = 0u64;
    for &(mlat, mlon, boost) in METROS {
        // Distances in thousandths of a degree; ~0.9 km each at these latitudes.
        let dlat = (lat_e6 - mlat) / 1_000;
        let dlon = (lon_e6 - mlon) / 1_000;
        let d2 = (dlat * dlat + dlon * dlon) as u64;
        // Full boost inside ~0.15 deg, halved every further doubling of squared distance.
        let full = 150u64 * 150;
        let b = if d2 <= full { boost } else { boost * full / d2 };
        best = best.max(b);
    }
    best
}

/// The zpid of home `index` in `zipcode`: `zip * 10^6 + index * 100 + check`, where the two
/// check digits come from the seed so fabricated ids are almost never valid.
pub(crate) fn zpid_of(seed: u64, zipcode: &str, index: u32) -> u64 {
    let zip: u64 = zipcode.parse().unwrap_or(0);
    let check = Draw::new(seed, "zpid-check", zipcode, index).next_u64() % 100;
    zip * 1_000_000 + u64::from(index) * 100 + check
}

/// Splits a zpid into (zipcode, index) if it has the shape [`zpid_of`] produces.
pub(crate) fn split_zpid(seed: u64, zpid: &str) -> Option<(String, u32)> {
    if zpid.is_empty() || zpid.len() > 12 || !zpid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = zpid.parse().ok()?;
    let zipcode = format!("{:05}", n / 1_000_000);
    let index = u32::try_from((n % 1_000_000) / 100).ok()?;
    (zipcode.len() == 5 && zpid_of(seed, &zipcode, index) == n && zpid == n.to_string())
        .then_some((zipcode, index))
}

/// Rounds a dollar amount to a realistic asking-price step.
fn round_price(p: u64) -> u64 {
    let step = if p >= 1_000_000 {
        5_000
    } else if p >= 100_000 {
        1_000
    } else {
        100
    };
    (p + step / 2) / step * step
}

/// Generates home `index` of `zip`.
pub(crate) fn generate(
    seed: u64,
    zip: &Zipcode,
    index: u32,
    now: NaiveDate,
    public_url: &str,
) -> Listing {
    let z = zip.zipcode.as_str();
    let mut d = Draw::new(seed, "home", z, index);
    // Neighbourhood factor shared by the whole zipcode, 700..=1500 per-mille.
    let zip_factor = Draw::new(seed, "zip-factor", z, 0).range(700, 1500);

    let property_type = *d.weighted(&[
        ("SINGLE_FAMILY", 55),
        ("CONDO", 15),
        ("TOWNHOUSE", 12),
        ("MULTI_FAMILY", 7),
        ("MANUFACTURED", 4),
        ("LAND", 7),
    ]);
    let land = property_type == "LAND";
    let (bedrooms, bathrooms_hundredths, sqft, year_built, lot_sqft) = if land {
        (None, None, None, None, d.range(4_000, 200_000) as u32)
    } else {
        let beds = match property_type {
            "CONDO" => d.range(0, 3),
            "TOWNHOUSE" => d.range(2, 4),
            "MULTI_FAMILY" => d.range(3, 8),
            "MANUFACTURED" => d.range(2, 4),
            _ => d.range(2, 6),
        } as u32;
        let baths = (100 + 50 * d.range(0, u64::from(beds.max(1)) * 2 - 1).min(6)) as u32;
        let sqft = (350 + u64::from(beds) * 420 + d.range(0, 900)) as u32;
        let year = d.range(1900, 2025) as u32;
        let lot = match property_type {
            "CONDO" => 0,
            "TOWNHOUSE" => d.range(1_000, 3_000),
            _ => d.range(3_000, 30_000),
        } as u32;
        (Some(beds), Some(baths), Some(sqft), Some(year), lot)
    };

    let ppsf = state_ppsf(&zip.state) * zip_factor / 1000
        * (1000 + metro_boost(zip.lat_e6, zip.lon_e6))
        / 1000;
    let type_factor: u64 = match property_type {
        "CONDO" => 1050,
        "TOWNHOUSE" => 950,
        "MULTI_FAMILY" => 850,
        "MANUFACTURED" => 450,
        _ => 1000,
    };
    let noise = d.range(750, 1350);
    let raw = match sqft {
        Some(s) => u64::from(s) * ppsf * type_factor / 1000 * noise / 1000,
        None => u64::from(lot_sqft) * ppsf / 25 * noise / 1000,
    };
    let mut price = round_price(raw).clamp(5_000, 95_000_000);

    let listing_status = *d.weighted(&[
        ("FOR_SALE", 55),
        ("PENDING", 9),
        ("CONTINGENT", 5),
        ("RECENTLY_SOLD", 17),
        ("SOLD", 14),
    ]);
    let (listed_ago, sold_ago, days_on_market) = match listing_status {
        "RECENTLY_SOLD" | "SOLD" => {
            let sold_ago = if listing_status == "RECENTLY_SOLD" {
                d.range(0, 29)
            } else {
                d.range(30, 75)
            };
            let dom = d.range(5, 90 - sold_ago);
            (sold_ago + dom, Some(sold_ago), dom)
        }
        "PENDING" | "CONTINGENT" => {
            let ago = d.range(7, 90);
            (ago, None, ago)
        }
        _ => {
            let ago = d.range(0, 90);
            (ago, None, ago)
        }
    };
    if sold_ago.is_some() {
        // Sale price lands near the asking price.
        price = round_price(price * d.range(940, 1060) / 1000).clamp(5_000, 95_000_000);
    }
    let date = |ago: u64| {
        (now - chrono::Days::new(ago))
            .format("%Y-%m-%d")
            .to_string()
    };

    let number = 100 + index * 7 + d.range(0, 6) as u32;
    let street_name = *d.pick(STREETS);
    let suffix = *d.pick(SUFFIXES);
    let mut street = format!("{number} {street_name} {suffix}");
    if property_type == "CONDO" {
        street.push_str(&format!(" Unit {}", d.range(1, 40)));
    }
    let address = format!("{street}, {}, {} {}", zip.city, zip.state, z);
    // MLS numbers are unique within a zipcode, as a real MLS's are: the low four digits are the
    // home's index (below 10,000, as in its zpid), the high three are drawn.
    let mls_id = (d.range(0, 99) < 70).then(|| {
        let drawn = d.range(0, 9_999_999) % 1_000;
        format!(
            "{}{:07}",
            zip.state,
            drawn * 10_000 + u64::from(index % 10_000)
        )
    });
    let lat_e6 = zip.lat_e6 + d.range(0, 30_000) as i64 - 15_000;
    let lon_e6 = zip.lon_e6 + d.range(0, 30_000) as i64 - 15_000;
    let zpid = zpid_of(seed, z, index).to_string();
    let source_url = format!("{}/api/homes/{zpid}", public_url.trim_end_matches('/'));

    Listing {
        zpid,
        mls_id,
        address,
        street,
        city: zip.city.clone(),
        state: zip.state.clone(),
        zipcode: z.to_string(),
        lat_e6,
        lon_e6,
        price,
        bedrooms,
        bathrooms_hundredths,
        sqft,
        lot_sqft,
        year_built,
        property_type: property_type.to_string(),
        listing_status: listing_status.to_string(),
        listing_date: date(listed_ago),
        sold_date: sold_ago.map(date),
        days_on_market: days_on_market as u32,
        source_url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zpids_round_trip_and_reject_forgeries() {
        let z = zpid_of(7, "19103", 42);
        assert_eq!(
            split_zpid(7, &z.to_string()),
            Some(("19103".to_string(), 42))
        );
        assert_eq!(split_zpid(7, "00019103004200"), None);
        assert_eq!(split_zpid(7, "abc"), None);
        let low = zpid_of(7, "00601", 3);
        assert_eq!(
            split_zpid(7, &low.to_string()),
            Some(("00601".to_string(), 3))
        );
    }

    #[test]
    fn metro_boost_is_highest_downtown() {
        assert!(metro_boost(40_712_800, -74_006_000) > metro_boost(41_500_000, -74_006_000));
        assert_eq!(
            metro_boost(46_000_000, -100_000_000),
            metro_boost(46_000_000, -100_000_000)
        );
    }

    /// A zipcode's homes never share an MLS number or an address: the policy's uniqueness
    /// gate (G2) fails a whole submission on one shared identity.
    #[test]
    fn homes_of_a_zipcode_have_distinct_identities() {
        let table = crate::zipcodes::ZipTable::embedded().expect("embedded table");
        let now = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        for z in ["10530", "48157", "19103"] {
            let zip = table.get(z).expect("known zipcode");
            let mut mls = std::collections::HashSet::new();
            let mut addresses = std::collections::HashSet::new();
            for index in 0..3_000 {
                let home = generate(11, zip, index, now, "http://127.0.0.1:1");
                if let Some(m) = home.mls_id {
                    assert!(mls.insert(m.clone()), "{z}: mls {m} repeats at {index}");
                }
                let a = home.address.to_lowercase();
                assert!(addresses.insert(a.clone()), "{z}: {a} repeats at {index}");
            }
        }
    }
}
