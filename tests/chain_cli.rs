//! `resi chain` driven as users run it, on a real local-chain SQLite file: register hotkeys,
//! tune the subnet, set weights with a wallet hotkey, list the metagraph and weights history,
//! and see the rate limit and commit-reveal refusals as clear errors with a non-zero exit.

use resi_core::keys::Hotkey;
use std::path::Path;
use std::process::{Command, Output};

fn resi(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("BT_SUBTENSOR_NETWORK")
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn fails(out: Output) -> String {
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn local_chain_register_weights_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chain.sqlite");
    let wallets = dir.path().join("wallets");
    let alice =
        resi_testkit::wallet::test_wallet(&wallets, "val", "default", "//Alice", "//Ferdie").ss58();
    let bob = Hotkey::from_uri("//Bob").unwrap().ss58();

    // Freeze the clock first so block numbers are deterministic.
    let out = ok(resi(&db, &["chain", "local", "block", "--block-secs", "0"]));
    assert!(out.contains("block 1  (0 s per block)"), "{out}");
    let out = ok(resi(
        &db,
        &[
            "chain",
            "local",
            "register",
            "--netuid",
            "46",
            "--hotkey",
            &alice,
            "--validator",
        ],
    ));
    assert!(out.contains("registered: netuid 46 uid 0"), "{out}");
    ok(resi(
        &db,
        &[
            "chain", "local", "register", "--netuid", "46", "--hotkey", &bob,
        ],
    ));
    let out = ok(resi(&db, &["chain", "local", "block", "--advance", "5"]));
    assert!(out.contains("block 6"), "{out}");
    let out = ok(resi(
        &db,
        &[
            "chain",
            "local",
            "subnet",
            "--netuid",
            "46",
            "--rate-limit",
            "3",
            "--version-key",
            "2",
        ],
    ));
    assert!(out.contains("rate limit 3  version key 2"), "{out}");

    let wallet_args = [
        "--wallet.path",
        wallets.to_str().unwrap(),
        "--wallet.name",
        "val",
        "--wallet.hotkey",
        "default",
    ];
    let set = |extra: &[&str]| {
        let mut args = vec!["chain", "set-weights", "--netuid", "46"];
        args.extend_from_slice(&wallet_args);
        args.extend_from_slice(extra);
        resi(&db, &args)
    };
    let out = ok(set(&[
        "--uids",
        "0,1",
        "--weights",
        "1.0,0.5",
        "--version-key",
        "2",
    ]));
    assert!(
        out.contains("set_weights accepted: netuid 46 uid 0 block 6"),
        "{out}"
    );

    let err = fails(set(&[
        "--uids",
        "1",
        "--weights",
        "1",
        "--version-key",
        "2",
    ]));
    assert!(err.contains("rate limited on subnet 46"), "{err}");
    let err = fails(set(&[
        "--uids",
        "1",
        "--weights",
        "1",
        "--version-key",
        "1",
    ]));
    assert!(
        err.contains("below subnet 46's WeightsVersionKey 2"),
        "{err}"
    );

    let out = ok(resi(&db, &["chain", "local", "list", "--netuid", "46"]));
    assert!(out.contains(&alice) && out.contains(&bob), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains(&alice) && l.contains("yes") && l.trim_end().ends_with('6')),
        "{out}"
    );
    let out = ok(resi(&db, &["chain", "metagraph", "--netuid", "46"]));
    assert!(out.contains("n 2") && out.contains(&bob), "{out}");

    let out = ok(resi(&db, &["chain", "local", "weights", "--netuid", "46"]));
    assert!(out.contains("0:65535 1:32768"), "{out}");

    ok(resi(
        &db,
        &[
            "chain",
            "local",
            "subnet",
            "--netuid",
            "46",
            "--commit-reveal",
            "true",
        ],
    ));
    ok(resi(&db, &["chain", "local", "block", "--advance", "10"]));
    let err = fails(set(&[
        "--uids",
        "1",
        "--weights",
        "1",
        "--version-key",
        "2",
    ]));
    assert!(err.contains("commit-reveal weights enabled"), "{err}");

    let err = fails(resi(&db, &["chain", "local", "list", "--netuid", "47"]));
    assert!(err.contains("subnet netuid 47 does not exist"), "{err}");
}

