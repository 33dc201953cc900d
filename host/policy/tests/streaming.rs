//! The streaming runner ([`EpochRunner`]): fed one zipcode at a time it gives exactly what
//! [`run_epoch`] gives (canonical outcome, `outcome_hash`, `input_hash`) on every release vector
//! and on shuffled inputs, its incremental `input_hash` equals the spec's canonical document, and
//! it refuses zipcodes out of order, twice, unassigned or with another assignment, and an epoch
//! finished with a zipcode missing.

use crate::common;

use common::*;
use resi_policy::error::ObserveError;
use resi_policy::hash::{self, INPUT_DOMAIN};
use resi_policy::input::{EpochRun, ZipcodeInput, epoch_value, zipcode_value};
use resi_policy::vectors::load_vectors;
use resi_policy::{
    Backend, EpochRunner, NativeBackend, Observer, OrderError, RecordedObserver, RunError,
    RunReport, WasmBackend, run_epoch,
};
use resi_sandbox::policy::wit;
use resi_sandbox::policy::{PolicyEngine, PolicyEngineOptions};
use std::collections::BTreeMap;

/// A small deterministic generator (xorshift) for shuffles.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Runs `run` through the streaming runner the way a validator does: assignments up front (in
/// the order given), then the zipcodes one by one in ascending order, each dropped after it ran.
fn stream<B: Backend + ?Sized, O: Observer>(
    backend: &B,
    params: &str,
    run: EpochRun,
    observer: &mut O,
) -> Result<RunReport, RunError> {
    let assignments: Vec<wit::Assignment> =
        run.zipcodes.iter().map(|z| z.assignment.clone()).collect();
    let mut runner = EpochRunner::new(backend, params, run.epoch.clone(), &assignments)?;
    let mut by_zip: BTreeMap<String, ZipcodeInput> = run
        .zipcodes
        .into_iter()
        .map(|z| (z.assignment.zipcode.clone(), z))
        .collect();
    while let Some(next) = runner.pending().first().map(|a| a.zipcode.clone()) {
        let z = by_zip
            .remove(&next)
            .expect("pending zipcode is in the input");
        let result = runner.zipcode(&z, observer)?;
        assert_eq!(result.zipcode, next);
        drop(z);
    }
    assert!(by_zip.is_empty());
    runner.finish()
}

fn same(a: &RunReport, b: &RunReport, what: &str) {
    assert_eq!(a.canonical_outcome(), b.canonical_outcome(), "{what}");
    assert_eq!(a.outcome_hash, b.outcome_hash, "{what}");
    assert_eq!(a.input_hash, b.input_hash, "{what}");
    assert_eq!(a.observations, b.observations, "{what}");
}

fn vectors_agree(backend: &dyn Backend) {
    let release = release();
    let params = &release.manifest.default_params;
    let vectors = load_vectors(&release.vectors_dir()).expect("vectors");
    assert!(!vectors.is_empty());
    for (name, vector) in &vectors {
        let (run, records) = vector.input.to_run().expect("input");
        let whole = run_epoch(
            backend,
            params,
            &run,
            &mut RecordedObserver::new(records.clone()),
        )
        .expect("run_epoch");
        assert_eq!(
            whole.canonical_outcome(),
            vector.expected.canonical_outcome,
            "{name}"
        );
        assert_eq!(
            hex::encode(whole.outcome_hash),
            vector.expected.outcome_hash,
            "{name}"
        );
        assert_eq!(
            hex::encode(whole.input_hash),
            vector.expected.input_hash,
            "{name}"
        );
        for seed in 1..=4u64 {
            let mut shuffled = run.clone();
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            rng.shuffle(&mut shuffled.zipcodes);
            for z in &mut shuffled.zipcodes {
                rng.shuffle(&mut z.submissions);
            }
            let streamed = stream(
                backend,
                params,
                shuffled.clone(),
                &mut RecordedObserver::new(records.clone()),
            )
            .expect("streamed");
            same(&streamed, &whole, &format!("{name}, streamed, seed {seed}"));
            let rerun = run_epoch(
                backend,
                params,
                &shuffled,
                &mut RecordedObserver::new(records.clone()),
            )
            .expect("run_epoch shuffled");
            same(&rerun, &whole, &format!("{name}, run_epoch, seed {seed}"));
        }
    }
}

