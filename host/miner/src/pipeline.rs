//! The [`Miner`]: polls epochs and runs each through scrape -> SQLite -> parquet + manifest ->
//! presigned upload -> status report, resuming from the state database after any crash.

use crate::metrics::MinerMetrics;
use crate::sink::SqliteSink;
use crate::state::{StateDb, StateError, ZipRow, ZipState};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt as _;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use resi_client::{ApiClient, StatusUpdate};
use resi_core::Hotkey;
use resi_core::error::ErrorChain;
use resi_core::wire::{AssignmentResponse, MinerStatus, PresignedPost, ZipcodeCompleted};
use resi_sandbox::scraper::wit::Task;
use resi_sandbox::scraper::{Scraper, ScraperEngine, ScraperEngineOptions};
use resi_scraper::gate::GateError;
use resi_scraper::manifest::LoadedScraper;
use resi_scraper::{HttpGate, ManifestHost};
use resi_submission::manifest::{ScraperInfo, UnsignedManifest};
use resi_submission::{ObjectKey, SubmissionFile, UpstreamSubmission};
use std::future::Future;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

type Host = ManifestHost<SqliteSink>;

/// Miner settings.
#[derive(Debug, Clone)]
pub struct MinerConfig {
    /// Directory of the state database (`miner.sqlite`).
    pub data_dir: PathBuf,
    /// Zipcodes scraped at once.
    pub concurrency: usize,
    /// Run one epoch, then return.
    pub once: bool,
    /// Also upload the upstream JSON format (`data_{YYYYmmdd_HHMMSS}.json`).
    pub upstream_json: bool,
    /// Coldkey SS58 address (signed into `/get-folder-access`).
    pub coldkey: String,
    /// Wait between polls when the current epoch is already done.
    pub poll_interval: Duration,
    /// Scrape attempts per zipcode before it is given up.
    pub max_attempts: u32,
    /// Longest backoff between retries of an unreachable service.
    pub max_backoff: Duration,
    /// Show progress bars (else structured logs only).
    pub progress: bool,
    /// The miner's Prometheus series (registered by whoever serves them).
    pub metrics: MinerMetrics,
    /// What `/healthcheck` reports.
    pub health: Arc<resi_ops::Health>,
    /// Asked for by SIGTERM/SIGINT: no new zipcode or poll starts, a scrape in progress stops
    /// (its committed batches are kept and it resumes on the next start), an upload in progress
    /// finishes, and [`Miner::run`] returns with what was left in [`EpochSummary::stopped`].
    pub shutdown: resi_ops::Shutdown,
}

impl MinerConfig {
    /// Defaults: concurrency 4, poll every 30 s, 3 attempts, backoff up to 30 s, progress bars
    /// when stderr is a terminal.
    pub fn new(data_dir: PathBuf, coldkey: String) -> Self {
        Self {
            data_dir,
            concurrency: 4,
            once: false,
            upstream_json: false,
            coldkey,
            poll_interval: Duration::from_secs(30),
            max_attempts: 3,
            max_backoff: Duration::from_secs(30),
            progress: std::io::stderr().is_terminal(),
            metrics: MinerMetrics::new(),
            health: Arc::new(resi_ops::Health::new("miner")),
            shutdown: resi_ops::Shutdown::new(),
        }
    }
}

