//! zipcode-competitive 1.1.0 (`resi:policy@1.1.0`, listings as one batch) against 1.0.0: the
//! released vectors of 1.1.0 are 1.0.0's with the new version named (checked against the
//! files; `RESI_BLESS=1` rewrites them), every one passes through the 1.1.0 component and its
//! native core, and random epochs built to hit every gate give 1.0.0's outcome (but for the
//! version), input hash and spot checks, natively and as components.

use crate::common::{self, *};
use resi_policy::input::{EpochInput, ListingJson, ObservationJson, ObservedJson};
use resi_policy::vectors::{
    Expected, Release, Vector, load_vectors, run_vectors, run_vectors_with,
};
use resi_policy::{
    Backend, NativeBackend, RecordedObserver, RunReport, WasmBackend, hash, run_epoch,
};
use resi_sandbox::policy::{PolicyAbi, PolicyEngine, PolicyEngineOptions};

fn release_1_1() -> Release {
    Release::load(&resi_testkit::policy_release_1_1()).expect("1.1.0 loads and matches its pin")
}

/// `canonical` with 1.1.0 named as 1.0.0 (the only difference the two may have).
fn as_1_0(canonical: &str) -> String {
    let n = canonical.matches("\"version\":\"1.1.0\"").count();
    assert_eq!(n, 1, "the version occurs once in {canonical}");
    canonical.replacen("\"version\":\"1.1.0\"", "\"version\":\"1.0.0\"", 1)
}

/// 1.0.0's vector as 1.1.0 must give it: the version renamed, the outcome hash over 1.1.0's
/// component, the same input hash and params hash.
fn derived(v: &Vector, pin: &[u8; 32]) -> Vector {
    let canonical =
        v.expected
            .canonical_outcome
            .replacen("\"version\":\"1.0.0\"", "\"version\":\"1.1.0\"", 1);
    let params = hash::params_sha256(&release().manifest.default_params);
    Vector {
        description: v.description.clone(),
        input: v.input.clone(),
        expected: Expected {
            outcome_hash: hex::encode(hash::outcome_hash(
                pin,
                &params,
                &v.input.epoch.epoch_id,
                &canonical,
            )),
            canonical_outcome: canonical,
            input_hash: v.expected.input_hash.clone(),
            params_sha256: v.expected.params_sha256.clone(),
        },
    }
}

