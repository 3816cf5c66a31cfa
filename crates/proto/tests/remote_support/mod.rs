//! Helpers of the remote-access / IT protocol tests (rdp, vnc, smb, telnet, ftp,
//! teamviewer, anydesk): records as JSON, peer logs, agreement tables with an
//! allowlist, and chunked feeding for the property tests.
#![allow(dead_code)]
use sluice_proto::{Direction, Output, ProtocolDesc, Transport};
use std::collections::HashMap;
use std::path::Path;

/// The JSON objects of the transactions among `outs` (without the protocol key).
pub fn records(outs: &[Output]) -> Vec<serde_json::Value> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => Some(serde_json::to_value(t.record.fields()).expect("serializes")),
            _ => None,
        })
        .collect()
}

/// Anomaly kinds among `outs`.
pub fn anomalies(outs: &[Output]) -> Vec<&'static str> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Anomaly(a) => Some(a.kind),
            _ => None,
        })
        .collect()
}

/// Undoes Zeek's log escaping (`\\` for a backslash, `\xNN` for other bytes).
pub fn unescape(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            match v
                .get(i + 2..i + 4)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(c) => {
                    out.push(c);
                    i += 4;
                }
                None => {
                    out.push(b[i]);
                    i += 1;
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Rows of a Zeek TSV log as field → value maps.
pub fn zeek_log(path: &Path) -> Vec<HashMap<String, String>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut fields: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            fields = f.split('\t').map(str::to_string).collect();
        } else if !line.starts_with('#') && !line.is_empty() {
            rows.push(
                fields
                    .iter()
                    .cloned()
                    .zip(line.split('\t').map(unescape))
                    .collect(),
            );
        }
    }
    rows
}

/// One compared value.
pub struct Row {
    pub file: String,
    pub field: String,
    pub ours: String,
    pub theirs: String,
}

impl Row {
    pub fn new(file: &str, field: &str, ours: impl ToString, theirs: impl ToString) -> Row {
        Row {
            file: file.into(),
            field: field.into(),
            ours: ours.to_string(),
            theirs: theirs.to_string(),
        }
    }
}

/// Prints the agreement table and fails on a disagreement not in
/// `tests/<proto>_allowlist.txt` (lines `file|field|reason`).
pub fn check(proto: &str, peer: &str, rows: &[Row]) {
    let allow_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(format!("{proto}_allowlist.txt"));
    let allow = std::fs::read_to_string(allow_path).unwrap_or_default();
    let allowed = |r: &Row| {
        allow.lines().any(|l| {
            let mut p = l.split('|');
            p.next() == Some(r.file.as_str()) && p.next() == Some(r.field.as_str())
        })
    };
    println!("{proto} vs {peer}: {} values", rows.len());
    println!(
        "{:<42} {:<28} {:<30} {:<30} verdict",
        "capture", "field", "sluice", peer
    );
    let mut bad = Vec::new();
    let mut agree = 0;
    for r in rows {
        let verdict = if r.ours == r.theirs {
            agree += 1;
            "agree"
        } else if allowed(r) {
            "allowlisted"
        } else {
            bad.push(format!(
                "{} {}: ours {:?} theirs {:?}",
                r.file, r.field, r.ours, r.theirs
            ));
            "DISAGREE"
        };
        println!(
            "{:<42} {:<28} {:<30} {:<30} {verdict}",
            r.file, r.field, r.ours, r.theirs
        );
    }
    println!("{agree}/{} agree", rows.len());
    assert!(
        bad.is_empty(),
        "disagreements not allowlisted:\n{}",
        bad.join("\n")
    );
}

/// Feeds `steps` to a fresh parser, each step's bytes cut into `chunk`-byte pieces
/// (0 = whole), then finishes; returns the outputs.
pub fn feed_chunked(
    desc: &ProtocolDesc,
    steps: &[(Direction, Vec<u8>)],
    chunk: usize,
) -> Vec<Output> {
    let mut p = (desc.new_parser)(Transport::Tcp);
    let mut out = Vec::new();
    for (i, (d, b)) in steps.iter().enumerate() {
        let ts = i as i64 * 1000;
        if chunk == 0 {
            p.parse(*d, b, ts, &mut out);
        } else {
            for c in b.chunks(chunk) {
                p.parse(*d, c, ts, &mut out);
            }
        }
    }
    p.finish(steps.len() as i64 * 1000, &mut out);
    out
}

/// Per-direction byte streams of a captured flow, in capture order.
pub fn steps_of(flow: &super::support::Flow) -> Vec<(Direction, Vec<u8>)> {
    flow.pieces
        .iter()
        .filter_map(|p| match p {
            super::support::Piece::Data(d, _, b) => Some((*d, b.clone())),
            _ => None,
        })
        .collect()
}

