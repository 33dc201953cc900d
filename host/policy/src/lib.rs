//! `resi-policy`: runs scoring policies over whole epochs.
//!
//! - [`input`]: epoch inputs as JSON (vectors, dumps) and their WIT and canonical forms;
//! - [`backend`]: the wasm component in the sandbox and the native `zipcode-competitive-core`
//!   behind one [`backend::Backend`] trait;
//! - [`runner`]: planning rounds with an [`runner::Observer`], scoring, finalizing, per-call
//!   fuel/memory/time, consensus hashes; [`EpochRunner`] streams an epoch one zipcode at a
//!   time (memory bounded by the largest zipcode), [`run_epoch`] runs a whole [`EpochRun`];
//! - [`hash`]: `params_sha256`, `outcome_hash`, `input_hash` (definitions there);
//! - [`vectors`]: released policies (`policy.toml`) and their test vectors ([`run_vectors`]).

pub mod backend;
pub mod error;
pub mod hash;
pub mod input;
pub mod runner;
pub mod vectors;

pub use backend::{Backend, Called, NativeBackend, WasmBackend, ZipcodeCarry};
pub use error::{BackendError, InputError, ObserveError, OrderError, RunError};
pub use input::{EpochInput, EpochRun, SubmissionBatch, ZipcodeBatch};
pub use runner::{
    EpochRunner, Observer, Prepared, RecordedObserver, RunReport, ZipcodeRun, ZipcodeScorer,
    run_epoch,
};
pub use vectors::{Release, ReleaseManifest, Report, Vector, VectorResult, run_vectors};
