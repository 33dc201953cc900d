//! Errors of the validator that stop an epoch (a bad submission never does: it is a
//! [`crate::Rejection`]).

/// Why validating an epoch (or starting the validator) failed.
#[derive(Debug, thiserror::Error)]
pub enum ValidatorError {
    /// The policy component or params are not the pinned ones.
    #[error("policy pin mismatch: {what} has sha256 {actual}, but the validator pins {pinned}")]
    PinMismatch {
        /// `policy wasm` or `policy params`.
        what: &'static str,
        /// sha256 of what was given.
        actual: String,
        /// The pinned sha256.
        pinned: String,
    },
    /// The epoch facts from the coordinator are unusable.
    #[error("epoch facts: {0}")]
    Facts(String),
    /// The object store failed (listing, reading or writing the validator's own objects); its
    /// message names the operation, key and store.
    #[error(transparent)]
    Store(#[from] resi_store::StoreError),
    /// The validator's SQLite database failed.
    #[error("the validator database failed")]
    Db(#[from] rusqlite::Error),
    /// The policy run failed.
    #[error("running the policy")]
    Policy(#[from] resi_policy::RunError),
    /// The policy component could not be loaded.
    #[error("loading the policy component")]
    Sandbox(#[from] resi_sandbox::SandboxError),
    /// The chain failed (its message names the node, call or subnet).
    #[error(transparent)]
    Chain(#[from] resi_chain::ChainError),
    /// Weights could not be converted.
    #[error("weights: {0}")]
    Weights(String),
    /// Something else (serialization, a blocking task that panicked).
    #[error("{0}")]
    Other(String),
}
