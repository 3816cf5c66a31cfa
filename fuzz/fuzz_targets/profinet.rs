//! cargo-fuzz target `profinet`: the harness is `sluice_harness::profinet` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::profinet(data));
