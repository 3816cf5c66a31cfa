//! Parser-level conformance of the DNP3 parser against what Zeek, Suricata and
//! tshark report on the shared captures (`../shared/data/expected/`).
//!
//! - Zeek `dnp3.log` (fc_request, fc_reply, iin): (a) message level: Zeek's logging
//!   model (one record per reply with the last request seen since the previous
//!   reply; a trailing request alone at connection end) replayed over the messages
//!   our parser decoded must give the same records; (b) transaction level: each
//!   Zeek record pairing a request with a reply must be one of our transactions.
//! - Suricata `dnp3-*.yaml` (suricata-verify checks): each DNP3 record check must
//!   match one application message we decoded: type, link addresses and control,
//!   application control and function, object headers, IIN indicators, point
//!   values (index, state, value, flags bits, CROB fields, file fields, delay).
//! - tshark `dnp3-*.tsv`: per packet, the application function codes of the
//!   fragments completed in that packet (`dnp3.al.func`).
//!
//! Disagreements must be listed, with evidence, in `dnp3_allowlist.txt`.
mod dnp3_support;

use dnp3_support::*;
use sluice_proto::dnp3::state::Message;
use sluice_proto::dnp3::{Point, Transaction, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn allowlist() -> BTreeSet<String> {
    let text = include_str!("dnp3_allowlist.txt");
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn zeek_fc(name: &str) -> Option<u8> {
    Some(match name {
        "CONFIRM" => 0,
        "READ" => 1,
        "WRITE" => 2,
        "SELECT" => 3,
        "OPERATE" => 4,
        "DIRECT_OPERATE" => 5,
        "DIRECT_OPERATE_NR" => 6,
        "IMMED_FREEZE" => 7,
        "IMMED_FREEZE_NR" => 8,
        "FREEZE_CLEAR" => 9,
        "FREEZE_CLEAR_NR" => 10,
        "FREEZE_AT_TIME" => 11,
        "FREEZE_AT_TIME_NR" => 12,
        "COLD_RESTART" => 13,
        "WARM_RESTART" => 14,
        "INITIALIZE_DATA" => 15,
        "INITIALIZE_APPL" => 16,
        "START_APPL" => 17,
        "STOP_APPL" => 18,
        "SAVE_CONFIG" => 19,
        "ENABLE_UNSOLICITED" => 20,
        "DISABLE_UNSOLICITED" => 21,
        "ASSIGN_CLASS" => 22,
        "DELAY_MEASURE" => 23,
        "RECORD_CURRENT_TIME" => 24,
        "OPEN_FILE" => 25,
        "CLOSE_FILE" => 26,
        "DELETE_FILE" => 27,
        "GET_FILE_INFO" => 28,
        "AUTHENTICATE_FILE" => 29,
        "ABORT_FILE" => 30,
        "ACTIVATE_CONFIG" => 31,
        "AUTHENTICATE_REQ" => 32,
        "AUTHENTICATE_ERR" => 33,
        "RESPONSE" => 129,
        "UNSOLICITED_RESPONSE" => 130,
        "AUTHENTICATE_RESP" => 131,
        _ => return None,
    })
}

type ZeekRec = (Option<u8>, Option<u8>, Option<u16>);

fn fmt_rec(r: &ZeekRec) -> String {
    let f = |x: Option<u8>| x.map_or("-".to_string(), |v| v.to_string());
    format!(
        "{}/{}/{}",
        f(r.0),
        f(r.1),
        r.2.map_or("-".to_string(), |v| v.to_string())
    )
}

fn read_zeek(path: &Path) -> Vec<ZeekRec> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut cols: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#fields") {
            cols = rest
                .split('\t')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let vals: Vec<&str> = line.split('\t').collect();
        let get = |name: &str| {
            let i = cols.iter().position(|c| c == name).unwrap();
            vals[i]
        };
        let fc = |v: &str| {
            if v == "-" {
                None
            } else {
                Some(zeek_fc(v).unwrap_or_else(|| panic!("unknown zeek function {v}")))
            }
        };
        let iin = get("iin");
        out.push((
            fc(get("fc_request")),
            fc(get("fc_reply")),
            if iin == "-" {
                None
            } else {
                Some(iin.parse().unwrap())
            },
        ));
    }
    out
}

