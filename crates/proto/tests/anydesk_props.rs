//! Property tests for the anydesk parser: arbitrary bytes in arbitrary chunkings (with
//! TCP gaps) never panic, and the records do not depend on the chunking.
mod remote_support;
mod support;
use proptest::prelude::*;
use sluice_proto::anydesk::DESC;
use sluice_proto::{Direction, Transport};

remote_support::robustness_props!(DESC, "anydesk");

// ---- ClientHello / ServerHello / certificate round trip (issue 6) ----

fn v16(b: &[u8]) -> Vec<u8> {
    let mut v = (b.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

/// A TLS handshake record (record version 3.1).
fn hs_record(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![ty];
    h.extend(&(body.len() as u32).to_be_bytes()[1..]);
    h.extend_from_slice(body);
    let mut r = vec![22, 3, 1];
    r.extend(v16(&h));
    r
}

#[derive(Clone, Debug)]
struct Hs {
    sni: Option<String>,
    /// Other extensions (type, data) placed before the SNI.
    before: Vec<(u16, Vec<u8>)>,
    session_id: Vec<u8>,
    ciphers: Vec<u16>,
    version: u16,
    cert: Option<bool>,
}

fn hs() -> impl Strategy<Value = Hs> {
    (
        prop::option::of(prop_oneof![
            "[a-z0-9-]{1,12}(\\.[a-z0-9-]{1,10}){0,3}",
            "[a-z0-9-]{0,6}anydesk[a-z0-9-]{0,6}\\.[a-z]{2,3}",
        ]),
        prop::collection::vec(
            (1u16..0xffff, prop::collection::vec(any::<u8>(), 0..20)),
            0..5,
        ),
        prop::collection::vec(any::<u8>(), 0..=32),
        prop::collection::vec(any::<u16>(), 1..20),
        prop::sample::select(vec![
            0x0300u16, 0x0301, 0x0302, 0x0303, 0x0304, 0x7f1c, 0x0a0a,
        ]),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(sni, before, session_id, ciphers, version, cert)| Hs {
            sni,
            before,
            session_id,
            ciphers,
            version,
            cert,
        })
}

impl Hs {
    fn client(&self) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend([7; 32]);
        b.push(self.session_id.len() as u8);
        b.extend(&self.session_id);
        let cs: Vec<u8> = self.ciphers.iter().flat_map(|c| c.to_be_bytes()).collect();
        b.extend(v16(&cs));
        b.extend([1, 0]);
        let mut e = Vec::new();
        for (t, d) in &self.before {
            e.extend(t.to_be_bytes());
            e.extend(v16(d));
        }
        if let Some(s) = &self.sni {
            let mut l = vec![0];
            l.extend(v16(s.as_bytes()));
            e.extend(0u16.to_be_bytes());
            e.extend(v16(&v16(&l)));
        }
        b.extend(v16(&e));
        hs_record(1, &b)
    }

    fn server(&self) -> Vec<u8> {
        let mut b = self.version.to_be_bytes().to_vec();
        b.extend([9; 32]);
        b.push(0);
        b.extend(self.ciphers[0].to_be_bytes());
        b.push(0);
        let mut out = hs_record(2, &b);
        if let Some(anydesk) = self.cert {
            let cn: &[u8] = if anydesk {
                b"CN=AnyDesk Client"
            } else {
                b"CN=example host"
            };
            let mut c = vec![0x30, 0x82, 0x01, 0x00];
            c.extend_from_slice(cn);
            c.extend([0x55; 40]);
            out.extend(hs_record(11, &c));
        }
        out.extend([20, 3, 3, 0, 1, 1]);
        out
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// SNI (after other extensions), the ServerHello version, the certificate naming
    /// AnyDesk and the detection method read back, each direction split at a random point.
    #[test]
    fn handshake_round_trip(h in hs(), split in any::<usize>()) {
        let c = h.client();
        let anydesk_sni = h.sni.as_ref().is_some_and(|s| s.contains("anydesk"));
        let want_probe = if h.sni.is_none() || anydesk_sni { sluice_proto::Probe::Match } else { sluice_proto::Probe::NoMatch };
        prop_assert_eq!((DESC.probe)(Direction::ToServer, &c), want_probe);
        let mut p = (DESC.new_parser)(Transport::Tcp);
        let mut out = Vec::new();
        for (i, (d, b)) in [(Direction::ToServer, c), (Direction::ToClient, h.server())].iter().enumerate() {
            let at = split % (b.len() + 1);
            p.parse(*d, &b[..at], i as i64, &mut out);
            p.parse(*d, &b[at..], i as i64, &mut out);
        }
        p.finish(99, &mut out);
        let t: Vec<_> = out.iter().filter_map(|o| match o {
            sluice_proto::Output::Txn(t) => match &t.record { sluice_proto::Record::Anydesk(v) => Some(v.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(t.len(), 1);
        let x = &t[0];
        prop_assert_eq!(&x.sni, &h.sni);
        let version = match h.version {
            0x0300 => Some("SSL 3.0"),
            0x0301 => Some("TLS 1.0"),
            0x0302 => Some("TLS 1.1"),
            0x0303 => Some("TLS 1.2"),
            0x0304 => Some("TLS 1.3"),
            _ => None,
        };
        prop_assert_eq!(x.tls_version, version);
        let cert = h.cert == Some(true);
        prop_assert_eq!(x.certificate_anydesk, cert);
        let by = if cert { "certificate" } else if anydesk_sni { "sni" } else { "port" };
        prop_assert_eq!(x.detected_by, by);
    }
}
