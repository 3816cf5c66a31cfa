//! cargo-fuzz target `bacnet`: the harness is `sluice_harness::bacnet` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::bacnet(data));
