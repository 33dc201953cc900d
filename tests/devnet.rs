//! `resi devnet` driven as users run it: the real binary, its flags, its exit status, its
//! tables and the files it leaves (`devnet-report.json`, `weights.html`, the object store).
//!
//! - On embedded defaults over the local-directory store (two short epochs): validators agree
//!   every epoch, every honest miner is paid, the chain holds every validator's weights, the
//!   validated data traces back to the market.
//! - With `--adversaries` against moto S3 (`cargo xtask test` starts it): the fabricator, the
//!   duplicator, the late miner and the honeypot abuser end at 0, each stopped by the gate or
//!   flag meant for it; honest miners share the weight, the earliest first; all validators agree.
//! - Operations: while a devnet runs, every role's `/metrics` (the coordinator on its API port,
//!   each miner and validator on the loopback port `endpoints.json` names) is scraped, and the
//!   named series hold values that match the run's report.
//!
//! Needs the guests built (`cargo xtask guests`).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

use resi_testkit::repo_root;

/// Runs `resi devnet ARGS --data-dir DATA`; returns (stdout, report JSON).
fn devnet(args: &[&str], data: &Path) -> (String, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .current_dir(repo_root())
        .arg("devnet")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("run resi");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "resi devnet {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(data.join("devnet-report.json")).expect("report");
    (stdout, serde_json::from_str(&report).expect("report json"))
}

fn miner<'a>(epoch: &'a Value, name: &str) -> &'a Value {
    epoch["miners"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["miner"] == name))
        .unwrap_or_else(|| panic!("{name} missing from {epoch}"))
}

/// Every validator has the same outcome hash, set weights, and validated data the market has.
fn assert_validators_agree(epoch: &Value, validators: usize) {
    let vs = epoch["validators"].as_array().expect("validators");
    assert_eq!(vs.len(), validators, "{epoch}");
    assert_eq!(epoch["agreed"], true, "{epoch}");
    for v in vs {
        assert_eq!(v["outcome_hash"], vs[0]["outcome_hash"], "{epoch}");
        assert_eq!(v["outcome_hash"].as_str().map(str::len), Some(64));
        assert_eq!(v["agreement"]["level"], "strong", "{v}");
        assert!(v["weights"].is_array(), "weights not set: {v}");
        let validated = v["validated_listings"].as_u64().expect("validated");
        assert!(validated > 0, "{v}");
        assert_eq!(v["traceable_listings"].as_u64(), Some(validated), "{v}");
    }
    assert_eq!(
        epoch["chain_weights"].as_array().map(Vec::len),
        Some(validators),
        "{epoch}"
    );
}

/// Also the stand-alone check: run from an empty directory outside the checkout, without
/// `RESI_GUESTS_DIR` or a zipcode table, so the binary uses only what is compiled into it, and
/// without `--data-dir`, so it must keep its default one under the working directory.
#[test]
fn devnet_on_defaults_pays_every_honest_miner_and_agrees() {
    let tmp = tempfile::tempdir().expect("tmp");
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("cwd");
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .current_dir(&elsewhere)
        .env_remove("RESI_GUESTS_DIR")
        .env_remove("RESI_ZIPCODES")
        .args(["devnet", "--epochs", "2", "--epoch-secs", "20"])
        .output()
        .expect("run resi");
    assert!(
        out.status.success(),
        "resi devnet failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let runs: Vec<PathBuf> = std::fs::read_dir(elsewhere.join("resi-devnet"))
        .expect("the default data dir ./resi-devnet")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let data = runs[0].clone();
    assert!(stdout.contains(&data.display().to_string()), "{stdout}");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("devnet-report.json")).expect("the report it names"),
    )
    .expect("report json");
    let epochs = report["epochs"].as_array().expect("epochs");
    assert_eq!(epochs.len(), 2, "{report}");
    assert_ne!(epochs[0]["epoch_id"], epochs[1]["epoch_id"]);
    for e in epochs {
        assert_validators_agree(e, 2);
        for name in ["miner1", "miner2", "miner3"] {
            let m = miner(e, name);
            assert!(m["ppb"].as_u64().unwrap_or(0) > 0, "{m}");
            assert_eq!(m["final_status"], "COMPLETED", "{m}");
            // An empty delivery for a honeypot zipcode is correct, not a failed gate.
            assert_eq!(m["failed_gates"], serde_json::json!({}), "{m}");
        }
    }
    // The tables, and what the run leaves behind.
    assert!(stdout.contains("traced to the market"), "{stdout}");
    assert!(stdout.contains("weights on the local chain"), "{stdout}");
    let html = std::fs::read_to_string(data.join("weights.html")).expect("weights.html");
    assert!(html.matches("<rect").count() >= 6, "{html}");
    for f in [
        "chain.sqlite",
        "validator1.sqlite",
        "miner1/miner.sqlite",
        "objects/data",
    ] {
        assert!(data.join(f).exists(), "{f} missing in {}", data.display());
    }
    for w in ["miner1", "validator2"] {
        assert!(
            data.join("wallets/devnet/hotkeys").join(w).exists(),
            "wallet {w}"
        );
    }
}

