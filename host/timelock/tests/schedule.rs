//! The reveal schedule: bittensor-drand 2.0.0's table vectors (`src/epoch_schedule_vectors.rs`),
//! hand-computed cases, and the legacy formula.

use resi_timelock::QUICKNET_GENESIS_TIME;
use resi_timelock::schedule::{
    EpochState, ScheduleError, first_reveal_block_epoch_index, first_reveal_block_legacy,
    reveal_round, round_time,
};

fn state(
    last_epoch_block: u64,
    pending_epoch_at: u64,
    subnet_epoch_index: u64,
    tempo: u16,
    blocks_since_last_step: u64,
    current_block: u64,
) -> EpochState {
    EpochState {
        tempo,
        current_block,
        last_epoch_block,
        pending_epoch_at,
        subnet_epoch_index,
        blocks_since_last_step,
    }
}

#[test]
fn the_reference_vectors() {
    // tempo_zero
    assert_eq!(
        first_reveal_block_epoch_index(&state(10, 0, 0, 0, 0, 10), 1),
        Err(ScheduleError::TempoIsZero)
    );
    // cycle_reset (subtensor tempo_control.rs get_next_epoch_start_block_reflects_set_tempo_cycle_reset)
    assert_eq!(
        first_reveal_block_epoch_index(&state(10, 0, 0, 50, 0, 10), 1),
        Ok(60)
    );
    // pending_fires_before_auto
    assert_eq!(
        first_reveal_block_epoch_index(&state(80, 95, 0, 20, 0, 91), 1),
        Ok(95)
    );
}

/// commit_epoch_at_extrinsic_block: the commit (block 121) is in epoch 0, so with a reveal
/// period of 0 it "reveals" in its own block and with 1 at the first block of epoch 1 (150).
#[test]
fn the_commit_epoch_is_the_epoch_of_the_block_after_the_head() {
    let s = state(100, 0, 0, 50, 0, 120);
    assert_eq!(first_reveal_block_epoch_index(&s, 0), Ok(121));
    assert_eq!(first_reveal_block_epoch_index(&s, 1), Ok(150));
    assert_eq!(first_reveal_block_epoch_index(&s, 2), Ok(200));
    // If the epoch runs in the commit block itself, the commit already belongs to it.
    let s = state(100, 0, 4, 50, 0, 149);
    assert_eq!(first_reveal_block_epoch_index(&s, 0), Ok(150));
    assert_eq!(first_reveal_block_epoch_index(&s, 1), Ok(200));
}

#[test]
fn hand_computed_cases() {
    // An overdue step (BlocksSinceLastStep > MAX_TEMPO) runs an epoch in the commit block
    // (1001); the next runs a tempo later.
    let s = state(990, 0, 7, 360, 50_401, 1000);
    assert_eq!(first_reveal_block_epoch_index(&s, 1), Ok(1361));
    // At exactly MAX_TEMPO the reference's commit epoch is still 7 (it checks the state before
    // the commit block's step increments BlocksSinceLastStep), the step then runs epoch 8 in
    // the commit block, so the "reveal" is the next block. (The chain, whose extrinsic sees the
    // state after that step, files such a commit under epoch 8: the round is early, not late,
    // so the commit still reveals. Ported as the reference has it.)
    let s = state(990, 0, 7, 360, 50_400, 1000);
    assert_eq!(first_reveal_block_epoch_index(&s, 1), Ok(1002));
    // A pending epoch already due fires in the commit block.
    let s = state(990, 995, 7, 360, 10, 1000);
    assert_eq!(first_reveal_block_epoch_index(&s, 1), Ok(1361));
    // A pending epoch inside the next epoch moves the reveal earlier and resets the cycle.
    let s = state(990, 1100, 7, 360, 10, 1000);
    assert_eq!(first_reveal_block_epoch_index(&s, 1), Ok(1100));
    assert_eq!(first_reveal_block_epoch_index(&s, 2), Ok(1460));
    // Tempo 1: an epoch every block; the commit block (501) is already in epoch 1.
    let s = state(500, 0, 0, 1, 0, 500);
    assert_eq!(first_reveal_block_epoch_index(&s, 3), Ok(504));
}

