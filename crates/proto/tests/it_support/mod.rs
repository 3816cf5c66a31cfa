//! Helpers shared by the IT protocol tests (dns, http, tls, ssh, mqtt): reading the
//! peers' expected outputs (Zeek logs, tshark TSV, suricata-verify YAML), flattening
//! our event records to `path = value` facts, and an allowlist of known
//! disagreements that must each carry evidence and still be needed.
#![allow(dead_code)]
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[path = "../support/mod.rs"]
pub mod support;

use sluice_proto::{Anomaly, Identity, Output, ProtocolDesc, Txn};
#[allow(unused_imports)]
pub use support::{feed, pcap, run, shared_data, Flow, Piece};

/// One expected-output file by its path under `expected/`, if the peers have one.
pub fn expected(rel: &str) -> Option<PathBuf> {
    let p = shared_data()?.join("expected").join(rel);
    p.exists().then_some(p)
}

/// The suricata-verify expectations of a capture (`expected/suricata/<capture>.*.yaml`).
pub fn suricata_files(capture: &str) -> Vec<PathBuf> {
    let Some(d) = shared_data() else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(d.join("expected/suricata"))
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("{capture}.")))
    });
    v.sort();
    v
}

/// A table: rows of column name → value.
pub type Rows = Vec<BTreeMap<String, String>>;

/// Reads a Zeek log: `#fields` header (ASCII logs) or, for `zeek-cut` projections,
/// the first line that is not a comment.
pub fn zeek_log(path: &Path) -> Rows {
    let text = std::fs::read_to_string(path).expect("zeek log reads");
    let mut cols: Option<Vec<String>> = None;
    let mut rows = Rows::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            cols = Some(f.split('\t').map(str::to_string).collect());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        match &cols {
            None => cols = Some(line.split('\t').map(str::to_string).collect()),
            Some(c) => rows.push(
                c.iter()
                    .cloned()
                    .zip(line.split('\t').map(str::to_string))
                    .collect(),
            ),
        }
    }
    rows
}

/// Reads a tshark TSV (header line, tab-separated).
pub fn tshark_tsv(path: &Path) -> Rows {
    zeek_log(path)
}

/// One suricata-verify check: how many EVE records must match all `keys`.
#[derive(Debug, Clone)]
pub struct SuricataCheck {
    pub count: usize,
    pub keys: Vec<(String, String)>,
}

impl SuricataCheck {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|(kk, _)| kk == k)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the `checks:` of a suricata-verify test.yaml (the simple subset they use).
pub fn suricata_checks(path: &Path) -> Vec<SuricataCheck> {
    let text = std::fs::read_to_string(path).expect("yaml reads");
    let mut out = Vec::new();
    let mut cur: Option<SuricataCheck> = None;
    let mut in_match = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        if t == "- filter:" {
            if let Some(c) = cur.take() {
                out.push(c);
            }
            cur = Some(SuricataCheck {
                count: 1,
                keys: Vec::new(),
            });
            in_match = false;
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        if let Some(n) = t.strip_prefix("count:") {
            c.count = n.trim().parse().unwrap_or(1);
        } else if t == "match:" {
            in_match = true;
        } else if in_match {
            if let Some((k, v)) = t.split_once(':') {
                let v = v.trim().trim_matches('"').to_string();
                c.keys.push((k.trim().to_string(), v));
            }
        }
    }
    if let Some(c) = cur {
        out.push(c);
    }
    out
}

/// Flattens a JSON value into `a.b[0].c` → value text (strings unquoted).
pub fn flatten(v: &Value) -> BTreeMap<String, String> {
    fn go(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    go(&p, x, out);
                }
            }
            Value::Array(a) => {
                out.insert(format!("{prefix}.__len"), a.len().to_string());
                for (i, x) in a.iter().enumerate() {
                    go(&format!("{prefix}[{i}]"), x, out);
                }
            }
            Value::String(s) => {
                out.insert(prefix.to_string(), s.clone());
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    go("", v, &mut out);
    out
}

