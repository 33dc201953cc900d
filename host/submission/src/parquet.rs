//! `listings.parquet`: one row per listing, one typed column per field of
//! [`resi_core::listing::Listing`], snappy-compressed, no nesting.
//!
//! Schema (the reader accepts exactly this; names, physical types and nullability must match):
//! ```text
//! message listing {
//!   OPTIONAL BYTE_ARRAY zpid (STRING);      OPTIONAL BYTE_ARRAY mls_id (STRING);
//!   REQUIRED BYTE_ARRAY address (STRING);   REQUIRED BYTE_ARRAY zipcode (STRING);
//!   OPTIONAL INT64 price (INTEGER(64,false));
//!   OPTIONAL INT32 bedrooms (INTEGER(32,false));  OPTIONAL DOUBLE bathrooms;
//!   OPTIONAL INT32 sqft (INTEGER(32,false));
//!   REQUIRED BYTE_ARRAY listing_date (STRING);    REQUIRED BYTE_ARRAY property_type (STRING);
//!   REQUIRED BYTE_ARRAY listing_status (STRING);
//!   OPTIONAL INT32 days_on_market (INTEGER(32,false));
//!   REQUIRED BYTE_ARRAY source_url (STRING);      REQUIRED BYTE_ARRAY scraped_timestamp (STRING);
//! }
//! ```
//! The writer is deterministic: the same rows in the same order give the same bytes (fixed
//! `created_by`, no timestamps). Files shorter than [`crate::MIN_OBJECT_BYTES`] get a
//! `resi.padding` key-value metadata entry of dots.

use crate::caps::{ReadCaps, ReadError};
use ::parquet::basic::{Compression, Type as PhysicalType};
use ::parquet::column::reader::ColumnReader;
use ::parquet::column::writer::ColumnWriter;
use ::parquet::data_type::ByteArray;
use ::parquet::errors::ParquetError;
use ::parquet::file::metadata::KeyValue;
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::reader::{FileReader, SerializedFileReader};
use ::parquet::file::writer::SerializedFileWriter;
use ::parquet::schema::types::Type;
use resi_core::listing::{Listing, hundredths};
use resi_rules::batch::{self, BatchWriter, ListingView};
use std::sync::Arc;
use thiserror::Error;

/// The parquet message type of `listings.parquet`.
pub const SCHEMA: &str = "message listing {
  OPTIONAL BYTE_ARRAY zpid (STRING);
  OPTIONAL BYTE_ARRAY mls_id (STRING);
  REQUIRED BYTE_ARRAY address (STRING);
  REQUIRED BYTE_ARRAY zipcode (STRING);
  OPTIONAL INT64 price (INTEGER(64,false));
  OPTIONAL INT32 bedrooms (INTEGER(32,false));
  OPTIONAL DOUBLE bathrooms;
  OPTIONAL INT32 sqft (INTEGER(32,false));
  REQUIRED BYTE_ARRAY listing_date (STRING);
  REQUIRED BYTE_ARRAY property_type (STRING);
  REQUIRED BYTE_ARRAY listing_status (STRING);
  OPTIONAL INT32 days_on_market (INTEGER(32,false));
  REQUIRED BYTE_ARRAY source_url (STRING);
  REQUIRED BYTE_ARRAY scraped_timestamp (STRING);
}";

/// `created_by` written into every file (fixed, so bytes do not depend on the parquet version
/// string).
pub const CREATED_BY: &str = "resi-submission listings v1";

/// Rows per row group.
const ROW_GROUP_ROWS: usize = 50_000;

/// (name, physical type, optional) of each column, in order.
const COLUMNS: [(&str, PhysicalType, bool); 14] = [
    ("zpid", PhysicalType::BYTE_ARRAY, true),
    ("mls_id", PhysicalType::BYTE_ARRAY, true),
    ("address", PhysicalType::BYTE_ARRAY, false),
    ("zipcode", PhysicalType::BYTE_ARRAY, false),
    ("price", PhysicalType::INT64, true),
    ("bedrooms", PhysicalType::INT32, true),
    ("bathrooms", PhysicalType::DOUBLE, true),
    ("sqft", PhysicalType::INT32, true),
    ("listing_date", PhysicalType::BYTE_ARRAY, false),
    ("property_type", PhysicalType::BYTE_ARRAY, false),
    ("listing_status", PhysicalType::BYTE_ARRAY, false),
    ("days_on_market", PhysicalType::INT32, true),
    ("source_url", PhysicalType::BYTE_ARRAY, false),
    ("scraped_timestamp", PhysicalType::BYTE_ARRAY, false),
];

