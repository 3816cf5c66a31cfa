//! Conformance of the S7comm parser with tshark and Zeek (CISA ICSNPP) on the
//! shared captures (`../shared/data/expected/`).
//!
//! - tshark `s7comm-*.tsv`: per flow and direction, the sequence of S7 PDUs
//!   (ROSCTR, and the parameter function of jobs / ack-data or the userdata
//!   subfunction) must equal the messages our parser decoded, in order.
//! - ICSNPP `s7comm.log`: per flow and direction, the sequence of (ROSCTR, PDU
//!   reference, function code, subfunction, error) records. ICSNPP prints the PDU
//!   reference byte-swapped (little-endian read); its userdata `function_code` is
//!   the type/group byte.
//! - ICSNPP `s7comm_read_szl.log`: SZL id and index of each read SZL message.
//! - ICSNPP `s7comm_upload_download.log`: function, upload id, block file name /
//!   type / number / file system of up/download messages.
//!
//! Disagreements must be listed, with evidence, in `s7comm_allowlist.txt`.
mod support;

use sluice_proto::s7comm::state::{Message, S7Parser};
use sluice_proto::s7comm::Transaction;
use sluice_proto::{Direction, Output, Parser, Record};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use support::{Flow, Piece};

fn allowlist() -> BTreeSet<String> {
    include_str!("s7comm_allowlist.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Runs the parser with tracing over one flow: (messages, outputs).
fn trace(f: &Flow) -> (Vec<Message>, Vec<Output>) {
    let mut p = S7Parser::new();
    p.set_trace(true);
    let mut out = Vec::new();
    let mut last = 0;
    for piece in &f.pieces {
        match piece {
            Piece::Data(d, ts, b) => {
                last = *ts;
                p.parse(*d, b, *ts, &mut out);
            }
            Piece::Gap(d, ts, n) => p.gap(*d, *n, *ts, &mut out),
        }
    }
    p.finish(last, &mut out);
    (p.take_trace(), out)
}

/// Flow key: (client ip:port, server ip:port) as text.
fn key_of(f: &Flow) -> (String, String) {
    (f.client.to_string(), f.server.to_string())
}

struct Tsv {
    cols: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Tsv {
    fn read(p: &Path) -> Tsv {
        let text = std::fs::read_to_string(p).unwrap();
        let mut lines = text.lines();
        let cols = lines
            .next()
            .unwrap()
            .split('\t')
            .map(String::from)
            .collect();
        let rows = lines
            .map(|l| l.split('\t').map(String::from).collect())
            .collect();
        Tsv { cols, rows }
    }
    fn get<'a>(&self, row: &'a [String], col: &str) -> &'a str {
        let i = self.cols.iter().position(|c| c == col).unwrap();
        row.get(i).map_or("", String::as_str)
    }
}

fn list(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').map(String::from).collect()
    }
}

fn num(s: &str) -> u32 {
    if let Some(h) = s.strip_prefix("0x") {
        u32::from_str_radix(h, 16).unwrap()
    } else {
        s.parse().unwrap()
    }
}

/// One S7 message in the comparable form `rosctr/function` (`7/sub` for userdata).
fn ours(m: &Message) -> String {
    match (m.rosctr, m.function, m.userdata) {
        (7, _, Some((_, _, sub))) => format!("7/{sub}"),
        (r, Some(f), _) => format!("{r}/{f:#04x}"),
        (r, None, _) => format!("{r}/-"),
    }
}