/// Records (JSON) of a flow fed whole and fed one byte at a time must be equal.
pub fn assert_chunk_invariant(desc: &ProtocolDesc, steps: &[(Direction, Vec<u8>)]) {
    let whole = records(&feed_chunked(desc, steps, 0));
    let bytes = records(&feed_chunked(desc, steps, 1));
    assert_eq!(whole, bytes, "{} output depends on chunking", desc.name);
}

/// Protocol-shaped starts for the property tests: the first messages a client or
/// server of `proto` sends (choice by `i`), so random continuations reach deeper states.
pub fn seed(proto: &str, i: u8) -> Vec<u8> {
    let pick = |v: &[&[u8]]| v[usize::from(i) % v.len()].to_vec();
    match proto {
        "rdp" => pick(&[
            b"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x00\x00\x00\x00",
            b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x00\x08\x00\x00\x00\x00\x00",
            b"\x03\x00\x00\x0c\x02\xf0\x80\x7f\x65\x82\x01\x00",
            b"",
        ]),
        "vnc" => pick(&[
            b"RFB 003.008\n",
            b"RFB 003.003\n",
            b"RFB 003.007\n",
            b"\x01",
            b"\x00\x00\x00\x01",
            b"",
        ]),
        "smb" => pick(&[
            b"\x00\x00\x00\x48\xfeSMB\x40\x00",
            b"\x00\x00\x00\x40\xffSMB\x72\x00\x00\x00\x00",
            b"\x00\x00\x01\x00\xfeSMB\x40\x00\x00\x00\x00\x00\x00\x00\x01\x00",
            b"",
        ]),
        "telnet" => pick(&[
            b"\xff\xfd\x18",
            b"login: ",
            b"Password: ",
            b"root\r\n",
            b"\xff\xfa\x27\x00\x00USER\x01",
            b"",
        ]),
        "ftp" => pick(&[
            b"220 ready\r\n",
            b"USER a\r\n",
            b"PASS b\r\n",
            b"227 (1,2,3,4,5,6)\r\n",
            b"211-x\r\n",
            b"",
        ]),
        "teamviewer" => pick(&[
            b"\x17\x24\x0a\x20\x00",
            b"\x11\x30\x0a\x02\x00",
            b"GET /din.aspx?",
            b"",
        ]),
        "anydesk" => pick(&[
            b"\x16\x03\x01\x00\x30\x01\x00\x00\x2c\x03\x03",
            b"\x16\x03\x03\x00\x10\x02",
            b"",
        ]),
        _ => Vec::new(),
    }
}

/// The robustness properties every remote-access / IT parser holds: arbitrary bytes in
/// arbitrary chunkings (with TCP gaps) never panic, and the records do not depend on the
/// chunking. Defines `dir` and `seed` (a plausible protocol start, so fuzzed bytes reach
/// deeper states) at the call site; needs `use proptest::prelude::*` there.
#[allow(unused_macros)] // only the *_props test binaries call it
macro_rules! robustness_props {
    ($desc:path, $name:literal) => {
        fn dir(b: bool) -> ::sluice_proto::Direction {
            if b {
                ::sluice_proto::Direction::ToServer
            } else {
                ::sluice_proto::Direction::ToClient
            }
        }

        /// A plausible start for the protocol, so that fuzzed bytes reach deeper states.
        fn seed(i: u8) -> Vec<u8> {
            remote_support::seed($name, i)
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn never_panics(
                steps in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..300), any::<u8>()), 0..12),
                chunk in 1usize..64,
                gap_at in any::<u8>(),
            ) {
                let mut p = ($desc.new_parser)(::sluice_proto::Transport::Tcp);
                let mut out = Vec::new();
                for (i, (d, bytes, s)) in steps.iter().enumerate() {
                    let mut b = if i < 2 { seed(*s) } else { Vec::new() };
                    b.extend_from_slice(bytes);
                    if i == usize::from(gap_at % 16) {
                        p.gap(dir(*d), 10, i as i64, &mut out);
                    }
                    for c in b.chunks(chunk) {
                        p.parse(dir(*d), c, i as i64, &mut out);
                    }
                    let _ = ($desc.probe)(dir(*d), &b);
                }
                p.finish(99, &mut out);
            }

            #[test]
            fn chunking_invariant(
                steps in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..200), any::<u8>()), 0..8),
                chunk in 1usize..17,
            ) {
                let steps: Vec<(::sluice_proto::Direction, Vec<u8>)> = steps
                    .into_iter()
                    .enumerate()
                    .map(|(i, (d, bytes, s))| {
                        let mut b = if i < 4 { seed(s) } else { Vec::new() };
                        b.extend(bytes);
                        (dir(d), b)
                    })
                    .collect();
                let whole = remote_support::records(&remote_support::feed_chunked(&$desc, &steps, 0));
                prop_assert_eq!(&whole, &remote_support::records(&remote_support::feed_chunked(&$desc, &steps, 1)));
                prop_assert_eq!(&whole, &remote_support::records(&remote_support::feed_chunked(&$desc, &steps, chunk)));
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use robustness_props;
