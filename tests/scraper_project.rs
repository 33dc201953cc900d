//! `resi scraper new` and `resi scraper build` as a miner uses them: a new project in each
//! language, built (Python with componentize-py from the test venv, Rust with cargo for
//! wasm32-wasip2), its sha256 written into its scraper.toml, then scraped through that manifest
//! against `resi market` on loopback: every listing valid, as many as the market holds.
//! Python needs `RESI_PYTHON` (the venv `cargo xtask test` makes, with componentize-py).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn resi() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_resi"));
    c.env_remove("RESI_CONFIG")
        .env_remove("RESI_COMPONENTIZE_PY");
    c
}

fn ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// `resi market` on a free loopback port; returns the child and its origin.
fn market() -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = resi()
        .args(["market", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("resi market");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "market did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, format!("http://127.0.0.1:{port}"))
}

/// Scrapes 19103 through the project's manifest (exit 0: finished, every listing valid);
/// returns the zpids emitted.
fn scrape(dir: &Path) -> Vec<String> {
    let out = resi()
        .args(["scraper", "test"])
        .arg(dir.join("scraper.toml"))
        .args(["--zipcode", "19103", "--json"])
        .output()
        .expect("resi scraper test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("scraper test --json");
    let listings = v["listings"].as_array().expect("listings");
    assert!(listings.iter().all(|l| l["valid"] == true), "{v}");
    let mut zpids: Vec<String> = listings
        .iter()
        .map(|l| l["listing"]["zpid"].as_str().unwrap_or_default().to_owned())
        .collect();
    zpids.sort();
    zpids
}

fn new_project(tmp: &Path, name: &str, lang: &str, origin: &str) -> PathBuf {
    let dir = tmp.join(name);
    ok(
        resi()
            .args([
                "scraper", "new", name, "--lang", lang, "--market", origin, "--dir",
            ])
            .arg(&dir),
        "resi scraper new",
    );
    for f in [
        "scraper.toml",
        "README.md",
        "test.sh",
        "wit/scraper.wit",
        "wit/deps/types/types.wit",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let manifest = std::fs::read_to_string(dir.join("scraper.toml")).expect("manifest");
    assert!(
        manifest.contains(&format!("allow = [\"{origin}\"]")),
        "{manifest}"
    );
    // Not built yet: the placeholder pin refuses to load.
    let out = resi()
        .args(["scraper", "test"])
        .arg(dir.join("scraper.toml"))
        .args(["--zipcode", "19103"])
        .output()
        .expect("scraper test");
    assert!(!out.status.success());
    dir
}

fn pinned(dir: &Path, wasm: &str) -> String {
    let manifest = std::fs::read_to_string(dir.join("scraper.toml")).expect("manifest");
    let bytes = std::fs::read(dir.join(wasm)).expect("built wasm");
    let sha = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    assert!(
        manifest.contains(&format!("sha256 = \"{sha}\"")),
        "{manifest}"
    );
    sha
}

#[test]
fn python_and_rust_projects_build_and_scrape_the_market() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (mut m, origin) = market();
    // Rust.
    let rust = new_project(tmp.path(), "demo-rs", "rust", &origin);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("target"))
        .join("scraper-projects");
    ok(
        resi()
            .args(["scraper", "build"])
            .arg(&rust)
            .env("CARGO_TARGET_DIR", &target),
        "resi scraper build (rust)",
    );
    pinned(&rust, "demo-rs.wasm");
    let from_rust = scrape(&rust);
    assert!(from_rust.len() > 100, "{}", from_rust.len());

    // Python.
    if let Some(python) = resi_testkit::python(
        "componentize-py==0.25.1",
        "cargo test -p resi --test e2e scraper_project",
    ) {
        let tool = Path::new(&python).with_file_name("componentize-py");
        let py = new_project(tmp.path(), "demo-py", "python", &origin);
        ok(
            resi()
                .args(["scraper", "build"])
                .arg(&py)
                .env("RESI_COMPONENTIZE_PY", &tool),
            "resi scraper build (python)",
        );
        pinned(&py, "demo-py.wasm");
        assert!(!py.join(".build").exists() && !py.join("__pycache__").exists());
        assert_eq!(
            scrape(&py),
            from_rust,
            "the same listings from both projects"
        );
    }
    let _ = m.kill();
    let _ = m.wait();
}
