//! Plain valid listings for tests.

use resi_core::listing::Listing;

/// Listing `i` of `zipcode`: a valid, distinct for-sale home (zpid `<zipcode><i:05>`, address
/// `<i> Market Street, Springfield`). Tests that need other values update it
/// (`Listing { price: None, ..listing(z, i) }`).
pub fn listing(zipcode: &str, i: u32) -> Listing {
    Listing {
        zpid: Some(format!("{zipcode}{i:05}")),
        mls_id: None,
        address: format!("{i} Market Street, Springfield"),
        zipcode: zipcode.into(),
        price: Some(300_000 + u64::from(i) * 1000),
        bedrooms: Some(3),
        bathrooms: Some(2.0),
        sqft: Some(1500),
        listing_date: "2025-09-01".into(),
        property_type: "SINGLE_FAMILY".into(),
        listing_status: "FOR_SALE".into(),
        days_on_market: Some(10),
        source_url: format!("http://market.local/homes/{zipcode}{i:05}"),
        scraped_timestamp: "2025-10-01T17:00:00Z".into(),
    }
}

/// `n` listings of `zipcode` ([`listing`] `first..first + n`).
pub fn listings(zipcode: &str, first: u32, n: u32) -> Vec<Listing> {
    (first..first + n).map(|i| listing(zipcode, i)).collect()
}
