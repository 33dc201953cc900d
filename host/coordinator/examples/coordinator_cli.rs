//! The `resi coordinator` command standalone (`cargo run -p resi-coordinator --example
//! coordinator_cli -- --help`): compiles `host/cli/src/cmd/coordinator.rs` outside the `resi`
//! binary so it is checked and usable before it is wired in.

#[path = "../../cli/src/cmd/coordinator.rs"]
mod coordinator;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "resi-coordinator")]
struct Cli {
    #[command(flatten)]
    args: coordinator::CoordinatorArgs,
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    coordinator::run(Cli::parse().args)
}