#[test]
fn the_1_1_vectors_are_the_1_0_vectors_with_the_new_version() {
    let old = load_vectors(&release().vectors_dir()).expect("1.0.0 vectors");
    let new = release_1_1();
    let pin = new.manifest.wasm_pin().expect("pin");
    let dir = new.vectors_dir();
    let bless = std::env::var_os("RESI_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, v) in &old {
        let text = serde_json::to_string_pretty(&derived(v, &pin)).expect("serializes") + "\n";
        let path = dir.join(format!("{name}.json"));
        if bless {
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(&path, &text).expect("write");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "1.1.0 vectors out of date (RESI_BLESS=1): {stale:?}"
    );
    assert_eq!(load_vectors(&dir).expect("1.1.0 vectors").len(), old.len());
    assert_eq!(
        new.manifest.default_params,
        release().manifest.default_params
    );
}

fn assert_all_pass(report: &resi_policy::Report) {
    assert!(report.results.len() >= 12, "only {}", report.results.len());
    for r in &report.results {
        assert!(
            r.passed,
            "{}: {:?}\n{}",
            r.name,
            r.failures,
            r.diff.clone().unwrap_or_default()
        );
    }
}

#[test]
fn every_1_1_vector_passes_through_the_component_and_the_native_core() {
    let r = release_1_1();
    let engine = PolicyEngine::new(PolicyEngineOptions::default()).expect("engine");
    let policy = engine.load(&r.wasm).expect("loads");
    assert_eq!(policy.abi(), PolicyAbi::V1_1);
    assert_eq!(policy.abi().world(), r.manifest.world);
    let report = run_vectors(&r.wasm, &r.vectors_dir()).expect("runs");
    assert_all_pass(&report);
    assert!(report.results.iter().all(|v| v.fuel > 0));
    let native = NativeBackend::v1_1(r.manifest.wasm_pin().expect("pin"));
    assert_all_pass(&run_vectors_with(&native, &r.vectors_dir()).expect("runs"));
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// One listing defect that some gate or the match rule looks at.
fn spoil(rng: &mut Rng, l: &mut ListingJson, other: &ListingJson) {
    match rng.below(14) {
        0 => l.zpid = other.zpid.clone(),
        1 => l.mls_id = Some("MLS-1".into()),
        2 => l.address = format!("  {}. ", other.address.to_uppercase()),
        3 => l.address = "Straße 5, MÜNCHEN #İ".into(),
        4 => l.price = None,
        5 => l.price = Some(5),
        6 => l.listing_date = "2025-02-29".into(),
        7 => l.scraped_timestamp = "2025-10-01T16:10:00.Z".into(),
        8 => l.zipcode = "99999".into(),
        9 => l.zpid = Some(String::new()),
        10 => l.bedrooms = Some(99),
        11 => l.sqft = Some(5),
        12 => l.address = String::new(),
        _ => l.source_url = String::new(),
    }
}

/// An epoch of up to four zipcodes (one may be a honeypot) and up to seven miners with every
/// kind of submission: late, unsigned, too few or many listings, duplicates, poor quality,
/// wrong zipcode; observations found as submitted, found changed, not found or missing.
fn random_epoch(seed: u64) -> EpochInput {
    let mut rng = Rng(seed);
    let zips = ["02139", "10001", "19103", "94105"];
    let mut input = EpochInput {
        epoch: epoch(),
        params: None,
        assignments: Vec::new(),
        submissions: Vec::new(),
        observations: Vec::new(),
    };
    for (zi, zip) in zips.iter().take(1 + rng.below(4) as usize).enumerate() {
        let expected = 10 + rng.below(30) as u32;
        let honeypot = zi == 3 && rng.chance(50);
        input.assignments.push(resi_policy::input::AssignmentJson {
            zipcode: zip.to_string(),
            expected,
            honeypot,
            true_count: if honeypot { rng.below(5) as u32 } else { 0 },
        });
        for m in 0..rng.below(8) {
            let n = match rng.below(6) {
                0 => rng.below(u64::from(expected)) as usize,
                1 => (u64::from(expected) * 2) as usize,
                _ => (u64::from(expected) * (90 + rng.below(25)) / 100) as usize,
            };
            let offset = rng.below(5) * 600;
            let mut sub = submission(&format!("miner{m}"), zip, offset, n);
            if rng.chance(8) {
                sub.submitted_at_ms = DEADLINE_MS + 3_600_000;
            }
            sub.manifest_ok = !rng.chance(8);
            let defects = match rng.below(4) {
                0 => 0,
                1 => 1,
                _ => rng.below(n as u64 + 1) as usize,
            };
            for _ in 0..defects {
                if sub.listings.len() < 2 {
                    break;
                }
                let i = rng.below(sub.listings.len() as u64) as usize;
                let j = (i + 1 + rng.below(sub.listings.len() as u64 - 1) as usize)
                    % sub.listings.len();
                let other = sub.listings[j].clone();
                spoil(&mut rng, &mut sub.listings[i], &other);
            }
            let kind = rng.below(5);
            let obs: Vec<ObservationJson> = common::observe(&sub, |nth, _, l| match kind {
                0 => Some(ObservedJson::Found { listing: l.clone() }),
                1 if nth == 0 => Some(ObservedJson::NotFound),
                2 => {
                    let mut seen = l.clone();
                    seen.price = seen.price.map(|p| p + p / 10);
                    Some(ObservedJson::Found { listing: seen })
                }
                3 => None,
                _ => Some(ObservedJson::Found { listing: l.clone() }),
            });
            input.observations.extend(obs);
            input.submissions.push(sub);
        }
    }
    input
}

fn run(backend: &dyn Backend, input: &EpochInput) -> RunReport {
    let (run, records) = input.to_run().expect("valid input");
    let params = release().manifest.default_params;
    run_epoch(backend, &params, &run, &mut RecordedObserver::new(records)).expect("runs")
}

fn same_as_1_0(old: &RunReport, new: &RunReport, what: &str) {
    assert_eq!(
        as_1_0(new.canonical_outcome()),
        old.canonical_outcome(),
        "{what}: outcome differs"
    );
    assert_eq!(new.input_hash, old.input_hash, "{what}: input hash differs");
    assert_eq!(
        new.observations, old.observations,
        "{what}: spot checks differ"
    );
}

#[test]
fn random_epochs_score_as_1_0_natively() {
    let old = NativeBackend::new(release().manifest.wasm_pin().expect("pin"));
    let new = NativeBackend::v1_1(release_1_1().manifest.wasm_pin().expect("pin"));
    let mut ranked = 0usize;
    for seed in 0..400 {
        let input = random_epoch(seed);
        let (a, b) = (run(&old, &input), run(&new, &input));
        same_as_1_0(&a, &b, &format!("seed {seed}"));
        ranked += a.canonical_outcome().matches("\"rank\":1").count();
    }
    // The generator reaches winners, not only failures.
    assert!(ranked > 100, "only {ranked} first ranks in 400 epochs");
}

#[test]
fn random_epochs_score_as_1_0_as_components() {
    let engine = PolicyEngine::new(PolicyEngineOptions::default()).expect("engine");
    let old = WasmBackend::new(engine.load(&release().wasm).expect("1.0.0"));
    let new = WasmBackend::new(engine.load(&release_1_1().wasm).expect("1.1.0"));
    for seed in 1000..1030 {
        let input = random_epoch(seed);
        same_as_1_0(
            &run(&old, &input),
            &run(&new, &input),
            &format!("seed {seed}"),
        );
    }
}

#[test]
fn a_malformed_batch_is_refused_by_the_policy_not_misread() {
    let r = release_1_1();
    let engine = PolicyEngine::new(PolicyEngineOptions::default()).expect("engine");
    let policy = engine.load(&r.wasm).expect("loads");
    let input = random_epoch(7);
    let (run, _) = input.to_run().expect("input");
    let z = run
        .zipcodes
        .iter()
        .find(|z| z.submissions.iter().any(|s| !s.listings.is_empty()))
        .expect("a zipcode with listings");
    let mut batch = resi_sandbox::policy::encode_batch(&z.submissions);
    batch.pop();
    let err = policy
        .plan_zipcode_batched(
            &r.manifest.default_params,
            &run.epoch,
            &z.assignment,
            &z.submissions,
            &batch,
            &[],
            &mut Vec::new(),
        )
        .expect_err("a cut batch is refused");
    assert!(err.to_string().contains("listing batch"), "{err}");
}

#[test]
fn a_state_is_only_taken_back_for_the_input_it_was_made_for() {
    let r = release_1_1();
    let engine = PolicyEngine::new(PolicyEngineOptions::default()).expect("engine");
    let policy = engine.load(&r.wasm).expect("loads");
    let params = &r.manifest.default_params;
    // An epoch whose zipcode asks for spot checks in its first round.
    let (run, zi, first, state) = (0..200)
        .find_map(|seed| {
            let (run, _) = random_epoch(seed).to_run().expect("input");
            (0..run.zipcodes.len()).find_map(|zi| {
                let z = &run.zipcodes[zi];
                let batch = resi_sandbox::policy::encode_batch(&z.submissions);
                let mut state = Vec::new();
                let first = policy
                    .plan_zipcode_batched(
                        params,
                        &run.epoch,
                        &z.assignment,
                        &z.submissions,
                        &batch,
                        &[],
                        &mut state,
                    )
                    .expect("plans");
                (z.submissions.len() >= 2 && !first.value.is_empty()).then_some((
                    run.clone(),
                    zi,
                    first,
                    state,
                ))
            })
        })
        .expect("a zipcode with spot checks");
    let z = &run.zipcodes[zi];
    let batch = resi_sandbox::policy::encode_batch(&z.submissions);
    assert!(state.starts_with(b"zc11"), "a state comes back");
    // Handed back: the same plan as without it.
    let mut again = state.clone();
    let with = policy
        .plan_zipcode_batched(
            params,
            &run.epoch,
            &z.assignment,
            &z.submissions,
            &batch,
            &[],
            &mut again,
        )
        .expect("plans with its state");
    let key = |c: &Vec<resi_sandbox::policy::wit::CheckRequest>| {
        c.iter()
            .map(|r| (r.hotkey.clone(), r.index))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&with.value), key(&first.value));
    assert_eq!(again, state);
    // For another input (one submission fewer) it is refused, not believed.
    let fewer = &z.submissions[1..];
    let mut stale = state.clone();
    let err = policy
        .plan_zipcode_batched(
            params,
            &run.epoch,
            &z.assignment,
            fewer,
            &resi_sandbox::policy::encode_batch(fewer),
            &[],
            &mut stale,
        )
        .expect_err("a stale state is refused");
    assert!(err.to_string().contains("state handed back"), "{err}");
    // A tampered state too.
    let mut tampered = state.clone();
    if let Some(b) = tampered.last_mut() {
        *b ^= 0xff;
    }
    let last = tampered.len() - 2;
    tampered[last] = 0xff;
    assert!(
        policy
            .plan_zipcode_batched(
                params,
                &run.epoch,
                &z.assignment,
                &z.submissions,
                &batch,
                &[],
                &mut tampered
            )
            .is_err()
    );
}
