//! [`LocalChain`]: the embedded chain, one SQLite file (WAL) holding subnets, registered hotkeys,
//! validator permits, the weights history and a block counter.
//!
//! **Blocks.** The block number advances with wall time, one block per `block_secs` seconds
//! (12 by default, like subtensor) since a base point, plus any blocks added by
//! [`LocalChain::advance`]. `block_secs = 0` freezes the clock so blocks move only through
//! `advance`, which is what tests use to make rate limits deterministic. The chain starts at
//! block 1 (a `last_update` of 0 means "never set weights", as on subtensor).
//!
//! **Checks.** [`LocalChain::set_weights`] runs the same checks as subtensor
//! ([`crate::checks::check_set_weights`]) inside one SQLite transaction, so concurrent processes
//! sharing the file (devnet validators) see a consistent chain. Commit-reveal is not emulated:
//! a subnet with it enabled rejects plain weights with [`ChainError::CommitRevealEnabled`].
//!
//! **Registration.** [`LocalChain::register`] gives the next free uid (no pruning) and creates
//! the subnet with [`SubnetParams::default`] if it does not exist yet.

use crate::Chain;
use crate::checks::check_set_weights;
use crate::error::ChainError;
use crate::scale;
use crate::types::{Metagraph, Neuron, TxResult};
use resi_core::keys::{Hotkey, PublicKey};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Default seconds per block of a new local chain (subtensor's block time).
pub const DEFAULT_BLOCK_SECS: u64 = 12;

/// The pallet/call index the local chain uses to compute transaction hashes of `set_weights`.
const LOCAL_SET_WEIGHTS_INDEX: (u8, u8) = (7, 0);

/// The hyperparameters of a local subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetParams {
    /// Blocks per epoch.
    pub tempo: u16,
    /// Blocks between two weight updates of one neuron.
    pub weights_set_rate_limit: u64,
    /// Minimum version key for `set_weights`.
    pub weights_version_key: u64,
    /// If true, plain `set_weights` is rejected (as on subtensor with commit-reveal on).
    pub commit_reveal_enabled: bool,
    /// Maximum number of uids.
    pub max_uids: u16,
}

/// The local chain's `MinAllowedWeights` (subtensor's default for a new subnet); its
/// `MaxWeightsLimit` is 65535 (no limit).
pub const LOCAL_MIN_ALLOWED_WEIGHTS: u16 = 1;

impl Default for SubnetParams {
    /// subtensor's defaults for a new subnet, except commit-reveal, which is off (the local
    /// chain has no timelock commits).
    fn default() -> Self {
        Self {
            tempo: 360,
            weights_set_rate_limit: 100,
            weights_version_key: 0,
            commit_reveal_enabled: false,
            max_uids: 256,
        }
    }
}

/// The result of [`LocalChain::register`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    /// The hotkey's uid.
    pub uid: u16,
    /// False if the hotkey was already registered (its uid is unchanged).
    pub newly_registered: bool,
}

/// One accepted `set_weights` call in the local chain's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsRecord {
    /// The subnet.
    pub netuid: u16,
    /// The block the weights were set at.
    pub block: u64,
    /// The setter's uid.
    pub uid: u16,
    /// The setter's hotkey.
    pub hotkey: PublicKey,
    /// The version key sent.
    pub version_key: u64,
    /// Destination uids.
    pub uids: Vec<u16>,
    /// u16 weights, one per destination uid.
    pub weights: Vec<u16>,
    /// The transaction hash reported in [`TxResult`].
    pub tx_hash: String,
}

