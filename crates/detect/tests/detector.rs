//! The detector on events built from real protocol records (Modbus transactions as the
//! parser fills them): live emission and chain updates, aggregation windows, envelope
//! steps, deterministic ids, new talkers, thresholds; and on real captures through the
//! engine.
use sluice_detect::{Detector, DetectorConfig, RuleSet};
use sluice_engine::event::{AlertRecord, Body, Event, FlowRecord, Kind};
use sluice_flow::{EndReason, Endpoint};
use sluice_policy::Policy;
use sluice_proto::modbus::Transaction;
use sluice_proto::Record;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_612_530_000 * SEC;

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
protocols = ["modbus"]
access = "read-write"
clients = ["10.10.2.20"]
[[envelope]]
device = "10.10.1.10"
unit = 1
register = 5
min = 50
max = 200
max_step = 50
"#;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ep(s: &str, port: u16) -> Endpoint {
    Endpoint { ip: ip(s), port }
}

fn detector(live: bool, extra_rules: Option<&str>) -> Detector {
    let mut rules = RuleSet::builtin().unwrap();
    if let Some(t) = extra_rules {
        rules.add_text(t, "test.toml").unwrap();
    }
    let mut cfg = DetectorConfig::new(rules);
    cfg.live = live;
    cfg.policy = Some(Arc::new(
        Policy::from_str(POLICY, Path::new("site.toml")).unwrap(),
    ));
    Detector::new(cfg)
}

fn txn(ts: i64, uid: u64, seq: u32, client: &str, server: &str, t: Transaction) -> Event {
    Event {
        ts,
        kind: Kind::Event,
        flow_uid: Some(uid),
        seq,
        src: Some(ep(client, 49_700)),
        dst: Some(ep(server, 502)),
        src_mac: None,
        dst_mac: None,
        transport: Some("tcp"),
        protocol: Some("modbus"),
        body: Body::Txn {
            ts_end: Some(ts + 1_000_000),
            record: Record::Modbus(Box::new(t)),
        },
    }
}

fn write_reg(unit: u8, address: u16, value: u16) -> Transaction {
    let mut t = Transaction::new(1, unit, 6);
    t.address = Some(address);
    t.values = Some(vec![value]);
    t.request = true;
    t.response = true;
    t
}

fn read_regs(unit: u8, address: u16, values: &[u16]) -> Transaction {
    let mut t = Transaction::new(1, unit, 3);
    t.address = Some(address);
    t.quantity = Some(values.len() as u16);
    t.values = Some(values.to_vec());
    t.request = true;
    t.response = true;
    t
}

