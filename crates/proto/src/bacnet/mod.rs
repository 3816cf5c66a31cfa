//! BACnet/IP (ANSI/ASHRAE 135, Annex J) over UDP 47808.
//!
//! - [`parser`]: BVLC header (Original-Unicast/Broadcast-NPDU, Forwarded-NPDU with
//!   its originating address, Register-Foreign-Device, BVLC-Result...), NPDU
//!   (DNET/DADR, SNET/SADR, hop count, network layer messages), APDU header.
//! - [`tags`]: tagged encoding and application values (null, boolean, unsigned,
//!   signed, real, double, octet / character / bit strings, enumerated, date, time,
//!   object identifier), bounded.
//! - [`record`]: the event record [`Transaction`] and the service parameters:
//!   Who-Is / I-Am, Who-Has / I-Have, ReadProperty(Multiple) with their ACK values,
//!   WriteProperty(Multiple) with priority ([`Transaction::written`]),
//!   ReinitializeDevice and DeviceCommunicationControl (password presence only),
//!   AtomicRead/WriteFile, SubscribeCOV(Property), COV notifications,
//!   (UTC)TimeSynchronization, Create/DeleteObject, errors, rejects, aborts.
//! - [`state`]: pairing by invoke id, segmented answers, BVLC results, identity.
//! - [`names`], [`tables`]: services, object types, properties, error codes and the
//!   ASHRAE vendor list (`vendors.tsv`).
//! - [`encode`]: message builders for tests and traffic generation.
//!
//! `bacnet.function_code` is the service choice and `bacnet.function` the service
//! name (DESIGN.md); messages without a service use `256 + BVLC function`
//! (Register-Foreign-Device, Read-BDT, BVLC-Result...), `512 + message type`
//! (network layer messages) and `768 + PDU type` (a reject or abort whose request
//! was not seen). Operations: WriteProperty(Multiple), Add/RemoveListElement,
//! Create/DeleteObject, WriteGroup are `Write`; ReinitializeDevice,
//! DeviceCommunicationControl and AtomicRead/WriteFile are `Engineering`;
//! Read* and Get*Summary/Information are `Read`.
//!
//! Anomaly kinds: `bad_bvlc_type`, `bad_length`, `truncated`, `bad_npdu_version`,
//! `unknown_bvlc_function`, `bad_pdu_type`, `unexpected_response`,
//! `unanswered_request`, `not_bacnet`, `nesting_too_deep` (more than
//! [`tags::MAX_DEPTH`] nested opening tags in the service data). `bad_length` also
//! covers a tag declaring more octets than the APDU holds.
use crate::{Direction, Parser, Probe, ProtocolDesc, Transport};

pub mod encode;
pub mod names;
pub mod parser;
pub mod record;
pub mod state;
pub mod tables;
pub mod tags;

pub use record::{Detail, Network, Property, Transaction};
pub use state::BacnetParser;
pub use tags::{ObjectId, Value};

/// Content probe (one datagram): BVLC type 0x81, a defined function, and either an
/// NPDU of version 1 whose header decodes with a network layer message or an APDU of
/// a defined type and service choice, or a BVLC-only message
/// whose length field equals the datagram's length and whose body has the
/// function's size.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    let Ok(b) = parser::parse_bvlc(data) else {
        return Probe::NoMatch;
    };
    if usize::from(b.length) != data.len() && b.npdu.is_none() {
        return Probe::NoMatch;
    }
    match b.npdu {
        Some(n) => match parser::parse_npdu(n) {
            Ok(npdu) if npdu.message_type.is_some() => Probe::Match,
            Ok(npdu) => match parser::parse_apdu(npdu.payload) {
                // A defined PDU type and service choice.
                Ok(a) => match (a.pdu_type, a.service) {
                    (0 | 2 | 3 | 5, Some(s)) if s <= 33 => Probe::Match,
                    (1, Some(s)) if s <= 14 => Probe::Match,
                    (4 | 6 | 7, _) => Probe::Match,
                    _ => Probe::NoMatch,
                },
                Err(_) => Probe::NoMatch,
            },
            Err(_) => Probe::NoMatch,
        },
        None => match (b.function, b.body.len()) {
            (0x00, 2) | (0x05, 2) | (0x02 | 0x06, 0) | (0x08, 6) => Probe::Match,
            (0x01 | 0x03 | 0x07, n) if n % 10 == 0 => Probe::Match,
            _ => Probe::NoMatch,
        },
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(BacnetParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "bacnet",
    transports: &[Transport::Udp],
    ports: &[47808],
    probe,
    new_parser,
};

impl crate::ProtoRecord for Transaction {
    fn operation(&self) -> crate::Operation {
        Transaction::operation(self)
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
        let rp = [
            0x81, 0x0a, 0x00, 0x11, 0x01, 0x04, 0x00, 0x05, 0x01, 0x0c, 0x0c, 0x02, 0x3f, 0xff,
            0xff, 0x19, 0x4b,
        ];
        assert_eq!(probe(ToServer, &rp), Probe::Match);
        assert_eq!(probe(ToServer, &rp[..8]), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, &[0x81, 0x00, 0x00, 0x06, 0x00, 0x20]),
            Probe::Match
        );
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n\r\n"), Probe::NoMatch);
        assert_eq!(probe(ToServer, &[0u8; 16]), Probe::NoMatch);
        // DNS query header
        assert_eq!(
            probe(
                ToServer,
                &[0x81, 0x01, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]
            ),
            Probe::NoMatch
        );
    }
}
