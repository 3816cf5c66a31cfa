//! DNS over UDP and TCP (RFC 1035, RFC 2136 dynamic update): header and flags,
//! questions, answer / authority / additional records with the RDATA of A, AAAA,
//! NS, CNAME, PTR, DNAME, MX, TXT, SOA and SRV (others as hex), names with bounded
//! compression-pointer loops, query/response pairing by id, EDNS(0) from the OPT
//! pseudo-record (UDP payload size, version, DO bit, extended rcode folded into the
//! response's `rcode`; RFC 6891).
//!
//! - [`parser`]: pure decoding of messages.
//! - [`state`]: UDP datagrams / TCP length framing and pairing.
//! - [`record`]: the event record [`Transaction`].
//! - [`names`]: opcode, rcode, class and type names.
//!
//! `function_code` is the opcode (0 query, 4 notify, 5 dynamic update...).
//!
//! Anomaly kinds: `short_message`, `truncated_name`, `pointer_loop`,
//! `name_too_long`, `bad_label`, `truncated_question`, `truncated_record`,
//! `bad_rdata`, `trailing_bytes`, `bad_length`, `unanswered_query`, `gap`,
//! `truncated`, `not_dns`.
use crate::{Direction, Parser, Probe, ProtocolDesc, Transport};

pub mod names;
pub mod parser;
pub mod record;
pub mod state;

pub use record::{Answer, Question, Soa, Srv, Transaction};
pub use state::DnsParser;

/// Content probe: `Match` when `data` is one whole well-formed DNS message (a UDP
/// datagram) or a TCP frame whose 2-byte length prefix frames one; `NeedMore` while
/// a TCP frame is incomplete; `NoMatch` otherwise. Every section count must be
/// honoured exactly, so random payloads almost never match. NetBIOS Name Service
/// messages (DNS layout, encoded 32-letter names) do not match.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    if parser::plausible(data) {
        return Probe::Match;
    }
    // TCP: length-prefixed
    let Some(len) = data
        .get(..2)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
    else {
        return Probe::NeedMore;
    };
    if !(parser::HEADER_LEN..=4096).contains(&len) {
        return Probe::NoMatch;
    }
    match data.get(2..2 + len) {
        Some(msg) if parser::plausible(msg) => Probe::Match,
        Some(_) => Probe::NoMatch,
        None => {
            // The header is visible: check what can be checked.
            match data
                .get(2..2 + parser::HEADER_LEN)
                .and_then(parser::Header::parse)
            {
                Some(h)
                    if !data.get(2..).is_some_and(parser::netbios)
                        && matches!(h.opcode(), 0 | 1 | 2 | 4 | 5 | 6)
                        && h.qdcount <= 16
                        && (h.qr() || h.rcode() == 0 || h.opcode() == 5) =>
                {
                    Probe::NeedMore
                }
                Some(_) => Probe::NoMatch,
                None => Probe::NeedMore,
            }
        }
    }
}

fn new_parser(transport: Transport) -> Box<dyn Parser> {
    Box::new(DnsParser::new(transport))
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "dns",
    transports: &[Transport::Udp, Transport::Tcp],
    ports: &[53, 5353, 5355],
    probe,
    new_parser,
};

impl crate::ProtoRecord for Transaction {
    fn function_code(&self) -> Option<u32> {
        Some(u32::from(self.opcode))
    }
    fn function(&self) -> Option<&str> {
        Some(self.opcode_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[&[u8]]) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name {
            m.push(l.len() as u8);
            m.extend_from_slice(l);
        }
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        m
    }

    #[test]
    fn probe_decisions() {
        use Direction::*;
        let q = query(&[b"www", b"example", b"com"]);
        assert_eq!(probe(ToServer, &q), Probe::Match);
        let mut tcp = (q.len() as u16).to_be_bytes().to_vec();
        tcp.extend_from_slice(&q);
        assert_eq!(probe(ToServer, &tcp), Probe::Match);
        assert_eq!(probe(ToServer, &tcp[..10]), Probe::NeedMore);
        // trailing garbage, a missing question
        let mut bad = q.clone();
        bad.push(0);
        assert_eq!(probe(ToServer, &bad), Probe::NoMatch);
        assert_eq!(probe(ToServer, &q[..q.len() - 2]), Probe::NoMatch);
        // NetBIOS name service (RFC 1002 encoded name) is not DNS
        let nb = query(&[b"EBFCENENEGCOEBEEEPECEFCOEDEPENAA"]);
        assert_eq!(probe(ToServer, &nb), Probe::NoMatch);
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n\r\n"), Probe::NoMatch);
        assert_eq!(probe(ToServer, &[0x16, 3, 1, 0, 0x80, 1]), Probe::NoMatch);
        assert_eq!(probe(ToServer, b"SSH-2.0-OpenSSH_9.2\r\n"), Probe::NoMatch);
    }
}
