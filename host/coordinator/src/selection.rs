//! Zipcode selection: a weighted random draw, reproducible from its seed.
//!
//! Candidates are the table's STANDARD zipcodes whose expected listings (from
//! [`ExpectedCounts`]) lie in `min..=max` and that are not in cooldown. Weight = expected x tier
//! factor (PREMIUM 1.5, STANDARD 1.0, EMERGING 0.8) x state priority. The draw is a weighted
//! random permutation (Efraimidis-Spirakis keys `ln(u)/w`, with `u` from SHA-256 of the seed and
//! the zipcode, so it depends on nothing but the seed and the inputs), walked in order: a zipcode
//! is taken if the total stays under the band's upper bound, until the total reaches the lower
//! bound. A walk that ends short of the band starts again from the next zipcode of the order
//! (at most 64 times).
//!
//! Honeypots are drawn from zipcodes that hold no homes (PO BOX, UNIQUE) with a separate,
//! secret seed, and shown with a plausible expected count; they make up 5-10% of the zipcodes
//! (at least one) and count in the published total, so nothing in `/current` singles them out.
//! The output is sorted by zipcode.

use crate::zipcodes::{ExpectedCounts, MarketTier, ZipKind, ZipTable, region_of};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// Most starting points of the selection walk tried before the band is declared unreachable.
const WALK_STARTS: usize = 64;

/// Parameters of a selection.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectionParams {
    /// Target total of expected listings (5,000..15,000 in production).
    pub target_listings: u32,
    /// Tolerance around the target, percent.
    pub tolerance_percent: u32,
    /// Smallest expected count of an assigned zipcode.
    pub min_listings: u32,
    /// Largest expected count of an assigned zipcode.
    pub max_listings: u32,
    /// Lowest share of honeypots, percent.
    pub honeypot_min_percent: u32,
    /// Highest share of honeypots, percent.
    pub honeypot_max_percent: u32,
    /// Priority factor per state (default 1.0).
    pub state_priority: HashMap<String, f64>,
}

impl Default for SelectionParams {
    fn default() -> Self {
        Self {
            target_listings: 10_000,
            tolerance_percent: 10,
            min_listings: 200,
            max_listings: 3_000,
            honeypot_min_percent: 5,
            honeypot_max_percent: 10,
            state_priority: HashMap::new(),
        }
    }
}

impl SelectionParams {
    /// The inclusive band `[target x (1 - tol), target x (1 + tol)]`.
    pub fn band(&self) -> (u64, u64) {
        let t = u64::from(self.target_listings);
        let tol = u64::from(self.tolerance_percent);
        (t * (100 - tol.min(100)) / 100, t * (100 + tol) / 100)
    }
}

/// One selected zipcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// 5 digits.
    pub zipcode: String,
    /// The expected count shown to miners (plausible for a honeypot).
    pub expected_listings: u32,
    /// State.
    pub state: String,
    /// City.
    pub city: String,
    /// County.
    pub county: String,
    /// Market tier name.
    pub market_tier: String,
    /// Census region.
    pub region: String,
    /// True for a honeypot (a zipcode holding no homes: the true count is 0).
    pub is_honeypot: bool,
}

/// The result of a selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The seed it is reproducible from.
    pub seed: u64,
    /// Zipcodes, sorted.
    pub zipcodes: Vec<Selected>,
}

impl Selection {
    /// Sum of the shown expected counts (the published `totalExpectedListings`).
    pub fn total_expected(&self) -> u64 {
        self.zipcodes
            .iter()
            .map(|z| u64::from(z.expected_listings))
            .sum()
    }

    /// Sum of the expected counts of real (non-honeypot) zipcodes.
    pub fn real_expected(&self) -> u64 {
        self.zipcodes
            .iter()
            .filter(|z| !z.is_honeypot)
            .map(|z| u64::from(z.expected_listings))
            .sum()
    }
}

/// Why no selection could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// The candidates cannot reach the band.
    #[error(
        "cannot reach {lower}..={upper} expected listings: {candidates} eligible zipcodes \
         (expected {min}..={max}, not in cooldown) reach only {reached}"
    )]
    Unreachable {
        /// Lower bound.
        lower: u64,
        /// Upper bound.
        upper: u64,
        /// Eligible candidates.
        candidates: usize,
        /// Best total reached.
        reached: u64,
        /// Min per zipcode.
        min: u32,
        /// Max per zipcode.
        max: u32,
    },
    /// Invalid parameters.
    #[error("invalid selection parameters: {0}")]
    Params(String),
}

