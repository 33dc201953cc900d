//! `resi-validator`: everything a validator does with one epoch, in order.
//!
//! - [`facts`]: the epoch as the coordinator reveals it to validators after the deadline
//!   (`/epoch/{id}`: nonce, deadline, assignments with honeypot flags and true counts, the
//!   validation seed checked against its published sha256);
//! - [`ingest`]: list every miner's submissions in the object store, verify manifests
//!   (signature, nonce, digests, sizes), read listings defensively with caps, and record a
//!   reason for every submission that is refused; the rest becomes the policy's input, one
//!   zipcode at a time ([`ingest::EpochIngest`]);
//! - [`pin`]: the pinned policy (wasm sha256 + params sha256), refused at start-up on mismatch;
//! - [`observer`]: spot checks through a verifier, concurrent with timeouts, cached 24 h;
//! - [`db`]: the validator's SQLite state (WAL): rejections, observations, outcomes, weights;
//! - [`report`]: `validation_report.json`, `validated_data.parquet`, `epoch_metadata.json`,
//!   and agreement with the other validators' reports;
//! - [`weights`]: outcome ppb -> metagraph uids -> u16 weights -> chain;
//! - [`validate`]: the whole pipeline for one epoch ([`validate::validate_epoch`]), streamed
//!   per zipcode so memory stays bounded by the largest zipcode;
//! - [`service`]: [`Validator`], one validator's parts together: validate, agree, weigh.

#![warn(missing_docs)]

pub mod db;
pub mod error;
pub mod facts;
pub mod ingest;
pub mod metrics;
pub mod observer;
pub mod pin;
pub mod report;
pub mod service;
pub mod validate;
pub mod weights;

pub use error::ValidatorError;
pub use facts::{AssignmentFacts, EpochFacts};
pub use ingest::{EpochIngest, IngestOptions, IngestSummary, Ingested, Rejection, ingest_epoch};
pub use metrics::{MeteredVerifier, ValidatorMetrics};
pub use observer::{ComponentVerifier, SpotChecker, Verifier, VerifyAnswer};
pub use pin::PolicyPin;
pub use report::{Agreement, ConsensusLevel, Peers, ValidationReport, agreement};
pub use service::{EpochRun as ValidatorRun, Validator};
pub use validate::{EpochResult, ValidatorConfig, WeightOptions, validate_epoch};
