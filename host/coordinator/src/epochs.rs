//! Epoch generation and lifecycle: nonces, seeds, assignments, PENDING -> ACTIVE -> COMPLETED ->
//! ARCHIVED, and the in-memory cache the hot endpoints read from.
//!
//! Every per-epoch secret is derived from the coordinator secret (32 random bytes made on first
//! start and kept in SQLite) with HMAC-SHA256, so generating an epoch twice (e.g. after a crash
//! between derivation and insert) gives the same result; the stored row is the authority.

use crate::db::{Db, DbError, EpochRow};
use crate::selection::{self, Selected, SelectionError, SelectionParams};
use crate::zipcodes::{ExpectedCounts, ZipTable};
use hmac::{Hmac, Mac};
use resi_core::epoch::{Epoch, EpochSchedule};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

/// Lifecycle status of an epoch at a time.
pub fn status_at(start: i64, end: i64, now: i64) -> &'static str {
    let len = end - start;
    if now < start {
        "PENDING"
    } else if now < end {
        "ACTIVE"
    } else if now < end + len {
        "COMPLETED"
    } else {
        "ARCHIVED"
    }
}

/// Why an epoch could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum EpochGenError {
    /// Database failure.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The selection cannot be made with the configured inputs.
    #[error("cannot select the zipcodes of epoch {epoch}")]
    Selection {
        /// The epoch.
        epoch: String,
        /// Why.
        #[source]
        source: SelectionError,
    },
}

/// A generated epoch as served.
#[derive(Debug, Clone)]
pub struct EpochRecord {
    /// Stored row.
    pub row: EpochRow,
    /// Zipcodes, sorted; honeypots flagged.
    pub zipcodes: Vec<Selected>,
}

impl EpochRecord {
    /// Sum of shown expected counts.
    pub fn total_expected(&self) -> u64 {
        self.zipcodes
            .iter()
            .map(|z| u64::from(z.expected_listings))
            .sum()
    }
}

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut m = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of every length"),
    };
    m.update(msg);
    m.finalize().into_bytes().into()
}

/// The protocol nonce: `hmac_sha256(secret, f"{epoch_id}:{secret}:{sha256_hex(''.join(sorted(zipcodes)))}")[:16]`.
pub fn nonce(secret: &str, epoch_id: &str, zipcodes: &[&str]) -> String {
    let mut z: Vec<&str> = zipcodes.to_vec();
    z.sort_unstable();
    let digest = hex::encode(Sha256::digest(z.concat().as_bytes()));
    let mac = hmac(
        secret.as_bytes(),
        format!("{epoch_id}:{secret}:{digest}").as_bytes(),
    );
    hex::encode(mac)[..16].to_owned()
}

/// The epoch machinery: schedule, inputs, database and cache.
pub struct Epochs {
    /// The schedule.
    pub schedule: EpochSchedule,
    /// Selection parameters.
    pub params: SelectionParams,
    /// Cooldown before a zipcode is assigned again, seconds.
    pub cooldown_secs: i64,
    secret: String,
    table: Arc<ZipTable>,
    counts: Arc<dyn ExpectedCounts>,
    db: Arc<Db>,
    cache: RwLock<HashMap<String, Arc<EpochRecord>>>,
    gen_lock: std::sync::Mutex<()>,
}

impl Epochs {
    /// Sets up the machinery over `db` (the secret is read or created there).
    pub fn new(
        schedule: EpochSchedule,
        params: SelectionParams,
        cooldown_secs: i64,
        table: Arc<ZipTable>,
        counts: Arc<dyn ExpectedCounts>,
        db: Arc<Db>,
        secret: String,
    ) -> Self {
        Self {
            schedule,
            params,
            cooldown_secs,
            secret,
            table,
            counts,
            db,
            cache: RwLock::new(HashMap::new()),
            gen_lock: std::sync::Mutex::new(()),
        }
    }

    /// How long before its start an epoch's assignments are generated: 15 minutes for 4-hour
    /// epochs, 1/16 of the length for shorter ones (at least 1 s).
    pub fn lead_secs(&self) -> i64 {
        (i64::from(self.schedule.length_secs()) / 16).clamp(1, 900)
    }