/// Zeek's dnp3.log model replayed over our decoded messages of one flow.
fn zeek_model(messages: &[(usize, Message)]) -> Vec<ZeekRec> {
    let mut out = Vec::new();
    let mut pending: Option<u8> = None;
    let mut open = false;
    for (_, m) in messages {
        if (129..=131).contains(&m.function_code) {
            out.push((pending.take(), Some(m.function_code), m.iin));
            open = false;
        } else {
            pending = Some(m.function_code);
            open = true;
        }
    }
    if open {
        out.push((pending, None, None));
    }
    out
}

fn multiset_diff(ours: &[ZeekRec], theirs: &[ZeekRec]) -> (usize, Vec<String>) {
    let mut count: BTreeMap<ZeekRec, i64> = BTreeMap::new();
    for r in theirs {
        *count.entry(*r).or_default() += 1;
    }
    for r in ours {
        *count.entry(*r).or_default() -= 1;
    }
    let mut diffs = Vec::new();
    for (r, n) in &count {
        if *n > 0 {
            diffs.push(format!("missing {} x{n}", fmt_rec(r)));
        } else if *n < 0 {
            diffs.push(format!("extra {} x{}", fmt_rec(r), -n));
        }
    }
    let agree = theirs.len()
        - count
            .values()
            .filter(|n| **n > 0)
            .map(|n| *n as usize)
            .sum::<usize>();
    (agree, diffs)
}

struct Row {
    capture: String,
    check: &'static str,
    agree: usize,
    total: usize,
    allowed: usize,
}

/// Agreement rows and the disagreements not in the allowlist.
struct Report {
    allow: BTreeSet<String>,
    rows: Vec<Row>,
    failures: Vec<String>,
}

impl Report {
    fn check(
        &mut self,
        capture: &str,
        check: &'static str,
        agree: usize,
        total: usize,
        diffs: Vec<String>,
    ) {
        let mut allowed = 0;
        for d in diffs {
            let key = format!("{check} {capture} {d}");
            let key = key.split_whitespace().collect::<Vec<_>>().join(" ");
            if self.allow.contains(&key) {
                allowed += 1;
            } else {
                self.failures.push(key);
            }
        }
        self.rows.push(Row {
            capture: capture.to_string(),
            check,
            agree,
            total,
            allowed,
        });
    }
}

