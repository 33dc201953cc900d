//! `resi scraper new` and `resi scraper build`: a scraper project for miners, in Python (built
//! with componentize-py, with resi's Python SDK beside the generated bindings) or in Rust
//! (wit-bindgen, built for wasm32-wasip2), with its `scraper.toml`, the WIT it implements, a
//! README and `test.sh` (build, then `resi scraper test` against `resi market`).
//!
//! The Python project is the Python market scraper (guests/scrapers/market-py) with the SDK
//! (guests/sdk-py); both, the WIT and the templates are compiled into resi, so `scraper new`
//! works from the binary alone.

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The language of a scraper project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Python, built with componentize-py (pip install componentize-py==0.25.1).
    Python,
    /// Rust, built with cargo for wasm32-wasip2.
    Rust,
}

/// Arguments of `resi scraper new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Project name: lowercase letters, digits and dashes (also the folder, unless --dir).
    name: String,
    /// Language of the project.
    #[arg(long, value_enum, default_value = "python")]
    lang: Lang,
    /// Folder to create (must not exist or be empty); default ./NAME.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The market (or source) origin the project's manifest allows and scrapes.
    #[arg(long, default_value = "http://127.0.0.1:8787", value_name = "URL")]
    market: String,
}

/// Arguments of `resi scraper build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The project folder (holding scraper.toml and app.py or Cargo.toml).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The componentize-py to run for a Python project (default: componentize-py on PATH).
    #[arg(long, env = "RESI_COMPONENTIZE_PY", value_name = "PATH")]
    componentize_py: Option<PathBuf>,
}

const SCRAPER_WIT: &str = include_str!("../../../../wit/scraper/scraper.wit");
const TYPES_WIT: &str = include_str!("../../../../wit/types/types.wit");
const PY_APP: &str = include_str!("../../../../guests/scrapers/market-py/app.py");
const PY_SDK: &str = include_str!("../../../../guests/sdk-py/resi_scraper.py");
const RUST_CARGO: &str = include_str!("../../templates/rust/Cargo.toml.in");
const RUST_LIB: &str = include_str!("../../templates/rust/src/lib.rs.in");
const MANIFEST: &str = include_str!("../../templates/scraper.toml.in");
const README: &str = include_str!("../../templates/README.md.in");
const TEST_SH: &str = include_str!("../../templates/test.sh.in");
/// The pinned componentize-py (as in resi's tests/requirements.txt).
pub const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";
/// Placeholder sha256 of a project not built yet.
const UNBUILT: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    out
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Host and port of an `http(s)://HOST[:PORT][/...]` origin.
fn host_port(url: &str) -> Option<(String, String)> {
    let (rest, default) = match url.split_once("://")? {
        ("http", rest) => (rest, "80"),
        ("https", rest) => (rest, "443"),
        _ => return None,
    };
    let authority = rest.split('/').next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => (h, p),
        _ => (authority, default),
    };
    (!host.is_empty()).then(|| (host.to_string(), port.to_string()))
}

