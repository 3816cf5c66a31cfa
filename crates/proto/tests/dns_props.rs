//! DNS property tests: arbitrary bytes never panic (UDP datagrams and TCP streams
//! in arbitrary chunks), chunking invariance, and build → parse round trips.
mod it_support;

use it_support::*;
use proptest::prelude::*;
use sluice_proto::dns::DESC;
use sluice_proto::{Output, Record, Transport};

/// A DNS message built from parts (uncompressed names).
fn build(
    id: u16,
    flags: u16,
    q: &[(Vec<String>, u16)],
    answers: &[(Vec<String>, [u8; 4], u32)],
) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&(q.len() as u16).to_be_bytes());
    m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    let name = |m: &mut Vec<u8>, labels: &[String]| {
        for l in labels {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.push(0);
    };
    for (labels, t) in q {
        name(&mut m, labels);
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
    }
    for (labels, ip, ttl) in answers {
        name(&mut m, labels);
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&4u16.to_be_bytes());
        m.extend_from_slice(ip);
    }
    m
}

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9-]{1,20}"
}

fn labels() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(label(), 1..5)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_datagrams_never_panic(msgs in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)), 0..8)) {
        let _ = feed_messages(&DESC, Transport::Udp, &msgs, 1);
        for m in &msgs {
            let _ = (DESC.probe)(sluice_proto::Direction::ToServer, &m.1);
        }
    }

    #[test]
    fn arbitrary_tcp_never_panics(msgs in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)), 0..8), chunk in 1usize..64) {
        let _ = feed_messages(&DESC, Transport::Tcp, &msgs, chunk);
    }

    #[test]
    fn tcp_chunking_invariance_arbitrary(msgs in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..120)), 0..8)) {
        // length-prefixed arbitrary messages, some with a wrong prefix
        let framed: Vec<(bool, Vec<u8>)> = msgs.into_iter().map(|(d, b)| {
            let mut f = (b.len() as u16).to_be_bytes().to_vec();
            f.extend_from_slice(&b);
            (d, f)
        }).collect();
        let whole = feed_messages(&DESC, Transport::Tcp, &framed, usize::MAX);
        let bytes = feed_messages(&DESC, Transport::Tcp, &framed, 1);
        prop_assert_eq!(whole, bytes);
    }

    /// Query and response built from random names, paired, and read back.
    #[test]
    fn round_trip(id in any::<u16>(), qname in labels(), qtype in 1u16..300, ans in prop::collection::vec((labels(), any::<[u8; 4]>(), any::<u32>()), 0..6), chunk in 1usize..40) {
        let q = build(id, 0x0100, &[(qname.clone(), qtype)], &[]);
        let r = build(id, 0x8180, &[(qname.clone(), qtype)], &ans);
        for transport in [Transport::Udp, Transport::Tcp] {
            let framed = |m: &Vec<u8>| if transport == Transport::Tcp {
                let mut f = (m.len() as u16).to_be_bytes().to_vec();
                f.extend_from_slice(m);
                f
            } else {
                m.clone()
            };
            let out = feed_messages(&DESC, transport, &[(true, framed(&q)), (false, framed(&r))], chunk);
            let txns: Vec<_> = out.iter().filter_map(|o| match o {
                Output::Txn(t) => match &t.record { Record::Dns(d) => Some(d.clone()), _ => None },
                _ => None,
            }).collect();
            prop_assert_eq!(txns.len(), 1);
            let d = &txns[0];
            prop_assert_eq!(d.id, id);
            prop_assert_eq!(d.query.clone(), Some(qname.join(".")));
            prop_assert_eq!(d.qtype, Some(qtype));
            prop_assert!(d.request && d.response);
            prop_assert_eq!(d.answers.len(), ans.len());
            for (a, (n, ip, ttl)) in d.answers.iter().zip(&ans) {
                prop_assert_eq!(&a.name, &n.join("."));
                prop_assert_eq!(a.ttl, *ttl);
                prop_assert_eq!(a.data.clone(), Some(std::net::Ipv4Addr::from(*ip).to_string()));
            }
            prop_assert!(anomalies(&out).is_empty());
            prop_assert_eq!((DESC.probe)(sluice_proto::Direction::ToServer, &framed(&q)), sluice_proto::Probe::Match);
        }
    }
}

