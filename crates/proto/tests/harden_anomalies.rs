//! Absurd nesting and declared lengths in BACnet, MMS and TLS (issue 6): each is
//! reported as an anomaly (`nesting_too_deep`, `bad_length`, `record_too_long`,
//! `handshake_too_long`) through the parser's outputs, the message or the rest of the
//! stream still parses, and the work stays linear in the input.
use sluice_proto::bacnet::encode as be;
use sluice_proto::{bacnet, mms, tls};
use sluice_proto::{Direction, Output, ProtocolDesc, Record, Transport};

mod support;

fn run(desc: &ProtocolDesc, tr: Transport, steps: &[(Direction, Vec<u8>)]) -> Vec<Output> {
    let mut p = (desc.new_parser)(tr);
    let mut out = Vec::new();
    for (i, (d, b)) in steps.iter().enumerate() {
        p.parse(*d, b, i as i64, &mut out);
    }
    p.finish(99, &mut out);
    out
}

fn count(out: &[Output], kind: &str) -> usize {
    support::anomaly_kinds(out)
        .iter()
        .filter(|k| **k == kind)
        .count()
}

fn txns(out: &[Output]) -> usize {
    out.iter().filter(|o| matches!(o, Output::Txn(_))).count()
}

// ---------------------------------------------------------------- BACnet

/// A ReadPropertyMultiple request whose parameters are `depth` nested opening tags.
fn bacnet_nested(invoke: u8, depth: usize) -> Vec<u8> {
    let mut data = be::ctx(0, &be::object_id(be::oid(8, 1)));
    data.extend(std::iter::repeat_n(be::opening(1), depth));
    be::bvlc(0x0A, true, &be::confirmed(invoke, 14, &data))
}

#[test]
fn bacnet_deep_nesting_is_reported_and_the_flow_goes_on() {
    let ok = be::read_property(2, be::oid(8, 1), 77);
    let ack = be::read_property_ack(2, be::oid(8, 1), 77, &be::app(7, b"\0plc"));
    let out = run(
        &bacnet::DESC,
        Transport::Udp,
        &[
            (Direction::ToServer, bacnet_nested(1, 30_000)),
            (Direction::ToServer, ok),
            (Direction::ToClient, ack),
        ],
    );
    assert_eq!(
        count(&out, "nesting_too_deep"),
        1,
        "{:?}",
        support::anomaly_kinds(&out)
    );
    // The deep request is still a (pending, then unanswered) transaction; the next
    // exchange pairs normally.
    assert_eq!(txns(&out), 2, "{out:?}");
    let paired = out.iter().any(|o| match o {
        Output::Txn(t) => {
            matches!(&t.record, Record::Bacnet(b) if b.function == "read_property" && b.response)
        }
        _ => false,
    });
    assert!(paired, "{out:?}");
    // Nesting at the limit is not reported.
    let out = run(
        &bacnet::DESC,
        Transport::Udp,
        &[(
            Direction::ToServer,
            bacnet_nested(1, bacnet::tags::MAX_DEPTH),
        )],
    );
    assert_eq!(
        count(&out, "nesting_too_deep"),
        0,
        "{:?}",
        support::anomaly_kinds(&out)
    );
}

#[test]
fn bacnet_length_past_the_apdu_is_reported() {
    // WriteProperty whose value is a character string declaring 60,000 octets.
    let mut data = be::ctx(0, &be::object_id(be::oid(2, 5)));
    data.extend(be::ctx(1, &be::uint(85)));
    data.push(be::opening(3));
    data.extend([0x75, 0xFE, 0xEA, 0x60, 0, b'a', b'b']);
    let m = be::bvlc(0x0A, true, &be::confirmed(7, 15, &data));
    let out = run(&bacnet::DESC, Transport::Udp, &[(Direction::ToServer, m)]);
    assert_eq!(
        count(&out, "bad_length"),
        1,
        "{:?}",
        support::anomaly_kinds(&out)
    );
    assert_eq!(txns(&out), 1);
    let a = out
        .iter()
        .find_map(|o| match o {
            Output::Anomaly(a) if a.kind == "bad_length" => Some(a),
            _ => None,
        })
        .unwrap();
    assert!(a.message.contains("60000"), "{}", a.message);
    // A valid WriteProperty reports nothing.
    let mut data = be::ctx(0, &be::object_id(be::oid(2, 5)));
    data.extend(be::ctx(1, &be::uint(85)));
    data.push(be::opening(3));
    data.extend(be::app(4, &1.5f32.to_be_bytes()));
    data.push(be::closing(3));
    let m = be::bvlc(0x0A, true, &be::confirmed(7, 15, &data));
    let out = run(&bacnet::DESC, Transport::Udp, &[(Direction::ToServer, m)]);
    assert!(
        support::anomaly_kinds(&out).is_empty(),
        "{:?}",
        support::anomaly_kinds(&out)
    );
}

