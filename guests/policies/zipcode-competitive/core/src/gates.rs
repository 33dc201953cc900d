//! Gates G0..G3 and the honeypot check: pure functions of one submission.

use crate::FixedSet;
use crate::params::Params;
use crate::types::{Assignment, Epoch, Listing, Submission};

/// Normalizes an address: lowercase, punctuation (anything not alphanumeric or whitespace)
/// removed, whitespace collapsed to single spaces, trimmed. Same rule as the guest SDK's
/// `text::normalize_address`.
pub fn normalize_address(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut pending_space = false;
    for ch in address.chars() {
        if ch.is_whitespace() {
            pending_space = !out.is_empty();
        } else if ch.is_alphanumeric() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            for lower in ch.to_lowercase() {
                out.push(lower);
            }
        }
    }
    out
}

/// `ceil(a * pct / 100)` without overflow.
pub fn ceil_pct(a: u64, pct: u64) -> u64 {
    let p = u128::from(a) * u128::from(pct);
    u64::try_from(p.div_ceil(100)).unwrap_or(u64::MAX)
}

/// `floor(a * pct / 100)` without overflow.
pub fn floor_pct(a: u64, pct: u64) -> u64 {
    u64::try_from(u128::from(a) * u128::from(pct) / 100).unwrap_or(u64::MAX)
}

/// `part * 100 >= pct * whole`: "part is at least pct% of whole" (true when whole is 0).
pub fn at_least_pct(part: u64, whole: u64, pct: u64) -> bool {
    u128::from(part) * 100 >= u128::from(pct) * u128::from(whole)
}

/// G0 integrity: manifest verified and submitted no later than `deadline + grace`.
pub fn g0(params: &Params, epoch: &Epoch, sub: &Submission) -> bool {
    sub.manifest_ok && sub.submitted_at_ms <= epoch.deadline_ms.saturating_add(params.grace_ms)
}

