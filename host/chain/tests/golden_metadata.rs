//! Golden bytes (call encoding, storage keys) and decoding the real finney metadata (V16):
//! SubtensorModule, its weights calls, storage hashers and the transaction-extension list.

use resi_chain::metadata::ChainMetadata;
use resi_chain::scale::{self, Hasher};

const FINNEY: &[u8] = include_bytes!("data/finney.scale");

fn finney() -> ChainMetadata {
    ChainMetadata::decode(FINNEY).expect("finney metadata decodes")
}

#[test]
fn golden_set_weights_call_bytes() {
    let call = scale::encode_set_weights_call((7, 0), 46, &[0, 1], &[65535, 32768], 0);
    assert_eq!(
        format!("0x{}", hex::encode(&call)),
        "0x07002e00080000010008ffff00800000000000000000"
    );
}

#[test]
fn golden_keys_storage_key() {
    let meta = finney();
    let (prefix, keys) = meta.storage("SubtensorModule", "Keys").unwrap();
    assert_eq!(prefix, "SubtensorModule");
    assert_eq!(keys.hashers.len(), 2);
    let key = scale::storage_key(
        prefix,
        "Keys",
        &[
            (keys.hashers[0], &46u16.to_le_bytes()),
            (keys.hashers[1], &0u16.to_le_bytes()),
        ],
    );
    let hex_key = hex::encode(&key);
    assert!(
        hex_key.starts_with("658faa385070e074c85bf6b568cf05559f99a2ce711f3a31b2fc05604c93f179"),
        "{hex_key}"
    );
    assert_eq!(
        hex::encode(scale::storage_prefix("SubtensorModule", "Keys")),
        "658faa385070e074c85bf6b568cf05559f99a2ce711f3a31b2fc05604c93f179"
    );
}

#[test]
fn finney_metadata_resolves_subtensor() {
    let meta = finney();
    assert_eq!(meta.version(), 16);
    let pallet = meta.pallet("SubtensorModule").unwrap();
    assert_eq!(pallet.index, 7);

    let sw = meta.call("SubtensorModule", "set_weights").unwrap();
    assert_eq!((sw.pallet_index, sw.call_index), (7, 0));
    assert_eq!(sw.arg_names, ["netuid", "dests", "weights", "version_key"]);

    let smw = meta
        .call("SubtensorModule", "set_mechanism_weights")
        .unwrap();
    assert_eq!((smw.pallet_index, smw.call_index), (7, 119));
    assert_eq!(
        smw.arg_names,
        ["netuid", "mecid", "dests", "weights", "version_key"]
    );

    let ctw = meta
        .call("SubtensorModule", "commit_timelocked_mechanism_weights")
        .unwrap();
    assert_eq!(ctw.call_index, 118);

    // The metadata-resolved indices give the golden call bytes.
    let call = scale::encode_set_weights_call(
        (sw.pallet_index, sw.call_index),
        46,
        &[0, 1],
        &[65535, 32768],
        0,
    );
    assert_eq!(
        hex::encode(call),
        "07002e00080000010008ffff00800000000000000000"
    );

    // Storage items the metagraph reads exist, with recoverable hashers where resi needs them.
    for item in [
        "Keys",
        "Uids",
        "SubnetworkN",
        "ValidatorPermit",
        "LastUpdate",
        "WeightsVersionKey",
        "CommitRevealWeightsEnabled",
        "WeightsSetRateLimit",
        "Tempo",
        "NetworksAdded",
    ] {
        let (_, info) = meta.storage("SubtensorModule", item).unwrap();
        assert!(!info.hashers.is_empty(), "{item} is a map");
    }
    let (_, keys) = meta.storage("SubtensorModule", "Keys").unwrap();
    assert!(
        keys.hashers[1].concat_offset().is_some(),
        "uid recoverable from Keys keys"
    );
    let (_, uids) = meta.storage("SubtensorModule", "Uids").unwrap();
    assert!(matches!(
        uids.hashers[1],
        Hasher::Blake2_128Concat | Hasher::Identity | Hasher::Twox64Concat
    ));

    assert!(meta.pallet("NoSuchPallet").is_err());
    let err = meta.call("SubtensorModule", "no_such_call").unwrap_err();
    assert!(err.to_string().contains("no call no_such_call"), "{err}");
}

#[test]
fn finney_transaction_extensions() {
    let meta = finney();
    let names: Vec<&str> = meta
        .extensions()
        .iter()
        .map(|e| e.identifier.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "CheckNonZeroSender",
            "CheckSpecVersion",
            "CheckTxVersion",
            "CheckGenesis",
            "CheckMortality",
            "CheckNonce",
            "CheckWeight",
            // This (older) runtime names the fee extension without `Wrapper` and predates
            // CheckShieldedTxValidity: exactly why the list is read from metadata.
            "ChargeTransactionPayment",
            "SudoTransactionExtension",
            "SubtensorTransactionExtension",
            "DrandPriority",
            "CheckMetadataHash",
        ]
    );
    let by_name = |n: &str| {
        meta.extensions()
            .iter()
            .find(|e| e.identifier == n)
            .unwrap()
    };
    for zero in [
        "CheckNonZeroSender",
        "CheckWeight",
        "SudoTransactionExtension",
        "SubtensorTransactionExtension",
        "DrandPriority",
    ] {
        let e = by_name(zero);
        assert!(meta.is_zero_sized(e.explicit_ty), "{zero} explicit");
        assert!(meta.is_zero_sized(e.implicit_ty), "{zero} implicit");
    }
    let mortality = by_name("CheckMortality");
    let era_path = meta.type_path(mortality.explicit_ty);
    assert!(era_path.ends_with("CheckMortality"), "{era_path}");
    assert!(!meta.is_zero_sized(mortality.explicit_ty));
    assert!(!meta.is_zero_sized(mortality.implicit_ty));
    assert!(meta.is_zero_sized(by_name("CheckSpecVersion").explicit_ty));
    assert!(!meta.is_zero_sized(by_name("CheckSpecVersion").implicit_ty));
}

#[test]
fn metadata_errors_are_clear() {
    let err = ChainMetadata::decode(b"not metadata").unwrap_err();
    assert!(err.to_string().starts_with("runtime metadata:"), "{err}");
    let err = ChainMetadata::decode(&FINNEY[..1000]).unwrap_err();
    assert!(err.to_string().contains("does not decode"), "{err}");
}
