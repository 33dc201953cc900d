//! Epoch inputs as JSON (what test vectors hold and what a validator can dump for a dispute),
//! their conversion into the WIT types a policy takes, and their canonical form for
//! `input_hash`.
//!
//! JSON field names are snake_case; byte strings (`validation_seed`, `digest`) are lowercase
//! hex; money is whole dollars and bathrooms are hundredths, so every number is an integer.

use crate::error::InputError;
use resi_rules::batch::{self, BatchError, BatchReader, ListingView};
use resi_sandbox::policy::{decode_batch, encode_batch, wit};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use zipcode_competitive_core::canonical::{Value, object, opt_int, opt_string, string};

/// Epoch-wide facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochJson {
    /// Epoch id.
    pub epoch_id: String,
    /// Epoch nonce.
    pub nonce: String,
    /// Validation seed, 32 bytes as hex.
    pub validation_seed: String,
    /// Submission deadline, unix milliseconds.
    pub deadline_ms: u64,
}

/// One assigned zipcode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentJson {
    /// The zipcode.
    pub zipcode: String,
    /// Expected listing count.
    pub expected: u32,
    /// Honeypot zipcode.
    #[serde(default)]
    pub honeypot: bool,
    /// True listing count (honeypots).
    #[serde(default)]
    pub true_count: u32,
}

/// One listing record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingJson {
    /// Zillow property id.
    #[serde(default)]
    pub zpid: Option<String>,
    /// MLS number.
    #[serde(default)]
    pub mls_id: Option<String>,
    /// Street address.
    pub address: String,
    /// Zipcode.
    pub zipcode: String,
    /// Price, whole dollars.
    #[serde(default)]
    pub price: Option<u64>,
    /// Bedrooms.
    #[serde(default)]
    pub bedrooms: Option<u32>,
    /// Bathrooms, hundredths.
    #[serde(default)]
    pub bathrooms_hundredths: Option<u32>,
    /// Living area, sqft.
    #[serde(default)]
    pub sqft: Option<u32>,
    /// Listing date (ISO 8601).
    pub listing_date: String,
    /// Property type.
    pub property_type: String,
    /// Listing status.
    pub listing_status: String,
    /// Days on market.
    #[serde(default)]
    pub days_on_market: Option<u32>,
    /// Source URL.
    pub source_url: String,
    /// Scrape time (ISO 8601).
    pub scraped_timestamp: String,
}

/// One miner's submission for one zipcode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionJson {
    /// Miner hotkey.
    pub hotkey: String,
    /// Assigned zipcode this submission is for.
    pub zipcode: String,
    /// Object-store time of the manifest, unix milliseconds.
    pub submitted_at_ms: u64,
    /// Manifest verified by the host.
    pub manifest_ok: bool,
    /// sha256 of the listings file, hex.
    pub digest: String,
    /// Listings in file order.
    pub listings: Vec<ListingJson>,
}

/// What the verifier saw for one listing.
#[allow(
    clippy::large_enum_variant,
    reason = "mirrors the WIT variant; observations are few"
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum ObservedJson {
    /// The source has it; its record.
    Found {
        /// The record at the source.
        listing: ListingJson,
    },
    /// The source does not have it.
    NotFound,
    /// The verifier could not tell.
    Unverifiable,
}

/// A recorded observation, keyed by (hotkey, zipcode, listing index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservationJson {
    /// Miner hotkey.
    pub hotkey: String,
    /// Zipcode of the submission.
    pub zipcode: String,
    /// Listing position in the submission.
    pub index: u32,
    /// What was seen.
    pub seen: ObservedJson,
}

/// A whole epoch's input to a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochInput {
    /// Epoch facts.
    pub epoch: EpochJson,
    /// Policy parameters (integer-only JSON object); `null`/absent = the policy's defaults.
    #[serde(default)]
    pub params: Option<serde_json::Value>,
    /// Assigned zipcodes.
    pub assignments: Vec<AssignmentJson>,
    /// Submissions, at most one per (hotkey, zipcode).
    pub submissions: Vec<SubmissionJson>,
    /// Recorded spot-check observations; a requested listing with none is `unverifiable`.
    #[serde(default)]
    pub observations: Vec<ObservationJson>,
}

/// One zipcode's policy input in WIT types.
#[derive(Debug, Clone)]
pub struct ZipcodeInput {
    /// The assignment.
    pub assignment: wit::Assignment,
    /// Its submissions, in input order.
    pub submissions: Vec<wit::Submission>,
}

/// One submission's head and its listings as a listing batch (`resi_rules::batch`): what
/// ingestion makes of one submission file.
#[derive(Debug, Clone)]
pub struct SubmissionBatch {
    head: wit::SubmissionHead,
    batch: Vec<u8>,
}

