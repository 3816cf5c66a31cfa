//! DNP3 parser on real captures (`../shared/data/pcaps`), asserting values checked
//! with tshark (`-O dnp3`, `-e dnp3.al.func -e dnp3.al.obj -e dnp3.al.iin`) and
//! Zeek's event printouts.  Each test prints SKIP and passes when the data is absent.
mod dnp3_support;

use dnp3_support::*;
use sluice_proto::dnp3::{Transaction, Value};
use sluice_proto::{Direction, Output, Record};
use std::collections::BTreeMap;

fn txns_of(rel: &str) -> Option<(Vec<FlowResult>, Vec<Transaction>)> {
    let file = capture(rel)?;
    let flows = run(&file, Chunking::Packet);
    let txns = all_txns(&flows);
    Some((flows, txns))
}

fn find(txns: &[Transaction], fc: u16) -> Vec<&Transaction> {
    txns.iter().filter(|t| t.function_code == fc).collect()
}

#[test]
fn read_class_poll_with_analog_values() {
    let Some((flows, txns)) = txns_of("dnp3/dnp3-zeek-read.pcap") else {
        return;
    };
    assert!(all_anomalies(&flows).is_empty());
    assert_eq!(txns.len(), 1);
    let t = &txns[0];
    // tshark frame 4: READ 0x3c02,0x3c03,0x3c04,0x3c01 from 3 to 2; frame 6 response iin 0.
    assert_eq!((t.function_code, t.function), (1, "read"));
    assert_eq!((t.source, t.destination, t.sequence), (3, 2, Some(8)));
    let gv: Vec<(u8, u8)> = t.objects.iter().map(|o| (o.group, o.variation)).collect();
    assert_eq!(gv, vec![(60, 2), (60, 3), (60, 4), (60, 1)]);
    assert_eq!(t.response_function_code, Some(129));
    assert_eq!(t.iin, Some(0));
    assert!(t.iin_flags.is_empty());
    assert!(!t.iin_flags.contains("need_time"));
    let rgv: Vec<(u8, u8, Option<u32>)> = t
        .response_objects
        .iter()
        .map(|o| (o.group, o.variation, o.count))
        .collect();
    assert_eq!(
        rgv,
        vec![(1, 2, Some(9)), (10, 2, Some(7)), (30, 1, Some(15))]
    );
    // Zeek events: g1v2 flags 129, 1, 129...; g30v1 (flag 1, 1007), (1, 3), ... (1, -11989).
    let p = &t.response_points;
    assert_eq!(p.len(), 9 + 7 + 15);
    assert_eq!(
        (p[0].index, p[0].flags, &p[0].value),
        (0, Some(129), &Some(Value::Bool(true)))
    );
    assert_eq!(p[1].value, Some(Value::Bool(false)));
    let analog: Vec<(u32, Option<u8>, Option<Value>)> = p
        .iter()
        .filter(|p| p.group == 30)
        .map(|p| (p.index, p.flags, p.value.clone()))
        .take(4)
        .collect();
    assert_eq!(
        analog,
        vec![
            (0, Some(1), Some(Value::Int(1007))),
            (1, Some(1), Some(Value::Int(3))),
            (2, Some(1), Some(Value::Int(1005))),
            (3, Some(1), Some(Value::Int(-11989))),
        ]
    );
    assert!(!t.is_control());
    assert!(t.operated_points().is_empty());
    #[allow(clippy::useless_conversion)]
    let json = serde_json::to_value(Record::Dnp3(t.clone().into())).unwrap();
    assert_eq!(json["dnp3"]["function"], "read");
    assert_eq!(json["dnp3"]["objects"][0]["name"], "g60v2 class 1 data");
    assert!(json["dnp3"].get("link_function").is_none());
}

#[test]
fn select_then_operate_crob() {
    let Some((_, txns)) = txns_of("dnp3/dnp3-zeek-select-operate.pcap") else {
        return;
    };
    // Suricata: SELECT seq 7 and OPERATE seq 8, g12v1 q 0x28 index 1, latch on (3),
    // count 1, on 100, off 100, status 0; both answered with status 0.
    let sel = find(&txns, 3);
    let op = find(&txns, 4);
    assert_eq!((sel.len(), op.len()), (1, 1));
    let (sel, op) = (sel[0], op[0]);
    assert_eq!((sel.sequence, op.sequence), (Some(7), Some(8)));
    assert!(!sel.select_operate_linked);
    assert!(op.select_operate_linked);
    for t in [sel, op] {
        assert!(t.is_control());
        assert_eq!(t.objects[0].qualifier, 0x28);
        let c = t.points[0].crob.as_ref().unwrap();
        assert_eq!(t.points[0].index, 1);
        assert_eq!(
            (c.op_type, c.count, c.on_time_ms, c.off_time_ms),
            ("latch_on", 1, 100, 100)
        );
        assert_eq!(t.response_points[0].status, Some(0));
    }
    assert!(sel.operated_points().is_empty());
    assert_eq!(op.operated_points(), vec![(12, 1, 1.0)]);
}

