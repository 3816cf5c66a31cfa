//! DNP3 parser behaviour on traffic built with `dnp3::encode` (runs without the
//! shared data): pairing, multi-fragment responses, link-only frames, identity,
//! CRC errors, gaps, UDP datagrams, probe.
use sluice_proto::dnp3::encode::{self, CrobSpec, Fragment};
use sluice_proto::dnp3::{self, Transaction, Value};
use sluice_proto::registry;
use sluice_proto::{Direction, Identity, Output, Probe, Record, Side, Transport, Txn};

/// The record of a transaction (`Record::Dnp3` may hold it boxed or not).
#[allow(clippy::useless_conversion)]
fn dnp3_record(t: &Transaction) -> Record {
    Record::Dnp3(t.clone().into())
}

const M: u16 = 1; // master
const O: u16 = 10; // outstation

fn req(fragment: &[u8]) -> Vec<u8> {
    encode::frames(true, O, M, 0, fragment)
}

fn rsp(fragment: &[u8]) -> Vec<u8> {
    encode::frames(false, M, O, 0, fragment)
}

struct Run {
    out: Vec<Output>,
}

impl Run {
    fn txns(&self) -> Vec<&Txn> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Txn(t) => Some(t),
                _ => None,
            })
            .collect()
    }
    fn dnp3(&self) -> Vec<&Transaction> {
        self.txns()
            .into_iter()
            .map(|t| match &t.record {
                Record::Dnp3(d) => std::borrow::Borrow::<Transaction>::borrow(d),
                other => panic!("not dnp3: {other:?}"),
            })
            .collect()
    }
    fn anomalies(&self) -> Vec<&'static str> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Anomaly(a) => Some(a.kind),
                _ => None,
            })
            .collect()
    }
    fn identities(&self) -> Vec<&Identity> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Identity(i) => Some(i),
                _ => None,
            })
            .collect()
    }
}

/// Feed (direction, bytes) messages in order, one parse call each, then finish.
fn feed(transport: Transport, msgs: &[(Direction, Vec<u8>)]) -> Run {
    let mut p = (registry::by_name("dnp3").unwrap().new_parser)(transport);
    let mut out = Vec::new();
    for (i, (d, b)) in msgs.iter().enumerate() {
        p.parse(*d, b, i as i64 * 1000, &mut out);
    }
    p.finish(1_000_000, &mut out);
    Run { out }
}

use Direction::{ToClient as C, ToServer as S};

