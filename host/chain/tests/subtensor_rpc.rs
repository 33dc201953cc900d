//! `SubtensorChain` against a substrate JSON-RPC test double on 127.0.0.1.
//!
//! The double serves the real finney metadata, SCALE-encoded storage seeded with a small
//! metagraph, and real method names. On `author_submitExtrinsic` it parses the signed v4
//! extrinsic by hand (independently of resi-chain's encoder), rebuilds the signing payload from
//! its own spec/tx version, genesis and birth-block hashes, checks the sr25519 signature with
//! `PublicKey::verify`, checks the nonce, and records the decoded call.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use parity_scale_codec::{Compact, Decode, Encode};
use resi_chain::metadata::ChainMetadata;
use resi_chain::scale::{self, MortalEra};
use resi_chain::{Chain, ChainError, SubtensorChain};
use resi_core::keys::{Hotkey, PublicKey, Signature};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const FINNEY: &[u8] = include_bytes!("data/finney.scale");
const SPEC_VERSION: u32 = 331;
const TX_VERSION: u32 = 1;
const BEST: u64 = 1000;

/// A weights call the double accepted.
#[derive(Debug, Clone, PartialEq)]
struct Recorded {
    signer: PublicKey,
    call_index: u8,
    netuid: u16,
    mecid: Option<u8>,
    dests: Vec<u16>,
    weights: Vec<u16>,
    version_key: u64,
    nonce: u64,
    era: (u64, u64),
    hashed_payload: bool,
}

#[derive(Default)]
struct Node {
    storage: BTreeMap<Vec<u8>, Vec<u8>>,
    nonces: HashMap<String, u64>,
    submitted: Vec<Recorded>,
    rejected: Vec<String>,
    calls: Vec<String>,
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
    let birth = (BEST.max(phase) - phase) / period * period + phase;
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
    let netuid = u16::decode(&mut c).map_err(|e| e.to_string())?;
    let mecid = match call_index {
        0 => None,
        119 => Some(u8::decode(&mut c).map_err(|e| e.to_string())?),
        other => return Err(format!("unexpected call index {other}")),
    };
    let dests = Vec::<u16>::decode(&mut c).map_err(|e| e.to_string())?;
    let weights = Vec::<u16>::decode(&mut c).map_err(|e| e.to_string())?;
    let version_key = u64::decode(&mut c).map_err(|e| e.to_string())?;
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
        nonce,
        era,
        hashed_payload,
    })
}

fn handle(node: &mut Node, method: &str, params: &[Value]) -> Result<Value, (i64, String)> {
    node.calls.push(method.to_owned());
    let header = |n: u64| {
        json!({
            "parentHash": hx(&block_hash(n.saturating_sub(1))),
            "number": format!("0x{n:x}"),
            "stateRoot": hx(&[0; 32]),
            "extrinsicsRoot": hx(&[0; 32]),
            "digest": {"logs": []}
        })
    };
    Ok(match method {
        "chain_getBlockHash" => {
            let n = params.first().and_then(Value::as_u64).unwrap_or(BEST);
            if n > BEST {
                Value::Null
            } else {
                json!(hx(&block_hash(n)))
            }
        }
        "chain_getHeader" => header(BEST),
        "chain_getFinalizedHead" => json!(hx(&block_hash(BEST - 2))),
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
        "state_getMetadata" => json!(hx(FINNEY)),
        "state_getStorage" => {
            let key = unhex(&params[0]);
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
            json!([{"block": hx(&block_hash(BEST)), "changes": changes}])
        }
        "system_accountNextIndex" => {
            let who = params[0].as_str().unwrap_or_default();
            json!(node.nonces.get(who).copied().unwrap_or(0))
        }
        "author_submitExtrinsic" => {
            let xt = unhex(&params[0]);
            match check_extrinsic(node, &xt) {
                Ok(rec) => {
                    *node.nonces.entry(rec.signer.to_ss58()).or_default() += 1;
                    node.submitted.push(rec);
                    json!(hx(&sp_crypto_hashing::blake2_256(&xt)))
                }
                Err(reason) => {
                    node.rejected.push(reason.clone());
                    return Err((1010, format!("Invalid Transaction: {reason}")));
                }
            }
        }
        other => return Err((-32601, format!("Method not found: {other}"))),
    })
}

async fn rpc(State(node): State<Shared>, Json(req): Json<Value>) -> Json<Value> {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let method = req
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let params = req
        .get("params")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut node = node.lock().unwrap();
    match handle(&mut node, method, &params) {
        Ok(result) => Json(json!({"jsonrpc": "2.0", "id": id, "result": result})),
        Err((code, message)) => {
            Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
        }
    }
}

