//! Framing, chunk assembly, security tracking and pairing for one OPC UA binary
//! (UA-TCP) flow.
//!
//! Framing: each direction's bytes go through a buffer that never keeps more than
//! one incomplete message ([`MAX_MESSAGE`] bytes); a larger message is reported
//! (`message_too_large`) and its bytes are skipped. A header with an unknown type,
//! a bad chunk type or an impossible size is reported and the direction scans byte
//! by byte for the next valid header (`resync`); too many consecutive bad headers
//! end parsing of the flow (`not_opcua`). Decisions depend only on the bytes.
//!
//! Chunks: intermediate chunks (`C`) of a message are assembled per request id up
//! to [`MAX_ASSEMBLY`] bytes and decoded with the final chunk (`F`); an abort chunk
//! (`A`) drops them.
//!
//! Security: an OPN whose policy is `#None` (or whose request asks for mode None)
//! makes the channel plain: every MSG body is decoded. With another policy the OPN
//! body is encrypted; MSG bodies are then decoded only when they start with a
//! known service encoding id and decode completely (mode Sign), otherwise the
//! transaction has `encrypted: true` and headers only. A flow picked up mid-stream
//! is treated the same way.
//!
//! Pairing: a response pairs with the pending request of the same request id
//! (sequence header) and kind (OPN / MSG) from the other direction; HEL pairs with
//! the next ACK or ERR. Request or response is told by the service encoding id when
//! the body is read, else by the direction. CLO expects no answer.
//!
//! Identity: CreateSession gives the client's application description
//! (`opcua.application`, client side) and the answer's server description (server
//! side); GetEndpoints answers give the server's too.
use super::binary::Reader;
use super::names::{self, ServiceKind};
use super::parser::{self, Header, HEADER_LEN};
use super::record::{Application, Channel, Hello, Transaction};
use super::services;
use crate::stream::{Framer, PendingQueue};
use crate::{Anomaly, Direction, Identity, Output, Parser, Record, Side, Timestamp, Txn};

/// Largest message buffered.
pub const MAX_MESSAGE: usize = 1 << 20;
/// Largest assembled multi-chunk body.
pub const MAX_ASSEMBLY: usize = 1 << 20;
/// Messages being assembled per direction.
pub const MAX_PARTIAL: usize = 8;
/// Requests waiting for a response.
pub const MAX_PENDING: usize = 128;
/// Consecutive bad headers that end parsing of a flow without a valid message.
pub const MAX_BAD_UNCONFIRMED: u32 = 2;
/// ... of a flow that had valid messages.
pub const MAX_BAD_CONFIRMED: u32 = 8;
/// Bytes skipped while scanning that count as one more bad header.
pub const SCAN_BUDGET: usize = 1024;

#[derive(Default)]
struct Half {
    framer: Framer,
    scanning: bool,
    skipped: usize,
    budget: usize,
    /// Bytes of an oversized message still to discard.
    skip: usize,
    partial: Vec<Partial>,
}

struct Partial {
    request_id: u32,
    body: Vec<u8>,
    chunks: u32,
    ts: Timestamp,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Security {
    /// No OPN seen.
    Unknown,
    /// Policy None: bodies are plain.
    Plain,
    /// A real policy: bodies may be encrypted.
    Secured,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hello,
    Open,
    Msg,
}

struct Pending {
    ts: Timestamp,
    dir: Direction,
    kind: Kind,
    request_id: u32,
    tx: Transaction,
}

/// The OPC UA parser of one flow.
pub struct OpcuaParser {
    halves: [Half; 2],
    pending: PendingQueue<Pending>,
    security: Security,
    confirmed: bool,
    bad_streak: u32,
    disabled: bool,
    /// Last identity emitted per side (client, server).
    identities: [Option<Identity>; 2],
}

impl Default for OpcuaParser {
    fn default() -> Self {
        Self::new()
    }
}

fn anomaly(
    out: &mut Vec<Output>,
    ts: Timestamp,
    dir: Direction,
    kind: &'static str,
    message: String,
) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol: "opcua",
        kind,
        message,
        dir,
    }));
}

