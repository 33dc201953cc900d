//! [`SubtensorChain`]: the [`Chain`] implementation against a subtensor node over JSON-RPC
//! (WebSocket or HTTP, see [`crate::rpc`]).
//!
//! **Reads.** The metagraph and hyperparameters come straight from `SubtensorModule` storage at
//! the best block. Storage keys are built with the hashers the node's metadata declares; absent
//! values decode from the metadata's declared default.
//!
//! **Writes.** `set_weights` first runs the chain's own checks on a fresh metagraph
//! ([`check_set_weights`], [`check_weights`]: registered, permit, version key, rate limit,
//! `MinAllowedWeights`, `MaxWeightsLimit`), so a call that must fail is never sent. Then:
//! - commit-reveal off: `set_mechanism_weights(netuid, 0, ...)` (or `set_weights` on runtimes
//!   without mechanisms);
//! - commit-reveal on: the weights are timelock-encrypted to the drand round at which the chain
//!   will reveal them ([`resi_timelock`]; the round from the subnet's epoch schedule, by the
//!   epoch-index model where the runtime has `SubnetEpochIndex`, else the legacy one) and sent
//!   as `commit_timelocked_mechanism_weights` (or `commit_timelocked_weights`) with the chain's
//!   `CommitRevealWeightsVersion`. The chain reveals by itself.
//!
//! Every call is a signed v4 extrinsic: mortal era of [`DEFAULT_ERA_PERIOD`] blocks anchored on
//! the **finalized** block, nonce from `system_accountNextIndex`, spec/transaction version from
//! `state_getRuntimeVersion`, genesis hash from `chain_getBlockHash(0)`, transaction extensions
//! in metadata order. It is then followed to its block (`author_submitAndWatchExtrinsic` over
//! WebSocket, block polling over HTTP, finalized on request), its `System.Events` decide
//! success or the typed dispatch error, and the storage it changed is read back (`LastUpdate`
//! for weights, `TimelockedWeightCommits` for a commit).
//!
//! Metadata is fetched once per runtime (spec) version and cached.

use crate::Chain;
use crate::checks::{check_set_weights, check_weights};
use crate::error::ChainError;
use crate::events;
use crate::metadata::{ChainMetadata, StorageInfo};
use crate::network::Network;
use crate::rpc::RpcClient;
use crate::scale::{self, DEFAULT_ERA_PERIOD, MortalEra};
use crate::types::{Hyperparameters, Metagraph, Neuron, TxResult, Wait};
use parity_scale_codec::{Compact, Decode, Encode};
use resi_core::keys::{Hotkey, PublicKey};
use resi_timelock::WeightsTlockPayload;
use resi_timelock::schedule::{self, EpochState, RevealModel};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The wall clock the reveal round is computed from, in unix seconds (injectable for tests and
/// offline checks).
pub type Clock = Arc<dyn Fn() -> f64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    })
}

/// The pallet that holds subnets, registrations and weights.
pub const SUBTENSOR_PALLET: &str = "SubtensorModule";

/// Keys fetched per `state_getKeysPaged` / `state_queryStorageAt` round trip.
const PAGE: u32 = 512;

/// What a runtime version fixes: its metadata and the values every signature covers.
#[derive(Debug)]
struct Runtime {
    metadata: ChainMetadata,
    spec_version: u32,
    tx_version: u32,
    genesis: [u8; 32],
}

/// A subtensor node reached over WebSocket or HTTP(S) JSON-RPC.
pub struct SubtensorChain {
    network: Network,
    rpc: RpcClient,
    runtime: tokio::sync::Mutex<Option<Arc<Runtime>>>,
    era_period: u64,
    wait: Wait,
    clock: Clock,
    inclusion_timeout: Duration,
    poll_interval: Duration,
}

impl std::fmt::Debug for SubtensorChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubtensorChain")
            .field("network", &self.network)
            .field("era_period", &self.era_period)
            .field("wait", &self.wait)
            .field("inclusion_timeout", &self.inclusion_timeout)
            .finish_non_exhaustive()
    }
}

/// A timelocked weights commit, built but not sent ([`SubtensorChain::plan_commit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitPlan {
    /// The call: `commit_timelocked_mechanism_weights` or `commit_timelocked_weights`.
    pub call_name: &'static str,
    /// The SCALE-encoded call (pallet index, call index, arguments).
    pub call: Vec<u8>,
    /// The encrypted payload (the call's `commit` argument).
    pub commit: Vec<u8>,
    /// The drand quicknet round that reveals it.
    pub reveal_round: u64,
    /// The `commit_reveal_version` sent.
    pub commit_reveal_version: u16,
    /// The block the chain is predicted to reveal at (`None` when the round was given).
    pub reveal_block: Option<u64>,
    /// The signer's uid.
    pub uid: u16,
}

/// Where an extrinsic ended up.
#[derive(Debug, Clone, Copy)]
struct Inclusion {
    number: u64,
    hash: [u8; 32],
    index: u32,
    finalized: bool,
}

/// The metagraph plus the block hash it was read at.
struct Snapshot {
    meta: Metagraph,
    hash: [u8; 32],
}