fn flow(start: i64, end: i64, uid: u64, client: Endpoint, server: Endpoint) -> Event {
    Event {
        ts: start,
        kind: Kind::Event,
        flow_uid: Some(uid),
        seq: 9,
        src: Some(client),
        dst: Some(server),
        src_mac: None,
        dst_mac: None,
        transport: Some("tcp"),
        protocol: None,
        body: Body::Flow(FlowRecord {
            start,
            end,
            packets: [40, 40],
            bytes: [4000, 90_000],
            payload_bytes: [1500, 80_000],
            history: "ShADadFf".into(),
            end_reason: EndReason::Fin,
            gaps: 0,
            gap_bytes: 0,
            overlap_bytes: 0,
            retransmissions: 0,
            out_of_order: 0,
            transactions: 0,
        }),
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

#[test]
fn live_mode_emits_at_once_and_reemits_when_the_chain_is_found() {
    let mut d = detector(true, None);
    let mut out = Vec::new();
    // The HMI polls the setpoint (100), then writes 11100.
    d.observe(
        &txn(
            T0 + 20 * SEC,
            1,
            0,
            "10.10.2.20",
            "10.10.1.10",
            read_regs(1, 0, &[350, 1250, 1240, 712, 148, 100]),
        ),
        &mut out,
    );
    assert!(out.is_empty());
    d.observe(
        &txn(
            T0 + 21 * SEC,
            1,
            1,
            "10.10.2.20",
            "10.10.1.10",
            write_reg(1, 5, 11_100),
        ),
        &mut out,
    );
    let a = alerts(&out);
    assert_eq!(a.len(), 1, "emitted at once: {a:?}");
    assert_eq!(a[0].rule_id, "SLC-ENV-001");
    assert_eq!(a[0].details["old_value"], 100.0);
    assert_eq!(a[0].details["new_value"], 11100.0);
    assert!(a[0].chain_id.is_none());
    // Stamped with the packet that completed the write (the response, 1 ms after the
    // request), the request's time kept as `started`.
    let stamped: Vec<i64> = out
        .iter()
        .filter(|e| matches!(e.body, Body::Alert(_)))
        .map(|e| e.ts)
        .collect();
    assert_eq!(stamped, [T0 + 21 * SEC + 1_000_000]);
    assert_eq!(a[0].details["started"], "2021-02-05T13:00:21.000000Z");
    let env_id = a[0].id.clone();
    out.clear();
    // The VNC session into the HMI is known only when its flow ends (protocol not
    // identified, port 5900): it started before the write.
    d.observe(
        &flow(
            T0 + 10 * SEC,
            T0 + 50 * SEC,
            2,
            ep("203.0.113.66", 51_000),
            ep("10.10.2.20", 5900),
        ),
        &mut out,
    );
    let a = alerts(&out);
    let ra = a
        .iter()
        .find(|x| x.rule_id == "SLC-RA-001")
        .expect("remote access");
    let again = a
        .iter()
        .find(|x| x.rule_id == "SLC-ENV-001")
        .expect("envelope re-emitted");
    assert_eq!(again.id, env_id, "same alert, updated");
    assert!(ra.chain_id.is_some());
    assert_eq!(again.chain_id, ra.chain_id);
    assert_eq!(ra.details["protocol_from_port"], true);
    // The remote-access flow's policy violation is in the chain too.
    let pol = a
        .iter()
        .find(|x| x.rule_id == "SLC-POL-001")
        .expect("no conduit");
    assert_eq!(pol.chain_id, ra.chain_id);
    out.clear();
    d.finish(&mut out);
    assert!(alerts(&out).is_empty(), "nothing changed since");
}

#[test]
fn identical_alerts_aggregate_within_the_window_and_ids_are_stable() {
    let run = || {
        let mut d = detector(false, None);
        let mut out = Vec::new();
        for (i, t) in [0, 30, 200, 400].into_iter().enumerate() {
            d.observe(
                &txn(
                    T0 + t * SEC,
                    1,
                    i as u32,
                    "10.10.2.20",
                    "10.10.1.10",
                    write_reg(1, 5, 900),
                ),
                &mut out,
            );
        }
        assert!(out.is_empty(), "batch mode holds alerts until finish");
        d.finish(&mut out);
        out
    };
    let out = run();
    let a = alerts(&out);
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!((a[0].count, a[1].count), (3, 1), "0-300 s, then 400 s");
    assert_eq!(a[0].evidence.len(), 3);
    assert_ne!(a[0].id, a[1].id);
    assert_eq!(a[0].details["last_seen"], "2021-02-05T13:03:20.000000Z");
    let again = run();
    let b = alerts(&again);
    assert_eq!(
        a.iter().map(|x| &x.id).collect::<Vec<_>>(),
        b.iter().map(|x| &x.id).collect::<Vec<_>>()
    );
    // The alert event carries the write's endpoints.
    assert_eq!(out[0].src, Some(ep("10.10.2.20", 49_700)));
    assert_eq!(out[0].dst, Some(ep("10.10.1.10", 502)));
    assert_eq!(out[0].kind, Kind::Alert);
}

#[test]
fn envelope_steps_use_the_last_value_and_corrections_pass() {
    let mut d = detector(false, None);
    let mut out = Vec::new();
    let h = "10.10.2.20";
    let p = "10.10.1.10";
    // Out of range, then read back, then corrected to 100: only the first breaks.
    d.observe(&txn(T0, 1, 0, h, p, write_reg(1, 5, 11_100)), &mut out);
    d.observe(
        &txn(T0 + SEC, 1, 1, h, p, read_regs(1, 5, &[11_100])),
        &mut out,
    );
    d.observe(
        &txn(T0 + 2 * SEC, 1, 2, h, p, write_reg(1, 5, 100)),
        &mut out,
    );
    // In range but a step of 80 from 100.
    d.observe(
        &txn(T0 + 3 * SEC, 1, 3, h, p, write_reg(1, 5, 180)),
        &mut out,
    );
    // Other registers and units are not enveloped.
    d.observe(
        &txn(T0 + 4 * SEC, 1, 4, h, p, write_reg(1, 6, 60_000)),
        &mut out,
    );
    d.observe(
        &txn(T0 + 5 * SEC, 1, 5, h, p, write_reg(2, 5, 60_000)),
        &mut out,
    );
    d.finish(&mut out);
    let a = alerts(&out);
    let kinds: Vec<(&str, f64)> = a
        .iter()
        .map(|x| {
            (
                x.details["breach"].as_str().unwrap(),
                x.details["new_value"].as_f64().unwrap(),
            )
        })
        .collect();
    // Same rule, source and destination: one aggregated alert keeps the first facts.
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(kinds, [("above_max", 11100.0)]);
    assert_eq!(a[0].count, 2, "the 180 step breach aggregated into it");
}

#[test]
fn new_talkers_without_a_baseline_are_those_after_the_warm_up() {
    let rule = r#"
[[rule]]
id = "T-NEW"
name = "write from a new talker"
severity = 50
explanation = "{src} new on {dst}"
[rule.match]
protocol = "modbus"
operation = "write"
new_talker = true
"#;
    let mut d = detector(false, Some(rule));
    let mut out = Vec::new();
    d.observe(
        &txn(T0, 1, 0, "10.10.2.20", "10.10.1.10", write_reg(1, 5, 100)),
        &mut out,
    );
    d.observe(
        &txn(
            T0 + 400 * SEC,
            1,
            1,
            "10.10.2.20",
            "10.10.1.10",
            write_reg(1, 5, 110),
        ),
        &mut out,
    );
    d.observe(
        &txn(
            T0 + 401 * SEC,
            2,
            0,
            "10.10.2.21",
            "10.10.1.10",
            write_reg(1, 5, 110),
        ),
        &mut out,
    );
    d.finish(&mut out);
    let a: Vec<_> = alerts(&out)
        .into_iter()
        .filter(|a| a.rule_id == "T-NEW")
        .collect();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].explanation, "10.10.2.21 new on 10.10.1.10");
}

