//! `SubtensorChain` against a substrate JSON-RPC test double on 127.0.0.1, over WebSocket and
//! HTTP (a jsonrpsee server, as substrate nodes serve both on one port).
//!
//! The double serves the real finney metadata, SCALE-encoded storage seeded with a small
//! metagraph, and real method names. On `author_submitExtrinsic` and
//! `author_submitAndWatchExtrinsic` it parses the signed v4 extrinsic by hand (independently of
//! resi-chain's encoder), rebuilds the signing payload from its own spec/tx version, genesis and
//! birth-block hashes, checks the sr25519 signature and the nonce, records the decoded call, and
//! includes it in a new block with hand-encoded `System.Events` (success, or a configured
//! module error) and the storage the call changes (`LastUpdate`, `TimelockedWeightCommits`).
//! A timelocked commit is decrypted with the published drand quicknet signature of its round,
//! as the chain does at reveal.

use jsonrpsee::server::{PendingSubscriptionSink, RpcModule, Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use parity_scale_codec::{Compact, Decode, Encode};
use resi_chain::metadata::ChainMetadata;
use resi_chain::scale::{self, MortalEra};
use resi_chain::{Chain, ChainError, SubtensorChain, Wait};
use resi_core::keys::{Hotkey, PublicKey, Signature};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FINNEY: &[u8] = include_bytes!("data/finney.scale");
const SPEC_VERSION: u32 = 331;
const TX_VERSION: u32 = 1;
const BEST: u64 = 1000;
/// The published drand quicknet signature of round 1000 (subtensor `pallets/drand/src/tests.rs`).
const SIG_1000: &str = "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39";

/// A weights call (or timelocked commit) the double accepted.
#[derive(Debug, Clone, PartialEq)]
struct Recorded {
    signer: PublicKey,
    call_index: u8,
    netuid: u16,
    mecid: Option<u8>,
    dests: Vec<u16>,
    weights: Vec<u16>,
    version_key: u64,
    /// A commit's encrypted payload, reveal round and commit-reveal version.
    commit: Option<(Vec<u8>, u64, u16)>,
    nonce: u64,
    era: (u64, u64),
    /// The birth block the signature had to cover.
    birth: u64,
    hashed_payload: bool,
}

struct Node {
    storage: BTreeMap<Vec<u8>, Vec<u8>>,
    nonces: HashMap<String, u64>,
    submitted: Vec<Recorded>,
    rejected: Vec<String>,
    calls: Vec<String>,
    best: u64,
    finalized: u64,
    /// Extrinsics of the blocks the double made (after BEST), index 0 a stand-in inherent.
    blocks: BTreeMap<u64, Vec<Vec<u8>>>,
    /// `System.Events` of those blocks.
    events: BTreeMap<u64, Vec<u8>>,
    /// The next included extrinsic fails with this `SubtensorModule` error index.
    fail_next: Option<u8>,
    /// The watch subscription answers with this terminal status instead of including.
    watch_status: Option<&'static str>,
    /// Uid of each hotkey per subnet.
    uids: HashMap<(u16, [u8; 32]), u16>,
    metadata: Vec<u8>,
    meta: ChainMetadata,
}

impl Node {
    fn new(metadata: Vec<u8>) -> Self {
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

    fn put(&mut self, item: &str, keys: &[&[u8]], value: Vec<u8>) {
        let key = self.key(item, keys);
        self.storage.insert(key, value);
    }

    fn key(&self, item: &str, keys: &[&[u8]]) -> Vec<u8> {
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

type Shared = Arc<Mutex<Node>>;

fn block_hash(n: u64) -> [u8; 32] {
    sp_crypto_hashing::blake2_256(&[b"block".as_slice(), &n.to_le_bytes()].concat())
}

fn hx(b: &[u8]) -> String {
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
async fn serve(node: Shared, addr: SocketAddr) -> (SocketAddr, ServerHandle) {
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

struct Seed<'a> {
    netuid: u16,
    n: u16,
    neurons: &'a [(&'a Hotkey, bool, u64)],
    rate_limit: u64,
    version_key: u64,
    commit_reveal: bool,
    min_allowed_weights: u16,
    max_weights_limit: u16,
}

fn seed(node: &mut Node, s: &Seed<'_>) {
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

struct Double {
    addr: SocketAddr,
    node: Shared,
    server: Mutex<Option<ServerHandle>>,
    alice: Hotkey,
    bob: Hotkey,
    carol: Hotkey,
    dave: Hotkey,
}

impl Double {
    /// A client over WebSocket.
    fn client(&self) -> SubtensorChain {
        SubtensorChain::connect(&format!("ws://{}", self.addr)).unwrap()
    }
    /// A client over HTTP (inclusion found by polling blocks).
    fn http_client(&self) -> SubtensorChain {
        SubtensorChain::connect(&format!("http://{}", self.addr))
            .unwrap()
            .with_inclusion_timeout(Duration::from_secs(10), Duration::from_millis(50))
    }
    fn submitted(&self) -> Vec<Recorded> {
        self.node.lock().unwrap().submitted.clone()
    }
    fn rejected(&self) -> Vec<String> {
        self.node.lock().unwrap().rejected.clone()
    }
}

/// Subnet 46: alice uid 0 (permit, never set), bob uid 1 (no permit), carol uid 2 (permit,
/// set 10 blocks ago), dave uid 3 (permit, set long ago); 200 uids; rate limit 100; version 5;
/// MinAllowedWeights 2, MaxWeightsLimit 65535.
/// Subnet 47: commit-reveal on, alice uid 0 with a permit, MaxWeightsLimit 45875 (70%).
async fn start_double() -> Double {
    start_double_with(FINNEY.to_vec()).await
}

/// The finney metadata plus the storage items of the epoch-index runtimes (`SubnetEpochIndex`,
/// `LastEpochBlock`, `PendingEpochAt`, shaped as `BlocksSinceLastStep`: netuid -> u64).
fn epoch_index_metadata() -> Vec<u8> {
    use frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed};
    let mut m = RuntimeMetadataPrefixed::decode(&mut &FINNEY[..]).unwrap();
    let RuntimeMetadata::V16(v) = &mut m.1 else {
        panic!("finney metadata is V16")
    };
    let pallet = v
        .pallets
        .iter_mut()
        .find(|p| p.name == "SubtensorModule")
        .unwrap();
    let storage = pallet.storage.as_mut().unwrap();
    let template = storage
        .entries
        .iter()
        .find(|e| e.name == "BlocksSinceLastStep")
        .unwrap()
        .clone();
    for name in ["SubnetEpochIndex", "LastEpochBlock", "PendingEpochAt"] {
        let mut e = template.clone();
        e.name = name.into();
        storage.entries.push(e);
    }
    m.encode()
}

async fn start_double_with(metadata: Vec<u8>) -> Double {
    let [alice, bob, carol, dave] =
        ["//Alice", "//Bob", "//Charlie", "//Dave"].map(|u| Hotkey::from_uri(u).unwrap());
    let mut node = Node::new(metadata);
    seed(
        &mut node,
        &Seed {
            netuid: 46,
            n: 200,
            neurons: &[
                (&alice, true, 0),
                (&bob, false, 0),
                (&carol, true, BEST - 10),
                (&dave, true, 500),
            ],
            rate_limit: 100,
            version_key: 5,
            commit_reveal: false,
            min_allowed_weights: 2,
            max_weights_limit: u16::MAX,
        },
    );
    seed(
        &mut node,
        &Seed {
            netuid: 47,
            n: 3,
            neurons: &[(&alice, true, 0), (&bob, false, 0), (&carol, false, 0)],
            rate_limit: 100,
            version_key: 0,
            commit_reveal: true,
            min_allowed_weights: 1,
            max_weights_limit: 45875,
        },
    );
    node.nonces.insert(alice.ss58(), 7);
    let node: Shared = Arc::new(Mutex::new(node));
    let (addr, handle) = serve(node.clone(), "127.0.0.1:0".parse().unwrap()).await;
    Double {
        addr,
        node,
        server: Mutex::new(Some(handle)),
        alice,
        bob,
        carol,
        dave,
    }
}

#[tokio::test]
async fn metagraph_from_storage() {
    let d = start_double().await;
    let chain = d.client();
    let meta = chain.metagraph(46).await.unwrap();
    assert_eq!(meta.block, BEST);
    assert_eq!(meta.n, 200);
    assert_eq!(meta.neurons.len(), 4);
    assert_eq!(meta.hotkey_ss58(0), Some(d.alice.ss58()));
    assert_eq!(meta.hotkey_ss58(1), Some(d.bob.ss58()));
    assert_eq!(meta.hotkey_ss58(3), Some(d.dave.ss58()));
    let permits: Vec<bool> = meta.neurons.iter().map(|n| n.validator_permit).collect();
    assert_eq!(permits, [true, false, true, true]);
    assert_eq!(meta.neuron(2).unwrap().last_update, BEST - 10);
    assert_eq!(meta.weights_set_rate_limit, 100);
    assert_eq!(meta.weights_version_key, 5);
    assert!(!meta.commit_reveal_enabled);
    assert_eq!(meta.tempo, 360);
    assert_eq!(meta.blocks_until_weights_allowed(2), 90);

    assert_eq!(chain.uid_of(46, &d.carol.public()).await.unwrap(), Some(2));
    assert!(chain.is_registered(46, &d.bob.public()).await.unwrap());
    let eve = Hotkey::from_uri("//Eve").unwrap();
    assert!(!chain.is_registered(46, &eve.public()).await.unwrap());
    assert_eq!(chain.current_block().await.unwrap(), BEST);
    assert!(chain.metagraph(47).await.unwrap().commit_reveal_enabled);
}

#[tokio::test]
async fn set_weights_submits_a_verified_signed_extrinsic() {
    let d = start_double().await;
    let chain = d.client();
    let tx = chain
        .set_weights(46, &d.alice, &[0, 1], &[65535, 32768], 5)
        .await
        .unwrap();
    assert_eq!(
        (tx.netuid, tx.uid, tx.block),
        (46, 0, BEST + 1),
        "the block it is in"
    );
    assert_eq!(tx.call, "set_mechanism_weights");
    assert_eq!(tx.included_in, Some(hx(&block_hash(BEST + 1))));
    assert!(!tx.finalized, "followed until in a block, not further");
    let rec = d.submitted();
    assert_eq!(rec.len(), 1, "rejected: {:?}", d.rejected());
    let r = &rec[0];
    assert_eq!(r.signer, d.alice.public());
    assert_eq!((r.call_index, r.netuid, r.mecid), (119, 46, Some(0)));
    assert_eq!(r.dests, [0, 1]);
    assert_eq!(r.weights, [65535, 32768]);
    assert_eq!(r.version_key, 5);
    assert_eq!(r.nonce, 7, "nonce from system_accountNextIndex");
    assert_eq!(
        r.era,
        (64, (BEST - 2) % 64),
        "era anchored on the finalized block"
    );
    assert_eq!(r.birth, BEST - 2);
    assert!(!r.hashed_payload);
    // Followed over the subscription, confirmed from LastUpdate.
    let calls = d.node.lock().unwrap().calls.clone();
    assert!(calls.iter().any(|m| m == "author_submitAndWatchExtrinsic"));
    assert!(!calls.iter().any(|m| m == "author_submitExtrinsic"));
    assert_eq!(
        chain
            .metagraph(46)
            .await
            .unwrap()
            .neuron(0)
            .unwrap()
            .last_update,
        BEST + 1
    );

    // A long weight vector: payload > 256 bytes is signed as its blake2-256 hash.
    let uids: Vec<u16> = (0..150).collect();
    let weights: Vec<u16> = (0..150).map(|i| 100 + i).collect();
    chain
        .set_weights(46, &d.dave, &uids, &weights, 6)
        .await
        .unwrap();
    let rec = d.submitted();
    assert_eq!(rec.len(), 2);
    assert!(rec[1].hashed_payload);
    assert_eq!(rec[1].dests, uids);
    assert_eq!(rec[1].weights, weights);
    assert_eq!(rec[1].version_key, 6);
    assert_eq!(rec[1].nonce, 0);
    assert!(d.node.lock().unwrap().rejected.is_empty());
}

#[tokio::test]
async fn weights_checks_fail_before_sending() {
    let d = start_double().await;
    let chain = d.client();
    let eve = Hotkey::from_uri("//Eve").unwrap();

    let r = chain.set_weights(48, &d.alice, &[0], &[1], 5).await;
    assert!(matches!(r, Err(ChainError::UnknownNetuid(48))), "{r:?}");
    assert!(matches!(
        chain.metagraph(48).await,
        Err(ChainError::UnknownNetuid(48))
    ));

    let r = chain.set_weights(46, &eve, &[0], &[1], 5).await;
    match &r {
        Err(ChainError::NotRegistered { netuid: 46, hotkey }) => assert_eq!(hotkey, &eve.ss58()),
        other => panic!("expected NotRegistered, got {other:?}"),
    }

    let r = chain.set_weights(46, &d.carol, &[0], &[1], 5).await;
    match &r {
        Err(
            e @ ChainError::RateLimited {
                uid: 2,
                last_update,
                current_block: BEST,
                rate_limit: 100,
                blocks_remaining: 90,
                ..
            },
        ) => {
            assert_eq!(*last_update, BEST - 10);
            assert!(e.to_string().contains("90 more to wait"), "{e}");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }

    // MinAllowedWeights 2 on subnet 46; MaxWeightsLimit 70% on subnet 47 (checked before a
    // commit as the reveal will check it).
    let r = chain.set_weights(46, &d.alice, &[1], &[65535], 5).await;
    assert!(
        matches!(
            r,
            Err(ChainError::TooFewWeights {
                len: 1,
                required: 2,
                ..
            })
        ),
        "{r:?}"
    );
    let r = chain
        .set_weights(47, &d.alice, &[0, 1], &[65535, 100], 0)
        .await;
    assert!(
        matches!(r, Err(ChainError::MaxWeightExceeded { limit: 45875, .. })),
        "{r:?}"
    );

    let r = chain.set_weights(46, &d.bob, &[0], &[1], 5).await;
    assert!(
        matches!(r, Err(ChainError::NoValidatorPermit { uid: 1, .. })),
        "{r:?}"
    );

    let r = chain.set_weights(46, &d.alice, &[0], &[1], 4).await;
    assert!(
        matches!(
            r,
            Err(ChainError::VersionKeyTooLow {
                given: 4,
                required: 5,
                ..
            })
        ),
        "{r:?}"
    );

    let r = chain.set_weights(46, &d.alice, &[0, 1], &[1], 5).await;
    assert!(matches!(r, Err(ChainError::LengthMismatch { .. })), "{r:?}");

    let node = d.node.lock().unwrap();
    assert!(
        node.submitted.is_empty(),
        "nothing may be sent: {:?}",
        node.submitted
    );
    assert!(!node.calls.iter().any(|m| m.starts_with("author_")));
}

#[tokio::test]
async fn unreachable_node_is_a_typed_error() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let chain = SubtensorChain::connect(&format!("http://{addr}")).unwrap();
    let r = chain.metagraph(46).await;
    match &r {
        Err(e @ ChainError::Unreachable { endpoint, .. }) => {
            assert_eq!(endpoint, &format!("http://{addr}"));
            assert!(e.to_string().contains("is unreachable"), "{e}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let alice = Hotkey::from_uri("//Alice").unwrap();
    let r = chain.set_weights(46, &alice, &[0], &[1], 0).await;
    assert!(matches!(r, Err(ChainError::Unreachable { .. })), "{r:?}");
}

#[tokio::test]
async fn rpc_errors_are_reported_with_the_method() {
    let d = start_double().await;
    let r = d.client().rpc().call("no_such_method", json!([])).await;
    match r {
        Err(ChainError::Rpc {
            method,
            code,
            message,
        }) => {
            assert_eq!(method, "no_such_method");
            assert_eq!(code, -32601);
            assert!(message.contains("Method not found"));
        }
        other => panic!("expected Rpc error, got {other:?}"),
    }
}

#[tokio::test]
async fn over_http_inclusion_is_found_by_polling_blocks() {
    let d = start_double().await;
    let chain = d.http_client().with_wait(Wait::Finalized);
    let tx = chain
        .set_weights(46, &d.alice, &[0, 1], &[65535, 32768], 5)
        .await
        .unwrap();
    assert_eq!(tx.block, BEST + 1);
    assert!(tx.finalized);
    let calls = d.node.lock().unwrap().calls.clone();
    assert!(calls.iter().any(|m| m == "author_submitExtrinsic"));
    assert!(calls.iter().any(|m| m == "chain_getBlock"));
}

#[tokio::test]
async fn a_failed_dispatch_is_named_from_the_metadata() {
    let d = start_double().await;
    let error_index = {
        let node = d.node.lock().unwrap();
        let ty = node
            .meta
            .pallet("SubtensorModule")
            .unwrap()
            .error_ty
            .unwrap();
        let scale_info::TypeDef::Variant(v) = &node.meta.registry().resolve(ty).unwrap().type_def
        else {
            panic!("error type is not an enum")
        };
        v.variants
            .iter()
            .find(|v| v.name == "SettingWeightsTooFast")
            .unwrap()
            .index
    };
    for chain in [d.client(), d.http_client()] {
        d.node.lock().unwrap().fail_next = Some(error_index);
        let r = chain
            .set_weights(46, &d.dave, &[0, 1], &[65535, 32768], 5)
            .await;
        match &r {
            Err(
                e @ ChainError::DispatchFailed {
                    call, pallet, name, ..
                },
            ) => {
                assert_eq!(call, "set_mechanism_weights");
                assert_eq!(
                    (pallet.as_str(), name.as_str()),
                    ("SubtensorModule", "SettingWeightsTooFast")
                );
                assert!(
                    e.to_string()
                        .contains("SubtensorModule.SettingWeightsTooFast"),
                    "{e}"
                );
            }
            other => panic!("expected DispatchFailed, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_extrinsic_the_pool_drops_is_not_included() {
    let d = start_double().await;
    for status in ["invalid", "dropped"] {
        d.node.lock().unwrap().watch_status = Some(status);
        let r = d
            .client()
            .set_weights(46, &d.alice, &[0, 1], &[65535, 32768], 5)
            .await;
        match &r {
            Err(ChainError::NotIncluded {
                status: s, call, ..
            }) => {
                assert_eq!(s, status);
                assert_eq!(call, "set_mechanism_weights");
            }
            other => panic!("expected NotIncluded, got {other:?}"),
        }
    }
    // The pool's own refusal (bad signature, stale nonce) is the node's RPC error.
    d.node.lock().unwrap().watch_status = None;
    d.node.lock().unwrap().nonces.insert(d.alice.ss58(), 7);
    let chain = d.client();
    chain
        .set_weights(46, &d.alice, &[0, 1], &[65535, 1], 5)
        .await
        .unwrap();
    assert!(d.rejected().is_empty(), "{:?}", d.rejected());
}

/// The clock at which subnet 47's next commit is encrypted to round 1000 (legacy model, the
/// finney metadata's): tempo 360, block 1000, netuid 47, RevealPeriodEpochs 1 ->
/// current epoch (1000 + 48) / 361 = 2, reveal block 3 * 361 - 48 = 1035,
/// (1035 + 3 - 1000) * 12 s = 456 s; round = floor((now + 456 - genesis) / 3) = 1000.
fn clock_for_round_1000() -> f64 {
    resi_timelock::QUICKNET_GENESIS_TIME as f64 + 3000.0 - 456.0 + 1.0
}

#[tokio::test]
async fn commit_reveal_subnets_get_a_timelocked_commit_the_chain_can_reveal() {
    let d = start_double().await;
    let chain = d.client().with_clock(Arc::new(clock_for_round_1000));
    let hp = chain.hyperparameters(47).await.unwrap();
    assert!(hp.commit_reveal_enabled);
    assert_eq!(hp.reveal_model, "legacy");
    assert_eq!(hp.block_time_secs, 12.0);
    assert_eq!(hp.commit_reveal_version, 4);
    assert_eq!((hp.min_allowed_weights, hp.max_weights_limit), (1, 45875));
    assert_eq!(hp.reveal_period_epochs, 1);

    let tx = chain
        .set_weights(47, &d.alice, &[0, 1, 2], &[65535, 40000, 30000], 0)
        .await
        .unwrap();
    assert_eq!(tx.call, "commit_timelocked_mechanism_weights");
    assert_eq!(tx.reveal_round, Some(1000));
    assert_eq!(tx.block, BEST + 1);
    let rec = d.submitted();
    assert_eq!(rec.len(), 1, "rejected: {:?}", d.rejected());
    let r = &rec[0];
    assert_eq!(r.call_index, 118);
    assert_eq!((r.netuid, r.mecid), (47, Some(0)));
    // Decrypted with drand's round-1000 signature, as the chain reveals it.
    assert_eq!(r.dests, [0, 1, 2]);
    assert_eq!(r.weights, [65535, 40000, 30000]);
    assert_eq!(r.version_key, 0);
    let (commit, round, version) = r.commit.clone().unwrap();
    assert_eq!((round, version), (1000, 4));
    assert_eq!(commit.len(), 33 + 7 + 7 + 8 + 244, "payload + 244 bytes");
}

#[tokio::test]
async fn a_dry_run_commit_for_an_explicit_round_decrypts_offline() {
    let d = start_double().await;
    let chain = d.client();
    let plan = chain
        .plan_commit(47, &d.alice, &[0, 1], &[65535, 50000], 0, Some(1000))
        .await
        .unwrap();
    assert_eq!(plan.call_name, "commit_timelocked_mechanism_weights");
    assert_eq!(plan.reveal_round, 1000);
    assert_eq!(plan.reveal_block, None);
    assert_eq!(&plan.call[..2], &[7, 118]);
    assert_eq!(
        &plan.call[plan.call.len() - 10..],
        &[0xe8, 3, 0, 0, 0, 0, 0, 0, 4, 0],
        "round 1000, version 4"
    );
    let payload =
        resi_timelock::decrypt_commit(&plan.commit, &hex::decode(SIG_1000).unwrap()).unwrap();
    assert_eq!(payload.hotkey, *d.alice.public().as_bytes());
    assert_eq!(
        (payload.uids, payload.values),
        (vec![0, 1], vec![65535, 50000])
    );
    // Nothing was sent.
    assert!(d.submitted().is_empty());
    // The clock decides the round when none is given.
    let chain = chain.with_clock(Arc::new(clock_for_round_1000));
    let plan = chain
        .plan_commit(47, &d.alice, &[0, 1], &[65535, 50000], 0, None)
        .await
        .unwrap();
    assert_eq!((plan.reveal_round, plan.reveal_block), (1000, Some(1035)));
}

#[tokio::test]
async fn a_dropped_websocket_is_reopened() {
    let d = start_double().await;
    let chain = d.client();
    assert_eq!(chain.current_block().await.unwrap(), BEST);
    let handle = d.server.lock().unwrap().take().unwrap();
    handle.stop().unwrap();
    handle.stopped().await;
    let r = chain.current_block().await;
    assert!(matches!(r, Err(ChainError::Unreachable { .. })), "{r:?}");
    // The node comes back on the same port.
    let (_, handle) = serve(d.node.clone(), d.addr).await;
    *d.server.lock().unwrap() = Some(handle);
    assert_eq!(chain.current_block().await.unwrap(), BEST);
    assert_eq!(chain.rpc().reconnects(), 1);
}

#[tokio::test]
async fn runtimes_with_subnet_epoch_index_use_the_epoch_index_model() {
    let d = start_double_with(epoch_index_metadata()).await;
    {
        let mut node = d.node.lock().unwrap();
        let nk = 47u16.encode();
        node.put("LastEpochBlock", &[&nk], 980u64.encode());
        node.put("SubnetEpochIndex", &[&nk], 7u64.encode());
        node.put("BlocksSinceLastStep", &[&nk], 20u64.encode());
    }
    let now = 1_800_000_000.0;
    let chain = d.client().with_clock(Arc::new(move || now));
    let hp = chain.hyperparameters(47).await.unwrap();
    assert_eq!(hp.reveal_model, "epoch-index");
    assert_eq!(
        (hp.last_epoch_block, hp.subnet_epoch_index, hp.blocks_since_last_step),
        (980, 7, 20)
    );
    let plan = chain
        .plan_commit(47, &d.alice, &[0, 1], &[65535, 50000], 0, None)
        .await
        .unwrap();
    // Epoch 7 began at block 980 with tempo 360: epoch 8, the reveal epoch, begins at 1340 (the
    // legacy formula would say 1035).
    assert_eq!(plan.reveal_block, Some(1340));
    let expected = resi_timelock::schedule::reveal_round(1340, BEST, 12.0, now);
    assert_eq!(plan.reveal_round, expected);
    assert_eq!(
        expected,
        ((now + (1340.0 + 3.0 - BEST as f64) * 12.0 - resi_timelock::QUICKNET_GENESIS_TIME as f64) / 3.0)
            .floor() as u64
    );
}
