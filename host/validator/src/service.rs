//! The validator as a service: [`Validator`] holds what one validator needs (its config, the
//! store, its database, its verifier) and runs an epoch end to end with
//! [`Validator::run_epoch`]: validate (ingest, pinned policy with spot checks, signed report),
//! agree with the other permitted validators, set weights unless abstaining. The CLI and the
//! devnet only wire the parts together and call it.

use crate::db::Db;
use crate::error::ValidatorError;
use crate::facts::EpochFacts;
use crate::metrics::{MeteredVerifier, ResultLabel, ValidatorMetrics};
use crate::observer::Verifier;
use crate::report::{Agreement, Peers, agreement};
use crate::validate::{EpochResult, ValidatorConfig, WeightOptions, set_weights, validate_epoch};
use crate::weights::EmitWeights;
use resi_chain::Chain;
use resi_store::Store;
use std::sync::Arc;

/// One validator: configuration, object store, database and spot-check verifier.
#[derive(Clone)]
pub struct Validator {
    /// How it validates.
    pub cfg: ValidatorConfig,
    /// The object store miners upload to and reports go to.
    pub store: Store,
    /// Its SQLite state.
    pub db: Arc<Db>,
    /// Spot checks against the listing source.
    pub verifier: Arc<dyn Verifier>,
    /// Its Prometheus series (registered by whoever serves them).
    pub metrics: ValidatorMetrics,
}

/// What [`Validator::run_epoch`] did.
#[derive(Debug, Clone)]
pub struct EpochRun {
    /// The validation (report, policy run, validated data).
    pub result: EpochResult,
    /// Agreement with the other permitted validators' signed reports.
    pub agreement: Agreement,
    /// The weights set and the transaction hash; `None` when abstaining or nothing has weight.
    pub weights: Option<(EmitWeights, String)>,
}

impl Validator {
    /// Validates the epoch of `facts` and publishes the signed report.
    pub async fn validate(&self, facts: &EpochFacts) -> Result<EpochResult, ValidatorError> {
        let started = std::time::Instant::now();
        let verifier = Arc::new(MeteredVerifier::new(
            self.verifier.clone(),
            self.metrics.clone(),
        ));
        let r = validate_epoch(&self.cfg, &self.store, self.db.clone(), verifier, facts).await;
        self.metrics
            .stage("validate", started.elapsed().as_secs_f64());
        match &r {
            Ok(result) => {
                let start = resi_core::epoch::EpochId::parse(&facts.epoch_id)
                    .map(|id| id.start_unix())
                    .unwrap_or(0);
                self.metrics.validated(result, start);
            }
            Err(_) => self.metrics.epoch("failed"),
        }
        r
    }

    /// Agreement for `result` with the validators `chain` permits, then weights on `chain`
    /// (burn, version key and rate-limit wait from `weights`) unless abstaining.
    pub async fn agree_and_weigh<C: Chain>(
        &self,
        result: EpochResult,
        chain: &C,
        netuid: u16,
        weights: &WeightOptions,
    ) -> Result<EpochRun, ValidatorError> {
        let started = std::time::Instant::now();
        let r = async {
            let peers = Peers::from_metagraph(&chain.metagraph(netuid).await?);
            let agreement = agreement(&self.store, &result.report, &peers).await?;
            self.metrics.agreement(&agreement);
            let weights = set_weights(
                chain,
                netuid,
                &self.cfg.hotkey,
                &self.db,
                &result.report,
                &agreement,
                weights,
            )
            .await?;
            Ok::<_, ValidatorError>((agreement, weights))
        }
        .await;
        self.metrics
            .stage("agreement_and_weights", started.elapsed().as_secs_f64());
        let (agreement, weights) = r.inspect_err(|_| {
            self.metrics.epoch("failed");
            self.metrics
                .weights
                .get_or_create(&ResultLabel { result: "failed" })
                .inc();
        })?;
        self.metrics
            .weights_set(weights.as_ref().map(|(w, _)| w.uids.len()));
        self.metrics.epoch("ok");
        Ok(EpochRun {
            result,
            agreement,
            weights,
        })
    }

    /// The whole epoch: [`Validator::validate`], then [`Validator::agree_and_weigh`].
    pub async fn run_epoch<C: Chain>(
        &self,
        facts: &EpochFacts,
        chain: &C,
        netuid: u16,
        weights: &WeightOptions,
    ) -> Result<EpochRun, ValidatorError> {
        let result = self.validate(facts).await?;
        self.agree_and_weigh(result, chain, netuid, weights).await
    }
}
