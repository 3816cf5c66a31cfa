//! Encode → parse round trips (issue 6), every message split at a random point:
//! RDP MCS Connect-Initial / Response after the X.224 exchange, SMB2 SESSION_SETUP
//! carrying an NTLMSSP AUTHENTICATE in SPNEGO, DNS responses with authority and
//! additional sections, EDNS OPT and name compression, and a TLS Certificate message
//! whose DER certificates are built here.
use proptest::prelude::*;
use sluice_proto::{dns, rdp, smb, tls};
use sluice_proto::{Direction, Output, ProtocolDesc, Record, Transport};

/// Feeds each message split at `split % (len + 1)`, then finishes.
fn feed(
    desc: &ProtocolDesc,
    tr: Transport,
    msgs: &[(Direction, Vec<u8>)],
    split: usize,
) -> Vec<Output> {
    let mut p = (desc.new_parser)(tr);
    let mut out = Vec::new();
    for (i, (d, b)) in msgs.iter().enumerate() {
        if tr == Transport::Udp {
            p.parse(*d, b, i as i64, &mut out);
            continue;
        }
        let at = split % (b.len() + 1);
        p.parse(*d, &b[..at], i as i64, &mut out);
        p.parse(*d, &b[at..], i as i64, &mut out);
    }
    p.finish(99, &mut out);
    out
}

