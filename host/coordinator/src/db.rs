//! The coordinator's SQLite database (WAL, truncated after checkpoints): secret, epochs,
//! assignments, statuses (the latest per epoch and hotkey), replay and rate-limit state.
//! Everything a restart must not change lives here.

use crate::selection::Selected;
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS epochs(
    id TEXT PRIMARY KEY,
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    nonce TEXT NOT NULL,
    selection_seed INTEGER NOT NULL,
    validation_seed TEXT NOT NULL,
    target_listings INTEGER NOT NULL,
    tolerance_percent INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS assignments(
    epoch_id TEXT NOT NULL REFERENCES epochs(id),
    zipcode TEXT NOT NULL,
    expected_listings INTEGER NOT NULL,
    state TEXT NOT NULL,
    city TEXT NOT NULL,
    county TEXT NOT NULL,
    market_tier TEXT NOT NULL,
    region TEXT NOT NULL,
    is_honeypot INTEGER NOT NULL,
    PRIMARY KEY(epoch_id, zipcode)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS assignments_by_zipcode ON assignments(zipcode);
CREATE TABLE IF NOT EXISTS statuses(
    epoch_id TEXT NOT NULL,
    hotkey TEXT NOT NULL,
    status TEXT NOT NULL,
    s3_upload_complete INTEGER NOT NULL,
    listings_scraped INTEGER,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY(epoch_id, hotkey)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS replay(
    hotkey TEXT NOT NULL,
    signature TEXT NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY(hotkey, signature)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replay_by_ts ON replay(ts);
CREATE TABLE IF NOT EXISTS rate(
    subject TEXT NOT NULL,
    rule TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY(subject, rule, window_start)
) WITHOUT ROWID;
";

/// Size the WAL file is truncated to after a checkpoint.
const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// A database failure.
#[derive(Debug, thiserror::Error)]
#[error("coordinator database {path}")]
pub struct DbError {
    /// The database file.
    pub path: PathBuf,
    /// Underlying error.
    #[source]
    pub source: rusqlite::Error,
}

/// A stored epoch (without its zipcodes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochRow {
    /// Epoch id.
    pub id: String,
    /// Start, unix seconds.
    pub start_ts: i64,
    /// End, unix seconds.
    pub end_ts: i64,
    /// Nonce.
    pub nonce: String,
    /// Published selection seed.
    pub selection_seed: u64,
    /// Hex of the 32-byte validation seed.
    pub validation_seed: String,
    /// Target listings.
    pub target_listings: u32,
    /// Tolerance, percent.
    pub tolerance_percent: u32,
}

/// One rate-limit rule to check: subject, rule name, window length, maximum.
#[derive(Debug, Clone)]
pub struct RateCheck {
    /// Rule name (e.g. `current`).
    pub rule: &'static str,
    /// Window length in seconds.
    pub window_secs: i64,
    /// Requests allowed per window.
    pub max: u32,
}

/// Outcome of [`Db::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Accepted and recorded.
    Admitted,
    /// The (hotkey, signature) pair was seen before.
    Replayed,
    /// A rate limit is exhausted.
    Limited {
        /// Seconds until every exhausted rule has room again.
        retry_after: i64,
        /// The exhausted rule with the longest wait.
        rule: &'static str,
    },
}

/// The database handle.
#[derive(Debug)]
pub struct Db {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens or creates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let err = |source| DbError {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        // Truncate the WAL back to this size after checkpoints, so a burst of writes does not
        // leave a large file behind.
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Self {
            path: path.to_owned(),
            conn: Mutex::new(conn),
        })
    }

    fn err(&self, source: rusqlite::Error) -> DbError {
        DbError {
            path: self.path.clone(),
            source,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // SQLite rolls back unfinished transactions, so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value of `key` in `meta`, inserting `init()` first if absent.
    pub fn meta_or_insert(
        &self,
        key: &str,
        init: impl FnOnce() -> String,
    ) -> Result<String, DbError> {
        let conn = self.lock();
        if let Some(v) = conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?
        {
            return Ok(v);
        }
        let v = init();
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)",
            params![key, v],
        )
        .map_err(|e| self.err(e))?;
        Ok(v)
    }

    /// The epoch `id` and its zipcodes, if stored.
    pub fn epoch(&self, id: &str) -> Result<Option<(EpochRow, Vec<Selected>)>, DbError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT id, start_ts, end_ts, nonce, selection_seed, validation_seed,
                        target_listings, tolerance_percent FROM epochs WHERE id = ?1",
                [id],
                |r| {
                    Ok(EpochRow {
                        id: r.get(0)?,
                        start_ts: r.get(1)?,
                        end_ts: r.get(2)?,
                        nonce: r.get(3)?,
                        selection_seed: r.get::<_, i64>(4)? as u64,
                        validation_seed: r.get(5)?,
                        target_listings: r.get(6)?,
                        tolerance_percent: r.get(7)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some(row) = row else { return Ok(None) };
        let mut stmt = conn
            .prepare_cached(
                "SELECT zipcode, expected_listings, state, city, county, market_tier, region,
                        is_honeypot FROM assignments WHERE epoch_id = ?1 ORDER BY zipcode",
            )
            .map_err(|e| self.err(e))?;
        let zips = stmt
            .query_map([id], |r| {
                Ok(Selected {
                    zipcode: r.get(0)?,
                    expected_listings: r.get(1)?,
                    state: r.get(2)?,
                    city: r.get(3)?,
                    county: r.get(4)?,
                    market_tier: r.get(5)?,
                    region: r.get(6)?,
                    is_honeypot: r.get(7)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(Some((row, zips)))
    }

    /// Zipcodes assigned in epochs starting in `[from_ts, before_ts)` (the cooldown window).
    pub fn assigned_between(&self, from_ts: i64, before_ts: i64) -> Result<Vec<String>, DbError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT a.zipcode FROM assignments a JOIN epochs e ON e.id = a.epoch_id
                 WHERE e.start_ts >= ?1 AND e.start_ts < ?2",
            )
            .map_err(|e| self.err(e))?;
        let out = stmt
            .query_map(params![from_ts, before_ts], |r| r.get(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// Stores a new epoch with its zipcodes; false if it already existed (nothing changed).
    pub fn insert_epoch(
        &self,
        row: &EpochRow,
        zips: &[Selected],
        status: &str,
        now: i64,
    ) -> Result<bool, DbError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let n = tx
            .execute(
                "INSERT OR IGNORE INTO epochs(id, start_ts, end_ts, nonce, selection_seed,
                   validation_seed, target_listings, tolerance_percent, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    row.id,
                    row.start_ts,
                    row.end_ts,
                    row.nonce,
                    row.selection_seed as i64,
                    row.validation_seed,
                    row.target_listings,
                    row.tolerance_percent,
                    status,
                    now
                ],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Ok(false);
        }
        for z in zips {
            tx.execute(
                "INSERT INTO assignments(epoch_id, zipcode, expected_listings, state, city, county,
                   market_tier, region, is_honeypot) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    row.id,
                    z.zipcode,
                    z.expected_listings,
                    z.state,
                    z.city,
                    z.county,
                    z.market_tier,
                    z.region,
                    z.is_honeypot
                ],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(true)
    }

    /// Records the lifecycle status of every stored epoch, as computed by `status_of(start, end)`.
    pub fn update_statuses(
        &self,
        status_of: impl Fn(i64, i64) -> &'static str,
    ) -> Result<(), DbError> {
        let conn = self.lock();
        let rows: Vec<(String, i64, i64, String)> = conn
            .prepare_cached(
                "SELECT id, start_ts, end_ts, status FROM epochs WHERE status != 'ARCHIVED'",
            )
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect()
            })
            .map_err(|e| self.err(e))?;
        for (id, start, end, old) in rows {
            let new = status_of(start, end);
            if new != old {
                conn.execute(
                    "UPDATE epochs SET status = ?2 WHERE id = ?1",
                    params![id, new],
                )
                .map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    /// The most recent epochs (id, status) and their status-report counts, newest first.
    pub fn recent(&self, limit: u32) -> Result<Vec<(String, String, u32, u32)>, DbError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT e.id, e.status,
                        (SELECT COUNT(*) FROM statuses s WHERE s.epoch_id = e.id),
                        (SELECT COUNT(*) FROM statuses s WHERE s.epoch_id = e.id AND s.status = 'COMPLETED')
                 FROM epochs e ORDER BY e.start_ts DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let out = stmt
            .query_map([limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// How many miners reported each status for `epoch_id` (their latest report), by status.
    pub fn status_counts(&self, epoch_id: &str) -> Result<Vec<(String, u64)>, DbError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT status, COUNT(*) FROM statuses WHERE epoch_id = ?1 GROUP BY status",
            )
            .map_err(|e| self.err(e))?;
        let out = stmt
            .query_map([epoch_id], |r| {
                Ok((r.get(0)?, u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0)))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// Stores a miner's status report, replacing the previous one: one row per (epoch, hotkey),
    /// so reports cannot grow the database (the server caps the body's size).
    #[allow(clippy::too_many_arguments)]
    pub fn put_status(
        &self,
        epoch_id: &str,
        hotkey: &str,
        status: &str,
        upload_complete: bool,
        listings: Option<u64>,
        body: &str,
        now: i64,
    ) -> Result<(), DbError> {
        let conn = self.lock();
        conn.execute(
            "INSERT OR REPLACE INTO statuses(epoch_id, hotkey, status, s3_upload_complete,
               listings_scraped, body, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                epoch_id,
                hotkey,
                status,
                upload_complete,
                listings.map(|n| n as i64),
                body,
                now
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// In one transaction: refuses a replayed (hotkey, signature), checks every rate rule for
    /// `subject` at `now` and, if all pass, counts the request and records the signature.
    /// A refused request is not counted.
    pub fn admit(
        &self,
        replay: Option<(&str, &str, i64)>,
        subject: &str,
        rules: &[RateCheck],
        now: i64,
    ) -> Result<Admission, DbError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        if let Some((hotkey, sig, _)) = replay {
            let seen: bool = tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM replay WHERE hotkey = ?1 AND signature = ?2)",
                )
                .and_then(|mut s| s.query_row(params![hotkey, sig], |r| r.get(0)))
                .map_err(|e| self.err(e))?;
            if seen {
                return Ok(Admission::Replayed);
            }
        }
        let mut retry_after = 0i64;
        let mut binding = "";
        for rule in rules {
            let window = rule.window_secs.max(1);
            let start = now - now.rem_euclid(window);
            let count: u32 = tx
                .prepare_cached(
                    "SELECT count FROM rate WHERE subject = ?1 AND rule = ?2 AND window_start = ?3",
                )
                .and_then(|mut s| {
                    s.query_row(params![subject, rule.rule, start], |r| r.get(0))
                        .optional()
                })
                .map_err(|e| self.err(e))?
                .unwrap_or(0);
            if count >= rule.max && start + window - now > retry_after {
                retry_after = start + window - now;
                binding = rule.rule;
            }
        }
        if retry_after > 0 {
            // The signature stays unused: the client may retry with a fresh one later anyway.
            return Ok(Admission::Limited {
                retry_after,
                rule: binding,
            });
        }
        for rule in rules {
            let window = rule.window_secs.max(1);
            let start = now - now.rem_euclid(window);
            tx.prepare_cached(
                "INSERT INTO rate(subject, rule, window_start, count) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT(subject, rule, window_start) DO UPDATE SET count = count + 1",
            )
            .and_then(|mut s| s.execute(params![subject, rule.rule, start]))
            .map_err(|e| self.err(e))?;
        }
        if let Some((hotkey, sig, ts)) = replay {
            tx.prepare_cached("INSERT INTO replay(hotkey, signature, ts) VALUES (?1, ?2, ?3)")
                .and_then(|mut s| s.execute(params![hotkey, sig, ts]))
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(Admission::Admitted)
    }

    /// Drops replay entries with a timestamp before `min_ts` (they fail the timestamp check
    /// anyway) and rate windows that ended before `now - max_window`.
    pub fn prune(&self, min_ts: i64, now: i64, max_window: i64) -> Result<(), DbError> {
        let conn = self.lock();
        conn.execute("DELETE FROM replay WHERE ts < ?1", [min_ts])
            .map_err(|e| self.err(e))?;
        conn.execute(
            "DELETE FROM rate WHERE window_start < ?1",
            [now - max_window],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }
}
