//! Test support shared by resi's tests; a dev-dependency only, never part of a release.
//!
//! - [`paths`]: the repository root (from the *run-time* `CARGO_MANIFEST_DIR`, so a test binary
//!   built in a shared target directory by another clone still reads this clone's files), the
//!   built guest components (`$RESI_GUESTS_DIR` or `guests/dist`), the released policy.
//! - [`s3`]: the moto S3 server `cargo xtask test` starts (`RESI_S3_ENDPOINT`), with loud skips.
//! - [`wallet`] (feature `core`): the TEST ONLY wallet fixture and throwaway test wallets.
//! - [`listings`] (feature `core`): plain valid listings.
//! - [`coordinator`] (feature `coordinator`): a stand-in coordinator on 127.0.0.1.
//! - [`scraper`] (feature `scraper`): `scraper.toml` files serialised from the real manifest type.
//! - [`subtensor`] (feature `subtensor`): a subtensor node double on 127.0.0.1 (HTTP and
//!   WebSocket JSON-RPC, verified extrinsics, blocks, events, timelocked commits).
//! - [`python`], [`run_python`]: the interop interpreter (`RESI_PYTHON`), with a loud skip
//!   when it is unset, and one run of an interop script.
//! - [`assert_every_test_file_is_a_module`]: keeps one-binary test targets complete.

pub mod paths;
pub mod s3;

#[cfg(feature = "coordinator")]
pub mod coordinator;
#[cfg(feature = "core")]
pub mod listings;
#[cfg(feature = "scraper")]
pub mod scraper;
#[cfg(feature = "subtensor")]
pub mod subtensor;
#[cfg(feature = "core")]
pub mod wallet;

pub use paths::{guest, guest_path, guests_dir, policy_release, policy_release_1_1, repo_root};

/// Runs the Python `script` with `python`, `stdin` on its standard input; returns its standard
/// output. Panics (naming the script and its stderr) when it cannot start or exits non-zero.
pub fn run_python(python: &str, script: &std::path::Path, stdin: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {python}: {e}"));
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin)
        .expect("writing the request");
    let out = child.wait_with_output().expect("waiting for python");
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The Python interpreter of the interop tests: `$RESI_PYTHON` (the venv `cargo xtask test`
/// creates from `tests/requirements.txt`). When it is unset the test is skipped with a banner
/// on stderr naming `library` (e.g. `bittensor-wallet==4.1.1`) and the command `rerun` that
/// runs it; with `RESI_REQUIRE_INTEROP=1` (CI) a missing interpreter is a failure instead.
pub fn python(library: &str, rerun: &str) -> Option<String> {
    use std::io::Write as _;
    match std::env::var("RESI_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            if std::env::var("RESI_REQUIRE_INTEROP").as_deref() == Ok("1") {
                panic!(
                    "RESI_REQUIRE_INTEROP=1 but RESI_PYTHON is not set: point it at a python with {library}"
                );
            }
            // Written straight to stderr (not eprintln!) so the test harness does not capture it.
            let _ = writeln!(
                std::io::stderr(),
                "\n==================== SKIPPED: {library} interop ====================\n\
                 RESI_PYTHON is not set, so the real {library} library was NOT run.\n\
                 python3 -m venv ~/.cache/resi-venv && ~/.cache/resi-venv/bin/pip install -r tests/requirements.txt\n\
                 RESI_PYTHON=~/.cache/resi-venv/bin/python {rerun}\n\
                 ===================================================================="
            );
            None
        }
    }
}

/// Panics unless every `*.rs` file directly in the folder `dir` of the checkout (e.g.
/// `host/validator/tests`) other than `root`, and every `*/mod.rs` there, is declared as a module
/// (`mod name;`) in `root`, the folder's one test target: a test file that is not a module would
/// silently never run. Call it from a `#[test]` of that target.
pub fn assert_every_test_file_is_a_module(dir: &str, root: &str) {
    let dir = repo_root().join(dir);
    let text = std::fs::read_to_string(dir.join(root))
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.join(root).display()));
    let declared: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            l.strip_prefix("mod ")?.strip_suffix(';')
        })
        .collect();
    let mut missing = Vec::new();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let name = if path.is_dir() && path.join("mod.rs").is_file() {
            path.file_name().and_then(|n| n.to_str()).map(str::to_owned)
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with(root) {
            path.file_stem().and_then(|n| n.to_str()).map(str::to_owned)
        } else {
            None
        };
        if let Some(name) = name
            && !declared.contains(&name.as_str())
        {
            missing.push(name);
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "{} does not declare `mod {};`: those tests would never run",
        dir.join(root).display(),
        missing.join(";`, `mod ")
    );
}
