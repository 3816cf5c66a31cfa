//! Profinet conformance against tshark (`expected/tshark/profinet-*.tsv`): frame
//! ids and DCP service id/type frame by frame, and RT frames counted per source
//! MAC and frame id against the `profinet_rt` summaries. (The zeek-icsnpp
//! PROFINET logs cover PROFINET IO CM over DCE/RPC, which is not decoded here.)
mod support;
use sluice_proto::profinet::{self, dcp};
use sluice_proto::{L2Frame, Output, Record};
use std::collections::BTreeMap;

fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn agrees_with_tshark() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(data.join("pcaps/profinet"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    let mut failures = Vec::new();
    println!(
        "{:<44} {:<16} {:>7} {:>7}",
        "capture", "field", "frames", "agree"
    );
    for name in names {
        let stem = name
            .trim_end_matches(".pcapng")
            .trim_end_matches(".pcap")
            .to_string();
        let tsv = data.join("expected/tshark").join(format!("{stem}.tsv"));
        let Ok(text) = std::fs::read_to_string(&tsv) else {
            continue;
        };
        let frames = support::l2_frames(&data.join("pcaps/profinet").join(&name), 0x8892);
        let mut lines = text.lines();
        let cols: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let ci = |n: &str| cols.iter().position(|c| *c == n);
        let (Some(pi), Some(fi), Some(si), Some(ti), Some(src_i)) = (
            ci("frame.protocols"),
            ci("pn_rt.frame_id"),
            ci("pn_dcp.service_id"),
            ci("pn_dcp.service_type"),
            ci("eth.src"),
        ) else {
            panic!("{tsv:?} columns");
        };
        let rows: Vec<Vec<&str>> = lines
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .filter(|r| r.get(pi).is_some_and(|p| p.contains(":pn_rt")))
            .collect();
        assert_eq!(rows.len(), frames.len(), "{stem}: pn_rt frames");
        let mut diffs: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut want_rt: BTreeMap<(String, u16), u64> = BTreeMap::new();
        for (i, (r, f)) in rows.iter().zip(&frames).enumerate() {
            let payload = &f.4;
            let fid = payload
                .get(..2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .unwrap_or(0);
            let want_fid: u16 = r.get(fi).and_then(|v| v.parse().ok()).unwrap_or(0);
            if fid != want_fid {
                diffs
                    .entry("frame_id")
                    .or_default()
                    .push(format!("frame {}: {want_fid} vs {fid}", i + 1));
            }
            if (dcp::HELLO..=dcp::IDENTIFY_RESPONSE).contains(&fid) {
                let got = dcp::parse(payload.get(2..).unwrap_or_default()).ok();
                let g_sid = got
                    .map(|(h, _)| h.service_id.to_string())
                    .unwrap_or_default();
                let g_st = got
                    .map(|(h, _)| h.service_type.to_string())
                    .unwrap_or_default();
                if r.get(si).copied().unwrap_or("") != g_sid {
                    diffs
                        .entry("service_id")
                        .or_default()
                        .push(format!("frame {}", i + 1));
                }
                if r.get(ti).copied().unwrap_or("") != g_st {
                    diffs
                        .entry("service_type")
                        .or_default()
                        .push(format!("frame {}", i + 1));
                }
            } else {
                let src = r.get(src_i).copied().unwrap_or("").to_string();
                *want_rt.entry((src, want_fid)).or_insert(0) += 1;
            }
        }
        // RT counts from the parser's summaries
        let mut p = (profinet::DESC.new_parser)();
        let mut out = Vec::new();
        for (ts, src, dst, vlan, payload) in &frames {
            p.frame(
                &L2Frame {
                    ts: *ts,
                    src_mac: *src,
                    dst_mac: *dst,
                    vlan: *vlan,
                    ethertype: 0x8892,
                    payload,
                },
                &mut out,
            );
        }
        p.finish(0, &mut out);
        let mut got_rt: BTreeMap<(String, u16), u64> = BTreeMap::new();
        for o in &out {
            if let Output::Txn(t) = o {
                if let Record::ProfinetRt(r) = &t.record {
                    if r.kind == "summary" {
                        for s in &r.streams {
                            got_rt.insert((mac(&r.src_mac), s.frame_id), s.frames);
                        }
                    }
                }
            }
        }
        if want_rt != got_rt {
            diffs
                .entry("rt_counts")
                .or_default()
                .push(format!("tshark {want_rt:?} sluice {got_rt:?}"));
        }
        let n = frames.len();
        for field in ["frame_id", "service_id", "service_type", "rt_counts"] {
            let d = diffs.get(field).map(Vec::len).unwrap_or(0);
            let total = if field == "rt_counts" {
                want_rt.len()
            } else {
                n
            };
            println!(
                "{stem:<44} {field:<16} {total:>7} {:>7}",
                total.saturating_sub(d)
            );
        }
        for (field, d) in diffs {
            failures.push(format!("{stem} {field}: {d:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
}
