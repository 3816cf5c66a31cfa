//! TLS over TCP: record layer, ClientHello (versions, cipher suites, extensions, SNI,
//! ALPN, groups, signature algorithms, point formats) with JA3 and JA4
//! fingerprints, ServerHello (version, cipher, ALPN, JA3S), the server's
//! certificate chain in clear (TLS ≤ 1.2: subject, issuer, validity, SANs), the
//! ECDHE curve, cleartext alerts. The leaf certificate's common name is the
//! server's identity (`tls.certificate`).
//!
//! - [`parser`]: pure decoding of records and handshake messages.
//! - [`fingerprint`]: JA3, JA3S, JA4, MD5 / SHA-256 hex.
//! - [`cert`]: X.509 summaries.
//! - [`state`]: record framing, handshake reassembly, the transaction.
//! - [`record`]: the event record [`Transaction`].
//! - [`names`]: version, cipher suite, group and alert names.
//!
//! `function_code` stays unset.
//!
//! Anomaly kinds: `bad_content_type`, `bad_record_version`, `record_too_long` (a
//! record declaring more than 2^14 + 2048 octets: skipped, parsing goes on),
//! `truncated_message`, `bad_length` (an inner length, e.g. the certificate list,
//! past its message), `handshake_too_long` (a handshake message declaring more than
//! [`state::MAX_HANDSHAKE`]: skipped, parsing goes on), `bad_certificate`,
//! `heartbeat_overflow`, `gap`, `not_tls`.
use crate::{Direction, Parser, Probe, ProtocolDesc, Transport};

pub mod cert;
pub mod fingerprint;
pub mod names;
pub mod parser;
pub mod record;
pub mod state;

pub use cert::Certificate;
pub use record::{Alert, Client, Server, Transaction};
pub use state::TlsParser;

/// Content probe: a handshake record (`16 03 0x`, x ≤ 4, sane length) carrying a
/// ClientHello (to the server) or a ServerHello (to the client) whose length fits
/// the record.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    let want = match dir {
        Direction::ToServer => parser::HS_CLIENT_HELLO,
        Direction::ToClient => parser::HS_SERVER_HELLO,
    };
    // content type 22, major version 3, minor version 0..=4
    for (i, ok) in [(0usize, parser::CT_HANDSHAKE), (1, 3)] {
        match data.get(i) {
            None => return Probe::NeedMore,
            Some(&b) if b != ok => return Probe::NoMatch,
            _ => {}
        }
    }
    match data.get(2) {
        None => return Probe::NeedMore,
        Some(&b) if b > 4 => return Probe::NoMatch,
        _ => {}
    }
    let Some(h) = data.get(..9) else {
        return Probe::NeedMore;
    };
    let rec_len = usize::from(u16::from_be_bytes([h[3], h[4]]));
    let hs_len = usize::from(h[6]) << 16 | usize::from(h[7]) << 8 | usize::from(h[8]);
    // Oversized record or hello lengths still match: the parser reports them
    // (`record_too_long`, `handshake_too_long`) instead of letting the flow pass as
    // unknown.
    if h[5] != want || rec_len < 4 || hs_len < 38 {
        return Probe::NoMatch;
    }
    // the hello's own version
    match data.get(9..11) {
        None => Probe::NeedMore,
        Some(v) if v[0] == 3 && v[1] <= 4 => Probe::Match,
        Some(_) => Probe::NoMatch,
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(TlsParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "tls",
    transports: &[Transport::Tcp],
    ports: &[443, 8443, 4843, 993, 995, 465, 636, 853, 5061, 8883, 2083],
    probe,
    new_parser,
};

impl crate::ProtoRecord for Transaction {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_decisions() {
        use Direction::*;
        let ch = [0x16, 3, 1, 0, 0x80, 1, 0, 0, 0x7c, 3, 3];
        assert_eq!(probe(ToServer, &ch), Probe::Match);
        assert_eq!(probe(ToClient, &ch), Probe::NoMatch);
        assert_eq!(probe(ToServer, &ch[..4]), Probe::NeedMore);
        let sh = [0x16, 3, 3, 0, 0x51, 2, 0, 0, 0x4d, 3, 3];
        assert_eq!(probe(ToClient, &sh), Probe::Match);
        assert_eq!(probe(ToServer, &[0x16, 3, 5, 0, 0x80]), Probe::NoMatch);
        assert_eq!(probe(ToServer, &[0x17, 3, 3, 0, 0x80]), Probe::NoMatch);
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(probe(ToServer, b"SSH-2.0-x\r\n"), Probe::NoMatch);
        assert_eq!(
            probe(
                ToServer,
                &[0x10, 0x0c, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60]
            ),
            Probe::NoMatch
        );
        // a record length past the maximum, a hello claiming 16 MiB: matched so
        // that the parser reports them
        assert_eq!(
            probe(ToServer, &[0x16, 3, 1, 0xff, 0xff, 1, 0, 0, 0x7c, 3, 3]),
            Probe::Match
        );
        assert_eq!(
            probe(ToServer, &[0x16, 3, 1, 0x40, 0, 1, 0xff, 0xff, 0xff, 3, 3]),
            Probe::Match
        );
        // too short to be a hello
        assert_eq!(
            probe(ToServer, &[0x16, 3, 1, 0, 0x20, 1, 0, 0, 0x1c, 3, 3]),
            Probe::NoMatch
        );
    }
}
