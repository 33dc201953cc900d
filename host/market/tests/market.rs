//! The local market over real HTTP on loopback: a deterministic universe, homes only in
//! STANDARD zipcodes, complete pagination, 404s, rate limiting with `Retry-After`, and a
//! reproducible fault schedule.

use resi_market::server::{Fault, fault_for};
use resi_market::{
    Faults, HttpBehavior, Market, MarketConfig, MarketServer, RateLimit, ZipKind, serve_market,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

fn config(seed: u64) -> MarketConfig {
    MarketConfig {
        seed,
        zipcodes_path: None,
        ..MarketConfig::default()
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

async fn start(config: MarketConfig) -> MarketServer {
    let market = Arc::new(Market::new(config).expect("market"));
    serve_market(market, loopback()).await.expect("serve")
}

async fn get_json(url: &str) -> (u16, Value) {
    let resp = client().get(url).send().await.expect("request");
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.expect("json body");
    (status, body)
}

const ZIPS: &[&str] = &["19103", "10001", "94105", "60614", "00601", "99501"];

#[test]
fn same_seed_same_universe_different_seed_different() {
    let a = Market::new(config(7)).expect("market");
    let b = Market::new(config(7)).expect("market");
    let c = Market::new(config(8)).expect("market");
    for zip in ZIPS {
        assert!(
            a.count(zip) >= 200 && a.count(zip) <= 1000,
            "{zip}: {}",
            a.count(zip)
        );
        assert_eq!(a.listings(zip), b.listings(zip), "{zip}");
        assert_ne!(a.listings(zip), c.listings(zip), "{zip}");
    }
    // Generation order does not matter: a single home equals the same home from the full list.
    let all = a.listings("19103");
    assert_eq!(a.listing("19103", 17).as_ref(), all.get(17));
    assert_eq!(a.get(&all[17].zpid).as_ref(), Some(&all[17]));
}

#[test]
fn listings_look_like_real_listings() {
    let m = Market::new(config(46)).expect("market");
    let now = m.config().now;
    let mut statuses = BTreeSet::new();
    let mut zpids = BTreeSet::new();
    let mut addresses = BTreeSet::new();
    for zip in ZIPS {
        for l in m.listings(zip) {
            assert_eq!(l.zipcode, *zip);
            assert!((1_000..=100_000_000).contains(&l.price), "{l:?}");
            let listed =
                chrono::NaiveDate::parse_from_str(&l.listing_date, "%Y-%m-%d").expect("date");
            assert!(listed <= now && (now - listed).num_days() <= 90, "{l:?}");
            if let Some(sold) = &l.sold_date {
                let sold = chrono::NaiveDate::parse_from_str(sold, "%Y-%m-%d").expect("date");
                assert!(listed <= sold && sold <= now);
                assert_eq!((sold - listed).num_days(), i64::from(l.days_on_market));
            }
            assert!(l.source_url.ends_with(&format!("/api/homes/{}", l.zpid)));
            assert!(
                l.address.ends_with(&format!("{} {}", l.state, l.zipcode)),
                "{}",
                l.address
            );
            assert!(zpids.insert(l.zpid.clone()), "duplicate zpid {}", l.zpid);
            assert!(
                addresses.insert(l.address.clone()),
                "duplicate address {}",
                l.address
            );
            statuses.insert(l.listing_status.clone());
        }
    }
    for s in ["FOR_SALE", "PENDING", "SOLD", "RECENTLY_SOLD"] {
        assert!(statuses.contains(s), "no {s} listing");
    }
    // Manhattan is pricier than rural Alaska per square foot, on average.
    let ppsf = |zip: &str| {
        let v: Vec<u64> = m
            .listings(zip)
            .iter()
            .filter_map(|l| l.sqft.map(|s| l.price / u64::from(s)))
            .collect();
        v.iter().sum::<u64>() / v.len() as u64
    };
    assert!(
        ppsf("10001") > ppsf("99501"),
        "{} vs {}",
        ppsf("10001"),
        ppsf("99501")
    );
}

#[tokio::test]
async fn po_box_unique_and_military_zipcodes_hold_no_homes() {
    let server = start(config(46)).await;
    let m = server.market().clone();
    for kind in [ZipKind::PoBox, ZipKind::Unique, ZipKind::Military] {
        let zips: Vec<String> = m
            .zipcodes()
            .iter()
            .filter(|z| z.kind == kind)
            .take(3)
            .map(|z| z.zipcode.clone())
            .collect();
        assert_eq!(zips.len(), 3, "{kind:?}");
        for zip in &zips {
            assert_eq!(m.count(zip), 0);
            assert!(m.listings(zip).is_empty());
            let (status, body) =
                get_json(&format!("{}/api/zipcodes/{zip}", server.base_url())).await;
            assert_eq!(status, 200);
            assert_eq!(body["listings"], 0, "{body}");
            let (status, body) =
                get_json(&format!("{}/api/search?zipcode={zip}", server.base_url())).await;
            assert_eq!(status, 200);
            assert_eq!(body["total"], 0);
            assert_eq!(body["results"].as_array().map(Vec::len), Some(0));
        }
        let (_, bulk) = get_json(&format!(
            "{}/api/zipcodes?zipcodes={},19103,99999",
            server.base_url(),
            zips.join(",")
        ))
        .await;
        let records = bulk["zipcodes"].as_array().expect("zipcodes");
        assert_eq!(records.len(), 4);
        assert_eq!(records[3]["listings"], m.count("19103"));
        assert!(records[..3].iter().all(|r| r["listings"] == 0));
        assert_eq!(bulk["unknown"], serde_json::json!(["99999"]));
    }
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn pagination_covers_every_listing_exactly_once() {
    let server = start(config(3)).await;
    let m = server.market().clone();
    for (zip, page_size) in [("19103", 100u32), ("94105", 37), ("10001", 500)] {
        let expected: Vec<Value> = m
            .listings(zip)
            .iter()
            .map(|l| serde_json::to_value(l).expect("json"))
            .collect();
        let mut seen = Vec::new();
        let mut page = 1;
        loop {
            let url = format!(
                "{}/api/search?zipcode={zip}&page={page}&page_size={page_size}",
                server.base_url()
            );
            let (status, body) = get_json(&url).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["total"], expected.len());
            let results = body["results"].as_array().expect("results").clone();
            assert!(results.len() <= page_size as usize);
            if results.is_empty() {
                break;
            }
            seen.extend(results);
            page += 1;
        }
        assert_eq!(page - 1, (expected.len() as u32).div_ceil(page_size));
        assert_eq!(seen, expected, "{zip}");
        let ids: BTreeSet<&str> = seen.iter().filter_map(|l| l["zpid"].as_str()).collect();
        assert_eq!(ids.len(), expected.len());
    }
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn detail_endpoint_finds_real_homes_and_404s_the_rest() {
    let server = start(config(5)).await;
    let m = server.market().clone();
    let real = m.listing("19103", 3).expect("home");
    let (status, body) = get_json(&format!("{}/api/homes/{}", server.base_url(), real.zpid)).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::to_value(&real).expect("json"));
    let past_end = format!(
        "{}",
        19103u64 * 1_000_000 + u64::from(m.count("19103")) * 100
    );
    for bogus in ["1", "12345678901", "abc", past_end.as_str(), "00501000000"] {
        let (status, body) = get_json(&format!("{}/api/homes/{bogus}", server.base_url())).await;
        assert_eq!(status, 404, "{bogus}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| e.contains(bogus)));
    }
    let (status, _) = get_json(&format!("{}/api/search?zipcode=99999", server.base_url())).await;
    assert_eq!(status, 404);
    let (status, _) = get_json(&format!("{}/api/zipcodes/99999", server.base_url())).await;
    assert_eq!(status, 404);
    let (status, body) = get_json(&format!("{}/api/search?zipcode=1910", server.base_url())).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = get_json(&format!(
        "{}/api/search?zipcode=19103&page_size=501",
        server.base_url()
    ))
    .await;
    assert_eq!(status, 400);
    let (status, _) = get_json(&format!(
        "{}/api/search?zipcode=19103&page=0",
        server.base_url()
    ))
    .await;
    assert_eq!(status, 400);
    let (status, health) = get_json(&format!("{}/health", server.base_url())).await;
    assert_eq!(status, 200);
    assert_eq!(health["seed"], 5);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let mut cfg = config(46);
    // One request, then one token every 1,000 s: the second request is limited on any machine.
    cfg.http = HttpBehavior {
        rate_limit: Some(RateLimit {
            per_second: 0.001,
            burst: 1,
            per_client: true,
        }),
        ..HttpBehavior::default()
    };
    let server = start(cfg).await;
    let url = format!("{}/api/zipcodes/19103", server.base_url());
    let first = client().get(&url).send().await.expect("request");
    assert_eq!(first.status().as_u16(), 200);
    let second = client().get(&url).send().await.expect("request");
    assert_eq!(second.status().as_u16(), 429);
    let retry: u64 = second
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=1000).contains(&retry), "{retry}");
    // Health is never limited.
    let health = client()
        .get(format!("{}/health", server.base_url()))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(server.stats().rate_limited, 1);
    server.shutdown().await.expect("shutdown");
}

#[test]
fn rate_limits_parse() {
    let r = RateLimit::parse("20/s").expect("parse");
    assert_eq!((r.per_second, r.burst), (20.0, 20));
    let r = RateLimit::parse("30/m").expect("parse");
    assert_eq!((r.per_second, r.burst), (0.5, 1));
    assert!(RateLimit::parse("0/s").is_err());
    assert!(RateLimit::parse("fast").is_err());
}

/// The statuses and bodies of a fixed request sequence.
async fn trace(server: &MarketServer) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    for round in 0..3 {
        for page in 1..=4 {
            let url = format!(
                "{}/api/search?zipcode=19103&page={page}&page_size=50",
                server.base_url()
            );
            let resp = client().get(&url).send().await.expect("request");
            let status = resp.status().as_u16();
            out.push((status, resp.text().await.expect("body")));
        }
        let _ = round;
    }
    out
}

#[tokio::test]
async fn fault_injection_is_deterministic() {
    let mut cfg = config(46);
    cfg.http.faults = Faults {
        rate: 0.5,
        seed: 11,
    };
    let a = start(cfg.clone()).await;
    let b = start(cfg.clone()).await;
    let ta = trace(&a).await;
    let tb = trace(&b).await;
    assert_eq!(ta, tb);
    let faulty = ta
        .iter()
        .filter(|(s, body)| *s != 200 || serde_json::from_str::<Value>(body).is_err())
        .count();
    assert!(faulty > 0 && faulty < ta.len(), "{faulty} of {}", ta.len());
    assert_eq!(a.stats().faults as usize, faulty);
    // The schedule is a pure function of (seed, request, attempt).
    let expected: usize = (0..3u32)
        .flat_map(|attempt| {
            (1..=4).map(move |page| {
                fault_for(
                    11,
                    0.5,
                    &format!("/api/search?zipcode=19103&page={page}&page_size=50"),
                    attempt,
                )
            })
        })
        .filter(Option::is_some)
        .count();
    assert_eq!(expected, faulty);
    // Another fault seed gives another schedule.
    cfg.http.faults.seed = 12;
    let c = start(cfg).await;
    assert_ne!(trace(&c).await, ta);
    for s in [a, b, c] {
        s.shutdown().await.expect("shutdown");
    }
}

#[test]
fn fault_rates_hold_roughly_and_cover_every_kind() {
    let mut kinds = BTreeSet::new();
    let n = (0..10_000)
        .filter_map(|i| fault_for(1, 0.2, &format!("/api/homes/{i}"), 0))
        .inspect(|f| {
            kinds.insert(format!("{f:?}"));
        });
    let count = n.count();
    assert!((1_500..2_500).contains(&count), "{count}");
    assert_eq!(kinds.len(), 4);
    assert_eq!(fault_for(1, 0.0, "/x", 0), None);
    assert!(fault_for(1, 1.0, "/x", 0).is_some());
    let _ = Fault::Truncated;
}

#[test]
fn invalid_configs_are_refused_with_a_reason() {
    let mut c = config(1);
    c.max_listings = 10_000;
    assert!(
        Market::new(c)
            .expect_err("cap")
            .to_string()
            .contains("cap of 9999")
    );
    let mut c = config(1);
    c.min_listings = 600;
    c.max_listings = 500;
    assert!(Market::new(c).is_err());
    let mut c = config(1);
    c.zipcodes_path = Some(PathBuf::from("/nonexistent/zips.csv"));
    assert!(
        Market::new(c)
            .expect_err("missing")
            .to_string()
            .contains("/nonexistent/zips.csv")
    );
}
