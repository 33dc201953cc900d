//! The deterministic policy engine: runs `resi:policy` components so that every validator gets
//! the same bytes from the same inputs.
//!
//! Determinism rules enforced here: every wasmtime feature flag is set explicitly (nothing
//! relies on a default that a wasmtime release could change), NaN canonicalization is on,
//! relaxed SIMD, threads, memory64, multi-memory, GC, exceptions and stack switching are off,
//! fuel is metered with a fixed budget (running out is a deterministic trap), memory and stack
//! are bounded, and no epoch interruption happens inside a call (a watchdog outside may abandon
//! a call; the validator then abstains). A policy must import nothing, so there is no clock,
//! randomness or I/O to stub.

use crate::limits::{Limiter, Limits, classify};
use crate::{SandboxError, Sha256Pin};
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Store,
    WasmFeatures,
};

mod bindings {
    wasmtime::component::bindgen!({
        world: "resi:policy/policy-world@1.0.0",
        path: "../../wit/policy",
    });
}

/// The WIT types of `resi:policy/types` and `resi:types/listing` as Rust types.
pub mod wit {
    pub use super::bindings::exports::resi::policy::types::*;
    pub use super::bindings::exports::resi::types::listing::{Listing, ListingRef};
}

use wit::{
    Assignment, CheckRequest, Epoch, Observation, Outcome, PolicyInfo, Submission, ZipcodeResult,
};

/// Fuel budget of one policy call. Part of consensus: a validator with a different budget
/// could run out where others do not, so it is a constant, not a setting.
pub const POLICY_FUEL_PER_CALL: u64 = 50_000_000_000;

/// Default memory limit of a policy instance (1 GiB).
pub const POLICY_MEMORY_BYTES: usize = 1 << 30;

/// Default wasm stack limit of a policy (512 KiB).
pub const POLICY_MAX_STACK_BYTES: usize = 512 * 1024;

/// Engine settings that must not change a policy's results (tests run policies under several).
#[derive(Debug, Clone)]
pub struct PolicyEngineOptions {
    /// Cranelift optimization level.
    pub opt_level: OptLevel,
    /// Use the pooling instance allocator (fast instantiation) instead of on-demand.
    pub pooling: bool,
    /// How many policy instances may be alive at once with pooling.
    pub max_instances: u32,
    /// Resource limits of each call.
    pub limits: Limits,
}

impl Default for PolicyEngineOptions {
    fn default() -> Self {
        PolicyEngineOptions {
            opt_level: OptLevel::Speed,
            pooling: true,
            max_instances: 16,
            limits: Limits {
                fuel: Some(POLICY_FUEL_PER_CALL),
                memory_bytes: POLICY_MEMORY_BYTES,
                table_elements: 100_000,
                max_stack_bytes: POLICY_MAX_STACK_BYTES,
                timeout: None,
            },
        }
    }
}

/// The wasm features resi's guests may use: what Rust's wasm32 targets emit (1.95) and the
/// component model. Every other feature wasmtime knows is explicitly switched off: it is either
/// non-deterministic (relaxed SIMD, threads), unneeded (memory64, multi-memory, GC, exceptions,
/// stack switching, tail calls, wide arithmetic, component-model async), or not pinned yet.
pub const ENABLED_WASM_FEATURES: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::CALL_INDIRECT_OVERLONG)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::BULK_MEMORY_OPT)
    .union(WasmFeatures::SIMD)
    .union(WasmFeatures::FLOATS)
    .union(WasmFeatures::EXTENDED_CONST)
    .union(WasmFeatures::COMPONENT_MODEL);

/// Sets every wasm feature flag explicitly: all of [`WasmFeatures`] off, then exactly
/// [`ENABLED_WASM_FEATURES`] on, so no wasmtime default decides what a guest may use.
pub(crate) fn set_wasm_features(config: &mut Config) {
    config.wasm_features(WasmFeatures::all(), false);
    config.wasm_features(ENABLED_WASM_FEATURES, true);
    config.relaxed_simd_deterministic(true);
    config.shared_memory(false);
}

fn engine_for(options: &PolicyEngineOptions) -> Result<Engine, SandboxError> {
    let mut config = Config::new();
    set_wasm_features(&mut config);
    config.cranelift_nan_canonicalization(true);
    config.consume_fuel(true);
    config.epoch_interruption(false);
    config.max_wasm_stack(options.limits.max_stack_bytes);
    config.cranelift_opt_level(options.opt_level);
    config.debug_info(false);
    config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(20));
    config.parallel_compilation(true);
    if options.pooling {
        let mut pool = PoolingAllocationConfig::default();
        let n = options.max_instances.max(1);
        pool.total_component_instances(n)
            .total_core_instances(n * 4)
            .total_memories(n * 2)
            .total_tables(n * 4)
            .max_memory_size(options.limits.memory_bytes)
            .table_elements(options.limits.table_elements);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    } else {
        config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    }
    Engine::new(&config).map_err(|e| SandboxError::Engine(format!("{e:#}")))
}

/// Store data of a policy call: only the limiter (a policy has no imports and no state).
struct PolicyState {
    limiter: Limiter,
}

/// A compiled, pre-linked policy component ready to be called.
#[derive(Clone)]
pub struct Policy {
    engine: Engine,
    pre: bindings::PolicyWorldPre<PolicyState>,
    limits: Limits,
    sha256: Sha256Pin,
}

