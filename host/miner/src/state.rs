//! The miner's durable state in SQLite (WAL): epochs, the per-(epoch, zipcode) state machine
//! `assigned -> scraping -> scraped -> uploaded -> reported` (or `failed`), every emitted listing
//! (deduplicated by [`resi_submission::listing_key`]), the built submission files and which of
//! them were uploaded.
//!
//! Every write is one transaction, so a process killed at any instant restarts from a
//! consistent state: listings committed before the kill are kept, a zipcode that was
//! `scraping` is scraped again (re-emitted listings are ignored by key), files built once are
//! uploaded as built (manifest signatures are not recomputed), uploads recorded as done are not
//! repeated.

use resi_core::listing::Listing;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use thiserror::Error;

/// A zipcode's place in the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipState {
    /// Known from the assignment, not started.
    Assigned,
    /// A scrape started (and may have been interrupted).
    Scraping,
    /// Scraped; `listings.parquet` and `manifest.json` built and stored.
    Scraped,
    /// Both files uploaded (manifest last).
    Uploaded,
    /// Reported to the coordinator as completed.
    Reported,
    /// Gave up (scraper failed repeatedly or the deadline passed).
    Failed,
}

impl ZipState {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            ZipState::Assigned => "assigned",
            ZipState::Scraping => "scraping",
            ZipState::Scraped => "scraped",
            ZipState::Uploaded => "uploaded",
            ZipState::Reported => "reported",
            ZipState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StateError> {
        Ok(match s {
            "assigned" => ZipState::Assigned,
            "scraping" => ZipState::Scraping,
            "scraped" => ZipState::Scraped,
            "uploaded" => ZipState::Uploaded,
            "reported" => ZipState::Reported,
            "failed" => ZipState::Failed,
            other => {
                return Err(StateError::Corrupt(format!(
                    "unknown zipcode state {other:?}"
                )));
            }
        })
    }
}

/// Why a state operation failed.
#[derive(Debug, Error)]
pub enum StateError {
    /// SQLite failed.
    #[error("the miner state database failed")]
    Sqlite(#[from] rusqlite::Error),
    /// The database holds something this version does not understand.
    #[error("miner state database is inconsistent: {0}")]
    Corrupt(String),
}

/// One zipcode of an epoch as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipRow {
    /// Zipcode.
    pub zipcode: String,
    /// Expected listings from the assignment.
    pub expected: u32,
    /// State.
    pub state: ZipState,
    /// Scrape attempts so far.
    pub attempts: u32,
    /// First scrape start (RFC 3339).
    pub started_at: Option<String>,
    /// Scrape end (RFC 3339).
    pub finished_at: Option<String>,
    /// Valid listings in the built parquet file.
    pub listing_count: u64,
    /// Last error.
    pub error: Option<String>,
}

/// Counts of what a sink stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// New valid listings.
    pub inserted: u64,
    /// Listings already stored (re-emitted after a restart, or duplicates in the batch).
    pub duplicates: u64,
    /// Invalid listings (recorded with reasons, not submitted).
    pub invalid: u64,
}

/// The state database (one connection; open one per task).
pub struct StateDb {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS epochs (
  epoch_id TEXT PRIMARY KEY, nonce TEXT NOT NULL, deadline TEXT NOT NULL,
  assignment TEXT NOT NULL, started_reported INTEGER NOT NULL DEFAULT 0,
  final_status TEXT
);
CREATE TABLE IF NOT EXISTS zipcodes (
  epoch_id TEXT NOT NULL, zipcode TEXT NOT NULL, expected INTEGER NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  started_at TEXT, finished_at TEXT, listing_count INTEGER NOT NULL DEFAULT 0, error TEXT,
  PRIMARY KEY (epoch_id, zipcode)
);
CREATE TABLE IF NOT EXISTS listings (
  epoch_id TEXT NOT NULL, zipcode TEXT NOT NULL, ukey TEXT NOT NULL,
  listing TEXT NOT NULL, valid INTEGER NOT NULL, reasons TEXT NOT NULL,
  PRIMARY KEY (epoch_id, zipcode, ukey)
);
CREATE TABLE IF NOT EXISTS files (
  epoch_id TEXT NOT NULL, zipcode TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
  ord INTEGER NOT NULL, bytes BLOB NOT NULL, uploaded_at TEXT,
  PRIMARY KEY (epoch_id, zipcode, key)
);
";

/// A built file waiting for (or done with) upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Object key.
    pub key: String,
    /// File name for the multipart form.
    pub name: String,
    /// Contents.
    pub bytes: Vec<u8>,
    /// When the upload succeeded.
    pub uploaded_at: Option<String>,
}