impl SubmissionBatch {
    /// A submission whose listings are `batch`; refused unless the batch holds exactly
    /// `head.listings` whole listings. (Strings are checked to be UTF-8 when read.)
    pub fn new(head: wit::SubmissionHead, batch: Vec<u8>) -> Result<Self, BatchError> {
        batch::index(&batch, u64::from(head.listings))?;
        Ok(SubmissionBatch { head, batch })
    }

    /// A submission of records, encoded.
    pub fn from_records(s: &wit::Submission) -> Self {
        SubmissionBatch {
            head: head_of(s),
            batch: encode_batch(std::slice::from_ref(s)),
        }
    }

    /// The head.
    pub fn head(&self) -> &wit::SubmissionHead {
        &self.head
    }
}

/// The head of a submission of records.
fn head_of(s: &wit::Submission) -> wit::SubmissionHead {
    wit::SubmissionHead {
        hotkey: s.hotkey.clone(),
        submitted_at_ms: s.submitted_at_ms,
        manifest_ok: s.manifest_ok,
        digest: s.digest.clone(),
        listings: u32::try_from(s.listings.len()).unwrap_or(u32::MAX),
    }
}

/// One zipcode as the runner scores it: the assignment, each submission's head, and every
/// listing in one listing batch, the submissions' listings back to back in their order (what
/// a `resi:policy@1.1.0` policy is given as it is). The validator reads submission files
/// straight into this form ([`SubmissionBatch`]); records ([`ZipcodeInput`], the form of
/// vector files) are converted by [`ZipcodeBatch::from_input`].
#[derive(Debug, Clone)]
pub struct ZipcodeBatch {
    assignment: wit::Assignment,
    heads: Vec<wit::SubmissionHead>,
    /// Byte offset in `batch` of each submission's listings, and the batch's length last.
    starts: Vec<usize>,
    batch: Vec<u8>,
}

impl ZipcodeBatch {
    /// The zipcode of `assignment` with `submissions`, in this order.
    pub fn new(assignment: wit::Assignment, submissions: Vec<SubmissionBatch>) -> Self {
        let mut z = ZipcodeBatch::empty(assignment);
        z.batch
            .reserve_exact(submissions.iter().map(|s| s.batch.len()).sum());
        for s in submissions {
            z.push(s);
        }
        z
    }

    /// The zipcode of `assignment` without submissions (yet: [`ZipcodeBatch::push`]).
    pub fn empty(assignment: wit::Assignment) -> Self {
        ZipcodeBatch {
            assignment,
            heads: Vec::new(),
            starts: vec![0],
            batch: Vec::new(),
        }
    }

    /// Appends a submission (its batch is dropped once copied).
    pub fn push(&mut self, s: SubmissionBatch) {
        self.batch.extend_from_slice(&s.batch);
        drop(s.batch);
        self.starts.push(self.batch.len());
        self.heads.push(s.head);
    }

    /// A zipcode of records, encoded.
    pub fn from_input(z: &ZipcodeInput) -> Self {
        ZipcodeBatch::new(
            z.assignment.clone(),
            z.submissions
                .iter()
                .map(SubmissionBatch::from_records)
                .collect(),
        )
    }

    /// The assignment.
    pub fn assignment(&self) -> &wit::Assignment {
        &self.assignment
    }

    /// The submissions' heads, in input order.
    pub fn heads(&self) -> &[wit::SubmissionHead] {
        &self.heads
    }

    /// The listing batch of every submission.
    pub fn batch(&self) -> &[u8] {
        &self.batch
    }

    /// Submission `i`'s listings, in file order (empty past the last submission).
    pub fn listings(
        &self,
        i: usize,
    ) -> impl Iterator<Item = Result<ListingView<'_>, BatchError>> + '_ {
        let (from, to) = match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&from), Some(&to)) => (from, to),
            _ => (0, 0),
        };
        let mut reader = BatchReader::new(&self.batch[from..to]);
        std::iter::from_fn(move || reader.next_listing())
    }

    /// The submissions as records (what a `resi:policy@1.0.0` policy takes).
    pub fn records(&self) -> Result<Vec<wit::Submission>, BatchError> {
        self.heads
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let (from, to) = (self.starts[i], self.starts[i + 1]);
                Ok(wit::Submission {
                    hotkey: h.hotkey.clone(),
                    submitted_at_ms: h.submitted_at_ms,
                    manifest_ok: h.manifest_ok,
                    digest: h.digest.clone(),
                    listings: decode_batch(&self.batch[from..to], u64::from(h.listings))?,
                })
            })
            .collect()
    }

    /// The zipcode as records ([`ZipcodeBatch::records`]).
    pub fn to_input(&self) -> Result<ZipcodeInput, BatchError> {
        Ok(ZipcodeInput {
            assignment: self.assignment.clone(),
            submissions: self.records()?,
        })
    }
}

