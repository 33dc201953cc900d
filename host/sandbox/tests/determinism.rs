//! Determinism of the policy engine: the same policy and inputs give identical output bytes and
//! identical fuel across 100 runs and across engine settings that must not matter
//! (Cranelift optimization level, pooling vs on-demand allocation).

use resi_sandbox::policy::wit::*;
use resi_sandbox::policy::{Policy, PolicyEngine, PolicyEngineOptions};
use wasmtime::OptLevel;

fn listing(zipcode: &str, i: u32) -> Listing {
    Listing {
        zpid: Some(format!("{zipcode}-{i}")),
        mls_id: None,
        address: format!("{i} Main St"),
        zipcode: zipcode.into(),
        price: Some(100_000 + u64::from(i) * 777),
        bedrooms: Some(i % 6),
        bathrooms_hundredths: Some(150),
        sqft: Some(1_000 + i),
        listing_date: "2025-09-30".into(),
        property_type: "CONDO".into(),
        listing_status: "FOR_SALE".into(),
        days_on_market: Some(3),
        source_url: format!("https://example.invalid/{zipcode}/{i}"),
        scraped_timestamp: "2025-10-01T16:10:00Z".into(),
    }
}

struct Input {
    epoch: Epoch,
    zipcodes: Vec<(Assignment, Vec<Submission>)>,
}

fn input() -> Input {
    let epoch = Epoch {
        epoch_id: "2025-10-01T16-00-00".into(),
        nonce: "376ce532f42cf2a5".into(),
        validation_seed: (0u8..32).collect(),
        deadline_ms: 1_759_348_800_000,
    };
    let zipcodes = ["19103", "10001", "94105"]
        .iter()
        .enumerate()
        .map(|(z, zip)| {
            let assignment = Assignment {
                zipcode: (*zip).into(),
                expected: 200 + 100 * z as u32,
                honeypot: false,
                true_count: 0,
            };
            let submissions = (0..7u32)
                .map(|m| Submission {
                    hotkey: format!("miner-{m}"),
                    submitted_at_ms: 1_759_340_000_000 + u64::from(m) * 1_000,
                    manifest_ok: m != 3,
                    digest: vec![m as u8; 32],
                    listings: (0..(20 + m)).map(|i| listing(zip, i)).collect(),
                })
                .collect();
            (assignment, submissions)
        })
        .collect();
    Input { epoch, zipcodes }
}

/// Runs the whole epoch and returns the canonical outcome plus the fuel of every call.
fn run(policy: &Policy, input: &Input) -> (String, Vec<u64>) {
    let total: u64 = input
        .zipcodes
        .iter()
        .map(|(a, _)| u64::from(a.expected))
        .sum();
    let mut fuel = Vec::new();
    let mut results = Vec::new();
    for (assignment, submissions) in &input.zipcodes {
        let plan = policy
            .plan_zipcode("{}", &input.epoch, assignment, submissions, &[])
            .expect("plan");
        fuel.push(plan.fuel_used);
        let scored = policy
            .score_zipcode("{}", &input.epoch, assignment, total, submissions, &[])
            .expect("score");
        fuel.push(scored.fuel_used);
        results.push(scored.value);
    }
    let outcome = policy
        .finalize("{}", &input.epoch, &results)
        .expect("finalize");
    fuel.push(outcome.fuel_used);
    (outcome.value.canonical_json, fuel)
}

