//! The validator's Prometheus series (served by `resi validator run --metrics-addr`):
//!
//! | series | type | labels |
//! |---|---|---|
//! | `resi_validator_epochs_total` | counter | `result` (`ok`, `failed`, `interrupted`) |
//! | `resi_validator_stage_seconds` | histogram | `stage` (`validate`, `policy`, `agreement_and_weights`) |
//! | `resi_validator_last_epoch_start_seconds` | gauge | |
//! | `resi_validator_submissions_total` | counter | `result` (`accepted`, `rejected`) |
//! | `resi_validator_rejections_total` | counter | `reason` (a fixed class, [`rejection_class`]) |
//! | `resi_validator_spot_checks_total` | counter | `result` (`found`, `not_found`, `error`) |
//! | `resi_validator_agreement_validators` / `_agreeing` / `_percent` | gauge | |
//! | `resi_validator_weights_total` | counter | `result` (`set`, `not_set`, `failed`) |
//! | `resi_validator_weights_uids` | gauge | |

use crate::observer::{Verifier, VerifyAnswer};
use crate::report::Agreement;
use crate::validate::EpochResult;
use futures::future::BoxFuture;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use resi_sandbox::policy::wit;
use std::sync::Arc;

/// `result` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// Outcome.
    pub result: &'static str,
}

/// `stage` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    /// Stage of the epoch.
    pub stage: &'static str,
}

/// `reason` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Rejection class.
    pub reason: &'static str,
}

/// Every series of the validator.
#[derive(Debug, Clone)]
pub struct ValidatorMetrics {
    /// Epochs by result.
    pub epochs: Family<ResultLabel, Counter>,
    /// Time per stage.
    pub stage_seconds: Family<StageLabel, Histogram>,
    /// Start of the last epoch validated, unix seconds.
    pub last_epoch_start: Gauge,
    /// Submissions accepted or rejected at ingestion.
    pub submissions: Family<ResultLabel, Counter>,
    /// Rejections (and notes) by class.
    pub rejections: Family<ReasonLabel, Counter>,
    /// Spot-check lookups by result.
    pub spot_checks: Family<ResultLabel, Counter>,
    /// Validators with a report, agreeing ones, and the share agreeing (last epoch).
    pub agreement_validators: Gauge,
    /// Validators agreeing with the majority hash.
    pub agreement_agreeing: Gauge,
    /// Percent agreeing.
    pub agreement_percent: Gauge,
    /// Weight settings by result.
    pub weights: Family<ResultLabel, Counter>,
    /// Uids in the last weights set.
    pub weights_uids: Gauge,
}

impl Default for ValidatorMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A fixed class of a rejection reason (the reasons are sentences naming files and sizes; the
/// class keeps the label's values bounded).
pub fn rejection_class(reason: &str) -> &'static str {
    let r = reason.to_ascii_lowercase();
    let has = |w: &str| r.contains(w);
    if has("late") || has("deadline") {
        "late"
    } else if has("signature") || has("signed") {
        "signature"
    } else if has("nonce") {
        "nonce"
    } else if has("memory budget") {
        "memory_budget"
    } else if has("another zipcode") {
        "foreign_zipcode"
    } else if has("sha256") || has("digest") || has("size") {
        "digest"
    } else if has("manifest") {
        "manifest"
    } else if has("parquet") || has("utf-8") || has("row") || has("column") {
        "parquet"
    } else if has("too many") || has("too large") || has("over") || has("cap") {
        "cap"
    } else {
        "other"
    }
}

