//! cargo-fuzz target `ssh`: the harness is `sluice_harness::ssh` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::ssh(data));
