//! SSH over TCP: identification lines of both sides (protocol version, software,
//! comments; lines before the server's are allowed), the KEXINIT algorithm lists
//! of both sides with HASSH / HASSHServer fingerprints, the negotiated algorithms,
//! and the server's software version as its identity (`ssh.banner`).
//!
//! - [`parser`]: pure decoding of identification lines, packets and KEXINIT.
//! - [`state`]: the per-direction phases and the transaction.
//! - [`record`]: the event record [`Transaction`].
//!
//! `function_code` stays unset.
//!
//! Anomaly kinds: `bad_banner`, `banner_too_long`, `no_banner`,
//! `bad_packet_length`, `bad_padding`, `truncated_kexinit`, `gap`, `not_ssh`.
use crate::{Direction, Parser, Probe, ProtocolDesc, Transport};

pub mod parser;
pub mod record;
pub mod state;

pub use record::{Chosen, Endpoint, Hassh, Kex, Transaction};
pub use state::SshParser;

const PREFIX: &[u8] = b"SSH-";

/// Content probe: the data starts with `SSH-` (either side). The server may send
/// text lines before its identification line, so from the server, complete
/// printable lines without `SSH-` ask for more data and a later line starting with
/// `SSH-` matches.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    let n = data.len().min(PREFIX.len());
    if data.get(..n) != PREFIX.get(..n) {
        if dir == Direction::ToServer {
            return Probe::NoMatch;
        }
    } else if n == PREFIX.len() {
        return Probe::Match;
    } else {
        return Probe::NeedMore;
    }
    // from the server: lines of text before the identification line
    let mut rest = data;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let line = rest.get(..nl).unwrap_or_default();
        if !line
            .iter()
            .all(|&c| c == b'\t' || c == b'\r' || (0x20..0x7f).contains(&c))
        {
            return Probe::NoMatch;
        }
        rest = rest.get(nl + 1..).unwrap_or_default();
        let k = rest.len().min(PREFIX.len());
        if rest.get(..k) == PREFIX.get(..k) && k > 0 {
            return if k == PREFIX.len() {
                Probe::Match
            } else {
                Probe::NeedMore
            };
        }
    }
    if rest
        .iter()
        .all(|&c| c == b'\t' || c == b'\r' || (0x20..0x7f).contains(&c))
        && data.len() < 4096
    {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(SshParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "ssh",
    transports: &[Transport::Tcp],
    ports: &[22, 2222],
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
        assert_eq!(probe(ToServer, b"SSH-2.0-OpenSSH_9.7\r\n"), Probe::Match);
        assert_eq!(probe(ToClient, b"SSH-2.0-x"), Probe::Match);
        assert_eq!(probe(ToServer, b"SS"), Probe::NeedMore);
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(
            probe(ToClient, b"hello\r\nworld\r\nSSH-2.0-x\r\n"),
            Probe::Match
        );
        assert_eq!(probe(ToClient, b"hello\r\nSS"), Probe::NeedMore);
        assert_eq!(probe(ToClient, b"some banner text\r\n"), Probe::NeedMore);
        assert_eq!(probe(ToClient, &[0x16, 3, 3, 0, 0x40, 2]), Probe::NoMatch);
        assert_eq!(
            probe(ToClient, b"HTTP/1.1 200 OK\r\n\x00\x01"),
            Probe::NoMatch
        );
    }
}
