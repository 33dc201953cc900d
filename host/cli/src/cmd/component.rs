//! `resi component inspect`: what a `.wasm` component is and whether a sandbox profile accepts it.

use clap::Subcommand;
use std::process::ExitCode;

/// Component subcommands.
#[derive(Debug, Subcommand)]
pub enum ComponentCmd {
    /// Print sha256, kind, exported and imported WIT interfaces, and the profile verdict.
    Inspect,
}

/// Runs a component subcommand.
pub fn run(cmd: ComponentCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ComponentCmd::Inspect => anyhow::bail!("not implemented yet"),
    }
}