fn captures(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.join("pcaps/dnp3"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap"))
        .map(|n| n.trim_end_matches(".pcap").to_string())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------- Suricata ----

#[derive(Clone, Debug, PartialEq)]
enum Y {
    Bool(bool),
    Num(f64),
    Str(String),
}

fn yaml_value(v: &str) -> Y {
    let v = v.trim();
    match v {
        "true" => Y::Bool(true),
        "false" => Y::Bool(false),
        _ => {
            if let Ok(n) = v.parse::<f64>() {
                Y::Num(n)
            } else {
                Y::Str(v.trim_matches('\'').trim_matches('"').to_string())
            }
        }
    }
}

struct Filter {
    count: usize,
    fields: BTreeMap<String, Y>,
}

/// The `checks: - filter: count: match:` subset of suricata-verify test.yaml.
fn read_filters(text: &str) -> Vec<Filter> {
    let mut out: Vec<Filter> = Vec::new();
    let mut in_match = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("- filter:") {
            out.push(Filter {
                count: 1,
                fields: BTreeMap::new(),
            });
            in_match = false;
            continue;
        }
        let Some(f) = out.last_mut() else { continue };
        if t == "match:" {
            in_match = true;
            continue;
        }
        let Some((k, v)) = t.split_once(": ") else {
            continue;
        };
        if in_match {
            f.fields.insert(k.to_string(), yaml_value(v));
        } else if k == "count" {
            f.count = v.trim().parse().unwrap_or(1);
        }
    }
    out
}

fn num(y: &Y) -> Option<f64> {
    match y {
        Y::Num(n) => Some(*n),
        Y::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Y::Str(_) => None,
    }
}

/// Flag bit of a Suricata point quality field.
fn flag_bit(name: &str) -> Option<u8> {
    Some(match name {
        "online" => 0,
        "restart" => 1,
        "comm_lost" => 2,
        "remote_forced" => 3,
        "local_forced" => 4,
        "chatter_filter" | "rollover" | "over_range" => 5,
        "discontinuity" | "reference_err" => 6,
        _ => return None,
    })
}

/// Does our point agree with one Suricata point field?  `None`: not comparable.
fn point_field(p: &Point, key: &str, want: &Y) -> Option<bool> {
    let w = num(want);
    let crob = p.crob.as_ref();
    let file = p.file.as_ref();
    let eq = |have: Option<f64>| Some(have.is_some() && have == w);
    match key {
        "index" => eq(Some(f64::from(p.index))),
        "state" => {
            let mut options = vec![];
            if let Some(v) = p.value.as_ref().and_then(Value::as_f64) {
                options.push(v);
            }
            if let Some(f) = p.flags {
                options.push(f64::from(f));
            }
            if let Some(c) = crob {
                options.push(f64::from(c.control_code));
            }
            Some(w.is_some_and(|w| options.contains(&w)))
        }
        "value" | "delay_ms" => eq(p.value.as_ref().and_then(Value::as_f64)),
        "timestamp" => eq(p.time.map(|t| t as f64)),
        "count" if crob.is_some() => eq(crob.map(|c| f64::from(c.count))),
        "ontime" => eq(crob.map(|c| f64::from(c.on_time_ms))),
        "offtime" => eq(crob.map(|c| f64::from(c.off_time_ms))),
        "op_type" => eq(crob.map(|c| f64::from(c.control_code & 0x0f))),
        "qu" => eq(crob.map(|c| f64::from(u8::from(c.queue)))),
        "cr" => eq(crob.map(|c| f64::from(u8::from(c.clear)))),
        "tcc" => eq(crob.map(|c| f64::from(c.control_code >> 6))),
        "status_code" => eq(p.status.or(file.and_then(|f| f.status)).map(f64::from)),
        "file_handle" => eq(file.and_then(|f| f.handle).map(f64::from)),
        "file_size" => eq(file.and_then(|f| f.size).map(f64::from)),
        "maximum_block_size" => eq(file.and_then(|f| f.max_block_size).map(f64::from)),
        "request_id" => eq(file.and_then(|f| f.request_id).map(f64::from)),
        "permissions" => eq(file.and_then(|f| f.permissions).map(f64::from)),
        "operational_mode" => eq(file.and_then(|f| f.mode).map(f64::from)),
        "authentication_key" => eq(file.and_then(|f| f.auth_key).map(f64::from)),
        "created" => eq(file.and_then(|f| f.created).map(|c| c as f64)),
        "block_number" => eq(file.and_then(|f| f.block).map(f64::from)),
        "filename" => Some(
            matches!(want, Y::Str(s) if file.and_then(|f| f.name.as_deref()) == Some(s.as_str())),
        ),
        "filename_size" => eq(file.and_then(|f| f.name.as_ref()).map(|n| n.len() as f64)),
        k => {
            let bit = flag_bit(k)?;
            Some(
                p.flags
                    .is_some_and(|f| f64::from((f >> bit) & 1) == w.unwrap_or(-1.0)),
            )
        }
    }
}

/// Does our message match every comparable field of a Suricata record?
fn message_matches(m: &Message, f: &BTreeMap<String, Y>) -> Result<(), String> {
    let fc = m.function_code;
    let ty = match fc {
        129 | 131 => "response",
        130 => "unsolicited_response",
        _ => "request",
    };
    let b = |x: bool| Y::Bool(x);
    let n = |x: u64| Y::Num(x as f64);
    let scalar: Vec<(&str, Y)> = vec![
        ("dnp3.type", Y::Str(ty.into())),
        ("dnp3.src", n(u64::from(m.source))),
        ("dnp3.dst", n(u64::from(m.destination))),
        ("dnp3.control.dir", b(m.link_control & 0x80 != 0)),
        ("dnp3.control.pri", b(m.link_control & 0x40 != 0)),
        ("dnp3.control.fcb", b(m.link_control & 0x20 != 0)),
        ("dnp3.control.fcv", b(m.link_control & 0x10 != 0)),
        (
            "dnp3.control.function_code",
            n(u64::from(m.link_control & 0x0f)),
        ),
        ("dnp3.application.complete", b(true)),
        ("dnp3.application.control.fir", b(m.control & 0x80 != 0)),
        ("dnp3.application.control.fin", b(m.control & 0x40 != 0)),
        ("dnp3.application.control.con", b(m.control & 0x20 != 0)),
        ("dnp3.application.control.uns", b(m.control & 0x10 != 0)),
        (
            "dnp3.application.control.sequence",
            n(u64::from(m.control & 0x0f)),
        ),
        ("dnp3.application.function_code", n(u64::from(fc))),
    ];
    for (k, v) in scalar {
        if let Some(want) = f.get(k) {
            if *want != v {
                return Err(format!("{k}: want {want:?} have {v:?}"));
            }
        }
    }
    // IIN indicators
    let flags = sluice_proto::dnp3::names::iin_flags(m.iin.unwrap_or(0));
    for (k, v) in f.range("dnp3.iin.indicators".to_string()..) {
        if !k.starts_with("dnp3.iin.indicators") {
            break;
        }
        if let Y::Str(s) = v {
            if !flags.contains(&s.as_str()) {
                return Err(format!("iin indicator {s} not in {flags:?}"));
            }
        }
    }
    // Objects and their points.
    let mut consumed: BTreeMap<(u8, u8), usize> = BTreeMap::new();
    for (i, o) in m.objects.iter().enumerate() {
        let pre = format!("dnp3.application.objects[{i}].");
        let ov: Vec<(&str, u64)> = vec![
            ("group", u64::from(o.group)),
            ("variation", u64::from(o.variation)),
            ("qualifier", u64::from(o.qualifier)),
            ("prefix_code", u64::from(o.prefix_code())),
            ("range_code", u64::from(o.range_code())),
            ("start", u64::from(o.range_start.unwrap_or(0))),
            ("stop", u64::from(o.range_stop.unwrap_or(0))),
            ("count", u64::from(o.count.unwrap_or(0))),
        ];
        for (k, v) in ov {
            if let Some(want) = f.get(&format!("{pre}{k}")) {
                if *want != n(v) {
                    return Err(format!("{pre}{k}: want {want:?} have {v}"));
                }
            }
        }
        let key = (o.group, o.variation);
        let skip = *consumed.get(&key).unwrap_or(&0);
        let ours: Vec<&Point> = m
            .points
            .iter()
            .filter(|p| (p.group, p.variation) == key)
            .skip(skip)
            .collect();
        *consumed.entry(key).or_default() += o.count.unwrap_or(0) as usize;
        let ppre = format!("{pre}points[");
        for (k, want) in f.range(ppre.clone()..) {
            let Some(rest) = k.strip_prefix(&ppre) else {
                break;
            };
            let (idx, field) = rest.split_once("].").unwrap();
            let j: usize = idx.parse().unwrap();
            let Some(p) = ours.get(j) else {
                if matches!(
                    field,
                    "prefix" | "size" | "reserved" | "reserved0" | "reserved1"
                ) {
                    continue;
                }
                return Err(format!("{k}: no point {j} decoded"));
            };
            if let Some(false) = point_field(p, field, want) {
                return Err(format!("{k}: want {want:?}, have {p:?}"));
            }
        }
    }
    if let Some(last) = (0..64).rev().find(|i| {
        f.keys()
            .any(|k| k.starts_with(&format!("dnp3.application.objects[{i}].")))
    }) {
        if last >= m.objects.len() {
            return Err(format!(
                "{} objects, Suricata has {}",
                m.objects.len(),
                last + 1
            ));
        }
    }
    Ok(())
}

// ------------------------------------------------------------- Zeek events ----

/// Comparable items from Zeek's event printout (events.zeek): application headers,
/// object headers and the point values Zeek decodes.
fn zeek_event_items(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(", ").collect();
        let item = match f[0] {
            "dnp3_application_request_header" => format!("req {} ctl{} fc{}", f[1], f[2], f[3]),
            "dnp3_application_response_header" => {
                format!("rsp {} ctl{} fc{} iin{}", f[1], f[2], f[3], f[4])
            }
            "dnp3_object_header" => format!("hdr {} obj{} q{} n{}", f[1], f[2], f[3], f[4]),
            "dnp3_analog_input_32wFlag" => format!("g30v1 {} {} {}", f[1], f[2], f[3]),
            "dnp3_analog_input_32woFlag" => format!("g30v3 {} {}", f[1], f[2]),
            "dnp3_analog_input_SPwFlag" => format!("g30v5 {} {} {}", f[1], f[2], f[3]),
            "dnp3_analog_input_event_32woTime" => format!("g32v1 {} {} {}", f[1], f[2], f[3]),
            "dnp3_counter_32woFlag" => format!("g20v5 {} {}", f[1], f[2]),
            "dnp3_frozen_counter_32woFlag" => format!("g21v9 {} {}", f[1], f[2]),
            "dnp3_crob" => format!(
                "g12v1 {} {} {} {} {} {}",
                f[1], f[2], f[3], f[4], f[5], f[6]
            ),
            "dnp3_file_transport" => format!("g70v5 {} {} {}", f[1], f[2], f[3]),
            _ => continue,
        };
        out.push(item);
    }
    out
}

