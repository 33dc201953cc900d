//! The validator waits out the subnet's weights rate limit instead of sending a call the chain
//! would refuse, and gives up after its bound (then the chain's own `RateLimited` error names
//! the blocks still to wait).

use resi_chain::{Chain, ChainError, LocalChain, SubnetParams};
use resi_core::keys::Hotkey;
use resi_validator::validate::{WeightOptions, wait_for_weights_rate_limit};
use std::time::Duration;

#[tokio::test]
async fn waits_for_the_rate_limit_then_weights_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let chain = LocalChain::open(dir.path().join("chain.sqlite")).unwrap();
    chain
        .set_subnet(
            46,
            &SubnetParams {
                weights_set_rate_limit: 5,
                ..SubnetParams::default()
            },
        )
        .unwrap();
    let validator = Hotkey::from_uri("//Validator").unwrap();
    let miner = Hotkey::from_uri("//Miner").unwrap();
    let uid = chain.register(46, &validator.public(), true).unwrap().uid;
    chain.register(46, &miner.public(), false).unwrap();
    chain.advance(10).unwrap();
    chain
        .set_weights(46, &validator, &[1], &[65535], 0)
        .await
        .unwrap();
    assert_eq!(
        chain
            .metagraph_now(46)
            .unwrap()
            .blocks_until_weights_allowed(uid),
        5
    );

    let opts = WeightOptions {
        rate_limit_wait: Duration::from_secs(30),
        poll: Duration::from_millis(20),
        ..WeightOptions::default()
    };
    // Blocks move on while the validator waits.
    let mover = {
        let path = dir.path().join("chain.sqlite");
        tokio::spawn(async move {
            let chain = LocalChain::open(path).unwrap();
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                chain.advance(1).unwrap();
            }
        })
    };
    let meta = wait_for_weights_rate_limit(&chain, 46, uid, &opts)
        .await
        .unwrap();
    mover.await.unwrap();
    assert_eq!(meta.blocks_until_weights_allowed(uid), 0);
    chain
        .set_weights(46, &validator, &[1], &[65535], 0)
        .await
        .expect("allowed after the wait");

    // Nothing moves: the wait ends at its bound and the chain's check names the rest.
    let short = WeightOptions {
        rate_limit_wait: Duration::from_millis(200),
        poll: Duration::from_millis(20),
        ..WeightOptions::default()
    };
    let meta = wait_for_weights_rate_limit(&chain, 46, uid, &short)
        .await
        .unwrap();
    assert_eq!(meta.blocks_until_weights_allowed(uid), 5);
    let err = chain
        .set_weights(46, &validator, &[1], &[65535], 0)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChainError::RateLimited {
                blocks_remaining: 5,
                ..
            }
        ),
        "{err:?}"
    );
}
