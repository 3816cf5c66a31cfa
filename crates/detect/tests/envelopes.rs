//! Safety envelopes on every written value, beyond Modbus and DNP3: S7 write var, IEC 104
//! setpoints and commands, CIP tag writes, BACnet WriteProperty of present-value. Each
//! record comes from the real parser fed with encoded protocol bytes, then goes through
//! the detector with a site policy whose envelopes name those points.
use serde_json::Value;
use sluice_detect::{Detector, DetectorConfig, RuleSet};
use sluice_engine::event::{AlertRecord, Body, Event, Kind};
use sluice_flow::Endpoint;
use sluice_policy::Policy;
use sluice_proto::{bacnet, dnp3, enip, iec104, s7comm};
use sluice_proto::{Direction, Output, Parser, Record, Transport};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_612_530_000 * SEC;
const HMI: &str = "10.10.2.20";
const S7PLC: &str = "10.10.1.20";
const LOGIX: &str = "10.10.1.30";
const RTU: &str = "10.10.1.40";
const BMS: &str = "10.10.1.50";
const OUTSTATION: &str = "10.10.1.60";

const POLICY: &str = r#"
[[zone]]
name = "control"
level = 1
cidrs = ["10.10.1.0/24"]
[[zone]]
name = "supervisory"
level = 2
cidrs = ["10.10.2.0/24"]
[[conduit]]
name = "hmi-to-plc"
from = "supervisory"
to = "control"
protocols = ["s7comm", "iec104", "enip", "bacnet"]
access = "read-write"
clients = ["10.10.2.20"]

# S7: dosing rate, REAL at DB1.DBD8
[[envelope]]
device = "10.10.1.20"
unit = 1
register = 8
min = 0
max = 10
max_step = 1

# IEC 104: chlorine setpoint, common address 1, IOA 5001
[[envelope]]
device = "10.10.1.40"
unit = 1
register = 5001
min = 50
max = 200
max_step = 50

# IEC 104: the intake valve (double command, IOA 6001) may only be closed remotely (1 = OFF)
[[envelope]]
device = "10.10.1.40"
unit = 1
register = 6001
min = 1
max = 1

# CIP: a scalar tag and an array tag, by name
[[envelope]]
name = "NaOH_Setpoint"
device = "10.10.1.30"
register = 0
min = 50
max = 200
[[envelope]]
name = "PumpSpeed"
device = "10.10.1.30"
register = "0-3"
min = 0
max = 1500

# DNP3: analog output 5 of outstation 0 (not of outstation 256 or 257)
[[envelope]]
device = "10.10.1.60"
unit = 0
register = 5
min = 50
max = 200

# BACnet: analog-value 7 (object type 2), a temperature setpoint
[[envelope]]
device = "10.10.1.50"
unit = 2
register = 7
min = 15
max = 30
max_step = 5
"#;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn detector() -> Detector {
    let mut cfg = DetectorConfig::new(RuleSet::builtin().unwrap());
    cfg.policy = Some(Arc::new(
        Policy::from_str(POLICY, Path::new("site.toml")).unwrap(),
    ));
    Detector::new(cfg)
}

/// Feeds `msgs` to a fresh parser of `desc`; returns the records.
fn parse(
    desc: &sluice_proto::ProtocolDesc,
    transport: Transport,
    msgs: &[(Direction, Vec<u8>)],
) -> Vec<Record> {
    let mut p: Box<dyn Parser> = (desc.new_parser)(transport);
    let mut out = Vec::new();
    for (i, (d, b)) in msgs.iter().enumerate() {
        p.parse(*d, b, T0 + i as i64, &mut out);
    }
    p.finish(T0 + SEC, &mut out);
    out.into_iter()
        .filter_map(|o| match o {
            Output::Txn(t) => Some(t.record),
            _ => None,
        })
        .collect()
}

struct Flow {
    uid: u64,
    server: &'static str,
    port: u16,
    transport: &'static str,
    protocol: &'static str,
}

