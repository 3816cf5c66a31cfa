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

// ---- CONNECT / CONNACK / PUBLISH / SUBSCRIBE / UNSUBSCRIBE field round trip (issue 6) ----

#[derive(Clone, Debug)]
struct Session {
    v5: bool,
    client: String,
    clean: bool,
    keep_alive: u16,
    will: Option<(String, u8, bool, Vec<u8>)>,
    user: Option<String>,
    pass: bool,
    session_present: bool,
    publish: (String, bool, String),
    sub_id: u16,
    subs: Vec<(String, u8)>,
    unsub_id: u16,
    unsubs: Vec<String>,
}

fn session() -> impl Strategy<Value = Session> {
    (
        (
            any::<bool>(),
            "[a-zA-Z0-9_-]{0,23}",
            any::<bool>(),
            any::<u16>(),
            prop::option::of((
                "[a-z0-9/]{1,30}",
                0u8..3,
                any::<bool>(),
                prop::collection::vec(any::<u8>(), 0..50),
            )),
            prop::option::of("[a-zA-Z0-9@._-]{1,20}"),
            any::<bool>(),
        ),
        (
            any::<bool>(),
            ("[a-z0-9/]{1,30}", any::<bool>(), "[ -~]{0,100}"),
            1u16..,
            prop::collection::vec(("[a-z0-9/+#]{1,30}", 0u8..3), 1..6),
            1u16..,
            prop::collection::vec("[a-z0-9/+#]{1,30}", 1..6),
        ),
    )
        .prop_map(
            |(
                (v5, client, clean, keep_alive, will, user, pass),
                (session_present, publish, sub_id, subs, unsub_id, unsubs),
            )| Session {
                v5,
                client,
                clean,
                keep_alive,
                will,
                user,
                pass,
                session_present,
                publish,
                sub_id,
                subs,
                unsub_id,
                unsubs,
            },
        )
}

impl Session {
    /// MQTT 5 packets carry an (empty) property block at `props` places.
    fn props(&self, b: &mut Vec<u8>) {
        if self.v5 {
            b.push(0);
        }
    }

    fn client_bytes(&self) -> Vec<u8> {
        let mut b = s16(b"MQTT");
        b.push(if self.v5 { 5 } else { 4 });
        let mut flags = if self.clean { 0x02 } else { 0 };
        if let Some((_, qos, retain, _)) = &self.will {
            flags |= 0x04 | qos << 3 | if *retain { 0x20 } else { 0 };
        }
        if self.user.is_some() {
            flags |= 0x80;
        }
        if self.pass {
            flags |= 0x40;
        }
        b.push(flags);
        b.extend_from_slice(&self.keep_alive.to_be_bytes());
        self.props(&mut b);
        b.extend_from_slice(&s16(self.client.as_bytes()));
        if let Some((topic, _, _, payload)) = &self.will {
            self.props(&mut b);
            b.extend_from_slice(&s16(topic.as_bytes()));
            b.extend_from_slice(&s16(payload));
        }
        if let Some(u) = &self.user {
            b.extend_from_slice(&s16(u.as_bytes()));
        }
        if self.pass {
            b.extend_from_slice(&s16(b"hunter2"));
        }
        let mut out = pkt(0x10, &b);
        // PUBLISH QoS 0
        let (topic, retain, payload) = &self.publish;
        let mut b = s16(topic.as_bytes());
        self.props(&mut b);
        b.extend_from_slice(payload.as_bytes());
        out.extend(pkt(0x30 | u8::from(*retain), &b));
        // SUBSCRIBE
        let mut b = self.sub_id.to_be_bytes().to_vec();
        self.props(&mut b);
        for (t, q) in &self.subs {
            b.extend_from_slice(&s16(t.as_bytes()));
            b.push(*q);
        }
        out.extend(pkt(0x82, &b));
        // UNSUBSCRIBE
        let mut b = self.unsub_id.to_be_bytes().to_vec();
        self.props(&mut b);
        for t in &self.unsubs {
            b.extend_from_slice(&s16(t.as_bytes()));
        }
        out.extend(pkt(0xa2, &b));
        out
    }