/// [`run`] for a policy that spot-checks: its default params, planning rounds answered with
/// every requested listing found as submitted.
fn run_checked(policy: &Policy, input: &Input) -> (String, Vec<u64>) {
    let params = policy.info().expect("info").value.default_params;
    let total: u64 = input
        .zipcodes
        .iter()
        .map(|(a, _)| u64::from(a.expected))
        .sum();
    let mut fuel = Vec::new();
    let mut results = Vec::new();
    for (assignment, submissions) in &input.zipcodes {
        let mut observations: Vec<Observation> = Vec::new();
        loop {
            let plan = policy
                .plan_zipcode(
                    &params,
                    &input.epoch,
                    assignment,
                    submissions,
                    &observations,
                )
                .expect("plan");
            fuel.push(plan.fuel_used);
            if plan.value.is_empty() {
                break;
            }
            for r in plan.value {
                let s = submissions
                    .iter()
                    .find(|s| s.hotkey == r.hotkey)
                    .expect("hotkey");
                observations.push(Observation {
                    seen: Observed::Found(s.listings[r.index as usize].clone()),
                    hotkey: r.hotkey,
                    index: r.index,
                });
            }
        }
        let scored = policy
            .score_zipcode(
                &params,
                &input.epoch,
                assignment,
                total,
                submissions,
                &observations,
            )
            .expect("score");
        fuel.push(scored.fuel_used);
        results.push(scored.value);
    }
    let outcome = policy
        .finalize(&params, &input.epoch, &results)
        .expect("finalize");
    fuel.push(outcome.fuel_used);
    (outcome.value.canonical_json, fuel)
}

fn policy_with(opt_level: OptLevel, pooling: bool) -> Policy {
    load_with(&resi_testkit::guest("example-policy"), opt_level, pooling)
}

fn load_with(bytes: &[u8], opt_level: OptLevel, pooling: bool) -> Policy {
    let options = PolicyEngineOptions {
        opt_level,
        pooling,
        ..PolicyEngineOptions::default()
    };
    PolicyEngine::new(options)
        .expect("engine")
        .load(bytes)
        .expect("load")
}

/// The released zipcode-competitive 1.1.0 (`resi:policy@1.1.0`, listings as one batch): the
/// same bytes and fuel across runs and engine settings.
#[test]
fn the_released_1_1_policy_gives_the_same_bytes_and_fuel_under_every_engine_setting() {
    let wasm = std::fs::read(resi_testkit::policy_release_1_1().join("policy.wasm"))
        .expect("policies/zipcode-competitive/1.1.0/policy.wasm");
    let mut input = input();
    // Miners submit 20..=26 listings: all within the quantity gate of 23.
    for (a, _) in &mut input.zipcodes {
        a.expected = 23;
    }
    let reference_policy = load_with(&wasm, OptLevel::Speed, true);
    assert_eq!(
        reference_policy.abi(),
        resi_sandbox::policy::PolicyAbi::V1_1
    );
    let (reference, reference_fuel) = run_checked(&reference_policy, &input);
    assert!(reference.contains("\"version\":\"1.1.0\""), "{reference}");
    assert!(reference.contains("\"rank\":1"), "{reference}");
    for _ in 0..10 {
        assert_eq!(
            run_checked(&reference_policy, &input),
            (reference.clone(), reference_fuel.clone())
        );
    }
    for (opt, pooling) in [
        (OptLevel::None, false),
        (OptLevel::SpeedAndSize, true),
        (OptLevel::Speed, false),
    ] {
        assert_eq!(
            run_checked(&load_with(&wasm, opt, pooling), &input),
            (reference.clone(), reference_fuel.clone()),
            "different result with opt level {opt:?}, pooling {pooling}"
        );
    }
}

#[test]
fn same_bytes_and_fuel_across_runs_and_engine_settings() {
    let input = input();
    let reference_policy = policy_with(OptLevel::Speed, true);
    let (reference, reference_fuel) = run(&reference_policy, &input);
    assert!(
        reference.contains("\"ppb\""),
        "outcome looks empty: {reference}"
    );
    assert!(reference_fuel.iter().all(|f| *f > 0));
    for _ in 0..100 {
        assert_eq!(
            run(&reference_policy, &input),
            (reference.clone(), reference_fuel.clone())
        );
    }
    for (opt, pooling) in [
        (OptLevel::None, false),
        (OptLevel::SpeedAndSize, true),
        (OptLevel::Speed, false),
    ] {
        let policy = policy_with(opt, pooling);
        assert_eq!(
            run(&policy, &input),
            (reference.clone(), reference_fuel.clone()),
            "different result with opt level {opt:?}, pooling {pooling}"
        );
    }
}