fn observe(d: &mut Detector, f: &Flow, at: i64, records: Vec<Record>, out: &mut Vec<Event>) {
    for (i, record) in records.into_iter().enumerate() {
        let ts = T0 + at * SEC + i as i64 * 1_000_000;
        let ev = Event {
            ts,
            kind: Kind::Event,
            flow_uid: Some(f.uid),
            seq: (at * 100) as u32 + i as u32,
            src: Some(Endpoint {
                ip: ip(HMI),
                port: 49_800,
            }),
            dst: Some(Endpoint {
                ip: ip(f.server),
                port: f.port,
            }),
            src_mac: None,
            dst_mac: None,
            transport: Some(f.transport),
            protocol: Some(f.protocol),
            body: Body::Txn {
                ts_end: Some(ts + 500_000),
                record,
            },
        };
        d.observe(&ev, out);
    }
}

fn alerts(out: &[Event]) -> Vec<&AlertRecord> {
    out.iter()
        .filter_map(|e| match &e.body {
            Body::Alert(a) => Some(&**a),
            _ => None,
        })
        .collect()
}

fn breaches(out: &[Event]) -> Vec<(String, f64, Value, String)> {
    let mut v: Vec<_> = alerts(out)
        .into_iter()
        .filter(|a| a.rule_id == "SLC-ENV-001")
        .map(|a| {
            (
                a.details["point"].as_str().unwrap().to_string(),
                a.details["new_value"].as_f64().unwrap(),
                a.details["old_value"].clone(),
                a.details["breach"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

// ---------------------------------------------------------------------------------
// S7
// ---------------------------------------------------------------------------------

fn s7_write(pdu_ref: u16, db: u16, byte: u32, tsize: u8, data: &[u8], count: u16) -> Vec<Record> {
    use s7comm::encode::{self as enc, Var};
    let var = Var {
        transport_size: tsize,
        count,
        db,
        area: 0x84,
        byte,
        bit: 0,
    };
    let req = enc::pdu(
        1,
        pdu_ref,
        None,
        &enc::var_param(5, &[var]),
        &enc::data_items(&[(0x00, enc::data_transport_size(tsize), data)]),
    );
    let ack = enc::pdu(3, pdu_ref, Some((0, 0)), &[5, 1], &[0xff]);
    parse(
        &s7comm::DESC,
        Transport::Tcp,
        &[
            (Direction::ToServer, enc::dt(&req, true)),
            (Direction::ToClient, enc::dt(&ack, true)),
        ],
    )
}

#[test]
fn s7_write_var_values_are_enveloped_by_data_block_and_byte() {
    let mut d = detector();
    let mut out = Vec::new();
    let f = Flow {
        uid: 1,
        server: S7PLC,
        port: 102,
        transport: "tcp",
        protocol: "s7comm",
    };
    // REAL (transport size 8) writes to DB1.DBD8: 7.2, 7.9 (inside), then 12.5.
    for (i, v) in [7.2f32, 7.9, 12.5].into_iter().enumerate() {
        let r = s7_write(i as u16 + 1, 1, 8, 8, &v.to_be_bytes(), 1);
        assert_eq!(r.len(), 1, "one write var transaction");
        observe(&mut d, &f, i as i64, r, &mut out);
    }
    // The same REAL written as a raw byte array (python-snap7's db_write): not a value.
    observe(
        &mut d,
        &f,
        5,
        s7_write(9, 1, 8, 2, &99.5f32.to_be_bytes(), 4),
        &mut out,
    );
    // Another data block: no envelope.
    observe(
        &mut d,
        &f,
        6,
        s7_write(10, 2, 8, 8, &500f32.to_be_bytes(), 1),
        &mut out,
    );
    d.finish(&mut out);
    let b = breaches(&out);
    assert_eq!(b.len(), 1, "{b:?}");
    let (point, new, old, kind) = &b[0];
    assert_eq!(point, "DB1.DBD8");
    assert!((new - 12.5).abs() < 1e-6);
    assert!((old.as_f64().unwrap() - 7.9).abs() < 1e-5);
    assert_eq!(kind, "above_max");
    let a = alerts(&out)
        .into_iter()
        .find(|a| a.rule_id == "SLC-ENV-001")
        .unwrap();
    assert_eq!(a.count, 1, "the raw byte array and DB2 are not breaches");
    assert_eq!(a.details["table"], "s7");
    assert_eq!(a.details["unit"], 1);
    assert_eq!(a.details["register"], 8);
    assert!(
        a.explanation
            .starts_with("10.10.2.20 set DB1.DBD8 of 10.10.1.20 to 12.5; it was 7.9"),
        "{}",
        a.explanation
    );
}

#[test]
fn s7_step_breach_on_a_typed_word() {
    let mut d = detector();
    let mut out = Vec::new();
    let f = Flow {
        uid: 2,
        server: S7PLC,
        port: 102,
        transport: "tcp",
        protocol: "s7comm",
    };
    // INT (transport size 5) at DB1.DBW8: 4 then 9 — inside 0..10, a step of 5 > 1.
    observe(
        &mut d,
        &f,
        0,
        s7_write(1, 1, 8, 5, &4i16.to_be_bytes(), 1),
        &mut out,
    );
    observe(
        &mut d,
        &f,
        1,
        s7_write(2, 1, 8, 5, &9i16.to_be_bytes(), 1),
        &mut out,
    );
    d.finish(&mut out);
    let b = breaches(&out);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0].0, "DB1.DBW8");
    assert_eq!(b[0].3, "step_too_large");
    assert_eq!(b[0].2.as_f64(), Some(4.0));
}

// ---------------------------------------------------------------------------------
// IEC 104
// ---------------------------------------------------------------------------------

fn iec104_command(send: u16, type_id: u8, cot: u8, object: &[u8]) -> Vec<Record> {
    use iec104::encode as enc;
    let act = enc::i_frame(
        send,
        0,
        &enc::asdu(type_id, false, 1, cot, false, 0, 1, object),
    );
    let con = enc::i_frame(
        0,
        send + 1,
        &enc::asdu(type_id, false, 1, 7, false, 0, 1, object),
    );
    parse(
        &iec104::DESC,
        Transport::Tcp,
        &[(Direction::ToServer, act), (Direction::ToClient, con)],
    )
}

#[test]
fn iec104_setpoints_and_commands_are_enveloped_by_common_address_and_ioa() {
    use iec104::encode as enc;
    let f = Flow {
        uid: 3,
        server: RTU,
        port: 2404,
        transport: "tcp",
        protocol: "iec104",
    };
    // C_SE_NC_1 (50) float setpoints on IOA 5001: 100 executed, 11100 selected only,
    // then 11100 executed.
    let mut d = detector();
    let mut out = Vec::new();
    let sp = |v: f32, select: bool| enc::float_setpoint(5001, v, select);
    observe(
        &mut d,
        &f,
        0,
        iec104_command(0, 50, 6, &sp(100.0, false)),
        &mut out,
    );
    observe(
        &mut d,
        &f,
        1,
        iec104_command(1, 50, 6, &sp(11_100.0, true)),
        &mut out,
    );
    observe(
        &mut d,
        &f,
        2,
        iec104_command(2, 50, 6, &sp(11_100.0, false)),
        &mut out,
    );
    // A single command on an IOA without envelope.
    observe(
        &mut d,
        &f,
        3,
        iec104_command(3, 45, 6, &enc::single_command(7001, true, false, 0)),
        &mut out,
    );
    d.finish(&mut out);
    let b = breaches(&out);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0].0, "IOA 5001 (common address 1)");
    assert_eq!(b[0].1, 11_100.0);
    assert_eq!(
        b[0].2.as_f64(),
        Some(100.0),
        "the selected value was never executed"
    );
    assert_eq!(alerts(&out)[0].count, 1);
    // C_DC_NA_1 (46) double command on IOA 6001: OFF (1) is allowed, ON (2) is not.
    let mut d = detector();
    let mut out = Vec::new();
    let dc = |dcs: u8| {
        let mut o = enc::ioa(6001).to_vec();
        o.push(dcs);
        o
    };
    observe(&mut d, &f, 0, iec104_command(0, 46, 6, &dc(1)), &mut out);
    observe(&mut d, &f, 1, iec104_command(1, 46, 6, &dc(2)), &mut out);
    d.finish(&mut out);
    let b = breaches(&out);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0].0, "IOA 6001 (common address 1)");
    assert_eq!((b[0].1, b[0].3.as_str()), (2.0, "above_max"));
    assert_eq!(b[0].2.as_f64(), Some(1.0));
}

