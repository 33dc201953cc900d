//! The policy's parameters: parsed strictly from canonical JSON (non-negative integers only,
//! every key required, unknown keys refused) and serialized back canonically.

use crate::canonical::{Value, object};
use serde::Deserialize;

/// Every tunable of the policy. Defaults follow the spec (`scoring-zipcode-competitive-v1.md`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// G0: grace after the deadline, milliseconds.
    pub grace_ms: u64,
    /// G1: lower quantity bound, percent of expected (floor).
    pub quantity_min_pct: u64,
    /// G1: upper quantity bound, percent of expected (ceil).
    pub quantity_max_pct: u64,
    /// G3: minimum share of complete listings, percent.
    pub complete_min_pct: u64,
    /// G3: minimum share of reasonable listings, percent.
    pub reasonable_min_pct: u64,
    /// G3: lowest reasonable price, dollars.
    pub price_min: u64,
    /// G3: highest reasonable price, dollars.
    pub price_max: u64,
    /// G3: highest reasonable bedroom count.
    pub bedrooms_max: u64,
    /// G3: highest reasonable bathroom count, hundredths.
    pub bathrooms_max_hundredths: u64,
    /// G3: smallest reasonable living area, sqft.
    pub sqft_min: u64,
    /// G3: largest reasonable living area, sqft.
    pub sqft_max: u64,
    /// G4: sample size, percent of the listings (ceil), before clamping.
    pub spot_check_pct: u64,
    /// G4: smallest sample.
    pub k_min: u64,
    /// G4: largest sample.
    pub k_max: u64,
    /// G4: most candidates examined per zipcode.
    pub max_deep: u64,
    /// G4: minimum matching share of the verifiable observations, percent.
    pub match_min_pct: u64,
    /// G4: price tolerance of a match, percent of the observed price.
    pub price_tolerance_pct: u64,
    /// Winner shares by rank, percent of the zipcode pool; its length is the number of winners.
    pub rank_shares_pct: Vec<u64>,
    /// Participation pool, percent of the zipcode pool.
    pub participation_pct: u64,
    /// Honeypot: minimum slack over the true count.
    pub honeypot_slack_min: u64,
    /// Honeypot: slack over the true count, percent (ceil).
    pub honeypot_slack_pct: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            grace_ms: 900_000,
            quantity_min_pct: 85,
            quantity_max_pct: 115,
            complete_min_pct: 90,
            reasonable_min_pct: 95,
            price_min: 10_000,
            price_max: 50_000_000,
            bedrooms_max: 20,
            bathrooms_max_hundredths: 2_000,
            sqft_min: 100,
            sqft_max: 100_000,
            spot_check_pct: 5,
            k_min: 2,
            k_max: 10,
            max_deep: 6,
            match_min_pct: 80,
            price_tolerance_pct: 2,
            rank_shares_pct: vec![55, 30, 10],
            participation_pct: 5,
            honeypot_slack_min: 2,
            honeypot_slack_pct: 10,
        }
    }
}

impl Params {
    /// Parses and validates parameters from JSON.
    pub fn parse(json: &str) -> Result<Self, String> {
        let params: Params =
            serde_json::from_str(json).map_err(|e| format!("invalid params JSON: {e}"))?;
        params.validate()?;
        Ok(params)
    }

