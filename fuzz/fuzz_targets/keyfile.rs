#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    resi_fuzz_targets::keyfile(data);
});