#[test]
fn registered_and_probed() {
    let d = registry::by_name("dnp3").unwrap();
    assert_eq!(d.ports, &[20000]);
    assert_eq!(d.transports, &[Transport::Tcp, Transport::Udp]);
    let frame = req(&encode::read_class0123(0));
    assert_eq!((d.probe)(S, &frame), Probe::Match);
    assert_eq!((d.probe)(S, &frame[..5]), Probe::NeedMore);
    assert_eq!(
        (d.probe)(S, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03"),
        Probe::NoMatch
    );
}

#[test]
fn request_response_pairing_by_sequence() {
    let r = feed(
        Transport::Tcp,
        &[
            (S, req(&encode::read_class0123(3))),
            (
                C,
                rsp(&Fragment::response(129, 3, 0x0200)
                    .range8(30, 2, 0, 1)
                    .raw(&[0x01, 0x10, 0x00, 0x01, 0xf0, 0xff])
                    .build()),
            ),
        ],
    );
    let t = r.dnp3();
    assert_eq!(t.len(), 1);
    let t = t[0];
    assert_eq!(
        (t.function_code, t.source, t.destination, t.sequence),
        (1, M, O, Some(3))
    );
    assert_eq!(t.response_function, Some("response"));
    assert_eq!(t.iin_flags.names(), vec!["class_1_events"]);
    let json = serde_json::to_value(dnp3_record(t)).unwrap();
    assert_eq!(
        json["dnp3"]["iin_flags"],
        serde_json::json!(["class_1_events"])
    );
    assert_eq!(json["dnp3"]["iin"], 0x0200);
    assert_eq!(json["dnp3"]["response_points"][1]["value"], -16);
    assert_eq!(json["dnp3"]["objects"][0]["name"], "g60v2 class 1 data");
    assert_eq!(t.objects.len(), 4);
    let vals: Vec<Option<Value>> = t.response_points.iter().map(|p| p.value.clone()).collect();
    assert_eq!(vals, vec![Some(Value::Int(16)), Some(Value::Int(-16))]);
    let txn = r.txns()[0];
    assert_eq!((txn.dir, txn.ts, txn.ts_end), (S, 0, Some(1000)));
}

#[test]
fn mismatched_sequence_stays_apart_and_finish_flushes() {
    let r = feed(
        Transport::Tcp,
        &[
            (S, req(&encode::read_class0123(3))),
            (C, rsp(&Fragment::response(129, 4, 0).build())),
        ],
    );
    let t = r.dnp3();
    assert_eq!(t.len(), 2);
    // The lone response first, then the unanswered request at finish().
    assert!(t[0].response && !t[0].request && t[0].function_code == 129);
    assert!(t[1].request && !t[1].response && t[1].function_code == 1);
    let json = serde_json::to_value(dnp3_record(t[0])).unwrap();
    assert!(json["dnp3"].get("iin_flags").is_none());
    assert!(json["dnp3"].get("objects").is_none());
}

#[test]
fn sequence_reuse_emits_the_unanswered_request() {
    let r = feed(
        Transport::Tcp,
        &[
            (S, req(&encode::read_class0123(5))),
            (S, req(&encode::read_class0123(5))),
            (C, rsp(&Fragment::response(129, 5, 0).build())),
        ],
    );
    let t = r.dnp3();
    assert_eq!(t.len(), 2);
    assert!(!t[0].response);
    assert!(t[1].response);
}

#[test]
fn multi_fragment_response_is_one_transaction() {
    let first = Fragment::response(129, 2, 0)
        .control(0x82) // FIR, seq 2
        .range8(1, 2, 0, 2)
        .raw(&[0x81, 0x01, 0x81])
        .build();
    let second = Fragment::response(129, 3, 0x8000)
        .control(0x43) // FIN, seq 3
        .range8(1, 2, 3, 3)
        .raw(&[0x01])
        .build();
    let r = feed(
        Transport::Tcp,
        &[
            (S, req(&encode::read_class0123(2))),
            (C, rsp(&first)),
            (S, req(&Fragment::request(0, 2).build())),
            (C, rsp(&second)),
        ],
    );
    let t = r.dnp3();
    // The confirm of the first fragment, then the read with both fragments.
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].function, "confirm");
    let read = t[1];
    assert_eq!(read.response_fragments, Some(2));
    assert_eq!(read.response_objects.len(), 2);
    let idx: Vec<u32> = read.response_points.iter().map(|p| p.index).collect();
    assert_eq!(idx, vec![0, 1, 2, 3]);
    assert_eq!(read.iin, Some(0x8000));
}

#[test]
fn large_fragment_over_many_frames() {
    // 300 analog inputs g30v1: 1500 octets of data over 7 link frames.
    let mut data = Vec::new();
    for i in 0..300i32 {
        data.push(0x01);
        data.extend_from_slice(&(i * 7 - 1000).to_le_bytes());
    }
    let frag = Fragment::response(129, 0, 0)
        .range16(30, 1, 0, 299)
        .raw(&data)
        .build();
    let bytes = rsp(&frag);
    assert!(bytes.len() > 6 * 292);
    let r = feed(
        Transport::Tcp,
        &[(S, req(&encode::read_class0123(0))), (C, bytes)],
    );
    let t = r.dnp3()[0];
    assert_eq!(t.response_points.len(), 300);
    assert_eq!(
        t.response_points[299].value,
        Some(Value::Int(299 * 7 - 1000))
    );
    assert!(r.anomalies().is_empty());
}