/// `resi scraper new`.
pub fn new(args: NewArgs) -> anyhow::Result<ExitCode> {
    if !valid_name(&args.name) {
        bail!(
            "{:?} is not a project name: lowercase letters, digits and dashes, starting with a letter",
            args.name
        );
    }
    let (host, port) = host_port(&args.market)
        .with_context(|| format!("--market {:?}: expected http(s)://HOST[:PORT]", args.market))?;
    let market = args.market.trim_end_matches('/').to_string();
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!("{} exists and is not empty", dir.display());
    }
    let (lang, build_notes) = match args.lang {
        Lang::Python => (
            "Python",
            format!(
                "Needs componentize-py: `pip install {COMPONENTIZE_PY}` (it bundles the \
                 interpreter into the component). `app.py` is the scraper; `resi_scraper.py` is \
                 resi's Python SDK (requests with retries and Retry-After, batches, listing \
                 helpers); the bindings (`wit_world`) are generated from `wit/` at build time. \
                 Import every module at the top of a file: the component has no file system at \
                 run time. The component is ~18 MB and takes tens of seconds to compile when \
                 loaded."
            ),
        ),
        Lang::Rust => (
            "Rust",
            "Needs the target once: `rustup target add wasm32-wasip2`. `src/lib.rs` is the \
             scraper; the bindings are generated from `wit/` by wit-bindgen."
                .to_string(),
        ),
    };
    let vars = [
        ("name", args.name.as_str()),
        ("lang", lang),
        ("market", market.as_str()),
        ("listen", &format!("{host}:{port}")),
        ("host", host.as_str()),
        ("port", port.as_str()),
        ("sha256", UNBUILT),
        ("build_notes", build_notes.as_str()),
    ];
    write(&dir.join("wit/scraper.wit"), SCRAPER_WIT)?;
    write(&dir.join("wit/deps/types/types.wit"), TYPES_WIT)?;
    write(&dir.join("scraper.toml"), &fill(MANIFEST, &vars))?;
    write(&dir.join("README.md"), &fill(README, &vars))?;
    let test = dir.join("test.sh");
    write(&test, &fill(TEST_SH, &vars))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&test, std::fs::Permissions::from_mode(0o755))?;
    }
    match args.lang {
        Lang::Python => {
            let app = PY_APP.replace("name=\"market-py\"", &format!("name=\"{}\"", args.name));
            write(&dir.join("app.py"), &app)?;
            write(&dir.join("resi_scraper.py"), PY_SDK)?;
            write(
                &dir.join("requirements.txt"),
                &format!("{COMPONENTIZE_PY}\n"),
            )?;
        }
        Lang::Rust => {
            write(&dir.join("Cargo.toml"), &fill(RUST_CARGO, &vars))?;
            write(&dir.join("src/lib.rs"), &fill(RUST_LIB, &vars))?;
            write(&dir.join(".gitignore"), "/target\n")?;
        }
    }
    println!("created {} ({lang})", dir.display());
    println!("next: cd {} && ./test.sh   (see README.md)", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// The project's name and wasm file from its scraper.toml.
fn manifest_fields(text: &str) -> anyhow::Result<(String, String)> {
    let table: toml::Table = text.parse().context("scraper.toml is not valid TOML")?;
    let get = |k: &str| {
        table
            .get(k)
            .and_then(toml::Value::as_str)
            .map(str::to_string)
            .with_context(|| format!("scraper.toml has no {k} string"))
    };
    Ok((get("name")?, get("wasm")?))
}

/// Copies a Python project to `stage` (componentize-py writes `__pycache__` into its inputs).
fn stage_python(dir: &Path, stage: &Path) -> anyhow::Result<()> {
    if stage.exists() {
        std::fs::remove_dir_all(stage)?;
    }
    std::fs::create_dir_all(stage)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "py") {
            let name = path.file_name().context("file name")?;
            std::fs::copy(&path, stage.join(name))
                .with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}

/// `resi scraper build`.
pub fn build(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    let manifest_path = dir.join("scraper.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let (name, wasm) = manifest_fields(&manifest)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let out = dir.join(&wasm);
    let started = std::time::Instant::now();
    if dir.join("app.py").is_file() {
        let tool = args
            .componentize_py
            .clone()
            .unwrap_or_else(|| PathBuf::from("componentize-py"));
        let stage = dir.join(".build");
        stage_python(dir, &stage)?;
        let status = Command::new(&tool)
            .arg("-d")
            .arg(dir.join("wit"))
            .args(["-w", "resi:scraper/scraper-world", "componentize", "-p"])
            .arg(&stage)
            .arg("app")
            .arg("-o")
            .arg(&out)
            .status()
            .with_context(|| {
                format!(
                    "running {} (install it: pip install {COMPONENTIZE_PY})",
                    tool.display()
                )
            })?;
        let _ = std::fs::remove_dir_all(&stage);
        if !status.success() {
            bail!("componentize-py failed ({status})");
        }
    } else if dir.join("Cargo.toml").is_file() {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.join("target"));
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .status()
            .context("running cargo (is Rust installed?)")?;
        if !status.success() {
            bail!(
                "cargo build failed ({status}); if the target is missing: rustup target add wasm32-wasip2"
            );
        }
        let artifact = target
            .join("wasm32-wasip2/release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        std::fs::copy(&artifact, &out)
            .with_context(|| format!("copying {} to {}", artifact.display(), out.display()))?;
    } else {
        bail!(
            "{}: neither app.py (Python) nor Cargo.toml (Rust): not a scraper project",
            dir.display()
        );
    }
    let bytes = std::fs::read(&out).with_context(|| format!("reading {}", out.display()))?;
    let sha = hex::encode(Sha256::digest(&bytes));
    let pinned = pin(&manifest, &sha)
        .with_context(|| format!("{} has no sha256 line", manifest_path.display()))?;
    std::fs::write(&manifest_path, pinned)
        .with_context(|| format!("writing {}", manifest_path.display()))?;
    println!(
        "built {} ({} bytes) in {:.1} s; sha256 {sha} written to {}",
        out.display(),
        bytes.len(),
        started.elapsed().as_secs_f64(),
        manifest_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `manifest` with its `sha256 = "..."` line set to `sha`.
fn pin(manifest: &str, sha: &str) -> Option<String> {
    let mut found = false;
    let lines: Vec<String> = manifest
        .lines()
        .map(|l| {
            if !found && l.split('=').next().is_some_and(|k| k.trim() == "sha256") {
                found = true;
                format!("sha256 = \"{sha}\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    found.then(|| lines.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_templates_and_pins() {
        assert!(valid_name("my-scraper2") && !valid_name("My") && !valid_name("a b"));
        assert!(!valid_name("-x") && !valid_name(""));
        assert_eq!(
            host_port("http://127.0.0.1:8787/x"),
            Some(("127.0.0.1".into(), "8787".into()))
        );
        assert_eq!(
            host_port("https://a.example"),
            Some(("a.example".into(), "443".into()))
        );
        assert_eq!(host_port("ftp://a"), None);
        assert_eq!(fill("a {{name}} b {{name}}", &[("name", "x")]), "a x b x");
        let m = "name = \"x\"\nsha256 = \"00\"\n[config]\nsha256_note = \"y\"\n";
        let p = pin(m, "ab").expect("pinned");
        assert!(
            p.contains("sha256 = \"ab\"") && p.contains("sha256_note = \"y\""),
            "{p}"
        );
        assert!(pin("name = \"x\"\n", "ab").is_none());
        // The Python template is the market port with the project's name.
        assert!(PY_APP.contains("name=\"market-py\""));
    }
}
