//! Fuzz targets for resi's untrusted-input parsers.
//!
//! One function per target, `fn(&[u8]) -> bool`: it feeds the bytes to a parser, checks the
//! parser's invariants (no panic, and round trips where the format has them) and returns whether
//! the parser accepted the input. An invariant that does not hold panics, which is what a fuzzer
//! reports as a crash. The same functions are driven by:
//! - the cargo-fuzz project in `fuzz/` (one `fuzz_targets/<name>.rs` per entry of [`TARGETS`]),
//!   for long coverage-guided runs (`cargo xtask fuzz`);
//! - this crate's tests, on the normal toolchain, with the seed corpora in `fuzz/corpus/`, the
//!   saved crashes in `fuzz/regressions/` and a few thousand mutated inputs per target.
//!
//! [`seeds`] makes the seed corpora from valid inputs (`cargo run -p resi-fuzz-targets --example
//! write_corpus`).
//!
//! Floats that went through JSON are compared within one ulp: serde_json's default float parser
//! is not always correctly rounded (its `float_roundtrip` feature is), so a value printed and
//! parsed again may move by one ulp. Floats that went through parquet are compared bit for bit.

#![warn(missing_docs)]

pub mod seeds;

use resi_core::auth::check_timestamp;
use resi_core::commitments;
use resi_core::epoch::{DEFAULT_EPOCH_SECS, EpochId, EpochSchedule};
use resi_core::keys::{
    PublicKey, SS58_PREFIX, Signature, ss58_decode_any, ss58_encode_with_prefix, verify_hex,
};
use resi_core::listing::Listing;
use resi_core::wallet::Keyfile;
use resi_core::wire::{
    FolderAccessRequest, MinerSpecificAccessRequest, StatusRequest, ValidatorAccessRequest,
    ValidatorUploadRequest,
};
use resi_submission::key::{hotkey_prefix, zipcode_prefix};
use resi_submission::manifest::MAX_MANIFEST_BYTES;
use resi_submission::{
    Manifest, ObjectKey, ReadCaps, SubmissionFile, UpstreamSubmission, listing_key, read_listings,
    write_listings,
};
use std::path::Path;

/// One fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name of the target: the function, the `fuzz/fuzz_targets/<name>.rs` binary and the
    /// `fuzz/corpus/<name>/` and `fuzz/regressions/<name>/` directories.
    pub name: &'static str,
    /// Runs the target on one input; true if the parser accepted it.
    pub run: fn(&[u8]) -> bool,
}

/// Every target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "manifest",
        run: manifest,
    },
    Target {
        name: "object_key",
        run: object_key,
    },
    Target {
        name: "parquet",
        run: parquet,
    },
    Target {
        name: "parquet_roundtrip",
        run: parquet_roundtrip,
    },
    Target {
        name: "upstream",
        run: upstream,
    },
    Target {
        name: "keyfile",
        run: keyfile,
    },
    Target {
        name: "ss58",
        run: ss58,
    },
    Target {
        name: "ss58_canonical",
        run: ss58_canonical,
    },
    Target {
        name: "hex",
        run: hex,
    },
    Target {
        name: "requests",
        run: requests,
    },
    Target {
        name: "epoch_id",
        run: epoch_id,
    },
];