fn emit(
    out: &mut Vec<Output>,
    ts: Timestamp,
    ts_end: Option<Timestamp>,
    dir: Direction,
    tx: Transaction,
) {
    out.push(Output::Txn(Txn {
        ts,
        ts_end,
        dir,
        record: Record::Opcua(Box::new(tx)),
    }));
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl OpcuaParser {
    pub fn new() -> OpcuaParser {
        OpcuaParser {
            halves: [Half::default(), Half::default()],
            pending: PendingQueue::new(MAX_PENDING),
            security: Security::Unknown,
            confirmed: false,
            bad_streak: 0,
            disabled: false,
            identities: [None, None],
        }
    }

    /// The parser gave up on the flow (not OPC UA).
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    fn half(&mut self, dir: Direction) -> &mut Half {
        let [a, b] = &mut self.halves;
        match dir {
            Direction::ToServer => a,
            Direction::ToClient => b,
        }
    }

    fn bad(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.bad_streak = self.bad_streak.saturating_add(1);
        let limit = if self.confirmed {
            MAX_BAD_CONFIRMED
        } else {
            MAX_BAD_UNCONFIRMED
        };
        if self.bad_streak >= limit {
            self.disabled = true;
            for h in &mut self.halves {
                h.framer.release();
                h.partial = Vec::new();
            }
            anomaly(
                out,
                ts,
                dir,
                "not_opcua",
                format!(
                    "{} consecutive malformed messages{}: no longer parsing this flow as OPC UA",
                    self.bad_streak,
                    if self.confirmed {
                        ""
                    } else {
                        " and no valid one"
                    }
                ),
            );
        }
    }

    fn step(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> usize {
        let h = self.half(dir);
        if h.skip > 0 {
            let n = h.skip.min(bytes.len());
            h.skip -= n;
            return n;
        }
        if h.scanning {
            let Some(hdr) = Header::parse(bytes) else {
                return 0;
            };
            if parser::valid(&hdr) {
                let h = self.half(dir);
                h.scanning = false;
                h.budget = 0;
                let skipped = std::mem::take(&mut h.skipped);
                if skipped > 0 {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "resync",
                        format!(
                            "resynchronised on an OPC UA header after skipping {skipped} bytes"
                        ),
                    );
                }
            } else {
                let h = self.half(dir);
                h.skipped = h.skipped.saturating_add(1);
                h.budget += 1;
                if h.budget >= SCAN_BUDGET {
                    h.budget = 0;
                    self.bad(dir, ts, out);
                }
                return 1;
            }
        }
        let Some(hdr) = Header::parse(bytes) else {
            return 0;
        };
        if !parser::valid(&hdr) {
            anomaly(
                out,
                ts,
                dir,
                "bad_header",
                format!(
                    "invalid message header {:?} chunk 0x{:02x} size {}",
                    String::from_utf8_lossy(&hdr.message_type),
                    hdr.chunk,
                    hdr.size
                ),
            );
            let h = self.half(dir);
            h.scanning = true;
            h.skipped = 1;
            h.budget = 1;
            self.bad(dir, ts, out);
            return 1;
        }
        let size = usize::try_from(hdr.size).unwrap_or(usize::MAX);
        if size > MAX_MESSAGE {
            anomaly(
                out,
                ts,
                dir,
                "message_too_large",
                format!("{} message of {size} bytes skipped", hdr.type_str()),
            );
            let n = size.min(bytes.len());
            self.half(dir).skip = size - n;
            return n;
        }
        match bytes.get(..size) {
            None => 0,
            Some(m) => {
                self.confirmed = true;
                self.bad_streak = 0;
                self.message(dir, &hdr, m, ts, out);
                size
            }
        }
    }

    fn push_pending(&mut self, p: Pending, out: &mut Vec<Output>) {
        let ts = p.ts;
        if let Some(old) = self.pending.push(p) {
            anomaly(
                out,
                ts,
                old.dir,
                "unanswered_request",
                format!(
                    "more than {MAX_PENDING} requests waiting: {} request given up",
                    old.tx.function
                ),
            );
            emit(out, old.ts, None, old.dir, old.tx);
        }
    }

    fn take_pending(
        &mut self,
        dir: Direction,
        kind: Kind,
        request_id: Option<u32>,
    ) -> Option<Pending> {
        self.pending.take(|p| {
            p.dir != dir
                && p.kind == kind
                && (request_id.is_none() || Some(p.request_id) == request_id)
        })
    }

    fn message(
        &mut self,
        dir: Direction,
        h: &Header,
        m: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let body = m.get(HEADER_LEN..).unwrap_or_default();
        match &h.message_type {
            b"HEL" => {
                let mut tx = Transaction {
                    function_code: names::message_type_code(&h.message_type),
                    function: "hello",
                    message_type: "HEL",
                    request: true,
                    ..Transaction::default()
                };
                match parser::parse_hello(body, true) {
                    Some(hel) => {
                        tx.endpoint_url = hel.endpoint_url.clone().map(String::into_boxed_str);
                        tx.hello = Some(Box::new(Hello {
                            protocol_version: hel.protocol_version,
                            receive_buffer_size: hel.receive_buffer_size,
                            send_buffer_size: hel.send_buffer_size,
                            max_message_size: hel.max_message_size,
                            max_chunk_count: hel.max_chunk_count,
                            ..Hello::default()
                        }));
                    }
                    None => {
                        tx.truncated = true;
                        anomaly(out, ts, dir, "truncated", "HEL body too short".into());
                    }
                }
                self.push_pending(
                    Pending {
                        ts,
                        dir,
                        kind: Kind::Hello,
                        request_id: 0,
                        tx,
                    },
                    out,
                );
            }
            b"ACK" | b"ERR" => {
                let found = self.take_pending(dir, Kind::Hello, None);
                let (mut tx, start, first_dir) = match found {
                    Some(p) => (p.tx, p.ts, p.dir),
                    None => {
                        let name = names::message_type_name(&h.message_type);
                        (
                            Transaction {
                                function_code: names::message_type_code(&h.message_type),
                                function: name,
                                message_type: h.type_str(),
                                ..Transaction::default()
                            },
                            ts,
                            dir,
                        )
                    }
                };
                tx.response = true;
                if &h.message_type == b"ACK" {
                    if let Some(ack) = parser::parse_hello(body, false) {
                        let hel = tx.hello.get_or_insert_with(Default::default);
                        hel.server_receive_buffer_size = Some(ack.receive_buffer_size);
                        hel.server_send_buffer_size = Some(ack.send_buffer_size);
                    } else {
                        tx.truncated = true;
                    }
                } else if let Some((code, reason)) = parser::parse_error(body) {
                    tx.status = Some(code);
                    tx.status_name = Some(names::status_name(code));
                    tx.reason = reason.map(String::into_boxed_str);
                } else {
                    tx.truncated = true;
                }
                emit(out, start, Some(ts), first_dir, tx);
            }
            b"RHE" => {
                let mut tx = Transaction {
                    function_code: names::message_type_code(&h.message_type),
                    function: "reverse_hello",
                    message_type: "RHE",
                    request: true,
                    ..Transaction::default()
                };
                match parser::parse_reverse_hello(body) {
                    Some((_, url)) => tx.endpoint_url = url.map(String::into_boxed_str),
                    None => tx.truncated = true,
                }
                emit(out, ts, None, dir, tx);
            }
            _ => self.secure(dir, h, m, ts, out),
        }
    }

    /// OPN / MSG / CLO.
    fn secure(
        &mut self,
        dir: Direction,
        h: &Header,
        m: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let channel_id = u32_at(m, 8);
        let mut r = Reader::new(m);
        r.pos = 12;
        let is_open = &h.message_type == b"OPN";
        let mut chan = Channel::default();
        let headers_ok = if is_open {
            services::asymmetric_header(&mut r, &mut chan).is_some()
        } else {
            r.u32().is_some()
        };
        let seq = if headers_ok {
            r.u32().zip(r.u32())
        } else {
            None
        };
        let Some((_seq, request_id)) = seq else {
            anomaly(
                out,
                ts,
                dir,
                "truncated",
                format!("{} shorter than its security headers", h.type_str()),
            );
            return;
        };
        let chunk_body = m.get(r.pos..).unwrap_or_default();
        // Chunk assembly.
        let (body, chunks, first_ts): (std::borrow::Cow<'_, [u8]>, u32, Timestamp) = match h.chunk {
            b'C' => {
                let half = self.half(dir);
                let i = match half.partial.iter().position(|p| p.request_id == request_id) {
                    Some(i) => i,
                    None => {
                        if half.partial.len() >= MAX_PARTIAL {
                            half.partial.remove(0);
                        }
                        half.partial.push(Partial {
                            request_id,
                            body: Vec::new(),
                            chunks: 0,
                            ts,
                        });
                        half.partial.len() - 1
                    }
                };
                if let Some(p) = half.partial.get_mut(i) {
                    let room = MAX_ASSEMBLY.saturating_sub(p.body.len());
                    p.body.extend_from_slice(
                        chunk_body
                            .get(..room.min(chunk_body.len()))
                            .unwrap_or_default(),
                    );
                    p.chunks = p.chunks.saturating_add(1);
                }
                return;
            }
            b'A' => {
                let half = self.half(dir);
                half.partial.retain(|p| p.request_id != request_id);
                return;
            }
            _ => {
                let half = self.half(dir);
                match half.partial.iter().position(|p| p.request_id == request_id) {
                    Some(i) => {
                        let mut p = half.partial.remove(i);
                        let room = MAX_ASSEMBLY.saturating_sub(p.body.len());
                        p.body.extend_from_slice(
                            chunk_body
                                .get(..room.min(chunk_body.len()))
                                .unwrap_or_default(),
                        );
                        (std::borrow::Cow::Owned(p.body), p.chunks + 1, p.ts)
                    }
                    None => (std::borrow::Cow::Borrowed(chunk_body), 1, ts),
                }
            }
        };
        if is_open && chan.security_none {
            self.security = Security::Plain;
        } else if is_open {
            self.security = Security::Secured;
        }
        // The body: encoding id, then the service structure.
        let readable = match self.security {
            Security::Plain => true,
            _ => !is_open,
        };
        let mut br = Reader::new(&body);
        let type_id = if readable {
            br.expanded_node_id().and_then(|n| n.ns0_numeric())
        } else {
            None
        };
        let service = type_id.and_then(names::service);
        let is_request = match service {
            Some((_, _, ServiceKind::Request)) => true,
            Some(_) => false,
            None => dir == Direction::ToServer,
        };
        let kind = if is_open { Kind::Open } else { Kind::Msg };
        let msg_code = names::message_type_code(&h.message_type);
        if is_request {
            let mut tx = Transaction {
                function_code: match (&h.message_type, service) {
                    (b"MSG", Some((req, _, _))) => req,
                    _ => msg_code,
                },
                function: match (&h.message_type, service) {
                    (b"MSG", Some((_, name, _))) => name,
                    _ => names::message_type_name(&h.message_type),
                },
                message_type: h.type_str(),
                secure_channel_id: channel_id,
                request_id: Some(request_id),
                chunks: (chunks > 1).then_some(chunks),
                request: true,
                ..Transaction::default()
            };
            if is_open {
                tx.channel = Some(Box::new(chan));
            }
            match (service, type_id) {
                (Some(_), Some(id)) => {
                    if services::request(id, &mut br, &mut tx).is_none() {
                        if self.security == Security::Plain {
                            tx.truncated = true;
                            anomaly(
                                out,
                                ts,
                                dir,
                                "truncated",
                                format!("{} request body did not decode to its end", tx.function),
                            );
                        } else {
                            // Random bytes of an encrypted body that happened to
                            // look like an encoding id: headers only.
                            tx = Transaction {
                                function_code: msg_code,
                                function: names::message_type_name(&h.message_type),
                                message_type: h.type_str(),
                                secure_channel_id: channel_id,
                                request_id: Some(request_id),
                                chunks: tx.chunks,
                                channel: tx.channel.take(),
                                encrypted: true,
                                request: true,
                                ..Transaction::default()
                            };
                        }
                    }
                }
                (None, Some(id)) if self.security == Security::Plain => {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "unknown_service",
                        format!("{} with unknown service encoding id {id}", h.type_str()),
                    );
                }
                _ => tx.encrypted = !body.is_empty(),
            }
            if tx.encrypted && self.security == Security::Plain {
                tx.encrypted = false;
                tx.truncated = true;
            }
            // OPN request asking for mode None makes the channel plain too.
            if tx.channel.as_deref().is_some_and(|c| c.security_none) && is_open {
                self.security = Security::Plain;
            }
            if &h.message_type == b"CLO" {
                emit(out, first_ts, None, dir, tx);
                return;
            }
            self.push_pending(
                Pending {
                    ts: first_ts,
                    dir,
                    kind,
                    request_id,
                    tx,
                },
                out,
            );
            return;
        }
        // A response.
        let found = self.take_pending(dir, kind, Some(request_id));
        let paired = found.is_some();
        let (mut tx, start, first_dir) = match found {
            Some(p) => (p.tx, p.ts, p.dir),
            None => {
                let tx = Transaction {
                    function_code: match (&h.message_type, service) {
                        (b"MSG", Some((req, _, _))) => req,
                        _ => msg_code,
                    },
                    function: match (&h.message_type, service) {
                        (b"MSG", Some((_, name, _))) => name,
                        _ => names::message_type_name(&h.message_type),
                    },
                    message_type: h.type_str(),
                    secure_channel_id: channel_id,
                    request_id: Some(request_id),
                    ..Transaction::default()
                };
                anomaly(
                    out,
                    ts,
                    dir,
                    "unexpected_response",
                    format!(
                        "{} response (request id {request_id}) without a request",
                        tx.function
                    ),
                );
                (tx, ts, dir)
            }
        };
        tx.response = true;
        tx.response_type = type_id;
        if is_open {
            let c = tx.channel.get_or_insert_with(Default::default);
            if c.security_policy_uri.is_none() {
                c.security_policy_uri = chan.security_policy_uri.clone();
            }
            c.security_none |= chan.security_none;
            if c.sender_certificate_length.is_none() {
                c.sender_certificate_length = chan.sender_certificate_length;
            }
        }
        match (service, type_id) {
            (Some((req, _, k)), Some(id)) => {
                if paired
                    && k == ServiceKind::Response
                    && tx.function_code != req
                    && &h.message_type == b"MSG"
                {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "unexpected_response",
                        format!(
                            "{} response answers a {} request (request id {request_id})",
                            names::service(id).map_or("unknown", |s| s.1),
                            tx.function
                        ),
                    );
                }
                if self.security == Security::Plain {
                    if services::response(id, &mut br, &mut tx).is_none() {
                        tx.truncated = true;
                    }
                } else {
                    // Possibly encrypted: keep what decoded only if all of it did.
                    let mut trial = tx.clone();
                    if services::response(id, &mut br, &mut trial).is_some() {
                        tx = trial;
                    } else {
                        tx.encrypted = true;
                    }
                }
            }
            _ => tx.encrypted |= !body.is_empty() && self.security != Security::Plain,
        }
        let client_app = tx.session.as_deref().and_then(|s| s.client.clone());
        let server_app = tx.session.as_deref().and_then(|s| s.server.clone());
        emit(out, start, Some(ts), first_dir, tx);
        if let Some(a) = client_app {
            self.identity(Side::Client, &a, out);
        }
        if let Some(a) = server_app {
            self.identity(Side::Server, &a, out);
        }
    }

    fn identity(&mut self, side: Side, a: &Application, out: &mut Vec<Output>) {
        if a.is_empty() {
            return;
        }
        let id = Identity {
            side: Some(side),
            source: "opcua.application",
            product: a.application_name.clone(),
            model: a.product_uri.clone(),
            name: a.application_uri.clone(),
            ..Identity::default()
        };
        let slot = match side {
            Side::Client => 0,
            Side::Server => 1,
        };
        if let Some(last) = self.identities.get_mut(slot) {
            if last.as_ref() == Some(&id) {
                return;
            }
            *last = Some(id.clone());
        }
        out.push(Output::Identity(id));
    }
}

