//! The ATT&CK catalogue read from the shared data (STIX bundle and CSV table agree), and
//! baselines kept in a real store.
use sluice_detect::baseline::{Baseline, FunctionModel, PairModel};
use sluice_detect::{store, Attack};
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    p.is_dir().then_some(p)
}

#[test]
fn attack_catalogue_from_the_stix_bundle_and_the_table() {
    let Some(data) = shared() else {
        println!("SKIP: ../shared/data not found");
        return;
    };
    let dir = data.join("attack");
    let stix = Attack::load_dir(&dir).unwrap();
    assert_eq!(stix.len(), 83, "active techniques of ATT&CK for ICS 18.1");
    let t = stix.technique("T0836").unwrap();
    assert_eq!(t.name, "Modify Parameter");
    assert_eq!(t.tactics, ["Impair Process Control"]);
    let t = stix.technique("T0869").unwrap();
    assert_eq!(t.tactics, ["Command and Control"]);
    assert_eq!(
        stix.technique("T0859").unwrap().tactics,
        ["Persistence", "Lateral Movement"]
    );
    // The derived table says the same.
    let csv = Attack::load_csv(&dir.join("ics-attack-18.1-techniques.csv")).unwrap();
    assert_eq!(csv.len(), stix.len());
    for n in 800..1000 {
        let id = format!("T0{n}");
        assert_eq!(csv.technique(&id), stix.technique(&id), "{id}");
    }
    // Every technique a built-in rule names exists.
    for r in sluice_detect::RuleSet::builtin().unwrap().rules() {
        if let Some(t) = &r.technique {
            assert!(
                stix.technique(t).is_some(),
                "{}: {t} is not an ATT&CK for ICS technique",
                r.id
            );
        }
    }
    assert!(Attack::load_dir(&data.join("pcaps")).is_err());
}

#[test]
fn baselines_are_versioned_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = sluice_store::Store::open(&dir.path().join("s.db")).unwrap();
    let conn = s.conn();
    assert!(store::baselines(conn, 5).unwrap().is_empty());
    let pair = PairModel {
        client: "10.10.2.20".parse().unwrap(),
        server: "10.10.1.10".parse().unwrap(),
        protocol: "modbus".into(),
        transactions: 10,
        flows: 1,
        first_ts: 1,
        last_ts: 2,
        functions: vec![FunctionModel {
            code: 3,
            name: Some("read_holding_registers".into()),
            count: 10,
        }],
        ranges: vec![],
        values: vec![],
        polls: vec![],
    };
    let b1 = Baseline {
        format: 1,
        first_ts: 1,
        last_ts: 2,
        transactions: 10,
        flows: 1,
        pairs: vec![pair.clone()],
    };
    let mut b2 = b1.clone();
    b2.pairs.push(PairModel {
        client: "10.20.5.23".parse().unwrap(),
        ..pair
    });
    let id1 = store::save_baseline(conn, &b1, 100, "a.pcap").unwrap();
    let id2 = store::save_baseline(conn, &b2, 200, "b.pcap").unwrap();
    assert!(id2 > id1);
    let v = store::baselines(conn, 5).unwrap();
    assert_eq!(v.iter().map(|b| b.id).collect::<Vec<_>>(), [id2, id1]);
    assert_eq!(v[0].baseline, b2);
    assert_eq!(v[1].source.as_deref(), Some("a.pcap"));
    assert_eq!(store::baseline(conn, id1).unwrap().unwrap().baseline, b1);
    assert!(store::baseline(conn, 999).unwrap().is_none());
    assert_eq!(b2.diff(&b1), ["+ pair 10.20.5.23 -> 10.10.1.10 modbus"]);
    // The alerts trigger keeps chain_id and severity columns in step with the JSON.
    store::ensure_schema(conn).unwrap();
    conn.execute(
        "INSERT INTO alerts (id, ts, rule_id, rule_name, severity, json) VALUES ('a', 1, 'R', 'r', 50, '{}')",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE alerts SET json = '{\"event\":{\"severity\":70},\"sluice\":{\"chain_id\":\"C1\"}}' WHERE id = 'a'",
        [],
    )
    .unwrap();
    let (chain, sev): (String, i64) = conn
        .query_row(
            "SELECT chain_id, severity FROM alerts WHERE id = 'a'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((chain.as_str(), sev), ("C1", 70));
}
