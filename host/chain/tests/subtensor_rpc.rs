//! `SubtensorChain` against the subtensor node double of `resi_testkit::subtensor` on
//! 127.0.0.1, over WebSocket and HTTP: metagraph and hyperparameters from storage, signed
//! extrinsics verified by an independent decoder, inclusion followed, dispatch errors named,
//! timelocked commits decrypted with drand's published round signature, reconnects.

use parity_scale_codec::{Decode, Encode};
use resi_chain::{Chain, ChainError, SubtensorChain, Wait};
use resi_core::keys::Hotkey;
use resi_testkit::subtensor::{
    BEST, FINNEY, Node, NodeDouble, SIG_1000, Seed, block_hash, hx, seed, serve,
};
use serde_json::json;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

struct Double {
    kit: NodeDouble,
    alice: Hotkey,
    bob: Hotkey,
    carol: Hotkey,
    dave: Hotkey,
}

impl Deref for Double {
    type Target = NodeDouble;
    fn deref(&self) -> &NodeDouble {
        &self.kit
    }
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
    Double {
        kit: NodeDouble::start(node).await,
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
        (
            hp.last_epoch_block,
            hp.subnet_epoch_index,
            hp.blocks_since_last_step
        ),
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
        ((now + (1340.0 + 3.0 - BEST as f64) * 12.0 - resi_timelock::QUICKNET_GENESIS_TIME as f64)
            / 3.0)
            .floor() as u64
    );
}
