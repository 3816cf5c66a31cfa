//! MQTT property tests: arbitrary bytes never panic, chunking invariance, and
//! CONNECT / PUBLISH / SUBSCRIBE packets built at random (3.1.1 and 5.0, payloads
//! beyond the 64 KiB buffer included) read back and pair.
mod it_support;

use it_support::*;
use proptest::prelude::*;
use sluice_proto::mqtt::DESC;
use sluice_proto::{Output, Record, Transport};

fn varint(mut n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        v.push(b);
        if n == 0 {
            return v;
        }
    }
}

fn s16(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

fn pkt(first: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![first];
    p.extend_from_slice(&varint(body.len()));
    p.extend_from_slice(body);
    p
}

fn connect(v5: bool, client: &str, user: Option<&str>, pass: bool) -> Vec<u8> {
    let mut b = s16(b"MQTT");
    b.push(if v5 { 5 } else { 4 });
    b.push(0x02 | if user.is_some() { 0x80 } else { 0 } | if pass { 0x40 } else { 0 });
    b.extend_from_slice(&30u16.to_be_bytes());
    if v5 {
        // session expiry interval 10, one user property
        let mut props = vec![0x11, 0, 0, 0, 10, 0x26];
        props.extend_from_slice(&s16(b"k"));
        props.extend_from_slice(&s16(b"v"));
        b.extend_from_slice(&varint(props.len()));
        b.extend_from_slice(&props);
    }
    b.extend_from_slice(&s16(client.as_bytes()));
    if let Some(u) = user {
        b.extend_from_slice(&s16(u.as_bytes()));
    }
    if pass {
        b.extend_from_slice(&s16(b"hunter2"));
    }
    pkt(0x10, &b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_never_panic(msgs in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..400)), 0..8), chunk in 1usize..50) {
        let _ = feed_messages(&DESC, Transport::Tcp, &msgs, chunk);
        // after a valid CONNECT too
        let mut m = vec![(true, connect(true, "c", None, false))];
        m.extend(msgs);
        let _ = feed_messages(&DESC, Transport::Tcp, &m, chunk);
    }

    #[test]
    fn chunking_invariance_arbitrary(v5 in any::<bool>(), pkts in prop::collection::vec((any::<bool>(), 1u8..16, 0u8..16, prop::collection::vec(any::<u8>(), 0..60)), 0..10)) {
        let mut msgs = vec![(true, connect(v5, "c", None, false))];
        for (d, t, f, body) in pkts {
            msgs.push((d, pkt(t << 4 | f, &body)));
        }
        let whole = feed_messages(&DESC, Transport::Tcp, &msgs, usize::MAX);
        let bytes = feed_messages(&DESC, Transport::Tcp, &msgs, 1);
        prop_assert_eq!(whole, bytes);
    }

    #[test]
    fn round_trip(
        v5 in any::<bool>(),
        client in "[a-zA-Z0-9]{0,23}",
        user in prop::option::of("[a-z]{1,10}"),
        pass in any::<bool>(),
        pubs in prop::collection::vec(("[a-z/]{1,20}", 0u8..3, prop_oneof![0usize..300, 65_000usize..100_000]), 1..4),
        topics in prop::collection::vec(("[a-z/#+]{1,20}", 0u8..3), 1..5),
        chunk in prop::sample::select(vec![3usize, 1000, 100_000]),
    ) {
        let mut c2s = connect(v5, &client, user.as_deref(), pass);
        let mut s2c = pkt(0x20, if v5 { &[0, 0, 0] } else { &[0, 0] });
        let pubs: Vec<(String, u8, usize, u16)> = pubs
            .into_iter()
            .enumerate()
            .map(|(i, (t, q, l))| (t, q, l, 100 + i as u16))
            .collect();
        for (topic, qos, len, id) in &pubs {
            let mut b = s16(topic.as_bytes());
            if *qos > 0 {
                b.extend_from_slice(&id.to_be_bytes());
            }
            if v5 {
                b.push(0);
            }
            b.extend(std::iter::repeat_n(b'x', *len));
            c2s.extend_from_slice(&pkt(0x30 | qos << 1, &b));
            match qos {
                1 => s2c.extend_from_slice(&pkt(0x40, &id.to_be_bytes())),
                2 => s2c.extend_from_slice(&pkt(0x50, &id.to_be_bytes())),
                _ => {}
            }
        }
        let mut sb = 7u16.to_be_bytes().to_vec();
        if v5 {
            sb.push(0);
        }
        for (t, q) in &topics {
            sb.extend_from_slice(&s16(t.as_bytes()));
            sb.push(*q);
        }
        c2s.extend_from_slice(&pkt(0x82, &sb));
        let mut ack = 7u16.to_be_bytes().to_vec();
        if v5 {
            ack.push(0);
        }
        ack.extend(topics.iter().map(|(_, q)| *q));
        s2c.extend_from_slice(&pkt(0x90, &ack));
        let out = feed_messages(&DESC, Transport::Tcp, &[(true, c2s), (false, s2c)], chunk);
        let txns: Vec<_> = out.iter().filter_map(|o| match o {
            Output::Txn(t) => match &t.record { Record::Mqtt(m) => Some(m.clone()), _ => None },
            _ => None,
        }).collect();
        // no anomalies except for PUBLISH packets past the 64 KiB buffer
        for a in anomalies(&out) {
            prop_assert_eq!(a.kind, "packet_too_large");
        }
        let con = txns.iter().find(|t| t.packet_type == 1).unwrap();
        let c = con.connect.as_ref().unwrap();
        prop_assert_eq!(&c.client_id, &client);
        prop_assert_eq!(c.username.clone(), user);
        prop_assert_eq!(c.password_present, pass);
        prop_assert_eq!(con.reply.as_ref().unwrap().reason_code, Some(0));
        if v5 {
            prop_assert!(c.properties.get("k").is_some());
        }
        let mut ps: Vec<_> = txns.iter().filter(|t| t.packet_type == 3).collect();
        prop_assert_eq!(ps.len(), pubs.len());
        // QoS 0 is emitted at once, QoS 1/2 when acknowledged: compare in packet id order
        let mut pubs = pubs.clone();
        pubs.sort_by_key(|p| (p.0.clone(), p.1, p.2));
        ps.sort_by_key(|p| (p.publish.as_ref().unwrap().topic.clone(), p.qos, p.publish.as_ref().unwrap().payload_len));
        for (p, (topic, qos, len, id)) in ps.iter().zip(&pubs) {
            let pb = p.publish.as_ref().unwrap();
            prop_assert_eq!(&pb.topic, topic);
            prop_assert_eq!(pb.payload_len, *len);
            prop_assert_eq!(p.qos, *qos);
            if *qos > 0 {
                prop_assert_eq!(p.packet_id, Some(*id));
                prop_assert_eq!(p.reply.as_ref().map(|r| r.packet_type), Some(3 + qos));
            }
        }
        let sub = txns.iter().find(|t| t.packet_type == 8).unwrap();
        prop_assert_eq!(sub.topics.len(), topics.len());
        prop_assert_eq!(&sub.reply.as_ref().unwrap().reason_codes, &topics.iter().map(|t| t.1).collect::<Vec<_>>());
        for t in &txns {
            let json = serde_json::to_string(t).unwrap();
            prop_assert!(!json.contains("hunter2"));
        }
    }
}

#[test]
fn chunking_invariance_on_captures() {
    assert_bytewise_invariant(&DESC, "mqtt");
}
