//! `resi chain`: the embedded local chain (`resi chain local ...`: register hotkeys, list the
//! metagraph, show weights history, tune subnet parameters, advance blocks).

use clap::{Args, Subcommand};
use resi_chain::local::{LocalChain, SubnetParams, default_db_path};
use resi_core::keys::PublicKey;
use std::path::PathBuf;
use std::process::ExitCode;

/// Subcommands of `resi chain`.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// The embedded SQLite chain the devnet uses.
    #[command(subcommand)]
    Local(LocalCmd),
}

/// Where the local chain database lives.
#[derive(Debug, Args)]
pub struct DbArg {
    /// Local chain database file (created if missing). Default: $RESI_HOME/local-chain.sqlite,
    /// else ~/.resi/local-chain.sqlite.
    #[arg(long, env = "RESI_CHAIN_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
}

impl DbArg {
    fn open(&self) -> anyhow::Result<LocalChain> {
        let path = self.db.clone().unwrap_or_else(default_db_path);
        Ok(LocalChain::open(path)?)
    }
}

/// Subcommands of `resi chain local`.
#[derive(Debug, Subcommand)]
pub enum LocalCmd {
    /// Register a hotkey on a subnet (creates the subnet with default parameters if needed).
    Register {
        #[command(flatten)]
        db: DbArg,
        /// Subnet id.
        #[arg(long, default_value_t = 46)]
        netuid: u16,
        /// Hotkey SS58 address.
        #[arg(long)]
        hotkey: String,
        /// Grant a validator permit (may set weights).
        #[arg(long)]
        validator: bool,
    },
    /// Print the metagraph: uid, hotkey, validator permit, last update.
    List {
        #[command(flatten)]
        db: DbArg,
        /// Subnet id.
        #[arg(long, default_value_t = 46)]
        netuid: u16,
    },
    /// Print the weights history of a subnet, oldest first.
    Weights {
        #[command(flatten)]
        db: DbArg,
        /// Subnet id.
        #[arg(long, default_value_t = 46)]
        netuid: u16,
    },
    /// Create a subnet or change its parameters, then print them.
    Subnet {
        #[command(flatten)]
        db: DbArg,
        /// Subnet id.
        #[arg(long, default_value_t = 46)]
        netuid: u16,
        /// Blocks between two weight updates of one neuron.
        #[arg(long)]
        rate_limit: Option<u64>,
        /// Minimum weights version key.
        #[arg(long)]
        version_key: Option<u64>,
        /// Require commit-reveal weights (plain set_weights is then rejected).
        #[arg(long)]
        commit_reveal: Option<bool>,
        /// Blocks per epoch.
        #[arg(long)]
        tempo: Option<u16>,
        /// Maximum number of uids.
        #[arg(long)]
        max_uids: Option<u16>,
    },
    /// Print the current block, or move it forward.
    Block {
        #[command(flatten)]
        db: DbArg,
        /// Add this many blocks.
        #[arg(long, default_value_t = 0)]
        advance: u64,
        /// Set seconds per block from now on (0 = blocks move only with --advance).
        #[arg(long)]
        block_secs: Option<u64>,
    },
}

/// Runs a subcommand.
pub fn run(cmd: Cmd) -> anyhow::Result<ExitCode> {
    match cmd {
        Cmd::Local(c) => run_local(c),
    }
}

fn run_local(cmd: LocalCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        LocalCmd::Register {
            db,
            netuid,
            hotkey,
            validator,
        } => {
            let chain = db.open()?;
            let key = PublicKey::from_ss58(&hotkey)?;
            let r = chain.register(netuid, &key, validator)?;
            let what = if r.newly_registered {
                "registered"
            } else {
                "already registered"
            };
            println!(
                "{what}: netuid {netuid} uid {} hotkey {hotkey}{}",
                r.uid,
                if validator { " (validator permit)" } else { "" }
            );
        }
        LocalCmd::List { db, netuid } => {
            let chain = db.open()?;
            let meta = chain.metagraph_now(netuid)?;
            println!(
                "netuid {netuid}  block {}  n {}  rate limit {}  version key {}  commit-reveal {}",
                meta.block,
                meta.n,
                meta.weights_set_rate_limit,
                meta.weights_version_key,
                if meta.commit_reveal_enabled {
                    "on"
                } else {
                    "off"
                }
            );
            println!(
                "{:>5}  {:<48}  {:<6}  {:>11}",
                "UID", "HOTKEY", "PERMIT", "LAST_UPDATE"
            );
            for n in &meta.neurons {
                println!(
                    "{:>5}  {:<48}  {:<6}  {:>11}",
                    n.uid,
                    n.hotkey_ss58(),
                    if n.validator_permit { "yes" } else { "no" },
                    n.last_update
                );
            }
        }
        LocalCmd::Weights { db, netuid } => {
            let chain = db.open()?;
            let history = chain.weights_history(netuid)?;
            if history.is_empty() {
                println!("no weights set on netuid {netuid}");
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:>8}  {:>5}  {:<48}  {:>7}  WEIGHTS (uid:u16)",
                "BLOCK", "UID", "HOTKEY", "VERSION"
            );
            for rec in &history {
                let pairs: Vec<String> = rec
                    .uids
                    .iter()
                    .zip(&rec.weights)
                    .map(|(u, w)| format!("{u}:{w}"))
                    .collect();
                println!(
                    "{:>8}  {:>5}  {:<48}  {:>7}  {}",
                    rec.block,
                    rec.uid,
                    rec.hotkey.to_ss58(),
                    rec.version_key,
                    pairs.join(" ")
                );
            }
        }
        LocalCmd::Subnet {
            db,
            netuid,
            rate_limit,
            version_key,
            commit_reveal,
            tempo,
            max_uids,
        } => {
            let chain = db.open()?;
            let mut params = match chain.subnet_params(netuid) {
                Ok(p) => p,
                Err(resi_chain::ChainError::UnknownNetuid(_)) => SubnetParams::default(),
                Err(e) => return Err(e.into()),
            };
            if let Some(v) = rate_limit {
                params.weights_set_rate_limit = v;
            }
            if let Some(v) = version_key {
                params.weights_version_key = v;
            }
            if let Some(v) = commit_reveal {
                params.commit_reveal_enabled = v;
            }
            if let Some(v) = tempo {
                params.tempo = v;
            }
            if let Some(v) = max_uids {
                params.max_uids = v;
            }
            chain.set_subnet(netuid, &params)?;
            println!(
                "netuid {netuid}: tempo {}  rate limit {}  version key {}  commit-reveal {}  max uids {}",
                params.tempo,
                params.weights_set_rate_limit,
                params.weights_version_key,
                if params.commit_reveal_enabled {
                    "on"
                } else {
                    "off"
                },
                params.max_uids
            );
        }
        LocalCmd::Block {
            db,
            advance,
            block_secs,
        } => {
            let chain = db.open()?;
            if let Some(secs) = block_secs {
                chain.set_block_secs(secs)?;
            }
            let block = if advance > 0 {
                chain.advance(advance)?
            } else {
                chain.block()?
            };
            println!("block {block}  ({} s per block)", chain.block_secs()?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
