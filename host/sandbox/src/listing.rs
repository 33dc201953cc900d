//! Conversions between the listing types, in one place: the core record
//! ([`resi_core::listing::Listing`], JSON and parquet), the scraper world's WIT listing (what
//! scrapers emit and verifiers find) and the policy world's WIT listing (what policies score).
//!
//! The WIT records carry bathrooms as whole hundredths; the core record as a decimal. Going to
//! WIT uses [`Listing::bathrooms_hundredths`], the consensus rule every validator applies to
//! what it reads, so one submission gives every validator the same policy input.

use crate::{policy, scraper};
use resi_core::listing::Listing;

fn from_hundredths(h: Option<u32>) -> Option<f64> {
    h.map(|h| f64::from(h) / 100.0)
}

impl From<&Listing> for policy::wit::Listing {
    fn from(l: &Listing) -> Self {
        Self::from(l.clone())
    }
}

impl From<Listing> for policy::wit::Listing {
    /// The policy's record of a listing, moving its strings (`From<&Listing>` clones first).
    fn from(l: Listing) -> Self {
        let bathrooms_hundredths = l.bathrooms_hundredths();
        policy::wit::Listing {
            zpid: l.zpid,
            mls_id: l.mls_id,
            address: l.address,
            zipcode: l.zipcode,
            price: l.price,
            bedrooms: l.bedrooms,
            bathrooms_hundredths,
            sqft: l.sqft,
            listing_date: l.listing_date,
            property_type: l.property_type,
            listing_status: l.listing_status,
            days_on_market: l.days_on_market,
            source_url: l.source_url,
            scraped_timestamp: l.scraped_timestamp,
        }
    }
}

impl From<&policy::wit::Listing> for Listing {
    fn from(l: &policy::wit::Listing) -> Self {
        Listing {
            zpid: l.zpid.clone(),
            mls_id: l.mls_id.clone(),
            address: l.address.clone(),
            zipcode: l.zipcode.clone(),
            price: l.price,
            bedrooms: l.bedrooms,
            bathrooms: from_hundredths(l.bathrooms_hundredths),
            sqft: l.sqft,
            listing_date: l.listing_date.clone(),
            property_type: l.property_type.clone(),
            listing_status: l.listing_status.clone(),
            days_on_market: l.days_on_market,
            source_url: l.source_url.clone(),
            scraped_timestamp: l.scraped_timestamp.clone(),
        }
    }
}

impl From<scraper::wit::Listing> for Listing {
    fn from(l: scraper::wit::Listing) -> Self {
        Listing {
            zpid: l.zpid,
            mls_id: l.mls_id,
            address: l.address,
            zipcode: l.zipcode,
            price: l.price,
            bedrooms: l.bedrooms,
            bathrooms: from_hundredths(l.bathrooms_hundredths),
            sqft: l.sqft,
            listing_date: l.listing_date,
            property_type: l.property_type,
            listing_status: l.listing_status,
            days_on_market: l.days_on_market,
            source_url: l.source_url,
            scraped_timestamp: l.scraped_timestamp,
        }
    }
}

impl From<scraper::wit::Listing> for policy::wit::Listing {
    fn from(l: scraper::wit::Listing) -> Self {
        policy::wit::Listing {
            zpid: l.zpid,
            mls_id: l.mls_id,
            address: l.address,
            zipcode: l.zipcode,
            price: l.price,
            bedrooms: l.bedrooms,
            bathrooms_hundredths: l.bathrooms_hundredths,
            sqft: l.sqft,
            listing_date: l.listing_date,
            property_type: l.property_type,
            listing_status: l.listing_status,
            days_on_market: l.days_on_market,
            source_url: l.source_url,
            scraped_timestamp: l.scraped_timestamp,
        }
    }
}

impl From<policy::wit::ListingRef> for scraper::wit::ListingRef {
    fn from(t: policy::wit::ListingRef) -> Self {
        scraper::wit::ListingRef {
            zpid: t.zpid,
            mls_id: t.mls_id,
            zipcode: t.zipcode,
            address: t.address,
            source_url: t.source_url,
        }
    }
}

impl From<&Listing> for scraper::wit::ListingRef {
    fn from(l: &Listing) -> Self {
        scraper::wit::ListingRef {
            zpid: l.zpid.clone(),
            mls_id: l.mls_id.clone(),
            zipcode: l.zipcode.clone(),
            address: l.address.clone(),
            source_url: l.source_url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(bathrooms: Option<f64>) -> Listing {
        Listing {
            zpid: Some("1".into()),
            address: "1 Main St".into(),
            zipcode: "19103".into(),
            price: Some(10),
            bathrooms,
            ..Listing::default()
        }
    }

    /// The consensus rule for bathrooms, pinned by value: half away from zero, and a value
    /// that does not fit stays absent only when it cannot be a count at all.
    #[test]
    fn bathrooms_to_hundredths_by_value() {
        let h = |b: f64| policy::wit::Listing::from(&core(Some(b))).bathrooms_hundredths;
        assert_eq!(h(2.5), Some(250));
        assert_eq!(
            h(2.125),
            Some(213),
            "2.125 is exact in binary: the tie goes up"
        );
        assert_eq!(h(0.0), Some(0));
        assert_eq!(
            h(5_000.0),
            Some(500_000),
            "absurd but present: the policy's range gate decides"
        );
        assert_eq!(h(-1.0), None);
        assert_eq!(h(1e12), None);
        assert_eq!(
            policy::wit::Listing::from(&core(None)).bathrooms_hundredths,
            None
        );
    }

    #[test]
    fn round_trips() {
        let l = core(Some(2.5));
        let w = policy::wit::Listing::from(&l);
        assert_eq!(Listing::from(&w), l);
        let r = scraper::wit::ListingRef::from(&l);
        assert_eq!(
            (r.zpid.as_deref(), r.zipcode.as_str()),
            (Some("1"), "19103")
        );
    }
}
