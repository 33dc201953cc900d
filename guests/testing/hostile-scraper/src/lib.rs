//! `hostile-scraper`: a scraper that misbehaves on purpose, so the host's tests can show every
//! sandbox limit holds. Config `mode` picks the behaviour: `loop` (never returns), `membomb`
//! (allocates without end), `recurse` (unbounded recursion), `panic`, `emit-then-loop` (emits one
//! batch, then spins: the batch must survive the timeout), `fetch` (GETs config `url`),
//! `garbage` (emits records that break every rule of the listing record, one with a 1 MiB
//! address), `flood` (emits batches of 1,000 listings without end).

use resi_guest::scraper::*;

struct HostileScraper;

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64, acc: &mut [u64; 16]) -> u64 {
    acc[(depth % 16) as usize] = depth;
    let mut local = *acc;
    local[0] = local[0].wrapping_add(recurse(depth + 1, &mut local));
    std::hint::black_box(local[0])
}

fn spin() -> ! {
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

fn one(zipcode: &str) -> Listing {
    Listing {
        zpid: Some("1".into()),
        mls_id: None,
        address: "1 Main St".into(),
        zipcode: zipcode.into(),
        price: Some(100_000),
        bedrooms: None,
        bathrooms_hundredths: None,
        sqft: None,
        listing_date: "2025-01-01".into(),
        property_type: "CONDO".into(),
        listing_status: "FOR_SALE".into(),
        days_on_market: None,
        source_url: "https://example.invalid/1".into(),
        scraped_timestamp: "2025-01-01T00:00:00Z".into(),
    }
}

impl Guest for HostileScraper {
    fn info() -> ScraperInfo {
        ScraperInfo { name: "hostile".into(), version: "0.0.0".into(), sources: Vec::new() }
    }

    fn scrape(task: Task) -> Result<ScrapeSummary, String> {
        match config_value(&task.config, "mode").unwrap_or("") {
            "loop" => spin(),
            "membomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recurse" => {
                let mut acc = [0u64; 16];
                Err(format!("unreachable {}", recurse(0, &mut acc)))
            }
            "panic" => panic!("hostile scraper panicked on purpose"),
            "emit-then-loop" => {
                emit(&[one(&task.zipcode)]);
                spin()
            }
            "garbage" => {
                let mut empty = one(&task.zipcode);
                empty.zpid = None;
                empty.address = String::new();
                empty.price = None;
                empty.source_url = String::new();
                let mut absurd = one("ABCDE");
                absurd.price = Some(5);
                absurd.listing_date = "last tuesday".into();
                let mut huge = one(&task.zipcode);
                huge.address = "x".repeat(1 << 20);
                emit(&[empty, absurd, huge]);
                Ok(ScrapeSummary { emitted: 3, pages: 0 })
            }
            "flood" => {
                let batch: Vec<Listing> = (0..1000).map(|_| one(&task.zipcode)).collect();
                loop {
                    emit(&batch);
                }
            }
            "fetch" => {
                let url = config_value(&task.config, "url").unwrap_or("http://127.0.0.1:1/");
                match get(url) {
                    Ok(r) => Ok(ScrapeSummary { emitted: 0, pages: u32::from(r.status) }),
                    Err(e) => Err(format!("{e:?}")),
                }
            }
            other => Err(format!("unknown mode {other:?}")),
        }
    }

    fn verify(_: ListingRef, _: Vec<(String, String)>) -> Result<Verification, String> {
        spin()
    }
}

resi_guest::export_scraper!(HostileScraper);
