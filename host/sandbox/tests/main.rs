//! The integration tests of resi-sandbox as one test binary (each test binary links the whole
//! dependency tree; link time is CI time), a module per topic.

mod determinism;
mod policy_sandbox;
mod scraper_sandbox;

#[test]
fn every_test_file_is_a_module() {
    resi_testkit::assert_every_test_file_is_a_module("host/sandbox/tests", "main.rs");
}
