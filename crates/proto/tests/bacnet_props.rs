//! Property tests of the BACnet/IP parser: no panic on arbitrary datagrams, encode ->
//! parse round trips, and datagram-order pairing.
use proptest::prelude::*;
use sluice_proto::bacnet::{self, encode, Value};
use sluice_proto::{Direction, Output, Record, Transport};

fn feed(pieces: &[(Direction, Vec<u8>)]) -> Vec<Output> {
    let mut p = (bacnet::DESC.new_parser)(Transport::Udp);
    let mut out = Vec::new();
    for (d, b) in pieces {
        p.parse(*d, b, 1, &mut out);
    }
    p.finish(2, &mut out);
    out
}

fn txns(out: &[Output]) -> Vec<&bacnet::Transaction> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Bacnet(b) => Some(&**b),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_datagrams_never_panic(
        dgrams in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200)), 0..12),
    ) {
        let pieces: Vec<_> = dgrams
            .into_iter()
            .map(|(d, mut b)| {
                // Half of them get a plausible BVLC/NPDU start so the deeper layers run.
                if d && b.len() > 6 {
                    b[0] = 0x81;
                    b[1] = 0x0A;
                    b[4] = 0x01;
                }
                (if d { Direction::ToServer } else { Direction::ToClient }, b)
            })
            .collect();
        for (d, b) in &pieces {
            let _ = bacnet::probe(*d, b);
        }
        let _ = feed(&pieces);
    }

    #[test]
    fn mutated_messages_never_panic(
        inst in 0u32..0x3F_FFFF,
        value in any::<f32>(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut msgs = vec![
            encode::write_property_real(1, encode::oid(2, inst), 85, value, Some(8)),
            encode::read_property_ack(2, encode::oid(8, inst), 77, &encode::app(7, b"\0name")),
            encode::i_am(inst, 1476, 5),
            encode::reinitialize(3, 1, Some("secret")),
        ];
        for (at, x) in flips {
            let m = at % msgs.len();
            let i = (at / 7) % msgs[m].len();
            msgs[m][i] ^= x;
        }
        let pieces: Vec<_> = msgs.into_iter().map(|m| (Direction::ToServer, m)).collect();
        let _ = feed(&pieces);
    }

    #[test]
    fn write_property_round_trip(inst in 0u32..0x3F_FFFF, ty in 0u16..60, prop in 0u32..600, value in -1e6f32..1e6, prio in 1u8..=16, invoke in any::<u8>()) {
        let req = encode::write_property_real(invoke, encode::oid(ty, inst), prop, value, Some(prio));
        prop_assert_eq!(bacnet::probe(Direction::ToServer, &req), sluice_proto::Probe::Match);
        let out = feed(&[(Direction::ToServer, req), (Direction::ToClient, encode::simple_ack(invoke, 15))]);
        let t = txns(&out);
        prop_assert_eq!(t.len(), 1);
        prop_assert!(t[0].request && t[0].response);
        let d = t[0].detail.as_deref().unwrap();
        let o = d.object.unwrap();
        prop_assert_eq!((o.object_type, o.instance), (ty, inst));
        let p = &d.properties[0];
        prop_assert_eq!(p.property, prop);
        prop_assert_eq!(p.priority, Some(prio));
        prop_assert_eq!(&p.values, &vec![Value::Real(value)]);
        let w = t[0].written();
        prop_assert_eq!(w.len(), 1);
        prop_assert_eq!(w[0].1, f64::from(value));
    }

    #[test]
    fn read_property_round_trip(inst in 0u32..0x3F_FFFF, name in "[ -~]{0,40}", invoke in any::<u8>()) {
        let mut s = vec![0u8];
        s.extend_from_slice(name.as_bytes());
        let out = feed(&[
            (Direction::ToServer, encode::read_property(invoke, encode::oid(8, inst), 77)),
            (Direction::ToClient, encode::read_property_ack(invoke, encode::oid(8, inst), 77, &encode::app(7, &s))),
        ]);
        let t = txns(&out);
        prop_assert_eq!(t.len(), 1);
        let p = &t[0].detail.as_deref().unwrap().properties[0];
        prop_assert_eq!(&p.values, &vec![Value::CharacterString(name.clone())]);
        let id = out.iter().find_map(|o| match o { Output::Identity(i) => Some(i), _ => None });
        if name.trim().is_empty() {
            prop_assert!(id.is_none());
        } else {
            prop_assert_eq!(id.unwrap().name.as_deref(), Some(name.trim()));
        }
    }

    #[test]
    fn who_is_i_am_round_trip(lo in any::<u32>(), hi in any::<u32>(), dev in 0u32..0x3F_FFFF, vendor in any::<u16>()) {
        let (lo, hi) = (lo & 0x3F_FFFF, hi & 0x3F_FFFF);
        let out = feed(&[
            (Direction::ToServer, encode::who_is(Some((lo, hi)))),
            (Direction::ToClient, encode::i_am(dev, 1476, vendor)),
        ]);
        let t = txns(&out);
        prop_assert_eq!(t.len(), 2);
        let w = t[0].detail.as_deref().unwrap();
        prop_assert_eq!((w.low_limit, w.high_limit), (Some(lo), Some(hi)));
        let i = t[1].detail.as_deref().unwrap();
        prop_assert_eq!(i.device.unwrap().instance, dev);
        prop_assert_eq!(i.vendor_id, Some(u32::from(vendor)));
    }
}

#[test]
fn interleaved_invoke_ids_pair_by_direction() {
    // Both ends are clients of each other with the same invoke id.
    let a = encode::read_property(5, encode::oid(0, 1), 85);
    let b = encode::read_property(5, encode::oid(0, 2), 85);
    let real = |v: f32| encode::app(4, &v.to_be_bytes());
    let out = feed(&[
        (Direction::ToServer, a),
        (Direction::ToClient, b),
        (
            Direction::ToServer,
            encode::read_property_ack(5, encode::oid(0, 2), 85, &real(2.0)),
        ),
        (
            Direction::ToClient,
            encode::read_property_ack(5, encode::oid(0, 1), 85, &real(1.0)),
        ),
    ]);
    let t = txns(&out);
    assert_eq!(t.len(), 2);
    for x in t {
        let d = x.detail.as_deref().unwrap();
        let want = f32::from(u8::try_from(d.object.unwrap().instance).unwrap());
        assert_eq!(d.properties[0].values, vec![Value::Real(want)]);
    }
    assert!(!out.iter().any(|o| matches!(o, Output::Anomaly(_))));
}

#[test]
fn password_is_never_recorded() {
    let out = feed(&[(
        Direction::ToServer,
        encode::reinitialize(9, 0, Some("hunter2")),
    )]);
    let t = txns(&out);
    assert!(t[0].detail.as_deref().unwrap().password_present);
    let json = serde_json::to_string(&Record::Bacnet(Box::new(t[0].clone()))).unwrap();
    assert!(!json.contains("hunter2"));
    assert!(t[0].is_reinitialize());
}
