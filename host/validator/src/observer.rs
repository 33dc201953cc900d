//! Spot checks: the policy's check requests answered by a [`Verifier`] (normally the verifier
//! scraper component, [`ComponentVerifier`]), concurrently with a timeout per lookup, cached in
//! SQLite for 24 h.
//!
//! The runner is synchronous and runs on a blocking thread; [`SpotChecker`] implements its
//! [`Observer`] by blocking on the async verifier through a tokio runtime handle. A verifier
//! error or timeout is `unverifiable` (and not cached, so a later run retries it).

use crate::db::Db;
use futures::StreamExt as _;
use futures::future::BoxFuture;
use resi_policy::input::ListingJson;
use resi_policy::{ObserveError, Observer};
use resi_sandbox::policy::wit;
use resi_sandbox::scraper::{Scraper, ScraperEngine, ScraperEngineOptions, wit as swit};
use resi_scraper::manifest::LoadedScraper;
use resi_scraper::{HttpGate, ManifestHost, MemorySink, ScraperManifest};
use std::sync::Arc;
use std::time::Duration;
use swit::Verification;

/// What a verifier says about one listing.
#[allow(
    clippy::large_enum_variant,
    reason = "one answer per lookup, consumed at once; boxing would only add an allocation"
)]
#[derive(Debug, Clone)]
pub enum VerifyAnswer {
    /// The source holds this record.
    Found(wit::Listing),
    /// The source definitively does not hold it.
    NotFound,
}

/// Looks listings up again at their source.
pub trait Verifier: Send + Sync + 'static {
    /// Verifies one listing; an error means unverifiable.
    fn verify(&self, target: wit::ListingRef) -> BoxFuture<'static, Result<VerifyAnswer, String>>;
}

/// The verifier scraper component under its manifest (allowlist, limits, config).
#[derive(Clone)]
pub struct ComponentVerifier {
    scraper: Scraper<ManifestHost<MemorySink>>,
    manifest: Arc<ScraperManifest>,
    /// One gate for every lookup, so the manifest's rate limits hold across lookups.
    gate: HttpGate,
}

