//! The real-source scrapers driven through the binary as miners, validators and the subnet
//! owner run them: `resi market --mimic` (replaying the real captured bodies, or the synthetic
//! universe) over TLS with its test CA, the released components routed to it unchanged by
//! `--resolve`/`--ca-cert` through the manifest-enforcing gate, `resi scraper count`, and the
//! whole subnet with `resi devnet --source`. Everything listens on 127.0.0.1.

use resi_testkit::repo_root;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `resi market --mimic` child, killed on drop.
struct Mimic {
    child: Child,
    addr: String,
    ca: PathBuf,
}

impl Drop for Mimic {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `resi market --mimic SOURCE ARGS` on a free loopback port and waits (bounded) until
/// it says it listens.
fn mimic(source: &str, args: &[&str], dir: &Path) -> Mimic {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let ca = dir.join(format!("{source}-ca.pem"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_resi"))
        .current_dir(repo_root())
        .args(["market", "--mimic", source, "--listen", &addr, "--ca-out"])
        .arg(&ca)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn resi market --mimic");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let until = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the mimic never said it listens: {seen:?}");
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("listening on https://") => break,
            Ok(line) => seen.push(line),
            Err(_) => panic!("the mimic exited or hung: {seen:?}"),
        }
    }
    Mimic { child, addr, ca }
}

/// Runs `resi ARGS` from the repository root with `env`; returns (success, stdout, stderr).
fn resi(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .current_dir(repo_root())
        .args(args)
        .env_remove("RESI_SECRET_RAPIDAPI_KEY")
        .envs(env.iter().copied())
        .output()
        .expect("run resi");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The zpids of a captured search page's items in `zipcode` that carry a price: what the scraper
/// must emit from it.
fn expected_zpids(page: &Path, zipcode: &str) -> Vec<String> {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(page).expect("page")).expect("json");
    let mut zpids: Vec<String> = v["props"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["address"]
                .as_str()
                .is_some_and(|a| a.trim_end().ends_with(zipcode))
                && p["price"].as_f64().is_some_and(|x| x > 0.0)
        })
        .filter_map(|p| p["zpid"].as_str().map(str::to_owned))
        .collect();
    zpids.sort();
    zpids
}

