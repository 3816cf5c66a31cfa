//! GOOSE conformance, frame by frame: the decoder against the DINA-community Zeek
//! GOOSE plugin (`expected/zeek-goose/*.goose.log`) and tshark
//! (`expected/tshark/goose-*.tsv`, the GOOSE frames of the IEC 61850 sample), and
//! the state-change events against the stNum changes tshark shows. Prints an
//! agreement table; disagreements fail unless `goose_allowlist.txt` lists them.
mod support;
use sluice_proto::goose::parser;
use std::collections::BTreeMap;
use std::path::Path;

/// Our per-frame fields, rendered like the peer renders them.
fn ours(payload: &[u8]) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    match parser::parse(payload) {
        Err(_) => {
            if let Ok((h, _, _)) = parser::Header::parse(payload) {
                m.insert("appid", format!("{}", h.appid));
                m.insert("length", h.length.to_string());
            }
            m.insert("parse_status", "failed".into());
        }
        Ok((h, p, _)) => {
            m.insert("appid", format!("{}", h.appid));
            m.insert("length", h.length.to_string());
            let s = |v: &Option<String>| v.clone().unwrap_or_default();
            let n = |v: Option<u32>| v.map(|x| x.to_string()).unwrap_or_default();
            m.insert("gocb_ref", s(&p.gocb_ref));
            m.insert("dataset", s(&p.dat_set));
            m.insert("go_id", s(&p.go_id));
            m.insert(
                "time_allowed_to_live",
                p.time_allowed_to_live
                    .map(|x| x.to_string())
                    .unwrap_or_default(),
            );
            m.insert(
                "timestamp",
                p.t.map(|t| format!("{:.6}", t.epoch())).unwrap_or_default(),
            );
            m.insert(
                "timestamp_quality",
                p.t.map(|t| format!("0x{:x}", t.quality))
                    .unwrap_or_default(),
            );
            m.insert("st_num", n(p.st_num));
            m.insert("sq_num", n(p.sq_num));
            m.insert("conf_rev", n(p.conf_rev));
            m.insert("num_dat_set_entries", n(p.num_dat_set_entries));
            let b = |v: Option<bool>| match v {
                Some(true) => "T".to_string(),
                Some(false) => "F".to_string(),
                None => String::new(),
            };
            m.insert("simulation", b(p.simulation));
            m.insert("nds_com", b(p.nds_com));
            m.insert(
                "parse_status",
                if p.gocb_ref.is_none() { "failed" } else { "ok" }.into(),
            );
        }
    }
    m
}

/// A Zeek log: rows as field -> value.
fn zeek(p: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(p).expect("log");
    let mut fields: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for l in text.lines() {
        if let Some(f) = l.strip_prefix("#fields\t") {
            fields = f.split('\t').map(str::to_string).collect();
        } else if !l.starts_with('#') && !l.is_empty() {
            rows.push(
                fields
                    .iter()
                    .cloned()
                    .zip(l.split('\t').map(str::to_string))
                    .collect(),
            );
        }
    }
    rows
}

/// Zeek renders empty as `(empty)` and unset as `-`; appid as `0x1`.
fn norm(field: &str, v: &str) -> String {
    match v {
        "(empty)" | "-" => String::new(),
        _ if field == "appid" => u16::from_str_radix(v.trim_start_matches("0x"), 16)
            .map(|x| x.to_string())
            .unwrap_or_default(),
        _ => v.to_string(),
    }
}

struct Table {
    rows: Vec<(String, String, usize, usize)>,
    failures: Vec<String>,
    used: Vec<(String, String)>,
    allow: Vec<(String, String)>,
}

impl Table {
    fn new() -> Table {
        let allow = include_str!("goose_allowlist.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some((f.next()?.to_string(), f.next()?.to_string()))
            })
            .collect();
        Table {
            rows: Vec::new(),
            failures: Vec::new(),
            used: Vec::new(),
            allow,
        }
    }
    fn add(&mut self, source: &str, field: &str, total: usize, diffs: Vec<String>) {
        self.rows.push((
            source.to_string(),
            field.to_string(),
            total,
            total - diffs.len().min(total),
        ));
        if !diffs.is_empty() {
            let key = (source.to_string(), field.to_string());
            if self.allow.contains(&key) {
                self.used.push(key);
            } else {
                self.failures.push(format!("{source} {field}: {diffs:?}"));
            }
        }
    }
    fn finish(self) {
        println!(
            "{:<56} {:<22} {:>6} {:>6}",
            "source", "field", "frames", "agree"
        );
        for (s, f, t, a) in &self.rows {
            println!("{s:<56} {f:<22} {t:>6} {a:>6}");
        }
        for k in &self.allow {
            assert!(
                self.used.contains(k),
                "allowlist entry not needed any more: {k:?}"
            );
        }
        assert!(
            self.failures.is_empty(),
            "disagreements:\n{}",
            self.failures.join("\n")
        );
    }
}

