//! Application-layer protocol parsers.
//!
//! Each protocol lives in its own module folder (`modbus/`, `dnp3/`, ...) with its
//! parser, its request/response pairing state and its event record type.  A protocol
//! is registered by one line in [`registry::REGISTRY`] and one variant of [`Record`].
//!
//! Parsers are fed the payload bytes of one flow, per direction, in stream order (TCP,
//! after reassembly) or one datagram at a time (UDP).  They never panic on any input:
//! malformed data is reported as an [`Anomaly`] and parsing continues.
#![forbid(unsafe_code)]

pub mod dnp3;
pub mod modbus;
pub mod registry;

use serde::Serialize;

/// Capture time in nanoseconds since the Unix epoch.
pub type Timestamp = i64;

/// Which way a message travels relative to the flow's client (the side that opened
/// the connection or sent the request) and server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ToServer,
    ToClient,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// Transport a protocol runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}

/// One application transaction (request paired with its response) or a message that
/// has no request (unsolicited response, broadcast).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    Modbus(Box<modbus::Transaction>),
    Dnp3(dnp3::Transaction),
}

impl Record {
    /// The protocol name (`network.protocol`, dataset suffix, field prefix).
    pub fn protocol(&self) -> &'static str {
        match self {
            Record::Modbus(_) => "modbus",
            Record::Dnp3(_) => "dnp3",
        }
    }
    /// `event.dataset` of events carrying this record.
    pub fn dataset(&self) -> &'static str {
        match self {
            Record::Modbus(_) => "sluice.modbus",
            Record::Dnp3(_) => "sluice.dnp3",
        }
    }
    /// The protocol's own fields (serialized under the protocol's name).
    pub fn fields(&self) -> RecordFields<'_> {
        RecordFields(self)
    }
    /// Number of the primary operation (uniform across protocols).
    pub fn function_code(&self) -> u32 {
        match self {
            Record::Modbus(t) => u32::from(t.function_code),
            Record::Dnp3(t) => u32::from(t.function_code),
        }
    }
    /// Name of the primary operation.
    pub fn function(&self) -> &'static str {
        match self {
            Record::Modbus(t) => t.function,
            Record::Dnp3(t) => t.function,
        }
    }
}

/// Serializes the inner record of a [`Record`] without the enum tag.
pub struct RecordFields<'a>(&'a Record);

impl Serialize for RecordFields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Record::Modbus(t) => t.serialize(s),
            Record::Dnp3(t) => t.serialize(s),
        }
    }
}

/// A paired transaction with its timing and orientation.
#[derive(Clone, Debug, PartialEq)]
pub struct Txn {
    /// Time of the first message of the transaction (the request, when there is one).
    pub ts: Timestamp,
    /// Time of the last message (the response), if any.
    pub ts_end: Option<Timestamp>,
    /// Direction of the first message: `ToServer` for a request from the client,
    /// `ToClient` for an unsolicited message from the server.
    pub dir: Direction,
    pub record: Record,
}

/// A protocol anomaly: malformed PDU, unexpected message, resynchronisation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Anomaly {
    pub ts: Timestamp,
    pub protocol: &'static str,
    /// Stable snake_case code, e.g. `length_mismatch`, `bad_crc`, `unknown_function`.
    pub kind: &'static str,
    /// One line a human understands.
    pub message: String,
    pub dir: Direction,
}

/// Which end of the flow an identity hint describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Client,
    Server,
}

/// Device identity revealed by a protocol (Modbus FC43/14, DNP3 g0, CIP identity...).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Identity {
    #[serde(skip)]
    pub side: Option<Side>,
    /// Where the identity came from, e.g. `modbus.fc43`, `dnp3.g0`.
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What a parser produces.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Txn(Txn),
    Anomaly(Anomaly),
    Identity(Identity),
}

/// A stateful parser for one flow of one protocol.
pub trait Parser: Send {
    /// Bytes of one direction in stream order (TCP) or one whole datagram (UDP).
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>);
    /// `len` bytes are missing in `dir` (a TCP gap). The parser drops any partial PDU
    /// of that direction and resynchronises on the next data.
    fn gap(&mut self, dir: Direction, len: u64, ts: Timestamp, out: &mut Vec<Output>);
    /// The flow ended: emit requests still waiting for a response as unpaired
    /// transactions.
    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>);
}

/// Result of content-based protocol detection on the first bytes of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The bytes are this protocol.
    Match,
    /// The bytes are not this protocol.
    NoMatch,
    /// Not enough bytes to decide.
    NeedMore,
}

/// Registration entry of a protocol.
pub struct ProtocolDesc {
    pub name: &'static str,
    pub transports: &'static [Transport],
    /// Well-known server ports.
    pub ports: &'static [u16],
    /// Content probe over the first bytes seen in `dir`.
    pub probe: fn(dir: Direction, data: &[u8]) -> Probe,
    /// A fresh parser for a new flow.
    pub new_parser: fn(transport: Transport) -> Box<dyn Parser>,
}
