//! Scraper manifests (`scraper.toml`).
//!
//! ```toml
//! name = "market"
//! version = "0.1.0"
//! wasm = "market-scraper.wasm"          # relative to this file
//! sha256 = "9f86d0..."                   # the wasm must hash to this
//!
//! [network]
//! allow = ["http://127.0.0.1:8787"]     # scheme://host:port; empty = no network
//! requests_per_second = 20               # per host
//! burst = 20
//! max_wait_ms = 2000                     # wait this long for a token, else rate-limited
//! connect_timeout_ms = 3000
//! request_timeout_ms = 15000
//! max_response_bytes = 8388608
//! # proxy = "http://proxy.internal:3128"
//!
//! [limits]
//! memory_mb = 256
//! timeout_s = 600
//! max_listings = 5000                    # per scrape; more aborts the scraper
//!
//! [config]                               # handed to the scraper as key/value pairs
//! base_url = "http://127.0.0.1:8787"
//!
//! [secrets]                              # values come from env RESI_SECRET_<NAME>
//! names = ["API_KEY"]
//! ```

use resi_sandbox::Sha256Pin;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("reading {path}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("parsing {path}: {message}")]
    Parse {
        /// The path.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("{path}: {message}")]
    Invalid {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The wasm does not match the pinned sha256.
    #[error("{path}: the wasm does not match the manifest's sha256")]
    Pin {
        /// The manifest path.
        path: PathBuf,
        /// The mismatch.
        source: resi_sandbox::SandboxError,
    },
    /// A declared secret has no value in the environment.
    #[error("secret {name} is declared by the manifest but RESI_SECRET_{name} is not set")]
    MissingSecret {
        /// The secret name.
        name: String,
    },
}

/// `[network]`: what the scraper may reach and how fast.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// Allowlist entries `scheme://host:port` (port optional: 80/443 by scheme).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Sustained requests per second per host.
    #[serde(default = "defaults::rps")]
    pub requests_per_second: f64,
    /// Burst size per host.
    #[serde(default = "defaults::burst")]
    pub burst: u32,
    /// Longest the gate waits for a rate-limit token before answering `rate-limited`.
    #[serde(default = "defaults::max_wait_ms")]
    pub max_wait_ms: u64,
    /// TCP/TLS connect timeout.
    #[serde(default = "defaults::connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Whole-request timeout (headers and body).
    #[serde(default = "defaults::request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Response bodies larger than this are refused.
    #[serde(default = "defaults::max_response_bytes")]
    pub max_response_bytes: u64,
    /// Optional HTTP(S) proxy for every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            allow: Vec::new(),
            requests_per_second: defaults::rps(),
            burst: defaults::burst(),
            max_wait_ms: defaults::max_wait_ms(),
            connect_timeout_ms: defaults::connect_timeout_ms(),
            request_timeout_ms: defaults::request_timeout_ms(),
            max_response_bytes: defaults::max_response_bytes(),
            proxy: None,
        }
    }
}

/// `[limits]`: sandbox limits of a scrape.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Memory limit in MiB.
    #[serde(default = "defaults::memory_mb")]
    pub memory_mb: u32,
    /// Wall-clock limit of one scrape, seconds.
    #[serde(default = "defaults::timeout_s")]
    pub timeout_s: u64,
    /// Most listings one scrape may emit.
    #[serde(default = "defaults::max_listings")]
    pub max_listings: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            memory_mb: defaults::memory_mb(),
            timeout_s: defaults::timeout_s(),
            max_listings: defaults::max_listings(),
        }
    }
}

/// `[secrets]`: names of secrets injected into request headers.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecretsSection {
    /// Secret names; values come from `RESI_SECRET_<NAME>`.
    #[serde(default)]
    pub names: Vec<String>,
}

mod defaults {
    pub fn rps() -> f64 {
        10.0
    }
    pub fn burst() -> u32 {
        10
    }
    pub fn max_wait_ms() -> u64 {
        2_000
    }
    pub fn connect_timeout_ms() -> u64 {
        5_000
    }
    pub fn request_timeout_ms() -> u64 {
        20_000
    }
    pub fn max_response_bytes() -> u64 {
        8 << 20
    }
    pub fn memory_mb() -> u32 {
        256
    }
    pub fn timeout_s() -> u64 {
        600
    }
    pub fn max_listings() -> u64 {
        5_000
    }
}

