//! [`ChainError`]: every way a chain call can fail, with messages that name the problem.

/// Why a chain call failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node could not be reached at all (connection refused, DNS, timeout).
    #[error("subtensor node at {endpoint} is unreachable: {reason}")]
    Unreachable {
        /// The endpoint URL.
        endpoint: String,
        /// What the HTTP client reported.
        reason: String,
    },
    /// The node answered a JSON-RPC call with an error object.
    #[error("JSON-RPC {method} failed with code {code}: {message}")]
    Rpc {
        /// The method called.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// The error message (and data, if any).
        message: String,
    },
    /// The node answered, but not with what the method should return.
    #[error("unexpected answer to {method}: {reason}")]
    BadResponse {
        /// The method called.
        method: String,
        /// What was wrong.
        reason: String,
    },
    /// The `--subtensor.network` value is neither a known network name nor a URL.
    #[error(
        "unknown subtensor network {0:?}: use finney, test, archive, local, or a ws://, wss://, http:// or https:// URL"
    )]
    BadNetwork(String),
    /// The runtime metadata could not be decoded, or lacks something resi needs.
    #[error("runtime metadata: {0}")]
    Metadata(String),
    /// A storage value did not decode as the expected type.
    #[error("storage {item} did not decode: {reason}")]
    StorageDecode {
        /// The storage item (e.g. `SubtensorModule.Keys`).
        item: String,
        /// What went wrong.
        reason: String,
    },
    /// The subnet does not exist.
    #[error("subnet netuid {0} does not exist on this chain")]
    UnknownNetuid(u16),
    /// The hotkey has no uid on the subnet.
    #[error("hotkey {hotkey} is not registered on subnet {netuid}")]
    NotRegistered {
        /// The subnet.
        netuid: u16,
        /// The hotkey (SS58).
        hotkey: String,
    },
    /// The hotkey is registered but has no validator permit, so it may not set weights.
    #[error("hotkey {hotkey} (uid {uid}) has no validator permit on subnet {netuid}")]
    NoValidatorPermit {
        /// The subnet.
        netuid: u16,
        /// The signer's uid.
        uid: u16,
        /// The hotkey (SS58).
        hotkey: String,
    },
    /// Too few blocks have passed since this neuron's last weights update.
    #[error(
        "rate limited on subnet {netuid}: uid {uid} last set weights at block {last_update}, now block {current_block}, the limit is {rate_limit} blocks ({blocks_remaining} more to wait)"
    )]
    RateLimited {
        /// The subnet.
        netuid: u16,
        /// The signer's uid.
        uid: u16,
        /// Block of the last weights update.
        last_update: u64,
        /// The current block.
        current_block: u64,
        /// `WeightsSetRateLimit` of the subnet.
        rate_limit: u64,
        /// Blocks still to wait.
        blocks_remaining: u64,
    },
    /// The subnet requires commit-reveal weights; a plain `set_weights` would be rejected (the
    /// local chain has no timelocked commits).
    #[error(
        "subnet {netuid} has commit-reveal weights enabled (CommitRevealWeightsEnabled): plain set_weights is rejected, and this chain takes no timelocked commits"
    )]
    CommitRevealEnabled {
        /// The subnet.
        netuid: u16,
    },
    /// The version key is below the subnet's `WeightsVersionKey`.
    #[error(
        "weights version key {given} is below subnet {netuid}'s WeightsVersionKey {required}: upgrade the validator"
    )]
    VersionKeyTooLow {
        /// The subnet.
        netuid: u16,
        /// The version key sent.
        given: u64,
        /// The minimum the subnet requires.
        required: u64,
    },
    /// `uids` and `weights` differ in length.
    #[error("{uids} uids but {weights} weights: the lists must have the same length")]
    LengthMismatch {
        /// Number of uids.
        uids: usize,
        /// Number of weights.
        weights: usize,
    },
    /// More weights than uids on the subnet.
    #[error("{len} weights for a subnet of {n} uids")]
    TooManyWeights {
        /// Number of weights given.
        len: usize,
        /// Subnet size.
        n: u16,
    },
    /// A uid appears twice in the weights.
    #[error("uid {0} appears more than once in the weights")]
    DuplicateUid(u16),
    /// A uid in the weights does not exist on the subnet.
    #[error("uid {uid} does not exist on subnet {netuid} (it has {n} uids)")]
    InvalidUid {
        /// The subnet.
        netuid: u16,
        /// The offending uid.
        uid: u16,
        /// Subnet size.
        n: u16,
    },
    /// Fewer weights than the subnet's `MinAllowedWeights` asks for.
    #[error(
        "{len} weights on subnet {netuid}, which needs at least {required} (min(n, MinAllowedWeights))"
    )]
    TooFewWeights {
        /// The subnet.
        netuid: u16,
        /// Number of weights given.
        len: usize,
        /// The minimum.
        required: usize,
    },
    /// One weight's share of the sum exceeds the subnet's `MaxWeightsLimit`.
    #[error(
        "the largest weight is {share_ppm} ppm of the sum on subnet {netuid}, above MaxWeightsLimit {limit}/65535"
    )]
    MaxWeightExceeded {
        /// The subnet.
        netuid: u16,
        /// The largest weight's share of the sum, parts per million.
        share_ppm: u64,
        /// `MaxWeightsLimit`.
        limit: u16,
    },
    /// The extrinsic was included but its dispatch failed: the chain's error, named from its
    /// metadata (e.g. `SubtensorModule.SettingWeightsTooFast`).
    #[error("{call} was included in block {block} but failed: {pallet}.{name}{}", if docs.is_empty() { String::new() } else { format!(" ({docs})") })]
    DispatchFailed {
        /// The call that was sent.
        call: String,
        /// The block it was included in (`0x` hash).
        block: String,
        /// The pallet of the error (`SubtensorModule`), or `DispatchError` for a non-module
        /// error.
        pallet: String,
        /// The error's name (`SettingWeightsTooFast`, `BadOrigin`, ...).
        name: String,
        /// The error's documentation from the metadata.
        docs: String,
    },
    /// The extrinsic left the pool without being included (`dropped`, `invalid`, `usurped`,
    /// expired era, finality timeout, or not seen before the deadline).
    #[error("{call} (tx {tx_hash}) was not included: {status}")]
    NotIncluded {
        /// The call that was sent.
        call: String,
        /// The extrinsic hash.
        tx_hash: String,
        /// What the node reported, or why resi stopped watching.
        status: String,
    },
    /// The extrinsic succeeded but the storage it should have changed did not change.
    #[error("{call} succeeded in block {block} but {what}")]
    NotConfirmed {
        /// The call that was sent.
        call: String,
        /// The block (`0x` hash).
        block: String,
        /// What storage read disagreed.
        what: String,
    },
    /// The timelocked commit could not be built.
    #[error("timelocked commit")]
    Timelock(#[from] resi_timelock::TimelockError),
    /// The reveal round could not be computed from the subnet's epoch schedule.
    #[error("reveal round")]
    Schedule(#[from] resi_timelock::schedule::ScheduleError),
    /// The local chain's subnet has no free uid left.
    #[error("subnet {netuid} is full ({max_uids} uids)")]
    SubnetFull {
        /// The subnet.
        netuid: u16,
        /// Its capacity.
        max_uids: u16,
    },
    /// The local chain's SQLite database failed.
    #[error("local chain database {path}")]
    Database {
        /// The database file.
        path: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The directory of the local chain database could not be created.
    #[error("cannot create the directory of the local chain database {path}")]
    DatabaseDir {
        /// The database file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The local chain database holds a value that does not parse (corrupted or foreign file).
    #[error("local chain database {path}: corrupt {what}: {reason}")]
    CorruptDatabase {
        /// The database file.
        path: String,
        /// What was being read.
        what: String,
        /// What was wrong.
        reason: String,
    },
}
