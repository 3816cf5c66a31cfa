//! cargo-fuzz target `rdp`: the harness is `sluice_harness::rdp` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::rdp(data));
