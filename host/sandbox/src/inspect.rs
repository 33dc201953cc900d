//! What a component is: its sha256, kind (policy or scraper), the WIT interfaces it imports and
//! exports, and whether a sandbox profile's import rules accept it.

use crate::{SandboxError, Sha256Pin};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The two sandbox profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Scoring policies: must import nothing.
    Policy,
    /// Scrapers and verifiers: WASI (inert: no filesystem, env or sockets) plus `resi:scraper`.
    Scraper,
}

/// WASI 0.2 interfaces a scraper may import. Filesystem and sockets are linked so that Rust's
/// standard library can start, but the context grants no preopened directory and no socket.
const SCRAPER_WASI: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/ip-name-lookup",
];

/// Host interfaces of resi a scraper may import (any 1.x version).
const SCRAPER_RESI: &[&str] = &[
    "resi:scraper/http@1.",
    "resi:scraper/host@1.",
    "resi:types/listing@1.",
];

/// Splits `ns:pkg/iface@ver` into (`ns:pkg/iface`, `ver`).
fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((base, ver)) => (base, Some(ver)),
        None => (name, None),
    }
}

impl Profile {
    /// Profile name as printed.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Policy => "policy",
            Profile::Scraper => "scraper",
        }
    }

    /// The imports of `imports` this profile refuses.
    pub fn forbidden_imports(self, imports: &[String]) -> Vec<String> {
        match self {
            Profile::Policy => imports.to_vec(),
            Profile::Scraper => imports
                .iter()
                .filter(|name| {
                    let (base, version) = split_version(name);
                    let wasi_ok = SCRAPER_WASI.contains(&base)
                        && version.is_some_and(|v| v.starts_with("0.2."));
                    let resi_ok = SCRAPER_RESI.iter().any(|p| name.starts_with(p));
                    !(wasi_ok || resi_ok)
                })
                .cloned()
                .collect(),
        }
    }
}

/// What `resi component inspect` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// sha256 of the bytes (unset by [`describe`], which has no bytes).
    pub sha256: Option<Sha256Pin>,
    /// Detected kind from the exports, if any.
    pub kind: Option<Profile>,
    /// Imported instance and function names, sorted.
    pub imports: Vec<String>,
    /// Exported instance and function names, sorted.
    pub exports: Vec<String>,
}

impl Report {
    /// Imports `profile` refuses (empty = accepted).
    pub fn violations(&self, profile: Profile) -> Vec<String> {
        profile.forbidden_imports(&self.imports)
    }
}

/// Describes a compiled component's imports and exports.
pub fn describe(engine: &Engine, component: &Component) -> Report {
    let ty = component.component_type();
    let mut imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let mut exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    imports.sort();
    exports.sort();
    let kind = if exports.iter().any(|e| e.starts_with("resi:policy/policy@")) {
        Some(Profile::Policy)
    } else if exports
        .iter()
        .any(|e| e.starts_with("resi:scraper/scraper@"))
    {
        Some(Profile::Scraper)
    } else {
        None
    };
    Report {
        sha256: None,
        kind,
        imports,
        exports,
    }
}

/// Compiles `bytes` with a plain engine and describes the component.
pub fn inspect_bytes(bytes: &[u8]) -> Result<Report, SandboxError> {
    let mut config = wasmtime::Config::new();
    crate::policy::set_wasm_features(&mut config);
    let engine = Engine::new(&config).map_err(|e| SandboxError::Engine(format!("{e:#}")))?;
    let component = Component::new(&engine, bytes)
        .map_err(|e| SandboxError::InvalidComponent(format!("{e:#}")))?;
    let mut report = describe(&engine, &component);
    report.sha256 = Some(Sha256Pin::of(bytes));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_every_import() {
        let imports = vec!["wasi:cli/environment@0.2.6".to_string()];
        assert_eq!(Profile::Policy.forbidden_imports(&imports), imports);
        assert!(Profile::Policy.forbidden_imports(&[]).is_empty());
    }

    #[test]
    fn scraper_accepts_wasi_and_resi_only() {
        let ok = vec![
            "wasi:cli/environment@0.2.6".to_string(),
            "resi:scraper/http@1.0.0".to_string(),
            "resi:scraper/host@1.2.0".to_string(),
        ];
        assert!(Profile::Scraper.forbidden_imports(&ok).is_empty());
        let bad = vec![
            "wasi:http/outgoing-handler@0.2.6".to_string(),
            "wasi:cli/environment@0.3.0".to_string(),
            "resi:scraper/http@2.0.0".to_string(),
            "evil:net/raw".to_string(),
        ];
        assert_eq!(Profile::Scraper.forbidden_imports(&bad), bad);
    }
}
