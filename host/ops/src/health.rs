//! What `/healthcheck` answers: the role, its version, how long it has run, and when it last
//! made progress (a role calls [`Health::progress`] whenever it finishes a unit of work).

use serde::Serialize;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Liveness facts of one role, shared by the role and its HTTP endpoint.
#[derive(Debug)]
pub struct Health {
    role: &'static str,
    started: Instant,
    last: Mutex<Option<Progress>>,
}

#[derive(Debug, Clone)]
struct Progress {
    at_ms: u64,
    what: String,
}

/// The JSON body of `/healthcheck`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReport {
    /// Always `"ok"` while the process serves it.
    pub status: String,
    /// The role answering: `coordinator`, `miner` or `validator`.
    pub role: String,
    /// resi's version.
    pub version: String,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// Unix milliseconds of the last progress, if any yet.
    pub last_progress_ms: Option<u64>,
    /// What that progress was.
    pub last_progress: Option<String>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Health {
    /// Health of `role`, started now.
    pub fn new(role: &'static str) -> Self {
        Health {
            role,
            started: Instant::now(),
            last: Mutex::new(None),
        }
    }

    /// Records progress (e.g. "epoch 2025-10-01T16-00-00 uploaded").
    pub fn progress(&self, what: impl Into<String>) {
        let p = Progress {
            at_ms: now_ms(),
            what: what.into(),
        };
        if let Ok(mut last) = self.last.lock() {
            *last = Some(p);
        }
    }

    /// The current report.
    pub fn report(&self) -> HealthReport {
        let last = self.last.lock().ok().and_then(|l| l.clone());
        HealthReport {
            status: "ok".into(),
            role: self.role.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_secs: self.started.elapsed().as_secs(),
            last_progress_ms: last.as_ref().map(|p| p.at_ms),
            last_progress: last.map(|p| p.what),
        }
    }
}
