//! `example-policy`: the smallest complete scoring policy, used by the host's tests and as a
//! template. Every submission with a valid manifest and at least one listing shares its zipcode's
//! pool equally; zipcode pools are proportional to expected listings. Integer arithmetic only.

use resi_guest::canonical::Value;
use resi_guest::policy::*;
use std::collections::BTreeMap;

const SCALE: u128 = 1_000_000_000_000_000_000;

struct ExamplePolicy;

impl Guest for ExamplePolicy {
    fn info() -> PolicyInfo {
        PolicyInfo {
            name: "example".into(),
            version: "0.1.0".into(),
            default_params: "{}".into(),
        }
    }

    fn plan_zipcode(
        _params: String,
        _epoch: Epoch,
        _assignment: Assignment,
        _submissions: Vec<Submission>,
        _observations: Vec<Observation>,
    ) -> Result<Vec<CheckRequest>, String> {
        Ok(Vec::new())
    }

    fn score_zipcode(
        _params: String,
        _epoch: Epoch,
        assignment: Assignment,
        total_expected: u64,
        submissions: Vec<Submission>,
        _observations: Vec<Observation>,
    ) -> Result<ZipcodeResult, String> {
        if total_expected == 0 {
            return Err("total-expected is 0".into());
        }
        let pool = if assignment.honeypot {
            0
        } else {
            u128::from(assignment.expected) * SCALE / u128::from(total_expected)
        };
        let mut valid: Vec<&Submission> = submissions
            .iter()
            .filter(|s| s.manifest_ok && !s.listings.is_empty())
            .collect();
        valid.sort_by(|a, b| a.hotkey.cmp(&b.hotkey));
        valid.dedup_by(|a, b| a.hotkey == b.hotkey);
        let per_head = if valid.is_empty() { 0 } else { pool / valid.len() as u128 };
        let candidates = valid
            .iter()
            .map(|s| Candidate {
                hotkey: s.hotkey.clone(),
                gates: vec![Gate::Passed],
                rank: None,
                share: u64::try_from(per_head).unwrap_or(u64::MAX),
                flags: Vec::new(),
            })
            .collect();
        Ok(ZipcodeResult { zipcode: assignment.zipcode, candidates })
    }

    fn finalize(
        _params: String,
        epoch: Epoch,
        results: Vec<ZipcodeResult>,
    ) -> Result<Outcome, String> {
        let mut raw: BTreeMap<String, u128> = BTreeMap::new();
        for result in &results {
            for c in &result.candidates {
                *raw.entry(c.hotkey.clone()).or_default() += u128::from(c.share);
            }
        }
        let total: u128 = raw.values().sum();
        let miners: Vec<MinerWeight> = raw
            .iter()
            .map(|(hotkey, r)| MinerWeight {
                hotkey: hotkey.clone(),
                ppb: if total == 0 { 0 } else { (r * 1_000_000_000 / total) as u64 },
                flags: Vec::new(),
            })
            .collect();
        let mut root = BTreeMap::new();
        root.insert("epoch_id".into(), Value::Str(epoch.epoch_id));
        root.insert(
            "miners".into(),
            Value::Array(
                miners
                    .iter()
                    .map(|m| {
                        let mut o = BTreeMap::new();
                        o.insert("hotkey".into(), Value::Str(m.hotkey.clone()));
                        o.insert("ppb".into(), Value::Int(i128::from(m.ppb)));
                        Value::Object(o)
                    })
                    .collect(),
            ),
        );
        Ok(Outcome { miners, canonical_json: Value::Object(root).to_canonical() })
    }
}

resi_guest::export_policy!(ExamplePolicy);