#[test]
fn chunking_invariance_on_captures() {
    assert_bytewise_invariant(&DESC, "dns");
    // the UDP captures re-framed as one TCP stream each way
    for path in captures("dns") {
        for (flow, whole_udp) in run(&DESC, &path) {
            let msgs: Vec<(bool, Vec<u8>)> = flow
                .pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Data(d, _, b) => {
                        let mut f = (b.len() as u16).to_be_bytes().to_vec();
                        f.extend_from_slice(b);
                        Some((*d == sluice_proto::Direction::ToServer, f))
                    }
                    _ => None,
                })
                .collect();
            let whole = feed_messages(&DESC, Transport::Tcp, &msgs, usize::MAX);
            let bytes = feed_messages(&DESC, Transport::Tcp, &msgs, 1);
            assert_eq!(whole, bytes, "{}", path.display());
            let n = |o: &[Output]| o.iter().filter(|x| matches!(x, Output::Txn(_))).count();
            assert_eq!(n(&whole), n(&whole_udp));
        }
    }
}

#[test]
fn pointer_loop_in_a_response_is_reported() {
    // response with an answer whose name points at itself
    let mut m = build(7, 0x8180, &[(vec!["a".into()], 1)], &[]);
    m[7] = 1; // ancount = 1
    let at = m.len();
    m.extend_from_slice(&[0xc0, at as u8, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
    let out = feed_messages(&DESC, Transport::Udp, &[(false, m)], 1);
    let kinds: Vec<_> = anomalies(&out).iter().map(|a| a.kind).collect();
    assert_eq!(kinds, ["pointer_loop"]);
    // the question still makes a transaction
    assert_eq!(
        out.iter().filter(|o| matches!(o, Output::Txn(_))).count(),
        1
    );
}

// ---- full-field encode -> parse round trip (issue 6) ----

/// Answer data the test encodes.
#[derive(Clone, Debug)]
enum Rd {
    A([u8; 4]),
    Aaaa([u8; 16]),
    Cname(Vec<String>),
    Mx(u16, Vec<String>),
    Txt(Vec<String>),
    Srv(u16, u16, u16, Vec<String>),
}

impl Rd {
    fn rtype(&self) -> u16 {
        match self {
            Rd::A(_) => 1,
            Rd::Aaaa(_) => 28,
            Rd::Cname(_) => 5,
            Rd::Mx(..) => 15,
            Rd::Txt(_) => 16,
            Rd::Srv(..) => 33,
        }
    }
}

fn rdata() -> impl Strategy<Value = Rd> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(Rd::A),
        any::<[u8; 16]>().prop_map(Rd::Aaaa),
        labels().prop_map(Rd::Cname),
        (any::<u16>(), labels()).prop_map(|(p, n)| Rd::Mx(p, n)),
        prop::collection::vec("[ -~]{0,40}", 1..4).prop_map(Rd::Txt),
        (any::<u16>(), any::<u16>(), any::<u16>(), labels())
            .prop_map(|(a, b, c, n)| Rd::Srv(a, b, c, n)),
    ]
}

/// Name in wire form; `ptr` (offset of the question name) makes it a compression pointer.
fn put_name(m: &mut Vec<u8>, labels: &[String]) {
    for l in labels {
        m.push(l.len() as u8);
        m.extend_from_slice(l.as_bytes());
    }
    m.push(0);
}

