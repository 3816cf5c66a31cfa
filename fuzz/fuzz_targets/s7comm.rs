//! Fuzz target: the s7comm parser and probe fed arbitrary bytes in both directions,
//! split at a point taken from the data, in uneven chunks, with a gap.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sluice_proto::{Direction, Output, Transport};

fuzz_target!(|data: &[u8]| {
    let desc = &sluice_proto::s7comm::DESC;
    let (head, body) = data.split_at(data.len().min(2));
    let at = head.iter().fold(0usize, |a, &b| a * 256 + usize::from(b)) % (body.len() + 1);
    let (to_server, to_client) = body.split_at(at);
    let _ = (desc.probe)(Direction::ToServer, to_server);
    let _ = (desc.probe)(Direction::ToClient, to_client);
    let mut p = (desc.new_parser)(Transport::Tcp);
    let mut out = Vec::new();
    let step = 1 + head.first().map_or(0, |&b| usize::from(b % 61));
    let mut a = to_server.chunks(step);
    let mut b = to_client.chunks(step + 7);
    let mut ts = 0i64;
    loop {
        let (x, y) = (a.next(), b.next());
        if x.is_none() && y.is_none() {
            break;
        }
        ts += 1_000_000_000;
        if let Some(x) = x {
            p.parse(Direction::ToServer, x, ts, &mut out);
        }
        if let Some(y) = y {
            p.parse(Direction::ToClient, y, ts, &mut out);
        }
    }
    p.gap(Direction::ToServer, 10, ts, &mut out);
    p.parse(Direction::ToServer, to_client, ts, &mut out);
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
