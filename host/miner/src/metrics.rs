//! The miner's Prometheus series (served by `resi miner run --metrics-addr`):
//!
//! | series | type | labels |
//! |---|---|---|
//! | `resi_miner_listings_scraped_total` | counter | |
//! | `resi_miner_listings_uploaded_total` | counter | |
//! | `resi_miner_zipcode_listings` | gauge, this epoch | `zipcode`, `stage` (`scraped`, `uploaded`) |
//! | `resi_miner_scrapes_total` | counter | `result` (`ok`, `failed`, `interrupted`) |
//! | `resi_miner_scrape_retries_total` | counter | |
//! | `resi_miner_uploads_total` | counter | `result` (`ok`, `failed`) |
//! | `resi_miner_retries_total` | counter | `what` (`assignment`, `status`, `upload`) |
//! | `resi_miner_scraper_fuel` | histogram | |
//! | `resi_miner_scraper_peak_memory_bytes` | histogram | |
//! | `resi_miner_scraper_seconds` | histogram | |
//! | `resi_miner_assignment_to_upload_seconds` | histogram | |
//! | `resi_miner_epoch_start_seconds` | gauge | |
//! | `resi_miner_zipcodes` | gauge, this epoch | `state` |
//!
//! The per-zipcode gauges hold the current epoch only (cleared when a new epoch starts), so the
//! number of series stays bounded over months of mining.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `result` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// Outcome.
    pub result: &'static str,
}

/// `what` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WhatLabel {
    /// What was retried.
    pub what: &'static str,
}

/// `zipcode` and `stage` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ZipcodeStage {
    /// Zipcode.
    pub zipcode: String,
    /// `scraped` or `uploaded`.
    pub stage: &'static str,
}

/// `state` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    /// Zipcode state (`assigned`, `scraping`, `scraped`, `uploaded`, `reported`, `failed`).
    pub state: String,
}

fn histogram(buckets: impl Iterator<Item = f64>) -> Histogram {
    Histogram::new(buckets)
}

/// Every series of the miner; cheap to update from any task.
#[derive(Debug, Clone)]
pub struct MinerMetrics {
    /// Listings committed from scraper batches.
    pub listings_scraped: Counter,
    /// Listings in uploaded submissions.
    pub listings_uploaded: Counter,
    /// Per zipcode of the current epoch.
    pub zipcode_listings: Family<ZipcodeStage, Gauge>,
    /// Scrape attempts by result.
    pub scrapes: Family<ResultLabel, Counter>,
    /// Scrape attempts after the first of a zipcode.
    pub scrape_retries: Counter,
    /// Zipcode uploads by result.
    pub uploads: Family<ResultLabel, Counter>,
    /// Retries of network calls.
    pub retries: Family<WhatLabel, Counter>,
    /// Fuel a scrape used.
    pub scraper_fuel: Histogram,
    /// Peak linear memory of a scrape.
    pub scraper_memory: Histogram,
    /// Wall time of a scrape.
    pub scraper_seconds: Histogram,
    /// From the epoch's assignment (first seen) to a zipcode's upload.
    pub assignment_to_upload: Histogram,
    /// Start of the epoch being mined, unix seconds.
    pub epoch_start: Gauge,
    /// Zipcodes of the current epoch by state.
    pub zipcodes: Family<StateLabel, Gauge>,
}

impl Default for MinerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl MinerMetrics {
    /// Fresh series (not registered anywhere yet).
    pub fn new() -> Self {
        MinerMetrics {
            listings_scraped: Counter::default(),
            listings_uploaded: Counter::default(),
            zipcode_listings: Family::default(),
            scrapes: Family::default(),
            scrape_retries: Counter::default(),
            uploads: Family::default(),
            retries: Family::default(),
            scraper_fuel: histogram(exponential_buckets(1e6, 4.0, 14)),
            scraper_memory: histogram(exponential_buckets(1_048_576.0, 2.0, 12)),
            scraper_seconds: histogram(exponential_buckets(0.05, 2.0, 16)),
            assignment_to_upload: histogram(exponential_buckets(1.0, 2.0, 16)),
            epoch_start: Gauge::default(),
            zipcodes: Family::default(),
        }
    }

    /// Registers every series under `miner_` in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("miner");
        r.register(
            "listings_scraped",
            "Listings committed from scraper batches",
            self.listings_scraped.clone(),
        );
        r.register(
            "listings_uploaded",
            "Listings in uploaded submissions",
            self.listings_uploaded.clone(),
        );
        r.register(
            "zipcode_listings",
            "Listings per zipcode of the current epoch, scraped and uploaded",
            self.zipcode_listings.clone(),
        );
        r.register("scrapes", "Scrape attempts by result", self.scrapes.clone());
        r.register(
            "scrape_retries",
            "Scrape attempts after a zipcode's first",
            self.scrape_retries.clone(),
        );
        r.register("uploads", "Zipcode uploads by result", self.uploads.clone());
        r.register(
            "retries",
            "Retries of coordinator and object store calls",
            self.retries.clone(),
        );
        r.register(
            "scraper_fuel",
            "Fuel used by one scrape",
            self.scraper_fuel.clone(),
        );
        r.register(
            "scraper_peak_memory_bytes",
            "Peak linear memory of one scrape",
            self.scraper_memory.clone(),
        );
        r.register(
            "scraper_seconds",
            "Wall time of one scrape",
            self.scraper_seconds.clone(),
        );
        r.register(
            "assignment_to_upload_seconds",
            "Time from the epoch's assignment to a zipcode's upload",
            self.assignment_to_upload.clone(),
        );
        r.register(
            "epoch_start_seconds",
            "Start of the epoch being mined (unix seconds)",
            self.epoch_start.clone(),
        );
        r.register(
            "zipcodes",
            "Zipcodes of the current epoch by state",
            self.zipcodes.clone(),
        );
    }

    /// A new epoch: forget the last one's per-zipcode series.
    pub fn new_epoch(&self, start_unix: i64) {
        self.zipcode_listings.clear();
        self.zipcodes.clear();
        self.epoch_start.set(start_unix);
    }

    /// Sets a zipcode's listings at `stage`.
    pub fn zipcode(&self, zipcode: &str, stage: &'static str, listings: u64) {
        self.zipcode_listings
            .get_or_create(&ZipcodeStage {
                zipcode: zipcode.to_owned(),
                stage,
            })
            .set(i64::try_from(listings).unwrap_or(i64::MAX));
    }

    /// Counts one outcome.
    pub fn result(family: &Family<ResultLabel, Counter>, result: &'static str) {
        family.get_or_create(&ResultLabel { result }).inc();
    }
}
