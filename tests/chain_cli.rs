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