/// Why the miner stopped.
#[derive(Debug, Error)]
pub enum MinerError {
    /// The state database failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The scraper component could not be loaded.
    #[error("loading the scraper component")]
    Scraper(#[from] resi_sandbox::SandboxError),
    /// The scraper's HTTP gate could not be built from its manifest.
    #[error("building the scraper's HTTP gate")]
    Gate(#[from] GateError),
    /// The data directory cannot be created.
    #[error("cannot create the data directory {path}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The assignment is malformed.
    #[error("assignment for epoch {epoch}: {detail}")]
    Assignment {
        /// Epoch id.
        epoch: String,
        /// What is wrong.
        detail: String,
    },
    /// Building the submission files failed.
    #[error("building submission of zipcode {zipcode}: {detail}")]
    Build {
        /// Zipcode.
        zipcode: String,
        /// What failed.
        detail: String,
    },
    /// A background task panicked.
    #[error("miner task failed: {0}")]
    Task(String),
}

/// What a failed attempt of [`Miner::retry`] says: an error with its whole cause chain, or a
/// message as is.
trait Reason {
    fn reason(&self) -> String;
}

impl Reason for String {
    fn reason(&self) -> String {
        self.clone()
    }
}

impl Reason for resi_client::ApiError {
    fn reason(&self) -> String {
        ErrorChain(self).to_string()
    }
}

/// What one epoch produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochSummary {
    /// Epoch id.
    pub epoch_id: String,
    /// Zipcodes uploaded (and reported).
    pub uploaded: Vec<(String, u64)>,
    /// Zipcodes given up, with the last error.
    pub failed: Vec<(String, String)>,
    /// Final status sent (COMPLETED/FAILED), None if the report could not be delivered.
    pub final_status: Option<String>,
    /// Set when shutdown stopped the epoch: the reason, and the zipcodes left with their
    /// state (they resume on the next start with the same data directory).
    pub stopped: Option<(String, Vec<(String, String)>)>,
}

/// The miner.
pub struct Miner {
    client: ApiClient,
    hotkey: Hotkey,
    loaded: LoadedScraper,
    scraper: Scraper<Host>,
    cfg: MinerConfig,
    grant: tokio::sync::Mutex<Option<PresignedPost>>,
    bars: MultiProgress,
}

fn now_str() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Miner {
    /// A miner signing with `hotkey`, talking to `client`'s coordinator, scraping with the
    /// pinned component of `loaded`.
    pub fn new(
        client: ApiClient,
        hotkey: Hotkey,
        loaded: LoadedScraper,
        cfg: MinerConfig,
    ) -> Result<Self, MinerError> {
        std::fs::create_dir_all(&cfg.data_dir).map_err(|source| MinerError::DataDir {
            path: cfg.data_dir.clone(),
            source,
        })?;
        let engine = ScraperEngine::<Host>::new(ScraperEngineOptions::default())?;
        let scraper = loaded.instantiate(&engine)?;
        let bars = MultiProgress::with_draw_target(if cfg.progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Ok(Self {
            client,
            hotkey,
            loaded,
            scraper,
            cfg,
            grant: tokio::sync::Mutex::new(None),
            bars,
        })
    }

    fn db_path(&self) -> PathBuf {
        self.cfg.data_dir.join("miner.sqlite")
    }

    fn open_db(&self) -> Result<StateDb, MinerError> {
        Ok(StateDb::open(&self.db_path())?)
    }

    /// Retries `f` with exponential backoff until it succeeds or `deadline` passes (None:
    /// forever). Every failure is logged with what was being done, and counted under `label`
    /// in `resi_miner_retries_total{what}`.
    async fn retry<T, E: Reason, Fut: Future<Output = Result<T, E>>>(
        &self,
        what: &str,
        label: &'static str,
        deadline: Option<DateTime<Utc>>,
        mut f: impl FnMut() -> Fut,
    ) -> Result<T, String> {
        let mut delay = Duration::from_millis(500);
        let mut attempt = 1u32;
        loop {
            match f().await {
                Ok(v) => {
                    if attempt > 1 {
                        tracing::info!(what, attempt, "succeeded after retries");
                    }
                    return Ok(v);
                }
                Err(e) => {
                    let msg = e.reason();
                    if deadline.is_some_and(|d| Utc::now() + delay > d) {
                        tracing::error!(what, attempt, error = %msg, "giving up: deadline reached");
                        return Err(msg);
                    }
                    if self.cfg.shutdown.is_triggered() {
                        tracing::warn!(what, attempt, error = %msg, "giving up: shutting down");
                        return Err(format!("{msg} (not retried: shutting down)"));
                    }
                    tracing::warn!(what, attempt, error = %msg, retry_in_ms = delay.as_millis() as u64, "failed; retrying");
                    self.cfg
                        .metrics
                        .retries
                        .get_or_create(&crate::metrics::WhatLabel { what: label })
                        .inc();
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.cfg.shutdown.wait() => {}
                    }
                    delay = (delay * 2).min(self.cfg.max_backoff);
                    attempt += 1;
                }
            }
        }
    }

    /// Runs epochs forever (or one with `once`). Returns only on a local error (state database,
    /// configuration); network problems are retried.
    pub async fn run(&self) -> Result<Vec<EpochSummary>, MinerError> {
        let mut done = Vec::new();
        loop {
            if self.cfg.shutdown.is_triggered() {
                return Ok(done);
            }
            let a = match self
                .retry(
                    "fetching the current assignment",
                    "assignment",
                    None,
                    || self.client.assignment_current(),
                )
                .await
            {
                Ok(a) => a,
                Err(_) if self.cfg.shutdown.is_triggered() => return Ok(done),
                Err(e) => {
                    return Err(MinerError::Assignment {
                        epoch: "current".into(),
                        detail: e,
                    });
                }
            };
            let epoch_id = a.epoch_id.to_string();
            if self.open_db()?.epoch_final_status(&epoch_id)?.is_some() {
                if self.cfg.once {
                    tracing::info!(epoch = %epoch_id, "epoch already completed");
                    return Ok(done);
                }
                self.cfg
                    .health
                    .progress(format!("epoch {epoch_id} done; waiting for the next"));
                tokio::select! {
                    _ = tokio::time::sleep(self.cfg.poll_interval) => {}
                    _ = self.cfg.shutdown.wait() => {}
                }
                continue;
            }
            let summary = self.run_epoch(&a).await?;
            let stopped = summary.stopped.is_some();
            done.push(summary);
            if self.cfg.once || stopped {
                return Ok(done);
            }
        }
    }

    /// Runs (or resumes) one epoch to its final status report.
    pub async fn run_epoch(&self, a: &AssignmentResponse) -> Result<EpochSummary, MinerError> {
        let epoch_id = a.epoch_id.to_string();
        let deadline = DateTime::parse_from_rfc3339(&a.submission_deadline)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| MinerError::Assignment {
                epoch: epoch_id.clone(),
                detail: format!("submissionDeadline {:?}: {e}", a.submission_deadline),
            })?;
        let zips: Vec<(String, u32)> = a
            .zipcodes
            .iter()
            .filter(|z| resi_core::listing::is_zipcode(&z.zipcode))
            .map(|z| (z.zipcode.clone(), z.expected_listings))
            .collect();
        let assignment_json = serde_json::to_string(a).unwrap_or_default();
        let mut db = self.open_db()?;
        db.add_epoch(
            &epoch_id,
            &a.nonce,
            &a.submission_deadline,
            &assignment_json,
            &zips,
        )?;
        tracing::info!(epoch = %epoch_id, zipcodes = zips.len(), deadline = %deadline, "epoch assigned");
        self.cfg.metrics.new_epoch(a.epoch_id.start_unix());
        self.count_states(&db, &epoch_id)?;

        if !db.started_reported(&epoch_id)? {
            let update = self.status(a, MinerStatus::InProgress, false, None, None);
            match self
                .retry("reporting IN_PROGRESS", "status", Some(deadline), || {
                    self.client.report_status(&update)
                })
                .await
            {
                Ok(_) => db.set_started_reported(&epoch_id)?,
                Err(e) => {
                    tracing::error!(epoch = %epoch_id, error = %e, "IN_PROGRESS not delivered")
                }
            }
        }

        let rows = db.zipcodes(&epoch_id)?;
        let overall = self.bars.add(ProgressBar::new(rows.len() as u64));
        overall.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} zipcodes {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        overall.set_prefix(format!("epoch {epoch_id}"));
        overall.inc(
            rows.iter()
                .filter(|r| {
                    matches!(
                        r.state,
                        ZipState::Uploaded | ZipState::Reported | ZipState::Failed
                    )
                })
                .count() as u64,
        );
        let work: Vec<ZipRow> = rows
            .into_iter()
            .filter(|r| {
                !matches!(
                    r.state,
                    ZipState::Uploaded | ZipState::Reported | ZipState::Failed
                )
            })
            .collect();
        let eid: &str = &epoch_id;
        let results: Vec<Result<(), MinerError>> = futures::stream::iter(work)
            .map(|row| {
                let overall = overall.clone();
                async move {
                    // Shutdown: zipcodes not started stay as they are and resume next start.
                    if self.cfg.shutdown.is_triggered() {
                        return Ok(());
                    }
                    let r = self.process_zipcode(a, eid, deadline, row).await;
                    overall.inc(1);
                    if let Ok(db) = self.open_db() {
                        let _ = self.count_states(&db, eid);
                    }
                    r
                }
            })
            .buffer_unordered(self.cfg.concurrency.max(1))
            .collect()
            .await;
        for r in results {
            r?;
        }
        overall.finish_and_clear();
        self.count_states(&db, &epoch_id)?;

        if let Some(reason) = self.cfg.shutdown.reason() {
            let rows = db.zipcodes(&epoch_id)?;
            let left: Vec<(String, String)> = rows
                .iter()
                .filter(|r| {
                    !matches!(
                        r.state,
                        ZipState::Uploaded | ZipState::Reported | ZipState::Failed
                    )
                })
                .map(|r| (r.zipcode.clone(), r.state.as_str().to_owned()))
                .collect();
            if !left.is_empty() {
                tracing::warn!(epoch = %epoch_id, reason = %reason, left = left.len(), "stopped before the epoch was done; restart with the same --data-dir to resume");
                return Ok(EpochSummary {
                    epoch_id,
                    uploaded: rows
                        .iter()
                        .filter(|r| matches!(r.state, ZipState::Uploaded | ZipState::Reported))
                        .map(|r| (r.zipcode.clone(), r.listing_count))
                        .collect(),
                    failed: Vec::new(),
                    final_status: None,
                    stopped: Some((reason, left)),
                });
            }
        }

        let rows = db.zipcodes(&epoch_id)?;
        let uploaded: Vec<&ZipRow> = rows
            .iter()
            .filter(|r| matches!(r.state, ZipState::Uploaded | ZipState::Reported))
            .collect();
        let failed: Vec<(String, String)> = rows
            .iter()
            .filter(|r| !matches!(r.state, ZipState::Uploaded | ZipState::Reported))
            .map(|r| {
                (
                    r.zipcode.clone(),
                    r.error.clone().unwrap_or_else(|| r.state.as_str().into()),
                )
            })
            .collect();
        let status = if uploaded.is_empty() && !rows.is_empty() {
            MinerStatus::Failed
        } else {
            MinerStatus::Completed
        };
        let completed: Vec<ZipcodeCompleted> = uploaded
            .iter()
            .map(|r| ZipcodeCompleted {
                zipcode: r.zipcode.clone(),
                listings_scraped: u32::try_from(r.listing_count).unwrap_or(u32::MAX),
                completed_at: r.finished_at.clone().unwrap_or_else(now_str),
            })
            .collect();
        let total: u64 = uploaded.iter().map(|r| r.listing_count).sum();
        let update = self.status(
            a,
            status,
            !uploaded.is_empty(),
            Some(total),
            Some(completed),
        );
        let status_name = if status == MinerStatus::Completed {
            "COMPLETED"
        } else {
            "FAILED"
        };
        let final_status = match self
            .retry(
                "reporting the final status",
                "status",
                Some(deadline + chrono::Duration::minutes(10)),
                || self.client.report_status(&update),
            )
            .await
        {
            Ok(_) => {
                db.set_final_status(&epoch_id, status_name)?;
                Some(status_name.to_owned())
            }
            Err(e) => {
                tracing::error!(epoch = %epoch_id, error = %e, "final status not delivered");
                None
            }
        };
        tracing::info!(epoch = %epoch_id, uploaded = uploaded.len(), failed = failed.len(), listings = total, status = status_name, "epoch done");
        self.cfg
            .health
            .progress(format!("epoch {epoch_id}: {status_name}"));
        Ok(EpochSummary {
            epoch_id,
            uploaded: uploaded
                .iter()
                .map(|r| (r.zipcode.clone(), r.listing_count))
                .collect(),
            failed,
            final_status,
            stopped: None,
        })
    }

