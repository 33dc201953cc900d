//! `resi chain`: read a subnet's metagraph and hyperparameters and set weights on the embedded
//! local chain or a subtensor node (`resi chain metagraph`, `resi chain hyperparameters`,
//! `resi chain set-weights`, with a `--dry-run` that prints a timelocked commit's call),
//! check a commit offline against a drand round signature (`resi chain decrypt-commit`), and
//! administer the local chain (`resi chain local ...`: register hotkeys, list the metagraph,
//! show weights history, tune subnet parameters, advance blocks).

use super::wallet::WalletArgs;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use resi_chain::local::{LocalChain, SubnetParams, default_db_path};
use resi_chain::{AnyChain, Chain, Metagraph};
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
    /// Print a subnet's hyperparameters (weights rules, commit-reveal, epoch schedule).
    ///
    /// Tempo, weights rate limit, commit-reveal (on, reveal period, version, reveal-round
    /// model), weights version key, min allowed weights, max weight limit, block time and the
    /// epoch schedule the reveal round is computed from.
    Hyperparameters {
        #[command(flatten)]
        target: TargetArgs,
        /// Subnet id.
        #[arg(long, default_value_t = 46)]
        netuid: u16,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Set weights with a wallet hotkey (a timelocked commit on commit-reveal subnets).
    ///
    /// Float weights are processed as bittensor's process_weights_for_netuid does (the subnet's MinAllowedWeights and MaxWeightsLimit),
    /// then max-upscaled to u16 with zeros dropped. The chain's checks (registered, permit,
    /// version key, rate limit, lengths) run before anything is sent. On a commit-reveal subnet
    /// the weights are committed timelock-encrypted to the drand round of their reveal, and the
    /// chain reveals them by itself. The extrinsic is followed to its block; a failed dispatch
    /// is reported by its name.
    ///
    /// --dry-run prints the timelocked commit's call hex (for --reveal-round N, or the round the
    /// chain's epoch schedule gives now) without sending it; `resi chain decrypt-commit` then
    /// checks it against drand's published signature of that round.
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
        /// Weights version key (default: the subnet's WeightsVersionKey).
        #[arg(long)]
        version_key: Option<u64>,
        /// Build the timelocked commit and print its call hex; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: encrypt to this drand quicknet round instead of the computed one.
        #[arg(long, requires = "dry_run", value_name = "ROUND")]
        reveal_round: Option<u64>,
    },
    /// Open a timelocked weights commit with a drand round signature (offline).
    ///
    /// Decrypts as the chain does at reveal and prints the hotkey, uids, weights and version
    /// key.
    DecryptCommit {
        /// The commit bytes (hex), or a whole `commit_timelocked_*` call hex as --dry-run prints.
        #[arg(long, value_name = "HEX")]
        commit: String,
        /// The round's BLS signature (48 bytes hex), as drand publishes it
        /// (https://api.drand.sh/52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971/public/ROUND).
        #[arg(long, value_name = "HEX")]
        signature: String,
    },
    /// The embedded SQLite chain the devnet uses.
    #[command(subcommand)]
    Local(LocalCmd),
}

/// Which chain to talk to: a subtensor node if `--subtensor.network` or
/// `--subtensor.chain_endpoint` is given, else the embedded local chain at `--db`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    #[command(flatten)]
    pub subtensor: super::args::SubtensorArg,
    #[command(flatten)]
    pub db: DbArg,
}

