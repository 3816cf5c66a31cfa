//! Fuzz target: the ftp parser over both directions of arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sluice_proto::{Direction, Transport};

fuzz_target!(|data: &[u8]| {
    let desc = &sluice_proto::ftp::DESC;
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (a, b) = data.split_at(split);
    let _ = (desc.probe)(Direction::ToServer, a);
    let _ = (desc.probe)(Direction::ToClient, b);
    let mut p = (desc.new_parser)(Transport::Tcp);
    let mut out = Vec::new();
    for (i, chunk) in a.chunks(97).enumerate() {
        p.parse(Direction::ToServer, chunk, i as i64, &mut out);
        if let Some(c) = b.chunks(89).nth(i) {
            p.parse(Direction::ToClient, c, i as i64, &mut out);
        }
    }
    for c in b.chunks(89).skip(a.chunks(97).count()) {
        p.parse(Direction::ToClient, c, 0, &mut out);
    }
    p.gap(Direction::ToClient, 1, 0, &mut out);
    p.parse(Direction::ToClient, a, 0, &mut out);
    p.finish(0, &mut out);
});
