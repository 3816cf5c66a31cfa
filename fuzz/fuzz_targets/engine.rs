//! The whole pipeline on arbitrary Ethernet frames: decode, flows, reassembly, parsers.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sluice_engine::{Engine, EngineConfig};

fuzz_target!(|data: &[u8]| {
    let mut cfg = EngineConfig::default();
    cfg.flows.max_flows = 64;
    cfg.reassembly_bytes = 1 << 16;
    let mut e = Engine::new(cfg);
    // Frames separated by a 2-byte length; time advances 1 ms per frame.
    let mut rest = data;
    let mut ts = 1_600_000_000_000_000_000i64;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        e.packet(ts, 1, &rest[2..2 + len], len as u32);
        let _ = e.take_events().count();
        ts += 1_000_000;
        rest = &rest[2 + len..];
    }
    e.finish();
    let _ = e.take_events().count();
});
