//! The runner against misbehaving policies and observers: a policy that asks for the same
//! listing again, an observer that answers too few requests, and per-call statistics.

use crate::common;

use resi_policy::backend::{Backend, Called, ZipcodeCarry};
use resi_policy::error::ObserveError;
use resi_policy::hash::Digest32;
use resi_policy::input::{EpochRun, ZipcodeBatch, ZipcodeInput};
use resi_policy::runner::CallKind;
use resi_policy::{BackendError, NativeBackend, Observer, RecordedObserver, RunError, run_epoch};
use resi_sandbox::policy::wit;

/// Always asks for listing 0 of "m": never converges.
struct Repeating;

impl Backend for Repeating {
    fn policy_sha256(&self) -> Digest32 {
        [0; 32]
    }
    fn info(&self) -> Result<Called<wit::PolicyInfo>, BackendError> {
        Err(BackendError::Native("no info".into()))
    }
    fn plan_zipcode(
        &self,
        _: &str,
        _: &wit::Epoch,
        z: &ZipcodeBatch,
        _: &mut ZipcodeCarry,
        _: &[wit::Observation],
    ) -> Result<Called<Vec<wit::CheckRequest>>, BackendError> {
        let a = z.assignment();
        let target = wit::ListingRef {
            zpid: None,
            mls_id: None,
            zipcode: a.zipcode.clone(),
            address: String::new(),
            source_url: String::new(),
        };
        Ok(Called {
            value: vec![wit::CheckRequest {
                hotkey: "m".into(),
                index: 0,
                target,
            }],
            fuel: None,
            peak_memory: None,
        })
    }
    fn score_zipcode(
        &self,
        _: &str,
        _: &wit::Epoch,
        _: u64,
        _: &ZipcodeBatch,
        _: &mut ZipcodeCarry,
        _: &[wit::Observation],
    ) -> Result<Called<wit::ZipcodeResult>, BackendError> {
        Err(BackendError::Native("unreachable".into()))
    }
    fn finalize(
        &self,
        _: &str,
        _: &wit::Epoch,
        _: &[wit::ZipcodeResult],
    ) -> Result<Called<wit::Outcome>, BackendError> {
        Err(BackendError::Native("unreachable".into()))
    }
}

fn one_zipcode() -> EpochRun {
    EpochRun {
        epoch: wit::Epoch {
            epoch_id: "e".into(),
            nonce: "n".into(),
            validation_seed: vec![0; 32],
            deadline_ms: 0,
        },
        zipcodes: vec![ZipcodeInput {
            assignment: wit::Assignment {
                zipcode: "19103".into(),
                expected: 20,
                honeypot: false,
                true_count: 0,
            },
            submissions: Vec::new(),
        }],
    }
}

#[test]
fn a_policy_asking_twice_for_one_listing_is_refused() {
    let err = run_epoch(
        &Repeating,
        "{}",
        &one_zipcode(),
        &mut RecordedObserver::default(),
    )
    .expect_err("must not loop");
    assert!(matches!(err, RunError::NoConvergence { .. }), "{err}");
    assert!(err.to_string().contains("requested again"), "{err}");
}

struct Mute;

impl Observer for Mute {
    fn observe(
        &mut self,
        _: &str,
        _: &[wit::CheckRequest],
    ) -> Result<Vec<wit::Observed>, ObserveError> {
        Ok(Vec::new())
    }
}

#[test]
fn an_observer_answering_too_few_requests_is_an_error() {
    let err = run_epoch(&Repeating, "{}", &one_zipcode(), &mut Mute).expect_err("count mismatch");
    assert!(
        matches!(
            err,
            RunError::ObserverCount {
                asked: 1,
                got: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn invalid_params_name_the_problem_and_stats_cover_every_call() {
    let backend = NativeBackend::new([0; 32]);
    let err = run_epoch(
        &backend,
        "{\"grace_ms\":1.5}",
        &one_zipcode(),
        &mut RecordedObserver::default(),
    )
    .expect_err("bad params");
    assert!(err.to_string().contains("plan-zipcode 19103"), "{err}");

    let release = common::release();
    let report = run_epoch(
        &backend,
        &release.manifest.default_params,
        &one_zipcode(),
        &mut RecordedObserver::default(),
    )
    .expect("runs");
    let kinds: Vec<CallKind> = report.calls.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        vec![CallKind::Plan, CallKind::Score, CallKind::Finalize]
    );
    assert_eq!(report.observations, 0);
}
