//! TeamViewer recognition (TCP 5938, or HTTP tunnelling on 80/443).
//!
//! What this relies on (public DPI signatures, no vendor specification exists):
//! - on its own port (5938) TeamViewer messages start with the two-byte magic
//!   `0x17 0x24` (the first message of each direction) and later also `0x11 0x30`,
//!   followed by a command byte (nDPI's and libprotoident's TeamViewer signatures;
//!   libprotoident adds that the first message of each side is 37 bytes starting
//!   `17 24 0a 20`);
//! - over HTTP the client identifies itself as `DynGate` (TeamViewer's former
//!   product name) and polls `/din.aspx` (public IDS signatures).
//!
//! The probe matches only those bytes, so `detected_by` is `content` or `http`; the
//! engine's port preference makes port 5938 win ties. The length field that follows
//! the command byte is *inferred* (16-bit little endian payload length, which makes
//! the 37-byte first message 5 + 32 bytes): messages are walked with it only while
//! each one starts with a known magic, and the walk stops (`framing_lost`) at the
//! first that does not (later traffic is encrypted). Command bytes are reported as
//! numbers: their meaning is not public.
//!
//! Events: one `handshake` record when both sides sent their first message (or at
//! the end), one `session` record at the end of the flow with the command bytes seen.
use crate::{
    Direction, Output, Parser, Probe, ProtoRecord, ProtocolDesc, Record, Timestamp, Transport, Txn,
};
use serde::Serialize;

/// Most command bytes kept per direction.
pub const MAX_COMMANDS: usize = 32;
/// Longest first message the probe accepts.
pub const MAX_FIRST: usize = 8192;
/// Longest HTTP request header buffered while looking for DynGate.
pub const MAX_HTTP: usize = 2048;
/// Magics of TeamViewer messages.
pub const MAGICS: [[u8; 2]; 2] = [[0x17, 0x24], [0x11, 0x30]];

/// One TeamViewer event record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transaction {
    /// `handshake` or `session`.
    pub kind: &'static str,
    /// `content` (magic bytes) or `http` (DynGate HTTP tunnel).
    pub detected_by: &'static str,
    /// First magic seen, e.g. `1724`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub magic: Option<String>,
    /// Command byte of the client's first message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_command: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_command: Option<u8>,
    /// Command bytes of the framed messages (session record), per direction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_commands: Vec<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_commands: Vec<u8>,
    /// Messages framed per direction (session record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_messages: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_messages: Option<u32>,
    /// HTTP request line of a DynGate tunnel (bounded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_request: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub framing_lost: bool,
}

impl ProtoRecord for Transaction {}

fn is_dyngate_http(data: &[u8]) -> bool {
    let http = data.starts_with(b"GET ") || data.starts_with(b"POST ");
    http && (data.starts_with(b"GET /din.aspx") || data.windows(7).any(|w| w == b"DynGate"))
}

/// Content probe (see the module documentation): a magic, a command byte and a
/// length consistent with the bytes seen (the first message ends where the data ends
/// or where the next message's magic starts), or a DynGate HTTP request.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    match data {
        [] => return Probe::NeedMore,
        [0x17] | [0x11] | [0x17, 0x24, ..] | [0x11, 0x30, ..] => {}
        _ if is_dyngate_http(data) => return Probe::Match,
        _ => return Probe::NoMatch,
    }
    let Some(h) = data.get(..5) else {
        return Probe::NeedMore;
    };
    let end = 5 + usize::from(u16::from_le_bytes([h[3], h[4]]));
    if end > MAX_FIRST {
        return Probe::NoMatch;
    }
    match data.get(end..end + 2) {
        _ if data.len() <= end => Probe::Match,
        Some(next) if MAGICS.iter().any(|m| m == next) => Probe::Match,
        None if data.len() == end + 1 && matches!(data.get(end), Some(0x17 | 0x11)) => Probe::Match,
        _ => Probe::NoMatch,
    }
}

#[derive(Default)]
struct Half {
    buf: Vec<u8>,
    skip: usize,
    first: Option<([u8; 2], u8)>,
    commands: Vec<u8>,
    messages: u32,
    stopped: bool,
}

/// The TeamViewer parser of one flow.
#[derive(Default)]
pub struct TeamviewerParser {
    halves: [Half; 2],
    http: Option<String>,
    start: Option<Timestamp>,
    handshake_sent: bool,
    framing_lost: bool,
}

impl TeamviewerParser {
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self, kind: &'static str) -> Transaction {
        let [c, s] = &self.halves;
        let magic = c
            .first
            .or(s.first)
            .map(|(m, _)| format!("{:02x}{:02x}", m[0], m[1]));
        Transaction {
            kind,
            detected_by: if self.http.is_some() {
                "http"
            } else {
                "content"
            },
            magic,
            client_command: c.first.map(|f| f.1),
            server_command: s.first.map(|f| f.1),
            client_commands: Vec::new(),
            server_commands: Vec::new(),
            client_messages: None,
            server_messages: None,
            http_request: self.http.clone(),
            framing_lost: false,
        }
    }

    fn emit(&mut self, kind: &'static str, ts: Timestamp, out: &mut Vec<Output>) {
        let mut tx = self.record(kind);
        if kind == "session" {
            tx.client_commands = self.halves[0].commands.clone();
            tx.server_commands = self.halves[1].commands.clone();
            tx.client_messages = Some(self.halves[0].messages);
            tx.server_messages = Some(self.halves[1].messages);
            tx.framing_lost = self.framing_lost;
        }
        out.push(Output::Txn(Txn {
            ts: self.start.unwrap_or(ts),
            ts_end: Some(ts),
            dir: Direction::ToServer,
            record: Record::Teamviewer(Box::new(tx)),
        }));
    }
}

