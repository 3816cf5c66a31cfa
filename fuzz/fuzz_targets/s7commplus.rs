//! cargo-fuzz target `s7commplus`: the harness is `sluice_harness::s7commplus` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::s7commplus(data));
