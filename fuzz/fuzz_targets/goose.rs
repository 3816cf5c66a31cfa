//! Fuzz target: the goose layer-2 frame parser fed frames cut from the data at
//! data-derived lengths, from two source MACs, then finished.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sluice_proto::{L2Frame, Output};

fuzz_target!(|data: &[u8]| {
    let mut p = (sluice_proto::goose::DESC.new_parser)();
    let mut out = Vec::new();
    let mut rest = data;
    let mut ts = 0i64;
    while let Some((&n, tail)) = rest.split_first() {
        let take = usize::from(n).min(tail.len());
        let (frame, next) = tail.split_at(take);
        ts += i64::from(n) * 1_000_000;
        let mut src = [0x00, 0x0a, 0x0b, 0x0c, 0x0d, n & 1];
        src[4] ^= n >> 7;
        p.frame(
            &L2Frame {
                ts,
                src_mac: src,
                dst_mac: [0x01, 0x0c, 0xcd, 0x01, 0x00, 0x01],
                vlan: 0,
                ethertype: 0x88b8,
                payload: frame,
            },
            &mut out,
        );
        rest = next;
    }
    p.finish(ts, &mut out);
    for o in &out {
        if let Output::Txn(t) = o {
            let _ = (
                t.record.function_code(),
                t.record.function(),
                t.record.operation(),
            );
        }
    }
});
