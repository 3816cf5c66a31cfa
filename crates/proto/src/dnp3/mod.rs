//! DNP3 (IEEE 1815) over TCP and UDP: link layer with CRCs, transport reassembly,
//! application layer with object decoding, request/response pairing.
//!
//! Layout:
//! - [`link`]: frame header, DNP3 CRC-16, CRC-checked user data extraction;
//! - [`transport`]: segment reassembly into application fragments;
//! - [`app`]: application header, object headers, object data;
//! - [`objects`]: object library (sizes, value decoding);
//! - [`state`]: the stream [`Parser`] and request/response pairing;
//! - [`encode`]: frame and fragment builders (traffic generation, round-trip tests).
//!
//! # Transactions
//! One [`Transaction`] per request and its response (paired by application
//! sequence number and link addresses, not by the flow direction, so that a flow
//! picked up mid-stream or a UDP flow whose client was guessed wrong still pairs).
//! Messages without a request are transactions of their own: unsolicited responses
//! (130), responses whose request was not seen, and confirms (function 0), which
//! are emitted as their own small transaction (like Suricata and Zeek log them).
//! A multi-fragment response is merged into one transaction; it is emitted on the
//! fragment with FIN.  Requests that expect no response (confirm, *_no_ack,
//! broadcast destinations) are emitted at once; other requests are emitted when
//! answered, when their sequence number is reused, or at `finish()`.
//! Secure Authentication: a challenge (131) is a transaction of its own, as is the
//! master's authenticate request (32) answering it; the challenged request (e.g. a
//! DIRECT OPERATE) stays pending and pairs with the response that follows.
//! `Txn::dir` is the direction the first message travelled in (`ToClient` for an
//! unsolicited response from the flow's server).
//!
//! Link-layer-only frames (no user data: reset link states, test link states,
//! request link status and their ACK / link status answers) are transactions too:
//! a primary frame paired with the next secondary frame between the same stations.
//! Their `function_code` is `256 + (control & 0x4F)` (0x100 plus the PRM bit and
//! the link function), outside the application range so rules on application
//! function codes never match them; `function` and `link_function` carry the
//! link function name (`request_link_status`, `link_status`, `ack`...).  Zeek logs
//! nothing for those frames (dnp3-zeek-link-only: no event for the 0x49 / 0x8b
//! frames); Suricata neither.  The link ACK of a confirmed-user-data frame is part
//! of that data exchange and makes no transaction.
//!
//! Values: `points` are the request's (what is written, selected, operated),
//! `response_points` the response's (measurements, echoed commands with their
//! status).  Bounds: fragments of at most 2048 octets ([`transport::MAX_FRAGMENT`]),
//! [`MAX_POINTS`] points per fragment and [`state::MAX_TXN_POINTS`] per transaction,
//! each limit reported as an anomaly when hit.
//!
//! Anomaly kinds: `bad_crc`, `bad_length`, `resync` (octets skipped to find
//! `05 64`), `truncated` (datagram or flow ends inside a frame),
//! `transport_sequence`, `transport_no_fir`, `transport_incomplete`,
//! `fragment_too_large`, `app_too_short`, `unknown_function`, `bad_qualifier`,
//! `bad_range`, `truncated_object`, `unknown_object_size`, `too_many_objects`,
//! `too_many_points`.
pub mod app;
pub mod encode;
pub mod link;
pub mod names;
pub mod objects;
pub mod state;
pub mod transport;

pub use app::{ObjectHeader, MAX_POINTS};
pub use objects::{Crob, FileObject, ObjectName, Point, Value};

use crate::{Direction, Parser, Probe, ProtocolDesc, Transport};
use serde::Serialize;

/// Internal indications as a set of named flags; serializes as the list of the
/// names of the bits set (`["need_time", "device_restart"]`), IIN1 first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IinFlags(pub u16);

impl IinFlags {
    /// Names of the bits set.
    pub fn names(&self) -> Vec<&'static str> {
        names::iin_flags(self.0)
    }
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    /// Is the flag of this name set?
    pub fn contains(&self, name: &str) -> bool {
        names::iin_flag_names(self.0).any(|n| n == name)
    }
}

impl Serialize for IinFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(names::iin_flag_names(self.0))
    }
}

/// One DNP3 transaction: the event record emitted under `"dnp3"`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub struct Transaction {
    /// Application function of the request (or of the response when there is no
    /// request); `256 + (link control & 0x4F)` for link-layer-only frames.
    pub function_code: u16,
    pub function: &'static str,
    /// Link source address of the first message (the request when there is one).
    pub source: u16,
    /// Link destination address of the first message.
    pub destination: u16,
    /// Application sequence number of the first message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_function_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_function: Option<&'static str>,
    /// Internal indications of the response, `IIN1 << 8 | IIN2` (last fragment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iin: Option<u16>,
    /// The IIN bits set, serialized as their names (`device_restart`, ...).
    #[serde(skip_serializing_if = "IinFlags::is_empty")]
    pub iin_flags: IinFlags,
    /// Object headers of the request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectHeader>,
    /// Object headers of the response (all its fragments).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_objects: Vec<ObjectHeader>,
    /// Values carried by the request (written / selected / operated points).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<Point>,
    /// Values carried by the response (measurements, echoed commands with status).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_points: Vec<Point>,
    pub unsolicited: bool,
    /// A request message is part of the transaction.
    pub request: bool,
    /// A response message is part of the transaction.
    pub response: bool,
    /// Link function of a link-layer-only transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_function: Option<&'static str>,
    /// Link function of the secondary frame answering a link-layer-only request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_link_function: Option<&'static str>,
    /// An OPERATE whose objects are byte-identical to the preceding SELECT between
    /// the same stations in this flow.
    pub select_operate_linked: bool,
    /// Number of response fragments, when the response had more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_fragments: Option<u32>,
}