    /// Sets the zipcodes-by-state gauge of the current epoch.
    fn count_states(&self, db: &StateDb, epoch_id: &str) -> Result<(), MinerError> {
        let mut counts = std::collections::BTreeMap::<&str, i64>::new();
        for r in db.zipcodes(epoch_id)? {
            *counts.entry(r.state.as_str()).or_default() += 1;
        }
        for state in [
            "assigned", "scraping", "scraped", "uploaded", "reported", "failed",
        ] {
            self.cfg
                .metrics
                .zipcodes
                .get_or_create(&crate::metrics::StateLabel {
                    state: state.into(),
                })
                .set(counts.get(state).copied().unwrap_or(0));
        }
        Ok(())
    }

    fn status(
        &self,
        a: &AssignmentResponse,
        status: MinerStatus,
        uploaded: bool,
        listings: Option<u64>,
        completed: Option<Vec<ZipcodeCompleted>>,
    ) -> StatusUpdate {
        StatusUpdate {
            epoch_id: a.epoch_id,
            nonce: a.nonce.clone(),
            status,
            s3_upload_complete: uploaded,
            listings_scraped: listings,
            zipcodes_completed: completed,
            s3_upload_timestamp: uploaded.then(now_str),
        }
    }

    /// Scrapes (if needed), builds (if needed) and uploads one zipcode.
    async fn process_zipcode(
        &self,
        a: &AssignmentResponse,
        epoch_id: &str,
        deadline: DateTime<Utc>,
        row: ZipRow,
    ) -> Result<(), MinerError> {
        let zip = row.zipcode.clone();
        let db = Arc::new(Mutex::new(self.open_db()?));
        if matches!(row.state, ZipState::Assigned | ZipState::Scraping) {
            if row.state == ZipState::Scraping {
                tracing::info!(zipcode = %zip, attempts = row.attempts, "resuming interrupted scrape");
            }
            let mut attempts = row.attempts;
            loop {
                attempts += 1;
                if attempts > 1 {
                    self.cfg.metrics.scrape_retries.inc();
                }
                let result = tokio::select! {
                    r = self.scrape_once(epoch_id, &zip, row.expected, deadline, &db) => r?,
                    _ = self.cfg.shutdown.wait() => {
                        // Dropping the call stops the guest; the batches it emitted are
                        // committed and the zipcode stays `scraping`, resumed on next start.
                        MinerMetrics::result(&self.cfg.metrics.scrapes, "interrupted");
                        tracing::warn!(zipcode = %zip, "scrape stopped by shutdown; it resumes on the next start");
                        return Ok(());
                    }
                };
                match result {
                    Ok(()) => break,
                    Err(e) => {
                        let give_up = attempts >= self.cfg.max_attempts || Utc::now() >= deadline;
                        tracing::warn!(zipcode = %zip, attempt = attempts, error = %e, give_up, "scrape failed");
                        with_db(&db, |d| d.scrape_error(epoch_id, &zip, &e, give_up))?;
                        if give_up {
                            return Ok(());
                        }
                    }
                }
            }
            self.build(a, epoch_id, &zip, &db)?;
        }
        self.upload(epoch_id, &zip, deadline, &db).await
    }