/// Why writing `listings.parquet` failed (a bug or resource problem, never bad input).
#[derive(Debug, Error)]
pub enum WriteError {
    /// The parquet library refused the data.
    #[error("writing listings.parquet")]
    Parquet(#[from] ParquetError),
}

fn schema() -> Result<Arc<Type>, ParquetError> {
    Ok(Arc::new(parquet::schema::parser::parse_message_type(
        SCHEMA,
    )?))
}

/// Writes `listings` (in the given order) as `listings.parquet` bytes.
pub fn write_listings(listings: &[Listing]) -> Result<Vec<u8>, WriteError> {
    let first = write_with_padding(listings, 0)?;
    if first.len() >= crate::MIN_OBJECT_BYTES {
        return Ok(first);
    }
    Ok(write_with_padding(
        listings,
        crate::MIN_OBJECT_BYTES - first.len(),
    )?)
}

fn opt_str(v: &Option<String>) -> Option<ByteArray> {
    v.as_deref().map(|s| ByteArray::from(s.as_bytes().to_vec()))
}

fn req_str(s: &str) -> ByteArray {
    ByteArray::from(s.as_bytes().to_vec())
}

/// Splits optional values into (non-null values, definition levels).
fn split<T>(items: impl Iterator<Item = Option<T>>) -> (Vec<T>, Vec<i16>) {
    let mut values = Vec::new();
    let mut defs = Vec::new();
    for item in items {
        match item {
            Some(v) => {
                values.push(v);
                defs.push(1);
            }
            None => defs.push(0),
        }
    }
    (values, defs)
}

fn write_with_padding(listings: &[Listing], padding: usize) -> Result<Vec<u8>, ParquetError> {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(CREATED_BY.to_owned());
    if padding > 0 {
        props = props.set_key_value_metadata(Some(vec![KeyValue::new(
            "resi.padding".to_owned(),
            ".".repeat(padding),
        )]));
    }
    let mut writer = SerializedFileWriter::new(Vec::new(), schema()?, Arc::new(props.build()))?;
    for chunk in listings.chunks(ROW_GROUP_ROWS) {
        let mut rg = writer.next_row_group()?;
        let mut index = 0usize;
        while let Some(mut col) = rg.next_column()? {
            write_column(index, chunk, col.untyped())?;
            col.close()?;
            index += 1;
        }
        rg.close()?;
    }
    writer.into_inner()
}

fn write_column(
    index: usize,
    rows: &[Listing],
    col: &mut ColumnWriter<'_>,
) -> Result<(), ParquetError> {
    let strings = |f: fn(&Listing) -> &str| rows.iter().map(|l| req_str(f(l))).collect::<Vec<_>>();
    let mismatch = || ParquetError::General(format!("column {index} has an unexpected type"));
    match (index, col) {
        (0 | 1, ColumnWriter::ByteArrayColumnWriter(w)) => {
            let (v, d) = split(
                rows.iter()
                    .map(|l| opt_str(if index == 0 { &l.zpid } else { &l.mls_id })),
            );
            w.write_batch(&v, Some(&d), None)?;
        }
        (2 | 3 | 8 | 9 | 10 | 12 | 13, ColumnWriter::ByteArrayColumnWriter(w)) => {
            let f: fn(&Listing) -> &str = match index {
                2 => |l| &l.address,
                3 => |l| &l.zipcode,
                8 => |l| &l.listing_date,
                9 => |l| &l.property_type,
                10 => |l| &l.listing_status,
                12 => |l| &l.source_url,
                _ => |l| &l.scraped_timestamp,
            };
            w.write_batch(&strings(f), None, None)?;
        }
        (4, ColumnWriter::Int64ColumnWriter(w)) => {
            let (v, d) = split(rows.iter().map(|l| l.price.map(|p| p as i64)));
            w.write_batch(&v, Some(&d), None)?;
        }
        (5 | 7 | 11, ColumnWriter::Int32ColumnWriter(w)) => {
            let f: fn(&Listing) -> Option<u32> = match index {
                5 => |l| l.bedrooms,
                7 => |l| l.sqft,
                _ => |l| l.days_on_market,
            };
            let (v, d) = split(rows.iter().map(|l| f(l).map(|x| x as i32)));
            w.write_batch(&v, Some(&d), None)?;
        }
        (6, ColumnWriter::DoubleColumnWriter(w)) => {
            let (v, d) = split(rows.iter().map(|l| l.bathrooms));
            w.write_batch(&v, Some(&d), None)?;
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

fn map_parquet(e: ParquetError) -> ReadError {
    match e {
        ParquetError::EOF(m) => ReadError::Truncated(m),
        ParquetError::NeedMoreData(n) => ReadError::Truncated(format!("needs {n} more bytes")),
        ParquetError::NeedMoreDataRange(r) => ReadError::Truncated(format!("needs bytes {r:?}")),
        other => ReadError::Corrupt(other.to_string()),
    }
}

fn check_schema(reader: &SerializedFileReader<bytes::Bytes>) -> Result<(), ReadError> {
    let descr = reader.metadata().file_metadata().schema_descr();
    let fields = descr.root_schema().get_fields();
    if fields.len() != COLUMNS.len() || descr.num_columns() != COLUMNS.len() {
        return Err(ReadError::Schema(format!(
            "{} columns, expected {}",
            descr.num_columns(),
            COLUMNS.len()
        )));
    }
    for (i, (name, physical, optional)) in COLUMNS.iter().enumerate() {
        let col = descr.column(i);
        let path = col.path().parts();
        if path.len() != 1 || path[0] != *name {
            return Err(ReadError::Schema(format!(
                "column {i} is {:?}, expected {name}",
                path.join(".")
            )));
        }
        if col.physical_type() != *physical {
            return Err(ReadError::Schema(format!(
                "column {name} is {}, expected {physical}",
                col.physical_type()
            )));
        }
        let want_def = i16::from(*optional);
        if col.max_def_level() != want_def || col.max_rep_level() != 0 {
            return Err(ReadError::Schema(format!(
                "column {name} is {}, expected {}",
                if col.max_rep_level() != 0 {
                    "repeated"
                } else if col.max_def_level() == 1 {
                    "optional"
                } else {
                    "required"
                },
                if *optional { "optional" } else { "required" }
            )));
        }
    }
    Ok(())
}

/// Reads all (definition levels, values) of one column chunk of `rows` rows.
fn read_all<T: Default + Clone, F>(
    rows: usize,
    mut read: F,
) -> Result<(Vec<T>, Vec<i16>), ParquetError>
where
    F: FnMut(usize, &mut Vec<i16>, &mut Vec<T>) -> Result<(usize, usize, usize), ParquetError>,
{
    let mut values = Vec::with_capacity(rows);
    let mut defs = Vec::with_capacity(rows);
    let mut done = 0;
    while done < rows {
        let (records, _, _) = read(rows - done, &mut defs, &mut values)?;
        if records == 0 {
            break;
        }
        done += records;
    }
    Ok((values, defs))
}

/// Spreads a column's non-null values over `rows` rows using its definition levels.
fn spread<T>(
    column: &'static str,
    rows: usize,
    optional: bool,
    values: Vec<T>,
    defs: Vec<i16>,
) -> Result<Vec<Option<T>>, ReadError> {
    let bad = |detail: String| ReadError::Inconsistent { column, detail };
    if !optional {
        if values.len() != rows {
            return Err(bad(format!("{} values for {rows} rows", values.len())));
        }
        return Ok(values.into_iter().map(Some).collect());
    }
    if defs.len() != rows {
        return Err(bad(format!("{} levels for {rows} rows", defs.len())));
    }
    let present = defs.iter().filter(|d| **d == 1).count();
    if present != values.len() {
        return Err(bad(format!(
            "{} values for {present} non-null rows",
            values.len()
        )));
    }
    let mut it = values.into_iter();
    Ok(defs
        .into_iter()
        .map(|d| if d == 1 { it.next() } else { None })
        .collect())
}

/// Reads `listings.parquet` bytes from an untrusted source, enforcing `caps`.
///
/// Size is checked before parsing, the declared row count and uncompressed size before
/// decoding, string lengths and UTF-8 per value, and the decoded size (string bytes plus
/// [`crate::caps::ROW_COST`] per row, dictionary-encoded values counted once per row they fill)
/// against `caps.max_decoded_bytes` before each value is copied. Truncated files, other schemas
/// and inconsistent columns are typed errors.
///
/// The parquet crate is not hardened against every hostile file (fuzzing found inputs that
/// make its decoders panic), so decoding runs under `catch_unwind`: a panic refuses the file as
/// [`ReadError::Corrupt`] instead of taking the validator's thread (and the epoch) with it.
pub fn read_listings(bytes: &[u8], caps: &ReadCaps) -> Result<Vec<Listing>, ReadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_listings_unguarded(bytes, caps)
    }))
    .unwrap_or_else(|_| {
        Err(ReadError::Corrupt(
            "the parquet decoder failed on this file (it panicked)".into(),
        ))
    })
}

