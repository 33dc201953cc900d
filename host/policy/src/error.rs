//! Error types of the policy runner.
//!
//! An error shows its cause either in its message or through `source()`, never both; print
//! [`chain`] of an error where it ends up as text.

use resi_sandbox::SandboxError;

/// An error and its `source()` chain on one line, joined by `": "` (what `anyhow`'s `{:#}`
/// prints).
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A malformed epoch input, vector or release manifest.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// JSON that does not parse.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A number that is not an integer where only integers are allowed.
    #[error("not integer-only JSON: {0}")]
    NotInteger(String),
    /// Bad hex in a byte field.
    #[error("field {field}: {value:?} is not valid hex ({reason})")]
    Hex {
        /// Field name.
        field: &'static str,
        /// The offending value.
        value: String,
        /// Why it failed.
        reason: String,
    },
    /// A validation seed that is not 32 bytes.
    #[error("validation_seed must be 32 bytes, got {0}")]
    SeedLength(usize),
    /// Something given twice.
    #[error("duplicate {0}")]
    Duplicate(String),
    /// A submission or observation for a zipcode that is not assigned.
    #[error("{0} refers to zipcode {1}, which is not assigned")]
    Unassigned(String, String),
    /// A release manifest (policy.toml) that is malformed.
    #[error("invalid policy.toml: {0}")]
    Manifest(String),
    /// A file that cannot be read.
    #[error("reading {path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
}

/// A policy call that failed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The wasm sandbox failed (trap, fuel, memory, or the guest returned an error); its
    /// message says which ("guest ran out of fuel ...").
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The native core refused its input.
    #[error("native policy: {0}")]
    Native(String),
    /// The zipcode's listing batch could not be read back into records (a 1.0.0 policy).
    #[error("{0}")]
    Batch(resi_rules::batch::BatchError),
}

impl From<resi_rules::batch::BatchError> for BackendError {
    fn from(e: resi_rules::batch::BatchError) -> Self {
        BackendError::Batch(e)
    }
}

/// An observer (verifier) failure.
#[derive(Debug, thiserror::Error)]
#[error("observer: {0}")]
pub struct ObserveError(pub String);

/// Why running an epoch failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad input.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A policy call failed.
    #[error("policy call {call} failed")]
    Call {
        /// Which call (`info`, `plan-zipcode 19103`, ...).
        call: String,
        /// The failure.
        source: BackendError,
    },
    /// The observer failed.
    #[error(transparent)]
    Observe(#[from] ObserveError),
    /// The observer answered a different number of requests than asked.
    #[error("observer answered {got} of {asked} check requests for zipcode {zipcode}")]
    ObserverCount {
        /// Zipcode.
        zipcode: String,
        /// Requests asked.
        asked: usize,
        /// Answers got.
        got: usize,
    },
    /// A zipcode given to an [`crate::runner::EpochRunner`] out of the canonical order (or an
    /// epoch whose zipcodes cannot be put in one).
    #[error(transparent)]
    Order(#[from] OrderError),
    /// The policy kept asking: a request already answered, or too many rounds.
    #[error("policy planning for zipcode {zipcode} does not converge: {reason}")]
    NoConvergence {
        /// Zipcode.
        zipcode: String,
        /// What happened.
        reason: String,
    },
}

/// Why an [`crate::runner::EpochRunner`] refused an epoch or a zipcode: the streamed
/// `input_hash` is only the canonical one when every assigned zipcode is run exactly once, in
/// ascending zipcode order, with the assignment the runner was created with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The epoch assigns a zipcode more than once.
    #[error("zipcode {0} is assigned more than once in the epoch")]
    DuplicateAssignment(String),
    /// A zipcode the epoch does not assign.
    #[error("zipcode {0} is not assigned in the epoch")]
    Unassigned(String),
    /// A zipcode that was already run.
    #[error("zipcode {0} was already run in this epoch")]
    AlreadyRun(String),
    /// A zipcode given before an assigned zipcode that sorts before it.
    #[error("zipcode {zipcode} given before {expected}: zipcodes must be run in ascending order")]
    OutOfOrder {
        /// The zipcode given.
        zipcode: String,
        /// The zipcode that had to come next.
        expected: String,
    },
    /// A zipcode given with another assignment (expected count, honeypot, true count) than the
    /// runner was created with.
    #[error("zipcode {0} given with another assignment than the epoch's")]
    AssignmentMismatch(String),
    /// `finish` before every assigned zipcode was run.
    #[error("{count} assigned zipcode(s) not run, the first being {first}")]
    Missing {
        /// The first zipcode not run.
        first: String,
        /// How many were not run.
        count: usize,
    },
}
