//! The HTTP gate against hostile requests, over real HTTP on 127.0.0.1: non-allowlisted hosts,
//! loopback through a host name, redirects to private addresses, oversized bodies, bursts,
//! and secrets; plus a hostile scraper component going through the gate inside the sandbox.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use resi_sandbox::scraper::wit::{FetchError, Request, Task};
use resi_sandbox::scraper::{ScraperEngine, ScraperEngineOptions};
use resi_scraper::manifest::NetworkSection;
use resi_scraper::{HttpGate, ManifestHost, MemorySink};
use resi_testkit::guest;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Server {
    addr: SocketAddr,
    secret_hits: Arc<AtomicUsize>,
}

async fn server() -> Server {
    let secret_hits = Arc::new(AtomicUsize::new(0));
    let hits = secret_hits.clone();
    let app = Router::new()
        .route("/ok", get(|| async { "hello" }))
        .route("/big", get(|| async { vec![b'x'; 2 << 20] }))
        .route(
            "/redirect",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://10.0.0.1/internal")],
                )
                    .into_response()
            }),
        )
        .route(
            "/echo-key",
            get(move |headers: HeaderMap| {
                let hits = hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    headers
                        .get("x-api-key")
                        .map(|v| v.to_str().unwrap_or("").to_string())
                        .unwrap_or_default()
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { addr, secret_hits }
}

fn rules(allow: Vec<String>) -> NetworkSection {
    NetworkSection {
        allow,
        max_response_bytes: 1 << 20,
        ..NetworkSection::default()
    }
}

fn get_req(url: String) -> Request {
    Request {
        method: "GET".into(),
        url,
        headers: Vec::new(),
        body: None,
    }
}

#[tokio::test]
async fn allowlisted_ip_literal_works() {
    let s = server().await;
    let gate = HttpGate::new(
        "t",
        &rules(vec![format!("http://{}", s.addr)]),
        BTreeMap::new(),
    )
    .unwrap();
    let r = gate
        .fetch(get_req(format!("http://{}/ok", s.addr)))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello");
}

#[tokio::test]
async fn empty_allowlist_denies_everything() {
    let s = server().await;
    let gate = HttpGate::new("t", &rules(vec![]), BTreeMap::new()).unwrap();
    let e = gate
        .fetch(get_req(format!("http://{}/ok", s.addr)))
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::NotAllowed(_)), "{e:?}");
}

#[tokio::test]
async fn non_allowlisted_host_and_port_are_refused() {
    let s = server().await;
    let gate = HttpGate::new(
        "t",
        &rules(vec![format!("http://{}", s.addr)]),
        BTreeMap::new(),
    )
    .unwrap();
    let other_port = format!("http://127.0.0.1:{}/ok", s.addr.port().wrapping_add(1));
    assert!(matches!(
        gate.fetch(get_req(other_port)).await,
        Err(FetchError::NotAllowed(_))
    ));
    let https = format!("https://{}/ok", s.addr);
    assert!(matches!(
        gate.fetch(get_req(https)).await,
        Err(FetchError::NotAllowed(_))
    ));
    let file = "file:///etc/passwd".to_string();
    assert!(matches!(
        gate.fetch(get_req(file)).await,
        Err(FetchError::NotAllowed(_))
    ));
}

#[tokio::test]
async fn loopback_through_a_hostname_is_refused_at_connect_time() {
    let s = server().await;
    let host = format!("http://localhost:{}", s.addr.port());
    let gate = HttpGate::new("t", &rules(vec![host.clone()]), BTreeMap::new()).unwrap();
    let e = gate.fetch(get_req(format!("{host}/ok"))).await.unwrap_err();
    assert!(matches!(e, FetchError::PrivateAddress(_)), "{e:?}");
}

#[tokio::test]
async fn redirects_are_returned_not_followed_and_the_next_hop_is_checked() {
    let s = server().await;
    let gate = HttpGate::new(
        "t",
        &rules(vec![format!("http://{}", s.addr)]),
        BTreeMap::new(),
    )
    .unwrap();
    let r = gate
        .fetch(get_req(format!("http://{}/redirect", s.addr)))
        .await
        .unwrap();
    assert_eq!(r.status, 302);
    let location = r
        .headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert_eq!(location, "http://10.0.0.1/internal");
    let e = gate.fetch(get_req(location)).await.unwrap_err();
    assert!(matches!(e, FetchError::NotAllowed(_)), "{e:?}");
}

#[tokio::test]
async fn oversized_response_is_cut() {
    let s = server().await;
    let gate = HttpGate::new(
        "t",
        &rules(vec![format!("http://{}", s.addr)]),
        BTreeMap::new(),
    )
    .unwrap();
    let e = gate
        .fetch(get_req(format!("http://{}/big", s.addr)))
        .await
        .unwrap_err();
    assert!(
        matches!(e, FetchError::TooLarge(cap) if cap == 1 << 20),
        "{e:?}"
    );
}

