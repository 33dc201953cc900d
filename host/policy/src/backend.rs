//! Policy backends: the wasm component in the deterministic sandbox ([`WasmBackend`]) and the
//! same policy's core compiled natively ([`NativeBackend`], for comparison and benchmarks).
//! Both speak the WIT types so the runner drives them identically; a backend whose ABI is
//! `resi:policy@1.1.0` also gets the zipcode's listing batch, encoded once per zipcode
//! ([`Backend::batch`]).

use crate::error::BackendError;
use crate::hash::Digest32;
use resi_sandbox::policy::{Policy, PolicyAbi, encode_batch, wit};
use zipcode_competitive_1_1_core as core_1_1;
use zipcode_competitive_core as core;

/// The value of a policy call and the resources it used.
#[derive(Debug, Clone)]
pub struct Called<T> {
    /// What the policy returned.
    pub value: T,
    /// Fuel consumed (wasm only).
    pub fuel: Option<u64>,
    /// Peak linear memory of the instance in bytes (wasm only).
    pub peak_memory: Option<usize>,
}

impl<T> Called<T> {
    fn native(value: T) -> Self {
        Called {
            value,
            fuel: None,
            peak_memory: None,
        }
    }
}

/// What a `resi:policy@1.1.0` policy gets beside the records, carried through one zipcode's
/// calls by the runner: the zipcode's listing batch (encoded once, [`Backend::prepare`]) and
/// the state the policy's previous call returned. Empty for 1.0.0.
#[derive(Debug, Clone, Default)]
pub struct ZipcodeCarry {
    /// The listing batch of the zipcode's submissions.
    pub batch: Option<Vec<u8>>,
    /// The state the zipcode's last `plan-zipcode` returned (empty before the first).
    pub state: Vec<u8>,
}

/// Something that can run the `resi:policy` calls.
pub trait Backend {
    /// sha256 of the policy component this backend stands for (enters `outcome_hash`).
    fn policy_sha256(&self) -> Digest32;
    /// Name, version and default params.
    fn info(&self) -> Result<Called<wit::PolicyInfo>, BackendError>;
    /// What the zipcode's calls carry ([`ZipcodeCarry`]): for a 1.1.0 policy the listing
    /// batch of `submissions`, encoded once per zipcode; nothing (the default) for 1.0.0.
    fn prepare(&self, submissions: &[wit::Submission]) -> ZipcodeCarry {
        let _ = submissions;
        ZipcodeCarry::default()
    }
    /// Spot checks still wanted for one zipcode. `carry` is [`Backend::prepare`] of
    /// `submissions`; its state is replaced by the one this call returns.
    fn plan_zipcode(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        assignment: &wit::Assignment,
        submissions: &[wit::Submission],
        carry: &mut ZipcodeCarry,
        observations: &[wit::Observation],
    ) -> Result<Called<Vec<wit::CheckRequest>>, BackendError>;
    /// Gates, ranks and shares of one zipcode, with what its last plan left in `carry`.
    #[allow(clippy::too_many_arguments)]
    fn score_zipcode(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        assignment: &wit::Assignment,
        total_expected: u64,
        submissions: &[wit::Submission],
        carry: &ZipcodeCarry,
        observations: &[wit::Observation],
    ) -> Result<Called<wit::ZipcodeResult>, BackendError>;
    /// Combines zipcode results into the outcome.
    fn finalize(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        results: &[wit::ZipcodeResult],
    ) -> Result<Called<wit::Outcome>, BackendError>;
}

/// A policy component in the sandbox.
#[derive(Clone)]
pub struct WasmBackend {
    policy: Policy,
}

impl WasmBackend {
    /// Wraps a loaded policy.
    pub fn new(policy: Policy) -> Self {
        WasmBackend { policy }
    }
}

fn from_call<T>(c: resi_sandbox::policy::Call<T>) -> Called<T> {
    Called {
        value: c.value,
        fuel: Some(c.fuel_used),
        peak_memory: Some(c.peak_memory),
    }
}

impl Backend for WasmBackend {
    fn policy_sha256(&self) -> Digest32 {
        self.policy.sha256().0
    }

    fn info(&self) -> Result<Called<wit::PolicyInfo>, BackendError> {
        Ok(from_call(self.policy.info()?))
    }

    fn prepare(&self, submissions: &[wit::Submission]) -> ZipcodeCarry {
        ZipcodeCarry {
            batch: (self.policy.abi() == PolicyAbi::V1_1).then(|| encode_batch(submissions)),
            state: Vec::new(),
        }
    }

    fn plan_zipcode(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        assignment: &wit::Assignment,
        submissions: &[wit::Submission],
        carry: &mut ZipcodeCarry,
        observations: &[wit::Observation],
    ) -> Result<Called<Vec<wit::CheckRequest>>, BackendError> {
        Ok(from_call(match &carry.batch {
            Some(batch) => self.policy.plan_zipcode_batched(
                params,
                epoch,
                assignment,
                submissions,
                batch,
                observations,
                &mut carry.state,
            )?,
            None => {
                self.policy
                    .plan_zipcode(params, epoch, assignment, submissions, observations)?
            }
        }))
    }

