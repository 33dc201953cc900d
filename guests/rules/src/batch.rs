//! The listing batch of `resi:policy@1.1.0`: every listing of one zipcode's submissions in one
//! byte string, so that a zipcode crosses into a policy as a single copy. The host writes it
//! ([`BatchWriter`]); a policy reads it in place ([`BatchReader`], [`ListingView`] borrowing
//! from the bytes). One definition for both sides.
//!
//! Per listing, in order, all integers little-endian:
//! - one presence byte: bit 0 zpid, 1 mls_id, 2 price, 3 bedrooms, 4 bathrooms_hundredths,
//!   5 sqft, 6 days_on_market (bit 7 must be 0);
//! - price (u64), bedrooms, bathrooms_hundredths, sqft, days_on_market (u32 each), 0 when
//!   absent;
//! - zpid, mls_id, address, zipcode, listing_date, property_type, listing_status, source_url,
//!   scraped_timestamp: each a u32 byte length and that many bytes of UTF-8 (an absent zpid or
//!   mls_id has length 0).

use alloc::vec::Vec;
use core::fmt;

const ZPID: u8 = 1;
const MLS_ID: u8 = 1 << 1;
const PRICE: u8 = 1 << 2;
const BEDROOMS: u8 = 1 << 3;
const BATHROOMS: u8 = 1 << 4;
const SQFT: u8 = 1 << 5;
const DAYS_ON_MARKET: u8 = 1 << 6;

/// Bytes of a listing's fixed part (presence byte and integers).
pub const FIXED_BYTES: usize = 1 + 8 + 4 * 4;
/// Bytes of a listing's nine string lengths.
pub const LENGTH_BYTES: usize = 9 * 4;

/// One listing, borrowing its strings (from a batch, or from the host's own records when it
/// writes one). Field meanings are those of `resi:types/listing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListingView<'a> {
    /// Zillow property id.
    pub zpid: Option<&'a str>,
    /// MLS number.
    pub mls_id: Option<&'a str>,
    /// Street address as shown by the source.
    pub address: &'a str,
    /// Zipcode the listing claims.
    pub zipcode: &'a str,
    /// Price in whole US dollars.
    pub price: Option<u64>,
    /// Bedroom count.
    pub bedrooms: Option<u32>,
    /// Bathrooms in hundredths.
    pub bathrooms_hundredths: Option<u32>,
    /// Living area in square feet.
    pub sqft: Option<u32>,
    /// ISO 8601 date the listing was published.
    pub listing_date: &'a str,
    /// Property type.
    pub property_type: &'a str,
    /// Listing status.
    pub listing_status: &'a str,
    /// Days on market.
    pub days_on_market: Option<u32>,
    /// URL of the listing at the source.
    pub source_url: &'a str,
    /// ISO 8601 date-time the scraper read the listing.
    pub scraped_timestamp: &'a str,
}

impl ListingView<'_> {
    /// Bytes this listing takes in a batch.
    pub fn encoded_len(&self) -> usize {
        FIXED_BYTES
            + LENGTH_BYTES
            + self.zpid.map_or(0, str::len)
            + self.mls_id.map_or(0, str::len)
            + self.address.len()
            + self.zipcode.len()
            + self.listing_date.len()
            + self.property_type.len()
            + self.listing_status.len()
            + self.source_url.len()
            + self.scraped_timestamp.len()
    }
}

/// Why a batch could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// The bytes end inside the listing starting at `offset`.
    Truncated {
        /// Offset of the listing.
        offset: usize,
    },
    /// A string of the listing at `offset` is not UTF-8, or a string is longer than `u32`.
    NotUtf8 {
        /// Offset of the listing.
        offset: usize,
    },
    /// The presence byte of the listing at `offset` has bit 7 set.
    BadPresence {
        /// Offset of the listing.
        offset: usize,
    },
    /// Fewer or more listings than the submissions account for.
    Count {
        /// Listings the submissions account for.
        expected: u64,
        /// Listings found (at least), or `expected + 1` when bytes remain after them.
        found: u64,
    },
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Truncated { offset } => {
                write!(f, "listing batch ends inside the listing at byte {offset}")
            }
            BatchError::NotUtf8 { offset } => {
                write!(
                    f,
                    "listing batch: the listing at byte {offset} has a string that is not UTF-8"
                )
            }
            BatchError::BadPresence { offset } => {
                write!(
                    f,
                    "listing batch: the listing at byte {offset} has an unknown presence bit"
                )
            }
            BatchError::Count { expected, found } => write!(
                f,
                "listing batch holds {found} listings but the submissions account for {expected}"
            ),
        }
    }
}

