//! Conformance of the Modbus parser with Zeek (modbus.log), Suricata (suricata-verify
//! expectations) and tshark (per-packet dissection) on the shared captures.
//!
//! Each capture is split into flows, reassembled in order by sequence number and fed
//! to the parser; every transaction becomes its messages (request, response) keyed by
//! (client port, REQ/RESP, transaction id, unit id, function code, exception code).
//! The oracle's messages are compared as multisets; every difference must be listed
//! with its reason in `tests/modbus_allowlist.txt`, and every allowlist line must
//! still be needed. An agreement table is printed (`--nocapture`).
mod modbus_support;

use modbus_support::*;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Msg {
    client_port: u16,
    req: bool,
    tid: u16,
    unit: u8,
    fc: u8,
    exc: Option<u8>,
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.client_port,
            if self.req { "REQ" } else { "RESP" },
            self.tid,
            self.unit,
            self.fc,
            self.exc.map_or("-".to_string(), |e| e.to_string())
        )
    }
}

type Bag = BTreeMap<Msg, usize>;

fn ours(rel: &str) -> Option<Bag> {
    let res = run_capture(rel)?;
    let mut bag = Bag::new();
    for (flow, out) in &res {
        for (_, m) in txns(out) {
            let base = Msg {
                client_port: flow.client.1,
                req: true,
                tid: m.transaction_id,
                unit: m.unit_id,
                fc: m.function_code,
                exc: None,
            };
            if m.request {
                *bag.entry(base.clone()).or_default() += 1;
            }
            if m.response {
                *bag.entry(Msg {
                    req: false,
                    exc: m.exception,
                    ..base
                })
                .or_default() += 1;
            }
        }
    }
    Some(bag)
}

fn zeek_function(name: &str) -> u8 {
    if let Some(n) = name.strip_prefix("unknown-") {
        return n.parse().expect("unknown-N");
    }
    match name {
        "READ_COILS" => 1,
        "READ_DISCRETE_INPUTS" => 2,
        "READ_HOLDING_REGISTERS" => 3,
        "READ_INPUT_REGISTERS" => 4,
        "WRITE_SINGLE_COIL" => 5,
        "WRITE_SINGLE_REGISTER" => 6,
        "READ_EXCEPTION_STATUS" => 7,
        "DIAGNOSTICS" => 8,
        "GET_COMM_EVENT_COUNTER" => 11,
        "GET_COMM_EVENT_LOG" => 12,
        "WRITE_MULTIPLE_COILS" => 15,
        "WRITE_MULTIPLE_REGISTERS" => 16,
        "REPORT_SLAVE_ID" => 17,
        "READ_FILE_RECORD" => 20,
        "WRITE_FILE_RECORD" => 21,
        "MASK_WRITE_REGISTER" => 22,
        "READ_WRITE_MULTIPLE_REGISTERS" => 23,
        "READ_FIFO_QUEUE" => 24,
        "ENCAP_INTERFACE_TRANSPORT" => 43,
        other => panic!("unmapped Zeek function {other}"),
    }
}

fn zeek_exception(name: &str) -> Option<u8> {
    Some(match name {
        "-" => return None,
        "ILLEGAL_FUNCTION" => 1,
        "ILLEGAL_DATA_ADDRESS" => 2,
        "ILLEGAL_DATA_VALUE" => 3,
        "SLAVE_DEVICE_FAILURE" => 4,
        "ACKNOWLEDGE" => 5,
        "SLAVE_DEVICE_BUSY" => 6,
        "MEMORY_PARITY_ERROR" => 8,
        "GATEWAY_PATH_UNAVAILABLE" => 10,
        "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND" => 11,
        other => panic!("unmapped Zeek exception {other}"),
    })
}

/// Messages of a Zeek modbus.log (fields ts uid orig_h orig_p resp_h resp_p tid unit
/// func pdu_type exception). Zeek names an exception response by its full code
/// (`unknown-156` = 0x80 | 28): the exception bit is removed here.
fn zeek(text: &str) -> Bag {
    let mut bag = Bag::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let exc = zeek_exception(f[10]);
        let fc = zeek_function(f[8]);
        let msg = Msg {
            client_port: f[3].parse().unwrap(),
            req: f[9] == "REQ",
            tid: f[6].parse().unwrap(),
            unit: f[7].parse().unwrap(),
            fc: if exc.is_some() { fc & 0x7f } else { fc },
            exc,
        };
        *bag.entry(msg).or_default() += 1;
    }
    bag
}

