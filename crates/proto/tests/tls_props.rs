//! TLS property tests: arbitrary bytes never panic in arbitrary chunks, chunking
//! invariance, and ClientHello / ServerHello built at random read back with the
//! JA3 string and JA4 fields they imply.
mod it_support;

use it_support::*;
use proptest::prelude::*;
use sluice_proto::tls::{fingerprint, names, DESC};
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

// ---- TLS 1.3 ClientHello / ServerHello full-field round trip (issue 6) ----

#[derive(Clone, Debug)]
struct Hello13 {
    session_id: Vec<u8>,
    ciphers: Vec<u16>,
    sni: Option<String>,
    alpn: Vec<String>,
    versions: Vec<u16>,
    groups: Vec<u16>,
    sigs: Vec<u16>,
    points: Vec<u8>,
    chosen_alpn: Option<usize>,
    cipher: u16,
    share_group: u16,
}

fn hello13() -> impl Strategy<Value = Hello13> {
    (
        (
            prop::collection::vec(any::<u8>(), 0..=32),
            prop::collection::vec(any::<u16>(), 1..30),
            prop::option::of("[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,10}){0,3}"),
            prop::collection::vec("[a-z0-9/.-]{1,12}", 0..4),
            prop::collection::vec(
                prop::sample::select(vec![0x0301u16, 0x0302, 0x0303, 0x0304, 0x0a0a]),
                0..5,
            ),
        ),
        (
            prop::collection::vec(any::<u16>(), 0..10),
            prop::collection::vec(any::<u16>(), 0..10),
            prop::collection::vec(0u8..3, 1..4),
            any::<prop::sample::Index>(),
            any::<u16>(),
            any::<u16>(),
        ),
    )
        .prop_map(
            |(
                (session_id, ciphers, sni, alpn, mut versions),
                (groups, sigs, points, pick, cipher, share_group),
            )| {
                versions.push(0x0304);
                let chosen_alpn = (!alpn.is_empty()).then(|| pick.index(alpn.len()));
                Hello13 {
                    session_id,
                    ciphers,
                    sni,
                    alpn,
                    versions,
                    groups,
                    sigs,
                    points,
                    chosen_alpn,
                    cipher,
                    share_group,
                }
            },
        )
}

fn u16s(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|c| c.to_be_bytes()).collect()
}

fn ext_bytes(exts: &mut Vec<u8>, types: &mut Vec<u16>, t: u16, d: &[u8]) {
    types.push(t);
    exts.extend_from_slice(&t.to_be_bytes());
    exts.extend_from_slice(&vec16(d));
}

fn alpn_list(names: &[&String]) -> Vec<u8> {
    let mut l = Vec::new();
    for a in names {
        l.push(a.len() as u8);
        l.extend_from_slice(a.as_bytes());
    }
    vec16(&l)
}

