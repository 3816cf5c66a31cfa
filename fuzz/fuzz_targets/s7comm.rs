//! cargo-fuzz target `s7comm`: the harness is `sluice_harness::s7comm` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::s7comm(data));
