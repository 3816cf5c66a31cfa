//! MMS (ISO 9506, IEC 61850-8-1) over ISO-on-TCP (RFC 1006, port 102).
//!
//! Layout:
//! - [`ber`]: a small bounded BER reader (shared with GOOSE and Sampled Values);
//! - [`data`]: MMS `Data` values (shared with GOOSE `allData`);
//! - [`iso`]: TPKT, COTP, ISO 8327 session, ISO 8823 presentation, ACSE;
//! - [`pdu`]: MMS PDUs and confirmed/unconfirmed services;
//! - [`state`]: the stream [`Parser`]: framing, COTP reassembly, pairing;
//! - [`record`]: the event record [`Transaction`];
//! - [`names`]: service, error and object class names.
//!
//! # Transactions
//! A confirmed request and its response (or confirmed-error, or reject) are one
//! transaction, paired by invoke id and by the direction of the request (both ends
//! of an ICCP association issue requests). `function_code` is the confirmed
//! service number (4 read, 5 write, 1 getNameList...), `function` its name. The
//! initiate exchange is one transaction carrying the ACSE association (AP titles,
//! application context, result; an authentication value is only noted as
//! `password_present`) and both sides' initiate parameters; conclude, cancel and
//! the ACSE release are paired the same way. Unconfirmed PDUs (information
//! reports: IEC 61850 reports with report id, data set and entries) and ACSE or
//! session aborts are transactions of their own. Some peers send MMS straight over
//! COTP without session and presentation; that is decoded too.
//!
//! Anomaly kinds: `bad_tpkt`, `resync`, `bad_cotp`, `cotp_error`,
//! `tsdu_too_large`, `bad_spdu`, `unknown_spdu`, `bad_ppdu`, `bad_acse`, `bad_pdu`,
//! `unknown_pdu`, `unexpected_response`, `service_mismatch`, `duplicate_invoke_id`,
//! `unanswered_request`, `truncated`, `not_mms`, `nesting_too_deep` (an MMS PDU
//! nesting constructed elements more than [`ber::MAX_NESTING`] deep), `bad_length`
//! (a BER element declaring more octets than its enclosing element holds).
use crate::{Direction, Parser, Probe, ProtocolDesc, Transport};

pub mod ber;
pub mod data;
pub mod iso;
pub mod names;
pub mod pdu;
pub mod record;
pub mod state;

pub use data::Value;
pub use record::{
    Association, Details, Initiate, InitiateParams, Reject, Report, ServiceError, Transaction,
};
pub use state::MmsParser;

/// What the first octets of a COTP data unit's payload say.
fn classify_payload(payload: &[u8], room: usize, eot: bool) -> Probe {
    let Some(&first) = payload.first() else {
        return Probe::NeedMore;
    };
    // S7comm (0x32) and S7comm-plus (0x72) share TPKT/COTP on port 102.
    if first == 0x32 || first == 0x72 {
        return Probe::NoMatch;
    }
    let li = |p: &[u8]| -> Option<Option<usize>> {
        match p.get(1) {
            None => None,
            Some(0xff) => p
                .get(2..4)
                .map(|b| Some(usize::from(u16::from_be_bytes([b[0], b[1]])) + 4)),
            Some(&n) => Some(Some(usize::from(n) + 2)),
        }
    };
    match first {
        // CONNECT, ACCEPT: parameters must fit the TPDU
        iso::si::CONNECT
        | iso::si::ACCEPT
        | iso::si::REFUSE
        | iso::si::FINISH
        | iso::si::DISCONNECT
        | iso::si::ABORT => match li(payload) {
            None => Probe::NeedMore,
            Some(Some(n)) if n <= room || !eot => {
                // CONNECT/ACCEPT carry parameters; the first must be a known unit.
                if matches!(first, iso::si::CONNECT | iso::si::ACCEPT) {
                    match payload.get(if payload.get(1) == Some(&0xff) { 4 } else { 2 }) {
                        None => Probe::NeedMore,
                        Some(1 | 5 | 16 | 17 | 19 | 20 | 21 | 22 | 51 | 52 | 193 | 194) => {
                            Probe::Match
                        }
                        Some(_) => Probe::NoMatch,
                    }
                } else {
                    Probe::Match
                }
            }
            _ => Probe::NoMatch,
        },
        // give tokens + data transfer, then presentation user data
        iso::si::GIVE_TOKENS_OR_DATA => match payload.get(..5) {
            None => {
                let want = [1u8, 0, 1, 0];
                if payload.iter().zip(want.iter()).all(|(a, b)| a == b) {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                }
            }
            Some([1, 0, 1, 0, p]) if *p == 0x61 || *p == 0x40 => Probe::Match,
            Some(_) => Probe::NoMatch,
        },
        // MMS directly over COTP: the BER element must fill the unit exactly.
        b if pdu::is_mms_tag(b) => {
            let Ok((_, id_len)) = ber::identifier(payload).map(|(_, _, _, n)| ((), n)) else {
                return Probe::NeedMore;
            };
            match ber::length(payload.get(id_len..).unwrap_or_default()) {
                Ok((Some(len), n)) => {
                    let total = id_len + n + len;
                    if total == room || (!eot && total > room) {
                        Probe::Match
                    } else {
                        Probe::NoMatch
                    }
                }
                Ok((None, _)) => Probe::NoMatch,
                Err(ber::BerError::Truncated) => Probe::NeedMore,
                Err(_) => Probe::NoMatch,
            }
        }
        _ => Probe::NoMatch,
    }
}