#[test]
fn streaming_equals_run_epoch_on_the_release_vectors_native() {
    let pin = release().manifest.wasm_pin().expect("pin");
    vectors_agree(&NativeBackend::new(pin));
}

#[test]
fn streaming_equals_run_epoch_on_the_release_vectors_wasm() {
    let release = release();
    let engine = PolicyEngine::new(PolicyEngineOptions::default()).expect("engine");
    vectors_agree(&WasmBackend::new(engine.load(&release.wasm).expect("load")));
}

/// Answers every request `found` as submitted and records what it answered, per zipcode.
struct Recording<'a> {
    run: &'a EpochRun,
    seen: BTreeMap<String, Vec<wit::Observation>>,
}

impl Observer for Recording<'_> {
    fn observe(
        &mut self,
        zipcode: &str,
        requests: &[wit::CheckRequest],
    ) -> Result<Vec<wit::Observed>, ObserveError> {
        let z = self
            .run
            .zipcodes
            .iter()
            .find(|z| z.assignment.zipcode == zipcode)
            .ok_or_else(|| ObserveError(format!("unknown zipcode {zipcode}")))?;
        let mut out = Vec::new();
        for r in requests {
            let l = z
                .submissions
                .iter()
                .find(|s| s.hotkey == r.hotkey)
                .and_then(|s| s.listings.get(r.index as usize))
                .ok_or_else(|| ObserveError(format!("no listing {} of {}", r.index, r.hotkey)))?;
            let seen = wit::Observed::Found(l.clone());
            self.seen
                .entry(zipcode.to_string())
                .or_default()
                .push(wit::Observation {
                    hotkey: r.hotkey.clone(),
                    index: r.index,
                    seen: seen.clone(),
                });
            out.push(seen);
        }
        Ok(out)
    }
}

fn to_wit_listing(l: &resi_policy::input::ListingJson) -> wit::Listing {
    wit::Listing::from(l)
}

/// Six zipcodes (one a honeypot), eight miners with varying counts and times, in shuffled order.
fn synthetic(seed: u64) -> EpochRun {
    let mut rng = Rng(seed);
    let zips = ["94105", "10001", "19103", "60601", "02139", "73301"];
    let mut zipcodes: Vec<ZipcodeInput> = zips
        .iter()
        .enumerate()
        .map(|(zi, zip)| {
            let submissions = (0..8u64)
                .map(|m| {
                    let n = 15 + ((m * 7 + zi as u64 * 3) % 12) as usize;
                    let s = submission(&format!("miner{m}"), zip, m * 60 + zi as u64, n);
                    wit::Submission {
                        hotkey: s.hotkey.clone(),
                        submitted_at_ms: s.submitted_at_ms,
                        manifest_ok: m != 5,
                        digest: hex::decode(&s.digest).expect("hex"),
                        listings: s.listings.iter().map(to_wit_listing).collect(),
                    }
                })
                .collect();
            ZipcodeInput {
                assignment: wit::Assignment {
                    zipcode: zip.to_string(),
                    expected: 20,
                    honeypot: zi == 4,
                    true_count: if zi == 4 { 3 } else { 0 },
                },
                submissions,
            }
        })
        .collect();
    rng.shuffle(&mut zipcodes);
    for z in &mut zipcodes {
        rng.shuffle(&mut z.submissions);
    }
    let e = epoch();
    EpochRun {
        epoch: wit::Epoch {
            epoch_id: e.epoch_id,
            nonce: e.nonce,
            validation_seed: hex::decode(e.validation_seed).expect("hex"),
            deadline_ms: e.deadline_ms,
        },
        zipcodes,
    }
}