struct Seed<'a> {
    netuid: u16,
    n: u16,
    neurons: &'a [(&'a Hotkey, bool, u64)],
    rate_limit: u64,
    version_key: u64,
    commit_reveal: bool,
}

fn seed(node: &mut Node, s: &Seed<'_>) {
    let meta = ChainMetadata::decode(FINNEY).unwrap();
    let mut put = |item: &str, keys: &[&[u8]], value: Vec<u8>| {
        let (prefix, info) = meta.storage("SubtensorModule", item).unwrap();
        let parts: Vec<_> = info
            .hashers
            .iter()
            .copied()
            .zip(keys.iter().copied())
            .collect();
        node.storage
            .insert(scale::storage_key(prefix, item, &parts), value);
    };
    let nk = s.netuid.encode();
    put("NetworksAdded", &[&nk], true.encode());
    put("SubnetworkN", &[&nk], s.n.encode());
    put("WeightsSetRateLimit", &[&nk], s.rate_limit.encode());
    put("WeightsVersionKey", &[&nk], s.version_key.encode());
    put(
        "CommitRevealWeightsEnabled",
        &[&nk],
        s.commit_reveal.encode(),
    );
    put("Tempo", &[&nk], 360u16.encode());
    let mut permits = Vec::new();
    let mut last = Vec::new();
    for (uid, (key, permit, last_update)) in s.neurons.iter().enumerate() {
        let uid = uid as u16;
        let account = *key.public().as_bytes();
        put("Keys", &[&nk, &uid.encode()], account.encode());
        put("Uids", &[&nk, &account], uid.encode());
        permits.push(*permit);
        last.push(*last_update);
    }
    put("ValidatorPermit", &[&nk], permits.encode());
    put("LastUpdate", &[&nk], last.encode());
}

struct Double {
    addr: SocketAddr,
    node: Shared,
    alice: Hotkey,
    bob: Hotkey,
    carol: Hotkey,
    dave: Hotkey,
}

impl Double {
    fn client(&self) -> SubtensorChain {
        SubtensorChain::connect(&format!("ws://{}", self.addr)).unwrap()
    }
    fn submitted(&self) -> Vec<Recorded> {
        self.node.lock().unwrap().submitted.clone()
    }
}

/// Subnet 46: alice uid 0 (permit, never set), bob uid 1 (no permit), carol uid 2 (permit,
/// set 10 blocks ago), dave uid 3 (permit, set long ago); 200 uids; rate limit 100; version 5.
/// Subnet 47: commit-reveal on, alice uid 0 with a permit.
async fn start_double() -> Double {
    let [alice, bob, carol, dave] =
        ["//Alice", "//Bob", "//Charlie", "//Dave"].map(|u| Hotkey::from_uri(u).unwrap());
    let mut node = Node::default();
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
        },
    );
    seed(
        &mut node,
        &Seed {
            netuid: 47,
            n: 1,
            neurons: &[(&alice, true, 0)],
            rate_limit: 100,
            version_key: 0,
            commit_reveal: true,
        },
    );
    node.nonces.insert(alice.ss58(), 7);
    let node: Shared = Arc::new(Mutex::new(node));
    let app = Router::new().route("/", post(rpc)).with_state(node.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Double {
        addr,
        node,
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
    assert_eq!((tx.netuid, tx.uid, tx.block), (46, 0, BEST));
    assert_eq!(tx.call, "set_mechanism_weights");
    let rec = d.submitted();
    assert_eq!(
        rec.len(),
        1,
        "rejected: {:?}",
        d.node.lock().unwrap().rejected
    );
    let r = &rec[0];
    assert_eq!(r.signer, d.alice.public());
    assert_eq!((r.call_index, r.netuid, r.mecid), (119, 46, Some(0)));
    assert_eq!(r.dests, [0, 1]);
    assert_eq!(r.weights, [65535, 32768]);
    assert_eq!(r.version_key, 5);
    assert_eq!(r.nonce, 7, "nonce from system_accountNextIndex");
    assert_eq!(r.era, (64, BEST % 64));
    assert!(!r.hashed_payload);

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

    let r = chain.set_weights(47, &d.alice, &[0], &[1], 5).await;
    assert!(
        matches!(r, Err(ChainError::CommitRevealEnabled { netuid: 47 })),
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
    assert!(!node.calls.iter().any(|m| m == "author_submitExtrinsic"));
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
