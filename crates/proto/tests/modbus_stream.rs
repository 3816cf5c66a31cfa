//! Modbus stream behaviour on traffic built with `modbus::encode` (no shared data
//! needed): chunking, pipelining, pairing, unanswered requests, resynchronisation,
//! giving up on non-Modbus streams, gaps, identity.
mod modbus_support;

use modbus_support::*;
use sluice_proto::modbus::encode::{self, Request, Response};
use sluice_proto::modbus::{state, ModbusParser, Table, Written};
use sluice_proto::{Direction, Output, Parser, Side};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn req(tid: u16, unit: u8, r: Request<'_>) -> Vec<u8> {
    encode::request(tid, unit, &r).unwrap()
}

fn resp(tid: u16, unit: u8, r: Response<'_>) -> Vec<u8> {
    encode::response(tid, unit, &r).unwrap()
}

fn feed(steps: &[(Direction, Vec<u8>)]) -> Vec<Output> {
    let mut p = ModbusParser::new();
    let mut out = Vec::new();
    for (i, (dir, data)) in steps.iter().enumerate() {
        p.parse(*dir, data, i as i64 * 1000, &mut out);
    }
    p.finish(1_000_000, &mut out);
    out
}

fn kinds(out: &[Output]) -> Vec<&'static str> {
    anomalies(out).iter().map(|a| a.kind).collect()
}

#[test]
fn pipelined_requests_pair_by_transaction_id() {
    let mut requests = req(
        1,
        1,
        Request::ReadHoldingRegisters {
            address: 0,
            quantity: 2,
        },
    );
    requests.extend(req(
        2,
        1,
        Request::ReadCoils {
            address: 4,
            quantity: 3,
        },
    ));
    requests.extend(req(
        3,
        2,
        Request::WriteSingleRegister {
            address: 5,
            value: 150,
        },
    ));
    // responses out of order, in one chunk
    let mut responses = resp(
        3,
        2,
        Response::WriteSingleRegister {
            address: 5,
            value: 150,
        },
    );
    responses.extend(resp(
        1,
        1,
        Response::ReadHoldingRegisters { values: &[7, 8] },
    ));
    responses.extend(resp(
        2,
        1,
        Response::ReadCoils {
            bits: &[true, false, true, true, true, true, true, true],
        },
    ));
    let out = feed(&[(C, requests), (S, responses)]);
    assert!(kinds(&out).is_empty(), "{:?}", kinds(&out));
    let t = txns(&out);
    assert_eq!(t.len(), 3);
    assert_eq!(
        (t[0].1.transaction_id, t[0].1.values.clone()),
        (3, Some(vec![150]))
    );
    assert_eq!(
        t[0].1.written(),
        vec![Written {
            kind: Table::HoldingRegister,
            address: 5,
            value: 150
        }]
    );
    assert_eq!(t[1].1.values, Some(vec![7, 8]));
    // 8 bits returned, 3 requested: truncated to the request
    assert_eq!(t[2].1.values, Some(vec![1, 0, 1]));
    for (txn, m) in &t {
        assert!(m.request && m.response);
        assert_eq!(txn.dir, C);
        assert_eq!(txn.ts, 0);
        assert_eq!(txn.ts_end, Some(1000));
    }
}

#[test]
fn one_byte_chunks_equal_one_chunk() {
    let mut stream = Vec::new();
    for tid in 0..20u16 {
        stream.extend(req(
            tid,
            1,
            Request::WriteMultipleRegisters {
                address: tid,
                values: &[tid, 2 * tid],
            },
        ));
    }
    stream.extend(b"garbage in the middle of the stream");
    stream.extend(req(
        99,
        1,
        Request::ReadInputRegisters {
            address: 1,
            quantity: 1,
        },
    ));
    let whole = feed(&[(C, stream.clone())]);
    let mut p = ModbusParser::new();
    let mut bytewise = Vec::new();
    for b in &stream {
        p.parse(C, std::slice::from_ref(b), 0, &mut bytewise);
    }
    p.finish(1_000_000, &mut bytewise);
    assert_eq!(whole, bytewise);
    assert_eq!(txns(&whole).len(), 21);
    assert_eq!(kinds(&whole), vec!["bad_protocol_id", "resync"]);
}