#[test]
fn unit_sweep_threshold_fires_once_per_window() {
    let mut d = detector(false, None);
    let mut out = Vec::new();
    for unit in 0..40u8 {
        let mut t = Transaction::new(u16::from(unit), unit, 43);
        t.request = true;
        d.observe(
            &txn(
                T0 + i64::from(unit) * 100_000_000,
                1,
                u32::from(unit),
                "10.10.2.99",
                "10.10.1.10",
                t,
            ),
            &mut out,
        );
    }
    d.finish(&mut out);
    let a = alerts(&out);
    let sweep: Vec<_> = a.iter().filter(|x| x.rule_id == "SLC-MB-004").collect();
    assert_eq!(sweep.len(), 1);
    assert!(
        sweep[0]
            .explanation
            .contains("at least 10 different Modbus unit ids"),
        "{}",
        sweep[0].explanation
    );
    let fc43: Vec<_> = a.iter().filter(|x| x.rule_id == "SLC-MB-005").collect();
    assert_eq!(fc43.len(), 1);
    // Client not allowed by the conduit: one policy alert for the flow.
    assert_eq!(a.iter().filter(|x| x.rule_id == "SLC-POL-004").count(), 1);
}

// ---------------------------------------------------------------------------------------
// Real captures
// ---------------------------------------------------------------------------------------

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    p.is_dir().then_some(p)
}

