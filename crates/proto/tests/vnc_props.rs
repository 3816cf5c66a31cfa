//! Property tests for the vnc parser: arbitrary bytes in arbitrary chunkings (with
//! TCP gaps) never panic, and the records do not depend on the chunking.
mod remote_support;
mod support;
use proptest::prelude::*;
use sluice_proto::vnc::DESC;
use sluice_proto::{Direction, Transport};

remote_support::robustness_props!(DESC, "vnc");

// ---- handshake encode -> parse round trip (issue 6) ----

#[derive(Clone, Debug)]
enum Auth {
    None,
    /// VNC authentication: success, failure reason (3.8).
    Vnc(bool, String),
    /// VeNCrypt Plain: user, password, the other subtypes offered.
    Plain(String, String, Vec<u32>),
}

#[derive(Clone, Debug)]
struct Handshake {
    server_minor: u16,
    client_minor: u16,
    others: Vec<u8>,
    at: prop::sample::Index,
    auth: Auth,
    shared: bool,
    width: u16,
    height: u16,
    bpp: u8,
    depth: u8,
    name: String,
}

fn handshake() -> impl Strategy<Value = Handshake> {
    (
        prop::sample::select(vec![3u16, 7, 8]),
        prop::sample::select(vec![3u16, 7, 8]),
        prop::collection::vec(3u8..=255, 0..8),
        any::<prop::sample::Index>(),
        prop_oneof![
            Just(Auth::None),
            (any::<bool>(), "[ -~]{0,40}").prop_map(|(ok, r)| Auth::Vnc(ok, r)),
            (
                "[A-Za-z0-9._@-]{0,20}",
                "[ -~]{0,20}",
                prop::collection::vec(
                    prop::sample::select(vec![1u32, 2, 257, 258, 259, 260]),
                    0..4
                )
            )
                .prop_map(|(u, p, o)| Auth::Plain(u, p, o)),
        ],
        (
            any::<bool>(),
            any::<u16>(),
            any::<u16>(),
            prop::sample::select(vec![8u8, 16, 32]),
            1u8..=32,
            "[ -~]{0,40}",
        ),
    )
        .prop_map(
            |(
                server_minor,
                client_minor,
                others,
                at,
                auth,
                (shared, width, height, bpp, depth, name),
            )| {
                // VeNCrypt needs a 3.7+ client (the client chooses the type)
                let auth = match auth {
                    Auth::Plain(..) if client_minor < 7 => Auth::None,
                    a => a,
                };
                Handshake {
                    server_minor,
                    client_minor,
                    others,
                    at,
                    auth,
                    shared,
                    width,
                    height,
                    bpp,
                    depth,
                    name,
                }
            },
        )
}

fn u32be(v: u32) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

fn lstr(s: &[u8]) -> Vec<u8> {
    let mut v = u32be(s.len() as u32);
    v.extend_from_slice(s);
    v
}

impl Handshake {
    fn chosen(&self) -> u32 {
        match self.auth {
            Auth::None => 1,
            Auth::Vnc(..) => 2,
            Auth::Plain(..) => 19,
        }
    }

    fn offered(&self) -> Vec<u8> {
        let mut v = self.others.clone();
        v.insert(self.at.index(v.len() + 1), self.chosen() as u8);
        v
    }

    /// Whether the handshake reaches ClientInit / ServerInit.
    fn reaches_init(&self) -> bool {
        match self.auth {
            Auth::None => true,
            Auth::Vnc(ok, _) => ok,
            Auth::Plain(..) => false,
        }
    }

