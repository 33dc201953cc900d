//! The embedded local chain on real SQLite files: registration, metagraph, and every
//! `set_weights` check (registered, permit, lengths, version key, rate limit, commit-reveal).

use resi_chain::local::DEFAULT_BLOCK_SECS;
use resi_chain::{Chain, ChainError, LocalChain, SubnetParams};
use resi_core::keys::Hotkey;

fn key(uri: &str) -> Hotkey {
    Hotkey::from_uri(uri).expect("dev uri")
}

/// A chain whose clock is frozen (blocks move only by `advance`).
fn frozen_chain(dir: &tempfile::TempDir) -> LocalChain {
    LocalChain::open_with_block_time(dir.path().join("chain.sqlite"), 0).expect("open")
}

#[tokio::test]
async fn register_list_and_metagraph() {
    let dir = tempfile::tempdir().unwrap();
    let chain = frozen_chain(&dir);
    let alice = key("//Alice");
    let bob = key("//Bob");
    let r0 = chain.register(46, &alice.public(), true).unwrap();
    let r1 = chain.register(46, &bob.public(), false).unwrap();
    assert_eq!((r0.uid, r0.newly_registered), (0, true));
    assert_eq!((r1.uid, r1.newly_registered), (1, true));
    // Re-registering keeps the uid.
    let again = chain.register(46, &bob.public(), false).unwrap();
    assert_eq!((again.uid, again.newly_registered), (1, false));

    let meta = chain.metagraph(46).await.unwrap();
    assert_eq!(meta.n, 2);
    assert_eq!(meta.block, 1);
    assert_eq!(meta.hotkey_ss58(0), Some(alice.ss58()));
    assert_eq!(meta.hotkey_ss58(1), Some(bob.ss58()));
    assert!(meta.neuron(0).unwrap().validator_permit);
    assert!(!meta.neuron(1).unwrap().validator_permit);
    assert_eq!(
        meta.weights_set_rate_limit,
        SubnetParams::default().weights_set_rate_limit
    );
    assert!(!meta.commit_reveal_enabled);

    assert!(chain.is_registered(46, &bob.public()).await.unwrap());
    assert_eq!(chain.uid_of(46, &bob.public()).await.unwrap(), Some(1));
    assert!(
        !chain
            .is_registered(46, &key("//Charlie").public())
            .await
            .unwrap()
    );

    // The file persists: reopening sees the same chain.
    drop(chain);
    let reopened = LocalChain::open(dir.path().join("chain.sqlite")).unwrap();
    assert_eq!(reopened.metagraph_now(46).unwrap().n, 2);
    assert_eq!(
        reopened.block_secs().unwrap(),
        0,
        "existing chain keeps its block time"
    );
}

#[tokio::test]
async fn set_weights_records_history_and_enforces_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let chain = frozen_chain(&dir);
    let alice = key("//Alice");
    let bob = key("//Bob");
    chain.register(46, &alice.public(), true).unwrap();
    chain.register(46, &bob.public(), false).unwrap();
    chain
        .set_subnet(
            46,
            &SubnetParams {
                weights_set_rate_limit: 10,
                weights_version_key: 3,
                ..SubnetParams::default()
            },
        )
        .unwrap();
    chain.advance(4).unwrap();

    let tx = chain
        .set_weights(46, &alice, &[0, 1], &[65535, 32768], 3)
        .await
        .unwrap();
    assert_eq!((tx.uid, tx.block), (0, 5));
    assert!(tx.tx_hash.starts_with("0x") && tx.tx_hash.len() == 66);

    let meta = chain.metagraph(46).await.unwrap();
    assert_eq!(meta.neuron(0).unwrap().last_update, 5);

    chain.advance(9).unwrap();
    let err = chain
        .set_weights(46, &alice, &[1], &[65535], 3)
        .await
        .unwrap_err();
    match err {
        ChainError::RateLimited {
            netuid: 46,
            uid: 0,
            last_update: 5,
            current_block: 14,
            rate_limit: 10,
            blocks_remaining: 1,
        } => {}
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(
        err_msg(&chain.set_weights(46, &alice, &[1], &[65535], 3).await).contains("rate limited")
    );

    chain.advance(1).unwrap();
    let tx2 = chain
        .set_weights(46, &alice, &[1], &[65535], 4)
        .await
        .unwrap();
    assert_eq!(tx2.block, 15);

    let history = chain.weights_history(46).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].uids, vec![0, 1]);
    assert_eq!(history[0].weights, vec![65535, 32768]);
    assert_eq!(history[0].version_key, 3);
    assert_eq!(history[0].hotkey, alice.public());
    assert_eq!(history[1].block, 15);
    assert_eq!(history[1].tx_hash, tx2.tx_hash);
}