/// A message with one question and `answers` (owner = the question name via a
/// compression pointer when `compress`).
fn build_full(
    id: u16,
    flags: u16,
    qname: &[String],
    qtype: u16,
    answers: &[(Rd, u32, bool)],
) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    put_name(&mut m, qname);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    for (rd, ttl, compress) in answers {
        if *compress {
            m.extend_from_slice(&[0xc0, 12]);
        } else {
            put_name(&mut m, qname);
        }
        m.extend_from_slice(&rd.rtype().to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        let mut d = Vec::new();
        match rd {
            Rd::A(ip) => d.extend_from_slice(ip),
            Rd::Aaaa(ip) => d.extend_from_slice(ip),
            Rd::Cname(n) => put_name(&mut d, n),
            Rd::Mx(p, n) => {
                d.extend_from_slice(&p.to_be_bytes());
                put_name(&mut d, n);
            }
            Rd::Txt(ss) => {
                for s in ss {
                    d.push(s.len() as u8);
                    d.extend_from_slice(s.as_bytes());
                }
            }
            Rd::Srv(p, w, port, n) => {
                d.extend_from_slice(&p.to_be_bytes());
                d.extend_from_slice(&w.to_be_bytes());
                d.extend_from_slice(&port.to_be_bytes());
                put_name(&mut d, n);
            }
        }
        m.extend_from_slice(&(d.len() as u16).to_be_bytes());
        m.extend_from_slice(&d);
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Query name/type, id, RD/AA/RA flags, rcode and typed answers (A, AAAA, CNAME,
    /// MX, TXT, SRV; owner names compressed or not) read back as encoded, over UDP
    /// and over TCP with the stream split at a random point.
    #[test]
    fn full_round_trip(
        id in any::<u16>(),
        qname in labels(),
        qtype in prop::sample::select(vec![1u16, 2, 5, 6, 12, 15, 16, 28, 33, 255, 65]),
        (rd, aa, ra) in (any::<bool>(), any::<bool>(), any::<bool>()),
        rcode in 0u16..6,
        ans in prop::collection::vec((rdata(), any::<u32>(), any::<bool>()), 0..6),
        split in any::<usize>(),
    ) {
        let qflags = if rd { 0x0100 } else { 0 };
        let rflags = 0x8000 | qflags | if aa { 0x0400 } else { 0 } | if ra { 0x0080 } else { 0 } | rcode;
        let q = build_full(id, qflags, &qname, qtype, &[]);
        let r = build_full(id, rflags, &qname, qtype, &ans);
        for transport in [Transport::Udp, Transport::Tcp] {
            let msgs: Vec<(bool, Vec<u8>)> = [(true, &q), (false, &r)].into_iter().map(|(d, m)| {
                if transport == Transport::Tcp {
                    let mut f = (m.len() as u16).to_be_bytes().to_vec();
                    f.extend_from_slice(m);
                    (d, f)
                } else {
                    (d, m.clone())
                }
            }).collect();
            let out = if transport == Transport::Tcp {
                let mut p = (DESC.new_parser)(transport);
                let mut out = Vec::new();
                for (i, (d, b)) in msgs.iter().enumerate() {
                    let dir = if *d { sluice_proto::Direction::ToServer } else { sluice_proto::Direction::ToClient };
                    let at = split % (b.len() + 1);
                    p.parse(dir, &b[..at], i as i64, &mut out);
                    p.parse(dir, &b[at..], i as i64, &mut out);
                }
                p.finish(9, &mut out);
                out
            } else {
                feed_messages(&DESC, transport, &msgs, 1)
            };
            prop_assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
            let txns: Vec<_> = out.iter().filter_map(|o| match o {
                Output::Txn(t) => match &t.record { Record::Dns(d) => Some(d.clone()), _ => None },
                _ => None,
            }).collect();
            prop_assert_eq!(txns.len(), 1);
            let d = &txns[0];
            let name = qname.join(".");
            prop_assert_eq!(d.id, id);
            prop_assert_eq!(d.opcode, 0);
            prop_assert_eq!(d.query.as_ref(), Some(&name));
            prop_assert_eq!(d.qtype, Some(qtype));
            prop_assert_eq!(d.questions.len(), 1);
            prop_assert_eq!(d.questions[0].class, 1);
            prop_assert!(d.request && d.response);
            prop_assert_eq!(d.rd, rd);
            prop_assert_eq!((d.aa, d.tc, d.ra), (Some(aa), Some(false), Some(ra)));
            prop_assert_eq!(d.rcode, Some(rcode));
            prop_assert!(!d.truncated);
            prop_assert_eq!(d.answers.len(), ans.len());
            prop_assert!(d.authorities.is_empty() && d.additionals.is_empty());
            for (a, (want, ttl, _)) in d.answers.iter().zip(&ans) {
                prop_assert_eq!(&a.name, &name);
                prop_assert_eq!(a.rtype, want.rtype());
                prop_assert_eq!(a.class, 1);
                prop_assert_eq!(a.ttl, *ttl);
                match want {
                    Rd::A(ip) => prop_assert_eq!(a.data.clone(), Some(std::net::Ipv4Addr::from(*ip).to_string())),
                    Rd::Aaaa(ip) => prop_assert_eq!(a.data.clone(), Some(std::net::Ipv6Addr::from(*ip).to_string())),
                    Rd::Cname(n) => prop_assert_eq!(a.data.clone(), Some(n.join("."))),
                    Rd::Mx(p, n) => {
                        prop_assert_eq!(a.preference, Some(*p));
                        prop_assert_eq!(a.data.clone(), Some(n.join(".")));
                    }
                    Rd::Txt(ss) => prop_assert_eq!(a.txt.as_ref(), Some(ss)),
                    Rd::Srv(p, w, port, n) => {
                        let s = a.srv.as_ref().expect("srv");
                        prop_assert_eq!((s.priority, s.weight, s.port), (*p, *w, *port));
                        prop_assert_eq!(a.data.clone(), Some(n.join(".")));
                    }
                }
            }
        }
    }
}