#[test]
fn fragment_too_large_is_dropped() {
    let frag = Fragment::response(129, 0, 0).raw(&vec![0u8; 3000]).build();
    let r = feed(Transport::Tcp, &[(C, rsp(&frag))]);
    assert!(r.dnp3().is_empty());
    assert_eq!(r.anomalies(), vec!["fragment_too_large"]);
}

#[test]
fn direct_operate_crob_and_analog() {
    let r = feed(
        Transport::Tcp,
        &[
            (
                S,
                req(&encode::direct_operate_crob(
                    1,
                    7,
                    CrobSpec::trip_close(false),
                )),
            ),
            (S, req(&encode::direct_operate_analog_i16(2, 3, -250))),
            (
                S,
                req(&Fragment::request(6, 3)
                    .analog_output_f64(4, 11100.0)
                    .build()),
            ),
        ],
    );
    let t = r.dnp3();
    // direct operate no ack is emitted at once; the others at finish.
    assert_eq!(t[0].function, "direct_operate_no_ack");
    assert_eq!(t[0].operated_points(), vec![(41, 4, 11100.0)]);
    assert_eq!(t[1].operated_points(), vec![(12, 7, 0.0)]);
    assert_eq!(t[1].points[0].crob.as_ref().unwrap().tcc, "trip");
    assert_eq!(t[2].operated_points(), vec![(41, 3, -250.0)]);
    assert!(t.iter().all(|t| t.is_control()));
}

#[test]
fn select_operate_link_requires_identical_objects() {
    let sel = Fragment::request(3, 1)
        .crob(2, CrobSpec::latch_on())
        .build();
    let op_same = Fragment::request(4, 2)
        .crob(2, CrobSpec::latch_on())
        .build();
    let op_other = Fragment::request(4, 3)
        .crob(2, CrobSpec::latch_off())
        .build();
    let r = feed(
        Transport::Tcp,
        &[
            (S, req(&sel)),
            (S, req(&op_other)),
            (S, req(&op_same)),
            (S, req(&op_same)),
        ],
    );
    let linked: Vec<(u8, bool)> = r
        .dnp3()
        .iter()
        .filter(|t| t.function_code == 4)
        .map(|t| (t.sequence.unwrap(), t.select_operate_linked))
        .collect();
    // Emission order: the first seq-2 OPERATE when seq 2 is reused, then the rest at
    // finish.  The second identical OPERATE no longer follows a SELECT.
    assert_eq!(linked, vec![(2, true), (3, false), (2, false)]);
}

#[test]
fn write_of_outputs_is_control() {
    let r = feed(
        Transport::Tcp,
        &[
            (
                S,
                req(&Fragment::request(2, 0)
                    .range8(10, 1, 0, 3)
                    .raw(&[0b0101])
                    .build()),
            ),
            (
                S,
                req(&Fragment::request(2, 1)
                    .range8(80, 1, 7, 7)
                    .raw(&[0])
                    .build()),
            ),
        ],
    );
    let t = r.dnp3();
    assert!(t[0].is_control());
    assert_eq!(
        t[0].operated_points(),
        vec![(10, 0, 1.0), (10, 1, 0.0), (10, 2, 1.0), (10, 3, 0.0)]
    );
    // Clearing IIN1.7 (g80v1 index 7) is a write but not of an output.
    assert!(!t[1].is_control());
    assert_eq!(t[1].points[0].value, Some(Value::Bool(false)));
}

#[test]
fn unsolicited_and_confirm() {
    let uns = Fragment::response(130, 4, 0x8000).build();
    let r = feed(
        Transport::Tcp,
        &[
            (C, rsp(&uns)),
            (S, req(&Fragment::request(0, 4).control(0xd4).build())),
        ],
    );
    let t = r.dnp3();
    assert_eq!(t.len(), 2);
    assert!(t[0].unsolicited && t[0].response && !t[0].request);
    assert_eq!((t[0].source, t[0].destination), (O, M));
    assert_eq!(r.txns()[0].dir, C);
    assert_eq!((t[1].function_code, t[1].sequence), (0, Some(4)));
}

