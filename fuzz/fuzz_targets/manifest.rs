#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    resi_fuzz_targets::abort_on_escaping_panic(|| resi_fuzz_targets::manifest(data));
});