impl Parser for OpcuaParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled || data.is_empty() {
            return;
        }
        let mut framer = std::mem::take(&mut self.half(dir).framer);
        framer.feed(data, MAX_MESSAGE, |bytes| {
            (!self.disabled).then(|| self.step(dir, bytes, ts, out))
        });
        self.half(dir).framer = framer;
    }

    fn gap(&mut self, dir: Direction, len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        if self.disabled {
            return;
        }
        let h = self.half(dir);
        h.framer.clear();
        h.partial.clear();
        if h.skip > 0 {
            // The gap falls inside the skipped message: fewer bytes left to skip.
            h.skip = h
                .skip
                .saturating_sub(usize::try_from(len).unwrap_or(usize::MAX));
            if h.skip == 0 {
                h.scanning = true;
            }
            return;
        }
        h.scanning = true;
        h.skipped = 0;
        h.budget = 0;
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let h = self.half(dir);
            let partial = if h.scanning { 0 } else { h.framer.buffered() };
            h.framer.release();
            h.partial = Vec::new();
            h.scanning = false;
            if partial > 0 && !self.disabled {
                anomaly(
                    out,
                    ts,
                    dir,
                    "truncated",
                    format!("flow ended inside a message ({partial} bytes buffered)"),
                );
            }
        }
        while let Some(p) = self.pending.pop_front() {
            emit(out, p.ts, None, p.dir, p.tx);
        }
    }
}