impl Parser for TeamviewerParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        self.start.get_or_insert(ts);
        let idx = usize::from(dir == Direction::ToClient);
        if self.http.is_none() && self.halves[idx].first.is_none() && !self.halves[idx].stopped {
            // Undecided direction: an HTTP request is buffered up to the end of its
            // header (bounded) and checked for the DynGate client.
            let h = &mut self.halves[idx];
            let maybe_http = |b: &[u8]| {
                let n = b.len().min(5);
                b.get(..n) == b"POST ".get(..n) || b.get(..n.min(4)) == b"GET ".get(..n.min(4))
            };
            if h.buf.len() + data.len() > 0
                && maybe_http(if h.buf.is_empty() { data } else { &h.buf })
            {
                let room = MAX_HTTP.saturating_sub(h.buf.len());
                h.buf
                    .extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
                let complete =
                    h.buf.windows(4).any(|w| w == b"\r\n\r\n") || h.buf.len() >= MAX_HTTP;
                if !complete {
                    return;
                }
                if is_dyngate_http(&h.buf) {
                    let line = h
                        .buf
                        .split(|&c| c == b'\r' || c == b'\n')
                        .next()
                        .unwrap_or_default();
                    let line = line.get(..line.len().min(256)).unwrap_or_default();
                    self.http = Some(String::from_utf8_lossy(line).into_owned());
                } else {
                    h.stopped = true;
                }
                h.buf = Vec::new();
                if !self.handshake_sent && self.http.is_some() {
                    self.handshake_sent = true;
                    self.emit("handshake", ts, out);
                }
                return;
            }
        }
        if self.http.is_some() {
            return;
        }
        let h = &mut self.halves[idx];
        if h.stopped {
            return;
        }
        let mut data = data;
        if h.skip > 0 {
            let n = h.skip.min(data.len());
            h.skip -= n;
            data = data.get(n..).unwrap_or_default();
        }
        h.buf.extend_from_slice(data);
        let buf = std::mem::take(&mut h.buf);
        let mut pos = 0;
        loop {
            let rest = buf.get(pos..).unwrap_or_default();
            let Some(hdr) = rest.get(..5) else { break };
            let magic = [hdr[0], hdr[1]];
            if !MAGICS.contains(&magic) {
                h.stopped = true;
                self.framing_lost = true;
                break;
            }
            let cmd = hdr[2];
            let len = usize::from(u16::from_le_bytes([hdr[3], hdr[4]]));
            h.first.get_or_insert((magic, cmd));
            h.messages = h.messages.saturating_add(1);
            if h.commands.len() < MAX_COMMANDS {
                h.commands.push(cmd);
            }
            let total = 5 + len;
            let have = rest.len().min(total);
            pos += have;
            if have < total {
                h.skip = total - have;
                break;
            }
        }
        let mut buf = buf;
        if h.stopped {
            buf.clear();
        } else {
            buf.drain(..pos.min(buf.len()));
        }
        h.buf = buf;
        if !self.handshake_sent && self.halves[0].first.is_some() && self.halves[1].first.is_some()
        {
            self.handshake_sent = true;
            self.emit("handshake", ts, out);
        }
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        let idx = usize::from(dir == Direction::ToClient);
        self.halves[idx].stopped = true;
        self.halves[idx].buf.clear();
        self.framing_lost = true;
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        let seen = self.http.is_some() || self.halves.iter().any(|h| h.first.is_some());
        if !seen {
            return;
        }
        if !self.handshake_sent {
            self.handshake_sent = true;
            self.emit("handshake", ts, out);
        }
        if self.http.is_none() {
            self.emit("session", ts, out);
        }
        for h in &mut self.halves {
            h.buf = Vec::new();
        }
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(TeamviewerParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "teamviewer",
    transports: &[Transport::Tcp],
    ports: &[5938],
    probe,
    new_parser,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_decisions() {
        let d = Direction::ToServer;
        assert_eq!(probe(d, &[0x17, 0x24, 0x0a, 0x20, 0x00]), Probe::Match);
        assert_eq!(probe(d, &[0x11, 0x30, 0x0a]), Probe::NeedMore);
        assert_eq!(probe(d, &[0x11, 0x30, 0x0a, 1, 0, 9]), Probe::Match);
        assert_eq!(probe(d, &[0x11, 0x30, 0x0a, 1, 0, 9, 9, 9]), Probe::NoMatch);
        assert_eq!(
            probe(d, &[0x11, 0x30, 0x0a, 1, 0, 9, 0x17, 0x24]),
            Probe::Match
        );
        assert_eq!(probe(d, &[0x17]), Probe::NeedMore);
        assert_eq!(probe(d, &[0x17, 0x25, 0x0a]), Probe::NoMatch);
        assert_eq!(probe(d, b"GET /din.aspx?s=1 HTTP/1.1\r\n"), Probe::Match);
        assert_eq!(
            probe(d, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Probe::NoMatch
        );
        assert_eq!(probe(d, &[0x16, 0x03, 0x01, 0x00, 0x10]), Probe::NoMatch);
    }
}