fn read_listings_unguarded(bytes: &[u8], caps: &ReadCaps) -> Result<Vec<Listing>, ReadError> {
    let mut out: Vec<Listing> = Vec::new();
    read_groups(bytes, caps, |base, rows, cells| {
        out.reserve(rows);
        for row in 0..rows {
            let at = base + row;
            let s = |c: usize| cells.string(c, row, at).map(|v| v.map(str::to_string));
            let req = |c: usize| s(c).map(Option::unwrap_or_default);
            out.push(Listing {
                zpid: s(0)?,
                mls_id: s(1)?,
                address: req(2)?,
                zipcode: req(3)?,
                price: cells.int64(4, row).map(|x| x as u64),
                bedrooms: cells.int32(5, row).map(|x| x as u32),
                bathrooms: cells.double(6, row),
                sqft: cells.int32(7, row).map(|x| x as u32),
                listing_date: req(8)?,
                property_type: req(9)?,
                listing_status: req(10)?,
                days_on_market: cells.int32(11, row).map(|x| x as u32),
                source_url: req(12)?,
                scraped_timestamp: req(13)?,
            });
        }
        Ok(())
    })?;
    Ok(out)
}

/// `listings.parquet` read straight into a listing batch (`resi_rules::batch`): what
/// [`read_listings`] reads, under the same caps and checks, without a record or a string
/// allocation per listing (bathrooms become hundredths by [`resi_core::listing::hundredths`],
/// the rule of the policy's records). The validator's in-memory form of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingBatch {
    /// The batch bytes.
    pub bytes: Vec<u8>,
    /// Listings in it (rows of the file).
    pub listings: u64,
    /// Their decoded size ([`crate::decoded_cost`] of the same listings as records).
    pub decoded: u64,
    /// Listings whose zipcode is not the one the file was read for.
    pub foreign: u64,
}

