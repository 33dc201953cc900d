//! The devnet's adversarial miners. They speak the real protocol (a signed assignment request,
//! an upload grant from the coordinator, presigned POSTs of `listings.parquet` and a signed
//! `manifest.json` into their own folder) but cheat in what they upload or when:
//!
//! - the fabricator invents homes (ids the market never had) for every real zipcode, first;
//! - the duplicator uploads real homes, each one twice, to reach the expected count;
//! - the late miner uploads honest data after the deadline and its grace;
//! - the honeypot abuser is honest where homes exist and invents homes where the market holds
//!   none (PO BOX and UNIQUE zipcodes, which the coordinator slips in as honeypots).
//!
//! They read the market directly (in-process): how they got their data does not matter, only
//! what the validators can prove about it.

use crate::cast::{Member, Role};
use anyhow::Context;
use resi_client::{ApiClient, ClientConfig};
use resi_core::listing::Listing;
use resi_core::wire::{AssignmentResponse, PresignedPost};
use resi_market::Market;
use resi_submission::{ObjectKey, ScraperInfo, SubmissionFile, UnsignedManifest, write_listings};
use std::sync::Arc;
use std::time::Duration;

/// What an adversary uploaded in one epoch.
#[derive(Debug, Clone, Default)]
pub struct RogueResult {
    /// (zipcode, listings) uploaded.
    pub uploaded: Vec<(String, u64)>,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
}

/// One adversarial miner.
pub struct Rogue {
    member: Member,
    client: ApiClient,
    coldkey: String,
    market: Arc<Market>,
    scraper: ScraperInfo,
}

fn now_str() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A market home as an honest scraper reports it.
pub fn from_market(l: &resi_market::Listing, scraped_at: &str) -> Listing {
    Listing {
        zpid: Some(l.zpid.clone()),
        mls_id: l.mls_id.clone(),
        address: l.address.clone(),
        zipcode: l.zipcode.clone(),
        price: Some(l.price),
        bedrooms: l.bedrooms,
        bathrooms: l.bathrooms_hundredths.map(|h| f64::from(h) / 100.0),
        sqft: l.sqft,
        listing_date: l.listing_date.clone(),
        property_type: l.property_type.clone(),
        listing_status: l.listing_status.clone(),
        days_on_market: Some(l.days_on_market),
        source_url: l.source_url.clone(),
        scraped_timestamp: scraped_at.to_owned(),
    }
}

/// `n` plausible homes in `zipcode` that the market never had (zpids checked against it).
pub fn invent(market: &Market, zipcode: &str, n: u32, salt: u32) -> Vec<Listing> {
    let base = market.config().public_url.trim_end_matches('/').to_owned();
    let scraped = now_str();
    (0..)
        .map(|i: u32| (i, format!("77{:03}{:07}", salt % 1000, i)))
        .filter(|(_, zpid)| market.get(zpid).is_none())
        .take(n as usize)
        .map(|(i, zpid)| Listing {
            source_url: format!("{base}/api/homes/{zpid}"),
            zpid: Some(zpid),
            mls_id: None,
            address: format!("{} Nowhere Ln, Springfield, ZZ {zipcode}", 100 + i),
            zipcode: zipcode.to_owned(),
            price: Some(250_000 + u64::from(i % 50) * 5_000),
            bedrooms: Some(1 + i % 5),
            bathrooms: Some(f64::from(1 + i % 3)),
            sqft: Some(900 + (i % 40) * 50),
            listing_date: "2025-09-01".into(),
            property_type: "SINGLE_FAMILY".into(),
            listing_status: "FOR_SALE".into(),
            days_on_market: Some(10 + i % 30),
            scraped_timestamp: scraped.clone(),
        })
        .collect()
}

/// The first half of `real`, each listing twice: the expected count, but every home repeated.
pub fn duplicated(real: &[Listing]) -> Vec<Listing> {
    let half = &real[..real.len().div_ceil(2)];
    half.iter()
        .flat_map(|l| [l.clone(), l.clone()])
        .take(real.len())
        .collect()
}

