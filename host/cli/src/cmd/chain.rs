//! `resi chain`: read a subnet's metagraph and set weights on the embedded local chain or a
//! subtensor node (`resi chain metagraph`, `resi chain set-weights`), and administer the local
//! chain (`resi chain local ...`: register hotkeys, list the metagraph, show weights history,
//! tune subnet parameters, advance blocks).

use super::wallet::WalletArgs;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use resi_chain::local::{LocalChain, SubnetParams, default_db_path};
use resi_chain::{AnyChain, Chain, Metagraph, SubtensorChain};
use resi_core::keys::PublicKey;
use std::path::PathBuf;
use std::process::ExitCode;

/// Subcommands of `resi chain`.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Print a subnet's metagraph (uid, hotkey, permit, last update) and weight-setting rules.
    Metagraph {
        #[command(flatten)]
        target: TargetArgs,
        /// Subnet id.
        #[arg(long, default_value_t = 46)]
        netuid: u16,
    },
    /// Set weights with a wallet hotkey. Float weights are normalized as bittensor does
    /// (max-upscaled to u16, zeros dropped). The chain's checks (registered, permit, version
    /// key, rate limit, commit-reveal) run before anything is sent.
    SetWeights {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        wallet: WalletArgs,
        /// Subnet id.
        #[arg(long, default_value_t = 46)]
        netuid: u16,
        /// Destination uids, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        uids: Vec<u16>,
        /// Weights (non-negative floats), comma-separated, one per uid.
        #[arg(long, value_delimiter = ',', required = true)]
        weights: Vec<f64>,
        /// Weights version key (must be >= the subnet's WeightsVersionKey).
        #[arg(long, default_value_t = 0)]
        version_key: u64,
    },
    /// The embedded SQLite chain the devnet uses.
    #[command(subcommand)]
    Local(LocalCmd),
}

/// Which chain to talk to: a subtensor node if `--subtensor.network` is given, else the embedded
/// local chain at `--db`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Subtensor network: finney, test, archive, local (ws://127.0.0.1:9944) or a ws://, wss://,
    /// http:// or https:// URL (websocket URLs are reached over HTTP on the same port).
    /// Without it, the embedded local chain (--db) is used.
    #[arg(
        long = "subtensor.network",
        env = "BT_SUBTENSOR_NETWORK",
        value_name = "NETWORK"
    )]
    pub network: Option<String>,
    #[command(flatten)]
    pub db: DbArg,
}

impl TargetArgs {
    fn open(&self) -> anyhow::Result<AnyChain> {
        Ok(match &self.network {
            Some(net) => AnyChain::Subtensor(SubtensorChain::connect(net)?),
            None => AnyChain::Local(self.db.open()?),
        })
    }
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
        // Its errors name the file: "local chain database PATH: ...".
        match &self.db {
            Some(path) => LocalChain::open(path).context("opening --db"),
            None => Ok(LocalChain::open(default_db_path())?),
        }
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
        Cmd::Metagraph { target, netuid } => {
            let chain = target.open()?;
            let meta = runtime()?.block_on(chain.metagraph(netuid))?;
            print_metagraph(&meta);
        }
        Cmd::SetWeights {
            target,
            wallet,
            netuid,
            uids,
            weights,
            version_key,
        } => {
            let (uids, weights) =
                resi_core::weights::convert_weights_and_uids_for_emit_f64(&uids, &weights)?;
            if uids.is_empty() {
                anyhow::bail!("all weights are zero: nothing to set");
            }
            let hotkey = wallet.load_hotkey()?;
            let chain = target.open()?;
            let tx = runtime()?.block_on(chain.set_weights(
                netuid,
                &hotkey,
                &uids,
                &weights,
                version_key,
            ))?;
            println!(
                "{} accepted: netuid {} uid {} block {} tx {}",
                tx.call, tx.netuid, tx.uid, tx.block, tx.tx_hash
            );
        }
        Cmd::Local(c) => return run_local(c),
    }
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn print_metagraph(meta: &Metagraph) {
    println!(
        "netuid {}  block {}  n {}  tempo {}  rate limit {}  version key {}  commit-reveal {}",
        meta.netuid,
        meta.block,
        meta.n,
        meta.tempo,
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
            print_metagraph(&chain.metagraph_now(netuid)?);
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