/// The released Zillow scraper, unchanged, replays a real captured page through the gate (its
/// real allowlist, TLS checked against the mimic's CA) and emits exactly the page's listings of
/// the zipcode; the key is never printed; a wrong key stops it naming the secret.
#[test]
fn released_zillow_scraper_replays_real_pages_through_the_gate() {
    let tmp = tempfile::tempdir().expect("tmp");
    let key = "sk-test-3f9a1c77e2";
    let replay = repo_root().join("tests/fixtures/sources/zillow-rapidapi");
    let m = mimic(
        "zillow-rapidapi",
        &[
            "--api-key",
            key,
            "--replay",
            replay.to_str().expect("utf-8 path"),
        ],
        tmp.path(),
    );
    let route = format!("zillow-com1.p.rapidapi.com={}", m.addr);
    let ca = m.ca.to_str().expect("utf-8 path").to_owned();
    let manifest = "guests/scrapers/zillow-rapidapi/scraper.toml";
    for zip in ["10001", "30309", "37201", "60601", "33101"] {
        let (ok, out, err) = resi(
            &[
                "scraper",
                "test",
                manifest,
                "--zipcode",
                zip,
                "--json",
                "--resolve",
                &route,
                "--ca-cert",
                &ca,
            ],
            &[("RESI_SECRET_RAPIDAPI_KEY", key)],
        );
        assert!(ok, "{out}\n{err}");
        assert!(!out.contains(key) && !err.contains(key), "the key leaked");
        let v: Value = serde_json::from_str(&out).expect("json");
        let mut got: Vec<String> = v["listings"]
            .as_array()
            .expect("listings")
            .iter()
            .map(|l| {
                assert_eq!(l["valid"], true, "{l}");
                assert_eq!(l["listing"]["zipcode"], zip, "{l}");
                let url = l["listing"]["source_url"].as_str().unwrap_or_default();
                assert!(
                    url.starts_with("https://www.zillow.com/homedetails/"),
                    "{l}"
                );
                l["listing"]["zpid"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        got.sort();
        let want = expected_zpids(&replay.join(format!("search/{zip}-page1.json")), zip);
        assert_eq!(
            want.is_empty(),
            zip == "33101",
            "33101 is the PO-box zipcode: `{{}}`"
        );
        assert_eq!(got, want, "zipcode {zip}");
    }
    let wrong = "wrong-key-51d0";
    let (ok, out, err) = resi(
        &[
            "scraper",
            "test",
            manifest,
            "--zipcode",
            "10001",
            "--resolve",
            &route,
            "--ca-cert",
            &ca,
        ],
        &[("RESI_SECRET_RAPIDAPI_KEY", wrong)],
    );
    assert!(!ok, "a wrong key must fail the scrape:\n{out}");
    assert!(out.contains("RAPIDAPI_KEY"), "{out}\n{err}");
    assert!(
        !out.contains(wrong) && !err.contains(wrong),
        "the key leaked"
    );
    // (Without the CA the handshake fails: host/scraper/tests gate routing test.)
}

/// The released Redfin scraper, unchanged, replays the real captured search (`{}&&` bodies)
/// through the gate and emits exactly the sold homes of each zipcode (by MLS number): not the
/// active homes with an old `soldDate`, not the neighbouring zipcodes' homes in the same body.
#[test]
fn released_redfin_scraper_replays_real_homes_through_the_gate() {
    let tmp = tempfile::tempdir().expect("tmp");
    let replay = repo_root().join("tests/fixtures/sources/redfin");
    let m = mimic(
        "redfin",
        &["--replay", replay.to_str().expect("utf-8 path")],
        tmp.path(),
    );
    let route = format!("www.redfin.com={}", m.addr);
    let ca = m.ca.to_str().expect("utf-8 path").to_owned();
    let body = |path: PathBuf| -> Value {
        let text = std::fs::read_to_string(&path).expect("captured body");
        serde_json::from_str(text.strip_prefix("{}&&").expect("{}&& prefix")).expect("json")
    };
    for (zip, region) in [("60540", "160540"), ("60563", "160563")] {
        let gis = body(replay.join(format!("gis/{region}-page1.json")));
        let mut want: Vec<String> = gis["payload"]["homes"]
            .as_array()
            .expect("homes")
            .iter()
            .filter(|h| {
                h["zip"] == zip && matches!(h["mlsStatus"].as_str(), Some("Sold" | "Closed"))
            })
            .filter_map(|h| h["mlsId"]["value"].as_str().map(str::to_owned))
            .collect();
        want.sort();
        assert!(!want.is_empty(), "{zip}");
        let (ok, out, err) = resi(
            &[
                "scraper",
                "test",
                "guests/scrapers/redfin/scraper.toml",
                "--zipcode",
                zip,
                "--json",
                "--resolve",
                &route,
                "--ca-cert",
                &ca,
            ],
            &[],
        );
        assert!(ok, "{out}\n{err}");
        let v: Value = serde_json::from_str(&out).expect("json");
        let mut got: Vec<String> = v["listings"]
            .as_array()
            .expect("listings")
            .iter()
            .map(|l| {
                assert_eq!(l["valid"], true, "{l}");
                assert_eq!(l["listing"]["zipcode"], zip, "{l}");
                l["listing"]["mls_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "zipcode {zip}");
    }
}

/// The owner's counts from a real source: `resi scraper count` through the Redfin mimic writes
/// the coordinator's market-data CSV with exactly the recent sales the mimic serves
/// (`resi market --mimic redfin --counts-csv` prints the same universe's counts).
#[test]
fn scraper_count_writes_the_sources_recent_sales() {
    let tmp = tempfile::tempdir().expect("tmp");
    let universe = ["--max-listings", "400"];
    let m = mimic("redfin", &universe, tmp.path());
    let out_csv = tmp.path().join("market.csv");
    let zips = "19103,10001,00601";
    let (ok, out, err) = resi(
        &[
            "scraper",
            "count",
            "guests/scrapers/redfin/scraper.toml",
            "--zipcodes",
            zips,
            "--out",
            out_csv.to_str().expect("utf-8"),
            "--resolve",
            &format!("www.redfin.com={}", m.addr),
            "--ca-cert",
            m.ca.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(ok, "{out}\n{err}");
    let got = std::fs::read_to_string(&out_csv).expect("csv");
    let all = tmp.path().join("all.csv");
    let (ok, out, err) = resi(
        &[
            "market",
            "--mimic",
            "redfin",
            "--max-listings",
            "400",
            "--counts-csv",
            all.to_str().expect("utf-8"),
            "--counts-for",
            zips,
        ],
        &[],
    );
    assert!(ok, "{out}\n{err}");
    let all = std::fs::read_to_string(&all).expect("counts");
    let mut lines = got.lines();
    assert_eq!(lines.next(), Some("zipcode,expected_listings"));
    let mut n = 0;
    for line in lines {
        let zip = line.split(',').next().unwrap_or_default();
        assert!(zips.contains(zip), "{got}");
        assert!(
            all.lines().any(|l| l == line),
            "{line} is not the mimic's count"
        );
        n += 1;
    }
    assert_eq!(n, 3, "{got}");
    assert!(
        got.lines()
            .any(|l| l.starts_with("19103,") && !l.ends_with(",0")),
        "{got}"
    );
}

/// The whole subnet through each real source's released scraper and mimic: validators agree,
/// honest miners are paid, the adversaries end at 0.
#[test]
fn devnet_through_each_real_source() {
    for source in ["zillow-rapidapi", "redfin"] {
        let tmp = tempfile::tempdir().expect("tmp");
        let data = tmp.path().join("run");
        let (ok, out, err) = resi(
            &[
                "devnet",
                "--source",
                source,
                "--adversaries",
                "--epochs",
                "1",
                "--epoch-secs",
                "24",
                "--data-dir",
                data.to_str().expect("utf-8"),
            ],
            &[],
        );
        assert!(ok, "{source}:\n{out}\n{err}");
        assert!(out.contains(&format!("mimic of {source}")), "{out}");
        let report: Value = serde_json::from_str(
            &std::fs::read_to_string(data.join("devnet-report.json")).expect("report"),
        )
        .expect("json");
        let epoch = &report["epochs"][0];
        assert_eq!(epoch["agreed"], true, "{source}: {epoch}");
        for m in epoch["miners"].as_array().expect("miners") {
            let ppb = m["ppb"].as_u64().unwrap_or(0);
            if m["adversary"] == true {
                assert_eq!(ppb, 0, "{source}: {m}");
            } else {
                assert!(ppb > 0, "{source}: {m}");
                assert_eq!(m["failed_gates"], serde_json::json!({}), "{source}: {m}");
            }
        }
        // The mimic's key reached the requests only: no file the run left holds it (wallets,
        // SQLite, parquet, manifests, reports, the scraper.toml copy).
        let key = b"resi-devnet-mimic-key";
        let mut files = vec![data.clone()];
        let mut checked = 0;
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(
                    std::fs::read_dir(&p)
                        .expect("dir")
                        .flatten()
                        .map(|e| e.path()),
                );
            } else if let Ok(bytes) = std::fs::read(&p) {
                assert!(
                    !bytes.windows(key.len()).any(|w| w == key),
                    "{} holds the key",
                    p.display()
                );
                checked += 1;
            }
        }
        assert!(checked > 20, "{checked} files");
        for v in epoch["validators"].as_array().expect("validators") {
            assert_eq!(v["outcome_hash"], epoch["validators"][0]["outcome_hash"]);
            let validated = v["validated_listings"].as_u64().unwrap_or(0);
            assert!(validated > 0, "{source}: {v}");
            assert_eq!(
                v["traceable_listings"].as_u64(),
                Some(validated),
                "{source}: {v}"
            );
        }
    }
}
