//! Conversions between the scraper world's WIT listing and the core listing record.

use resi_core::listing::Listing;
use resi_sandbox::scraper::wit;

/// A listing emitted by a scraper as the core record (bathrooms back to a decimal).
pub fn to_core(l: wit::Listing) -> Listing {
    Listing {
        zpid: l.zpid,
        mls_id: l.mls_id,
        address: l.address,
        zipcode: l.zipcode,
        price: l.price,
        bedrooms: l.bedrooms,
        bathrooms: l.bathrooms_hundredths.map(|h| f64::from(h) / 100.0),
        sqft: l.sqft,
        listing_date: l.listing_date,
        property_type: l.property_type,
        listing_status: l.listing_status,
        days_on_market: l.days_on_market,
        source_url: l.source_url,
        scraped_timestamp: l.scraped_timestamp,
    }
}

/// The WIT reference a verifier needs to look a core listing up again.
pub fn to_ref(l: &Listing) -> wit::ListingRef {
    wit::ListingRef {
        zpid: l.zpid.clone(),
        mls_id: l.mls_id.clone(),
        zipcode: l.zipcode.clone(),
        address: l.address.clone(),
        source_url: l.source_url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bathrooms_round_trip_through_hundredths() {
        let w = wit::Listing {
            zpid: Some("1".into()),
            mls_id: None,
            address: "a".into(),
            zipcode: "19103".into(),
            price: Some(10),
            bedrooms: None,
            bathrooms_hundredths: Some(250),
            sqft: None,
            listing_date: String::new(),
            property_type: String::new(),
            listing_status: String::new(),
            days_on_market: None,
            source_url: String::new(),
            scraped_timestamp: String::new(),
        };
        let core = to_core(w);
        assert_eq!(core.bathrooms, Some(2.5));
        assert_eq!(core.bathrooms_hundredths(), Some(250));
    }
}