#[tokio::test]
async fn burst_beyond_the_rate_limit_is_refused() {
    let s = server().await;
    let mut r = rules(vec![format!("http://{}", s.addr)]);
    r.requests_per_second = 1.0;
    r.burst = 3;
    r.max_wait_ms = 0;
    let gate = HttpGate::new("t", &r, BTreeMap::new()).unwrap();
    let mut limited = 0;
    for _ in 0..6 {
        match gate.fetch(get_req(format!("http://{}/ok", s.addr))).await {
            Ok(resp) => assert_eq!(resp.status, 200),
            Err(FetchError::RateLimited(ms)) => {
                assert!(ms > 0);
                limited += 1;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert!(
        limited >= 2,
        "only {limited} of 6 requests were limited with burst 3"
    );
}

#[tokio::test]
async fn secrets_are_injected_by_name_only() {
    let s = server().await;
    let secrets = BTreeMap::from([("API_KEY".to_string(), "s3cr3t".to_string())]);
    let gate = HttpGate::new("t", &rules(vec![format!("http://{}", s.addr)]), secrets).unwrap();
    let mut req = get_req(format!("http://{}/echo-key", s.addr));
    req.headers
        .push(("x-api-key".into(), "{{secret:API_KEY}}".into()));
    let r = gate.fetch(req).await.unwrap();
    assert_eq!(r.body, b"s3cr3t");
    let mut bad = get_req(format!("http://{}/echo-key", s.addr));
    bad.headers
        .push(("x-api-key".into(), "{{secret:OTHER}}".into()));
    assert!(matches!(
        gate.fetch(bad).await,
        Err(FetchError::InvalidRequest(_))
    ));
    assert_eq!(
        s.secret_hits.load(Ordering::SeqCst),
        1,
        "the refused request must not be sent"
    );
}

#[tokio::test]
async fn hostile_scraper_cannot_reach_past_the_gate() {
    let s = server().await;
    let engine =
        ScraperEngine::<ManifestHost<MemorySink>>::new(ScraperEngineOptions::default()).unwrap();
    let scraper = engine.load(&guest("hostile-scraper")).unwrap();
    let allowed = format!("http://{}", s.addr);
    for (url, expect) in [
        (
            "http://169.254.169.254/latest/meta-data".to_string(),
            "NotAllowed",
        ),
        (
            format!("http://localhost:{}/ok", s.addr.port()),
            "NotAllowed",
        ),
        (format!("{allowed}/big"), "TooLarge"),
    ] {
        let gate =
            HttpGate::new("hostile", &rules(vec![allowed.clone()]), BTreeMap::new()).unwrap();
        let host = ManifestHost::new("hostile", gate, MemorySink::default(), 10);
        let task = Task {
            epoch_id: "e".into(),
            zipcode: "19103".into(),
            expected: 1,
            deadline_ms: u64::MAX,
            config: vec![("mode".into(), "fetch".into()), ("url".into(), url.clone())],
        };
        let run = scraper.scrape(host, &task).await;
        let err = run.result.expect_err("fetch must fail").to_string();
        assert!(err.contains(expect), "{url}: {err}");
        assert_eq!(run.host.requests, 1);
    }
}

/// The operator's routing sends the real origin's connections to a loopback mimic over TLS
/// checked against the mimic's test CA; without the CA the handshake fails, and a host the
/// routing does not name still gets no loopback answer.
#[tokio::test]
async fn routing_reaches_a_tls_mimic_only_with_its_ca() {
    use resi_market::mimic::{self, MimicData, MimicOptions, MimicState, Source, tls::TestCa};
    use resi_scraper::gate::{HostRoute, Routing};
    let market = Arc::new(resi_market::Market::new(resi_market::MarketConfig::default()).unwrap());
    let ca = TestCa::generate().unwrap();
    let state = MimicState::new(MimicData::Synthetic(market), MimicOptions::default());
    let server = mimic::serve(
        Source::Redfin,
        state,
        "127.0.0.1:0".parse().unwrap(),
        Some(&ca),
    )
    .await
    .unwrap();
    let allow = rules(vec!["https://www.redfin.com:443".into()]);
    let route: HostRoute = format!("www.redfin.com={}", server.addr()).parse().unwrap();
    let url = format!("https://www.redfin.com{}", mimic::HEALTH_PATH);

    let routed = Routing {
        resolve: vec![route.clone()],
        roots_pem: vec![ca.ca_pem().as_bytes().to_vec()],
    };
    let gate = HttpGate::routed("t", &allow, BTreeMap::new(), &routed).unwrap();
    let response = gate
        .fetch(get_req(url.clone()))
        .await
        .expect("routed fetch");
    assert_eq!(response.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["source"], "redfin");

    let no_ca = Routing {
        resolve: vec![route],
        roots_pem: Vec::new(),
    };
    let gate = HttpGate::routed("t", &allow, BTreeMap::new(), &no_ca).unwrap();
    match gate.fetch(get_req(url)).await {
        Err(FetchError::Transport(e)) => {
            assert!(e.contains("certificate") || e.contains("connect"), "{e}")
        }
        other => panic!("an unknown CA must fail the handshake, got {other:?}"),
    }

    assert!("10.0.0.1=127.0.0.1:1".parse::<HostRoute>().is_err());
    assert!("www.redfin.com".parse::<HostRoute>().is_err());
    assert!("www.redfin.com=localhost".parse::<HostRoute>().is_err());
    server.shutdown().await;
}
