//! cargo-fuzz target `capture_gzip`: the harness is `sluice_harness::capture_gzip` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::capture_gzip(data));