fn le16(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

fn le32(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A DER / BER element with a definite length (short or long form).
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend([0x81, n as u8]);
    } else {
        v.extend([0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(content);
    v
}

// ------------------------------------------------------------------ RDP

/// TPKT + X.224 CR (0xE0) / CC (0xD0) class 0 with a variable part.
fn x224(code: u8, var: &[u8]) -> Vec<u8> {
    let mut x = vec![6 + var.len() as u8, code, 0, 0, 0x12, 0x34, 0];
    x.extend_from_slice(var);
    let mut f = vec![3, 0];
    f.extend(((x.len() + 4) as u16).to_be_bytes());
    f.extend(x);
    f
}

/// TPKT + X.224 DT around `payload`.
fn x224_dt(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![3, 0, 0, 0, 2, 0xf0, 0x80];
    f.extend_from_slice(payload);
    let n = f.len() as u16;
    f[2..4].copy_from_slice(&n.to_be_bytes());
    f
}

/// PER length (1 or 2 octets).
fn per_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else {
        vec![0x80 | (n >> 8) as u8, n as u8]
    }
}

/// MCS DomainParameters (T.125) with typical values.
fn domain_params(max_channels: u8) -> Vec<u8> {
    let mut p = Vec::new();
    for v in [max_channels, 2, 0, 1, 0, 1] {
        p.extend(der(0x02, &[v]));
    }
    p.extend(der(0x02, &[0xff, 0xff]));
    p.extend(der(0x02, &[2]));
    der(0x30, &p)
}

#[derive(Clone, Debug)]
struct Core {
    version: u32,
    width: u16,
    height: u16,
    keyboard: u32,
    build: u32,
    name: String,
    depth: u16,
    channels: Vec<String>,
}

/// CS_CORE (216 octets), CS_SECURITY and CS_NET user data blocks.
fn client_blocks(c: &Core) -> Vec<u8> {
    let mut core = Vec::new();
    core.extend(le16(0xC001));
    core.extend(le16(216));
    core.extend(le32(c.version));
    core.extend(le16(c.width));
    core.extend(le16(c.height));
    core.extend(le16(0xCA01));
    core.extend(le16(0xAA03));
    core.extend(le32(c.keyboard));
    core.extend(le32(c.build));
    let mut name = utf16le(&c.name);
    name.resize(32, 0);
    core.extend(name);
    core.extend(le32(4));
    core.extend(le32(0));
    core.extend(le32(12));
    core.extend([0u8; 64]);
    core.extend(le16(0xCA01));
    core.extend(le16(1));
    core.extend(le32(0));
    core.extend(le16(c.depth));
    core.extend(le16(0x0f));
    core.extend(le16(0x0001));
    core.extend([0u8; 64]);
    core.push(0);
    core.push(0);
    core.extend(le32(0));
    assert_eq!(core.len(), 216);
    let mut sec = Vec::new();
    sec.extend(le16(0xC002));
    sec.extend(le16(12));
    sec.extend(le32(0x1b));
    sec.extend(le32(0));
    let mut net = Vec::new();
    net.extend(le16(0xC003));
    net.extend(le16((8 + 12 * c.channels.len()) as u16));
    net.extend(le32(c.channels.len() as u32));
    for ch in &c.channels {
        let mut n = ch.as_bytes().to_vec();
        n.resize(8, 0);
        net.extend(n);
        net.extend(le32(0x8080_0000));
    }
    [core, sec, net].concat()
}

/// MCS Connect-Initial (BER, application 101) holding a GCC Conference Create
/// Request (PER) with the client data blocks.
fn connect_initial(c: &Core) -> Vec<u8> {
    let blocks = client_blocks(c);
    let mut ccr = vec![0x00, 0x08, 0x00, 0x10, 0x00, 0x01, 0xc0, 0x00];
    ccr.extend(b"Duca");
    ccr.extend(per_len(blocks.len()));
    ccr.extend(blocks);
    let mut gcc = vec![0x00, 0x05, 0x00, 0x14, 0x7c, 0x00, 0x01];
    gcc.extend(per_len(ccr.len()));
    gcc.extend(ccr);
    let mut body = der(0x04, &[1]);
    body.extend(der(0x04, &[1]));
    body.extend(der(0x01, &[0xff]));
    body.extend(domain_params(34));
    body.extend(domain_params(1));
    body.extend(domain_params(0xff));
    body.extend(der(0x04, &gcc));
    let mut ci = vec![0x7f, 0x65];
    ci.extend(&der(0, &body)[1..]);
    x224_dt(&ci)
}

/// MCS Connect-Response with SC_CORE and SC_SECURITY (no encryption).
fn connect_response(version: u32) -> Vec<u8> {
    let mut blocks = Vec::new();
    blocks.extend(le16(0x0C01));
    blocks.extend(le16(12));
    blocks.extend(le32(version));
    blocks.extend(le32(0));
    blocks.extend(le16(0x0C02));
    blocks.extend(le16(12));
    blocks.extend(le32(0));
    blocks.extend(le32(0));
    let mut ccr = vec![
        0x00, 0x05, 0x00, 0x14, 0x7c, 0x00, 0x01, 0x2a, 0x14, 0x76, 0x0a,
    ];
    ccr.extend([0x01, 0x01, 0x00, 0x01, 0xc0, 0x00]);
    ccr.extend(b"McDn");
    ccr.extend(per_len(blocks.len()));
    ccr.extend(blocks);
    let mut body = der(0x0a, &[0]);
    body.extend(der(0x02, &[0]));
    body.extend(domain_params(34));
    body.extend(der(0x04, &ccr));
    let mut cr = vec![0x7f, 0x66];
    cr.extend(&der(0, &body)[1..]);
    x224_dt(&cr)
}

fn rdp_core() -> impl Strategy<Value = Core> {
    (
        prop::sample::select(vec![0x0008_0001u32, 0x0008_0004, 0x0008_0005, 0x0008_000c]),
        (200u16..8192, 200u16..8192),
        prop::sample::select(vec![0x409u32, 0x407, 0x40c, 0x809]),
        1000u32..30_000,
        "[A-Za-z0-9-]{1,15}",
        prop::sample::select(vec![8u16, 15, 16, 24]),
        prop::collection::vec("[a-z]{1,7}", 0..5),
    )
        .prop_map(
            |(version, (width, height), keyboard, build, name, depth, channels)| Core {
                version,
                width,
                height,
                keyboard,
                build,
                name,
                depth,
                channels,
            },
        )
}

// ------------------------------------------------------------------ SMB2

/// NetBIOS session message holding one SMB2 message (64-byte header + body).
fn smb2(status: u32, cmd: u16, response: bool, mid: u64, session: u64, body: &[u8]) -> Vec<u8> {
    let mut h = vec![0xfe, b'S', b'M', b'B'];
    h.extend(le16(64));
    h.extend(le16(0));
    h.extend(le32(status));
    h.extend(le16(cmd));
    h.extend(le16(1));
    h.extend(le32(u32::from(response)));
    h.extend(le32(0));
    h.extend(mid.to_le_bytes());
    h.extend(le32(0));
    h.extend(le32(0));
    h.extend(session.to_le_bytes());
    h.extend([0u8; 16]);
    h.extend_from_slice(body);
    let mut m = vec![0, 0, 0, 0];
    m[1..].copy_from_slice(&(h.len() as u32).to_be_bytes()[1..]);
    m.extend(h);
    m
}

/// NTLMSSP AUTHENTICATE (MS-NLMP 2.2.1.3) with version and MIC, payload after them.
fn ntlm_authenticate(user: &str, domain: &str, ws: &str, unicode: bool) -> Vec<u8> {
    let enc = |s: &str| {
        if unicode {
            utf16le(s)
        } else {
            s.as_bytes().to_vec()
        }
    };
    let lm = vec![0u8; 24];
    let nt = vec![0x5a; 48];
    let key = vec![0x33; 16];
    let fields = [lm, nt, enc(domain), enc(user), enc(ws), key];
    let mut head = b"NTLMSSP\0".to_vec();
    head.extend(le32(3));
    let mut payload: Vec<u8> = Vec::new();
    let mut off = 88u32;
    let mut descs = Vec::new();
    for f in &fields {
        descs.extend(le16(f.len() as u16));
        descs.extend(le16(f.len() as u16));
        descs.extend(le32(off));
        off += f.len() as u32;
        payload.extend(f);
    }
    head.extend(descs);
    let flags = 0x0200_0000 | 0x0008_0000 | 0x200 | u32::from(unicode);
    head.extend(le32(flags));
    head.extend([10, 0]);
    head.extend(le16(19041));
    head.extend([0, 0, 0, 15]);
    head.extend([0u8; 16]);
    assert_eq!(head.len(), 88);
    head.extend(payload);
    head
}

/// SPNEGO NegTokenResp carrying `token` as its responseToken.
fn spnego_resp(token: &[u8]) -> Vec<u8> {
    der(0xa1, &der(0x30, &der(0xa2, &der(0x04, token))))
}

// ------------------------------------------------------------------ DNS

fn put_name(m: &mut Vec<u8>, labels: &[String]) {
    for l in labels {
        m.push(l.len() as u8);
        m.extend(l.as_bytes());
    }
    m.push(0);
}

fn label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}"
}

