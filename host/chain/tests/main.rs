//! The integration tests of resi-chain as one test binary (each test binary links the whole
//! dependency tree; link time is CI time), a module per topic.

mod golden_metadata;
mod local_chain;
mod subtensor_rpc;
mod weights_rules;

#[test]
fn every_test_file_is_a_module() {
    resi_testkit::assert_every_test_file_is_a_module("host/chain/tests", "main.rs");
}