#[test]
fn response_without_request_and_function_mismatch() {
    let out = feed(&[
        (S, resp(7, 1, Response::ReadInputRegisters { values: &[1] })),
        (
            C,
            req(
                8,
                1,
                Request::ReadCoils {
                    address: 0,
                    quantity: 1,
                },
            ),
        ),
        (
            S,
            resp(8, 1, Response::ReadHoldingRegisters { values: &[1] }),
        ),
    ]);
    assert_eq!(
        kinds(&out),
        vec!["unexpected_response", "unexpected_response"]
    );
    let t = txns(&out);
    assert_eq!(t.len(), 3);
    assert!(!t[0].1.request && t[0].1.response && t[0].0.dir == S);
    assert_eq!(t[0].1.values, Some(vec![1]));
    // the read coils request is emitted unanswered, the response on its own
    assert_eq!((t[1].1.function_code, t[1].1.response), (1, false));
    assert_eq!((t[2].1.function_code, t[2].1.request), (3, false));
}

#[test]
fn unanswered_requests_are_bounded_and_flushed() {
    let mut stream = Vec::new();
    for tid in 0..(state::MAX_PENDING as u16 + 6) {
        stream.extend(req(
            tid,
            1,
            Request::ReadHoldingRegisters {
                address: 0,
                quantity: 1,
            },
        ));
    }
    let mut p = ModbusParser::new();
    let mut out = Vec::new();
    p.parse(C, &stream, 5, &mut out);
    // 6 given up, oldest first, each with an anomaly
    assert_eq!(kinds(&out), vec!["unanswered_request"; 6]);
    let given_up: Vec<u16> = txns(&out).iter().map(|(_, m)| m.transaction_id).collect();
    assert_eq!(given_up, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(p.pending(), state::MAX_PENDING);
    let mut end = Vec::new();
    p.finish(9, &mut end);
    let t = txns(&end);
    assert_eq!(t.len(), state::MAX_PENDING);
    assert!(t
        .iter()
        .all(|(x, m)| m.request && !m.response && x.ts == 5 && x.ts_end.is_none()));
    // finish is idempotent
    let mut again = Vec::new();
    p.finish(10, &mut again);
    assert!(again.is_empty());
}

#[test]
fn exceptions_and_bad_coil_value() {
    let out = feed(&[
        (
            C,
            req(
                1,
                3,
                Request::Raw {
                    function_code: 5,
                    data: &[0, 1, 0x12, 0x34],
                },
            ),
        ),
        (
            S,
            resp(
                1,
                3,
                Response::Exception {
                    function_code: 5,
                    code: 3,
                },
            ),
        ),
    ]);
    assert_eq!(kinds(&out), vec!["bad_coil_value"]);
    let (_, m) = txns(&out)[0];
    assert_eq!(
        (m.exception, m.exception_name),
        (Some(3), Some("illegal_data_value"))
    );
    assert_eq!(m.values, None);
    assert_eq!(m.data.as_deref(), Some("1234"));
    assert!(m.is_write() && m.written().is_empty());
}

#[test]
fn byte_count_mismatches_never_over_read() {
    // FC16: quantity 3, byte count 6, but only 4 bytes present
    let mut f = req(
        1,
        1,
        Request::Raw {
            function_code: 16,
            data: &[0, 0, 0, 3, 6, 0, 1, 0, 2],
        },
    );
    // FC15: quantity 20 needs 3 bytes, byte count says 1
    f.extend(req(
        2,
        1,
        Request::Raw {
            function_code: 15,
            data: &[0, 0, 0, 20, 1, 0xff],
        },
    ));
    // FC3 response longer than the request's quantity
    let out = feed(&[
        (C, f),
        (
            C,
            req(
                3,
                1,
                Request::ReadHoldingRegisters {
                    address: 0,
                    quantity: 1,
                },
            ),
        ),
        (
            S,
            resp(3, 1, Response::ReadHoldingRegisters { values: &[1, 2] }),
        ),
    ]);
    assert_eq!(kinds(&out), vec!["byte_count_mismatch"; 3]);
    let t: Vec<_> = txns(&out).into_iter().map(|(_, m)| m.clone()).collect();
    let fc16 = t.iter().find(|m| m.function_code == 16).unwrap();
    assert_eq!(fc16.values, Some(vec![1, 2]));
    let fc15 = t.iter().find(|m| m.function_code == 15).unwrap();
    assert_eq!(fc15.values, Some(vec![1; 8]));
}

#[test]
fn device_identification_and_identity() {
    let objects: [(u8, &[u8]); 5] = [
        (0, b"Acme Controls"),
        (1, b"AC-100"),
        (2, b"v2.3.1"),
        (4, b"Acme PLC"),
        (5, b"PLC-100X"),
    ];
    let out = feed(&[
        (
            C,
            req(
                4,
                1,
                Request::ReadDeviceIdentification {
                    read_code: 1,
                    object_id: 0,
                },
            ),
        ),
        (
            S,
            resp(
                4,
                1,
                Response::ReadDeviceIdentification {
                    read_code: 1,
                    conformity_level: 0x81,
                    more_follows: false,
                    next_object_id: 0,
                    objects: &objects,
                },
            ),
        ),
    ]);
    assert!(kinds(&out).is_empty());
    let (_, m) = txns(&out)[0];
    let id = m.device_id.as_ref().unwrap();
    assert_eq!(id.objects.len(), 5);
    assert_eq!(
        (id.objects[3].name, id.objects[3].value.as_str()),
        ("ProductName", "Acme PLC")
    );
    let ident = out
        .iter()
        .find_map(|o| match o {
            Output::Identity(i) => Some(i),
            _ => None,
        })
        .unwrap();
    assert_eq!(ident.source, "modbus.fc43");
    assert_eq!(ident.side, Some(Side::Server));
    assert_eq!(ident.vendor.as_deref(), Some("Acme Controls"));
    assert_eq!(ident.product.as_deref(), Some("Acme PLC"));
    assert_eq!(ident.model.as_deref(), Some("PLC-100X"));
    assert_eq!(ident.firmware.as_deref(), Some("v2.3.1"));
    let json = serde_json::to_value(m).unwrap();
    assert_eq!(json["device_id"]["objects"][0]["name"], "VendorName");
    assert_eq!(json["function"], "encapsulated_interface_transport");
    assert!(json.get("exception").is_none());
}

#[test]
fn file_records_fifo_mask_write() {
    let reads = [sluice_proto::modbus::encode::FileRead {
        file_number: 4,
        record_number: 1,
        record_length: 2,
    }];
    let writes = [sluice_proto::modbus::encode::FileWrite {
        file_number: 4,
        record_number: 7,
        values: &[9, 8],
    }];
    let mut resp20 = encode::frame(5, 1, &[20, 6, 5, 6, 0x0d, 0xfe, 0x00, 0x20]).unwrap();
    resp20.truncate(resp20.len());
    let out = feed(&[
        (C, req(5, 1, Request::ReadFileRecord { records: &reads })),
        (S, resp20),
        (C, req(6, 1, Request::WriteFileRecord { records: &writes })),
        (C, req(7, 1, Request::ReadFifoQueue { address: 0x4d2 })),
        (
            S,
            resp(
                7,
                1,
                Response::ReadFifoQueue {
                    values: &[0x1b8, 0x1284],
                },
            ),
        ),
        (
            C,
            req(
                8,
                1,
                Request::MaskWriteRegister {
                    address: 4,
                    and_mask: 0xf2,
                    or_mask: 0x25,
                },
            ),
        ),
    ]);
    assert!(kinds(&out).is_empty(), "{:?}", kinds(&out));
    let t: Vec<_> = txns(&out).into_iter().map(|(_, m)| m.clone()).collect();
    let r = &t[0].file_records.as_ref().unwrap()[0];
    assert_eq!(
        (r.file_number, r.record_number, r.record_length),
        (Some(4), Some(1), Some(2))
    );
    assert_eq!(r.values, vec![0x0dfe, 0x0020]);
    assert_eq!(
        (t[1].function_code, t[1].quantity, t[1].values.clone()),
        (24, Some(2), Some(vec![0x1b8, 0x1284]))
    );
    // unanswered at finish: write file record and mask write
    let w = t.iter().find(|m| m.function_code == 21).unwrap();
    assert!(w.is_write() && !w.response);
    assert_eq!(w.file_records.as_ref().unwrap()[0].values, vec![9, 8]);
    let m = t.iter().find(|m| m.function_code == 22).unwrap();
    assert_eq!((m.and_mask, m.or_mask), (Some(0xf2), Some(0x25)));
}

#[test]
fn non_modbus_stream_is_given_up_once() {
    let mut p = ModbusParser::new();
    let mut out = Vec::new();
    let http = b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n".repeat(40);
    for chunk in http.chunks(100) {
        p.parse(C, chunk, 0, &mut out);
    }
    p.parse(S, b"HTTP/1.1 400 Bad Request\r\n\r\n", 0, &mut out);
    assert!(p.is_disabled());
    assert!(txns(&out).is_empty());
    assert_eq!(kinds(&out), vec!["bad_protocol_id", "not_modbus"]);
    // nothing more once given up
    let n = out.len();
    p.parse(
        C,
        &req(
            1,
            1,
            Request::ReadCoils {
                address: 0,
                quantity: 1,
            },
        ),
        0,
        &mut out,
    );
    assert_eq!(out.len(), n);
}

#[test]
fn confirmed_stream_resyncs_then_gives_up_after_repeated_garbage() {
    let good = req(
        1,
        1,
        Request::ReadCoils {
            address: 0,
            quantity: 1,
        },
    );
    let mut steps = vec![(C, good.clone())];
    // junk, then a valid frame: one anomaly for the bad header, one resync
    let good2 = req(
        2,
        1,
        Request::ReadCoils {
            address: 0,
            quantity: 1,
        },
    );
    steps.push((
        C,
        [&[0xde, 0xad, 0xbe, 0xef, 0, 1][..], &good2[..]].concat(),
    ));
    let out = feed(&steps);
    assert_eq!(kinds(&out), vec!["bad_protocol_id", "resync"]);
    assert_eq!(txns(&out).len(), 2);
    // 8 x 260 bytes of noise without a plausible header: given up
    let mut p = ModbusParser::new();
    let mut out = Vec::new();
    p.parse(C, &good, 0, &mut out);
    let noise: Vec<u8> = (0..(state::MAX_BAD_CONFIRMED as usize + 1) * state::SCAN_BUDGET)
        .map(|i| (i as u8).wrapping_mul(31) | 1)
        .collect();
    p.parse(C, &noise, 0, &mut out);
    assert!(p.is_disabled());
    assert_eq!(kinds(&out).last(), Some(&"not_modbus"));
    assert_eq!(
        kinds(&out).iter().filter(|k| **k == "not_modbus").count(),
        1
    );
}

#[test]
fn gap_drops_the_partial_frame() {
    let a = req(
        1,
        1,
        Request::ReadHoldingRegisters {
            address: 0,
            quantity: 4,
        },
    );
    let b = req(
        2,
        1,
        Request::ReadHoldingRegisters {
            address: 8,
            quantity: 4,
        },
    );
    let mut p = ModbusParser::new();
    let mut out = Vec::new();
    p.parse(C, &a[..5], 0, &mut out);
    p.gap(C, 7, 1, &mut out);
    p.parse(C, &b, 2, &mut out);
    p.finish(3, &mut out);
    assert!(kinds(&out).is_empty());
    let t = txns(&out);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].1.transaction_id, 2);
}

