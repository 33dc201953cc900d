//! Consensus hashes (spec "Consensus"):
//! - `params_sha256 = sha256(canonical params JSON)`;
//! - `outcome_hash = sha256("resi/consensus/v1" || policy_wasm_sha256 (32 raw bytes) ||
//!   params_sha256 (32 raw bytes) || epoch_id (UTF-8) || canonical_outcome (UTF-8))`;
//! - `input_hash = sha256("resi/input/v1" || canonical_input)` where `canonical_input` is the
//!   RFC 8785 JSON `{"epoch":E,"zipcodes":[Z...]}`: `E` as [`crate::input::epoch_value`], one
//!   `Z` per zipcode sorted by zipcode as [`crate::input::zipcode_value`] (assignment,
//!   submissions sorted by hotkey with listings in file order, and the observations the policy
//!   was given, sorted by (hotkey, index)). Params are not part of it: they are pinned by
//!   `params_sha256`.
//!
//! [`input_hash`] hashes a whole [`EpochRun`]; [`InputHasher`] computes the same digest one
//! zipcode at a time (fed in ascending zipcode order), which is what the streaming
//! [`crate::runner::EpochRunner`] uses.

use crate::error::InputError;
use crate::input::{EpochRun, ZipcodeBatch, ZipcodeInput, epoch_value, zipcode_value};
use resi_rules::batch::ListingView;
use resi_sandbox::policy::wit;
use sha2::{Digest, Sha256};
use zipcode_competitive_core::canonical;

/// Domain tag of `outcome_hash`.
pub const CONSENSUS_DOMAIN: &[u8] = b"resi/consensus/v1";
/// Domain tag of `input_hash`.
pub const INPUT_DOMAIN: &[u8] = b"resi/input/v1";

/// A 32-byte sha256 digest.
pub type Digest32 = [u8; 32];

/// sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest32 {
    Sha256::digest(bytes).into()
}

/// Canonical JSON (RFC 8785, integers only) of any integer-only JSON text.
pub fn canonicalize_json(json: &str) -> Result<String, InputError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| InputError::Json(e.to_string()))?;
    canonicalize_value(&value)
}

/// Canonical JSON (RFC 8785, integers only) of a parsed JSON value.
pub fn canonicalize_value(value: &serde_json::Value) -> Result<String, InputError> {
    Ok(canonical::from_json(value)
        .map_err(InputError::NotInteger)?
        .to_canonical())
}

/// `params_sha256`: sha256 of the canonical params JSON.
pub fn params_sha256(canonical_params: &str) -> Digest32 {
    sha256(canonical_params.as_bytes())
}

/// `outcome_hash` of a canonical outcome.
pub fn outcome_hash(
    policy_wasm_sha256: &Digest32,
    params_sha256: &Digest32,
    epoch_id: &str,
    canonical_outcome: &str,
) -> Digest32 {
    let mut h = Sha256::new();
    h.update(CONSENSUS_DOMAIN);
    h.update(policy_wasm_sha256);
    h.update(params_sha256);
    h.update(epoch_id.as_bytes());
    h.update(canonical_outcome.as_bytes());
    h.finalize().into()
}

/// `input_hash` of an epoch and the observations the policy was given per zipcode
/// (`observations[i]` belongs to `run.zipcodes[i]`), whatever the order of `run.zipcodes`.
/// Streams the canonical JSON into the hash one submission at a time through an
/// [`InputHasher`]; the result equals hashing the canonical JSON built from [`epoch_value`]
/// and [`zipcode_value`] (checked by a test).
pub fn input_hash(run: &EpochRun, observations: &[Vec<wit::Observation>]) -> Digest32 {
    let mut order: Vec<usize> = (0..run.zipcodes.len()).collect();
    order.sort_by(|a, b| {
        run.zipcodes[*a]
            .assignment
            .zipcode
            .cmp(&run.zipcodes[*b].assignment.zipcode)
    });
    let mut h = InputHasher::new(&run.epoch);
    for i in order {
        let obs = observations.get(i).map(Vec::as_slice).unwrap_or(&[]);
        h.zipcode(&ZipcodeBatch::from_input(&run.zipcodes[i]), obs);
    }
    h.finish()
}

/// `input_hash` computed incrementally, one zipcode at a time, so that no more than one
/// zipcode's input has to be held: [`InputHasher::new`] with the epoch, then
/// [`InputHasher::zipcode`] for every zipcode **in ascending zipcode order** (the byte order of
/// the zipcode strings, the order of [`input_hash`]), then [`InputHasher::finish`].
///
/// The hasher does not check the order (feeding zipcodes in another order simply gives another
/// hash); [`crate::runner::EpochRunner`] enforces it.
#[derive(Debug, Clone)]
pub struct InputHasher {
    h: Sha256,
    zipcodes: usize,
}