/// A parsed `scraper.toml`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScraperManifest {
    /// Scraper name.
    pub name: String,
    /// Scraper version.
    pub version: String,
    /// Path of the component, relative to the manifest.
    pub wasm: PathBuf,
    /// Pinned sha256 of the component (hex).
    pub sha256: String,
    /// Network rules.
    #[serde(default)]
    pub network: NetworkSection,
    /// Sandbox limits.
    #[serde(default)]
    pub limits: LimitsSection,
    /// Config values passed to the scraper.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Secret names.
    #[serde(default)]
    pub secrets: SecretsSection,
    /// Directory of the manifest file (set by [`ScraperManifest::load`]).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// A manifest with its verified component bytes and resolved secrets.
#[derive(Debug, Clone)]
pub struct LoadedScraper {
    /// The manifest.
    pub manifest: ScraperManifest,
    /// Component bytes (hash checked).
    pub wasm: Vec<u8>,
    /// The pin.
    pub pin: Sha256Pin,
    /// Secret values by name (never logged).
    pub secrets: BTreeMap<String, String>,
    /// The operator's routing of its connections (empty unless `--resolve`/`--ca-cert`).
    pub routing: crate::gate::Routing,
}

impl LoadedScraper {
    /// The same scraper with the operator's `routing`.
    pub fn with_routing(mut self, routing: crate::gate::Routing) -> Self {
        self.routing = routing;
        self
    }

    /// The one way to make a scraper of this manifest: the component compiled on `engine`
    /// under its sha256 pin, with the manifest's sandbox limits (memory, time) applied.
    pub fn instantiate<H: resi_sandbox::scraper::ScraperHost>(
        &self,
        engine: &resi_sandbox::scraper::ScraperEngine<H>,
    ) -> Result<resi_sandbox::scraper::Scraper<H>, resi_sandbox::SandboxError> {
        Ok(engine
            .load_pinned(&self.wasm, &self.pin)?
            .with_limits(self.manifest.sandbox_limits(engine.limits())))
    }
}

impl ScraperManifest {
    /// Parses manifest text; `path` is used in messages and to resolve `wasm`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ManifestError> {
        let mut manifest: ScraperManifest =
            toml::from_str(text).map_err(|e| ManifestError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        manifest.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        manifest.check(path)?;
        Ok(manifest)
    }

