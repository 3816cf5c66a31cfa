//! Property tests of the OPC UA parser: no panic on arbitrary bytes in arbitrary
//! chunkings, chunking invariance, and encode -> parse round trips.
use proptest::prelude::*;
use sluice_proto::opcua::{self, encode, Value};
use sluice_proto::{Direction, Output, Record, Transport};

fn feed(pieces: &[(Direction, Vec<u8>)]) -> Vec<Output> {
    let mut p = (opcua::DESC.new_parser)(Transport::Tcp);
    let mut out = Vec::new();
    for (d, b) in pieces {
        p.parse(*d, b, 1, &mut out);
    }
    p.finish(2, &mut out);
    out
}

fn txns(out: &[Output]) -> Vec<&opcua::Transaction> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Opcua(b) => Some(&**b),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn chunked(dir: Direction, bytes: &[u8], cuts: &[usize]) -> Vec<(Direction, Vec<u8>)> {
    let mut v = Vec::new();
    let mut pos = 0;
    for &c in cuts {
        let end = (pos + c).min(bytes.len());
        if end > pos {
            v.push((dir, bytes[pos..end].to_vec()));
        }
        pos = end;
    }
    if pos < bytes.len() {
        v.push((dir, bytes[pos..].to_vec()));
    }
    v
}

/// A client stream and the server's answers.
fn session(writes: &[(String, f64)]) -> (Vec<u8>, Vec<u8>) {
    let mut c = encode::hello("opc.tcp://plc:4840");
    let mut s = encode::ack();
    c.extend(encode::open_secure_channel_request(1, 1));
    s.extend(encode::open_secure_channel_response(1, 7));
    c.extend(encode::message(
        b"MSG",
        b'F',
        7,
        2,
        &encode::create_session_request(2, "urn:hmi", "HMI", "s1"),
    ));
    c.extend(encode::message(
        b"MSG",
        b'F',
        7,
        3,
        &encode::activate_session_username(3, "operator", b"secret"),
    ));
    for (i, (node, v)) in writes.iter().enumerate() {
        let id = 10 + i as u32;
        let w = encode::write_request(id, 2, &[(node.as_str(), *v)]);
        c.extend(encode::message(b"MSG", b'F', 7, id, &w));
        s.extend(encode::message(
            b"MSG",
            b'F',
            7,
            id,
            &encode::write_response(id, &[0]),
        ));
    }
    (c, s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        a in proptest::collection::vec(any::<u8>(), 0..800),
        b in proptest::collection::vec(any::<u8>(), 0..800),
        cuts in proptest::collection::vec(1usize..64, 0..20),
        start_msg in any::<bool>(),
    ) {
        let mut a = a;
        if start_msg && a.len() >= 24 {
            // A valid MSG header so the body decoders run on random bytes.
            let n = a.len() as u32;
            a[..4].copy_from_slice(b"MSGF");
            a[4..8].copy_from_slice(&n.to_le_bytes());
        }
        let mut pieces = chunked(Direction::ToServer, &a, &cuts);
        pieces.extend(chunked(Direction::ToClient, &b, &cuts));
        let _ = opcua::probe(Direction::ToServer, &a);
        let _ = feed(&pieces);
    }

    #[test]
    fn mutated_sessions_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cuts in proptest::collection::vec(1usize..50, 0..30),
    ) {
        let (mut c, s) = session(&[("Setpoint".into(), 1.5)]);
        for (at, x) in flips {
            let i = at % c.len();
            c[i] ^= x;
        }
        let mut pieces = chunked(Direction::ToServer, &c, &cuts);
        pieces.extend(chunked(Direction::ToClient, &s, &cuts));
        let _ = feed(&pieces);
    }

    #[test]
    fn chunking_invariance(
        writes in proptest::collection::vec(("[A-Za-z][A-Za-z0-9_.]{0,15}", -1e9f64..1e9), 0..4),
        garbage in proptest::collection::vec(any::<u8>(), 0..30),
    ) {
        let (mut c, s) = session(&writes);
        c.extend_from_slice(&garbage);
        let whole = feed(&[(Direction::ToServer, c.clone()), (Direction::ToClient, s.clone())]);
        let mut ones: Vec<(Direction, Vec<u8>)> = c.iter().map(|b| (Direction::ToServer, vec![*b])).collect();
        ones.extend(s.iter().map(|b| (Direction::ToClient, vec![*b])));
        prop_assert_eq!(whole, feed(&ones));
    }

    #[test]
    fn write_round_trip(writes in proptest::collection::vec(("[A-Za-z][A-Za-z0-9_.]{0,15}", -1e9f64..1e9), 1..6)) {
        let (c, s) = session(&writes);
        let out = feed(&[(Direction::ToServer, c), (Direction::ToClient, s)]);
        prop_assert!(out.iter().all(|o| !matches!(o, Output::Anomaly(_))));
        let t = txns(&out);
        let w: Vec<(String, f64)> = t.iter().flat_map(|x| x.written()).collect();
        let want: Vec<(String, f64)> = writes.iter().map(|(n, v)| (format!("ns=2;s={n}"), *v)).collect();
        prop_assert_eq!(w, want);
        let act = t.iter().find(|x| x.function_code == 467).unwrap();
        let sess = act.session.as_deref().unwrap();
        prop_assert_eq!(sess.user_name.as_deref(), Some("operator"));
        let json = serde_json::to_string(&Record::Opcua(Box::new((*act).clone()))).unwrap();
        prop_assert!(!json.contains("secret"));
    }

    #[test]
    fn multi_chunk_read(ids in proptest::collection::vec(0u32..100_000, 1..20), split in 1usize..40) {
        // A ReadRequest cut into an intermediate and a final chunk.
        let body = encode::read_request(5, 3, &ids);
        let cut = split.min(body.len() - 1);
        let mut c = encode::message(b"MSG", b'C', 1, 5, &body[..cut]);
        c.extend(encode::message(b"MSG", b'F', 1, 5, &body[cut..]));
        let values: Vec<f64> = ids.iter().map(|i| f64::from(*i)).collect();
        let s = encode::message(b"MSG", b'F', 1, 5, &encode::read_response(5, &values));
        let out = feed(&[(Direction::ToServer, c), (Direction::ToClient, s)]);
        let t = txns(&out);
        prop_assert_eq!(t.len(), 1);
        prop_assert_eq!(t[0].chunks, Some(2));
        prop_assert_eq!(t[0].nodes.len(), ids.len());
        for (n, id) in t[0].nodes.iter().zip(&ids) {
            prop_assert_eq!(&n.node_id, &format!("ns=3;i={id}"));
            prop_assert_eq!(n.value.clone(), Some(Value::Number(f64::from(*id))));
        }
    }
}