impl ValidatorMetrics {
    /// Fresh series (not registered anywhere yet).
    pub fn new() -> Self {
        ValidatorMetrics {
            epochs: Family::default(),
            stage_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.01, 2.0, 20))
            }),
            last_epoch_start: Gauge::default(),
            submissions: Family::default(),
            rejections: Family::default(),
            spot_checks: Family::default(),
            agreement_validators: Gauge::default(),
            agreement_agreeing: Gauge::default(),
            agreement_percent: Gauge::default(),
            weights: Family::default(),
            weights_uids: Gauge::default(),
        }
    }

    /// Registers every series under `validator_` in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("validator");
        r.register("epochs", "Epochs by result", self.epochs.clone());
        r.register(
            "stage_seconds",
            "Time of each stage of an epoch",
            self.stage_seconds.clone(),
        );
        r.register(
            "last_epoch_start_seconds",
            "Start of the last epoch validated (unix seconds)",
            self.last_epoch_start.clone(),
        );
        r.register(
            "submissions",
            "Submissions accepted or rejected at ingestion",
            self.submissions.clone(),
        );
        r.register(
            "rejections",
            "Rejections and notes by class",
            self.rejections.clone(),
        );
        r.register(
            "spot_checks",
            "Spot-check lookups at the source by result",
            self.spot_checks.clone(),
        );
        r.register(
            "agreement_validators",
            "Validators whose reports were compared (last epoch)",
            self.agreement_validators.clone(),
        );
        r.register(
            "agreement_agreeing",
            "Validators agreeing with the majority outcome (last epoch)",
            self.agreement_agreeing.clone(),
        );
        r.register(
            "agreement_percent",
            "Percent of validators agreeing (last epoch)",
            self.agreement_percent.clone(),
        );
        r.register("weights", "Weight settings by result", self.weights.clone());
        r.register(
            "weights_uids",
            "Uids in the last weights set",
            self.weights_uids.clone(),
        );
    }

    /// Time of one stage.
    pub fn stage(&self, stage: &'static str, seconds: f64) {
        self.stage_seconds
            .get_or_create(&StageLabel { stage })
            .observe(seconds);
    }

    /// Counts an epoch's outcome.
    pub fn epoch(&self, result: &'static str) {
        self.epochs.get_or_create(&ResultLabel { result }).inc();
    }

    /// Records a validated epoch: submissions, rejections, the policy's time.
    pub fn validated(&self, r: &EpochResult, start_unix: i64) {
        self.last_epoch_start.set(start_unix);
        let report = &r.report;
        self.submissions
            .get_or_create(&ResultLabel { result: "accepted" })
            .inc_by(report.submissions as u64);
        let refused = report
            .rejected
            .iter()
            .filter(|x| !x.given_to_policy)
            .count()
            + report
                .rejected_omitted
                .iter()
                .map(|o| o.omitted)
                .sum::<usize>();
        self.submissions
            .get_or_create(&ResultLabel { result: "rejected" })
            .inc_by(refused as u64);
        for x in &report.rejected {
            self.rejections
                .get_or_create(&ReasonLabel {
                    reason: rejection_class(&x.reason),
                })
                .inc();
        }
        let policy: std::time::Duration = r.run.calls.iter().map(|c| c.elapsed).sum();
        self.stage("policy", policy.as_secs_f64());
    }

    /// Records agreement with the other validators.
    pub fn agreement(&self, a: &Agreement) {
        self.agreement_validators.set(a.validators as i64);
        self.agreement_agreeing.set(a.agreeing as i64);
        self.agreement_percent
            .set(i64::try_from(a.agree_pct).unwrap_or(i64::MAX));
    }

    /// Records a weight setting: `Some(uids)` set, `None` not set.
    pub fn weights_set(&self, uids: Option<usize>) {
        let result = if uids.is_some() { "set" } else { "not_set" };
        self.weights.get_or_create(&ResultLabel { result }).inc();
        if let Some(n) = uids {
            self.weights_uids.set(n as i64);
        }
    }
}

/// A [`Verifier`] counting each lookup's result in [`ValidatorMetrics::spot_checks`].
pub struct MeteredVerifier {
    inner: Arc<dyn Verifier>,
    metrics: ValidatorMetrics,
}

impl MeteredVerifier {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Verifier>, metrics: ValidatorMetrics) -> Self {
        MeteredVerifier { inner, metrics }
    }
}

impl Verifier for MeteredVerifier {
    fn verify(&self, target: wit::ListingRef) -> BoxFuture<'static, Result<VerifyAnswer, String>> {
        let fut = self.inner.verify(target);
        let m = self.metrics.spot_checks.clone();
        Box::pin(async move {
            let r = fut.await;
            let result = match &r {
                Ok(VerifyAnswer::Found(_)) => "found",
                Ok(VerifyAnswer::NotFound) => "not_found",
                Err(_) => "error",
            };
            m.get_or_create(&ResultLabel { result }).inc();
            r
        })
    }
}