#[test]
fn devnet_with_adversaries_on_moto_s3() {
    let Some(endpoint) = resi_testkit::s3::moto_endpoint("devnet_with_adversaries_on_moto_s3")
    else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("devnet");
    let bucket = format!("devnet-e2e-{}", std::process::id());
    let (stdout, report) = devnet(
        &[
            "--adversaries",
            "--epochs",
            "1",
            "--epoch-secs",
            "30",
            "--s3-endpoint",
            &endpoint,
            "--s3-bucket",
            &bucket,
        ],
        &data,
    );
    assert!(report["store"].as_str().unwrap_or("").starts_with("s3://"));
    let e = &report["epochs"][0];
    assert_validators_agree(e, 2);
    let flags = |m: &Value| -> Vec<String> {
        m["flags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect()
    };
    let failed = |m: &Value, gate: &str| m["failed_gates"][gate].as_u64().unwrap_or(0);
    for name in ["fabricator", "duplicator", "late", "honeypot-abuser"] {
        let m = miner(e, name);
        assert_eq!(m["ppb"], 0, "{m}");
        assert!(m["error"].is_null(), "{name} could not play its part: {m}");
        assert!(m["listings"].as_u64().unwrap_or(0) > 0, "{m}");
    }
    // Each adversary is stopped by what is meant to stop it.
    let fab = miner(e, "fabricator");
    assert!(flags(fab).contains(&"fabrication".to_owned()), "{fab}");
    let abuser = miner(e, "honeypot-abuser");
    assert!(
        flags(abuser).contains(&"fabrication".to_owned()),
        "{abuser}"
    );
    assert!(failed(miner(e, "duplicator"), "G2") > 0, "{e}");
    // The late miner's uploads came after the deadline plus grace: left out before the policy.
    let late = miner(e, "late");
    let late_reasons = late["rejected"].as_array().expect("rejected");
    assert!(!late_reasons.is_empty(), "{late}");
    assert!(
        late_reasons
            .iter()
            .all(|r| r.as_str().is_some_and(|r| r.starts_with("late:"))),
        "{late}"
    );
    // Honest miners share the weight, the earliest first.
    let honest: Vec<u64> = ["miner1", "miner2", "miner3"]
        .iter()
        .map(|n| miner(e, n)["ppb"].as_u64().unwrap_or(0))
        .collect();
    assert!(honest.iter().all(|p| *p > 0), "{honest:?}");
    assert!(
        honest[0] >= honest[1] && honest[1] >= honest[2],
        "{honest:?}"
    );
    let total: u64 = honest.iter().sum();
    assert!((999_999_000..=1_000_000_000).contains(&total), "{total}");
    assert!(stdout.contains("fabrication"), "{stdout}");
    // The validators' outputs are in the bucket.
    let keys = validator_objects(&endpoint, &bucket);
    for file in [
        "validation_report.json",
        "validated_data.parquet",
        "epoch_metadata.json",
    ] {
        assert_eq!(
            keys.iter().filter(|k| k.ends_with(file)).count(),
            2,
            "{file}: {keys:?}"
        );
    }
}

/// Keys under `validators/` in the moto bucket.
fn validator_objects(endpoint: &str, bucket: &str) -> Vec<String> {
    let store =
        resi_store::Store::s3(resi_testkit::s3::moto_config(endpoint, bucket)).expect("s3 store");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(store.list("validators/"))
        .expect("list the bucket")
        .into_iter()
        .map(|m| m.key)
        .collect()
}

/// One Prometheus text exposition: series (name with labels, as written) -> value.
fn parse_metrics(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// Sum of the series named `name` carrying every label of `labels`.
fn metric(m: &[(String, f64)], name: &str, labels: &[(&str, &str)]) -> f64 {
    m.iter()
        .filter(|(s, _)| {
            let (n, l) = s.split_once('{').unwrap_or((s, ""));
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_serves_metrics_during_a_devnet_epoch() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("run");
    let out = std::fs::File::create(tmp.path().join("stdout")).expect("stdout file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_resi"))
        .current_dir(repo_root())
        .args([
            "devnet",
            "--epochs",
            "2",
            "--epoch-secs",
            "20",
            "--data-dir",
        ])
        .arg(&data)
        .stdout(out)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run resi devnet");
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("client");
    let started = std::time::Instant::now();
    let limit = std::time::Duration::from_secs(420);
    let mut endpoints: Option<Value> = None;
    let mut coordinator: Option<String> = None;
    // The last scrape of each role, and what /healthcheck said.
    let mut last: std::collections::BTreeMap<String, Vec<(String, f64)>> = Default::default();
    let mut health: std::collections::BTreeMap<String, Value> = Default::default();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            started.elapsed() < limit,
            "devnet still running (hang guard)"
        );
        if endpoints.is_none() {
            endpoints = std::fs::read_to_string(data.join("endpoints.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
        }
        if coordinator.is_none() {
            let text = std::fs::read_to_string(tmp.path().join("stdout")).unwrap_or_default();
            coordinator = text
                .split_whitespace()
                .skip_while(|w| *w != "coordinator")
                .nth(1)
                .map(str::to_owned);
        }
        let mut targets: Vec<(String, String)> = Vec::new();
        if let Some(url) = &coordinator {
            targets.push(("coordinator".into(), url.clone()));
        }
        if let Some(e) = endpoints.as_ref().and_then(Value::as_object) {
            targets.extend(
                e.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))),
            );
        }
        for (name, url) in targets {
            if let Ok(r) = http.get(format!("{url}/metrics")).send().await
                && r.status().is_success()
                && let Ok(text) = r.text().await
            {
                last.insert(name.clone(), parse_metrics(&text));
            }
            if !health.contains_key(&name)
                && let Ok(r) = http.get(format!("{url}/healthcheck")).send().await
                && let Ok(v) = r.json::<Value>().await
            {
                health.insert(name, v);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    };
    let stdout = std::fs::read_to_string(tmp.path().join("stdout")).unwrap_or_default();
    assert!(status.success(), "devnet failed: {stdout}");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("devnet-report.json")).expect("report"),
    )
    .expect("report json");
    let epochs = report["epochs"].as_array().expect("epochs");

    let c = last
        .get("coordinator")
        .expect("coordinator /metrics scraped");
    let current = [("endpoint", "/api/v1/zipcode-assignments/current")];
    assert!(metric(c, "resi_coordinator_http_requests_total", &current) >= 3.0);
    assert!(
        metric(
            c,
            "resi_coordinator_http_request_duration_seconds_count",
            &current
        ) >= 3.0
    );
    assert!(metric(c, "resi_coordinator_epoch_zipcodes", &[]) >= 1.0);
    assert!(metric(c, "resi_coordinator_grants_total", &[]) >= 3.0);

    for name in ["miner1", "miner2", "miner3"] {
        let m = last
            .get(name)
            .unwrap_or_else(|| panic!("{name} /metrics scraped"));
        assert_eq!(health[name]["role"], "miner", "{:?}", health.get(name));
        let uploaded: u64 = epochs
            .iter()
            .map(|e| {
                miner(e, name)["uploaded"].as_array().map_or(0, |u| {
                    u.iter().map(|z| z[1].as_u64().unwrap_or(0)).sum::<u64>()
                })
            })
            .sum();
        assert!(uploaded > 0);
        assert_eq!(
            metric(m, "resi_miner_listings_uploaded_total", &[]) as u64,
            uploaded,
            "{name}: listings uploaded"
        );
        assert!(metric(m, "resi_miner_uploads_total", &[("result", "ok")]) >= 2.0);
        assert!(metric(m, "resi_miner_scrapes_total", &[("result", "ok")]) >= 2.0);
        assert!(metric(m, "resi_miner_scraper_fuel_sum", &[]) > 1e6);
        assert!(metric(m, "resi_miner_scraper_peak_memory_bytes_sum", &[]) > 0.0);
        assert!(metric(m, "resi_miner_assignment_to_upload_seconds_count", &[]) >= 2.0);
        assert!(metric(m, "resi_miner_zipcode_listings", &[("stage", "uploaded")]) > 0.0);
    }
    for name in ["validator1", "validator2"] {
        let v = last
            .get(name)
            .unwrap_or_else(|| panic!("{name} /metrics scraped"));
        assert_eq!(health[name]["role"], "validator");
        assert!(metric(v, "resi_validator_epochs_total", &[("result", "ok")]) >= 1.0);
        assert_eq!(
            metric(v, "resi_validator_epochs_total", &[("result", "failed")]),
            0.0
        );
        assert!(
            metric(
                v,
                "resi_validator_submissions_total",
                &[("result", "accepted")]
            ) >= 3.0
        );
        assert!(
            metric(
                v,
                "resi_validator_spot_checks_total",
                &[("result", "found")]
            ) >= 1.0
        );
        assert_eq!(metric(v, "resi_validator_agreement_validators", &[]), 2.0);
        assert_eq!(metric(v, "resi_validator_agreement_percent", &[]), 100.0);
        assert!(metric(v, "resi_validator_weights_total", &[("result", "set")]) >= 1.0);
        assert!(
            metric(
                v,
                "resi_validator_stage_seconds_count",
                &[("stage", "validate")]
            ) >= 1.0
        );
        assert!(
            metric(
                v,
                "resi_validator_stage_seconds_count",
                &[("stage", "policy")]
            ) >= 1.0
        );
    }
}
