//! Released policies and their test vectors.
//!
//! A release lives in `policies/<name>/<version>/`: `policy.wasm`, `policy.toml`
//! ([`ReleaseManifest`]) and `vectors/*.json` ([`Vector`]: an [`EpochInput`] and its
//! [`Expected`] outcome). [`run_vectors`] runs every vector through a policy and reports
//! pass/fail with a diff, fuel and time per vector (what `resi policy test` prints).

use crate::backend::{Backend, WasmBackend};
use crate::error::{InputError, RunError};
use crate::hash::{self, Digest32};
use crate::input::EpochInput;
use crate::runner::{RecordedObserver, resolve_params, run_epoch};
use resi_sandbox::SandboxError;
use resi_sandbox::policy::{PolicyEngine, PolicyEngineOptions};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// File name of a release's manifest.
pub const MANIFEST_FILE: &str = "policy.toml";

/// `policy.toml` of a released policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseManifest {
    /// Policy name.
    pub name: String,
    /// Policy version.
    pub version: String,
    /// WIT world the component implements.
    pub world: String,
    /// Component file name beside the manifest.
    pub wasm: String,
    /// Lowercase hex sha256 of the component.
    pub wasm_sha256: String,
    /// Default params as canonical JSON.
    pub default_params: String,
    /// Lowercase hex sha256 of `default_params`.
    pub params_sha256: String,
    /// Source of the component in the repository.
    pub source: String,
    /// Command that rebuilds the component reproducibly.
    pub rebuild: String,
}

fn parse_digest(field: &str, s: &str) -> Result<Digest32, InputError> {
    let bytes = hex::decode(s).map_err(|e| InputError::Manifest(format!("{field}: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| InputError::Manifest(format!("{field}: not 32 bytes")))
}

fn read(path: &Path) -> Result<Vec<u8>, InputError> {
    std::fs::read(path).map_err(|e| InputError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

impl ReleaseManifest {
    /// Parses `policy.toml` text and checks that `params_sha256` matches `default_params` and
    /// that `default_params` is canonical.
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let m: ReleaseManifest =
            toml::from_str(text).map_err(|e| InputError::Manifest(e.to_string()))?;
        let canonical = hash::canonicalize_json(&m.default_params)?;
        if canonical != m.default_params {
            return Err(InputError::Manifest(
                "default_params is not canonical JSON".into(),
            ));
        }
        let want = parse_digest("params_sha256", &m.params_sha256)?;
        if hash::params_sha256(&canonical) != want {
            return Err(InputError::Manifest(format!(
                "params_sha256 {} does not match default_params (sha256 {})",
                m.params_sha256,
                hex::encode(hash::params_sha256(&canonical))
            )));
        }
        parse_digest("wasm_sha256", &m.wasm_sha256)?;
        Ok(m)
    }

    /// The pinned component sha256.
    pub fn wasm_pin(&self) -> Result<Digest32, InputError> {
        parse_digest("wasm_sha256", &self.wasm_sha256)
    }
}

/// A release read from disk with its component verified against the manifest's pin.
#[derive(Debug, Clone)]
pub struct Release {
    /// The release directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: ReleaseManifest,
    /// Component bytes (sha256 = `manifest.wasm_sha256`).
    pub wasm: Vec<u8>,
}

impl Release {
    /// Reads `dir/policy.toml` and the component it names; fails if the component's sha256
    /// differs from the pin, naming both hashes.
    pub fn load(dir: &Path) -> Result<Self, InputError> {
        let text = read(&dir.join(MANIFEST_FILE))?;
        let text = String::from_utf8(text).map_err(|e| InputError::Manifest(e.to_string()))?;
        let manifest = ReleaseManifest::parse(&text)?;
        let wasm = read(&dir.join(&manifest.wasm))?;
        Self::from_parts(dir, &text, wasm)
    }

    /// A release from its `policy.toml` text and component bytes (e.g. compiled into a
    /// binary); `dir` names it. Fails if the component's sha256 differs from the pin.
    pub fn from_parts(dir: &Path, manifest_text: &str, wasm: Vec<u8>) -> Result<Self, InputError> {
        let manifest = ReleaseManifest::parse(manifest_text)?;
        let got = hash::sha256(&wasm);
        if got != manifest.wasm_pin()? {
            return Err(InputError::Manifest(format!(
                "{} has sha256 {} but policy.toml pins {}",
                manifest.wasm,
                hex::encode(got),
                manifest.wasm_sha256
            )));
        }
        Ok(Release {
            dir: dir.to_path_buf(),
            manifest,
            wasm,
        })
    }

    /// The release's vectors directory.
    pub fn vectors_dir(&self) -> PathBuf {
        self.dir.join("vectors")
    }
}

/// What a vector expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// The canonical outcome JSON, byte for byte.
    pub canonical_outcome: String,
    /// Hex `outcome_hash` (depends on the component's sha256).
    pub outcome_hash: String,
    /// Hex `input_hash`.
    pub input_hash: String,
    /// Hex `params_sha256`.
    pub params_sha256: String,
}

/// A test vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// What the vector covers and why the expected outcome is what it is.
    pub description: String,
    /// The epoch input.
    pub input: EpochInput,
    /// The expected outcome.
    pub expected: Expected,
}

/// Result of one vector.
#[derive(Debug, Clone)]
pub struct VectorResult {
    /// File stem of the vector.
    pub name: String,
    /// True when the canonical outcome and every hash match.
    pub passed: bool,
    /// What did not match (`canonical_outcome`, `outcome_hash`, ...), or the run error.
    pub failures: Vec<String>,
    /// First difference between expected and actual canonical outcome, when they differ.
    pub diff: Option<String>,
    /// Fuel over all calls (0 for a native backend).
    pub fuel: u64,
    /// Wall time of the policy calls.
    pub elapsed: Duration,
    /// Highest peak memory of any call, bytes (0 for a native backend).
    pub peak_memory: usize,
    /// The actual canonical outcome (when the run succeeded).
    pub actual_outcome: Option<String>,
    /// The actual hex `outcome_hash`, `input_hash` and `params_sha256` (when the run
    /// succeeded).
    pub actual_hashes: Option<ActualHashes>,
}

/// The hashes a vector run produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActualHashes {
    /// Hex `outcome_hash`.
    pub outcome_hash: String,
    /// Hex `input_hash`.
    pub input_hash: String,
    /// Hex `params_sha256`.
    pub params_sha256: String,
}

/// Result of a vector run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Hex sha256 of the policy run.
    pub policy_sha256: String,
    /// One entry per vector, sorted by name.
    pub results: Vec<VectorResult>,
}

