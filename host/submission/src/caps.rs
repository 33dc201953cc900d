//! Limits enforced by every reader of untrusted submission files, and the readers' error type.

use thiserror::Error;

/// Limits on untrusted input. Readers check sizes before parsing and counts before
/// materializing rows, so a hostile file costs at most these amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCaps {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: u64,
    /// Most rows (listings) accepted in one file.
    pub max_rows: u64,
    /// Longest string field accepted, in bytes.
    pub max_field_len: usize,
    /// Largest total uncompressed column data a parquet file may declare, in bytes.
    pub max_uncompressed_bytes: u64,
    /// Largest decoded size of one file's listings, in the units of [`decoded_cost`] (string
    /// bytes plus [`ROW_COST`] per row). Counted while decoding, before a value is copied, so
    /// an encoding that expands (dictionary pages, run lengths) cannot exceed it either.
    pub max_decoded_bytes: u64,
}

impl Default for ReadCaps {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 << 20,
            max_rows: 100_000,
            max_field_len: 4096,
            max_uncompressed_bytes: 128 << 20,
            max_decoded_bytes: 96 << 20,
        }
    }
}

/// Fixed cost of one decoded listing beyond its string bytes (the record and its numeric
/// fields, as held by the validator and lowered into the policy).
pub const ROW_COST: u64 = 160;

/// The decoded size of listings: their string bytes plus [`ROW_COST`] per listing. The one
/// measure every memory budget of ingestion counts in.
pub fn decoded_cost(listings: &[resi_core::listing::Listing]) -> u64 {
    listings.iter().map(listing_cost).sum()
}

/// [`decoded_cost`] of one listing.
pub fn listing_cost(l: &resi_core::listing::Listing) -> u64 {
    let opt = |s: &Option<String>| s.as_deref().map_or(0, str::len);
    let strings = opt(&l.zpid)
        + opt(&l.mls_id)
        + l.address.len()
        + l.zipcode.len()
        + l.listing_date.len()
        + l.property_type.len()
        + l.listing_status.len()
        + l.source_url.len()
        + l.scraped_timestamp.len();
    strings as u64 + ROW_COST
}

impl ReadCaps {
    /// Checks a file size against `max_file_bytes`.
    pub fn check_size(&self, what: &'static str, size: u64) -> Result<(), ReadError> {
        if size > self.max_file_bytes {
            return Err(ReadError::TooLarge {
                what,
                size,
                max: self.max_file_bytes,
            });
        }
        Ok(())
    }

    /// Checks a row count against `max_rows`.
    pub fn check_rows(&self, rows: u64) -> Result<(), ReadError> {
        if rows > self.max_rows {
            return Err(ReadError::TooManyRows {
                rows,
                max: self.max_rows,
            });
        }
        Ok(())
    }

    /// Checks a running decoded size against `max_decoded_bytes`.
    pub fn check_decoded(&self, decoded: u64) -> Result<(), ReadError> {
        if decoded > self.max_decoded_bytes {
            return Err(ReadError::TooMuchDecoded {
                max: self.max_decoded_bytes,
            });
        }
        Ok(())
    }

    /// Checks one string field's length against `max_field_len`.
    pub fn check_field(
        &self,
        row: usize,
        field: &'static str,
        len: usize,
    ) -> Result<(), ReadError> {
        if len > self.max_field_len {
            return Err(ReadError::FieldTooLong {
                row,
                field,
                len,
                max: self.max_field_len,
            });
        }
        Ok(())
    }
}

/// Why an untrusted submission file was rejected.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The file is larger than the cap.
    #[error("{what} is {size} bytes, more than the cap of {max}")]
    TooLarge {
        /// Which file.
        what: &'static str,
        /// Its size.
        size: u64,
        /// The cap.
        max: u64,
    },
    /// The file declares more rows than the cap.
    #[error("{rows} rows, more than the cap of {max}")]
    TooManyRows {
        /// Rows declared or found.
        rows: u64,
        /// The cap.
        max: u64,
    },
    /// A string field is longer than the cap.
    #[error("row {row}: field {field} is {len} bytes, more than the cap of {max}")]
    FieldTooLong {
        /// Row index (0-based).
        row: usize,
        /// Field name.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The parquet file declares more uncompressed data than the cap (a decompression bomb).
    #[error("parquet declares {size} uncompressed bytes, more than the cap of {max}")]
    TooMuchUncompressed {
        /// Declared uncompressed size.
        size: u64,
        /// The cap.
        max: u64,
    },
    /// Decoding the file would produce more than the cap (an expanding encoding such as a
    /// dictionary bomb, or simply too much data).
    #[error("decodes to more than the cap of {max} bytes (string data plus {ROW_COST} per row)")]
    TooMuchDecoded {
        /// The cap.
        max: u64,
    },
    /// The file ends early or its footer is missing.
    #[error("truncated parquet file: {0}")]
    Truncated(String),
    /// The parquet schema is not the listings schema.
    #[error("wrong parquet schema: {0}")]
    Schema(String),
    /// The parquet data cannot be decoded.
    #[error("corrupt parquet data: {0}")]
    Corrupt(String),
    /// A column's value count disagrees with the row count, or a required value is null.
    #[error("inconsistent parquet column {column}: {detail}")]
    Inconsistent {
        /// Column name.
        column: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A string column holds bytes that are not UTF-8.
    #[error("row {row}: field {field} is not UTF-8")]
    NotUtf8 {
        /// Row index.
        row: usize,
        /// Field name.
        field: &'static str,
    },
    /// The JSON file cannot be parsed into the expected shape.
    #[error("malformed {what}")]
    Json {
        /// Which file.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The declared listing count differs from the listings present.
    #[error("listing_count says {declared} but {actual} listings are present")]
    CountMismatch {
        /// Declared count.
        declared: u64,
        /// Actual count.
        actual: u64,
    },
}
