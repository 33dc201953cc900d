//! The commitment strings of the SN46 protocol: one function per signed endpoint.
//!
//! A signed request carries `hotkey`, `timestamp` (unix seconds) and `signature`, the sr25519
//! signature of the UTF-8 commitment string built here. Client and server both build the string
//! with these functions, so the two sides can never disagree on the format.

/// `GET /api/v1/zipcode-assignments/current` (miners): `zipcode:assignment:current:{ts}`.
pub fn assignment_current(ts: i64) -> String {
    format!("zipcode:assignment:current:{ts}")
}

/// `GET /api/v1/zipcode-assignments/epoch/{epochId}` (validators): `zipcode:validation:{epochId}:{ts}`.
pub fn validation(epoch_id: &str, ts: i64) -> String {
    format!("zipcode:validation:{epoch_id}:{ts}")
}

/// `POST /api/v1/zipcode-assignments/status` (miners): `zipcode:status:{epochId}:{ts}`.
pub fn status(epoch_id: &str, ts: i64) -> String {
    format!("zipcode:status:{epoch_id}:{ts}")
}

/// The status commitment of older documents, `miner:status:{hotkey}:{epochId}:{ts}`.
///
/// Current clients sign [`status`]; a server may accept this form too for old clients.
pub fn status_legacy(hotkey: &str, epoch_id: &str, ts: i64) -> String {
    format!("miner:status:{hotkey}:{epoch_id}:{ts}")
}

/// `POST /get-folder-access` (miners, signed by the hotkey): `s3:data:access:{coldkey}:{hotkey}:{ts}`.
pub fn folder_access(coldkey: &str, hotkey: &str, ts: i64) -> String {
    format!("s3:data:access:{coldkey}:{hotkey}:{ts}")
}

/// `POST /api/v1/s3-access/validator-upload` (validators): `s3:validator:upload:{ts}`.
pub fn validator_upload(ts: i64) -> String {
    format!("s3:validator:upload:{ts}")
}

/// `POST /get-validator-access` (validators): `s3:validator:access:{ts}`.
pub fn validator_access(ts: i64) -> String {
    format!("s3:validator:access:{ts}")
}

/// `POST /get-miner-specific-access` (validators): `s3:validator:miner:{minerHotkey}:{ts}`.
pub fn miner_specific_access(miner_hotkey: &str, ts: i64) -> String {
    format!("s3:validator:miner:{miner_hotkey}:{ts}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_strings() {
        assert_eq!(
            assignment_current(1_700_000_000),
            "zipcode:assignment:current:1700000000"
        );
        assert_eq!(
            validation("2025-10-01T16-00-00", 5),
            "zipcode:validation:2025-10-01T16-00-00:5"
        );
        assert_eq!(
            status("2025-10-01T16-00-00", 5),
            "zipcode:status:2025-10-01T16-00-00:5"
        );
        assert_eq!(
            status_legacy("5H", "2025-10-01T16-00-00", 5),
            "miner:status:5H:2025-10-01T16-00-00:5"
        );
        assert_eq!(folder_access("5C", "5H", 7), "s3:data:access:5C:5H:7");
        assert_eq!(validator_upload(7), "s3:validator:upload:7");
        assert_eq!(validator_access(7), "s3:validator:access:7");
        assert_eq!(miner_specific_access("5M", 7), "s3:validator:miner:5M:7");
    }
}