    /// One scrape attempt; the outer error is local (database), the inner one the scraper's.
    async fn scrape_once(
        &self,
        epoch_id: &str,
        zip: &str,
        expected: u32,
        deadline: DateTime<Utc>,
        db: &Arc<Mutex<StateDb>>,
    ) -> Result<Result<(), String>, MinerError> {
        let m = &self.loaded.manifest;
        with_db(db, |d| d.start_scrape(epoch_id, zip, &now_str()))?;
        let bar = self.bars.add(ProgressBar::new_spinner());
        bar.set_message(format!("{zip}: scraping"));
        let b2 = bar.clone();
        let zip2 = zip.to_owned();
        let sink = SqliteSink::new(db.clone(), epoch_id, zip).on_batch(move |o| {
            b2.inc(o.inserted);
            b2.set_message(format!("{zip2}: {} listings", b2.position()));
        });
        let gate = HttpGate::for_scraper(&self.loaded)?;
        let host = ManifestHost::new(&m.name, gate, sink, m.limits.max_listings);
        let own = Utc::now()
            + chrono::Duration::seconds(
                i64::try_from(m.limits.timeout_s).unwrap_or(i64::MAX / 2_000),
            );
        let task = Task {
            epoch_id: epoch_id.to_owned(),
            zipcode: zip.to_owned(),
            expected,
            deadline_ms: u64::try_from(own.min(deadline).timestamp_millis()).unwrap_or(0),
            config: m.config_pairs(),
        };
        let run = self.scraper.scrape(host, &task).await;
        bar.finish_and_clear();
        let t = run.host.sink.totals;
        let metrics = &self.cfg.metrics;
        metrics.scraper_fuel.observe(run.fuel_used as f64);
        metrics.scraper_memory.observe(run.peak_memory as f64);
        metrics.scraper_seconds.observe(run.elapsed.as_secs_f64());
        metrics.listings_scraped.inc_by(t.inserted);
        MinerMetrics::result(
            &metrics.scrapes,
            if run.result.is_ok() { "ok" } else { "failed" },
        );
        match run.result {
            Ok(s) => {
                tracing::info!(zipcode = %zip, emitted = s.emitted, new = t.inserted, duplicates = t.duplicates, invalid = t.invalid, requests = run.host.requests, elapsed_ms = run.elapsed.as_millis() as u64, "scraped");
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(format!("{} ({})", e, e.kind()))),
        }
    }