/// The same items from our decoded messages.
fn our_event_items(messages: &[(usize, Message)]) -> Vec<String> {
    let mut out = Vec::new();
    for (_, m) in messages {
        let o = if m.dir == sluice_proto::Direction::ToServer {
            "T"
        } else {
            "F"
        };
        match m.iin {
            Some(iin) => out.push(format!(
                "rsp {o} ctl{} fc{} iin{iin}",
                m.control, m.function_code
            )),
            None => out.push(format!("req {o} ctl{} fc{}", m.control, m.function_code)),
        }
        for h in &m.objects {
            out.push(format!(
                "hdr {o} obj{} q{} n{}",
                u16::from(h.group) << 8 | u16::from(h.variation),
                h.qualifier,
                h.count.unwrap_or(0)
            ));
        }
        for p in &m.points {
            let flag = p.flags.unwrap_or(0);
            let int = || match p.value {
                Some(Value::Int(i)) => i as u64,
                _ => u64::MAX,
            };
            let item = match (p.group, p.variation) {
                (30, 1) => format!("g30v1 {o} {flag} {}", int()),
                (30, 3) => format!("g30v3 {o} {}", int()),
                (30, 5) => {
                    let bits = match p.value {
                        Some(Value::Float(f)) => (f as f32).to_bits(),
                        _ => u32::MAX,
                    };
                    format!("g30v5 {o} {flag} {bits}")
                }
                (32, 1) => format!("g32v1 {o} {flag} {}", int()),
                (20, 5) => format!("g20v5 {o} {}", int()),
                (21, 9) => format!("g21v9 {o} {}", int()),
                (12, 1) => {
                    let c = p.crob.as_ref().unwrap();
                    format!(
                        "g12v1 {o} {} {} {} {} {}",
                        c.control_code,
                        c.count,
                        c.on_time_ms,
                        c.off_time_ms,
                        p.status.unwrap_or(0)
                    )
                }
                (70, 5) => {
                    let f = p.file.as_ref().unwrap();
                    let raw = f.block.unwrap_or(0)
                        | if f.last_block == Some(true) {
                            1 << 31
                        } else {
                            0
                        };
                    format!("g70v5 {o} {} {raw}", f.handle.unwrap_or(0))
                }
                _ => continue,
            };
            out.push(item);
        }
    }
    out
}

