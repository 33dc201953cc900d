//! Hostile output from a scraper: garbage records are delivered to the host and each gets the
//! reasons it fails the listing record (nothing crashes, nothing is silently accepted), and a
//! scraper flooding `emit` is stopped at the manifest's listing cap with a clear error.

use resi_sandbox::SandboxError;
use resi_sandbox::scraper::wit::Task;
use resi_sandbox::scraper::{ScraperEngine, ScraperEngineOptions};
use resi_scraper::manifest::NetworkSection;
use resi_scraper::{HttpGate, ManifestHost, MemorySink};
use resi_testkit::guest;
use std::collections::BTreeMap;

fn task(mode: &str) -> Task {
    Task {
        epoch_id: "e".into(),
        zipcode: "19103".into(),
        expected: 10,
        deadline_ms: u64::MAX,
        config: vec![("mode".into(), mode.into())],
    }
}

fn host(cap: u64) -> ManifestHost<MemorySink> {
    let gate = HttpGate::new("hostile", &NetworkSection::default(), BTreeMap::new()).unwrap();
    ManifestHost::new("hostile", gate, MemorySink::default(), cap)
}

#[tokio::test]
async fn garbage_records_each_get_their_reasons() {
    let engine =
        ScraperEngine::<ManifestHost<MemorySink>>::new(ScraperEngineOptions::default()).unwrap();
    let scraper = engine.load(&guest("hostile-scraper")).unwrap();
    let run = scraper.scrape(host(100), &task("garbage")).await;
    run.result.expect("the scraper itself finishes");
    let listings: Vec<_> = run
        .host
        .sink
        .listings
        .into_iter()
        .map(resi_core::listing::Listing::from)
        .collect();
    assert_eq!(listings.len(), 3);
    let reasons: Vec<Vec<String>> = listings
        .iter()
        .map(|l| {
            l.validate("19103")
                .iter()
                .map(ToString::to_string)
                .collect()
        })
        .collect();
    assert!(
        reasons[0].iter().any(|r| r.contains("missing address")),
        "{:?}",
        reasons[0]
    );
    assert!(
        reasons[0]
            .iter()
            .any(|r| r.contains("neither zpid nor mls_id")),
        "{:?}",
        reasons[0]
    );
    assert!(
        reasons[0].iter().any(|r| r.contains("missing price")),
        "{:?}",
        reasons[0]
    );
    assert!(
        reasons[1].iter().any(|r| r.contains("not 5 digits")),
        "{:?}",
        reasons[1]
    );
    assert!(
        reasons[1].iter().any(|r| r.contains("price 5 outside")),
        "{:?}",
        reasons[1]
    );
    assert!(
        reasons[1].iter().any(|r| r.contains("not ISO 8601")),
        "{:?}",
        reasons[1]
    );
    // A 1 MiB address is a valid record here; the submission reader's field caps refuse it later.
    assert_eq!(listings[2].address.len(), 1 << 20);
}

#[tokio::test]
async fn emit_flood_stops_at_the_listing_cap() {
    let engine =
        ScraperEngine::<ManifestHost<MemorySink>>::new(ScraperEngineOptions::default()).unwrap();
    let scraper = engine.load(&guest("hostile-scraper")).unwrap();
    let run = scraper.scrape(host(5_000), &task("flood")).await;
    match run.result {
        Err(SandboxError::Host(msg)) => assert!(msg.contains("cap of 5000"), "{msg}"),
        Err(other) => panic!("expected the listing cap, got {other}"),
        Ok(_) => panic!("a flood returned"),
    }
    assert_eq!(
        run.host.sink.listings.len(),
        5_000,
        "what was under the cap is kept"
    );
}