impl SubtensorChain {
    /// A client for `network` (see [`Network::parse`]). Does not connect yet.
    pub fn new(network: Network) -> Result<Self, ChainError> {
        let rpc = RpcClient::new(&network.url)?;
        Ok(Self {
            network,
            rpc,
            runtime: tokio::sync::Mutex::new(None),
            era_period: DEFAULT_ERA_PERIOD,
            wait: Wait::InBlock,
            clock: system_clock(),
            inclusion_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_secs(2),
        })
    }

    /// Follow extrinsics until finalized instead of until in a block.
    pub fn with_wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// Compute reveal rounds from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Give up following an extrinsic after `timeout` (default 120 s), polling blocks every
    /// `poll` over HTTP (default 2 s).
    pub fn with_inclusion_timeout(mut self, timeout: Duration, poll: Duration) -> Self {
        self.inclusion_timeout = timeout;
        self.poll_interval = poll;
        self
    }

    /// A client for a `--subtensor.network` value: `finney`, `test`, `archive`, `local`, or a
    /// `ws://`, `wss://`, `http://`, `https://` URL.
    pub fn connect(network: &str) -> Result<Self, ChainError> {
        Self::new(Network::parse(network)?)
    }

    /// The network this client talks to.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The underlying JSON-RPC client.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    async fn runtime(&self) -> Result<Arc<Runtime>, ChainError> {
        let (spec_version, tx_version) = self.rpc.runtime_version().await?;
        let mut guard = self.runtime.lock().await;
        if let Some(rt) = guard.as_ref()
            && rt.spec_version == spec_version
            && rt.tx_version == tx_version
        {
            return Ok(rt.clone());
        }
        let metadata = ChainMetadata::decode(&self.rpc.metadata().await?)?;
        let genesis = self.rpc.block_hash(0).await?;
        let rt = Arc::new(Runtime {
            metadata,
            spec_version,
            tx_version,
            genesis,
        });
        *guard = Some(rt.clone());
        Ok(rt)
    }

    /// Reads `SubtensorModule.item(keys...)` at `at`; the metadata default if absent.
    async fn read(
        &self,
        rt: &Runtime,
        item: &str,
        keys: &[&[u8]],
        at: &[u8; 32],
    ) -> Result<Vec<u8>, ChainError> {
        let (key, info) = storage_key(rt, item, keys)?;
        Ok(self
            .rpc
            .storage(&key, at)
            .await?
            .unwrap_or_else(|| info.default.clone()))
    }

    async fn read_decoded<T: Decode>(
        &self,
        rt: &Runtime,
        item: &str,
        keys: &[&[u8]],
        at: &[u8; 32],
    ) -> Result<T, ChainError> {
        let bytes = self.read(rt, item, keys, at).await?;
        decode_all(item, &bytes)
    }

    async fn ensure_subnet(
        &self,
        rt: &Runtime,
        netuid: u16,
        at: &[u8; 32],
    ) -> Result<(), ChainError> {
        let nk = netuid.encode();
        let exists = if rt
            .metadata
            .storage(SUBTENSOR_PALLET, "NetworksAdded")
            .is_ok()
        {
            self.read_decoded::<bool>(rt, "NetworksAdded", &[&nk], at)
                .await?
        } else {
            self.read_decoded::<u16>(rt, "SubnetworkN", &[&nk], at)
                .await?
                > 0
        };
        if exists {
            Ok(())
        } else {
            Err(ChainError::UnknownNetuid(netuid))
        }
    }

    async fn snapshot(&self, netuid: u16) -> Result<(Arc<Runtime>, Snapshot), ChainError> {
        let rt = self.runtime().await?;
        let (block, hash) = self.rpc.best_block().await?;
        self.ensure_subnet(&rt, netuid, &hash).await?;
        let nk = netuid.encode();
        let n: u16 = self.read_decoded(&rt, "SubnetworkN", &[&nk], &hash).await?;
        let permits: Vec<bool> = self
            .read_decoded(&rt, "ValidatorPermit", &[&nk], &hash)
            .await?;
        let last_update: Vec<u64> = self.read_decoded(&rt, "LastUpdate", &[&nk], &hash).await?;
        let weights_version_key: u64 = self
            .read_decoded(&rt, "WeightsVersionKey", &[&nk], &hash)
            .await?;
        let commit_reveal_enabled: bool = self
            .read_decoded(&rt, "CommitRevealWeightsEnabled", &[&nk], &hash)
            .await?;
        let weights_set_rate_limit: u64 = self
            .read_decoded(&rt, "WeightsSetRateLimit", &[&nk], &hash)
            .await?;
        let tempo: u16 = self.read_decoded(&rt, "Tempo", &[&nk], &hash).await?;
        let min_allowed_weights: u16 = self
            .read_decoded(&rt, "MinAllowedWeights", &[&nk], &hash)
            .await?;
        let max_weights_limit: u16 = self
            .read_decoded(&rt, "MaxWeightsLimit", &[&nk], &hash)
            .await?;

        let hotkeys = self.read_keys(&rt, netuid, &hash).await?;
        let neurons = hotkeys
            .into_iter()
            .map(|(uid, hotkey)| Neuron {
                uid,
                hotkey,
                validator_permit: permits.get(usize::from(uid)).copied().unwrap_or(false),
                last_update: last_update.get(usize::from(uid)).copied().unwrap_or(0),
            })
            .collect();
        let meta = Metagraph {
            netuid,
            block,
            n,
            neurons,
            weights_version_key,
            commit_reveal_enabled,
            weights_set_rate_limit,
            tempo,
            min_allowed_weights,
            max_weights_limit,
        };
        Ok((rt, Snapshot { meta, hash }))
    }

    /// All `Keys(netuid, uid) -> hotkey` entries, sorted by uid.
    async fn read_keys(
        &self,
        rt: &Runtime,
        netuid: u16,
        at: &[u8; 32],
    ) -> Result<Vec<(u16, PublicKey)>, ChainError> {
        const ITEM: &str = "Keys";
        let (pallet_prefix, info) = rt.metadata.storage(SUBTENSOR_PALLET, ITEM)?;
        let [netuid_hasher, uid_hasher] = info.hashers[..] else {
            return Err(ChainError::Metadata(format!(
                "{SUBTENSOR_PALLET}.{ITEM} has {} key hashers, expected 2",
                info.hashers.len()
            )));
        };
        let uid_offset = uid_hasher.concat_offset().ok_or_else(|| {
            ChainError::Metadata(format!(
                "{SUBTENSOR_PALLET}.{ITEM} hashes uids with {uid_hasher:?}, which hides the uid"
            ))
        })?;
        let mut prefix = scale::storage_prefix(pallet_prefix, ITEM);
        prefix.extend_from_slice(&netuid_hasher.hash(&netuid.encode()));

        let mut out = Vec::new();
        let mut start: Option<Vec<u8>> = None;
        loop {
            let keys = self
                .rpc
                .keys_paged(&prefix, PAGE, start.as_deref(), at)
                .await?;
            let values = self.rpc.query_storage_at(&keys, at).await?;
            for (key, value) in keys.iter().zip(values) {
                let tail = key.get(prefix.len() + uid_offset..).unwrap_or_default();
                let uid: u16 = decode_all(&format!("{ITEM} key uid"), tail)?;
                let Some(value) = value else { continue };
                let account: [u8; 32] = decode_all(ITEM, &value)?;
                out.push((uid, PublicKey::from_bytes(account)));
            }
            if keys.len() < PAGE as usize {
                break;
            }
            start = keys.last().cloned();
        }
        out.sort_by_key(|(uid, _)| *uid);
        Ok(out)
    }

    /// Reads a `u64`-like item that older runtimes may lack: `None` when the metadata has no
    /// such item.
    async fn read_optional<T: Decode>(
        &self,
        rt: &Runtime,
        item: &str,
        keys: &[&[u8]],
        at: &[u8; 32],
    ) -> Result<Option<T>, ChainError> {
        if !rt.metadata.has_storage(SUBTENSOR_PALLET, item) {
            return Ok(None);
        }
        self.read_decoded(rt, item, keys, at).await.map(Some)
    }

    /// The subnet's hyperparameters at the best block.
    pub async fn hyperparameters(&self, netuid: u16) -> Result<Hyperparameters, ChainError> {
        let rt = self.runtime().await?;
        let (block, hash) = self.rpc.best_block().await?;
        self.hyperparameters_at(&rt, netuid, block, &hash).await
    }

    async fn hyperparameters_at(
        &self,
        rt: &Runtime,
        netuid: u16,
        block: u64,
        hash: &[u8; 32],
    ) -> Result<Hyperparameters, ChainError> {
        self.ensure_subnet(rt, netuid, hash).await?;
        let nk = netuid.encode();
        let k: &[&[u8]] = &[&nk];
        let model = reveal_model(&rt.metadata);
        Ok(Hyperparameters {
            netuid,
            block,
            tempo: self.read_decoded(rt, "Tempo", k, hash).await?,
            weights_set_rate_limit: self
                .read_decoded(rt, "WeightsSetRateLimit", k, hash)
                .await?,
            commit_reveal_enabled: self
                .read_decoded(rt, "CommitRevealWeightsEnabled", k, hash)
                .await?,
            reveal_period_epochs: self
                .read_optional(rt, "RevealPeriodEpochs", k, hash)
                .await?
                .unwrap_or(1),
            commit_reveal_version: self
                .read_optional(rt, "CommitRevealWeightsVersion", &[], hash)
                .await?
                .unwrap_or(4),
            weights_version_key: self.read_decoded(rt, "WeightsVersionKey", k, hash).await?,
            min_allowed_weights: self.read_decoded(rt, "MinAllowedWeights", k, hash).await?,
            max_weights_limit: self.read_decoded(rt, "MaxWeightsLimit", k, hash).await?,
            subnetwork_n: self.read_decoded(rt, "SubnetworkN", k, hash).await?,
            max_allowed_uids: self
                .read_optional(rt, "MaxAllowedUids", k, hash)
                .await?
                .unwrap_or(0),
            immunity_period: self
                .read_optional(rt, "ImmunityPeriod", k, hash)
                .await?
                .unwrap_or(0),
            activity_cutoff: self
                .read_optional(rt, "ActivityCutoff", k, hash)
                .await?
                .unwrap_or(0),
            block_time_secs: block_time_secs(&rt.metadata),
            reveal_model: match model {
                RevealModel::EpochIndex => "epoch-index",
                RevealModel::Legacy => "legacy",
            }
            .into(),
            last_epoch_block: self
                .read_optional(rt, "LastEpochBlock", k, hash)
                .await?
                .unwrap_or(0),
            pending_epoch_at: self
                .read_optional(rt, "PendingEpochAt", k, hash)
                .await?
                .unwrap_or(0),
            subnet_epoch_index: self
                .read_optional(rt, "SubnetEpochIndex", k, hash)
                .await?
                .unwrap_or(0),
            blocks_since_last_step: self
                .read_optional(rt, "BlocksSinceLastStep", k, hash)
                .await?
                .unwrap_or(0),
        })
    }

    /// Builds the timelocked commit of these weights without sending it: checks them as the
    /// chain will at reveal, encrypts them to `reveal_round` (or to the round computed from the
    /// subnet's epoch schedule and the clock) and encodes the call the metadata names.
    pub async fn plan_commit(
        &self,
        netuid: u16,
        signer: &Hotkey,
        uids: &[u16],
        weights: &[u16],
        version_key: u64,
        reveal_round: Option<u64>,
    ) -> Result<CommitPlan, ChainError> {
        let (rt, snap) = self.snapshot(netuid).await?;
        self.plan_commit_at(&rt, &snap, signer, uids, weights, version_key, reveal_round)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn plan_commit_at(
        &self,
        rt: &Runtime,
        snap: &Snapshot,
        signer: &Hotkey,
        uids: &[u16],
        weights: &[u16],
        version_key: u64,
        reveal_round: Option<u64>,
    ) -> Result<CommitPlan, ChainError> {
        let netuid = snap.meta.netuid;
        let uid = check_weights(&snap.meta, &signer.public(), uids, weights, version_key)?;
        let hp = self
            .hyperparameters_at(rt, netuid, snap.meta.block, &snap.hash)
            .await?;
        let (reveal_round, reveal_block) = match reveal_round {
            Some(round) => (round, None),
            None => {
                let block = match reveal_model(&rt.metadata) {
                    RevealModel::EpochIndex => schedule::first_reveal_block_epoch_index(
                        &EpochState {
                            tempo: hp.tempo,
                            current_block: snap.meta.block,
                            last_epoch_block: hp.last_epoch_block,
                            pending_epoch_at: hp.pending_epoch_at,
                            subnet_epoch_index: hp.subnet_epoch_index,
                            blocks_since_last_step: hp.blocks_since_last_step,
                        },
                        hp.reveal_period_epochs,
                    )?,
                    RevealModel::Legacy => schedule::first_reveal_block_legacy(
                        hp.tempo,
                        snap.meta.block,
                        netuid,
                        hp.reveal_period_epochs,
                    )?,
                };
                let now = (self.clock)();
                (
                    schedule::reveal_round(block, snap.meta.block, hp.block_time_secs, now),
                    Some(block),
                )
            }
        };
        let payload = WeightsTlockPayload {
            hotkey: *signer.public().as_bytes(),
            uids: uids.to_vec(),
            values: weights.to_vec(),
            version_key,
        };
        let commit = resi_timelock::encrypt_commit(
            &payload,
            reveal_round,
            &mut resi_timelock::rand_core::OsRng,
        )?;
        let version = hp.commit_reveal_version;
        let (call_name, call) = match rt
            .metadata
            .call(SUBTENSOR_PALLET, "commit_timelocked_mechanism_weights")
        {
            Ok(info) => {
                expect_args(
                    &info.arg_names,
                    &[
                        "netuid",
                        "mecid",
                        "commit",
                        "reveal_round",
                        "commit_reveal_version",
                    ],
                    "commit_timelocked_mechanism_weights",
                )?;
                (
                    "commit_timelocked_mechanism_weights",
                    scale::encode_commit_timelocked_mechanism_weights_call(
                        (info.pallet_index, info.call_index),
                        netuid,
                        0,
                        &commit,
                        reveal_round,
                        version,
                    ),
                )
            }
            Err(_) => {
                let info = rt
                    .metadata
                    .call(SUBTENSOR_PALLET, "commit_timelocked_weights")?;
                expect_args(
                    &info.arg_names,
                    &["netuid", "commit", "reveal_round", "commit_reveal_version"],
                    "commit_timelocked_weights",
                )?;
                (
                    "commit_timelocked_weights",
                    scale::encode_commit_timelocked_weights_call(
                        (info.pallet_index, info.call_index),
                        netuid,
                        &commit,
                        reveal_round,
                        version,
                    ),
                )
            }
        };
        Ok(CommitPlan {
            call_name,
            call,
            commit,
            reveal_round,
            commit_reveal_version: version,
            reveal_block,
            uid,
        })
    }

    /// The plain weights call the metadata names: `set_mechanism_weights(netuid, 0, ...)` or
    /// `set_weights`.
    fn set_weights_call(
        rt: &Runtime,
        netuid: u16,
        uids: &[u16],
        weights: &[u16],
        version_key: u64,
    ) -> Result<(&'static str, Vec<u8>), ChainError> {
        Ok(
            match rt.metadata.call(SUBTENSOR_PALLET, "set_mechanism_weights") {
                Ok(info) => {
                    expect_args(
                        &info.arg_names,
                        &["netuid", "mecid", "dests", "weights", "version_key"],
                        "set_mechanism_weights",
                    )?;
                    (
                        "set_mechanism_weights",
                        scale::encode_set_mechanism_weights_call(
                            (info.pallet_index, info.call_index),
                            netuid,
                            0,
                            uids,
                            weights,
                            version_key,
                        ),
                    )
                }
                Err(_) => {
                    let info = rt.metadata.call(SUBTENSOR_PALLET, "set_weights")?;
                    expect_args(
                        &info.arg_names,
                        &["netuid", "dests", "weights", "version_key"],
                        "set_weights",
                    )?;
                    (
                        "set_weights",
                        scale::encode_set_weights_call(
                            (info.pallet_index, info.call_index),
                            netuid,
                            uids,
                            weights,
                            version_key,
                        ),
                    )
                }
            },
        )
    }

    /// Signs `call` as a v4 extrinsic with a mortal era anchored on the finalized block;
    /// returns the extrinsic and its era's first and last block.
    async fn sign(
        &self,
        rt: &Runtime,
        signer: &Hotkey,
        call: &[u8],
    ) -> Result<(Vec<u8>, MortalEra), ChainError> {
        let nonce = self.rpc.account_next_index(&signer.ss58()).await?;
        let (finalized, finalized_hash) = self.rpc.finalized_block().await?;
        let era = MortalEra::new(self.era_period, finalized);
        let birth_hash = if era.birth_block == finalized {
            finalized_hash
        } else {
            self.rpc.block_hash(era.birth_block).await?
        };
        let (explicit, implicit) = encode_extensions(rt, &era, birth_hash, nonce)?;
        let payload = scale::signing_payload(call, &explicit, &implicit);
        let signature = signer.sign(&payload);
        let xt = scale::signed_extrinsic_v4(
            signer.public().as_bytes(),
            signature.as_bytes(),
            &explicit,
            call,
        );
        tracing::debug!(
            network = %self.network.name,
            nonce,
            era_birth = era.birth_block,
            bytes = xt.len(),
            "signed extrinsic"
        );
        Ok((xt, era))
    }

    /// Submits `xt` and follows it to its block (finalized when asked).
    async fn submit_and_follow(
        &self,
        call: &str,
        xt: &[u8],
        era: &MortalEra,
    ) -> Result<Inclusion, ChainError> {
        let tx_hash = sp_crypto_hashing::blake2_256(xt);
        let not_included = |status: String| ChainError::NotIncluded {
            call: call.to_owned(),
            tx_hash: format!("0x{}", hex::encode(tx_hash)),
            status,
        };
        let deadline = tokio::time::Instant::now() + self.inclusion_timeout;
        let (from_block, _) = self.rpc.best_block().await?;
        if self.rpc.supports_subscriptions() {
            let mut sub = self
                .rpc
                .subscribe(
                    "author_submitAndWatchExtrinsic",
                    json!([format!("0x{}", hex::encode(xt))]),
                    "author_unwatchExtrinsic",
                )
                .await?;
            let mut in_block: Option<[u8; 32]> = None;
            loop {
                let next = tokio::time::timeout_at(deadline, sub.next()).await;
                let status = match next {
                    Err(_) => {
                        return Err(not_included(format!(
                            "no final status within {:?}",
                            self.inclusion_timeout
                        )));
                    }
                    // The connection dropped: find the extrinsic by scanning blocks instead.
                    Ok(None) => break,
                    Ok(Some(status)) => status?,
                };
                match parse_status(&status) {
                    TxStatus::Pending => {}
                    TxStatus::InBlock(h) => {
                        if self.wait == Wait::InBlock {
                            return self.locate(call, &tx_hash, h, false).await;
                        }
                        in_block = Some(h);
                    }
                    TxStatus::Retracted => in_block = None,
                    TxStatus::Finalized(h) => return self.locate(call, &tx_hash, h, true).await,
                    TxStatus::Failed(why) => {
                        if let (Some(h), "finalityTimeout") = (in_block, why.as_str()) {
                            return self.locate(call, &tx_hash, h, false).await;
                        }
                        return Err(not_included(why));
                    }
                }
            }
            tracing::warn!(
                call,
                "the watch subscription ended: looking for the extrinsic in new blocks"
            );
        } else {
            self.rpc.submit_extrinsic(xt).await?;
        }
        self.poll_for(call, &tx_hash, from_block, era, deadline)
            .await
    }

    /// Finds the extrinsic in blocks after `from_block` until the era ends or `deadline`.
    async fn poll_for(
        &self,
        call: &str,
        tx_hash: &[u8; 32],
        from_block: u64,
        era: &MortalEra,
        deadline: tokio::time::Instant,
    ) -> Result<Inclusion, ChainError> {
        let not_included = |status: String| ChainError::NotIncluded {
            call: call.to_owned(),
            tx_hash: format!("0x{}", hex::encode(tx_hash)),
            status,
        };
        let death = era.birth_block + self.era_period;
        let mut next = from_block + 1;
        loop {
            let (best, _) = self.rpc.best_block().await?;
            while next <= best {
                let hash = self.rpc.block_hash(next).await?;
                let xts = self.rpc.block_extrinsics(&hash).await?;
                if let Some(index) = xts
                    .iter()
                    .position(|x| sp_crypto_hashing::blake2_256(x) == *tx_hash)
                {
                    let index = u32::try_from(index).unwrap_or(u32::MAX);
                    let mut inc = Inclusion {
                        number: next,
                        hash,
                        index,
                        finalized: false,
                    };
                    if self.wait == Wait::Finalized {
                        inc = self.await_finality(call, tx_hash, inc, deadline).await?;
                    }
                    return Ok(inc);
                }
                next += 1;
            }
            if best >= death {
                return Err(not_included(format!(
                    "not in any block up to {best}, and its era ended at block {death}"
                )));
            }
            if tokio::time::Instant::now() + self.poll_interval > deadline {
                return Err(not_included(format!(
                    "not in any block up to {best} within {:?}",
                    self.inclusion_timeout
                )));
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// Waits until `inc`'s block is finalized (polling), or fails if it was replaced.
    async fn await_finality(
        &self,
        call: &str,
        tx_hash: &[u8; 32],
        mut inc: Inclusion,
        deadline: tokio::time::Instant,
    ) -> Result<Inclusion, ChainError> {
        loop {
            let (finalized, _) = self.rpc.finalized_block().await?;
            if finalized >= inc.number {
                if self.rpc.block_hash(inc.number).await? != inc.hash {
                    return Err(ChainError::NotIncluded {
                        call: call.to_owned(),
                        tx_hash: format!("0x{}", hex::encode(tx_hash)),
                        status: format!("block {} was replaced before finality", inc.number),
                    });
                }
                inc.finalized = true;
                return Ok(inc);
            }
            if tokio::time::Instant::now() + self.poll_interval > deadline {
                return Err(ChainError::NotIncluded {
                    call: call.to_owned(),
                    tx_hash: format!("0x{}", hex::encode(tx_hash)),
                    status: format!(
                        "in block {} but not finalized within {:?}",
                        inc.number, self.inclusion_timeout
                    ),
                });
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// The extrinsic's number and index in block `hash`.
    async fn locate(
        &self,
        call: &str,
        tx_hash: &[u8; 32],
        hash: [u8; 32],
        finalized: bool,
    ) -> Result<Inclusion, ChainError> {
        let number = self.rpc.header_number(&hash).await?;
        let xts = self.rpc.block_extrinsics(&hash).await?;
        let index = xts
            .iter()
            .position(|x| sp_crypto_hashing::blake2_256(x) == *tx_hash)
            .ok_or_else(|| ChainError::NotIncluded {
                call: call.to_owned(),
                tx_hash: format!("0x{}", hex::encode(tx_hash)),
                status: format!(
                    "the node reported block 0x{} but it does not hold the extrinsic",
                    hex::encode(hash)
                ),
            })?;
        Ok(Inclusion {
            number,
            hash,
            index: u32::try_from(index).unwrap_or(u32::MAX),
            finalized,
        })
    }

    /// Reads the block's events for the extrinsic: `Ok` on `ExtrinsicSuccess`, the named
    /// dispatch error on `ExtrinsicFailed`.
    async fn check_dispatch(
        &self,
        rt: &Runtime,
        call: &str,
        inc: &Inclusion,
    ) -> Result<Vec<String>, ChainError> {
        let block = format!("0x{}", hex::encode(inc.hash));
        let bytes = self
            .rpc
            .storage(&events::events_key(), &inc.hash)
            .await?
            .unwrap_or_default();
        match events::extrinsic_events(&rt.metadata, &bytes, inc.index)? {
            None => Err(ChainError::NotConfirmed {
                call: call.to_owned(),
                block,
                what: format!("its block has no outcome event for extrinsic {}", inc.index),
            }),
            Some(ev) => match ev.failure {
                None => Ok(ev.events),
                Some(f) => Err(ChainError::DispatchFailed {
                    call: call.to_owned(),
                    block,
                    pallet: f.pallet,
                    name: f.name,
                    docs: f.docs,
                }),
            },
        }
    }

    /// After a successful `set_*weights`: `LastUpdate[netuid][uid]` is the inclusion block.
    async fn confirm_weights(
        &self,
        rt: &Runtime,
        call: &str,
        netuid: u16,
        uid: u16,
        inc: &Inclusion,
    ) -> Result<(), ChainError> {
        let last: Vec<u64> = self
            .read_decoded(rt, "LastUpdate", &[&netuid.encode()], &inc.hash)
            .await?;
        let seen = last.get(usize::from(uid)).copied().unwrap_or(0);
        if seen == inc.number {
            Ok(())
        } else {
            Err(ChainError::NotConfirmed {
                call: call.to_owned(),
                block: format!("0x{}", hex::encode(inc.hash)),
                what: format!(
                    "LastUpdate of uid {uid} is {seen}, not the inclusion block {}",
                    inc.number
                ),
            })
        }
    }

    /// After a successful commit: `TimelockedWeightCommits[(netuid, *)]` holds
    /// `(signer, block, commit, round)`.
    async fn confirm_commit(
        &self,
        rt: &Runtime,
        call: &str,
        netuid: u16,
        signer: &PublicKey,
        plan: &CommitPlan,
        inc: &Inclusion,
    ) -> Result<(), ChainError> {
        const ITEM: &str = "TimelockedWeightCommits";
        let (pallet_prefix, info) = rt.metadata.storage(SUBTENSOR_PALLET, ITEM)?;
        let Some(first) = info.hashers.first() else {
            return Err(ChainError::Metadata(format!(
                "{SUBTENSOR_PALLET}.{ITEM} is not a map"
            )));
        };
        let mut prefix = scale::storage_prefix(pallet_prefix, ITEM);
        prefix.extend_from_slice(&first.hash(&netuid.encode()));
        let keys = self.rpc.keys_paged(&prefix, PAGE, None, &inc.hash).await?;
        let values = self.rpc.query_storage_at(&keys, &inc.hash).await?;
        for value in values.into_iter().flatten() {
            let entries: Vec<([u8; 32], u64, Vec<u8>, u64)> = decode_all(ITEM, &value)?;
            if entries.iter().any(|(who, block, commit, round)| {
                who == signer.as_bytes()
                    && *block == inc.number
                    && *commit == plan.commit
                    && *round == plan.reveal_round
            }) {
                return Ok(());
            }
        }
        Err(ChainError::NotConfirmed {
            call: call.to_owned(),
            block: format!("0x{}", hex::encode(inc.hash)),
            what: format!("{ITEM} for netuid {netuid} does not hold the commit"),
        })
    }
}

/// The reveal-round model of a runtime: epoch-index where it has `SubnetEpochIndex`.
pub fn reveal_model(meta: &ChainMetadata) -> RevealModel {
    if meta.has_storage(SUBTENSOR_PALLET, "SubnetEpochIndex") {
        RevealModel::EpochIndex
    } else {
        RevealModel::Legacy
    }
}

/// Seconds per block from `Aura.SlotDuration` (milliseconds); 12 when the runtime lacks it.
pub fn block_time_secs(meta: &ChainMetadata) -> f64 {
    meta.constant::<u64>("Aura", "SlotDuration")
        .map_or(12.0, |ms| ms as f64 / 1000.0)
}

/// A `TransactionStatus` notification, reduced to what following an extrinsic needs.
#[derive(Debug, PartialEq, Eq)]
enum TxStatus {
    Pending,
    InBlock([u8; 32]),
    Retracted,
    Finalized([u8; 32]),
    Failed(String),
}

fn parse_status(v: &Value) -> TxStatus {
    let hash = |h: &Value| {
        h.as_str()
            .and_then(|s| crate::rpc::decode_hash("author_extrinsicUpdate", s).ok())
    };
    match v {
        Value::String(s) => match s.as_str() {
            "future" | "ready" => TxStatus::Pending,
            other => TxStatus::Failed(other.to_owned()),
        },
        Value::Object(map) => {
            if let Some(h) = map.get("inBlock").and_then(hash) {
                TxStatus::InBlock(h)
            } else if let Some(h) = map.get("finalized").and_then(hash) {
                TxStatus::Finalized(h)
            } else if map.contains_key("retracted") {
                TxStatus::Retracted
            } else if map.contains_key("broadcast") {
                TxStatus::Pending
            } else {
                TxStatus::Failed(
                    map.keys()
                        .next()
                        .cloned()
                        .unwrap_or_else(|| "empty status".into()),
                )
            }
        }
        other => TxStatus::Failed(format!("unknown status {other}")),
    }
}

fn expect_args(found: &[String], expected: &[&str], call: &str) -> Result<(), ChainError> {
    if found
        .iter()
        .map(String::as_str)
        .eq(expected.iter().copied())
    {
        Ok(())
    } else {
        Err(ChainError::Metadata(format!(
            "{SUBTENSOR_PALLET}.{call} takes ({}), resi encodes ({}): the runtime changed the call",
            found.join(", "),
            expected.join(", ")
        )))
    }
}

/// The explicit and implicit bytes of every transaction extension, in metadata order.
fn encode_extensions(
    rt: &Runtime,
    era: &MortalEra,
    birth_hash: [u8; 32],
    nonce: u64,
) -> Result<(Vec<u8>, Vec<u8>), ChainError> {
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for ext in rt.metadata.extensions() {
        match ext.identifier.as_str() {
            "CheckSpecVersion" => rt.spec_version.encode_to(&mut implicit),
            "CheckTxVersion" => rt.tx_version.encode_to(&mut implicit),
            "CheckGenesis" => implicit.extend_from_slice(&rt.genesis),
            "CheckMortality" | "CheckEra" => {
                explicit.extend_from_slice(&era.encode());
                implicit.extend_from_slice(&birth_hash);
            }
            "CheckNonce" => Compact(nonce).encode_to(&mut explicit),
            "ChargeTransactionPayment" | "ChargeTransactionPaymentWrapper" => {
                Compact(0u128).encode_to(&mut explicit)
            }
            "CheckMetadataHash" => {
                explicit.push(0); // mode: disabled
                implicit.push(0); // Option<H256>: None
            }
            other => {
                if !(rt.metadata.is_zero_sized(ext.explicit_ty)
                    && rt.metadata.is_zero_sized(ext.implicit_ty))
                {
                    return Err(ChainError::Metadata(format!(
                        "transaction extension {other} carries data resi does not know how to fill"
                    )));
                }
            }
        }
    }
    Ok((explicit, implicit))
}

fn storage_key<'a>(
    rt: &'a Runtime,
    item: &str,
    keys: &[&[u8]],
) -> Result<(Vec<u8>, &'a StorageInfo), ChainError> {
    let (prefix, info) = rt.metadata.storage(SUBTENSOR_PALLET, item)?;
    if info.hashers.len() != keys.len() {
        return Err(ChainError::Metadata(format!(
            "{SUBTENSOR_PALLET}.{item} takes {} keys, resi passes {}",
            info.hashers.len(),
            keys.len()
        )));
    }
    let parts: Vec<_> = info
        .hashers
        .iter()
        .copied()
        .zip(keys.iter().copied())
        .collect();
    Ok((scale::storage_key(prefix, item, &parts), info))
}

fn decode_all<T: Decode>(item: &str, mut bytes: &[u8]) -> Result<T, ChainError> {
    let err = |reason: String| ChainError::StorageDecode {
        item: format!("{SUBTENSOR_PALLET}.{item}"),
        reason,
    };
    let value = T::decode(&mut bytes).map_err(|e| err(e.to_string()))?;
    if !bytes.is_empty() {
        return Err(err(format!("{} trailing bytes", bytes.len())));
    }
    Ok(value)
}

impl Chain for SubtensorChain {
    async fn current_block(&self) -> Result<u64, ChainError> {
        Ok(self.rpc.best_block().await?.0)
    }

    async fn metagraph(&self, netuid: u16) -> Result<Metagraph, ChainError> {
        Ok(self.snapshot(netuid).await?.1.meta)
    }

    async fn uid_of(&self, netuid: u16, hotkey: &PublicKey) -> Result<Option<u16>, ChainError> {
        let rt = self.runtime().await?;
        let (_, hash) = self.rpc.best_block().await?;
        self.ensure_subnet(&rt, netuid, &hash).await?;
        let (key, _) = storage_key(&rt, "Uids", &[&netuid.encode(), hotkey.as_bytes()])?;
        match self.rpc.storage(&key, &hash).await? {
            None => Ok(None),
            Some(bytes) => {
                let uid: u16 = decode_all("Uids", &bytes)?;
                Ok(Some(uid))
            }
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
        let (rt, snap) = self.snapshot(netuid).await?;
        if snap.meta.commit_reveal_enabled {
            let plan = self
                .plan_commit_at(&rt, &snap, signer, uids, weights, version_key, None)
                .await?;
            let (xt, era) = self.sign(&rt, signer, &plan.call).await?;
            tracing::info!(
                netuid,
                uid = plan.uid,
                reveal_round = plan.reveal_round,
                reveal_block = ?plan.reveal_block,
                "committing timelocked weights"
            );
            let inc = self.submit_and_follow(plan.call_name, &xt, &era).await?;
            self.check_dispatch(&rt, plan.call_name, &inc).await?;
            self.confirm_commit(&rt, plan.call_name, netuid, &signer.public(), &plan, &inc)
                .await?;
            return Ok(TxResult {
                netuid,
                uid: plan.uid,
                block: inc.number,
                tx_hash: format!("0x{}", hex::encode(sp_crypto_hashing::blake2_256(&xt))),
                call: plan.call_name.to_owned(),
                included_in: Some(format!("0x{}", hex::encode(inc.hash))),
                finalized: inc.finalized,
                reveal_round: Some(plan.reveal_round),
            });
        }
        let uid = check_set_weights(&snap.meta, &signer.public(), uids, weights, version_key)?;
        let (call_name, call) = Self::set_weights_call(&rt, netuid, uids, weights, version_key)?;
        let (xt, era) = self.sign(&rt, signer, &call).await?;
        let inc = self.submit_and_follow(call_name, &xt, &era).await?;
        self.check_dispatch(&rt, call_name, &inc).await?;
        self.confirm_weights(&rt, call_name, netuid, uid, &inc)
            .await?;
        Ok(TxResult {
            netuid,
            uid,
            block: inc.number,
            tx_hash: format!("0x{}", hex::encode(sp_crypto_hashing::blake2_256(&xt))),
            call: call_name.to_owned(),
            included_in: Some(format!("0x{}", hex::encode(inc.hash))),
            finalized: inc.finalized,
            reveal_round: None,
        })
    }
}
