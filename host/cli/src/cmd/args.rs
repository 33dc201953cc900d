//! Flags shared by several roles: which chain to reach.

use anyhow::Context;
use clap::Args;
use resi_chain::{AnyChain, LocalChain, SubtensorChain};
use std::path::Path;

/// `--subtensor.network`: a subtensor node instead of the embedded local chain.
#[derive(Debug, Clone, Args)]
pub struct SubtensorArg {
    /// Subtensor network: finney, test, archive, local (ws://127.0.0.1:9944) or a ws://, wss://,
    /// http:// or https:// URL. Without it, the embedded local chain is used.
    #[arg(
        long = "subtensor.network",
        env = "BT_SUBTENSOR_NETWORK",
        value_name = "NETWORK"
    )]
    pub network: Option<String>,
}

impl SubtensorArg {
    /// The chain: the subtensor node when `--subtensor.network` is given, else the local chain
    /// database at `local` (named by `flag` in errors).
    pub fn open(&self, local: &Path, flag: &str) -> anyhow::Result<AnyChain> {
        Ok(match &self.network {
            Some(net) => AnyChain::Subtensor(
                SubtensorChain::connect(net)
                    .with_context(|| format!("--subtensor.network {net}"))?,
            ),
            None => AnyChain::Local(
                // Its errors name the file: "local chain database PATH: ...".
                LocalChain::open(local).with_context(|| format!("opening {flag}"))?,
            ),
        })
    }
}