/// An epoch in WIT types, ready for a runner.
#[derive(Debug, Clone)]
pub struct EpochRun {
    /// Epoch facts.
    pub epoch: wit::Epoch,
    /// Zipcodes in input order.
    pub zipcodes: Vec<ZipcodeInput>,
}

impl EpochRun {
    /// Sum of `expected` over non-honeypot zipcodes (the policy's `total-expected`).
    pub fn total_expected(&self) -> u64 {
        self.zipcodes
            .iter()
            .filter(|z| !z.assignment.honeypot)
            .map(|z| u64::from(z.assignment.expected))
            .sum()
    }
}

/// Recorded observations keyed by (hotkey, zipcode, index).
pub type ObservationMap = BTreeMap<(String, String, u32), wit::Observed>;

fn hex_bytes(field: &'static str, s: &str) -> Result<Vec<u8>, InputError> {
    hex::decode(s).map_err(|e| InputError::Hex {
        field,
        value: s.to_string(),
        reason: e.to_string(),
    })
}

/// A vector file's listing as the policy's WIT record (the same fields; the other listing
/// conversions are in `resi_sandbox::listing`).
impl From<&ListingJson> for wit::Listing {
    fn from(l: &ListingJson) -> Self {
        wit::Listing {
            zpid: l.zpid.clone(),
            mls_id: l.mls_id.clone(),
            address: l.address.clone(),
            zipcode: l.zipcode.clone(),
            price: l.price,
            bedrooms: l.bedrooms,
            bathrooms_hundredths: l.bathrooms_hundredths,
            sqft: l.sqft,
            listing_date: l.listing_date.clone(),
            property_type: l.property_type.clone(),
            listing_status: l.listing_status.clone(),
            days_on_market: l.days_on_market,
            source_url: l.source_url.clone(),
            scraped_timestamp: l.scraped_timestamp.clone(),
        }
    }
}

/// The policy's WIT record in a vector file's JSON form.
impl From<&wit::Listing> for ListingJson {
    fn from(l: &wit::Listing) -> Self {
        ListingJson {
            zpid: l.zpid.clone(),
            mls_id: l.mls_id.clone(),
            address: l.address.clone(),
            zipcode: l.zipcode.clone(),
            price: l.price,
            bedrooms: l.bedrooms,
            bathrooms_hundredths: l.bathrooms_hundredths,
            sqft: l.sqft,
            listing_date: l.listing_date.clone(),
            property_type: l.property_type.clone(),
            listing_status: l.listing_status.clone(),
            days_on_market: l.days_on_market,
            source_url: l.source_url.clone(),
            scraped_timestamp: l.scraped_timestamp.clone(),
        }
    }
}

impl EpochInput {
    /// Converts to WIT types plus the recorded observations. Refuses a validation seed that
    /// is not 32 bytes, bad hex, duplicate zipcodes, duplicate (hotkey, zipcode) submissions,
    /// submissions or observations for zipcodes that are not assigned, and duplicate
    /// observations.
    pub fn to_run(&self) -> Result<(EpochRun, ObservationMap), InputError> {
        let seed = hex_bytes("validation_seed", &self.epoch.validation_seed)?;
        if seed.len() != 32 {
            return Err(InputError::SeedLength(seed.len()));
        }
        let epoch = wit::Epoch {
            epoch_id: self.epoch.epoch_id.clone(),
            nonce: self.epoch.nonce.clone(),
            validation_seed: seed,
            deadline_ms: self.epoch.deadline_ms,
        };
        let mut position = BTreeMap::new();
        let mut zipcodes = Vec::with_capacity(self.assignments.len());
        for a in &self.assignments {
            if position.insert(a.zipcode.clone(), zipcodes.len()).is_some() {
                return Err(InputError::Duplicate(format!(
                    "assignment of zipcode {}",
                    a.zipcode
                )));
            }
            zipcodes.push(ZipcodeInput {
                assignment: wit::Assignment {
                    zipcode: a.zipcode.clone(),
                    expected: a.expected,
                    honeypot: a.honeypot,
                    true_count: a.true_count,
                },
                submissions: Vec::new(),
            });
        }
        let mut seen = BTreeSet::new();
        for s in &self.submissions {
            let Some(&i) = position.get(&s.zipcode) else {
                return Err(InputError::Unassigned(
                    format!("submission of {}", s.hotkey),
                    s.zipcode.clone(),
                ));
            };
            if !seen.insert((s.hotkey.clone(), s.zipcode.clone())) {
                return Err(InputError::Duplicate(format!(
                    "submission of {} for zipcode {}",
                    s.hotkey, s.zipcode
                )));
            }
            zipcodes[i].submissions.push(wit::Submission {
                hotkey: s.hotkey.clone(),
                submitted_at_ms: s.submitted_at_ms,
                manifest_ok: s.manifest_ok,
                digest: hex_bytes("digest", &s.digest)?,
                listings: s.listings.iter().map(wit::Listing::from).collect(),
            });
        }
        let mut observations = ObservationMap::new();
        for o in &self.observations {
            if !position.contains_key(&o.zipcode) {
                return Err(InputError::Unassigned(
                    format!("observation of {}", o.hotkey),
                    o.zipcode.clone(),
                ));
            }
            let seen = match &o.seen {
                ObservedJson::Found { listing } => wit::Observed::Found(listing.into()),
                ObservedJson::NotFound => wit::Observed::NotFound,
                ObservedJson::Unverifiable => wit::Observed::Unverifiable,
            };
            if observations
                .insert((o.hotkey.clone(), o.zipcode.clone(), o.index), seen)
                .is_some()
            {
                return Err(InputError::Duplicate(format!(
                    "observation of listing {} of {} in zipcode {}",
                    o.index, o.hotkey, o.zipcode
                )));
            }
        }
        Ok((EpochRun { epoch, zipcodes }, observations))
    }
}

