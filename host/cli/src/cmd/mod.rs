//! One module per `resi` subcommand; each exposes its clap arguments and a `run` function
//! returning the process exit code.

pub mod args;
pub mod chain;
pub mod component;
pub mod coordinator;
pub mod devnet;
pub mod market;
pub mod miner;
pub mod policy;
pub mod s3;
pub mod scraper;
pub mod scraper_project;
pub mod validator;
pub mod wallet;
