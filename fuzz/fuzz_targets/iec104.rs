//! cargo-fuzz target `iec104`: the harness is `sluice_harness::iec104` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::iec104(data));