#[test]
fn opendnp3_stack_capture() {
    let Some((flows, txns)) = txns_of("stacks/dnp3.pcap") else {
        return;
    };
    assert!(
        all_anomalies(&flows).is_empty(),
        "{:?}",
        all_anomalies(&flows)
    );
    // tshark: application function codes of every fragment in the capture.
    let mut fcs: BTreeMap<u8, usize> = BTreeMap::new();
    for (_, m) in all_messages(&flows) {
        *fcs.entry(m.function_code).or_default() += 1;
    }
    let want: BTreeMap<u8, usize> = [
        (0, 3),
        (1, 548),
        (2, 1),
        (3, 182),
        (4, 182),
        (5, 401),
        (20, 3),
        (129, 1317),
        (130, 3),
    ]
    .into_iter()
    .collect();
    assert_eq!(fcs, want);

    let f = &flows[0];
    let first: Vec<&Transaction> = f.txns();
    // Frames 4 and 8: unsolicited response (IIN device restart) and its confirm.
    assert!(first[0].unsolicited && first[0].iin == Some(0x8000));
    assert_eq!(first[0].iin_flags.names(), vec!["device_restart"]);
    assert_eq!(
        (first[1].function_code, first[1].sequence),
        (0, first[0].sequence)
    );
    // Frames 6, 10, 11, 13, 14: READ class 1230 answered by 4 link frames whose
    // transport segments reassemble into 749 octets, the last frame carrying 2.
    let read = first[2];
    assert_eq!(read.function_code, 1);
    assert_eq!(read.response_function_code, Some(129));
    let objs: Vec<(u8, u8, Option<u32>)> = read
        .response_objects
        .iter()
        .map(|o| (o.group, o.variation, o.count))
        .collect();
    assert_eq!(
        objs,
        vec![
            (1, 2, Some(20)),
            (3, 2, Some(20)),
            (30, 1, Some(20)),
            (20, 1, Some(20)),
            (21, 1, Some(20)),
            (10, 2, Some(20)),
            (40, 1, Some(20)),
            (50, 4, Some(20)),
            (110, 1, Some(20)),
        ]
    );
    assert_eq!(read.response_points.len(), 180);

    // Frames 57/58: DIRECT OPERATE CROB index 9 latch on, refused with status 4
    // (not supported) and IIN parameter_error.
    let refused = first
        .iter()
        .find(|t| t.function_code == 5 && t.iin == Some(0x0004))
        .unwrap();
    assert_eq!(refused.iin_flags.names(), vec!["parameter_error"]);
    assert_eq!(refused.points[0].index, 9);
    assert_eq!(refused.response_points[0].status, Some(4));
    // Frames 60/61: DIRECT OPERATE g41v1 index 3 = 2404, accepted.
    let ao = first
        .iter()
        .find(|t| t.function_code == 5 && t.objects[0].group == 41)
        .unwrap();
    assert_eq!(ao.operated_points(), vec![(41, 3, 2404.0)]);
    assert_eq!(ao.response_points[0].status, Some(0));
    // Frames 66/67 and 69/70: SELECT then OPERATE g41v3 index 7 = 2.48256 (f32).
    let sel = first
        .iter()
        .position(|t| t.function_code == 3 && t.objects[0].variation == 3)
        .unwrap();
    let op = first[sel + 1];
    assert_eq!(op.function_code, 4);
    assert!(op.select_operate_linked);
    let (g, i, v) = op.operated_points()[0];
    assert_eq!((g, i), (41, 7));
    assert!((v - 2.48256).abs() < 1e-5);

    // Link status polls: 35 request-link-status (0xC9) each answered by link status (0x0B).
    let links: Vec<&Transaction> = txns.iter().filter(|t| t.link_function.is_some()).collect();
    assert_eq!(links.len(), 35);
    for l in links {
        assert_eq!(l.function_code, 0x100 | 0x49);
        assert_eq!(l.link_function, Some("request_link_status"));
        assert_eq!(l.response_link_function, Some("link_status"));
        assert!(l.request && l.response && l.sequence.is_none());
        assert!(l.app_function().is_none() && !l.is_control());
    }
    // Every request is answered except confirms and unanswered polls at the end.
    let unpaired = txns
        .iter()
        .filter(|t| t.request && !t.response && t.function_code != 0 && t.link_function.is_none())
        .count();
    assert!(unpaired <= 4, "{unpaired} unanswered requests");
}

