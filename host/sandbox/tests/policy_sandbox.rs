//! Hostile policies against the deterministic engine: every limit holds, errors name the limit,
//! and the host keeps working afterwards.

use resi_sandbox::policy::wit::Epoch;
use resi_sandbox::policy::{PolicyEngine, PolicyEngineOptions};
use resi_sandbox::{SandboxError, Sha256Pin};

fn epoch() -> Epoch {
    Epoch {
        epoch_id: "2025-10-01T16-00-00".into(),
        nonce: "376ce532f42cf2a5".into(),
        validation_seed: vec![7; 32],
        deadline_ms: 1_759_348_800_000,
    }
}

fn small_engine() -> PolicyEngine {
    let mut options = PolicyEngineOptions::default();
    options.limits.fuel = Some(200_000_000);
    options.limits.memory_bytes = 64 << 20;
    PolicyEngine::new(options).expect("engine")
}

fn hostile(engine: &PolicyEngine, mode: &str) -> SandboxError {
    let policy = engine
        .load(&resi_testkit::guest("hostile-policy"))
        .expect("load hostile policy");
    policy
        .finalize(mode, &epoch(), &[])
        .expect_err("hostile call must fail")
}

#[test]
fn infinite_loop_stops_on_fuel() {
    let engine = small_engine();
    match hostile(&engine, "loop") {
        SandboxError::OutOfFuel { budget } => assert_eq!(budget, 200_000_000),
        other => panic!("expected out of fuel, got {other}"),
    }
}

#[test]
fn memory_bomb_stops_at_the_limit() {
    let engine = small_engine();
    match hostile(&engine, "membomb") {
        SandboxError::MemoryLimit { limit_bytes } => assert_eq!(limit_bytes, 64 << 20),
        other => panic!("expected memory limit, got {other}"),
    }
}

#[test]
fn deep_recursion_traps_cleanly() {
    let engine = small_engine();
    match hostile(&engine, "recurse") {
        SandboxError::StackOverflow { .. } => {}
        other => panic!("expected stack overflow, got {other}"),
    }
}

#[test]
fn panic_is_reported_as_a_trap() {
    let engine = small_engine();
    let err = hostile(&engine, "panic");
    assert!(
        matches!(err, SandboxError::Trap(_)),
        "expected trap, got {err}"
    );
    assert!(err.to_string().contains("unreachable"), "{err}");
}

#[test]
fn host_survives_every_hostile_call() {
    let engine = small_engine();
    for mode in ["loop", "membomb", "recurse", "panic"] {
        let _ = hostile(&engine, mode);
    }
    let policy = engine
        .load(&resi_testkit::guest("example-policy"))
        .expect("load");
    let info = policy.info().expect("info after hostile calls");
    assert_eq!(info.value.name, "example");
    let outcome = engine
        .load(&resi_testkit::guest("hostile-policy"))
        .expect("load")
        .finalize("benign", &epoch(), &[])
        .expect("benign call");
    assert_eq!(outcome.value.canonical_json, "{}");
}

#[test]
fn hash_mismatch_is_refused_naming_both_hashes() {
    let engine = small_engine();
    let bytes = resi_testkit::guest("example-policy");
    let wrong = Sha256Pin::of(b"some other policy");
    match engine.load_pinned(&bytes, &wrong) {
        Err(SandboxError::HashMismatch { expected, actual }) => {
            assert_eq!(expected, wrong.to_string());
            assert_eq!(actual, Sha256Pin::of(&bytes).to_string());
        }
        Err(other) => panic!("expected hash mismatch, got {other}"),
        Ok(_) => panic!("a wrong pin was accepted"),
    }
    let right = Sha256Pin::of(&bytes);
    engine
        .load_pinned(&bytes, &right)
        .expect("the right pin loads");
}

#[test]
fn a_component_importing_wasi_is_refused_as_a_policy() {
    let engine = small_engine();
    match engine.load(&resi_testkit::guest("example-scraper")) {
        Err(SandboxError::ForbiddenImports { profile, imports }) => {
            assert_eq!(profile, "policy");
            assert!(
                imports.iter().any(|i| i.starts_with("wasi:")),
                "{imports:?}"
            );
        }
        Err(other) => panic!("expected forbidden imports, got {other}"),
        Ok(_) => panic!("a WASI component was accepted as a policy"),
    }
}

#[test]
fn garbage_bytes_are_an_invalid_component() {
    let engine = small_engine();
    let err = engine
        .load(b"\0asm garbage")
        .err()
        .expect("garbage must not load");
    assert!(matches!(err, SandboxError::InvalidComponent(_)), "{err}");
}