/// Writes listings into a batch.
#[derive(Debug, Default, Clone)]
pub struct BatchWriter {
    buf: Vec<u8>,
    listings: u64,
}

impl BatchWriter {
    /// A writer with room for `bytes`.
    pub fn with_capacity(bytes: usize) -> Self {
        BatchWriter {
            buf: Vec::with_capacity(bytes),
            listings: 0,
        }
    }

    /// Appends one listing. Strings longer than `u32::MAX` bytes are cut to that length's
    /// worth (no listing of a read file comes near it: files are capped far below).
    pub fn push(&mut self, l: &ListingView<'_>) {
        let bit = |on: bool, b: u8| if on { b } else { 0 };
        let presence = bit(l.zpid.is_some(), ZPID)
            | bit(l.mls_id.is_some(), MLS_ID)
            | bit(l.price.is_some(), PRICE)
            | bit(l.bedrooms.is_some(), BEDROOMS)
            | bit(l.bathrooms_hundredths.is_some(), BATHROOMS)
            | bit(l.sqft.is_some(), SQFT)
            | bit(l.days_on_market.is_some(), DAYS_ON_MARKET);
        self.buf.reserve(l.encoded_len());
        self.buf.push(presence);
        self.buf
            .extend_from_slice(&l.price.unwrap_or(0).to_le_bytes());
        for v in [l.bedrooms, l.bathrooms_hundredths, l.sqft, l.days_on_market] {
            self.buf.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
        }
        for s in [
            l.zpid.unwrap_or(""),
            l.mls_id.unwrap_or(""),
            l.address,
            l.zipcode,
            l.listing_date,
            l.property_type,
            l.listing_status,
            l.source_url,
            l.scraped_timestamp,
        ] {
            let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
            self.buf.extend_from_slice(&len.to_le_bytes());
            // A cut at `u32::MAX` may split a char; the reader then refuses the batch.
            self.buf
                .extend_from_slice(s.as_bytes().get(..len as usize).unwrap_or(s.as_bytes()));
        }
        self.listings += 1;
    }

    /// Listings written so far.
    pub fn listings(&self) -> u64 {
        self.listings
    }

    /// The batch bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads a batch in place, one listing after another.
#[derive(Debug, Clone)]
pub struct BatchReader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

impl<'a> BatchReader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        BatchReader { bytes, offset: 0 }
    }

    /// Byte offset of the next listing.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// True when every byte has been read.
    pub fn is_done(&self) -> bool {
        self.offset >= self.bytes.len()
    }

    /// The listing starting at byte `offset` and the offset after it.
    pub fn read_at(bytes: &'a [u8], offset: usize) -> Result<(ListingView<'a>, usize), BatchError> {
        let truncated = BatchError::Truncated { offset };
        let presence = *bytes.get(offset).ok_or(truncated.clone())?;
        if presence & 0x80 != 0 {
            return Err(BatchError::BadPresence { offset });
        }
        let on = |b: u8| presence & b != 0;
        let mut at = offset + 1;
        let price = u64_at(bytes, at).ok_or(truncated.clone())?;
        at += 8;
        let mut ints = [0u32; 4];
        for v in &mut ints {
            *v = u32_at(bytes, at).ok_or(truncated.clone())?;
            at += 4;
        }
        let mut strs = [""; 9];
        for s in &mut strs {
            let len = u32_at(bytes, at).ok_or(truncated.clone())? as usize;
            at += 4;
            let raw = bytes
                .get(at..at.saturating_add(len))
                .ok_or(truncated.clone())?;
            *s = core::str::from_utf8(raw).map_err(|_| BatchError::NotUtf8 { offset })?;
            at += len;
        }
        let [
            zpid,
            mls_id,
            address,
            zipcode,
            listing_date,
            property_type,
            listing_status,
            source_url,
            scraped_timestamp,
        ] = strs;
        let view = ListingView {
            zpid: on(ZPID).then_some(zpid),
            mls_id: on(MLS_ID).then_some(mls_id),
            address,
            zipcode,
            price: on(PRICE).then_some(price),
            bedrooms: on(BEDROOMS).then_some(ints[0]),
            bathrooms_hundredths: on(BATHROOMS).then_some(ints[1]),
            sqft: on(SQFT).then_some(ints[2]),
            listing_date,
            property_type,
            listing_status,
            days_on_market: on(DAYS_ON_MARKET).then_some(ints[3]),
            source_url,
            scraped_timestamp,
        };
        Ok((view, at))
    }

    /// The next listing, `None` at the end.
    pub fn next_listing(&mut self) -> Option<Result<ListingView<'a>, BatchError>> {
        if self.is_done() {
            return None;
        }
        Some(Self::read_at(self.bytes, self.offset).map(|(view, next)| {
            self.offset = next;
            view
        }))
    }
}