/// `resi chain` against a subtensor node double over WebSocket: hyperparameters, a dry-run
/// timelocked commit for round 1000 that `resi chain decrypt-commit` opens offline with drand's
/// published round-1000 signature (and not with another round's), then a real commit followed
/// to its block.
#[test]
fn subtensor_hyperparameters_dry_run_commit_and_decrypt() {
    use resi_testkit::subtensor::{FINNEY, Node, NodeDouble, SIG_1000, Seed, seed};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wallets = dir.path().join("wallets");
    let alice =
        resi_testkit::wallet::test_wallet(&wallets, "val", "default", "//Alice", "//Ferdie");
    let bob = Hotkey::from_uri("//Bob").unwrap();
    let mut node = Node::new(FINNEY.to_vec());
    seed(
        &mut node,
        &Seed {
            netuid: 47,
            n: 2,
            neurons: &[(&alice, true, 0), (&bob, false, 0)],
            rate_limit: 100,
            version_key: 3,
            commit_reveal: true,
            min_allowed_weights: 1,
            max_weights_limit: u16::MAX,
        },
    );
    let double = rt.block_on(NodeDouble::start(node));
    let endpoint = double.ws_url();
    let db = dir.path().join("unused.sqlite");
    let wallet_path = wallets.to_string_lossy().into_owned();
    let chain = |extra: &[&str]| {
        let mut args = vec!["chain"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--subtensor.chain_endpoint", &endpoint]);
        resi(&db, &args)
    };

    let out = ok(chain(&["hyperparameters", "--netuid", "47"]));
    for want in [
        "commit_reveal_weights_enabled  true",
        "commit_reveal_version          4",
        "reveal_round_model             legacy",
        "weights_version                3",
        "block_time_secs                12",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&ok(chain(&["hyperparameters", "--netuid", "47", "--json"]))).unwrap();
    assert_eq!(json["weights_set_rate_limit"], 100);
    assert_eq!(json["commit_reveal_enabled"], true);

    let wallet = [
        "--wallet.path",
        wallet_path.as_str(),
        "--wallet.name",
        "val",
        "--wallet.hotkey",
        "default",
    ];
    let mut args = vec![
        "set-weights",
        "--netuid",
        "47",
        "--uids",
        "0,1",
        "--weights",
        "0.6,0.4",
        "--dry-run",
        "--reveal-round",
        "1000",
    ];
    args.extend_from_slice(&wallet);
    let out = ok(chain(&args));
    assert!(
        out.contains("call          commit_timelocked_mechanism_weights"),
        "{out}"
    );
    assert!(out.contains("(not sent)"), "{out}");
    assert!(double.submitted().is_empty(), "a dry run sends nothing");
    let call_hex = out
        .lines()
        .find_map(|l| l.strip_prefix("call_hex      "))
        .expect("call_hex line")
        .to_owned();

    let decrypt = |sig: &str| {
        Command::new(env!("CARGO_BIN_EXE_resi"))
            .args([
                "chain",
                "decrypt-commit",
                "--commit",
                &call_hex,
                "--signature",
                sig,
            ])
            .output()
            .unwrap()
    };
    let opened = ok(decrypt(SIG_1000));
    assert!(opened.contains(&alice.ss58()), "{opened}");
    assert!(opened.contains("uids          [0, 1]"), "{opened}");
    assert!(opened.contains("weights       [65535, 43690]"), "{opened}");
    assert!(
        opened.contains("version_key   3"),
        "the chain's version key: {opened}"
    );
    // Round 2000's signature does not open a round-1000 commit.
    let sig_2000 = "b6cb8f482a0b15d45936a4c4ea08e98a087e71787caee3f4d07a8a9843b1bc5423c6b3c22f446488b3137eaca799c77e";
    let err = fails(decrypt(sig_2000));
    assert!(
        err.contains("does not decrypt with this round signature"),
        "{err}"
    );

    // A real commit: sent, followed to its block, its round from the epoch schedule.
    let mut args = vec![
        "set-weights",
        "--netuid",
        "47",
        "--uids",
        "0,1",
        "--weights",
        "0.6,0.4",
    ];
    args.extend_from_slice(&wallet);
    let out = ok(chain(&args));
    assert!(
        out.contains("commit_timelocked_mechanism_weights accepted: netuid 47 uid 0 block 1001"),
        "{out}"
    );
    assert!(out.contains("reveals at drand round"), "{out}");
    let rec = double.submitted();
    assert_eq!(rec.len(), 1, "{:?}", double.rejected());
    let (commit, round, version) = rec[0].commit.clone().unwrap();
    assert_eq!(version, 4);
    assert!(round > 1000);
    assert_eq!(commit.len(), 33 + 5 + 5 + 8 + 244);
    drop(double);
    rt.shutdown_background();
}