#[test]
fn identity_from_device_attributes() {
    let answer = Fragment::response(129, 1, 0)
        .attribute_string(252, "ACME Controls")
        .attribute_string(250, "RTU-9000")
        .attribute_string(242, "4.2.1")
        .attribute_string(248, "SN-0042")
        .attribute_string(247, "pump-station-3")
        .build();
    let read = Fragment::request(1, 1).all(0, 254).build();
    let msgs = [
        (S, req(&read)),
        (C, rsp(&answer)),
        (S, req(&Fragment::request(1, 2).all(0, 254).build())),
        (C, rsp(&answer.clone())),
    ];
    let r = feed(Transport::Tcp, &msgs);
    let ids = r.identities();
    // The same identity twice is reported once.
    assert_eq!(ids.len(), 1);
    let id = ids[0];
    assert_eq!(id.side, Some(Side::Server));
    assert_eq!(id.source, "dnp3.g0");
    assert_eq!(id.vendor.as_deref(), Some("ACME Controls"));
    assert_eq!(id.product.as_deref(), Some("RTU-9000"));
    assert_eq!(id.firmware.as_deref(), Some("4.2.1"));
    assert_eq!(id.serial.as_deref(), Some("SN-0042"));
    assert_eq!(id.name.as_deref(), Some("pump-station-3"));
    let t = r.dnp3()[0];
    assert_eq!(
        t.response_objects[0].name.to_string(),
        "g0v252 manufacturer_name"
    );
    assert_eq!(
        t.response_points[0].value,
        Some(Value::Text("ACME Controls".into()))
    );
}

#[test]
fn link_only_pairing() {
    let r = feed(
        Transport::Tcp,
        &[
            (S, encode::link_only(0xC9, O, M)), // request link status
            (C, encode::link_only(0x0B, M, O)), // link status
            (S, encode::link_only(0xC0, O, M)), // reset link states, unanswered
            (C, encode::link_only(0x00, M, O)), // ACK
            (C, encode::link_only(0x00, M, O)), // lone ACK
        ],
    );
    let t = r.dnp3();
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].function, "request_link_status");
    assert_eq!(t[0].response_link_function, Some("link_status"));
    assert_eq!(t[0].function_code, 0x149);
    assert_eq!(t[1].function, "reset_link_states");
    assert_eq!(t[1].response_link_function, Some("ack"));
    assert_eq!(
        (t[2].function, t[2].request, t[2].response),
        ("ack", false, true)
    );
    let json = serde_json::to_value(dnp3_record(t[0])).unwrap();
    assert_eq!(json["dnp3"]["link_function"], "request_link_status");
    assert!(json["dnp3"].get("sequence").is_none());
}

#[test]
fn link_ack_of_confirmed_user_data_is_not_a_transaction() {
    let frag = encode::read_class0123(1);
    let mut user = vec![0xC0u8];
    user.extend_from_slice(&frag);
    // Confirmed user data (PRM, function 3) answered by a link ACK.
    let data = encode::link_frame(0xF3, O, M, &user).unwrap();
    let r = feed(
        Transport::Tcp,
        &[
            (S, data),
            (C, encode::link_only(0x00, M, O)),
            (C, encode::link_only(0x00, M, O)),
        ],
    );
    let t = r.dnp3();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].function, "ack"); // the second, unexpected ACK
    assert_eq!(t[1].function, "read");
}

#[test]
fn bad_crc_drops_the_frame_and_parsing_continues() {
    let mut bad = req(&encode::read_class0123(1));
    bad[12] ^= 0xff; // user data of block 0
    let mut stream = bad;
    stream.extend(req(&encode::read_class0123(2)));
    let mut hdr_bad = req(&encode::read_class0123(3));
    hdr_bad[8] ^= 1; // header CRC
    stream.extend(hdr_bad);
    stream.extend(req(&encode::read_class0123(4)));
    let r = feed(Transport::Tcp, &[(S, stream)]);
    let seqs: Vec<Option<u8>> = r.dnp3().iter().map(|t| t.sequence).collect();
    assert_eq!(seqs, vec![Some(2), Some(4)]);
    // Data CRC: bad_crc; header CRC: bad_crc, then the rest of that frame is skipped.
    assert_eq!(r.anomalies(), vec!["bad_crc", "bad_crc"]);
}

