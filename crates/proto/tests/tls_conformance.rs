//! TLS on the shared captures: values checked against tshark (hard-coded, JA3 /
//! JA3S from `tshark -e tls.handshake.ja3 -e tls.handshake.ja3s`), and conformance
//! with Zeek (ssl.log, x509.log), suricata-verify (tls yaml) and tshark (TSV).
//! Every oracle fact must be among ours or listed with evidence in
//! `tests/tls_allowlist.txt`.
mod it_support;

use it_support::*;
use sluice_proto::tls::{Transaction, DESC};
use sluice_proto::{Direction, Output, Record, Side};
use std::collections::BTreeSet;

fn tls_txns(out: &[Output]) -> Vec<(&sluice_proto::Txn, &Transaction)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Tls(d) => Some((t, &**d)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

const CAPTURES: &[&str] = &["tls-sv-alpn", "tls-zeek-ecdhe", "tls-zeek-tls12"];

/// (capture, JA3 hash, JA3S hash) as tshark 4.0 prints them
/// (`-e tls.handshake.ja3 -e tls.handshake.ja3s`).
const FINGERPRINTS: &[(&str, &str, &str)] = &[
    (
        "tls-sv-alpn",
        "773906b0efdefa24a7f2b8eb6985bf37",
        "9b340edddb1203ae20167d3089fa10af",
    ),
    (
        "tls-zeek-ecdhe",
        "29d8afc9e0a4d38d138ec2643966815f",
        "a8d2a5625ef8f3aada2fb53dad3f2921",
    ),
    (
        "tls-zeek-tls12",
        "bd9c99b3a0f752c3ab8b052a79e9de3e",
        "c253ec3ad88e42f8da4032682892f9a0",
    ),
];

#[test]
fn ja3_ja3s_match_tshark() {
    for (cap, ja3, ja3s) in FINGERPRINTS {
        let Some(res) = run_capture(&DESC, &format!("tls/{cap}.pcap")) else {
            return;
        };
        let out: Vec<Output> = res.into_iter().flat_map(|(_, o)| o).collect();
        let t = tls_txns(&out);
        assert_eq!(t.len(), 1, "{cap}");
        let tx = t[0].1;
        assert_eq!(tx.client.as_ref().unwrap().ja3_hash, *ja3, "{cap}");
        assert_eq!(tx.server.as_ref().unwrap().ja3s_hash, *ja3s, "{cap}");
        assert!(tx.established, "{cap}");
        if *cap == "tls-zeek-ecdhe" {
            // JA4 recomputed independently (Python hashlib) from the hello's lists:
            // ciphers c014,00ff; extensions 11,10,35,13,15; 15 signature algorithms
            assert_eq!(
                tx.client.as_ref().unwrap().ja4,
                "t12i020500_d0ac5cb1209a_a1e935682795"
            );
        }
    }
}

#[test]
fn alpn_capture_values() {
    let Some(res) = run_capture(&DESC, "tls/tls-sv-alpn.pcap") else {
        return;
    };
    let out = &res[0].1;
    assert!(anomalies(out).is_empty(), "{:?}", anomalies(out));
    let t = tls_txns(out);
    let (txn, tx) = t[0];
    assert_eq!(txn.dir, Direction::ToServer);
    // tshark frame 4: Client Hello, SNI p130-contacts.icloud.com, handshake version 0x0303;
    // frame 6: Server Hello 0x0303
    assert_eq!(tx.server_name.as_deref(), Some("p130-contacts.icloud.com"));
    let c = tx.client.as_ref().unwrap();
    assert_eq!(c.version, 0x0303);
    assert_eq!(c.alpn, ["h2", "http/1.1"]);
    // GREASE 0x2a2a first in the cipher list (tshark: "Reserved (GREASE) (0x2a2a)")
    assert_eq!(c.cipher_suites[0], 0x2a2a);
    // supported_versions lists TLS 1.3 (0x0304): JA4 says "t13", 20 ciphers and 14
    // extensions without GREASE, SNI present, ALPN h2
    assert!(c.ja4.starts_with("t13d2014h2_"), "{}", c.ja4);
    assert_eq!(tx.version, Some("TLSv12"));
    assert_eq!(tx.cipher, Some("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"));
    let s = tx.server.as_ref().unwrap();
    assert_eq!(s.alpn.as_deref(), Some("http/1.1"));
    assert_eq!(tx.certificates.len(), 2);
    assert_eq!(
        tx.certificates[0].common_name.as_deref(),
        Some("p127-contacts.icloud.com")
    );
    assert!(tx.certificates[0]
        .san_dns
        .iter()
        .any(|d| d == "p130-contacts.icloud.com"));
    let ids = identities(out);
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].source, "tls.certificate");
    assert_eq!(ids[0].side, Some(Side::Server));
    assert_eq!(ids[0].name.as_deref(), Some("p127-contacts.icloud.com"));
}

