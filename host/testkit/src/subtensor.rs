//! A subtensor node double on 127.0.0.1 (feature `subtensor`): a jsonrpsee server answering
//! the substrate JSON-RPC methods resi calls, over HTTP and WebSocket on one port, as
//! substrate nodes do.
//!
//! It serves the real finney metadata (or a patched copy), SCALE-encoded storage seeded with a
//! small metagraph ([`seed`]), and real method names. On `author_submitExtrinsic` and
//! `author_submitAndWatchExtrinsic` it parses the signed v4 extrinsic by hand (independently of
//! resi-chain's encoder), rebuilds the signing payload from its own spec/tx version, genesis and
//! birth-block hashes, checks the sr25519 signature and the nonce, records the decoded call
//! ([`Recorded`]), and includes it in a new block with hand-encoded `System.Events` (success,
//! or a configured module error) and the storage the call changes (`LastUpdate`,
//! `TimelockedWeightCommits`). A timelocked commit to round 1000 is decrypted with drand's
//! published round-1000 signature ([`SIG_1000`]), as the chain does at reveal.

use jsonrpsee::server::{PendingSubscriptionSink, RpcModule, Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use parity_scale_codec::{Compact, Decode, Encode};
use resi_chain::metadata::ChainMetadata;
use resi_chain::scale::{self, MortalEra};
use resi_core::keys::{Hotkey, PublicKey, Signature};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Real finney runtime metadata (V16), the copy in `host/chain/tests/data` (see its README).
pub const FINNEY: &[u8] = include_bytes!("../../chain/tests/data/finney.scale");
/// The spec version the double reports.
pub const SPEC_VERSION: u32 = 331;
/// The transaction version the double reports.
pub const TX_VERSION: u32 = 1;
/// The best block when the double starts (the finalized one is two behind).
pub const BEST: u64 = 1000;
/// The published drand quicknet signature of round 1000 (subtensor `pallets/drand/src/tests.rs`).
pub const SIG_1000: &str = "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39";

/// A weights call (or timelocked commit) the double accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The signer.
    pub signer: PublicKey,
    /// The call's index in `SubtensorModule`.
    pub call_index: u8,
    /// The subnet.
    pub netuid: u16,
    /// The mechanism, for `*_mechanism_*` calls.
    pub mecid: Option<u8>,
    /// The uids (of a commit: decrypted, when its round is 1000).
    pub dests: Vec<u16>,
    /// The weights (of a commit: decrypted, when its round is 1000).
    pub weights: Vec<u16>,
    /// The version key (of a commit: decrypted, when its round is 1000).
    pub version_key: u64,
    /// A commit's encrypted payload, reveal round and commit-reveal version.
    pub commit: Option<(Vec<u8>, u64, u16)>,
    /// The nonce.
    pub nonce: u64,
    /// The mortal era (period, phase).
    pub era: (u64, u64),
    /// The birth block the signature had to cover.
    pub birth: u64,
    /// True when the signed payload was over 256 bytes and signed as its blake2-256 hash.
    pub hashed_payload: bool,
}

/// The double's state.
pub struct Node {
    /// Storage (`at` is ignored: every read sees the latest state).
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Next nonce per SS58 account.
    pub nonces: HashMap<String, u64>,
    /// Accepted extrinsics.
    pub submitted: Vec<Recorded>,
    /// Why refused extrinsics were refused.
    pub rejected: Vec<String>,
    /// Every method called, in order.
    pub calls: Vec<String>,
    /// The best block.
    pub best: u64,
    /// The finalized block.
    pub finalized: u64,
    /// Extrinsics of the blocks the double made (after BEST), index 0 a stand-in inherent.
    pub blocks: BTreeMap<u64, Vec<Vec<u8>>>,
    /// `System.Events` of those blocks.
    pub events: BTreeMap<u64, Vec<u8>>,
    /// The next included extrinsic fails with this `SubtensorModule` error index.
    pub fail_next: Option<u8>,
    /// The watch subscription answers with this terminal status instead of including.
    pub watch_status: Option<&'static str>,
    /// Uid of each hotkey per subnet.
    pub uids: HashMap<(u16, [u8; 32]), u16>,
    /// The metadata served.
    pub metadata: Vec<u8>,
    /// The metadata, decoded.
    pub meta: ChainMetadata,
}

