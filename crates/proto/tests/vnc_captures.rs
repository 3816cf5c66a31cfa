//! VNC / RFB on real captures (values checked with tshark's VNC dissector and Zeek's
//! rfb.log / Suricata's rfb test), plus handshakes built here for security types the
//! captures lack (VeNCrypt Plain, 3.3 server-imposed None, connection failure).
mod remote_support;
mod support;
use remote_support::{assert_chunk_invariant, feed_chunked, records, steps_of};
use sluice_proto::vnc::DESC;
use sluice_proto::Direction::{self, ToClient, ToServer};

fn flows(rel: &str) -> Vec<Vec<serde_json::Value>> {
    let Some(p) = support::pcap(rel) else {
        return Vec::new();
    };
    support::run(&DESC, &p)
        .into_iter()
        .map(|(_, o)| records(&o))
        .collect()
}

#[test]
fn none_security_37() {
    for recs in flows("vnc/vnc-sv-rfb-parser.pcap") {
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        assert_eq!(r["server_version"], "003.007");
        assert_eq!(r["client_version"], "003.007");
        assert_eq!(r["security_types"], serde_json::json!([1, 2]));
        assert_eq!(r["security_type"], 1);
        assert_eq!(r["security_type_name"], "None");
        assert_eq!(r["auth_none"], true);
        assert_eq!(r["shared"], true);
        assert_eq!(r["width"], 1280);
        assert_eq!(r["height"], 800);
        assert_eq!(r["desktop_name"], "aneagles@localhost.localdomain");
    }
}

#[test]
fn vnc_auth_33_client_and_session_counts() {
    let fl = flows("vnc/vnc-zeek-mac-to-linux.pcap");
    if fl.is_empty() {
        return;
    }
    // 4 flows: a refused SYN, an abandoned handshake, a failed and a good login
    assert_eq!(fl.len(), 4);
    assert!(fl[0].is_empty());
    assert_eq!(fl[1][0]["security_type_name"], "VNC Authentication");
    assert!(fl[1][0].get("auth_success").is_none());
    assert_eq!(fl[2][0]["auth_success"], false);
    assert_eq!(fl[2][0]["password_present"], true);
    let good = &fl[3];
    assert_eq!(good[0]["client_version"], "003.003");
    assert_eq!(good[0]["server_version"], "003.008");
    assert_eq!(good[0]["auth_success"], true);
    assert_eq!(
        good[0]["desktop_name"],
        "root's X desktop (martin-VirtualBox:1)"
    );
    assert_eq!(good[0]["width"], 1024);
    assert_eq!(good[0]["height"], 768);
    let k = &good[1]["counters"];
    assert_eq!(good[1]["kind"], "session");
    // tshark: 65 pointer events, 1 key event; one framebuffer update of 25
    // rectangles (a cursor and 24 zlib bands), spread over several segments
    assert_eq!(k["pointer_events"], 65);
    assert_eq!(k["key_events"], 1);
    assert_eq!(k["framebuffer_updates"], 1);
    assert_eq!(k["rectangles"], 25);
    assert_eq!(k["framing_lost"], false);
}

#[test]
fn failed_auth_reason_38() {
    for recs in flows("vnc/vnc-zeek-scanner.pcap") {
        let r = &recs[0];
        assert_eq!(r["security_types"], serde_json::json!([2, 16]));
        assert_eq!(
            r["security_type_names"],
            serde_json::json!(["VNC Authentication", "Tight"])
        );
        assert_eq!(r["auth_success"], false);
        assert_eq!(
            r["failure_reason"],
            "Authentication failed from    192.168.0.1"
        );
    }
}

fn v(s: &[u8]) -> Vec<u8> {
    s.to_vec()
}

#[test]
fn vencrypt_plain_user_without_password() {
    let mut creds = Vec::new();
    creds.extend_from_slice(&5u32.to_be_bytes());
    creds.extend_from_slice(&6u32.to_be_bytes());
    creds.extend_from_slice(b"oper1secret");
    let steps: Vec<(Direction, Vec<u8>)> = vec![
        (ToClient, v(b"RFB 003.008\n")),
        (ToServer, v(b"RFB 003.008\n")),
        (ToClient, vec![2, 19, 2]),
        (ToServer, vec![19]),
        (ToClient, vec![0, 2]),
        (ToServer, vec![0, 2]),
        (ToClient, vec![0, 2, 0, 0, 1, 0, 0, 0, 1, 3]),
        (ToServer, vec![0, 0, 1, 0]),
        (ToServer, creds),
    ];
    let out = feed_chunked(&DESC, &steps, 0);
    let r = &records(&out)[0];
    assert_eq!(r["security_type_name"], "VeNCrypt");
    assert_eq!(r["vencrypt_subtypes"], serde_json::json!([256, 259]));
    assert_eq!(r["vencrypt_subtype_name"], "Plain");
    assert_eq!(r["user"], "oper1");
    assert_eq!(r["password_present"], true);
    assert!(!serde_json::to_string(r).unwrap().contains("secret"));
    assert_chunk_invariant(&DESC, &steps);
}

#[test]
fn server_imposed_none_33_and_failure() {
    let mut init = vec![
        0x05, 0x00, 0x03, 0x20, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0,
    ];
    init.extend_from_slice(&3u32.to_be_bytes());
    init.extend_from_slice(b"HMI");
    let steps = vec![
        (ToClient, v(b"RFB 003.003\n")),
        (ToServer, v(b"RFB 003.003\n")),
        (ToClient, vec![0, 0, 0, 1]),
        (ToServer, vec![1]),
        (ToClient, init),
        (
            ToServer,
            vec![4, 1, 0, 0, 0, 0, 0xff, 0x0d, 5, 0, 0, 1, 0, 2],
        ),
        (ToClient, vec![2]),
    ];
    let recs = records(&feed_chunked(&DESC, &steps, 0));
    assert_eq!(recs[0]["auth_none"], true);
    assert_eq!(recs[0]["security_types"], serde_json::json!([1]));
    assert_eq!(recs[0]["desktop_name"], "HMI");
    assert_eq!(recs[0]["width"], 1280);
    assert_eq!(recs[1]["counters"]["key_events"], 1);
    assert_eq!(recs[1]["counters"]["pointer_events"], 1);
    assert_eq!(recs[1]["counters"]["bells"], 1);
    assert_chunk_invariant(&DESC, &steps);
    // no security type: the server's reason
    let mut fail = vec![0u8];
    fail.extend_from_slice(&4u32.to_be_bytes());
    fail.extend_from_slice(b"busy");
    let steps = vec![
        (ToClient, v(b"RFB 003.008\n")),
        (ToServer, v(b"RFB 003.008\n")),
        (ToClient, fail),
    ];
    let recs = records(&feed_chunked(&DESC, &steps, 0));
    assert_eq!(recs[0]["failure_reason"], "busy");
}

#[test]
fn chunking_does_not_matter() {
    for rel in [
        "vnc/vnc-sv-rfb-parser.pcap",
        "vnc/vnc-zeek-mac-to-linux.pcap",
        "vnc/vnc-zeek-scanner.pcap",
    ] {
        let Some(p) = support::pcap(rel) else { return };
        for f in support::flows(&p, DESC.ports) {
            assert_chunk_invariant(&DESC, &steps_of(&f));
        }
    }
}
