//! GOOSE on real captures (values checked with tshark and the DINA-community
//! Zeek GOOSE plugin baselines, hard-coded here).
mod support;
use sluice_proto::goose::{self, Transaction};
use sluice_proto::mms::Value;
use sluice_proto::{L2Frame, Output, ProtoRecord, Record};

pub fn run(path: &std::path::Path) -> Vec<Output> {
    let mut p = (goose::DESC.new_parser)();
    let mut out = Vec::new();
    let mut last = 0;
    for (ts, src, dst, vlan, payload) in support::l2_frames(path, 0x88b8) {
        last = ts;
        p.frame(
            &L2Frame {
                ts,
                src_mac: src,
                dst_mac: dst,
                vlan,
                ethertype: 0x88b8,
                payload: &payload,
            },
            &mut out,
        );
    }
    p.finish(last, &mut out);
    out
}

fn events(out: &[Output]) -> Vec<(i64, Option<i64>, Transaction)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Goose(g) => Some((t.ts, t.ts_end, (**g).clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn anomalies(out: &[Output]) -> Vec<&'static str> {
    out.iter()
        .filter_map(|o| match o {
            Output::Anomaly(a) => Some(a.kind),
            _ => None,
        })
        .collect()
}

#[test]
fn ge_f650_one_state_then_a_restart() {
    let Some(p) = support::pcap("iec61850-goose/goose-plugin-ge-f650.pcap") else {
        return;
    };
    let out = run(&p);
    let ev = events(&out);
    assert_eq!(ev.len(), 2, "one state change, one summary: {ev:#?}");
    let (ts, _, s) = &ev[0];
    assert_eq!(*ts, 1_216_135_243_118_812_000);
    assert_eq!(s.kind, "state_change");
    assert_eq!(s.gocb_ref.as_deref(), Some("GEDeviceF650/LLN0$GO$gcb01"));
    assert_eq!(s.dat_set.as_deref(), Some("GEDeviceF650/LLN0$GOOSE1"));
    assert_eq!(s.go_id.as_deref(), Some("F650_GOOSE1"));
    assert_eq!(
        (s.appid, s.st_num, s.sq_num, s.conf_rev),
        (1, Some(1), Some(10), Some(1))
    );
    let st = s.state.as_ref().unwrap();
    assert_eq!(st.length, 145);
    assert_eq!(st.time_allowed_to_live, Some(40000));
    assert_eq!(st.t.as_deref(), Some("2000-01-02T02:46:11.258166Z"));
    assert_eq!(st.t_quality, Some(0x0a));
    assert_eq!(st.num_dat_set_entries, Some(8));
    assert_eq!(st.data_count, 8);
    assert_eq!(st.data_types.get("boolean"), Some(&4));
    assert_eq!(st.data_types.get("bit_string"), Some(&4));
    assert_eq!(st.values[0], Value::Boolean(false));
    assert_eq!(st.values[1], Value::BitString("0000000000000".into()));
    assert_eq!(s.function(), Some("goose"));
    assert_eq!(s.function_code(), None);
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(json["src_mac"], "00:a0:f4:08:2f:77");
    assert_eq!(json["dst_mac"], "01:a0:f4:08:2f:77");
    // summary: 8 frames; sqNum 12 -> 1 with the same stNum (the relay restarted)
    let (ts, end, sum) = &ev[1];
    assert_eq!(sum.kind, "summary");
    assert_eq!(
        (*ts, *end),
        (1_216_135_243_118_812_000, Some(1_216_135_271_583_138_000))
    );
    let c = sum.summary.as_ref().unwrap();
    assert_eq!((c.frames, c.state_changes, c.sq_num_regressions), (8, 0, 1));
    assert_eq!(anomalies(&out), vec!["goose_sqnum_regression"]);
    // the publisher names its IED
    let id = out
        .iter()
        .find_map(|o| match o {
            Output::Identity(i) => Some(i.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(id.mac, Some([0x00, 0xa0, 0xf4, 0x08, 0x2f, 0x77]));
    assert_eq!(id.name.as_deref(), Some("GEDeviceF650"));
}

#[test]
fn iti_sample_state_changes_per_publisher() {
    let Some(p) = support::pcap("iec61850-goose/goose-iti-sample-file.pcap") else {
        return;
    };
    let out = run(&p);
    let ev = events(&out);
    let sums: Vec<_> = ev.iter().filter(|e| e.2.kind == "summary").collect();
    // tshark: 120 / 167 / 164 frames from c9:02 / c9:06 / c9:08, VLAN tagged
    let frames: Vec<_> = sums
        .iter()
        .map(|e| {
            (
                e.2.gocb_ref.clone().unwrap(),
                e.2.summary.as_ref().unwrap().frames,
            )
        })
        .collect();
    assert_eq!(
        frames,
        vec![
            ("AA1C1Q01A1LD0/LLN0$GO$gcb_A".to_string(), 120),
            ("AA1C1Q05A1LD0/LLN0$GO$gcb_A".to_string(), 167),
            ("AA1C1Q07A1LD0/LLN0$GO$gcb_A".to_string(), 164),
        ]
    );
    for s in &sums {
        let c = s.2.summary.as_ref().unwrap();
        let changes = ev
            .iter()
            .filter(|e| e.2.kind == "state_change" && e.2.gocb_ref == s.2.gocb_ref)
            .count() as u64;
        assert_eq!(changes, c.state_changes + 1);
        assert_eq!(c.st_num_regressions, 0);
    }
    let first = &ev[0].2;
    assert_eq!((first.st_num, first.sq_num), (Some(36705), Some(0)));
    assert_eq!(first.state.as_ref().unwrap().num_dat_set_entries, Some(25));
    assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
}

#[test]
fn synthetic_malformed_frames() {
    for (file, kind) in [
        (
            "iec61850-goose/goose-plugin-malformed-asn1.pcap",
            "malformed_goose",
        ),
        (
            "iec61850-goose/goose-plugin-missing-gocb-ref.pcap",
            "missing_field",
        ),
        (
            "iec61850-goose/goose-plugin-missing-timestamp.pcap",
            "missing_field",
        ),
    ] {
        let Some(p) = support::pcap(file) else {
            return;
        };
        let out = run(&p);
        assert_eq!(anomalies(&out), vec![kind], "{file}");
    }
    let Some(p) = support::pcap("iec61850-goose/goose-plugin-all-data-primitives.pcap") else {
        return;
    };
    let out = run(&p);
    let ev = events(&out);
    let st = ev[0].2.state.as_ref().unwrap();
    assert_eq!(st.data_count, 12);
    assert_eq!(
        st.values,
        vec![
            Value::Boolean(true),
            Value::BitString("1".into()),
            Value::Integer(-1),
            Value::Unsigned(500),
            Value::Float(1.0),
            Value::OctetString("deadbe".into()),
            Value::VisibleString("OK".into()),
            // [8] real with contents 00: not a valid X.690 REAL, kept as octets
            Value::OctetString("00".into()),
            Value::Bcd(18),
            Value::BooleanArray("1".into()),
            Value::ObjId("1.3.1".into()),
            Value::MmsString("M".into()),
        ]
    );
}
