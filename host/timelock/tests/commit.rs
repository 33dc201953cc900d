//! Encrypting commits and opening them with published drand quicknet signatures.

use crate::fixtures::{SIG_1000, SIG_2000, example_payload, rng, sig};
use resi_timelock::rand_core::OsRng;
use resi_timelock::{
    COMMIT_OVERHEAD_BYTES, MAX_COMMIT_BYTES, QUICKNET_PUBLIC_KEY, TestBeacon, TimelockError,
    WeightsTlockPayload, decrypt_commit, decrypt_commit_bytes, encrypt_commit, encrypt_commit_to,
};
use sha2::Digest;

fn payload_with(n: usize) -> WeightsTlockPayload {
    WeightsTlockPayload {
        hotkey: [0x42; 32],
        uids: (0..n).map(|i| i as u16).collect(),
        values: (0..n).map(|i| (i * 7919 % 65536) as u16).collect(),
        version_key: 1,
    }
}

/// The guard for the vendored hash-to-curve: a commit resi makes for round 1000 opens with the
/// signature drand published for round 1000. (Stock w3f-bls 0.1.9 hashing would give
/// `WrongSignature` here.)
#[test]
fn a_round_1000_commit_opens_with_the_published_round_1000_signature() {
    let payload = example_payload();
    let commit = encrypt_commit(&payload, 1000, &mut rng(1)).unwrap();
    assert_eq!(commit.len(), payload.encode().len() + 244);
    assert_eq!(decrypt_commit(&commit, &sig(SIG_1000)).unwrap(), payload);
    assert_eq!(
        decrypt_commit_bytes(&commit, &sig(SIG_1000)).unwrap(),
        payload.encode()
    );

    // The production RNG.
    let commit = encrypt_commit(&payload, 1000, &mut OsRng).unwrap();
    assert_eq!(decrypt_commit(&commit, &sig(SIG_1000)).unwrap(), payload);
}

#[test]
fn another_rounds_signature_does_not_open_a_commit() {
    let payload = example_payload();
    let c1000 = encrypt_commit(&payload, 1000, &mut rng(2)).unwrap();
    assert!(matches!(
        decrypt_commit(&c1000, &sig(SIG_2000)),
        Err(TimelockError::WrongSignature)
    ));
    let c2000 = encrypt_commit(&payload, 2000, &mut rng(3)).unwrap();
    assert_eq!(decrypt_commit(&c2000, &sig(SIG_2000)).unwrap(), payload);
    assert!(matches!(
        decrypt_commit(&c2000, &sig(SIG_1000)),
        Err(TimelockError::WrongSignature)
    ));
    let c1001 = encrypt_commit(&payload, 1001, &mut rng(4)).unwrap();
    assert!(matches!(
        decrypt_commit(&c1001, &sig(SIG_1000)),
        Err(TimelockError::WrongSignature)
    ));
}

/// The byte map of brief §1.3: `U 96 | 8+32 | 8+32 | 8 | [8 + (n+16) | 8 + 12] | 8 + 8`.
#[test]
fn the_commit_is_the_compressed_tle_ciphertext() {
    let payload = example_payload();
    let n = payload.encode().len() as u64;
    let commit = encrypt_commit(&payload, 1000, &mut rng(5)).unwrap();
    let le = |at: usize| u64::from_le_bytes(commit[at..at + 8].try_into().unwrap());
    assert_eq!(le(96), 32, "V length");
    assert_eq!(le(136), 32, "W length");
    assert_eq!(le(176), 8 + (n + 16) + 8 + 12, "body length");
    assert_eq!(le(184), n + 16, "AES ciphertext + tag length");
    assert_eq!(le(192 + n as usize + 16), 12, "nonce length");
    let end = commit.len();
    assert_eq!(le(end - 16), 8, "cipher suite length");
    assert_eq!(&commit[end - 8..], b"AES_GCM_");
}