    fn check(&self, path: &Path) -> Result<(), ManifestError> {
        let invalid = |message: String| ManifestError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if self.sha256.parse::<Sha256Pin>().is_err() {
            return Err(invalid(format!(
                "sha256 {:?} is not 64 hex characters",
                self.sha256
            )));
        }
        for entry in &self.network.allow {
            crate::gate::AllowEntry::parse(entry).map_err(|e| invalid(e.to_string()))?;
        }
        let n = &self.network;
        if !(n.requests_per_second > 0.0 && n.requests_per_second.is_finite()) || n.burst == 0 {
            return Err(invalid(
                "network.requests_per_second and burst must be positive".into(),
            ));
        }
        if self.limits.memory_mb == 0 || self.limits.memory_mb > 4096 {
            return Err(invalid("limits.memory_mb must be in 1..=4096".into()));
        }
        if self.limits.timeout_s == 0 {
            return Err(invalid("limits.timeout_s must be positive".into()));
        }
        for name in &self.secrets.names {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(invalid(format!(
                    "secret name {name:?} must be [A-Za-z0-9_]+"
                )));
            }
        }
        Ok(())
    }

    /// Reads and parses a manifest file.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Reads a manifest, its component (checking the pin) and its secrets from the environment
    /// (`RESI_SECRET_<NAME>`).
    pub fn load(path: &Path) -> Result<LoadedScraper, ManifestError> {
        Self::load_with_secrets(path, |name| {
            std::env::var(format!("RESI_SECRET_{name}")).ok()
        })
    }

    /// [`ScraperManifest::load`] with the secrets' values from `secret` (by name) instead of the
    /// environment.
    pub fn load_with_secrets(
        path: &Path,
        secret: impl Fn(&str) -> Option<String>,
    ) -> Result<LoadedScraper, ManifestError> {
        let manifest = Self::read(path)?;
        let wasm_path = manifest.dir.join(&manifest.wasm);
        let wasm = std::fs::read(&wasm_path).map_err(|source| ManifestError::Read {
            path: wasm_path.clone(),
            source,
        })?;
        let pin: Sha256Pin =
            manifest
                .sha256
                .parse()
                .map_err(
                    |e: resi_sandbox::pin::ParsePinError| ManifestError::Invalid {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    },
                )?;
        pin.verify(&wasm).map_err(|source| ManifestError::Pin {
            path: path.to_path_buf(),
            source,
        })?;
        let mut secrets = BTreeMap::new();
        for name in &manifest.secrets.names {
            let value =
                secret(name).ok_or_else(|| ManifestError::MissingSecret { name: name.clone() })?;
            secrets.insert(name.clone(), value);
        }
        Ok(LoadedScraper {
            manifest,
            wasm,
            pin,
            secrets,
            routing: Default::default(),
        })
    }

    /// The manifest as `scraper.toml` text, which [`ScraperManifest::parse`] reads back to an
    /// equal manifest (`dir` is where the file is, not part of it).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// Config values as the key/value list the scraper receives.
    pub fn config_pairs(&self) -> Vec<(String, String)> {
        self.config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The sandbox limits this manifest asks for, on top of an engine's defaults.
    pub fn sandbox_limits(
        &self,
        base: resi_sandbox::limits::Limits,
    ) -> resi_sandbox::limits::Limits {
        resi_sandbox::limits::Limits {
            memory_bytes: (self.limits.memory_mb as usize) << 20,
            timeout: Some(std::time::Duration::from_secs(self.limits.timeout_s)),
            ..base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "market"
version = "0.1.0"
wasm = "market.wasm"
sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
[network]
allow = ["http://127.0.0.1:8787", "https://www.zillow.com"]
[config]
base_url = "http://127.0.0.1:8787"
"#;

    #[test]
    fn parses_with_defaults() {
        let m = ScraperManifest::parse(GOOD, Path::new("/x/scraper.toml")).unwrap();
        assert_eq!(m.dir, Path::new("/x"));
        assert_eq!(m.network.allow.len(), 2);
        assert_eq!(m.limits.memory_mb, 256);
        assert_eq!(
            m.config_pairs(),
            vec![("base_url".into(), "http://127.0.0.1:8787".into())]
        );
    }

    #[test]
    fn rejects_unknown_keys_bad_pins_and_bad_entries() {
        let unknown = format!("{GOOD}\nsurprise = 1\n");
        let e = ScraperManifest::parse(&unknown, Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("surprise"), "{e}");
        let bad_pin = GOOD.replace("ba7816bf", "zz");
        let e = ScraperManifest::parse(&bad_pin, Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("sha256"), "{e}");
        let bad_entry = GOOD.replace("http://127.0.0.1:8787\", \"https", "ftp://x\", \"https");
        let e = ScraperManifest::parse(&bad_entry, Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ftp"), "{e}");
    }

    #[test]
    fn to_toml_parses_back_to_the_same_manifest() {
        let path = Path::new("/x/scraper.toml");
        let mut every_field = ScraperManifest::parse(GOOD, path).unwrap();
        every_field.network.requests_per_second = 2.5;
        every_field.network.proxy = Some("http://proxy.internal:3128".into());
        every_field.limits.timeout_s = 120;
        every_field.config.insert("page_size".into(), "8".into());
        every_field.secrets.names = vec!["API_KEY".into()];
        for m in [ScraperManifest::parse(GOOD, path).unwrap(), every_field] {
            let text = m.to_toml().unwrap();
            assert_eq!(ScraperManifest::parse(&text, path).unwrap(), m, "{text}");
        }
    }
}