/// `input_hash` as the spec defines it: the canonical document built whole.
fn spec_input_hash(run: &EpochRun, seen: &BTreeMap<String, Vec<wit::Observation>>) -> [u8; 32] {
    let mut zs: Vec<&ZipcodeInput> = run.zipcodes.iter().collect();
    zs.sort_by(|a, b| a.assignment.zipcode.cmp(&b.assignment.zipcode));
    let mut doc = String::from("{\"epoch\":");
    doc.push_str(&epoch_value(&run.epoch).to_canonical());
    doc.push_str(",\"zipcodes\":[");
    for (i, z) in zs.iter().enumerate() {
        if i > 0 {
            doc.push(',');
        }
        let obs = seen
            .get(&z.assignment.zipcode)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        doc.push_str(&zipcode_value(z, obs).to_canonical());
    }
    doc.push_str("]}");
    let mut bytes = INPUT_DOMAIN.to_vec();
    bytes.extend_from_slice(doc.as_bytes());
    hash::sha256(&bytes)
}

#[test]
fn streamed_input_hash_is_the_spec_document_on_shuffled_inputs() {
    let release = release();
    let params = &release.manifest.default_params;
    let backend = NativeBackend::new(release.manifest.wasm_pin().expect("pin"));
    let reference = {
        let run = synthetic(1);
        run_epoch(
            &backend,
            params,
            &run,
            &mut Recording {
                run: &run,
                seen: BTreeMap::new(),
            },
        )
        .expect("runs")
    };
    assert!(reference.observations > 0, "the policy spot-checks");
    for seed in 1..=6u64 {
        let run = synthetic(seed);
        let mut obs = Recording {
            run: &run,
            seen: BTreeMap::new(),
        };
        let streamed = stream(&backend, params, run.clone(), &mut obs).expect("streamed");
        assert_eq!(
            streamed.input_hash,
            spec_input_hash(&run, &obs.seen),
            "seed {seed}"
        );
        same(&streamed, &reference, &format!("seed {seed}"));
    }
}

fn order_err(r: Result<impl std::fmt::Debug, RunError>) -> OrderError {
    match r {
        Err(RunError::Order(e)) => e,
        other => panic!("expected an order error, got {other:?}"),
    }
}

