//! Policy backends: the wasm component in the deterministic sandbox ([`WasmBackend`]) and the
//! same policy's core compiled natively ([`NativeBackend`], for comparison and benchmarks).
//! Both speak the WIT types so the runner drives them identically; a backend whose ABI is
//! `resi:policy@1.1.0` gets the zipcode's listing batch as it is held ([`ZipcodeBatch`]), a
//! 1.0.0 one its records, decoded once per zipcode ([`Backend::prepare`]).

use crate::error::BackendError;
use crate::hash::Digest32;
use crate::input::ZipcodeBatch;
use resi_sandbox::policy::{Policy, PolicyAbi, wit};
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

/// What one zipcode's calls carry from call to call, kept by the runner: for a 1.0.0 policy
/// the submissions as records (decoded from the batch once per zipcode,
/// [`Backend::prepare`]), for a 1.1.0 policy the state its previous call returned.
#[derive(Debug, Clone, Default)]
pub struct ZipcodeCarry {
    /// The zipcode's submissions as records (1.0.0).
    pub records: Option<Vec<wit::Submission>>,
    /// The state the zipcode's last `plan-zipcode` returned (empty before the first).
    pub state: Vec<u8>,
}

impl ZipcodeCarry {
    /// The records of `z`, decoded once and kept.
    fn records(&mut self, z: &ZipcodeBatch) -> Result<&[wit::Submission], BackendError> {
        if self.records.is_none() {
            self.records = Some(z.records()?);
        }
        Ok(self.records.as_deref().unwrap_or_default())
    }
}

/// Something that can run the `resi:policy` calls on a zipcode held as a [`ZipcodeBatch`].
pub trait Backend {
    /// sha256 of the policy component this backend stands for (enters `outcome_hash`).
    fn policy_sha256(&self) -> Digest32;
    /// Name, version and default params.
    fn info(&self) -> Result<Called<wit::PolicyInfo>, BackendError>;
    /// What the zipcode's calls start with ([`ZipcodeCarry`]): for a 1.0.0 policy the records
    /// of `z`, decoded ahead (e.g. on the thread that read the zipcode); nothing for 1.1.0.
    fn prepare(&self, z: &ZipcodeBatch) -> Result<ZipcodeCarry, BackendError> {
        let _ = z;
        Ok(ZipcodeCarry::default())
    }
    /// Spot checks still wanted for one zipcode. `carry` starts as [`Backend::prepare`] of
    /// `z` (or empty); its state is replaced by the one this call returns.
    fn plan_zipcode(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        z: &ZipcodeBatch,
        carry: &mut ZipcodeCarry,
        observations: &[wit::Observation],
    ) -> Result<Called<Vec<wit::CheckRequest>>, BackendError>;
    /// Gates, ranks and shares of one zipcode, with what its last plan left in `carry`.
    fn score_zipcode(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        total_expected: u64,
        z: &ZipcodeBatch,
        carry: &mut ZipcodeCarry,
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

    fn prepare(&self, z: &ZipcodeBatch) -> Result<ZipcodeCarry, BackendError> {
        Ok(ZipcodeCarry {
            records: match self.policy.abi() {
                PolicyAbi::V1_0 => Some(z.records()?),
                PolicyAbi::V1_1 => None,
            },
            state: Vec::new(),
        })
    }

    fn plan_zipcode(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        z: &ZipcodeBatch,
        carry: &mut ZipcodeCarry,
        observations: &[wit::Observation],
    ) -> Result<Called<Vec<wit::CheckRequest>>, BackendError> {
        let a = z.assignment();
        Ok(from_call(match self.policy.abi() {
            PolicyAbi::V1_1 => self.policy.plan_zipcode_heads(
                params,
                epoch,
                a,
                z.heads(),
                z.batch(),
                observations,
                &mut carry.state,
            )?,
            PolicyAbi::V1_0 => {
                let records = carry.records(z)?;
                self.policy
                    .plan_zipcode(params, epoch, a, records, observations)?
            }
        }))
    }

    fn score_zipcode(
        &self,
        params: &str,
        epoch: &wit::Epoch,
        total_expected: u64,
        z: &ZipcodeBatch,
        carry: &mut ZipcodeCarry,
        observations: &[wit::Observation],
    ) -> Result<Called<wit::ZipcodeResult>, BackendError> {
        let a = z.assignment();
        Ok(from_call(match self.policy.abi() {
            PolicyAbi::V1_1 => self.policy.score_zipcode_heads(
                params,
                epoch,
                a,
                total_expected,
                z.heads(),
                z.batch(),
                observations,
                &carry.state,
            )?,
            PolicyAbi::V1_0 => {
                let records = carry.records(z)?;
                self.policy.score_zipcode(
                    params,
                    epoch,
                    a,
                    total_expected,
                    records,
                    observations,
                )?
            }
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

fn heads(heads: &[wit::SubmissionHead]) -> Vec<core_1_1::SubmissionHead<'_>> {
    heads
        .iter()
        .map(|s| core_1_1::SubmissionHead {
            hotkey: &s.hotkey,
            submitted_at_ms: s.submitted_at_ms,
            manifest_ok: s.manifest_ok,
            digest: &s.digest,
            listings: s.listings,
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

    fn prepare(&self, z: &ZipcodeBatch) -> Result<ZipcodeCarry, BackendError> {
        Ok(ZipcodeCarry {
            records: match self.abi {
                PolicyAbi::V1_0 => Some(z.records()?),
                PolicyAbi::V1_1 => None,
            },
            state: Vec::new(),
        })
    }

    fn plan_zipcode(
        &self,
        params: &str,
        e: &wit::Epoch,
        z: &ZipcodeBatch,
        carry: &mut ZipcodeCarry,
        obs: &[wit::Observation],
    ) -> Result<Called<Vec<wit::CheckRequest>>, BackendError> {
        let a = z.assignment();
        let requests = match self.abi {
            PolicyAbi::V1_1 => core_1_1::plan_zipcode(
                params,
                &epoch(e),
                &assignment(a),
                &heads(z.heads()),
                z.batch(),
                &observations(obs),
                &carry.state,
            )
            .map(|plan| {
                carry.state = plan.state;
                plan.checks
            }),
            PolicyAbi::V1_0 => core::plan_zipcode(
                params,
                &epoch(e),
                &assignment(a),
                &submissions(carry.records(z)?),
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
        total_expected: u64,
        z: &ZipcodeBatch,
        carry: &mut ZipcodeCarry,
        obs: &[wit::Observation],
    ) -> Result<Called<wit::ZipcodeResult>, BackendError> {
        let a = z.assignment();
        let r = match self.abi {
            PolicyAbi::V1_1 => core_1_1::score_zipcode(
                params,
                &epoch(e),
                &assignment(a),
                total_expected,
                &heads(z.heads()),
                z.batch(),
                &observations(obs),
                &carry.state,
            ),
            PolicyAbi::V1_0 => core::score_zipcode(
                params,
                &epoch(e),
                &assignment(a),
                total_expected,
                &submissions(carry.records(z)?),
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
