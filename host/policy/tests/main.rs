//! The integration tests of resi-policy as one test binary (each test binary links the whole
//! dependency tree; link time is CI time), a module per topic.

mod common;
mod determinism;
mod runner;
mod streaming;
mod v1_1;
mod vectors;

#[test]
fn every_test_file_is_a_module() {
    resi_testkit::assert_every_test_file_is_a_module("host/policy/tests", "main.rs");
}