/// G1 quantity: `floor(e*min%) <= n <= ceil(e*max%)`.
pub fn g1(params: &Params, assignment: &Assignment, sub: &Submission) -> bool {
    let e = u64::from(assignment.expected);
    let n = sub.listings.len() as u64;
    floor_pct(e, params.quantity_min_pct) <= n && n <= ceil_pct(e, params.quantity_max_pct)
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// G2 uniqueness: no two listings share a (present, non-empty) zpid, mls_id or a non-empty
/// normalized address.
pub fn g2(sub: &Submission) -> bool {
    let n = sub.listings.len();
    let mut zpids = FixedSet::with_capacity_and_hasher(n, Default::default());
    let mut mls = FixedSet::with_capacity_and_hasher(n, Default::default());
    let mut addresses = FixedSet::with_capacity_and_hasher(n, Default::default());
    for l in &sub.listings {
        if let Some(z) = present(&l.zpid)
            && !zpids.insert(z)
        {
            return false;
        }
        if let Some(m) = present(&l.mls_id)
            && !mls.insert(m)
        {
            return false;
        }
        let a = normalize_address(&l.address);
        if !a.is_empty() && !addresses.insert(a) {
            return false;
        }
    }
    true
}

/// A listing is complete when `address, price, listing_date, property_type, listing_status,
/// source_url, scraped_timestamp, zipcode` are present and non-empty, plus `zpid` or `mls_id`.
pub fn is_complete(l: &Listing) -> bool {
    !l.address.is_empty()
        && l.price.is_some()
        && !l.listing_date.is_empty()
        && !l.property_type.is_empty()
        && !l.listing_status.is_empty()
        && !l.source_url.is_empty()
        && !l.scraped_timestamp.is_empty()
        && !l.zipcode.is_empty()
        && (present(&l.zpid).is_some() || present(&l.mls_id).is_some())
}

/// A listing is reasonable when its price is present and within `price_min..=price_max`,
/// bedrooms, bathrooms and sqft (when present) within their ranges, and `listing_date` and
/// `scraped_timestamp` parse as ISO 8601 dates or date-times ([`parse_iso8601`]).
pub fn is_reasonable(params: &Params, l: &Listing) -> bool {
    let price_ok = l
        .price
        .is_some_and(|p| (params.price_min..=params.price_max).contains(&p));
    let beds_ok = l
        .bedrooms
        .is_none_or(|b| u64::from(b) <= params.bedrooms_max);
    let baths_ok = l
        .bathrooms_hundredths
        .is_none_or(|b| u64::from(b) <= params.bathrooms_max_hundredths);
    let sqft_ok = l
        .sqft
        .is_none_or(|s| (params.sqft_min..=params.sqft_max).contains(&u64::from(s)));
    price_ok
        && beds_ok
        && baths_ok
        && sqft_ok
        && parse_iso8601(&l.listing_date)
        && parse_iso8601(&l.scraped_timestamp)
}

/// G3 quality: complete >= complete_min_pct, reasonable >= reasonable_min_pct, and every
/// listing's zipcode is the assigned one.
pub fn g3(params: &Params, assignment: &Assignment, sub: &Submission) -> bool {
    let n = sub.listings.len() as u64;
    let mut complete = 0u64;
    let mut reasonable = 0u64;
    for l in &sub.listings {
        if l.zipcode != assignment.zipcode {
            return false;
        }
        complete += u64::from(is_complete(l));
        reasonable += u64::from(is_reasonable(params, l));
    }
    at_least_pct(complete, n, params.complete_min_pct)
        && at_least_pct(reasonable, n, params.reasonable_min_pct)
}

/// Honeypot fabrication: `n > true_count + max(slack_min, ceil(true_count * slack_pct / 100))`.
pub fn honeypot_fabricated(params: &Params, assignment: &Assignment, sub: &Submission) -> bool {
    if !assignment.honeypot {
        return false;
    }
    let t = u64::from(assignment.true_count);
    let slack = params
        .honeypot_slack_min
        .max(ceil_pct(t, params.honeypot_slack_pct));
    sub.listings.len() as u64 > t.saturating_add(slack)
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

/// Strict ISO 8601 subset: `YYYY-MM-DD` (a real calendar date), optionally followed by
/// `THH:MM`, optional `:SS`, optional `.` and 1..=9 fraction digits, optional `Z` or
/// `+HH:MM` / `-HH:MM`. Hours 0..=23, minutes 0..=59, seconds 0..=60.
pub fn parse_iso8601(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10]))
    else {
        return false;
    };
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return false;
    }
    let rest = &b[10..];
    if rest.is_empty() {
        return true;
    }
    if rest[0] != b'T' || rest.len() < 6 || rest[3] != b':' {
        return false;
    }
    let (Some(hh), Some(mm)) = (digits(&rest[1..3]), digits(&rest[4..6])) else {
        return false;
    };
    if hh > 23 || mm > 59 {
        return false;
    }
    let mut rest = &rest[6..];
    if rest.first() == Some(&b':') {
        let Some(ss) = rest.get(1..3).and_then(digits) else {
            return false;
        };
        if ss > 60 {
            return false;
        }
        rest = &rest[3..];
        if rest.first() == Some(&b'.') {
            let frac = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if frac == 0 || frac > 9 {
                return false;
            }
            rest = &rest[1 + frac..];
        }
    }
    match rest {
        [] | [b'Z'] => true,
        [sign, h1, h2, b':', m1, m2] if *sign == b'+' || *sign == b'-' => {
            matches!((digits(&[*h1, *h2]), digits(&[*m1, *m2])), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for ok in [
            "2025-09-30",
            "2024-02-29",
            "2025-10-01T16:10:00Z",
            "2025-10-01T16:10Z",
            "2025-10-01T16:10",
            "2025-10-01T16:10:00.123+02:00",
            "2025-10-01T23:59:60-05:30",
        ] {
            assert!(parse_iso8601(ok), "{ok}");
        }
        for bad in [
            "",
            "2025-9-30",
            "2025-02-29",
            "2025-13-01",
            "2025-10-01T24:00Z",
            "2025-10-01 16:10:00",
            "2025-10-01T16:10:00.Z",
            "2025-10-01T16:10:00+0200",
            "yesterday",
        ] {
            assert!(!parse_iso8601(bad), "{bad}");
        }
    }

    #[test]
    fn percent_helpers() {
        // floor(20*85/100) = 17, ceil(20*115/100) = 23
        assert_eq!(floor_pct(20, 85), 17);
        assert_eq!(ceil_pct(20, 115), 23);
        assert_eq!(ceil_pct(21, 5), 2);
        assert!(at_least_pct(18, 20, 90));
        assert!(!at_least_pct(17, 20, 90));
    }

    #[test]
    fn normalizes() {
        assert_eq!(
            normalize_address("  12 Main St., Apt #4 "),
            "12 main st apt 4"
        );
    }
}
