//! Where a dashboard's epochs come from: the [`EpochSource`] trait the router serves, and the
//! validator's source, [`ValidatorSource`], over what a validator already keeps: its reports in
//! the object store (`validators/{hotkey}/epoch={id}/`), the other validators' reports, the
//! miners' objects, and optionally its SQLite database (weights set) and the epoch facts it
//! fetched from the coordinator (assignments, honeypots).

use crate::store::{deliveries, reports};
use crate::view::{AssignmentView, EpochSummary, EpochView, ReportView, WeightsView};
use futures::future::BoxFuture;
use resi_store::{Store, StoreError};
use resi_validator::db::Db;
use resi_validator::{EpochFacts, Peers};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

/// Most epochs an epoch list names.
pub const MAX_LISTED_EPOCHS: usize = 200;
/// Epoch facts a [`ValidatorSource`] remembers (the newest).
pub const REMEMBERED_FACTS: usize = 64;

/// Why a source could not answer.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The object store failed.
    #[error("reading the object store")]
    Store(#[from] StoreError),
    /// The validator's database failed.
    #[error("reading the validator database")]
    Db(#[from] rusqlite::Error),
    /// Another part of the serving role failed (e.g. the coordinator's database).
    #[error("{what}")]
    Source {
        /// What was being read.
        what: &'static str,
        /// Underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The epochs a role can show.
pub trait EpochSource: Send + Sync + 'static {
    /// `coordinator` or `validator` (shown on the page).
    fn name(&self) -> &str;
    /// The epochs known, newest first (at most [`MAX_LISTED_EPOCHS`]).
    fn epochs(&self) -> BoxFuture<'_, Result<Vec<EpochSummary>, DashboardError>>;
    /// One epoch's view; `None` when the source knows nothing of it. `id` has passed
    /// [`valid_epoch_id`].
    fn epoch<'a>(&'a self, id: &'a str)
    -> BoxFuture<'a, Result<Option<EpochView>, DashboardError>>;
}

/// True for a plausible epoch id (what may go into a store prefix): 1 to 64 characters of
/// `A-Z a-z 0-9 - _ : .`, not starting with `.`.
pub fn valid_epoch_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
}

/// Start of an epoch from its id, unix milliseconds, when the id is a resi epoch id.
pub fn epoch_start_ms(id: &str) -> Option<i64> {
    resi_core::epoch::EpochId::parse(id)
        .ok()
        .map(|e| e.start().timestamp_millis())
}

/// The validator's dashboard source.
///
/// Build it with [`ValidatorSource::new`] from the store the validator publishes to and its
/// hotkey; add its database with [`ValidatorSource::with_db`] (weights set), and feed it with
/// [`ValidatorSource::record_facts`] each epoch (assignments and honeypots, which no report
/// holds) and [`ValidatorSource::set_peers`] (count only permitted validators' reports).
pub struct ValidatorSource {
    store: Store,
    hotkey: String,
    db: Option<Arc<Db>>,
    peers: Mutex<Option<Peers>>,
    facts: Mutex<VecDeque<EpochFacts>>,
}

impl ValidatorSource {
    /// A source over `store` (where `validators/{hotkey}/` holds this validator's reports; a
    /// directory of reports works as `Store::local(dir)`) for the validator `hotkey` (SS58).
    pub fn new(store: Store, hotkey: impl Into<String>) -> Self {
        Self {
            store,
            hotkey: hotkey.into(),
            db: None,
            peers: Mutex::new(None),
            facts: Mutex::new(VecDeque::new()),
        }
    }

    /// Adds the validator's database (the weights it set per epoch).
    pub fn with_db(mut self, db: Arc<Db>) -> Self {
        self.db = Some(db);
        self
    }

    /// The validators whose reports count in the agreement shown (from the metagraph); until
    /// set, every validly signed report counts and the page says permits were not checked.
    pub fn set_peers(&self, peers: Peers) {
        *self.peers.lock().unwrap_or_else(PoisonError::into_inner) = Some(peers);
    }

    /// Remembers an epoch's facts (the newest [`REMEMBERED_FACTS`] are kept).
    pub fn record_facts(&self, facts: &EpochFacts) {
        let mut f = self.facts.lock().unwrap_or_else(PoisonError::into_inner);
        f.retain(|x| x.epoch_id != facts.epoch_id);
        f.push_back(facts.clone());
        while f.len() > REMEMBERED_FACTS {
            f.pop_front();
        }
    }

    fn facts_of(&self, id: &str) -> Option<EpochFacts> {
        self.facts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|f| f.epoch_id == id)
            .cloned()
    }

    async fn list(&self) -> Result<Vec<EpochSummary>, DashboardError> {
        let prefix = format!("validators/{}/", self.hotkey);
        let mut ids: Vec<String> = self
            .store
            .list(&prefix)
            .await?
            .into_iter()
            .filter_map(|m| {
                let rest = m.key.strip_prefix(&prefix)?;
                let id = rest
                    .strip_suffix("/validation_report.json")?
                    .strip_prefix("epoch=")?;
                valid_epoch_id(id).then(|| id.to_owned())
            })
            .collect();
        ids.extend(
            self.facts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|f| f.epoch_id.clone()),
        );
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        ids.truncate(MAX_LISTED_EPOCHS);
        Ok(ids
            .into_iter()
            .map(|id| EpochSummary {
                start_ms: epoch_start_ms(&id),
                epoch_id: id,
                status: None,
            })
            .collect())
    }

    async fn view(&self, id: &str) -> Result<Option<EpochView>, DashboardError> {
        let mut v = EpochView::new("validator", id);
        v.start_ms = epoch_start_ms(id);
        let facts = self.facts_of(id);
        let peers = self
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let found = reports(&self.store, id, Some(&self.hotkey), peers.as_ref()).await?;
        let own_published = found
            .shown
            .as_ref()
            .is_some_and(|r| r.validator == self.hotkey);
        if !own_published {
            v.notes.push(format!(
                "no report of this validator ({}) is counted for this epoch",
                self.hotkey
            ));
        }
        v.report = found.shown.as_ref().map(ReportView::from_report);
        v.agreement = found.agreement;
        // The deadline: the facts, else this validator's epoch_metadata.json.
        v.deadline_ms = match &facts {
            Some(f) => i64::try_from(f.deadline_ms).ok(),
            None => self.metadata_deadline(id).await,
        };
        v.assignments = match &facts {
            Some(f) => f
                .assignments
                .iter()
                .map(|a| AssignmentView {
                    zipcode: a.zipcode.clone(),
                    expected: Some(a.expected),
                    honeypot: Some(a.honeypot),
                    true_count: a.honeypot.then_some(a.true_count),
                    city: None,
                    state: None,
                })
                .collect(),
            None => {
                if v.report.is_some() {
                    v.notes.push(
                        "the epoch's facts are not remembered (restart?): zipcodes from the outcome, without expected counts or honeypots".into(),
                    );
                }
                v.report
                    .iter()
                    .flat_map(|r| &r.zipcodes)
                    .map(|z| AssignmentView {
                        zipcode: z.zipcode.clone(),
                        expected: None,
                        honeypot: None,
                        true_count: None,
                        city: None,
                        state: None,
                    })
                    .collect()
            }
        };
        if let Some(db) = &self.db {
            let db = db.clone();
            let id2 = id.to_owned();
            let w = tokio::task::spawn_blocking(move || db.recorded_weights(&id2))
                .await
                .map_err(|e| DashboardError::Source {
                    what: "reading the validator database",
                    source: Box::new(e),
                })??;
            v.weights = w.map(|w| WeightsView {
                uids: w.uids,
                weights: w.weights,
                tx: w.tx,
            });
        }
        if v.report.is_none() && v.agreement.is_none() && facts.is_none() && v.weights.is_none() {
            return Ok(None);
        }
        v.deliveries = deliveries(&self.store, id, &v.hotkeys(), v.deadline_ms).await?;
        Ok(Some(v))
    }

    async fn metadata_deadline(&self, id: &str) -> Option<i64> {
        let key = format!("validators/{}/epoch={id}/epoch_metadata.json", self.hotkey);
        let b = self.store.get(&key, 1 << 20).await.ok()?;
        let m: serde_json::Value = serde_json::from_slice(&b).ok()?;
        m["deadline_ms"].as_i64()
    }
}

impl EpochSource for ValidatorSource {
    fn name(&self) -> &str {
        "validator"
    }

    fn epochs(&self) -> BoxFuture<'_, Result<Vec<EpochSummary>, DashboardError>> {
        Box::pin(self.list())
    }

    fn epoch<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<EpochView>, DashboardError>> {
        Box::pin(self.view(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_ids_that_may_enter_a_store_prefix() {
        assert!(valid_epoch_id("2025-10-01T16-00-00"));
        for bad in [
            "",
            "..",
            "../x",
            "a/b",
            ".hidden",
            "a b",
            "x<y",
            &"1".repeat(65),
        ] {
            assert!(!valid_epoch_id(bad), "{bad:?}");
        }
        assert_eq!(
            epoch_start_ms("2025-10-01T16-00-00"),
            Some(1_759_334_400_000)
        );
        assert_eq!(epoch_start_ms("nope"), None);
    }
}
