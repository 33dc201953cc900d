//! The integration tests of resi-core as one test binary (each test binary links the whole
//! dependency tree; link time is CI time), a module per topic.

mod interop;
mod vectors;
mod wallet;
mod wallet_limits;

#[test]
fn every_test_file_is_a_module() {
    resi_testkit::assert_every_test_file_is_a_module("host/core/tests", "main.rs");
}