/// Transactions of a parser's outputs as flattened JSON of the protocol's fields.
pub fn txn_facts(out: &[Output]) -> Vec<(&Txn, BTreeMap<String, String>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => Some((
                t,
                flatten(&serde_json::to_value(t.record.fields()).expect("serializes")),
            )),
            _ => None,
        })
        .collect()
}

pub fn anomalies(out: &[Output]) -> Vec<&Anomaly> {
    out.iter()
        .filter_map(|o| match o {
            Output::Anomaly(a) => Some(a),
            _ => None,
        })
        .collect()
}

pub fn identities(out: &[Output]) -> Vec<&Identity> {
    out.iter()
        .filter_map(|o| match o {
            Output::Identity(i) => Some(i),
            _ => None,
        })
        .collect()
}

/// Runs `desc` over a shared capture (`<dir>/<name>.pcap[ng]`).
pub fn run_capture(desc: &ProtocolDesc, rel: &str) -> Option<Vec<(Flow, Vec<Output>)>> {
    let p = pcap(rel)?;
    Some(run(desc, &p))
}

/// Known disagreements: lines `<oracle> <capture> <fact>  # evidence`.
pub struct Allowlist {
    entries: BTreeMap<String, (String, bool)>,
    file: String,
}

impl Allowlist {
    pub fn load(proto: &str) -> Allowlist {
        let file = format!("{}/tests/{proto}_allowlist.txt", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let mut entries = BTreeMap::new();
        for line in text.lines() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let (key, why) = t.split_once('#').unwrap_or((t, ""));
            assert!(
                !why.trim().is_empty(),
                "{file}: allowlist line without evidence: {t}"
            );
            entries.insert(key.trim().to_string(), (why.trim().to_string(), false));
        }
        Allowlist { entries, file }
    }

    /// Is this disagreement listed? (marks it used)
    pub fn allows(&mut self, key: &str) -> bool {
        match self.entries.get_mut(key) {
            Some(e) => {
                e.1 = true;
                true
            }
            None => false,
        }
    }

    /// Entries never used (stale).
    pub fn unused(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, (_, used))| !used)
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// Agreement bookkeeping for one protocol: compares oracle facts with ours.
#[derive(Default)]
pub struct Agreement {
    /// (oracle, capture) → (agree, allowed, failed)
    pub table: BTreeMap<(String, String), (usize, usize, usize)>,
    pub failures: Vec<String>,
}

impl Agreement {
    /// Checks that every oracle fact is among ours.
    pub fn check(
        &mut self,
        oracle: &str,
        capture: &str,
        theirs: &BTreeSet<String>,
        ours: &BTreeSet<String>,
        allow: &mut Allowlist,
    ) {
        let row = self
            .table
            .entry((oracle.to_string(), capture.to_string()))
            .or_default();
        for f in theirs {
            if ours.contains(f) {
                row.0 += 1;
            } else if allow.allows(&format!("{oracle} {capture} {f}")) {
                row.1 += 1;
            } else {
                row.2 += 1;
                self.failures.push(format!("{oracle} {capture} {f}"));
            }
        }
    }

    /// Records one fact compared by other means.
    pub fn single(
        &mut self,
        oracle: &str,
        capture: &str,
        ok: bool,
        fact: &str,
        allow: &mut Allowlist,
    ) {
        let row = self
            .table
            .entry((oracle.to_string(), capture.to_string()))
            .or_default();
        if ok {
            row.0 += 1;
        } else if allow.allows(&format!("{oracle} {capture} {fact}")) {
            row.1 += 1;
        } else {
            row.2 += 1;
            self.failures.push(format!("{oracle} {capture} {fact}"));
        }
    }