/// Canonical value of a WIT listing (keys as in [`ListingJson`], `null` for absent fields).
pub fn listing_value(l: &wit::Listing) -> Value {
    object([
        ("zpid", opt_string(&l.zpid)),
        ("mls_id", opt_string(&l.mls_id)),
        ("address", string(&l.address)),
        ("zipcode", string(&l.zipcode)),
        ("price", opt_int(l.price)),
        ("bedrooms", opt_int(l.bedrooms)),
        ("bathrooms_hundredths", opt_int(l.bathrooms_hundredths)),
        ("sqft", opt_int(l.sqft)),
        ("listing_date", string(&l.listing_date)),
        ("property_type", string(&l.property_type)),
        ("listing_status", string(&l.listing_status)),
        ("days_on_market", opt_int(l.days_on_market)),
        ("source_url", string(&l.source_url)),
        ("scraped_timestamp", string(&l.scraped_timestamp)),
    ])
}

/// Canonical value of the epoch facts.
pub fn epoch_value(e: &wit::Epoch) -> Value {
    object([
        ("epoch_id", string(&e.epoch_id)),
        ("nonce", string(&e.nonce)),
        (
            "validation_seed",
            Value::Str(hex::encode(&e.validation_seed)),
        ),
        ("deadline_ms", Value::Int(i128::from(e.deadline_ms))),
    ])
}

/// Canonical value of one zipcode's input: the assignment, submissions sorted by hotkey
/// (listings in file order), and observations sorted by (hotkey, index).
pub fn zipcode_value(z: &ZipcodeInput, observations: &[wit::Observation]) -> Value {
    let a = &z.assignment;
    let mut subs: Vec<&wit::Submission> = z.submissions.iter().collect();
    subs.sort_by(|x, y| x.hotkey.cmp(&y.hotkey));
    let mut obs: Vec<&wit::Observation> = observations.iter().collect();
    obs.sort_by(|x, y| (&x.hotkey, x.index).cmp(&(&y.hotkey, y.index)));
    object([
        (
            "assignment",
            object([
                ("zipcode", string(&a.zipcode)),
                ("expected", Value::Int(i128::from(a.expected))),
                ("honeypot", Value::Bool(a.honeypot)),
                ("true_count", Value::Int(i128::from(a.true_count))),
            ]),
        ),
        (
            "submissions",
            Value::Array(
                subs.iter()
                    .map(|s| {
                        object([
                            ("hotkey", string(&s.hotkey)),
                            ("submitted_at_ms", Value::Int(i128::from(s.submitted_at_ms))),
                            ("manifest_ok", Value::Bool(s.manifest_ok)),
                            ("digest", Value::Str(hex::encode(&s.digest))),
                            (
                                "listings",
                                Value::Array(s.listings.iter().map(listing_value).collect()),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "observations",
            Value::Array(
                obs.iter()
                    .map(|o| {
                        let seen = match &o.seen {
                            wit::Observed::Found(l) => {
                                object([("status", string("found")), ("listing", listing_value(l))])
                            }
                            wit::Observed::NotFound => object([("status", string("not_found"))]),
                            wit::Observed::Unverifiable => {
                                object([("status", string("unverifiable"))])
                            }
                        };
                        object([
                            ("hotkey", string(&o.hotkey)),
                            ("index", Value::Int(i128::from(o.index))),
                            ("seen", seen),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}