impl Node {
    /// A node serving `metadata`, best block [`BEST`], with empty storage.
    pub fn new(metadata: Vec<u8>) -> Self {
        Self {
            storage: BTreeMap::new(),
            nonces: HashMap::new(),
            submitted: Vec::new(),
            rejected: Vec::new(),
            calls: Vec::new(),
            best: BEST,
            finalized: BEST - 2,
            blocks: BTreeMap::new(),
            events: BTreeMap::new(),
            fail_next: None,
            watch_status: None,
            uids: HashMap::new(),
            meta: ChainMetadata::decode(&metadata).unwrap(),
            metadata,
        }
    }

    /// Stores `SubtensorModule.item(keys...) = value` (SCALE), keyed with the metadata's hashers.
    pub fn put(&mut self, item: &str, keys: &[&[u8]], value: Vec<u8>) {
        let key = self.key(item, keys);
        self.storage.insert(key, value);
    }

    /// The storage key of `SubtensorModule.item(keys...)`.
    pub fn key(&self, item: &str, keys: &[&[u8]]) -> Vec<u8> {
        let (prefix, info) = self.meta.storage("SubtensorModule", item).unwrap();
        let parts: Vec<_> = info
            .hashers
            .iter()
            .copied()
            .zip(keys.iter().copied())
            .collect();
        scale::storage_key(prefix, item, &parts)
    }

    /// Includes `xt` in a new block: events, and the storage its call changes.
    fn include(&mut self, xt: Vec<u8>, rec: &Recorded) -> u64 {
        let n = self.best + 1;
        self.best = n;
        self.finalized = n;
        self.blocks.insert(n, vec![b"inherent".to_vec(), xt]);
        let failure = self.fail_next.take();
        // Record 0: the inherent succeeded. Record 1: the weights extrinsic.
        let events = vec![
            event_record(0, &extrinsic_success()),
            event_record(
                1,
                &match failure {
                    None => extrinsic_success(),
                    Some(error) => extrinsic_failed_module(7, error),
                },
            ),
        ];
        self.events.insert(n, events.encode_as_vec());
        if failure.is_none() {
            let uid = self.uids[&(rec.netuid, *rec.signer.as_bytes())];
            let nk = rec.netuid.encode();
            let lkey = self.key("LastUpdate", &[&nk]);
            let mut last: Vec<u64> =
                Decode::decode(&mut &self.storage[&lkey][..]).unwrap_or_default();
            if last.len() <= usize::from(uid) {
                last.resize(usize::from(uid) + 1, 0);
            }
            last[usize::from(uid)] = n;
            self.storage.insert(lkey, last.encode());
            if let Some((commit, round, _)) = &rec.commit {
                let epoch = 2u64.encode();
                let entries = vec![(*rec.signer.as_bytes(), n, commit.clone(), *round)];
                self.put("TimelockedWeightCommits", &[&nk, &epoch], entries.encode());
            }
        }
        n
    }
}

/// SCALE of an `EventRecord { phase: ApplyExtrinsic(index), event, topics: [] }`.
fn event_record(index: u32, event: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8]; // Phase::ApplyExtrinsic
    index.encode_to(&mut out);
    out.extend_from_slice(event);
    out.push(0); // topics: empty Vec<H256>
    out
}

/// `DispatchEventInfo { weight: { ref_time, proof_size } (compact), class: Normal, pays: Yes }`.
fn dispatch_info() -> Vec<u8> {
    let mut out = Vec::new();
    Compact(123_456_789u64).encode_to(&mut out);
    Compact(4_096u64).encode_to(&mut out);
    out.push(0); // DispatchClass::Normal
    out.push(0); // Pays::Yes
    out
}

/// `RuntimeEvent::System(ExtrinsicSuccess { dispatch_info })`.
fn extrinsic_success() -> Vec<u8> {
    [vec![0u8, 0u8], dispatch_info()].concat()
}

/// `RuntimeEvent::System(ExtrinsicFailed { DispatchError::Module { index, error }, info })`.
fn extrinsic_failed_module(pallet: u8, error: u8) -> Vec<u8> {
    [vec![0u8, 1u8, 3u8, pallet, error, 0, 0, 0], dispatch_info()].concat()
}