    /// Builds and stores `listings.parquet`, the optional upstream JSON and the signed
    /// `manifest.json`; moves the zipcode to `scraped`.
    fn build(
        &self,
        a: &AssignmentResponse,
        epoch_id: &str,
        zip: &str,
        db: &Arc<Mutex<StateDb>>,
    ) -> Result<(), MinerError> {
        let build_err = |detail: String| MinerError::Build {
            zipcode: zip.to_owned(),
            detail,
        };
        let (listings, row) = with_db(db, |d| {
            let mut l = d.valid_listings(epoch_id, zip)?;
            let dropped = resi_core::listing::retain_distinct(&mut l);
            if dropped > 0 {
                tracing::info!(zipcode = %zip, dropped, "dropped listings sharing a zpid, mls_id or address with another (they would fail G2)");
            }
            let row = d.zipcodes(epoch_id)?.into_iter().find(|r| r.zipcode == zip);
            Ok((l, row))
        })?;
        let row = row.ok_or_else(|| build_err("zipcode row vanished".into()))?;
        let hk = self.hotkey.ss58();
        let parquet = resi_submission::write_listings(&listings)
            .map_err(|e| build_err(ErrorChain(&e).to_string()))?;
        let finished = now_str();
        let m = &self.loaded.manifest;
        let manifest = UnsignedManifest {
            epoch_id: epoch_id.to_owned(),
            nonce: a.nonce.clone(),
            hotkey: hk.clone(),
            zipcode: zip.to_owned(),
            listing_count: listings.len() as u64,
            parquet_sha256: resi_submission::sha256_hex(&parquet),
            parquet_size: parquet.len() as u64,
            scraper: ScraperInfo {
                name: m.name.clone(),
                version: m.version.clone(),
                wasm_sha256: self.loaded.pin.to_string(),
            },
            mining_start_time: row.started_at.clone().unwrap_or_else(|| finished.clone()),
            mining_end_time: finished.clone(),
        }
        .sign(&self.hotkey);
        let key = |file: SubmissionFile| {
            ObjectKey::new(&hk, epoch_id, zip, file)
                .map(|k| k.to_key())
                .map_err(|e| build_err(e.to_string()))
        };
        let mut files = vec![(
            key(SubmissionFile::Listings)?,
            "listings.parquet".to_owned(),
            parquet,
        )];
        if self.cfg.upstream_json {
            let file = SubmissionFile::upstream_at(Utc::now());
            let name = file.file_name();
            let up = UpstreamSubmission {
                epoch_id: epoch_id.to_owned(),
                zipcode: zip.to_owned(),
                miner_hotkey: hk.clone(),
                submission_timestamp: finished.clone(),
                listing_count: listings.len() as u64,
                listings: listings.clone(),
            };
            files.push((key(file)?, name, up.to_json_bytes()));
        }
        files.push((
            key(SubmissionFile::Manifest)?,
            "manifest.json".to_owned(),
            manifest.to_json_bytes(),
        ));
        with_db(db, |d| {
            d.finish_scrape(epoch_id, zip, &finished, listings.len() as u64, &files)
        })?;
        self.cfg
            .metrics
            .zipcode(zip, "scraped", listings.len() as u64);
        tracing::info!(zipcode = %zip, listings = listings.len(), "submission built");
        Ok(())
    }