fn err_msg<T: std::fmt::Debug>(r: &Result<T, ChainError>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn set_weights_checks_fail_with_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let chain = frozen_chain(&dir);
    let alice = key("//Alice");
    let bob = key("//Bob");
    let stranger = key("//Eve");
    chain.register(46, &alice.public(), true).unwrap();
    chain.register(46, &bob.public(), false).unwrap();
    chain
        .set_subnet(
            46,
            &SubnetParams {
                weights_version_key: 7,
                ..SubnetParams::default()
            },
        )
        .unwrap();

    // Unknown netuid.
    let r = chain.set_weights(47, &alice, &[0], &[1], 7).await;
    assert!(matches!(r, Err(ChainError::UnknownNetuid(47))), "{r:?}");
    assert!(err_msg(&r).contains("netuid 47 does not exist"));
    assert!(matches!(
        chain.metagraph(47).await,
        Err(ChainError::UnknownNetuid(47))
    ));
    assert!(matches!(
        chain.uid_of(47, &alice.public()).await,
        Err(ChainError::UnknownNetuid(47))
    ));

    // Not registered.
    let r = chain.set_weights(46, &stranger, &[0], &[1], 7).await;
    match &r {
        Err(ChainError::NotRegistered { netuid: 46, hotkey }) => {
            assert_eq!(hotkey, &stranger.ss58())
        }
        other => panic!("expected NotRegistered, got {other:?}"),
    }
    assert!(err_msg(&r).contains("is not registered on subnet 46"));

    // No validator permit.
    let r = chain.set_weights(46, &bob, &[0], &[1], 7).await;
    assert!(
        matches!(r, Err(ChainError::NoValidatorPermit { uid: 1, .. })),
        "{r:?}"
    );

    // Lengths.
    let r = chain.set_weights(46, &alice, &[0, 1], &[1], 7).await;
    assert!(
        matches!(
            r,
            Err(ChainError::LengthMismatch {
                uids: 2,
                weights: 1
            })
        ),
        "{r:?}"
    );
    let r = chain
        .set_weights(46, &alice, &[0, 1, 2], &[1, 1, 1], 7)
        .await;
    assert!(
        matches!(r, Err(ChainError::TooManyWeights { len: 3, n: 2 })),
        "{r:?}"
    );
    let r = chain.set_weights(46, &alice, &[0, 5], &[1, 1], 7).await;
    assert!(
        matches!(r, Err(ChainError::InvalidUid { uid: 5, n: 2, .. })),
        "{r:?}"
    );
    let r = chain.set_weights(46, &alice, &[1, 1], &[1, 1], 7).await;
    assert!(matches!(r, Err(ChainError::DuplicateUid(1))), "{r:?}");

    // Version key.
    let r = chain.set_weights(46, &alice, &[0], &[1], 6).await;
    assert!(
        matches!(
            r,
            Err(ChainError::VersionKeyTooLow {
                given: 6,
                required: 7,
                ..
            })
        ),
        "{r:?}"
    );

    // Commit-reveal on: rejected before anything else, nothing recorded.
    chain
        .set_subnet(
            46,
            &SubnetParams {
                weights_version_key: 7,
                commit_reveal_enabled: true,
                ..SubnetParams::default()
            },
        )
        .unwrap();
    let r = chain.set_weights(46, &alice, &[0], &[1], 7).await;
    assert!(
        matches!(r, Err(ChainError::CommitRevealEnabled { netuid: 46 })),
        "{r:?}"
    );
    assert!(err_msg(&r).contains("commit-reveal"));
    assert!(chain.weights_history(46).unwrap().is_empty());

    // Revoking a permit works and is checked.
    chain
        .set_validator_permit(46, &alice.public(), false)
        .unwrap();
    assert!(
        !chain
            .metagraph_now(46)
            .unwrap()
            .neuron(0)
            .unwrap()
            .validator_permit
    );
    assert!(matches!(
        chain.set_validator_permit(46, &stranger.public(), true),
        Err(ChainError::NotRegistered { .. })
    ));
}

#[test]
fn subnet_full_and_block_time() {
    let dir = tempfile::tempdir().unwrap();
    let chain = frozen_chain(&dir);
    chain
        .set_subnet(
            1,
            &SubnetParams {
                max_uids: 1,
                ..SubnetParams::default()
            },
        )
        .unwrap();
    chain.register(1, &key("//Alice").public(), false).unwrap();
    let r = chain.register(1, &key("//Bob").public(), false);
    assert!(
        matches!(
            r,
            Err(ChainError::SubnetFull {
                netuid: 1,
                max_uids: 1
            })
        ),
        "{r:?}"
    );
    assert_eq!(chain.subnets().unwrap(), vec![1]);

    // Changing the block time does not move the current block.
    let before = chain.advance(10).unwrap();
    chain.set_block_secs(DEFAULT_BLOCK_SECS).unwrap();
    let after = chain.block().unwrap();
    assert!(after >= before);
    assert_eq!(chain.block_secs().unwrap(), DEFAULT_BLOCK_SECS);
}

#[test]
fn two_handles_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = frozen_chain(&dir);
    let b = LocalChain::open(dir.path().join("chain.sqlite")).unwrap();
    a.register(46, &key("//Alice").public(), true).unwrap();
    let r = b.register(46, &key("//Bob").public(), false).unwrap();
    assert_eq!(r.uid, 1);
    a.advance(3).unwrap();
    assert_eq!(b.block().unwrap(), 4);
}