type DirKey = (String, String, &'static str);

/// tshark's S7 messages per (client, server, direction).
fn tshark_messages(t: &Tsv, server_port: u16) -> BTreeMap<DirKey, Vec<String>> {
    let mut m: BTreeMap<DirKey, Vec<String>> = BTreeMap::new();
    for row in &t.rows {
        let rosctr = list(t.get(row, "s7comm.header.rosctr"));
        if rosctr.is_empty() {
            continue;
        }
        let (src, dst) = (t.get(row, "ip.src"), t.get(row, "ip.dst"));
        let (sp, dp) = (t.get(row, "tcp.srcport"), t.get(row, "tcp.dstport"));
        let to_server = dp.parse::<u16>().unwrap() == server_port;
        let (client, server, dir) = if to_server {
            (format!("{src}:{sp}"), format!("{dst}:{dp}"), "c2s")
        } else {
            (format!("{dst}:{dp}"), format!("{src}:{sp}"), "s2c")
        };
        let mut funcs = list(t.get(row, "s7comm.param.func")).into_iter();
        let mut subs = list(t.get(row, "s7comm.param.userdata.subfunc")).into_iter();
        let e = m.entry((client, server, dir)).or_default();
        for r in rosctr {
            let r = num(&r);
            let s = match r {
                7 => format!("7/{}", subs.next().map_or(0, |s| num(&s))),
                1 | 3 => match funcs.next() {
                    Some(f) => format!("{r}/{:#04x}", num(&f)),
                    None => format!("{r}/-"),
                },
                _ => format!("{r}/-"),
            };
            e.push(s);
        }
    }
    m
}

/// Compares two sequences; returns the number of positions that agree and a
/// description of the disagreement, if any.
fn compare(ours: &[String], theirs: &[String]) -> (usize, Option<String>) {
    let agree = ours.iter().zip(theirs).filter(|(a, b)| a == b).count();
    if ours == theirs {
        return (agree, None);
    }
    let first = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    (
        agree,
        Some(format!(
            "at {first}: ours {:?} theirs {:?} (lengths {} {})",
            ours.get(first),
            theirs.get(first),
            ours.len(),
            theirs.len()
        )),
    )
}

fn dir_name(d: Direction) -> &'static str {
    match d {
        Direction::ToServer => "c2s",
        Direction::ToClient => "s2c",
    }
}

const CAPTURES: &[&str] = &[
    "s7comm-gymgit-step7-s300-auth-password",
    "s7comm-gymgit-step7-s300-download",
    "s7comm-gymgit-step7-s300-rw-vartab",
    "s7comm-gymgit-tia-s300-flash-led",
    "s7comm-icsnpp-snap7",
    "s7comm-iti-downloading-block-db1",
    "s7comm-iti-program-blocklist-onlineview",
    "s7comm-iti-reading-setting-plc-time",
    "s7comm-iti-varservice-libnodave",
];

#[test]
fn tshark_agreement() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let allow = allowlist();
    let mut failures = Vec::new();
    println!(
        "{:<45} {:>5} {:>8} {:>8}",
        "capture", "dir", "agree", "tshark"
    );
    let (mut total, mut agreed) = (0, 0);
    for cap in CAPTURES {
        let pcap = data.join(format!("pcaps/s7comm/{cap}.pcap"));
        let tsv = Tsv::read(&data.join(format!("expected/tshark/{cap}.tsv")));
        let theirs = tshark_messages(&tsv, 102);
        let mut mine: BTreeMap<DirKey, Vec<String>> = BTreeMap::new();
        for f in support::flows(&pcap, &[102]) {
            let (msgs, _) = trace(&f);
            let (c, s) = key_of(&f);
            for m in msgs {
                mine.entry((c.clone(), s.clone(), dir_name(m.dir)))
                    .or_default()
                    .push(ours(&m));
            }
        }
        let keys: BTreeSet<_> = theirs.keys().chain(mine.keys()).cloned().collect();
        for k in keys {
            let a = mine.get(&k).cloned().unwrap_or_default();
            let b = theirs.get(&k).cloned().unwrap_or_default();
            let (n, diff) = compare(&a, &b);
            total += b.len();
            agreed += n;
            println!("{cap:<45} {:>5} {n:>8} {:>8}", k.2, b.len());
            if let Some(d) = diff {
                let id = format!("tshark {cap} {}:{} {}", k.0, k.1, k.2);
                if !allow.contains(&id) {
                    failures.push(format!("{id}  # {d}"));
                }
            }
        }
    }
    println!("tshark S7 messages: {agreed}/{total} agree");
    assert!(
        failures.is_empty(),
        "disagreements not in the allowlist:\n{}",
        failures.join("\n")
    );
}

