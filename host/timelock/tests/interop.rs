//! Interop with the real Python `bittensor-drand==2.0.0` (the PyPI wheel): the library decrypts
//! commits resi made, resi decrypts commits the library made, and the reveal rounds of the
//! library's `get_encrypted_commit_v2` are resi's. Only offline library functions are called.
//!
//! The interpreter comes from `RESI_PYTHON` (a venv with `tests/requirements.txt` installed; the
//! xtask test runner creates `$HOME/.cache/resi-venv` and sets it). If `RESI_PYTHON` is unset
//! the test is skipped loudly, unless `RESI_REQUIRE_INTEROP=1`, in which case it fails.

use crate::fixtures::{SIG_1000, SIG_2000, example_payload, rng, sig};
use parity_scale_codec::{Decode, Encode};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::RngCore;
use resi_timelock::schedule::{
    EpochState, ScheduleError, first_reveal_block_epoch_index, first_reveal_block_legacy,
    reveal_round,
};
use resi_timelock::{TimelockError, WeightsTlockPayload, decrypt_commit, encrypt_commit};
use serde_json::{Value, json};

fn python() -> Option<String> {
    resi_testkit::python(
        "bittensor-drand==2.0.0",
        "cargo test -p resi-timelock interop",
    )
}

/// Runs one op of `drand_interop.py`; returns its results.
fn run(python: &str, op: &str, items: Vec<Value>) -> Vec<Value> {
    let script = resi_testkit::repo_root().join("host/timelock/tests/drand_interop.py");
    let request = json!({"op": op, "items": items});
    let out = resi_testkit::run_python(python, &script, request.to_string().as_bytes());
    let answer: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        answer["bittensor_drand"], "2.0.0",
        "the venv's bittensor-drand"
    );
    serde_json::from_value(answer["results"].clone()).unwrap()
}

fn payload_json(p: &WeightsTlockPayload) -> Value {
    json!({"hotkey": hex::encode(p.hotkey), "uids": p.uids, "values": p.values, "version_key": p.version_key})
}

fn random_payload(rng: &mut ChaCha20Rng, max_len: u64) -> WeightsTlockPayload {
    let mut hotkey = [0u8; 32];
    rng.fill_bytes(&mut hotkey);
    let n = (rng.next_u64() % (max_len + 1)) as usize;
    WeightsTlockPayload {
        hotkey,
        uids: (0..n).map(|_| rng.next_u64() as u16).collect(),
        values: (0..n).map(|_| rng.next_u64() as u16).collect(),
        version_key: rng.next_u64() >> (rng.next_u64() % 64),
    }
}

/// SCALE `UserData { encrypted_data: Vec<u8>, reveal_round: u64 }`, what bittensor-drand's
/// `encrypt*`/`decrypt*` exchange (not what goes on chain).
fn wrap(commit: &[u8], round: u64) -> Vec<u8> {
    (commit.to_vec(), round).encode()
}

fn unwrap_user_data(wrapped: &[u8]) -> (Vec<u8>, u64) {
    let mut input = wrapped;
    let decoded = <(Vec<u8>, u64)>::decode(&mut input).expect("UserData");
    assert!(input.is_empty(), "bytes after UserData");
    decoded
}