#[test]
fn the_commit_length_is_the_payload_plus_244_up_to_the_chains_bound() {
    for n in [0, 1, 2, 16, 17, 100, 1000] {
        let payload = payload_with(n);
        let commit = encrypt_commit(&payload, 1000, &mut rng(n as u64)).unwrap();
        assert_eq!(commit.len(), payload.encode().len() + COMMIT_OVERHEAD_BYTES);
        assert_eq!(commit.len(), payload.commit_len());
    }
    // The largest payload that fits, and one more pair.
    let fits = (0..2000)
        .take_while(|&n| payload_with(n).commit_len() <= MAX_COMMIT_BYTES)
        .last()
        .unwrap();
    assert_eq!(fits, 1177);
    let big = payload_with(fits);
    let commit = encrypt_commit(&big, 1000, &mut rng(6)).unwrap();
    assert!(commit.len() <= MAX_COMMIT_BYTES);
    assert_eq!(decrypt_commit(&commit, &sig(SIG_1000)).unwrap(), big);
    let too_big = payload_with(fits + 1);
    match encrypt_commit(&too_big, 1000, &mut rng(7)) {
        Err(TimelockError::CommitTooLarge { len, max }) => {
            assert_eq!((len, max), (too_big.commit_len(), MAX_COMMIT_BYTES));
            assert!(len > MAX_COMMIT_BYTES);
        }
        other => panic!("expected CommitTooLarge, got {other:?}"),
    }
}

/// The sha256 of the commit of `example_payload()` to round 1000 with `ChaCha20Rng` seed 42:
/// what the stock crates.io `timelock` 0.0.1 on its own w3f-bls =0.1.4 outputs for the same
/// inputs (32 bytes of the RNG as the AES key, then `tle` with the same RNG).
const SEED_42_COMMIT_SHA256: &str =
    "3d4b85d9929a14ec7bd721c2188be8ff43dcabb321351bf97f90ca3e5bd74b84";

#[test]
fn a_seeded_rng_gives_the_same_bytes_as_stock_timelock() {
    let payload = example_payload();
    let a = encrypt_commit(&payload, 1000, &mut rng(42)).unwrap();
    let b = encrypt_commit(&payload, 1000, &mut rng(42)).unwrap();
    assert_eq!(a, b, "same seed, same bytes");
    assert_eq!(hex::encode(sha2::Sha256::digest(&a)), SEED_42_COMMIT_SHA256);
    let c = encrypt_commit(&payload, 1000, &mut rng(43)).unwrap();
    assert_ne!(a, c, "another seed, other bytes");
    assert_ne!(a[..96], c[..96], "another seed, another U");
    for commit in [&a, &c] {
        assert_eq!(decrypt_commit(commit, &sig(SIG_1000)).unwrap(), payload);
    }
    // encrypt_commit is encrypt_commit_to the quicknet key.
    let d = encrypt_commit_to(&QUICKNET_PUBLIC_KEY, &payload, 1000, &mut rng(42)).unwrap();
    assert_eq!(a, d);
}

fn assert_malformed(result: Result<WeightsTlockPayload, TimelockError>, what: &str) {
    assert!(
        matches!(result, Err(TimelockError::Malformed(_))),
        "{what}: {result:?}"
    );
}

#[test]
fn truncated_and_garbage_commits_are_malformed() {
    let sig1000 = sig(SIG_1000);
    let commit = encrypt_commit(&example_payload(), 1000, &mut rng(8)).unwrap();
    for cut in 0..commit.len() {
        assert_malformed(
            decrypt_commit(&commit[..cut], &sig1000),
            "a truncated commit",
        );
    }
    let mut trailing = commit.clone();
    trailing.push(0);
    assert_malformed(decrypt_commit(&trailing, &sig1000), "a trailing byte");

    let mut garbage = rng(9);
    for len in [1, 8, 96, 200, 299, 300, 1000] {
        let mut bytes = vec![0u8; len];
        rand_chacha::rand_core::RngCore::fill_bytes(&mut garbage, &mut bytes);
        assert_malformed(decrypt_commit(&bytes, &sig1000), "random bytes");
    }
    assert_malformed(decrypt_commit(&[0xff; 299], &sig1000), "0xff bytes");
    assert_malformed(decrypt_commit(&[0x00; 299], &sig1000), "zero bytes");
}

#[test]
fn malformed_signatures_are_malformed() {
    let commit = encrypt_commit(&example_payload(), 1000, &mut rng(10)).unwrap();
    let good = sig(SIG_1000);
    for bad in [
        vec![],
        good[..47].to_vec(),
        [&good[..], &[0]].concat(),
        vec![0x11; 48],
    ] {
        assert_malformed(decrypt_commit(&commit, &bad), "a bad signature");
    }
}

