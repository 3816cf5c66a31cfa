//! cargo-fuzz target `capture`: the harness is `sluice_harness::capture` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::capture(data));
