//! When the chain reveals a commit, and which drand round to encrypt it to.
//!
//! Two models, as the reference (bittensor-drand) has them:
//! - [`RevealModel::EpochIndex`] (subtensor with storage `SubtensorModule.SubnetEpochIndex`,
//!   bittensor-drand 2.0.0 `get_encrypted_commit_v2`, what the bittensor SDK 11 sends): the
//!   chain's epoch pipeline is simulated block by block, [`first_reveal_block_epoch_index`].
//! - [`RevealModel::Legacy`] (earlier runtimes, bittensor-drand <= 1.3.0 `get_encrypted_commit`):
//!   epochs by modulo arithmetic, [`first_reveal_block_legacy`].
//!
//! Either way the round is [`reveal_round`] of that block. The chain does not check the round at
//! submission; a round whose pulse the chain has not ingested by the reveal epoch just leaves the
//! commit unrevealed, so these must match the reference exactly.

use crate::{QUICKNET_GENESIS_TIME, QUICKNET_PERIOD_SECS};

/// Blocks added to the reveal block before converting it to a time, so the round's pulse is on
/// chain by then (bittensor-drand `SECURITY_BLOCK_OFFSET`).
pub const SECURITY_BLOCK_OFFSET: u64 = 3;

/// The commit extrinsic lands in the block after the head the state was read at
/// (bittensor-drand `COMMIT_INCLUSION_BLOCK_OFFSET`).
pub const COMMIT_INCLUSION_BLOCK_OFFSET: u64 = 1;

/// subtensor's `MAX_TEMPO`: after this many blocks without a step an epoch runs regardless.
pub const MAX_TEMPO: u64 = 50_400;

/// The subnet's epoch state at one block, read from chain storage (SubtensorModule Tempo,
/// LastEpochBlock, PendingEpochAt, SubnetEpochIndex, BlocksSinceLastStep) plus the head block number.
///
/// Read every field at the same (pinned) block hash, by the subnet's netuid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochState {
    /// `Tempo`: blocks per epoch (0: the subnet runs no epochs).
    pub tempo: u16,
    /// The head block number the state was read at.
    pub current_block: u64,
    /// `LastEpochBlock`: the block the last epoch ran at.
    pub last_epoch_block: u64,
    /// `PendingEpochAt`: an owner-triggered epoch's block, 0 if none.
    pub pending_epoch_at: u64,
    /// `SubnetEpochIndex`: the subnet's epoch counter.
    pub subnet_epoch_index: u64,
    /// `BlocksSinceLastStep`.
    pub blocks_since_last_step: u64,
}

/// Which model the runtime uses: EpochIndex when metadata has SubtensorModule.SubnetEpochIndex
/// storage, else Legacy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealModel {
    /// The stateful epoch index ([`first_reveal_block_epoch_index`]).
    EpochIndex,
    /// The modulo epoch of earlier runtimes ([`first_reveal_block_legacy`]).
    Legacy,
}

/// Why no reveal block could be predicted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    /// Tempo 0: the subnet runs no epochs, so nothing is ever revealed.
    #[error("tempo is zero: the subnet runs no epochs, so a commit would never be revealed")]
    TempoIsZero,
    /// The simulation found no reveal block within its budget (the reference's bound:
    /// `reveal_period * MAX_TEMPO + MAX_TEMPO` blocks after the commit block).
    #[error("no reveal block in blocks {first_block}..={last_block}")]
    BoundExceeded {
        /// The first block simulated (the commit's block).
        first_block: u64,
        /// The last block simulated.
        last_block: u64,
    },
}

/// subtensor `should_run_epoch` (bittensor-drand `epoch_schedule::should_run_epoch`).
fn should_run_epoch(state: &EpochState, block: u64) -> bool {
    if state.tempo == 0 {
        return false;
    }
    if state.pending_epoch_at > 0 && block >= state.pending_epoch_at {
        return true;
    }
    if state.blocks_since_last_step > MAX_TEMPO {
        return true;
    }
    block.saturating_sub(state.last_epoch_block) >= u64::from(state.tempo)
}

/// The epoch index the chain's reveal step sees at `block` (it runs before `run_coinbase`):
/// bittensor-drand `current_epoch_pre_run_coinbase`.
fn epoch_before_coinbase(state: &EpochState, block: u64) -> u64 {
    state
        .subnet_epoch_index
        .saturating_add(u64::from(should_run_epoch(state, block)))
}

/// The state after `run_coinbase` at `block` (bittensor-drand `simulate_run_coinbase`; no
/// `MaxEpochsPerBlock` deferral). `blocks_since_last_step` is incremented before the check, as
/// the chain does.
fn simulate_run_coinbase(state: &EpochState, block: u64) -> EpochState {
    let mut next = *state;
    next.blocks_since_last_step = next.blocks_since_last_step.saturating_add(1);
    next.current_block = block;
    if should_run_epoch(&next, block) {
        next.last_epoch_block = block;
        next.pending_epoch_at = 0;
        next.subnet_epoch_index = next.subnet_epoch_index.saturating_add(1);
        next.blocks_since_last_step = 0;
    }
    next
}

