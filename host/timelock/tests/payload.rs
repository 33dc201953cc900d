//! The SCALE payload and the constants.

use crate::fixtures::{EXAMPLE_PAYLOAD_HEX, example_payload};
use resi_timelock::{
    COMMIT_OVERHEAD_BYTES, MAX_COMMIT_BYTES, MAX_PAYLOAD_BYTES, QUICKNET_GENESIS_TIME,
    QUICKNET_PERIOD_SECS, QUICKNET_PUBLIC_KEY, TimelockError, WeightsTlockPayload,
};

#[test]
fn payload_bytes_are_the_reference_bytes() {
    let payload = example_payload();
    let bytes = payload.encode();
    assert_eq!(hex::encode(&bytes), EXAMPLE_PAYLOAD_HEX);
    assert_eq!(bytes.len(), 55);
    assert_eq!(payload.encoded_len(), 55);
    assert_eq!(payload.commit_len(), 55 + 244);
    assert_eq!(WeightsTlockPayload::decode(&bytes).unwrap(), payload);
}

#[test]
fn payload_layout_for_empty_and_long_vectors() {
    let empty = WeightsTlockPayload {
        hotkey: [0xab; 32],
        uids: vec![],
        values: vec![],
        version_key: u64::MAX,
    };
    let bytes = empty.encode();
    let mut want = vec![0x80];
    want.extend([0xab; 32]);
    want.extend([0x00, 0x00]);
    want.extend([0xff; 8]);
    assert_eq!(bytes, want);
    assert_eq!(WeightsTlockPayload::decode(&bytes).unwrap(), empty);

    // 64 entries: the compact length takes two bytes (64 << 2 | 0b01 = 0x0101).
    let long = WeightsTlockPayload {
        hotkey: [1; 32],
        uids: (0..64).collect(),
        values: (0..64).map(|i| 1000 * i).collect(),
        version_key: 7,
    };
    let bytes = long.encode();
    assert_eq!(bytes.len(), long.encoded_len());
    assert_eq!(&bytes[33..35], &[0x01, 0x01]);
    assert_eq!(&bytes[35..37], &[0x00, 0x00]);
    assert_eq!(&bytes[37..39], &[0x01, 0x00]);
    assert_eq!(&bytes[163..165], &[0x01, 0x01]);
    assert_eq!(WeightsTlockPayload::decode(&bytes).unwrap(), long);
}

#[test]
fn decode_rejects_what_is_not_a_payload() {
    let bytes = example_payload().encode();
    for cut in 0..bytes.len() {
        assert!(
            matches!(
                WeightsTlockPayload::decode(&bytes[..cut]),
                Err(TimelockError::BadPayload(_))
            ),
            "a {cut}-byte prefix decoded"
        );
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    let err = WeightsTlockPayload::decode(&trailing).unwrap_err();
    assert!(err.to_string().contains("1 bytes after"), "{err}");

    // A 31-byte hotkey (compact 31 = 0x7c) is not an account.
    let mut short = vec![0x7c];
    short.extend_from_slice(&bytes[2..]);
    let err = WeightsTlockPayload::decode(&short).unwrap_err();
    assert!(err.to_string().contains("31 bytes, not 32"), "{err}");

    // A huge declared length does not allocate or panic.
    let huge = [0x03, 0xff, 0xff, 0xff, 0xff];
    assert!(WeightsTlockPayload::decode(&huge).is_err());
}

#[test]
fn constants_match_the_reference() {
    assert_eq!(
        hex::encode(QUICKNET_PUBLIC_KEY),
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
    );
    assert_eq!(QUICKNET_GENESIS_TIME, 1_692_803_367);
    assert_eq!(QUICKNET_PERIOD_SECS, 3);
    assert_eq!(MAX_COMMIT_BYTES, 5000);
    assert_eq!(COMMIT_OVERHEAD_BYTES, 244);
    assert_eq!(MAX_PAYLOAD_BYTES, 4756);
}
