//! The values chain calls return: a subnet's [`Metagraph`] (its [`Neuron`]s and the
//! hyperparameters that govern weight setting) and the [`TxResult`] of a weights transaction.

use resi_core::keys::PublicKey;

/// One registered hotkey on a subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neuron {
    /// The neuron's uid on the subnet (0..n).
    pub uid: u16,
    /// The hotkey registered at this uid.
    pub hotkey: PublicKey,
    /// True if the neuron may set weights (a validator permit).
    pub validator_permit: bool,
    /// Block of the neuron's last weights update (0 = never).
    pub last_update: u64,
}

impl Neuron {
    /// The hotkey's SS58 address (prefix 42).
    pub fn hotkey_ss58(&self) -> String {
        self.hotkey.to_ss58()
    }
}

/// A subnet's state at one block: who is registered where, and the weight-setting rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metagraph {
    /// The subnet id.
    pub netuid: u16,
    /// The block this metagraph was read at.
    pub block: u64,
    /// Number of uids on the subnet (`SubnetworkN`).
    pub n: u16,
    /// The neurons, sorted by uid.
    pub neurons: Vec<Neuron>,
    /// Minimum version key a `set_weights` call must carry (`WeightsVersionKey`).
    pub weights_version_key: u64,
    /// True if the subnet requires commit-reveal weights (`CommitRevealWeightsEnabled`).
    pub commit_reveal_enabled: bool,
    /// Blocks that must pass between two weight updates of one neuron (`WeightsSetRateLimit`).
    pub weights_set_rate_limit: u64,
    /// Blocks per epoch (`Tempo`).
    pub tempo: u16,
    /// A weights call must name at least `min(n, MinAllowedWeights)` uids (`MinAllowedWeights`).
    pub min_allowed_weights: u16,
    /// The largest share of the sum one weight may have, out of 65535 (`MaxWeightsLimit`;
    /// 65535 = no limit).
    pub max_weights_limit: u16,
}

impl Metagraph {
    /// The neuron at `uid`, if any.
    pub fn neuron(&self, uid: u16) -> Option<&Neuron> {
        self.neurons.iter().find(|n| n.uid == uid)
    }

    /// The uid of `hotkey`, if it is registered on this subnet.
    pub fn uid_of(&self, hotkey: &PublicKey) -> Option<u16> {
        self.neurons
            .iter()
            .find(|n| &n.hotkey == hotkey)
            .map(|n| n.uid)
    }

    /// The hotkey SS58 address at `uid`, if any.
    pub fn hotkey_ss58(&self, uid: u16) -> Option<String> {
        self.neuron(uid).map(Neuron::hotkey_ss58)
    }

    /// Blocks `uid` must still wait before it may set weights again (0 = allowed now).
    pub fn blocks_until_weights_allowed(&self, uid: u16) -> u64 {
        let Some(neuron) = self.neuron(uid) else {
            return 0;
        };
        if neuron.last_update == 0 {
            return 0;
        }
        let since = self.block.saturating_sub(neuron.last_update);
        self.weights_set_rate_limit.saturating_sub(since)
    }
}

/// A subnet's hyperparameters, as `resi chain hyperparameters` prints them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hyperparameters {
    /// The subnet id.
    pub netuid: u16,
    /// The block they were read at.
    pub block: u64,
    /// Blocks per epoch (`Tempo`).
    pub tempo: u16,
    /// Blocks between two weight updates of one neuron (`WeightsSetRateLimit`).
    pub weights_set_rate_limit: u64,
    /// Weights must be committed timelocked (`CommitRevealWeightsEnabled`).
    pub commit_reveal_enabled: bool,
    /// Epochs between a commit and its reveal (`RevealPeriodEpochs`).
    pub reveal_period_epochs: u64,
    /// The commit-reveal version a commit must carry (`CommitRevealWeightsVersion`).
    pub commit_reveal_version: u16,
    /// Minimum weights version key (`WeightsVersionKey`).
    pub weights_version_key: u64,
    /// Minimum number of weights in a call (`MinAllowedWeights`).
    pub min_allowed_weights: u16,
    /// Largest share of one weight, out of 65535 (`MaxWeightsLimit`).
    pub max_weights_limit: u16,
    /// Number of uids registered (`SubnetworkN`).
    pub subnetwork_n: u16,
    /// Maximum number of uids (`MaxAllowedUids`).
    pub max_allowed_uids: u16,
    /// Blocks a new registration is protected from pruning (`ImmunityPeriod`).
    pub immunity_period: u16,
    /// Blocks after which an inactive validator loses its say (`ActivityCutoff`).
    pub activity_cutoff: u16,
    /// Seconds per block (`Aura.SlotDuration`; 12 on finney).
    pub block_time_secs: f64,
    /// How the runtime schedules reveals: `epoch-index` or `legacy`.
    pub reveal_model: String,
    /// Epoch schedule state used for reveal rounds (`LastEpochBlock`, `PendingEpochAt`,
    /// `SubnetEpochIndex`, `BlocksSinceLastStep`); zero where the runtime lacks them.
    pub last_epoch_block: u64,
    /// See [`Hyperparameters::last_epoch_block`].
    pub pending_epoch_at: u64,
    /// See [`Hyperparameters::last_epoch_block`].
    pub subnet_epoch_index: u64,
    /// See [`Hyperparameters::last_epoch_block`].
    pub blocks_since_last_step: u64,
}

/// How far to follow a submitted extrinsic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wait {
    /// Until it is in a block (the default).
    #[default]
    InBlock,
    /// Until its block is finalized.
    Finalized,
}

/// The outcome of a weights transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxResult {
    /// The subnet the weights were set on.
    pub netuid: u16,
    /// The signer's uid.
    pub uid: u16,
    /// The block at which the transaction was applied (local chain) or included (subtensor).
    pub block: u64,
    /// The transaction hash, `0x`-prefixed hex (blake2-256 of the extrinsic on subtensor).
    pub tx_hash: String,
    /// The call that was sent: `set_weights`, `set_mechanism_weights`,
    /// `commit_timelocked_mechanism_weights`, `commit_timelocked_weights`.
    pub call: String,
    /// The block the extrinsic was included in (`None` on the local chain, which applies
    /// calls directly).
    pub included_in: Option<String>,
    /// True when its block was seen finalized.
    pub finalized: bool,
    /// For a timelocked commit: the drand round that reveals it.
    pub reveal_round: Option<u64>,
}
