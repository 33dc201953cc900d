//! Plain Rust mirrors of the `resi:policy` WIT records the policy works on.
//!
//! The core crate knows nothing about wit-bindgen: the wasm adapter and the host's native
//! backend both convert their own types into these.

/// One property listing (the listing record of the SN46 protocol, integers only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// Zillow property id, when the source has one.
    pub zpid: Option<String>,
    /// MLS number, when the source has one.
    pub mls_id: Option<String>,
    /// Street address as shown by the source.
    pub address: String,
    /// 5-digit US zipcode.
    pub zipcode: String,
    /// Price in whole US dollars.
    pub price: Option<u64>,
    /// Bedroom count.
    pub bedrooms: Option<u32>,
    /// Bathrooms in hundredths (2.5 baths = 250).
    pub bathrooms_hundredths: Option<u32>,
    /// Living area in square feet.
    pub sqft: Option<u32>,
    /// ISO 8601 date (or date-time) the listing was published.
    pub listing_date: String,
    /// Property type (SINGLE_FAMILY, CONDO, ...).
    pub property_type: String,
    /// Listing status (FOR_SALE, SOLD, ...).
    pub listing_status: String,
    /// Days on market.
    pub days_on_market: Option<u32>,
    /// URL of the listing at the source.
    pub source_url: String,
    /// ISO 8601 date-time the scraper read the listing.
    pub scraped_timestamp: String,
}

/// What a verifier needs to find a listing again at its source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListingRef {
    /// Zillow property id.
    pub zpid: Option<String>,
    /// MLS number.
    pub mls_id: Option<String>,
    /// Zipcode the listing claims.
    pub zipcode: String,
    /// Address the listing claims.
    pub address: String,
    /// Source URL the listing claims.
    pub source_url: String,
}

impl ListingRef {
    /// The reference a verifier needs for `listing`.
    pub fn of(listing: &Listing) -> Self {
        ListingRef {
            zpid: listing.zpid.clone(),
            mls_id: listing.mls_id.clone(),
            zipcode: listing.zipcode.clone(),
            address: listing.address.clone(),
            source_url: listing.source_url.clone(),
        }
    }
}

/// Epoch-wide facts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Epoch {
    /// Epoch id, e.g. `2025-10-01T16-00-00`.
    pub epoch_id: String,
    /// Epoch nonce.
    pub nonce: String,
    /// 32 bytes revealed by the coordinator after the deadline.
    pub validation_seed: Vec<u8>,
    /// Submission deadline, unix milliseconds.
    pub deadline_ms: u64,
}

/// One assigned zipcode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// The zipcode.
    pub zipcode: String,
    /// Expected listing count.
    pub expected: u32,
    /// Whether the zipcode is a honeypot.
    pub honeypot: bool,
    /// True listing count (meaningful for honeypots).
    pub true_count: u32,
}

/// One miner's submission for one zipcode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Submission {
    /// Miner hotkey (ss58).
    pub hotkey: String,
    /// Object-store time of the manifest, unix milliseconds.
    pub submitted_at_ms: u64,
    /// Manifest signature, nonce and digests verified by the host.
    pub manifest_ok: bool,
    /// sha256 of the listings file.
    pub digest: Vec<u8>,
    /// The listings, in file order.
    pub listings: Vec<Listing>,
}

/// A listing the policy wants looked up at its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRequest {
    /// Miner hotkey.
    pub hotkey: String,
    /// Position of the listing in the submission.
    pub index: u32,
    /// What to look up.
    pub target: ListingRef,
}

/// What the verifier saw.
#[allow(
    clippy::large_enum_variant,
    reason = "mirrors the WIT variant; observations are few"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// The source has the listing; this is its record.
    Found(Listing),
    /// The source does not have the listing.
    NotFound,
    /// The verifier could not tell (error or timeout).
    Unverifiable,
}

/// The host's answer to one check request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Miner hotkey.
    pub hotkey: String,
    /// Position of the listing in the submission.
    pub index: u32,
    /// What was seen.
    pub seen: Observed,
}

/// Verdict of one gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Gate {
    /// The gate passed.
    Passed,
    /// The gate failed.
    Failed,
    /// The gate was not evaluated, or gave no verdict (G4 all unverifiable / not examined).
    Skipped,
}

impl Gate {
    /// Name used in the canonical outcome.
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Passed => "passed",
            Gate::Failed => "failed",
            Gate::Skipped => "skipped",
        }
    }
}

/// Per-submission result inside a zipcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Miner hotkey.
    pub hotkey: String,
    /// G0..G4 verdicts, in order (always 5 entries).
    pub gates: Vec<Gate>,
    /// 1-based rank among winners.
    pub rank: Option<u8>,
    /// Share in fixed point (10^18 = the whole epoch).
    pub share: u64,
    /// Flags that zero the miner's whole epoch (`fabrication`).
    pub flags: Vec<String>,
}

/// Result of one zipcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipcodeResult {
    /// The zipcode.
    pub zipcode: String,
    /// One entry per submission, sorted by hotkey.
    pub candidates: Vec<Candidate>,
}

/// Final weight of one miner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinerWeight {
    /// Miner hotkey.
    pub hotkey: String,
    /// Parts per billion of the epoch's weight.
    pub ppb: u64,
    /// Sorted, deduplicated flags.
    pub flags: Vec<String>,
}

/// The epoch outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Miners sorted by hotkey.
    pub miners: Vec<MinerWeight>,
    /// RFC 8785 canonical JSON of the whole outcome.
    pub canonical_json: String,
}

/// Name, version and default parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    /// Policy name.
    pub name: String,
    /// Policy version.
    pub version: String,
    /// Default parameters as canonical JSON.
    pub default_params: String,
}
