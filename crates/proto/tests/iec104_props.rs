//! Property tests of the IEC 104 parser: no panic on arbitrary bytes in arbitrary
//! chunkings and gaps, output independent of the chunking, encoded commands and
//! measurements decoding back to what was encoded, the probe total.
use proptest::prelude::*;
use sluice_proto::iec104::{encode as enc, probe, Iec104Parser, Transaction};
use sluice_proto::{Direction, Output, Parser, Record};

fn dir_of(b: bool) -> Direction {
    if b {
        Direction::ToServer
    } else {
        Direction::ToClient
    }
}

fn feed(steps: &[(Direction, Vec<u8>)], chunk: usize) -> Vec<Output> {
    let mut p = Iec104Parser::new();
    let mut out = Vec::new();
    for (i, (dir, data)) in steps.iter().enumerate() {
        let ts = i as i64 * 1_000_000_000;
        if chunk == 0 {
            p.parse(*dir, data, ts, &mut out);
        } else {
            for c in data.chunks(chunk) {
                p.parse(*dir, c, ts, &mut out);
            }
        }
    }
    p.finish(1 << 50, &mut out);
    out
}

fn txns(out: &[Output]) -> Vec<Transaction> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Iec104(x) => Some((**x).clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Well-formed APDUs or noise.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop_oneof![
            Just(0x07u8),
            Just(0x0B),
            Just(0x13),
            Just(0x23),
            Just(0x43),
            Just(0x83)
        ]
        .prop_map(enc::u_frame),
        any::<u16>().prop_map(|r| enc::s_frame(r & 0x7FFF)),
        (
            any::<u16>(),
            1u32..10,
            any::<bool>(),
            any::<bool>(),
            prop_oneof![Just(6u8), Just(7), Just(10), Just(47)]
        )
            .prop_map(|(s, a, on, sel, cot)| enc::i_frame(
                s & 0x7FFF,
                0,
                &enc::asdu(
                    45,
                    false,
                    1,
                    cot,
                    false,
                    0,
                    1,
                    &enc::single_command(a, on, sel, 0)
                )
            )),
        (
            any::<u16>(),
            prop::collection::vec(any::<f32>(), 1..8),
            any::<u8>()
        )
            .prop_map(|(s, v, q)| {
                let objs: Vec<u8> = v
                    .iter()
                    .enumerate()
                    .flat_map(|(i, x)| enc::float_measurement(100 + i as u32, *x, q))
                    .collect();
                enc::i_frame(
                    s & 0x7FFF,
                    0,
                    &enc::asdu(13, false, v.len() as u8, 3, false, 0, 7, &objs),
                )
            }),
        (
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..30)
        )
            .prop_map(|(t, vsq, body)| enc::i_frame(
                0,
                0,
                &enc::asdu(t, vsq & 0x80 != 0, vsq, 3, false, 0, 1, &body)
            )),
        prop::collection::vec(any::<u8>(), 0..30),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_arbitrary_bytes(
        steps in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..300), 0usize..7, any::<bool>()), 0..10)
    ) {
        let mut p = Iec104Parser::new();
        let mut out = Vec::new();
        for (d, data, chunk, gap) in &steps {
            let dir = dir_of(*d);
            if *gap {
                p.gap(dir, 5, 1, &mut out);
            }
            for c in data.chunks((*chunk).max(1)) {
                p.parse(dir, c, 1, &mut out);
            }
            let _ = probe(dir, data);
        }
        p.finish(2, &mut out);
    }

    #[test]
    fn never_panics_on_framed_garbage(steps in prop::collection::vec((any::<bool>(), piece()), 0..20)) {
        let steps: Vec<(Direction, Vec<u8>)> = steps.into_iter().map(|(d, b)| (dir_of(d), b)).collect();
        for o in feed(&steps, 0) {
            if let Output::Txn(t) = o {
                let _ = serde_json::to_string(&t.record).unwrap();
            }
        }
    }

    #[test]
    fn chunking_does_not_matter(steps in prop::collection::vec((any::<bool>(), piece()), 0..16), chunk in 1usize..11) {
        let steps: Vec<(Direction, Vec<u8>)> = steps.into_iter().map(|(d, b)| (dir_of(d), b)).collect();
        // Compared as text: a float point may decode to NaN, which is not equal to itself.
        let whole = format!("{:?}", feed(&steps, 0));
        prop_assert_eq!(&whole, &format!("{:?}", feed(&steps, 1)));
        prop_assert_eq!(&whole, &format!("{:?}", feed(&steps, chunk)));
    }

    #[test]
    fn setpoint_round_trip(ca in any::<u16>(), ioa in 0u32..0x00FF_FFFF, v in -1.0e6f32..1.0e6, select in any::<bool>()) {
        let act = enc::i_frame(0, 0, &enc::asdu(50, false, 1, 6, false, 0, ca, &enc::float_setpoint(ioa, v, select)));
        let con = enc::i_frame(0, 1, &enc::asdu(50, false, 1, 7, false, 0, ca, &enc::float_setpoint(ioa, v, select)));
        let term = enc::i_frame(1, 1, &enc::asdu(50, false, 1, 10, false, 0, ca, &enc::float_setpoint(ioa, v, select)));
        let mut steps = vec![(Direction::ToServer, act), (Direction::ToClient, con)];
        if !select {
            steps.push((Direction::ToClient, term));
        }
        let out = feed(&steps, 0);
        prop_assert!(out.iter().all(|o| matches!(o, Output::Txn(_))), "{:?}", out);
        let t = txns(&out);
        prop_assert_eq!(t.len(), 1);
        let t = &t[0];
        prop_assert_eq!(t.common_address, Some(ca));
        prop_assert_eq!(t.objects[0].ioa, ioa);
        prop_assert_eq!(t.objects[0].value, Some(f64::from(v)));
        prop_assert_eq!(t.objects[0].select, Some(select));
        prop_assert_eq!(t.response_cot, Some(7));
        prop_assert_eq!(t.terminated, !select);
        if select {
            prop_assert!(t.written().is_empty());
        } else {
            prop_assert_eq!(t.written(), vec![(format!("{ca}:{ioa}"), f64::from(v))]);
        }
    }

    #[test]
    fn measurement_round_trip(values in prop::collection::vec((any::<f32>(), prop_oneof![Just(0u8), Just(0x80), Just(0x01), Just(0x90)]), 1..70)) {
        let objs: Vec<u8> = values.iter().enumerate().flat_map(|(i, (x, q))| enc::float_measurement(i as u32, *x, *q)).collect();
        let apdu = enc::i_frame(0, 0, &enc::asdu(13, false, values.len() as u8, 3, false, 0, 9, &objs));
        prop_assume!(apdu.len() <= 255);
        let t = txns(&feed(&[(Direction::ToClient, apdu)], 0));
        prop_assert_eq!(t.len(), 1);
        let t = &t[0];
        prop_assert_eq!(t.objects.len(), values.len().min(64));
        prop_assert_eq!(t.truncated, values.len() > 64);
        for (o, (x, q)) in t.objects.iter().zip(&values) {
            let got = o.value.unwrap();
            prop_assert!(got == f64::from(*x) || (got.is_nan() && x.is_nan()));
            prop_assert_eq!(o.quality.0, *q);
        }
    }
}
