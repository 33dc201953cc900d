//! Hostile Python guests (`hostile-scraper-py`, built with componentize-py): each is stopped by
//! the same limit as its Rust counterpart (`hostile-scraper`), through the manifest-enforcing
//! host, and the host keeps working afterwards: an endless loop by the timeout, a memory bomb
//! by the memory limit, an emit flood by the manifest's listing cap, a fetch outside the
//! allowlist by the gate, an uncaught exception as a trap; and what componentize-py's WASI
//! imports could reach stays closed: a socket of its own is refused, host files are absent. One component is loaded for all of
//! them (compiling the Python interpreter's component takes tens of seconds in a debug build).

use resi_sandbox::SandboxError;
use resi_sandbox::scraper::wit::Task;
use resi_sandbox::scraper::{ScraperEngine, ScraperEngineOptions};
use resi_scraper::manifest::NetworkSection;
use resi_scraper::{HttpGate, ManifestHost, MemorySink};
use resi_testkit::guest;
use std::collections::BTreeMap;
use std::time::Duration;

fn task(mode: &str, extra: &[(&str, &str)]) -> Task {
    let mut config = vec![("mode".to_string(), mode.to_string())];
    config.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Task {
        epoch_id: "e".into(),
        zipcode: "19103".into(),
        expected: 10,
        deadline_ms: u64::MAX,
        config,
    }
}

/// The manifest-enforcing host with an allowlist of one loopback origin.
fn host(cap: u64) -> ManifestHost<MemorySink> {
    let rules = NetworkSection {
        allow: vec!["http://127.0.0.1:9".into()],
        ..NetworkSection::default()
    };
    let gate = HttpGate::new("hostile-py", &rules, BTreeMap::new()).expect("gate");
    ManifestHost::new("hostile-py", gate, MemorySink::default(), cap)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_python_guests_are_stopped_by_the_same_limits() {
    let mut options = ScraperEngineOptions::default();
    options.limits.timeout = Some(Duration::from_secs(3));
    options.limits.memory_bytes = 96 << 20;
    let engine = ScraperEngine::<ManifestHost<MemorySink>>::new(options).expect("engine");
    let scraper = engine.load(&guest("hostile-scraper-py")).expect("load");

    // An endless loop: the wall-clock timeout (fuel would stop it later).
    let run = scraper.scrape(host(100), &task("loop", &[])).await;
    match run.result {
        Err(SandboxError::Timeout(t)) => assert_eq!(t, Duration::from_secs(3)),
        Err(other) => panic!("loop: expected the timeout, got {other}"),
        Ok(_) => panic!("an endless loop returned"),
    }

    // A memory bomb: the memory limit.
    let run = scraper.scrape(host(100), &task("membomb", &[])).await;
    match run.result {
        Err(SandboxError::MemoryLimit { limit_bytes }) => assert_eq!(limit_bytes, 96 << 20),
        Err(other) => panic!("membomb: expected the memory limit, got {other}"),
        Ok(_) => panic!("a memory bomb returned"),
    }
    assert!(run.peak_memory <= 96 << 20, "{}", run.peak_memory);

    // An emit flood: the manifest's listing cap; what was under it is kept.
    let run = scraper.scrape(host(5_000), &task("flood", &[])).await;
    match run.result {
        Err(SandboxError::Host(msg)) => assert!(msg.contains("cap of 5000"), "{msg}"),
        Err(other) => panic!("flood: expected the listing cap, got {other}"),
        Ok(_) => panic!("a flood returned"),
    }
    assert_eq!(run.host.sink.listings.len(), 5_000);

    // One listing with a 1 MiB address: delivered as a record (the submission reader's field
    // caps refuse it later, as for the Rust guest).
    let run = scraper.scrape(host(100), &task("huge", &[])).await;
    run.result.expect("huge: the scraper itself finishes");
    assert_eq!(run.host.sink.listings.len(), 1);
    assert_eq!(run.host.sink.listings[0].address.len(), 1 << 20);

    // A fetch outside the allowlist: refused by the gate (the cloud metadata address, and a
    // loopback port the allowlist does not name).
    for url in [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:10/",
    ] {
        let run = scraper
            .scrape(host(100), &task("fetch", &[("url", url)]))
            .await;
        let err = run
            .result
            .expect_err("the gate refused the fetch")
            .to_string();
        assert!(err.contains("NotAllowed"), "{url}: {err}");
        // One call, refused by the gate and not retried (a refusal is final for the SDK).
        assert_eq!(run.host.requests, 1, "{url}");
    }

    // A socket of its own, past the host's fetch: WASI sockets are linked (componentize-py
    // imports them) but the engine grants no network, so the connect is refused and the
    // listener never sees a connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port().to_string();
    let run = scraper
        .scrape(host(100), &task("socket", &[("port", &port)]))
        .await;
    let err = run.result.expect_err("no socket").to_string();
    println!("socket: {err}");
    assert!(err.contains("refused:"), "{err}");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the guest reached the listener"
    );
    // A file of the host: no directory is preopened.
    let run = scraper.scrape(host(100), &task("file", &[])).await;
    let err = run.result.expect_err("no file").to_string();
    assert!(err.contains("refused: FileNotFoundError"), "{err}");

    // An uncaught exception (not the world's error type): a trap, not a crash.
    let run = scraper.scrape(host(100), &task("raise", &[])).await;
    assert!(
        matches!(run.result, Err(SandboxError::Trap(_))),
        "{:?}",
        run.result.err()
    );

    // The host and the component keep working.
    let run = scraper.scrape(host(100), &task("huge", &[])).await;
    run.result.expect("after every hostile run");
}
