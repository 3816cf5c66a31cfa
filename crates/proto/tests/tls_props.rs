//! TLS property tests: arbitrary bytes never panic in arbitrary chunks, chunking
//! invariance, and ClientHello / ServerHello built at random read back with the
//! JA3 string and JA4 fields they imply.
mod it_support;

use it_support::*;
use proptest::prelude::*;
use sluice_proto::tls::{fingerprint, DESC};
use sluice_proto::{Output, Record, Transport};

fn vec16(b: &[u8]) -> Vec<u8> {
    let mut v = (b.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

fn record(ct: u8, hs_type: u8, body: &[u8]) -> Vec<u8> {
    let mut hs = vec![hs_type, 0, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(body);
    let mut r = vec![ct, 3, 1];
    r.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    r.extend_from_slice(&hs);
    r
}

#[derive(Debug)]
struct Hello {
    ciphers: Vec<u16>,
    sni: Option<String>,
    alpn: Vec<String>,
    groups: Vec<u16>,
    sigs: Vec<u16>,
    extra: Vec<u16>,
}

fn client_hello(h: &Hello) -> (Vec<u8>, Vec<u16>) {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[7; 32]);
    b.push(0);
    let cs: Vec<u8> = h.ciphers.iter().flat_map(|c| c.to_be_bytes()).collect();
    b.extend_from_slice(&vec16(&cs));
    b.extend_from_slice(&[1, 0]);
    let mut exts = Vec::new();
    let mut types = Vec::new();
    let mut ext = |t: u16, d: Vec<u8>, exts: &mut Vec<u8>| {
        types.push(t);
        exts.extend_from_slice(&t.to_be_bytes());
        exts.extend_from_slice(&vec16(&d));
    };
    if let Some(s) = &h.sni {
        let mut e = vec![0];
        e.extend_from_slice(&vec16(s.as_bytes()));
        ext(0, vec16(&e), &mut exts);
    }
    let g: Vec<u8> = h.groups.iter().flat_map(|c| c.to_be_bytes()).collect();
    ext(10, vec16(&g), &mut exts);
    ext(11, vec![1, 0], &mut exts);
    let s: Vec<u8> = h.sigs.iter().flat_map(|c| c.to_be_bytes()).collect();
    ext(13, vec16(&s), &mut exts);
    if !h.alpn.is_empty() {
        let mut l = Vec::new();
        for a in &h.alpn {
            l.push(a.len() as u8);
            l.extend_from_slice(a.as_bytes());
        }
        ext(16, vec16(&l), &mut exts);
    }
    for t in &h.extra {
        ext(*t, vec![], &mut exts);
    }
    b.extend_from_slice(&vec16(&exts));
    (record(22, 1, &b), types)
}

fn server_hello(cipher: u16) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[9; 32]);
    b.push(0);
    b.extend_from_slice(&cipher.to_be_bytes());
    b.push(0);
    b.extend_from_slice(&vec16(&[0xff, 0x01, 0, 1, 0]));
    record(22, 2, &b)
}

fn hello() -> impl Strategy<Value = Hello> {
    (
        prop::collection::vec(any::<u16>(), 1..40),
        prop::option::of("[a-z]{1,12}\\.[a-z]{2,3}"),
        prop::collection::vec("[a-z0-9/.]{1,10}", 0..3),
        prop::collection::vec(any::<u16>(), 0..10),
        prop::collection::vec(any::<u16>(), 0..10),
        prop::collection::vec(100u16..200, 0..5),
    )
        .prop_map(|(ciphers, sni, alpn, groups, sigs, extra)| Hello {
            ciphers,
            sni,
            alpn,
            groups,
            sigs,
            extra,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_never_panic(msgs in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..400)), 0..8), chunk in 1usize..50) {
        let _ = feed_messages(&DESC, Transport::Tcp, &msgs, chunk);
    }

    /// Records with valid headers and random bodies reach the handshake decoders.
    #[test]
    fn random_records_never_panic(recs in prop::collection::vec((any::<bool>(), 20u8..25, prop::collection::vec(any::<u8>(), 0..300)), 0..10), chunk in 1usize..50) {
        let msgs: Vec<(bool, Vec<u8>)> = recs.into_iter().map(|(d, ct, body)| {
            let mut r = vec![ct, 3, 3];
            r.extend_from_slice(&(body.len() as u16).to_be_bytes());
            r.extend_from_slice(&body);
            (d, r)
        }).collect();
        let whole = feed_messages(&DESC, Transport::Tcp, &msgs, usize::MAX);
        let bytes = feed_messages(&DESC, Transport::Tcp, &msgs, chunk);
        prop_assert_eq!(whole, bytes);
    }

    #[test]
    fn hello_round_trip(h in hello(), cipher in any::<u16>(), chunk in 1usize..100) {
        let (ch, types) = client_hello(&h);
        prop_assert_eq!((DESC.probe)(sluice_proto::Direction::ToServer, &ch), sluice_proto::Probe::Match);
        let ccs = vec![20, 3, 3, 0, 1, 1];
        let msgs = vec![(true, ch), (false, server_hello(cipher)), (false, ccs.clone()), (true, ccs)];
        let out = feed_messages(&DESC, Transport::Tcp, &msgs, chunk);
        prop_assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
        let t: Vec<_> = out.iter().filter_map(|o| match o {
            Output::Txn(t) => match &t.record { Record::Tls(x) => Some(x.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(t.len(), 1);
        let tx = &t[0];
        prop_assert!(tx.established);
        let c = tx.client.as_ref().unwrap();
        prop_assert_eq!(&c.cipher_suites, &h.ciphers);
        prop_assert_eq!(&c.extensions, &types);
        prop_assert_eq!(c.sni.clone(), h.sni.clone());
        prop_assert_eq!(&c.alpn, &h.alpn);
        prop_assert_eq!(&c.ja3, &fingerprint::ja3(0x0303, &h.ciphers, &types, &h.groups, &[0]));
        prop_assert_eq!(&c.ja3_hash, &fingerprint::md5_hex(c.ja3.as_bytes()));
        let a = &c.ja4[..10];
        prop_assert_eq!(&a[..4], if h.sni.is_some() { "t12d" } else { "t12i" });
        let nc = h.ciphers.iter().filter(|x| !fingerprint::is_grease(**x)).count().min(99);
        prop_assert_eq!(&a[4..6], &format!("{nc:02}"));
        prop_assert_eq!(tx.server.as_ref().unwrap().cipher_suite, cipher);
    }
}

#[test]
fn chunking_invariance_on_captures() {
    assert_bytewise_invariant(&DESC, "tls");
}