// ---------------------------------------------------------------------------------
// CIP
// ---------------------------------------------------------------------------------

fn cip_write(ctx: u64, cip: &[u8]) -> Vec<Record> {
    use enip::encode as enc;
    let req = enc::unconnected_send(cip, &[1, 0]);
    let client = [
        enc::register_session([0; 8]),
        enc::send_rr_data(7, ctx.to_le_bytes(), 0, &req),
    ]
    .concat();
    let server = [
        enc::message(0x65, 7, 0, [0; 8], &[1, 0, 0, 0]),
        enc::send_rr_data(
            7,
            ctx.to_le_bytes(),
            0,
            &enc::response(cip.first().copied().unwrap_or(0x4D), 0, &[], &[]),
        ),
    ]
    .concat();
    parse(
        &enip::DESC,
        Transport::Tcp,
        &[(Direction::ToServer, client), (Direction::ToClient, server)],
    )
    .into_iter()
    .filter(|r| match r {
        Record::Enip(t) => !t.written().is_empty(),
        _ => false,
    })
    .collect()
}

#[test]
fn cip_tag_writes_are_enveloped_by_name_and_element() {
    use enip::encode as enc;
    let f = Flow {
        uid: 4,
        server: LOGIX,
        port: 44_818,
        transport: "tcp",
        protocol: "enip",
    };
    // A scalar tag: 100, then 11100 under another spelling (Logix names ignore case).
    let mut d = detector();
    let mut out = Vec::new();
    let w = cip_write(1, &enc::write_tag_dint("NaOH_Setpoint", &[100]));
    assert_eq!(w.len(), 1, "one Write_Tag transaction");
    observe(&mut d, &f, 0, w, &mut out);
    observe(
        &mut d,
        &f,
        1,
        cip_write(2, &enc::write_tag_dint("naoh_setpoint", &[11_100])),
        &mut out,
    );
    // A tag without envelope.
    observe(
        &mut d,
        &f,
        2,
        cip_write(3, &enc::write_tag_dint("Counter", &[99_999])),
        &mut out,
    );
    d.finish(&mut out);
    let b = breaches(&out);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0].0, "tag naoh_setpoint");
    assert_eq!((b[0].1, b[0].2.as_f64()), (11_100.0, Some(100.0)));
    assert_eq!(alerts(&out)[0].count, 1);
    // An array: elements 0-3 of PumpSpeed, the third too fast.
    let mut d = detector();
    let mut out = Vec::new();
    observe(
        &mut d,
        &f,
        0,
        cip_write(
            3,
            &enc::write_tag_real("PumpSpeed", &[900.0, 1000.0, 1800.0, 0.0]),
        ),
        &mut out,
    );
    d.finish(&mut out);
    let b = breaches(&out);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0].0, "tag PumpSpeed[2]");
    assert_eq!(b[0].1, 1800.0);
    let a = alerts(&out)[0];
    assert_eq!(a.details["register"], 2);
    assert_eq!(a.details["name"], "PumpSpeed");
    assert_eq!(a.details["table"], "cip");
}