/// The embedded SQLite-backed chain. Cheap to share behind an `Arc`; every call is one short
/// SQLite transaction.
pub struct LocalChain {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for LocalChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalChain")
            .field("path", &self.path)
            .finish()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS subnets (
    netuid                 INTEGER PRIMARY KEY,
    tempo                  INTEGER NOT NULL,
    weights_set_rate_limit INTEGER NOT NULL,
    weights_version_key    INTEGER NOT NULL,
    commit_reveal_enabled  INTEGER NOT NULL,
    max_uids               INTEGER NOT NULL,
    created_block          INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS neurons (
    netuid           INTEGER NOT NULL REFERENCES subnets(netuid),
    uid              INTEGER NOT NULL,
    hotkey           BLOB NOT NULL,
    validator_permit INTEGER NOT NULL,
    last_update      INTEGER NOT NULL,
    registered_block INTEGER NOT NULL,
    PRIMARY KEY (netuid, uid),
    UNIQUE (netuid, hotkey)
);
CREATE TABLE IF NOT EXISTS weights (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    netuid      INTEGER NOT NULL,
    block       INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    hotkey      BLOB NOT NULL,
    version_key INTEGER NOT NULL,
    uids        TEXT NOT NULL,
    weights     TEXT NOT NULL,
    tx_hash     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS weights_by_netuid ON weights(netuid, id);
";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The default database path: `$RESI_HOME/local-chain.sqlite`, else `~/.resi/local-chain.sqlite`
/// (relative `.resi/local-chain.sqlite` if there is no home directory).
pub fn default_db_path() -> PathBuf {
    let dir = match std::env::var_os("RESI_HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home),
        _ => match std::env::var_os("HOME") {
            Some(home) if !home.is_empty() => PathBuf::from(home).join(".resi"),
            _ => PathBuf::from(".resi"),
        },
    };
    dir.join("local-chain.sqlite")
}

impl LocalChain {
    /// Opens (creating if needed, with parent directories) the chain at `path`. A new chain gets
    /// [`DEFAULT_BLOCK_SECS`] per block; an existing one keeps its block time.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ChainError> {
        Self::open_inner(path.as_ref(), DEFAULT_BLOCK_SECS)
    }

    /// Like [`LocalChain::open`], but a newly created chain gets `block_secs` per block
    /// (0 = blocks advance only through [`LocalChain::advance`]).
    pub fn open_with_block_time(
        path: impl AsRef<Path>,
        block_secs: u64,
    ) -> Result<Self, ChainError> {
        Self::open_inner(path.as_ref(), block_secs)
    }

    fn open_inner(path: &Path, block_secs: u64) -> Result<Self, ChainError> {
        let db_err = |source| ChainError::Database {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            return Err(ChainError::DatabaseDir {
                path: path.display().to_string(),
                source: e,
            });
        }
        let conn = Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        let block_secs = i64::try_from(block_secs).unwrap_or(i64::MAX);
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('base_block', 1), ('base_ms', ?1), ('block_secs', ?2)",
            params![now_ms(), block_secs],
        )
        .map_err(db_err)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db_err(&self, source: rusqlite::Error) -> ChainError {
        ChainError::Database {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn corrupt(&self, what: &str, reason: impl ToString) -> ChainError {
        ChainError::CorruptDatabase {
            path: self.path.display().to_string(),
            what: what.to_owned(),
            reason: reason.to_string(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn block_in(&self, conn: &Connection) -> Result<u64, ChainError> {
        let get = |key: &str| -> Result<i64, ChainError> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .map_err(|e| self.db_err(e))
        };
        let base_block = get("base_block")?;
        let base_ms = get("base_ms")?;
        let block_secs = get("block_secs")?;
        let elapsed = if block_secs > 0 {
            (now_ms() - base_ms).max(0) / (block_secs.saturating_mul(1000))
        } else {
            0
        };
        u64::try_from(base_block.saturating_add(elapsed))
            .map_err(|e| self.corrupt("block counter", e))
    }

    /// The current block.
    pub fn block(&self) -> Result<u64, ChainError> {
        let conn = self.lock();
        self.block_in(&conn)
    }

    /// Seconds per block (0 = manual only).
    pub fn block_secs(&self) -> Result<u64, ChainError> {
        let conn = self.lock();
        let v: i64 = conn
            .query_row("SELECT value FROM meta WHERE key = 'block_secs'", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.db_err(e))?;
        u64::try_from(v).map_err(|e| self.corrupt("block_secs", e))
    }

    /// Changes the block time from now on, without moving the current block.
    pub fn set_block_secs(&self, block_secs: u64) -> Result<(), ChainError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db_err(e))?;
        let current = self.block_in(&tx)?;
        let secs = i64::try_from(block_secs).unwrap_or(i64::MAX);
        let current = i64::try_from(current).unwrap_or(i64::MAX);
        tx.execute(
            "UPDATE meta SET value = CASE key WHEN 'base_block' THEN ?1 WHEN 'base_ms' THEN ?2 ELSE ?3 END
             WHERE key IN ('base_block', 'base_ms', 'block_secs')",
            params![current, now_ms(), secs],
        )
        .map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))
    }

    /// Adds `blocks` to the block counter; returns the new current block.
    pub fn advance(&self, blocks: u64) -> Result<u64, ChainError> {
        let conn = self.lock();
        let blocks = i64::try_from(blocks).unwrap_or(i64::MAX);
        conn.execute(
            "UPDATE meta SET value = value + ?1 WHERE key = 'base_block'",
            [blocks],
        )
        .map_err(|e| self.db_err(e))?;
        self.block_in(&conn)
    }

    /// Creates subnet `netuid` with `params`, or updates the parameters of an existing one.
    pub fn set_subnet(&self, netuid: u16, params: &SubnetParams) -> Result<(), ChainError> {
        let conn = self.lock();
        let block = self.block_in(&conn)?;
        Self::upsert_subnet(&conn, netuid, params, block).map_err(|e| self.db_err(e))
    }

    fn upsert_subnet(
        conn: &Connection,
        netuid: u16,
        p: &SubnetParams,
        block: u64,
    ) -> rusqlite::Result<()> {
        conn.execute(
            "INSERT INTO subnets(netuid, tempo, weights_set_rate_limit, weights_version_key,
                                 commit_reveal_enabled, max_uids, created_block)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(netuid) DO UPDATE SET tempo = ?2, weights_set_rate_limit = ?3,
                 weights_version_key = ?4, commit_reveal_enabled = ?5, max_uids = ?6",
            params![
                netuid,
                p.tempo,
                i64::try_from(p.weights_set_rate_limit).unwrap_or(i64::MAX),
                i64::try_from(p.weights_version_key).unwrap_or(i64::MAX),
                p.commit_reveal_enabled,
                p.max_uids,
                i64::try_from(block).unwrap_or(i64::MAX),
            ],
        )?;
        Ok(())
    }

    fn params_in(
        &self,
        conn: &Connection,
        netuid: u16,
    ) -> Result<Option<SubnetParams>, ChainError> {
        let row = conn
            .query_row(
                "SELECT tempo, weights_set_rate_limit, weights_version_key, commit_reveal_enabled, max_uids
                 FROM subnets WHERE netuid = ?1",
                [netuid],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, bool>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.db_err(e))?;
        let Some((tempo, rate, version, cr, max_uids)) = row else {
            return Ok(None);
        };
        Ok(Some(SubnetParams {
            tempo: u16::try_from(tempo).map_err(|e| self.corrupt("tempo", e))?,
            weights_set_rate_limit: u64::try_from(rate)
                .map_err(|e| self.corrupt("weights_set_rate_limit", e))?,
            weights_version_key: u64::try_from(version)
                .map_err(|e| self.corrupt("weights_version_key", e))?,
            commit_reveal_enabled: cr,
            max_uids: u16::try_from(max_uids).map_err(|e| self.corrupt("max_uids", e))?,
        }))
    }

    /// Subnet `netuid`'s hyperparameters in the shape subtensor's are printed (the local chain
    /// has no MinAllowedWeights, MaxWeightsLimit or epoch schedule of its own).
    pub fn hyperparameters(&self, netuid: u16) -> Result<crate::Hyperparameters, ChainError> {
        let p = self.subnet_params(netuid)?;
        let meta = self.metagraph_now(netuid)?;
        Ok(crate::Hyperparameters {
            netuid,
            block: meta.block,
            tempo: p.tempo,
            weights_set_rate_limit: p.weights_set_rate_limit,
            commit_reveal_enabled: p.commit_reveal_enabled,
            reveal_period_epochs: 1,
            commit_reveal_version: 4,
            weights_version_key: p.weights_version_key,
            min_allowed_weights: LOCAL_MIN_ALLOWED_WEIGHTS,
            max_weights_limit: u16::MAX,
            subnetwork_n: meta.n,
            max_allowed_uids: p.max_uids,
            immunity_period: 0,
            activity_cutoff: 0,
            block_time_secs: self.block_secs()? as f64,
            reveal_model: "none (the local chain takes no timelocked commits)".into(),
            last_epoch_block: 0,
            pending_epoch_at: 0,
            subnet_epoch_index: 0,
            blocks_since_last_step: 0,
        })
    }

    /// The subnet's parameters; [`ChainError::UnknownNetuid`] if it does not exist.
    pub fn subnet_params(&self, netuid: u16) -> Result<SubnetParams, ChainError> {
        let conn = self.lock();
        self.params_in(&conn, netuid)?
            .ok_or(ChainError::UnknownNetuid(netuid))
    }

    /// The netuids of all subnets, ascending.
    pub fn subnets(&self) -> Result<Vec<u16>, ChainError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT netuid FROM subnets ORDER BY netuid")
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, u16>(0))
            .map_err(|e| self.db_err(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.db_err(e))
    }