/// A list of already-encoded records as a SCALE `Vec`.
trait EncodeAsVec {
    fn encode_as_vec(&self) -> Vec<u8>;
}

impl EncodeAsVec for Vec<Vec<u8>> {
    fn encode_as_vec(&self) -> Vec<u8> {
        let mut out = Compact(self.len() as u32).encode();
        for r in self {
            out.extend_from_slice(r);
        }
        out
    }
}

/// The node as the server and the tests share it.
pub type Shared = Arc<Mutex<Node>>;

/// The double's hash of block `n`.
pub fn block_hash(n: u64) -> [u8; 32] {
    sp_crypto_hashing::blake2_256(&[b"block".as_slice(), &n.to_le_bytes()].concat())
}

/// `0x`-prefixed hex.
pub fn hx(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

fn unhex(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("hex param");
    hex::decode(s.trim_start_matches("0x")).expect("hex")
}

/// Decodes a submitted extrinsic, verifies it and returns the record, or why it is invalid.
fn check_extrinsic(node: &Node, xt: &[u8]) -> Result<Recorded, String> {
    let mut input = xt;
    let len = Compact::<u32>::decode(&mut input)
        .map_err(|e| e.to_string())?
        .0 as usize;
    if len != input.len() {
        return Err(format!(
            "length prefix {len} but {} bytes follow",
            input.len()
        ));
    }
    let take = |input: &mut &[u8], n: usize| -> Result<Vec<u8>, String> {
        if input.len() < n {
            return Err("truncated".into());
        }
        let (a, b) = input.split_at(n);
        *input = b;
        Ok(a.to_vec())
    };
    if take(&mut input, 1)?[0] != 0x84 {
        return Err("not a signed v4 extrinsic".into());
    }
    if take(&mut input, 1)?[0] != 0x00 {
        return Err("address is not MultiAddress::Id".into());
    }
    let signer = PublicKey::from_bytes(take(&mut input, 32)?.try_into().unwrap());
    if take(&mut input, 1)?[0] != 0x01 {
        return Err("signature is not sr25519".into());
    }
    let sig = Signature::from_bytes(take(&mut input, 64)?.try_into().unwrap());
    // Explicit extension data, finney order: era, nonce, tip, metadata-hash mode.
    let explicit_start = input;
    let era_bytes: [u8; 2] = take(&mut input, 2)?.try_into().unwrap();
    let era = MortalEra::decode(era_bytes).ok_or("bad era")?;
    let nonce = u64::from(
        Compact::<u32>::decode(&mut input)
            .map_err(|e| e.to_string())?
            .0,
    );
    let tip = Compact::<u128>::decode(&mut input)
        .map_err(|e| e.to_string())?
        .0;
    let mode = take(&mut input, 1)?[0];
    if tip != 0 || mode != 0 {
        return Err(format!("unexpected tip {tip} / metadata-hash mode {mode}"));
    }
    let explicit = &explicit_start[..explicit_start.len() - input.len()];
    let call = input.to_vec();

    // Implicit data, rebuilt from the node's own state.
    let (period, phase) = era;
    let birth = (node.best.max(phase) - phase) / period * period + phase;
    let mut implicit = Vec::new();
    SPEC_VERSION.encode_to(&mut implicit);
    TX_VERSION.encode_to(&mut implicit);
    implicit.extend_from_slice(&block_hash(0));
    implicit.extend_from_slice(&block_hash(birth));
    implicit.push(0); // CheckMetadataHash: None
    let mut payload = [call.as_slice(), explicit, &implicit].concat();
    let hashed_payload = payload.len() > 256;
    if hashed_payload {
        payload = sp_crypto_hashing::blake2_256(&payload).to_vec();
    }
    if !signer.verify(&payload, &sig) {
        return Err("bad signature".into());
    }
    let expected_nonce = node.nonces.get(&signer.to_ss58()).copied().unwrap_or(0);
    if nonce != expected_nonce {
        return Err(format!("stale nonce {nonce}, expected {expected_nonce}"));
    }

    let mut c = call.as_slice();
    let pallet = u8::decode(&mut c).map_err(|e| e.to_string())?;
    let call_index = u8::decode(&mut c).map_err(|e| e.to_string())?;
    if pallet != 7 {
        return Err(format!(
            "call to pallet {pallet}, expected SubtensorModule (7)"
        ));
    }
    let index_of = |name: &str| node.meta.call("SubtensorModule", name).unwrap().call_index;
    let e = |e: parity_scale_codec::Error| e.to_string();
    let netuid = u16::decode(&mut c).map_err(e)?;
    let with_mecid = call_index == index_of("set_mechanism_weights")
        || call_index == index_of("commit_timelocked_mechanism_weights");
    let is_commit = call_index == index_of("commit_timelocked_mechanism_weights")
        || call_index == index_of("commit_timelocked_weights");
    if !with_mecid && !is_commit && call_index != index_of("set_weights") {
        return Err(format!("unexpected call index {call_index}"));
    }
    let mecid = if with_mecid {
        Some(u8::decode(&mut c).map_err(e)?)
    } else {
        None
    };
    let (dests, weights, version_key, commit) = if is_commit {
        let commit = Vec::<u8>::decode(&mut c).map_err(e)?;
        let round = u64::decode(&mut c).map_err(e)?;
        let version = u16::decode(&mut c).map_err(e)?;
        if version != 4 {
            return Err(format!("IncorrectCommitRevealVersion {version}"));
        }
        if commit.len() > 5000 {
            return Err("commit over 5000 bytes".into());
        }
        // What the chain does at reveal: decrypt with the round's signature, decode the payload,
        // require the payload's hotkey to be the signer. Only round 1000's signature is known
        // here; other rounds are recorded undecrypted.
        let (dests, weights, vk) = if round == 1000 {
            let p = resi_timelock::decrypt_commit(&commit, &hex::decode(SIG_1000).unwrap())
                .map_err(|e| format!("reveal would fail: {e}"))?;
            if p.hotkey != *signer.as_bytes() {
                return Err("payload hotkey is not the signer".into());
            }
            (p.uids, p.values, p.version_key)
        } else {
            (Vec::new(), Vec::new(), 0)
        };
        (dests, weights, vk, Some((commit, round, version)))
    } else {
        let dests = Vec::<u16>::decode(&mut c).map_err(e)?;
        let weights = Vec::<u16>::decode(&mut c).map_err(e)?;
        let version_key = u64::decode(&mut c).map_err(e)?;
        (dests, weights, version_key, None)
    };
    if !c.is_empty() {
        return Err("trailing call bytes".into());
    }
    Ok(Recorded {
        signer,
        call_index,
        netuid,
        mecid,
        dests,
        weights,
        version_key,
        commit,
        nonce,
        era,
        birth,
        hashed_payload,
    })
}

fn header(n: u64) -> Value {
    json!({
        "parentHash": hx(&block_hash(n.saturating_sub(1))),
        "number": format!("0x{n:x}"),
        "stateRoot": hx(&[0; 32]),
        "extrinsicsRoot": hx(&[0; 32]),
        "digest": {"logs": []}
    })
}

fn number_of(node: &Node, hash: &[u8]) -> Option<u64> {
    (0..=node.best).rev().find(|n| block_hash(*n) == hash)
}

/// Checks and records a submitted extrinsic, includes it; returns its hash and block.
fn accept(node: &mut Node, xt: Vec<u8>) -> Result<([u8; 32], u64), (i32, String)> {
    match check_extrinsic(node, &xt) {
        Ok(rec) => {
            *node.nonces.entry(rec.signer.to_ss58()).or_default() += 1;
            let hash = sp_crypto_hashing::blake2_256(&xt);
            let n = node.include(xt, &rec);
            node.submitted.push(rec);
            Ok((hash, n))
        }
        Err(reason) => {
            node.rejected.push(reason.clone());
            Err((1010, format!("Invalid Transaction: {reason}")))
        }
    }
}

fn handle(node: &mut Node, method: &str, params: &[Value]) -> Result<Value, (i32, String)> {
    node.calls.push(method.to_owned());
    Ok(match method {
        "chain_getBlockHash" => {
            let n = params.first().and_then(Value::as_u64).unwrap_or(node.best);
            if n > node.best {
                Value::Null
            } else {
                json!(hx(&block_hash(n)))
            }
        }
        "chain_getHeader" => match params.first().filter(|v| !v.is_null()) {
            None => header(node.best),
            Some(h) => match number_of(node, &unhex(h)) {
                Some(n) => header(n),
                None => Value::Null,
            },
        },
        "chain_getBlock" => {
            let n = number_of(node, &unhex(&params[0])).ok_or((-32000, "unknown block".into()))?;
            let xts: Vec<Value> = node
                .blocks
                .get(&n)
                .map(|b| b.iter().map(|x| json!(hx(x))).collect())
                .unwrap_or_default();
            json!({"block": {"header": header(n), "extrinsics": xts}, "justifications": null})
        }
        "chain_getFinalizedHead" => json!(hx(&block_hash(node.finalized))),
        "state_getRuntimeVersion" => json!({
            "specName": "node-subtensor",
            "implName": "node-subtensor",
            "authoringVersion": 1,
            "specVersion": SPEC_VERSION,
            "implVersion": 1,
            "apis": [],
            "transactionVersion": TX_VERSION,
            "stateVersion": 1
        }),
        "state_getMetadata" => json!(hx(&node.metadata)),
        "state_getStorage" => {
            let key = unhex(&params[0]);
            if key == resi_chain::events::events_key() {
                let at = params.get(1).map(unhex).and_then(|h| number_of(node, &h));
                return Ok(match at.and_then(|n| node.events.get(&n)) {
                    Some(v) => json!(hx(v)),
                    None => Value::Null,
                });
            }
            match node.storage.get(&key) {
                Some(v) => json!(hx(v)),
                None => Value::Null,
            }
        }
        "state_getKeysPaged" => {
            let prefix = unhex(&params[0]);
            let count = params[1].as_u64().unwrap_or(0) as usize;
            let start = params.get(2).filter(|v| !v.is_null()).map(unhex);
            let keys: Vec<Value> = node
                .storage
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .filter(|k| start.as_ref().is_none_or(|s| *k > s))
                .take(count)
                .map(|k| json!(hx(k)))
                .collect();
            Value::Array(keys)
        }
        "state_queryStorageAt" => {
            let keys = params[0].as_array().cloned().unwrap_or_default();
            let changes: Vec<Value> = keys
                .iter()
                .map(|k| {
                    let v = node.storage.get(&unhex(k)).map(|v| hx(v));
                    json!([k, v])
                })
                .collect();
            json!([{"block": hx(&block_hash(node.best)), "changes": changes}])
        }
        "system_accountNextIndex" => {
            let who = params[0].as_str().unwrap_or_default();
            json!(node.nonces.get(who).copied().unwrap_or(0))
        }
        "author_submitExtrinsic" => {
            let (hash, _) = accept(node, unhex(&params[0]))?;
            json!(hx(&hash))
        }
        other => return Err((-32601, format!("Method not found: {other}"))),
    })
}

const METHODS: &[&str] = &[
    "chain_getBlockHash",
    "chain_getHeader",
    "chain_getBlock",
    "chain_getFinalizedHead",
    "state_getRuntimeVersion",
    "state_getMetadata",
    "state_getStorage",
    "state_getKeysPaged",
    "state_queryStorageAt",
    "system_accountNextIndex",
    "author_submitExtrinsic",
];

/// Serves `node` over HTTP and WebSocket on `addr` (port 0: any free port).
pub async fn serve(node: Shared, addr: SocketAddr) -> (SocketAddr, ServerHandle) {
    let server = Server::builder().build(addr).await.unwrap();
    let addr = server.local_addr().unwrap();
    let mut module = RpcModule::new(node);
    for &method in METHODS {
        module
            .register_method(method, move |params, node: &Shared, _| {
                let params: Vec<Value> = params.parse().unwrap_or_default();
                let mut node = node.lock().unwrap();
                handle(&mut node, method, &params)
                    .map_err(|(code, msg)| ErrorObjectOwned::owned(code, msg, None::<()>))
            })
            .unwrap();
    }
    module
        .register_subscription(
            "author_submitAndWatchExtrinsic",
            "author_extrinsicUpdate",
            "author_unwatchExtrinsic",
            |params, pending: PendingSubscriptionSink, node: Arc<Shared>, _| async move {
                let params: Vec<Value> = params.parse().unwrap_or_default();
                let outcome = {
                    let mut node = node.lock().unwrap();
                    node.calls.push("author_submitAndWatchExtrinsic".into());
                    match node.watch_status {
                        Some(status) => Ok(Err(status)),
                        None => accept(&mut node, unhex(&params[0])).map(Ok),
                    }
                };
                let statuses = match outcome {
                    Err((code, msg)) => {
                        pending
                            .reject(ErrorObjectOwned::owned(code, msg, None::<()>))
                            .await;
                        return Ok(());
                    }
                    Ok(Err(terminal)) => vec![json!("ready"), json!(terminal)],
                    Ok(Ok((_, n))) => vec![
                        json!("ready"),
                        json!({"broadcast": ["12D3KooW"]}),
                        json!({"inBlock": hx(&block_hash(n))}),
                        json!({"finalized": hx(&block_hash(n))}),
                    ],
                };
                let sink = pending.accept().await?;
                for status in statuses {
                    sink.send(serde_json::value::to_raw_value(&status)?).await?;
                }
                jsonrpsee::core::SubscriptionResult::Ok(())
            },
        )
        .unwrap();
    (addr, server.start(module))
}

/// One subnet to seed.
pub struct Seed<'a> {
    /// The subnet.
    pub netuid: u16,
    /// `SubnetworkN`.
    pub n: u16,
    /// `(hotkey, validator permit, last update)` by uid.
    pub neurons: &'a [(&'a Hotkey, bool, u64)],
    /// `WeightsSetRateLimit`.
    pub rate_limit: u64,
    /// `WeightsVersionKey`.
    pub version_key: u64,
    /// `CommitRevealWeightsEnabled`.
    pub commit_reveal: bool,
    /// `MinAllowedWeights`.
    pub min_allowed_weights: u16,
    /// `MaxWeightsLimit`.
    pub max_weights_limit: u16,
}

