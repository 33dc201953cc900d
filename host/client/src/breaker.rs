//! A circuit breaker, so a dead API is not hammered.
//!
//! Closed: calls go through; each failed attempt (5xx, timeout, network error) counts, any
//! answer from a live server (2xx, 4xx, 429) resets the count. After `failure_threshold`
//! consecutive failures the breaker opens: calls fail fast with
//! [`crate::ApiError::CircuitOpen`] until `cool_down` has passed. Then it is half-open: one probe
//! call is let through; success closes the breaker, failure opens it again for another cool-down.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Circuit breaker settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failed attempts that open the breaker.
    pub failure_threshold: u32,
    /// How long the breaker stays open before a probe is allowed.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// The breaker's observable state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail fast.
    Open,
    /// One probe call is allowed (or in flight).
    HalfOpen,
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probe_in_flight: bool },
}

/// A thread-safe circuit breaker.
#[derive(Debug)]
pub struct CircuitBreaker {
    cfg: BreakerConfig,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(cfg: BreakerConfig) -> Self {
        Self {
            cfg,
            inner: Mutex::new(Inner::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked mid-update; the state is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current state (an expired open breaker reports half-open).
    pub fn state(&self) -> BreakerState {
        match &*self.lock() {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { until } if Instant::now() < *until => BreakerState::Open,
            Inner::Open { .. } | Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to make an attempt. `Err(wait)` means the breaker is open (or a probe is already in
    /// flight) and the caller should fail fast; `wait` is the remaining cool-down.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        let mut inner = self.lock();
        match &mut *inner {
            Inner::Closed { .. } => Ok(()),
            Inner::Open { until } => {
                let now = Instant::now();
                if now < *until {
                    Err(*until - now)
                } else {
                    *inner = Inner::HalfOpen {
                        probe_in_flight: true,
                    };
                    Ok(())
                }
            }
            Inner::HalfOpen { probe_in_flight } => {
                if *probe_in_flight {
                    Err(Duration::ZERO)
                } else {
                    *probe_in_flight = true;
                    Ok(())
                }
            }
        }
    }

    /// Records an answer from a live server: closes the breaker.
    pub fn record_success(&self) {
        *self.lock() = Inner::Closed { failures: 0 };
    }

    /// Records a failed attempt; returns true if the breaker is now open.
    pub fn record_failure(&self) -> bool {
        let mut inner = self.lock();
        let open_until = Instant::now() + self.cfg.cool_down;
        match &mut *inner {
            Inner::Closed { failures } => {
                *failures += 1;
                if *failures >= self.cfg.failure_threshold {
                    tracing::warn!(
                        failures = *failures,
                        cool_down_ms = self.cfg.cool_down.as_millis() as u64,
                        "API circuit breaker opened"
                    );
                    *inner = Inner::Open { until: open_until };
                    true
                } else {
                    false
                }
            }
            Inner::HalfOpen { .. } | Inner::Open { .. } => {
                *inner = Inner::Open { until: open_until };
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_half_opens_and_closes() {
        let b = CircuitBreaker::new(BreakerConfig {
            failure_threshold: 2,
            cool_down: Duration::ZERO,
        });
        assert_eq!(b.try_acquire(), Ok(()));
        assert!(!b.record_failure());
        assert!(b.record_failure());
        // Zero cool-down: immediately half-open, exactly one probe.
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.try_acquire(), Ok(()));
        assert_eq!(b.try_acquire(), Err(Duration::ZERO));
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.try_acquire(), Ok(()));
    }

    #[test]
    fn stays_open_during_cool_down() {
        let b = CircuitBreaker::new(BreakerConfig {
            failure_threshold: 1,
            cool_down: Duration::from_secs(3600),
        });
        assert!(b.record_failure());
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.try_acquire().is_err());
    }
}