#[test]
fn legacy_examples() {
    // (current_epoch + period) * (tempo + 1) - (netuid + 1), current_epoch = (block + netuid + 1) / (tempo + 1)
    assert_eq!(first_reveal_block_legacy(360, 1000, 1, 1), Ok(1081)); // epoch 1002/361 = 2
    assert_eq!(first_reveal_block_legacy(99, 0, 0, 2), Ok(199));
    assert_eq!(
        first_reveal_block_legacy(360, 4_000_000, 46, 1),
        Ok(4_000_194)
    );
    assert_eq!(first_reveal_block_legacy(0, 10, 5, 1), Ok(11));
    // Saturating, never a panic.
    assert!(first_reveal_block_legacy(u16::MAX, u64::MAX, u16::MAX, u64::MAX).is_ok());
}

/// The legacy reveal block is the first block of the commit epoch + period, by the old chain's
/// `get_epoch_index` = (block + netuid + 1) / (tempo + 1).
#[test]
fn the_legacy_block_starts_the_reveal_epoch() {
    let epoch =
        |block: u64, tempo: u16, netuid: u16| (block + netuid as u64 + 1) / (tempo as u64 + 1);
    for tempo in [1u16, 2, 10, 99, 360, 7200] {
        for netuid in [0u16, 1, 46, 300] {
            for block in [0u64, 1, 359, 360, 361, 12_345, 5_000_000] {
                for period in [1u64, 2, 5] {
                    let first = first_reveal_block_legacy(tempo, block, netuid, period).unwrap();
                    let target = epoch(block, tempo, netuid) + period;
                    assert_eq!(epoch(first, tempo, netuid), target);
                    assert!(first == 0 || epoch(first - 1, tempo, netuid) < target);
                }
            }
        }
    }
}

#[test]
fn reveal_round_formula() {
    let g = QUICKNET_GENESIS_TIME as f64;
    // (10 + 3) blocks of 12 s after now = genesis + 3000 s: floor(3156 / 3) = 1052.
    assert_eq!(reveal_round(110, 100, 12.0, g + 3000.0), 1052);
    assert_eq!(reveal_round(110, 100, 12.0, g + 3000.9), 1052);
    assert_eq!(reveal_round(110, 100, 12.0, g + 3002.99), 1052);
    assert_eq!(reveal_round(110, 100, 12.0, g + 3003.0), 1053);
    // Fast blocks.
    // (6 + 993 * 0.25) / 3 = 84.75.
    assert_eq!(reveal_round(1000, 10, 0.25, g + 6.0), 84);
    // A reveal block already past still counts SECURITY_BLOCK_OFFSET from the head, saturating.
    assert_eq!(reveal_round(5, 100, 12.0, g + 30.0), 10);
    // Before genesis, and nonsense clocks: round 1.
    assert_eq!(reveal_round(110, 100, 12.0, 0.0), 1);
    assert_eq!(reveal_round(110, 100, 12.0, f64::NAN), 1);
    // The brief's cycle_reset check: floor((now + (60 + 3 - 10) * 12 - GENESIS) / 3).
    let now = 1_764_590_000.5;
    let want = ((now + 53.0 * 12.0 - g) / 3.0_f64).floor() as u64;
    assert_eq!(reveal_round(60, 10, 12.0, now), want);
}

#[test]
fn round_times() {
    assert_eq!(round_time(1), QUICKNET_GENESIS_TIME);
    assert_eq!(round_time(0), QUICKNET_GENESIS_TIME);
    assert_eq!(round_time(1000), QUICKNET_GENESIS_TIME + 2997);
    // reveal_round with no blocks to wait, read at round r's time, is r - 1 (it rounds down).
    for r in [2u64, 1000, 25_000_000] {
        assert_eq!(reveal_round(7, 10, 12.0, round_time(r) as f64), r - 1);
    }
}