#[derive(Clone, Debug)]
struct Edns {
    udp: u16,
    ext_rcode: u8,
    version: u8,
    dnssec_ok: bool,
}

fn opt_record(m: &mut Vec<u8>, e: &Edns) {
    m.push(0);
    m.extend(41u16.to_be_bytes());
    m.extend(e.udp.to_be_bytes());
    m.push(e.ext_rcode);
    m.push(e.version);
    m.extend(if e.dnssec_ok { [0x80, 0] } else { [0, 0] });
    m.extend(0u16.to_be_bytes());
}

fn edns() -> impl Strategy<Value = Edns> {
    (512u16.., 0u8..2, 0u8..2, any::<bool>()).prop_map(|(udp, ext_rcode, version, dnssec_ok)| {
        Edns {
            udp,
            ext_rcode,
            version,
            dnssec_ok,
        }
    })
}

// ------------------------------------------------------------------ X.509

fn oid(arcs: &[u8]) -> Vec<u8> {
    der(0x06, arcs)
}

fn name(cn: &str, org: &str) -> Vec<u8> {
    let rdn = |attr: u8, v: &str| {
        der(
            0x31,
            &der(
                0x30,
                &[oid(&[0x55, 0x04, attr]), der(0x0c, v.as_bytes())].concat(),
            ),
        )
    };
    der(0x30, &[rdn(10, org), rdn(3, cn)].concat())
}