fn item_diff(ours: &[String], theirs: &[String]) -> (usize, Vec<String>) {
    let mut count: BTreeMap<&str, i64> = BTreeMap::new();
    for r in theirs {
        *count.entry(r.as_str()).or_default() += 1;
    }
    for r in ours {
        *count.entry(r.as_str()).or_default() -= 1;
    }
    let mut diffs = Vec::new();
    for (r, n) in &count {
        if *n > 0 {
            diffs.push(format!("missing [{r}] x{n}"));
        } else if *n < 0 {
            diffs.push(format!("extra [{r}] x{}", -n));
        }
    }
    let agree = theirs.len()
        - count
            .values()
            .filter(|n| **n > 0)
            .map(|n| *n as usize)
            .sum::<usize>();
    (agree, diffs)
}

#[test]
fn conformance_table() {
    let Some(root) = shared_data() else { return };
    let mut report = Report {
        allow: allowlist(),
        rows: Vec::new(),
        failures: Vec::new(),
    };
    let mut used_suricata = 0;
    for cap in captures(&root) {
        let file = std::fs::read(root.join(format!("pcaps/dnp3/{cap}.pcap"))).unwrap();
        let flows = run(&file, Chunking::Packet);
        let messages = all_messages(&flows);

        // ---- Zeek
        for (dir, check_msg, check_txn) in [
            ("zeek", "zeek-msg", "zeek-txn"),
            ("zeek-legacy", "legacy-msg", "legacy-txn"),
        ] {
            let zeek = root.join(format!("expected/{dir}/{cap}.dnp3.log"));
            if zeek.exists() {
                let theirs = read_zeek(&zeek);
                let ours: Vec<ZeekRec> =
                    flows.iter().flat_map(|f| zeek_model(&f.messages)).collect();
                let (agree, diffs) = multiset_diff(&ours, &theirs);
                report.check(&cap, check_msg, agree, theirs.len(), diffs);

                let txns: Vec<Transaction> = all_txns(&flows);
                let mut pool: Vec<ZeekRec> = txns
                    .iter()
                    .filter(|t| t.link_function.is_none())
                    .map(|t| {
                        (
                            if t.request {
                                u8::try_from(t.function_code).ok()
                            } else {
                                None
                            },
                            t.response_function_code,
                            t.iin,
                        )
                    })
                    .collect();
                let paired: Vec<&ZeekRec> = theirs
                    .iter()
                    .filter(|r| r.0.is_some() && r.1.is_some())
                    .collect();
                let mut agree = 0;
                let mut diffs = Vec::new();
                for r in &paired {
                    if let Some(i) = pool.iter().position(|p| p == *r) {
                        pool.remove(i);
                        agree += 1;
                    } else {
                        diffs.push(format!("unpaired {}", fmt_rec(r)));
                    }
                }
                diffs.sort();
                let mut counted: Vec<String> = Vec::new();
                for d in diffs {
                    match counted.last_mut() {
                        Some(last)
                            if last.rsplit_once(" x").map(|(a, _)| a) == Some(d.as_str()) =>
                        {
                            let (a, n) = last.rsplit_once(" x").unwrap();
                            *last = format!("{a} x{}", n.parse::<usize>().unwrap() + 1);
                        }
                        _ => counted.push(format!("{d} x1")),
                    }
                }
                report.check(&cap, check_txn, agree, paired.len(), counted);
            }
        }

        // ---- Zeek events
        let ev = root.join(format!("expected/zeek/{cap}.events.txt"));
        if ev.exists() {
            let text = std::fs::read_to_string(&ev).unwrap();
            // Zeek's events for the file-transfer payload contain raw data lines: skip those.
            let theirs = zeek_event_items(&text);
            let ours = our_event_items(&messages);
            let (agree, diffs) = item_diff(&ours, &theirs);
            report.check(&cap, "zeek-ev", agree, theirs.len(), diffs);
        }

        // ---- Suricata
        let sdir = root.join("expected/suricata");
        let mut yamls: Vec<_> = std::fs::read_dir(&sdir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{cap}."))
            })
            .collect();
        yamls.sort();
        for y in yamls {
            used_suricata += 1;
            let filters = read_filters(&std::fs::read_to_string(&y).unwrap());
            let mut agree = 0;
            let mut total = 0;
            let mut diffs = Vec::new();
            for (fi, f) in filters.iter().enumerate() {
                if f.fields.get("event_type") != Some(&Y::Str("dnp3".into())) {
                    continue;
                }
                total += 1;
                if f.fields.len() == 1 {
                    // A bare record count: Suricata does not log confirms (function 0).
                    let n = messages
                        .iter()
                        .filter(|(_, m)| m.function_code != 0)
                        .count();
                    if n == f.count {
                        agree += 1;
                    } else {
                        diffs.push(format!("filter{fi} count want {} have {n}", f.count));
                    }
                    continue;
                }
                let mut errs = Vec::new();
                // Suricata numbers the packet that made it log the record (often the
                // acknowledgement after the data): only look a few packets back.
                let near = |n: usize| match f.fields.get("pcap_cnt").and_then(num) {
                    Some(c) => n as f64 <= c && n as f64 >= c - 4.0,
                    None => true,
                };
                let hits = messages
                    .iter()
                    .filter(|(n, _)| near(*n))
                    .filter(|(_, m)| match message_matches(m, &f.fields) {
                        Ok(()) => true,
                        Err(e) => {
                            errs.push(e);
                            false
                        }
                    })
                    .count();
                if hits == f.count {
                    agree += 1;
                } else {
                    let closest = errs
                        .iter()
                        .find(|e| {
                            !e.starts_with("dnp3.type")
                                && !e.starts_with("dnp3.src")
                                && !e.starts_with("dnp3.application.function_code")
                                && !e.starts_with("dnp3.application.control.sequence")
                        })
                        .cloned()
                        .unwrap_or_default();
                    println!(
                        "  suricata {cap} filter{fi}: {hits} hits, want {}; {closest}",
                        f.count
                    );
                    diffs.push(format!("filter{fi} hits {hits}"));
                }
            }
            report.check(&cap, "suricata", agree, total, diffs);
        }

        // ---- tshark, per packet
        let tsv = root.join(format!("expected/tshark/{cap}.tsv"));
        if tsv.exists() {
            let text = std::fs::read_to_string(&tsv).unwrap();
            let mut lines = text.lines();
            let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
            let fcol = head.iter().position(|c| *c == "dnp3.al.func").unwrap();
            let ncol = head.iter().position(|c| *c == "frame.number").unwrap();
            let mut theirs: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
            for l in lines {
                let v: Vec<&str> = l.split('\t').collect();
                let fcs: Vec<u8> = v[fcol]
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().unwrap())
                    .collect();
                if !fcs.is_empty() {
                    theirs.insert(v[ncol].parse().unwrap(), fcs);
                }
            }
            let mut ours: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
            for (n, m) in &messages {
                ours.entry(*n).or_default().push(m.function_code);
            }
            let keys: BTreeSet<usize> = theirs.keys().chain(ours.keys()).copied().collect();
            let mut agree = 0;
            let mut diffs = Vec::new();
            for k in &keys {
                let (a, b) = (ours.get(k), theirs.get(k));
                if a == b {
                    agree += 1;
                } else {
                    diffs.push(
                        format!(
                            "frame{k} ours {:?} tshark {:?}",
                            a.cloned().unwrap_or_default(),
                            b.cloned().unwrap_or_default()
                        )
                        .replace(' ', ""),
                    );
                }
            }
            report.check(&cap, "tshark", agree, keys.len(), diffs);
        }
    }
    println!(
        "\n{:<52} {:<9} {:>6} {:>6} {:>8}",
        "capture", "check", "agree", "total", "allowed"
    );
    let (mut ta, mut tt) = (0, 0);
    for r in &report.rows {
        println!(
            "{:<52} {:<9} {:>6} {:>6} {:>8}",
            r.capture, r.check, r.agree, r.total, r.allowed
        );
        ta += r.agree;
        tt += r.total;
    }
    println!("{:<52} {:<9} {:>6} {:>6}", "TOTAL", "", ta, tt);
    assert!(
        used_suricata >= 8,
        "expected the 8 Suricata DNP3 expectation files"
    );
    assert!(
        report.failures.is_empty(),
        "disagreements not in dnp3_allowlist.txt:\n{}",
        report.failures.join("\n")
    );
}
