//! The integration tests of resi-miner as one test binary (each test binary links the whole
//! dependency tree; link time is CI time), a module per topic.

mod e2e;
mod e2e_s3;
mod g2_property;

#[test]
fn every_test_file_is_a_module() {
    resi_testkit::assert_every_test_file_is_a_module("host/miner/tests", "main.rs");
}
