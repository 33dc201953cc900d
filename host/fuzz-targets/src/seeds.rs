//! Seed inputs: small valid inputs of every target, the starting points of `fuzz/corpus/<name>/`.
//!
//! Every seed is accepted by its target (this crate's tests check that). Signatures are
//! randomized, so the signed seeds (manifests, request bodies) differ from one generation to
//! the next; everything else is deterministic.

use crate::NOW;
use resi_core::Hotkey;
use resi_core::epoch::EpochId;
use resi_core::keys::{PublicKey, ss58_encode_with_prefix};
use resi_core::listing::Listing;
use resi_core::wallet::{KeySource, WalletLocation, write_test_hotkey_wallet};
use resi_core::wire::{
    FolderAccessRequest, MinerSpecificAccessRequest, MinerStatus, PURPOSE_EPOCH_VALIDATION_RESULTS,
    StatusRequest, ValidatorAccessRequest, ValidatorUploadRequest, ZipcodeCompleted,
};
use resi_submission::{ScraperInfo, UnsignedManifest, UpstreamSubmission, write_listings};

/// One seed input.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The target it is for.
    pub target: &'static str,
    /// Its file name in `fuzz/corpus/<target>/`.
    pub name: &'static str,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// The substrate development mnemonic (public test material, holds nothing).
const DEV_PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
const EPOCH: &str = "2025-10-01T16-00-00";

fn key(uri: &str) -> Hotkey {
    Hotkey::from_uri(uri).expect("dev URI")
}

/// A few listings with every field kind: nulls, numbers, a half bath, non-ASCII text.
pub fn sample_listings(n: u32) -> Vec<Listing> {
    (0..n)
        .map(|i| Listing {
            zpid: (i % 3 != 0).then(|| format!("{}", 2_077_000_000 + i)),
            mls_id: (i % 2 == 0).then(|| format!("MLS-{i}")),
            address: if i == 1 {
                "12 Rue Saint-André, Apt 3 — Philadelphia".into()
            } else {
                format!("{i} Main St, Philadelphia, PA")
            },
            zipcode: "19103".into(),
            price: (i % 5 != 4).then_some(250_000 + u64::from(i) * 1_000),
            bedrooms: (i % 4 != 3).then_some(1 + i % 5),
            bathrooms: (i % 3 != 2).then_some(f64::from(i % 3) + 1.5),
            sqft: Some(700 + 10 * i),
            listing_date: "2025-09-30".into(),
            property_type: if i % 2 == 0 { "CONDO" } else { "SINGLE_FAMILY" }.into(),
            listing_status: "FOR_SALE".into(),
            days_on_market: (i % 2 == 1).then_some(i),
            source_url: format!("https://example.test/homedetails/{i}"),
            scraped_timestamp: "2025-10-01T16:05:00Z".into(),
        })
        .collect()
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialises")
}

fn manifest_seeds(out: &mut Vec<Seed>) {
    let listings = sample_listings(3);
    let parquet = write_listings(&listings).expect("write_listings");
    let m = UnsignedManifest {
        epoch_id: EPOCH.into(),
        nonce: "0123456789abcdef".into(),
        hotkey: String::new(),
        zipcode: "19103".into(),
        listing_count: listings.len() as u64,
        parquet_sha256: resi_submission::sha256_hex(&parquet),
        parquet_size: parquet.len() as u64,
        scraper: ScraperInfo {
            name: "zillow-sold".into(),
            version: "1.2.0".into(),
            wasm_sha256: resi_submission::sha256_hex(b"scraper component"),
        },
        mining_start_time: "2025-10-01T16:00:05Z".into(),
        mining_end_time: "2025-10-01T16:12:40Z".into(),
    }
    .sign(&key("//Alice"));
    out.push(Seed {
        target: "manifest",
        name: "signed.json",
        bytes: m.to_json_bytes(),
    });
    out.push(Seed {
        target: "manifest",
        name: "signed-pretty.json",
        bytes: serde_json::to_vec_pretty(&m).expect("serialises"),
    });
}

fn object_key_seeds(out: &mut Vec<Seed>) {
    let hk = key("//Alice").ss58();
    let base = format!("data/hotkey={hk}/epoch={EPOCH}/zipcode=19103/");
    for (name, file) in [
        ("listings.txt", "listings.parquet"),
        ("manifest.txt", "manifest.json"),
        ("upstream.txt", "data_20251001_163000.json"),
    ] {
        out.push(Seed {
            target: "object_key",
            name,
            bytes: format!("{base}{file}").into_bytes(),
        });
    }
}