// ---------------------------------------------------------------------------------
// BACnet
// ---------------------------------------------------------------------------------

fn bacnet_write(invoke: u8, object_type: u16, instance: u32, property: u32, v: f32) -> Vec<Record> {
    use bacnet::encode as enc;
    parse(
        &bacnet::DESC,
        Transport::Udp,
        &[
            (
                Direction::ToServer,
                enc::write_property_real(
                    invoke,
                    enc::oid(object_type, instance),
                    property,
                    v,
                    Some(8),
                ),
            ),
            (Direction::ToClient, enc::simple_ack(invoke, 15)),
        ],
    )
}

#[test]
fn bacnet_present_value_writes_are_enveloped_by_object_type_and_instance() {
    let mut d = detector();
    let mut out = Vec::new();
    let f = Flow {
        uid: 5,
        server: BMS,
        port: 47_808,
        transport: "udp",
        protocol: "bacnet",
    };
    // analog-value 7 present-value (85): 21 then 24 (inside), then 29 (a step of 5 is
    // allowed) then 40 (above the maximum).
    for (i, v) in [21.0f32, 24.0, 29.0, 40.0].into_iter().enumerate() {
        observe(
            &mut d,
            &f,
            i as i64,
            bacnet_write(i as u8, 2, 7, 85, v),
            &mut out,
        );
    }
    // Another property of the same object (high-limit, 45) and another object type.
    observe(&mut d, &f, 5, bacnet_write(9, 2, 7, 45, 99.0), &mut out);
    observe(&mut d, &f, 6, bacnet_write(10, 1, 7, 85, 99.0), &mut out);
    d.finish(&mut out);
    let b = breaches(&out);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0].0, "analog-value,7 present-value");
    assert_eq!((b[0].1, b[0].2.as_f64()), (40.0, Some(29.0)));
    assert_eq!(b[0].3, "above_max");
    assert_eq!(
        alerts(&out)[0].count,
        1,
        "other properties and objects are free"
    );
}