/// Reads `listings.parquet` bytes from an untrusted source into a [`ListingBatch`], enforcing
/// `caps` exactly as [`read_listings`] does; `zipcode` is the zipcode the file was submitted
/// for (listings of others are counted, [`ListingBatch::foreign`]).
pub fn read_batch(bytes: &[u8], caps: &ReadCaps, zipcode: &str) -> Result<ListingBatch, ReadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_batch_unguarded(bytes, caps, zipcode)
    }))
    .unwrap_or_else(|_| {
        Err(ReadError::Corrupt(
            "the parquet decoder failed on this file (it panicked)".into(),
        ))
    })
}

fn read_batch_unguarded(
    bytes: &[u8],
    caps: &ReadCaps,
    zipcode: &str,
) -> Result<ListingBatch, ReadError> {
    let mut w: Option<BatchWriter> = None;
    let mut foreign = 0u64;
    let decoded = read_groups(bytes, caps, |base, rows, cells| {
        let w = w.get_or_insert_with(|| BatchWriter::with_capacity(cells.size_hint()));
        for row in 0..rows {
            let at = base + row;
            let s = |c: usize| cells.string(c, row, at);
            let req = |c: usize| s(c).map(Option::unwrap_or_default);
            let listing_zipcode = req(3)?;
            foreign += u64::from(listing_zipcode != zipcode);
            w.push(&ListingView {
                zpid: s(0)?,
                mls_id: s(1)?,
                address: req(2)?,
                zipcode: listing_zipcode,
                price: cells.int64(4, row).map(|x| x as u64),
                bedrooms: cells.int32(5, row).map(|x| x as u32),
                bathrooms_hundredths: cells.double(6, row).and_then(hundredths),
                sqft: cells.int32(7, row).map(|x| x as u32),
                listing_date: req(8)?,
                property_type: req(9)?,
                listing_status: req(10)?,
                days_on_market: cells.int32(11, row).map(|x| x as u32),
                source_url: req(12)?,
                scraped_timestamp: req(13)?,
            });
        }
        Ok(())
    })?;
    let w = w.unwrap_or_default();
    Ok(ListingBatch {
        listings: w.listings(),
        bytes: w.finish(),
        decoded,
        foreign,
    })
}

