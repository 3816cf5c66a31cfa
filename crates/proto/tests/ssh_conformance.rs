//! SSH on the shared captures: values checked against tshark (hard-coded), and
//! conformance with Zeek (ssh.log), suricata-verify (ssh yaml, HASSH) and tshark
//! (TSV). Every oracle fact must be among ours or listed with evidence in
//! `tests/ssh_allowlist.txt`.
mod it_support;

use it_support::*;
use sluice_proto::ssh::{Transaction, DESC};
use sluice_proto::{Output, Record, Side};
use std::collections::BTreeSet;

fn ssh_txns(out: &[Output]) -> Vec<(&sluice_proto::Txn, &Transaction)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Ssh(d) => Some((t, &**d)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

const CAPTURES: &[&str] = &[
    "ssh-sv-banner-only",
    "ssh-sv-hassh",
    "ssh-zeek-kex-curve25519",
    "ssh-zeek-server-pre-banner-data",
];

#[test]
fn hassh_capture_values() {
    let Some(res) = run_capture(&DESC, "ssh/ssh-sv-hassh.pcap") else {
        return;
    };
    let out = &res[0].1;
    assert!(anomalies(out).is_empty(), "{:?}", anomalies(out));
    let t = ssh_txns(out);
    assert_eq!(t.len(), 1);
    let s = t[0].1;
    // tshark frames 11 and 13: SSH-2.0-OpenSSH_for_Windows_7.7 / SSH-2.0-OpenSSH_7.4;
    // frames 14 and 15: Key Exchange Init both ways; 18: client New Keys
    let c = s.client.as_ref().unwrap();
    assert_eq!(c.banner(), "SSH-2.0-OpenSSH_for_Windows_7.7");
    let sv = s.server.as_ref().unwrap();
    assert_eq!(sv.banner(), "SSH-2.0-OpenSSH_7.4");
    assert_eq!(s.version, Some(2));
    let kex = c.kex.as_ref().unwrap();
    assert_eq!(kex.kex_algorithms[0], "curve25519-sha256");
    assert_eq!(
        kex.encryption_client_to_server[0],
        "chacha20-poly1305@openssh.com"
    );
    assert!(s.encrypted);
    let chosen = s.chosen.as_ref().unwrap();
    assert_eq!(chosen.kex.as_deref(), Some("curve25519-sha256"));
    let ids = identities(out);
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].source, "ssh.banner");
    assert_eq!(ids[0].side, Some(Side::Server));
    assert_eq!(ids[0].product.as_deref(), Some("OpenSSH_7.4"));
}

#[test]
fn pre_banner_values() {
    let Some(res) = run_capture(&DESC, "ssh/ssh-zeek-server-pre-banner-data.pcap") else {
        return;
    };
    let out = &res[0].1;
    assert!(anomalies(out).is_empty(), "{:?}", anomalies(out));
    let s = ssh_txns(out)[0].1;
    let sv = s.server.as_ref().unwrap();
    // the server sends a cowsay drawing before "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u5"
    assert_eq!(sv.software_version, "OpenSSH_9.2p1");
    assert_eq!(sv.comments.as_deref(), Some("Debian-2+deb12u5"));
    assert!(sv.pre_banner_lines > 10, "{}", sv.pre_banner_lines);
    assert_eq!(s.client.as_ref().unwrap().pre_banner_lines, 0);
}

fn zeek_facts(out: &[Output]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for (_, t) in ssh_txns(out) {
        s.insert(format!(
            "version={}",
            t.version.map_or("-".into(), |v| v.to_string())
        ));
        if let Some(c) = &t.client {
            s.insert(format!("client={}", c.banner()));
        }
        if let Some(c) = &t.server {
            s.insert(format!("server={}", c.banner()));
        }
        if let Some(c) = &t.chosen {
            let g = |o: &Option<String>| o.clone().unwrap_or("-".into());
            s.insert(format!("cipher_alg={}", g(&c.cipher_client_to_server)));
            s.insert(format!("mac_alg={}", g(&c.mac_client_to_server)));
            s.insert(format!(
                "compression_alg={}",
                g(&c.compression_client_to_server)
            ));
            s.insert(format!("kex_alg={}", g(&c.kex)));
            s.insert(format!("host_key_alg={}", g(&c.host_key)));
        }
    }
    s
}

fn zeek_expected(rows: &Rows) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for r in rows {
        for k in [
            "version",
            "client",
            "server",
            "cipher_alg",
            "mac_alg",
            "compression_alg",
            "kex_alg",
            "host_key_alg",
        ] {
            s.insert(format!("{k}={}", r.get(k).cloned().unwrap_or("-".into())));
        }
    }
    s
}

fn tshark_facts(out: &[Output]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for (_, t) in ssh_txns(out) {
        for (who, e) in [("client", &t.client), ("server", &t.server)] {
            if let Some(e) = e {
                s.insert(format!("banner {}", e.banner()));
                if e.kex.is_some() {
                    s.insert(format!("{who} kexinit"));
                }
            }
        }
    }
    s
}

fn tshark_expected(rows: &Rows) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for r in rows {
        let g = |k: &str| r.get(k).cloned().unwrap_or_default();
        let proto = g("ssh.protocol");
        if !proto.is_empty() {
            s.insert(format!("banner {proto}"));
        }
        let info = g("_ws.col.Info");
        if g("ssh.message_code").split(',').any(|c| c == "20") {
            let who = if info.starts_with("Server") {
                "server"
            } else {
                "client"
            };
            s.insert(format!("{who} kexinit"));
        }
    }
    s
}

#[test]
fn conformance() {
    if shared_data().is_none() {
        return;
    }
    let mut allow = Allowlist::load("ssh");
    let mut agree = Agreement::default();
    for cap in CAPTURES {
        let Some(res) = run_capture(&DESC, &format!("ssh/{cap}.pcap")) else {
            continue;
        };
        let out: Vec<Output> = res.iter().flat_map(|(_, o)| o.clone()).collect();
        if let Some(p) = expected(&format!("zeek/{cap}.ssh.log")) {
            agree.check(
                "zeek",
                cap,
                &zeek_expected(&zeek_log(&p)),
                &zeek_facts(&out),
                &mut allow,
            );
        }
        if let Some(p) = expected(&format!("tshark/{cap}.tsv")) {
            agree.check(
                "tshark",
                cap,
                &tshark_expected(&tshark_tsv(&p)),
                &tshark_facts(&out),
                &mut allow,
            );
        }
        for path in suricata_files(cap) {
            let facts = txn_facts(&out);
            for (i, c) in suricata_checks(&path).iter().enumerate() {
                if c.get("event_type") != Some("ssh") {
                    continue;
                }
                // EVE ssh.client.* / ssh.server.* carry our endpoint field names
                let n = facts
                    .iter()
                    .filter(|(_, f)| {
                        c.keys
                            .iter()
                            .filter(|(k, _)| k != "event_type")
                            .all(|(k, v)| {
                                let p = k.strip_prefix("ssh.").unwrap_or(k);
                                f.get(p).map(String::as_str) == Some(v.as_str())
                            })
                    })
                    .count();
                agree.single(
                    "suricata",
                    cap,
                    n == c.count,
                    &format!("check{i} count={n} expected={}", c.count),
                    &mut allow,
                );
            }
        }
    }
    agree.finish("ssh", &allow);
}
