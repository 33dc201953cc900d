//! The pinned params decide the grace a validator waits after the deadline, and a params file
//! other than the pinned one is refused.

use resi_policy::hash::{canonicalize_value, params_sha256};
use resi_policy::vectors::Release;
use resi_validator::PolicyPin;
use std::time::Duration;

fn release() -> Release {
    Release::load(&resi_testkit::policy_release()).expect("release")
}

#[test]
fn grace_comes_from_the_pinned_params() {
    let r = release();
    let default = PolicyPin::load(
        &r.wasm,
        Some(&r.manifest.default_params),
        &r.manifest.wasm_sha256,
        &r.manifest.params_sha256,
    )
    .expect("release pin");
    assert_eq!(default.grace(), Duration::from_secs(15 * 60));

    let mut v: serde_json::Value =
        serde_json::from_str(&r.manifest.default_params).expect("params json");
    v["grace_ms"] = 5_000.into();
    let params = canonicalize_value(&v).expect("canonical");
    let short = PolicyPin::load(
        &r.wasm,
        Some(&params),
        &r.manifest.wasm_sha256,
        &hex::encode(params_sha256(&params)),
    )
    .expect("pinned short-grace params");
    assert_eq!(short.grace(), Duration::from_millis(5_000));

    let refused = PolicyPin::load(
        &r.wasm,
        Some(&params),
        &r.manifest.wasm_sha256,
        &r.manifest.params_sha256,
    );
    let err = refused
        .expect_err("other params than the pinned ones")
        .to_string();
    assert!(err.contains("params"), "{err}");
}