/// One row group's columns, cell by cell (`None`: null), in [`COLUMNS`] order.
struct Cells {
    columns: Vec<Column>,
    /// String bytes of the group.
    string_bytes: usize,
    rows: usize,
}

enum Column {
    Str(Vec<Option<ByteArray>>),
    I64(Vec<Option<i64>>),
    I32(Vec<Option<i32>>),
    F64(Vec<Option<f64>>),
}

impl Cells {
    /// Column `c`'s string at `row` (`at`: the row's index in the file, for errors), checked
    /// to be UTF-8.
    fn string(&self, c: usize, row: usize, at: usize) -> Result<Option<&str>, ReadError> {
        let Some(Column::Str(v)) = self.columns.get(c) else {
            return Ok(None);
        };
        match v.get(row).and_then(Option::as_ref) {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b.data())
                .map(Some)
                .map_err(|_| ReadError::NotUtf8 {
                    row: at,
                    field: COLUMNS[c].0,
                }),
        }
    }

    fn int64(&self, c: usize, row: usize) -> Option<i64> {
        match self.columns.get(c) {
            Some(Column::I64(v)) => v.get(row).copied().flatten(),
            _ => None,
        }
    }

    fn int32(&self, c: usize, row: usize) -> Option<i32> {
        match self.columns.get(c) {
            Some(Column::I32(v)) => v.get(row).copied().flatten(),
            _ => None,
        }
    }

    fn double(&self, c: usize, row: usize) -> Option<f64> {
        match self.columns.get(c) {
            Some(Column::F64(v)) => v.get(row).copied().flatten(),
            _ => None,
        }
    }

    /// Bytes of this group as a listing batch.
    fn size_hint(&self) -> usize {
        self.string_bytes + self.rows * (batch::FIXED_BYTES + batch::LENGTH_BYTES)
    }
}

/// The checks both readers share: size and magic before parsing, schema, the declared row
/// count and uncompressed size before decoding, then each row group's columns, every string's
/// length and the decoded size ([`crate::caps::ROW_COST`] per row plus string bytes, a
/// dictionary value counted once per row it fills) against `caps` before the group is handed
/// to `group(first row, rows, cells)`. Returns the file's decoded size.
fn read_groups(
    bytes: &[u8],
    caps: &ReadCaps,
    mut group: impl FnMut(usize, usize, &Cells) -> Result<(), ReadError>,
) -> Result<u64, ReadError> {
    caps.check_size("listings.parquet", bytes.len() as u64)?;
    if bytes.len() < 12 || !bytes.starts_with(b"PAR1") {
        return Err(ReadError::Truncated("no PAR1 header".into()));
    }
    if !bytes.ends_with(b"PAR1") {
        return Err(ReadError::Truncated("no PAR1 footer".into()));
    }
    let reader =
        SerializedFileReader::new(bytes::Bytes::copy_from_slice(bytes)).map_err(map_parquet)?;
    check_schema(&reader)?;
    let meta = reader.metadata();
    let declared = meta.file_metadata().num_rows();
    let declared = u64::try_from(declared)
        .map_err(|_| ReadError::Corrupt(format!("negative row count {declared}")))?;
    caps.check_rows(declared)?;
    let mut group_rows = 0u64;
    let mut uncompressed = 0u64;
    for rg in meta.row_groups() {
        group_rows = group_rows.saturating_add(u64::try_from(rg.num_rows()).unwrap_or(u64::MAX));
        for c in rg.columns() {
            uncompressed = uncompressed
                .saturating_add(u64::try_from(c.uncompressed_size()).unwrap_or(u64::MAX));
        }
    }
    caps.check_rows(group_rows)?;
    if group_rows != declared {
        return Err(ReadError::Corrupt(format!(
            "row groups hold {group_rows} rows, footer says {declared}"
        )));
    }
    if uncompressed > caps.max_uncompressed_bytes {
        return Err(ReadError::TooMuchUncompressed {
            size: uncompressed,
            max: caps.max_uncompressed_bytes,
        });
    }
    let mut decoded = declared.saturating_mul(crate::caps::ROW_COST);
    caps.check_decoded(decoded)?;
    let mut base = 0usize;
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g).map_err(map_parquet)?;
        let rows = usize::try_from(rg.metadata().num_rows()).unwrap_or(0);
        let mut columns = Vec::with_capacity(COLUMNS.len());
        let mut string_bytes = 0usize;
        for (i, (name, _, optional)) in COLUMNS.iter().enumerate() {
            let reader = rg.get_column_reader(i).map_err(map_parquet)?;
            columns.push(match reader {
                ColumnReader::ByteArrayColumnReader(mut r) => {
                    let (v, d) = read_all::<ByteArray, _>(rows, |n, d, v| {
                        r.read_records(n, Some(d), None, v)
                    })
                    .map_err(map_parquet)?;
                    let cells = spread(name, rows, *optional, v, d)?;
                    for (row, cell) in cells.iter().enumerate() {
                        if let Some(b) = cell {
                            caps.check_field(base + row, name, b.len())?;
                            decoded = decoded.saturating_add(b.len() as u64);
                            caps.check_decoded(decoded)?;
                            string_bytes += b.len();
                        }
                    }
                    Column::Str(cells)
                }
                ColumnReader::Int64ColumnReader(mut r) => {
                    let (v, d) =
                        read_all::<i64, _>(rows, |n, d, v| r.read_records(n, Some(d), None, v))
                            .map_err(map_parquet)?;
                    Column::I64(spread(name, rows, *optional, v, d)?)
                }
                ColumnReader::Int32ColumnReader(mut r) => {
                    let (v, d) =
                        read_all::<i32, _>(rows, |n, d, v| r.read_records(n, Some(d), None, v))
                            .map_err(map_parquet)?;
                    Column::I32(spread(name, rows, *optional, v, d)?)
                }
                ColumnReader::DoubleColumnReader(mut r) => {
                    let (v, d) =
                        read_all::<f64, _>(rows, |n, d, v| r.read_records(n, Some(d), None, v))
                            .map_err(map_parquet)?;
                    Column::F64(spread(name, rows, *optional, v, d)?)
                }
                _ => {
                    return Err(ReadError::Schema(format!(
                        "column {name} has an unexpected type"
                    )));
                }
            });
        }
        group(
            base,
            rows,
            &Cells {
                columns,
                string_bytes,
                rows,
            },
        )?;
        base += rows;
    }
    Ok(decoded)
}