/// (a) resi encrypts, bittensor-drand's `decrypt_with_signature` decrypts with the published
/// round-1000 signature, and the payload decodes (by the script's own SCALE decoder) to ours.
#[test]
fn bittensor_drand_decrypts_resi_commits() {
    let Some(py) = python() else { return };
    let mut r = rng(100);
    let mut payloads = vec![example_payload()];
    payloads.extend((0..6).map(|_| random_payload(&mut r, 300)));
    payloads.push(random_payload(&mut r, 0));
    let mut items = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        let commit = encrypt_commit(p, 1000, &mut rng(200 + i as u64)).unwrap();
        assert_eq!(commit.len(), p.commit_len());
        items.push(json!({"wrapped": hex::encode(wrap(&commit, 1000)), "signature": SIG_1000}));
    }
    // Negative control: the round-2000 signature does not open a round-1000 commit.
    let commit = encrypt_commit(&payloads[0], 1000, &mut rng(300)).unwrap();
    items.push(json!({"wrapped": hex::encode(wrap(&commit, 1000)), "signature": SIG_2000}));

    let results = run(&py, "decrypt", items);
    assert_eq!(results.len(), payloads.len() + 1);
    for (p, got) in payloads.iter().zip(&results) {
        assert_eq!(got["plaintext"], hex::encode(p.encode()), "{got}");
        assert_eq!(got["payload"], payload_json(p));
    }
    let control = results.last().unwrap();
    assert!(
        control["error"].as_str().is_some_and(|e| !e.is_empty()),
        "the wrong round's signature decrypted: {control}"
    );
}

/// (b) bittensor-drand's `encrypt_at_round` encrypts (a payload the script SCALE-encodes itself),
/// resi strips the `UserData` wrapper and decrypts with the published signatures.
#[test]
fn resi_decrypts_bittensor_drand_commits() {
    let Some(py) = python() else { return };
    let mut r = rng(101);
    let mut cases = vec![(example_payload(), 1000u64, SIG_1000)];
    for i in 0..6 {
        let round = if i % 2 == 0 { 1000 } else { 2000 };
        let s = if round == 1000 { SIG_1000 } else { SIG_2000 };
        cases.push((random_payload(&mut r, 400), round, s));
    }
    let mut items: Vec<Value> = cases
        .iter()
        .map(|(p, round, _)| json!({"payload": payload_json(p), "round": round}))
        .collect();
    // Not a payload: decrypts, then fails to decode.
    items.push(json!({"data": hex::encode(b"not a weights payload"), "round": 1000}));

    let results = run(&py, "encrypt", items);
    for ((p, round, s), got) in cases.iter().zip(&results) {
        assert_eq!(
            got["data"],
            hex::encode(p.encode()),
            "the script's SCALE encoding"
        );
        assert_eq!(got["round"], *round);
        let (commit, wrapped_round) =
            unwrap_user_data(&hex::decode(got["wrapped"].as_str().unwrap()).unwrap());
        assert_eq!(wrapped_round, *round);
        assert_eq!(commit.len(), p.commit_len(), "payload + 244");
        assert_eq!(decrypt_commit(&commit, &sig(s)).unwrap(), *p);
        let other = if *s == SIG_1000 { SIG_2000 } else { SIG_1000 };
        assert!(matches!(
            decrypt_commit(&commit, &sig(other)),
            Err(TimelockError::WrongSignature)
        ));
    }
    let (commit, _) = unwrap_user_data(
        &hex::decode(results.last().unwrap()["wrapped"].as_str().unwrap()).unwrap(),
    );
    assert!(matches!(
        decrypt_commit(&commit, &sig(SIG_1000)),
        Err(TimelockError::BadPayload(_))
    ));
}

fn v2_item(s: &EpochState, period: u64, block_time: f64, p: &WeightsTlockPayload) -> Value {
    json!({
        "uids": p.uids, "weights": p.values, "version_key": p.version_key,
        "last_epoch_block": s.last_epoch_block, "pending_epoch_at": s.pending_epoch_at,
        "subnet_epoch_index": s.subnet_epoch_index, "tempo": s.tempo,
        "blocks_since_last_step": s.blocks_since_last_step, "current_block": s.current_block,
        "subnet_reveal_period_epochs": period, "block_time": block_time,
        "hotkey": hex::encode(p.hotkey),
    })
}

