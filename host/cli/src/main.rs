//! The `resi` command line: one binary for the subnet owner (coordinator), miners and validators,
//! plus tools for scraper and policy authors. Each subcommand lives in its own module under `cmd/`.

mod cmd;
mod config;
mod embedded;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

/// resi: native host for Bittensor Subnet 46 zipcode-based real-estate mining.
///
/// Scrapers (miners' code) and scoring policies (validators' rules) run as WebAssembly
/// components; resi does the networking, hotkey signing, S3, SQLite and chain I/O around them.
/// Logging follows `RUST_LOG` (e.g. `RUST_LOG=resi=debug`); default level is `info`.
#[derive(Debug, Parser)]
#[command(name = "resi", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    /// Log lines as text, or as one JSON object per event (for journald, pm2 or Loki
    /// shippers). Levels follow RUST_LOG.
    #[arg(long, global = true, env = "RESI_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Subnet owner: serve zipcode assignments, upload grants and epoch reveals (SN46 protocol).
    Coordinator(cmd::coordinator::CoordinatorArgs),
    /// Inspect WebAssembly components (scrapers and policies).
    #[command(subcommand)]
    Component(cmd::component::ComponentCmd),
    /// Chain I/O: the embedded local chain and subtensor (metagraph, weights).
    #[command(subcommand)]
    Chain(cmd::chain::Cmd),
    /// Serve the local synthetic listing market (the devnet's and tests' listing source).
    Market(cmd::market::MarketArgs),
    /// Miner: scrape assigned zipcodes with a sandboxed scraper and upload signed submissions.
    #[command(subcommand)]
    Miner(cmd::miner::MinerCmd),
    /// Scoring policies: test against vectors, hash, inspect.
    #[command(subcommand)]
    Policy(cmd::policy::Cmd),
    /// Scraper authors' tools: run a scraper locally under its manifest.
    #[command(subcommand)]
    Scraper(cmd::scraper::ScraperCmd),
    /// Validator: ingest an epoch's submissions, score with the pinned policy, agree, set weights.
    #[command(subcommand)]
    Validator(cmd::validator::Cmd),
    /// Show, sign and verify with a Bittensor hotkey wallet.
    #[command(subcommand)]
    Wallet(cmd::wallet::WalletCmd),
    // Its help (short and long) is DevnetArgs' doc comment.
    Devnet(cmd::devnet::DevnetArgs),
    /// Config files of the long-running roles (coordinator, miner, validator).
    #[command(subcommand)]
    Config(ConfigCmd),
}

/// `resi config` subcommands.
#[derive(Debug, Subcommand)]
enum ConfigCmd {
    /// Print a commented config file of a role with every flag and its default, e.g.
    /// `resi config example miner > /etc/resi/miner.toml`; load it with `--config FILE`
    /// (flags and environment variables override the file).
    Example {
        /// coordinator, miner or validator.
        #[arg(value_parser = ["coordinator", "miner", "validator"])]
        role: String,
    },
}

/// mimalloc: a validator allocates and frees millions of short strings per epoch (every listing
/// field it reads), which glibc's allocator spends a fifth of the epoch's CPU on.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Parses the command line with the role's `--config` file applied (see [`config`]); clap's
/// own errors and `--help` exit the process as usual.
fn parse(argv: Vec<std::ffi::OsString>) -> anyhow::Result<Cli> {
    let argv = config::apply(&Cli::command(), argv)?;
    let matches = Cli::command().get_matches_from(argv);
    Cli::from_arg_matches(&matches).map_err(|e| e.exit())
}

fn main() -> std::process::ExitCode {
    let cli = match parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(err) => {
            eprintln!("error: {err:#}");
            return std::process::ExitCode::from(2);
        }
    };
    // The devnet prints tables; its dozens of services log only warnings unless RUST_LOG says.
    let default_filter = match cli.command {
        Command::Devnet(_) => "warn",
        _ => "info",
    };
    let format = if cli.log_format == "json" {
        resi_ops::LogFormat::Json
    } else {
        resi_ops::LogFormat::Text
    };
    resi_ops::logging::init(format, default_filter);
    let result = match cli.command {
        Command::Config(ConfigCmd::Example { role }) => config::example(&Cli::command(), &role)
            .map(|text| {
                print!("{text}");
                std::process::ExitCode::SUCCESS
            }),
        Command::Component(c) => cmd::component::run(c),
        Command::Coordinator(a) => cmd::coordinator::run(a),
        Command::Wallet(c) => cmd::wallet::run(c),
        Command::Chain(c) => cmd::chain::run(c),
        Command::Market(a) => cmd::market::run(a),
        Command::Miner(c) => cmd::miner::run(c),
        Command::Policy(c) => cmd::policy::run(c),
        Command::Scraper(c) => cmd::scraper::run(c),
        Command::Validator(c) => cmd::validator::run(c),
        Command::Devnet(a) => cmd::devnet::run(a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
