//! SSH property tests: arbitrary bytes never panic, chunking invariance, and
//! identification lines and KEXINITs built at random read back with their HASSH.
mod it_support;

use it_support::*;
use proptest::prelude::*;
use sluice_proto::ssh::DESC;
use sluice_proto::tls::fingerprint::md5_hex;
use sluice_proto::{Output, Record, Transport};

fn packet(payload: &[u8]) -> Vec<u8> {
    let pad = 4 + (8 - (payload.len() + 5 + 4) % 8) % 8;
    let len = (payload.len() + pad + 1) as u32;
    let mut p = len.to_be_bytes().to_vec();
    p.push(pad as u8);
    p.extend_from_slice(payload);
    p.extend(std::iter::repeat_n(0u8, pad));
    p
}

fn kexinit(lists: &[String; 10]) -> Vec<u8> {
    let mut k = vec![20u8];
    k.extend_from_slice(&[1; 16]);
    for l in lists {
        k.extend_from_slice(&(l.len() as u32).to_be_bytes());
        k.extend_from_slice(l.as_bytes());
    }
    k.extend_from_slice(&[0, 0, 0, 0, 0]);
    packet(&k)
}

fn names() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z0-9@.-]{1,20}", 1..6).prop_map(|v| v.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_never_panic(msgs in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..400)), 0..8), chunk in 1usize..50) {
        let _ = feed_messages(&DESC, Transport::Tcp, &msgs, chunk);
    }

    #[test]
    fn chunking_invariance_arbitrary(pre in prop::collection::vec("[ -~]{0,30}\r?\n", 0..4), body in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut server = pre.concat().into_bytes();
        server.extend_from_slice(b"SSH-2.0-x\r\n");
        server.extend_from_slice(&body);
        let msgs = vec![(true, b"SSH-2.0-c\r\n".to_vec()), (false, server)];
        let whole = feed_messages(&DESC, Transport::Tcp, &msgs, usize::MAX);
        let bytes = feed_messages(&DESC, Transport::Tcp, &msgs, 1);
        prop_assert_eq!(whole, bytes);
    }

    #[test]
    fn banner_and_kexinit_round_trip(
        sw in "[A-Za-z0-9_.]{1,20}",
        comment in prop::option::of("[A-Za-z0-9_.+ -]{1,20}"),
        pre in prop::collection::vec("[ -~]{0,40}", 0..5),
        lists in prop::array::uniform10(names()),
        chunk in 1usize..64,
    ) {
        let pre: Vec<String> = pre.into_iter().filter(|l| !l.starts_with("SSH-")).collect();
        let mut server = Vec::new();
        for l in &pre {
            server.extend_from_slice(l.as_bytes());
            server.extend_from_slice(b"\r\n");
        }
        let banner = match &comment {
            Some(c) => format!("SSH-2.0-{sw} {c}"),
            None => format!("SSH-2.0-{sw}"),
        };
        server.extend_from_slice(banner.as_bytes());
        server.extend_from_slice(b"\r\n");
        server.extend_from_slice(&kexinit(&lists));
        server.extend_from_slice(&packet(&[21]));
        let mut client = b"SSH-2.0-client\r\n".to_vec();
        client.extend_from_slice(&kexinit(&lists));
        client.extend_from_slice(&packet(&[21]));
        let out = feed_messages(&DESC, Transport::Tcp, &[(true, client), (false, server)], chunk);
        prop_assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
        let t: Vec<_> = out.iter().filter_map(|o| match o {
            Output::Txn(t) => match &t.record { Record::Ssh(x) => Some(x.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(t.len(), 1);
        let s = t[0].server.as_ref().unwrap();
        prop_assert_eq!(&s.software_version, &sw);
        prop_assert_eq!(s.comments.clone(), comment.filter(|c| !c.is_empty()));
        prop_assert_eq!(s.pre_banner_lines as usize, pre.len());
        let hs = s.hassh.as_ref().unwrap();
        let want = format!("{};{};{};{}", lists[0], lists[3], lists[5], lists[7]);
        prop_assert_eq!(&hs.string, &want);
        prop_assert_eq!(&hs.hash, &md5_hex(want.as_bytes()));
        let c = t[0].client.as_ref().unwrap().hassh.as_ref().unwrap();
        prop_assert_eq!(&c.string, &format!("{};{};{};{}", lists[0], lists[2], lists[4], lists[6]));
        let first = |l: &String| l.split(',').next().map(str::to_string);
        prop_assert_eq!(t[0].chosen.as_ref().unwrap().kex.clone(), first(&lists[0]));
        prop_assert!(t[0].encrypted);
        prop_assert_eq!(identities(&out).len(), 1);
    }
}

#[test]
fn chunking_invariance_on_captures() {
    assert_bytewise_invariant(&DESC, "ssh");
}

#[test]
fn endless_pre_banner_is_bounded() {
    let lines = "x\r\n".repeat(2000).into_bytes();
    let out = feed_messages(&DESC, Transport::Tcp, &[(false, lines)], 7);
    let kinds: Vec<_> = anomalies(&out).iter().map(|a| a.kind).collect();
    assert_eq!(kinds, ["no_banner"]);
}

// ---- both identification lines and both KEXINITs, with negotiation (issue 6) ----

/// Lists drawn from a small pool so that client and server often overlap.
fn pool_list() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop::sample::select(vec![
            "curve25519-sha256",
            "aes128-ctr",
            "aes256-gcm@openssh.com",
            "hmac-sha2-256",
            "none",
            "zlib",
            "ssh-ed25519",
            "rsa-sha2-512",
        ]),
        1..5,
    )
    .prop_map(|v| v.into_iter().map(str::to_string).collect())
}

fn kexinit_full(lists: &[Vec<String>], follows: bool) -> Vec<u8> {
    let mut k = vec![20u8];
    k.extend_from_slice(&[3; 16]);
    for l in lists {
        let s = l.join(",");
        k.extend_from_slice(&(s.len() as u32).to_be_bytes());
        k.extend_from_slice(s.as_bytes());
    }
    k.push(u8::from(follows));
    k.extend_from_slice(&[0, 0, 0, 0]);
    packet(&k)
}

fn ident() -> impl Strategy<Value = (String, String, Option<String>)> {
    (
        prop::sample::select(vec!["2.0", "1.99"]).prop_map(str::to_string),
        "[A-Za-z0-9_.-]{1,30}",
        prop::option::of("[A-Za-z0-9_.+-][A-Za-z0-9_.+ -]{0,20}[A-Za-z0-9_.+-]"),
    )
}

fn banner_line((proto, sw, comment): &(String, String, Option<String>)) -> Vec<u8> {
    let mut s = format!("SSH-{proto}-{sw}");
    if let Some(c) = comment {
        s.push(' ');
        s.push_str(c);
    }
    s.push_str("\r\n");
    s.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Protocol version, software version and comments of both sides, every KEXINIT
    /// list and first_kex_follows of both sides, and the negotiated algorithms (the
    /// client's first choice the server also lists, RFC 4253 §7.1) read back, each
    /// direction split at a random point.
    #[test]
    fn both_sides_round_trip(
        cid in ident(),
        sid in ident(),
        clists in prop::collection::vec(pool_list(), 10),
        slists in prop::collection::vec(pool_list(), 10),
        (cf, sf) in (any::<bool>(), any::<bool>()),
        split in any::<usize>(),
    ) {
        let mut client = banner_line(&cid);
        client.extend(kexinit_full(&clists, cf));
        client.extend(packet(&[21]));
        let mut server = banner_line(&sid);
        server.extend(kexinit_full(&slists, sf));
        server.extend(packet(&[21]));
        let mut p = (DESC.new_parser)(Transport::Tcp);
        let mut out = Vec::new();
        for (i, (d, b)) in [(true, client), (false, server)].iter().enumerate() {
            let dir = if *d { sluice_proto::Direction::ToServer } else { sluice_proto::Direction::ToClient };
            let at = split % (b.len() + 1);
            p.parse(dir, &b[..at], i as i64, &mut out);
            p.parse(dir, &b[at..], i as i64, &mut out);
        }
        p.finish(9, &mut out);
        prop_assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
        let t: Vec<_> = out.iter().filter_map(|o| match o {
            Output::Txn(t) => match &t.record { Record::Ssh(x) => Some(x.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(t.len(), 1);
        let tx = &t[0];
        prop_assert_eq!(tx.version, Some(2));
        prop_assert!(tx.encrypted);
        for (e, (proto, sw, comment), lists, follows) in [
            (tx.client.as_ref(), &cid, &clists, cf),
            (tx.server.as_ref(), &sid, &slists, sf),
        ] {
            let e = e.expect("endpoint");
            prop_assert_eq!(&e.proto_version, proto);
            prop_assert_eq!(&e.software_version, sw);
            prop_assert_eq!(&e.comments, comment);
            prop_assert_eq!(e.pre_banner_lines, 0);
            let k = e.kex.as_ref().expect("kex");
            let got = [
                &k.kex_algorithms, &k.host_key_algorithms,
                &k.encryption_client_to_server, &k.encryption_server_to_client,
                &k.mac_client_to_server, &k.mac_server_to_client,
                &k.compression_client_to_server, &k.compression_server_to_client,
            ];
            for (g, w) in got.iter().zip(lists.iter()) {
                prop_assert_eq!(*g, w);
            }
            prop_assert_eq!(k.first_kex_follows, follows);
            prop_assert!(!k.truncated);
        }
        let pick = |i: usize| clists[i].iter().find(|c| slists[i].contains(c)).cloned();
        let ch = tx.chosen.as_ref().expect("chosen");
        let got = [
            &ch.kex, &ch.host_key,
            &ch.cipher_client_to_server, &ch.cipher_server_to_client,
            &ch.mac_client_to_server, &ch.mac_server_to_client,
            &ch.compression_client_to_server, &ch.compression_server_to_client,
        ];
        for (i, g) in got.iter().enumerate() {
            prop_assert_eq!(*g, &pick(i), "list {}", i);
        }
    }
}
