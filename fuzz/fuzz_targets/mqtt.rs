//! cargo-fuzz target `mqtt`: the harness is `sluice_harness::mqtt` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::mqtt(data));
