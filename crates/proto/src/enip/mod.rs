//! EtherNet/IP encapsulation and CIP over TCP 44818 and UDP 44818 / 2222.
//!
//! - [`parser`]: the encapsulation header, Common Packet Format items, ListIdentity
//!   and ListServices items, socket addresses, implicit I/O datagrams.
//! - [`cip`]: CIP requests and responses, padded EPATHs, service data layouts
//!   (Unconnected_Send, Forward_Open/Close, Multiple_Service_Packet, tag values).
//! - [`state`]: framing, request/reply pairing, I/O accounting.
//! - [`record`]: the event record [`Transaction`] with its [`Cip`] part and the
//!   detection helpers ([`Transaction::is_reset`], [`Transaction::is_list_identity`],
//!   [`Transaction::forward_open_target`], [`Transaction::written`]).
//! - [`encode`]: message builders for tests and traffic generation.
//! - [`names`]: commands, statuses, services, classes, device types, vendors
//!   (`vendors.tsv`, the ODVA vendor id registry).
//!
//! # Event record
//! `enip.function_code` is the encapsulation command (DESIGN.md) and
//! `enip.function` its name; implicit I/O summaries use `0x8002` (the sequenced
//! address item that starts every I/O datagram) and `implicit_io`. The CIP part is
//! a nested object, so events show `enip.cip.service`, `enip.cip.class`,
//! `enip.cip.tag`, ... (DESIGN.md's "CIP details under `cip.*`", inside the enip
//! object so that one transaction stays one record); `enip.cip_service` repeats
//! the effective CIP service code at the top for rules. A request routed through
//! Unconnected_Send is recorded as the embedded request with `cip.route_path`; a
//! Multiple_Service_Packet lists its embedded services, each with its own status,
//! under `cip.services`.
//!
//! # Identity
//! ListIdentity replies give `Identity { source: "enip.list_identity" }` with the
//! address the device states when it is a host address (else the replying side);
//! Get_Attributes_All replies of the Identity object give `enip.identity_object`
//! (or `enip.routed_identity` when the request was routed to a module behind the
//! adapter by Unconnected_Send).
//!
//! # Operations
//! Set_*, Create, Delete, Write_Tag(_Fragmented), Read_Modify_Write_Tag: `Write`;
//! Reset, Start, Stop, Save, Restore: `Engineering`; Get_*, Read_Tag(_Fragmented):
//! `Read`; a Multiple_Service_Packet takes the strongest of its services.
//! Forward_Open is `Other`: whether its target is new is a question for detection,
//! which has the history ([`Transaction::forward_open_target`]).
//!
//! Anomaly kinds: `unknown_command`, `bad_options`, `bad_length`, `truncated`,
//! `bad_item_count`, `truncated_cip`, `unexpected_response`, `unanswered_request`,
//! `resync`, `too_many_connections`, `not_enip`.
use crate::{Direction, Parser, Probe, ProtocolDesc, Transport};

pub mod cip;
pub mod encode;
pub mod names;
pub mod parser;
pub mod record;
pub mod state;

pub use record::{
    Cip, ForwardClose, ForwardOpen, Identity, IoSummary, Service, SockAddrInfo, Transaction,
};
pub use state::EnipParser;

/// Content probe. UDP: a whole datagram that is implicit I/O (CPF whose items fill
/// the datagram, starting with a sequenced address item) or one encapsulation
/// message whose length field fills the datagram. TCP: a plausible encapsulation
/// header (known command, zero options, a request's status 0) and, for
/// SendRRData / SendUnitData, interface handle 0 and a CPF item count of 1 to 4.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    if parser::looks_like_io(data) {
        return match parser::Cpf::parse(data) {
            Ok(cpf) if !cpf.truncated && cpf_len(&cpf) == data.len() => Probe::Match,
            _ => Probe::NoMatch,
        };
    }
    if let Some(&c) = data.get(1) {
        if c != 0 {
            return Probe::NoMatch;
        }
    }
    if let Some(&c) = data.first() {
        // NOP is known but an all-zero buffer must not match.
        if c == 0 || !names::is_known_command(u16::from(c)) {
            return Probe::NoMatch;
        }
    }
    let Some(h) = parser::Header::parse(data) else {
        return Probe::NeedMore;
    };
    if parser::plausible(data) != Some(true) || (dir == Direction::ToServer && h.status != 0) {
        return Probe::NoMatch;
    }
    if matches!(h.command, 0x006F | 0x0070) && h.status == 0 {
        let body = data.get(parser::HEADER_LEN..).unwrap_or_default();
        match (parser::u32le(body, 0), parser::u16le(body, 6)) {
            (Some(0), Some(1..=4)) => {}
            (Some(_), Some(_)) => return Probe::NoMatch,
            _ => {
                return if data.len() < h.message_len() {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                };
            }
        }
    }
    Probe::Match
}

fn cpf_len(cpf: &parser::Cpf<'_>) -> usize {
    2 + cpf.items.iter().map(|i| 4 + i.data.len()).sum::<usize>()
}

fn new_parser(t: Transport) -> Box<dyn Parser> {
    Box::new(EnipParser::new(t))
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "enip",
    transports: &[Transport::Tcp, Transport::Udp],
    ports: &[44818, 2222],
    probe,
    new_parser,
};

impl crate::ProtoRecord for Transaction {
    fn operation(&self) -> crate::Operation {
        match &self.cip {
            Some(c) if c.from_request => c.operation(),
            _ => crate::Operation::Other,
        }
    }
    fn function_code(&self) -> Option<u32> {
        Some(u32::from(self.function_code))
    }
    fn function(&self) -> Option<&str> {
        Some(self.function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn probe_decisions() {
        use Direction::*;
        // RegisterSession request
        let reg = hex("650004000000000000000000000000000000000000000000 01000000");
        assert_eq!(probe(ToServer, &reg), Probe::Match);
        assert_eq!(probe(ToServer, &reg[..10]), Probe::NeedMore);
        // ListIdentity request
        let li = hex("63000000000000000000000000000000c1debed100000000");
        assert_eq!(probe(ToServer, &li), Probe::Match);
        // implicit I/O
        let io = hex("02000280080003064b00db943f00b1000600a587e80f0300");
        assert_eq!(probe(ToServer, &io), Probe::Match);
        assert_eq!(probe(ToServer, &io[..20]), Probe::NoMatch);
        // Others
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n\r\n"), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, &hex("0001000000060a0100000001")),
            Probe::NoMatch
        );
        assert_eq!(
            probe(ToServer, &hex("16030100850100008103")),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, &[0u8; 24]), Probe::NoMatch);
        assert_eq!(probe(ToServer, &hex("810a0011")), Probe::NoMatch);
        assert_eq!(probe(ToServer, b"HELF\x20\x00\x00\x00"), Probe::NoMatch);
    }
}
