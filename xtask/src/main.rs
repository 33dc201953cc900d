//! Developer tasks for resi, run as `cargo xtask <task>`:
//! - `guests`: build every guest component reproducibly into `guests/dist/` (policies for
//!   `wasm32-unknown-unknown` turned into components with wit-component, scrapers for
//!   `wasm32-wasip2`), optionally proving that two clean builds give identical bytes
//!   (`--check-reproducible`) and that released policies match their source (`--check-release`).
//! - `test`: the whole test suite as CI runs it (targets, Python venv, guests, moto S3, tests).
//! - `devnet`: build the guests, then run `resi devnet`.

mod fuzz;
mod guests;
mod python;
mod test;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Developer tasks for resi")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Build all guest components into guests/dist/ and print their sha256.
    Guests {
        /// Also build twice from clean in two fresh directories and fail unless every
        /// component is byte-identical across the builds.
        #[arg(long)]
        check_reproducible: bool,
        /// Also fail unless every released policy (policies/<name>/<version>/) has the
        /// sha256 of its fresh build, in policy.toml and in the committed policy.wasm.
        #[arg(long)]
        check_release: bool,
    },
    /// Run the whole test suite (what `.ci/run` runs): installs wasm targets and the Python
    /// venv, builds guests (checking reproducibility), starts moto S3 on 127.0.0.1, runs tests.
    Test {
        /// Skip the two extra clean guest builds of the reproducibility check.
        #[arg(long)]
        skip_repro: bool,
        /// Extra arguments passed to the test runner (e.g. a test name filter).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Build the guests and run the local devnet (`resi devnet`), forwarding extra arguments.
    Devnet {
        /// Arguments for `resi devnet`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Fuzz the parsers with cargo-fuzz (libFuzzer), installing cargo-fuzz if missing: each
    /// target of fuzz/ for --secs seconds, then a table of executions and crashes. Builds on
    /// the stable toolchain with RUSTC_BOOTSTRAP=1 (see fuzz/README.md). Run it under `nice`.
    Fuzz {
        /// One target (default: every target, one after the other).
        target: Option<String>,
        /// Seconds per target.
        #[arg(long, default_value_t = 120)]
        secs: u64,
        /// `address` (AddressSanitizer, when the toolchain has its runtime) or `none`
        /// (4-5 times as fast).
        #[arg(long, default_value = "address")]
        sanitizer: String,
        /// Extra libFuzzer arguments (e.g. `-- -jobs=2 -max_len=65536`).
        #[arg(last = true)]
        args: Vec<String>,
    },
}

/// The repository root (parent of this crate's manifest directory). `cargo run` (and so
/// `cargo xtask`) sets `CARGO_MANIFEST_DIR` at run time; that one is preferred over the
/// compile-time value, which names whichever clone built the binary when several clones share
/// one target directory.
pub fn repo_root() -> Result<PathBuf> {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .parent()
        .map(PathBuf::from)
        .context("xtask manifest has no parent directory")
}

/// The cargo target directory the host workspace uses.
pub fn host_target_dir() -> Result<PathBuf> {
    Ok(match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => repo_root()?.join("target"),
    })
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.task {
        Task::Guests {
            check_reproducible,
            check_release,
        } => {
            let target = guests::default_target_dir()?;
            let built = guests::build_all(&target)?;
            let mut all = built.clone();
            match python::find_tool() {
                Some(tool) => all.extend(python::build_all(&tool, &target)?),
                None => eprintln!(
                    "componentize-py not found: the Python guests are not built \
                     (`cargo xtask test` installs it into its venv)"
                ),
            }
            guests::publish(&all)?;
            if check_reproducible {
                guests::check_reproducible(&built)?;
            }
            if check_release {
                guests::check_release(&built)?;
            }
            Ok(())
        }
        Task::Test { skip_repro, args } => test::run(skip_repro, &args),
        Task::Devnet { args } => {
            test::ensure_targets()?;
            let target = host_target_dir()?;
            if !target.join("debug").join("resi").exists() {
                eprintln!(
                    "first run: building resi and the guest components takes several minutes \
                     on a small machine; later runs start in seconds"
                );
            }
            let built = guests::build_all(&guests::default_target_dir()?)?;
            guests::publish(&built)?;
            let status = std::process::Command::new(env!("CARGO"))
                .current_dir(repo_root()?)
                .args(["run", "--quiet", "-p", "resi", "--", "devnet"])
                .args(&args)
                .status()
                .context("running resi devnet")?;
            anyhow::ensure!(status.success(), "resi devnet failed ({status})");
            Ok(())
        }
        Task::Fuzz {
            target,
            secs,
            sanitizer,
            args,
        } => fuzz::run(target.as_deref(), secs, &sanitizer, &args),
    }
}
