//! Fuzz target: the EtherNet/IP parser (TCP stream and UDP datagrams) and its probe
//! on arbitrary bytes, split into the two directions at a data-derived point.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sluice_proto::{Direction, Output, Transport};

fuzz_target!(|data: &[u8]| {
    let desc = &sluice_proto::enip::DESC;
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(ctl).wrapping_mul(7) % (rest.len() + 1);
    let (client, server) = rest.split_at(cut);
    let _ = (desc.probe)(Direction::ToServer, client);
    let _ = (desc.probe)(Direction::ToClient, server);
    for transport in [Transport::Tcp, Transport::Udp] {
        let mut p = (desc.new_parser)(transport);
        let mut out = Vec::new();
        let size = 1 + usize::from(ctl % 97);
        let mut ts = 0i64;
        let mut c = client.chunks(size);
        let mut s = server.chunks(size + 3);
        loop {
            let (x, y) = (c.next(), s.next());
            if x.is_none() && y.is_none() {
                break;
            }
            ts += 1_000;
            if let Some(x) = x {
                p.parse(Direction::ToServer, x, ts, &mut out);
            }
            if let Some(y) = y {
                p.parse(Direction::ToClient, y, ts, &mut out);
            }
        }
        p.gap(Direction::ToClient, 5, ts, &mut out);
        p.parse(Direction::ToClient, client, ts, &mut out);
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
    }
});