/// Zeek log records: the named columns of every record.
fn zeek(path: &Path, names: &[&str]) -> Vec<Vec<String>> {
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
        out.push(
            names
                .iter()
                .map(|n| {
                    let i = cols
                        .iter()
                        .position(|c| c == n)
                        .unwrap_or_else(|| panic!("no column {n}"));
                    vals.get(i).copied().unwrap_or("").to_string()
                })
                .collect(),
        );
    }
    out
}

fn swap(r: u16) -> u16 {
    r.swap_bytes()
}

/// Our message in ICSNPP's s7comm.log form.
fn icsnpp_form(m: &Message) -> String {
    let (fc, sub) = match (m.rosctr, m.function, m.userdata) {
        (7, _, Some((kind, group, sub))) => {
            (format!("{:#04x}", kind << 4 | group), format!("{sub:#04x}"))
        }
        (_, Some(f), _) => (format!("{f:#04x}"), "-".to_string()),
        _ => ("-".to_string(), "-".to_string()),
    };
    let err = match (m.rosctr, m.param_error, m.error_class, m.error_code) {
        (7, Some(e), _, _) => format!("{e:#06x}"),
        (3, _, Some(c), Some(e)) => format!("{:#04x}", u16::from(c) << 8 | u16::from(e)),
        _ => "-".to_string(),
    };
    format!("{}/{}/{fc}/{sub}/{err}", m.rosctr, swap(m.pdu_ref))
}

fn icsnpp_row(r: &[String]) -> String {
    // rosctr_code pdu_reference function_code subfunction_code error_code
    let sub = if r[3].starts_with("0x") {
        r[3].clone()
    } else {
        "-".to_string()
    };
    let err = if r[4] == "-" {
        "-".to_string()
    } else {
        let v = num(&r[4]);
        if r[0] == "7" {
            format!("{v:#06x}")
        } else {
            format!("{v:#04x}")
        }
    };
    format!("{}/{}/{}/{sub}/{err}", r[0], r[1], r[2])
}

