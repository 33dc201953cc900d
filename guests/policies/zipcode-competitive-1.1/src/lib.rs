//! `zipcode-competitive` 1.1.0: the default validator scoring policy as a
//! `resi:policy@1.1.0` component. A thin adapter: the small WIT records are moved into the
//! core's types, the listing batch is handed over as it is (the core reads it in place), and
//! the results are moved back.

wit_bindgen::generate!({
    world: "resi:policy/policy-world@1.1.0",
    path: "../../../wit/policy-1.1",
    generate_all,
});

use exports::resi::policy::policy::{Guest, Plan};
use exports::resi::policy::types::*;
use exports::resi::types::listing::{Listing, ListingRef};
use zipcode_competitive_1_1_core as core;
use zipcode_competitive_1_1_core::v1_0 as types;

struct ZipcodeCompetitive;

fn listing(l: Listing) -> types::Listing {
    types::Listing {
        zpid: l.zpid,
        mls_id: l.mls_id,
        address: l.address,
        zipcode: l.zipcode,
        price: l.price,
        bedrooms: l.bedrooms,
        bathrooms_hundredths: l.bathrooms_hundredths,
        sqft: l.sqft,
        listing_date: l.listing_date,
        property_type: l.property_type,
        listing_status: l.listing_status,
        days_on_market: l.days_on_market,
        source_url: l.source_url,
        scraped_timestamp: l.scraped_timestamp,
    }
}

fn epoch(e: Epoch) -> types::Epoch {
    types::Epoch {
        epoch_id: e.epoch_id,
        nonce: e.nonce,
        validation_seed: e.validation_seed,
        deadline_ms: e.deadline_ms,
    }
}

fn assignment(a: Assignment) -> types::Assignment {
    types::Assignment {
        zipcode: a.zipcode,
        expected: a.expected,
        honeypot: a.honeypot,
        true_count: a.true_count,
    }
}

fn heads(subs: &[Submission]) -> Vec<core::SubmissionHead<'_>> {
    subs.iter()
        .map(|s| core::SubmissionHead {
            hotkey: &s.hotkey,
            submitted_at_ms: s.submitted_at_ms,
            manifest_ok: s.manifest_ok,
            digest: &s.digest,
            listings: s.listings,
        })
        .collect()
}

fn observations(obs: Vec<Observation>) -> Vec<types::Observation> {
    obs.into_iter()
        .map(|o| types::Observation {
            hotkey: o.hotkey,
            index: o.index,
            seen: match o.seen {
                Observed::Found(l) => types::Observed::Found(listing(l)),
                Observed::NotFound => types::Observed::NotFound,
                Observed::Unverifiable => types::Observed::Unverifiable,
            },
        })
        .collect()
}

fn gate_to_wit(g: types::Gate) -> Gate {
    match g {
        types::Gate::Passed => Gate::Passed,
        types::Gate::Failed => Gate::Failed,
        types::Gate::Skipped => Gate::Skipped,
    }
}

fn gate_from_wit(g: Gate) -> types::Gate {
    match g {
        Gate::Passed => types::Gate::Passed,
        Gate::Failed => types::Gate::Failed,
        Gate::Skipped => types::Gate::Skipped,
    }
}

impl Guest for ZipcodeCompetitive {
    fn info() -> PolicyInfo {
        let i = core::info();
        PolicyInfo {
            name: i.name,
            version: i.version,
            default_params: i.default_params,
        }
    }

    fn plan_zipcode(
        params: String,
        e: Epoch,
        a: Assignment,
        subs: Vec<Submission>,
        listings: Vec<u8>,
        obs: Vec<Observation>,
        state: Vec<u8>,
    ) -> Result<Plan, String> {
        let plan = core::plan_zipcode(
            &params,
            &epoch(e),
            &assignment(a),
            &heads(&subs),
            &listings,
            &observations(obs),
            &state,
        )
        .map_err(|err| err.to_string())?;
        let checks = plan
            .checks
            .into_iter()
            .map(|r| CheckRequest {
                hotkey: r.hotkey,
                index: r.index,
                target: ListingRef {
                    zpid: r.target.zpid,
                    mls_id: r.target.mls_id,
                    zipcode: r.target.zipcode,
                    address: r.target.address,
                    source_url: r.target.source_url,
                },
            })
            .collect();
        Ok(Plan {
            checks,
            state: plan.state,
        })
    }

    fn score_zipcode(
        params: String,
        e: Epoch,
        a: Assignment,
        total_expected: u64,
        subs: Vec<Submission>,
        listings: Vec<u8>,
        obs: Vec<Observation>,
        state: Vec<u8>,
    ) -> Result<ZipcodeResult, String> {
        let result = core::score_zipcode(
            &params,
            &epoch(e),
            &assignment(a),
            total_expected,
            &heads(&subs),
            &listings,
            &observations(obs),
            &state,
        )
        .map_err(|err| err.to_string())?;
        Ok(ZipcodeResult {
            zipcode: result.zipcode,
            candidates: result
                .candidates
                .into_iter()
                .map(|c| Candidate {
                    hotkey: c.hotkey,
                    gates: c.gates.into_iter().map(gate_to_wit).collect(),
                    rank: c.rank,
                    share: c.share,
                    flags: c.flags,
                })
                .collect(),
        })
    }

    fn finalize(params: String, e: Epoch, results: Vec<ZipcodeResult>) -> Result<Outcome, String> {
        let results: Vec<types::ZipcodeResult> = results
            .into_iter()
            .map(|r| types::ZipcodeResult {
                zipcode: r.zipcode,
                candidates: r
                    .candidates
                    .into_iter()
                    .map(|c| types::Candidate {
                        hotkey: c.hotkey,
                        gates: c.gates.into_iter().map(gate_from_wit).collect(),
                        rank: c.rank,
                        share: c.share,
                        flags: c.flags,
                    })
                    .collect(),
            })
            .collect();
        let outcome =
            core::finalize(&params, &epoch(e), &results).map_err(|err| err.to_string())?;
        Ok(Outcome {
            miners: outcome
                .miners
                .into_iter()
                .map(|m| MinerWeight {
                    hotkey: m.hotkey,
                    ppb: m.ppb,
                    flags: m.flags,
                })
                .collect(),
            canonical_json: outcome.canonical_json,
        })
    }
}

export!(ZipcodeCompetitive);
