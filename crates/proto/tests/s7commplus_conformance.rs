//! Conformance of the S7comm-plus parser with Zeek (CISA ICSNPP `s7comm_plus.log`)
//! on `s7commplus-icsnpp-s7comm-plus.pcap`: per flow direction, the sequence of
//! (version, opcode, function code) of every message must agree. tshark 4.0 has no
//! S7comm-plus dissector (its TSVs show the frames as COTP `data`), so there is
//! nothing to compare with it beyond framing, which the captures test covers.
//! Disagreements must be listed in `s7commplus_allowlist.txt`.
mod support;

use sluice_proto::s7commplus::state::{Message, S7PlusParser};
use sluice_proto::{Direction, Parser};
use std::collections::BTreeSet;
use support::Piece;

fn allowlist() -> BTreeSet<String> {
    include_str!("s7commplus_allowlist.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn trace(f: &support::Flow) -> Vec<Message> {
    let mut p = S7PlusParser::new();
    p.set_trace(true);
    let mut out = Vec::new();
    for piece in &f.pieces {
        match piece {
            Piece::Data(d, ts, b) => p.parse(*d, b, *ts, &mut out),
            Piece::Gap(d, ts, n) => p.gap(*d, *n, *ts, &mut out),
        }
    }
    p.finish(0, &mut out);
    p.take_trace()
}

fn zeek(path: &std::path::Path, names: &[&str]) -> Vec<Vec<String>> {
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
                    let i = cols.iter().position(|c| c == n).unwrap();
                    vals.get(i).copied().unwrap_or("").to_string()
                })
                .collect(),
        );
    }
    out
}

#[test]
fn icsnpp_agreement() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let allow = allowlist();
    let cap = "s7commplus-icsnpp-s7comm-plus";
    let rows = zeek(
        &data.join(format!("expected/zeek-icsnpp/{cap}.s7comm_plus.log")),
        &["id.orig_p", "is_orig", "version", "opcode", "function_code"],
    );
    let mut failures = Vec::new();
    let (mut total, mut agreed) = (0, 0);
    for f in support::flows(&data.join(format!("pcaps/s7comm/{cap}.pcap")), &[102]) {
        let port = f.client.port().to_string();
        let msgs = trace(&f);
        for dir in [Direction::ToServer, Direction::ToClient] {
            let orig = if dir == Direction::ToServer { "T" } else { "F" };
            let theirs: Vec<String> = rows
                .iter()
                .filter(|r| r[0] == port && r[1] == orig)
                .map(|r| format!("{}/{}/{}", r[2], r[3], r[4]))
                .collect();
            if theirs.is_empty() {
                continue;
            }
            let ours: Vec<String> = msgs
                .iter()
                .filter(|m| m.dir == dir)
                .map(|m| {
                    let fc = match (m.opcode, m.function) {
                        (0x33, _) | (_, None) => "-".to_string(),
                        (_, Some(f)) => format!("{f:#06x}"),
                    };
                    format!("{}/{:#04x}/{fc}", m.version, m.opcode)
                })
                .collect();
            total += theirs.len();
            agreed += ours.iter().zip(&theirs).filter(|(a, b)| a == b).count();
            println!(
                "{cap} {port} {orig}: {} ours, {} ICSNPP",
                ours.len(),
                theirs.len()
            );
            if ours != theirs {
                let id = format!("icsnpp {cap} {port} {orig}");
                if !allow.contains(&id) {
                    failures.push(format!("{id}  # ours {ours:?}\n theirs {theirs:?}"));
                }
            }
        }
    }
    println!("ICSNPP s7comm_plus.log: {agreed}/{total} messages agree");
    assert!(total > 100);
    assert!(
        failures.is_empty(),
        "disagreements not in the allowlist:\n{}",
        failures.join("\n")
    );
}
