//! cargo-fuzz target `telnet`: the harness is `sluice_harness::telnet` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::telnet(data));
