//! OPC UA binary (UA-TCP, OPC 10000-6) over TCP 4840 and, by content, any port.
//!
//! - [`parser`]: message headers (HEL / ACK / ERR / RHE / OPN / MSG / CLO, chunk type
//!   F / C / A, size) and the HEL, ACK, ERR, RHE bodies.
//! - [`binary`]: bounded reader of the built-in types (NodeId, Variant, DataValue,
//!   ExtensionObject, DiagnosticInfo...).
//! - [`services`]: request and response bodies: OpenSecureChannel (security mode),
//!   GetEndpoints, CreateSession (session name, endpoint URL, client and server
//!   application descriptions), ActivateSession (user token type, user name only,
//!   never the password), Read, Write (node ids and written values), Browse, Call,
//!   AddNodes, DeleteNodes, CreateMonitoredItems; service results.
//! - [`cert`]: subject and issuer common names of the OPN sender certificate.
//! - [`state`]: framing, chunk assembly, channel security, pairing, identity.
//! - [`record`]: the event record [`Transaction`] and [`Transaction::written`].
//! - [`encode`]: message builders for tests and traffic generation.
//!
//! `opcua.function_code` is the request's service encoding id for MSG (631 Read,
//! 673 Write, 461 CreateSession...) and the 3-byte message type as a number for the
//! other messages (`HEL` = 0x48454C, `OPN` = 0x4F504E); `opcua.function` the service
//! (`read`) or message type name (`open_secure_channel`). `opcua.channel.security_none`
//! flags a channel opened with the `#None` policy or mode None. Encrypted bodies are
//! not decoded (`encrypted: true`).
//!
//! Operations: Write, HistoryUpdate and Call are `Write`; AddNodes, AddReferences,
//! DeleteNodes, DeleteReferences are `Engineering`; Read, HistoryRead, Browse(Next),
//! TranslateBrowsePaths, Query*, CreateMonitoredItems, CreateSubscription, Publish,
//! Republish are `Read`.
//!
//! Anomaly kinds: `bad_header`, `resync`, `message_too_large`, `truncated`,
//! `unknown_service`, `unexpected_response`, `unanswered_request`, `not_opcua`.
use crate::{Direction, Parser, Probe, ProtocolDesc, Transport};

pub mod binary;
pub mod cert;
pub mod encode;
pub mod names;
pub mod parser;
pub mod record;
pub mod services;
pub mod state;

pub use record::{Application, Channel, Endpoint, Hello, NodeOp, Session, Transaction, Value};
pub use state::OpcuaParser;

/// Content probe: a valid message header of a type the direction sends (client:
/// HEL / OPN / MSG / CLO; server: ACK / ERR / RHE / OPN / MSG) whose size is at most
/// 16 MiB; a HEL must carry protocol version 0 and a plausible endpoint URL length,
/// an OPN a security policy URI of the OPC Foundation when it is visible.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    let prefix_ok = parser::TYPES.iter().any(|t| {
        let n = data.len().min(3);
        t.get(..n) == data.get(..n)
    });
    if !prefix_ok {
        return Probe::NoMatch;
    }
    let Some(h) = parser::Header::parse(data) else {
        return Probe::NeedMore;
    };
    if !parser::valid(&h) || h.size > (1 << 24) {
        return Probe::NoMatch;
    }
    let allowed: &[&[u8; 3]] = match dir {
        Direction::ToServer => &[b"HEL", b"OPN", b"MSG", b"CLO"],
        Direction::ToClient => &[b"ACK", b"ERR", b"RHE", b"OPN", b"MSG"],
    };
    if !allowed.contains(&&h.message_type) {
        return Probe::NoMatch;
    }
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
    };
    match &h.message_type {
        b"HEL" => match (u32_at(8), u32_at(28)) {
            (Some(0), Some(len)) if len <= 4096 && h.size <= 8192 => Probe::Match,
            (Some(_), Some(_)) => Probe::NoMatch,
            _ => Probe::NeedMore,
        },
        b"OPN" => {
            let mut r = binary::Reader::new(data);
            r.pos = 12;
            match r.string() {
                Some(Some(p)) if p.starts_with("http://opcfoundation.org/UA/SecurityPolicy#") => {
                    Probe::Match
                }
                Some(_) => Probe::NoMatch,
                None if data.len() < 12 + 4 + 60 => Probe::NeedMore,
                None => Probe::NoMatch,
            }
        }
        _ => Probe::Match,
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(OpcuaParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "opcua",
    transports: &[Transport::Tcp],
    ports: &[4840],
    probe,
    new_parser,
};

impl crate::ProtoRecord for Transaction {
    fn operation(&self) -> crate::Operation {
        Transaction::operation(self)
    }
    fn function_code(&self) -> Option<u32> {
        Some(self.function_code)
    }
    fn function(&self) -> Option<&str> {
        Some(self.function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_decisions() {
        use Direction::*;
        let hel = encode::hello("opc.tcp://plc:4840");
        assert_eq!(probe(ToServer, &hel), Probe::Match);
        assert_eq!(probe(ToServer, &hel[..6]), Probe::NeedMore);
        assert_eq!(probe(ToServer, &hel[..2]), Probe::NeedMore);
        assert_eq!(probe(ToClient, &hel), Probe::NoMatch);
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n\r\n"), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, b"HELO smtp.example.org\r\n"),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, &[0u8; 32]), Probe::NoMatch);
        let opn = encode::open_secure_channel_request(1, 1);
        assert_eq!(probe(ToServer, &opn), Probe::Match);
    }
}
