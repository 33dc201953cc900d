//! Chain I/O for resi: the metagraph, registration checks and weight setting, against either the
//! embedded SQLite local chain (the devnet default) or a real subtensor node over JSON-RPC.
//!
//! Modules:
//! - [`types`]: the [`Metagraph`], [`Neuron`] and [`TxResult`] values every backend returns.
//! - [`error`]: [`ChainError`], one typed error for every way a chain call can fail.
//! - [`checks`]: the chain-side `set_weights` checks, shared by both backends (the local chain
//!   enforces them, the subtensor client runs them before paying for a doomed extrinsic).
//! - [`local`]: [`LocalChain`], the SQLite-backed embedded chain.
//! - [`scale`]: SCALE encoding of calls, storage keys, eras and signed v4 extrinsics.
//! - [`metadata`]: decoding runtime metadata (V14/V15/V16) and resolving pallets, calls, storage
//!   hashers and transaction extensions by name.
//! - [`events`]: a block's `System.Events` decoded with the runtime's registry (success, or
//!   the failed dispatch named from the metadata).
//! - [`rpc`]: a small substrate JSON-RPC client over WebSocket (reconnecting) or HTTP.
//! - [`network`]: `--subtensor.network` names (`finney`, `test`, `local`, URLs) to endpoints.
//! - [`subtensor`]: [`SubtensorChain`], the [`Chain`] implementation over JSON-RPC.
//!
//! The [`Chain`] trait is what the coordinator (registration, validator permits) and the
//! validator (metagraph, weights) program against; [`AnyChain`] picks a backend at runtime.

#![warn(missing_docs)]

pub mod checks;
pub mod error;
pub mod events;
pub mod local;
pub mod metadata;
pub mod network;
pub mod rpc;
pub mod scale;
pub mod subtensor;
pub mod types;

pub use error::ChainError;
pub use local::{LocalChain, SubnetParams};
pub use network::Network;
pub use subtensor::SubtensorChain;
pub use types::{Hyperparameters, Metagraph, Neuron, TxResult, Wait};

use resi_core::keys::{Hotkey, PublicKey};
use std::future::Future;

/// What resi needs from a chain: read a subnet's metagraph, look up registrations, set weights.
///
/// Implemented by [`LocalChain`] (embedded, SQLite) and [`SubtensorChain`] (JSON-RPC).
/// `netuid` is the subnet id (46 for SN46); hotkeys are sr25519 public keys.
pub trait Chain: Send + Sync {
    /// The current block number as this chain sees it.
    fn current_block(&self) -> impl Future<Output = Result<u64, ChainError>> + Send;

    /// The subnet's metagraph at the current block. Fails with [`ChainError::UnknownNetuid`]
    /// if the subnet does not exist.
    fn metagraph(&self, netuid: u16) -> impl Future<Output = Result<Metagraph, ChainError>> + Send;

    /// The uid of `hotkey` on subnet `netuid`, or `None` if it is not registered there.
    fn uid_of(
        &self,
        netuid: u16,
        hotkey: &PublicKey,
    ) -> impl Future<Output = Result<Option<u16>, ChainError>> + Send;

    /// True if `hotkey` is registered on subnet `netuid`.
    fn is_registered(
        &self,
        netuid: u16,
        hotkey: &PublicKey,
    ) -> impl Future<Output = Result<bool, ChainError>> + Send {
        async move { Ok(self.uid_of(netuid, hotkey).await?.is_some()) }
    }

    /// Sets `signer`'s weights on subnet `netuid`: `uids[i]` gets `weights[i]` (u16, already
    /// normalized, see `resi_core::weights`). Runs the chain's checks first (registered,
    /// permit, lengths, version key, rate limit, commit-reveal) and fails with the matching
    /// [`ChainError`] rather than sending a call that must fail.
    fn set_weights(
        &self,
        netuid: u16,
        signer: &Hotkey,
        uids: &[u16],
        weights: &[u16],
        version_key: u64,
    ) -> impl Future<Output = Result<TxResult, ChainError>> + Send;
}

/// A chain picked at runtime: the embedded local chain or a subtensor node.
#[derive(Debug)]
pub enum AnyChain {
    /// The embedded SQLite chain.
    Local(LocalChain),
    /// A subtensor node over JSON-RPC.
    Subtensor(SubtensorChain),
}

impl AnyChain {
    /// The subnet's hyperparameters.
    pub async fn hyperparameters(&self, netuid: u16) -> Result<Hyperparameters, ChainError> {
        match self {
            AnyChain::Local(c) => c.hyperparameters(netuid),
            AnyChain::Subtensor(c) => c.hyperparameters(netuid).await,
        }
    }
}

impl Chain for AnyChain {
    async fn current_block(&self) -> Result<u64, ChainError> {
        match self {
            AnyChain::Local(c) => c.current_block().await,
            AnyChain::Subtensor(c) => c.current_block().await,
        }
    }

    async fn metagraph(&self, netuid: u16) -> Result<Metagraph, ChainError> {
        match self {
            AnyChain::Local(c) => c.metagraph(netuid).await,
            AnyChain::Subtensor(c) => c.metagraph(netuid).await,
        }
    }

    async fn uid_of(&self, netuid: u16, hotkey: &PublicKey) -> Result<Option<u16>, ChainError> {
        match self {
            AnyChain::Local(c) => c.uid_of(netuid, hotkey).await,
            AnyChain::Subtensor(c) => c.uid_of(netuid, hotkey).await,
        }
    }

    async fn set_weights(
        &self,
        netuid: u16,
        signer: &Hotkey,
        uids: &[u16],
        weights: &[u16],
        version_key: u64,
    ) -> Result<TxResult, ChainError> {
        match self {
            AnyChain::Local(c) => {
                c.set_weights(netuid, signer, uids, weights, version_key)
                    .await
            }
            AnyChain::Subtensor(c) => {
                c.set_weights(netuid, signer, uids, weights, version_key)
                    .await
            }
        }
    }
}
