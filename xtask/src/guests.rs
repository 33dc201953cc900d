//! Reproducible guest builds.
//!
//! Every guest is built in release mode with paths remapped (`--remap-path-prefix`) so neither the
//! checkout location, the cargo home nor the target directory leaks into the bytes. Policies are
//! built for `wasm32-unknown-unknown` and turned into components with wit-component, so they
//! import nothing; scrapers are built for `wasm32-wasip2`, which emits components directly.

use anyhow::{Context, Result, bail, ensure};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What kind of component a guest package is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `resi:policy` world, built for wasm32-unknown-unknown and componentized here.
    Policy,
    /// `resi:scraper` world, built for wasm32-wasip2.
    Scraper,
}

/// One guest package and the file name it is published as.
#[derive(Debug, Clone, Copy)]
pub struct Guest {
    /// Cargo package name inside `guests/`.
    pub package: &'static str,
    /// Component kind.
    pub kind: Kind,
}

/// Every guest the workspace builds.
pub const GUESTS: &[Guest] = &[
    Guest {
        package: "example-policy",
        kind: Kind::Policy,
    },
    Guest {
        package: "hostile-policy",
        kind: Kind::Policy,
    },
    Guest {
        package: "zipcode-competitive",
        kind: Kind::Policy,
    },
    Guest {
        package: "zipcode-competitive-1-1",
        kind: Kind::Policy,
    },
    Guest {
        package: "example-scraper",
        kind: Kind::Scraper,
    },
    Guest {
        package: "market-scraper",
        kind: Kind::Scraper,
    },
    Guest {
        package: "zillow-rapidapi-scraper",
        kind: Kind::Scraper,
    },
    Guest {
        package: "redfin-scraper",
        kind: Kind::Scraper,
    },
    Guest {
        package: "hostile-scraper",
        kind: Kind::Scraper,
    },
];

/// A built component.
#[derive(Debug, Clone)]
pub struct Built {
    /// The guest it came from.
    pub guest: Guest,
    /// Component bytes.
    pub bytes: Vec<u8>,
}

impl Built {
    /// Lowercase hex sha256 of the component.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.bytes))
    }
    /// Published file name, e.g. `example-policy.wasm`.
    pub fn file_name(&self) -> String {
        format!("{}.wasm", self.guest.package)
    }
}

/// Guest target directory: `$CARGO_TARGET_DIR/guests` or `guests/target`.
pub fn default_target_dir() -> Result<PathBuf> {
    Ok(match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("guests"),
        None => crate::repo_root()?.join("guests").join("target"),
    })
}

fn target_triple(kind: Kind) -> &'static str {
    match kind {
        Kind::Policy => "wasm32-unknown-unknown",
        Kind::Scraper => "wasm32-wasip2",
    }
}

fn encoded_rustflags(target_dir: &Path) -> Result<String> {
    let root = crate::repo_root()?;
    let mut remaps: Vec<(PathBuf, &str)> = vec![
        (root.join("guests"), "/resi/guests"),
        (root.join("wit"), "/resi/wit"),
        (target_dir.to_path_buf(), "/resi/target"),
    ];
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".cargo")));
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".rustup")));
    if let Some(p) = cargo_home {
        remaps.push((p, "/cargo"));
    }
    if let Some(p) = rustup_home {
        remaps.push((p, "/rustup"));
    }
    let flags: Vec<String> = remaps
        .iter()
        .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
        .collect();
    Ok(flags.join("\u{1f}"))
}

/// Builds every guest into `target_dir` and returns the components (not yet published).
pub fn build_all(target_dir: &Path) -> Result<Vec<Built>> {
    let root = crate::repo_root()?;
    let manifest = root.join("guests").join("Cargo.toml");
    let rustflags = encoded_rustflags(target_dir)?;
    let mut built = Vec::new();
    // One cargo invocation per kind: features of the guest SDK must not unify across worlds.
    for kind in [Kind::Policy, Kind::Scraper] {
        let triple = target_triple(kind);
        let members: Vec<&Guest> = GUESTS.iter().filter(|g| g.kind == kind).collect();
        let mut cmd = Command::new(cargo_bin());
        cmd.arg("build")
            .arg("--release")
            .arg("--locked")
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target")
            .arg(triple)
            .env("CARGO_TARGET_DIR", target_dir)
            .env("CARGO_ENCODED_RUSTFLAGS", &rustflags)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTFLAGS")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("CARGO_INCREMENTAL");
        for g in &members {
            cmd.arg("-p").arg(g.package);
        }
        eprintln!(
            "building {} guests for {triple} into {}",
            members.len(),
            target_dir.display()
        );
        let status = cmd.status().context("running cargo for the guests")?;
        if !status.success() {
            bail!(
                "guest build for {triple} failed ({status}); is the target installed? \
                 run `rustup target add {triple}`"
            );
        }
        for g in members {
            let artifact = target_dir
                .join(triple)
                .join("release")
                .join(format!("{}.wasm", g.package.replace('-', "_")));
            let bytes = std::fs::read(&artifact)
                .with_context(|| format!("reading {}", artifact.display()))?;
            let bytes = match kind {
                Kind::Policy => componentize(&bytes)
                    .with_context(|| format!("turning {} into a component", g.package))?,
                Kind::Scraper => bytes,
            };
            built.push(Built { guest: *g, bytes });
        }
    }
    Ok(built)
}

/// Turns a core module carrying a `component-type` custom section into a component.
fn componentize(module: &[u8]) -> Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(module)?
        .validate(true)
        .encode()
}

fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// The directory built components are published to.
pub fn dist_dir() -> Result<PathBuf> {
    Ok(crate::repo_root()?.join("guests").join("dist"))
}