/// Offsets of every listing of `bytes`, checking that each is whole (its fixed part and
/// string lengths within the bytes, presence bit 7 clear) and that there are exactly `expected`
/// of them. Strings are not checked for UTF-8 here: [`BatchReader::read_at`] does it when a
/// listing is read, so each listing is validated once, when it is used.
pub fn index(bytes: &[u8], expected: u64) -> Result<Vec<u32>, BatchError> {
    let mut offsets = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).min(1 << 24));
    let mut at = 0usize;
    let mut found = 0u64;
    while at < bytes.len() {
        if found == expected {
            return Err(BatchError::Count {
                expected,
                found: expected + 1,
            });
        }
        let offset = at;
        let truncated = BatchError::Truncated { offset };
        offsets.push(u32::try_from(offset).map_err(|_| truncated.clone())?);
        let presence = bytes[at];
        if presence & 0x80 != 0 {
            return Err(BatchError::BadPresence { offset });
        }
        at += FIXED_BYTES;
        for _ in 0..9 {
            let len = u32_at(bytes, at).ok_or(truncated.clone())? as usize;
            at = at.checked_add(4 + len).ok_or(truncated.clone())?;
        }
        if at > bytes.len() {
            return Err(truncated);
        }
        found += 1;
    }
    if found != expected {
        return Err(BatchError::Count { expected, found });
    }
    Ok(offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ListingView<'static> {
        ListingView {
            zpid: Some("123"),
            mls_id: Some(""),
            address: "1 Main St",
            zipcode: "19103",
            price: Some(250_000),
            bedrooms: Some(0),
            bathrooms_hundredths: None,
            sqft: Some(900),
            listing_date: "2025-09-30",
            property_type: "CONDO",
            listing_status: "FOR_SALE",
            days_on_market: None,
            source_url: "https://x.invalid/ü",
            scraped_timestamp: "2025-10-01T00:00:00Z",
        }
    }

    #[test]
    fn round_trips_and_indexes() {
        let a = sample();
        let b = ListingView {
            zpid: None,
            price: None,
            ..ListingView::default()
        };
        let mut w = BatchWriter::default();
        w.push(&a);
        w.push(&b);
        assert_eq!(w.listings(), 2);
        let bytes = w.finish();
        assert_eq!(bytes.len(), a.encoded_len() + b.encoded_len());
        let offsets = index(&bytes, 2).unwrap();
        assert_eq!(offsets, [0, a.encoded_len() as u32]);
        let (ra, next) = BatchReader::read_at(&bytes, 0).unwrap();
        assert_eq!(ra, a);
        assert_eq!(BatchReader::read_at(&bytes, next).unwrap().0, b);
        assert_eq!(
            index(&bytes, 3),
            Err(BatchError::Count {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            index(&bytes, 1),
            Err(BatchError::Count {
                expected: 1,
                found: 2
            })
        );
    }

    #[test]
    fn refuses_malformed_bytes() {
        let mut w = BatchWriter::default();
        w.push(&sample());
        let bytes = w.finish();
        for cut in 0..bytes.len() {
            assert_eq!(
                index(&bytes[..cut], 1).unwrap_err(),
                if cut == 0 {
                    BatchError::Count {
                        expected: 1,
                        found: 0,
                    }
                } else {
                    BatchError::Truncated { offset: 0 }
                },
                "cut at {cut}"
            );
        }
        let mut bad = bytes.clone();
        bad[0] |= 0x80;
        assert_eq!(index(&bad, 1), Err(BatchError::BadPresence { offset: 0 }));
        let mut bad = bytes.clone();
        let last = bad.len() - 2;
        bad[last] = 0xff;
        assert_eq!(index(&bad, 1), Ok(alloc::vec![0]));
        assert_eq!(
            BatchReader::read_at(&bad, 0),
            Err(BatchError::NotUtf8 { offset: 0 })
        );
        // A length far past the end.
        let mut bad = bytes;
        bad[FIXED_BYTES..FIXED_BYTES + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(index(&bad, 1), Err(BatchError::Truncated { offset: 0 }));
    }
}
