//! `example-scraper`: the smallest complete scraper, used by the host's tests and as a template.
//!
//! With config `url`, it GETs that URL through the host (so allowlist rules apply) and reports the
//! status in the log. Either way it emits `expected` synthetic listings for the zipcode in batches
//! of 100 through `emit`, the way a real scraper streams pages.

use resi_guest::scraper::*;

struct ExampleScraper;

const BATCH: u32 = 100;

fn synthetic(zipcode: &str, i: u32) -> Listing {
    Listing {
        zpid: Some(format!("{zipcode}{i:05}")),
        mls_id: None,
        address: format!("{} Example St, Testville", 100 + i),
        zipcode: zipcode.to_string(),
        price: Some(250_000 + u64::from(i) * 1_000),
        bedrooms: Some(1 + i % 5),
        bathrooms_hundredths: Some(100 + (i % 3) * 50),
        sqft: Some(800 + i * 10),
        listing_date: "2025-09-01".into(),
        property_type: "SINGLE_FAMILY".into(),
        listing_status: "FOR_SALE".into(),
        days_on_market: Some(i % 90),
        source_url: format!("https://example.invalid/homedetails/{zipcode}{i:05}"),
        scraped_timestamp: "2025-10-01T16:05:00Z".into(),
    }
}

impl Guest for ExampleScraper {
    fn info() -> ScraperInfo {
        ScraperInfo {
            name: "example".into(),
            version: "0.1.0".into(),
            sources: vec!["example.invalid".into()],
        }
    }

    fn scrape(task: Task) -> Result<ScrapeSummary, String> {
        let mut pages = 0;
        if let Some(url) = config_value(&task.config, "url") {
            let response = get(url).map_err(|e| format!("fetch {url}: {e:?}"))?;
            pages += 1;
            log(Level::Info, &format!("GET {url} -> {}", response.status));
        }
        let mut start = 0;
        while start < task.expected {
            let end = (start + BATCH).min(task.expected);
            let batch: Vec<Listing> = (start..end).map(|i| synthetic(&task.zipcode, i)).collect();
            emit(&batch);
            pages += 1;
            start = end;
        }
        Ok(ScrapeSummary { emitted: task.expected, pages })
    }

    fn verify(target: ListingRef, _config: Vec<(String, String)>) -> Result<Verification, String> {
        let Some(zpid) = target.zpid else { return Ok(Verification::NotFound) };
        let Some(index) = zpid.strip_prefix(target.zipcode.as_str()) else {
            return Ok(Verification::NotFound);
        };
        match index.parse::<u32>() {
            Ok(i) => Ok(Verification::Found(synthetic(&target.zipcode, i))),
            Err(_) => Ok(Verification::NotFound),
        }
    }
}

resi_guest::export_scraper!(ExampleScraper);
