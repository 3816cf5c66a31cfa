//! No panic on any input: the parsers of every user-supplied file (CSV catalogues,
//! framework files, evidence rules, answers, scoring data) on arbitrary text, and an
//! assessment over a store holding malformed rows (bad JSON, missing or non-IP addresses,
//! out-of-range numbers), rendered in every format.
use proptest::prelude::*;
use sluice_assess::{
    answers, catalog::Catalog, csv, render, rules, score::Settings, store, Options, Rules,
};
use std::collections::BTreeMap;
use std::path::Path;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn csv_never_panics(text in "\\PC*", raw in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = csv::parse(&text);
        let t = csv::Table::new(&String::from_utf8_lossy(&raw));
        for r in &t.rows {
            let _ = t.get(r, "id");
        }
    }

    #[test]
    fn toml_inputs_never_panic(text in "(\\[|\\]|\\[\\[|=|\"|[a-z_.]{1,12}|[0-9]{1,4}|-|\n| ){0,60}") {
        let qs = answers::builtin().unwrap();
        let _ = answers::parse_answers(&text, Path::new("a.toml"), &qs);
        let _ = answers::parse_questions(&text, Path::new("q.toml"));
        let _ = rules::parse(&text, Path::new("r.toml"));
        let _ = Settings::parse(&text, Path::new("s.toml"));
        let mut c = Catalog::new();
        let _ = c.add_framework_toml(&text, Path::new("f.framework.toml"));
    }

    #[test]
    fn answer_values_never_panic(v in "\\PC{0,24}") {
        let qs = answers::builtin().unwrap();
        let text = format!("[ciso.ir_tabletop]\nanswer = \"{}\"\n[ciso.ir_plan]\nanswer = \"{}\"\n",
            v.replace(['"', '\\'], ""), v.replace(['"', '\\'], ""));
        let _ = answers::parse_answers(&text, Path::new("a.toml"), &qs);
        let _ = answers::parse_date(&v);
    }
}

#[test]
fn malformed_store_rows_do_not_panic() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("s.db");
    let st = sluice_store::Store::open(&db).unwrap();
    let c = st.conn();
    c.execute_batch(
        "INSERT INTO flows (id, ts, end_ts, src_ip, src_port, dst_ip, dst_port, transport, protocol, packets, bytes, json) VALUES
           ('f1', 1, 2, '203.0.113.9', 1, '10.10.1.10', 5900, 'tcp', 'vnc', 3, 100, '{not json'),
           ('f2', -9223372036854775808, 9223372036854775807, NULL, NULL, 'not-an-ip', 70000, 'udp', NULL, 1, 1, '{}'),
           ('f3', 5, 6, '10.20.0.1', 1, '10.10.1.11', 502, 'tcp', 'modbus', 1, 1, '{\"flow\":{\"payload_bytes\":[\"x\",null]}}');
         INSERT INTO events (id, ts, dataset, kind, protocol, flow_id, src_ip, dst_ip, function_code, json) VALUES
           ('e1', 1, 'sluice.modbus', 'event', 'modbus', 'f3', '10.20.0.1', '10.10.1.10', 6, '{\"modbus\":{\"unit_id\":999,\"address\":-5,\"values\":\"x\"}}'),
           ('e2', 2, 'sluice.modbus', 'event', 'modbus', 'f3', '10.20.0.1', '10.10.1.10', 16, '{\"modbus\":{\"unit_id\":1,\"address\":65535,\"values\":[1e308,-1e308,300]}}'),
           ('e3', 3, 'sluice.modbus', 'event', 'modbus', 'f3', '10.20.0.1', '10.10.1.10', 99999999999, 'garbage');
         INSERT INTO alerts (id, ts, rule_id, rule_name, severity, src_ip, dst_ip, count, json) VALUES
           ('a1', 1, 'SLC-RA-001', 'x', 90, NULL, NULL, -4, 'nope'),
           ('a2', 2, 'SLC-ENV-001', 'y', 95, '10.20.0.1', '10.10.1.10', 1, '{\"sluice\":{\"details\":{\"dst_zone\":7}}}');
         INSERT INTO assets (id, sort_key, ip, role, first_seen, last_seen, json) VALUES
           ('ip:x', x'00', 'x', 'plc', 0, 0, '[]'),
           ('ip:10.99.0.1', x'00', '10.99.0.1', NULL, 0, 0, '{\"identity\":{}}');",
    )
    .unwrap();
    let policy =
        sluice_policy::Policy::from_str(sluice_policy::EXAMPLE, Path::new("sluice.toml")).unwrap();
    let mut cat = Catalog::new();
    cat.add_framework_toml(
        "[framework]\nid = \"t\"\nprefix = \"IEC62443-3-3\"\nscoring = \"iec62443\"\n[[control]]\nid = \"FR 1\"\nkind = \"fr\"\n[[control]]\nid = \"SR 1.13\"\nparent = \"FR 1\"\nlevel = 1\n",
        Path::new("t.framework.toml"),
    )
    .unwrap();
    let rules = Rules::builtin().unwrap();
    let qs = answers::builtin().unwrap();
    let settings = Settings::builtin().unwrap();
    for pol in [Some(&policy), None] {
        let o = Options {
            catalog: &cat,
            frameworks: vec!["t".into()],
            rules: &rules,
            questions: &qs,
            answers: None,
            policy: pol,
            settings: &settings,
            inputs: BTreeMap::new(),
            now_ns: 0,
        };
        let mut a = sluice_assess::assess(c, &o).unwrap();
        assert_eq!(
            a.check("EV-RA-01").unwrap().status,
            sluice_assess::Status::NotSatisfied
        );
        for s in [
            render::json(&a),
            render::markdown(&a),
            render::html(&a),
            render::oscal(&a),
        ] {
            assert!(!s.is_empty());
        }
        store::save(c, &mut a).unwrap();
    }
    let list = store::list(c, None).unwrap();
    assert_eq!(list.len(), 2);
    let (x, y) = (
        store::load(c, "1").unwrap().unwrap(),
        store::load(c, &list[0].uuid).unwrap().unwrap(),
    );
    let d = store::diff(&x, &y);
    let _ = store::diff_text(&d);
    assert!(store::load(c, "42").unwrap().is_none());
}