/// The simulation budget after the commit block (bittensor-drand `max_simulation_blocks`).
fn max_simulation_blocks(reveal_period_epochs: u64) -> u64 {
    reveal_period_epochs
        .saturating_mul(MAX_TEMPO)
        .saturating_add(MAX_TEMPO)
}

/// The first block at which the chain reveals a commit made in the block after
/// `state.current_block` (bittensor-drand 2.0.0 predict_first_reveal_block, ported literally).
///
/// The commit's epoch is the epoch index the reveal step sees in the commit block; the reveal
/// is the first block whose (pre-coinbase) epoch index is that plus `reveal_period_epochs`.
/// The cost is one cheap step per simulated block (about `reveal_period_epochs * tempo`).
pub fn first_reveal_block_epoch_index(
    state: &EpochState,
    reveal_period_epochs: u64,
) -> Result<u64, ScheduleError> {
    if state.tempo == 0 {
        return Err(ScheduleError::TempoIsZero);
    }
    let commit_block = state
        .current_block
        .saturating_add(COMMIT_INCLUSION_BLOCK_OFFSET);
    // The reference advances the state over the blocks between the head and the commit block;
    // with COMMIT_INCLUSION_BLOCK_OFFSET = 1 there are none, so the head's state is the state
    // before the commit block.
    let before_commit = *state;
    let target_epoch =
        epoch_before_coinbase(&before_commit, commit_block).saturating_add(reveal_period_epochs);
    let last_block = commit_block.saturating_add(max_simulation_blocks(reveal_period_epochs));
    let mut previous = before_commit;
    for block in commit_block..=last_block {
        if epoch_before_coinbase(&previous, block) == target_epoch {
            return Ok(block);
        }
        previous = simulate_run_coinbase(&previous, block);
    }
    Err(ScheduleError::BoundExceeded {
        first_block: commit_block,
        last_block,
    })
}

/// Legacy (bittensor-drand <= 1.3.0 get_encrypted_commit): (current_epoch + period) * (tempo+1)
/// - (netuid+1), current_epoch = (current_block + netuid + 1) / (tempo + 1).
///
/// `netuid` is what the SDK passed: the storage index (`netuid` for mechanism 0). Like the
/// reference this accepts tempo 0 and saturates instead of overflowing, so it never fails today.
pub fn first_reveal_block_legacy(
    tempo: u16,
    current_block: u64,
    netuid: u16,
    reveal_period_epochs: u64,
) -> Result<u64, ScheduleError> {
    let tempo_plus_one = u64::from(tempo) + 1;
    let netuid_plus_one = u64::from(netuid) + 1;
    let current_epoch = current_block.saturating_add(netuid_plus_one) / tempo_plus_one;
    let reveal_epoch = current_epoch.saturating_add(reveal_period_epochs);
    Ok(reveal_epoch
        .saturating_mul(tempo_plus_one)
        .saturating_sub(netuid_plus_one))
}

/// The drand round for a reveal at `reveal_block`: floor(((now_unix + (reveal_block + 3 -
/// current_block) * block_time_secs) - GENESIS) / 3), at least 1 — exactly as bittensor-drand
/// computes it (f64 arithmetic, SECURITY_BLOCK_OFFSET = 3).
///
/// `block_time_secs` is `Aura.SlotDuration / 1000` (12.0 on finney); `now_unix_secs` is the
/// wall clock, a parameter so callers and tests can inject it.
pub fn reveal_round(
    reveal_block: u64,
    current_block: u64,
    block_time_secs: f64,
    now_unix_secs: f64,
) -> u64 {
    let blocks_until_ingest = reveal_block
        .saturating_add(SECURITY_BLOCK_OFFSET)
        .saturating_sub(current_block);
    let target_secs = now_unix_secs + blocks_until_ingest as f64 * block_time_secs;
    let round =
        ((target_secs - QUICKNET_GENESIS_TIME as f64) / QUICKNET_PERIOD_SECS as f64).floor();
    // `as` saturates (negative and NaN to 0), as in the reference.
    (round as u64).max(1)
}

/// A drand round's publication time (unix seconds).
///
/// Round 1 is published at genesis and each later one a period after the previous (drand's
/// `TimeOfRound`); there is no round 0 (it maps to genesis).
pub fn round_time(round: u64) -> u64 {
    QUICKNET_GENESIS_TIME
        .saturating_add(round.saturating_sub(1).saturating_mul(QUICKNET_PERIOD_SECS))
}