impl InputHasher {
    /// Starts the canonical document with the epoch facts.
    pub fn new(epoch: &wit::Epoch) -> Self {
        let mut h = Sha256::new();
        h.update(INPUT_DOMAIN);
        h.update(b"{\"epoch\":");
        h.update(epoch_value(epoch).to_canonical().as_bytes());
        h.update(b",\"zipcodes\":[");
        InputHasher { h, zipcodes: 0 }
    }

    /// Appends one zipcode's input and the observations the policy was given for it (in any
    /// order: they are sorted by (hotkey, index) as [`zipcode_value`] does).
    pub fn zipcode(&mut self, z: &ZipcodeBatch, observations: &[wit::Observation]) {
        if self.zipcodes > 0 {
            self.h.update(b",");
        }
        stream_zipcode(&mut self.h, z, observations);
        self.zipcodes += 1;
    }

    /// Appends one zipcode's part of the canonical input as [`zipcode_canonical`] wrote it
    /// (the same bytes [`InputHasher::zipcode`] would hash).
    pub fn zipcode_canonical(&mut self, canonical: &[u8]) {
        if self.zipcodes > 0 {
            self.h.update(b",");
        }
        self.h.update(canonical);
        self.zipcodes += 1;
    }

    /// Zipcodes appended so far.
    pub fn zipcodes(&self) -> usize {
        self.zipcodes
    }

    /// Closes the document and returns `input_hash`.
    pub fn finish(mut self) -> Digest32 {
        self.h.update(b"]}");
        self.h.finalize().into()
    }
}

/// The canonical JSON of [`zipcode_value`] (one zipcode's part of the canonical input), as
/// [`InputHasher::zipcode`] hashes it; built on a worker thread and hashed in order by
/// [`InputHasher::zipcode_canonical`].
pub fn zipcode_canonical(z: &ZipcodeBatch, observations: &[wit::Observation]) -> Vec<u8> {
    let mut out = Vec::new();
    write_zipcode(&mut |b: &[u8]| out.extend_from_slice(b), z, observations);
    out
}

/// Feeds the canonical JSON of [`zipcode_value`] to `h` without building it whole.
fn stream_zipcode(h: &mut Sha256, z: &ZipcodeBatch, observations: &[wit::Observation]) {
    write_zipcode(&mut |b: &[u8]| h.update(b), z, observations);
}

/// Writes the canonical JSON of [`zipcode_value`] to `sink` piece by piece (one definition
/// for the streamed hash and the bytes built on workers).
fn write_zipcode(sink: &mut dyn FnMut(&[u8]), z: &ZipcodeBatch, observations: &[wit::Observation]) {
    // Small parts through the generic writer; submissions (the bulk) written directly. Keys in
    // canonical order: assignment < observations < submissions.
    let head = zipcode_value(
        &ZipcodeInput {
            assignment: z.assignment().clone(),
            submissions: Vec::new(),
        },
        observations,
    )
    .to_canonical();
    let head = head.strip_suffix("[]}").unwrap_or(&head);
    sink(head.as_bytes());
    sink(b"[");
    let mut subs: Vec<(usize, &wit::SubmissionHead)> = z.heads().iter().enumerate().collect();
    subs.sort_by(|x, y| x.1.hotkey.cmp(&y.1.hotkey));
    let mut buf = String::new();
    for (n, (i, s)) in subs.iter().enumerate() {
        buf.clear();
        if n > 0 {
            buf.push(',');
        }
        buf.push_str("{\"digest\":\"");
        buf.push_str(&hex::encode(&s.digest));
        buf.push_str("\",\"hotkey\":");
        write_str(&s.hotkey, &mut buf);
        buf.push_str(",\"listings\":[");
        // Whole listings (checked by `SubmissionBatch::new`); UTF-8 is checked by whoever made
        // the batch (ingestion's parquet reader, records' strings). A batch that breaks it is
        // refused by every policy call and records decoding, so no hash of it is published.
        for (k, l) in z.listings(*i).map_while(Result::ok).enumerate() {
            if k > 0 {
                buf.push(',');
            }
            write_listing(&l, &mut buf);
            if buf.len() >= 1 << 16 {
                sink(buf.as_bytes());
                buf.clear();
            }
        }
        buf.push_str(if s.manifest_ok {
            "],\"manifest_ok\":true,\"submitted_at_ms\":"
        } else {
            "],\"manifest_ok\":false,\"submitted_at_ms\":"
        });
        resi_rules::json::write_u64(s.submitted_at_ms, &mut buf);
        buf.push('}');
        sink(buf.as_bytes());
    }
    sink(b"]}");
}

