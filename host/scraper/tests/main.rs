//! The integration tests of resi-scraper as one test binary (each test binary links the whole
//! dependency tree; link time is CI time), a module per topic.

mod gate;
mod hostile_emit;
mod hostile_python;

#[test]
fn every_test_file_is_a_module() {
    resi_testkit::assert_every_test_file_is_a_module("host/scraper/tests", "main.rs");
}