/// Unique key of a listing, used to deduplicate and order rows: `zpid:{zpid}` when a zpid is
/// present, else `mls:{mls_id}`, else `addr:{zipcode}:{normalized address}`
/// ([`resi_core::listing::normalize_address`]). Listings with distinct keys may still share an
/// identity; [`resi_core::listing::retain_distinct`] removes those before a submission is built.
pub fn listing_key(l: &Listing) -> String {
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(z) = nonempty(&l.zpid) {
        return format!("zpid:{z}");
    }
    if let Some(m) = nonempty(&l.mls_id) {
        return format!("mls:{m}");
    }
    let norm = resi_core::listing::normalize_address(&l.address);
    format!("addr:{}:{norm}", l.zipcode.trim())
}

/// Hostile files for tests and benchmarks (feature `hostile`): valid `listings.parquet` bytes
/// that are small on disk but expand when decoded.
#[cfg(feature = "hostile")]
pub mod hostile {
    use super::*;
    use ::parquet::file::properties::WriterProperties;

    /// A dictionary bomb: `rows` rows whose every string column holds the same `field_len`-byte
    /// value (one dictionary entry, run-length encoded indices), numeric columns from
    /// `template`. A few kilobytes on disk, `rows * 9 * field_len` bytes decoded.
    pub fn dictionary_bomb(template: &Listing, rows: usize, field_len: usize) -> Vec<u8> {
        let value = ByteArray::from(bytes::Bytes::from(vec![b'7'; field_len]));
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_dictionary_enabled(true)
            .set_created_by(CREATED_BY.to_owned())
            .build();
        let build = || -> Result<Vec<u8>, ParquetError> {
            let mut w = SerializedFileWriter::new(Vec::new(), schema()?, Arc::new(props))?;
            let mut rg = w.next_row_group()?;
            let mut index = 0usize;
            while let Some(mut col) = rg.next_column()? {
                match col.untyped() {
                    ColumnWriter::ByteArrayColumnWriter(c) => {
                        let values = vec![value.clone(); rows];
                        let defs = vec![1i16; rows];
                        let optional = COLUMNS[index].2;
                        c.write_batch(&values, optional.then_some(&defs[..]), None)?;
                    }
                    other => {
                        let one = [template.clone()];
                        let many: Vec<Listing> = one.iter().cycle().take(rows).cloned().collect();
                        write_column(index, &many, other)?;
                    }
                }
                col.close()?;
                index += 1;
            }
            rg.close()?;
            w.into_inner()
        };
        build().unwrap_or_default()
    }
}