fn parquet_seeds(out: &mut Vec<Seed>) {
    for (name, n) in [
        ("empty.parquet", 0),
        ("3-rows.parquet", 3),
        ("12-rows.parquet", 12),
    ] {
        out.push(Seed {
            target: "parquet",
            name,
            bytes: write_listings(&sample_listings(n)).expect("write_listings"),
        });
    }
    out.push(Seed {
        target: "parquet_roundtrip",
        name: "counting.bin",
        bytes: (0..=255u8).collect(),
    });
    out.push(Seed {
        target: "parquet_roundtrip",
        name: "text.bin",
        bytes: b"\x04\x00resi 19103 FOR_SALE 2025-10-01T16:05:00Z https://example.test/1 \xf0\x9f\x8f\xa0"
            .repeat(3),
    });
}

fn upstream_seeds(out: &mut Vec<Seed>) {
    let listings = sample_listings(2);
    let s = UpstreamSubmission {
        epoch_id: EPOCH.into(),
        zipcode: "19103".into(),
        miner_hotkey: key("//Alice").ss58(),
        submission_timestamp: "2025-10-01T16:20:00Z".into(),
        listing_count: listings.len() as u64,
        listings,
    };
    out.push(Seed {
        target: "upstream",
        name: "written.json",
        bytes: s.to_json_bytes(),
    });
    // What real scrapers send: ids and numbers as numbers or strings, prices with commas,
    // nulls, unknown fields.
    let tolerant = format!(
        r#"{{"epoch_id":"{EPOCH}","zipcode":"19103","miner_hotkey":"{}",
  "submission_timestamp":"2025-10-01T16:20:00.000Z","listing_count":1,
  "listings":[{{"zpid":2077412345,"mls_id":null,"address":"9 Elm","zipcode":19103,
    "price":"$450,000","bedrooms":3.0,"bathrooms":"2.5","sqft":null,
    "listing_date":"2025-09-01","property_type":"CONDO","listing_status":"SOLD",
    "days_on_market":"12","source_url":"https://example.test/9",
    "scraped_timestamp":"2025-10-01T00:00:00","extra":[1,{{"a":true}}]}}]}}"#,
        key("//Bob").ss58()
    );
    out.push(Seed {
        target: "upstream",
        name: "tolerant.json",
        bytes: tolerant.into_bytes(),
    });
}