impl Hello13 {
    /// ClientHello (legacy version 1.2) and the extension types in order.
    fn client(&self) -> (Vec<u8>, Vec<u16>) {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[7; 32]);
        b.push(self.session_id.len() as u8);
        b.extend_from_slice(&self.session_id);
        b.extend_from_slice(&vec16(&u16s(&self.ciphers)));
        b.extend_from_slice(&[1, 0]);
        let (mut e, mut t) = (Vec::new(), Vec::new());
        if let Some(s) = &self.sni {
            let mut l = vec![0];
            l.extend_from_slice(&vec16(s.as_bytes()));
            ext_bytes(&mut e, &mut t, 0, &vec16(&l));
        }
        ext_bytes(&mut e, &mut t, 10, &vec16(&u16s(&self.groups)));
        let mut p = vec![self.points.len() as u8];
        p.extend_from_slice(&self.points);
        ext_bytes(&mut e, &mut t, 11, &p);
        ext_bytes(&mut e, &mut t, 13, &vec16(&u16s(&self.sigs)));
        if !self.alpn.is_empty() {
            let all: Vec<&String> = self.alpn.iter().collect();
            ext_bytes(&mut e, &mut t, 16, &alpn_list(&all));
        }
        let v = u16s(&self.versions);
        let mut sv = vec![v.len() as u8];
        sv.extend_from_slice(&v);
        ext_bytes(&mut e, &mut t, 43, &sv);
        // key_share: one entry with a 32-byte key
        let mut ks = self.share_group.to_be_bytes().to_vec();
        ks.extend_from_slice(&vec16(&[5; 32]));
        ext_bytes(&mut e, &mut t, 51, &vec16(&ks));
        b.extend_from_slice(&vec16(&e));
        (record(22, 1, &b), t)
    }

    /// ServerHello selecting TLS 1.3 and the extension types in order.
    fn server(&self) -> (Vec<u8>, Vec<u16>) {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[9; 32]);
        b.push(self.session_id.len() as u8);
        b.extend_from_slice(&self.session_id);
        b.extend_from_slice(&self.cipher.to_be_bytes());
        b.push(0);
        let (mut e, mut t) = (Vec::new(), Vec::new());
        ext_bytes(&mut e, &mut t, 43, &[3, 4]);
        let mut ks = self.share_group.to_be_bytes().to_vec();
        ks.extend_from_slice(&vec16(&[6; 32]));
        ext_bytes(&mut e, &mut t, 51, &ks);
        if let Some(i) = self.chosen_alpn {
            ext_bytes(&mut e, &mut t, 16, &alpn_list(&[&self.alpn[i]]));
        }
        b.extend_from_slice(&vec16(&e));
        (record(22, 2, &b), t)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every ClientHello / ServerHello field the record reports (versions, session id
    /// length, ciphers, extensions, SNI, ALPN offered and chosen, groups, signature
    /// algorithms, point formats, selected version, key-share group) reads back as
    /// encoded, with each message split at a random point.
    #[test]
    fn tls13_hello_round_trip(h in hello13(), split in any::<usize>()) {
        let (ch, ctypes) = h.client();
        let (sh, stypes) = h.server();
        let ccs = vec![20, 3, 3, 0, 1, 1];
        let app = vec![23, 3, 3, 0, 4, 1, 2, 3, 4];
        let msgs = [(true, ch), (false, sh), (false, ccs.clone()), (false, app.clone()), (true, ccs), (true, app)];
        let mut p = (DESC.new_parser)(Transport::Tcp);
        let mut out = Vec::new();
        for (i, (d, b)) in msgs.iter().enumerate() {
            let dir = if *d { sluice_proto::Direction::ToServer } else { sluice_proto::Direction::ToClient };
            let at = split % (b.len() + 1);
            p.parse(dir, &b[..at], i as i64, &mut out);
            p.parse(dir, &b[at..], i as i64, &mut out);
        }
        p.finish(9, &mut out);
        prop_assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
        let t: Vec<_> = out.iter().filter_map(|o| match o {
            Output::Txn(t) => match &t.record { Record::Tls(x) => Some(x.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(t.len(), 1);
        let tx = &t[0];
        prop_assert!(tx.established && !tx.resumed && !tx.hello_retry);
        prop_assert_eq!(tx.version, Some("TLSv13"));
        prop_assert_eq!(&tx.server_name, &h.sni);
        prop_assert_eq!(tx.cipher, names::cipher_name(h.cipher));
        prop_assert_eq!(tx.curve, Some(names::group_name(h.share_group)));
        let c = tx.client.as_ref().expect("client");
        prop_assert_eq!(c.version, 0x0303);
        prop_assert_eq!(&c.supported_versions, &h.versions);
        prop_assert_eq!(c.session_id_len as usize, h.session_id.len());
        prop_assert_eq!(&c.cipher_suites, &h.ciphers);
        prop_assert_eq!(&c.extensions, &ctypes);
        prop_assert_eq!(&c.sni, &h.sni);
        prop_assert_eq!(&c.alpn, &h.alpn);
        prop_assert_eq!(&c.supported_groups, &h.groups);
        prop_assert_eq!(&c.signature_algorithms, &h.sigs);
        prop_assert_eq!(&c.ec_point_formats, &h.points);
        prop_assert!(!c.truncated);
        prop_assert_eq!(&c.ja4[..4], if h.sni.is_some() { "t13d" } else { "t13i" });
        let s = tx.server.as_ref().expect("server");
        prop_assert_eq!(s.version, 0x0303);
        prop_assert_eq!(s.selected_version, Some(0x0304));
        prop_assert_eq!(s.cipher_suite, h.cipher);
        prop_assert_eq!(s.compression, 0);
        prop_assert_eq!(&s.extensions, &stypes);
        prop_assert_eq!(s.alpn.as_ref(), h.chosen_alpn.map(|i| &h.alpn[i]));
        prop_assert_eq!(s.key_share_group, Some(h.share_group));
        prop_assert_eq!(s.session_id_len as usize, h.session_id.len());
        prop_assert_eq!(&s.ja3s, &fingerprint::ja3s(0x0303, h.cipher, &stypes));
    }
}