    fn server_bytes(&self) -> Vec<u8> {
        let mut b = vec![u8::from(self.session_present), 0];
        self.props(&mut b);
        let mut out = pkt(0x20, &b);
        let mut b = self.sub_id.to_be_bytes().to_vec();
        self.props(&mut b);
        b.extend(self.subs.iter().map(|s| s.1));
        out.extend(pkt(0x90, &b));
        let mut b = self.unsub_id.to_be_bytes().to_vec();
        if self.v5 {
            b.push(0);
            b.extend(std::iter::repeat_n(0u8, self.unsubs.len()));
        }
        out.extend(pkt(0xb0, &b));
        out
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Client id, clean-session flag, keep alive, will (topic, QoS, retain, payload
    /// length), user, password flag, CONNACK session-present, PUBLISH topic / retain /
    /// printable payload, SUBSCRIBE topics with QoS and their SUBACK codes, and
    /// UNSUBSCRIBE topics read back, each direction split at a random point.
    #[test]
    fn session_round_trip(s in session(), split in any::<usize>()) {
        let msgs = [(true, s.client_bytes()), (false, s.server_bytes())];
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
        let txns: Vec<_> = out.iter().filter_map(|o| match o {
            Output::Txn(t) => match &t.record { Record::Mqtt(m) => Some(m.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(txns.len(), 4);
        let level = if s.v5 { 5 } else { 4 };
        for t in &txns {
            prop_assert_eq!(t.protocol_version, Some(level));
            prop_assert!(!t.truncated);
        }
        let con = txns.iter().find(|t| t.packet_type == 1).expect("connect");
        let c = con.connect.as_ref().expect("connect fields");
        prop_assert_eq!(&c.protocol_name, "MQTT");
        prop_assert_eq!(c.protocol_version, level);
        prop_assert_eq!(&c.client_id, &s.client);
        prop_assert_eq!(c.clean_session, s.clean);
        prop_assert_eq!(c.keep_alive, s.keep_alive);
        let will = c.will.as_ref().map(|w| (w.topic.clone(), w.qos, w.retain, w.payload_len));
        prop_assert_eq!(will, s.will.as_ref().map(|w| (w.0.clone(), w.1, w.2, w.3.len())));
        prop_assert_eq!(c.username_present, s.user.is_some());
        prop_assert_eq!(&c.username, &s.user);
        prop_assert_eq!(c.password_present, s.pass);
        let r = con.reply.as_ref().expect("connack");
        prop_assert_eq!((r.packet_type, r.reason_code, r.session_present), (2, Some(0), Some(s.session_present)));

        let pb = txns.iter().find(|t| t.packet_type == 3).expect("publish");
        let (topic, retain, payload) = &s.publish;
        prop_assert_eq!((pb.qos, pb.retain, pb.dup, pb.packet_id), (0, *retain, false, None));
        let f = pb.publish.as_ref().expect("publish fields");
        prop_assert_eq!(&f.topic, topic);
        prop_assert_eq!(f.payload_len, payload.len());
        prop_assert_eq!(f.payload.as_ref(), Some(payload));

        let sub = txns.iter().find(|t| t.packet_type == 8).expect("subscribe");
        prop_assert_eq!(sub.packet_id, Some(s.sub_id));
        let got: Vec<_> = sub.topics.iter().map(|t| (t.topic.clone(), t.qos)).collect();
        let want: Vec<_> = s.subs.iter().map(|(t, q)| (t.clone(), Some(*q))).collect();
        prop_assert_eq!(got, want);
        let ack = sub.reply.as_ref().expect("suback");
        prop_assert_eq!(ack.packet_type, 9);
        prop_assert_eq!(&ack.reason_codes, &s.subs.iter().map(|t| t.1).collect::<Vec<_>>());

        let un = txns.iter().find(|t| t.packet_type == 10).expect("unsubscribe");
        prop_assert_eq!(un.packet_id, Some(s.unsub_id));
        let got: Vec<_> = un.topics.iter().map(|t| (t.topic.clone(), t.qos)).collect();
        let want: Vec<_> = s.unsubs.iter().map(|t| (t.clone(), None)).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(un.reply.as_ref().map(|r| r.packet_type), Some(11));
    }
}