/// Keyfiles as bittensor writes them, written by resi's own TEST ONLY wallet writer into a
/// scratch directory and read back.
fn keyfile_seeds(out: &mut Vec<Seed>) {
    let dir = std::env::temp_dir().join(format!(
        "resi-fuzz-seeds-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let cold = key("//Bob").public();
    let read = |p: &std::path::Path| std::fs::read(p).expect("read written keyfile");
    let loc = WalletLocation::new(dir.to_str().expect("UTF-8 temp dir"), "cold", "phrase")
        .expect("wallet location");
    write_test_hotkey_wallet(&loc, &KeySource::Mnemonic(DEV_PHRASE.into()), &cold, true)
        .expect("write wallet");
    out.push(Seed {
        target: "keyfile",
        name: "hotkey-phrase.json",
        bytes: read(&loc.hotkey_file()),
    });
    out.push(Seed {
        target: "keyfile",
        name: "hotkeypub.json",
        bytes: read(&loc.hotkey_pub_file()),
    });
    out.push(Seed {
        target: "keyfile",
        name: "coldkeypub.json",
        bytes: read(&loc.coldkeypub_file()),
    });
    let loc = WalletLocation::new(dir.to_str().expect("UTF-8 temp dir"), "cold", "uri")
        .expect("wallet location");
    write_test_hotkey_wallet(&loc, &KeySource::Uri("//Alice".into()), &cold, true)
        .expect("write wallet");
    out.push(Seed {
        target: "keyfile",
        name: "hotkey-private-key.json",
        bytes: read(&loc.hotkey_file()),
    });
    let _ = std::fs::remove_dir_all(&dir);
    out.push(Seed {
        target: "keyfile",
        name: "nulls.json",
        bytes: format!(
            r#"{{"secretPhrase":null,"secretSeed":null,"privateKey":null,"accountId":null,"ss58Address":"{}","publicKey":null,"cryptoType":1}}"#,
            key("//Alice").ss58()
        )
        .into_bytes(),
    });
}

fn key_seeds(out: &mut Vec<Seed>) {
    let alice = key("//Alice");
    let bob = key("//Bob");
    let other = PublicKey::from_bytes([7; 32]);
    for (target, name, s) in [
        ("ss58", "alice.txt", alice.ss58()),
        ("ss58", "bob.txt", bob.ss58()),
        (
            "ss58",
            "polkadot-prefix-0.txt",
            ss58_encode_with_prefix(alice.public().as_bytes(), 0),
        ),
        (
            "ss58",
            "two-byte-prefix-1284.txt",
            ss58_encode_with_prefix(alice.public().as_bytes(), 1284),
        ),
        ("ss58_canonical", "alice.txt", alice.ss58()),
        ("ss58_canonical", "bob.txt", bob.ss58()),
        ("ss58_canonical", "sevens.txt", other.to_ss58()),
        ("hex", "signature.txt", alice.sign(b"resi").to_hex()),
        (
            "hex",
            "signature-0x-upper.txt",
            format!("0X{}", bob.sign(b"resi").to_hex().to_uppercase()),
        ),
        ("hex", "public-key.txt", alice.public().to_hex_0x()),
    ] {
        out.push(Seed {
            target,
            name,
            bytes: s.into_bytes(),
        });
    }
}

fn request_seeds(out: &mut Vec<Seed>) {
    let alice = key("//Alice");
    let hk = alice.ss58();
    let bob = key("//Bob").ss58();
    let epoch = EpochId::parse(EPOCH).expect("epoch id");
    let sign = |msg: String| alice.sign(msg.as_bytes()).to_hex();
    out.push(Seed {
        target: "requests",
        name: "status.json",
        bytes: json(&StatusRequest {
            hotkey: hk.clone(),
            signature: sign(resi_core::commitments::status(EPOCH, NOW)),
            timestamp: NOW,
            epoch_id: epoch,
            nonce: "0123456789abcdef".into(),
            status: MinerStatus::Completed,
            s3_upload_complete: true,
            listings_scraped: Some(120),
            zipcodes_completed: Some(vec![ZipcodeCompleted {
                zipcode: "19103".into(),
                listings_scraped: 120,
                completed_at: "2025-10-01T16:20:00.000Z".into(),
            }]),
            s3_upload_timestamp: Some("2025-10-01T16:21:00.000Z".into()),
        }),
    });
    out.push(Seed {
        target: "requests",
        name: "folder-access.json",
        bytes: json(&FolderAccessRequest {
            coldkey: bob.clone(),
            hotkey: hk.clone(),
            timestamp: NOW,
            signature: sign(resi_core::commitments::folder_access(&bob, &hk, NOW)),
            expiry: NOW + 86_400,
        }),
    });
    out.push(Seed {
        target: "requests",
        name: "validator-upload.json",
        bytes: json(&ValidatorUploadRequest {
            hotkey: hk.clone(),
            signature: sign(resi_core::commitments::validator_upload(NOW)),
            timestamp: NOW,
            epoch_id: epoch,
            purpose: PURPOSE_EPOCH_VALIDATION_RESULTS.into(),
            estimated_data_size_mb: 1.25,
            retention_days: 30,
        }),
    });
    out.push(Seed {
        target: "requests",
        name: "validator-access.json",
        bytes: json(&ValidatorAccessRequest {
            hotkey: hk.clone(),
            timestamp: NOW,
            signature: sign(resi_core::commitments::validator_access(NOW)),
            expiry: NOW + 86_400,
        }),
    });
    out.push(Seed {
        target: "requests",
        name: "miner-specific-access.json",
        bytes: json(&MinerSpecificAccessRequest {
            hotkey: hk.clone(),
            signature: sign(resi_core::commitments::miner_specific_access(&bob, NOW)),
            timestamp: NOW,
            miner_hotkey: bob.clone(),
            expiry: NOW + 86_400,
        }),
    });
}

fn epoch_seeds(out: &mut Vec<Seed>) {
    for (name, id) in [
        ("production.txt", EPOCH),
        ("dev-90s.txt", "2025-10-01T00-01-30"),
        ("unix-epoch.txt", "1970-01-01T00-00-00"),
        ("last.txt", "9999-12-31T20-00-00"),
    ] {
        out.push(Seed {
            target: "epoch_id",
            name,
            bytes: id.as_bytes().to_vec(),
        });
    }
}

/// Every seed of every target.
pub fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    manifest_seeds(&mut out);
    object_key_seeds(&mut out);
    parquet_seeds(&mut out);
    upstream_seeds(&mut out);
    keyfile_seeds(&mut out);
    key_seeds(&mut out);
    request_seeds(&mut out);
    epoch_seeds(&mut out);
    out
}