#[test]
fn units_beyond_255_only_match_envelopes_without_a_unit() {
    // DB 257 would have matched unit 1 (257 mod 256) or unit 0 before; it matches
    // nothing in this policy.
    let mut d = detector();
    let mut out = Vec::new();
    let f = Flow {
        uid: 6,
        server: S7PLC,
        port: 102,
        transport: "tcp",
        protocol: "s7comm",
    };
    observe(
        &mut d,
        &f,
        0,
        s7_write(1, 257, 8, 8, &500f32.to_be_bytes(), 1),
        &mut out,
    );
    d.finish(&mut out);
    assert!(breaches(&out).is_empty());
}

#[test]
fn dnp3_outstations_beyond_255_are_not_taken_for_outstation_0() {
    // Before the fix an outstation address that does not fit a unit id (u8) was
    // checked as unit 0, so outstation 257 broke outstation 0's envelope.
    let f = Flow {
        uid: 7,
        server: OUTSTATION,
        port: 20_000,
        transport: "tcp",
        protocol: "dnp3",
    };
    let operate = |outstation: u16| {
        let frag = dnp3::encode::direct_operate_analog_i16(1, 5, 11_100);
        parse(
            &dnp3::DESC,
            Transport::Tcp,
            &[(
                Direction::ToServer,
                dnp3::encode::frames(true, outstation, 3, 0, &frag),
            )],
        )
    };
    for (outstation, breaks) in [(257u16, false), (256, false), (0, true)] {
        let mut d = detector();
        let mut out = Vec::new();
        let r = operate(outstation);
        assert_eq!(r.len(), 1);
        observe(&mut d, &f, 0, r, &mut out);
        d.finish(&mut out);
        let b = breaches(&out);
        assert_eq!(!b.is_empty(), breaks, "outstation {outstation}: {b:?}");
        if breaks {
            assert_eq!(b[0].0, "analog output index 5 (outstation 0)");
            assert_eq!(b[0].1, 11_100.0);
        }
    }
}