#[test]
fn truncated_frame_at_end_of_flow() {
    let a = req(
        1,
        1,
        Request::ReadHoldingRegisters {
            address: 0,
            quantity: 4,
        },
    );
    let out = feed(&[(C, a[..9].to_vec())]);
    assert_eq!(kinds(&out), vec!["truncated_pdu"]);
    assert!(txns(&out).is_empty());
}

#[test]
fn dangerous_diagnostics() {
    let out = feed(&[
        (
            C,
            req(
                1,
                1,
                Request::Diagnostics {
                    sub_function: 4,
                    data: &[0, 0],
                },
            ),
        ),
        (
            C,
            req(
                2,
                1,
                Request::Diagnostics {
                    sub_function: 1,
                    data: &[0xff, 0],
                },
            ),
        ),
        (
            C,
            req(
                3,
                1,
                Request::Diagnostics {
                    sub_function: 0,
                    data: b"ping",
                },
            ),
        ),
        (
            S,
            resp(
                3,
                1,
                Response::Diagnostics {
                    sub_function: 0,
                    data: b"ping",
                },
            ),
        ),
    ]);
    let t: Vec<_> = txns(&out).into_iter().map(|(_, m)| m.clone()).collect();
    let d: Vec<_> = t
        .iter()
        .map(|m| (m.sub_function_name.unwrap(), m.is_dangerous()))
        .collect();
    assert!(d.contains(&("force_listen_only_mode", true)));
    assert!(d.contains(&("restart_communications_option", true)));
    assert!(d.contains(&("return_query_data", false)));
    let echo = t.iter().find(|m| m.sub_function == Some(0)).unwrap();
    assert_eq!(echo.data.as_deref(), Some("70696e67"));
}

#[test]
fn probe_finds_modbus_by_content() {
    let desc = &sluice_proto::modbus::DESC;
    let f = req(
        1,
        1,
        Request::ReadHoldingRegisters {
            address: 0,
            quantity: 4,
        },
    );
    assert_eq!((desc.probe)(C, &f), sluice_proto::Probe::Match);
    assert_eq!((desc.probe)(C, &f[..7]), sluice_proto::Probe::NeedMore);
    assert_eq!(
        (desc.probe)(
            S,
            &resp(
                1,
                1,
                Response::ReadHoldingRegisters {
                    values: &[1, 2, 3, 4]
                }
            )
        ),
        sluice_proto::Probe::Match
    );
    // a DNP3 request (link header 05 64) and an HTTP request
    assert_eq!(
        (desc.probe)(C, &hex("0564 0bc4 0100 0004 2a3b c0c1 01")),
        sluice_proto::Probe::NoMatch
    );
    assert_eq!(
        (desc.probe)(C, b"POST /api HTTP/1.1\r\n"),
        sluice_proto::Probe::NoMatch
    );
}