#[test]
fn bacnet_scan_is_linear() {
    // 1,400 octets of alternating opening/closing tags, 10,000 datagrams: quick.
    let data: Vec<u8> = std::iter::repeat_n([be::opening(1), be::closing(1)], 700)
        .flatten()
        .collect();
    let m = be::bvlc(0x0B, false, &[&[0x10, 0x08][..], &data].concat());
    let steps: Vec<_> = (0..10_000)
        .map(|_| (Direction::ToServer, m.clone()))
        .collect();
    let t = std::time::Instant::now();
    let out = run(&bacnet::DESC, Transport::Udp, &steps);
    assert_eq!(count(&out, "nesting_too_deep"), 0);
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
}

// ---------------------------------------------------------------- MMS

/// `depth` levels of constructed context tag 2 (definite lengths) around `leaf`.
fn nested_ber(depth: usize, leaf: &[u8]) -> Vec<u8> {
    let mut v = leaf.to_vec();
    for _ in 0..depth {
        let n = v.len();
        let mut w = vec![0xa2];
        if n < 0x80 {
            w.push(n as u8);
        } else if n < 0x100 {
            w.extend([0x81, n as u8]);
        } else if n < 0x1_0000 {
            w.extend([0x82, (n >> 8) as u8, n as u8]);
        } else {
            w.extend([0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
        }
        w.extend(v);
        v = w;
    }
    v
}

/// TPKT + COTP DT (EOT) around a bare MMS PDU (no session / presentation).
fn tpkt(pdu: &[u8]) -> Vec<u8> {
    let mut f = vec![3, 0, 0, 0, 2, 0xf0, 0x80];
    f.extend_from_slice(pdu);
    let n = f.len() as u16;
    f[2..4].copy_from_slice(&n.to_be_bytes());
    f
}

/// A confirmed-RequestPDU (invoke id, read of a named variable `v`).
fn mms_read(invoke: u8) -> Vec<u8> {
    // a0 { 02 01 id, a4 { a1 { a0 { 30 { a0 { 80 01 'v' } } } } } }
    let var = [0xa0, 0x03, 0x80, 0x01, b'v'];
    let item = [&[0x30, var.len() as u8][..], &var].concat();
    let list = [&[0xa0, item.len() as u8][..], &item].concat();
    let spec = [&[0xa1, list.len() as u8][..], &list].concat();
    let read = [&[0xa4, spec.len() as u8][..], &spec].concat();
    let body = [&[0x02, 0x01, invoke][..], &read].concat();
    [&[0xa0, body.len() as u8][..], &body].concat()
}

fn mms_pdu(tag: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let mut p = vec![tag, 0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    p.extend_from_slice(body);
    p
}

#[test]
fn mms_deep_nesting_is_reported_once_and_the_stream_goes_on() {
    let deep = tpkt(&mms_pdu(0xa0, &nested_ber(10_000, &[0x80, 1, 0])));
    let mut stream = deep.clone();
    stream.extend(tpkt(&mms_read(9)));
    let steps: Vec<_> = stream
        .chunks(1_400)
        .map(|c| (Direction::ToServer, c.to_vec()))
        .collect();
    let t = std::time::Instant::now();
    let out = run(&mms::DESC, Transport::Tcp, &steps);
    assert!(t.elapsed().as_secs() < 5);
    assert_eq!(
        count(&out, "nesting_too_deep"),
        1,
        "{:?}",
        support::anomaly_kinds(&out)
    );
    assert_eq!(
        count(&out, "bad_pdu"),
        0,
        "{:?}",
        support::anomaly_kinds(&out)
    );
    // The read after it is decoded (unanswered at finish).
    let read = out.iter().any(|o| match o {
        Output::Txn(t) => {
            matches!(&t.record, Record::Mms(m) if m.function == "read" && m.invoke_id == Some(9))
        }
        _ => false,
    });
    assert!(read, "{out:?}");
}

#[test]
fn mms_inner_length_past_its_parent_is_reported() {
    // The read's variable name claims 127 octets inside a 3-octet parent.
    let mut pdu = mms_read(3);
    let at = pdu.iter().rposition(|&b| b == 0x80).unwrap();
    pdu[at + 1] = 127;
    let out = run(
        &mms::DESC,
        Transport::Tcp,
        &[(Direction::ToServer, tpkt(&pdu))],
    );
    assert_eq!(
        count(&out, "bad_length"),
        1,
        "{:?}",
        support::anomaly_kinds(&out)
    );
    // A five-octet length field (4 GiB or more) there.
    let mut pdu = mms_read(3);
    let at = pdu.iter().rposition(|&b| b == 0x80).unwrap();
    pdu.splice(at + 1..at + 2, [0x85, 0xff, 0xff, 0xff, 0xff, 0xff]);
    let out = run(
        &mms::DESC,
        Transport::Tcp,
        &[(Direction::ToServer, tpkt(&pdu))],
    );
    assert_eq!(
        count(&out, "bad_length"),
        1,
        "{:?}",
        support::anomaly_kinds(&out)
    );
    // A well-formed read reports nothing.
    let out = run(
        &mms::DESC,
        Transport::Tcp,
        &[(Direction::ToServer, tpkt(&mms_read(3)))],
    );
    assert!(
        support::anomaly_kinds(&out).is_empty(),
        "{:?}",
        support::anomaly_kinds(&out)
    );
}

// ---------------------------------------------------------------- TLS

fn record(ct: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ct, 3, 3];
    r.extend((body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake(t: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let mut h = vec![t, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    h.extend_from_slice(body);
    h
}

fn client_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([7u8; 32]);
    b.push(0);
    b.extend([0, 2, 0x13, 0x01]);
    b.extend([1, 0]);
    handshake(1, &b)
}

fn server_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([9u8; 32]);
    b.push(0);
    b.extend([0xc0, 0x2f, 0]);
    handshake(2, &b)
}

fn tls_client(out: &[Output]) -> bool {
    out.iter().any(|o| match o {
        Output::Txn(t) => matches!(&t.record, Record::Tls(r) if r.client.is_some()),
        _ => false,
    })
}

#[test]
fn tls_oversized_record_is_reported_skipped_and_parsing_goes_on() {
    // A handshake record declaring 65,535 octets (over 2^14 + 2048), sent in full,
    // then a normal ClientHello.
    let mut stream = vec![22, 3, 1, 0xff, 0xff];
    stream.extend(vec![0x5a; 0xffff]);
    stream.extend(record(22, &client_hello()));
    assert_eq!(
        (tls::DESC.probe)(
            Direction::ToServer,
            &[22, 3, 1, 0xff, 0xff, 1, 0, 0, 0x7c, 3, 3]
        ),
        sluice_proto::Probe::Match
    );
    let steps: Vec<_> = stream
        .chunks(1_000)
        .map(|c| (Direction::ToServer, c.to_vec()))
        .collect();
    let out = run(&tls::DESC, Transport::Tcp, &steps);
    assert_eq!(
        support::anomaly_kinds(&out),
        vec!["record_too_long"],
        "{:?}",
        support::anomaly_kinds(&out)
    );
    assert!(tls_client(&out), "{out:?}");
}

#[test]
fn tls_handshake_claiming_megabytes_is_reported_once_and_skipped() {
    // A ClientHello header declaring 16 MiB - 1, carried by 1,024 full records
    // (16 MiB of handshake octets), then the server's hello: one anomaly, nothing
    // buffered beyond a record, the server's side still decoded.
    let mut first = vec![1, 0xff, 0xff, 0xff];
    first.extend(vec![0x41; 16_384 - 4]);
    let filler = vec![0x41; 16_384];
    let mut steps = vec![(Direction::ToServer, record(22, &first))];
    for _ in 0..1_023 {
        steps.push((Direction::ToServer, record(22, &filler)));
    }
    steps.push((Direction::ToClient, record(22, &server_hello())));
    let out = run(&tls::DESC, Transport::Tcp, &steps);
    assert_eq!(
        count(&out, "handshake_too_long"),
        1,
        "{:?}",
        support::anomaly_kinds(&out)
    );
    let server = out.iter().any(|o| match o {
        Output::Txn(t) => matches!(&t.record, Record::Tls(r) if r.server.is_some()),
        _ => false,
    });
    assert!(server, "{out:?}");
    // After the declared length is skipped, the next handshake message is decoded.
    let mut hs = handshake(1, &vec![0x41; 70_000]);
    hs.extend(client_hello());
    let steps: Vec<_> = hs
        .chunks(16_000)
        .map(|c| (Direction::ToServer, record(22, c)))
        .collect();
    let out = run(&tls::DESC, Transport::Tcp, &steps);
    assert_eq!(
        support::anomaly_kinds(&out),
        vec!["handshake_too_long"],
        "{:?}",
        support::anomaly_kinds(&out)
    );
    assert!(tls_client(&out), "{out:?}");
}

#[test]
fn tls_certificate_list_past_the_handshake_is_reported() {
    // Certificate message: list length 1 MiB in a 10-octet message.
    let cert = handshake(11, &[0x10, 0, 0, 0, 0, 3, 1, 2, 3, 4]);
    let mut sh = server_hello();
    sh.extend(cert);
    let out = run(
        &tls::DESC,
        Transport::Tcp,
        &[
            (Direction::ToServer, record(22, &client_hello())),
            (Direction::ToClient, record(22, &sh)),
        ],
    );
    assert_eq!(
        support::anomaly_kinds(&out),
        vec!["bad_length"],
        "{:?}",
        support::anomaly_kinds(&out)
    );
    // An entry longer than the list.
    let cert = handshake(11, &[0, 0, 7, 0, 0x40, 0, 1, 2, 3, 4]);
    let mut sh = server_hello();
    sh.extend(cert);
    let out = run(
        &tls::DESC,
        Transport::Tcp,
        &[
            (Direction::ToServer, record(22, &client_hello())),
            (Direction::ToClient, record(22, &sh)),
        ],
    );
    assert_eq!(
        support::anomaly_kinds(&out),
        vec!["bad_length"],
        "{:?}",
        support::anomaly_kinds(&out)
    );
}

// ---------------------------------------------------------------- real captures

/// The structural checks raise nothing on the real BACnet, MMS and TLS captures (no
/// false positives): no `nesting_too_deep`, `record_too_long`, `handshake_too_long`,
/// and no `bad_length` from them.
#[test]
fn real_captures_raise_no_structural_anomaly() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let mut seen = 0;
    for (dir, desc) in [
        ("bacnet", &bacnet::DESC),
        ("iec61850-mms", &mms::DESC),
        ("tls", &tls::DESC),
    ] {
        let Ok(files) = std::fs::read_dir(data.join("pcaps").join(dir)) else {
            continue;
        };
        for f in files.flatten() {
            let path = f.path();
            for (_, out) in support::run(desc, &path) {
                seen += txns(&out);
                for o in &out {
                    if let Output::Anomaly(a) = o {
                        let structural = matches!(
                            a.kind,
                            "nesting_too_deep" | "record_too_long" | "handshake_too_long"
                        ) || (a.kind == "bad_length"
                            && (a.message.contains("left in")
                                || a.message.contains("more than four octets")));
                        assert!(!structural, "{}: {a:?}", path.display());
                    }
                }
            }
        }
    }
    println!("{seen} transactions checked");
    assert!(seen > 100, "{seen}");
}