impl TargetArgs {
    fn open(&self) -> anyhow::Result<AnyChain> {
        Ok(match self.subtensor.subtensor()? {
            Some(chain) => AnyChain::Subtensor(chain),
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
        Cmd::Hyperparameters {
            target,
            netuid,
            json,
        } => {
            let chain = target.open()?;
            let hp = runtime()?.block_on(chain.hyperparameters(netuid))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&hp)?);
            } else {
                print_hyperparameters(&hp);
            }
        }
        Cmd::SetWeights {
            target,
            wallet,
            netuid,
            uids,
            weights,
            version_key,
            dry_run,
            reveal_round,
        } => {
            let hotkey = wallet.load_hotkey()?;
            let chain = target.open()?;
            let rt = runtime()?;
            let meta = rt.block_on(chain.metagraph(netuid))?;
            let (uids, weights) = resi_core::weights::weights_for_chain(
                &uids,
                &weights,
                meta.n,
                meta.min_allowed_weights,
                meta.max_weights_limit,
            )?;
            if uids.is_empty() {
                anyhow::bail!("all weights are zero: nothing to set");
            }
            let version_key = version_key.unwrap_or(meta.weights_version_key);
            if dry_run {
                let AnyChain::Subtensor(sub) = &chain else {
                    anyhow::bail!(
                        "--dry-run builds a timelocked commit for a subtensor node: give --subtensor.network"
                    );
                };
                let plan = rt.block_on(sub.plan_commit(
                    netuid,
                    &hotkey,
                    &uids,
                    &weights,
                    version_key,
                    reveal_round,
                ))?;
                println!("call          {}", plan.call_name);
                println!("reveal_round  {}", plan.reveal_round);
                if let Some(b) = plan.reveal_block {
                    println!("reveal_block  {b} (predicted)");
                }
                println!("version       {}", plan.commit_reveal_version);
                println!("uids          {uids:?}");
                println!("weights       {weights:?}");
                println!("commit        0x{}", hex::encode(&plan.commit));
                println!("call_hex      0x{}", hex::encode(&plan.call));
                println!("(not sent)");
                return Ok(ExitCode::SUCCESS);
            }
            let tx =
                rt.block_on(chain.set_weights(netuid, &hotkey, &uids, &weights, version_key))?;
            println!(
                "{} accepted: netuid {} uid {} block {} tx {}{}{}",
                tx.call,
                tx.netuid,
                tx.uid,
                tx.block,
                tx.tx_hash,
                if tx.finalized { " (finalized)" } else { "" },
                tx.reveal_round
                    .map(|r| format!(", reveals at drand round {r}"))
                    .unwrap_or_default()
            );
        }
        Cmd::DecryptCommit { commit, signature } => {
            let bytes = parse_hex("--commit", &commit)?;
            let sig = parse_hex("--signature", &signature)?;
            let commit = commit_of(&bytes);
            let p = resi_timelock::decrypt_commit(commit, &sig)
                .context("the commit does not decrypt with this round signature")?;
            println!(
                "hotkey        {}",
                PublicKey::from_bytes(p.hotkey).to_ss58()
            );
            println!("uids          {:?}", p.uids);
            println!("weights       {:?}", p.values);
            println!("version_key   {}", p.version_key);
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

fn parse_hex(flag: &str, s: &str) -> anyhow::Result<Vec<u8>> {
    let t = s.trim();
    let body = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    hex::decode(body).with_context(|| format!("{flag} is not hex"))
}

/// The commit inside a `commit_timelocked_*` call as `--dry-run` prints it, or the bytes as
/// given when they are not such a call.
fn commit_of(bytes: &[u8]) -> &[u8] {
    use parity_scale_codec::{Compact, Decode};
    // pallet, call, netuid (u16), [mecid (u8)], compact length, commit, round (u64), version (u16)
    for header in [5usize, 4] {
        if let Some(mut rest) = bytes.get(header..)
            && let Ok(Compact(len)) = Compact::<u32>::decode(&mut rest)
            && rest.len() == len as usize + 10
        {
            return &rest[..len as usize];
        }
    }
    bytes
}

fn print_hyperparameters(hp: &resi_chain::Hyperparameters) {
    let rows: [(&str, String); 19] = [
        ("netuid", hp.netuid.to_string()),
        ("block", hp.block.to_string()),
        ("tempo", hp.tempo.to_string()),
        ("weights_rate_limit", hp.weights_set_rate_limit.to_string()),
        (
            "commit_reveal_weights_enabled",
            hp.commit_reveal_enabled.to_string(),
        ),
        ("commit_reveal_period", hp.reveal_period_epochs.to_string()),
        (
            "commit_reveal_version",
            hp.commit_reveal_version.to_string(),
        ),
        ("reveal_round_model", hp.reveal_model.clone()),
        ("weights_version", hp.weights_version_key.to_string()),
        ("min_allowed_weights", hp.min_allowed_weights.to_string()),
        (
            "max_weight_limit",
            format!(
                "{} ({:.4})",
                hp.max_weights_limit,
                f64::from(hp.max_weights_limit) / 65535.0
            ),
        ),
        ("subnetwork_n", hp.subnetwork_n.to_string()),
        ("max_allowed_uids", hp.max_allowed_uids.to_string()),
        ("immunity_period", hp.immunity_period.to_string()),
        ("activity_cutoff", hp.activity_cutoff.to_string()),
        ("block_time_secs", hp.block_time_secs.to_string()),
        ("last_epoch_block", hp.last_epoch_block.to_string()),
        ("subnet_epoch_index", hp.subnet_epoch_index.to_string()),
        (
            "blocks_since_last_step",
            hp.blocks_since_last_step.to_string(),
        ),
    ];
    for (name, value) in rows {
        println!("{name:<30} {value}");
    }
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
