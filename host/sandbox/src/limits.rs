//! Resource limits of a guest call and the store limiter that enforces them and remembers
//! which one was hit (so a trap can be reported as "memory limit", not just "trap").

use crate::SandboxError;
use std::time::Duration;
use wasmtime::{ResourceLimiter, Trap};

/// Limits applied to one guest call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel budget (wasm operators, roughly); `None` = unmetered.
    pub fuel: Option<u64>,
    /// Maximum linear memory per memory, in bytes.
    pub memory_bytes: usize,
    /// Maximum table elements per table.
    pub table_elements: usize,
    /// Maximum wasm stack, in bytes (engine-wide).
    pub max_stack_bytes: usize,
    /// Wall-clock timeout of a call; `None` = no timeout (the policy engine: consensus code is
    /// never interrupted by time, only by fuel).
    pub timeout: Option<Duration>,
}

/// The error a limiter returns when a guest grows past a limit; it becomes a trap.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct LimitHit(&'static str);

/// A [`ResourceLimiter`] that records the first limit hit.
#[derive(Debug)]
pub struct Limiter {
    memory_bytes: usize,
    table_elements: usize,
    /// Set when a memory growth was refused.
    pub memory_hit: bool,
    /// Set when a table growth was refused.
    pub table_hit: bool,
    /// Peak linear memory seen, in bytes.
    pub peak_memory: usize,
}

impl Limiter {
    /// A limiter for `limits`.
    pub fn new(limits: &Limits) -> Self {
        Limiter {
            memory_bytes: limits.memory_bytes,
            table_elements: limits.table_elements,
            memory_hit: false,
            table_hit: false,
            peak_memory: 0,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.memory_hit = true;
            return Err(wasmtime::Error::new(LimitHit("memory limit exceeded")));
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            self.table_hit = true;
            return Err(wasmtime::Error::new(LimitHit("table limit exceeded")));
        }
        Ok(true)
    }
}

/// Turns a wasmtime error from a guest call into the [`SandboxError`] naming the limit hit.
pub(crate) fn classify(err: wasmtime::Error, limits: &Limits, limiter: &Limiter) -> SandboxError {
    if limiter.memory_hit || limiter.table_hit {
        return SandboxError::MemoryLimit {
            limit_bytes: limits.memory_bytes,
        };
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        match trap {
            Trap::OutOfFuel => {
                return SandboxError::OutOfFuel {
                    budget: limits.fuel.unwrap_or(0),
                };
            }
            Trap::StackOverflow => {
                return SandboxError::StackOverflow {
                    max_stack_bytes: limits.max_stack_bytes,
                };
            }
            Trap::Interrupt => {
                return SandboxError::Timeout(limits.timeout.unwrap_or_default());
            }
            _ => {}
        }
    }
    if err.downcast_ref::<LimitHit>().is_some() {
        return SandboxError::MemoryLimit {
            limit_bytes: limits.memory_bytes,
        };
    }
    if let Some(host) = err.downcast_ref::<crate::scraper::HostAbort>() {
        return SandboxError::Host(host.to_string());
    }
    // A trap's own text ("wasm `unreachable` instruction executed"); for anything else the
    // root cause, without the multi-line wasm backtrace context.
    let message = match err.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => err.root_cause().to_string(),
    };
    SandboxError::Trap(message)
}