#[test]
fn agrees_with_zeek_goose_and_tshark() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let mut table = Table::new();
    // Zeek GOOSE plugin, frame by frame
    let mut logs: Vec<_> = std::fs::read_dir(data.join("expected/zeek-goose"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".goose.log"))
        .collect();
    logs.sort();
    for log in logs {
        let stem = log.trim_end_matches(".goose.log");
        let pcap = data
            .join("pcaps/iec61850-goose")
            .join(format!("{stem}.pcap"));
        let frames = support::l2_frames(&pcap, 0x88b8);
        let rows = zeek(&data.join("expected/zeek-goose").join(&log));
        assert_eq!(frames.len(), rows.len(), "{log}");
        let source = format!("zeek-goose/{stem}");
        for field in [
            "appid",
            "length",
            "gocb_ref",
            "time_allowed_to_live",
            "dataset",
            "go_id",
            "timestamp",
            "timestamp_quality",
            "st_num",
            "sq_num",
            "simulation",
            "conf_rev",
            "nds_com",
            "num_dat_set_entries",
            "parse_status",
        ] {
            let mut diffs = Vec::new();
            for (i, (f, r)) in frames.iter().zip(&rows).enumerate() {
                let want = norm(field, r.get(field).map(String::as_str).unwrap_or(""));
                let got = ours(&f.4).get(field).cloned().unwrap_or_default();
                let failed = r.get("parse_status").map(String::as_str) == Some("failed");
                // Zeek fills defaults (0, F) into the fields of frames it failed on.
                if failed
                    && field != "parse_status"
                    && field != "appid"
                    && field != "length"
                    && got.is_empty()
                {
                    continue;
                }
                if want != got {
                    diffs.push(format!("frame {}: zeek {want:?} sluice {got:?}", i + 1));
                }
            }
            table.add(&source, field, frames.len(), diffs);
        }
    }
    // tshark, frame by frame
    let mut tsvs: Vec<_> = std::fs::read_dir(data.join("expected/tshark"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("goose-") || n == "iec61850-iti-sample-mms-and-goose.tsv")
        .collect();
    tsvs.sort();
    for tsv in tsvs {
        let stem = tsv.trim_end_matches(".tsv");
        let dir = if stem.starts_with("goose-") {
            "iec61850-goose"
        } else {
            "iec61850-mms"
        };
        let frames = support::l2_frames(
            &data.join("pcaps").join(dir).join(format!("{stem}.pcap")),
            0x88b8,
        );
        let text = std::fs::read_to_string(data.join("expected/tshark").join(&tsv)).expect("tsv");
        let mut lines = text.lines();
        let cols: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let rows: Vec<Vec<&str>> = lines
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .filter(|r| {
                cols.iter()
                    .position(|c| *c == "frame.protocols")
                    .and_then(|i| r.get(i))
                    .is_some_and(|p| p.ends_with(":goose"))
            })
            .collect();
        assert_eq!(frames.len(), rows.len(), "{tsv}");
        let source = format!("tshark/{stem}");
        for (col, field) in [
            ("goose.appid", "appid"),
            ("goose.gocbRef", "gocb_ref"),
            ("goose.datSet", "dataset"),
            ("goose.stNum", "st_num"),
            ("goose.sqNum", "sq_num"),
        ] {
            let Some(ci) = cols.iter().position(|c| *c == col) else {
                continue;
            };
            let mut diffs = Vec::new();
            for (i, (f, r)) in frames.iter().zip(&rows).enumerate() {
                let raw = r.get(ci).copied().unwrap_or("");
                let want = if field == "appid" {
                    u16::from_str_radix(raw.trim_start_matches("0x"), 16)
                        .map(|x| x.to_string())
                        .unwrap_or_default()
                } else {
                    raw.to_string()
                };
                let got = ours(&f.4).get(field).cloned().unwrap_or_default();
                if want != got {
                    diffs.push(format!(
                        "goose frame {}: tshark {want:?} sluice {got:?}",
                        i + 1
                    ));
                }
            }
            table.add(&source, field, frames.len(), diffs);
        }
        // events: one state change per publisher and stNum change
        if let (Some(si), Some(gi)) = (
            cols.iter().position(|c| *c == "goose.stNum"),
            cols.iter().position(|c| *c == "goose.gocbRef"),
        ) {
            let mut last: BTreeMap<String, String> = BTreeMap::new();
            let mut want = 0usize;
            for r in &rows {
                let (st, g) = (
                    r.get(si).copied().unwrap_or(""),
                    r.get(gi).copied().unwrap_or(""),
                );
                if st.is_empty() || g.is_empty() {
                    continue;
                }
                if last.insert(g.to_string(), st.to_string()).as_deref() != Some(st) {
                    want += 1;
                }
            }
            let mut p = (sluice_proto::goose::DESC.new_parser)();
            let mut out = Vec::new();
            for (ts, src, dst, vlan, payload) in &frames {
                p.frame(
                    &sluice_proto::L2Frame {
                        ts: *ts,
                        src_mac: *src,
                        dst_mac: *dst,
                        vlan: *vlan,
                        ethertype: 0x88b8,
                        payload,
                    },
                    &mut out,
                );
            }
            let got = out
                .iter()
                .filter(|o| match o {
                    sluice_proto::Output::Txn(t) => matches!(&t.record, sluice_proto::Record::Goose(g) if g.kind == "state_change" && g.gocb_ref.is_some()),
                    _ => false,
                })
                .count();
            let diffs = if got == want {
                Vec::new()
            } else {
                vec![format!("tshark stNum changes {want}, sluice events {got}")]
            };
            table.add(&source, "state_change_events", want, diffs);
        }
    }
    table.finish();
}