/// Every alert rule id raised on a capture, through the engine and the detector
/// (no policy).
fn run_capture(path: &Path) -> Vec<AlertRecord> {
    let mut r = sluice_capture::CaptureReader::open(path).unwrap();
    let mut engine = sluice_engine::Engine::new(sluice_engine::EngineConfig::default());
    let mut d = Detector::new(DetectorConfig::new(RuleSet::builtin().unwrap()));
    let mut out = Vec::new();
    while let Ok(Some(p)) = r.next_packet() {
        engine.packet(p.ts, p.linktype.0, p.data, p.orig_len);
        for e in engine.take_events() {
            d.observe(&e, &mut out);
        }
    }
    engine.finish();
    for e in engine.take_events() {
        d.observe(&e, &mut out);
    }
    d.finish(&mut out);
    out.into_iter()
        .filter_map(|e| match e.body {
            Body::Alert(a) => Some(*a),
            _ => None,
        })
        .collect()
}

#[test]
fn dangerous_operations_in_real_captures() {
    let Some(data) = shared() else {
        println!("SKIP: ../shared/data not found");
        return;
    };
    let pcaps = data.join("pcaps");
    let cases: &[(&str, &[&str])] = &[
        ("dnp3/dnp3-iti-cold-restart.pcap", &["SLC-DNP-001"]),
        ("dnp3/dnp3-zeek-file-read.pcap", &["SLC-DNP-005"]),
        (
            "dnp3/dnp3-digitalbond-test-data-part1.pcap",
            &["SLC-DNP-001", "SLC-DNP-002", "SLC-DNP-003", "SLC-DNP-006"],
        ),
        (
            "modbus/modbus-digitalbond-test-data-part1.pcap",
            &["SLC-MB-002", "SLC-MB-003"],
        ),
        (
            "s7comm/s7comm-iti-downloading-block-db1.pcap",
            &["SLC-S7-002"],
        ),
        (
            "s7comm/s7comm-gymgit-step7-s300-auth-password.pcap",
            &["SLC-S7-004"],
        ),
        ("vnc/vnc-zeek-scanner.pcap", &["SLC-RA-003"]),
    ];
    for (file, want) in cases {
        let a = run_capture(&pcaps.join(file));
        let got: std::collections::BTreeSet<&str> = a.iter().map(|x| x.rule_id.as_str()).collect();
        let parsed = !a.is_empty() || !file.starts_with("s7comm") && !file.starts_with("vnc");
        if !parsed {
            println!("SKIP: {file}: its parser produces no transactions yet");
            continue;
        }
        for w in *want {
            assert!(got.contains(w), "{file}: {w} missing, got {got:?}");
        }
    }
    // A plain polling capture raises nothing.
    let quiet = run_capture(&pcaps.join("modbus/modbus-iti-modbus-test.pcap"));
    assert!(quiet.is_empty(), "{quiet:?}");
}