impl Rogue {
    /// An adversary for `member` (whose role must be an adversarial one) against the
    /// coordinator at `url`.
    pub fn new(
        member: Member,
        url: &str,
        coldkey: String,
        market: Arc<Market>,
        scraper: ScraperInfo,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            member.role.is_adversary(),
            "{} is not an adversary",
            member.name
        );
        let client = ApiClient::new(
            ClientConfig::new(url.to_owned()),
            Some(member.hotkey.clone()),
        )?;
        Ok(Self {
            member,
            client,
            coldkey,
            market,
            scraper,
        })
    }

    /// Runs one epoch: fetches the assignment and an upload grant now, builds its submissions,
    /// and uploads them (the late miner first sleeps until `late_at_unix_ms`).
    pub async fn run(&self, late_at_unix_ms: i64) -> RogueResult {
        let mut result = RogueResult::default();
        if let Err(e) = self.run_inner(late_at_unix_ms, &mut result).await {
            result.error = Some(format!("{e:#}"));
        }
        result
    }

    /// The submissions this adversary makes for assignment `a`: (zipcode, listings).
    pub fn plan(&self, a: &AssignmentResponse) -> Vec<(String, Vec<Listing>)> {
        let scraped = now_str();
        let mut out = Vec::new();
        for (k, z) in a.zipcodes.iter().enumerate() {
            let real: Vec<Listing> = self
                .market
                .listings(&z.zipcode)
                .iter()
                .map(|l| from_market(l, &scraped))
                .collect();
            let salt = k as u32;
            let listings = match self.member.role {
                Role::Fabricator if !real.is_empty() => {
                    invent(&self.market, &z.zipcode, real.len() as u32, salt)
                }
                Role::Duplicator if !real.is_empty() => duplicated(&real),
                Role::Late if !real.is_empty() => real,
                Role::HoneypotAbuser if real.is_empty() => {
                    invent(&self.market, &z.zipcode, z.expected_listings, 500 + salt)
                }
                Role::HoneypotAbuser => real,
                _ => continue,
            };
            out.push((z.zipcode.clone(), listings));
        }
        out
    }

    async fn run_inner(
        &self,
        late_at_unix_ms: i64,
        result: &mut RogueResult,
    ) -> anyhow::Result<()> {
        let a = self
            .client
            .assignment_current()
            .await
            .context("fetching the assignment")?;
        let grant = self
            .client
            .folder_access(&self.coldkey)
            .await
            .context("getting the upload grant")?;
        let plan = self.plan(&a);
        if self.member.role == Role::Late {
            let wait = late_at_unix_ms - chrono::Utc::now().timestamp_millis();
            if wait > 0 {
                tokio::time::sleep(Duration::from_millis(wait as u64)).await;
            }
        }
        for (zip, listings) in plan {
            self.upload(&a, &grant, &zip, &listings)
                .await
                .with_context(|| format!("uploading {zip}"))?;
            result.uploaded.push((zip, listings.len() as u64));
        }
        Ok(())
    }

    async fn upload(
        &self,
        a: &AssignmentResponse,
        grant: &PresignedPost,
        zip: &str,
        listings: &[Listing],
    ) -> anyhow::Result<()> {
        let epoch_id = a.epoch_id.to_string();
        let hk = self.member.hotkey.ss58();
        let parquet = write_listings(listings)?;
        let now = now_str();
        let manifest = UnsignedManifest {
            epoch_id: epoch_id.clone(),
            nonce: a.nonce.clone(),
            hotkey: hk.clone(),
            zipcode: zip.to_owned(),
            listing_count: listings.len() as u64,
            parquet_sha256: resi_submission::sha256_hex(&parquet),
            parquet_size: parquet.len() as u64,
            scraper: self.scraper.clone(),
            mining_start_time: now.clone(),
            mining_end_time: now,
        }
        .sign(&self.member.hotkey);
        let key = |f| ObjectKey::new(&hk, &epoch_id, zip, f).map(|k| k.to_key());
        self.client
            .upload_presigned(
                grant,
                &key(SubmissionFile::Listings)?,
                "listings.parquet",
                parquet,
            )
            .await?;
        self.client
            .upload_presigned(
                grant,
                &key(SubmissionFile::Manifest)?,
                "manifest.json",
                manifest.to_json_bytes(),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market() -> Market {
        Market::new(resi_market::MarketConfig::default()).expect("market")
    }

    #[test]
    fn invented_homes_are_unknown_to_the_market_and_unique() {
        let m = market();
        let fake = invent(&m, "19103", 300, 1);
        assert_eq!(fake.len(), 300);
        let ids: std::collections::BTreeSet<_> = fake.iter().map(|l| l.zpid.clone()).collect();
        assert_eq!(ids.len(), 300);
        for l in &fake {
            assert!(m.get(l.zpid.as_deref().unwrap_or_default()).is_none());
            assert!(
                l.validate("19103").is_empty(),
                "{l:?} {:?}",
                l.validate("19103")
            );
        }
    }

    #[test]
    fn duplicates_keep_the_count_but_repeat_homes() {
        let m = market();
        let real: Vec<Listing> = m
            .listings("19103")
            .iter()
            .map(|l| from_market(l, "2025-10-01T16:00:00Z"))
            .collect();
        assert!(!real.is_empty());
        let dup = duplicated(&real);
        assert_eq!(dup.len(), real.len());
        assert_eq!(dup[0], dup[1]);
        for l in &real {
            assert!(l.validate("19103").is_empty(), "{l:?}");
        }
    }
}
