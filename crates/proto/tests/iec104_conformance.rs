//! Conformance of the IEC 104 parser with tshark on the shared captures
//! (`../shared/data/expected/tshark/iec104-*.tsv`): per flow and direction, the
//! sequence of APDUs (format; U function; ASDU type id, cause of transmission and
//! common address) and the sequence of information object addresses must equal
//! what our parser decoded. Disagreements must be listed in
//! `iec104_allowlist.txt`.
mod support;

use sluice_proto::iec104::parser::Apci;
use sluice_proto::iec104::state::{Iec104Parser, Message};
use sluice_proto::{Direction, Parser};
use std::collections::{BTreeMap, BTreeSet};
use support::Piece;

fn allowlist() -> BTreeSet<String> {
    include_str!("iec104_allowlist.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn trace(f: &support::Flow) -> Vec<Message> {
    let mut p = Iec104Parser::new();
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

fn list(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').map(String::from).collect()
    }
}

fn num(s: &str) -> u32 {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

fn dir_name(d: Direction) -> &'static str {
    if d == Direction::ToServer {
        "c2s"
    } else {
        "s2c"
    }
}

/// (client, server, direction) -> (APDU tokens, IOAs)
type Seqs = BTreeMap<(String, String, &'static str), (Vec<String>, Vec<u32>)>;

fn tshark(path: &std::path::Path) -> Seqs {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let cols: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |row: &[&str], name: &str| -> String {
        let i = cols.iter().position(|c| *c == name).unwrap();
        row.get(i).copied().unwrap_or("").to_string()
    };
    let mut m: Seqs = BTreeMap::new();
    for line in lines {
        let row: Vec<&str> = line.split('\t').collect();
        let types = list(&col(&row, "iec60870_104.type"));
        if types.is_empty() {
            continue;
        }
        let (src, dst) = (col(&row, "ip.src"), col(&row, "ip.dst"));
        let (sp, dp) = (col(&row, "tcp.srcport"), col(&row, "tcp.dstport"));
        let key = if dp == "2404" {
            (format!("{src}:{sp}"), format!("{dst}:{dp}"), "c2s")
        } else {
            (format!("{dst}:{dp}"), format!("{src}:{sp}"), "s2c")
        };
        let mut utypes = list(&col(&row, "iec60870_104.utype")).into_iter();
        let mut tids = list(&col(&row, "iec60870_asdu.typeid")).into_iter();
        let mut cots = list(&col(&row, "iec60870_asdu.causetx")).into_iter();
        let mut cas = list(&col(&row, "iec60870_asdu.addr")).into_iter();
        let e = m.entry(key).or_default();
        for t in types {
            let tok = match num(&t) {
                0 => format!(
                    "I/{}/{}/{}",
                    tids.next().unwrap_or_default(),
                    cots.next().unwrap_or_default(),
                    cas.next().unwrap_or_default()
                ),
                1 => "S".to_string(),
                _ => format!("U/{}", num(&utypes.next().unwrap_or_default())),
            };
            e.0.push(tok);
        }
        e.1.extend(list(&col(&row, "iec60870_asdu.ioa")).iter().map(|s| num(s)));
    }
    m
}

fn ours(msgs: &[Message], client: &str, server: &str, m: &mut Seqs) {
    for msg in msgs {
        let e = m
            .entry((client.to_string(), server.to_string(), dir_name(msg.dir)))
            .or_default();
        let tok = match (msg.apci, msg.asdu) {
            (Apci::I { .. }, Some(h)) => format!("I/{}/{}/{}", h.type_id, h.cot, h.common_address),
            (Apci::I { .. }, None) => "I/-".to_string(),
            (Apci::S { .. }, _) => "S".to_string(),
            (Apci::U { function }, _) => format!("U/{}", function >> 2),
        };
        e.0.push(tok);
        e.1.extend(&msg.ioas);
    }
}

#[test]
fn tshark_agreement() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let allow = allowlist();
    let mut failures = Vec::new();
    let (mut total, mut agreed, mut ioa_total, mut ioa_agreed) = (0, 0, 0, 0);
    for (cap, file) in [
        (
            "iec104-iti-090813-diverse",
            "iec104-iti-090813-diverse.pcap",
        ),
        (
            "iec104-iti-javarmi-and-iec-misc",
            "iec104-iti-javarmi-and-iec-misc.pcap",
        ),
        ("iec104-automayt-sq", "iec104-automayt-sq.pcapng"),
    ] {
        let theirs = tshark(&data.join(format!("expected/tshark/{cap}.tsv")));
        let mut mine: Seqs = BTreeMap::new();
        for f in support::flows(&data.join(format!("pcaps/iec104/{file}")), &[2404]) {
            if f.server.port() != 2404 && f.client.port() != 2404 {
                continue;
            }
            ours(
                &trace(&f),
                &f.client.to_string(),
                &f.server.to_string(),
                &mut mine,
            );
        }
        let keys: BTreeSet<_> = theirs.keys().chain(mine.keys()).cloned().collect();
        for k in keys {
            let (a, ai) = mine.get(&k).cloned().unwrap_or_default();
            let (b, bi) = theirs.get(&k).cloned().unwrap_or_default();
            let n = a.iter().zip(&b).filter(|(x, y)| x == y).count();
            let ni = ai.iter().zip(&bi).filter(|(x, y)| x == y).count();
            total += b.len();
            agreed += n;
            ioa_total += bi.len();
            ioa_agreed += ni;
            println!(
                "{cap:<34} {} {:>4}: APDUs {n}/{} IOAs {ni}/{}",
                k.0,
                k.2,
                b.len(),
                bi.len()
            );
            if a != b || ai != bi {
                let id = format!("tshark {cap} {}:{} {}", k.0, k.1, k.2);
                if !allow.contains(&id) {
                    let first = a.iter().zip(&b).position(|(x, y)| x != y);
                    failures.push(format!(
                        "{id}  # first APDU difference at {first:?}: ours {:?} theirs {:?}; lengths {} {}, IOAs {} {}",
                        first.and_then(|i| a.get(i)),
                        first.and_then(|i| b.get(i)),
                        a.len(),
                        b.len(),
                        ai.len(),
                        bi.len()
                    ));
                }
            }
        }
    }
    println!("tshark APDUs: {agreed}/{total} agree; IOAs {ioa_agreed}/{ioa_total}");
    assert!(total >= 300);
    assert!(
        failures.is_empty(),
        "disagreements not in the allowlist:\n{}",
        failures.join("\n")
    );
}