/// The detector matches rules on each record's JSON cut down to the paths its rules read
/// (`PathTree::project`). On every transaction of the real captures, each of those paths
/// (and a few deeper ones) finds the same values in the cut JSON as in the whole.
#[test]
fn records_cut_to_the_rule_paths_hold_what_the_whole_records_hold() {
    use sluice_detect::fields::leaves;
    use sluice_detect::project::PathTree;
    let Some(data) = shared() else {
        println!("SKIP: ../shared/data not found");
        return;
    };
    let rules = RuleSet::builtin().unwrap();
    let mut paths: Vec<Vec<String>> = Vec::new();
    for r in rules.rules() {
        let m = &r.matcher;
        paths.extend(m.fields.iter().chain(&m.any_fields).map(|c| c.path.clone()));
        paths.extend(r.threshold.as_ref().and_then(|t| t.distinct.clone()));
    }
    for extra in [
        "objects.value",
        "objects.ioa",
        "cip.path.class",
        "items.address",
        "points",
    ] {
        paths.push(extra.split('.').map(str::to_string).collect());
    }
    let mut tree = PathTree::default();
    for p in &paths {
        tree.add(p);
    }
    let (mut records, mut hits) = (0usize, 0usize);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(data.join("pcaps"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && !p.ends_with("stacks"))
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .collect();
        files.sort();
        for file in files.iter().take(3) {
            let Ok(mut r) = sluice_capture::CaptureReader::open(file) else {
                continue;
            };
            let mut engine = sluice_engine::Engine::new(sluice_engine::EngineConfig::default());
            let mut check = |events: Vec<Event>| {
                for e in events {
                    if let Body::Txn { record, .. } = &e.body {
                        let whole = serde_json::to_value(record.fields()).unwrap();
                        let cut = tree.project(&record.fields());
                        records += 1;
                        for p in &paths {
                            let (mut a, mut b) = (Vec::new(), Vec::new());
                            leaves(&whole, p, &mut a);
                            leaves(&cut, p, &mut b);
                            assert_eq!(a, b, "{}: {} at {p:?}", file.display(), e.id());
                            hits += usize::from(!a.is_empty());
                        }
                    }
                }
            };
            let mut n = 0;
            while let Ok(Some(p)) = r.next_packet() {
                engine.packet(p.ts, p.linktype.0, p.data, p.orig_len);
                check(engine.take_events().collect());
                n += 1;
                if n >= 5_000 {
                    break;
                }
            }
            engine.finish();
            check(engine.take_events().collect());
        }
    }
    println!("{records} records, {hits} non-empty paths compared");
    assert!(
        records > 1_000 && hits > 1_000,
        "{records} records, {hits} hits"
    );
}

/// Transaction rules are looked up by protocol: a Modbus write meets the rules naming
/// Modbus (alone or in a list) and those naming no protocol, and no rule naming only
/// other protocols; an IEC 104 command meets its own and the unnamed ones.
#[test]
fn transaction_rules_meet_their_protocols_and_those_naming_none() {
    let rules = r#"
[[rule]]
id = "T-ANY"
name = "any write"
severity = 10
explanation = "{src}"
[rule.match]
operation = "write"

[[rule]]
id = "T-LIST"
name = "listed write"
severity = 10
explanation = "{src}"
[rule.match]
protocol = ["dnp3", "modbus"]
operation = "write"

[[rule]]
id = "T-OTHER"
name = "s7 or 104 write"
severity = 10
explanation = "{src}"
[rule.match]
protocol = ["s7comm", "iec104"]
operation = "write"
"#;
    let fired = |events: &[Event]| {
        let mut d = detector(false, Some(rules));
        let mut out = Vec::new();
        for e in events {
            d.observe(e, &mut out);
        }
        d.finish(&mut out);
        let mut ids: Vec<String> = alerts(&out)
            .into_iter()
            .map(|a| a.rule_id.clone())
            .filter(|id| id.starts_with("T-"))
            .collect();
        ids.sort();
        ids
    };
    let modbus = txn(T0, 1, 0, "10.10.2.20", "10.10.1.10", write_reg(1, 5, 100));
    assert_eq!(fired(std::slice::from_ref(&modbus)), ["T-ANY", "T-LIST"]);
    // A single command (type 45) after the Modbus write, in the same detector: each
    // protocol keeps its own list.
    let mut iec = txn(
        T0 + SEC,
        2,
        0,
        "10.10.2.21",
        "10.10.1.11",
        write_reg(1, 5, 1),
    );
    iec.protocol = Some("iec104");
    iec.dst = Some(ep("10.10.1.11", 2404));
    let t = sluice_proto::iec104::Transaction {
        apdu: "i",
        function_code: 45,
        function: "C_SC_NA_1",
        type_id: Some(45),
        ..Default::default()
    };
    iec.body = Body::Txn {
        ts_end: Some(T0 + 2 * SEC),
        record: Record::Iec104(Box::new(t)),
    };
    assert_eq!(fired(std::slice::from_ref(&iec)), ["T-ANY", "T-OTHER"]);
    assert_eq!(
        fired(&[modbus, iec]),
        ["T-ANY", "T-ANY", "T-LIST", "T-OTHER"]
    );
}
