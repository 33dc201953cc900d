//! Errors of the sandbox: one variant per limit a guest can hit, so callers and users see
//! exactly which wall the guest ran into.

use std::time::Duration;

/// Everything that can go wrong loading or running a component.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The component's sha256 is not the pinned one.
    #[error("component hash mismatch: expected sha256 {expected}, got {actual}")]
    HashMismatch {
        /// The pinned hash.
        expected: String,
        /// The hash of the bytes provided.
        actual: String,
    },
    /// The bytes are not a valid component for this engine.
    #[error("invalid component: {0}")]
    InvalidComponent(String),
    /// The component imports something the profile does not provide.
    #[error("{profile} components may not import {imports}", imports = .imports.join(", "))]
    ForbiddenImports {
        /// `policy` or `scraper`.
        profile: &'static str,
        /// The offending import names.
        imports: Vec<String>,
    },
    /// The component does not export the world the profile expects.
    #[error("component does not export {0}")]
    MissingExport(String),
    /// The guest used up its fuel budget.
    #[error("guest ran out of fuel (budget {budget} units)")]
    OutOfFuel {
        /// The fuel budget of the call.
        budget: u64,
    },
    /// The guest tried to grow memory or a table past its limit.
    #[error("guest exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit {
        /// The memory limit in bytes.
        limit_bytes: usize,
    },
    /// The guest exceeded its wasm stack.
    #[error("guest overflowed its stack (max {max_stack_bytes} bytes)")]
    StackOverflow {
        /// The stack limit in bytes.
        max_stack_bytes: usize,
    },
    /// The call ran past its wall-clock timeout.
    #[error("guest timed out after {0:?}")]
    Timeout(Duration),
    /// The guest trapped (a panic, `unreachable`, an out-of-bounds access...).
    #[error("guest trapped: {0}")]
    Trap(String),
    /// The guest returned an error value of its own.
    #[error("guest returned an error: {0}")]
    Guest(String),
    /// A host function failed and aborted the call.
    #[error("host function failed: {0}")]
    Host(String),
    /// Engine construction or instantiation failed for a reason other than the above.
    #[error("sandbox engine error: {0}")]
    Engine(String),
}

impl SandboxError {
    /// Short machine-readable name of the variant (`out-of-fuel`, `memory-limit`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            SandboxError::HashMismatch { .. } => "hash-mismatch",
            SandboxError::InvalidComponent(_) => "invalid-component",
            SandboxError::ForbiddenImports { .. } => "forbidden-imports",
            SandboxError::MissingExport(_) => "missing-export",
            SandboxError::OutOfFuel { .. } => "out-of-fuel",
            SandboxError::MemoryLimit { .. } => "memory-limit",
            SandboxError::StackOverflow { .. } => "stack-overflow",
            SandboxError::Timeout(_) => "timeout",
            SandboxError::Trap(_) => "trap",
            SandboxError::Guest(_) => "guest-error",
            SandboxError::Host(_) => "host-error",
            SandboxError::Engine(_) => "engine",
        }
    }
}
