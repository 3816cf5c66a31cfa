//! cargo-fuzz target `tls`: the harness is `sluice_harness::tls` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::tls(data));
