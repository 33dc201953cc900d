//! Registration and validator permits from the chain, cached for a configurable time.

use resi_chain::{Chain, ChainError, Metagraph};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Fetch = Box<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Metagraph, ChainError>> + Send>> + Send + Sync,
>;

/// What the chain says about a hotkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// Not registered on the subnet.
    Unregistered,
    /// Registered, without a validator permit.
    Miner,
    /// Registered with a validator permit.
    Validator,
}

/// A snapshot of the subnet: hotkey -> validator permit, with when it was read.
type Snapshot = Option<(Instant, Arc<HashMap<[u8; 32], bool>>)>;

/// A cached view of the subnet's registrations.
pub struct Registry {
    fetch: Fetch,
    ttl: Duration,
    cache: tokio::sync::RwLock<Snapshot>,
}

impl Registry {
    /// A registry over `chain`'s subnet `netuid`, refreshed at most every `ttl`.
    pub fn new<C: Chain + 'static>(chain: C, netuid: u16, ttl: Duration) -> Self {
        let chain = Arc::new(chain);
        Self {
            fetch: Box::new(move || {
                let c = chain.clone();
                Box::pin(async move { c.metagraph(netuid).await })
            }),
            ttl,
            cache: tokio::sync::RwLock::new(None),
        }
    }

    /// The membership of `hotkey` (32-byte public key).
    pub async fn lookup(&self, hotkey: &[u8; 32]) -> Result<Membership, ChainError> {
        let fresh = {
            let c = self.cache.read().await;
            match &*c {
                Some((at, map)) if at.elapsed() < self.ttl => Some(map.clone()),
                _ => None,
            }
        };
        let map = match fresh {
            Some(m) => m,
            None => {
                let mg = (self.fetch)().await?;
                let map: HashMap<[u8; 32], bool> = mg
                    .neurons
                    .iter()
                    .map(|n| (*n.hotkey.as_bytes(), n.validator_permit))
                    .collect();
                let map = Arc::new(map);
                *self.cache.write().await = Some((Instant::now(), map.clone()));
                map
            }
        };
        Ok(match map.get(hotkey) {
            None => Membership::Unregistered,
            Some(false) => Membership::Miner,
            Some(true) => Membership::Validator,
        })
    }
}