impl StateDb {
    /// Opens (creating) the database at `path` in WAL mode.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// Records an epoch and its zipcodes (idempotent: known rows are kept as they are).
    pub fn add_epoch(
        &mut self,
        epoch_id: &str,
        nonce: &str,
        deadline: &str,
        assignment_json: &str,
        zipcodes: &[(String, u32)],
    ) -> Result<(), StateError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO epochs (epoch_id, nonce, deadline, assignment) VALUES (?1, ?2, ?3, ?4)",
            params![epoch_id, nonce, deadline, assignment_json],
        )?;
        for (zip, expected) in zipcodes {
            tx.execute(
                "INSERT OR IGNORE INTO zipcodes (epoch_id, zipcode, expected, state) VALUES (?1, ?2, ?3, 'assigned')",
                params![epoch_id, zip, expected],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// True once the epoch's final status (COMPLETED/FAILED) was reported.
    pub fn epoch_final_status(&self, epoch_id: &str) -> Result<Option<String>, StateError> {
        Ok(self
            .conn
            .query_row(
                "SELECT final_status FROM epochs WHERE epoch_id = ?1",
                params![epoch_id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    /// Whether the IN_PROGRESS report was sent.
    pub fn started_reported(&self, epoch_id: &str) -> Result<bool, StateError> {
        Ok(self
            .conn
            .query_row(
                "SELECT started_reported FROM epochs WHERE epoch_id = ?1",
                params![epoch_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0)
            != 0)
    }

    /// Marks the IN_PROGRESS report as sent.
    pub fn set_started_reported(&self, epoch_id: &str) -> Result<(), StateError> {
        self.conn.execute(
            "UPDATE epochs SET started_reported = 1 WHERE epoch_id = ?1",
            params![epoch_id],
        )?;
        Ok(())
    }

    /// Records the final report and moves uploaded zipcodes to `reported`.
    pub fn set_final_status(&mut self, epoch_id: &str, status: &str) -> Result<(), StateError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE epochs SET final_status = ?2 WHERE epoch_id = ?1",
            params![epoch_id, status],
        )?;
        tx.execute(
            "UPDATE zipcodes SET state = 'reported' WHERE epoch_id = ?1 AND state = 'uploaded'",
            params![epoch_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The epoch's zipcodes, in zipcode order.
    pub fn zipcodes(&self, epoch_id: &str) -> Result<Vec<ZipRow>, StateError> {
        let mut st = self.conn.prepare(
            "SELECT zipcode, expected, state, attempts, started_at, finished_at, listing_count, error
             FROM zipcodes WHERE epoch_id = ?1 ORDER BY zipcode",
        )?;
        let rows = st.query_map(params![epoch_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (zipcode, expected, state, attempts, started_at, finished_at, count, error) = row?;
            out.push(ZipRow {
                zipcode,
                expected,
                state: ZipState::parse(&state)?,
                attempts,
                started_at,
                finished_at,
                listing_count: u64::try_from(count).unwrap_or(0),
                error,
            });
        }
        Ok(out)
    }

    /// Moves a zipcode to `scraping`, counting the attempt and keeping the first start time.
    pub fn start_scrape(&self, epoch_id: &str, zipcode: &str, now: &str) -> Result<(), StateError> {
        self.conn.execute(
            "UPDATE zipcodes SET state = 'scraping', attempts = attempts + 1,
             started_at = COALESCE(started_at, ?3) WHERE epoch_id = ?1 AND zipcode = ?2",
            params![epoch_id, zipcode, now],
        )?;
        Ok(())
    }

    /// Records a scrape error (the zipcode stays `scraping`, or becomes `failed` when `give_up`).
    pub fn scrape_error(
        &self,
        epoch_id: &str,
        zipcode: &str,
        error: &str,
        give_up: bool,
    ) -> Result<(), StateError> {
        self.conn.execute(
            "UPDATE zipcodes SET error = ?3, state = CASE WHEN ?4 THEN 'failed' ELSE state END
             WHERE epoch_id = ?1 AND zipcode = ?2",
            params![epoch_id, zipcode, error, give_up],
        )?;
        Ok(())
    }

    /// Stores one emitted batch in one transaction: each listing with its unique key, validity
    /// and reasons; listings whose key is already stored are ignored.
    pub fn insert_batch(
        &mut self,
        epoch_id: &str,
        zipcode: &str,
        batch: &[Listing],
    ) -> Result<BatchOutcome, StateError> {
        let tx = self.conn.transaction()?;
        let mut out = BatchOutcome::default();
        {
            let mut st = tx.prepare_cached(
                "INSERT OR IGNORE INTO listings (epoch_id, zipcode, ukey, listing, valid, reasons)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for l in batch {
                let reasons: Vec<String> = l
                    .validate(zipcode)
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let json = serde_json::to_string(l)
                    .map_err(|e| StateError::Corrupt(format!("listing to JSON: {e}")))?;
                let reasons_json = serde_json::to_string(&reasons)
                    .map_err(|e| StateError::Corrupt(format!("reasons to JSON: {e}")))?;
                let n = st.execute(params![
                    epoch_id,
                    zipcode,
                    resi_submission::listing_key(l),
                    json,
                    reasons.is_empty(),
                    reasons_json
                ])?;
                if n == 0 {
                    out.duplicates += 1;
                } else if reasons.is_empty() {
                    out.inserted += 1;
                } else {
                    out.invalid += 1;
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// The valid listings of a zipcode, ordered by unique key (the parquet row order).
    pub fn valid_listings(
        &self,
        epoch_id: &str,
        zipcode: &str,
    ) -> Result<Vec<Listing>, StateError> {
        let mut st = self.conn.prepare(
            "SELECT listing FROM listings WHERE epoch_id = ?1 AND zipcode = ?2 AND valid = 1 ORDER BY ukey",
        )?;
        let rows = st.query_map(params![epoch_id, zipcode], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            let json = json?;
            out.push(
                serde_json::from_str(&json)
                    .map_err(|e| StateError::Corrupt(format!("stored listing: {e}")))?,
            );
        }
        Ok(out)
    }

    /// (valid, invalid) listing counts of a zipcode.
    pub fn listing_counts(&self, epoch_id: &str, zipcode: &str) -> Result<(u64, u64), StateError> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(SUM(valid), 0), COALESCE(SUM(1 - valid), 0) FROM listings WHERE epoch_id = ?1 AND zipcode = ?2",
            params![epoch_id, zipcode],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    /// Invalid listings with their reasons (for reports).
    pub fn invalid_reasons(
        &self,
        epoch_id: &str,
        zipcode: &str,
    ) -> Result<Vec<(String, Vec<String>)>, StateError> {
        let mut st = self.conn.prepare(
            "SELECT ukey, reasons FROM listings WHERE epoch_id = ?1 AND zipcode = ?2 AND valid = 0 ORDER BY ukey",
        )?;
        let rows = st.query_map(params![epoch_id, zipcode], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (k, reasons) = row?;
            out.push((k, serde_json::from_str(&reasons).unwrap_or_default()));
        }
        Ok(out)
    }

    /// Moves a zipcode to `scraped` with its built files (upload order = `files` order), in one
    /// transaction.
    pub fn finish_scrape(
        &mut self,
        epoch_id: &str,
        zipcode: &str,
        finished_at: &str,
        listing_count: u64,
        files: &[(String, String, Vec<u8>)],
    ) -> Result<(), StateError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM files WHERE epoch_id = ?1 AND zipcode = ?2",
            params![epoch_id, zipcode],
        )?;
        for (ord, (key, name, bytes)) in files.iter().enumerate() {
            tx.execute(
                "INSERT INTO files (epoch_id, zipcode, key, name, ord, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![epoch_id, zipcode, key, name, ord as i64, bytes],
            )?;
        }
        tx.execute(
            "UPDATE zipcodes SET state = 'scraped', finished_at = ?3, listing_count = ?4, error = NULL
             WHERE epoch_id = ?1 AND zipcode = ?2",
            params![epoch_id, zipcode, finished_at, listing_count as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The built files of a zipcode in upload order.
    pub fn files(&self, epoch_id: &str, zipcode: &str) -> Result<Vec<StoredFile>, StateError> {
        let mut st = self.conn.prepare(
            "SELECT key, name, bytes, uploaded_at FROM files WHERE epoch_id = ?1 AND zipcode = ?2 ORDER BY ord",
        )?;
        let rows = st.query_map(params![epoch_id, zipcode], |r| {
            Ok(StoredFile {
                key: r.get(0)?,
                name: r.get(1)?,
                bytes: r.get(2)?,
                uploaded_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records one uploaded file.
    pub fn mark_uploaded(
        &self,
        epoch_id: &str,
        zipcode: &str,
        key: &str,
        at: &str,
    ) -> Result<(), StateError> {
        self.conn.execute(
            "UPDATE files SET uploaded_at = ?4 WHERE epoch_id = ?1 AND zipcode = ?2 AND key = ?3",
            params![epoch_id, zipcode, key, at],
        )?;
        Ok(())
    }

    /// Moves a zipcode to `uploaded`.
    pub fn set_uploaded(&self, epoch_id: &str, zipcode: &str) -> Result<(), StateError> {
        self.conn.execute(
            "UPDATE zipcodes SET state = 'uploaded' WHERE epoch_id = ?1 AND zipcode = ?2",
            params![epoch_id, zipcode],
        )?;
        Ok(())
    }
}
