//! The WebAssembly sandbox of resi.
//!
//! Two engine profiles share one set of pinning, limit and error types:
//! - [`policy`]: the deterministic engine validators use for scoring policies. Every wasmtime
//!   feature flag is set explicitly, NaNs are canonicalized, fuel is metered with a fixed
//!   budget, memory and stack are bounded, and a policy component must import nothing.
//! - [`scraper`]: the engine for miners' scrapers and validators' verifiers: WASI without
//!   filesystem, environment or sockets, network only through the host's `http.fetch`, epoch
//!   interruption plus a per-call timeout, memory limit.
//!
//! Components are loaded by sha256 pin ([`pin`]), pre-linked once (`InstancePre`) and
//! instantiated per call from a pooling allocator. [`inspect`] reports what a component is and
//! whether a profile accepts it. Every failure is a [`SandboxError`] naming the limit hit.

pub mod error;
pub mod inspect;
pub mod limits;
pub mod listing;
pub mod pin;
pub mod policy;
pub mod scraper;

pub use error::SandboxError;
pub use pin::Sha256Pin;

/// The wasmtime version compiled in: part of what validators pin (an upgrade is a consensus
/// change), printed by `resi component inspect`.
pub const WASMTIME_VERSION: &str = "48.0.8";
