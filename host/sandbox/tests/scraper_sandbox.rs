//! Hostile scrapers against the scraper engine: time, memory and stack limits hold, emitted
//! listings survive a timeout, imports are restricted, and the host keeps working.

use resi_sandbox::SandboxError;
use resi_sandbox::scraper::wit::*;
use resi_sandbox::scraper::{HostAbort, ScraperEngine, ScraperEngineOptions, ScraperHost};
use std::time::Duration;

/// A host that records what the guest emits and logs, and refuses every fetch.
#[derive(Default)]
struct RecordingHost {
    emitted: Vec<Listing>,
    logs: Vec<String>,
    fetches: Vec<String>,
}

impl ScraperHost for RecordingHost {
    async fn fetch(&mut self, request: Request) -> Result<Response, FetchError> {
        self.fetches.push(request.url.clone());
        Err(FetchError::NotAllowed(request.url))
    }

    async fn emit(&mut self, batch: Vec<Listing>) -> Result<(), HostAbort> {
        self.emitted.extend(batch);
        Ok(())
    }

    fn log(&mut self, _level: Level, message: String) {
        self.logs.push(message);
    }
}

fn engine() -> ScraperEngine<RecordingHost> {
    let mut options = ScraperEngineOptions::default();
    options.limits.timeout = Some(Duration::from_millis(500));
    options.limits.memory_bytes = 64 << 20;
    options.limits.max_stack_bytes = 256 * 1024;
    ScraperEngine::new(options).expect("engine")
}

fn task(mode: &str) -> Task {
    Task {
        epoch_id: "2025-10-01T16-00-00".into(),
        zipcode: "19103".into(),
        expected: 250,
        deadline_ms: u64::MAX,
        config: vec![("mode".into(), mode.into())],
    }
}

#[tokio::test]
async fn example_scraper_streams_its_listings() {
    let engine = engine();
    let scraper = engine
        .load(&resi_testkit::guest("example-scraper"))
        .expect("load");
    let run = scraper.scrape(RecordingHost::default(), &task("")).await;
    let summary = run.result.expect("scrape");
    assert_eq!(summary.emitted, 250);
    assert_eq!(run.host.emitted.len(), 250);
    assert!(run.host.emitted.iter().all(|l| l.zipcode == "19103"));
    assert!(run.fuel_used > 0);
}

#[tokio::test]
async fn infinite_loop_stops_on_time() {
    let engine = engine();
    let scraper = engine
        .load(&resi_testkit::guest("hostile-scraper"))
        .expect("load");
    let run = scraper
        .scrape(RecordingHost::default(), &task("loop"))
        .await;
    match run.result {
        Err(SandboxError::Timeout(t)) => assert_eq!(t, Duration::from_millis(500)),
        Err(other) => panic!("expected timeout, got {other}"),
        Ok(_) => panic!("an endless loop returned"),
    }
}

#[tokio::test]
async fn emitted_listings_survive_a_timeout() {
    let engine = engine();
    let scraper = engine
        .load(&resi_testkit::guest("hostile-scraper"))
        .expect("load");
    let run = scraper
        .scrape(RecordingHost::default(), &task("emit-then-loop"))
        .await;
    assert!(
        matches!(run.result, Err(SandboxError::Timeout(_))),
        "{:?}",
        run.result.err()
    );
    assert_eq!(run.host.emitted.len(), 1);
}

#[tokio::test]
async fn memory_bomb_stops_at_the_limit() {
    let engine = engine();
    let scraper = engine
        .load(&resi_testkit::guest("hostile-scraper"))
        .expect("load");
    let run = scraper
        .scrape(RecordingHost::default(), &task("membomb"))
        .await;
    match run.result {
        Err(SandboxError::MemoryLimit { limit_bytes }) => assert_eq!(limit_bytes, 64 << 20),
        Err(other) => panic!("expected memory limit, got {other}"),
        Ok(_) => panic!("a memory bomb returned"),
    }
}

#[tokio::test]
async fn deep_recursion_traps_cleanly() {
    let engine = engine();
    let scraper = engine
        .load(&resi_testkit::guest("hostile-scraper"))
        .expect("load");
    let run = scraper
        .scrape(RecordingHost::default(), &task("recurse"))
        .await;
    assert!(
        matches!(run.result, Err(SandboxError::StackOverflow { .. })),
        "{:?}",
        run.result.err()
    );
}

#[tokio::test]
async fn network_goes_only_through_the_host() {
    let engine = engine();
    let scraper = engine
        .load(&resi_testkit::guest("hostile-scraper"))
        .expect("load");
    let mut t = task("fetch");
    t.config.push((
        "url".into(),
        "http://169.254.169.254/latest/meta-data".into(),
    ));
    let run = scraper.scrape(RecordingHost::default(), &t).await;
    let err = run.result.expect_err("the host refused the fetch");
    assert!(err.to_string().contains("NotAllowed"), "{err}");
    assert_eq!(
        run.host.fetches,
        vec!["http://169.254.169.254/latest/meta-data".to_string()]
    );
}

#[tokio::test]
async fn host_keeps_working_after_hostile_guests() {
    let engine = engine();
    let hostile = engine
        .load(&resi_testkit::guest("hostile-scraper"))
        .expect("load");
    for mode in ["loop", "membomb", "recurse", "panic"] {
        let run = hostile.scrape(RecordingHost::default(), &task(mode)).await;
        assert!(run.result.is_err(), "mode {mode} should fail");
    }
    let scraper = engine
        .load(&resi_testkit::guest("example-scraper"))
        .expect("load");
    let run = scraper.scrape(RecordingHost::default(), &task("")).await;
    assert_eq!(run.result.expect("scrape").emitted, 250);
}

#[tokio::test]
async fn a_policy_component_is_not_a_scraper() {
    let engine = engine();
    match engine.load(&resi_testkit::guest("example-policy")) {
        Err(SandboxError::MissingExport(what)) => assert!(what.contains("resi:scraper"), "{what}"),
        Err(other) => panic!("expected missing export, got {other}"),
        Ok(_) => panic!("a policy was accepted as a scraper"),
    }
}