fn random_state(r: &mut ChaCha20Rng) -> EpochState {
    let mut below = |n: u64| r.next_u64() % n;
    let tempo: u16 = match below(12) {
        0 => 0,
        1..=6 => [1, 2, 10, 99, 100, 360, 361, 1000, 7200][below(9) as usize],
        _ => 1 + below(1000) as u16,
    };
    let t = u64::from(tempo);
    let current_block = if below(5) == 0 {
        below(50)
    } else {
        below(6_000_000)
    };
    let last_epoch_block = match below(6) {
        0 => 0,
        1 => current_block + below(20),
        _ => current_block.saturating_sub(below(2 * t + 2)),
    };
    let pending_epoch_at = match below(10) {
        0..=6 => 0,
        7 => current_block.saturating_sub(below(5)),
        _ => current_block + below(t + 3),
    };
    let blocks_since_last_step = match below(10) {
        0 => 50_399 + below(4),
        1 => below(60_000),
        _ => below(t + 2),
    };
    EpochState {
        tempo,
        current_block,
        last_epoch_block,
        pending_epoch_at,
        subnet_epoch_index: below(100_000),
        blocks_since_last_step,
    }
}

/// (c) For the brief's table and 60 random states, bittensor-drand's `get_encrypted_commit_v2`
/// targets the round resi computes (its clock is bracketed by the script's readings before and
/// after the call), and its bare ciphertext is a commit resi parses.
#[test]
fn get_encrypted_commit_v2_targets_resis_round() {
    let Some(py) = python() else { return };
    let table = [
        // (state, period): tempo_zero, cycle_reset, pending_fires_before_auto, commit_epoch 0.
        (
            EpochState {
                tempo: 0,
                current_block: 10,
                last_epoch_block: 10,
                pending_epoch_at: 0,
                subnet_epoch_index: 0,
                blocks_since_last_step: 0,
            },
            1,
        ),
        (
            EpochState {
                tempo: 50,
                current_block: 10,
                last_epoch_block: 10,
                pending_epoch_at: 0,
                subnet_epoch_index: 0,
                blocks_since_last_step: 0,
            },
            1,
        ),
        (
            EpochState {
                tempo: 20,
                current_block: 91,
                last_epoch_block: 80,
                pending_epoch_at: 95,
                subnet_epoch_index: 0,
                blocks_since_last_step: 0,
            },
            1,
        ),
        (
            EpochState {
                tempo: 50,
                current_block: 120,
                last_epoch_block: 100,
                pending_epoch_at: 0,
                subnet_epoch_index: 0,
                blocks_since_last_step: 0,
            },
            1,
        ),
        (
            EpochState {
                tempo: 50,
                current_block: 120,
                last_epoch_block: 100,
                pending_epoch_at: 0,
                subnet_epoch_index: 0,
                blocks_since_last_step: 0,
            },
            0,
        ),
        (
            EpochState {
                tempo: 360,
                current_block: 1000,
                last_epoch_block: 990,
                pending_epoch_at: 0,
                subnet_epoch_index: 7,
                blocks_since_last_step: 50_400,
            },
            1,
        ),
    ];
    let block_times = [12.0, 0.25, 6.0, 1.0, 12.5];
    let mut r = rng(102);
    let mut cases: Vec<(EpochState, u64, f64)> =
        table.iter().map(|&(s, period)| (s, period, 12.0)).collect();
    for _ in 0..60 {
        let s = random_state(&mut r);
        let period = [1, 1, 1, 2, 3, 4, 0][(r.next_u64() % 7) as usize];
        let bt = block_times[(r.next_u64() % 5) as usize];
        cases.push((s, period, bt));
    }
    let payloads: Vec<WeightsTlockPayload> =
        cases.iter().map(|_| random_payload(&mut r, 64)).collect();
    let items = cases
        .iter()
        .zip(&payloads)
        .map(|((s, period, bt), p)| v2_item(s, *period, *bt, p))
        .collect();
    let results = run(&py, "commit_v2", items);

    let mut compared = 0;
    for (((s, period, bt), p), got) in cases.iter().zip(&payloads).zip(&results) {
        let ours = first_reveal_block_epoch_index(s, *period);
        let Some(commit_hex) = got["commit"].as_str() else {
            let err = got["error"].as_str().unwrap_or_default();
            match ours {
                Err(ScheduleError::TempoIsZero) => {
                    assert!(err.contains("tempo is zero"), "{err}")
                }
                Err(ScheduleError::BoundExceeded { .. }) => {
                    assert!(err.contains("exceeded budget"), "{err}")
                }
                Ok(block) => panic!("{s:?} period {period}: resi says block {block}, Python {err}"),
            }
            continue;
        };
        let block = ours.unwrap_or_else(|e| panic!("{s:?}: resi {e}, Python succeeded"));
        let now = |key: &str| got[key].as_u64().unwrap() as f64 / 1e9;
        // A microsecond of slack each side for the ns -> f64 conversion.
        let lo = reveal_round(block, s.current_block, *bt, now("before_ns") - 1e-6);
        let hi = reveal_round(block, s.current_block, *bt, now("after_ns") + 1e-6);
        let round = got["round"].as_u64().unwrap();
        assert!(
            (lo..=hi).contains(&round),
            "{s:?} period {period} block time {bt}: Python round {round}, resi [{lo}, {hi}] (reveal block {block})"
        );
        // The bare ciphertext is a commit of this payload: it parses, and (it is for a future
        // round) the round-1000 signature does not open it.
        let commit = hex::decode(commit_hex).unwrap();
        assert_eq!(commit.len(), p.commit_len(), "payload + 244");
        assert!(matches!(
            decrypt_commit(&commit, &sig(SIG_1000)),
            Err(TimelockError::WrongSignature)
        ));
        compared += 1;
    }
    assert!(compared >= 50, "only {compared} states compared");
}