#[test]
fn link_only_frames_and_large_response() {
    let Some((flows, txns)) = txns_of("dnp3/dnp3-zeek-link-only.pcap") else {
        return;
    };
    assert!(all_anomalies(&flows).is_empty());
    // Frames 1/2, 4/5, 33/34: request link status 0x49 (1 -> 100) / link status 0x8b.
    let links: Vec<&Transaction> = txns.iter().filter(|t| t.link_function.is_some()).collect();
    assert_eq!(links.len(), 3);
    assert_eq!((links[0].source, links[0].destination), (1, 100));
    assert_eq!(links[0].function, "request_link_status");
    // Frames 7..31: READ class 0 answered by two fragments of 8 and 6 frames
    // (tshark: 0x0101,0x0a02,0x1e05 then 0x1e05,0x2803); Zeek: g1v1 1024 points,
    // g10v2 512, g30v5 276.
    let read = find(&txns, 1);
    assert_eq!(read.len(), 1);
    let r = read[0];
    assert_eq!(r.response_fragments, Some(2));
    let gv: Vec<(u8, u8, Option<u32>)> = r
        .response_objects
        .iter()
        .map(|o| (o.group, o.variation, o.count))
        .collect();
    assert_eq!(
        gv[..3],
        [(1, 1, Some(1024)), (10, 2, Some(512)), (30, 5, Some(276))]
    );
    assert_eq!(gv.len(), 5);
    // Zeek: both response headers carry iin 5120 (0x1400); sequences 7 then 8.
    assert_eq!(r.iin, Some(0x1400));
    assert_eq!(r.iin_flags.names(), vec!["class_2_events", "need_time"]);
    assert_eq!(r.sequence, Some(7));
}

#[test]
fn udp_select_operate() {
    let Some((flows, txns)) = txns_of("dnp3/dnp3-zeek-udp-select-operate.pcap") else {
        return;
    };
    assert_eq!(flows[0].transport, sluice_proto::Transport::Udp);
    // tshark frames 1-8: SELECT seq 9, OPERATE seq 10, READ seq 11 (response in 3
    // frames); Zeek: all answered with iin 36864 (0x9000).  Frames 9/10: link status.
    let app: Vec<(u16, Option<u16>)> = txns
        .iter()
        .filter(|t| t.link_function.is_none())
        .map(|t| (t.function_code, t.iin))
        .collect();
    assert_eq!(
        app,
        vec![(3, Some(0x9000)), (4, Some(0x9000)), (1, Some(0x9000))]
    );
    assert_eq!(txns[2].response_points.len(), 512);
    assert_eq!(txns[3].link_function, Some("request_link_status"));
    assert_eq!(
        txns[0].iin_flags.names(),
        vec!["need_time", "device_restart"]
    );
    assert!(find(&txns, 4)[0].select_operate_linked);
}

#[test]
fn unsolicited_and_confirm() {
    let Some((flows, txns)) = txns_of("dnp3/dnp3-iti-unsolicited-response-confirm.pcap") else {
        return;
    };
    assert_eq!(txns.len(), 2);
    let u = &txns[0];
    assert!(u.unsolicited && u.response && !u.request);
    assert_eq!((u.function_code, u.source, u.destination), (130, 10, 1));
    let c = &txns[1];
    assert_eq!(
        (c.function_code, c.function, c.sequence),
        (0, "confirm", u.sequence)
    );
    let dirs: Vec<Direction> = flows[0]
        .outputs
        .iter()
        .filter_map(|o| match o {
            Output::Txn(t) => Some(t.dir),
            _ => None,
        })
        .collect();
    assert_eq!(dirs, vec![Direction::ToClient, Direction::ToServer]);
}

