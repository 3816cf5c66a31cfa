//! Modbus parser on real captures from `../shared/data`: field values per function
//! code, checked against what tshark decodes from the same bytes (values verified
//! once with `tshark -T fields -e modbus.* ...` and written down here).
mod modbus_support;

use modbus_support::*;
use sluice_proto::modbus::{Table, Transaction, Written};
use sluice_proto::{Direction, Output, Side};

type Flows = Vec<(Flow, Vec<Output>)>;

fn flow(res: &Flows, client_port: u16) -> &[Output] {
    &res.iter()
        .find(|(f, _)| f.client.1 == client_port)
        .unwrap_or_else(|| panic!("no flow from port {client_port}"))
        .1
}

fn get(out: &[Output], tid: u16, unit: u8, fc: u8) -> &Transaction {
    txns(out)
        .into_iter()
        .map(|(_, m)| m)
        .find(|m| m.transaction_id == tid && m.unit_id == unit && m.function_code == fc)
        .unwrap_or_else(|| panic!("no transaction {tid}/{unit}/{fc}"))
}

fn bits(s: &str) -> Vec<u16> {
    s.chars().map(|c| u16::from(c == '1')).collect()
}

#[test]
fn pymodbus_reads() {
    let Some(res) = run_capture("pcaps/stacks/modbus.pcap") else {
        return;
    };
    let out = flow(&res, 55924);
    // frames 10/11: read coils 43..59, all off
    let t = get(out, 3, 1, 1);
    assert_eq!(
        (t.function, t.address, t.quantity),
        ("read_coils", Some(43), Some(16))
    );
    assert_eq!(t.values, Some(vec![0; 16]));
    assert_eq!(t.byte_count, Some(2));
    assert!(t.request && t.response && !t.is_write());
    // frames 20/21: read discrete inputs 9..25 = 0x55 0x55
    let t = get(out, 8, 1, 2);
    assert_eq!((t.address, t.quantity), (Some(9), Some(16)));
    assert_eq!(t.values, Some(bits("1010101010101010")));
    // frames 4/6: read holding registers 21..31 = 21..30
    let t = get(out, 1, 1, 3);
    assert_eq!(
        (t.address, t.quantity, t.byte_count),
        (Some(21), Some(10), Some(20))
    );
    assert_eq!(t.values, Some((21..=30).collect()));
    // frames 8/9: read input registers 93..113 = 279, 282, ... 336
    let t = get(out, 2, 1, 4);
    assert_eq!(
        (t.address, t.quantity, t.byte_count),
        (Some(93), Some(20), Some(40))
    );
    assert_eq!(t.values, Some((0..20).map(|i| 279 + 3 * i).collect()));
    // frames 52/53: unit 17, read input registers 40..48
    let t = get(out, 24, 17, 4);
    assert_eq!((t.address, t.quantity), (Some(40), Some(8)));
    assert_eq!(
        t.values,
        Some(vec![0x78, 0x7b, 0x7e, 0x81, 0x84, 0x87, 0x8a, 0x8d])
    );
}

#[test]
fn pymodbus_writes() {
    let Some(res) = run_capture("pcaps/stacks/modbus.pcap") else {
        return;
    };
    let out = flow(&res, 55924);
    // frames 114/115: write single coil 125 on, unit 17
    let t = get(out, 55, 17, 5);
    assert_eq!(
        (t.function, t.address, t.values.clone()),
        ("write_single_coil", Some(125), Some(vec![1]))
    );
    assert!(t.is_write());
    assert_eq!(
        t.written(),
        vec![Written {
            kind: Table::Coil,
            address: 125,
            value: 1
        }]
    );
    // frames 12/13: write single register 97 = 0x27c8
    let t = get(out, 4, 1, 6);
    assert_eq!(
        (t.address, t.values.clone()),
        (Some(97), Some(vec![0x27c8]))
    );
    // frames 48/49: write multiple registers 50..53 = 43372, 984, 48571
    let t = get(out, 22, 1, 16);
    assert_eq!(
        (t.address, t.quantity, t.byte_count),
        (Some(50), Some(3), Some(6))
    );
    assert_eq!(t.values, Some(vec![43372, 984, 48571]));
    let w = t.written();
    assert_eq!(w.len(), 3);
    assert_eq!(
        w[2],
        Written {
            kind: Table::HoldingRegister,
            address: 52,
            value: 48571
        }
    );
    // frames 302/303: write multiple coils 89..99, data 0x20 0x00 (only coil 94 on)
    let t = get(out, 149, 17, 15);
    assert_eq!(
        (t.address, t.quantity, t.byte_count),
        (Some(89), Some(10), Some(2))
    );
    assert_eq!(t.values, Some(bits("0000010000")));
    assert_eq!(
        t.written()
            .iter()
            .filter(|w| w.value == 1)
            .map(|w| w.address)
            .collect::<Vec<_>>(),
        vec![94]
    );
    // frames 162/163: read/write multiple registers: write 20..23 = 1,2,3; read 10..14
    let t = get(out, 79, 1, 23);
    assert_eq!(t.function, "read_write_multiple_registers");
    assert_eq!((t.read_address, t.read_quantity), (Some(10), Some(4)));
    assert_eq!((t.write_address, t.write_quantity), (Some(20), Some(3)));
    assert_eq!(t.write_values, Some(vec![1, 2, 3]));
    assert_eq!(t.values, Some(vec![10, 11, 12, 13]));
    assert_eq!(t.byte_count, Some(8));
    assert_eq!(
        t.written()
            .iter()
            .map(|w| (w.address, w.value))
            .collect::<Vec<_>>(),
        vec![(20, 1), (21, 2), (22, 3)]
    );
}