impl Transaction {
    /// An application transaction skeleton for a message with `function_code`.
    pub(crate) fn app(function_code: u8, source: u16, destination: u16, sequence: u8) -> Self {
        Transaction {
            function_code: u16::from(function_code),
            function: names::function_name(function_code),
            source,
            destination,
            sequence: Some(sequence),
            response_function_code: None,
            response_function: None,
            iin: None,
            iin_flags: IinFlags(0),
            objects: Vec::new(),
            response_objects: Vec::new(),
            points: Vec::new(),
            response_points: Vec::new(),
            unsolicited: false,
            request: false,
            response: false,
            link_function: None,
            response_link_function: None,
            select_operate_linked: false,
            response_fragments: None,
        }
    }

    /// The application function code when this is an application transaction.
    pub fn app_function(&self) -> Option<u8> {
        if self.link_function.is_some() {
            None
        } else {
            u8::try_from(self.function_code).ok()
        }
    }

    /// A control operation: select, operate, direct operate (no ack), or a write of
    /// output objects (binary outputs g10, CROB g12, analog outputs g40/g41).
    pub fn is_control(&self) -> bool {
        match self.app_function() {
            Some(3..=6) => true,
            Some(2) => self
                .objects
                .iter()
                .any(|o| matches!(o.group, 10 | 12 | 40 | 41)),
            _ => false,
        }
    }

    /// Points a request changes: `(group, index, value)` of the CROBs (1 = close /
    /// on, 0 = trip / off), analog output blocks and written outputs of an operate,
    /// direct operate (no ack) or write.  A SELECT changes nothing and yields none.
    pub fn operated_points(&self) -> Vec<(u8, u32, f64)> {
        if !matches!(self.app_function(), Some(2 | 4 | 5 | 6)) {
            return Vec::new();
        }
        self.points
            .iter()
            .filter(|p| matches!(p.group, 10 | 12 | 40 | 41))
            .filter_map(|p| Some((p.group, p.index, p.value.as_ref()?.as_f64()?)))
            .collect()
    }
}

/// Content probe: a link header with a valid CRC.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    if data.first().is_some_and(|&b| b != link::START[0])
        || data.get(1).is_some_and(|&b| b != link::START[1])
        || data.get(2).is_some_and(|&b| b < 5)
    {
        return Probe::NoMatch;
    }
    if data.len() < link::HEADER_LEN {
        return Probe::NeedMore;
    }
    match link::parse_header(data) {
        Ok(_) => Probe::Match,
        Err(_) => Probe::NoMatch,
    }
}

fn new_parser(transport: Transport) -> Box<dyn Parser> {
    Box::new(state::Dnp3Parser::new(transport))
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "dnp3",
    transports: &[Transport::Tcp, Transport::Udp],
    ports: &[20000],
    probe,
    new_parser,
};

impl crate::ProtoRecord for Transaction {
    fn function_code(&self) -> Option<u32> {
        Some(u32::from(self.function_code))
    }
    fn function(&self) -> Option<&str> {
        Some(self.function)
    }
    fn operation(&self) -> crate::Operation {
        use crate::Operation;
        match self.function_code {
            1 | 129 | 130 => Operation::Read,
            2..=6 | 22 => Operation::Write,
            7..=21 | 24..=31 => Operation::Engineering,
            _ => Operation::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_cases() {
        let req = [0x05, 0x64, 0x05, 0x49, 0x64, 0x00, 0x01, 0x00, 0x7e, 0x5f];
        assert_eq!(probe(Direction::ToServer, &req), Probe::Match);
        assert_eq!(probe(Direction::ToServer, &req[..9]), Probe::NeedMore);
        assert_eq!(probe(Direction::ToServer, &[]), Probe::NeedMore);
        assert_eq!(probe(Direction::ToServer, &[0x05]), Probe::NeedMore);
        assert_eq!(probe(Direction::ToServer, &[0x05, 0x65]), Probe::NoMatch);
        assert_eq!(
            probe(Direction::ToServer, b"GET / HTTP/1.1\r\n"),
            Probe::NoMatch
        );
        let mut bad = req;
        bad[8] ^= 0xff;
        assert_eq!(probe(Direction::ToServer, &bad), Probe::NoMatch);
    }
}
