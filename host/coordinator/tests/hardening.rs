//! Hardening of the coordinator's HTTP surface over real HTTP on 127.0.0.1: body limits and the
//! local upload form's caps, NestJS bodies for axum's own errors, the connection cap and the
//! header, idle and request timeouts, bounded status rows, no early next epoch, and the object
//! cap of one local upload grant.
//!
//! Self-contained: a synthetic zipcode table, a local chain with one miner and one validator.

use resi_chain::{LocalChain, SubnetParams};
use resi_client::{ApiClient, ClientConfig, RetryPolicy};
use resi_coordinator::zipcodes::ZipTable;
use resi_coordinator::{
    Clock, CoordinatorConfig, FnCounts, RateLimits, Running, StoreConfig, serve,
};
use resi_core::Hotkey;
use resi_core::auth::now_unix;
use resi_core::commitments;
use resi_core::epoch::EpochSchedule;
use resi_core::wire::{NestError, PresignedPost};
use resi_store::S3Config;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Upper bound on any single wait of these tests (never reached when the server behaves).
const SAFETY: Duration = Duration::from_secs(20);

/// 600 STANDARD zipcodes (10000..10599) and 60 PO BOX ones (20000..20059).
fn table() -> Arc<ZipTable> {
    let mut csv = String::from("zipcode,type,active,city,state,county,lat,lon,timezone\n");
    for i in 0..600 {
        csv.push_str(&format!(
            "{},STANDARD,true,Town{i},PA,County{i},40.0,-75.0,America/New_York\n",
            10_000 + i
        ));
    }
    for i in 0..60 {
        csv.push_str(&format!(
            "{},PO BOX,true,Box{i},NY,County{i},40.0,-74.0,America/New_York\n",
            20_000 + i
        ));
    }
    Arc::new(ZipTable::parse(&csv, "synthetic").expect("synthetic table"))
}

/// STANDARD zipcodes hold 300..699 listings, PO boxes none.
fn counts() -> FnCounts {
    FnCounts::new(|z| {
        let n: u64 = z.parse().ok()?;
        Some(if n >= 20_000 {
            0
        } else {
            (300 + (n * 7919) % 400) as u32
        })
    })
}

struct Keys {
    miner: Hotkey,
    validator: Hotkey,
}

fn chain(dir: &Path) -> (LocalChain, Keys) {
    let chain = LocalChain::open(dir.join("chain.sqlite")).unwrap();
    chain.set_subnet(46, &SubnetParams::default()).unwrap();
    let keys = Keys {
        miner: Hotkey::from_uri("//HardeningMiner").unwrap(),
        validator: Hotkey::from_uri("//HardeningValidator").unwrap(),
    };
    chain.register(46, &keys.miner.public(), false).unwrap();
    chain.register(46, &keys.validator.public(), true).unwrap();
    (chain, keys)
}

fn config(dir: &Path) -> CoordinatorConfig {
    let mut c = CoordinatorConfig::new(dir.join("coord"));
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.epoch_length_secs = 3600;
    c.miner_upload_min_bytes = 16;
    c.registry_ttl = Duration::ZERO;
    c.rate_limits = RateLimits::default().scaled(100);
    c.store = StoreConfig::Local(dir.join("objects"));
    c
}

async fn start(dir: &Path, cfg: CoordinatorConfig) -> (Running, Keys) {
    let (chain, keys) = chain(dir);
    let running = serve(cfg, table(), Arc::new(counts()), chain)
        .await
        .unwrap();
    (running, keys)
}

fn client(url: &str, key: &Hotkey) -> ApiClient {
    let mut cfg = ClientConfig::new(url);
    cfg.retry = RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    };
    ApiClient::new(cfg, Some(key.clone())).unwrap()
}

fn signed_query(key: &Hotkey, msg: &str, ts: i64) -> Vec<(&'static str, String)> {
    vec![
        ("hotkey", key.ss58()),
        ("signature", key.sign(msg.as_bytes()).to_hex()),
        ("timestamp", ts.to_string()),
    ]
}

/// The NestJS body of an error answer, checked against its status and reason phrase.
async fn nest(resp: reqwest::Response) -> (u16, NestError) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let body: NestError = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status}: not a NestJS body ({e}): {text:?}"));
    assert_eq!(body.status_code, status.as_u16(), "{text}");
    assert_eq!(body.error.as_deref(), status.canonical_reason(), "{text}");
    assert!(!body.message_text().is_empty(), "{text}");
    (status.as_u16(), body)
}

