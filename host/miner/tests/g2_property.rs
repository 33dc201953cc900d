//! Property: every submission the miner builds passes the uniqueness gate G2. Random listing
//! sets full of shared zpids, MLS numbers and addresses that normalize alike go through what
//! the miner does before it uploads (`retain_distinct`, then the parquet file) and back
//! through what the validator reads; the listings that arrive pass G2 under the rule both
//! policies apply (`resi_rules::identity`, and the frozen copy in zipcode-competitive 1.0.0),
//! and nothing was dropped that did not share an identity with a listing kept before it.

use resi_core::listing::{Listing, retain_distinct};
use resi_rules::identity::{Identity, all_distinct};

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const ADDRESSES: &[&str] = &[
    "12 Main St",
    " 12 main st.",
    "12 MAIN   ST",
    "12-Main St",
    "Straße 5",
    "STRASSE 5",
    "straße\u{a0}5",
    "#",
    "",
    "7 Elm Ave, Apt 2",
    "7 elm ave apt 2",
    "İstanbul Cd 3",
];

fn random_listing(rng: &mut Rng) -> Listing {
    let pick = |rng: &mut Rng, n: u64| rng.below(n);
    let zpid = match pick(rng, 5) {
        0 => None,
        1 => Some(String::new()),
        _ => Some(format!("{}", pick(rng, 12))),
    };
    let mls_id = match pick(rng, 4) {
        0 | 1 => None,
        2 => Some(String::new()),
        _ => Some(format!("M{}", pick(rng, 6))),
    };
    let address = if pick(rng, 3) == 0 {
        ADDRESSES[pick(rng, ADDRESSES.len() as u64) as usize].to_string()
    } else {
        format!("{} Oak Rd", pick(rng, 40))
    };
    Listing {
        zpid,
        mls_id,
        address,
        zipcode: "19103".into(),
        price: Some(100_000 + pick(rng, 1_000)),
        bedrooms: Some(2),
        bathrooms: Some(1.5),
        sqft: Some(900),
        listing_date: "2025-09-30".into(),
        property_type: "CONDO".into(),
        listing_status: "FOR_SALE".into(),
        days_on_market: Some(3),
        source_url: "https://www.zillow.com/homedetails/x".into(),
        scraped_timestamp: "2025-10-01T16:00:00Z".into(),
    }
}

fn identity(l: &Listing) -> Identity<'_> {
    Identity::of(l.zpid.as_deref(), l.mls_id.as_deref(), &l.address)
}

fn shares(a: &Identity<'_>, b: &Identity<'_>) -> bool {
    (a.zpid.is_some() && a.zpid == b.zpid)
        || (a.mls_id.is_some() && a.mls_id == b.mls_id)
        || (a.address.is_some() && a.address == b.address)
}

#[test]
fn every_submission_the_miner_builds_passes_g2() {
    let mut rng = Rng(46);
    let mut dropped_total = 0usize;
    for case in 0..1500 {
        let n = rng.below(60) as usize;
        let input: Vec<Listing> = (0..n).map(|_| random_listing(&mut rng)).collect();
        let mut kept = input.clone();
        let dropped = retain_distinct(&mut kept);
        dropped_total += dropped;
        assert_eq!(kept.len() + dropped, input.len());

        // Kept in order; each dropped listing shares an identity with one kept before it.
        let mut k = 0;
        for l in &input {
            if kept.get(k) == Some(l) {
                k += 1;
            } else {
                let id = identity(l);
                assert!(
                    kept[..k].iter().any(|x| shares(&identity(x), &id)),
                    "case {case}: {l:?} dropped without a reason"
                );
            }
        }
        assert_eq!(k, kept.len(), "case {case}: kept listings out of order");

        // Through the file the miner uploads and back as the validator reads it.
        let parquet = resi_submission::write_listings(&kept).expect("writes");
        let read = resi_submission::read_listings(&parquet, &Default::default()).expect("reads");
        assert_eq!(
            read, kept,
            "case {case}: the parquet round trip changed listings"
        );
        assert!(
            all_distinct(read.iter().map(|l| (
                l.zpid.as_deref(),
                l.mls_id.as_deref(),
                l.address.as_str()
            ))),
            "case {case}: fails G2 (resi_rules)"
        );
        let sub = zipcode_competitive_core::Submission {
            listings: read
                .iter()
                .map(|l| zipcode_competitive_core::Listing {
                    zpid: l.zpid.clone(),
                    mls_id: l.mls_id.clone(),
                    address: l.address.clone(),
                    zipcode: l.zipcode.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        assert!(
            zipcode_competitive_core::gates::g2(&sub),
            "case {case}: fails G2 (zipcode-competitive 1.0.0)"
        );
        // And G2 does fail on the input whenever the miner had something to drop.
        if dropped > 0 {
            assert!(!all_distinct(input.iter().map(|l| (
                l.zpid.as_deref(),
                l.mls_id.as_deref(),
                l.address.as_str()
            ))));
        }
    }
    assert!(
        dropped_total > 1000,
        "the generator made few duplicates: {dropped_total}"
    );
}
