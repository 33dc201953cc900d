//! [`SqliteSink`]: the [`ListingSink`] of the miner. Each emitted batch is converted, validated
//! (reasons recorded per listing), deduplicated by unique key and committed in one SQLite
//! transaction before the guest is allowed to continue.

use crate::state::{BatchOutcome, StateDb};
use resi_sandbox::scraper::wit;
use resi_scraper::ListingSink;
use std::sync::{Arc, Mutex};

/// Commits batches of one (epoch, zipcode) to the state database.
pub struct SqliteSink {
    db: Arc<Mutex<StateDb>>,
    epoch_id: String,
    zipcode: String,
    /// Totals over this sink's batches.
    pub totals: BatchOutcome,
    /// Called after each committed batch with the batch's outcome (progress display).
    on_batch: Option<Box<dyn Fn(BatchOutcome) + Send>>,
}

impl SqliteSink {
    /// A sink writing to `db` for `epoch_id`/`zipcode`.
    pub fn new(db: Arc<Mutex<StateDb>>, epoch_id: &str, zipcode: &str) -> Self {
        Self {
            db,
            epoch_id: epoch_id.to_owned(),
            zipcode: zipcode.to_owned(),
            totals: BatchOutcome::default(),
            on_batch: None,
        }
    }

    /// Sets a callback run after each committed batch.
    pub fn on_batch(mut self, f: impl Fn(BatchOutcome) + Send + 'static) -> Self {
        self.on_batch = Some(Box::new(f));
        self
    }
}

impl ListingSink for SqliteSink {
    async fn commit(&mut self, batch: Vec<wit::Listing>) -> Result<(), String> {
        let listings: Vec<_> = batch
            .into_iter()
            .map(resi_core::listing::Listing::from)
            .collect();
        let db = self.db.clone();
        let (epoch, zip) = (self.epoch_id.clone(), self.zipcode.clone());
        let outcome = tokio::task::spawn_blocking(move || {
            let mut db = db
                .lock()
                .map_err(|_| "state database lock poisoned".to_owned())?;
            db.insert_batch(&epoch, &zip, &listings)
                .map_err(|e| resi_core::error::ErrorChain(&e).to_string())
        })
        .await
        .map_err(|e| format!("state database task: {e}"))??;
        self.totals.inserted += outcome.inserted;
        self.totals.duplicates += outcome.duplicates;
        self.totals.invalid += outcome.invalid;
        if let Some(f) = &self.on_batch {
            f(outcome);
        }
        Ok(())
    }
}
