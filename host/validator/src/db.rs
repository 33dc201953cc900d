//! The validator's SQLite state (WAL): rejected submissions with reasons, spot-check
//! observations (cached 24 h, keyed by the listing reference so a listing submitted by several
//! miners is looked up once), outcomes per epoch and the weights set.

use crate::ingest::Rejection;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;

/// How long a spot-check observation is reused, in seconds.
pub const OBSERVATION_TTL_SECS: i64 = 24 * 3600;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS rejections (
    epoch_id TEXT NOT NULL, hotkey TEXT NOT NULL, zipcode TEXT NOT NULL, object_key TEXT NOT NULL,
    reason TEXT NOT NULL, given_to_policy INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS rejections_epoch ON rejections(epoch_id);
CREATE TABLE IF NOT EXISTS observations (
    target TEXT PRIMARY KEY, seen TEXT NOT NULL, observed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outcomes (
    epoch_id TEXT PRIMARY KEY, outcome_hash TEXT NOT NULL, input_hash TEXT NOT NULL,
    wasm_sha256 TEXT NOT NULL, params_sha256 TEXT NOT NULL, canonical_outcome TEXT NOT NULL,
    created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS weights (
    epoch_id TEXT NOT NULL, uids TEXT NOT NULL, weights TEXT NOT NULL, tx TEXT NOT NULL,
    created_at INTEGER NOT NULL);
";

/// Weights recorded as set for an epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedWeights {
    /// Uids.
    pub uids: Vec<u16>,
    /// u16 weights.
    pub weights: Vec<u16>,
    /// The transaction hash the chain returned.
    pub tx: String,
}

/// The validator database.
#[derive(Debug)]
pub struct Db {
    conn: Mutex<Connection>,
}

/// A stored outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOutcome {
    /// Hex outcome hash.
    pub outcome_hash: String,
    /// Hex input hash.
    pub input_hash: String,
    /// Canonical outcome JSON.
    pub canonical_outcome: String,
}

impl Db {
    /// Opens (creating) the database at `path` in WAL mode.
    pub fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the rejections recorded for `epoch_id`.
    pub fn record_rejections(
        &self,
        epoch_id: &str,
        rejections: &[Rejection],
    ) -> Result<(), rusqlite::Error> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM rejections WHERE epoch_id = ?1",
            params![epoch_id],
        )?;
        for r in rejections {
            tx.execute(
                "INSERT INTO rejections VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    epoch_id,
                    r.hotkey,
                    r.zipcode,
                    r.key,
                    r.reason,
                    r.given_to_policy
                ],
            )?;
        }
        tx.commit()
    }

    /// The rejections recorded for `epoch_id`.
    pub fn rejections(&self, epoch_id: &str) -> Result<Vec<Rejection>, rusqlite::Error> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT hotkey, zipcode, object_key, reason, given_to_policy FROM rejections
             WHERE epoch_id = ?1 ORDER BY hotkey, zipcode, object_key",
        )?;
        st.query_map(params![epoch_id], |r| {
            Ok(Rejection {
                hotkey: r.get(0)?,
                zipcode: r.get(1)?,
                key: r.get(2)?,
                reason: r.get(3)?,
                given_to_policy: r.get(4)?,
            })
        })?
        .collect()
    }

    /// A cached observation of `target` (a canonical listing-ref string) younger than 24 h.
    pub fn cached_observation(
        &self,
        target: &str,
        now: i64,
    ) -> Result<Option<String>, rusqlite::Error> {
        self.conn()
            .query_row(
                "SELECT seen FROM observations WHERE target = ?1 AND observed_at > ?2",
                params![target, now - OBSERVATION_TTL_SECS],
                |r| r.get(0),
            )
            .optional()
    }

    /// Caches an observation of `target`.
    pub fn cache_observation(
        &self,
        target: &str,
        seen: &str,
        now: i64,
    ) -> Result<(), rusqlite::Error> {
        self.conn().execute(
            "INSERT OR REPLACE INTO observations VALUES (?1, ?2, ?3)",
            params![target, seen, now],
        )?;
        Ok(())
    }

    /// Drops observations older than 24 h.
    pub fn prune_observations(&self, now: i64) -> Result<usize, rusqlite::Error> {
        self.conn().execute(
            "DELETE FROM observations WHERE observed_at <= ?1",
            params![now - OBSERVATION_TTL_SECS],
        )
    }

    /// Records an epoch's outcome.
    #[allow(clippy::too_many_arguments)]
    pub fn record_outcome(
        &self,
        epoch_id: &str,
        outcome_hash: &str,
        input_hash: &str,
        wasm_sha256: &str,
        params_sha256: &str,
        canonical_outcome: &str,
        now: i64,
    ) -> Result<(), rusqlite::Error> {
        self.conn().execute(
            "INSERT OR REPLACE INTO outcomes VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                epoch_id,
                outcome_hash,
                input_hash,
                wasm_sha256,
                params_sha256,
                canonical_outcome,
                now
            ],
        )?;
        Ok(())
    }

    /// The outcome recorded for `epoch_id`.
    pub fn outcome(&self, epoch_id: &str) -> Result<Option<StoredOutcome>, rusqlite::Error> {
        self.conn()
            .query_row(
                "SELECT outcome_hash, input_hash, canonical_outcome FROM outcomes WHERE epoch_id = ?1",
                params![epoch_id],
                |r| {
                    Ok(StoredOutcome {
                        outcome_hash: r.get(0)?,
                        input_hash: r.get(1)?,
                        canonical_outcome: r.get(2)?,
                    })
                },
            )
            .optional()
    }

    /// Records weights set for `epoch_id`.
    pub fn record_weights(
        &self,
        epoch_id: &str,
        uids: &[u16],
        weights: &[u16],
        tx: &str,
        now: i64,
    ) -> Result<(), rusqlite::Error> {
        let j = |v: &[u16]| serde_json::to_string(v).unwrap_or_default();
        self.conn().execute(
            "INSERT INTO weights VALUES (?1, ?2, ?3, ?4, ?5)",
            params![epoch_id, j(uids), j(weights), tx, now],
        )?;
        Ok(())
    }

    /// The weights recorded for `epoch_id` (the first call if several were recorded).
    pub fn recorded_weights(
        &self,
        epoch_id: &str,
    ) -> Result<Option<RecordedWeights>, rusqlite::Error> {
        let row = self
            .conn()
            .query_row(
                "SELECT uids, weights, tx FROM weights WHERE epoch_id = ?1 ORDER BY rowid LIMIT 1",
                params![epoch_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.map(|(uids, weights, tx)| {
            let parse = |s: &str| serde_json::from_str::<Vec<u16>>(s).unwrap_or_default();
            RecordedWeights {
                uids: parse(&uids),
                weights: parse(&weights),
                tx,
            }
        }))
    }

    /// True when weights were already set for `epoch_id`.
    pub fn weights_set(&self, epoch_id: &str) -> Result<bool, rusqlite::Error> {
        self.conn()
            .query_row(
                "SELECT 1 FROM weights WHERE epoch_id = ?1 LIMIT 1",
                params![epoch_id],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
    }
}
