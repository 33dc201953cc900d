//! The tests of resi-timelock as one test binary (each test binary links the whole dependency
//! tree), a module per topic.

mod commit;
mod fixtures;
mod interop;
mod payload;
mod schedule;

#[test]
fn every_test_file_is_a_module() {
    resi_testkit::assert_every_test_file_is_a_module("host/timelock/tests", "main.rs");
}
