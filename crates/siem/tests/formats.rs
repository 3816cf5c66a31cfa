//! CEF and EVE on arbitrary alert text: never a panic, never a raw line break, the CEF
//! header always has its seven fields, and EVE is valid JSON with Suricata's keys.
use proptest::prelude::*;
use sluice_engine::event::{AlertRecord, Body, Event, Kind};
use sluice_flow::Endpoint;
use sluice_siem::{cef, eve};

fn event(rule_id: String, name: String, explanation: String, severity: u8) -> Event {
    Event {
        ts: 1_612_530_081_123_456_789,
        kind: Kind::Alert,
        flow_uid: Some(u64::MAX),
        seq: 0,
        src: Some(Endpoint {
            ip: "203.0.113.66".parse().unwrap(),
            port: 51000,
        }),
        dst: Some(Endpoint {
            ip: "10.10.2.20".parse().unwrap(),
            port: 5900,
        }),
        src_mac: None,
        dst_mac: None,
        transport: Some("tcp"),
        protocol: Some("vnc"),
        body: Body::Alert(Box::new(AlertRecord {
            id: "Aabc".into(),
            rule_id,
            rule_name: name,
            severity,
            technique_id: Some("T0822".into()),
            technique_name: None,
            tactic: Some("Initial Access".into()),
            controls: vec!["CSF:PR.AA-03".into()],
            asset_ids: vec![],
            explanation,
            chain_id: None,
            count: 2,
            evidence: vec![],
            details: serde_json::json!({"k": 1}),
        })),
    }
}

/// Splits on `|` not preceded by an escaping backslash.
fn unescaped_pipes(s: &str) -> usize {
    let mut n = 0;
    let mut esc = false;
    for c in s.chars() {
        match (c, esc) {
            ('\\', false) => esc = true,
            ('|', false) => n += 1,
            _ => esc = false,
        }
    }
    n
}

proptest! {
    #[test]
    fn cef_and_eve_hold_on_any_text(id in "\\PC{0,30}", name in "\\PC{0,60}", expl in "\\PC{0,200}", sev in 0u8..=255) {
        let e = event(id, name, expl, sev);
        let line = cef::format(&e).unwrap();
        prop_assert!(!line.contains('\n') && !line.contains('\r'));
        let ext_start = {
            // The extension starts after the 7th unescaped pipe.
            let mut n = 0;
            let mut esc = false;
            let mut at = None;
            for (i, c) in line.char_indices() {
                match (c, esc) {
                    ('\\', false) => esc = true,
                    ('|', false) => { n += 1; if n == 7 { at = Some(i + 1); break; } }
                    _ => esc = false,
                }
            }
            at
        };
        let ext_start = ext_start.expect("seven header fields");
        prop_assert_eq!(unescaped_pipes(&line[..ext_start]), 7);
        prop_assert!(line[ext_start..].starts_with("rt=1612530081123 src=203.0.113.66"));
        let v = eve::alert(&e).unwrap();
        let text = v.to_string();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back["event_type"].as_str(), Some("alert"));
        prop_assert_eq!(back["dest_port"].as_u64(), Some(5900));
        prop_assert!(back["flow_id"].as_u64().unwrap() < (1u64 << 51));
        prop_assert!((1..=4).contains(&back["alert"]["severity"].as_u64().unwrap()));
    }
}

#[test]
fn cef_line_of_an_alert() {
    let e = event(
        "SLC-RA-001".into(),
        "Remote access".into(),
        "a=b".into(),
        90,
    );
    assert_eq!(
        cef::format(&e).unwrap(),
        format!("CEF:0|Sluice|Sluice|{}|SLC-RA-001|", cef::VERSION)
            + "Remote access|9|rt=1612530081123 src=203.0.113.66 \
         spt=51000 dst=10.10.2.20 dpt=5900 proto=TCP app=vnc externalId=Aabc cnt=2 \
         cat=Initial Access cs1Label=mitreTechnique cs1=T0822 cs3Label=controls cs3=CSF:PR.AA-03 \
         cn1Label=sluiceSeverity cn1=90 msg=a\\=b"
    );
    assert_eq!(cef::syslog_severity(&e), 2);
}