    /// The messages in protocol order.
    fn steps(&self) -> Vec<(Direction, Vec<u8>)> {
        let (s, c) = (Direction::ToClient, Direction::ToServer);
        let m = self.client_minor;
        let mut v = vec![
            (
                s,
                format!("RFB 003.{:03}\n", self.server_minor).into_bytes(),
            ),
            (c, format!("RFB 003.{m:03}\n").into_bytes()),
        ];
        if m < 7 {
            v.push((s, u32be(self.chosen())));
        } else {
            let o = self.offered();
            let mut b = vec![o.len() as u8];
            b.extend(o);
            v.push((s, b));
            v.push((c, vec![self.chosen() as u8]));
        }
        match &self.auth {
            Auth::None => {
                if m >= 8 {
                    v.push((s, u32be(0)));
                }
            }
            Auth::Vnc(ok, reason) => {
                v.push((s, vec![0x5a; 16]));
                v.push((c, vec![0xa5; 16]));
                v.push((s, u32be(u32::from(!ok))));
                if !ok && m >= 8 {
                    v.push((s, lstr(reason.as_bytes())));
                }
            }
            Auth::Plain(user, pass, others) => {
                v.push((s, vec![0, 2]));
                v.push((c, vec![0, 2]));
                let mut subs = others.clone();
                subs.push(256);
                let mut b = vec![0, subs.len() as u8];
                for t in &subs {
                    b.extend(u32be(*t));
                }
                v.push((s, b));
                let mut b = u32be(256);
                b.extend(u32be(user.len() as u32));
                b.extend(u32be(pass.len() as u32));
                b.extend_from_slice(user.as_bytes());
                b.extend_from_slice(pass.as_bytes());
                v.push((c, b));
            }
        }
        if self.reaches_init() {
            v.push((c, vec![u8::from(self.shared)]));
            let mut b = self.width.to_be_bytes().to_vec();
            b.extend(self.height.to_be_bytes());
            b.extend([
                self.bpp, self.depth, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0,
            ]);
            b.extend(lstr(self.name.as_bytes()));
            v.push((s, b));
        }
        v
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Versions, offered and chosen security types, VNC-auth result and failure
    /// reason, VeNCrypt subtypes / Plain user, shared flag and ServerInit fields read
    /// back, each message split at a random point.
    #[test]
    fn handshake_round_trip(h in handshake(), split in any::<usize>()) {
        let mut p = (DESC.new_parser)(Transport::Tcp);
        let mut out = Vec::new();
        for (i, (d, b)) in h.steps().iter().enumerate() {
            let at = split % (b.len() + 1);
            p.parse(*d, &b[..at], i as i64, &mut out);
            p.parse(*d, &b[at..], i as i64, &mut out);
        }
        p.finish(99, &mut out);
        prop_assert!(remote_support::anomalies(&out).is_empty(), "{:?}", remote_support::anomalies(&out));
        let txns: Vec<_> = out.iter().filter_map(|o| match o {
            sluice_proto::Output::Txn(t) => match &t.record { sluice_proto::Record::Vnc(v) => Some(v.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(txns.len(), 1);
        let t = &txns[0];
        let m = h.client_minor;
        prop_assert_eq!(t.kind, "handshake");
        prop_assert_eq!(t.server_version.clone(), Some(format!("003.{:03}", h.server_minor)));
        prop_assert_eq!(t.client_version.clone(), Some(format!("003.{m:03}")));
        let offered: Vec<u32> = if m < 7 { vec![h.chosen()] } else { h.offered().into_iter().map(u32::from).collect() };
        prop_assert_eq!(&t.security_types, &offered);
        let names: Vec<_> = offered.iter().map(|x| sluice_proto::vnc::names::security_type(*x)).collect();
        prop_assert_eq!(&t.security_type_names, &names);
        prop_assert_eq!(t.security_type, Some(h.chosen()));
        prop_assert_eq!(t.security_type_name, Some(sluice_proto::vnc::names::security_type(h.chosen())));
        prop_assert!(!t.tls && !t.truncated);
        match &h.auth {
            Auth::None => {
                prop_assert!(t.auth_none && !t.password_present);
                prop_assert_eq!(t.auth_success, (m >= 8).then_some(true));
                prop_assert_eq!(&t.failure_reason, &None);
            }
            Auth::Vnc(ok, reason) => {
                prop_assert!(!t.auth_none && t.password_present);
                prop_assert_eq!(t.auth_success, Some(*ok));
                prop_assert_eq!(t.failure_reason.clone(), (!ok && m >= 8).then(|| reason.clone()));
            }
            Auth::Plain(user, pass, others) => {
                prop_assert!(!t.auth_none);
                let mut subs = others.clone();
                subs.push(256);
                prop_assert_eq!(&t.vencrypt_subtypes, &subs);
                prop_assert_eq!(t.vencrypt_subtype, Some(256));
                prop_assert_eq!(t.vencrypt_subtype_name, Some("Plain"));
                prop_assert_eq!(t.user.as_ref(), Some(user));
                prop_assert_eq!(t.password_present, !pass.is_empty());
                prop_assert_eq!(t.auth_success, None);
            }
        }
        if h.reaches_init() {
            prop_assert_eq!(t.shared, Some(h.shared));
            prop_assert_eq!((t.width, t.height), (Some(h.width), Some(h.height)));
            prop_assert_eq!((t.bits_per_pixel, t.depth), (Some(h.bpp), Some(h.depth)));
            prop_assert_eq!(t.desktop_name.as_ref(), Some(&h.name));
        } else {
            prop_assert_eq!((t.shared, t.width, &t.desktop_name), (None, None, &None));
        }
    }
}
