//! Headless Chromium for the dashboard tests: find the browser (`RESI_CHROMIUM`, else
//! `/usr/bin/chromium`), load a page with a bounded virtual-time budget and a wall-clock
//! timeout (the browser is killed after it), dump its DOM or take a screenshot, and read the
//! rendered rows back (`data-*` attributes).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Wall-clock limit of one browser run.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// The browser to use, or `None` (with the skip printed) when there is none and
/// `RESI_REQUIRE_BROWSER` is not `1`; panics when it is required and missing.
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("RESI_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("RESI_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!(
            "RESI_REQUIRE_BROWSER=1 but no browser at {} (install Debian's chromium: apt-get install -y chromium, or set RESI_CHROMIUM)",
            path.display()
        );
    }
    eprintln!(
        "SKIPPED: no headless browser at {} (apt-get install -y chromium, or set RESI_CHROMIUM; RESI_REQUIRE_BROWSER=1 makes this a failure)",
        path.display()
    );
    None
}

/// Runs the browser on `url` with `extra` flags; returns its stdout. Panics on failure or
/// after [`BROWSER_TIMEOUT`] (the process is killed first).
fn run(browser: &Path, extra: &[String], url: &str) -> Vec<u8> {
    let profile = tempfile::tempdir().expect("browser profile dir");
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--virtual-time-budget=5000",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(url)
    .stdin(Stdio::null());
    let out_file = profile.path().join("stdout");
    let err_file = profile.path().join("stderr");
    cmd.stdout(std::fs::File::create(&out_file).expect("stdout file"));
    cmd.stderr(std::fs::File::create(&err_file).expect("stderr file"));
    let mut child = cmd.spawn().expect("start the browser");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for the browser") {
            break s;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the browser did not finish within {BROWSER_TIMEOUT:?}; stderr:\n{}",
                std::fs::read_to_string(&err_file).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "the browser failed ({status}); stderr:\n{}",
        std::fs::read_to_string(&err_file).unwrap_or_default()
    );
    std::fs::read(&out_file).expect("browser output")
}

/// The DOM of `url` after its scripts ran.
pub fn dump_dom(browser: &Path, url: &str) -> String {
    String::from_utf8_lossy(&run(browser, &["--dump-dom".into()], url)).into_owned()
}

/// A screenshot of `url` saved as `$CARGO_TARGET_DIR/test-artifacts/{name}.png` (the target
/// directory found from the test binary when the variable is unset); returns its path.
pub fn screenshot(browser: &Path, url: &str, name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            // target/debug/deps/<test binary>
            std::env::current_exe()
                .ok()
                .and_then(|e| e.ancestors().nth(3).map(Path::to_path_buf))
        })
        .expect("a target directory");
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("test-artifacts dir");
    let path = dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&path);
    run(
        browser,
        &[
            format!("--screenshot={}", path.display()),
            "--window-size=1400,1600".into(),
            "--hide-scrollbars".into(),
        ],
        url,
    );
    let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(len > 10_000, "screenshot {} is {len} bytes", path.display());
    path
}

/// The `data-*` attributes (names without `data-`, as written in the DOM) of every element
/// whose `data-row` is `row`, in document order.
pub fn rows(dom: &str, row: &str) -> Vec<BTreeMap<String, String>> {
    let needle = format!("data-row=\"{row}\"");
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(i) = rest.find(&needle) {
        let start = rest[..i].rfind('<').expect("a tag start");
        let end = i + rest[i..].find('>').expect("a tag end");
        out.push(attributes(&rest[start..end]));
        rest = &rest[end..];
    }
    out
}

/// The `data-*` attributes of the first element with `id="{id}"`.
pub fn element(dom: &str, id: &str) -> BTreeMap<String, String> {
    let needle = format!("id=\"{id}\"");
    let i = dom
        .find(&needle)
        .unwrap_or_else(|| panic!("no element #{id}"));
    let start = dom[..i].rfind('<').expect("a tag start");
    let end = i + dom[i..].find('>').expect("a tag end");
    attributes(&dom[start..end])
}

/// `data-*` attributes of one start tag (values unescaped).
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = tag;
    while let Some(i) = rest.find(" data-") {
        rest = &rest[i + 6..];
        let Some(eq) = rest.find("=\"") else { break };
        let name = rest[..eq].to_owned();
        rest = &rest[eq + 2..];
        let Some(close) = rest.find('"') else { break };
        out.insert(name, unescape(&rest[..close]));
        rest = &rest[close + 1..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The DOM of the dashboard at `url` once rendered, checked to show `epoch` from `source`
/// (`coordinator` or `validator`). Runs the browser off the async runtime.
pub async fn rendered(browser: &Path, url: &str, epoch: &str, source: &str) -> String {
    let (b, u) = (browser.to_path_buf(), url.to_string());
    let dom = tokio::task::spawn_blocking(move || dump_dom(&b, &u))
        .await
        .expect("the browser thread");
    let body = element(&dom, "dashboard-body");
    assert_eq!(
        body.get("state").map(String::as_str),
        Some("rendered"),
        "the page did not render:\n{dom}"
    );
    assert_eq!(body["epoch"], epoch);
    assert_eq!(body["source"], source);
    dom
}

/// Every assignment of `facts` is a row of `dom` with its expected count and (revealed)
/// honeypot flag, and there are no others.
pub fn assert_assignments_shown(dom: &str, facts: &resi_validator::EpochFacts) {
    let shown = rows(dom, "assignment");
    assert_eq!(shown.len(), facts.assignments.len(), "{shown:#?}");
    for a in &facts.assignments {
        let row = shown
            .iter()
            .find(|r| r["zipcode"] == a.zipcode)
            .unwrap_or_else(|| panic!("assignment {} not shown", a.zipcode));
        assert_eq!(row["expected"], a.expected.to_string());
        assert_eq!(row["honeypot"], a.honeypot.to_string());
    }
}