/// Why a verifier could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VerifierError {
    /// The component did not compile or load under its pin.
    #[error("loading the verifier component")]
    Component(#[source] resi_sandbox::SandboxError),
    /// The manifest's network rules or the routing are unusable.
    #[error("building the verifier's HTTP gate")]
    Gate(#[source] resi_scraper::gate::GateError),
}

impl ComponentVerifier {
    /// The verifier of a loaded scraper: its component compiled under its pin, with one gate
    /// (allowlist, rate limits, secrets, the operator's routing) shared by every lookup.
    pub fn load(loaded: &LoadedScraper) -> Result<Self, VerifierError> {
        let engine =
            ScraperEngine::<ManifestHost<MemorySink>>::new(ScraperEngineOptions::default())
                .map_err(VerifierError::Component)?;
        let scraper = loaded
            .instantiate(&engine)
            .map_err(VerifierError::Component)?;
        let gate = HttpGate::for_scraper(loaded).map_err(VerifierError::Gate)?;
        Ok(ComponentVerifier {
            scraper,
            manifest: Arc::new(loaded.manifest.clone()),
            gate,
        })
    }
}

impl Verifier for ComponentVerifier {
    fn verify(&self, t: wit::ListingRef) -> BoxFuture<'static, Result<VerifyAnswer, String>> {
        let this = self.clone();
        Box::pin(async move {
            let m = &this.manifest;
            let host = ManifestHost::new(
                &m.name,
                this.gate.clone(),
                MemorySink::default(),
                m.limits.max_listings,
            );
            let target = swit::ListingRef::from(t);
            let run = this.scraper.verify(host, &target, &m.config_pairs()).await;
            match run.result {
                Ok(Verification::Found(l)) => Ok(VerifyAnswer::Found(wit::Listing::from(l))),
                Ok(Verification::NotFound) => Ok(VerifyAnswer::NotFound),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// The validator's [`Observer`]: cache first, then the verifier, `concurrency` lookups at a
/// time, each bounded by `timeout`.
pub struct SpotChecker {
    verifier: Arc<dyn Verifier>,
    db: Arc<Db>,
    handle: tokio::runtime::Handle,
    concurrency: usize,
    timeout: Duration,
    /// Lookups made (not served from the cache).
    pub lookups: usize,
    /// Requests served from the cache.
    pub cache_hits: usize,
}

impl SpotChecker {
    /// A spot checker using `handle` to drive the async verifier (call [`Observer::observe`]
    /// from a blocking thread, never from inside the runtime).
    pub fn new(
        verifier: Arc<dyn Verifier>,
        db: Arc<Db>,
        handle: tokio::runtime::Handle,
        concurrency: usize,
        timeout: Duration,
    ) -> Self {
        SpotChecker {
            verifier,
            db,
            handle,
            concurrency: concurrency.max(1),
            timeout,
            lookups: 0,
            cache_hits: 0,
        }
    }
}

/// Cache key of a listing reference (canonical: fixed field order).
fn target_key(t: &wit::ListingRef) -> String {
    serde_json::json!([t.zpid, t.mls_id, t.zipcode, t.address, t.source_url]).to_string()
}

#[allow(
    clippy::large_enum_variant,
    reason = "a serialization shape, built and dropped per cached observation"
)]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum Cached {
    Found { listing: ListingJson },
    NotFound,
}

impl Observer for SpotChecker {
    fn observe(
        &mut self,
        zipcode: &str,
        requests: &[wit::CheckRequest],
    ) -> Result<Vec<wit::Observed>, ObserveError> {
        let now = chrono::Utc::now().timestamp();
        let mut out: Vec<Option<wit::Observed>> = vec![None; requests.len()];
        let mut todo = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            let key = target_key(&r.target);
            let cached = self
                .db
                .cached_observation(&key, now)
                .map_err(|e| ObserveError(format!("observation cache: {e}")))?;
            match cached.and_then(|s| serde_json::from_str::<Cached>(&s).ok()) {
                Some(Cached::Found { listing }) => {
                    out[i] = Some(wit::Observed::Found((&listing).into()));
                    self.cache_hits += 1;
                }
                Some(Cached::NotFound) => {
                    out[i] = Some(wit::Observed::NotFound);
                    self.cache_hits += 1;
                }
                None => todo.push((i, key, r.target.clone())),
            }
        }
        self.lookups += todo.len();
        let verifier = self.verifier.clone();
        let timeout = self.timeout;
        let concurrency = self.concurrency;
        tracing::debug!(zipcode, lookups = todo.len(), "spot checks");
        let answers: Vec<(usize, String, Result<VerifyAnswer, String>)> =
            self.handle.block_on(async move {
                futures::stream::iter(todo.into_iter().map(|(i, key, target)| {
                    let fut = verifier.verify(target);
                    async move {
                        let r = match tokio::time::timeout(timeout, fut).await {
                            Ok(r) => r,
                            Err(_) => Err(format!("verifier timed out after {timeout:?}")),
                        };
                        (i, key, r)
                    }
                }))
                .buffer_unordered(concurrency)
                .collect()
                .await
            });
        for (i, key, answer) in answers {
            let (seen, cache) = match answer {
                Ok(VerifyAnswer::Found(l)) => {
                    let c = Cached::Found {
                        listing: ListingJson::from(&l),
                    };
                    (wit::Observed::Found(l), Some(c))
                }
                Ok(VerifyAnswer::NotFound) => (wit::Observed::NotFound, Some(Cached::NotFound)),
                Err(e) => {
                    tracing::debug!(zipcode, error = %e, "unverifiable");
                    (wit::Observed::Unverifiable, None)
                }
            };
            if let Some(c) = cache {
                let text = serde_json::to_string(&c)
                    .map_err(|e| ObserveError(format!("observation cache: {e}")))?;
                self.db
                    .cache_observation(&key, &text, now)
                    .map_err(|e| ObserveError(format!("observation cache: {e}")))?;
            }
            out[i] = Some(seen);
        }
        Ok(out
            .into_iter()
            .map(|o| o.unwrap_or(wit::Observed::Unverifiable))
            .collect())
    }
}
