//! `resi component inspect`: what a `.wasm` component is and whether a sandbox profile accepts it.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use resi_sandbox::inspect::{Profile, inspect_bytes};
use std::path::PathBuf;
use std::process::ExitCode;

/// Component subcommands.
#[derive(Debug, Subcommand)]
pub enum ComponentCmd {
    /// Print sha256, kind, exported and imported WIT interfaces, and the profile verdict.
    ///
    /// The kind is detected from the exports (`resi:policy/policy` or `resi:scraper/scraper`);
    /// `--as` checks the component against a profile of your choice instead. Policies must
    /// import nothing; scrapers may import only WASI 0.2 (run with no filesystem, environment or
    /// sockets) and `resi:scraper`'s host interfaces.
    ///
    /// Exit status: 0 when the profile accepts the component, 1 when it refuses it.
    ///
    /// Examples:
    ///   resi component inspect policies/zipcode-competitive/1.0.0/policy.wasm
    ///   resi component inspect --as policy my-scraper.wasm
    ///   resi component inspect --json scraper.wasm
    #[command(verbatim_doc_comment)]
    Inspect {
        /// The component file.
        file: PathBuf,
        /// Check against this profile instead of the detected kind.
        #[arg(long = "as", value_enum)]
        profile: Option<ProfileArg>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Profile names on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProfileArg {
    /// Deterministic scoring policy.
    Policy,
    /// Sandboxed scraper or verifier.
    Scraper,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Self {
        match p {
            ProfileArg::Policy => Profile::Policy,
            ProfileArg::Scraper => Profile::Scraper,
        }
    }
}

/// Runs a component subcommand.
pub fn run(cmd: ComponentCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ComponentCmd::Inspect {
            file,
            profile,
            json,
        } => inspect(file, profile.map(Into::into), json),
    }
}

fn inspect(file: PathBuf, profile: Option<Profile>, json: bool) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let report = inspect_bytes(&bytes).with_context(|| format!("inspecting {}", file.display()))?;
    let checked = profile.or(report.kind);
    let violations = checked.map(|p| report.violations(p));
    let accepted = matches!(&violations, Some(v) if v.is_empty());
    let sha256 = report.sha256.map(|p| p.to_string()).unwrap_or_default();
    let kind = report.kind.map(Profile::name).unwrap_or("unknown");
    if json {
        let value = serde_json::json!({
            "file": file.display().to_string(),
            "sha256": sha256,
            "size": bytes.len(),
            "kind": kind,
            "exports": report.exports,
            "imports": report.imports,
            "profile": checked.map(Profile::name),
            "accepted": accepted,
            "violations": violations.clone().unwrap_or_default(),
            "wasmtime": resi_sandbox::WASMTIME_VERSION,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("file:     {}", file.display());
        println!("sha256:   {sha256}");
        println!("size:     {} bytes", bytes.len());
        println!("kind:     {kind}");
        println!("exports:");
        for e in &report.exports {
            println!("  {e}");
        }
        if report.imports.is_empty() {
            println!("imports: none");
        } else {
            println!("imports:");
            for i in &report.imports {
                println!("  {i}");
            }
        }
        match (checked, &violations) {
            (Some(p), Some(v)) if v.is_empty() => {
                println!("profile:  {} (accepted)", p.name());
            }
            (Some(p), Some(v)) => {
                println!(
                    "profile:  {} (REFUSED: may not import {})",
                    p.name(),
                    v.join(", ")
                );
            }
            _ => println!(
                "profile:  none detected (exports neither resi:policy/policy nor \
                 resi:scraper/scraper); use --as policy|scraper"
            ),
        }
    }
    Ok(if accepted {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