/// A uniform number in (0, 1) from SHA-256 of the parts.
fn unit(parts: &[&[u8]]) -> f64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    ((u64::from_le_bytes(b) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// Draws a selection. `excluded` holds zipcodes in cooldown; `seed` drives the real draw (it is
/// published), `honeypot_seed` the honeypots (kept secret).
pub fn select(
    table: &ZipTable,
    counts: &dyn ExpectedCounts,
    params: &SelectionParams,
    excluded: &HashSet<String>,
    seed: u64,
    honeypot_seed: &[u8; 32],
) -> Result<Selection, SelectionError> {
    if params.min_listings == 0 || params.min_listings > params.max_listings {
        return Err(SelectionError::Params(format!(
            "min_listings {} must be in 1..=max_listings {}",
            params.min_listings, params.max_listings
        )));
    }
    if params.honeypot_min_percent > params.honeypot_max_percent
        || params.honeypot_max_percent >= 50
    {
        return Err(SelectionError::Params(
            "honeypot share must satisfy min <= max < 50 percent".into(),
        ));
    }
    let (lower, upper) = params.band();
    let seed_bytes = seed.to_le_bytes();

    // Real candidates with their Efraimidis-Spirakis keys.
    let mut real: Vec<(f64, usize, u32, MarketTier)> = Vec::new();
    for (i, z) in table.rows.iter().enumerate() {
        if z.kind != ZipKind::Standard || excluded.contains(&z.zipcode) {
            continue;
        }
        let Some(e) = counts.expected(&z.zipcode) else {
            continue;
        };
        if e < params.min_listings || e > params.max_listings {
            continue;
        }
        let tier = counts
            .tier(&z.zipcode)
            .unwrap_or_else(|| MarketTier::from_expected(e));
        let prio = params.state_priority.get(&z.state).copied().unwrap_or(1.0);
        let w = f64::from(e) * tier.factor() * prio;
        if w.is_nan() || w <= 0.0 {
            continue;
        }
        let key = unit(&[b"real", &seed_bytes, z.zipcode.as_bytes()]).ln() / w;
        real.push((key, i, e, tier));
    }
    real.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));

    // Honeypot pool: no-home zipcodes in a secret order, each with a plausible shown count.
    let span = (params.max_listings - params.min_listings) / 5;
    let mut pool: Vec<(f64, usize, u32)> = table
        .rows
        .iter()
        .enumerate()
        .filter(|(_, z)| {
            matches!(z.kind, ZipKind::PoBox | ZipKind::Unique) && !excluded.contains(&z.zipcode)
        })
        .map(|(i, z)| {
            let order = unit(&[b"honeypot", honeypot_seed, z.zipcode.as_bytes()]);
            let c = unit(&[b"honeypot-count", honeypot_seed, z.zipcode.as_bytes()]);
            let shown = params.min_listings + (c * f64::from(span + 1)) as u32;
            (order, i, shown.min(params.max_listings))
        })
        .collect();
    pool.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    pool.truncate(256);
    let share = f64::from(params.honeypot_min_percent)
        + unit(&[b"honeypot-share", honeypot_seed])
            * f64::from(params.honeypot_max_percent - params.honeypot_min_percent);
    let share = share / 100.0;
    let honeypots_for = |n_real: usize| -> usize {
        if pool.is_empty() || n_real == 0 {
            return 0;
        }
        let h = (share * n_real as f64 / (1.0 - share)).round() as usize;
        h.clamp(1, pool.len())
    };
    let hp_sum = |n: usize| -> u64 { pool[..n].iter().map(|p| u64::from(p.2)).sum() };

    // The walk from candidate `start` on: `Some(taken)` once the total is in the band, else
    // the best total it got to.
    let walk = |start: usize| -> Result<Vec<(usize, u32, MarketTier)>, u64> {
        let mut taken: Vec<(usize, u32, MarketTier)> = Vec::new();
        let mut real_sum = 0u64;
        let mut best = 0u64;
        for &(_, i, e, tier) in real.iter().skip(start) {
            let new_real = real_sum + u64::from(e);
            let total = new_real + hp_sum(honeypots_for(taken.len() + 1));
            if total > upper {
                continue;
            }
            taken.push((i, e, tier));
            real_sum = new_real;
            best = total;
            if total >= lower {
                return Ok(taken);
            }
        }
        Err(best)
    };
    // When the walk from the first candidate overshoots the band (a narrow band, or zipcodes
    // large next to it), it starts again from the next one, up to WALK_STARTS times: still a
    // function of the seed and the inputs only.
    let mut best = 0u64;
    let mut found = None;
    for start in 0..real.len().min(WALK_STARTS) {
        match walk(start) {
            Ok(taken) => {
                found = Some(taken);
                break;
            }
            Err(b) => best = best.max(b),
        }
    }
    let Some(taken) = found else {
        return Err(SelectionError::Unreachable {
            lower,
            upper,
            candidates: real.len(),
            reached: best,
            min: params.min_listings,
            max: params.max_listings,
        });
    };
    let mut out: Vec<Selected> = taken
        .iter()
        .map(|&(i, e, tier)| {
            let z = &table.rows[i];
            Selected {
                zipcode: z.zipcode.clone(),
                expected_listings: e,
                state: z.state.clone(),
                city: z.city.clone(),
                county: z.county.clone(),
                market_tier: tier.as_str().to_owned(),
                region: region_of(&z.state).to_owned(),
                is_honeypot: false,
            }
        })
        .collect();
    for &(_, i, shown) in &pool[..honeypots_for(taken.len())] {
        let z = &table.rows[i];
        out.push(Selected {
            zipcode: z.zipcode.clone(),
            expected_listings: shown,
            state: z.state.clone(),
            city: z.city.clone(),
            county: z.county.clone(),
            market_tier: MarketTier::from_expected(shown).as_str().to_owned(),
            region: region_of(&z.state).to_owned(),
            is_honeypot: true,
        });
    }
    out.sort_by(|a, b| a.zipcode.cmp(&b.zipcode));
    Ok(Selection {
        seed,
        zipcodes: out,
    })
}
