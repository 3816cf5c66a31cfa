//! Modbus/TCP: MBAP framing, every public function code, request/response pairing,
//! anomalies, device identity (function 43/14, 17) and a content probe.
//!
//! - [`parser`]: pure, zero-copy decoding of MBAP headers and PDUs.
//! - [`state`]: per-direction stream framing with resynchronisation and pairing.
//! - [`record`]: the event record [`Transaction`] and its detection helpers.
//! - [`encode`]: request / response builders for traffic generators and the gateway.
//! - [`names`]: function, exception, sub-function and object names.
//!
//! Anomaly kinds: `bad_protocol_id`, `bad_length`, `truncated_pdu`,
//! `byte_count_mismatch`, `bad_coil_value`, `unexpected_response`,
//! `unanswered_request`, `resync`, `not_modbus`.
use crate::{Direction, Parser, Probe, ProtocolDesc, Transport};

pub mod encode;
pub mod names;
pub mod parser;
pub mod record;
pub mod state;

pub use record::{DeviceId, DeviceObject, FileRecord, ServerId, Table, Transaction, Written};
pub use state::ModbusParser;

/// Content probe: `Match` when `data` starts with a plausible Modbus/TCP frame for
/// `dir` (protocol id 0, length 2..=254, a public function code whose length fits;
/// when a second header is visible its protocol id must be 0 too), `NeedMore` while
/// fewer than 8 bytes leave it open, `NoMatch` otherwise.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    match parser::plausible_start(dir, data) {
        parser::Plausible::NeedMore => Probe::NeedMore,
        parser::Plausible::No => Probe::NoMatch,
        parser::Plausible::Yes => {
            let next = parser::Mbap::parse(data)
                .and_then(|h| data.get(h.frame_len()..))
                .unwrap_or_default();
            let pid_ok = next.get(2..4).is_none_or(|pid| pid == [0, 0]);
            match parser::check_header(next) {
                Ok(_) if pid_ok => Probe::Match,
                _ => Probe::NoMatch,
            }
        }
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(ModbusParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "modbus",
    transports: &[Transport::Tcp],
    ports: &[502],
    probe,
    new_parser,
};

impl crate::ProtoRecord for Transaction {
    fn operation(&self) -> crate::Operation {
        use crate::Operation;
        if self.is_dangerous() || self.function_code == 8 {
            Operation::Engineering
        } else if self.is_write() {
            Operation::Write
        } else if matches!(self.function_code, 1..=4 | 7 | 11 | 12 | 17 | 20 | 24 | 43) {
            Operation::Read
        } else {
            Operation::Other
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
        assert_eq!(
            probe(ToServer, &hex("0001000000060a0100000001")),
            Probe::Match
        );
        assert_eq!(probe(ToServer, &hex("00010000")), Probe::NeedMore);
        assert_eq!(probe(ToServer, &hex("00010000000601")), Probe::NeedMore);
        assert_eq!(
            probe(ToServer, &hex("0001001000060a0100010003")),
            Probe::NoMatch
        );
        // two pipelined requests: both headers sane
        assert_eq!(
            probe(
                ToServer,
                &hex("0001000000060a01000000010002000000060a0300000001")
            ),
            Probe::Match
        );
        // a sane first header followed by garbage
        assert_eq!(
            probe(ToServer, &hex("0001000000060a010000000147455420")),
            Probe::NoMatch
        );
        assert_eq!(probe(ToClient, &hex("0001000000040a010100")), Probe::Match);
        // DNP3 link header, HTTP, TLS, SSH, an all-zero buffer
        assert_eq!(
            probe(ToServer, &hex("056405c9010000047a3e")),
            Probe::NoMatch
        );
        assert_eq!(
            probe(ToServer, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Probe::NoMatch
        );
        assert_eq!(
            probe(ToServer, &hex("16030100850100008103")),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, b"SSH-2.0-OpenSSH_9.2\r\n"), Probe::NoMatch);
        assert_eq!(probe(ToServer, &[0u8; 16]), Probe::NoMatch);
        assert_eq!(DESC.name, "modbus");
        assert_eq!(DESC.ports, &[502]);
    }
}
