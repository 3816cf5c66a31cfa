//! Property tests of the DNP3 parser: no panic on arbitrary input and chunking,
//! encode -> parse round trips, chunking invariance.
use proptest::prelude::*;
use sluice_proto::dnp3::encode::{self, CrobSpec, Fragment};
use sluice_proto::dnp3::{self, app, link, Transaction, Value};
use sluice_proto::{Direction, Output, Record, Transport};

fn run_chunks(transport: Transport, chunks: &[(bool, Vec<u8>)], gaps: &[usize]) -> Vec<Output> {
    let mut p = (dnp3::DESC.new_parser)(transport);
    let mut out = Vec::new();
    for (i, (to_server, c)) in chunks.iter().enumerate() {
        let d = if *to_server {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        if gaps.contains(&i) {
            p.gap(d, 10, 0, &mut out);
        }
        p.parse(d, c, 0, &mut out);
    }
    p.finish(0, &mut out);
    out
}

/// Split `data` at the given cut points (taken modulo its length).
fn split(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    if data.is_empty() {
        return vec![];
    }
    let mut c: Vec<usize> = cuts.iter().map(|x| x % data.len()).collect();
    c.push(0);
    c.push(data.len());
    c.sort_unstable();
    c.dedup();
    c.windows(2).map(|w| data[w[0]..w[1]].to_vec()).collect()
}

fn txns(out: &[Output]) -> Vec<Transaction> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Dnp3(d) => Some(std::borrow::Borrow::<Transaction>::borrow(d).clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// A valid fragment from a small menu, as (from_master, fragment).
fn fragment() -> impl Strategy<Value = (bool, Vec<u8>)> {
    prop_oneof![
        (0u8..16).prop_map(|s| (true, encode::read_class0123(s))),
        (0u8..16, any::<u16>(), 0u8..5, any::<u32>()).prop_map(|(s, i, op, t)| {
            let c = CrobSpec {
                control_code: op,
                count: 1,
                on_time_ms: t,
                off_time_ms: t / 2,
                status: 0,
            };
            (true, Fragment::request(3 + s % 3, s).crob(i, c).build())
        }),
        (0u8..16, any::<u16>(), any::<i32>()).prop_map(|(s, i, v)| (
            true,
            Fragment::request(5, s).analog_output_i32(i, v).build()
        )),
        (
            0u8..16,
            any::<u16>(),
            proptest::collection::vec(any::<i32>(), 1..120)
        )
            .prop_map(|(s, iin, vals)| {
                let mut data = Vec::new();
                for v in &vals {
                    data.push(0x01);
                    data.extend_from_slice(&v.to_le_bytes());
                }
                let stop = u16::try_from(vals.len() - 1).unwrap();
                (
                    false,
                    Fragment::response(129, s, iin)
                        .range16(30, 1, 0, stop)
                        .raw(&data)
                        .build(),
                )
            }),
        (0u8..16).prop_map(|s| (false, Fragment::response(130, s, 0x8000).build())),
        (0u8..16).prop_map(|s| (true, Fragment::request(0, s).build())),
        "[ -~]{0,40}".prop_map(|name| (
            false,
            Fragment::response(129, 1, 0)
                .attribute_string(252, &name)
                .build()
        )),
    ]
}

fn stream() -> impl Strategy<Value = Vec<(bool, Vec<u8>)>> {
    proptest::collection::vec(
        prop_oneof![
            4 => fragment().prop_map(|(m, f)| {
                let bytes = if m {
                    encode::frames(true, 10, 1, 0, &f)
                } else {
                    encode::frames(false, 1, 10, 0, &f)
                };
                (m, bytes)
            }),
            1 => (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..30)),
            1 => any::<bool>().prop_map(|m| (m, encode::link_only(if m { 0xC9 } else { 0x0B }, if m { 10 } else { 1 }, if m { 1 } else { 10 }))),
        ],
        0..12,
    )
}

/// 256 cases by default (fast CI); `PROPTEST_CASES` raises it for a long run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(
        chunks in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..400)), 0..8),
        gaps in proptest::collection::vec(0usize..8, 0..3),
    ) {
        run_chunks(Transport::Tcp, &chunks, &gaps);
        run_chunks(Transport::Udp, &chunks, &gaps);
    }

    #[test]
    fn frames_with_valid_crcs_never_panic(
        frags in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..600)), 0..6),
    ) {
        // Arbitrary application octets behind valid link/transport framing reach the
        // object decoder.
        let mut chunks = Vec::new();
        for (m, f) in &frags {
            chunks.push((*m, encode::frames(*m, 3, 4, 0, f)));
        }
        run_chunks(Transport::Tcp, &chunks, &[]);
    }

    #[test]
    fn object_decoder_never_panics(fc in any::<u8>(), resp in any::<bool>(), body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let o = app::parse_objects(fc, resp, &body);
        prop_assert!(o.points.len() <= app::MAX_POINTS);
        let _ = app::parse_header(&body);
        let mut buf = [0u8; link::MAX_USER_DATA];
        let _ = link::parse_frame(&body, &mut buf);
        let _ = dnp3::probe(Direction::ToServer, &body);
    }

    #[test]
    fn chunking_invariance(s in stream(), cuts in proptest::collection::vec(any::<usize>(), 0..20)) {
        // Per direction in order: whole messages vs arbitrary splits vs single octets.
        // Compared as Debug text: a float object decoded from random bytes can be NaN,
        // which is not equal to itself.
        let text = |o: Vec<Output>| format!("{o:?}");
        let whole = text(run_chunks(Transport::Tcp, &s, &[]));
        let mut by_cut = Vec::new();
        let mut by_byte = Vec::new();
        for (m, b) in &s {
            for c in split(b, &cuts) {
                by_cut.push((*m, c));
            }
            for x in b {
                by_byte.push((*m, vec![*x]));
            }
        }
        prop_assert_eq!(&whole, &text(run_chunks(Transport::Tcp, &by_cut, &[])));
        prop_assert_eq!(&whole, &text(run_chunks(Transport::Tcp, &by_byte, &[])));
    }

    #[test]
    fn crob_round_trip(seq in 0u8..16, index in any::<u16>(), code in any::<u8>(), count in any::<u8>(), on in any::<u32>(), off in any::<u32>()) {
        let c = CrobSpec { control_code: code, count, on_time_ms: on, off_time_ms: off, status: 0 };
        let f = encode::direct_operate_crob(seq, index, c);
        let out = run_chunks(Transport::Tcp, &[(true, encode::frames(true, 10, 1, seq, &f))], &[]);
        let t = txns(&out);
        prop_assert_eq!(t.len(), 1);
        let t = &t[0];
        prop_assert_eq!(t.function_code, 5);
        prop_assert_eq!(t.sequence, Some(seq));
        prop_assert_eq!((t.source, t.destination), (1, 10));
        let p = &t.points[0];
        let crob = p.crob.as_ref().unwrap();
        prop_assert_eq!(p.index, u32::from(index));
        prop_assert_eq!((crob.control_code, crob.count, crob.on_time_ms, crob.off_time_ms), (code, count, on, off));
        prop_assert_eq!(t.objects[0].name.to_string(), "g12v1 crob");
    }

    #[test]
    fn analog_round_trip(seq in 0u8..16, index in any::<u16>(), v in any::<i16>(), w in any::<i32>(), x in -1e6f32..1e6, y in -1e12f64..1e12) {
        let frags = [
            Fragment::request(5, seq).analog_output_i16(index, v).build(),
            Fragment::request(5, seq).analog_output_i32(index, w).build(),
            Fragment::request(5, seq).analog_output_f32(index, x).build(),
            Fragment::request(5, seq).analog_output_f64(index, y).build(),
        ];
        let want = [f64::from(v), f64::from(w), f64::from(x), y];
        for (f, want) in frags.iter().zip(want) {
            let out = run_chunks(Transport::Tcp, &[(true, encode::frames(true, 10, 1, 0, f))], &[]);
            let t = txns(&out);
            prop_assert_eq!(t[0].operated_points(), vec![(41, u32::from(index), want)]);
        }
    }

    #[test]
    fn analog_response_round_trip(vals in proptest::collection::vec(any::<i32>(), 1..400), seq in 0u8..16, tseq in 0u8..64) {
        // Up to 2000 octets of objects: many transport segments.
        let mut data = Vec::new();
        for v in &vals {
            data.push(0x01);
            data.extend_from_slice(&v.to_le_bytes());
        }
        let stop = u16::try_from(vals.len() - 1).unwrap();
        let f = Fragment::response(129, seq, 0).range16(30, 1, 0, stop).raw(&data).build();
        let out = run_chunks(Transport::Tcp, &[(false, encode::frames(false, 1, 10, tseq, &f))], &[]);
        let t = txns(&out);
        if f.len() <= 2048 {
            prop_assert_eq!(t.len(), 1);
            let got: Vec<Option<Value>> = t[0].response_points.iter().map(|p| p.value.clone()).collect();
            let want: Vec<Option<Value>> = vals.iter().map(|v| Some(Value::Int(i64::from(*v)))).collect();
            prop_assert_eq!(got, want);
        } else {
            prop_assert!(t.is_empty());
        }
    }
}
