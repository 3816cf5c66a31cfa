//! HTTP on the shared captures: values checked against tshark (hard-coded), and
//! conformance with Zeek (http.log, weird.log), suricata-verify (http yaml) and
//! tshark (TSV). Every oracle fact must be among ours or listed with evidence in
//! `tests/http_allowlist.txt`.
mod it_support;

use it_support::*;
use sluice_proto::http::{Transaction, DESC};
use sluice_proto::{Direction, Output, Record, Side};
use std::collections::BTreeSet;

fn http_txns(out: &[Output]) -> Vec<(&sluice_proto::Txn, &Transaction)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Http(d) => Some((t, &**d)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

const CAPTURES: &[&str] = &[
    "http-sv-all-headers",
    "http-zeek-pipelined-requests",
    "http-zeek-smuggle-request",
];

#[test]
fn all_headers_values() {
    let Some(res) = run_capture(&DESC, "http/http-sv-all-headers.pcap") else {
        return;
    };
    assert_eq!(res.len(), 1);
    let out = &res[0].1;
    assert!(anomalies(out).is_empty(), "{:?}", anomalies(out));
    let t = http_txns(out);
    assert_eq!(t.len(), 1);
    let (txn, h) = t[0];
    // tshark frame 4: GET /download.html HTTP/1.1, Host www.ethereal.com;
    // frame 29: HTTP/1.1 200 OK, the body reassembled from frames 6..29
    assert_eq!(txn.dir, Direction::ToServer);
    assert_eq!(txn.ts, 1_084_443_428_222_534_000);
    assert_eq!(txn.ts_end, Some(1_084_443_432_158_193_000));
    let req = h.request.as_ref().unwrap();
    assert_eq!(req.method, "GET");
    assert_eq!(req.uri, "/download.html");
    assert_eq!(req.version, "1.1");
    assert_eq!(req.host.as_deref(), Some("www.ethereal.com"));
    assert_eq!(
        req.referrer.as_deref(),
        Some("http://www.ethereal.com/development.html")
    );
    assert_eq!(req.header_count, 9);
    let resp = h.response.as_ref().unwrap();
    assert_eq!(resp.status_code, 200);
    assert_eq!(resp.reason, "OK");
    assert_eq!(resp.server.as_deref(), Some("Apache"));
    assert_eq!(
        resp.content_type.as_deref(),
        Some("text/html; charset=ISO-8859-1")
    );
    assert_eq!(resp.content_length, Some(18070));
    assert_eq!(resp.body_len, 18070);
    let ids = identities(out);
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].source, "http.server");
    assert_eq!(ids[0].side, Some(Side::Server));
    assert_eq!(ids[0].product.as_deref(), Some("Apache"));
}

#[test]
fn pipelined_values() {
    let Some(res) = run_capture(&DESC, "http/http-zeek-pipelined-requests.pcap") else {
        return;
    };
    let out = &res[0].1;
    let t = http_txns(out);
    // tshark: 5 requests (frames 4, 6, 14, 16, 20), 5 responses in the same order
    assert_eq!(t.len(), 5);
    let uris: Vec<_> = t
        .iter()
        .map(|(_, h)| h.request.as_ref().unwrap().uri.as_str())
        .collect();
    assert_eq!(
        uris,
        [
            "/style/enhanced.css",
            "/script/urchin.js",
            "/images/template/screen/bullet_utility.png",
            "/images/template/screen/key-point-top.png",
            "/projects/calendar/images/header-sunbird.png"
        ]
    );
    for (i, (_, h)) in t.iter().enumerate() {
        assert_eq!(h.trans_depth as usize, i + 1);
        assert_eq!(h.response.as_ref().unwrap().status_code, 200);
    }
    // tshark: "HTTP/1.1 200 OK (PNG)" of 27579 bytes for the last one
    assert_eq!(t[4].1.response.as_ref().unwrap().body_len, 27579);
    assert_eq!(
        t[4].1.response.as_ref().unwrap().server.as_deref(),
        Some("Apache/2.2.3 (Red Hat)")
    );
    // the server header changed: two identities
    assert_eq!(identities(out).len(), 2);
}