/// Reads until the server closes the connection (EOF or reset); `None` if it stays open for
/// [`SAFETY`].
async fn read_until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(SAFETY, read_all).await.ok()?;
    Some(out)
}

/// `GET /healthcheck` until it answers 200 (at most 100 tries, 100 ms apart).
async fn healthcheck_eventually(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{url}/healthcheck")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/healthcheck never answered");
}

/// The multipart form of `post` for `key`, with `extra` text fields before the file.
fn upload_form(
    post: &PresignedPost,
    key: &str,
    extra: Vec<(String, String)>,
    file: Vec<u8>,
) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in &post.fields {
        if name != "key" {
            form = form.text(name.clone(), value.clone());
        }
    }
    form = form.text("key", key.to_owned());
    for (name, value) in extra {
        form = form.text(name, value);
    }
    form.part(
        "file",
        reqwest::multipart::Part::bytes(file).file_name("x.json"),
    )
}

#[tokio::test]
async fn upload_route_exists_only_for_a_local_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.store = StoreConfig::S3(S3Config {
        endpoint: Some("http://127.0.0.1:9".into()),
        bucket: "b".into(),
        region: "us-east-1".into(),
        access_key_id: "k".into(),
        secret_access_key: "s".into(),
        path_style: true,
    });
    let (srv, _) = start(dir.path(), cfg).await;
    let form = reqwest::multipart::Form::new().text("policy", "x");
    let resp = reqwest::Client::new()
        .post(format!("{}/local-store/upload", srv.url()))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (code, body) = nest(resp).await;
    assert_eq!(code, 404, "{body}");
    srv.shutdown().await;
}

#[tokio::test]
async fn upload_form_text_fields_are_capped_before_the_grant_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, keys) = start(dir.path(), config(dir.path())).await;
    let url = srv.url();
    let miner = client(&url, &keys.miner);
    let post = miner.folder_access(&keys.validator.ss58()).await.unwrap();
    let folder = format!("data/hotkey={}/", keys.miner.ss58());
    let http = reqwest::Client::new();
    let upload = format!("{url}/local-store/upload");

    // One text field over 8 KiB.
    let big = vec![("note".to_owned(), "a".repeat(9 * 1024))];
    let form = upload_form(&post, &format!("{folder}a.json"), big, vec![b'{'; 64]);
    let (code, body) = nest(http.post(&upload).multipart(form).send().await.unwrap()).await;
    assert_eq!(code, 413, "{body}");
    assert!(body.message_text().contains("note"), "{body}");

    // More than 32 text fields.
    let many = (0..40).map(|i| (format!("f{i}"), "v".to_owned())).collect();
    let form = upload_form(&post, &format!("{folder}b.json"), many, vec![b'{'; 64]);
    let (code, body) = nest(http.post(&upload).multipart(form).send().await.unwrap()).await;
    assert_eq!(code, 413, "{body}");
    assert!(body.message_text().contains("32"), "{body}");

    // A part header that never ends: refused once 512 KiB are read, not buffered on.
    let mut flood = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: ".to_vec();
    flood.resize(520 * 1024, b'p');
    let resp = http
        .post(&upload)
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(flood)
        .send()
        .await
        .unwrap();
    let (code, body) = nest(resp).await;
    assert_eq!(code, 413, "{body}");

    // Nothing was written; a well-formed upload through the same grant still works.
    let store = resi_store::Store::local(dir.path().join("objects")).unwrap();
    assert!(store.list("").await.unwrap().is_empty());
    let key = format!("{folder}ok.json");
    let form = upload_form(&post, &key, Vec::new(), vec![b'{'; 64]);
    let resp = http.post(&upload).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(store.get(&key, 1000).await.unwrap().len(), 64);
    srv.shutdown().await;
}