/// The legacy model against a port of bittensor-drand 1.3.0's arithmetic (with an explicit
/// clock, so rounds must be equal).
#[test]
fn the_legacy_model_matches_bittensor_drand_1_3() {
    let Some(py) = python() else { return };
    let mut r = rng(103);
    let mut cases = vec![
        (360u16, 1000u64, 1u16, 1u64, 12.0f64, 1_764_590_000.25f64),
        (99, 0, 0, 2, 12.0, 1_700_000_000.0),
        (0, 10, 5, 1, 12.0, 1_764_590_001.5),
        (360, 4_000_000, 46, 1, 12.0, 1_764_590_002.75),
        (10, 5, 300, 3, 0.25, 1_692_803_367.0),
        (100, 7, 0, 1, 12.0, 1_600_000_000.0), // before genesis: round 1
    ];
    for _ in 0..60 {
        let tempo = (r.next_u64() % 7201) as u16;
        let block = r.next_u64() % 8_000_000;
        let netuid = (r.next_u64() % 1025) as u16;
        let period = 1 + r.next_u64() % 5;
        let bt = [12.0, 0.25, 6.0][(r.next_u64() % 3) as usize];
        let now = 1_764_000_000.0 + (r.next_u64() % 100_000_000) as f64 / 1000.0;
        cases.push((tempo, block, netuid, period, bt, now));
    }
    let items = cases
        .iter()
        .map(|(tempo, block, netuid, period, bt, now)| {
            json!({"tempo": tempo, "current_block": block, "netuid": netuid, "period": period, "block_time": bt, "now": now})
        })
        .collect();
    let results = run(&py, "legacy", items);
    for ((tempo, block, netuid, period, bt, now), got) in cases.iter().zip(&results) {
        let first = first_reveal_block_legacy(*tempo, *block, *netuid, *period).unwrap();
        assert_eq!(
            got["first_reveal_block"], first,
            "{tempo} {block} {netuid} {period}"
        );
        assert_eq!(got["round"], reveal_round(first, *block, *bt, *now));
    }
}