#[test]
fn garbage_is_reported_once_per_run() {
    let mut stream = b"hello world".to_vec();
    stream.extend(req(&encode::read_class0123(1)));
    stream.extend([0x05, 0x05, 0x64, 0x00]);
    stream.extend(req(&encode::read_class0123(2)));
    let r = feed(Transport::Tcp, &[(S, stream)]);
    assert_eq!(r.dnp3().len(), 2);
    // "hello world": one resync; the lone 0x05: a second run; "05 64 00..": a header
    // whose CRC fails (its tail is skipped without another report).
    assert_eq!(r.anomalies(), vec!["resync", "resync", "bad_crc"]);
}

#[test]
fn gap_drops_partial_state() {
    let whole = req(&encode::read_class0123(1));
    let mut p = (dnp3::DESC.new_parser)(Transport::Tcp);
    let mut out = Vec::new();
    p.parse(S, &whole[..12], 0, &mut out);
    p.gap(S, 100, 1, &mut out);
    p.parse(S, &whole[12..], 2, &mut out);
    p.parse(S, &req(&encode::read_class0123(2)), 3, &mut out);
    p.finish(4, &mut out);
    let seqs: Vec<Option<u8>> = out
        .iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Dnp3(d) => Some(d.sequence),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(seqs, vec![Some(2)]);
}

#[test]
fn udp_datagrams_stand_alone() {
    let frame = req(&encode::read_class0123(1));
    let r = feed(
        Transport::Udp,
        &[
            (S, frame[..15].to_vec()),
            (S, frame[15..].to_vec()),
            (S, frame.clone()),
        ],
    );
    assert_eq!(r.dnp3().len(), 1);
    assert_eq!(r.anomalies(), vec!["truncated", "resync"]);
}

#[test]
fn finish_reports_a_partial_frame() {
    let frame = req(&encode::read_class0123(1));
    let r = feed(Transport::Tcp, &[(S, frame[..20].to_vec())]);
    assert!(r.dnp3().is_empty());
    assert_eq!(r.anomalies(), vec!["truncated"]);
}

#[test]
fn unknown_object_keeps_headers_seen() {
    let frag = Fragment::response(129, 0, 0)
        .range8(30, 2, 0, 0)
        .raw(&[0x01, 0x05, 0x00])
        .range8(99, 9, 0, 0)
        .raw(&[1, 2, 3])
        .build();
    let r = feed(Transport::Tcp, &[(C, rsp(&frag))]);
    let t = r.dnp3()[0];
    assert_eq!(t.response_objects.len(), 2);
    assert_eq!(t.response_points.len(), 1);
    assert_eq!(r.anomalies(), vec!["unknown_object_size"]);
}

#[test]
fn too_many_points_is_bounded() {
    // 4000 binary inputs packed in 500 octets: decoding stops at MAX_POINTS.
    let frag = Fragment::response(129, 0, 0)
        .range16(1, 1, 0, 3999)
        .raw(&[0xAA; 500])
        .build();
    let r = feed(Transport::Tcp, &[(C, rsp(&frag))]);
    assert_eq!(r.dnp3()[0].response_points.len(), dnp3::MAX_POINTS);
    assert_eq!(r.anomalies(), vec!["too_many_points"]);
}

#[test]
fn wrong_client_guess_still_pairs() {
    // The engine guessed the outstation as client: requests arrive as ToClient.
    let r = feed(
        Transport::Udp,
        &[
            (C, req(&encode::read_class0123(9))),
            (S, rsp(&Fragment::response(129, 9, 0).build())),
        ],
    );
    let t = r.dnp3();
    assert_eq!(t.len(), 1);
    assert!(t[0].request && t[0].response);
    assert_eq!(r.txns()[0].dir, C);
}
