//! `cargo xtask test`: the whole suite exactly as CI runs it.
//!
//! Steps: make sure the wasm targets exist, create or refresh the Python venv used for interop
//! tests (`$HOME/.cache/resi-venv`, from `tests/requirements.txt`), build the guests, check that
//! released policies match their source and that the build is reproducible, make sure Debian's
//! Chromium is installed (the dashboard's browser tests), start moto's S3 server on 127.0.0.1,
//! run every test of the workspace, stop moto.

use anyhow::{Context, Result, bail};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::guests;

/// Guest-workspace crates whose unit tests run natively: the consensus rules and the policy
/// cores (they are members of the guests workspace, so the host's test run does not see them).
const GUEST_NATIVE_TESTS: &[&str] = &[
    "resi-rules",
    "zipcode-competitive-core",
    "zipcode-competitive-1-1-core",
];

/// Runs the whole suite.
pub fn run(skip_repro: bool, extra: &[String]) -> Result<()> {
    let root = crate::repo_root()?;
    ensure_targets()?;
    let python = ensure_venv(&root)?;
    let target = guests::default_target_dir()?;
    let built = guests::build_all(&target)?;
    guests::check_release(&built)?;
    if !skip_repro {
        guests::check_reproducible(&built)?;
    }
    // Python guests (componentize-py from the venv): built, published, not reproducible (see
    // python.rs), so not in the checks above.
    let mut all = built;
    all.extend(crate::python::build_all(
        &crate::python::componentize_py(Some(&python)),
        &target,
    )?);
    guests::publish(&all)?;
    // Unit tests of the guest crates that also build natively (the rules, the policy cores).
    let status = Command::new(env!("CARGO"))
        .args(["test", "--quiet", "--manifest-path"])
        .arg(root.join("guests").join("Cargo.toml"))
        .args(GUEST_NATIVE_TESTS.iter().flat_map(|p| ["-p", p]))
        .status()
        .context("running the guest crates' unit tests")?;
    if !status.success() {
        bail!("guest crates' unit tests failed ({status})");
    }
    let chromium = ensure_chromium()?;
    let moto = Moto::start()?;
    let mut cmd = Command::new(env!("CARGO"));
    if nextest_available() {
        cmd.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        cmd.args(["test", "--workspace", "--no-fail-fast"]);
    }
    cmd.args(extra)
        .current_dir(&root)
        .env("RESI_PYTHON", &python)
        .env("RESI_REQUIRE_INTEROP", "1")
        .env("RESI_REQUIRE_S3", "1")
        .env("RESI_S3_ENDPOINT", moto.endpoint())
        .env("RESI_CHROMIUM", &chromium)
        .env("RESI_REQUIRE_BROWSER", "1")
        .env("RESI_GUESTS_DIR", guests::dist_dir()?);
    eprintln!("running tests (S3 at {})", moto.endpoint());
    let status = cmd.status().context("running the test runner")?;
    drop(moto);
    if !status.success() {
        bail!("tests failed ({status})");
    }
    Ok(())
}

/// Installs the wasm targets the guests build for (`rustup target add`; idempotent).
pub(crate) fn ensure_targets() -> Result<()> {
    let status = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2", "wasm32-unknown-unknown"])
        .stdout(Stdio::null())
        .status()
        .context("running rustup (is rustup installed?)")?;
    if !status.success() {
        bail!("`rustup target add wasm32-wasip2 wasm32-unknown-unknown` failed ({status})");
    }
    Ok(())
}

/// Debian's Chromium, the headless browser of the dashboard tests.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Makes sure [`CHROMIUM`] exists: installed with `apt-get install -y chromium` when missing
/// and running as root (after an `apt-get update` if the first try fails), else an error
/// saying how to install it.
fn ensure_chromium() -> Result<PathBuf> {
    let path = PathBuf::from(CHROMIUM);
    if path.is_file() {
        return Ok(path);
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned());
    if uid.as_deref() != Some("0") {
        bail!(
            "{CHROMIUM} is missing and not running as root: install Debian's chromium \
             (`sudo apt-get install -y chromium`) for the dashboard's browser tests"
        );
    }
    eprintln!("installing chromium (apt-get install -y chromium)");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !install() {
        run_ok(Command::new("apt-get").arg("update"), "apt-get update")?;
        if !install() {
            bail!("`apt-get install -y chromium` failed");
        }
    }
    if !path.is_file() {
        bail!("apt-get installed chromium but {CHROMIUM} does not exist");
    }
    Ok(path)
}

fn nextest_available() -> bool {
    Command::new(env!("CARGO"))
        .args(["nextest", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Creates the venv when missing and installs `tests/requirements.txt` when it changed.
fn ensure_venv(root: &Path) -> Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let venv = PathBuf::from(home).join(".cache").join("resi-venv");
    let python = venv.join("bin").join("python");
    let requirements = root.join("tests").join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let marker = venv.join(".resi-requirements");
    if !python.exists() {
        eprintln!("creating Python venv at {}", venv.display());
        run_ok(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv",
        )?;
    }
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        eprintln!("installing {} into the venv", requirements.display());
        run_ok(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&requirements),
            "pip install",
        )?;
        std::fs::write(&marker, &wanted).context("writing venv marker")?;
    }
    Ok(python)
}

fn run_ok(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// A moto S3 server on 127.0.0.1, stopped on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting moto_server (pip install 'moto[server]')")?;
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("moto_server did not start listening on 127.0.0.1:{port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(moto)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
