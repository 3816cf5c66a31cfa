//! The S7comm-plus parser on real captures, values checked with tshark (COTP) and
//! the published S7comm-plus header layout (frame numbers given).
mod support;

use sluice_proto::s7commplus::{Transaction, DESC};
use sluice_proto::{Operation, Output, Probe, ProtoRecord, Record, Txn};

/// Transactions (with their envelopes) and anomaly kinds.
type Run = (Vec<(Txn, Transaction)>, Vec<&'static str>);

fn run(rel: &str) -> Option<Run> {
    let path = support::pcap(rel)?;
    let mut txns = Vec::new();
    let mut kinds = Vec::new();
    for (f, outs) in support::run(&DESC, &path) {
        // the S7comm flow of the ICSNPP capture is not S7comm-plus
        if f.client.port() == 54670 {
            continue;
        }
        for o in outs {
            match o {
                Output::Txn(t) => {
                    if let Record::S7commplus(x) = &t.record {
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

#[test]
fn tia_v12_upload_of_ob1() {
    let Some((txns, kinds)) = run("s7comm/s7commplus-iti-s7-1200-uploading-ob1.pcap") else {
        return;
    };
    assert!(kinds.is_empty(), "{kinds:?}");
    // frame 4/5: COTP CR/CC to SIMATIC-ROOT-ES
    let c = &txns[0].1;
    assert_eq!(c.function, "cotp_connect");
    assert_eq!(
        c.cotp.as_ref().unwrap().called_tsap.as_deref(),
        Some("SIMATIC-ROOT-ES")
    );
    // frames 6/8: V1 CreateObject, sequence 1, session 0x120, paired
    let (t, co) = &txns[1];
    assert_eq!(
        (co.version, co.function_code, co.sequence),
        (1, 0x04CA, Some(1))
    );
    assert_eq!(co.session_id, Some(0x120));
    assert_eq!(co.integrity, None);
    assert!(t.ts_end.is_some() && co.request && co.response);
    // frames 10/11: V2 SetMultiVariables seq 2, session 0x3c0
    let smv = txns
        .iter()
        .find(|(_, t)| t.function_code == 0x0542)
        .unwrap();
    assert_eq!(
        (smv.1.version, smv.1.sequence, smv.1.session_id),
        (2, Some(2), Some(0x3c0))
    );
    assert_eq!(smv.1.operation(), Operation::Write);
    assert!(smv.1.is_write());
    // the CreateObject of sequence 39 spans three frames (1008 + 1009 + 216 bytes)
    let big = txns.iter().find(|(_, t)| t.sequence == Some(39)).unwrap();
    assert_eq!(big.1.function, "create_object");
    assert_eq!(big.1.frames, Some(3 + 1));
    assert_eq!(big.1.request_length, Some(1008 + 1009 + 216));
    assert!(big.1.response);
    // every request is answered (requests 12-27 are answered after 28 was sent)
    assert!(txns
        .iter()
        .skip(1)
        .all(|(t, x)| x.request && x.response && t.ts_end.is_some()));
    let fs: Vec<_> = txns.iter().map(|(_, t)| t.function).collect();
    assert_eq!(
        fs.iter().filter(|f| **f == "get_multi_variables").count(),
        22
    );
    assert!(fs.contains(&"begin_sequence") && fs.contains(&"delete_object"));
    let gmv = txns
        .iter()
        .find(|(_, t)| t.function_code == 0x054C)
        .unwrap();
    assert_eq!(gmv.1.operation(), Operation::Read);
}

#[test]
fn v3_integrity_session_from_icsnpp() {
    let Some((txns, kinds)) = run("s7comm/s7commplus-icsnpp-s7comm-plus.pcap") else {
        return;
    };
    // 79 notifications, 26 SetVariable requests (never answered), 2 SetMultiVariables
    // and 6 GetMultiVariables pairs: 121 messages in ICSNPP's s7comm_plus.log
    let n = |f: &str| txns.iter().filter(|(_, t)| t.function == f).count();
    assert_eq!(n("notification"), 79);
    assert_eq!(n("set_variable"), 26);
    assert_eq!(n("set_multi_variables"), 2);
    assert_eq!(n("get_multi_variables"), 6);
    assert!(txns
        .iter()
        .filter(|(_, t)| t.version == 3)
        .all(|(_, t)| t.integrity == Some(true)));
    // frame 2: notification of subscription object 0x70000e51
    let notif = txns.iter().find(|(_, t)| t.opcode == 0x33).unwrap();
    assert_eq!(notif.1.subscription_id, Some(0x7000_0e51));
    assert_eq!(notif.1.function_code(), Some(0x33));
    assert_eq!(notif.1.operation(), Operation::Other);
    // frame 7: SetVariable, sequence 0x831a, session 0x70000e4d, flags 0x74
    let sv = txns
        .iter()
        .find(|(_, t)| t.sequence == Some(0x831a))
        .unwrap();
    assert_eq!(
        (sv.1.session_id, sv.1.transport_flags),
        (Some(0x7000_0e4d), Some(0x74))
    );
    assert!(!sv.1.response && sv.0.ts_end.is_none());
    // frames 30/31: GetMultiVariables 0x831d paired
    let g = txns
        .iter()
        .find(|(_, t)| t.sequence == Some(0x831d))
        .unwrap();
    assert!(g.1.response && g.0.ts_end.is_some());
    assert!(!kinds.contains(&"unanswered_request"), "{kinds:?}");
}

#[test]
fn v13_timer_sync_response2() {
    let Some((txns, kinds)) = run("s7comm/s7commplus-iti-v13-1200-timer-sync.pcapng") else {
        return;
    };
    assert!(kinds.is_empty(), "{kinds:?}");
    // SetVariable requests (flags 0x74) are answered by opcode 0x02 with the same
    // sequence number
    let sv: Vec<_> = txns
        .iter()
        .filter(|(_, t)| t.function_code == 0x04F2)
        .collect();
    assert!(!sv.is_empty());
    assert!(sv
        .iter()
        .all(|(t, x)| x.response_opcode == Some(0x02) && t.ts_end.is_some()));
    assert!(txns.iter().any(|(_, t)| t.function == "notification"));
}

#[test]
fn probes_pick_s7commplus_only() {
    let Some(data) = support::shared_data() else {
        return;
    };
    for (name, plus) in [
        ("s7commplus-iti-s7-1511-opc-request-all-types.pcap", true),
        ("s7comm-iti-s7-1200-hmi.pcap", true),
        ("s7comm-iti-varservice-libnodave.pcap", false),
        ("s7comm-icsnpp-snap7.pcap", false),
    ] {
        for f in support::flows(&data.join("pcaps/s7comm").join(name), &[102]) {
            let mut buf = Vec::new();
            for p in &f.pieces {
                if let support::Piece::Data(sluice_proto::Direction::ToServer, _, b) = p {
                    buf.extend_from_slice(b);
                }
            }
            if buf.is_empty() {
                continue;
            }
            let cut = &buf[..buf.len().min(512)];
            let a = (DESC.probe)(sluice_proto::Direction::ToServer, cut);
            let b = (sluice_proto::s7comm::DESC.probe)(sluice_proto::Direction::ToServer, cut);
            if plus {
                assert_eq!((a, b), (Probe::Match, Probe::NoMatch), "{name}");
            } else {
                assert_eq!((a, b), (Probe::NoMatch, Probe::Match), "{name}");
            }
        }
    }
}
