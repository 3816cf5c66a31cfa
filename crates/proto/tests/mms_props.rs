//! MMS properties: no panic on any bytes in any chunking, chunking invariance, and
//! encode -> parse round trips through the whole OSI stack.
mod support;
use proptest::prelude::*;
use sluice_proto::mms::iso::{self, enc as ienc};
use sluice_proto::mms::pdu::enc as penc;
use sluice_proto::mms::{self, Transaction, Value};
use sluice_proto::{Direction, Output, Parser, Record};

fn feed(chunks: &[(Direction, Vec<u8>)]) -> Vec<Output> {
    let mut p = (mms::DESC.new_parser)(sluice_proto::Transport::Tcp);
    let mut out = Vec::new();
    for (i, (d, c)) in chunks.iter().enumerate() {
        p.parse(*d, c, i as i64, &mut out);
    }
    p.finish(1_000_000, &mut out);
    out
}

/// Feeds each direction's bytes in pieces of `n` octets (timestamps by message).
fn feed_split(msgs: &[(Direction, Vec<u8>)], n: usize) -> Vec<Output> {
    let mut p = mms::MmsParser::new();
    let mut out = Vec::new();
    for (i, (d, m)) in msgs.iter().enumerate() {
        for c in m.chunks(n.max(1)) {
            p.parse(*d, c, i as i64, &mut out);
        }
    }
    p.finish(1_000_000, &mut out);
    out
}

