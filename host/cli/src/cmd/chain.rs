//! `resi chain` (stub, filled in by its issue).

use clap::Subcommand;
use std::process::ExitCode;

/// Subcommands of `resi chain`.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Not implemented yet.
    Todo,
}

/// Runs a subcommand.
pub fn run(_cmd: Cmd) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
