//! S7comm (Siemens S7 communication, protocol id 0x32) over ISO-on-TCP: TPKT
//! (RFC 1006) and COTP framing with DT reassembly, the S7 header (job, ack,
//! ack-data, userdata), job/ack-data pairing by PDU reference, read/write var
//! items with their values, setup communication, up/download, PI services, PLC
//! stop, and userdata functions (SZL reads with module identification, block
//! functions, clock, password, cyclic data, programmer commands, alarms).
//!
//! - [`tpkt`]: TPKT and COTP decoding (shared with `s7commplus`);
//! - [`stream`]: per-direction TPKT framing, DT reassembly, resync, give-up rule
//!   (shared with `s7commplus`);
//! - [`parser`]: pure S7 PDU decoding;
//! - [`record`]: the event record [`Transaction`] and its detection helpers;
//! - [`state`]: the stream [`Parser`] and pairing;
//! - [`encode`]: TPKT/COTP/S7 builders for tests and traffic generation;
//! - [`names`]: code names.
//!
//! `function_code`: the parameter function of a job (0x04 read var, 0x05 write var,
//! 0xF0 setup communication, 0x1A-0x1C download, 0x1D-0x1F upload, 0x28 PI service,
//! 0x29 PLC stop); for userdata `0x1000 | group << 8 | subfunction` (0x1401 read
//! SZL, 0x1301 list blocks, 0x1701 read clock, 0x1702 set clock, 0x1501 PLC
//! password, 0x1108 modify variable, 0x1000-0x100C CPU mode transition pushes);
//! for COTP connection records `0x2000 | TPDU code` (0x20E0 connect, 0x2080
//! disconnect).
//!
//! Identity: SZL 0x0011 / 0x001C responses give an `Identity` with source
//! `s7comm.szl` (vendor Siemens, order number as model, firmware version, module
//! type name as product, serial number, station name).
//!
//! Anomaly kinds: `bad_tpkt`, `bad_cotp`, `resync`, `fragment_too_large`,
//! `truncated`, `not_s7comm`, `bad_protocol_id`, `truncated_pdu`,
//! `unknown_rosctr`, `length_mismatch`, `trailing_bytes`, `truncated_parameter`,
//! `truncated_item`, `truncated_data`, `item_count_mismatch`, `bad_userdata`,
//! `userdata_incomplete`, `unexpected_response`, `unanswered_request`.
use crate::{Direction, Operation, Parser, Probe, ProtoRecord, ProtocolDesc, Transport};

pub mod encode;
pub mod names;
pub mod parser;
pub mod record;
pub mod state;
pub mod stream;
pub mod tpkt;

pub use record::{
    Block, BlockEntry, CotpInfo, Item, Pi, Setup, Szl, SzlEntry, Transaction, COTP_BASE,
    USERDATA_BASE,
};
pub use state::S7Parser;

/// Content probe: the first DT user data of the flow (after any COTP CR/CC) starts
/// with protocol id 0x32 and a known ROSCTR. A COTP connection request alone gives
/// `NeedMore` (S7comm, S7comm-plus and ISO session protocols share it).
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    match tpkt::first_data(data) {
        Ok(p) => match p {
            [0x32] => Probe::NeedMore,
            [0x32, 1 | 2 | 3 | 7, ..] => Probe::Match,
            _ => Probe::NoMatch,
        },
        Err(true) => Probe::NeedMore,
        Err(false) => Probe::NoMatch,
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(S7Parser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "s7comm",
    transports: &[Transport::Tcp],
    ports: &[102],
    probe,
    new_parser,
};

impl ProtoRecord for Transaction {
    fn operation(&self) -> Operation {
        match self.function_code {
            0x04 => Operation::Read,
            0x05 => Operation::Write,
            0x1A..=0x1F | 0x28 | 0x29 => Operation::Engineering,
            // programmer commands: modify variable / force write, memory reset
            0x1108 | 0x1109 => Operation::Write,
            0x110C => Operation::Engineering,
            0x1101..=0x1107 => Operation::Read,
            0x1200..=0x12FF => Operation::Read,
            0x1301..=0x1303 => Operation::Read,
            0x1401 | 0x1413 => Operation::Read,
            0x1701 | 0x1703 => Operation::Read,
            0x1702 | 0x1704 => Operation::Write,
            0x1F01..=0x1F08 => Operation::Engineering,
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
        let cr = hex("0300001611e00000000100c0010ac1020100c2020102");
        let setup = hex("0300001902f08032010000000000080000f0000001000101e0");
        let plus = hex("0300001f02f080720200103200000542000000023400000000000072020000");
        assert_eq!(probe(ToServer, &cr), Probe::NeedMore);
        assert_eq!(probe(ToServer, &setup), Probe::Match);
        let mut both = cr.clone();
        both.extend_from_slice(&setup);
        assert_eq!(probe(ToServer, &both), Probe::Match);
        assert_eq!(probe(ToServer, &plus), Probe::NoMatch);
        // MMS: COTP DT carrying an ISO session CONNECT SPDU
        assert_eq!(
            probe(ToServer, &hex("0300001002f0800d0b05060130")),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, &setup[..8]), Probe::NeedMore);
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n\r\n"), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, &hex("0001000000060a0100000001")),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, &[]), Probe::NeedMore);
    }
}