fn mms_txns(out: &[Output]) -> Vec<Transaction> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Mms(m) => Some((**m).clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// One data-transfer TPKT carrying an MMS PDU (context 3).
fn dt(mms_pdu: &[u8]) -> Vec<u8> {
    ienc::tpkt_dt(&ienc::session_data(&ienc::fully_encoded(3, mms_pdu)), true)
}

/// A whole association: COTP connect, session/presentation/ACSE connect with an
/// initiate (and a password), reads, a write, a report, conclude, release.
fn association() -> Vec<(Direction, Vec<u8>)> {
    use Direction::*;
    let aarq = ienc::aarq(&penc::initiate(false), Some(b"hunter2"));
    let cn = ienc::session_with_user(iso::si::CONNECT, &ienc::cp(&ienc::fully_encoded(1, &aarq)));
    let aare = ienc::aare(&penc::initiate(true), 0);
    let ac = ienc::session_with_user(iso::si::ACCEPT, &ienc::cpa(&ienc::fully_encoded(1, &aare)));
    let rlrq = ienc::session_with_user(
        iso::si::FINISH,
        &ienc::fully_encoded(1, &[0x62, 0x03, 0x80, 0x01, 0x00]),
    );
    let rlre = ienc::session_with_user(
        iso::si::DISCONNECT,
        &ienc::fully_encoded(1, &[0x63, 0x03, 0x80, 0x01, 0x00]),
    );
    vec![
        (ToServer, ienc::tpkt_connect(true)),
        (ToClient, ienc::tpkt_connect(false)),
        (ToServer, ienc::tpkt_dt(&cn, true)),
        (ToClient, ienc::tpkt_dt(&ac, true)),
        (
            ToServer,
            dt(&penc::confirmed_request(
                7,
                &penc::read(&["LD0/LLN0$ST$Mod", "LD0/MMXU1$MX$TotW"]),
            )),
        ),
        (
            ToClient,
            dt(&penc::confirmed_response(
                7,
                &penc::read_response(&[Value::Integer(1), Value::Float(42.5)]),
            )),
        ),
        (
            ToServer,
            dt(&penc::confirmed_request(
                8,
                &penc::write(
                    &["LD0/CSWI1$CO$Pos$Oper"],
                    &[Value::Structure(vec![
                        Value::Boolean(true),
                        Value::Unsigned(3),
                    ])],
                ),
            )),
        ),
        (
            ToClient,
            dt(&penc::confirmed_response(8, &penc::write_response(1))),
        ),
        (
            ToServer,
            dt(&penc::confirmed_request(9, &penc::get_name_list(9, None))),
        ),
        (ToClient, dt(&penc::confirmed_error(9, 7, 3))),
        (
            ToClient,
            dt(&penc::report(
                "LD0/LLN0$BR$brcb01",
                "LD0/LLN0$Events",
                12,
                &[Value::Boolean(true), Value::Integer(-3)],
            )),
        ),
        (
            ToServer,
            dt(&penc::confirmed_request(
                10,
                &penc::identifier_service(39, "Program1"),
            )),
        ),
        (ToServer, dt(&[0x8b, 0x00])),
        (ToClient, dt(&[0x8c, 0x00])),
        (ToServer, ienc::tpkt_dt(&rlrq, true)),
        (ToClient, ienc::tpkt_dt(&rlre, true)),
    ]
}

#[test]
fn synthetic_association_decodes_and_never_stores_the_password() {
    let out = feed(&association());
    let t = mms_txns(&out);
    let names: Vec<_> = t.iter().map(|x| (x.pdu, x.function)).collect();
    assert_eq!(
        names,
        vec![
            ("initiate", "initiate"),
            ("confirmed", "read"),
            ("confirmed", "write"),
            ("confirmed", "get_name_list"),
            ("unconfirmed", "information_report"),
            ("conclude", "conclude"),
            ("release", "release"),
            ("confirmed", "delete_program_invocation"),
        ]
    );
    let a = t[0].details().unwrap().association.as_ref().unwrap();
    assert!(a.password_present);
    assert_eq!(a.authentication_mechanism.as_deref(), Some("2.2.3.1"));
    assert_eq!(a.result, Some("accepted"));
    let json = serde_json::to_string(&t).unwrap();
    assert!(!json.contains("hunter2"), "password leaked: {json}");
    assert_eq!(t[1].variables, vec!["LD0/LLN0$ST$Mod", "LD0/MMXU1$MX$TotW"]);
    assert_eq!(t[1].values, vec![Value::Integer(1), Value::Float(42.5)]);
    assert_eq!(
        t[2].written(),
        vec![
            ("LD0/CSWI1$CO$Pos$Oper[0]".to_string(), 1.0),
            ("LD0/CSWI1$CO$Pos$Oper[1]".to_string(), 3.0)
        ]
    );
    assert_eq!(t[2].details().unwrap().results, vec!["success"]);
    assert_eq!(t[3].object_class, Some("domain"));
    let e = t[3].details().unwrap().error.as_ref().unwrap();
    assert_eq!(
        (e.class, e.code_name),
        ("access", Some("object_access_denied"))
    );
    let r = t[4].details().unwrap().report.as_ref().unwrap();
    assert_eq!(r.rpt_id.as_deref(), Some("LD0/LLN0$BR$brcb01"));
    assert_eq!(r.dataset.as_deref(), Some("LD0/LLN0$Events"));
    assert_eq!((r.seq_num, r.entries), (Some(12), 2));
    assert_eq!(t[4].values, vec![Value::Boolean(true), Value::Integer(-3)]);
    assert!(t[5].request && t[5].response);
    assert_eq!(
        t[6].details().unwrap().association.as_ref().unwrap().result,
        Some("released")
    );
    // the unanswered delete comes out at the end
    assert!(!t[7].response);
    assert_eq!(t[7].object.as_deref(), Some("Program1"));
    assert!(
        out.iter().all(|o| !matches!(o, Output::Anomaly(_))),
        "{out:?}"
    );
}

#[test]
fn chunking_invariance_synthetic_and_real() {
    let msgs = association();
    let whole = feed_split(&msgs, usize::MAX);
    for n in [1, 2, 3, 7, 64] {
        assert_eq!(feed_split(&msgs, n), whole, "chunks of {n}");
    }
    // Real flows: whole pieces vs one-octet pieces.
    let Some(dir) = support::shared_data() else {
        return;
    };
    for name in [
        "mms-iti-session-8d7c7db0.pcap",
        "iec61850-iti-sample-mms-and-goose.pcap",
        "mms-iti-start-request.pcap",
        "mms-iti-piccolo.pcap",
    ] {
        let p = dir.join("pcaps/iec61850-mms").join(name);
        for f in support::flows(&p, mms::DESC.ports) {
            let msgs: Vec<(Direction, Vec<u8>)> = f
                .pieces
                .iter()
                .filter_map(|pc| match pc {
                    support::Piece::Data(d, _, b) => Some((*d, b.clone())),
                    _ => None,
                })
                .collect();
            assert_eq!(
                feed_split(&msgs, 1),
                feed_split(&msgs, usize::MAX),
                "{name}"
            );
        }
    }
}

fn name_strategy() -> impl Strategy<Value = String> {
    (
        "[A-Z][A-Za-z0-9]{0,10}",
        proptest::option::of("[A-Za-z0-9$_]{1,30}"),
    )
        .prop_map(|(d, i)| match i {
            Some(i) => format!("{d}/{i}"),
            None => d,
        })
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Boolean),
        any::<i64>().prop_map(Value::Integer),
        any::<u64>().prop_map(Value::Unsigned),
        (-1.0e6f32..1.0e6f32).prop_map(|f| Value::Float(f64::from(f))),
        "[ -~]{0,20}".prop_map(Value::VisibleString),
        "[01]{1,40}".prop_map(Value::BitString),
        proptest::collection::vec(any::<u8>(), 0..16)
            .prop_map(|b| Value::OctetString(b.iter().map(|x| format!("{x:02x}")).collect())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Structure),
            proptest::collection::vec(inner, 0..4).prop_map(Value::Array),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_bytes(
        chunks in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..12)
    ) {
        let chunks: Vec<_> = chunks
            .into_iter()
            .map(|(b, c)| (if b { Direction::ToServer } else { Direction::ToClient }, c))
            .collect();
        let _ = feed(&chunks);
        for (d, c) in &chunks {
            let _ = (mms::DESC.probe)(*d, c);
        }
    }

    #[test]
    fn never_panics_on_mutated_associations(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut msgs = association();
        for (i, b) in flips {
            let m = i % msgs.len();
            let len = msgs[m].1.len();
            let pos = (i / msgs.len()) % len;
            msgs[m].1[pos] = b;
        }
        let m = cut % msgs.len();
        let keep = (cut / msgs.len()) % (msgs[m].1.len() + 1);
        msgs[m].1.truncate(keep);
        let _ = feed(&msgs);
        let _ = feed_split(&msgs, 1 + cut % 5);
    }

    #[test]
    fn read_and_write_round_trip(
        names in proptest::collection::vec(name_strategy(), 1..6),
        values in proptest::collection::vec(value_strategy(), 1..6),
        invoke in any::<u32>(),
    ) {
        let read = feed(&[
            (Direction::ToServer, dt(&penc::confirmed_request(invoke, &penc::read(&names.iter().map(String::as_str).collect::<Vec<_>>())))),
            (Direction::ToClient, dt(&penc::confirmed_response(invoke, &penc::read_response(&values)))),
        ]);
        let t = mms_txns(&read);
        prop_assert_eq!(t.len(), 1);
        prop_assert_eq!(&t[0].variables, &names);
        prop_assert_eq!(&t[0].values, &values);
        prop_assert_eq!(t[0].invoke_id, Some(invoke));
        let write = feed(&[(
            Direction::ToServer,
            dt(&penc::confirmed_request(invoke, &penc::write(&names.iter().map(String::as_str).collect::<Vec<_>>(), &values))),
        )]);
        let t = mms_txns(&write);
        prop_assert_eq!(t.len(), 1);
        prop_assert_eq!(t[0].function, "write");
        prop_assert_eq!(&t[0].values, &values);
        prop_assert!(serde_json::to_string(&t[0]).is_ok());
    }
}
