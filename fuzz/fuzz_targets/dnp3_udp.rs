//! cargo-fuzz target `dnp3_udp`: the harness is `sluice_harness::dnp3_udp` (input layout in its docs).
#![no_main]
#![forbid(unsafe_code)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_harness::dnp3_udp(data));
