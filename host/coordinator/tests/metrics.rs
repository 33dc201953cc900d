//! `/metrics` and `/healthcheck` of a coordinator on 127.0.0.1: a known mix of accepted and
//! refused requests, then the scraped series must count exactly those (by route template,
//! status, refusal reason, rate-limit rule, grant kind) and the epoch gauges must match what the
//! API and the database say about the current epoch.

use crate::common;

use common::*;
use resi_client::{ApiClient, ClientConfig, RetryPolicy, StatusUpdate};
use resi_coordinator::{Limit, RateLimits};
use resi_core::Hotkey;
use resi_core::auth::now_unix;
use resi_core::commitments;
use resi_core::wire::{AssignmentResponse, MinerStatus};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const CURRENT: &str = "/api/v1/zipcode-assignments/current";

/// One sample of the exposition: series name and its labels, sorted.
type Key = (String, BTreeMap<String, String>);

/// Parses OpenMetrics text into samples (comments and `# EOF` skipped).
fn parse_exposition(text: &str) -> BTreeMap<Key, f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("sample line: series value");
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.strip_suffix('}').expect("closing brace")),
            None => (series, ""),
        };
        let mut map = BTreeMap::new();
        // Label values here never contain `,` or `"` (route templates, reasons, codes).
        for pair in labels.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').expect("label k=v");
            map.insert(k.to_owned(), v.trim_matches('"').to_owned());
        }
        let v: f64 = value.parse().expect("numeric sample");
        out.insert((name.to_owned(), map), v);
    }
    out
}

struct Scrape(BTreeMap<Key, f64>);

impl Scrape {
    /// The sample `name{labels}`, 0 when absent (a counter never incremented).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.0
            .get(&(name.to_owned(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    /// Sum of every sample of `name` whose labels include `filter`.
    fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|((n, l), _)| {
                n == name
                    && filter
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, v)| v)
            .sum()
    }
}

async fn scrape(url: &str) -> Scrape {
    let resp = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = resp.text().await.unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    Scrape(parse_exposition(&text))
}

fn client(url: &str, key: &Hotkey) -> ApiClient {
    let mut cfg = ClientConfig::new(url);
    cfg.retry = RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    };
    ApiClient::new(cfg, Some(key.clone())).unwrap()
}

#[test]
fn exposition_parser_reads_labels_and_values() {
    let s = Scrape(parse_exposition(
        "# TYPE x counter\nx_total{a=\"1\",b=\"/p/{id}\"} 3\ny 2.5\n# EOF\n",
    ));
    assert_eq!(s.get("x_total", &[("a", "1"), ("b", "/p/{id}")]), 3.0);
    assert_eq!(s.get("x_total", &[("a", "1")]), 0.0);
    assert_eq!(s.get("y", &[]), 2.5);
    assert_eq!(s.sum("x_total", &[("b", "/p/{id}")]), 3.0);
}