/// Seeds a subnet's storage: `NetworksAdded`, sizes, limits, keys, uids, permits, updates
/// (tempo 360).
pub fn seed(node: &mut Node, s: &Seed<'_>) {
    let nk = s.netuid.encode();
    node.put("NetworksAdded", &[&nk], true.encode());
    node.put("SubnetworkN", &[&nk], s.n.encode());
    node.put("WeightsSetRateLimit", &[&nk], s.rate_limit.encode());
    node.put("WeightsVersionKey", &[&nk], s.version_key.encode());
    node.put(
        "CommitRevealWeightsEnabled",
        &[&nk],
        s.commit_reveal.encode(),
    );
    node.put("Tempo", &[&nk], 360u16.encode());
    node.put("MinAllowedWeights", &[&nk], s.min_allowed_weights.encode());
    node.put("MaxWeightsLimit", &[&nk], s.max_weights_limit.encode());
    let mut permits = Vec::new();
    let mut last = Vec::new();
    for (uid, (key, permit, last_update)) in s.neurons.iter().enumerate() {
        let uid = uid as u16;
        let account = *key.public().as_bytes();
        node.put("Keys", &[&nk, &uid.encode()], account.encode());
        node.put("Uids", &[&nk, &account], uid.encode());
        node.uids.insert((s.netuid, account), uid);
        permits.push(*permit);
        last.push(*last_update);
    }
    node.put("ValidatorPermit", &[&nk], permits.encode());
    node.put("LastUpdate", &[&nk], last.encode());
}

/// A running double: its address, state and server.
pub struct NodeDouble {
    /// Where it listens (HTTP and WebSocket).
    pub addr: SocketAddr,
    /// Its state.
    pub node: Shared,
    /// The server (`None` while stopped).
    pub server: Mutex<Option<ServerHandle>>,
}

impl NodeDouble {
    /// Starts a double for `node` on a free port of 127.0.0.1.
    pub async fn start(node: Node) -> Self {
        let node: Shared = Arc::new(Mutex::new(node));
        let (addr, handle) = serve(node.clone(), "127.0.0.1:0".parse().expect("address")).await;
        Self {
            addr,
            node,
            server: Mutex::new(Some(handle)),
        }
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The accepted extrinsics so far.
    pub fn submitted(&self) -> Vec<Recorded> {
        self.node.lock().expect("node").submitted.clone()
    }

    /// Why extrinsics were refused so far.
    pub fn rejected(&self) -> Vec<String> {
        self.node.lock().expect("node").rejected.clone()
    }
}