/// Messages of a tshark per-packet TSV (one row per frame; several PDUs of one frame
/// are comma-separated).
fn tshark(text: &str) -> Bag {
    let mut bag = Bag::new();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (sp, dp, tid, unit, fc, exc) = (
        col("tcp.srcport"),
        col("tcp.dstport"),
        col("mbtcp.trans_id"),
        col("mbtcp.unit_id"),
        col("modbus.func_code"),
        col("modbus.exception_code"),
    );
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        if f.get(fc).is_none_or(|s| s.is_empty()) {
            continue;
        }
        let split = |i: usize| -> Vec<&str> { f[i].split(',').filter(|s| !s.is_empty()).collect() };
        let (tids, units, fcs, excs) = (split(tid), split(unit), split(fc), split(exc));
        let to_server = f[dp] == "502";
        let client_port: u16 = if to_server { f[sp] } else { f[dp] }.parse().unwrap();
        for (i, code) in fcs.iter().enumerate() {
            let exc = if excs.len() == fcs.len() {
                excs.get(i).map(|e| e.parse().unwrap())
            } else if fcs.len() == 1 {
                excs.first().map(|e| e.parse().unwrap())
            } else {
                None
            };
            let msg = Msg {
                client_port,
                req: to_server,
                tid: tids[i].parse().unwrap(),
                unit: units[i].parse().unwrap(),
                fc: code.parse().unwrap(),
                exc,
            };
            *bag.entry(msg).or_default() += 1;
        }
    }
    bag
}

/// (oracle, capture, missing|extra, message) -> allowed count.
fn allowlist() -> BTreeMap<(String, String, String, String), usize> {
    let text = include_str!("modbus_allowlist.txt");
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 10, "allowlist line: {line}");
        let count: usize = f[9].trim_start_matches('x').parse().expect("count xN");
        let msg = f[3..9].join(" ");
        *map.entry((f[0].to_string(), f[1].to_string(), f[2].to_string(), msg))
            .or_default() += count;
    }
    map
}

struct Row {
    oracle: &'static str,
    capture: String,
    theirs: usize,
    ours: usize,
    agree: usize,
    allowed: usize,
}

fn compare(
    oracle: &'static str,
    capture: &str,
    theirs: &Bag,
    ours: &Bag,
    allow: &mut BTreeMap<(String, String, String, String), usize>,
    unexplained: &mut Vec<String>,
) -> Row {
    let mut agree = 0;
    let mut allowed = 0;
    let mut diff = |side: &str, msg: &Msg, n: usize| {
        let key = (
            oracle.to_string(),
            capture.to_string(),
            side.to_string(),
            msg.to_string(),
        );
        let ok = allow.get(&key).copied().unwrap_or(0).min(n);
        if ok > 0 {
            *allow.get_mut(&key).unwrap() -= ok;
        }
        allowed += ok;
        if n > ok {
            unexplained.push(format!("{oracle} {capture} {side} {msg} x{}", n - ok));
        }
    };
    for (m, &n) in theirs {
        let o = ours.get(m).copied().unwrap_or(0);
        agree += n.min(o);
        if n > o {
            diff("missing", m, n - o);
        }
    }
    for (m, &n) in ours {
        let t = theirs.get(m).copied().unwrap_or(0);
        if n > t {
            diff("extra", m, n - t);
        }
    }
    Row {
        oracle,
        capture: capture.to_string(),
        theirs: theirs.values().sum(),
        ours: ours.values().sum(),
        agree,
        allowed,
    }
}

