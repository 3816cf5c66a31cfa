//! AnyDesk recognition on TLS bytes built here (the e2e test
//! `crates/sluice/tests/proto_anydesk.rs` runs the same kind of flow, which tshark
//! dissects as a TLS 1.2 handshake with a `CN=AnyDesk Client` certificate).
mod remote_support;
mod support;
use remote_support::{assert_chunk_invariant, feed_chunked, records};
use sluice_proto::anydesk::{client_hello_sni, DESC};
use sluice_proto::Direction::{self, ToClient, ToServer};
use sluice_proto::Probe;

fn client_hello(sni: Option<&str>) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([7u8; 32]);
    b.push(0);
    b.extend_from_slice(&[0, 2, 0xc0, 0x2f, 1, 0]);
    let mut ext = Vec::new();
    if let Some(name) = sni {
        let n = name.len() as u16;
        ext.extend_from_slice(&[0, 0]);
        ext.extend_from_slice(&(n + 5).to_be_bytes());
        ext.extend_from_slice(&(n + 3).to_be_bytes());
        ext.push(0);
        ext.extend_from_slice(&n.to_be_bytes());
        ext.extend_from_slice(name.as_bytes());
    }
    b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    b.extend(ext);
    let mut h = vec![1, 0];
    h.extend_from_slice(&(b.len() as u16).to_be_bytes());
    h.extend(b);
    let mut r = vec![22, 3, 1];
    r.extend_from_slice(&(h.len() as u16).to_be_bytes());
    r.extend(h);
    r
}

fn server_flight(subject: &[u8]) -> Vec<u8> {
    let mut hs = vec![2, 0, 0, 38, 3, 3];
    hs.extend([9u8; 32]);
    hs.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    // a Certificate message whose (fake) certificate carries the subject text
    let cert_len = subject.len() + 6;
    hs.extend_from_slice(&[11, 0, (cert_len >> 8) as u8, cert_len as u8]);
    hs.extend_from_slice(&[
        0,
        ((subject.len() + 3) >> 8) as u8,
        (subject.len() + 3) as u8,
    ]);
    hs.extend_from_slice(&[0, (subject.len() >> 8) as u8, subject.len() as u8]);
    hs.extend_from_slice(subject);
    hs.extend_from_slice(&[14, 0, 0, 0]);
    let mut r = vec![22, 3, 3];
    r.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    r.extend(hs);
    r.extend_from_slice(&[20, 3, 3, 0, 1, 1]);
    r
}

#[test]
fn certificate_names_anydesk() {
    let steps: Vec<(Direction, Vec<u8>)> = vec![
        (ToServer, client_hello(None)),
        (ToClient, server_flight(b"CN=AnyDesk Client")),
    ];
    let recs = records(&feed_chunked(&DESC, &steps, 0));
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["detected_by"], "certificate");
    assert_eq!(recs[0]["tls_version"], "TLS 1.2");
    assert_chunk_invariant(&DESC, &steps);
}

#[test]
fn port_label_and_sni() {
    let steps = vec![
        (ToServer, client_hello(None)),
        (ToClient, server_flight(b"CN=other")),
    ];
    let recs = records(&feed_chunked(&DESC, &steps, 0));
    assert_eq!(recs[0]["detected_by"], "port");
    assert_eq!(recs[0]["certificate_anydesk"], false);
    let steps = vec![(ToServer, client_hello(Some("relay-1.net.anydesk.com")))];
    let recs = records(&feed_chunked(&DESC, &steps, 0));
    assert_eq!(recs[0]["detected_by"], "sni");
    assert_eq!(recs[0]["sni"], "relay-1.net.anydesk.com");
}

#[test]
fn probe_is_conservative() {
    assert_eq!((DESC.probe)(ToServer, &client_hello(None)), Probe::Match);
    assert_eq!(
        (DESC.probe)(ToServer, &client_hello(Some("boot.net.anydesk.com"))),
        Probe::Match
    );
    // a browser's ClientHello names its server: not AnyDesk
    assert_eq!(
        (DESC.probe)(ToServer, &client_hello(Some("www.example.com"))),
        Probe::NoMatch
    );
    assert_eq!(
        (DESC.probe)(ToServer, &client_hello(None)[..20]),
        Probe::NeedMore
    );
    assert_eq!(
        (DESC.probe)(ToServer, b"GET / HTTP/1.1\r\n"),
        Probe::NoMatch
    );
    assert_eq!((DESC.probe)(ToClient, &client_hello(None)), Probe::NoMatch);
    assert_eq!(
        client_hello_sni(&client_hello(Some("a.b"))),
        Ok(Some("a.b".to_string()))
    );
}