    /// Prints the table and fails on unexplained or stale entries.
    pub fn finish(&self, proto: &str, allow: &Allowlist) {
        println!("{proto} agreement (oracle, capture: agree / allowlisted / failed)");
        for ((o, c), (a, l, f)) in &self.table {
            println!("  {o:9} {c:45} {a:4} {l:4} {f:4}");
        }
        let stale = allow.unused();
        assert!(
            self.failures.is_empty() && stale.is_empty(),
            "{proto}: unexplained disagreements (add them with evidence to {}):\n{}\nstale allowlist entries:\n{}",
            allow.file,
            self.failures.join("\n"),
            stale.join("\n")
        );
        let agreed: usize = self.table.values().map(|r| r.0).sum();
        assert!(agreed > 0, "{proto}: nothing compared");
    }
}

/// Feeds a flow split into 1-byte chunks (chunking invariance checks).
pub fn feed_bytewise(desc: &ProtocolDesc, f: &Flow) -> Vec<Output> {
    let mut p = (desc.new_parser)(f.transport);
    let mut out = Vec::new();
    let mut last = 0;
    for piece in &f.pieces {
        match piece {
            Piece::Data(d, ts, b) => {
                last = *ts;
                if f.transport == sluice_proto::Transport::Udp {
                    p.parse(*d, b, *ts, &mut out);
                } else {
                    for byte in b.chunks(1) {
                        p.parse(*d, byte, *ts, &mut out);
                    }
                }
            }
            Piece::Gap(d, ts, n) => p.gap(*d, *n, *ts, &mut out),
        }
    }
    p.finish(last, &mut out);
    out
}

/// Outputs without timestamps (chunking changes which chunk's time a message gets
/// only when a message spans chunks with different times; captures' pieces carry
/// their own time so we compare everything but `ts`/`ts_end`).
pub fn untimed(out: &[Output]) -> Vec<String> {
    out.iter()
        .map(|o| match o {
            Output::Txn(t) => format!(
                "TXN {:?} {}",
                t.dir,
                serde_json::to_string(&t.record).expect("json")
            ),
            Output::Anomaly(a) => format!("ANOM {:?} {} {}", a.dir, a.kind, a.message),
            Output::Identity(i) => format!(
                "ID {:?} {}",
                i.side,
                serde_json::to_string(i).expect("json")
            ),
        })
        .collect()
}

/// Feeds `(to_server, bytes)` messages to a fresh parser, each message cut into
/// chunks of at most `chunk` bytes (UDP: one datagram per message), then `finish`.
pub fn feed_messages(
    desc: &ProtocolDesc,
    transport: sluice_proto::Transport,
    msgs: &[(bool, Vec<u8>)],
    chunk: usize,
) -> Vec<Output> {
    let mut p = (desc.new_parser)(transport);
    let mut out = Vec::new();
    for (i, (to_server, b)) in msgs.iter().enumerate() {
        let dir = if *to_server {
            sluice_proto::Direction::ToServer
        } else {
            sluice_proto::Direction::ToClient
        };
        let ts = i as i64;
        if transport == sluice_proto::Transport::Udp {
            p.parse(dir, b, ts, &mut out);
        } else {
            for c in b.chunks(chunk.max(1)) {
                p.parse(dir, c, ts, &mut out);
            }
        }
    }
    p.finish(msgs.len() as i64, &mut out);
    out
}

/// Every capture of a protocol folder under `pcaps/`.
pub fn captures(dir: &str) -> Vec<PathBuf> {
    let Some(d) = shared_data() else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(d.join("pcaps").join(dir))
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Chunking invariance on real captures: every flow fed in 1-byte chunks gives
/// exactly the outputs of the flow fed as reassembled.
pub fn assert_bytewise_invariant(desc: &ProtocolDesc, dir: &str) {
    for path in captures(dir) {
        for (flow, whole) in run(desc, &path) {
            let bytewise = feed_bytewise(desc, &flow);
            assert_eq!(
                whole,
                bytewise,
                "{}: {} -> {}: 1-byte chunks differ",
                path.display(),
                flow.client,
                flow.server
            );
        }
    }
}
