//! Determinism of zipcode-competitive: the spot-check sample against values computed
//! independently with Python's hashlib, and order independence (shuffling zipcodes,
//! submissions, observations and finalize's results gives identical outcome bytes).

use crate::common;

use common::*;
use resi_policy::backend::{Backend, Called, ZipcodeCarry};
use resi_policy::hash::Digest32;
use resi_policy::input::ZipcodeBatch;
use resi_policy::vectors::load_vectors;
use resi_policy::{BackendError, NativeBackend, RecordedObserver, WasmBackend, run_epoch};
use resi_sandbox::policy::wit;
use resi_sandbox::policy::{PolicyEngine, PolicyEngineOptions};
use std::cell::Cell;
use zipcode_competitive_core::sample::{draw, sample_positions, sample_seed};

/// Golden values computed once with this Python (hashlib), independent of the Rust code:
///
/// ```python
/// import hashlib
/// def sample(vseed, hotkey, zipcode, digest, n, k):
///     seed = hashlib.sha256(b"resi/spot-check/v1" + vseed + b"\x00" + hotkey.encode()
///                           + b"\x00" + zipcode.encode() + b"\x00" + digest).digest()
///     pos = list(range(n)); draws = []
///     for j in range(k):
///         d = int.from_bytes(hashlib.sha256(seed + j.to_bytes(4, "big")).digest()[:8], "big")
///         draws.append(d); r = d % (n - j)
///         pos[j], pos[j + r] = pos[j + r], pos[j]
///     return seed.hex(), draws[:2], sorted(pos[:k])
/// sample(bytes(range(32)), "miner-a", "19103", b"\xab" * 32, 400, 10)
/// sample(bytes(range(32)), "miner-b", "19103", b"\xab" * 32, 20, 2)
/// sample(bytes(32), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "10001", b"\x01" * 32, 12, 12)
/// ```
#[test]
fn sample_matches_python_golden_values() {
    let vseed: Vec<u8> = (0u8..32).collect();
    let seed = sample_seed(&vseed, "miner-a", "19103", &[0xab; 32]);
    assert_eq!(
        hex::encode(seed),
        "1448fd04b456b28c86c4aeeb65df51c48752c442371c4dde05ca92d9d1887960"
    );
    assert_eq!(draw(&seed, 0), 9_775_885_939_732_409_876);
    assert_eq!(draw(&seed, 1), 7_514_527_671_814_145_445);
    assert_eq!(
        sample_positions(&seed, 400, 10),
        vec![7, 37, 51, 201, 211, 220, 247, 269, 276, 312]
    );

    let seed = sample_seed(&vseed, "miner-b", "19103", &[0xab; 32]);
    assert_eq!(
        hex::encode(seed),
        "66f56a592ef934437cd94b36e28c7260b08e13726e56352c0650844f039e7b13"
    );
    assert_eq!(sample_positions(&seed, 20, 2), vec![10, 14]);

    let seed = sample_seed(
        &[0; 32],
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
        "10001",
        &[1; 32],
    );
    assert_eq!(
        hex::encode(seed),
        "8723191f37289a15e0ddc2870a52adf9dab75b8f4dd4f86a241faa9c9fde1003"
    );
    assert_eq!(
        sample_positions(&seed, 12, 12),
        (0..12).collect::<Vec<u64>>()
    );
}

/// splitmix64: a tiny seeded generator for reproducible shuffles.
struct Rng(Cell<u64>);

impl Rng {
    fn next(&self) -> u64 {
        let mut z = self.0.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.0.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn shuffle<T>(&self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// A backend that hands the inner policy its inputs in a shuffled order on every call.
struct Shuffling<B> {
    inner: B,
    rng: Rng,
}

impl<B> Shuffling<B> {
    /// `z` with its submissions in a shuffled order.
    fn shuffled(&self, z: &ZipcodeBatch) -> Result<ZipcodeBatch, BackendError> {
        let mut input = z.to_input()?;
        self.rng.shuffle(&mut input.submissions);
        Ok(ZipcodeBatch::from_input(&input))
    }
}

impl<B: Backend> Backend for Shuffling<B> {
    fn policy_sha256(&self) -> Digest32 {
        self.inner.policy_sha256()
    }
    fn info(&self) -> Result<Called<wit::PolicyInfo>, BackendError> {
        self.inner.info()
    }
    fn plan_zipcode(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        z: &ZipcodeBatch,
        _carry: &mut ZipcodeCarry,
        observations: &[wit::Observation],
    ) -> Result<Called<Vec<wit::CheckRequest>>, BackendError> {
        let z = self.shuffled(z)?;
        let mut obs = observations.to_vec();
        self.rng.shuffle(&mut obs);
        // The listing batch follows the shuffled submissions (and no state from another
        // order is handed back: the policy works it out again).
        let mut carry = self.inner.prepare(&z)?;
        let mut plan = self
            .inner
            .plan_zipcode(params, epoch, &z, &mut carry, &obs)?;
        // The runner must not depend on the order of requests either.
        self.rng.shuffle(&mut plan.value);
        Ok(plan)
    }
    fn score_zipcode(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        total_expected: u64,
        z: &ZipcodeBatch,
        _carry: &mut ZipcodeCarry,
        observations: &[wit::Observation],
    ) -> Result<Called<wit::ZipcodeResult>, BackendError> {
        let z = self.shuffled(z)?;
        let mut obs = observations.to_vec();
        self.rng.shuffle(&mut obs);
        let mut carry = self.inner.prepare(&z)?;
        self.inner
            .score_zipcode(params, epoch, total_expected, &z, &mut carry, &obs)
    }
    fn finalize(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        results: &[wit::ZipcodeResult],
    ) -> Result<Called<wit::Outcome>, BackendError> {
        let mut results = results.to_vec();
        self.rng.shuffle(&mut results);
        for r in &mut results {
            self.rng.shuffle(&mut r.candidates);
        }
        self.inner.finalize(params, epoch, &results)
    }
}

fn check_order_independence<B: Backend>(make: impl Fn() -> B, seeds: u64) {
    let release = release();
    let vectors = load_vectors(&release.vectors_dir()).expect("vectors");
    for (name, vector) in &vectors {
        for seed in 0..seeds {
            let backend = Shuffling {
                inner: make(),
                rng: Rng(Cell::new(seed)),
            };
            let (mut run, records) = vector.input.to_run().expect("input");
            backend.rng.shuffle(&mut run.zipcodes);
            let report = run_epoch(
                &backend,
                &release.manifest.default_params,
                &run,
                &mut RecordedObserver::new(records),
            )
            .expect("runs");
            assert_eq!(
                report.canonical_outcome(),
                vector.expected.canonical_outcome,
                "{name}: outcome differs with shuffle seed {seed}"
            );
            assert_eq!(
                hex::encode(report.outcome_hash),
                vector.expected.outcome_hash,
                "{name} seed {seed}"
            );
            assert_eq!(
                hex::encode(report.input_hash),
                vector.expected.input_hash,
                "{name} seed {seed}"
            );
        }
    }
}

#[test]
fn shuffled_inputs_give_identical_outcomes_native() {
    let pin = release().manifest.wasm_pin().expect("pin");
    check_order_independence(|| NativeBackend::new(pin), 25);
}

#[test]
fn shuffled_inputs_give_identical_outcomes_wasm() {
    let release = release();
    let engine = PolicyEngine::new(PolicyEngineOptions::default()).expect("engine");
    let policy = engine.load(&release.wasm).expect("load");
    check_order_independence(|| WasmBackend::new(policy.clone()), 3);
}
