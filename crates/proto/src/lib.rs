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

pub mod anydesk;
pub mod bacnet;
pub mod dnp3;
pub mod dns;
pub mod enip;
pub mod ftp;
pub mod goose;
pub mod http;
pub mod iec104;
pub mod mms;
pub mod modbus;
pub mod mqtt;
pub mod opcua;
pub mod profinet;
pub mod rdp;
pub mod registry;
pub mod s7comm;
pub mod s7commplus;
pub mod smb;
pub mod ssh;
pub mod stream;
pub mod sv;
pub mod teamviewer;
pub mod telnet;
pub mod tls;
pub mod vnc;

pub use registry::{Record, RecordFields};

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

/// What every protocol's event record tells uniformly (see DESIGN.md: every ICS
/// protocol's event carries `<proto>.function_code` and `<proto>.function`).
/// What kind of operation a transaction performs on the device it talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Read,
    Write,
    /// Diagnostics, restarts, program/file transfer, application start/stop.
    Engineering,
    Other,
}

pub trait ProtoRecord {
    /// Read, write or engineering operation (drives roles and detection).
    fn operation(&self) -> Operation {
        Operation::Other
    }
    /// Number of the primary operation (Modbus function, DNP3 application function, S7
    /// parameter function, ENIP command, IEC 104 type id, BACnet service, ...).
    fn function_code(&self) -> Option<u32> {
        None
    }
    /// Name of the primary operation.
    fn function(&self) -> Option<&str> {
        None
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
    /// The device's address when the protocol states it (CIP ListIdentity, BACnet
    /// I-Am, Profinet DCP); otherwise the flow side tells which device it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<std::net::IpAddr>,
    /// The device's MAC address when only layer 2 identifies it (Profinet DCP, GOOSE).
    #[serde(skip)]
    pub mac: Option<[u8; 6]>,
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

/// A layer-2 frame handed to a frame protocol (GOOSE, Sampled Values, Profinet).
#[derive(Clone, Copy, Debug)]
pub struct L2Frame<'a> {
    pub ts: Timestamp,
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    /// Outer VLAN id (0 when untagged).
    pub vlan: u16,
    pub ethertype: u16,
    /// Bytes after the ethertype.
    pub payload: &'a [u8],
}

/// A parser of layer-2 frames; one instance per protocol per engine, so it may keep
/// per-device counters and emit them at `finish`.
pub trait FrameParser: Send {
    /// One frame. A `Txn` from here has `dir = ToServer` meaning source MAC → destination MAC.
    fn frame(&mut self, frame: &L2Frame<'_>, out: &mut Vec<Output>);
    /// End of the capture: emit summaries (e.g. frames counted per device).
    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>);
}

/// Registration entry of a layer-2 protocol.
pub struct FrameProtocolDesc {
    pub name: &'static str,
    pub ethertypes: &'static [u16],
    pub new_parser: fn() -> Box<dyn FrameParser>,
}
