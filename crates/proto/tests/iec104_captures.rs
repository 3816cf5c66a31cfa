//! The IEC 104 parser on real captures (`../shared/data/pcaps/iec104/`,
//! `stacks/iec104.pcap`), values checked with tshark 4.0 (frame numbers given).
mod support;

use sluice_proto::iec104::{Transaction, DESC};
use sluice_proto::{Direction, Operation, Output, ProtoRecord, Record, Txn};

/// Transactions (with their envelopes) and anomaly kinds.
type Run = (Vec<(Txn, Transaction)>, Vec<&'static str>);

fn run(rel: &str) -> Option<Run> {
    let path = support::pcap(rel)?;
    let mut txns = Vec::new();
    let mut kinds = Vec::new();
    for (_, outs) in support::run(&DESC, &path) {
        for o in outs {
            match o {
                Output::Txn(t) => {
                    if let Record::Iec104(x) = &t.record {
                        let x = (**x).clone();
                        txns.push((t, x));
                    }
                }
                Output::Anomaly(a) => kinds.push(a.kind),
                Output::Identity(_) => {}
            }
        }
    }
    Some((txns, kinds))
}

fn of<'a>(txns: &'a [(Txn, Transaction)], f: &str) -> Vec<&'a (Txn, Transaction)> {
    txns.iter().filter(|(_, t)| t.function == f).collect()
}

#[test]
fn diverse_commands_and_setpoints() {
    let Some((txns, kinds)) = run("iec104/iec104-iti-090813-diverse.pcap") else {
        return;
    };
    assert!(kinds.is_empty(), "{kinds:?}");
    // frame 1: M_ME_NC_1 periodic, CA 3, IOA 1300 = 30.0, IOA 1301 = 708.0
    let m = &of(&txns, "M_ME_NC_1")[0];
    assert_eq!(m.0.dir, Direction::ToClient);
    assert_eq!(
        (m.1.cot, m.1.common_address, m.1.count),
        (Some(1), Some(3), Some(2))
    );
    assert_eq!(
        (m.1.objects[0].ioa, m.1.objects[0].value),
        (1300, Some(30.0))
    );
    assert_eq!(
        (m.1.objects[1].ioa, m.1.objects[1].value),
        (1301, Some(708.0))
    );
    assert_eq!(m.1.operation(), Operation::Read);
    assert!(!m.1.request && m.1.response);

    // frames 51-59: C_SE_NC_1 IOA 5020 = 12.0, select (act/con) then execute
    // (act/con/term)
    let se = of(&txns, "C_SE_NC_1");
    assert_eq!(se.len(), 4);
    let (sel, exe) = (&se[0].1, &se[1].1);
    assert_eq!(sel.objects[0].select, Some(true));
    assert_eq!(sel.objects[0].value, Some(12.0));
    assert!(sel.written().is_empty());
    assert!(!sel.terminated && sel.response_cot == Some(7));
    assert_eq!(exe.objects[0].select, Some(false));
    assert!(exe.terminated && exe.response_negative == Some(false));
    assert_eq!(exe.written(), vec![("3:5020".to_string(), 12.0)]);
    assert_eq!(exe.operation(), Operation::Write);
    assert_eq!(exe.function_code(), Some(50));
    assert!(se
        .iter()
        .all(|(t, _)| t.dir == Direction::ToServer && t.ts_end.is_some()));
    // frames 63-71: the second pair sets -43.5 (0xc22e0000)
    assert_eq!(se[3].1.written(), vec![("3:5020".to_string(), -43.5)]);

    // frame 9: C_SC_TA_1 act with CP56Time2a Aug 13, 2009 19:23:00.008
    let sc = of(&txns, "C_SC_TA_1");
    let t = sc[0].1.objects[0].time.unwrap();
    assert_eq!(t.to_string(), "2009-08-13T19:23:00.008");
    assert_eq!(sc[0].1.objects[0].value, Some(1.0));
    // frame 39: C_SE_TC_1 123.0
    assert_eq!(
        of(&txns, "C_SE_TC_1")[1].1.written(),
        vec![("3:5021".to_string(), 123.0)]
    );
    // frame 91: C_DC_NA_1 DCS 2 (on), QU 1 (short pulse)
    let dc = &of(&txns, "C_DC_NA_1")[0].1;
    assert_eq!(
        (dc.objects[0].value, dc.objects[0].qualifier),
        (Some(2.0), Some(1))
    );
    // frames 73-81: general interrogation (QOI 20) with con and term
    let ic = &of(&txns, "C_IC_NA_1")[0].1;
    assert_eq!(ic.objects[0].qualifier, Some(20));
    assert!(ic.terminated && ic.operation() == Operation::Read);
    // TESTFR act/con
    let tf = of(&txns, "TESTFR");
    assert!(!tf.is_empty());
    assert!(tf
        .iter()
        .all(|(t, x)| x.function_code == 0x110 && x.request && x.response && t.ts_end.is_some()));
}