thread_local! {
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` (a target on one input) the way the libFuzzer binaries in `fuzz/` need: a panic
/// that escapes `f` prints its message and location and aborts, which libFuzzer reports as a
/// crash; a panic that the code under test catches itself (`read_listings` contains the
/// parquet crate's decoder panics) is not one. libfuzzer-sys's own panic hook aborts on every
/// panic, caught or not, so this replaces it, once, with a hook that only records the message.
pub fn abort_on_escaping_panic<R>(f: impl FnOnce() -> R) -> R {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(info.to_string()));
        }));
    });
    LAST_PANIC.with(|last| last.borrow_mut().take());
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            let message = LAST_PANIC.with(|last| last.borrow_mut().take());
            eprintln!(
                "fuzz target {}",
                message.as_deref().unwrap_or("panicked (no message)")
            );
            std::process::abort()
        }
    }
}

/// The clock the signed-request checks run against (2025-10-01T16:30:00Z); the request seeds
/// are signed at this time.
pub const NOW: i64 = 1_759_336_200;

/// Listings whose strings add up to more than this are not round-tripped through a second
/// write and read (that would mostly measure the writer, and could meet a decoded-size cap).
const ROUND_TRIP_MAX_BYTES: usize = 4 << 20;

/// The input as text, if it is UTF-8.
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Distance in units in the last place between two floats (0 for equal values, including
/// 0.0 and -0.0; `u64::MAX` if one is NaN and the other is not).
fn ulps(a: f64, b: f64) -> u64 {
    if a.to_bits() == b.to_bits() || a == b {
        return 0;
    }
    if a.is_nan() || b.is_nan() || a.is_sign_negative() != b.is_sign_negative() {
        return u64::MAX;
    }
    a.to_bits().abs_diff(b.to_bits())
}

/// True if `a` and `b` are the same listing, with bathrooms at most `max_ulps` apart
/// (0 = bit for bit).
fn same_listing(a: &Listing, b: &Listing, max_ulps: u64) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    let floats = match (a.bathrooms.take(), b.bathrooms.take()) {
        (None, None) => true,
        (Some(x), Some(y)) if max_ulps == 0 => x.to_bits() == y.to_bits(),
        (Some(x), Some(y)) => ulps(x, y) <= max_ulps,
        _ => false,
    };
    floats && a == b
}

fn assert_same_listings(what: &str, a: &[Listing], b: &[Listing], max_ulps: u64) {
    assert_eq!(a.len(), b.len(), "{what}: row count changed");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            same_listing(x, y, max_ulps),
            "{what}: row {i} changed\n  before: {x:?}\n  after:  {y:?}"
        );
    }
}

fn string_bytes(l: &Listing) -> usize {
    l.zpid.as_deref().map_or(0, str::len)
        + l.mls_id.as_deref().map_or(0, str::len)
        + l.address.len()
        + l.zipcode.len()
        + l.listing_date.len()
        + l.property_type.len()
        + l.listing_status.len()
        + l.source_url.len()
        + l.scraped_timestamp.len()
}

fn assert_within_caps(listings: &[Listing], caps: &ReadCaps) {
    assert!(
        listings.len() as u64 <= caps.max_rows,
        "more rows than the cap"
    );
    for (row, l) in listings.iter().enumerate() {
        for (field, len) in [
            ("zpid", l.zpid.as_deref().map_or(0, str::len)),
            ("mls_id", l.mls_id.as_deref().map_or(0, str::len)),
            ("address", l.address.len()),
            ("zipcode", l.zipcode.len()),
            ("listing_date", l.listing_date.len()),
            ("property_type", l.property_type.len()),
            ("listing_status", l.listing_status.len()),
            ("source_url", l.source_url.len()),
            ("scraped_timestamp", l.scraped_timestamp.len()),
        ] {
            assert!(
                len <= caps.max_field_len,
                "row {row}: {field} is {len} bytes, over the cap"
            );
        }
    }
}

/// Writes `listings` with [`write_listings`] and reads them back: the same rows, bit for bit.
/// Skipped for large data (see [`ROUND_TRIP_MAX_BYTES`]).
fn assert_parquet_round_trip(what: &str, listings: &[Listing], caps: &ReadCaps) {
    let total: usize = listings.iter().map(string_bytes).sum();
    if total > ROUND_TRIP_MAX_BYTES {
        return;
    }
    let bytes = write_listings(listings)
        .unwrap_or_else(|e| panic!("{what}: write_listings failed on readable rows: {e}"));
    assert!(bytes.len() >= resi_submission::MIN_OBJECT_BYTES);
    let back = read_listings(&bytes, caps)
        .unwrap_or_else(|e| panic!("{what}: written listings do not read back: {e}"));
    assert_same_listings(what, listings, &back, 0);
}

/// `manifest.json`: [`Manifest::from_json`]. A manifest that parses re-serialises to canonical
/// bytes that parse to the same value, and those bytes are a fixed point; the signed form is
/// the file without `signature`; verifying and the key/parquet checks do not panic.
pub fn manifest(data: &[u8]) -> bool {
    let caps = ReadCaps::default();
    let Ok(m) = Manifest::from_json(data, &caps) else {
        return false;
    };
    let bytes = m.to_json_bytes();
    // Serialising drops whitespace and escapes, but adds `"padding":""` when the input left it
    // out: only an input at the size cap can re-serialise over it.
    if bytes.len() as u64 <= MAX_MANIFEST_BYTES {
        let again = Manifest::from_json(&bytes, &caps)
            .unwrap_or_else(|e| panic!("canonical manifest does not parse: {e}"));
        assert_eq!(again, m, "manifest changed through its canonical bytes");
        assert_eq!(
            again.to_json_bytes(),
            bytes,
            "canonical bytes are not a fixed point"
        );
    }
    // The signed bytes are the file's canonical JSON without `signature`.
    let mut signed: serde_json::Value =
        serde_json::from_slice(&m.canonical_bytes()).expect("signed bytes are JSON");
    assert!(signed.get("signature").is_none(), "signature is signed");
    if let Some(map) = signed.as_object_mut() {
        map.insert("signature".into(), m.signature.clone().into());
    }
    assert_eq!(
        resi_submission::canonical::to_canonical_string(&signed).into_bytes(),
        bytes,
        "signed bytes + signature differ from the file"
    );
    let verified = m.verify(&m.hotkey).is_ok();
    if verified {
        assert!(PublicKey::from_ss58(&m.hotkey).is_ok());
    }
    if let Ok(key) = ObjectKey::new(&m.hotkey, &m.epoch_id, &m.zipcode, SubmissionFile::Manifest) {
        m.check_key(&key)
            .unwrap_or_else(|e| panic!("manifest does not match its own key: {e}"));
    }
    let _ = m.check_parquet(data);
    true
}

/// Object keys: [`ObjectKey::parse`]. A key that parses prints back to the same string, and its
/// segments stay inside the miner's folder.
pub fn object_key(data: &[u8]) -> bool {
    let Some(s) = text(data) else {
        return false;
    };
    let Ok(k) = ObjectKey::parse(s) else {
        return false;
    };
    assert_eq!(k.to_key(), s, "key does not print back to itself");
    assert_eq!(k.to_string(), s);
    assert_eq!(ObjectKey::parse(&k.to_key()).as_ref(), Ok(&k));
    for seg in [&k.hotkey, &k.epoch_id, &k.zipcode] {
        assert!(!seg.is_empty() && !seg.contains('/') && seg != "." && seg != "..");
    }
    assert!(s.starts_with(&hotkey_prefix(&k.hotkey)));
    assert!(s.starts_with(&zipcode_prefix(&k.hotkey, &k.epoch_id, &k.zipcode)));
    let rebuilt = ObjectKey::new(&k.hotkey, &k.epoch_id, &k.zipcode, k.file.clone());
    assert_eq!(rebuilt.as_ref(), Ok(&k));
    true
}

/// `listings.parquet`: [`read_listings`] on raw bytes. Accepted rows are within the caps and
/// survive [`write_listings`] and a second read bit for bit.
pub fn parquet(data: &[u8]) -> bool {
    let caps = ReadCaps::default();
    let Ok(listings) = read_listings(data, &caps) else {
        return false;
    };
    assert_within_caps(&listings, &caps);
    for l in &listings {
        let _ = listing_key(l);
        let _ = l.validate("19103");
        let _ = l.bathrooms_hundredths();
    }
    assert_parquet_round_trip("parquet", &listings, &caps);
    true
}

fn arbitrary_listing(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Listing> {
    Ok(Listing {
        zpid: u.arbitrary()?,
        mls_id: u.arbitrary()?,
        address: u.arbitrary()?,
        zipcode: u.arbitrary()?,
        price: u.arbitrary()?,
        bedrooms: u.arbitrary()?,
        bathrooms: u.arbitrary()?,
        sqft: u.arbitrary()?,
        listing_date: u.arbitrary()?,
        property_type: u.arbitrary()?,
        listing_status: u.arbitrary()?,
        days_on_market: u.arbitrary()?,
        source_url: u.arbitrary()?,
        scraped_timestamp: u.arbitrary()?,
    })
}

/// The parquet writer: listings built from the bytes (any strings, any floats including NaN
/// and -0.0, nulls anywhere, up to 1280 rows) are written by [`write_listings`] and
/// read back by [`read_listings`] unchanged.
pub fn parquet_roundtrip(data: &[u8]) -> bool {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok(distinct) = u.int_in_range(0..=32u32) else {
        return false;
    };
    // Repeating the rows sometimes crosses the writer's 1024-value batches from a small input.
    let repeat = match u.int_in_range(0..=15u8) {
        Ok(15) => 40,
        _ => 1,
    };
    let mut distinct_rows = Vec::new();
    for _ in 0..distinct {
        match arbitrary_listing(&mut u) {
            Ok(l) => distinct_rows.push(l),
            Err(_) => break,
        }
    }
    let listings: Vec<Listing> = (0..repeat).flat_map(|_| distinct_rows.clone()).collect();
    let caps = ReadCaps::default();
    let bytes = write_listings(&listings).expect("write_listings");
    assert!(bytes.len() >= resi_submission::MIN_OBJECT_BYTES);
    match read_listings(&bytes, &caps) {
        Ok(back) => assert_same_listings("parquet_roundtrip", &listings, &back, 0),
        Err(e) => {
            // Only the caps may refuse what the writer wrote.
            let over_field = listings.iter().any(|l| max_field(l) > caps.max_field_len);
            assert!(over_field, "written listings do not read back: {e}");
        }
    }
    true
}

fn max_field(l: &Listing) -> usize {
    [
        l.zpid.as_deref().map_or(0, str::len),
        l.mls_id.as_deref().map_or(0, str::len),
        l.address.len(),
        l.zipcode.len(),
        l.listing_date.len(),
        l.property_type.len(),
        l.listing_status.len(),
        l.source_url.len(),
        l.scraped_timestamp.len(),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

/// The upstream JSON format: [`UpstreamSubmission::from_json`]. An accepted submission is
/// within the caps, serialises to JSON that parses to the same value (floats within one ulp),
/// and its listings survive parquet.
pub fn upstream(data: &[u8]) -> bool {
    let caps = ReadCaps::default();
    let Ok(s) = UpstreamSubmission::from_json(data, &caps) else {
        return false;
    };
    assert_eq!(s.listing_count, s.listings.len() as u64);
    assert_within_caps(&s.listings, &caps);
    for l in &s.listings {
        let _ = listing_key(l);
        let _ = l.validate(&s.zipcode);
        let _ = l.bathrooms_hundredths();
    }
    let bytes = s.to_json_bytes();
    assert!(bytes.len() >= resi_submission::MIN_OBJECT_BYTES);
    if bytes.len() as u64 <= caps.max_file_bytes {
        let again = UpstreamSubmission::from_json(&bytes, &caps)
            .unwrap_or_else(|e| panic!("re-serialised upstream JSON does not parse: {e}"));
        assert_eq!(
            (
                &again.epoch_id,
                &again.zipcode,
                &again.miner_hotkey,
                &again.submission_timestamp,
                again.listing_count
            ),
            (
                &s.epoch_id,
                &s.zipcode,
                &s.miner_hotkey,
                &s.submission_timestamp,
                s.listing_count
            )
        );
        assert_same_listings("upstream JSON round trip", &s.listings, &again.listings, 1);
    }
    assert_parquet_round_trip("upstream listings to parquet", &s.listings, &caps);
    true
}

/// Keyfiles: [`Keyfile::parse`] without a password (an encrypted file stops at
/// `PasswordRequired`: argon2 with 512 MiB per attempt is no fuzzing material). An accepted
/// keyfile's JSON re-serialises to the same fields; deriving its keys does not panic, and the
/// signing key and the public key agree.
pub fn keyfile(data: &[u8]) -> bool {
    let path = Path::new("fuzz-keyfile");
    let Ok(kf) = Keyfile::parse(path, data, None) else {
        return false;
    };
    let json = serde_json::to_vec(kf.json()).expect("keyfile JSON serialises");
    let again = Keyfile::parse(path, &json, None)
        .unwrap_or_else(|e| panic!("re-serialised keyfile does not parse: {e}"));
    assert_eq!(
        again.json(),
        kf.json(),
        "keyfile JSON changed through serde"
    );
    let public = kf.public_key();
    match kf.hotkey() {
        Ok(h) => {
            let p = public
                .as_ref()
                .unwrap_or_else(|e| panic!("signing key but no public key: {e}"));
            assert_eq!(h.public(), *p, "signing key and public key disagree");
        }
        Err(_) => {
            // A public-only file still has its public key; nothing else to check.
        }
    }
    true
}

/// SS58: [`ss58_decode_any`] and [`PublicKey::from_ss58`] on text, and the encoder on the raw
/// bytes. What decodes re-encodes to an address that decodes to the same prefix and key; a key
/// that [`PublicKey::from_ss58`] accepts has prefix 42 and survives `to_ss58`.
pub fn ss58(data: &[u8]) -> bool {
    if let Some((key, rest)) = data.split_first_chunk::<32>() {
        let prefix = rest
            .first_chunk::<2>()
            .map_or(SS58_PREFIX, |p| u16::from_le_bytes(*p) & 0x3fff);
        let address = ss58_encode_with_prefix(key, prefix);
        assert_eq!(
            ss58_decode_any(&address),
            Ok((prefix, *key)),
            "encoded address does not decode"
        );
        let pk = PublicKey::from_bytes(*key);
        assert_eq!(PublicKey::from_ss58(&pk.to_ss58()), Ok(pk));
    }
    let Some(s) = text(data) else {
        return false;
    };
    let any = ss58_decode_any(s);
    if let Ok((prefix, key)) = &any {
        assert!(*prefix <= 0x3fff, "prefix {prefix} out of range");
        let again = ss58_encode_with_prefix(key, *prefix);
        assert_eq!(ss58_decode_any(&again).as_ref(), Ok(&(*prefix, *key)));
    }
    let strict = PublicKey::from_ss58(s);
    if let Ok(pk) = &strict {
        let canonical = pk.to_ss58();
        assert_eq!(PublicKey::from_ss58(&canonical).as_ref(), Ok(pk));
        assert_eq!(
            ss58_decode_any(&canonical),
            Ok((SS58_PREFIX, *pk.as_bytes()))
        );
        assert_eq!(s.parse::<PublicKey>().as_ref(), Ok(pk));
    }
    any.is_ok() || strict.is_ok()
}

/// SS58 canonical form: if [`PublicKey::from_ss58`] accepts a string, that string is exactly
/// the key's `to_ss58()` (one key, one accepted address).
pub fn ss58_canonical(data: &[u8]) -> bool {
    let Some(s) = text(data) else {
        return false;
    };
    let Ok(pk) = PublicKey::from_ss58(s) else {
        return false;
    };
    assert_eq!(
        pk.to_ss58(),
        s,
        "from_ss58 accepted a non-canonical spelling of {pk:?}"
    );
    true
}

/// What a tolerant hex parser is expected to have read: trimmed, without `0x`, lowercase.
fn normalized_hex(s: &str) -> String {
    let s = s.trim();
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
        .to_ascii_lowercase()
}

/// Hex: [`Signature::from_hex`], [`Signature::from_wire_hex`] and [`PublicKey::from_hex`].
/// What parses prints back to the same hex (lowercase, without `0x` and whitespace) and parses
/// again to the same value; the wire form accepts only that one spelling.
pub fn hex(data: &[u8]) -> bool {
    let Some(s) = text(data) else {
        return false;
    };
    let sig = Signature::from_hex(s);
    if let Ok(sig) = &sig {
        let h = sig.to_hex();
        assert_eq!(h.len(), 128);
        assert_eq!(normalized_hex(s), h, "signature hex read differently");
        assert_eq!(Signature::from_hex(&h).as_ref(), Ok(sig));
    }
    let wire = Signature::from_wire_hex(s);
    if let Ok(w) = &wire {
        assert_eq!(w.to_hex(), s, "the wire form accepted a second spelling");
        assert_eq!(sig.as_ref(), Ok(w), "the wire form and from_hex disagree");
    }
    let pk = PublicKey::from_hex(s);
    if let Ok(pk) = &pk {
        let h = pk.to_hex_0x();
        assert_eq!(
            format!("0x{}", normalized_hex(s)),
            h,
            "key hex read differently"
        );
        assert_eq!(PublicKey::from_hex(&h).as_ref(), Ok(pk));
    }
    sig.is_ok() || pk.is_ok()
}

/// Parses `data` as `T`; if it parses, serialising and parsing again gives a value `same` to it.
fn json_round_trip<T>(data: &[u8], same: fn(&T, &T) -> bool) -> Option<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let v: T = serde_json::from_slice(data).ok()?;
    let bytes = serde_json::to_vec(&v).expect("request serialises");
    let again: T = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "re-serialised {} does not parse: {e}",
            std::any::type_name::<T>()
        )
    });
    assert!(
        same(&v, &again),
        "request changed through JSON\n  before: {v:?}\n  after:  {again:?}"
    );
    Some(v)
}

/// What the coordinator does with a signed request after parsing it: the timestamp window and
/// the signature check, neither of which may panic.
fn authenticate(hotkey: &str, signature: &str, ts: i64, message: &str) {
    let _ = check_timestamp(ts, NOW);
    if verify_hex(hotkey, message.as_bytes(), signature).is_ok() {
        assert!(
            PublicKey::from_ss58(hotkey).is_ok(),
            "verified an unparsable hotkey"
        );
    }
}

/// The coordinator's request bodies (`StatusRequest`, `FolderAccessRequest`,
/// `ValidatorUploadRequest`, `ValidatorAccessRequest`, `MinerSpecificAccessRequest`) with
/// serde_json, as its handlers parse them, then the commitment and signature checks. Every body
/// that parses survives serialisation and a second parse.
pub fn requests(data: &[u8]) -> bool {
    let mut accepted = false;
    if let Some(r) = json_round_trip::<StatusRequest>(data, |a, b| a == b) {
        let id = r.epoch_id.to_string();
        assert_eq!(EpochId::parse(&id), Ok(r.epoch_id));
        authenticate(
            &r.hotkey,
            &r.signature,
            r.timestamp,
            &commitments::status(&id, r.timestamp),
        );
        accepted = true;
    }
    if let Some(r) = json_round_trip::<FolderAccessRequest>(data, |a, b| a == b) {
        let msg = commitments::folder_access(&r.coldkey, &r.hotkey, r.timestamp);
        authenticate(&r.hotkey, &r.signature, r.timestamp, &msg);
        let _ = r.expiry.saturating_sub(NOW);
        accepted = true;
    }
    if let Some(r) = json_round_trip::<ValidatorUploadRequest>(data, |a, b| {
        let (x, y) = (a.estimated_data_size_mb, b.estimated_data_size_mb);
        ulps(x, y) <= 1
            && ValidatorUploadRequest {
                estimated_data_size_mb: 0.0,
                ..a.clone()
            } == ValidatorUploadRequest {
                estimated_data_size_mb: 0.0,
                ..b.clone()
            }
    }) {
        assert!(
            r.estimated_data_size_mb.is_finite(),
            "JSON gave a non-finite size"
        );
        let msg = commitments::validator_upload(r.timestamp);
        authenticate(&r.hotkey, &r.signature, r.timestamp, &msg);
        accepted = true;
    }
    if let Some(r) = json_round_trip::<ValidatorAccessRequest>(data, |a, b| a == b) {
        let msg = commitments::validator_access(r.timestamp);
        authenticate(&r.hotkey, &r.signature, r.timestamp, &msg);
        accepted = true;
    }
    if let Some(r) = json_round_trip::<MinerSpecificAccessRequest>(data, |a, b| a == b) {
        let msg = commitments::miner_specific_access(&r.miner_hotkey, r.timestamp);
        authenticate(&r.hotkey, &r.signature, r.timestamp, &msg);
        let _ = PublicKey::from_ss58(&r.miner_hotkey);
        accepted = true;
    }
    accepted
}

/// Epoch ids: [`EpochId::parse`] and [`EpochSchedule::parse_id`]. An id that parses prints
/// back to itself (also through serde); an id a schedule accepts starts an epoch of that
/// schedule's length, which is the epoch containing its start.
pub fn epoch_id(data: &[u8]) -> bool {
    let Some(s) = text(data) else {
        return false;
    };
    let Ok(id) = EpochId::parse(s) else {
        for len in [DEFAULT_EPOCH_SECS, 60] {
            let schedule = EpochSchedule::new(len).expect("nonzero length");
            assert!(schedule.parse_id(s).is_err(), "schedule accepted a bad id");
        }
        return false;
    };
    assert_eq!(id.to_string(), s, "epoch id does not print back to itself");
    let json = serde_json::to_string(&id).expect("epoch id serialises");
    assert_eq!(json, serde_json::to_string(s).expect("string serialises"));
    assert_eq!(serde_json::from_str::<EpochId>(&json).ok(), Some(id));
    for len in [DEFAULT_EPOCH_SECS, 3600, 600, 90, 60, 1] {
        let schedule = EpochSchedule::new(len).expect("nonzero length");
        let on_boundary = id.start_unix().rem_euclid(i64::from(len)) == 0;
        match schedule.parse_id(s) {
            Ok(epoch) => {
                assert!(on_boundary, "{s} accepted off a {len}-second boundary");
                assert_eq!(epoch.id, id);
                assert_eq!(
                    epoch.end.timestamp() - epoch.start().timestamp(),
                    i64::from(len)
                );
                assert!(epoch.contains(id.start_unix()));
                assert_eq!(schedule.containing(id.start_unix()), Ok(epoch));
                let _ = schedule.previous(id.start_unix());
                let _ = schedule.next(id.start_unix());
            }
            Err(_) => {
                // Off the boundary, or an epoch whose end chrono cannot represent.
                assert!(!on_boundary || id.start().timestamp() > 253_402_300_799 - 86_400);
            }
        }
    }
    true
}
