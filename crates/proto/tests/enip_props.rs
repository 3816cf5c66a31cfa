//! Property tests of the EtherNet/IP parser: no panic on arbitrary bytes in arbitrary
//! chunkings, chunking invariance, and encode -> parse round trips.
use proptest::prelude::*;
use sluice_proto::enip::{self, encode, Cip};
use sluice_proto::{Direction, Output, Record, Transport};

fn feed(transport: Transport, pieces: &[(Direction, Vec<u8>)]) -> Vec<Output> {
    let mut p = (enip::DESC.new_parser)(transport);
    let mut out = Vec::new();
    for (d, b) in pieces {
        p.parse(*d, b, 1, &mut out);
    }
    p.finish(2, &mut out);
    out
}

fn chunked(dir: Direction, bytes: &[u8], cuts: &[usize]) -> Vec<(Direction, Vec<u8>)> {
    let mut v = Vec::new();
    let mut pos = 0;
    for &c in cuts {
        let end = (pos + c).min(bytes.len());
        if end > pos {
            v.push((dir, bytes[pos..end].to_vec()));
        }
        pos = end;
    }
    if pos < bytes.len() {
        v.push((dir, bytes[pos..].to_vec()));
    }
    v
}

/// A valid client stream and its server replies, from the encoder.
fn session(tags: &[(String, i32)]) -> (Vec<u8>, Vec<u8>) {
    let mut c = encode::register_session([0; 8]);
    let mut s = encode::message(0x65, 7, 0, [0; 8], &[1, 0, 0, 0]);
    for (i, (tag, v)) in tags.iter().enumerate() {
        let ctx = (i as u64).to_le_bytes();
        let req = encode::unconnected_send(&encode::write_tag_dint(tag, &[*v]), &[1, 0]);
        c.extend(encode::send_rr_data(7, ctx, 0, &req));
        s.extend(encode::send_rr_data(
            7,
            ctx,
            0,
            &encode::response(0x4D, 0, &[], &[]),
        ));
        let rd = encode::read_tag(tag, 1);
        c.extend(encode::send_unit_data(7, 0x100 + i as u32, i as u16, &rd));
        let mut d = 0xC4u16.to_le_bytes().to_vec();
        d.extend_from_slice(&v.to_le_bytes());
        s.extend(encode::send_unit_data(
            7,
            0x200 + i as u32,
            i as u16,
            &encode::response(0x4C, 0, &[], &d),
        ));
    }
    (c, s)
}

fn tag_name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,20}(\\.[A-Za-z_][A-Za-z0-9_]{0,8}){0,2}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        a in proptest::collection::vec(any::<u8>(), 0..600),
        b in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(1usize..64, 0..20),
        udp in any::<bool>(),
    ) {
        let t = if udp { Transport::Udp } else { Transport::Tcp };
        let mut pieces = chunked(Direction::ToServer, &a, &cuts);
        pieces.extend(chunked(Direction::ToClient, &b, &cuts));
        let _ = feed(t, &pieces);
        let _ = enip::probe(Direction::ToServer, &a);
        let _ = Cip::from_request(&a, 0);
        let _ = Cip::from_response(&b);
    }

    #[test]
    fn mutated_sessions_never_panic(
        tags in proptest::collection::vec((tag_name(), any::<i32>()), 1..4),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        cuts in proptest::collection::vec(1usize..40, 0..30),
    ) {
        let (mut c, s) = session(&tags);
        for (at, x) in flips {
            let i = at % c.len();
            c[i] ^= x;
        }
        let mut pieces = chunked(Direction::ToServer, &c, &cuts);
        pieces.extend(chunked(Direction::ToClient, &s, &cuts));
        let _ = feed(Transport::Tcp, &pieces);
    }

    #[test]
    fn chunking_invariance(
        tags in proptest::collection::vec((tag_name(), any::<i32>()), 1..4),
        garbage in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let (mut c, s) = session(&tags);
        c.extend_from_slice(&garbage);
        let whole = feed(Transport::Tcp, &[(Direction::ToServer, c.clone()), (Direction::ToClient, s.clone())]);
        let mut ones: Vec<(Direction, Vec<u8>)> = c.iter().map(|b| (Direction::ToServer, vec![*b])).collect();
        ones.extend(s.iter().map(|b| (Direction::ToClient, vec![*b])));
        prop_assert_eq!(whole, feed(Transport::Tcp, &ones));
    }

    #[test]
    fn write_tag_round_trip(tag in tag_name(), values in proptest::collection::vec(any::<i32>(), 1..10)) {
        let msg = encode::write_tag_dint(&tag, &values);
        let c = Cip::from_request(&msg, 0).unwrap();
        prop_assert_eq!(c.service_name, "write_tag");
        prop_assert_eq!(c.tag.as_deref(), Some(tag.as_str()));
        prop_assert_eq!(c.elements, Some(values.len() as u16));
        let want: Vec<f64> = values.iter().map(|v| f64::from(*v)).collect();
        prop_assert_eq!(&c.values, &want);
        let w = c.written();
        prop_assert_eq!(w.len(), values.len());
    }

    #[test]
    fn session_round_trip(tags in proptest::collection::vec((tag_name(), any::<i32>()), 1..6)) {
        let (c, s) = session(&tags);
        let out = feed(Transport::Tcp, &[(Direction::ToServer, c), (Direction::ToClient, s)]);
        let txns: Vec<_> = out.iter().filter_map(|o| match o {
            Output::Txn(t) => match &t.record { Record::Enip(x) => Some(x), _ => None },
            _ => None,
        }).collect();
        prop_assert!(out.iter().all(|o| !matches!(o, Output::Anomaly(_))));
        prop_assert_eq!(txns.len(), 1 + 2 * tags.len());
        prop_assert!(txns.iter().all(|t| t.request && t.response));
        let written: Vec<(String, f64)> = txns.iter().flat_map(|t| t.written()).collect();
        let want: Vec<(String, f64)> = tags.iter().map(|(t, v)| (t.clone(), f64::from(*v))).collect();
        prop_assert_eq!(written, want);
        let reads: Vec<f64> = txns.iter().filter_map(|t| t.cip.as_deref()).flat_map(|c| c.read_values.clone()).collect();
        prop_assert_eq!(reads, tags.iter().map(|(_, v)| f64::from(*v)).collect::<Vec<_>>());
    }

    #[test]
    fn forward_open_round_trip(o_t in any::<u32>(), t_o in any::<u32>(), serial in any::<u16>(), rpi in any::<u32>(), slot in any::<u8>()) {
        let path = [0x01, slot, 0x20, 0x02, 0x24, 0x01];
        let req = encode::forward_open(0, t_o, serial, rpi, &path);
        let mut c = Cip::from_request(&req, 0).unwrap();
        prop_assert_eq!(c.service_name, "forward_open");
        c.apply_response(&encode::forward_open_reply(o_t, t_o, serial, 1000), 0).unwrap();
        let f = c.forward_open.as_deref().unwrap();
        prop_assert_eq!(f.o_t_connection_id, o_t);
        prop_assert_eq!(f.t_o_connection_id, t_o);
        prop_assert_eq!(f.connection_serial, serial);
        prop_assert_eq!(f.o_t_rpi_us, rpi);
        prop_assert_eq!(f.t_o_size, 0x1F4);
        prop_assert_eq!(f.o_t_type, "point_to_point");
        let want = format!("port 1 link {slot}, class 0x02, instance 1");
        prop_assert_eq!(f.connection_path.as_str(), want.as_str());
    }
}

