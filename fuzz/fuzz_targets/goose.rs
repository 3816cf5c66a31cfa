//! cargo-fuzz target `goose`: the harness is `sluice_harness::goose` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::goose(data));
