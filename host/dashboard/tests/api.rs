//! The dashboard's routes without a browser, on 127.0.0.1: the page with its
//! Content-Security-Policy, the compiled-in assets (the vendored uPlot among them), the epoch
//! list, 404 for an unknown epoch, 400 for an id that is none, and a view read back from a
//! report directory (`Store::local`) as the page receives it.

use resi_core::keys::Hotkey;
use resi_dashboard::{EpochView, ValidatorSource};
use resi_store::Store;
use resi_validator::report::{
    MinerScore, PolicyRef, REPORT_FORMAT, ValidationReport, validator_prefix,
};
use std::sync::Arc;

const EPOCH: &str = "2025-10-01T16-00-00";

async fn serve(source: ValidatorSource) -> String {
    let app: axum::Router = resi_dashboard::router(Arc::new(source));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn routes_answer_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path()).unwrap();
    let key = Hotkey::from_seed(&[9; 32]);
    let url = serve(ValidatorSource::new(store.clone(), key.ss58())).await;
    let c = http();

    let page = c.get(format!("{url}/dashboard")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("/dashboard/assets/uPlot.iife.min.js")
    );
    for (asset, kind) in [
        ("dashboard.js", "javascript"),
        ("dashboard.css", "css"),
        ("uPlot.iife.min.js", "javascript"),
        ("uPlot.min.css", "css"),
    ] {
        let r = c
            .get(format!("{url}/dashboard/assets/{asset}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.contains(kind), "{asset}: {ct}");
    }
    let missing = c
        .get(format!("{url}/dashboard/assets/..%2FCargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let list: serde_json::Value = c
        .get(format!("{url}/dashboard/api/epochs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["source"], "validator");
    assert_eq!(list["epochs"], serde_json::json!([]));
    let unknown = c
        .get(format!("{url}/dashboard/api/epochs/{EPOCH}"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let bad = c
        .get(format!("{url}/dashboard/api/epochs/..%2Fdata"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // A signed report in the directory: listed, and its view carries its scores.
    let mut report = ValidationReport {
        format: REPORT_FORMAT.into(),
        validator: String::new(),
        epoch_id: EPOCH.into(),
        policy: PolicyRef {
            name: "zipcode-competitive".into(),
            version: "1.0.0".into(),
            wasm_sha256: "00".repeat(32),
            params_sha256: "11".repeat(32),
        },
        outcome_hash: "aa".repeat(32),
        input_hash: "bb".repeat(32),
        scores: vec![MinerScore {
            hotkey: Hotkey::from_seed(&[1; 32]).ss58(),
            ppb: 1_000_000_000,
            rank: 1,
            flags: vec![],
        }],
        outcome: serde_json::json!({"zipcodes": []}),
        submissions: 1,
        rejected: vec![],
        rejected_omitted: vec![],
        spot_checks: 0,
        created_at: "2025-10-01T20:00:00.000Z".into(),
        signature: None,
    };
    report.sign(&key);
    store
        .put(
            &format!(
                "{}validation_report.json",
                validator_prefix(&report.validator, EPOCH)
            ),
            serde_json::to_vec(&report).unwrap(),
        )
        .await
        .unwrap();
    // A fresh router: the first one cached the empty answers.
    let url = serve(ValidatorSource::new(store, key.ss58())).await;
    let list: serde_json::Value = c
        .get(format!("{url}/dashboard/api/epochs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["epochs"][0]["epoch_id"], EPOCH);
    let view: EpochView = c
        .get(format!("{url}/dashboard/api/epochs/{EPOCH}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = view.report.expect("the report");
    assert_eq!(shown.miners[0].hotkey, report.scores[0].hotkey);
    assert_eq!(shown.outcome_hash, report.outcome_hash);
    let a = view.agreement.expect("agreement");
    assert_eq!((a.validators, a.agreeing, a.agree_pct), (1, 1, 100));
    assert!(!a.permits_checked);
}
