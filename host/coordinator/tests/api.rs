//! The coordinator over real HTTP on 127.0.0.1: every endpoint with signed requests, and every
//! refusal (bad signature, stale/future timestamp, replay, unregistered, miner on a validator
//! endpoint, wrong nonce, rate limit); and a restart mid-epoch that clients cannot notice.

use crate::common;

use common::*;
use resi_client::{ApiClient, ClientConfig, RetryPolicy, StatusUpdate};
use resi_coordinator::{Limit, RateLimits};
use resi_core::Hotkey;
use resi_core::auth::now_unix;
use resi_core::commitments;
use resi_core::wire::{MinerStatus, NestError};
use resi_store::Store;
use serde_json::{Value, json};

fn client(url: &str, key: &Hotkey) -> ApiClient {
    let mut cfg = ClientConfig::new(url);
    cfg.retry = RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    };
    ApiClient::new(cfg, Some(key.clone())).unwrap()
}

async fn nest(resp: reqwest::Response) -> (u16, NestError) {
    let code = resp.status().as_u16();
    let body: NestError = resp.json().await.unwrap();
    assert_eq!(body.status_code, code);
    (code, body)
}

#[tokio::test]
async fn every_endpoint_answers_in_protocol_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, keys) = start(dir.path(), config(dir.path())).await;
    let url = srv.url();
    let miner = client(&url, &keys.miner);
    let validator = client(&url, &keys.validator);

    let h = miner.health().await.unwrap();
    assert_eq!(h.status, "ok");

    // /current: the typed client reads it; the raw JSON has no honeypot flag anywhere.
    let a = miner.assignment_current().await.unwrap();
    assert!(a.success && a.nonce.len() == 16);
    assert!(!a.zipcodes.is_empty());
    let ts = now_unix();
    let raw: Value = reqwest::Client::new()
        .get(format!("{url}/api/v1/zipcode-assignments/current"))
        .query(&signed_query(
            &keys.miner,
            &commitments::assignment_current(ts),
            ts,
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = raw.to_string();
    assert!(
        !text.contains("isHoneypot") && !text.contains("validationSeed\""),
        "{text}"
    );
    assert_eq!(
        raw["metadata"]["validationSeedSha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert_eq!(raw["submissionDeadline"], raw["epochEnd"]);
    let total: u64 = a
        .zipcodes
        .iter()
        .map(|z| u64::from(z.expected_listings))
        .sum();
    assert_eq!(raw["metadata"]["totalExpectedListings"], json!(total));

    // /stats (public).
    let s = miner.stats().await.unwrap();
    let cur = s.epoch_status.current_epoch.unwrap();
    assert_eq!(
        (cur.id, cur.nonce.clone(), cur.status.as_str()),
        (a.epoch_id.to_string(), a.nonce.clone(), "ACTIVE")
    );
    assert_eq!(
        s.zipcode_statistics.unwrap().configuration.min_listings,
        200
    );

    // /status with the right nonce.
    let update = StatusUpdate {
        epoch_id: a.epoch_id,
        nonce: a.nonce.clone(),
        status: MinerStatus::InProgress,
        s3_upload_complete: false,
        listings_scraped: Some(3),
        zipcodes_completed: None,
        s3_upload_timestamp: None,
    };
    assert!(miner.report_status(&update).await.unwrap().success);

    // Folder access + upload through the grant into the local store.
    let post = miner.folder_access(&keys.stranger.ss58()).await.unwrap();
    let folder = format!("data/hotkey={}/", keys.miner.ss58());
    assert_eq!(post.folder.as_deref(), Some(folder.as_str()));
    let key = format!("{folder}epoch={}/zipcode=19103/listings.json", a.epoch_id);
    miner
        .upload_presigned(&post, &key, "listings.json", vec![b'{'; 64])
        .await
        .unwrap();
    let store = Store::local(dir.path().join("objects")).unwrap();
    assert_eq!(store.get(&key, 1000).await.unwrap().len(), 64);
    let listed = store.list(&folder).await.unwrap();
    assert_eq!(listed.len(), 1);

    // Validators: /epoch/{id} of the running epoch (no reveal yet), read grants, upload grant.
    let e = validator.assignment_for_epoch(&a.epoch_id).await.unwrap();
    assert_eq!(
        (e.nonce.clone(), e.zipcodes.len()),
        (a.nonce.clone(), a.zipcodes.len())
    );
    assert!(e.zipcodes.iter().all(|z| z.is_honeypot.is_none()));
    let g = validator.validator_access().await.unwrap();
    assert_eq!(g.folder.as_deref(), Some("data/"));
    let g = validator
        .miner_specific_access(&keys.miner.ss58())
        .await
        .unwrap();
    assert_eq!(g.folder.as_deref(), Some(folder.as_str()));
    let up = validator
        .validator_upload(&a.epoch_id, 1.0, 30)
        .await
        .unwrap();
    let vkey = format!(
        "validators/{}/epoch={}/validation_report.json",
        keys.validator.ss58(),
        a.epoch_id
    );
    validator
        .upload_presigned(&up, &vkey, "validation_report.json", b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(&store.get(&vkey, 10).await.unwrap()[..], b"{}");
    srv.shutdown().await;
}

#[tokio::test]
async fn refusals_have_the_documented_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.rate_limits = RateLimits {
        current: Limit::per_minute(1000),
        status: Limit::per_minute(1000),
        ..RateLimits::default()
    };
    let (srv, keys) = start(dir.path(), cfg).await;
    let url = format!("{}/api/v1/zipcode-assignments/current", srv.url());
    let http = reqwest::Client::new();
    let get = |q: Vec<(&'static str, String)>| http.get(&url).query(&q).send();
    let now = now_unix();

    // Bad signature: someone else's key signed it.
    let mut q = signed_query(&keys.stranger, &commitments::assignment_current(now), now);
    q[0].1 = keys.miner.ss58();
    let (code, body) = nest(get(q).await.unwrap()).await;
    assert_eq!(code, 401, "{body}");
    assert_eq!(body.error.as_deref(), Some("Unauthorized"));
    // Malformed signature: 400.
    let mut q = signed_query(&keys.miner, &commitments::assignment_current(now), now);
    q[1].1 = "zz".into();
    assert_eq!(nest(get(q).await.unwrap()).await.0, 400);
    // Stale and future timestamps.
    for ts in [now - 400, now + 120] {
        let (code, body) = nest(
            get(signed_query(
                &keys.miner,
                &commitments::assignment_current(ts),
                ts,
            ))
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(code, 400, "{body}");
    }
    // Missing parameter.
    assert_eq!(nest(get(vec![]).await.unwrap()).await.0, 400);
    // Replay: the same signed request twice.
    let q = signed_query(&keys.miner, &commitments::assignment_current(now), now);
    assert_eq!(get(q.clone()).await.unwrap().status(), 200);
    let (code, body) = nest(get(q).await.unwrap()).await;
    assert_eq!(code, 401);
    assert!(body.message_text().contains("already used"), "{body}");
    // Unregistered hotkey.
    let (code, _) = nest(
        get(signed_query(
            &keys.stranger,
            &commitments::assignment_current(now),
            now,
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(code, 403);
    // A miner on a validator endpoint.
    let miner = client(&srv.url(), &keys.miner);
    let a = miner.assignment_current().await.unwrap();
    let err = miner.assignment_for_epoch(&a.epoch_id).await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    let err = miner.validator_access().await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    // Wrong nonce on status.
    let ts = now_unix();
    let id = a.epoch_id.to_string();
    let body = json!({
        "hotkey": keys.miner.ss58(),
        "signature": keys.miner.sign(commitments::status(&id, ts).as_bytes()).to_hex(),
        "timestamp": ts, "epochId": id, "nonce": "0000000000000000",
        "status": "COMPLETED", "s3UploadComplete": true,
    });
    let resp = http
        .post(format!("{}/api/v1/zipcode-assignments/status", srv.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (code, body) = nest(resp).await;
    assert_eq!(code, 400);
    assert_eq!(body.message_text(), "Invalid nonce for epoch");
    // Unknown route: NestJS 404.
    assert_eq!(
        nest(
            http.get(format!("{}/nope", srv.url()))
                .send()
                .await
                .unwrap()
        )
        .await
        .0,
        404
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.rate_limits.current = Limit {
        max: 2,
        window_secs: 3600,
    };
    let (srv, keys) = start(dir.path(), cfg).await;
    let url = format!("{}/api/v1/zipcode-assignments/current", srv.url());
    let http = reqwest::Client::new();
    let mut last = None;
    for _ in 0..3 {
        let ts = now_unix();
        last = Some(
            http.get(&url)
                .query(&signed_query(
                    &keys.miner,
                    &commitments::assignment_current(ts),
                    ts,
                ))
                .send()
                .await
                .unwrap(),
        );
        if last.as_ref().unwrap().status() == 429 {
            break;
        }
    }
    let resp = last.unwrap();
    assert_eq!(resp.status(), 429);
    let retry: i64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    let (_, body) = nest(resp).await;
    assert_eq!(body.error.as_deref(), Some("Too Many Requests"));
    // Another hotkey is not affected.
    let v = client(&srv.url(), &keys.validator);
    assert!(v.assignment_current().await.is_ok());
    srv.shutdown().await;
}

#[tokio::test]
async fn local_grant_cannot_write_outside_its_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, keys) = start(dir.path(), config(dir.path())).await;
    let miner = client(&srv.url(), &keys.miner);
    let post = miner.folder_access(&keys.stranger.ss58()).await.unwrap();
    for key in [
        format!("data/hotkey={}/x.json", keys.validator.ss58()),
        "validators/x.json".to_owned(),
        format!("data/hotkey={}/../evil.json", keys.miner.ss58()),
    ] {
        let err = miner
            .upload_presigned(&post, &key, "x.json", vec![b'a'; 64])
            .await
            .unwrap_err();
        assert!(
            matches!(err.status(), Some(403) | Some(400)),
            "{key}: {err}"
        );
    }
    // Too small for the policy's content-length-range.
    let ok_key = format!("data/hotkey={}/small.json", keys.miner.ss58());
    let err = miner
        .upload_presigned(&post, &ok_key, "s", vec![b'a'; 4])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    let store = Store::local(dir.path().join("objects")).unwrap();
    assert!(store.list("").await.unwrap().is_empty());
    srv.shutdown().await;
}

/// `/stats`' `recentPerformance` entry of `epoch`: (status reports, completed reports).
async fn reports_of(url: &str, epoch: &str) -> (u64, u64) {
    let stats: Value = reqwest::get(format!("{url}/api/v1/zipcode-assignments/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let e = stats["recentPerformance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["epochId"] == epoch)
        .unwrap_or_else(|| panic!("{epoch} not in {stats}"))
        .clone();
    (
        e["statusReports"].as_u64().unwrap(),
        e["completedReports"].as_u64().unwrap(),
    )
}

/// Fault: the coordinator is restarted in the middle of an epoch (on the same data directory,
/// the clock frozen mid-epoch so the restart cannot straddle a boundary). For clients nothing
/// changes: the same epoch, nonce and assignments; the validators' view of the epoch is the
/// same answer, and the seed revealed after the deadline is the one committed to before the
/// restart; a status reported before is still counted and the nonce still accepted; a grant
/// handed out before still uploads; and every signed request seen before (a GET, a status
/// report, a folder-access request) is refused as a replay after.
#[tokio::test]
async fn restart_mid_epoch_changes_nothing_for_clients() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(now_unix()));
    let cfg = || {
        let mut c = config(dir.path());
        let clock = clock.clone();
        c.clock = Some(Arc::new(move || clock.load(Ordering::SeqCst)));
        c
    };
    let (srv, keys) = start(dir.path(), cfg()).await;
    let url = srv.url();
    let miner = client(&url, &keys.miner);
    let before = miner.assignment_current().await.unwrap();
    let epoch = before.epoch_id.to_string();
    let http = reqwest::Client::new();

    // Seen before the restart: a signed GET, a status report, a folder-access request (whose
    // grant uploads one object), and the validators' view of the running epoch.
    let ts = now_unix();
    let q = signed_query(&keys.miner, &commitments::assignment_current(ts), ts);
    let current_url = format!("{url}/api/v1/zipcode-assignments/current");
    assert_eq!(
        http.get(&current_url)
            .query(&q)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let status_body = json!({
        "hotkey": keys.miner.ss58(),
        "signature": keys.miner.sign(commitments::status(&epoch, ts).as_bytes()).to_hex(),
        "timestamp": ts, "epochId": epoch, "nonce": before.nonce,
        "status": "IN_PROGRESS", "s3UploadComplete": false, "listingsScraped": 3,
    });
    let status_path = "/api/v1/zipcode-assignments/status";
    let resp = http
        .post(format!("{url}{status_path}"))
        .json(&status_body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let coldkey = keys.stranger.ss58();
    let folder_body = json!({
        "coldkey": coldkey, "hotkey": keys.miner.ss58(), "timestamp": ts,
        "signature": keys.miner
            .sign(commitments::folder_access(&coldkey, &keys.miner.ss58(), ts).as_bytes())
            .to_hex(),
        "expiry": ts + 86400,
    });
    let resp = http
        .post(format!("{url}/get-folder-access"))
        .json(&folder_body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let grant: resi_core::wire::PresignedPost = resp.json().await.unwrap();
    let folder = format!(
        "data/hotkey={}/epoch={epoch}/zipcode=19103/",
        keys.miner.ss58()
    );
    miner
        .upload_presigned(
            &grant,
            &format!("{folder}listings.parquet"),
            "listings.parquet",
            vec![b'p'; 64],
        )
        .await
        .unwrap();
    let epoch_view = |url: String, ts: i64| {
        let q = signed_query(&keys.validator, &commitments::validation(&epoch, ts), ts);
        let http = http.clone();
        let u = format!("{url}/api/v1/zipcode-assignments/epoch/{epoch}");
        async move {
            let r = http.get(&u).query(&q).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let view = epoch_view(url.clone(), now_unix()).await;
    assert!(view.get("validationSeed").is_none(), "{view}");
    let commitment = view["metadata"]["validationSeedSha256"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(reports_of(&url, &epoch).await, (1, 0));
    let addr = srv.addr();
    srv.shutdown().await;

    // The same process configuration again: data directory, clock and address.
    let chain = resi_chain::LocalChain::open(dir.path().join("chain.sqlite")).unwrap();
    let mut again = cfg();
    again.listen = addr;
    let srv = resi_coordinator::serve(again, table(), std::sync::Arc::new(counts()), chain)
        .await
        .unwrap();
    let url = srv.url();
    let miner = client(&url, &keys.miner);
    let after = miner.assignment_current().await.unwrap();
    assert_eq!(after, before);
    assert_eq!(epoch_view(url.clone(), now_unix()).await, view);
    assert_eq!(
        reports_of(&url, &epoch).await,
        (1, 0),
        "the report survives"
    );

    // Replays of what was seen before are still refused.
    let current_url = format!("{url}/api/v1/zipcode-assignments/current");
    let (code, err) = nest(http.get(&current_url).query(&q).send().await.unwrap()).await;
    assert_eq!(code, 401, "{err}");
    let (code, err) = nest(
        http.post(format!("{url}{status_path}"))
            .json(&status_body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 401, "status replayed after the restart: {err}");
    assert!(err.message_text().contains("replay"), "{err}");
    let (code, err) = nest(
        http.post(format!("{url}/get-folder-access"))
            .json(&folder_body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 401, "folder access replayed after the restart: {err}");

    // The grant from before the restart still uploads; the epoch's nonce is still accepted.
    miner
        .upload_presigned(
            &grant,
            &format!("{folder}manifest.json"),
            "manifest.json",
            vec![b'm'; 64],
        )
        .await
        .expect("a grant handed out before the restart");
    let store = Store::local(dir.path().join("objects")).unwrap();
    let keys_in_store: Vec<String> = store
        .list(&folder)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(
        keys_in_store,
        vec![
            format!("{folder}listings.parquet"),
            format!("{folder}manifest.json")
        ]
    );
    let update = StatusUpdate {
        epoch_id: before.epoch_id,
        nonce: before.nonce.clone(),
        status: MinerStatus::Completed,
        s3_upload_complete: true,
        listings_scraped: Some(3),
        zipcodes_completed: None,
        s3_upload_timestamp: None,
    };
    assert!(miner.report_status(&update).await.unwrap().success);
    assert_eq!(reports_of(&url, &epoch).await, (1, 1));

    // After the deadline the revealed seed is the one committed to before the restart.
    let end = chrono::DateTime::parse_from_rfc3339(&before.submission_deadline)
        .unwrap()
        .timestamp();
    clock.store(end + 5, Ordering::SeqCst);
    let revealed = epoch_view(url.clone(), end + 5).await;
    let seed = hex::decode(revealed["validationSeed"].as_str().unwrap()).unwrap();
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&seed)),
        commitment
    );
    assert_eq!(revealed["nonce"], json!(before.nonce));
    srv.shutdown().await;
}

/// The two-byte prefix spelling of network 42 (`0x4a 0x80`): a second SS58 address of one key.
fn two_byte_alias(key: &Hotkey) -> String {
    let mut body = vec![0x4a, 0x80];
    body.extend_from_slice(key.public().as_bytes());
    let mut pre = b"SS58PRE".to_vec();
    pre.extend_from_slice(&body);
    let hash = sp_crypto_hashing::blake2_512(&pre);
    body.extend_from_slice(&hash[..2]);
    bs58::encode(body).into_string()
}

/// Findings 2, 4 and 7 of the hardening review: the signature check tolerated `0x`, case and
/// whitespace while the replay key kept the raw text, and SS58's two-byte alias named the same
/// key. An observer who saw one `/get-folder-access` request replayed it in another spelling
/// and got a grant for the victim's folder. Every other spelling of the hotkey or signature is
/// now refused with 400 before anything is keyed by it, so each variant of a seen request is
/// refused, and no folder or status row is made for a second spelling.
#[tokio::test]
async fn every_spelling_of_a_seen_request_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, keys) = start(dir.path(), config(dir.path())).await;
    let http = reqwest::Client::new();
    let url = format!("{}/get-folder-access", srv.url());
    let now = now_unix();
    let hk = keys.miner.ss58();
    let coldkey = keys.stranger.ss58();
    let sig = keys
        .miner
        .sign(commitments::folder_access(&coldkey, &hk, now).as_bytes())
        .to_hex();
    let body = |hotkey: &str, signature: &str| {
        json!({"coldkey": coldkey, "hotkey": hotkey, "timestamp": now,
               "signature": signature, "expiry": now + 86400})
    };
    let alias = two_byte_alias(&keys.miner);
    let variants = [
        (hk.clone(), format!("0x{sig}")),
        (hk.clone(), format!("0X{sig}")),
        (hk.clone(), sig.to_uppercase()),
        (hk.clone(), format!(" {sig}")),
        (hk.clone(), format!("{sig}\n")),
        (format!(" {hk}"), sig.clone()),
        (format!("{hk} "), sig.clone()),
        (format!("{hk}\u{a0}"), sig.clone()),
        (format!("\t{hk}"), sig.clone()),
        (alias.clone(), sig.clone()),
    ];
    let send = |b: Value| http.post(&url).json(&b).send();
    // Before and after the original is seen: every variant is a 400 naming the field.
    for round in 0..2 {
        for (h, s) in &variants {
            let (code, err) = nest(send(body(h, s)).await.unwrap()).await;
            assert_eq!(code, 400, "round {round}: {h:?} / {s:?}: {err}");
        }
        if round == 0 {
            let resp = send(body(&hk, &sig)).await.unwrap();
            assert_eq!(resp.status(), 200, "the original request");
        }
    }
    // The original replayed verbatim: 401 replay.
    let (code, err) = nest(send(body(&hk, &sig)).await.unwrap()).await;
    assert_eq!(code, 401, "{err}");
    // The alias names the canonical key in its refusal.
    let (_, err) = nest(send(body(&alias, &sig)).await.unwrap()).await;
    assert!(err.message_text().contains(&hk), "{err}");

    // /status from a padded hotkey: refused, no row.
    let status_url = format!("{}/api/v1/zipcode-assignments/current", srv.url());
    let q = signed_query(&keys.miner, &commitments::assignment_current(now), now);
    let cur: Value = http
        .get(&status_url)
        .query(&q)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let epoch = cur["epochId"].as_str().unwrap().to_string();
    let nonce = cur["nonce"].as_str().unwrap().to_string();
    let ssig = keys
        .miner
        .sign(commitments::status(&epoch, now).as_bytes())
        .to_hex();
    for h in [format!(" {hk}"), alias] {
        let b = json!({"hotkey": h, "signature": ssig, "timestamp": now, "epochId": epoch,
                       "nonce": nonce, "status": "IN_PROGRESS", "s3UploadComplete": false});
        let (code, err) = nest(
            http.post(format!("{}/api/v1/zipcode-assignments/status", srv.url()))
                .json(&b)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(code, 400, "{err}");
    }
}
