//! DNS on the shared captures: values checked against tshark (hard-coded), and
//! conformance with Zeek (dns.log), suricata-verify (dns yaml) and tshark (TSV).
//! Every oracle fact must be among ours or listed with evidence in
//! `tests/dns_allowlist.txt`.
mod it_support;

use it_support::*;
use sluice_proto::dns::{Transaction, DESC};
use sluice_proto::{Direction, Output, Record};
use std::collections::BTreeSet;

fn dns_txns(out: &[Output]) -> Vec<(&sluice_proto::Txn, &Transaction)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Dns(d) => Some((t, &**d)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

const CAPTURES: &[&str] = &[
    "dns-sv-nxdomain-soa",
    "dns-zeek-dynamic-update",
    "dns-zeek-txt-multiple-strings",
];

#[test]
fn nxdomain_soa_values() {
    let Some(res) = run_capture(&DESC, "dns/dns-sv-nxdomain-soa.pcap") else {
        return;
    };
    assert_eq!(res.len(), 1);
    let out = &res[0].1;
    assert!(anomalies(out).is_empty(), "{:?}", anomalies(out));
    let t = dns_txns(out);
    assert_eq!(t.len(), 1);
    let (txn, d) = t[0];
    // tshark: frame 1 query 0x8295 A dne.oisf.net, frame 2 response No such name
    assert_eq!(txn.dir, Direction::ToServer);
    assert_eq!(txn.ts, 1_485_532_998_623_093_000);
    assert_eq!(txn.ts_end, Some(1_485_532_998_709_160_000));
    assert_eq!(d.id, 0x8295);
    assert_eq!(d.query.as_deref(), Some("dne.oisf.net"));
    assert_eq!(d.qtype, Some(1));
    assert_eq!(d.rcode, Some(3));
    assert_eq!(d.rcode_name, Some("NXDOMAIN"));
    assert!(d.rd && d.request && d.response);
    assert_eq!(d.ra, Some(true));
    let soa = d.authorities[0].soa.as_ref().expect("SOA");
    assert_eq!(d.authorities[0].name, "oisf.net");
    assert_eq!(d.authorities[0].ttl, 899);
    assert_eq!(soa.mname, "ns-110.awsdns-13.com");
    assert_eq!(soa.rname, "awsdns-hostmaster.amazon.com");
    assert_eq!(
        (soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum),
        (1, 7200, 900, 1_209_600, 86400)
    );
    // the EDNS OPT pseudo-record (tshark: "OPT")
    assert_eq!(d.additionals[0].type_name, "OPT");
    assert_eq!(d.additionals[0].class, 512);
}

#[test]
fn txt_multiple_strings_values() {
    let Some(res) = run_capture(&DESC, "dns/dns-zeek-txt-multiple-strings.pcap") else {
        return;
    };
    let out = &res[0].1;
    let t = dns_txns(out);
    assert_eq!(t.len(), 1);
    let d = t[0].1;
    assert_eq!(d.id, 0x6daf);
    assert_eq!(d.qtype_name, Some("TXT"));
    assert_eq!(d.aa, Some(true));
    // tshark: CNAME fa14._domainkey.flickr.com CNAME fa14._domainkey.yahoo.com TXT,
    // 5 NS, 5 A
    assert_eq!(d.answers.len(), 3);
    assert_eq!(
        d.answers[1].data.as_deref(),
        Some("fa14._domainkey.yahoo.com")
    );
    let txt = d.answers[2].txt.as_ref().expect("TXT strings");
    assert_eq!(txt.len(), 2);
    assert_eq!(txt[0].len(), 127);
    assert_eq!(txt[1].len(), 98);
    assert!(txt[0].starts_with("k=rsa; p=MIGfMA0"));
    assert_eq!(d.authorities.len(), 5);
    assert_eq!(d.authorities[0].data.as_deref(), Some("ns5.yahoo.com"));
    assert_eq!(d.additionals[4].data.as_deref(), Some("119.160.247.124"));
    assert_eq!(
        d.answers.iter().map(|a| a.ttl).collect::<Vec<_>>(),
        vec![900, 900, 7200]
    );
}

#[test]
fn dynamic_update_values() {
    let Some(res) = run_capture(&DESC, "dns/dns-zeek-dynamic-update.pcap") else {
        return;
    };
    assert_eq!(res.len(), 2);
    let all: Vec<_> = res
        .iter()
        .flat_map(|(_, o)| dns_txns(o))
        .map(|(_, d)| d.clone())
        .collect();
    assert_eq!(all.len(), 2);
    let refused = all.iter().find(|d| d.id == 0xbb50).expect("0xbb50");
    // tshark: "Dynamic update response 0xbb50 Refused SOA StratoLab.org CNAME AAAA A A ..."
    assert_eq!(refused.opcode, 5);
    assert_eq!(refused.opcode_name, "dynamic-update");
    assert_eq!(refused.rcode_name, Some("REFUSED"));
    assert_eq!(refused.query.as_deref(), Some("StratoLab.org"));
    assert_eq!(refused.qtype, Some(6));
    let actions: Vec<_> = refused
        .answers
        .iter()
        .chain(&refused.authorities)
        .map(|a| (a.type_name, a.action.unwrap_or("-")))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("CNAME", "rrset_does_not_exist"),
            ("AAAA", "delete_rrset"),
            ("A", "delete_rrset"),
            ("A", "add")
        ]
    );
    assert_eq!(
        refused.authorities[2].data.as_deref(),
        Some("192.168.1.106")
    );
    assert_eq!(refused.authorities[2].ttl, 1200);
    // the TSIG record of the signed update
    assert_eq!(refused.additionals[0].type_name, "TSIG");
    let ok = all.iter().find(|d| d.id == 0xef07).expect("0xef07");
    assert_eq!(ok.rcode_name, Some("NOERROR"));
    assert!(ok.additionals.is_empty());
}