#[tokio::test]
async fn metrics_count_what_was_sent_and_report_the_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    // Three /current calls per minute, so the fourth admitted one is rate limited.
    cfg.rate_limits = RateLimits {
        current: Limit::per_minute(3),
        ..RateLimits::default().scaled(100)
    };
    let (srv, keys) = start(dir.path(), cfg).await;
    let url = srv.url();
    let http = reqwest::Client::new();
    let get = |q: Vec<(&'static str, String)>| http.get(format!("{url}{CURRENT}")).query(&q).send();
    let signed =
        |key: &Hotkey, ts: i64| signed_query(key, &commitments::assignment_current(ts), ts);

    // /current: 1 bad signature, 1 stale timestamp, 1 unregistered, 3 accepted, 1 replay,
    // 1 rate-limited, 1 without parameters = 9 requests.
    let now = now_unix();
    let mut bad_sig = signed(&keys.stranger, now);
    bad_sig[0].1 = keys.miner.ss58();
    assert_eq!(get(bad_sig).await.unwrap().status(), 401);
    assert_eq!(
        get(signed(&keys.miner, now - 3600)).await.unwrap().status(),
        400
    );
    assert_eq!(
        get(signed(&keys.stranger, now)).await.unwrap().status(),
        403
    );
    let mut last_ok = Vec::new();
    let mut assignment: Option<AssignmentResponse> = None;
    for _ in 0..3 {
        let q = signed(&keys.miner, now_unix());
        let resp = get(q.clone()).await.unwrap();
        assert_eq!(resp.status(), 200);
        assignment = Some(resp.json().await.unwrap());
        last_ok = q;
    }
    let a = assignment.unwrap();
    assert_eq!(get(last_ok).await.unwrap().status(), 401, "replay");
    let limited = get(signed(&keys.miner, now_unix())).await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(get(vec![]).await.unwrap().status(), 400);

    // /epoch/{id} by a miner: no validator permit.
    let ts = now_unix();
    let id = a.epoch_id.to_string();
    let resp = http
        .get(format!("{url}/api/v1/zipcode-assignments/epoch/{id}"))
        .query(&signed_query(
            &keys.miner,
            &commitments::validation(&id, ts),
            ts,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // /status: one over axum's 64 KiB limit, one over the report's own 16 KiB, one accepted.
    let status_url = format!("{url}/api/v1/zipcode-assignments/status");
    for size in [65 * 1024, 20 * 1024] {
        let resp = http
            .post(&status_url)
            .header("content-type", "application/json")
            .body(vec![b' '; size])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 413, "{size} bytes");
    }
    let miner = client(&url, &keys.miner);
    let validator = client(&url, &keys.validator);
    miner
        .report_status(&StatusUpdate {
            epoch_id: a.epoch_id,
            nonce: a.nonce.clone(),
            status: MinerStatus::InProgress,
            s3_upload_complete: false,
            listings_scraped: Some(7),
            zipcodes_completed: None,
            s3_upload_timestamp: None,
        })
        .await
        .unwrap();

    // Grants: one miner upload grant, one validator read grant.
    miner.folder_access(&keys.stranger.ss58()).await.unwrap();
    validator.validator_access().await.unwrap();

    // A path nobody serves, and a wrong method on a known one.
    assert_eq!(
        http.get(format!("{url}/no/such/path"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        http.post(format!("{url}/healthcheck"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );

    let m = scrape(&url).await;
    let req = "resi_coordinator_http_requests_total";
    let at = |status: &'static str| [("endpoint", CURRENT), ("method", "GET"), ("status", status)];
    assert_eq!(m.get(req, &at("200")), 3.0);
    assert_eq!(m.get(req, &at("401")), 2.0, "bad signature + replay");
    assert_eq!(
        m.get(req, &at("400")),
        2.0,
        "stale timestamp + no parameters"
    );
    assert_eq!(m.get(req, &at("403")), 1.0);
    assert_eq!(m.get(req, &at("429")), 1.0);
    assert_eq!(m.sum(req, &[("endpoint", CURRENT)]), 9.0);
    let epoch_route = "/api/v1/zipcode-assignments/epoch/{id}";
    assert_eq!(
        m.get(
            req,
            &[
                ("endpoint", epoch_route),
                ("method", "GET"),
                ("status", "403")
            ]
        ),
        1.0
    );
    assert_eq!(
        m.sum(
            req,
            &[
                ("endpoint", "/api/v1/zipcode-assignments/status"),
                ("status", "413")
            ]
        ),
        2.0
    );
    assert_eq!(
        m.get(
            req,
            &[
                ("endpoint", "/api/v1/zipcode-assignments/status"),
                ("method", "POST"),
                ("status", "200")
            ]
        ),
        1.0
    );
    assert_eq!(
        m.get(
            req,
            &[
                ("endpoint", "unmatched"),
                ("method", "GET"),
                ("status", "404")
            ]
        ),
        1.0
    );
    assert_eq!(
        m.get(
            req,
            &[
                ("endpoint", "/healthcheck"),
                ("method", "POST"),
                ("status", "405")
            ]
        ),
        1.0
    );
    // Route templates only: never the raw epoch id or the unmatched path.
    assert!(
        m.0.keys().all(|(_, l)| l
            .values()
            .all(|v| !v.contains(&id) && !v.contains("no/such"))),
        "a raw path leaked into a label"
    );

    let hist = "resi_coordinator_http_request_duration_seconds";
    assert_eq!(
        m.get(&format!("{hist}_count"), &[("endpoint", CURRENT)]),
        9.0
    );
    let sum = m.get(&format!("{hist}_sum"), &[("endpoint", CURRENT)]);
    assert!(sum > 0.0 && sum < 60.0, "latency sum {sum}");
    assert_eq!(
        m.get(
            &format!("{hist}_bucket"),
            &[("endpoint", CURRENT), ("le", "+Inf")]
        ),
        9.0
    );

    let refusals = "resi_coordinator_refusals_total";
    for (reason, n) in [
        ("bad_signature", 1.0),
        ("timestamp", 1.0),
        ("not_registered", 1.0),
        ("replay", 1.0),
        ("rate_limited", 1.0),
        ("bad_query", 1.0),
        ("no_permit", 1.0),
        ("body_too_large", 2.0),
        ("not_found", 1.0),
        ("method_not_allowed", 1.0),
    ] {
        assert_eq!(
            m.get(refusals, &[("reason", reason)]),
            n,
            "refusals {reason}"
        );
    }
    // Every 4xx sent above is one refusal: 6 on /current, 1 on /epoch, 2 on /status, 404, 405.
    assert_eq!(m.sum(refusals, &[]), 11.0);
    assert_eq!(
        m.get(
            "resi_coordinator_rate_limit_hits_total",
            &[("rule", "current")]
        ),
        1.0
    );
    assert_eq!(m.sum("resi_coordinator_rate_limit_hits_total", &[]), 1.0);
    let grants = "resi_coordinator_grants_total";
    assert_eq!(m.get(grants, &[("kind", "miner_upload")]), 1.0);
    assert_eq!(m.get(grants, &[("kind", "validator_read")]), 1.0);
    assert_eq!(m.sum(grants, &[]), 2.0);

    // The epoch gauges against the API's answer and the database.
    let start = chrono::DateTime::parse_from_rfc3339(a.epoch_start.as_deref().unwrap()).unwrap();
    assert_eq!(
        m.get("resi_coordinator_epoch_start_timestamp_seconds", &[]),
        start.timestamp() as f64
    );
    let end = chrono::DateTime::parse_from_rfc3339(&a.submission_deadline).unwrap();
    assert_eq!(
        m.get("resi_coordinator_epoch_end_timestamp_seconds", &[]),
        end.timestamp() as f64
    );
    assert_eq!(
        m.get("resi_coordinator_epoch_zipcodes", &[]),
        a.zipcodes.len() as f64
    );
    let db =
        resi_coordinator::db::Db::open(&data_dir(dir.path()).join("coordinator.sqlite")).unwrap();
    let (_, stored) = db.epoch(&id).unwrap().unwrap();
    let honeypots = stored.iter().filter(|z| z.is_honeypot).count();
    assert!(honeypots > 0, "the default selection has honeypots");
    assert_eq!(
        m.get("resi_coordinator_epoch_honeypots", &[]),
        honeypots as f64
    );
    let expected = a
        .metadata
        .as_ref()
        .unwrap()
        .total_expected_listings
        .unwrap();
    assert_eq!(
        m.get("resi_coordinator_epoch_expected_listings", &[]),
        expected as f64
    );
    let reported = "resi_coordinator_epoch_miners_reported";
    assert_eq!(m.get(reported, &[("status", "IN_PROGRESS")]), 1.0);
    assert_eq!(m.get(reported, &[("status", "COMPLETED")]), 0.0);
    assert_eq!(m.sum(reported, &[]), 1.0);

    // The scrape itself is counted by the next one.
    let again = scrape(&url).await;
    assert_eq!(
        again.get(
            req,
            &[
                ("endpoint", "/metrics"),
                ("method", "GET"),
                ("status", "200")
            ]
        ),
        1.0
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn healthcheck_reports_the_role_and_scheduler_progress() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, _) = start(dir.path(), config(dir.path())).await;
    let url = srv.url();
    // The scheduler's first step runs right after start; give it a moment.
    let mut body = Value::Null;
    for _ in 0..100 {
        body = reqwest::get(format!("{url}/healthcheck"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["last_progress"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["role"], "coordinator", "{body}");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"), "{body}");
    assert!(body["uptime_secs"].is_u64(), "{body}");
    let progress = body["last_progress"].as_str().unwrap_or_default();
    assert!(progress.contains("epoch"), "{body}");
    assert!(body["last_progress_ms"].as_u64().unwrap_or(0) > 0, "{body}");
    // The typed client still reads it.
    let h = client(&url, &Hotkey::from_uri("//Anyone").unwrap())
        .health()
        .await
        .unwrap();
    assert_eq!(h.status, "ok");
    srv.shutdown().await;
}
