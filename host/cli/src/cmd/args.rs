//! Flags shared by several roles: which chain to reach.

use anyhow::Context;
use clap::Args;
use resi_chain::{AnyChain, LocalChain, SubtensorChain};
use std::path::Path;

/// `--subtensor.network` / `--subtensor.chain_endpoint`: a subtensor node instead of the
/// embedded local chain, named as bittensor names them.
#[derive(Debug, Clone, Args)]
pub struct SubtensorArg {
    /// Subtensor network: finney (wss://entrypoint-finney.opentensor.ai:443), test
    /// (wss://test.finney.opentensor.ai:443), archive, local (ws://127.0.0.1:9944), or a ws://,
    /// wss://, http:// or https:// URL. WebSocket endpoints follow extrinsics by subscription;
    /// HTTP ones by polling blocks. Without it (and without --subtensor.chain_endpoint) the
    /// embedded local chain is used.
    #[arg(
        long = "subtensor.network",
        env = "BT_SUBTENSOR_NETWORK",
        value_name = "NETWORK"
    )]
    pub network: Option<String>,
    /// The node's URL (ws://, wss://, http://, https://); overrides --subtensor.network, as in
    /// bittensor.
    #[arg(
        long = "subtensor.chain_endpoint",
        env = "BT_SUBTENSOR_CHAIN_ENDPOINT",
        value_name = "URL"
    )]
    pub chain_endpoint: Option<String>,
    /// Follow weight extrinsics until their block is finalized (default: until in a block).
    #[arg(long = "wait-for-finalization")]
    pub wait_for_finalization: bool,
}

impl SubtensorArg {
    /// The subtensor node these flags name, if any.
    pub fn subtensor(&self) -> anyhow::Result<Option<SubtensorChain>> {
        let network = resi_chain::Network::from_flags(
            self.network.as_deref(),
            self.chain_endpoint.as_deref(),
        )
        .context("--subtensor.network / --subtensor.chain_endpoint")?;
        let wait = if self.wait_for_finalization {
            resi_chain::Wait::Finalized
        } else {
            resi_chain::Wait::InBlock
        };
        network
            .map(|n| Ok(SubtensorChain::new(n)?.with_wait(wait)))
            .transpose()
    }

    /// The chain: the subtensor node when one is named, else the local chain database at
    /// `local` (named by `flag` in errors).
    pub fn open(&self, local: &Path, flag: &str) -> anyhow::Result<AnyChain> {
        Ok(match self.subtensor()? {
            Some(chain) => AnyChain::Subtensor(chain),
            None => AnyChain::Local(
                // Its errors name the file: "local chain database PATH: ...".
                LocalChain::open(local).with_context(|| format!("opening {flag}"))?,
            ),
        })
    }
}

/// `--resolve` and `--ca-cert`: where a scraper's connections go, outside its manifest (a local
/// mimic of the real source, a test CA). The component and its allowlist stay as shipped.
#[derive(Debug, Clone, Default, Args)]
pub struct RoutingArgs {
    /// Send a host's connections to IP:PORT instead of what DNS says, like curl's --resolve
    /// (repeatable), e.g. --resolve www.redfin.com=127.0.0.1:8443. TLS still checks the
    /// certificate for HOST.
    #[arg(long = "resolve", value_name = "HOST=IP:PORT")]
    pub resolve: Vec<resi_scraper::gate::HostRoute>,
    /// Also trust the roots in this PEM file (repeatable), e.g. the CA printed by
    /// `resi market --mimic`.
    #[arg(long = "ca-cert", value_name = "PEM")]
    pub ca_cert: Vec<std::path::PathBuf>,
}

impl RoutingArgs {
    /// The routing these flags ask for (reads every `--ca-cert`).
    pub fn routing(&self) -> anyhow::Result<resi_scraper::gate::Routing> {
        let mut roots_pem = Vec::new();
        for path in &self.ca_cert {
            roots_pem.push(
                std::fs::read(path)
                    .with_context(|| format!("--ca-cert {}: cannot read it", path.display()))?,
            );
        }
        Ok(resi_scraper::gate::Routing {
            resolve: self.resolve.clone(),
            roots_pem,
        })
    }
}
