//! cargo-fuzz target `smb`: the harness is `sluice_harness::smb` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::smb(data));
