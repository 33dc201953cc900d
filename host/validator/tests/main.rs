//! The integration tests of resi-validator as one test binary (each test binary links the whole
//! dependency tree; link time is CI time), a module per topic.

mod common;
mod e2e_services;
mod hostile;
mod pin_grace;
mod rate_limit;
mod scale;
mod streaming;
mod two_validators;

#[test]
fn every_test_file_is_a_module() {
    resi_testkit::assert_every_test_file_is_a_module("host/validator/tests", "main.rs");
}