#[test]
fn javarmi_interrogations_and_init() {
    let Some((txns, kinds)) = run("iec104/iec104-iti-javarmi-and-iec-misc.pcap") else {
        return;
    };
    assert!(kinds.is_empty(), "{kinds:?}");
    // 21 general interrogations, each confirmed and terminated (tshark: 21 each of
    // cot 6, 7, 10)
    let ic = of(&txns, "C_IC_NA_1");
    assert_eq!(ic.len(), 21);
    assert!(ic
        .iter()
        .all(|(_, t)| t.terminated && t.response_cot == Some(7)));
    // frame 12: M_EI_NA_1 end of initialisation, CA 0x910d... COI 1
    let ei = of(&txns, "M_EI_NA_1");
    assert_eq!(ei.len(), 2);
    assert_eq!(ei[0].1.cot_name, Some("initialized"));
    assert_eq!(ei[0].1.objects[0].qualifier, Some(1));
    // frame 24: M_ME_NB_1 scaled value with SQ
    let nb = &of(&txns, "M_ME_NB_1")[0].1;
    assert_eq!(nb.sq, Some(true));
    assert_eq!(nb.count, Some(1));
    assert_eq!(of(&txns, "STARTDT").len(), 2);
}

#[test]
fn sequence_of_information_elements() {
    let Some((txns, kinds)) = run("iec104/iec104-automayt-sq.pcapng") else {
        return;
    };
    assert!(kinds.is_empty(), "{kinds:?}");
    // one packet, 4 I-frames M_SP_NA_1 SQ=1 inrogen, CA 1054, IOAs 0-15, 16-31, ...
    assert_eq!(txns.len(), 4);
    for (i, (_, t)) in txns.iter().enumerate() {
        assert_eq!(
            (t.type_id, t.sq, t.count, t.cot),
            (Some(1), Some(true), Some(16), Some(20))
        );
        assert_eq!(t.common_address, Some(1054));
        let ioas: Vec<u32> = t.objects.iter().map(|o| o.ioa).collect();
        let first = 16 * i as u32;
        assert_eq!(ioas, (first..first + 16).collect::<Vec<_>>());
        assert_eq!(t.send_seq, Some(i as u16 + 1));
    }
}

#[test]
fn c104_stack() {
    let Some((txns, kinds)) = run("stacks/iec104.pcap") else {
        return;
    };
    assert!(kinds.is_empty(), "{kinds:?}");
    // frame 8/9/14: broadcast interrogation (CA 65535) confirmed by station 47
    let ic = of(&txns, "C_IC_NA_1");
    assert_eq!(ic[0].1.common_address, Some(65535));
    assert!(ic[0].1.terminated);
    // frames 1229/1230: C_SC_NA_1 to unknown IOA 7777: negative con, then cot 47
    let neg: Vec<_> = of(&txns, "C_SC_NA_1")
        .into_iter()
        .filter(|(_, t)| t.objects[0].ioa == 7777)
        .collect();
    assert!(!neg.is_empty());
    assert!(neg
        .iter()
        .all(|(_, t)| t.response_negative == Some(true) && t.error_cot == Some(47)));
    // select-before-operate on IOA 5001: the execute is terminated
    let sc5001: Vec<_> = of(&txns, "C_SC_NA_1")
        .into_iter()
        .filter(|(_, t)| t.objects[0].ioa == 5001)
        .collect();
    assert!(sc5001
        .iter()
        .any(|(_, t)| t.objects[0].select == Some(true) && !t.terminated));
    assert!(sc5001
        .iter()
        .any(|(_, t)| t.objects[0].select == Some(false) && t.terminated));
    // frame 370: C_SE_NC_1 IOA 5200 = 31.5896... (0x41fc81b7)
    let se = of(&txns, "C_SE_NC_1");
    let w = se[0].1.written();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].0, "47:5200");
    assert!((w[0].1 - f64::from(f32::from_bits(0x41fc_81b7))).abs() < 1e-9);
    // frame 16/17: clock sync with CP56Time2a
    let cs = &of(&txns, "C_CS_NA_1")[0].1;
    assert_eq!(
        cs.objects[0].time.unwrap().to_string(),
        "2026-11-25T19:03:30.027"
    );
    // frame 19/20: read command (cot 5) confirmed
    let rd = of(&txns, "C_RD_NA_1");
    assert_eq!(rd.len(), 150);
    assert!(rd
        .iter()
        .all(|(_, t)| t.cot == Some(5) && t.response_cot == Some(7)));
    // every request got an answer but one: frame 3685, a C_SC_NA_1 sent without
    // STARTDT on a new connection, which the server closes without answering
    let unanswered: Vec<_> = txns
        .iter()
        .filter(|(_, t)| t.request && !t.response)
        .collect();
    assert_eq!(unanswered.len(), 1);
    assert_eq!(unanswered[0].1.function, "C_SC_NA_1");
    assert_eq!(unanswered[0].1.send_seq, Some(0));
    // counter interrogation answered with integrated totals (cot 37)
    let it = of(&txns, "M_IT_NA_1");
    assert!(it.iter().all(|(_, t)| t.cot == Some(37)));
    assert!(of(&txns, "M_ME_TF_1")[0].1.objects[0].time.is_some());
}