#[test]
fn hello_error_and_oversize() {
    let out = feed(&[
        (Direction::ToServer, encode::hello("opc.tcp://x:4840")),
        (
            Direction::ToClient,
            encode::error(0x807E_0000, "bad message type"),
        ),
    ]);
    let t = txns(&out);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].status_name, Some("BadTcpMessageTypeInvalid"));
    assert_eq!(t[0].reason.as_deref(), Some("bad message type"));
    // A 2 MiB message is skipped, the next one decodes.
    let mut big = b"MSGF".to_vec();
    big.extend_from_slice(&(2u32 << 20).to_le_bytes());
    big.resize(2 << 20, 0);
    big.extend(encode::message(
        b"MSG",
        b'F',
        1,
        9,
        &encode::read_request(9, 0, &[2258]),
    ));
    let out = feed(&[(Direction::ToServer, big)]);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Anomaly(a) if a.kind == "message_too_large")));
    let t = txns(&out);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].nodes[0].node_id, "i=2258");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn encrypted_channels_keep_headers_only(
        cert in proptest::collection::vec(any::<u8>(), 0..300),
        req in proptest::collection::vec(any::<u8>(), 0..200),
        resp in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let policy = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
        let mut c = encode::open_secure_channel_raw(policy, Some(&cert), 1, &req);
        let mut s = encode::open_secure_channel_raw(policy, Some(&cert), 1, &resp);
        c.extend(encode::message(b"MSG", b'F', 5, 2, &req));
        s.extend(encode::message(b"MSG", b'F', 5, 2, &resp));
        let out = feed(&[(Direction::ToServer, c), (Direction::ToClient, s)]);
        let t = txns(&out);
        prop_assert_eq!(t.len(), 2);
        let opn = t[0];
        let ch = opn.channel.as_deref().unwrap();
        prop_assert!(!ch.security_none);
        prop_assert_eq!(ch.security_policy_uri.as_deref(), Some(policy));
        prop_assert_eq!(ch.sender_certificate_length, Some(cert.len() as u32));
        prop_assert!(opn.request && opn.response);
        prop_assert_eq!(opn.encrypted, !req.is_empty() || !resp.is_empty());
        let msg = t[1];
        prop_assert!(msg.request && msg.response);
        prop_assert_eq!(msg.request_id, Some(2));
        prop_assert!(msg.nodes.is_empty() || !msg.encrypted);
    }
}