#[test]
fn zipcodes_out_of_order_twice_unassigned_or_missing_are_refused() {
    let release = release();
    let params = &release.manifest.default_params;
    let backend = NativeBackend::new(release.manifest.wasm_pin().expect("pin"));
    let run = synthetic(3);
    let whole = run_epoch(
        &backend,
        params,
        &run,
        &mut Recording {
            run: &run,
            seen: BTreeMap::new(),
        },
    )
    .expect("runs");
    let mut sorted = run.zipcodes.clone();
    sorted.sort_by(|a, b| a.assignment.zipcode.cmp(&b.assignment.zipcode));
    let assignments: Vec<wit::Assignment> =
        run.zipcodes.iter().map(|z| z.assignment.clone()).collect();
    let mut obs = Recording {
        run: &run,
        seen: BTreeMap::new(),
    };

    // Assigned twice.
    let mut twice = assignments.clone();
    twice.push(assignments[0].clone());
    assert_eq!(
        order_err(EpochRunner::new(
            &backend,
            params,
            run.epoch.clone(),
            &twice
        )),
        OrderError::DuplicateAssignment(assignments[0].zipcode.clone())
    );

    let mut runner =
        EpochRunner::new(&backend, params, run.epoch.clone(), &assignments).expect("runner");
    assert_eq!(runner.assignments().len(), sorted.len());
    assert_eq!(runner.pending()[0].zipcode, sorted[0].assignment.zipcode);
    // Out of order: the second zipcode first.
    assert_eq!(
        order_err(runner.zipcode(&sorted[1], &mut obs)),
        OrderError::OutOfOrder {
            zipcode: sorted[1].assignment.zipcode.clone(),
            expected: sorted[0].assignment.zipcode.clone(),
        }
    );
    // Not assigned.
    let mut stray = sorted[0].clone();
    stray.assignment.zipcode = "00000".into();
    assert_eq!(
        order_err(runner.zipcode(&stray, &mut obs)),
        OrderError::Unassigned("00000".into())
    );
    // Another assignment than the epoch's.
    let mut other = sorted[0].clone();
    other.assignment.expected += 1;
    assert_eq!(
        order_err(runner.zipcode(&other, &mut obs)),
        OrderError::AssignmentMismatch(sorted[0].assignment.zipcode.clone())
    );
    // The refusals changed nothing: the first zipcode runs, then it cannot run again.
    runner.zipcode(&sorted[0], &mut obs).expect("first zipcode");
    assert_eq!(
        order_err(runner.zipcode(&sorted[0], &mut obs)),
        OrderError::AlreadyRun(sorted[0].assignment.zipcode.clone())
    );
    runner
        .zipcode(&sorted[1], &mut obs)
        .expect("second zipcode");
    // Finishing early names what is missing.
    let mut early =
        EpochRunner::new(&backend, params, run.epoch.clone(), &assignments).expect("runner");
    early.zipcode(&sorted[0], &mut obs).expect("first zipcode");
    assert_eq!(
        order_err(early.finish()),
        OrderError::Missing {
            first: sorted[1].assignment.zipcode.clone(),
            count: sorted.len() - 1,
        }
    );
    // The rest, in order, gives run_epoch's result.
    for z in &sorted[2..] {
        runner.zipcode(z, &mut obs).expect("zipcode");
    }
    assert!(runner.pending().is_empty());
    assert_eq!(
        order_err(runner.zipcode(&sorted[0], &mut obs)),
        OrderError::AlreadyRun(sorted[0].assignment.zipcode.clone())
    );
    same(&runner.finish().expect("finish"), &whole, "after refusals");
}

/// A zipcode held as a listing batch gives back exactly its records, built whole or
/// submission by submission; a batch that does not hold the listings its head counts is
/// refused.
#[test]
fn zipcode_batch_round_trips() {
    use resi_policy::input::{SubmissionBatch, ZipcodeBatch};
    for seed in 1..4 {
        let run = synthetic(seed);
        for z in &run.zipcodes {
            let b = ZipcodeBatch::from_input(z);
            let canon = |z: &ZipcodeInput| zipcode_value(z, &[]).to_canonical();
            assert_eq!(
                canon(&b.to_input().expect("decodes")),
                canon(z),
                "seed {seed}"
            );
            for (i, s) in z.submissions.iter().enumerate() {
                let n = b.listings(i).filter(|l| l.is_ok()).count();
                assert_eq!(n, s.listings.len());
            }
            let mut pushed = ZipcodeBatch::empty(z.assignment.clone());
            for s in &z.submissions {
                pushed.push(SubmissionBatch::from_records(s));
            }
            assert_eq!(pushed.batch(), b.batch());
            assert_eq!(
                hash::zipcode_canonical(&pushed, &[]),
                hash::zipcode_canonical(&b, &[])
            );
        }
    }
    let one = &synthetic(1).zipcodes[0].submissions[0];
    let mut head = SubmissionBatch::from_records(one).head().clone();
    let bytes = resi_sandbox::policy::encode_batch(std::slice::from_ref(one));
    head.listings += 1;
    assert!(SubmissionBatch::new(head.clone(), bytes.clone()).is_err());
    head.listings -= 1;
    assert!(SubmissionBatch::new(head.clone(), bytes.clone()).is_ok());
    assert!(SubmissionBatch::new(head, bytes[..bytes.len() - 1].to_vec()).is_err());
}
