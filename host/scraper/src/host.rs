//! The [`ScraperHost`] that runs a scraper under its manifest: fetches through the
//! [`HttpGate`], hands emitted batches to a [`ListingSink`] (which commits them durably before
//! the guest continues), caps the number of listings, and logs under the scraper's name.

use crate::gate::HttpGate;
use resi_sandbox::scraper::wit::{FetchError, Level, Listing, Request, Response};
use resi_sandbox::scraper::{HostAbort, ScraperHost};
use std::future::Future;

/// Where emitted listings go (SQLite in the miner, memory in `resi scraper test`).
pub trait ListingSink: Send + 'static {
    /// Commits a batch; returns only once it is durable. An error aborts the scraper.
    fn commit(&mut self, batch: Vec<Listing>) -> impl Future<Output = Result<(), String>> + Send;
}

/// A sink that keeps listings in memory.
#[derive(Debug, Default)]
pub struct MemorySink {
    /// Everything emitted, in order.
    pub listings: Vec<Listing>,
    /// Number of batches.
    pub batches: usize,
}

impl ListingSink for MemorySink {
    async fn commit(&mut self, batch: Vec<Listing>) -> Result<(), String> {
        self.batches += 1;
        self.listings.extend(batch);
        Ok(())
    }
}

/// The host side of one scraper call.
pub struct ManifestHost<S> {
    gate: HttpGate,
    /// The listing sink.
    pub sink: S,
    name: String,
    max_listings: u64,
    /// Listings emitted so far.
    pub emitted: u64,
    /// Requests made so far.
    pub requests: u64,
}

impl<S: ListingSink> ManifestHost<S> {
    /// A host for scraper `name` using `gate`, sending listings to `sink`, at most
    /// `max_listings` of them.
    pub fn new(name: &str, gate: HttpGate, sink: S, max_listings: u64) -> Self {
        ManifestHost {
            gate,
            sink,
            name: name.to_string(),
            max_listings,
            emitted: 0,
            requests: 0,
        }
    }
}

impl<S: ListingSink> ScraperHost for ManifestHost<S> {
    async fn fetch(&mut self, request: Request) -> Result<Response, FetchError> {
        self.requests += 1;
        self.gate.fetch(request).await
    }

    async fn emit(&mut self, batch: Vec<Listing>) -> Result<(), HostAbort> {
        let after = self.emitted + batch.len() as u64;
        if after > self.max_listings {
            return Err(HostAbort(format!(
                "scraper {} emitted more than its cap of {} listings",
                self.name, self.max_listings
            )));
        }
        self.sink
            .commit(batch)
            .await
            .map_err(|e| HostAbort(format!("storing listings of scraper {}: {e}", self.name)))?;
        self.emitted = after;
        Ok(())
    }

    fn log(&mut self, level: Level, message: String) {
        let name = self.name.as_str();
        match level {
            Level::Trace => tracing::trace!(scraper = name, "{message}"),
            Level::Debug => tracing::debug!(scraper = name, "{message}"),
            Level::Info => tracing::info!(scraper = name, "{message}"),
            Level::Warn => tracing::warn!(scraper = name, "{message}"),
            Level::Error => tracing::error!(scraper = name, "{message}"),
        }
    }
}
