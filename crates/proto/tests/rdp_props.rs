//! Property tests for the rdp parser: arbitrary bytes in arbitrary chunkings (with
//! TCP gaps) never panic, and the records do not depend on the chunking.
mod remote_support;
mod support;
use proptest::prelude::*;
use sluice_proto::rdp::DESC;
use sluice_proto::{Direction, Transport};

remote_support::robustness_props!(DESC, "rdp");

// ---- X.224 Connection Request / Confirm round trip (issue 6) ----

#[derive(Clone, Debug)]
enum Cookie {
    None,
    User(String),
    Token(String),
}

#[derive(Clone, Debug)]
enum Answer {
    /// No negotiation block (old server): standard RDP security.
    Plain,
    /// RDP_NEG_RSP with the selected protocol.
    Selected(u32),
    /// RDP_NEG_FAILURE with its code.
    Failure(u32),
}

/// MS-RDPBCGR 2.2.1.1.1 protocol flags and names.
const PROTOS: [(u32, &str); 5] = [
    (1, "TLS"),
    (2, "HYBRID"),
    (4, "RDSTLS"),
    (8, "HYBRID_EX"),
    (0x10, "RDSAAD"),
];

/// TPKT + X.224 CR (0xE0) / CC (0xD0) class 0 with a variable part.
fn x224(code: u8, src_ref: u16, var: &[u8]) -> Vec<u8> {
    let mut x = vec![6 + var.len() as u8, code, 0, 0];
    x.extend(src_ref.to_be_bytes());
    x.push(0);
    x.extend_from_slice(var);
    let mut f = vec![3, 0];
    f.extend(((x.len() + 4) as u16).to_be_bytes());
    f.extend(x);
    f
}

fn neg(ty: u8, flags: u8, v: u32) -> Vec<u8> {
    let mut b = vec![ty, flags, 8, 0];
    b.extend(v.to_le_bytes());
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Cookie (mstshash user or routing token), requested protocols, selected
    /// protocol / failure code and the result read back, each frame split at a
    /// random point.
    #[test]
    fn negotiation_round_trip(
        cookie in prop_oneof![
            Just(Cookie::None),
            "[A-Za-z0-9._@-]{1,20}".prop_map(Cookie::User),
            "msts=[0-9]{1,10}\\.[0-9]{1,5}\\.0000".prop_map(Cookie::Token),
        ],
        request in prop::option::of((0u8..16, 0u32..0x20)),
        answer in prop_oneof![
            Just(Answer::Plain),
            prop::sample::select(vec![0u32, 1, 2, 4, 8, 0x10]).prop_map(Answer::Selected),
            (1u32..=6).prop_map(Answer::Failure),
        ],
        refs in any::<(u16, u16)>(),
        split in any::<usize>(),
    ) {
        let mut var = Vec::new();
        match &cookie {
            Cookie::None => {}
            Cookie::User(u) => var.extend(format!("Cookie: mstshash={u}\r\n").into_bytes()),
            Cookie::Token(t) => var.extend(format!("Cookie: {t}\r\n").into_bytes()),
        }
        if let Some((flags, protocols)) = request {
            var.extend(neg(1, flags, protocols));
        }
        let cr = x224(0xe0, refs.0, &var);
        let cc_var = match answer {
            Answer::Plain => Vec::new(),
            Answer::Selected(p) => neg(2, 0x1f, p),
            Answer::Failure(c) => neg(3, 0, c),
        };
        let cc = x224(0xd0, refs.1, &cc_var);
        prop_assert_eq!((DESC.probe)(Direction::ToServer, &cr), sluice_proto::Probe::Match);
        let mut p = (DESC.new_parser)(Transport::Tcp);
        let mut out = Vec::new();
        for (i, (d, b)) in [(Direction::ToServer, cr), (Direction::ToClient, cc)].iter().enumerate() {
            let at = split % (b.len() + 1);
            p.parse(*d, &b[..at], i as i64, &mut out);
            p.parse(*d, &b[at..], i as i64, &mut out);
        }
        p.finish(9, &mut out);
        prop_assert!(remote_support::anomalies(&out).is_empty(), "{:?}", remote_support::anomalies(&out));
        let txns: Vec<_> = out.iter().filter_map(|o| match o {
            sluice_proto::Output::Txn(t) => match &t.record { sluice_proto::Record::Rdp(v) => Some(v.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(txns.len(), 1);
        let t = &txns[0];
        prop_assert_eq!(t.kind, "negotiation");
        match &cookie {
            Cookie::None => prop_assert_eq!((&t.cookie, &t.user, &t.routing_token), (&None, &None, &None)),
            Cookie::User(u) => {
                prop_assert_eq!(t.cookie.as_ref(), Some(u));
                prop_assert_eq!(t.user.as_ref(), Some(u));
                prop_assert_eq!(&t.routing_token, &None);
            }
            Cookie::Token(tok) => {
                prop_assert_eq!((&t.cookie, &t.user), (&None, &None));
                prop_assert_eq!(t.routing_token.as_ref(), Some(tok));
            }
        }
        let want: Vec<&str> = match request {
            None => Vec::new(),
            Some((_, flags)) => std::iter::once("RDP")
                .chain(PROTOS.iter().filter(|(f, _)| flags & f != 0).map(|(_, n)| *n))
                .collect(),
        };
        prop_assert_eq!(&t.requested_protocols, &want);
        match answer {
            Answer::Plain | Answer::Selected(0) => {
                prop_assert_eq!(t.security_protocol, Some("RDP"));
                prop_assert_eq!(t.result, Some("success"));
                prop_assert!(!t.tls);
                prop_assert_eq!(t.failure, None);
            }
            Answer::Selected(sel) => {
                let name = PROTOS.iter().find(|(f, _)| *f == sel).map(|(_, n)| *n);
                prop_assert_eq!(t.security_protocol, name);
                prop_assert_eq!(t.result, Some("encrypted"));
                prop_assert!(t.tls);
                prop_assert_eq!(t.failure, None);
            }
            Answer::Failure(code) => {
                prop_assert_eq!(t.failure, Some(sluice_proto::rdp::parser::failure_name(code)));
                prop_assert_eq!(t.result, Some("failure"));
                prop_assert_eq!(t.security_protocol, None);
                prop_assert!(!t.tls);
            }
        }
        prop_assert!(!t.truncated && t.client.is_none() && t.server.is_none());
    }
}
