//! `scraper.toml` files for built guest components, serialised from the real manifest type
//! ([`ScraperManifest::to_toml`]), so a test's manifest is always one the host parses.

use resi_scraper::manifest::{LimitsSection, NetworkSection, ScraperManifest};
use sha2::Digest as _;
use std::path::{Path, PathBuf};

/// A `scraper.toml` being built for the built guest component [`ScraperToml::guest`] names.
#[derive(Debug, Clone)]
pub struct ScraperToml {
    /// The manifest written (its `sha256` is filled in from the component unless set).
    pub manifest: ScraperManifest,
    guest: String,
}

impl ScraperToml {
    /// A manifest named `name` for the built component `guest` (e.g. `example-scraper`), copied
    /// next to the manifest as `<guest>.wasm`; the host's defaults otherwise (no network).
    pub fn guest(guest: &str, name: &str) -> Self {
        ScraperToml {
            manifest: ScraperManifest {
                name: name.into(),
                version: "0.1.0".into(),
                wasm: format!("{guest}.wasm").into(),
                sha256: String::new(),
                network: NetworkSection::default(),
                limits: LimitsSection::default(),
                config: Default::default(),
                secrets: Default::default(),
                dir: PathBuf::new(),
            },
            guest: guest.into(),
        }
    }

    /// The market scraper (`market-scraper`, name `market`) allowlisting only `base_url`, which
    /// is also its `base_url` config; 1000 requests per second (burst 1000), 120 s, 5000
    /// listings.
    pub fn market(base_url: &str) -> Self {
        let mut t = Self::guest("market-scraper", "market")
            .config("base_url", base_url)
            .timeout_s(120);
        t.manifest.network.allow = vec![base_url.into()];
        t.manifest.network.requests_per_second = 1000.0;
        t.manifest.network.burst = 1000;
        t.manifest.limits.max_listings = 5000;
        t
    }

    /// Adds the `[config]` value `key = value`.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.manifest.config.insert(key.into(), value.into());
        self
    }

    /// Sets `limits.timeout_s`.
    pub fn timeout_s(mut self, secs: u64) -> Self {
        self.manifest.limits.timeout_s = secs;
        self
    }

    /// Names the component's copy next to the manifest `file` instead of `<guest>.wasm`.
    pub fn wasm_file(mut self, file: &str) -> Self {
        self.manifest.wasm = file.into();
        self
    }

    /// Pins `sha256` instead of the component's own hash (e.g. a wrong pin).
    pub fn sha256(mut self, hex: &str) -> Self {
        self.manifest.sha256 = hex.into();
        self
    }

    /// Writes `dir/scraper.toml` and the component's copy; returns the manifest's path.
    pub fn write(self, dir: &Path) -> PathBuf {
        self.write_as(dir, "scraper.toml")
    }

    /// Writes the manifest as `dir/file` and the component's copy; returns the manifest's path.
    pub fn write_as(mut self, dir: &Path, file: &str) -> PathBuf {
        let bytes = crate::paths::guest(&self.guest);
        if self.manifest.sha256.is_empty() {
            self.manifest.sha256 = hex::encode(sha2::Sha256::digest(&bytes));
        }
        let wasm = dir.join(&self.manifest.wasm);
        std::fs::write(&wasm, &bytes).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
        let path = dir.join(file);
        let text = self.manifest.to_toml().expect("manifest to TOML");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }
}
