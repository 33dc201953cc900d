//! Running scraper components for resi (miners' scrapers and validators' verifiers).
//!
//! - [`manifest`]: `scraper.toml`: which wasm (pinned by sha256), which hosts it may reach,
//!   rate limits, timeouts, memory, config values and secret names.
//! - [`gate`]: the HTTP gate behind `resi:scraper/http.fetch`: allowlist, DNS answers checked
//!   at connect time (no private, loopback or link-local addresses unless an IP literal is
//!   allowlisted), redirects handed back to the guest (each hop re-checked), per-host rate
//!   limits, timeouts, response-size cap, optional proxy, secrets injected by name.
//! - [`host`]: the [`resi_sandbox::scraper::ScraperHost`] that ties a gate, a listing sink and
//!   logging together.

pub mod gate;
pub mod host;
pub mod manifest;

pub use gate::HttpGate;
pub use host::{ListingSink, ManifestHost, MemorySink};
pub use manifest::ScraperManifest;
