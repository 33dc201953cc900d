//! The end-to-end tests over the real `resi` binary, as one test binary (`[[test]] e2e` of
//! host/cli; each test binary links the whole dependency tree and link time is CI time): a
//! module per topic, each file of this folder.

mod chain_cli;
mod component_inspect;
mod deploy;
mod devnet;
mod miner_crash;
mod ops;
mod policy_cli;
mod readme_commands;
mod scraper_project;
mod scraper_test_cli;
mod sources_cli;
mod validator_cli;
mod walkthrough;

#[test]
fn every_test_file_is_a_module() {
    resi_testkit::assert_every_test_file_is_a_module("tests", "e2e.rs");
}
