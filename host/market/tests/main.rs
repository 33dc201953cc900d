//! The integration tests of resi-market as one test binary (each test binary links the whole
//! dependency tree, wasmtime included; link time is CI time), a module per topic: the market
//! itself, the market scraper through the sandbox, and each real source's scraper and mimic.

mod market;
mod redfin;
mod scraper;
mod support;
mod zillow_rapidapi;

#[test]
fn every_test_file_is_a_module() {
    resi_testkit::assert_every_test_file_is_a_module("host/market/tests", "main.rs");
}
