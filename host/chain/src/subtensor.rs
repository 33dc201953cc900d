//! [`SubtensorChain`]: the [`Chain`] implementation against a subtensor node over JSON-RPC.
//!
//! **Reads.** The metagraph comes straight from `SubtensorModule` storage at the best block:
//! `NetworksAdded` (does the subnet exist), `SubnetworkN`, `Keys` (enumerated with
//! `state_getKeysPaged`, values fetched with `state_queryStorageAt`), `ValidatorPermit`,
//! `LastUpdate`, `WeightsVersionKey`, `CommitRevealWeightsEnabled`, `WeightsSetRateLimit`,
//! `Tempo`. Storage keys are built with the hashers the node's metadata declares; absent values
//! decode from the metadata's declared default.
//!
//! **Writes.** `set_weights` first runs [`check_set_weights`] on a fresh metagraph (so a rate
//! limited, unpermitted or commit-reveal subnet fails with a typed error and nothing is sent),
//! then submits `set_mechanism_weights(netuid, 0, ...)` (or `set_weights` on runtimes without
//! mechanisms) as a signed v4 extrinsic: mortal era of [`DEFAULT_ERA_PERIOD`] blocks from the
//! best block, nonce from `system_accountNextIndex`, spec/transaction version from
//! `state_getRuntimeVersion`, genesis hash from `chain_getBlockHash(0)`, and the transaction
//! extensions in the order the metadata lists them. The extrinsic hash is returned as soon as
//! the node accepts it into its pool; inclusion is not awaited.
//!
//! Metadata is fetched once per runtime (spec) version and cached.

use crate::Chain;
use crate::checks::check_set_weights;
use crate::error::ChainError;
use crate::metadata::{ChainMetadata, StorageInfo};
use crate::network::Network;
use crate::rpc::RpcClient;
use crate::scale::{self, DEFAULT_ERA_PERIOD, MortalEra};
use crate::types::{Metagraph, Neuron, TxResult};
use parity_scale_codec::{Compact, Decode, Encode};
use resi_core::keys::{Hotkey, PublicKey};
use std::sync::Arc;

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

/// A subtensor node reached over HTTP(S) JSON-RPC.
#[derive(Debug)]
pub struct SubtensorChain {
    network: Network,
    rpc: RpcClient,
    runtime: tokio::sync::Mutex<Option<Arc<Runtime>>>,
    era_period: u64,
}

/// The metagraph plus the block hash it was read at.
struct Snapshot {
    meta: Metagraph,
    hash: [u8; 32],
}

impl SubtensorChain {
    /// A client for `network` (see [`Network::parse`]). Does not connect yet.
    pub fn new(network: Network) -> Result<Self, ChainError> {
        let rpc = RpcClient::new(&network.http_endpoint)?;
        Ok(Self {
            network,
            rpc,
            runtime: tokio::sync::Mutex::new(None),
            era_period: DEFAULT_ERA_PERIOD,
        })
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

    /// Builds, signs and submits the weights extrinsic; returns (call name, extrinsic hash).
    async fn submit_weights(
        &self,
        rt: &Runtime,
        snap: &Snapshot,
        signer: &Hotkey,
        uids: &[u16],
        weights: &[u16],
        version_key: u64,
    ) -> Result<(&'static str, [u8; 32]), ChainError> {
        let netuid = snap.meta.netuid;
        let (name, call) = match rt.metadata.call(SUBTENSOR_PALLET, "set_mechanism_weights") {
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
        };
        let nonce = self.rpc.account_next_index(&signer.ss58()).await?;
        let era = MortalEra::new(self.era_period, snap.meta.block);
        let birth_hash = if era.birth_block == snap.meta.block {
            snap.hash
        } else {
            self.rpc.block_hash(era.birth_block).await?
        };
        let (explicit, implicit) = encode_extensions(rt, &era, birth_hash, nonce)?;
        let payload = scale::signing_payload(&call, &explicit, &implicit);
        let signature = signer.sign(&payload);
        let xt = scale::signed_extrinsic_v4(
            signer.public().as_bytes(),
            signature.as_bytes(),
            &explicit,
            &call,
        );
        tracing::debug!(
            network = %self.network.name,
            netuid,
            call = name,
            nonce,
            block = snap.meta.block,
            bytes = xt.len(),
            "submitting weights extrinsic"
        );
        let hash = self.rpc.submit_extrinsic(&xt).await?;
        Ok((name, hash))
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
        let uid = check_set_weights(&snap.meta, &signer.public(), uids, weights, version_key)?;
        let (call, hash) = self
            .submit_weights(&rt, &snap, signer, uids, weights, version_key)
            .await?;
        Ok(TxResult {
            netuid,
            uid,
            block: snap.meta.block,
            tx_hash: format!("0x{}", hex::encode(hash)),
            call: call.to_owned(),
        })
    }
}