    /// The stored epoch `id`, from the cache or the database.
    pub fn get(&self, id: &str) -> Result<Option<Arc<EpochRecord>>, DbError> {
        if let Some(r) = self.cache.read().unwrap_or_else(|p| p.into_inner()).get(id) {
            return Ok(Some(r.clone()));
        }
        let Some((row, zipcodes)) = self.db.epoch(id)? else {
            return Ok(None);
        };
        let rec = Arc::new(EpochRecord { row, zipcodes });
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 64 {
            cache.clear();
        }
        cache.insert(id.to_owned(), rec.clone());
        Ok(Some(rec))
    }

    /// The epoch's record, generating and storing it if missing.
    pub fn ensure(&self, epoch: &Epoch, now: i64) -> Result<Arc<EpochRecord>, EpochGenError> {
        let id = epoch.id.to_string();
        if let Some(r) = self.get(&id)? {
            return Ok(r);
        }
        let _g = self.gen_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = self.get(&id)? {
            return Ok(r);
        }
        let start = epoch.start().timestamp();
        let end = epoch.end.timestamp();
        let excluded: HashSet<String> = self
            .db
            .assigned_between(start - self.cooldown_secs, start)?
            .into_iter()
            .collect();
        let derive = |what: &str| hmac(self.secret.as_bytes(), format!("{what}:{id}").as_bytes());
        let seed_bytes = derive("selection-seed");
        let mut s8 = [0u8; 8];
        s8.copy_from_slice(&seed_bytes[..8]);
        // Keep the seed within i64 so it round-trips through SQLite and JSON readers unchanged.
        let seed = u64::from_le_bytes(s8) >> 1;
        let honeypot_seed = derive("honeypot-seed");
        let validation_seed = derive("validation-seed");
        let sel = selection::select(
            &self.table,
            self.counts.as_ref(),
            &self.params,
            &excluded,
            seed,
            &honeypot_seed,
        )
        .map_err(|source| EpochGenError::Selection {
            epoch: id.clone(),
            source,
        })?;
        let zips: Vec<&str> = sel.zipcodes.iter().map(|z| z.zipcode.as_str()).collect();
        let row = EpochRow {
            id: id.clone(),
            start_ts: start,
            end_ts: end,
            nonce: nonce(&self.secret, &id, &zips),
            selection_seed: seed,
            validation_seed: hex::encode(validation_seed),
            target_listings: self.params.target_listings,
            tolerance_percent: self.params.tolerance_percent,
        };
        self.db
            .insert_epoch(&row, &sel.zipcodes, status_at(start, end, now), now)?;
        tracing::info!(
            epoch = %id,
            zipcodes = sel.zipcodes.len(),
            total = sel.total_expected(),
            "generated epoch assignments"
        );
        Ok(self.get(&id)?.unwrap_or_else(|| {
            Arc::new(EpochRecord {
                row,
                zipcodes: sel.zipcodes,
            })
        }))
    }

    /// One scheduler step at `now`: the current epoch exists, the next one exists once inside the
    /// lead time, stored statuses are up to date.
    pub fn tick(&self, now: i64) -> Result<(), EpochGenError> {
        let cur = self
            .schedule
            .current(now)
            .map_err(|e| EpochGenError::Selection {
                epoch: now.to_string(),
                source: SelectionError::Params(e.to_string()),
            })?;
        self.ensure(&cur, now)?;
        if cur.end.timestamp() - now <= self.lead_secs()
            && let Ok(next) = self.schedule.next(now)
        {
            self.ensure(&next, now)?;
        }
        self.db.update_statuses(|s, e| status_at(s, e, now))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_matches_python_reference() {
        // python3: hmac.new(b"s3cret", f"{eid}:s3cret:{sha256(''.join(sorted(z)).encode()).hexdigest()}".encode(), sha256).hexdigest()[:16]
        let n = nonce(
            "s3cret",
            "2025-10-01T16-00-00",
            &["19104", "19103", "10001"],
        );
        assert_eq!(n, include_str!("../tests/vectors/nonce.txt").trim());
        assert_eq!(n.len(), 16);
        assert!(
            n.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn lifecycle() {
        assert_eq!(status_at(10, 20, 5), "PENDING");
        assert_eq!(status_at(10, 20, 10), "ACTIVE");
        assert_eq!(status_at(10, 20, 20), "COMPLETED");
        assert_eq!(status_at(10, 20, 30), "ARCHIVED");
    }
}