    /// Checks the parameters are coherent (bounded percentages, ordered ranges).
    pub fn validate(&self) -> Result<(), String> {
        let pct = [
            ("quantity_min_pct", self.quantity_min_pct),
            ("complete_min_pct", self.complete_min_pct),
            ("reasonable_min_pct", self.reasonable_min_pct),
            ("spot_check_pct", self.spot_check_pct),
            ("match_min_pct", self.match_min_pct),
            ("price_tolerance_pct", self.price_tolerance_pct),
            ("participation_pct", self.participation_pct),
            ("honeypot_slack_pct", self.honeypot_slack_pct),
        ];
        for (name, v) in pct {
            if v > 100 {
                return Err(format!("params: {name} = {v} is above 100"));
            }
        }
        if self.quantity_max_pct < self.quantity_min_pct || self.quantity_max_pct > 1_000 {
            return Err(format!(
                "params: quantity_max_pct = {} must be within quantity_min_pct..=1000",
                self.quantity_max_pct
            ));
        }
        if self.price_min > self.price_max || self.price_max > 1_000_000_000_000 {
            return Err("params: price_min..=price_max is empty or above 10^12".into());
        }
        if self.sqft_min > self.sqft_max {
            return Err("params: sqft_min is above sqft_max".into());
        }
        if self.k_min > self.k_max || self.k_max > 10_000 {
            return Err("params: k_min..=k_max is empty or k_max is above 10000".into());
        }
        if self.max_deep == 0 || self.max_deep > 10_000 {
            return Err("params: max_deep must be within 1..=10000".into());
        }
        if self.rank_shares_pct.is_empty() || self.rank_shares_pct.len() > 255 {
            return Err("params: rank_shares_pct must have 1..=255 entries".into());
        }
        let total: u64 =
            self.rank_shares_pct
                .iter()
                .try_fold(self.participation_pct, |acc, v| {
                    acc.checked_add(*v)
                        .ok_or_else(|| "params: rank shares overflow".to_string())
                })?;
        if total > 100 {
            return Err(format!(
                "params: rank shares plus participation add up to {total} > 100"
            ));
        }
        if self.honeypot_slack_min > u64::from(u32::MAX) {
            return Err("params: honeypot_slack_min is above 2^32-1".into());
        }
        Ok(())
    }

    /// The parameters as a canonical JSON value.
    pub fn to_value(&self) -> Value {
        let i = |v: u64| Value::Int(i128::from(v));
        object([
            ("grace_ms", i(self.grace_ms)),
            ("quantity_min_pct", i(self.quantity_min_pct)),
            ("quantity_max_pct", i(self.quantity_max_pct)),
            ("complete_min_pct", i(self.complete_min_pct)),
            ("reasonable_min_pct", i(self.reasonable_min_pct)),
            ("price_min", i(self.price_min)),
            ("price_max", i(self.price_max)),
            ("bedrooms_max", i(self.bedrooms_max)),
            ("bathrooms_max_hundredths", i(self.bathrooms_max_hundredths)),
            ("sqft_min", i(self.sqft_min)),
            ("sqft_max", i(self.sqft_max)),
            ("spot_check_pct", i(self.spot_check_pct)),
            ("k_min", i(self.k_min)),
            ("k_max", i(self.k_max)),
            ("max_deep", i(self.max_deep)),
            ("match_min_pct", i(self.match_min_pct)),
            ("price_tolerance_pct", i(self.price_tolerance_pct)),
            (
                "rank_shares_pct",
                Value::Array(self.rank_shares_pct.iter().map(|v| i(*v)).collect()),
            ),
            ("participation_pct", i(self.participation_pct)),
            ("honeypot_slack_min", i(self.honeypot_slack_min)),
            ("honeypot_slack_pct", i(self.honeypot_slack_pct)),
        ])
    }

    /// The parameters as canonical JSON.
    pub fn to_canonical(&self) -> String {
        self.to_value().to_canonical()
    }
}

/// The default parameters as canonical JSON (what `info().default-params` returns).
pub fn default_params_json() -> String {
    Params::default().to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_round_trips() {
        let json = default_params_json();
        assert_eq!(Params::parse(&json).unwrap(), Params::default());
        assert!(json.starts_with(r#"{"bathrooms_max_hundredths":2000,"bedrooms_max":20,"#));
    }

    #[test]
    fn refuses_floats_unknown_and_missing_keys() {
        let json = default_params_json();
        let float = json.replace("\"grace_ms\":900000", "\"grace_ms\":900000.0");
        assert!(Params::parse(&float).is_err());
        let unknown = json.replace("{", "{\"extra\":1,");
        assert!(Params::parse(&unknown).unwrap_err().contains("extra"));
        let missing = json.replace("\"grace_ms\":900000,", "");
        assert!(Params::parse(&missing).unwrap_err().contains("grace_ms"));
        let negative = json.replace("\"k_min\":2", "\"k_min\":-2");
        assert!(Params::parse(&negative).is_err());
        let too_much = json.replace("\"participation_pct\":5", "\"participation_pct\":6");
        assert!(Params::parse(&too_much).unwrap_err().contains("101"));
    }
}