#[test]
fn udp_list_identity_and_io() {
    let req = encode::message(0x63, 0, 0, [9; 8], &[]);
    let rep = encode::list_identity_reply(
        [9; 8],
        [10, 0, 0, 5],
        47,
        14,
        1234,
        (2, 1),
        0xdeadbeef,
        "CJ2M PLC",
    );
    // Broadcast: the request and each reply travel on different flows.
    let out = feed(Transport::Udp, &[(Direction::ToServer, req)]);
    assert_eq!(out.len(), 1);
    let out = feed(Transport::Udp, &[(Direction::ToClient, rep)]);
    let id = out
        .iter()
        .find_map(|o| match o {
            Output::Identity(i) => Some(i),
            _ => None,
        })
        .unwrap();
    assert_eq!(id.vendor.as_deref(), Some("Omron Corporation"));
    assert_eq!(id.address, Some("10.0.0.5".parse().unwrap()));
    assert_eq!(id.serial.as_deref(), Some("0xdeadbeef"));
    assert!(!out.iter().any(|o| matches!(o, Output::Anomaly(_))));
    // I/O: 3 packets of connection 7, one lost.
    let pieces: Vec<_> = [1u32, 2, 4]
        .iter()
        .map(|s| (Direction::ToServer, encode::io_datagram(7, *s, &[0; 10])))
        .collect();
    let out = feed(Transport::Udp, &pieces);
    assert_eq!(out.len(), 1);
    let Output::Txn(t) = &out[0] else { panic!() };
    let Record::Enip(tx) = &t.record else {
        panic!()
    };
    let io = tx.io.as_deref().unwrap();
    assert_eq!((io.packets, io.bytes, io.lost), (3, 30, 1));
}

#[test]
fn forward_open_teaches_connection_ids() {
    // Forward_Open over SendRRData, then connected messages whose replies carry the
    // T->O id: paired even when two requests share a sequence count.
    let mut c = encode::register_session([0; 8]);
    let mut s = encode::message(0x65, 1, 0, [0; 8], &[1, 0, 0, 0]);
    let fo = encode::forward_open(0, 0xAAAA, 1, 100_000, &[0x20, 0x02, 0x24, 0x01]);
    c.extend(encode::send_rr_data(1, [1; 8], 0, &fo));
    s.extend(encode::send_rr_data(
        1,
        [1; 8],
        0,
        &encode::forward_open_reply(0xBBBB, 0xAAAA, 1, 100_000),
    ));
    let get = encode::request(0x0E, &encode::logical_path(1, 1, Some(7)), &[]);
    c.extend(encode::send_unit_data(1, 0xCCCC, 5, &get));
    c.extend(encode::send_unit_data(1, 0xBBBB, 5, &get));
    s.extend(encode::send_unit_data(
        1,
        0xAAAA,
        5,
        &encode::response(0x0E, 0, &[], b"\x05abcde"),
    ));
    let out = feed(
        Transport::Tcp,
        &[(Direction::ToServer, c), (Direction::ToClient, s)],
    );
    let txns: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Enip(x) => Some(x),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let fo = txns
        .iter()
        .find(|t| t.forward_open_target().is_some())
        .unwrap();
    assert_eq!(fo.forward_open_target(), Some("class 0x02, instance 1"));
    let answered = txns
        .iter()
        .find(|t| t.function_code == 0x70 && t.response)
        .unwrap();
    assert_eq!(answered.connection_id, Some(0xBBBB));
    assert_eq!(answered.response_connection_id, Some(0xAAAA));
}
