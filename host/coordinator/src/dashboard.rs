//! The coordinator's epoch dashboard (`/dashboard`, [`resi_dashboard`]): what the coordinator
//! knows of each epoch (its assignments, honeypots once the deadline has passed, the miners'
//! status reports) plus what its object store holds (the miners' deliveries and the
//! validators' published reports, their agreement counted over the validators the chain
//! permits).
//!
//! Only epochs that have started are shown (as `/epoch/{id}` answers nothing earlier), and the
//! honeypot flags only after the submission deadline (as `/epoch/{id}` reveals them). Status
//! reports are read over a read-only SQLite connection of their own.

use crate::epochs::status_at;
use crate::server::AppState;
use futures::future::BoxFuture;
use resi_core::keys::PublicKey;
use resi_core::wire::StatusRequest;
use resi_dashboard::Peers;
use resi_dashboard::source::{MAX_LISTED_EPOCHS, epoch_start_ms};
use resi_dashboard::view::{AssignmentView, MinerStatusView, ReportView};
use resi_dashboard::{DashboardError, EpochSource, EpochSummary, EpochView};
use rusqlite::{Connection, OpenFlags, params};
use std::sync::{Arc, Mutex, PoisonError};

/// Most status reports shown for one epoch.
pub const MAX_STATUSES: u32 = 1024;

/// The dashboard's routes over the coordinator's state.
pub fn router<S: Clone + Send + Sync + 'static>(state: &Arc<AppState>) -> axum::Router<S> {
    resi_dashboard::router(Arc::new(CoordinatorSource::new(state.clone())))
}

/// The coordinator's [`EpochSource`].
pub struct CoordinatorSource {
    state: Arc<AppState>,
    /// Opened on first use (the database exists once the coordinator runs).
    conn: Arc<Mutex<Option<Connection>>>,
}

