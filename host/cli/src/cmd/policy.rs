//! `resi policy`: policy authors' and validators' tools: run a component against test vectors,
//! compute the pins a validator sets (wasm sha256, params sha256), inspect a component.

use anyhow::Context;
use clap::Subcommand;
use resi_policy::hash;
use resi_policy::vectors::run_vectors;
use resi_sandbox::inspect::{Profile, inspect_bytes};
use resi_sandbox::policy::{PolicyEngine, PolicyEngineOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Subcommands of `resi policy`.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run every test vector (`*.json`) of a directory through a policy component.
    ///
    /// Prints one line per vector (pass/fail, fuel, time, peak memory) and, for a failure,
    /// what did not match and where the canonical outcomes first differ.
    ///
    /// Exit status: 0 when every vector passes, 1 otherwise.
    ///
    /// Example:
    ///   resi policy test policies/zipcode-competitive/1.0.0/policy.wasm \
    ///       policies/zipcode-competitive/1.0.0/vectors
    #[command(verbatim_doc_comment)]
    Test {
        /// The policy component.
        wasm: PathBuf,
        /// Directory of vector files.
        vectors: PathBuf,
        /// Also print each vector's actual canonical outcome (pretty JSON) and hashes, so a
        /// failing vector shows what the policy returned, not only the first difference.
        #[arg(long)]
        print_outcome: bool,
        /// Print the whole result as JSON (per vector: passed, mismatches, fuel, time, peak
        /// memory, the actual outcome and hashes).
        #[arg(long)]
        json: bool,
    },
    /// Print the pins a validator sets: the component's sha256 and the params' sha256.
    ///
    /// Without `--params` the policy's own default params are hashed (after canonical
    /// RFC 8785 encoding, as the runner does).
    ///
    /// Example:
    ///   resi policy hash policies/zipcode-competitive/1.0.0/policy.wasm
    #[command(verbatim_doc_comment)]
    Hash {
        /// The policy component.
        wasm: PathBuf,
        /// Params JSON file (integer-only); default: the policy's default params.
        #[arg(long)]
        params: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show a policy's name, version, default params and whether it imports nothing.
    ///
    /// Exit status: 0 when the component is a policy that imports nothing, 1 otherwise.
    Inspect {
        /// The policy component.
        wasm: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a subcommand.
pub fn run(cmd: Cmd) -> anyhow::Result<ExitCode> {
    match cmd {
        Cmd::Test {
            wasm,
            vectors,
            print_outcome,
            json,
        } => test(&wasm, &vectors, print_outcome, json),
        Cmd::Hash { wasm, params, json } => hash_cmd(&wasm, params.as_deref(), json),
        Cmd::Inspect { wasm, json } => inspect(&wasm, json),
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn test(wasm: &Path, vectors: &Path, print_outcome: bool, json: bool) -> anyhow::Result<ExitCode> {
    let bytes = read(wasm)?;
    // Its errors name the file: "reading VECTORS: No such file or directory".
    let report = run_vectors(&bytes, vectors).context("running the vectors")?;
    if json {
        let results: Vec<serde_json::Value> = report
            .results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "passed": r.passed,
                    "failures": r.failures,
                    "diff": r.diff,
                    "fuel": r.fuel,
                    "time_ms": r.elapsed.as_secs_f64() * 1000.0,
                    "peak_memory_bytes": r.peak_memory,
                    "outcome": r
                        .actual_outcome
                        .as_deref()
                        .and_then(|o| serde_json::from_str::<serde_json::Value>(o).ok()),
                    "hashes": r.actual_hashes,
                })
            })
            .collect();
        let out = serde_json::json!({
            "policy_sha256": report.policy_sha256,
            "passed": report.passed(),
            "failed": report.failed(),
            "vectors": results,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(if report.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    println!("policy sha256 {}", report.policy_sha256);
    for r in &report.results {
        println!(
            "{} {:<40} fuel {:>12}  time {:>9.3} ms  peak memory {} KiB",
            if r.passed { "PASS" } else { "FAIL" },
            r.name,
            r.fuel,
            r.elapsed.as_secs_f64() * 1000.0,
            r.peak_memory / 1024
        );
        for f in &r.failures {
            println!("     mismatch: {f}");
        }
        if let Some(d) = &r.diff {
            for line in d.lines() {
                println!("     {line}");
            }
        }
        if print_outcome {
            if let Some(h) = &r.actual_hashes {
                println!("     outcome_hash  {}", h.outcome_hash);
                println!("     input_hash    {}", h.input_hash);
                println!("     params_sha256 {}", h.params_sha256);
            }
            if let Some(o) = &r.actual_outcome {
                let pretty = serde_json::from_str::<serde_json::Value>(o)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .unwrap_or_else(|_| o.clone());
                println!("     outcome:");
                for line in pretty.lines() {
                    println!("       {line}");
                }
            }
        }
    }
    let total_fuel: u64 = report.results.iter().map(|r| r.fuel).sum();
    let total_ms: f64 = report
        .results
        .iter()
        .map(|r| r.elapsed.as_secs_f64() * 1000.0)
        .sum();
    println!(
        "{} vectors, {} failed; total fuel {total_fuel}, total time {total_ms:.3} ms",
        report.results.len(),
        report.failed()
    );
    if report.results.is_empty() {
        eprintln!("no vectors found in {}", vectors.display());
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn hash_cmd(wasm: &Path, params: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let bytes = read(wasm)?;
    let wasm_sha = hash::sha256(&bytes);
    let canonical = match params {
        Some(p) => {
            let file = || format!("the --params file {}", p.display());
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", file()))?;
            let text =
                String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", file()))?;
            hash::canonicalize_json(&text).with_context(file)?
        }
        None => {
            let engine = PolicyEngine::new(PolicyEngineOptions::default())?;
            let policy = engine
                .load(&bytes)
                .with_context(|| format!("loading {}", wasm.display()))?;
            let info = policy.info().context("calling the policy's info")?.value;
            hash::canonicalize_json(&info.default_params).context("the policy's default params")?
        }
    };
    let params_sha = hash::params_sha256(&canonical);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "wasm_sha256": hex::encode(wasm_sha),
                "params_sha256": hex::encode(params_sha),
                "params": canonical,
            })
        );
    } else {
        println!("wasm_sha256   {}", hex::encode(wasm_sha));
        println!("params_sha256 {}", hex::encode(params_sha));
        println!("params        {canonical}");
    }
    Ok(ExitCode::SUCCESS)
}

fn inspect(wasm: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let bytes = read(wasm)?;
    let report = inspect_bytes(&bytes).with_context(|| format!("inspecting {}", wasm.display()))?;
    let violations = report.violations(Profile::Policy);
    let is_policy = report.kind == Some(Profile::Policy);
    let info = if is_policy && violations.is_empty() {
        let engine = PolicyEngine::new(PolicyEngineOptions::default())?;
        let policy = engine
            .load(&bytes)
            .with_context(|| format!("loading {}", wasm.display()))?;
        Some(policy.info().context("calling the policy's info")?.value)
    } else {
        None
    };
    let params_sha = info.as_ref().and_then(|i| {
        hash::canonicalize_json(&i.default_params)
            .ok()
            .map(|c| hex::encode(hash::params_sha256(&c)))
    });
    let accepted = is_policy && violations.is_empty();
    let sha = report.sha256.map(|p| p.to_string()).unwrap_or_default();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "file": wasm.display().to_string(),
                "sha256": sha,
                "kind": report.kind.map(Profile::name).unwrap_or("unknown"),
                "name": info.as_ref().map(|i| i.name.clone()),
                "version": info.as_ref().map(|i| i.version.clone()),
                "default_params": info.as_ref().map(|i| i.default_params.clone()),
                "params_sha256": params_sha,
                "imports": report.imports,
                "exports": report.exports,
                "forbidden_imports": violations,
                "accepted": accepted,
            })
        );
    } else {
        println!("file           {}", wasm.display());
        println!("sha256         {sha}");
        println!(
            "kind           {}",
            report.kind.map(Profile::name).unwrap_or("unknown")
        );
        if let Some(i) = &info {
            println!("name           {}", i.name);
            println!("version        {}", i.version);
            println!("default params {}", i.default_params);
            if let Some(p) = &params_sha {
                println!("params_sha256  {p}");
            }
        }
        println!("exports        {}", report.exports.join(", "));
        if report.imports.is_empty() {
            println!("imports        none (ok: a policy must import nothing)");
        } else {
            println!("imports        {}", report.imports.join(", "));
        }
        if !violations.is_empty() {
            println!(
                "REFUSED: a policy must import nothing; it imports {}",
                violations.join(", ")
            );
        } else if !is_policy {
            println!("REFUSED: not a resi:policy component");
        } else {
            println!("accepted as a policy");
        }
    }
    Ok(if accepted {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
