//! IEC 60870-5-104 (telecontrol over TCP/2404): APCI framing (I, S and U
//! formats with sequence numbers), ASDU decoding (type, SQ and number of objects,
//! cause of transmission with P/N and test bits, originator and common address,
//! information objects with their values, quality and time tags) and pairing of
//! commands with their confirmation and termination.
//!
//! - [`parser`]: pure APCI / ASDU / information element decoding;
//! - [`state`]: the stream [`Parser`] (framing, resync, sequence checks, pairing);
//! - [`encode`]: APDU builders for tests and traffic generation;
//! - [`names`]: type, cause and U-function names.
//!
//! # Transactions
//! An activation (COT 6), deactivation (8) or read request (C_RD_NA_1, COT 5) is
//! paired per (common address, type, first IOA) with its confirmation (7 / 9, or
//! a negative "unknown type / cause / common address / IOA" answer 44-47) and,
//! when one is expected (interrogations, executed commands and setpoints, or after
//! a negative confirmation), its termination (10) or 44-47 answer; a confirmed
//! request whose termination does not come within [`state::TERM_WAIT`] of message
//! time is emitted without it. An activation to the broadcast common address
//! (65535) pairs with the station's confirmation. Monitoring data (periodic,
//! spontaneous, interrogated, requested...) is a transaction per ASDU. U-frames:
//! an act paired with its con (STARTDT, STOPDT, TESTFR). S-frames are
//! acknowledgements only and make no transaction.
//!
//! `function_code` is the ASDU type id (1-127); U-frame transactions use
//! `0x100 | control >> 2`: 0x101 STARTDT, 0x104 STOPDT, 0x110 TESTFR (a lone
//! confirmation 0x102, 0x108, 0x120). `function` is the type mnemonic
//! (`M_ME_NC_1`, `C_SC_NA_1`...) or `STARTDT` / `STOPDT` / `TESTFR`.
//!
//! Anomaly kinds: `bad_start`, `bad_length`, `bad_control_field`, `resync`,
//! `truncated`, `not_iec104`, `truncated_asdu`, `unknown_type`, `length_mismatch`,
//! `sequence_gap`, `unexpected_response`, `unanswered_request`, `too_many_objects`.
use crate::{Direction, Operation, Parser, Probe, ProtoRecord, ProtocolDesc, Transport};
use serde::Serialize;

pub mod encode;
pub mod names;
pub mod parser;
pub mod state;

pub use parser::{Object, Quality, Time};
pub use state::Iec104Parser;

/// Most information objects kept per transaction.
pub const MAX_OBJECTS: usize = 64;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One IEC 104 transaction: a command (or interrogation, read, clock sync...)
/// with its confirmation and termination, an ASDU of monitoring data, or a U-frame
/// act/con pair. Serialised under `iec104` in events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// Format of the first APDU: `i` or `u`.
    pub apdu: &'static str,
    /// ASDU type id, or `0x100 | control >> 2` for U-frames.
    pub function_code: u16,
    pub function: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_id: Option<u8>,
    /// SQ bit of the first ASDU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sq: Option<bool>,
    /// Number of objects announced by the first ASDU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u8>,
    /// Cause of transmission of the first ASDU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cot: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cot_name: Option<&'static str>,
    /// P/N bit of the first ASDU.
    #[serde(skip_serializing_if = "is_false")]
    pub negative: bool,
    /// T (test) bit of the first ASDU.
    #[serde(skip_serializing_if = "is_false")]
    pub test: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub originator: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_address: Option<u16>,
    /// N(S) and N(R) of the first I-frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_seq: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recv_seq: Option<u16>,
    /// Information objects of the first ASDU (at most [`MAX_OBJECTS`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<Object>,
    /// Cause of the confirmation (7, 9, or 44-47).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_cot: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_cot_name: Option<&'static str>,
    /// The confirmation was negative (P/N set, or a 44-47 answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_negative: Option<bool>,
    /// A termination (COT 10) followed.
    #[serde(skip_serializing_if = "is_false")]
    pub terminated: bool,
    /// An "unknown type / cause / common address / IOA" answer (44-47) followed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_cot: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_cot_name: Option<&'static str>,
    /// The request (activation, act U-frame) was seen.
    pub request: bool,
    /// A response (confirmation, termination, con U-frame) was seen; monitoring
    /// data counts as a response.
    pub response: bool,
    /// More objects than [`MAX_OBJECTS`], or an ASDU cut short.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

impl Transaction {
    /// A U-frame transaction of control octet `c`.
    pub fn u_frame(c: u8) -> Transaction {
        let bits = c >> 2;
        let function = match bits {
            0x01 | 0x02 => "STARTDT",
            0x04 | 0x08 => "STOPDT",
            0x10 | 0x20 => "TESTFR",
            _ => "unknown",
        };
        Transaction {
            apdu: "u",
            function_code: 0x100 | u16::from(bits),
            function,
            ..Transaction::default()
        }
    }

