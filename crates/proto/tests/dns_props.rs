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
