//! `Policy::suggest`: zones and conduits from observed traffic, round-tripping through
//! `from_str` and `check`, on hand-made observations and on the shared real captures
//! (as tshark dissected them).

mod common;

use std::path::Path;

use common::*;
use sluice_policy::{Access, FlowFacts, IcsFacts, Level, Observed, Permission, Policy, Severity};

fn obs<'a>(c: &str, s: &str, p: &'a str, w: bool) -> Observed<'a> {
    Observed {
        client: ip(c),
        server: ip(s),
        protocol: p,
        is_write: w,
    }
}

/// Loads a suggestion; it must carry no error (warnings are fine).
fn round_trip(obs: &[Observed<'_>]) -> Policy {
    let text = Policy::suggest(obs);
    let p = match Policy::from_str(&text, Path::new("suggested.toml")) {
        Ok(p) => p,
        Err(e) => panic!("suggestion does not load: {e}\n{text}"),
    };
    let errors: Vec<String> = p
        .check()
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{text}");
    p
}

/// Every observation must be allowed by the policy suggested from it.
fn assert_all_allowed(p: &Policy, obs: &[Observed<'_>]) {
    for o in obs {
        let f = FlowFacts {
            client: o.client,
            server: o.server,
            protocol: Some(o.protocol),
            ts: TS,
        };
        let v = p.judge_flow(f);
        assert!(v.is_allowed(), "{o:?}: {v:?}");
        if sluice_policy::protocols::is_ics(o.protocol) {
            let v = p.judge_ics(IcsFacts {
                client: o.client,
                server: o.server,
                protocol: o.protocol,
                access: if o.is_write {
                    Access::Write
                } else {
                    Access::Read
                },
                unit: None,
                registers: None,
                ts: TS,
            });
            assert!(v.is_allowed(), "{o:?}: {v:?}");
        }
    }
}

#[test]
fn suggests_zones_by_role_and_conduits_by_pair() {
    let o = [
        obs("10.10.2.20", "10.10.1.10", "modbus", true),
        obs("10.10.2.20", "10.10.1.11", "modbus", false),
        obs("10.10.3.30", "10.10.1.10", "modbus", false),
        obs("10.10.3.30", "10.10.2.20", "modbus", false),
        obs("10.20.5.23", "93.184.216.34", "http", false),
        obs("10.20.5.23", "93.184.216.34", "TLS", false),
        obs("203.0.113.66", "10.30.0.5", "vnc", false),
        // The PLC's web page opened from the office: a level 4 → 1 path to review.
        obs("10.20.5.23", "10.10.1.10", "http", false),
        obs("10.10.1.10", "224.0.0.251", "dns", false),
        obs("10.10.1.10", "10.10.1.11", "", false),
    ];
    let text = Policy::suggest(&o);
    let p = round_trip(&o);
    let zones: Vec<(&str, Level, String)> = p
        .zones()
        .iter()
        .map(|z| (&*z.name, z.level, z.cidrs[0].to_string()))
        .collect();
    let l = |n| Level::whole(n).unwrap();
    assert_eq!(
        zones,
        [
            ("control-1", l(1), "10.10.1.0/24".to_string()),
            // The HMI subnet serves Modbus to the historian: it is a control subnet too.
            ("control-2", l(1), "10.10.2.0/24".to_string()),
            ("operations-1", l(3), "10.10.3.0/24".to_string()),
            ("enterprise-1", l(4), "10.20.5.0/24".to_string()),
            ("enterprise-2", l(4), "10.30.0.0/24".to_string()),
        ]
    );
    let conduits: Vec<(&str, &str, Vec<&str>, Permission, usize)> = p
        .conduits()
        .iter()
        .map(|c| {
            (
                &*c.from,
                &*c.to[0],
                c.protocols.iter().map(|p| &**p).collect(),
                c.access,
                c.clients.as_ref().map_or(0, Vec::len),
            )
        })
        .collect();
    assert_eq!(
        conduits,
        [
            (
                "control-2",
                "control-1",
                vec!["modbus"],
                Permission::ReadWrite,
                1
            ),
            (
                "operations-1",
                "control-1",
                vec!["modbus"],
                Permission::Read,
                1
            ),
            (
                "operations-1",
                "control-2",
                vec!["modbus"],
                Permission::Read,
                1
            ),
            (
                "enterprise-1",
                "control-1",
                vec!["http"],
                Permission::ReadWrite,
                1
            ),
            (
                "enterprise-1",
                "external",
                vec!["http", "tls"],
                Permission::ReadWrite,
                1
            ),
            (
                "external",
                "enterprise-2",
                vec!["vnc"],
                Permission::ReadWrite,
                1
            ),
        ]
    );
    assert!(
        text.contains("# REVIEW: level 4+ traffic straight into levels 0-2"),
        "{text}"
    );
    assert!(
        text.contains("access = \"read\"  # only reads were observed"),
        "{text}"
    );
    assert!(text.contains("8 observations used, 2 skipped"), "{text}");
    // The enterprise → control conduit is flagged by check() as a warning.
    assert!(p
        .check()
        .iter()
        .any(|d| d.kind == sluice_policy::DiagnosticKind::BypassesDmz));
    assert_all_allowed(&p, &o[..8]);
    // The PLC's web server does not make the office an ICS client.
    assert!(!p
        .judge_ics(write_regs("10.20.5.23", "10.10.1.10", 0, 1))
        .is_allowed());
    // Something not observed is not allowed.
    assert!(!p
        .judge_ics(write_regs("10.10.3.30", "10.10.1.10", 0, 1))
        .is_allowed());
    assert!(!p
        .judge_flow(flow("10.10.2.21", "10.10.1.10", Some("modbus")))
        .is_allowed());
}

#[test]
fn empty_and_ipv6_observations() {
    let p = round_trip(&[]);
    assert!(p.zones().is_empty());
    let o = [
        obs("fd00:2::20", "fd00:1::10", "opcua", true),
        obs("::ffff:10.1.1.5", "10.1.2.6", "dnp3", false),
    ];
    let p = round_trip(&o);
    assert_eq!(p.zone_of(ip("fd00:1::99")).name, "control-2");
    assert_eq!(p.zone_of(ip("fd00:2::99")).name, "supervisory-1");
    assert_eq!(p.zone_of(ip("10.1.2.1")).name, "control-1");
    assert_eq!(p.zone_of(ip("10.1.1.1")).name, "operations-1");
    assert_all_allowed(&p, &o);
}

/// Server ports of the protocols whose tshark tables we read.
const PORTS: &[(&str, &str, &[u16])] = &[
    ("modbus", "modbus", &[502]),
    ("dnp3", "dnp3", &[20000]),
    ("s7comm", "s7comm", &[102]),
    ("enip", "enip", &[44818, 2222]),
    ("iec104", "iec104", &[2404]),
    ("bacnet", "bacnet", &[47808]),
    ("opcua", "opcua", &[4840]),
    ("mms", "mms", &[102]),
    ("http", "http", &[80, 8080]),
    ("dns", "dns", &[53]),
    ("tls", "tls", &[443]),
    ("ssh", "ssh", &[22]),
    ("rdp", "rdp", &[3389]),
    ("vnc", "vnc", &[5900, 5901]),
    ("smb", "smb", &[445, 139]),
    ("mqtt", "mqtt", &[1883]),
];

#[test]
fn suggestion_from_real_captures_allows_what_was_seen() {
    let Some(data) = shared_data() else {
        return;
    };
    let dir = data.join("expected/tshark");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("SKIP: {} not found", dir.display());
        return;
    };
    let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    let mut rows: Vec<(String, String, &'static str, bool)> = Vec::new();
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Some((_, proto, ports)) = PORTS
            .iter()
            .find(|(prefix, _, _)| name.starts_with(&format!("{prefix}-")))
        else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
        let col = |n: &str| header.iter().position(|h| *h == n);
        let (Some(src), Some(dst)) = (col("ip.src"), col("ip.dst")) else {
            continue;
        };
        let dports = [col("tcp.dstport"), col("udp.dstport")];
        let func = col("modbus.func_code").or(col("dnp3.al.func"));
        for line in lines {
            let cells: Vec<&str> = line.split('\t').collect();
            let port: Option<u16> = dports
                .iter()
                .flatten()
                .find_map(|&i| cells.get(i).and_then(|v| v.parse().ok()));
            if !port.is_some_and(|p| ports.contains(&p)) {
                continue;
            }
            let (Some(s), Some(d)) = (cells.get(src), cells.get(dst)) else {
                continue;
            };
            if s.is_empty() || d.is_empty() || s.contains(',') || d.contains(',') {
                continue; // tunnelled (two IP layers) or not IP
            }
            let code: Option<u32> = func
                .and_then(|i| cells.get(i))
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.parse().ok());
            let write = match *proto {
                "modbus" => matches!(code, Some(5 | 6 | 15 | 16 | 22 | 23)),
                "dnp3" => matches!(code, Some(2..=6 | 13 | 14)),
                _ => false,
            };
            rows.push((s.to_string(), d.to_string(), proto, write));
        }
    }
    assert!(rows.len() > 1000, "only {} request rows", rows.len());
    let observed: Vec<Observed<'_>> = rows
        .iter()
        .filter_map(|(s, d, p, w)| {
            Some(Observed {
                client: s.parse().ok()?,
                server: d.parse().ok()?,
                protocol: p,
                is_write: *w,
            })
        })
        .collect();
    let p = round_trip(&observed);
    // The Modbus server of the ITI capture (141.81.0.86, port 502) heads a control zone.
    let z = p.zone_of(ip("141.81.0.86"));
    assert!(z.name.starts_with("control-"), "{z:?}");
    assert_eq!(z.level, Level::whole(1).unwrap());
    assert!(p.zones().len() >= 5, "{} zones", p.zones().len());
    assert!(p.zones().iter().any(|z| z.name.starts_with("supervisory-")));
    assert!(p.zones().iter().any(|z| z.name.starts_with("enterprise-")));
    let usable: Vec<_> = observed
        .iter()
        .filter(|o| {
            o.client != o.server
                && !o.server.is_multicast()
                && o.server != ip("255.255.255.255")
                && !o.server.is_unspecified()
                && !o.client.is_unspecified()
        })
        .copied()
        .collect();
    assert_all_allowed(&p, &usable);
}