#[test]
fn pymodbus_diagnostics_mei_exceptions() {
    let Some(res) = run_capture("pcaps/stacks/modbus.pcap") else {
        return;
    };
    let out = flow(&res, 55924);
    // frames 104/105: diagnostics, return diagnostic register, unit 17
    let t = get(out, 50, 17, 8);
    assert_eq!(t.sub_function, Some(2));
    assert_eq!(t.sub_function_name, Some("return_diagnostic_register"));
    assert_eq!(t.data.as_deref(), Some("0000"));
    assert!(!t.is_dangerous());
    // frames 184/185: read device identification, basic, unit 2: conformity 0x83, no objects
    let t = get(out, 90, 2, 43);
    assert_eq!(t.mei_type, Some(14));
    let id = t.device_id.as_ref().expect("device id");
    assert_eq!(
        (id.read_code, id.object_id, id.conformity_level),
        (1, Some(0), Some(0x83))
    );
    assert_eq!((id.more_follows, id.next_object_id), (Some(false), Some(0)));
    assert!(id.objects.is_empty());
    // frame 65: exception 2 to write single register, unit 2
    let t = get(out, 30, 2, 6);
    assert_eq!(
        (t.exception, t.exception_name),
        (Some(2), Some("illegal_data_address"))
    );
    assert!(t.request && t.response);
    // no identity without objects; no anomaly on this clean capture
    for (_, out) in &res {
        assert!(anomalies(out).is_empty(), "{:?}", anomalies(out));
        assert!(!out.iter().any(|o| matches!(o, Output::Identity(_))));
    }
}

#[test]
fn pymodbus_every_message_paired() {
    let Some(res) = run_capture("pcaps/stacks/modbus.pcap") else {
        return;
    };
    // tshark counts 3214 Modbus PDUs, request + response for every transaction
    let mut n = 0;
    let mut units = std::collections::BTreeSet::new();
    for (_, out) in &res {
        for (txn, m) in txns(out) {
            assert!(m.request && m.response, "{m:?}");
            assert_eq!(txn.dir, Direction::ToServer);
            assert!(txn.ts_end.unwrap() >= txn.ts);
            units.insert(m.unit_id);
            n += 1;
        }
    }
    assert_eq!(n * 2, 3214);
    assert_eq!(units.into_iter().collect::<Vec<_>>(), vec![1, 2, 17]);
}

