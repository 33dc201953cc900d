//! `resi devnet`: the whole subnet on one machine (filled in by the devnet issue).

use clap::Args;
use std::process::ExitCode;

/// Options of the local devnet.
#[derive(Debug, Args)]
pub struct DevnetArgs {}

/// Runs the devnet.
pub fn run(_args: DevnetArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