fn tf(b: bool) -> &'static str {
    if b {
        "T"
    } else {
        "F"
    }
}

fn zeek_ssl_facts(out: &[Output]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for (_, t) in tls_txns(out) {
        s.insert(format!("version={}", t.version.unwrap_or("-")));
        s.insert(format!("cipher={}", t.cipher.unwrap_or("-")));
        s.insert(format!("curve={}", t.curve.unwrap_or("-")));
        s.insert(format!(
            "server_name={}",
            t.server_name.as_deref().unwrap_or("-")
        ));
        s.insert(format!("resumed={}", tf(t.resumed)));
        s.insert(format!("established={}", tf(t.established)));
        s.insert(format!(
            "next_protocol={}",
            t.server
                .as_ref()
                .and_then(|s| s.alpn.clone())
                .unwrap_or("-".into())
        ));
        s.insert(format!(
            "cert_chain_fps={}",
            t.certificates
                .iter()
                .map(|c| c.fingerprint.clone())
                .collect::<Vec<_>>()
                .join(",")
        ));
        s.insert(format!(
            "last_alert={}",
            t.alerts.last().map(|a| a.name).unwrap_or("-")
        ));
    }
    s
}

fn zeek_ssl_expected(rows: &Rows) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for r in rows {
        for k in [
            "version",
            "cipher",
            "curve",
            "server_name",
            "resumed",
            "established",
            "next_protocol",
            "cert_chain_fps",
            "last_alert",
        ] {
            s.insert(format!("{k}={}", r.get(k).cloned().unwrap_or("-".into())));
        }
    }
    s
}

fn x509_facts(out: &[Output]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for (_, t) in tls_txns(out) {
        for c in &t.certificates {
            let fp = &c.fingerprint;
            s.insert(format!("{fp} version={}", c.version));
            s.insert(format!("{fp} serial={}", c.serial));
            s.insert(format!("{fp} subject={}", c.subject));
            s.insert(format!("{fp} issuer={}", c.issuer));
            s.insert(format!("{fp} not_valid_before={}.000000", c.not_before));
            s.insert(format!("{fp} not_valid_after={}.000000", c.not_after));
            s.insert(format!("{fp} key_alg={}", c.key_alg));
            s.insert(format!("{fp} sig_alg={}", c.sig_alg));
            s.insert(format!(
                "{fp} san.dns={}",
                if c.san_dns.is_empty() {
                    "-".to_string()
                } else {
                    c.san_dns.join(",")
                }
            ));
            s.insert(format!(
                "{fp} basic_constraints.ca={}",
                c.ca.map_or("-", tf)
            ));
        }
    }
    s
}

fn x509_expected(rows: &Rows) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for r in rows {
        let g = |k: &str| r.get(k).cloned().unwrap_or("-".into());
        let fp = g("fingerprint");
        for (k, ours) in [
            ("certificate.version", "version"),
            ("certificate.serial", "serial"),
            ("certificate.subject", "subject"),
            ("certificate.issuer", "issuer"),
            ("certificate.not_valid_before", "not_valid_before"),
            ("certificate.not_valid_after", "not_valid_after"),
            ("certificate.key_alg", "key_alg"),
            ("certificate.sig_alg", "sig_alg"),
            ("san.dns", "san.dns"),
            ("basic_constraints.ca", "basic_constraints.ca"),
        ] {
            s.insert(format!("{fp} {ours}={}", g(k)));
        }
    }
    s
}