#[test]
fn digitalbond_diagnostics_and_server_id() {
    let Some(res) = run_capture("pcaps/modbus/modbus-digitalbond-test-data-part1.pcap") else {
        return;
    };
    let out = flow(&res, 2578);
    let t: Vec<_> = txns(out).into_iter().map(|(_, m)| m).collect();
    let subs: Vec<_> = t
        .iter()
        .filter(|m| m.function_code == 8)
        .map(|m| (m.sub_function.unwrap(), m.exception))
        .collect();
    // frames 8-27: force listen only x3 (exception 0x0B), restart x3 (first refused), clear counters x2
    assert_eq!(
        subs,
        vec![
            (4, Some(11)),
            (4, Some(11)),
            (4, Some(11)),
            (1, Some(11)),
            (1, None),
            (1, None),
            (10, None),
            (10, None)
        ]
    );
    assert!(t
        .iter()
        .filter(|m| m.function_code == 8)
        .take(6)
        .all(|m| m.is_dangerous()));
    assert_eq!(t[0].sub_function_name, Some("force_listen_only_mode"));
    assert_eq!(
        t[0].exception_name,
        Some("gateway_target_device_failed_to_respond")
    );
    // frames 40/41: report server id: id 0, running, "Wingpath Limited"
    let s = get(out, 0, 10, 17);
    let sid = s.server_id.as_ref().unwrap();
    assert_eq!(
        (sid.id, sid.run_indicator, s.byte_count),
        (0, Some(true), Some(18))
    );
    assert_eq!(sid.text.as_deref(), Some("Wingpath Limited"));
    assert_eq!(s.data.as_deref(), Some("57696e6770617468204c696d69746564"));
    let ids: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Identity(i) => Some(i),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0].source, "modbus.fc17");
    assert_eq!(ids[0].side, Some(Side::Server));
    assert_eq!(ids[0].name.as_deref(), Some("Wingpath Limited"));
    // flow 2579: two FC43 requests never answered (same transaction id)
    let out = flow(&res, 2579);
    let t = txns(out);
    assert_eq!(t.len(), 2);
    assert!(t
        .iter()
        .all(|(x, m)| m.request && !m.response && x.ts_end.is_none()));
    assert_eq!(t[0].1.device_id.as_ref().unwrap().read_code, 3);
    assert_eq!(
        anomalies(out)
            .iter()
            .filter(|a| a.kind == "unanswered_request")
            .count(),
        1
    );
    // flow 2585: 0x8804 length then protocol id 0x0010: reported, then given up
    let out = flow(&res, 2585);
    assert!(txns(out).is_empty());
    let kinds: Vec<_> = anomalies(out).iter().map(|a| a.kind).collect();
    assert_eq!(kinds, vec!["bad_length", "not_modbus"]);
    // flow 4446: responses with no request, each an event of its own (the FC42 one
    // declares 5 bytes: its last 3 bytes and the repeat that follows are skipped)
    let out = flow(&res, 4446);
    let t = txns(out);
    assert_eq!(t.len(), 11);
    assert!(t
        .iter()
        .all(|(x, m)| !m.request && m.response && x.dir == Direction::ToClient));
    assert_eq!(t[0].1.exception, Some(6));
    assert_eq!(t[5].1.exception, Some(5));
    assert_eq!(
        (t[10].1.function, t[10].1.data.as_deref()),
        ("unknown-42", Some("0e0401"))
    );
    assert_eq!(
        anomalies(out)
            .iter()
            .filter(|a| a.kind == "unexpected_response")
            .count(),
        11
    );
}

#[test]
fn digitalbond_function_code_sweep() {
    let Some(res) = run_capture("pcaps/modbus/modbus-digitalbond-test-data-part2.pcap") else {
        return;
    };
    let out = flow(&res, 2582);
    let t: Vec<_> = txns(out).into_iter().map(|(_, m)| m).collect();
    // one transaction per function code 0..=127, then the read coils probes
    for fc in 0..=127u8 {
        assert!(t.iter().any(|m| m.function_code == fc), "function {fc}");
    }
    // frame 25/27: read exception status = 0x15
    assert_eq!(get(out, 0, 1, 7).status, Some(0x15));
    // frames 62/63: mask write register with 4 data bytes: truncated, still paired
    let m = get(out, 0, 1, 22);
    assert_eq!((m.exception, m.and_mask), (Some(3), None));
    assert!(m.request && m.response && m.is_write());
    let a = anomalies(out);
    assert!(a
        .iter()
        .any(|a| a.kind == "truncated_pdu" && a.message.contains("function 22")));
    assert!(a
        .iter()
        .any(|a| a.kind == "truncated_pdu" && a.message.contains("function 23")));
    // user defined and unknown names
    assert_eq!(get(out, 0, 1, 65).function, "user-defined-65");
    assert_eq!(get(out, 0, 1, 9).function, "unknown-9");
    assert_eq!(get(out, 0, 1, 90).function, "umas");
    // frames 318/320: read coils 0..8 = 0x15
    let r: Vec<_> = t
        .iter()
        .filter(|m| m.function_code == 1 && m.exception.is_none() && m.quantity == Some(8))
        .collect();
    assert_eq!(r[0].values, Some(bits("10101000")));
}

#[test]
fn fc23_length_mismatch_is_not_over_read() {
    let Some(res) = run_capture("pcaps/modbus/modbus-zeek-4sics-length-mismatch.pcap") else {
        return;
    };
    let out = &res[0].1;
    let t = get(out, 11, 1, 23);
    assert_eq!(
        (t.write_address, t.write_quantity),
        (Some(0xdf), Some(0x2112))
    );
    // 191 declared bytes: 95 whole registers, nothing past the frame
    assert_eq!(t.write_values.as_ref().map(Vec::len), Some(95));
    assert_eq!(t.write_values.as_ref().unwrap()[0], 0xcfed);
    assert_eq!(
        (t.exception, t.exception_name),
        (Some(0x0a), Some("gateway_path_unavailable"))
    );
    let a = anomalies(out);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].kind, "byte_count_mismatch");
}

