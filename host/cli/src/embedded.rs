//! Components compiled into the `resi` binary, so it works from any directory without a
//! checkout: the released scoring policies (`policies/<name>/<version>/`) and the devnet's
//! market scraper. Each is selected by name or by its pinned sha256 and checked against that
//! pin when loaded; a path on the command line still overrides them.

use anyhow::{Context, bail};
use resi_policy::vectors::Release;
use std::path::{Path, PathBuf};

/// A released policy compiled in.
struct EmbeddedRelease {
    /// `name/version`, as under `policies/`.
    id: &'static str,
    /// Its `policy.toml`.
    manifest: &'static str,
    /// Its `policy.wasm`.
    wasm: &'static [u8],
}

/// Every released policy in `policies/`.
const RELEASES: &[EmbeddedRelease] = &[
    EmbeddedRelease {
        id: "zipcode-competitive/1.0.0",
        manifest: include_str!("../../../policies/zipcode-competitive/1.0.0/policy.toml"),
        wasm: include_bytes!("../../../policies/zipcode-competitive/1.0.0/policy.wasm"),
    },
    EmbeddedRelease {
        id: "zipcode-competitive/1.1.0",
        manifest: include_str!("../../../policies/zipcode-competitive/1.1.0/policy.toml"),
        wasm: include_bytes!("../../../policies/zipcode-competitive/1.1.0/policy.wasm"),
    },
];

/// The default `--policy`: the released zipcode-competitive 1.0.0.
pub const DEFAULT_POLICY: &str = "zipcode-competitive/1.0.0";

/// The market scraper component (`guests/scrapers/market/release/`, pinned by its
/// `scraper.toml`).
pub const MARKET_SCRAPER: &[u8] =
    include_bytes!("../../../guests/scrapers/market/release/market-scraper.wasm");

/// The released real-source scrapers: (source, component, its `scraper.toml`).
const SOURCE_SCRAPERS: &[(resi_market::mimic::Source, &[u8], &str)] = &[
    (
        resi_market::mimic::Source::ZillowRapidApi,
        include_bytes!(
            "../../../guests/scrapers/zillow-rapidapi/release/zillow-rapidapi-scraper.wasm"
        ),
        include_str!("../../../guests/scrapers/zillow-rapidapi/scraper.toml"),
    ),
    (
        resi_market::mimic::Source::Redfin,
        include_bytes!("../../../guests/scrapers/redfin/release/redfin-scraper.wasm"),
        include_str!("../../../guests/scrapers/redfin/scraper.toml"),
    ),
];

/// The released scraper of `source`, compiled in (its manifest pins its sha256).
pub fn source_scraper(source: resi_market::mimic::Source) -> resi_devnet::SourceScraper {
    let (_, wasm, manifest) = SOURCE_SCRAPERS
        .iter()
        .find(|(s, _, _)| *s == source)
        .copied()
        .unwrap_or(SOURCE_SCRAPERS[0]);
    resi_devnet::SourceScraper {
        source,
        wasm: wasm.to_vec(),
        manifest: manifest.to_owned(),
    }
}

/// Resolves `--policy`: a release directory (`policy.toml` + `policy.wasm`) when `spec` is one,
/// else a compiled-in release named `name/version` or `sha256:<wasm sha256>`.
pub fn release(spec: &str) -> anyhow::Result<Release> {
    let path = Path::new(spec);
    if path.is_dir() {
        return Release::load(path).with_context(|| format!("--policy {spec}"));
    }
    let wanted = spec.strip_prefix("sha256:");
    for r in RELEASES {
        let manifest = resi_policy::vectors::ReleaseManifest::parse(r.manifest)
            .with_context(|| format!("compiled-in release {}", r.id))?;
        let hit = match wanted {
            Some(sha) => sha.eq_ignore_ascii_case(&manifest.wasm_sha256),
            None => spec.trim_start_matches("policies/").trim_end_matches('/') == r.id,
        };
        if hit {
            return Release::from_parts(
                &PathBuf::from(format!("policies/{}", r.id)),
                r.manifest,
                r.wasm.to_vec(),
            )
            .with_context(|| format!("compiled-in release {}", r.id));
        }
    }
    let known: Vec<&str> = RELEASES.iter().map(|r| r.id).collect();
    bail!(
        "--policy {spec}: not a release directory and not a compiled-in release (known: {})",
        known.join(", ")
    )
}

/// The market scraper's bytes: `guests/market-scraper.wasm` when `guests` is given, else the
/// compiled-in component.
pub fn market_scraper(guests: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    match guests {
        Some(dir) => {
            let path = dir.join("market-scraper.wasm");
            std::fs::read(&path).with_context(|| format!("--guests: reading {}", path.display()))
        }
        None => Ok(MARKET_SCRAPER.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn compiled_in_components_match_their_pins() {
        let r = super::release(super::DEFAULT_POLICY).expect("default policy");
        let by_sha = super::release(&format!("sha256:{}", r.manifest.wasm_sha256)).expect("by sha");
        assert_eq!(by_sha.wasm, r.wasm);
        assert!(super::release("nope/0.0.0").is_err());
        let toml = include_str!("../../../guests/scrapers/market/scraper.toml");
        let sha = hex::encode(resi_policy::hash::sha256(super::MARKET_SCRAPER));
        assert!(
            toml.contains(&sha),
            "scraper.toml does not pin the compiled-in scraper {sha}"
        );
        for (source, wasm, toml) in super::SOURCE_SCRAPERS {
            let sha = hex::encode(resi_policy::hash::sha256(wasm));
            assert!(
                toml.contains(&sha),
                "the {source} scraper.toml does not pin its compiled-in component {sha}"
            );
            assert_eq!(super::source_scraper(*source).source, *source);
        }
    }
}