fn tshark_facts(out: &[Output]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for (_, t) in tls_txns(out) {
        if let Some(c) = &t.client {
            s.insert(format!("client_hello version=0x{:04x}", c.version));
            s.insert(format!(
                "client_hello sni={}",
                c.sni.as_deref().unwrap_or("")
            ));
        }
        if let Some(sv) = &t.server {
            s.insert(format!("server_hello version=0x{:04x}", sv.version));
        }
        if !t.certificates.is_empty() {
            s.insert("certificate".to_string());
        }
    }
    s
}

fn tshark_expected(rows: &Rows) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for r in rows {
        let g = |k: &str| r.get(k).cloned().unwrap_or_default();
        let types: Vec<String> = g("tls.handshake.type")
            .split(',')
            .map(str::to_string)
            .collect();
        let versions: Vec<String> = g("tls.handshake.version")
            .split(',')
            .map(str::to_string)
            .collect();
        for (i, t) in types.iter().enumerate() {
            match t.as_str() {
                "1" => {
                    s.insert(format!(
                        "client_hello version={}",
                        versions.get(i).cloned().unwrap_or_default()
                    ));
                    s.insert(format!(
                        "client_hello sni={}",
                        g("tls.handshake.extensions_server_name")
                    ));
                }
                "2" => {
                    s.insert(format!(
                        "server_hello version={}",
                        versions.get(i).cloned().unwrap_or_default()
                    ));
                }
                "11" => {
                    s.insert("certificate".to_string());
                }
                _ => {}
            }
        }
    }
    s
}

/// Suricata EVE `tls.*` keys mapped to our fields.
fn suricata_path(k: &str) -> Option<String> {
    let k = k.strip_prefix("tls.")?;
    if let Some(i) = k.strip_prefix("client_alpns") {
        return Some(format!("client.alpn{i}"));
    }
    if k == "server_alpns[0]" {
        return Some("server.alpn".to_string());
    }
    if k == "ja3.hash" {
        return Some("client.ja3_hash".to_string());
    }
    if k == "ja3s.hash" {
        return Some("server.ja3s_hash".to_string());
    }
    if k == "sni" {
        return Some("server_name".to_string());
    }
    None
}

#[test]
fn conformance() {
    if shared_data().is_none() {
        return;
    }
    let mut allow = Allowlist::load("tls");
    let mut agree = Agreement::default();
    for cap in CAPTURES {
        let Some(res) = run_capture(&DESC, &format!("tls/{cap}.pcap")) else {
            continue;
        };
        let out: Vec<Output> = res.iter().flat_map(|(_, o)| o.clone()).collect();
        if let Some(p) = expected(&format!("zeek/{cap}.ssl.log")) {
            agree.check(
                "zeek",
                cap,
                &zeek_ssl_expected(&zeek_log(&p)),
                &zeek_ssl_facts(&out),
                &mut allow,
            );
        }
        if let Some(p) = expected(&format!("zeek/{cap}.x509.log")) {
            agree.check(
                "zeek",
                cap,
                &x509_expected(&zeek_log(&p)),
                &x509_facts(&out),
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
                // alert checks carry the same tls fields: compare those fields too
                if !matches!(c.get("event_type"), Some("tls" | "alert")) {
                    continue;
                }
                let keys: Vec<_> = c
                    .keys
                    .iter()
                    .filter(|(k, _)| k.starts_with("tls."))
                    .collect();
                if keys.is_empty() {
                    continue;
                }
                let n = facts
                    .iter()
                    .filter(|(_, f)| {
                        keys.iter().all(|(k, v)| {
                            suricata_path(k)
                                .is_some_and(|p| f.get(&p).map(String::as_str) == Some(v.as_str()))
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
    agree.finish("tls", &allow);
}