#[test]
fn icsnpp_agreement() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let allow = allowlist();
    let mut failures = Vec::new();
    let cap = "s7comm-icsnpp-snap7";
    let pcap = data.join(format!("pcaps/s7comm/{cap}.pcap"));
    let flows = support::flows(&pcap, &[102]);
    let mut mine: BTreeMap<&'static str, Vec<Message>> = BTreeMap::new();
    let mut txns: Vec<Transaction> = Vec::new();
    for f in &flows {
        let (msgs, out) = trace(f);
        for m in msgs {
            mine.entry(dir_name(m.dir)).or_default().push(m);
        }
        txns.extend(out.into_iter().filter_map(|o| match o {
            Output::Txn(t) => match t.record {
                Record::S7comm(x) => Some(*x),
                _ => None,
            },
            _ => None,
        }));
    }
    // s7comm.log
    let rows = zeek(
        &data.join(format!("expected/zeek-icsnpp/{cap}.s7comm.log")),
        &[
            "is_orig",
            "rosctr_code",
            "pdu_reference",
            "function_code",
            "subfunction_code",
            "error_code",
        ],
    );
    let mut total = 0;
    let mut agreed = 0;
    for dir in [Direction::ToServer, Direction::ToClient] {
        let orig = if dir == Direction::ToServer { "T" } else { "F" };
        let theirs: Vec<String> = rows
            .iter()
            .filter(|r| r[0] == orig)
            .map(|r| icsnpp_row(&r[1..]))
            .collect();
        let ours: Vec<String> = mine
            .get(dir_name(dir))
            .map(|v| v.iter().map(icsnpp_form).collect())
            .unwrap_or_default();
        // ICSNPP skips messages it does not log: compare as ordered subsequences
        let mut it = ours.iter();
        for t in &theirs {
            total += 1;
            if it.any(|o| o == t) {
                agreed += 1;
            } else {
                let id = format!("icsnpp-s7comm {cap} {} {t}", dir_name(dir));
                if !allow.contains(&id) {
                    failures.push(id);
                }
            }
        }
        let extra = ours.len() as i64 - theirs.len() as i64;
        if extra != 0 {
            let id = format!("icsnpp-s7comm {cap} {} extra {extra}", dir_name(dir));
            println!("{id}");
            if !allow.contains(&id) {
                failures.push(id);
            }
        }
    }
    println!("ICSNPP s7comm.log: {agreed}/{total} records agree");

    // s7comm_read_szl.log: szl id / index per message, in order
    let szl = zeek(
        &data.join(format!("expected/zeek-icsnpp/{cap}.s7comm_read_szl.log")),
        &["is_orig", "szl_id", "szl_index"],
    );
    let mut szl_ok = 0;
    for dir in [Direction::ToServer, Direction::ToClient] {
        let orig = if dir == Direction::ToServer { "T" } else { "F" };
        let theirs: Vec<(u32, u32)> = szl
            .iter()
            .filter(|r| r[0] == orig)
            .map(|r| (num(&r[1]), num(&r[2])))
            .collect();
        let ours: Vec<(u32, u32)> = mine
            .get(dir_name(dir))
            .map(|v| {
                v.iter()
                    .filter_map(|m| m.szl)
                    .map(|(a, b)| (u32::from(a), u32::from(b)))
                    .collect()
            })
            .unwrap_or_default();
        let mut it = ours.iter();
        for t in &theirs {
            if it.any(|o| o == t) {
                szl_ok += 1;
            } else {
                let id = format!(
                    "icsnpp-szl {cap} {} {:#06x}/{:#06x}",
                    dir_name(dir),
                    t.0,
                    t.1
                );
                if !allow.contains(&id) {
                    failures.push(id);
                }
            }
        }
    }
    println!(
        "ICSNPP s7comm_read_szl.log: {szl_ok}/{} records agree",
        szl.len()
    );

    // s7comm_upload_download.log: job records carry the file name / upload id
    let ud = zeek(
        &data.join(format!(
            "expected/zeek-icsnpp/{cap}.s7comm_upload_download.log"
        )),
        &[
            "rosctr",
            "pdu_reference",
            "function_name",
            "session_id",
            "blocklength",
            "filename",
            "block_number",
        ],
    );
    let mut ud_ok = 0;
    for r in &ud {
        let pdu_ref = swap(num(&r[1]) as u16);
        let Some(t) = txns.iter().find(|t| t.pdu_ref == pdu_ref && t.rosctr == 1) else {
            failures.push(format!("icsnpp-updown {cap} missing pdu {}", r[1]));
            continue;
        };
        let b = t.block.as_deref().cloned().unwrap_or_default();
        let mut ok = true;
        if r[0] == "Job-Request" && r[5] != "-" {
            ok &= b.filename.as_deref() == Some(r[5].as_str());
            ok &= b.number == r[6].parse().ok();
        }
        // A start upload job carries a placeholder id (0); the record keeps the id
        // the PLC assigns in its ack-data.
        if r[3] != "-" && !(r[0] == "Job-Request" && r[2] == "Start Upload") {
            ok &= b.upload_id == r[3].parse().ok();
        }
        if r[0] == "ACK-Data" && r[4] != "-" {
            let n: u32 = r[4].parse().unwrap();
            ok &= b.block_length == Some(n) || t.data_length == Some(n);
        }
        if ok {
            ud_ok += 1;
        } else {
            let id = format!("icsnpp-updown {cap} {} {} {}", r[0], r[1], r[2]);
            if !allow.contains(&id) {
                failures.push(format!(
                    "{id}  # ours {b:?} data_length {:?}",
                    t.data_length
                ));
            }
        }
    }
    println!(
        "ICSNPP s7comm_upload_download.log: {ud_ok}/{} records agree",
        ud.len()
    );
    assert!(
        failures.is_empty(),
        "disagreements not in the allowlist:\n{}",
        failures.join("\n")
    );
}