    /// An I-frame transaction from its ASDU header.
    pub fn asdu(h: &parser::AsduHeader, send: u16, recv: u16) -> Transaction {
        Transaction {
            apdu: "i",
            function_code: u16::from(h.type_id),
            function: names::type_name(h.type_id),
            type_id: Some(h.type_id),
            sq: Some(h.sq),
            count: Some(h.count),
            cot: Some(h.cot),
            cot_name: Some(names::cot_name(h.cot)),
            negative: h.negative,
            test: h.test,
            originator: Some(h.originator),
            common_address: Some(h.common_address),
            send_seq: Some(send),
            recv_seq: Some(recv),
            ..Transaction::default()
        }
    }

    /// A command or setpoint (single, double, regulating step, setpoint, bitstring
    /// command, with or without time tag).
    pub fn is_command(&self) -> bool {
        matches!(self.type_id, Some(45..=51 | 58..=64))
    }

    /// An activation (COT 6) of a command, setpoint or parameter.
    pub fn is_control(&self) -> bool {
        self.request && matches!(self.type_id, Some(45..=51 | 58..=64 | 110..=113))
    }

    /// Values the request writes, for envelope checks: (`"<common address>:<ioa>"`,
    /// value) for every object of an executed (not select) command, setpoint or
    /// parameter activation (COT 6).
    pub fn written(&self) -> Vec<(String, f64)> {
        if !self.is_control() || self.cot != Some(6) {
            return Vec::new();
        }
        let ca = self.common_address.unwrap_or(0);
        self.objects
            .iter()
            .filter(|o| o.select != Some(true))
            .filter_map(|o| Some((format!("{ca}:{}", o.ioa), o.value?)))
            .collect()
    }
}

/// Content probe: an APDU start (0x68, length 4-253, a valid control field; an
/// I-frame must carry a known ASDU type) and, when the first APDU is complete and
/// more bytes follow, a second start octet.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    match parser::check_apdu(data, true) {
        parser::Check::NeedMore(_) => Probe::NeedMore,
        parser::Check::Bad(_) => Probe::NoMatch,
        parser::Check::Frame(n) => match data.get(n) {
            None | Some(&parser::START) => Probe::Match,
            Some(_) => Probe::NoMatch,
        },
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(Iec104Parser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "iec104",
    transports: &[Transport::Tcp],
    ports: &[2404],
    probe,
    new_parser,
};

impl ProtoRecord for Transaction {
    fn operation(&self) -> Operation {
        match self.type_id {
            None => Operation::Other,
            Some(45..=51 | 58..=64 | 110..=113) => Operation::Write,
            Some(100..=102) => Operation::Read,
            Some(1..=44 | 70) => Operation::Read,
            Some(105 | 120..=127) => Operation::Engineering,
            Some(_) => Operation::Other,
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

    #[test]
    fn probe_decisions() {
        use Direction::*;
        assert_eq!(probe(ToServer, &[0x68, 4, 0x07, 0, 0, 0]), Probe::Match);
        assert_eq!(
            probe(ToServer, &[0x68, 4, 0x07, 0, 0, 0, 0x68]),
            Probe::Match
        );
        assert_eq!(
            probe(ToServer, &[0x68, 4, 0x07, 0, 0, 0, 0x00]),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, &[0x68, 4, 0x07]), Probe::NeedMore);
        assert_eq!(probe(ToServer, &[0x68, 4, 0x05, 0, 0, 0]), Probe::NoMatch);
        assert_eq!(probe(ToServer, &[0x68, 4, 0x01, 0, 0x02, 0]), Probe::Match);
        // I-frame: C_IC_NA_1 act
        let ic = [
            0x68, 0x0e, 0, 0, 0, 0, 0x64, 1, 6, 0, 0xff, 0xff, 0, 0, 0, 0x14,
        ];
        assert_eq!(probe(ToServer, &ic), Probe::Match);
        let mut bad = ic;
        bad[6] = 200;
        assert_eq!(probe(ToServer, &bad), Probe::NoMatch);
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, &[0x03, 0, 0, 0x16, 0x11, 0xe0]),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, &[0x05, 0x64, 0x05, 0xc9]), Probe::NoMatch);
        assert!(
            std::mem::size_of::<Transaction>() <= 200,
            "{}",
            std::mem::size_of::<Transaction>()
        );
    }

    #[test]
    fn written_only_executes() {
        let mut t = Transaction::asdu(
            &parser::AsduHeader {
                type_id: 50,
                count: 1,
                cot: 6,
                common_address: 3,
                ..Default::default()
            },
            0,
            0,
        );
        t.request = true;
        t.objects.push(Object {
            ioa: 5020,
            value: Some(12.5),
            select: Some(false),
            ..Object::default()
        });
        assert_eq!(t.written(), vec![("3:5020".to_string(), 12.5)]);
        t.objects[0].select = Some(true);
        assert!(t.written().is_empty());
    }
}