#[test]
fn agreement_with_zeek_suricata_tshark() {
    let Some(dir) = data_dir() else { return };
    let mut allow = allowlist();
    let mut unexplained = Vec::new();
    let mut rows = Vec::new();

    // Zeek modbus.log
    for cap in ["modbus-zeek-fuzz-72", "modbus-zeek-and-non-modbus-p502"] {
        let log =
            std::fs::read_to_string(dir.join(format!("expected/zeek/{cap}.modbus.log"))).unwrap();
        let mine = ours(&format!("pcaps/modbus/{cap}.pcap")).unwrap();
        rows.push(compare(
            "zeek",
            cap,
            &zeek(&log),
            &mine,
            &mut allow,
            &mut unexplained,
        ));
    }

    // tshark, every Modbus capture
    let mut caps: Vec<String> = std::fs::read_dir(dir.join("pcaps/modbus"))
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".pcap").map(str::to_string)
        })
        .collect();
    caps.sort();
    for cap in &caps {
        let Ok(tsv) = std::fs::read_to_string(dir.join(format!("expected/tshark/{cap}.tsv")))
        else {
            continue;
        };
        let mine = ours(&format!("pcaps/modbus/{cap}.pcap")).unwrap();
        rows.push(compare(
            "tshark",
            cap,
            &tshark(&tsv),
            &mine,
            &mut allow,
            &mut unexplained,
        ));
    }

    println!(
        "{:<8} {:<42} {:>7} {:>7} {:>7} {:>8} {:>6}",
        "oracle", "capture", "theirs", "ours", "agree", "allowed", "agree%"
    );
    for r in &rows {
        let pct = if r.theirs.max(r.ours) == 0 {
            100.0
        } else {
            100.0 * r.agree as f64 / r.theirs.max(r.ours) as f64
        };
        println!(
            "{:<8} {:<42} {:>7} {:>7} {:>7} {:>8} {:>5.1}%",
            r.oracle, r.capture, r.theirs, r.ours, r.agree, r.allowed, pct
        );
    }
    let stale: Vec<_> = allow.iter().filter(|(_, &n)| n > 0).collect();
    assert!(
        unexplained.is_empty(),
        "differences not in modbus_allowlist.txt:\n{}",
        unexplained.join("\n")
    );
    assert!(
        stale.is_empty(),
        "allowlist lines no longer needed: {stale:?}"
    );
}

/// Suricata's suricata-verify `tests/modbus` expectations on the same capture,
/// mapped to our transactions: rule matches are counted on transactions with a
/// request (Suricata keeps no transaction for a response without request).
#[test]
fn agreement_with_suricata_verify() {
    let Some(res) = run_capture("pcaps/modbus/modbus-sv-mixed.pcap") else {
        return;
    };
    let Some(dir) = data_dir() else { return };
    let yaml =
        std::fs::read_to_string(dir.join("expected/suricata/modbus-sv-mixed.modbus.yaml")).unwrap();
    let t: Vec<_> = res
        .iter()
        .flat_map(|(_, o)| txns(o))
        .map(|(_, m)| m.clone())
        .filter(|m| m.request)
        .collect();
    let public = |fc: u8| sluice_proto::modbus::names::is_public_function(fc);
    let count =
        |f: &dyn Fn(&sluice_proto::modbus::Transaction) -> bool| t.iter().filter(|m| f(m)).count();
    let checks: Vec<(&str, usize, usize)> = vec![
        (
            "event modbus, request RdCoils",
            2,
            count(&|m| m.function_code == 1),
        ),
        (
            "sid 1: function 1 (READ | COILS, answered)",
            2,
            count(&|m| m.function_code == 1 && m.response),
        ),
        (
            "sid 2: function assigned (public code)",
            18,
            count(&|m| public(m.function_code)),
        ),
        (
            "sid 3: access read (functions 1-4)",
            3,
            count(&|m| (1..=4).contains(&m.function_code)),
        ),
        ("sid 4: unit 10", 18, count(&|m| m.unit_id == 10)),
        (
            "sid 4: unit 10, function MEI",
            2,
            count(&|m| m.unit_id == 10 && m.function_code == 43),
        ),
        (
            "sid 5: unit >9, read coils, address 0<>2",
            1,
            count(&|m| m.unit_id > 9 && m.function_code == 1 && m.address.is_some_and(|a| a < 2)),
        ),
        ("sid 6: access write", 3, count(&|m| m.is_write())),
        ("sid 7: function 8", 8, count(&|m| m.function_code == 8)),
    ];
    // the expected counts above are the ones in the shared expectation file
    for (_, want, _) in &checks {
        assert!(yaml.contains(&format!("count: {want}")));
    }
    println!(
        "{:<46} {:>9} {:>5}",
        "suricata-verify check", "suricata", "ours"
    );
    for (name, want, got) in &checks {
        println!("{name:<46} {want:>9} {got:>5}");
    }
    for (name, want, got) in checks {
        assert_eq!(want, got, "{name}");
    }
}
