//! S7comm-plus (Siemens S7-1200/1500 protocol, protocol id 0x72) over ISO-on-TCP:
//! recognition, frame and message headers (protocol version V1/V2/V3, opcode,
//! function code, sequence number, session id, transport flags, integrity part
//! presence) and request/response pairing by sequence number. Payloads are not
//! decoded (integrity protected from V2, keyed from V3).
//!
//! - [`parser`]: frame and message header decoding;
//! - [`state`]: the stream [`Parser`] (framing shared with `s7comm`), message
//!   reassembly over frames and pairing;
//! - [`encode`]: frame builders for tests;
//! - [`names`]: opcode and function names.
//!
//! `function_code`: the message's function code (0x04CA CreateObject, 0x04D4
//! DeleteObject, 0x04F2 SetVariable, 0x0542 SetMultiVariables, 0x054C
//! GetMultiVariables, 0x04BB Explore, ...); notifications, which have none, carry
//! their opcode 0x0033 (`function` = `notification`); COTP connection records
//! `0x2000 | TPDU code` as in s7comm.
//!
//! Anomaly kinds: `bad_tpkt`, `bad_cotp`, `resync`, `fragment_too_large`,
//! `truncated`, `not_s7commplus`, `bad_protocol_id`, `truncated_pdu`,
//! `length_mismatch`, `trailing_bytes`, `unexpected_response`,
//! `unanswered_request`.
use crate::s7comm::record::COTP_BASE;
use crate::s7comm::tpkt::{self, Cotp};
use crate::s7comm::CotpInfo;
use crate::{Direction, Operation, Parser, Probe, ProtoRecord, ProtocolDesc, Transport};
use serde::Serialize;

pub mod encode;
pub mod names;
pub mod parser;
pub mod state;

pub use state::S7PlusParser;

/// `function_code` of notifications (their opcode).
pub const NOTIFICATION_CODE: u16 = 0x0033;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One S7comm-plus transaction: a request paired with its response, a notification,
/// an unpaired message, or a COTP connection setup / release. Serialised under
/// `s7commplus` in events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// Protocol version of the first message (1, 2, 3; 0 for COTP records).
    pub version: u8,
    /// Opcode of the first message (0x31 request, 0x32 response, 0x33 notification).
    pub opcode: u8,
    pub opcode_name: &'static str,
    /// Function code (see the module documentation).
    pub function_code: u16,
    pub function: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u16>,
    /// Session id sent with the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u32>,
    /// Transport flags of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_flags: Option<u8>,
    /// Opcode and transport flags of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_opcode: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_flags: Option<u8>,
    /// Subscription object id of a notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<u32>,
    /// Integrity part present (V3: digest before the data; V2: digest at the end,
    /// heuristic); absent for V1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity: Option<bool>,
    /// Data bytes of the request and of the response (all frames).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_length: Option<u32>,
    /// Frames the request and its response took together (or the unpaired message
    /// alone), when a message was split over several frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cotp: Option<Box<CotpInfo>>,
    pub request: bool,
    pub response: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

impl Transaction {
    /// A record from a message header.
    pub fn from_body(version: u8, b: &parser::Body) -> Transaction {
        let (function_code, function) = match b.function {
            Some(f) if b.opcode != 0x33 => (f, names::function_name(f)),
            _ if b.opcode == 0x33 => (NOTIFICATION_CODE, "notification"),
            _ => (0, "unknown"),
        };
        Transaction {
            version,
            opcode: b.opcode,
            opcode_name: names::opcode_name(b.opcode),
            function_code,
            function,
            sequence: b.sequence,
            session_id: b.session_id,
            transport_flags: b.transport_flags,
            subscription_id: b.subscription_id,
            integrity: b.integrity,
            ..Transaction::default()
        }
    }

    /// The function code as sent (`None` for notifications and COTP records).
    pub fn function_code_raw(&self) -> Option<u16> {
        (matches!(self.opcode, 0x31 | 0x32 | 0x02)).then_some(self.function_code)
    }

    /// A COTP connection management record.
    pub fn cotp(c: &Cotp<'_>) -> Transaction {
        let s7 = crate::s7comm::Transaction::cotp(c);
        Transaction {
            opcode_name: "cotp",
            function_code: s7.function_code,
            function: s7.function,
            cotp: s7.cotp,
            ..Transaction::default()
        }
    }

    /// Adds the confirm's details to a COTP record.
    pub fn apply_cotp(&mut self, c: &Cotp<'_>) {
        let mut s7 = crate::s7comm::Transaction {
            cotp: self.cotp.take(),
            ..crate::s7comm::Transaction::default()
        };
        s7.apply_cotp(c);
        self.cotp = s7.cotp;
    }

    /// A variable write (SetVariable, SetMultiVariables, SetVarSubStreamed).
    pub fn is_write(&self) -> bool {
        self.opcode != 0x33 && matches!(self.function_code, 0x04F2 | 0x0542 | 0x057C)
    }
}

/// Content probe: the first DT user data of the flow (after any COTP CR/CC) starts
/// with protocol id 0x72 and a known version (1, 2, 3, 0xFE). A COTP connection
/// request alone gives `NeedMore`.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    match tpkt::first_data(data) {
        Ok(p) => match p {
            [0x72] => Probe::NeedMore,
            [0x72, 1..=3 | 0xFE, ..] => Probe::Match,
            _ => Probe::NoMatch,
        },
        Err(true) => Probe::NeedMore,
        Err(false) => Probe::NoMatch,
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(S7PlusParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "s7commplus",
    transports: &[Transport::Tcp],
    ports: &[102],
    probe,
    new_parser,
};

impl ProtoRecord for Transaction {
    fn operation(&self) -> Operation {
        if self.opcode == 0x33 || self.function_code & 0xF000 == COTP_BASE {
            return Operation::Other;
        }
        match self.function_code {
            0x04F2 | 0x0542 | 0x057C => Operation::Write,
            0x04BB | 0x04FC | 0x0524 | 0x054C | 0x0586 | 0x0590 => Operation::Read,
            0x0556 | 0x0560 | 0x056B => Operation::Engineering,
            _ => Operation::Other,
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
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn probe_decisions() {
        use Direction::*;
        let cr = hex("030000231ee00000001100c1020600c20f53494d415449432d524f4f542d4553c0010a");
        let plus = hex("0300001f02f080720200103200000542000000023400000000000072020000");
        let s7 = hex("0300001902f08032010000000000080000f0000001000101e0");
        assert_eq!(probe(ToServer, &cr), Probe::NeedMore);
        assert_eq!(probe(ToClient, &plus), Probe::Match);
        let mut both = cr.clone();
        both.extend_from_slice(&plus);
        assert_eq!(probe(ToServer, &both), Probe::Match);
        assert_eq!(probe(ToServer, &s7), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, &hex("0300001002f0800d0b05060130")),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, &plus[..8]), Probe::NeedMore);
        assert_eq!(probe(ToServer, b"\x16\x03\x01\x00\x10"), Probe::NoMatch);
        assert!(std::mem::size_of::<Transaction>() <= 200);
    }
}