impl CoordinatorSource {
    /// A source over the coordinator's state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self {
            state,
            conn: Arc::new(Mutex::new(None)),
        }
    }

    fn now(&self) -> i64 {
        (self.state.clock)()
    }

    async fn list(&self) -> Result<Vec<EpochSummary>, DashboardError> {
        let db = self.state.db.clone();
        let limit = u32::try_from(MAX_LISTED_EPOCHS).unwrap_or(u32::MAX);
        let rows = tokio::task::spawn_blocking(move || db.recent(limit))
            .await
            .map_err(source("listing epochs"))?
            .map_err(source("reading the coordinator database"))?;
        let now = self.now();
        let len = i64::from(self.state.epochs.schedule.length_secs());
        Ok(rows
            .into_iter()
            .map(|(id, stored, _, _)| {
                let start_ms = epoch_start_ms(&id);
                // The stored status trails the clock by up to one scheduler tick.
                let status = start_ms.map_or(stored, |ms| {
                    let start = ms.div_euclid(1000);
                    status_at(start, start + len, now).to_owned()
                });
                EpochSummary {
                    start_ms,
                    epoch_id: id,
                    status: Some(status),
                }
            })
            .filter(|e| e.start_ms.is_none_or(|s| s <= now.saturating_mul(1000)))
            .collect())
    }

    async fn view(&self, id: &str) -> Result<Option<EpochView>, DashboardError> {
        let epochs = self.state.epochs.clone();
        let id2 = id.to_owned();
        let rec = tokio::task::spawn_blocking(move || epochs.get(&id2))
            .await
            .map_err(source("reading an epoch"))?
            .map_err(source("reading the coordinator database"))?;
        let now = self.now();
        let Some(rec) = rec.filter(|r| r.row.start_ts <= now) else {
            return Ok(None);
        };
        let revealed = now >= rec.row.end_ts;
        let mut v = EpochView::new("coordinator", id);
        v.status = Some(status_at(rec.row.start_ts, rec.row.end_ts, now).to_owned());
        v.start_ms = Some(rec.row.start_ts.saturating_mul(1000));
        v.deadline_ms = Some(rec.row.end_ts.saturating_mul(1000));
        v.assignments = rec
            .zipcodes
            .iter()
            .map(|z| AssignmentView {
                zipcode: z.zipcode.clone(),
                expected: Some(z.expected_listings),
                honeypot: revealed.then_some(z.is_honeypot),
                true_count: (revealed && z.is_honeypot).then_some(0),
                city: Some(z.city.clone()),
                state: Some(z.state.clone()),
            })
            .collect();
        if !revealed {
            v.notes
                .push("honeypots are revealed once the submission deadline has passed".into());
        }
        v.statuses = self.statuses(id).await?;
        let peers = self.peers(id, &mut v.notes).await?;
        let found =
            resi_dashboard::store::reports(&self.state.store, id, None, peers.as_ref()).await?;
        v.report = found.shown.as_ref().map(ReportView::from_report);
        v.agreement = found.agreement;
        v.deliveries =
            resi_dashboard::store::deliveries(&self.state.store, id, &v.hotkeys(), v.deadline_ms)
                .await?;
        Ok(Some(v))
    }

    /// The validators with a permit among the folders holding a report for `id`; `None` (and a
    /// note) when the chain cannot be read.
    async fn peers(
        &self,
        id: &str,
        notes: &mut Vec<String>,
    ) -> Result<Option<Peers>, DashboardError> {
        let suffix = format!("/epoch={id}/validation_report.json");
        let folders: Vec<PublicKey> = self
            .state
            .store
            .list("validators/")
            .await?
            .into_iter()
            .filter(|m| m.key.ends_with(&suffix))
            .filter_map(|m| {
                let who = m.key.strip_prefix("validators/")?.split('/').next()?;
                PublicKey::from_ss58(who).ok()
            })
            .take(resi_dashboard::store::MAX_REPORTS)
            .collect();
        let mut permitted = Vec::new();
        for k in folders {
            match self.state.registry.lookup(k.as_bytes()).await {
                Ok(crate::registry::Membership::Validator) => permitted.push(k),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %resi_core::error::ErrorChain(&e), "dashboard: validator permits");
                    notes.push(
                        "the chain could not be read: validator permits are not checked".into(),
                    );
                    return Ok(None);
                }
            }
        }
        Ok(Some(Peers::from_keys(permitted)))
    }

    async fn statuses(&self, id: &str) -> Result<Vec<MinerStatusView>, DashboardError> {
        let path = self.state.config.data_dir.join("coordinator.sqlite");
        let conn = self.conn.clone();
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            if guard.is_none() {
                let c = Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                *guard = Some(c);
            }
            let Some(c) = guard.as_ref() else {
                return Ok(Vec::new());
            };
            let mut st = c.prepare_cached(
                "SELECT hotkey, status, s3_upload_complete, listings_scraped, body, received_at
                 FROM statuses WHERE epoch_id = ?1 ORDER BY hotkey LIMIT ?2",
            )?;
            let rows = st.query_map(params![id, MAX_STATUSES], |r| {
                let body: String = r.get(4)?;
                let zipcodes = serde_json::from_str::<StatusRequest>(&body)
                    .ok()
                    .and_then(|s| s.zipcodes_completed)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|z| (z.zipcode, z.listings_scraped, z.completed_at))
                    .collect();
                Ok(MinerStatusView {
                    hotkey: r.get(0)?,
                    status: r.get(1)?,
                    upload_complete: r.get(2)?,
                    listings: r
                        .get::<_, Option<i64>>(3)?
                        .and_then(|n| u64::try_from(n).ok()),
                    received_ms: r.get::<_, i64>(5)?.saturating_mul(1000),
                    zipcodes,
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(source("reading status reports"))?
        .map_err(DashboardError::Db)
    }
}

fn source<E: std::error::Error + Send + Sync + 'static>(
    what: &'static str,
) -> impl FnOnce(E) -> DashboardError {
    move |e| DashboardError::Source {
        what,
        source: Box::new(e),
    }
}

impl EpochSource for CoordinatorSource {
    fn name(&self) -> &str {
        "coordinator"
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
