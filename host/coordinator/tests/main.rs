//! The integration tests of resi-coordinator as one test binary (each test binary links the whole
//! dependency tree; link time is CI time), a module per topic.

mod api;
mod common;
mod hardening;
mod metrics;
mod openapi;
mod selection;

#[test]
fn every_test_file_is_a_module() {
    resi_testkit::assert_every_test_file_is_a_module("host/coordinator/tests", "main.rs");
}
