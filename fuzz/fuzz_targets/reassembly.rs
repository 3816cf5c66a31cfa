//! TCP reassembly fed arbitrary segment sequences: never panics, stays within its budget.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sluice_flow::{Budget, TcpStream};

fuzz_target!(|data: &[u8]| {
    let mut s = TcpStream::new();
    let mut b = Budget::new(64 * 1024);
    let mut rest = data;
    // Each segment: seq (4 bytes), flags (1), length (1), payload.
    while rest.len() >= 6 {
        let seq = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let flags = rest[4];
        let len = usize::from(rest[5]).min(rest.len() - 6);
        let payload = &rest[6..6 + len];
        if flags & 0x80 != 0 {
            s.acked(seq, &mut b, &mut |_| {});
        } else {
            s.segment(seq, flags & 1 != 0, flags & 2 != 0, payload, &mut b, &mut |_| {});
        }
        assert!(b.used <= b.cap);
        rest = &rest[6 + len..];
    }
    s.flush(&mut b, &mut |_| {});
    assert_eq!(b.used, 0);
});