/// Canonical JSON of a listing, as [`crate::input::listing_value`] but written directly
/// (keys in their sorted order).
pub fn write_listing(l: &ListingView<'_>, out: &mut String) {
    fn opt_s(key: &str, v: Option<&str>, out: &mut String) {
        out.push_str(key);
        match v {
            Some(s) => write_str(s, out),
            None => out.push_str("null"),
        }
    }
    fn opt_i<T: Into<u64>>(key: &str, v: Option<T>, out: &mut String) {
        out.push_str(key);
        match v {
            Some(v) => resi_rules::json::write_u64(v.into(), out),
            None => out.push_str("null"),
        }
    }
    out.push_str("{\"address\":");
    write_str(l.address, out);
    opt_i(",\"bathrooms_hundredths\":", l.bathrooms_hundredths, out);
    opt_i(",\"bedrooms\":", l.bedrooms, out);
    opt_i(",\"days_on_market\":", l.days_on_market, out);
    out.push_str(",\"listing_date\":");
    write_str(l.listing_date, out);
    out.push_str(",\"listing_status\":");
    write_str(l.listing_status, out);
    opt_s(",\"mls_id\":", l.mls_id, out);
    opt_i(",\"price\":", l.price, out);
    out.push_str(",\"property_type\":");
    write_str(l.property_type, out);
    out.push_str(",\"scraped_timestamp\":");
    write_str(l.scraped_timestamp, out);
    out.push_str(",\"source_url\":");
    write_str(l.source_url, out);
    opt_i(",\"sqft\":", l.sqft, out);
    out.push_str(",\"zipcode\":");
    write_str(l.zipcode, out);
    opt_s(",\"zpid\":", l.zpid, out);
    out.push('}');
}

/// An RFC 8785 string: the rule of `resi_rules::json` (same escaping as the canonical
/// writer, checked by a test).
fn write_str(s: &str, out: &mut String) {
    resi_rules::json::write_string(s, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::listing_value;

    fn listing(address: &str) -> wit::Listing {
        wit::Listing {
            zpid: Some("z\"1".into()),
            mls_id: None,
            address: address.into(),
            zipcode: "19103".into(),
            price: Some(1),
            bedrooms: None,
            bathrooms_hundredths: Some(250),
            sqft: None,
            listing_date: "2025-09-30".into(),
            property_type: "CONDO".into(),
            listing_status: "FOR_SALE".into(),
            days_on_market: Some(0),
            source_url: "https://x.invalid/a\\b".into(),
            scraped_timestamp: "2025-10-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn streamed_input_hash_equals_the_canonical_document() {
        let sub = |hotkey: &str, listings: Vec<wit::Listing>| wit::Submission {
            hotkey: hotkey.into(),
            submitted_at_ms: 7,
            manifest_ok: hotkey != "b",
            digest: vec![1, 2, 255],
            listings,
        };
        let z = |zip: &str, subs: Vec<wit::Submission>| ZipcodeInput {
            assignment: wit::Assignment {
                zipcode: zip.into(),
                expected: 3,
                honeypot: zip == "2",
                true_count: 9,
            },
            submissions: subs,
        };
        let run = EpochRun {
            epoch: wit::Epoch {
                epoch_id: "e".into(),
                nonce: "n".into(),
                validation_seed: vec![9; 32],
                deadline_ms: 5,
            },
            zipcodes: vec![
                z(
                    "2",
                    vec![
                        sub("b", vec![listing("1 Main\tSt\u{1}"), listing("Ünïcode ☃")]),
                        sub("a", vec![]),
                    ],
                ),
                z("1", vec![]),
            ],
        };
        let obs = vec![
            vec![
                wit::Observation {
                    hotkey: "b".into(),
                    index: 1,
                    seen: wit::Observed::NotFound,
                },
                wit::Observation {
                    hotkey: "b".into(),
                    index: 0,
                    seen: wit::Observed::Found(listing("x")),
                },
            ],
            vec![],
        ];
        let mut doc = String::from("{\"epoch\":");
        doc.push_str(&epoch_value(&run.epoch).to_canonical());
        doc.push_str(",\"zipcodes\":[");
        doc.push_str(&zipcode_value(&run.zipcodes[1], &obs[1]).to_canonical());
        doc.push(',');
        doc.push_str(&zipcode_value(&run.zipcodes[0], &obs[0]).to_canonical());
        doc.push_str("]}");
        let mut prefixed = INPUT_DOMAIN.to_vec();
        prefixed.extend_from_slice(doc.as_bytes());
        assert_eq!(input_hash(&run, &obs), sha256(&prefixed));

        let mut direct = String::new();
        let first = &run.zipcodes[0].submissions[0].listings[0];
        write_listing(&resi_sandbox::policy::batch_view(first), &mut direct);
        assert_eq!(direct, listing_value(first).to_canonical());
    }
}
