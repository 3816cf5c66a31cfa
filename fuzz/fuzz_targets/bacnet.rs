//! Fuzz target: the BACnet/IP parser and probe on arbitrary datagrams: the data is
//! cut into datagrams at data-derived lengths, alternating directions.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sluice_proto::{Direction, Output, Transport};

fuzz_target!(|data: &[u8]| {
    let desc = &sluice_proto::bacnet::DESC;
    let mut p = (desc.new_parser)(Transport::Udp);
    let mut out = Vec::new();
    let mut rest = data;
    let mut ts = 0i64;
    let mut dir = Direction::ToServer;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (dgram, next) = tail.split_at(n);
        let _ = (desc.probe)(dir, dgram);
        ts += 1_000;
        p.parse(dir, dgram, ts, &mut out);
        dir = dir.reverse();
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