#[tokio::test]
async fn axum_errors_and_body_limits_answer_nestjs_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, _) = start(dir.path(), config(dir.path())).await;
    let url = srv.url();
    let http = reqwest::Client::new();

    // 413: an API body over 64 KiB (axum's default would have taken 2 MiB).
    let resp = http
        .post(format!("{url}/api/v1/zipcode-assignments/status"))
        .header("content-type", "application/json")
        .body(vec![b' '; 65 * 1024])
        .send()
        .await
        .unwrap();
    let (code, body) = nest(resp).await;
    assert_eq!(code, 413, "{body}");

    // 405 on a known path, with the Allow header kept.
    let resp = http
        .post(format!("{url}/healthcheck"))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("allow"));
    let (code, body) = nest(resp).await;
    assert_eq!(code, 405, "{body}");
    assert_eq!(body.message_text(), "Cannot POST /healthcheck");
    let resp = http
        .get(format!("{url}/api/v1/zipcode-assignments/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(nest(resp).await.0, 405);

    // Extractor rejections: a path parameter that is not UTF-8, an upload that is not multipart.
    let resp = http
        .get(format!("{url}/api/v1/zipcode-assignments/epoch/%FF"))
        .send()
        .await
        .unwrap();
    assert_eq!(nest(resp).await.0, 400);
    let resp = http
        .post(format!("{url}/local-store/upload"))
        .json(&json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(nest(resp).await.0, 400);
    srv.shutdown().await;
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_connections = 4;
    cfg.header_read_timeout = Duration::from_secs(120);
    cfg.idle_timeout = Duration::from_secs(120);
    let (srv, _) = start(dir.path(), cfg).await;
    let addr = srv.addr();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // The fifth connection is accepted after the four (the backlog is FIFO) and closed unserved.
    let mut extra = TcpStream::connect(addr).await.unwrap();
    extra
        .write_all(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut extra)
        .await
        .expect("the connection over the cap stayed open");
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    // Once the idle connections leave, the server answers again.
    drop(idle);
    healthcheck_eventually(&srv.url()).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn idle_and_slowloris_connections_are_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_connections = 8;
    cfg.header_read_timeout = Duration::from_secs(1);
    let (srv, _) = start(dir.path(), cfg).await;
    let addr = srv.addr();
    // More idle sockets than the cap, and one sending half a request header.
    let mut socks = Vec::new();
    for _ in 0..20 {
        socks.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut slow)
        .await
        .expect("the half-header connection was never closed");
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let waits = socks.iter_mut().map(read_until_closed);
    let closed = futures::future::join_all(waits)
        .await
        .iter()
        .filter(|r| r.is_some())
        .count();
    assert_eq!(closed, 20, "idle connections left open");
    healthcheck_eventually(&srv.url()).await;
    srv.shutdown().await;
}

/// Sends `head` and part of a body, then stalls; returns what the server sent before closing.
async fn stalled_request(addr: SocketAddr, head: &str, partial_body: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(partial_body).await.unwrap();
    read_until_closed(&mut s)
        .await
        .expect("the stalled request was never ended by the server")
}

#[tokio::test]
async fn stalled_bodies_end_by_the_request_and_idle_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.request_timeout = Duration::from_secs(1);
    // Longer than the request timeout, so the API request ends by the latter.
    cfg.idle_timeout = Duration::from_secs(3);
    let (srv, _) = start(dir.path(), cfg).await;
    let addr = srv.addr();

    // An API request whose body stops arriving: 408 in NestJS shape.
    let answer = stalled_request(
        addr,
        "POST /api/v1/zipcode-assignments/status HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        b"{\"hotkey\":",
    )
    .await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let json_start = text.find('{').expect("a JSON body");
    let body: NestError = serde_json::from_str(&text[json_start..]).unwrap();
    assert_eq!(
        (body.status_code, body.error.as_deref()),
        (408, Some("Request Timeout"))
    );
    // ... counted as a refusal for the timeout on its route.
    let metrics = reqwest::get(format!("{}/metrics", srv.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        "resi_coordinator_refusals_total{reason=\"timeout\"} 1",
        "resi_coordinator_http_requests_total{endpoint=\"/api/v1/zipcode-assignments/status\",method=\"POST\",status=\"408\"} 1",
    ] {
        assert!(metrics.contains(series), "{series} not in\n{metrics}");
    }

    // An upload (exempt from the request timeout) whose body stops: closed by the idle timeout.
    stalled_request(
        addr,
        "POST /local-store/upload HTTP/1.1\r\nHost: x\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 100000\r\n\r\n",
        b"--XyZ\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\nabc",
    )
    .await;
    healthcheck_eventually(&srv.url()).await;
    srv.shutdown().await;
}

fn status_body(key: &Hotkey, epoch_id: &str, nonce: &str, padding: usize) -> Value {
    let ts = now_unix();
    json!({
        "hotkey": key.ss58(),
        "signature": key.sign(commitments::status(epoch_id, ts).as_bytes()).to_hex(),
        "timestamp": ts, "epochId": epoch_id, "nonce": nonce,
        "status": "IN_PROGRESS", "s3UploadComplete": false, "listingsScraped": 1,
        "padding": "p".repeat(padding),
    })
}

#[tokio::test]
async fn status_reports_keep_one_bounded_row_per_epoch_and_hotkey() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, keys) = start(dir.path(), config(dir.path())).await;
    let url = srv.url();
    let a = client(&url, &keys.miner)
        .assignment_current()
        .await
        .unwrap();
    let id = a.epoch_id.to_string();
    let http = reqwest::Client::new();
    let status_url = format!("{url}/api/v1/zipcode-assignments/status");
    for _ in 0..25 {
        let resp = http
            .post(&status_url)
            .json(&status_body(&keys.miner, &id, &a.nonce, 100))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    // A report over the 16 KiB status cap (but under the 64 KiB body limit) is not stored.
    let resp = http
        .post(&status_url)
        .json(&status_body(&keys.miner, &id, &a.nonce, 20 * 1024))
        .send()
        .await
        .unwrap();
    let (code, body) = nest(resp).await;
    assert_eq!(code, 413, "{body}");

    let db = rusqlite::Connection::open(dir.path().join("coord/coordinator.sqlite")).unwrap();
    let (rows, longest): (i64, i64) = db
        .query_row(
            "SELECT COUNT(*), COALESCE(MAX(LENGTH(body)), 0) FROM statuses
             WHERE epoch_id = ?1 AND hotkey = ?2",
            rusqlite::params![id, keys.miner.ss58()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(rows, 1);
    assert!(
        (1..=resi_coordinator::server::STATUS_BODY_LIMIT_BYTES as i64).contains(&longest),
        "{longest}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn next_epoch_is_not_served_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let schedule = EpochSchedule::new(3600).unwrap();
    let cur = schedule.current(now_unix()).unwrap();
    // 100 s before the end: inside the lead time, so the next epoch is already generated.
    let now = Arc::new(AtomicI64::new(cur.end.timestamp() - 100));
    let mut cfg = config(dir.path());
    let clock_now = now.clone();
    let clock: Clock = Arc::new(move || clock_now.load(Ordering::SeqCst));
    cfg.clock = Some(clock);
    let (srv, keys) = start(dir.path(), cfg).await;
    let next = schedule.next(now.load(Ordering::SeqCst)).unwrap();
    let next_id = next.id.to_string();
    let stored = resi_coordinator::db::Db::open(&dir.path().join("coord/coordinator.sqlite"))
        .unwrap()
        .epoch(&next_id)
        .unwrap();
    assert!(stored.is_some(), "the next epoch should be generated ahead");

    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/zipcode-assignments/epoch/{next_id}", srv.url());
    let get = |ts: i64| {
        http.get(&url)
            .query(&signed_query(
                &keys.validator,
                &commitments::validation(&next_id, ts),
                ts,
            ))
            .send()
    };
    let resp = get(now.load(Ordering::SeqCst)).await.unwrap();
    let (code, body) = nest(resp).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.message_text().contains("not started"), "{body}");

    // Once it started: served, without the reveal extension.
    now.store(next.start().timestamp() + 1, Ordering::SeqCst);
    let resp = get(now.load(Ordering::SeqCst)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["epochId"], json!(next_id));
    assert!(v.get("validationSeed").is_none(), "{v}");

    // After its deadline: the reveal as before.
    now.store(next.end.timestamp() + 1, Ordering::SeqCst);
    let resp = get(now.load(Ordering::SeqCst)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert!(v["validationSeed"].is_string(), "{v}");
    srv.shutdown().await;
}

#[tokio::test]
async fn one_local_grant_writes_a_bounded_number_of_objects() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.local_objects_per_grant = 3;
    let (srv, keys) = start(dir.path(), cfg).await;
    let miner = client(&srv.url(), &keys.miner);
    let post = miner.folder_access(&keys.validator.ss58()).await.unwrap();
    let folder = format!("data/hotkey={}/", keys.miner.ss58());

    // A refused upload (too small for the grant) does not use up an object.
    let err = miner
        .upload_presigned(&post, &format!("{folder}small.json"), "s", vec![b'a'; 4])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    for i in 0..3 {
        miner
            .upload_presigned(&post, &format!("{folder}{i}.json"), "f", vec![b'a'; 64])
            .await
            .unwrap();
    }
    let http = reqwest::Client::new();
    let form = upload_form(
        &post,
        &format!("{folder}3.json"),
        Vec::new(),
        vec![b'a'; 64],
    );
    let resp = http
        .post(format!("{}/local-store/upload", srv.url()))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (code, body) = nest(resp).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.message_text().contains("maximum of 3"), "{body}");
    let store = resi_store::Store::local(dir.path().join("objects")).unwrap();
    assert_eq!(store.list(&folder).await.unwrap().len(), 3);
    srv.shutdown().await;
}