#[test]
fn read_device_identification_4sics() {
    let Some(res) = run_capture("pcaps/modbus/modbus-zeek-4sics-eit.pcap") else {
        return;
    };
    let t = get(flow(&res, 54297), 0, 0, 43);
    let id = t.device_id.as_ref().unwrap();
    assert_eq!(
        (id.read_code, id.conformity_level, id.next_object_id),
        (1, Some(0), Some(0xb7))
    );
    let t = get(flow(&res, 54298), 0, 255, 43);
    assert_eq!(
        (t.exception, t.exception_name),
        (Some(4), Some("server_device_failure"))
    );
}

#[test]
fn modicon_umas() {
    let Some(res) = run_capture("pcaps/modbus/modbus-iti-modicon.pcap") else {
        return;
    };
    let out = &res[0].1;
    let t: Vec<_> = txns(out).into_iter().map(|(_, m)| m).collect();
    assert_eq!(t.len(), 90);
    assert!(t
        .iter()
        .all(|m| m.function == "umas" && m.request && m.response));
    // frames 4/6: UMAS read id, status 0xfe (ok)
    assert_eq!(
        (t[0].sub_function, t[0].sub_function_name, t[0].status),
        (Some(2), Some("read_id"), Some(0xfe))
    );
    // 53 program download blocks (0x34) read from the PLC: not a write to it
    assert_eq!(
        t.iter()
            .filter(|m| m.sub_function_name == Some("download_block"))
            .count(),
        53
    );
    assert!(t.iter().all(|m| !m.is_dangerous() && !m.is_write()));
    // two 261-byte frames (MBAP length 255) are reported but parsed in place
    let a = anomalies(out);
    assert_eq!(a.len(), 2);
    assert!(a
        .iter()
        .all(|a| a.kind == "bad_length" && a.message.contains("255")));
}

#[test]
fn pipelined_requests_in_one_segment() {
    let Some(res) = run_capture("pcaps/modbus/modbus-iti-modbus-test.pcap") else {
        return;
    };
    // one segment carries two write single register requests (tshark: "6,6")
    let all: Vec<_> = res
        .iter()
        .flat_map(|(_, o)| txns(o))
        .map(|(_, m)| m.clone())
        .collect();
    let paired = all.iter().filter(|m| m.request && m.response).count();
    let fc6 = all.iter().filter(|m| m.function_code == 6).count();
    assert_eq!(paired, 1113);
    assert_eq!(fc6, 65);
}

#[test]
fn coils_against_zeek_events() {
    let Some(res) = run_capture("pcaps/modbus/modbus-zeek-coils-small.pcap") else {
        return;
    };
    let Some(dir) = data_dir() else { return };
    let text =
        std::fs::read_to_string(dir.join("expected/zeek/modbus-zeek-coils-small.event-counts.txt"))
            .unwrap();
    let mut checked = 0;
    for line in text.lines() {
        let Some(port) = line
            .split("orig_p=")
            .nth(1)
            .and_then(|s| s.split('/').next())
        else {
            continue;
        };
        let port: u16 = port.parse().unwrap();
        let list = line.rsplit_once('[').map(|(_, l)| l.trim_end_matches(']'));
        let zeek_bits: Vec<u16> = list
            .map(|l| {
                l.split(", ")
                    .filter(|s| !s.is_empty())
                    .map(|b| u16::from(b.trim() == "T"))
                    .collect()
            })
            .unwrap_or_default();
        let out = flow(&res, port);
        if line.contains("modbus_read_coils_response") {
            // Zeek reports all 8 bits of the byte; we keep the 3 requested
            let t = get(out, 1, 1, 1);
            assert_eq!(t.quantity, Some(3));
            assert_eq!(t.values.as_deref(), zeek_bits.get(..3));
            checked += 1;
        } else if line.contains("modbus_write_multiple_coils_request") {
            let t = get(out, 1, 1, 15);
            assert_eq!(t.address, Some(0));
            assert_eq!(t.values.as_deref(), Some(&zeek_bits[..]));
            checked += 1;
        } else if line.contains("modbus_read_coils_request") {
            let t = get(out, 1, 1, 1);
            assert_eq!((t.address, t.quantity), (Some(0), Some(3)));
            checked += 1;
        }
    }
    assert_eq!(checked, 24);
}

#[test]
fn large_capture_runs_clean() {
    let Some(res) = run_capture("pcaps/modbus/modbus-iti-modbustcp-large.pcap") else {
        return;
    };
    let all: Vec<_> = res
        .iter()
        .flat_map(|(_, o)| txns(o))
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(all.len(), 7993);
    let paired = all.iter().filter(|m| m.request && m.response).count();
    assert!(paired * 100 / all.len() >= 99);
    for m in all.iter().filter(|m| m.function_code == 15 && m.request) {
        assert_eq!(m.values.as_ref().map(Vec::len), m.quantity.map(usize::from));
    }
}