/// Civil date of a day count since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// UTCTime for 1950..=2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5).
fn time(t: i64) -> Vec<u8> {
    let (y, mo, d) = civil(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    let (h, mi, se) = (s / 3600, s / 60 % 60, s % 60);
    if (1950..2050).contains(&y) {
        der(
            0x17,
            format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{se:02}Z", y % 100).as_bytes(),
        )
    } else {
        der(
            0x18,
            format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{se:02}Z").as_bytes(),
        )
    }
}

/// A v3 certificate with an EC P-256 key and an ECDSA-SHA256 signature (not valid
/// cryptographically: the parser does not verify signatures).
fn certificate(serial: u32, subject: &str, issuer: &str, nb: i64, na: i64) -> Vec<u8> {
    let ecdsa_sha256 = der(
        0x30,
        &oid(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
    );
    let mut key = vec![0, 4];
    key.extend([0x11; 64]);
    let spki = der(
        0x30,
        &[
            der(
                0x30,
                &[
                    oid(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
                    oid(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
                ]
                .concat(),
            ),
            der(0x03, &key),
        ]
        .concat(),
    );
    let serial_bytes = der_uint(serial);
    let tbs = der(
        0x30,
        &[
            der(0xa0, &der(0x02, &[2])),
            der(0x02, &serial_bytes),
            ecdsa_sha256.clone(),
            name(issuer, "Issuer Org"),
            der(0x30, &[time(nb), time(na)].concat()),
            name(subject, "Plant"),
            spki,
        ]
        .concat(),
    );
    let mut sig = vec![0];
    sig.extend(der(
        0x30,
        &[der(0x02, &[1; 32]), der(0x02, &[2; 32])].concat(),
    ));
    der(0x30, &[tbs, ecdsa_sha256, der(0x03, &sig)].concat())
}

/// Minimal DER INTEGER contents of an unsigned value.
fn der_uint(v: u32) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take(3).take_while(|&&x| x == 0).count();
    let mut out = Vec::new();
    if b[skip] & 0x80 != 0 {
        out.push(0);
    }
    out.extend(&b[skip..]);
    out
}

fn tls_record(body: &[u8]) -> Vec<u8> {
    let mut r = vec![22, 3, 3];
    r.extend((body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake(t: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let mut h = vec![t, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    h.extend_from_slice(body);
    h
}

fn u24(n: usize) -> [u8; 3] {
    [(n >> 16) as u8, (n >> 8) as u8, n as u8]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// X.224 negotiation (standard RDP security selected) then MCS Connect-Initial
    /// and Response: version, desktop size, keyboard, build, client name, colour
    /// depth, channels, the requested protocols, the server's encryption read back.
    #[test]
    fn rdp_mcs_connect_round_trip(
        core in rdp_core(),
        requested in prop::option::of(0u32..0x20),
        server_version in prop::sample::select(vec![0x0008_0001u32, 0x0008_0004]),
        split in any::<usize>(),
    ) {
        let mut var = b"Cookie: mstshash=op\r\n".to_vec();
        if let Some(p) = requested {
            var.extend([1, 0, 8, 0]);
            var.extend(le32(p));
        }
        let cr = x224(0xe0, &var);
        let cc = x224(0xd0, &[2, 0, 8, 0, 0, 0, 0, 0]);
        let msgs = [
            (Direction::ToServer, cr),
            (Direction::ToClient, cc),
            (Direction::ToServer, connect_initial(&core)),
            (Direction::ToClient, connect_response(server_version)),
        ];
        let out = feed(&rdp::DESC, Transport::Tcp, &msgs, split);
        prop_assert!(support::anomaly_kinds(&out).is_empty(), "{:?}", support::anomaly_kinds(&out));
        let txns: Vec<_> = out.iter().filter_map(|o| match o {
            Output::Txn(t) => match &t.record { Record::Rdp(r) => Some(r.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(txns.len(), 2);
        let t = &txns[1];
        prop_assert_eq!(t.kind, "mcs_connect");
        prop_assert_eq!(t.security_protocol, Some("RDP"));
        prop_assert_eq!(t.result, Some("success"));
        let want: Vec<&str> = match requested {
            None => Vec::new(),
            Some(f) => std::iter::once("RDP")
                .chain([(1, "TLS"), (2, "HYBRID"), (4, "RDSTLS"), (8, "HYBRID_EX"), (0x10, "RDSAAD")]
                    .into_iter()
                    .filter(|(b, _)| f & b != 0)
                    .map(|(_, n)| n))
                .collect(),
        };
        prop_assert_eq!(&t.requested_protocols, &want);
        let c = t.client.as_ref().expect("client data");
        prop_assert_eq!(c.version.clone(), rdp::parser::client_version_name(core.version));
        prop_assert!(c.version.is_some());
        prop_assert_eq!((c.desktop_width, c.desktop_height), (Some(core.width), Some(core.height)));
        prop_assert_eq!(c.keyboard_layout, Some(core.keyboard));
        prop_assert_eq!(c.build, Some(core.build));
        prop_assert_eq!(c.name.as_ref(), Some(&core.name));
        prop_assert_eq!(c.color_depth, Some(core.depth));
        prop_assert_eq!(&c.channels, &core.channels);
        let s = t.server.as_ref().expect("server data");
        prop_assert_eq!(s.encryption_method, Some(rdp::parser::encryption_method_name(0)));
        prop_assert_eq!(s.encryption_level, Some(rdp::parser::encryption_level_name(0)));
    }

    /// SESSION_SETUP request with an NTLMSSP AUTHENTICATE in SPNEGO and its success
    /// response: user, domain, workstation (Unicode or OEM), mechanism, session id
    /// and login result read back.
    #[test]
    fn smb2_session_setup_ntlm_round_trip(
        user in "[A-Za-z0-9._-]{1,20}",
        domain in "[A-Z0-9-]{1,15}",
        ws in "[A-Z0-9-]{1,15}",
        unicode in any::<bool>(),
        (session, mid) in (1u64.., 1u64..1000),
        split in any::<usize>(),
    ) {
        let blob = spnego_resp(&ntlm_authenticate(&user, &domain, &ws, unicode));
        // structure 25, flags, security mode, capabilities, channel, buffer offset /
        // length, previous session id, buffer
        let mut b = le16(25).to_vec();
        b.push(0);
        b.push(1);
        b.extend(le32(1));
        b.extend(le32(0));
        b.extend(le16(64 + 24));
        b.extend(le16(blob.len() as u16));
        b.extend(0u64.to_le_bytes());
        b.extend(&blob);
        let req = smb2(0, 1, false, mid, session, &b);
        // structure 9, session flags, buffer offset / length (an empty accept)
        let accept = der(0xa1, &der(0x30, &der(0xa0, &[0x0a, 1, 0])));
        let mut b = le16(9).to_vec();
        b.extend(le16(0));
        b.extend(le16(64 + 8));
        b.extend(le16(accept.len() as u16));
        b.extend(&accept);
        let rsp = smb2(0, 1, true, mid, session, &b);
        let out = feed(&smb::DESC, Transport::Tcp, &[(Direction::ToServer, req), (Direction::ToClient, rsp)], split);
        prop_assert!(support::anomaly_kinds(&out).is_empty(), "{:?}", support::anomaly_kinds(&out));
        let txns: Vec<_> = out.iter().filter_map(|o| match o {
            Output::Txn(t) => match &t.record { Record::Smb(r) => Some(r.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(txns.len(), 1);
        let t = &txns[0];
        prop_assert_eq!(t.command, 1);
        prop_assert_eq!(t.session_id, Some(session));
        prop_assert_eq!(t.login_success, Some(true));
        prop_assert_eq!(t.user.as_ref(), Some(&user));
        let a = t.auth.as_ref().expect("auth");
        prop_assert_eq!(a.mechanism, Some("ntlmssp"));
        prop_assert_eq!(a.ntlm_message, Some("authenticate"));
        prop_assert_eq!(a.domain.as_ref(), Some(&domain));
        prop_assert_eq!(a.workstation.as_ref(), Some(&ws));
        prop_assert!(!a.anonymous);
    }

    /// A query with EDNS and a response with answers (owner compressed to the
    /// question), NS records in the authority section (target names compressed to
    /// the zone), glue A records in the additional section (owners compressed to
    /// the NS targets) and an OPT record: every section, the EDNS fields and the
    /// extended rcode read back over UDP and over TCP split at a random point.
    #[test]
    fn dns_sections_edns_compression_round_trip(
        id in any::<u16>(),
        zone in prop::collection::vec(label(), 1..3),
        host in label(),
        answers in prop::collection::vec(any::<[u8; 4]>(), 0..4),
        servers in prop::collection::vec((label(), any::<[u8; 4]>()), 1..4),
        (q_edns, r_edns) in (prop::option::of(edns()), prop::option::of(edns())),
        rcode in prop::sample::select(vec![0u8, 2, 3]),
        tcp in any::<bool>(),
        split in any::<usize>(),
    ) {
        let qname: Vec<String> = std::iter::once(host.clone()).chain(zone.iter().cloned()).collect();
        // query
        let mut q = id.to_be_bytes().to_vec();
        q.extend([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(q_edns.is_some())]);
        put_name(&mut q, &qname);
        q.extend([0, 1, 0, 1]);
        if let Some(e) = &q_edns {
            opt_record(&mut q, e);
        }
        // response
        let mut r = id.to_be_bytes().to_vec();
        r.extend([0x81, 0x80 | rcode]);
        r.extend(1u16.to_be_bytes());
        r.extend((answers.len() as u16).to_be_bytes());
        r.extend((servers.len() as u16).to_be_bytes());
        r.extend(((servers.len() + usize::from(r_edns.is_some())) as u16).to_be_bytes());
        put_name(&mut r, &qname);
        r.extend([0, 1, 0, 1]);
        // the zone's offset: after the host label of the question name
        let zone_ptr = (12 + 1 + host.len()) as u16 | 0xc000;
        for a in &answers {
            r.extend([0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
            r.extend(a);
        }
        let mut targets = Vec::new();
        for (ns, _) in &servers {
            r.extend(zone_ptr.to_be_bytes());
            r.extend([0, 2, 0, 1, 0, 1, 0x51, 0x80]);
            let rdlen = 1 + ns.len() + 2;
            r.extend((rdlen as u16).to_be_bytes());
            targets.push(r.len() as u16 | 0xc000);
            r.push(ns.len() as u8);
            r.extend(ns.as_bytes());
            r.extend(zone_ptr.to_be_bytes());
        }
        for ((_, ip), ptr) in servers.iter().zip(&targets) {
            r.extend(ptr.to_be_bytes());
            r.extend([0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
            r.extend(ip);
        }
        if let Some(e) = &r_edns {
            opt_record(&mut r, e);
        }
        let (tr, msgs) = if tcp {
            let frame = |m: &[u8]| [&(m.len() as u16).to_be_bytes()[..], m].concat();
            (Transport::Tcp, vec![(Direction::ToServer, frame(&q)), (Direction::ToClient, frame(&r))])
        } else {
            (Transport::Udp, vec![(Direction::ToServer, q), (Direction::ToClient, r)])
        };
        let out = feed(&dns::DESC, tr, &msgs, split);
        prop_assert!(support::anomaly_kinds(&out).is_empty(), "{:?}", support::anomaly_kinds(&out));
        let txns: Vec<_> = out.iter().filter_map(|o| match o {
            Output::Txn(t) => match &t.record { Record::Dns(r) => Some(r.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(txns.len(), 1);
        let t = &txns[0];
        let qn = qname.join(".");
        let zn = zone.join(".");
        prop_assert_eq!(t.query.as_ref(), Some(&qn));
        prop_assert!(t.request && t.response);
        prop_assert_eq!(t.answers.len(), answers.len());
        for (a, ip) in t.answers.iter().zip(&answers) {
            prop_assert_eq!(&a.name, &qn);
            prop_assert_eq!(a.data.clone(), Some(std::net::Ipv4Addr::from(*ip).to_string()));
            prop_assert_eq!(a.ttl, 3600);
        }
        prop_assert_eq!(t.authorities.len(), servers.len());
        prop_assert_eq!(t.additionals.len(), servers.len() + usize::from(r_edns.is_some()));
        for (i, (ns, ip)) in servers.iter().enumerate() {
            let target = format!("{ns}.{zn}");
            let auth = &t.authorities[i];
            prop_assert_eq!((&auth.name, auth.rtype, auth.ttl), (&zn, 2, 86_400));
            prop_assert_eq!(auth.data.as_ref(), Some(&target));
            let glue = &t.additionals[i];
            prop_assert_eq!((&glue.name, glue.rtype), (&target, 1));
            prop_assert_eq!(glue.data.clone(), Some(std::net::Ipv4Addr::from(*ip).to_string()));
        }
        let want = |e: &Option<Edns>| e.as_ref().map(|e| dns::record::Edns {
            udp_size: e.udp,
            extended_rcode: e.ext_rcode,
            version: e.version,
            dnssec_ok: e.dnssec_ok,
        });
        prop_assert_eq!(t.edns, want(&q_edns));
        prop_assert_eq!(t.response_edns, want(&r_edns));
        let full = u16::from(r_edns.as_ref().map_or(0, |e| e.ext_rcode)) << 4 | u16::from(rcode);
        prop_assert_eq!(t.rcode, Some(full));
        prop_assert_eq!(t.rcode_name, Some(dns::names::rcode_name(full)));
    }

    /// ClientHello, ServerHello and a Certificate message with 1-3 DER certificates
    /// built here: subject CN, issuer CN, serial, validity (UTCTime or
    /// GeneralizedTime) read back for each, the leaf CN as the server's identity.
    #[test]
    fn tls_certificate_round_trip(
        chain in prop::collection::vec(
            ("[A-Za-z0-9.-]{1,30}", "[A-Za-z0-9.-]{1,30}", any::<u32>(), -631_152_000i64..4_102_444_800, 0i64..400_000_000),
            1..4,
        ),
        split in any::<usize>(),
    ) {
        let mut ch = vec![3, 3];
        ch.extend([7u8; 32]);
        ch.push(0);
        ch.extend([0, 2, 0xc0, 0x2f, 1, 0]);
        let mut sh = vec![3, 3];
        sh.extend([9u8; 32]);
        sh.extend([0, 0xc0, 0x2f, 0]);
        let ders: Vec<Vec<u8>> = chain
            .iter()
            .map(|(s, i, serial, nb, span)| certificate(*serial, s, i, *nb, nb + span))
            .collect();
        let mut list = Vec::new();
        for d in &ders {
            list.extend(u24(d.len()));
            list.extend(d);
        }
        let mut cert = u24(list.len()).to_vec();
        cert.extend(list);
        let mut server = handshake(2, &sh);
        server.extend(handshake(11, &cert));
        server.extend(handshake(14, &[]));
        let msgs = [
            (Direction::ToServer, tls_record(&handshake(1, &ch))),
            (Direction::ToClient, tls_record(&server)),
        ];
        let out = feed(&tls::DESC, Transport::Tcp, &msgs, split);
        prop_assert!(support::anomaly_kinds(&out).is_empty(), "{:?}", support::anomaly_kinds(&out));
        let txns: Vec<_> = out.iter().filter_map(|o| match o {
            Output::Txn(t) => match &t.record { Record::Tls(r) => Some(r.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(txns.len(), 1);
        let t = &txns[0];
        prop_assert_eq!(t.certificates.len(), chain.len());
        for (c, (s, i, serial, nb, span)) in t.certificates.iter().zip(&chain) {
            prop_assert_eq!(c.version, 3);
            prop_assert_eq!(c.common_name.as_ref(), Some(s));
            prop_assert_eq!(&c.subject, &format!("CN={s},O=Plant"));
            prop_assert_eq!(&c.issuer, &format!("CN={i},O=Issuer Org"));
            let bytes = serial.to_be_bytes();
            let skip = bytes.iter().take(3).take_while(|&&x| x == 0).count();
            let hex: String = bytes[skip..].iter().map(|b| format!("{b:02X}")).collect();
            prop_assert_eq!(&c.serial, &hex);
            prop_assert_eq!((c.not_before, c.not_after), (*nb, nb + span));
        }
        let identity = out.iter().find_map(|o| match o {
            Output::Identity(id) if id.source == "tls.certificate" => id.name.clone(),
            _ => None,
        });
        prop_assert_eq!(identity.as_ref(), Some(&chain[0].0));
    }
}

/// The EDNS of the one real capture with OPT records agrees with tshark
/// (`dns.rr.udp_payload_size` 4096 on frame 1, the query, and 512 on frame 2, the
/// response; `dns.resp.ext_rcode` 0, `dns.resp.edns0_version` 0, `dns.resp.z.do` 0 on
/// both).
#[test]
fn edns_on_a_real_capture_matches_tshark() {
    let Some(p) = support::pcap("dns/dns-sv-nxdomain-soa.pcap") else {
        return;
    };
    let txs: Vec<dns::Transaction> = support::run(&dns::DESC, &p)
        .into_iter()
        .flat_map(|(_, out)| out)
        .filter_map(|o| match o {
            Output::Txn(t) => match t.record {
                Record::Dns(d) => Some(*d),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let with: Vec<_> = txs.iter().filter_map(|t| t.edns).collect();
    assert_eq!(
        with,
        vec![dns::record::Edns {
            udp_size: 4096,
            extended_rcode: 0,
            version: 0,
            dnssec_ok: false
        }],
        "{txs:?}"
    );
    let resp: Vec<_> = txs.iter().filter_map(|t| t.response_edns).collect();
    assert_eq!(
        resp,
        vec![dns::record::Edns {
            udp_size: 512,
            extended_rcode: 0,
            version: 0,
            dnssec_ok: false
        }],
        "{txs:?}"
    );
    assert_eq!(txs.first().and_then(|t| t.rcode), Some(3));
}

mod support;