/// V and W of another length than 32 would index out of bounds in the vendored IBE decryption:
/// they are refused before it.
#[test]
fn an_ibe_header_with_long_or_short_v_and_w_is_malformed_not_a_panic() {
    let commit = encrypt_commit(&example_payload(), 1000, &mut rng(11)).unwrap();
    let (u, v, rest) = (&commit[..96], &commit[104..136], &commit[136..]);
    for v_len in [0usize, 10, 31, 33, 40] {
        let mut forged = u.to_vec();
        forged.extend((v_len as u64).to_le_bytes());
        forged.extend(v.iter().cycle().take(v_len));
        forged.extend(rest);
        assert_malformed(decrypt_commit(&forged, &sig(SIG_1000)), "a forged V");
    }
    let (head, w, body) = (&commit[..136], &commit[144..176], &commit[176..]);
    for w_len in [0usize, 5, 64] {
        let mut forged = head.to_vec();
        forged.extend((w_len as u64).to_le_bytes());
        forged.extend(w.iter().cycle().take(w_len));
        forged.extend(body);
        assert_malformed(decrypt_commit(&forged, &sig(SIG_1000)), "a forged W");
    }
}

/// Every single-byte change of a commit is refused, except in the cipher-suite string, which
/// the decryption does not read (as in the reference).
#[test]
fn every_altered_byte_is_refused_except_the_unchecked_cipher_suite() {
    let payload = example_payload();
    let sig1000 = sig(SIG_1000);
    let commit = encrypt_commit(&payload, 1000, &mut rng(12)).unwrap();
    let suite = commit.len() - 8;
    for i in 0..commit.len() {
        let mut altered = commit.clone();
        altered[i] ^= 0x01;
        let result = decrypt_commit(&altered, &sig1000);
        if i >= suite {
            assert_eq!(
                result.as_ref().unwrap(),
                &payload,
                "byte {i} (cipher suite)"
            );
        } else {
            assert!(
                matches!(
                    result,
                    Err(TimelockError::Malformed(_) | TimelockError::WrongSignature)
                ),
                "byte {i}: {result:?}"
            );
        }
        // V and W (after their lengths) are bound to U by the IBE check.
        if (104..136).contains(&i) || (144..176).contains(&i) {
            assert!(
                matches!(result, Err(TimelockError::WrongSignature)),
                "byte {i}"
            );
        }
    }
}

#[test]
fn a_test_beacon_opens_its_own_commits_only() {
    let beacon = TestBeacon::from_seed(b"devnet");
    assert_eq!(
        beacon.public_key(),
        TestBeacon::from_seed(b"devnet").public_key()
    );
    assert_ne!(
        beacon.public_key(),
        TestBeacon::from_seed(b"other").public_key()
    );
    let payload = example_payload();
    let commit = encrypt_commit_to(&beacon.public_key(), &payload, 77, &mut rng(14)).unwrap();
    assert_eq!(commit.len(), payload.commit_len());
    assert_eq!(
        decrypt_commit(&commit, &beacon.round_signature(77)).unwrap(),
        payload
    );
    for wrong in [
        beacon.round_signature(78).to_vec(),
        TestBeacon::from_seed(b"other").round_signature(77).to_vec(),
        sig(SIG_1000),
    ] {
        assert!(matches!(
            decrypt_commit(&commit, &wrong),
            Err(TimelockError::WrongSignature)
        ));
    }
    // A quicknet commit does not open with a test beacon's signature for the same round.
    let quicknet = encrypt_commit(&payload, 1000, &mut rng(15)).unwrap();
    assert!(matches!(
        decrypt_commit(&quicknet, &beacon.round_signature(1000)),
        Err(TimelockError::WrongSignature)
    ));
    for bad_key in [vec![0u8; 96], QUICKNET_PUBLIC_KEY[..95].to_vec(), vec![]] {
        assert!(matches!(
            encrypt_commit_to(&bad_key, &payload, 1, &mut rng(16)),
            Err(TimelockError::BadPublicKey(_))
        ));
    }
}
