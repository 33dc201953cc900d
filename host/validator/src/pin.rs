//! The policy a validator pins: component sha256 and params sha256, from a release's
//! `policy.toml` or explicit values. Anything else is refused at start-up, naming both hashes.

use crate::error::ValidatorError;
use resi_policy::hash;
use resi_policy::vectors::Release;
use resi_policy::{Backend, WasmBackend};
use resi_sandbox::policy::{PolicyEngine, PolicyEngineOptions};
use std::path::Path;

/// A pinned, loaded policy ready to run.
#[derive(Clone)]
pub struct PolicyPin {
    /// Policy name (from `info`).
    pub name: String,
    /// Policy version (from `info`).
    pub version: String,
    /// Pinned component sha256.
    pub wasm_sha256: [u8; 32],
    /// Pinned params sha256.
    pub params_sha256: [u8; 32],
    /// Canonical params JSON (hashes to `params_sha256`).
    pub params: String,
    /// The loaded component.
    pub backend: WasmBackend,
}

impl std::fmt::Debug for PolicyPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyPin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("wasm_sha256", &hex::encode(self.wasm_sha256))
            .field("params_sha256", &hex::encode(self.params_sha256))
            .finish()
    }
}

fn parse_hex32(what: &str, s: &str) -> Result<[u8; 32], ValidatorError> {
    hex::decode(s.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ValidatorError::Other(format!("{what} {s:?} is not a 32-byte hex sha256")))
}

impl PolicyPin {
    /// Loads `wasm` and checks it against the pins; `params` = canonical JSON text or `None` for
    /// the policy's defaults. Refuses a component or params whose sha256 is not the pinned one.
    pub fn load(
        wasm: &[u8],
        params: Option<&str>,
        wasm_pin_hex: &str,
        params_pin_hex: &str,
    ) -> Result<Self, ValidatorError> {
        let wasm_pin = parse_hex32("pinned wasm sha256", wasm_pin_hex)?;
        let params_pin = parse_hex32("pinned params sha256", params_pin_hex)?;
        let actual = hash::sha256(wasm);
        if actual != wasm_pin {
            return Err(ValidatorError::PinMismatch {
                what: "policy wasm",
                actual: hex::encode(actual),
                pinned: hex::encode(wasm_pin),
            });
        }
        let engine = PolicyEngine::new(PolicyEngineOptions::default())?;
        let backend = WasmBackend::new(engine.load(wasm)?);
        let info = backend
            .info()
            .map_err(|e| ValidatorError::Other(format!("policy info: {e}")))?
            .value;
        let params = match params {
            Some(p) => hash::canonicalize_json(p),
            None => hash::canonicalize_json(&info.default_params),
        }
        .map_err(|e| ValidatorError::Other(format!("policy params: {e}")))?;
        let params_sha = hash::params_sha256(&params);
        if params_sha != params_pin {
            return Err(ValidatorError::PinMismatch {
                what: "policy params",
                actual: hex::encode(params_sha),
                pinned: hex::encode(params_pin),
            });
        }
        Ok(PolicyPin {
            name: info.name,
            version: info.version,
            wasm_sha256: wasm_pin,
            params_sha256: params_pin,
            params,
            backend,
        })
    }

    /// The policy's grace after the submission deadline (its `grace_ms` param; zero when it
    /// has none). Submissions count until then, so validators list the store only after it.
    pub fn grace(&self) -> std::time::Duration {
        serde_json::from_str::<serde_json::Value>(&self.params)
            .ok()
            .and_then(|v| v.get("grace_ms").and_then(|g| g.as_u64()))
            .map(std::time::Duration::from_millis)
            .unwrap_or_default()
    }

    /// Loads a release directory (`policies/<name>/<version>/`): its component and default
    /// params, pinned by its `policy.toml`.
    pub fn from_release(dir: &Path) -> Result<Self, ValidatorError> {
        let r = Release::load(dir).map_err(|e| ValidatorError::Other(e.to_string()))?;
        Self::from_loaded(&r)
    }

    /// Pins a release already loaded (from a directory or compiled into the binary) with its
    /// default params.
    pub fn from_loaded(r: &Release) -> Result<Self, ValidatorError> {
        Self::load(
            &r.wasm,
            Some(&r.manifest.default_params),
            &r.manifest.wasm_sha256,
            &r.manifest.params_sha256,
        )
    }
}
