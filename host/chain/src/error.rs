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
    /// The subnet requires commit-reveal weights; a plain `set_weights` would be rejected.
    #[error(
        "subnet {netuid} has commit-reveal weights enabled (CommitRevealWeightsEnabled): plain set_weights is rejected by the chain and timelocked commits are not supported yet"
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
