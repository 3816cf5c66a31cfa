//! GOOSE properties: no panic on any frame, encode -> parse round trip, and the
//! sequence checks (replay/injection, lost messages, time allowed to live).
use proptest::prelude::*;
use sluice_proto::goose::encode::{encode, GooseMessage};
use sluice_proto::goose::{self, parser};
use sluice_proto::mms::Value;
use sluice_proto::{FrameParser, L2Frame, Output, Record};

fn msg(st: u32, sq: u32) -> GooseMessage {
    GooseMessage {
        appid: 0x3001,
        gocb_ref: "IED1LD0/LLN0$GO$gcb1".into(),
        time_allowed_to_live: 2000,
        dat_set: "IED1LD0/LLN0$DS1".into(),
        go_id: Some("G1".into()),
        t: (1_700_000_000, 0x80_0000, 0x0a),
        st_num: st,
        sq_num: sq,
        simulation: false,
        conf_rev: 3,
        nds_com: false,
        values: vec![
            Value::Boolean(st % 2 == 1),
            Value::BitString("0000000000000".into()),
        ],
    }
}

fn push(p: &mut dyn FrameParser, ts: i64, payload: &[u8], out: &mut Vec<Output>) {
    p.frame(
        &L2Frame {
            ts,
            src_mac: [0x00, 0x0a, 0x0b, 0x0c, 0x0d, 0x01],
            dst_mac: [0x01, 0x0c, 0xcd, 0x01, 0x00, 0x01],
            vlan: 0,
            ethertype: 0x88b8,
            payload,
        },
        out,
    );
}

fn kinds(out: &[Output]) -> Vec<&'static str> {
    out.iter()
        .filter_map(|o| match o {
            Output::Anomaly(a) => Some(a.kind),
            _ => None,
        })
        .collect()
}

#[test]
fn replay_loss_and_ttl_are_flagged() {
    let mut p = (goose::DESC.new_parser)();
    let mut out = Vec::new();
    let ms = 1_000_000i64;
    // state 5: sq 0, 1, 2 every second
    for sq in 0..3 {
        push(
            &mut *p,
            i64::from(sq) * 1000 * ms,
            &encode(&msg(5, sq)),
            &mut out,
        );
    }
    // a new state (6) at once, then sqNum jumps 0 -> 3 (lost messages)
    push(&mut *p, 2100 * ms, &encode(&msg(6, 0)), &mut out);
    push(&mut *p, 2200 * ms, &encode(&msg(6, 3)), &mut out);
    // an old state replayed (stNum 5 again)
    push(&mut *p, 2300 * ms, &encode(&msg(5, 2)), &mut out);
    // 5 s of silence with a 2 s time allowed to live
    push(&mut *p, 7300 * ms, &encode(&msg(5, 3)), &mut out);
    assert_eq!(
        kinds(&out),
        vec![
            "goose_sqnum_gap",
            "goose_stnum_regression",
            "goose_ttl_expired"
        ]
    );
    let states: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Goose(g) => Some((g.st_num, g.state.as_ref().unwrap().st_num_regression)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![(Some(5), false), (Some(6), false), (Some(5), true)]
    );
    out.clear();
    p.finish(0, &mut out);
    let Output::Txn(t) = &out[0] else {
        panic!("summary")
    };
    let Record::Goose(g) = &t.record else {
        panic!()
    };
    let s = g.summary.as_ref().unwrap();
    assert_eq!(
        (
            s.frames,
            s.state_changes,
            s.sq_num_gaps,
            s.st_num_regressions,
            s.ttl_expired
        ),
        (7, 2, 1, 1, 1)
    );
    assert_eq!((t.ts, t.ts_end), (0, Some(7300 * ms)));
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Boolean),
        any::<i64>().prop_map(Value::Integer),
        any::<u64>().prop_map(Value::Unsigned),
        "[01]{1,20}".prop_map(Value::BitString),
        "[ -~]{0,12}".prop_map(Value::VisibleString),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        proptest::collection::vec(inner, 0..3).prop_map(Value::Structure)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn never_panics(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..16)) {
        let mut p = (goose::DESC.new_parser)();
        let mut out = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            // timestamps jumping between the extremes must not overflow
            let ts = if i % 2 == 0 { i64::MIN + i as i64 } else { i64::MAX - i as i64 };
            push(&mut *p, ts, f, &mut out);
            // and the same bytes behind a plausible header
            let mut g = vec![0x30, 0x01, 0, (f.len() + 8) as u8, 0, 0, 0, 0];
            g.extend_from_slice(f);
            push(&mut *p, i as i64, &g, &mut out);
        }
        p.finish(0, &mut out);
    }

    #[test]
    fn mutated_frames_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let mut f = encode(&msg(1, 1));
        for (i, b) in flips {
            let n = f.len();
            f[i % n] = b;
        }
        f.truncate(cut % (f.len() + 1));
        let mut p = (goose::DESC.new_parser)();
        let mut out = Vec::new();
        push(&mut *p, 0, &f, &mut out);
        p.finish(0, &mut out);
    }

    #[test]
    fn encode_parse_round_trip(
        st in any::<u32>(), sq in any::<u32>(), ttl in any::<u32>(), conf in any::<u32>(),
        secs in any::<u32>(), frac in 0u32..0x100_0000, q in any::<u8>(),
        gocb in "[A-Za-z0-9/$_]{1,60}", sim in any::<bool>(),
        values in proptest::collection::vec(value_strategy(), 0..10),
    ) {
        let m = GooseMessage {
            appid: 0x3fff, gocb_ref: gocb.clone(), time_allowed_to_live: ttl, dat_set: "DS".into(),
            go_id: None, t: (secs, frac, q), st_num: st, sq_num: sq, simulation: sim,
            conf_rev: conf, nds_com: false, values: values.clone(),
        };
        let bytes = encode(&m);
        let (h, p, short) = parser::parse(&bytes).unwrap();
        prop_assert!(!short);
        prop_assert_eq!(h.appid, 0x3fff);
        prop_assert_eq!(usize::from(h.length), bytes.len());
        prop_assert_eq!(p.gocb_ref.as_deref(), Some(gocb.as_str()));
        prop_assert_eq!((p.st_num, p.sq_num, p.conf_rev), (Some(st), Some(sq), Some(conf)));
        prop_assert_eq!(p.time_allowed_to_live, Some(u64::from(ttl)));
        prop_assert_eq!(p.simulation, Some(sim));
        let t = p.t.unwrap();
        prop_assert_eq!((t.secs, t.fraction, t.quality), (secs, frac, q));
        prop_assert_eq!(p.num_dat_set_entries, Some(values.len() as u32));
        prop_assert_eq!(p.all_data.unwrap().children().count(), values.len());
        prop_assert!(p.missing().is_empty());
    }
}