    /// Registers `hotkey` on `netuid` (creating the subnet with default parameters if needed).
    /// An already registered hotkey keeps its uid; `validator = true` grants a validator
    /// permit in both cases (`false` never revokes one; see [`LocalChain::set_validator_permit`]).
    pub fn register(
        &self,
        netuid: u16,
        hotkey: &PublicKey,
        validator: bool,
    ) -> Result<Registration, ChainError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db_err(e))?;
        let block = self.block_in(&tx)?;
        let params = match self.params_in(&tx, netuid)? {
            Some(p) => p,
            None => {
                let p = SubnetParams::default();
                Self::upsert_subnet(&tx, netuid, &p, block).map_err(|e| self.db_err(e))?;
                p
            }
        };
        let existing: Option<u16> = tx
            .query_row(
                "SELECT uid FROM neurons WHERE netuid = ?1 AND hotkey = ?2",
                params![netuid, hotkey.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db_err(e))?;
        let registration = if let Some(uid) = existing {
            if validator {
                tx.execute(
                    "UPDATE neurons SET validator_permit = 1 WHERE netuid = ?1 AND uid = ?2",
                    params![netuid, uid],
                )
                .map_err(|e| self.db_err(e))?;
            }
            Registration {
                uid,
                newly_registered: false,
            }
        } else {
            let n: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM neurons WHERE netuid = ?1",
                    [netuid],
                    |r| r.get(0),
                )
                .map_err(|e| self.db_err(e))?;
            if n >= i64::from(params.max_uids) {
                return Err(ChainError::SubnetFull {
                    netuid,
                    max_uids: params.max_uids,
                });
            }
            let uid = u16::try_from(n).map_err(|e| self.corrupt("neuron count", e))?;
            tx.execute(
                "INSERT INTO neurons(netuid, uid, hotkey, validator_permit, last_update, registered_block)
                 VALUES (?1, ?2, ?3, ?4, 0, ?5)",
                params![
                    netuid,
                    uid,
                    hotkey.as_bytes().as_slice(),
                    validator,
                    i64::try_from(block).unwrap_or(i64::MAX)
                ],
            )
            .map_err(|e| self.db_err(e))?;
            Registration {
                uid,
                newly_registered: true,
            }
        };
        tx.commit().map_err(|e| self.db_err(e))?;
        Ok(registration)
    }

    /// Grants or revokes the validator permit of a registered hotkey.
    pub fn set_validator_permit(
        &self,
        netuid: u16,
        hotkey: &PublicKey,
        permit: bool,
    ) -> Result<(), ChainError> {
        let conn = self.lock();
        if self.params_in(&conn, netuid)?.is_none() {
            return Err(ChainError::UnknownNetuid(netuid));
        }
        let changed = conn
            .execute(
                "UPDATE neurons SET validator_permit = ?3 WHERE netuid = ?1 AND hotkey = ?2",
                params![netuid, hotkey.as_bytes().as_slice(), permit],
            )
            .map_err(|e| self.db_err(e))?;
        if changed == 0 {
            return Err(ChainError::NotRegistered {
                netuid,
                hotkey: hotkey.to_ss58(),
            });
        }
        Ok(())
    }

    fn metagraph_in(&self, conn: &Connection, netuid: u16) -> Result<Metagraph, ChainError> {
        let params = self
            .params_in(conn, netuid)?
            .ok_or(ChainError::UnknownNetuid(netuid))?;
        let block = self.block_in(conn)?;
        let mut stmt = conn
            .prepare(
                "SELECT uid, hotkey, validator_permit, last_update FROM neurons
                 WHERE netuid = ?1 ORDER BY uid",
            )
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([netuid], |r| {
                Ok((
                    r.get::<_, u16>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(|e| self.db_err(e))?;
        let mut neurons = Vec::new();
        for row in rows {
            let (uid, key, permit, last) = row.map_err(|e| self.db_err(e))?;
            let key: [u8; 32] = key.try_into().map_err(|k: Vec<u8>| {
                self.corrupt("hotkey", format!("{} bytes, expected 32", k.len()))
            })?;
            neurons.push(Neuron {
                uid,
                hotkey: PublicKey::from_bytes(key),
                validator_permit: permit,
                last_update: u64::try_from(last).map_err(|e| self.corrupt("last_update", e))?,
            });
        }
        let n = u16::try_from(neurons.len()).map_err(|e| self.corrupt("neuron count", e))?;
        Ok(Metagraph {
            netuid,
            block,
            n,
            neurons,
            weights_version_key: params.weights_version_key,
            commit_reveal_enabled: params.commit_reveal_enabled,
            weights_set_rate_limit: params.weights_set_rate_limit,
            tempo: params.tempo,
            min_allowed_weights: LOCAL_MIN_ALLOWED_WEIGHTS,
            max_weights_limit: u16::MAX,
        })
    }

    /// The metagraph of `netuid` at the current block.
    pub fn metagraph_now(&self, netuid: u16) -> Result<Metagraph, ChainError> {
        let conn = self.lock();
        self.metagraph_in(&conn, netuid)
    }

    /// The uid of `hotkey` on `netuid`; [`ChainError::UnknownNetuid`] if the subnet is missing.
    pub fn uid_of_now(&self, netuid: u16, hotkey: &PublicKey) -> Result<Option<u16>, ChainError> {
        let conn = self.lock();
        if self.params_in(&conn, netuid)?.is_none() {
            return Err(ChainError::UnknownNetuid(netuid));
        }
        conn.query_row(
            "SELECT uid FROM neurons WHERE netuid = ?1 AND hotkey = ?2",
            params![netuid, hotkey.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| self.db_err(e))
    }

    /// Applies a `set_weights` call by `signer` after the chain's checks; records it in the
    /// history and sets the signer's `last_update` to the current block.
    pub fn set_weights_now(
        &self,
        netuid: u16,
        signer: &PublicKey,
        uids: &[u16],
        weights: &[u16],
        version_key: u64,
    ) -> Result<TxResult, ChainError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db_err(e))?;
        let meta = self.metagraph_in(&tx, netuid)?;
        let uid = check_set_weights(&meta, signer, uids, weights, version_key)?;
        let call = scale::encode_set_weights_call(
            LOCAL_SET_WEIGHTS_INDEX,
            netuid,
            uids,
            weights,
            version_key,
        );
        let mut preimage = call;
        preimage.extend_from_slice(signer.as_bytes());
        preimage.extend_from_slice(&meta.block.to_le_bytes());
        let tx_hash = format!(
            "0x{}",
            hex::encode(sp_crypto_hashing::blake2_256(&preimage))
        );
        let block = i64::try_from(meta.block).unwrap_or(i64::MAX);
        let to_json = |v: &[u16]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT INTO weights(netuid, block, uid, hotkey, version_key, uids, weights, tx_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                netuid,
                block,
                uid,
                signer.as_bytes().as_slice(),
                i64::try_from(version_key).unwrap_or(i64::MAX),
                to_json(uids),
                to_json(weights),
                tx_hash,
            ],
        )
        .map_err(|e| self.db_err(e))?;
        tx.execute(
            "UPDATE neurons SET last_update = ?3 WHERE netuid = ?1 AND uid = ?2",
            params![netuid, uid, block],
        )
        .map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))?;
        Ok(TxResult {
            netuid,
            uid,
            block: meta.block,
            tx_hash,
            call: "set_weights".into(),
            included_in: None,
            finalized: true,
            reveal_round: None,
        })
    }

    /// Every accepted weights call on `netuid`, oldest first.
    pub fn weights_history(&self, netuid: u16) -> Result<Vec<WeightsRecord>, ChainError> {
        let conn = self.lock();
        if self.params_in(&conn, netuid)?.is_none() {
            return Err(ChainError::UnknownNetuid(netuid));
        }
        let mut stmt = conn
            .prepare(
                "SELECT block, uid, hotkey, version_key, uids, weights, tx_hash FROM weights
                 WHERE netuid = ?1 ORDER BY id",
            )
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([netuid], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, u16>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (block, uid, key, version, uids, weights, tx_hash) =
                row.map_err(|e| self.db_err(e))?;
            let key: [u8; 32] = key.try_into().map_err(|k: Vec<u8>| {
                self.corrupt("hotkey", format!("{} bytes, expected 32", k.len()))
            })?;
            out.push(WeightsRecord {
                netuid,
                block: u64::try_from(block).map_err(|e| self.corrupt("block", e))?,
                uid,
                hotkey: PublicKey::from_bytes(key),
                version_key: u64::try_from(version).map_err(|e| self.corrupt("version_key", e))?,
                uids: serde_json::from_str(&uids).map_err(|e| self.corrupt("uids", e))?,
                weights: serde_json::from_str(&weights).map_err(|e| self.corrupt("weights", e))?,
                tx_hash,
            });
        }
        Ok(out)
    }
}

impl Chain for LocalChain {
    async fn current_block(&self) -> Result<u64, ChainError> {
        self.block()
    }

    async fn metagraph(&self, netuid: u16) -> Result<Metagraph, ChainError> {
        self.metagraph_now(netuid)
    }

    async fn uid_of(&self, netuid: u16, hotkey: &PublicKey) -> Result<Option<u16>, ChainError> {
        self.uid_of_now(netuid, hotkey)
    }

    async fn set_weights(
        &self,
        netuid: u16,
        signer: &Hotkey,
        uids: &[u16],
        weights: &[u16],
        version_key: u64,
    ) -> Result<TxResult, ChainError> {
        self.set_weights_now(netuid, &signer.public(), uids, weights, version_key)
    }
}