/// Result of a policy call with the resources it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<T> {
    /// The value the policy returned.
    pub value: T,
    /// Fuel consumed by the call (deterministic).
    pub fuel_used: u64,
    /// Peak linear memory of the instance, in bytes.
    pub peak_memory: usize,
}

/// The policy engine profile.
#[derive(Clone)]
pub struct PolicyEngine {
    engine: Engine,
    linker: Linker<PolicyState>,
    options: PolicyEngineOptions,
}

impl PolicyEngine {
    /// Creates the engine with `options`.
    pub fn new(options: PolicyEngineOptions) -> Result<Self, SandboxError> {
        let engine = engine_for(&options)?;
        let linker = Linker::new(&engine);
        Ok(PolicyEngine {
            engine,
            linker,
            options,
        })
    }

    /// The underlying wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Loads a policy whose bytes must hash to `pin`.
    pub fn load_pinned(&self, bytes: &[u8], pin: &Sha256Pin) -> Result<Policy, SandboxError> {
        pin.verify(bytes)?;
        self.load(bytes)
    }

    /// Loads a policy without a pin (for authors' tools; validators use [`Self::load_pinned`]).
    pub fn load(&self, bytes: &[u8]) -> Result<Policy, SandboxError> {
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| SandboxError::InvalidComponent(format!("{e:#}")))?;
        let report = crate::inspect::describe(&self.engine, &component);
        let forbidden = crate::inspect::Profile::Policy.forbidden_imports(&report.imports);
        if !forbidden.is_empty() {
            return Err(SandboxError::ForbiddenImports {
                profile: "policy",
                imports: forbidden,
            });
        }
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| SandboxError::InvalidComponent(format!("{e:#}")))?;
        let pre = bindings::PolicyWorldPre::new(instance_pre).map_err(|e| {
            SandboxError::MissingExport(format!("resi:policy/policy@1.0.0 ({e:#})"))
        })?;
        Ok(Policy {
            engine: self.engine.clone(),
            pre,
            limits: self.options.limits,
            sha256: Sha256Pin::of(bytes),
        })
    }
}

impl Policy {
    /// sha256 of the component bytes.
    pub fn sha256(&self) -> Sha256Pin {
        self.sha256
    }

    /// Runs `f` against a fresh instance with the call limits, classifying failures.
    fn call<T>(
        &self,
        f: impl FnOnce(
            &bindings::PolicyWorld,
            &mut Store<PolicyState>,
        ) -> wasmtime::Result<Result<T, String>>,
    ) -> Result<Call<T>, SandboxError> {
        let mut store = Store::new(
            &self.engine,
            PolicyState {
                limiter: Limiter::new(&self.limits),
            },
        );
        store.limiter(|s| &mut s.limiter);
        let budget = self.limits.fuel.unwrap_or(u64::MAX);
        store
            .set_fuel(budget)
            .map_err(|e| SandboxError::Engine(format!("{e:#}")))?;
        let outcome = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| f(&instance, &mut store));
        let fuel_used = budget - store.get_fuel().unwrap_or(0);
        let state = store.into_data();
        match outcome {
            Ok(Ok(value)) => Ok(Call {
                value,
                fuel_used,
                peak_memory: state.limiter.peak_memory,
            }),
            Ok(Err(message)) => Err(SandboxError::Guest(message)),
            Err(err) => Err(classify(err, &self.limits, &state.limiter)),
        }
    }

    /// Instantiates the policy in a fresh store without calling it: a start-up check that the
    /// component links and fits its limits (also what the instantiation benchmark measures).
    pub fn instantiate_check(&self) -> Result<(), SandboxError> {
        self.call(|_, _| Ok(Ok(()))).map(|_| ())
    }

    /// The policy's name, version and default parameters.
    pub fn info(&self) -> Result<Call<PolicyInfo>, SandboxError> {
        self.call(|w, s| w.resi_policy_policy().call_info(s).map(Ok))
    }

    /// Spot checks the policy still wants for one zipcode; empty means planning is done.
    pub fn plan_zipcode(
        &self,
        params: &str,
        epoch: &Epoch,
        assignment: &Assignment,
        submissions: &[Submission],
        observations: &[Observation],
    ) -> Result<Call<Vec<CheckRequest>>, SandboxError> {
        self.call(|w, s| {
            w.resi_policy_policy().call_plan_zipcode(
                s,
                params,
                epoch,
                assignment,
                submissions,
                observations,
            )
        })
    }

    /// Gates, ranks and shares of one zipcode.
    pub fn score_zipcode(
        &self,
        params: &str,
        epoch: &Epoch,
        assignment: &Assignment,
        total_expected: u64,
        submissions: &[Submission],
        observations: &[Observation],
    ) -> Result<Call<ZipcodeResult>, SandboxError> {
        self.call(|w, s| {
            w.resi_policy_policy().call_score_zipcode(
                s,
                params,
                epoch,
                assignment,
                total_expected,
                submissions,
                observations,
            )
        })
    }

    /// Combines per-zipcode results into the epoch outcome.
    pub fn finalize(
        &self,
        params: &str,
        epoch: &Epoch,
        results: &[ZipcodeResult],
    ) -> Result<Call<Outcome>, SandboxError> {
        self.call(|w, s| {
            w.resi_policy_policy()
                .call_finalize(s, params, epoch, results)
        })
    }

    /// The wall-clock timeout is never applied inside a policy call; this reports `None` so
    /// callers that run a watchdog know to do it outside.
    pub fn timeout(&self) -> Option<Duration> {
        self.limits.timeout
    }
}
