//! `zipcode-competitive` 1.0.0: the default validator scoring policy as a `resi:policy`
//! component. A thin adapter: WIT types are moved into `zipcode-competitive-core` types, the
//! core does all the work, and its results are moved back.

use resi_guest::policy::*;
use zipcode_competitive_core as core;

struct ZipcodeCompetitive;

fn listing(l: Listing) -> core::Listing {
    core::Listing {
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

fn epoch(e: Epoch) -> core::Epoch {
    core::Epoch {
        epoch_id: e.epoch_id,
        nonce: e.nonce,
        validation_seed: e.validation_seed,
        deadline_ms: e.deadline_ms,
    }
}

fn assignment(a: Assignment) -> core::Assignment {
    core::Assignment {
        zipcode: a.zipcode,
        expected: a.expected,
        honeypot: a.honeypot,
        true_count: a.true_count,
    }
}

fn submissions(subs: Vec<Submission>) -> Vec<core::Submission> {
    subs.into_iter()
        .map(|s| core::Submission {
            hotkey: s.hotkey,
            submitted_at_ms: s.submitted_at_ms,
            manifest_ok: s.manifest_ok,
            digest: s.digest,
            listings: s.listings.into_iter().map(listing).collect(),
        })
        .collect()
}

fn observations(obs: Vec<Observation>) -> Vec<core::Observation> {
    obs.into_iter()
        .map(|o| core::Observation {
            hotkey: o.hotkey,
            index: o.index,
            seen: match o.seen {
                Observed::Found(l) => core::Observed::Found(listing(l)),
                Observed::NotFound => core::Observed::NotFound,
                Observed::Unverifiable => core::Observed::Unverifiable,
            },
        })
        .collect()
}

fn gate_to_wit(g: core::Gate) -> Gate {
    match g {
        core::Gate::Passed => Gate::Passed,
        core::Gate::Failed => Gate::Failed,
        core::Gate::Skipped => Gate::Skipped,
    }
}

fn gate_from_wit(g: Gate) -> core::Gate {
    match g {
        Gate::Passed => core::Gate::Passed,
        Gate::Failed => core::Gate::Failed,
        Gate::Skipped => core::Gate::Skipped,
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
        obs: Vec<Observation>,
    ) -> Result<Vec<CheckRequest>, String> {
        let requests = core::plan_zipcode(
            &params,
            &epoch(e),
            &assignment(a),
            &submissions(subs),
            &observations(obs),
        )
        .map_err(|err| err.to_string())?;
        Ok(requests
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
            .collect())
    }

    fn score_zipcode(
        params: String,
        e: Epoch,
        a: Assignment,
        total_expected: u64,
        subs: Vec<Submission>,
        obs: Vec<Observation>,
    ) -> Result<ZipcodeResult, String> {
        let result = core::score_zipcode(
            &params,
            &epoch(e),
            &assignment(a),
            total_expected,
            &submissions(subs),
            &observations(obs),
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
        let results: Vec<core::ZipcodeResult> = results
            .into_iter()
            .map(|r| core::ZipcodeResult {
                zipcode: r.zipcode,
                candidates: r
                    .candidates
                    .into_iter()
                    .map(|c| core::Candidate {
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

resi_guest::export_policy!(ZipcodeCompetitive);
