//! `resi wallet`: show addresses of, sign with and verify for a Bittensor hotkey.

use clap::Subcommand;
use std::process::ExitCode;

/// Wallet subcommands.
#[derive(Debug, Subcommand)]
pub enum WalletCmd {
    /// Print the hotkey and coldkey addresses of a wallet (never secrets).
    Show,
}

/// Runs a wallet subcommand.
pub fn run(cmd: WalletCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        WalletCmd::Show => anyhow::bail!("not implemented yet"),
    }
}