/// Content probe: TPKT + COTP whose first data unit starts with an ISO session
/// SPDU (CONNECT, ACCEPT, give-tokens + data with presentation data, FINISH,
/// DISCONNECT, ABORT, REFUSE) or directly with an MMS PDU that fills the unit.
/// COTP connection requests/confirms alone are `NeedMore`; S7comm (0x32) and
/// S7comm-plus (0x72) payloads are `NoMatch`.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    let mut rest = data;
    for _ in 0..8 {
        if rest.is_empty() {
            return Probe::NeedMore;
        }
        let n = match iso::tpkt_len(rest) {
            Err(_) => return Probe::NoMatch,
            Ok(None) => return Probe::NeedMore,
            Ok(Some(n)) => n,
        };
        let (Some(&li), Some(&code)) = (rest.get(4), rest.get(5)) else {
            return Probe::NeedMore;
        };
        if usize::from(li) + 5 > n || li == 0 {
            return Probe::NoMatch;
        }
        match code & 0xf0 {
            0xe0 | 0xd0 => {
                if li < 6 {
                    return Probe::NoMatch;
                }
                match rest.get(n..) {
                    Some(r) => rest = r,
                    None => return Probe::NeedMore,
                }
            }
            0xf0 => {
                if li != 2 && li != 4 {
                    return Probe::NoMatch;
                }
                let Some(&nr) = rest.get(4 + usize::from(li)) else {
                    return Probe::NeedMore;
                };
                let start = 5 + usize::from(li);
                let end = n.min(rest.len());
                let payload = rest.get(start..end).unwrap_or_default();
                return classify_payload(payload, n - start, nr & 0x80 != 0);
            }
            _ => return Probe::NoMatch,
        }
    }
    Probe::NoMatch
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(MmsParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "mms",
    transports: &[Transport::Tcp],
    ports: &[102],
    probe,
    new_parser,
};

impl crate::ProtoRecord for Transaction {
    fn operation(&self) -> crate::Operation {
        use crate::Operation;
        let Some(fc) = self.function_code else {
            return Operation::Other;
        };
        if self.is_engineering() {
            return Operation::Engineering;
        }
        match fc {
            // write, rename, define/delete variables, lists, types, semaphores,
            // event conditions/actions/enrollments, journals; output
            5
            | 3
            | 7
            | 8
            | 10
            | 11
            | 13
            | 14
            | 16
            | 18
            | 21
            | 22
            | 47
            | 48
            | 51..=54
            | 57..=59
            | 66
            | 67
            | 69
            | 70 => Operation::Write,
            // status, getNameList, identify, read, attributes, reports of status,
            // input, journals, capability list, file open/read/close/directory
            0
            | 1
            | 2
            | 4
            | 6
            | 9
            | 12
            | 15
            | 17
            | 23..=25
            | 37
            | 45
            | 49
            | 50
            | 55
            | 56
            | 60
            | 61
            | 63..=65
            | 68
            | 71..=74
            | 77 => Operation::Read,
            _ => Operation::Other,
        }
    }
    fn function_code(&self) -> Option<u32> {
        self.function_code
    }
    fn function(&self) -> Option<&str> {
        Some(self.function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Operation, ProtoRecord};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn probe_decisions() {
        use Direction::*;
        // COTP CR alone (mms-iti-iec61850-read.pcap frame 4): need more
        let cr = hex("030000130ee00000000600c1020002c2020001");
        assert_eq!(probe(ToServer, &cr), Probe::NeedMore);
        assert_eq!(probe(ToServer, &cr[..10]), Probe::NeedMore);
        // CR + DT with session CONNECT
        let mut both = cr.clone();
        both.extend(hex(
            "030000bb02f0800db20506130100160102140200023302000134020001c19c",
        ));
        assert_eq!(probe(ToServer, &both), Probe::Match);
        // mid-stream give tokens + data + fully encoded data (sample file frame 3)
        assert_eq!(
            probe(ToClient, &hex("030000b302f080010001006181a5")),
            Probe::Match
        );
        // MMS straight over COTP (mms-iti-read-request.pcap frame 12)
        assert_eq!(
            probe(
                ToServer,
                &hex("0300002002f080a017020101a412a110a00e300ca00a8008244d534724312424")
            ),
            Probe::Match
        );
        assert_eq!(probe(ToServer, &hex("0300002002f080a017")), Probe::Match);
        assert_eq!(probe(ToServer, &hex("0300002002f080a018")), Probe::NoMatch);
        // S7comm job and S7comm-plus
        assert_eq!(
            probe(
                ToServer,
                &hex("0300001902f08032010000000000080000f0000001000101e0")
            ),
            Probe::NoMatch
        );
        assert_eq!(
            probe(ToServer, &hex("0300002302f080720100")),
            Probe::NoMatch
        );
        // other protocols
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n\r\n"), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, &hex("0001000000060a0100000001")),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, &[0u8; 16]), Probe::NoMatch);
        assert_eq!(probe(ToServer, &[3]), Probe::NeedMore);
        assert_eq!(DESC.ports, &[102]);
    }

    #[test]
    fn operations() {
        let mut tx = Transaction::new("confirmed", "write");
        tx.function_code = Some(5);
        assert_eq!(tx.operation(), Operation::Write);
        for fc in [26, 27, 28, 39, 40, 41, 44, 76] {
            tx.function_code = Some(fc);
            assert_eq!(tx.operation(), Operation::Engineering, "{fc}");
        }
        for fc in [1, 4, 6, 12, 37, 72, 77] {
            tx.function_code = Some(fc);
            assert_eq!(tx.operation(), Operation::Read, "{fc}");
        }
        tx.function_code = None;
        assert_eq!(tx.operation(), Operation::Other);
        assert_eq!(tx.function(), Some("write"));
    }
}