    fn score_zipcode(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        assignment: &wit::Assignment,
        total_expected: u64,
        submissions: &[wit::Submission],
        carry: &ZipcodeCarry,
        observations: &[wit::Observation],
    ) -> Result<Called<wit::ZipcodeResult>, BackendError> {
        Ok(from_call(match &carry.batch {
            Some(batch) => self.policy.score_zipcode_batched(
                params,
                epoch,
                assignment,
                total_expected,
                submissions,
                batch,
                observations,
                &carry.state,
            )?,
            None => self.policy.score_zipcode(
                params,
                epoch,
                assignment,
                total_expected,
                submissions,
                observations,
            )?,
        }))
    }

    fn finalize(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        results: &[wit::ZipcodeResult],
    ) -> Result<Called<wit::Outcome>, BackendError> {
        Ok(from_call(self.policy.finalize(params, epoch, results)?))
    }
}

/// `zipcode-competitive` compiled natively: 1.0.0's core ([`NativeBackend::new`]) or 1.1.0's
/// ([`NativeBackend::v1_1`]). Inputs are converted from the WIT types on every call (as the
/// component lowers them into its memory; for 1.1.0 the same listing batch is read in place),
/// so timings are comparable with the component's.
#[derive(Debug, Clone, Copy)]
pub struct NativeBackend {
    sha256: Digest32,
    abi: PolicyAbi,
}

impl NativeBackend {
    /// zipcode-competitive 1.0.0, reporting `policy_sha256` (the released component it stands
    /// for) in `outcome_hash`.
    pub fn new(policy_sha256: Digest32) -> Self {
        NativeBackend {
            sha256: policy_sha256,
            abi: PolicyAbi::V1_0,
        }
    }

    /// zipcode-competitive 1.1.0 on the listing batch, reporting `policy_sha256`.
    pub fn v1_1(policy_sha256: Digest32) -> Self {
        NativeBackend {
            sha256: policy_sha256,
            abi: PolicyAbi::V1_1,
        }
    }

    /// Which release's core this is.
    pub fn abi(&self) -> PolicyAbi {
        self.abi
    }
}

fn heads(subs: &[wit::Submission]) -> Vec<core_1_1::SubmissionHead<'_>> {
    subs.iter()
        .map(|s| core_1_1::SubmissionHead {
            hotkey: &s.hotkey,
            submitted_at_ms: s.submitted_at_ms,
            manifest_ok: s.manifest_ok,
            digest: &s.digest,
            listings: u32::try_from(s.listings.len()).unwrap_or(u32::MAX),
        })
        .collect()
}

fn requests_to_wit(requests: Vec<core::CheckRequest>) -> Vec<wit::CheckRequest> {
    requests
        .into_iter()
        .map(|r| wit::CheckRequest {
            hotkey: r.hotkey,
            index: r.index,
            target: wit::ListingRef {
                zpid: r.target.zpid,
                mls_id: r.target.mls_id,
                zipcode: r.target.zipcode,
                address: r.target.address,
                source_url: r.target.source_url,
            },
        })
        .collect()
}

fn result_to_wit(r: core::ZipcodeResult) -> wit::ZipcodeResult {
    wit::ZipcodeResult {
        zipcode: r.zipcode,
        candidates: r
            .candidates
            .into_iter()
            .map(|c| wit::Candidate {
                hotkey: c.hotkey,
                gates: c.gates.into_iter().map(gate_to_wit).collect(),
                rank: c.rank,
                share: c.share,
                flags: c.flags,
            })
            .collect(),
    }
}