#[test]
fn smuggle_values() {
    let Some(res) = run_capture(&DESC, "http/http-zeek-smuggle-request.pcap") else {
        return;
    };
    let out = &res[0].1;
    let t = http_txns(out);
    // tshark: POST /first (frame 10, Content-Length 80, gzip body holding a MIME part with
    // Transfer-Encoding), then POST /smuggle-this (frame 16)
    assert_eq!(t.len(), 2);
    let r1 = t[0].1.request.as_ref().unwrap();
    assert_eq!((r1.method.as_str(), r1.uri.as_str()), ("POST", "/first"));
    assert_eq!(r1.content_length, Some(80));
    assert_eq!(r1.body_len, 80);
    let r2 = t[1].1.request.as_ref().unwrap();
    assert_eq!(r2.uri, "/smuggle-this");
    assert_eq!(t[1].1.response.as_ref().unwrap().body_len, 35);
}

/// Request smuggling: a request with both Content-Length and Transfer-Encoding is
/// flagged, and the chunked framing wins (so the smuggled request is seen).
#[test]
fn cl_te_conflict_is_an_anomaly() {
    let mut p = (DESC.new_parser)(sluice_proto::Transport::Tcp);
    let mut out = Vec::new();
    let req = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    p.parse(Direction::ToServer, req, 1, &mut out);
    p.finish(2, &mut out);
    let kinds: Vec<_> = anomalies(&out).iter().map(|a| a.kind).collect();
    assert_eq!(kinds, ["cl_te_conflict"]);
    let uris: Vec<_> = http_txns(&out)
        .iter()
        .map(|(_, h)| h.request.as_ref().unwrap().uri.clone())
        .collect();
    assert_eq!(uris, ["/a", "/smuggled"]);
}

#[test]
fn basic_auth_user_without_password() {
    let mut p = (DESC.new_parser)(sluice_proto::Transport::Tcp);
    let mut out = Vec::new();
    // "admin:s3cret"
    p.parse(
        Direction::ToServer,
        b"GET / HTTP/1.1\r\nAuthorization: Basic YWRtaW46czNjcmV0\r\n\r\n",
        1,
        &mut out,
    );
    p.parse(
        Direction::ToClient,
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
        2,
        &mut out,
    );
    let t = http_txns(&out);
    let r = t[0].1.request.as_ref().unwrap();
    assert!(r.basic_auth && r.password_present);
    assert_eq!(r.user.as_deref(), Some("admin"));
    let json = serde_json::to_string(&t[0].0.record).unwrap();
    assert!(
        !json.contains("s3cret") && !json.contains("YWRtaW46czNjcmV0"),
        "{json}"
    );
}

fn zeek_facts(out: &[Output]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for (_, h) in http_txns(out) {
        let d = h.trans_depth;
        if let Some(r) = &h.request {
            s.insert(format!("{d} method={}", r.method));
            s.insert(format!("{d} uri={}", r.uri));
            s.insert(format!("{d} version={}", r.version));
            s.insert(format!("{d} host={}", r.host.as_deref().unwrap_or("-")));
            s.insert(format!(
                "{d} referrer={}",
                r.referrer.as_deref().unwrap_or("-")
            ));
            s.insert(format!(
                "{d} user_agent={}",
                r.user_agent.as_deref().unwrap_or("-")
            ));
            s.insert(format!("{d} request_body_len={}", r.body_len));
            s.insert(format!("{d} username={}", r.user.as_deref().unwrap_or("-")));
        }
        if let Some(r) = &h.response {
            s.insert(format!("{d} status_code={}", r.status_code));
            s.insert(format!("{d} status_msg={}", r.reason));
            s.insert(format!("{d} response_body_len={}", r.body_len));
        }
    }
    s
}