fn bool_tf(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "T",
        _ => "F",
    }
}

/// Our facts in Zeek's terms.
fn zeek_facts(out: &[Output]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for (_, d) in dns_txns(out) {
        let id = d.id;
        if let Some(q) = &d.query {
            s.insert(format!("{id} query={}", q.to_ascii_lowercase()));
        }
        if let Some(q) = d.qtype {
            s.insert(format!("{id} qtype={q}"));
        }
        if let Some(r) = d.rcode_name {
            s.insert(format!("{id} rcode={r}"));
        }
        s.insert(format!("{id} opcode={} {}", d.opcode, d.opcode_name));
        if d.response {
            s.insert(format!("{id} AA={}", bool_tf(d.aa)));
            s.insert(format!("{id} TC={}", bool_tf(d.tc)));
            s.insert(format!("{id} RA={}", bool_tf(d.ra)));
        }
        s.insert(format!("{id} RD={}", bool_tf(Some(d.rd))));
        if d.opcode == 5 {
            // Zeek renders prerequisites and updates as "pre: ..", "del: ..", "add: .."
            let recs: Vec<_> = d.answers.iter().chain(&d.authorities).collect();
            let text: Vec<String> = recs
                .iter()
                .map(|a| {
                    let name = a.name.to_ascii_lowercase();
                    match a.action.unwrap_or("-") {
                        "rrset_does_not_exist" => format!("pre: NoRRSet {} {name}", a.type_name),
                        "delete_rrset" => format!("del: RRSet {}", a.type_name),
                        "add" => format!(
                            "add: {} {name} {}",
                            a.type_name,
                            a.data.as_deref().unwrap_or("")
                        ),
                        other => format!("{other} {} {name}", a.type_name),
                    }
                })
                .collect();
            s.insert(format!("{id} answers={}", text.join(",")));
            s.insert(format!(
                "{id} TTLs={}",
                recs.iter()
                    .map(|a| format!("{}.000000", a.ttl))
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        } else {
            s.insert(format!("{id} answers={}", d.answer_strings().join(",")));
            s.insert(format!(
                "{id} TTLs={}",
                d.answers
                    .iter()
                    .map(|a| format!("{}.000000", a.ttl))
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
    }
    s
}

fn zeek_expected(rows: &Rows) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for r in rows {
        let g = |k: &str| r.get(k).map(String::as_str).unwrap_or("-");
        let id = g("trans_id");
        if g("query") != "-" {
            s.insert(format!("{id} query={}", g("query")));
        }
        if g("qtype") != "-" {
            s.insert(format!("{id} qtype={}", g("qtype")));
        }
        if g("rcode_name") != "-" {
            s.insert(format!("{id} rcode={}", g("rcode_name")));
            s.insert(format!("{id} AA={}", g("AA")));
            s.insert(format!("{id} TC={}", g("TC")));
            s.insert(format!("{id} RA={}", g("RA")));
        }
        s.insert(format!("{id} opcode={} {}", g("opcode"), g("opcode_name")));
        s.insert(format!("{id} RD={}", g("RD")));
        if g("answers") != "-" {
            s.insert(format!("{id} answers={}", g("answers")));
            s.insert(format!("{id} TTLs={}", g("TTLs")));
        }
    }
    s
}

fn tshark_facts(out: &[Output]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for (_, d) in dns_txns(out) {
        let names: Vec<_> = d.questions.iter().map(|q| q.name.clone()).collect();
        let types: Vec<_> = d.questions.iter().map(|q| q.qtype.to_string()).collect();
        for kind in ["query", "response"] {
            if (kind == "query" && d.request) || (kind == "response" && d.response) {
                s.insert(format!("{kind} 0x{:04x} qname={}", d.id, names.join(",")));
                s.insert(format!("{kind} 0x{:04x} qtype={}", d.id, types.join(",")));
            }
        }
        if let Some(r) = d.rcode {
            s.insert(format!("response 0x{:04x} rcode={r}", d.id));
        }
    }
    s
}

fn tshark_expected(rows: &Rows) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for r in rows {
        let info = r.get("_ws.col.Info").cloned().unwrap_or_default();
        let Some(name) = r.get("dns.qry.name").filter(|n| !n.is_empty()) else {
            continue;
        };
        let Some(id) = info.split_whitespace().find(|w| w.starts_with("0x")) else {
            continue;
        };
        let kind = if info.contains("response") {
            "response"
        } else {
            "query"
        };
        s.insert(format!("{kind} {id} qname={name}"));
        s.insert(format!("{kind} {id} qtype={}", r["dns.qry.type"]));
        if let Some(rc) = r.get("dns.flags.rcode").filter(|v| !v.is_empty()) {
            s.insert(format!("response {id} rcode={rc}"));
        }
    }
    s
}

/// Suricata EVE key (after `dns.`) → our field path.
fn suricata_path(k: &str) -> String {
    let k = k.strip_prefix("dns.").unwrap_or(k);
    let k = if k == "rcode" { "rcode_name" } else { k };
    k.replace(".rrname", ".name")
        .replace(".rrtype", ".type_name")
}

#[test]
fn conformance() {
    if shared_data().is_none() {
        return;
    }
    let mut allow = Allowlist::load("dns");
    let mut agree = Agreement::default();
    for cap in CAPTURES {
        let Some(res) = run_capture(&DESC, &format!("dns/{cap}.pcap")) else {
            continue;
        };
        let out: Vec<Output> = res.iter().flat_map(|(_, o)| o.clone()).collect();
        if let Some(p) = expected(&format!("zeek/{cap}.dns.log")) {
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
        let sv = suricata_files(cap);
        for path in sv {
            let facts = txn_facts(&out);
            for (i, c) in suricata_checks(&path).iter().enumerate() {
                if c.get("event_type") != Some("dns") {
                    continue;
                }
                let n = facts
                    .iter()
                    .filter(|(_, f)| {
                        c.keys
                            .iter()
                            .filter(|(k, _)| k != "event_type")
                            .all(|(k, v)| {
                                f.get(&suricata_path(k)).map(String::as_str) == Some(v.as_str())
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
    agree.finish("dns", &allow);
}