fn listing(l: &wit::Listing) -> core::Listing {
    core::Listing {
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

fn epoch(e: &wit::Epoch) -> core::Epoch {
    core::Epoch {
        epoch_id: e.epoch_id.clone(),
        nonce: e.nonce.clone(),
        validation_seed: e.validation_seed.clone(),
        deadline_ms: e.deadline_ms,
    }
}

fn assignment(a: &wit::Assignment) -> core::Assignment {
    core::Assignment {
        zipcode: a.zipcode.clone(),
        expected: a.expected,
        honeypot: a.honeypot,
        true_count: a.true_count,
    }
}

fn submissions(subs: &[wit::Submission]) -> Vec<core::Submission> {
    subs.iter()
        .map(|s| core::Submission {
            hotkey: s.hotkey.clone(),
            submitted_at_ms: s.submitted_at_ms,
            manifest_ok: s.manifest_ok,
            digest: s.digest.clone(),
            listings: s.listings.iter().map(listing).collect(),
        })
        .collect()
}

fn observations(obs: &[wit::Observation]) -> Vec<core::Observation> {
    obs.iter()
        .map(|o| core::Observation {
            hotkey: o.hotkey.clone(),
            index: o.index,
            seen: match &o.seen {
                wit::Observed::Found(l) => core::Observed::Found(listing(l)),
                wit::Observed::NotFound => core::Observed::NotFound,
                wit::Observed::Unverifiable => core::Observed::Unverifiable,
            },
        })
        .collect()
}

fn gate_to_wit(g: core::Gate) -> wit::Gate {
    match g {
        core::Gate::Passed => wit::Gate::Passed,
        core::Gate::Failed => wit::Gate::Failed,
        core::Gate::Skipped => wit::Gate::Skipped,
    }
}

fn gate_from_wit(g: wit::Gate) -> core::Gate {
    match g {
        wit::Gate::Passed => core::Gate::Passed,
        wit::Gate::Failed => core::Gate::Failed,
        wit::Gate::Skipped => core::Gate::Skipped,
    }
}

fn native_err(e: core::PolicyError) -> BackendError {
    BackendError::Native(e.to_string())
}

impl Backend for NativeBackend {
    fn policy_sha256(&self) -> Digest32 {
        self.sha256
    }

    fn info(&self) -> Result<Called<wit::PolicyInfo>, BackendError> {
        let i = match self.abi {
            PolicyAbi::V1_0 => core::info(),
            PolicyAbi::V1_1 => core_1_1::info(),
        };
        Ok(Called::native(wit::PolicyInfo {
            name: i.name,
            version: i.version,
            default_params: i.default_params,
        }))
    }

    fn prepare(&self, submissions: &[wit::Submission]) -> ZipcodeCarry {
        ZipcodeCarry {
            batch: (self.abi == PolicyAbi::V1_1).then(|| encode_batch(submissions)),
            state: Vec::new(),
        }
    }

    fn plan_zipcode(
        &self,
        params: &str,
        e: &wit::Epoch,
        a: &wit::Assignment,
        subs: &[wit::Submission],
        carry: &mut ZipcodeCarry,
        obs: &[wit::Observation],
    ) -> Result<Called<Vec<wit::CheckRequest>>, BackendError> {
        let requests = match self.abi {
            PolicyAbi::V1_1 => {
                let owned;
                let batch = match &carry.batch {
                    Some(b) => b,
                    None => {
                        owned = encode_batch(subs);
                        &owned
                    }
                };
                core_1_1::plan_zipcode(
                    params,
                    &epoch(e),
                    &assignment(a),
                    &heads(subs),
                    batch,
                    &observations(obs),
                    &carry.state,
                )
                .map(|plan| {
                    carry.state = plan.state;
                    plan.checks
                })
            }
            PolicyAbi::V1_0 => core::plan_zipcode(
                params,
                &epoch(e),
                &assignment(a),
                &submissions(subs),
                &observations(obs),
            ),
        }
        .map_err(native_err)?;
        Ok(Called::native(requests_to_wit(requests)))
    }

    fn score_zipcode(
        &self,
        params: &str,
        e: &wit::Epoch,
        a: &wit::Assignment,
        total_expected: u64,
        subs: &[wit::Submission],
        carry: &ZipcodeCarry,
        obs: &[wit::Observation],
    ) -> Result<Called<wit::ZipcodeResult>, BackendError> {
        let r = match self.abi {
            PolicyAbi::V1_1 => {
                let owned;
                let batch = match &carry.batch {
                    Some(b) => b,
                    None => {
                        owned = encode_batch(subs);
                        &owned
                    }
                };
                core_1_1::score_zipcode(
                    params,
                    &epoch(e),
                    &assignment(a),
                    total_expected,
                    &heads(subs),
                    batch,
                    &observations(obs),
                    &carry.state,
                )
            }
            PolicyAbi::V1_0 => core::score_zipcode(
                params,
                &epoch(e),
                &assignment(a),
                total_expected,
                &submissions(subs),
                &observations(obs),
            ),
        }
        .map_err(native_err)?;
        Ok(Called::native(result_to_wit(r)))
    }

    fn finalize(
        &self,
        params: &str,
        e: &wit::Epoch,
        results: &[wit::ZipcodeResult],
    ) -> Result<Called<wit::Outcome>, BackendError> {
        let results: Vec<core::ZipcodeResult> = results
            .iter()
            .map(|r| core::ZipcodeResult {
                zipcode: r.zipcode.clone(),
                candidates: r
                    .candidates
                    .iter()
                    .map(|c| core::Candidate {
                        hotkey: c.hotkey.clone(),
                        gates: c.gates.iter().map(|g| gate_from_wit(*g)).collect(),
                        rank: c.rank,
                        share: c.share,
                        flags: c.flags.clone(),
                    })
                    .collect(),
            })
            .collect();
        let o = match self.abi {
            PolicyAbi::V1_0 => core::finalize(params, &epoch(e), &results),
            PolicyAbi::V1_1 => core_1_1::finalize(params, &epoch(e), &results),
        }
        .map_err(native_err)?;
        Ok(Called::native(wit::Outcome {
            miners: o
                .miners
                .into_iter()
                .map(|m| wit::MinerWeight {
                    hotkey: m.hotkey,
                    ppb: m.ppb,
                    flags: m.flags,
                })
                .collect(),
            canonical_json: o.canonical_json,
        }))
    }
}