impl Report {
    /// True when every vector passed (and there was at least one).
    pub fn passed(&self) -> bool {
        !self.results.is_empty() && self.results.iter().all(|r| r.passed)
    }
    /// Number of failed vectors.
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| !r.passed).count()
    }
}

/// Why vectors could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// The vectors could not be read or parsed.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The policy component could not be loaded.
    #[error("loading the policy component")]
    Load(#[from] SandboxError),
}

/// Reads every `*.json` vector in `dir`, sorted by file name.
pub fn load_vectors(dir: &Path) -> Result<Vec<(String, Vector)>, InputError> {
    let entries = std::fs::read_dir(dir).map_err(|e| InputError::Io {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let bytes = read(&p)?;
            let v: Vector = serde_json::from_slice(&bytes)
                .map_err(|e| InputError::Json(format!("{}: {e}", p.display())))?;
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((name, v))
        })
        .collect()
}

/// Where two strings first differ, with some context of each.
pub fn first_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let at = expected
        .bytes()
        .zip(actual.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let window = |s: &str| {
        let mut lo = at.saturating_sub(60);
        while !s.is_char_boundary(lo) {
            lo -= 1;
        }
        let mut hi = (at + 60).min(s.len());
        while !s.is_char_boundary(hi) {
            hi += 1;
        }
        s.get(lo..hi).unwrap_or("").to_string()
    };
    Some(format!(
        "first difference at byte {at}:\n  expected: ...{}...\n  actual:   ...{}...",
        window(expected),
        window(actual)
    ))
}

/// Runs one vector through `backend` with recorded observations.
pub fn run_vector<B: Backend + ?Sized>(backend: &B, name: &str, vector: &Vector) -> VectorResult {
    let mut result = VectorResult {
        name: name.to_string(),
        passed: false,
        failures: Vec::new(),
        diff: None,
        fuel: 0,
        elapsed: Duration::ZERO,
        peak_memory: 0,
        actual_outcome: None,
        actual_hashes: None,
    };
    let run = || -> Result<_, RunError> {
        let (run, records) = vector.input.to_run()?;
        let params = resolve_params(backend, vector.input.params.as_ref())?;
        run_epoch(backend, &params, &run, &mut RecordedObserver::new(records))
    };
    match run() {
        Err(e) => result
            .failures
            .push(format!("run failed: {}", crate::error::chain(&e))),
        Ok(report) => {
            result.fuel = report.total_fuel();
            result.elapsed = report.total_time();
            result.peak_memory = report.peak_memory();
            let e = &vector.expected;
            if report.canonical_outcome() != e.canonical_outcome {
                result.failures.push("canonical_outcome".into());
                result.diff = first_difference(&e.canonical_outcome, report.canonical_outcome());
            }
            for (field, want, got) in [
                ("outcome_hash", &e.outcome_hash, report.outcome_hash),
                ("input_hash", &e.input_hash, report.input_hash),
                ("params_sha256", &e.params_sha256, report.params_sha256),
            ] {
                if *want != hex::encode(got) {
                    result.failures.push(format!(
                        "{field}: expected {want}, got {}",
                        hex::encode(got)
                    ));
                }
            }
            result.actual_hashes = Some(ActualHashes {
                outcome_hash: hex::encode(report.outcome_hash),
                input_hash: hex::encode(report.input_hash),
                params_sha256: hex::encode(report.params_sha256),
            });
            result.actual_outcome = Some(report.outcome.canonical_json);
            result.passed = result.failures.is_empty();
        }
    }
    result
}

/// Runs every vector of `vectors_dir` through `backend`.
pub fn run_vectors_with<B: Backend + ?Sized>(
    backend: &B,
    vectors_dir: &Path,
) -> Result<Report, VectorError> {
    let vectors = load_vectors(vectors_dir)?;
    Ok(Report {
        policy_sha256: hex::encode(backend.policy_sha256()),
        results: vectors
            .iter()
            .map(|(name, v)| run_vector(backend, name, v))
            .collect(),
    })
}

/// Runs every vector of `vectors_dir` through the policy component `policy_wasm` in the
/// deterministic sandbox (default engine options).
pub fn run_vectors(policy_wasm: &[u8], vectors_dir: &Path) -> Result<Report, VectorError> {
    let engine = PolicyEngine::new(PolicyEngineOptions::default())?;
    let backend = WasmBackend::new(engine.load(policy_wasm)?);
    run_vectors_with(&backend, vectors_dir)
}
