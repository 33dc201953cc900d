//! `resi-miner`: the SN46 miner pipeline.
//!
//! One epoch: poll the coordinator for the current assignment; scrape the assigned zipcodes
//! concurrently through the pinned scraper component (each under the epoch's deadline and the
//! scraper's timeout); validate every listing and commit every emitted batch to SQLite before
//! the guest continues ([`sink::SqliteSink`]); build `listings.parquet` and the signed
//! `manifest.json` per zipcode ([`resi_submission`]); upload both through the coordinator's
//! presigned POST grant, manifest last; report IN_PROGRESS and then COMPLETED/FAILED with the
//! completed zipcodes.
//!
//! Durability: the per-(epoch, zipcode) state machine in [`state`] survives `kill -9` at any
//! point; a restart resumes where it stopped. Network failures (coordinator or object store)
//! are retried with exponential backoff until the epoch's deadline and logged; they never
//! crash the miner or drop data silently.
//!
//! Modules: [`state`] (SQLite), [`sink`] (the scraper's listing sink), [`pipeline`] (the
//! [`Miner`]).

#![warn(missing_docs)]

pub mod metrics;
pub mod pipeline;
pub mod sink;
pub mod state;

pub use metrics::MinerMetrics;
pub use pipeline::{EpochSummary, Miner, MinerConfig, MinerError};
pub use state::{StateDb, StateError, ZipState};