/// Writes components to `guests/dist/` with a `SHA256SUMS` file, printing each hash.
pub fn publish(built: &[Built]) -> Result<()> {
    let dist = dist_dir()?;
    std::fs::create_dir_all(&dist).with_context(|| format!("creating {}", dist.display()))?;
    let mut sums = String::new();
    for b in built {
        let path = dist.join(b.file_name());
        let tmp = dist.join(format!(".{}.tmp", b.file_name()));
        std::fs::write(&tmp, &b.bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        println!("{}  {}", b.sha256(), path.display());
        sums.push_str(&format!("{}  {}\n", b.sha256(), b.file_name()));
    }
    std::fs::write(dist.join("SHA256SUMS"), sums).context("writing SHA256SUMS")?;
    Ok(())
}

/// Builds everything twice from clean in two fresh directories at different paths and requires
/// byte-identical components, identical also to `reference`.
pub fn check_reproducible(reference: &[Built]) -> Result<()> {
    let base = std::env::temp_dir().join(format!("resi-repro-{}", std::process::id()));
    let dirs = [base.join("first"), base.join("second-build-dir")];
    let mut runs = Vec::new();
    for dir in &dirs {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        runs.push(build_all(dir)?);
    }
    let _ = std::fs::remove_dir_all(&base);
    let mut mismatches = Vec::new();
    for (i, r) in reference.iter().enumerate() {
        let hashes: Vec<String> = runs.iter().map(|run| run[i].sha256()).collect();
        if hashes.iter().any(|h| *h != r.sha256()) {
            mismatches.push(format!("{}: {} vs {:?}", r.file_name(), r.sha256(), hashes));
        } else {
            println!("reproducible  {}  {}", r.sha256(), r.file_name());
        }
    }
    ensure!(
        mismatches.is_empty(),
        "guest builds are not reproducible:\n{}",
        mismatches.join("\n")
    );
    Ok(())
}

/// A released policy whose component must be reproducible from its source.
#[derive(Debug, Clone, Copy)]
pub struct ReleasedPolicy {
    /// Guest package that builds it.
    pub package: &'static str,
    /// Release directory under the repository root (holds `policy.toml` and `policy.wasm`).
    pub dir: &'static str,
}

/// Every released policy checked by `cargo xtask guests --check-release`.
pub const RELEASES: &[ReleasedPolicy] = &[
    ReleasedPolicy {
        package: "zipcode-competitive",
        dir: "policies/zipcode-competitive/1.0.0",
    },
    ReleasedPolicy {
        package: "zipcode-competitive-1-1",
        dir: "policies/zipcode-competitive/1.1.0",
    },
];

/// Scraper components committed for `resi` to compile in: (guest package, path).
pub const RELEASED_SCRAPERS: &[(&str, &str)] = &[
    (
        "market-scraper",
        "guests/scrapers/market/release/market-scraper.wasm",
    ),
    (
        "redfin-scraper",
        "guests/scrapers/redfin/release/redfin-scraper.wasm",
    ),
    (
        "zillow-rapidapi-scraper",
        "guests/scrapers/zillow-rapidapi/release/zillow-rapidapi-scraper.wasm",
    ),
];

/// The `wasm_sha256 = "..."` value of a `policy.toml`.
fn pinned_sha256(manifest: &str) -> Option<String> {
    manifest.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "wasm_sha256").then(|| value.trim().trim_matches('"').to_string())
    })
}

/// Fails unless each released policy's fresh build has the sha256 pinned in its
/// `policy.toml`, and the committed `policy.wasm` has it too; the error names both hashes.
pub fn check_release(built: &[Built]) -> Result<()> {
    let root = crate::repo_root()?;
    let mut problems = Vec::new();
    for release in RELEASES {
        let b = built
            .iter()
            .find(|b| b.guest.package == release.package)
            .with_context(|| format!("{} is not in the GUESTS table", release.package))?;
        let dir = root.join(release.dir);
        let manifest_path = dir.join("policy.toml");
        let manifest = std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let pinned = pinned_sha256(&manifest)
            .with_context(|| format!("{} has no wasm_sha256", manifest_path.display()))?;
        let committed = std::fs::read(dir.join("policy.wasm"))
            .map(|bytes| hex::encode(Sha256::digest(&bytes)))
            .with_context(|| format!("reading {}/policy.wasm", release.dir))?;
        if b.sha256() != pinned {
            problems.push(format!(
                "{}: fresh build of {} has sha256 {} but {}/policy.toml pins {pinned}",
                release.dir,
                release.package,
                b.sha256(),
                release.dir
            ));
        }
        if committed != pinned {
            problems.push(format!(
                "{}/policy.wasm has sha256 {committed} but policy.toml pins {pinned}",
                release.dir
            ));
        }
        if problems.is_empty() {
            println!("release ok  {pinned}  {}", release.dir);
        }
    }
    // Released scrapers compiled into `resi` (the devnet's market scraper): the committed
    // component must be the fresh reproducible build.
    for (package, path) in RELEASED_SCRAPERS {
        let b = built
            .iter()
            .find(|b| b.guest.package == *package)
            .with_context(|| format!("{package} is not in the GUESTS table"))?;
        let committed = std::fs::read(root.join(path))
            .map(|bytes| hex::encode(Sha256::digest(&bytes)))
            .with_context(|| format!("reading {path}"))?;
        if committed == b.sha256() {
            println!("release ok  {committed}  {path}");
        } else {
            problems.push(format!(
                "{path} has sha256 {committed} but a fresh build of {package} has {} \
                 (copy guests/dist/{}.wasm there and update its scraper.toml pin)",
                b.sha256(),
                package
            ));
        }
    }
    ensure!(
        problems.is_empty(),
        "released policies do not match their source:\n{}",
        problems.join("\n")
    );
    Ok(())
}