#[test]
fn file_transfer_objects() {
    let Some((_, txns)) = txns_of("dnp3/dnp3-zeek-file-read.pcap") else {
        return;
    };
    // tshark frame 5/6: OPEN_FILE "./test.xml" mode READ, block 1024, request 4;
    // status: handle 0x12345678, size 0x33e, SUCCESS.
    let open = find(&txns, 25)[0];
    let f = open.points[0].file.as_ref().unwrap();
    assert_eq!(f.name.as_deref(), Some("./test.xml"));
    assert_eq!(
        (f.mode, f.max_block_size, f.request_id),
        (Some(1), Some(1024), Some(4))
    );
    let s = open.response_points[0].file.as_ref().unwrap();
    assert_eq!(
        (s.handle, s.size, s.status),
        (Some(0x1234_5678), Some(0x33e), Some(0))
    );
    // Frame 7: READ g70v5 block 0; Zeek: the response block 0x80000000 (last), 830 octets.
    let read = find(&txns, 1)[0];
    let rb = read.response_points[0].file.as_ref().unwrap();
    assert_eq!(
        (rb.block, rb.last_block, rb.data_len),
        (Some(0), Some(true), Some(830))
    );
    assert_eq!(find(&txns, 26).len(), 1);
}

#[test]
fn secure_authentication_challenge() {
    let Some((_, txns)) = txns_of("dnp3/dnp3-iti-auth-control-challenge-response.pcap") else {
        return;
    };
    // tshark: DIRECT_OPERATE g12v1 (seq 6), AUTHENTICATE_RESPONSE 131 (challenge),
    // AUTHENTICATE_REQ 32 (reply), RESPONSE 129 echoing the CROB; IIN 0x9000.
    let f: Vec<(u16, bool, bool)> = txns
        .iter()
        .map(|t| (t.function_code, t.request, t.response))
        .collect();
    assert_eq!(
        f,
        vec![(131, false, true), (32, true, false), (5, true, true)]
    );
    let op = &txns[2];
    assert_eq!(op.response_function_code, Some(129));
    assert_eq!(op.response_points[0].status, Some(0));
    assert_eq!(op.operated_points(), vec![(12, 1, 1.0)]);
    assert_eq!(
        txns[0].response_objects[0].name.to_string(),
        "g120v1 authentication"
    );
}

#[test]
fn device_attributes_in_dataset_exchange() {
    let Some((flows, txns)) = txns_of("dnp3/dnp3-iti-dataset-exchange.pcap") else {
        return;
    };
    // tshark frame 2: g0v213 UINT 1, g0v215 UINT 3.
    let vals: Vec<(u8, Option<Value>)> = txns[0]
        .response_points
        .iter()
        .map(|p| (p.variation, p.value.clone()))
        .collect();
    assert_eq!(
        vals,
        vec![(213, Some(Value::Int(1))), (215, Some(Value::Int(3)))]
    );
    // No string attributes: no identity.
    assert!(!flows[0]
        .outputs
        .iter()
        .any(|o| matches!(o, Output::Identity(_))));
}

#[test]
fn malformed_captures_are_reported_not_fatal() {
    // Zero-CRC answer to request link status.
    if let Some((flows, txns)) = txns_of("dnp3/dnp3-openics-request-link-status.pcap") {
        assert_eq!(all_anomalies(&flows), vec!["bad_crc"]);
        assert_eq!(txns[0].link_function, Some("request_link_status"));
        assert!(!txns[0].response);
    }
    // 65536 zero-length virtual terminal objects per header: no blow-up.
    if let Some((_, txns)) = txns_of("dnp3/dnp3-iti-write-vto-empty-string.pcap") {
        assert_eq!(txns.len(), 1);
        assert_eq!(txns[0].objects[0].count, Some(65536));
        assert!(txns[0].points.is_empty());
    }
    // Digital Bond test data: reserved qualifiers and a frame without 0x05 0x64.
    if let Some((flows, _)) = txns_of("dnp3/dnp3-digitalbond-test-data-part1.pcap") {
        let a = all_anomalies(&flows);
        assert_eq!(a.iter().filter(|k| **k == "resync").count(), 1);
        assert_eq!(a.iter().filter(|k| **k == "bad_qualifier").count(), 6);
    }
}

#[test]
fn byte_chunking_gives_the_same_outputs() {
    for rel in [
        "stacks/dnp3.pcap",
        "dnp3/dnp3-zeek-events.pcap",
        "dnp3/dnp3-zeek-link-only.pcap",
        "dnp3/dnp3-iti-write-vto-empty-string.pcap",
    ] {
        let Some(file) = capture(rel) else { return };
        let a = run(&file, Chunking::Packet);
        let b = run(&file, Chunking::Bytes);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.outputs, y.outputs, "{rel}");
        }
    }
}