fn zeek_expected(rows: &Rows) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for r in rows {
        let g = |k: &str| r.get(k).cloned().unwrap_or_else(|| "-".into());
        let d = g("trans_depth");
        for k in [
            "method",
            "uri",
            "version",
            "host",
            "referrer",
            "user_agent",
            "request_body_len",
            "username",
            "status_code",
            "status_msg",
            "response_body_len",
        ] {
            s.insert(format!("{d} {k}={}", g(k)));
        }
    }
    s
}

fn tshark_facts(out: &[Output]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for (i, (_, h)) in http_txns(out).iter().enumerate() {
        if let Some(r) = &h.request {
            s.insert(format!(
                "request#{i} {} {} {}",
                r.method,
                r.uri,
                r.host.as_deref().unwrap_or("")
            ));
        }
        if let Some(r) = &h.response {
            s.insert(format!("response#{i} {}", r.status_code));
        }
    }
    s
}

fn tshark_expected(rows: &Rows) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    let (mut nq, mut nr) = (0, 0);
    for r in rows {
        let g = |k: &str| r.get(k).cloned().unwrap_or_default();
        if !g("http.request.method").is_empty() {
            s.insert(format!(
                "request#{nq} {} {} {}",
                g("http.request.method"),
                g("http.request.uri"),
                g("http.host")
            ));
            nq += 1;
        }
        if !g("http.response.code").is_empty() {
            s.insert(format!("response#{nr} {}", g("http.response.code")));
            nr += 1;
        }
    }
    s
}

/// Suricata's header-array keys mapped to our fields: `X[i].value` of a header
/// whose `X[i].name` the check also gives.
fn suricata_match(c: &SuricataCheck, facts: &std::collections::BTreeMap<String, String>) -> bool {
    for (k, v) in &c.keys {
        if k == "event_type" || k.ends_with(".name") {
            continue;
        }
        let path = if let Some(base) = k.strip_suffix(".value") {
            let name = c
                .get(&format!("{base}.name"))
                .unwrap_or("")
                .to_ascii_lowercase();
            let side = if base.starts_with("http.request") {
                "request"
            } else {
                "response"
            };
            let field = match name.as_str() {
                "host" => "host",
                "content-length" => "content_length",
                "content-type" => "content_type",
                "user-agent" => "user_agent",
                "server" => "server",
                _ => return false,
            };
            format!("{side}.{field}")
        } else if k == "http.request_headers.__len" {
            "request.header_count".to_string()
        } else if k == "http.response_headers.__len" {
            "response.header_count".to_string()
        } else {
            return false;
        };
        if facts.get(&path) != Some(v) {
            return false;
        }
    }
    true
}

#[test]
fn conformance() {
    if shared_data().is_none() {
        return;
    }
    let mut allow = Allowlist::load("http");
    let mut agree = Agreement::default();
    for cap in CAPTURES {
        let Some(res) = run_capture(&DESC, &format!("http/{cap}.pcap")) else {
            continue;
        };
        let out: Vec<Output> = res.iter().flat_map(|(_, o)| o.clone()).collect();
        for suffix in ["http.log", "http.log.cut"] {
            if let Some(p) = expected(&format!("zeek/{cap}.{suffix}")) {
                agree.check(
                    "zeek",
                    cap,
                    &zeek_expected(&zeek_log(&p)),
                    &zeek_facts(&out),
                    &mut allow,
                );
            }
        }
        if let Some(p) = expected(&format!("zeek/{cap}.weird.log.cut")) {
            let ours: BTreeSet<String> = anomalies(&out)
                .iter()
                .map(|a| format!("weird {}", a.kind))
                .collect();
            let theirs: BTreeSet<String> = zeek_log(&p)
                .iter()
                .map(|r| format!("weird {}", r.get("name").cloned().unwrap_or_default()))
                .collect();
            agree.check("zeek", cap, &theirs, &ours, &mut allow);
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
                if c.get("event_type") != Some("http") {
                    continue;
                }
                let n = facts.iter().filter(|(_, f)| suricata_match(c, f)).count();
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
    agree.finish("http", &allow);
}