    async fn current_grant(&self) -> Result<PresignedPost, String> {
        let mut g = self.grant.lock().await;
        if let Some(p) = g.as_ref() {
            let fresh = match p.expiry {
                Some(resi_core::wire::Expiry::Unix(t)) => t > Utc::now().timestamp() + 60,
                _ => true,
            };
            if fresh {
                return Ok(p.clone());
            }
        }
        let p = self
            .client
            .folder_access(&self.cfg.coldkey)
            .await
            .map_err(|e| format!("getting the upload grant: {}", ErrorChain(&e)))?;
        *g = Some(p.clone());
        Ok(p)
    }

    /// Uploads the zipcode's files not yet uploaded, in order (manifest last).
    async fn upload(
        &self,
        epoch_id: &str,
        zip: &str,
        deadline: DateTime<Utc>,
        db: &Arc<Mutex<StateDb>>,
    ) -> Result<(), MinerError> {
        let files = with_db(db, |d| d.files(epoch_id, zip))?;
        for f in files.iter().filter(|f| f.uploaded_at.is_none()) {
            let what = format!("uploading {}", f.key);
            let r = self
                .retry(
                    &what,
                    "upload",
                    Some(deadline + chrono::Duration::minutes(5)),
                    || async {
                        let grant = self.current_grant().await?;
                        match self
                            .client
                            .upload_presigned(&grant, &f.key, &f.name, f.bytes.clone())
                            .await
                        {
                            Ok(()) => Ok(()),
                            Err(e) => {
                                // The grant may have expired or been revoked: fetch a new one next time.
                                *self.grant.lock().await = None;
                                Err(ErrorChain(&e).to_string())
                            }
                        }
                    },
                )
                .await;
            match r {
                Ok(()) => with_db(db, |d| d.mark_uploaded(epoch_id, zip, &f.key, &now_str()))?,
                Err(e) => {
                    MinerMetrics::result(&self.cfg.metrics.uploads, "failed");
                    with_db(db, |d| {
                        d.scrape_error(epoch_id, zip, &format!("upload failed: {e}"), false)
                    })?;
                    return Ok(());
                }
            }
        }
        with_db(db, |d| d.set_uploaded(epoch_id, zip))?;
        let listings = with_db(db, |d| d.zipcodes(epoch_id))?
            .into_iter()
            .find(|r| r.zipcode == zip)
            .map_or(0, |r| r.listing_count);
        let m = &self.cfg.metrics;
        MinerMetrics::result(&m.uploads, "ok");
        m.listings_uploaded.inc_by(listings);
        m.zipcode(zip, "uploaded", listings);
        if let Ok(id) = resi_core::epoch::EpochId::parse(epoch_id) {
            let since = Utc::now() - id.start();
            m.assignment_to_upload
                .observe(since.num_milliseconds().max(0) as f64 / 1000.0);
        }
        self.cfg.health.progress(format!("uploaded {zip}"));
        tracing::info!(zipcode = %zip, files = files.len(), "uploaded");
        Ok(())
    }
}

fn with_db<T>(
    db: &Arc<Mutex<StateDb>>,
    f: impl FnOnce(&mut StateDb) -> Result<T, StateError>,
) -> Result<T, MinerError> {
    let mut guard = db
        .lock()
        .map_err(|_| MinerError::Task("state database lock poisoned".into()))?;
    Ok(f(&mut guard)?)
}
