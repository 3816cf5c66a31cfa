//! Framing (TCP stream or UDP datagrams), request/response pairing and implicit
//! I/O accounting for one EtherNet/IP flow.
//!
//! TCP framing: each direction's bytes go through a buffer that never keeps more
//! than one incomplete message ([`MAX_MESSAGE`] bytes). A header with an unknown
//! command or non-zero options is reported and the direction scans byte by byte
//! for a plausible header ([`parser::plausible`]); finding one after skipping bytes
//! is reported as `resync`. After a TCP gap the direction scans too (the next
//! plausible header is taken). Too many consecutive bad headers
//! ([`MAX_BAD_UNCONFIRMED`] before any good message, [`MAX_BAD_CONFIRMED`] after;
//! every [`SCAN_BUDGET`] bytes skipped count as one more) stop the parsing of the
//! flow with one `not_enip` anomaly. Decisions depend only on the bytes, never on
//! how they were chunked.
//!
//! Request or reply: ListIdentity / ListServices / ListInterfaces requests are
//! empty; SendRRData / SendUnitData are told by the CIP response bit; the other
//! commands by the direction. Pairing: unconnected replies take the oldest pending
//! request of the same command and sender context (on TCP, of the same command when
//! no context matches); connected (SendUnitData) replies take the pending request
//! with the same CIP sequence count, on the O->T connection learnt for the reply's
//! T->O connection id (from a Forward_Open reply or an earlier pair) when known.
//! NOP, UnRegisterSession and Cancel expect no reply and are emitted at once.
//!
//! Implicit I/O (UDP datagrams starting with a sequenced address item): packets
//! and bytes are counted per connection id ([`MAX_IO_CONNECTIONS`] per flow); one
//! summary transaction per connection is emitted at `finish()` (and every
//! [`IO_REPORT_NS`] of capture time for long-lived connections).
use super::cip;
use super::names;
use super::parser::{self, Cpf, Header, IdentityItem, ServiceItem, SockAddr, HEADER_LEN};
use super::record::{IoSummary, SockAddrInfo, Transaction};
use crate::stream::{Framer, PendingQueue};
use crate::{Anomaly, Direction, Output, Parser, Record, Side, Timestamp, Transport, Txn};

pub use super::parser::MAX_MESSAGE;

/// Requests waiting for a reply, per flow.
pub const MAX_PENDING: usize = 64;
/// Consecutive bad messages that end parsing of a flow that never had a good one.
pub const MAX_BAD_UNCONFIRMED: u32 = 2;
/// Consecutive bad messages that end parsing of a flow that had good ones.
pub const MAX_BAD_CONFIRMED: u32 = 8;
/// Bytes skipped while scanning that count as one more bad message.
pub const SCAN_BUDGET: usize = 512;
/// Implicit I/O connections counted per flow.
pub const MAX_IO_CONNECTIONS: usize = 64;
/// Connection id pairs (T->O to O->T) remembered per flow.
pub const MAX_CONN_MAP: usize = 64;
/// Capture time after which an I/O connection's counters are reported and reset.
pub const IO_REPORT_NS: i64 = 300 * 1_000_000_000;

#[derive(Default)]
struct Half {
    framer: Framer,
    scanning: bool,
    skipped: usize,
    budget: usize,
}

struct Pending {
    ts: Timestamp,
    dir: Direction,
    context: [u8; 8],
    tx: Transaction,
}

struct IoConn {
    id: u32,
    dir: Direction,
    first_ts: Timestamp,
    last_ts: Timestamp,
    summary: IoSummary,
}

/// The EtherNet/IP parser of one flow.
pub struct EnipParser {
    transport: Transport,
    halves: [Half; 2],
    pending: PendingQueue<Pending>,
    /// (T->O connection id, O->T connection id).
    conn_map: Vec<(u32, u32)>,
    io: Vec<IoConn>,
    io_overflow: bool,
    confirmed: bool,
    bad_streak: u32,
    disabled: bool,
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
        protocol: "enip",
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
        record: Record::Enip(Box::new(tx)),
    }));
}

/// The CIP message of a SendRRData / SendUnitData (after the sequence count).
fn cip_message<'a>(command: u16, cpf: &Cpf<'a>) -> Option<(&'a [u8], Option<u16>)> {
    if command == 0x0070 {
        let item = cpf.find(0x00B1)?;
        Some((
            item.data.get(2..).unwrap_or_default(),
            parser::u16le(item.data, 0),
        ))
    } else {
        Some((cpf.find(0x00B2)?.data, None))
    }
}

impl Default for EnipParser {
    fn default() -> Self {
        Self::new(Transport::Tcp)
    }
}

impl EnipParser {
    pub fn new(transport: Transport) -> EnipParser {
        EnipParser {
            transport,
            halves: [Half::default(), Half::default()],
            pending: PendingQueue::new(MAX_PENDING),
            conn_map: Vec::new(),
            io: Vec::new(),
            io_overflow: false,
            confirmed: false,
            bad_streak: 0,
            disabled: false,
        }
    }

    /// The parser gave up on the flow (not EtherNet/IP).
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// Requests waiting for their reply.
    pub fn pending(&self) -> usize {
        self.pending.len()
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
                h.scanning = false;
            }
            anomaly(
                out,
                ts,
                dir,
                "not_enip",
                format!(
                    "{} consecutive malformed messages{}: no longer parsing this flow as EtherNet/IP",
                    self.bad_streak,
                    if self.confirmed { "" } else { " and no valid one" }
                ),
            );
        }
    }

    /// One decision at the start of `bytes`; returns the bytes consumed (0: more
    /// bytes are needed).
    fn step(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> usize {
        if self.half(dir).scanning {
            match parser::plausible(bytes) {
                None => return 0,
                Some(false) => {
                    let h = self.half(dir);
                    h.skipped = h.skipped.saturating_add(1);
                    h.budget += 1;
                    if h.budget >= SCAN_BUDGET {
                        h.budget = 0;
                        self.bad(dir, ts, out);
                    }
                    return 1;
                }
                Some(true) => {
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
                            format!("resynchronised on an encapsulation header after skipping {skipped} bytes"),
                        );
                    }
                }
            }
        }
        let Some(h) = Header::parse(bytes) else {
            return 0;
        };
        if let Err(e) = parser::check_header(&h) {
            anomaly(out, ts, dir, e.kind(), e.to_string());
            let half = self.half(dir);
            half.scanning = true;
            half.skipped = 1;
            half.budget = 1;
            self.bad(dir, ts, out);
            return 1;
        }
        let n = h.message_len();
        match bytes.get(HEADER_LEN..n) {
            None => 0,
            Some(data) => {
                self.message(dir, &h, data, ts, out);
                n
            }
        }
    }

    fn good(&mut self) {
        self.confirmed = true;
        self.bad_streak = 0;
    }

    /// One whole encapsulation message.
    fn message(
        &mut self,
        dir: Direction,
        h: &Header,
        data: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        self.good();
        let encapsulated = match h.command {
            0x006F | 0x0070 => Some(parser::parse_encapsulated(data)),
            _ => None,
        };
        let cip_msg = match &encapsulated {
            Some(Ok(e)) => cip_message(h.command, &e.cpf),
            _ => None,
        };
        let is_request = match h.command {
            0x0004 | 0x0063 | 0x0064 => h.length == 0,
            0x006F | 0x0070 => match cip_msg {
                Some((m, _)) if !m.is_empty() => !cip::is_response(m),
                _ => dir == Direction::ToServer,
            },
            _ => dir == Direction::ToServer,
        };
        if let Some(Err(e)) = &encapsulated {
            anomaly(
                out,
                ts,
                dir,
                e.kind(),
                format!("{}: {e}", names::command_name(h.command)),
            );
        }
        let cpf = match &encapsulated {
            Some(Ok(e)) => Some(&e.cpf),
            _ => None,
        };
        if is_request {
            self.request(dir, h, cpf, cip_msg, ts, out);
        } else {
            self.response(dir, h, data, cpf, cip_msg, ts, out);
        }
    }

    fn request(
        &mut self,
        dir: Direction,
        h: &Header,
        cpf: Option<&Cpf<'_>>,
        cip_msg: Option<(&[u8], Option<u16>)>,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let mut tx = Transaction::new(h);
        tx.request = true;
        tx.length = Some(h.length);
        if let Some(cpf) = cpf {
            tx.connection_id = cpf.find(0x00A1).and_then(|i| parser::u32le(i.data, 0));
            sockaddrs(cpf, &mut tx);
        }
        if let Some((msg, seq)) = cip_msg {
            tx.sequence = seq;
            match super::record::Cip::from_request(msg, 0) {
                Some(c) => {
                    if c.truncated {
                        anomaly(
                            out,
                            ts,
                            dir,
                            "truncated_cip",
                            format!("{} request only partly decoded", c.service_name),
                        );
                    }
                    tx.cip_service = Some(c.service);
                    tx.cip = Some(Box::new(c));
                }
                None => anomaly(
                    out,
                    ts,
                    dir,
                    "truncated_cip",
                    "CIP request shorter than its header".into(),
                ),
            }
        }
        if matches!(h.command, 0x0000 | 0x0066 | 0x0073) {
            emit(out, ts, None, dir, tx);
            return;
        }
        let evicted = self.pending.push(Pending {
            ts,
            dir,
            context: h.sender_context,
            tx,
        });
        if let Some(old) = evicted {
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

    fn find_pending(&self, h: &Header, resp_conn: Option<u32>, seq: Option<u16>) -> Option<usize> {
        if h.command == 0x0070 {
            let seq = seq?;
            let o_t = resp_conn.and_then(|c| {
                self.conn_map
                    .iter()
                    .find(|(t_o, _)| *t_o == c)
                    .map(|(_, o)| *o)
            });
            if let Some(o_t) = o_t {
                if let Some(i) = self.pending.iter().position(|p| {
                    p.tx.function_code == 0x0070
                        && p.tx.connection_id == Some(o_t)
                        && p.tx.sequence == Some(seq)
                }) {
                    return Some(i);
                }
            }
            return self
                .pending
                .iter()
                .position(|p| p.tx.function_code == 0x0070 && p.tx.sequence == Some(seq));
        }
        self.pending
            .iter()
            .position(|p| p.tx.function_code == h.command && p.context == h.sender_context)
            .or_else(|| {
                if self.transport == Transport::Tcp {
                    self.pending
                        .iter()
                        .position(|p| p.tx.function_code == h.command)
                } else {
                    None
                }
            })
    }

    fn learn(&mut self, t_o: u32, o_t: u32) {
        if let Some(e) = self.conn_map.iter_mut().find(|(t, _)| *t == t_o) {
            e.1 = o_t;
            return;
        }
        if self.conn_map.len() >= MAX_CONN_MAP {
            self.conn_map.remove(0);
        }
        self.conn_map.push((t_o, o_t));
    }

    #[allow(clippy::too_many_arguments)]
    fn response(
        &mut self,
        dir: Direction,
        h: &Header,
        data: &[u8],
        cpf: Option<&Cpf<'_>>,
        cip_msg: Option<(&[u8], Option<u16>)>,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let resp_conn = cpf
            .and_then(|c| c.find(0x00A1))
            .and_then(|i| parser::u32le(i.data, 0));
        let seq = cip_msg.and_then(|(_, s)| s);
        let found = self
            .find_pending(h, resp_conn, seq)
            .and_then(|i| self.pending.remove(i));
        let (mut tx, start, first_dir, paired) = match found {
            Some(p) => (p.tx, p.ts, p.dir, true),
            None => {
                let mut tx = Transaction::new(h);
                tx.sequence = seq;
                if self.transport == Transport::Tcp {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "unexpected_response",
                        format!("{} reply without a request", tx.function),
                    );
                }
                (tx, ts, dir, false)
            }
        };
        tx.response = true;
        tx.response_length = Some(h.length);
        tx.status = Some(h.status);
        tx.status_name = Some(names::encap_status_name(h.status));
        if tx.session_handle == 0 {
            tx.session_handle = h.session_handle;
        }
        tx.response_connection_id = resp_conn;
        let responder = if dir == Direction::ToClient {
            Side::Server
        } else {
            Side::Client
        };
        let mut identities = Vec::new();
        match h.command {
            0x0063 | 0x0004 | 0x0064 if h.status == 0 => match Cpf::parse(data) {
                Ok(cpf) => {
                    if h.command == 0x0064 {
                        tx.interface_count = parser::u16le(data, 0);
                    }
                    for item in &cpf.items {
                        match (h.command, item.type_id) {
                            (0x0063, 0x000C) => {
                                match IdentityItem::parse_list_identity(item.data) {
                                    Some(i)
                                        if tx.identity.len() < super::record::MAX_LIST_ITEMS =>
                                    {
                                        if i.truncated {
                                            anomaly(
                                                out,
                                                ts,
                                                dir,
                                                "truncated",
                                                "ListIdentity item shorter than its fields".into(),
                                            );
                                        }
                                        let rec = super::record::Identity::from_item(&i);
                                        identities
                                            .push(rec.to_identity("enip.list_identity", responder));
                                        tx.identity.push(rec);
                                    }
                                    Some(_) => {}
                                    None => anomaly(
                                        out,
                                        ts,
                                        dir,
                                        "truncated",
                                        "ListIdentity item too short".into(),
                                    ),
                                }
                            }
                            (0x0004, _) => {
                                if let Some(s) = ServiceItem::parse(item) {
                                    if tx.services.len() < super::record::MAX_LIST_ITEMS {
                                        tx.services.push((&s).into());
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Err(e) => anomaly(
                    out,
                    ts,
                    dir,
                    e.kind(),
                    format!("{} reply: {e}", names::command_name(h.command)),
                ),
            },
            _ => {}
        }
        if let Some(cpf) = cpf {
            sockaddrs(cpf, &mut tx);
        }
        if let Some((msg, _)) = cip_msg {
            match tx.cip.as_mut() {
                Some(c) => {
                    if let Err(issue) = c.apply_response(msg, 0) {
                        match issue {
                            super::record::ApplyIssue::Truncated => anomaly(
                                out,
                                ts,
                                dir,
                                "truncated_cip",
                                "CIP response shorter than its header".into(),
                            ),
                            super::record::ApplyIssue::ServiceMismatch(s) => anomaly(
                                out,
                                ts,
                                dir,
                                "unexpected_response",
                                format!(
                                    "CIP response to service 0x{s:02x} answers a {} request",
                                    c.service_name
                                ),
                            ),
                        }
                    }
                }
                None => {
                    tx.cip = super::record::Cip::from_response(msg).map(Box::new);
                    if tx.cip.is_none() {
                        anomaly(
                            out,
                            ts,
                            dir,
                            "truncated_cip",
                            "CIP response shorter than its header".into(),
                        );
                    }
                }
            }
        }
        if paired {
            if let (Some(o_t), Some(t_o)) = (tx.connection_id, resp_conn) {
                self.learn(t_o, o_t);
            }
        }
        let fo = tx
            .cip_all()
            .into_iter()
            .filter(|c| c.status == Some(0))
            .find_map(|c| c.forward_open.as_ref())
            .map(|f| (f.t_o_connection_id, f.o_t_connection_id));
        if let Some((t_o, o_t)) = fo {
            self.learn(t_o, o_t);
        }
        if let Some((i, routed)) = tx.object_identity() {
            let source = if routed {
                "enip.routed_identity"
            } else {
                "enip.identity_object"
            };
            identities.push(i.to_identity(source, responder));
        }
        emit(out, start, Some(ts), first_dir, tx);
        for id in identities {
            out.push(Output::Identity(id));
        }
    }

    /// One implicit I/O datagram.
    fn io_packet(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let io = match parser::parse_io(data) {
            Ok(io) => io,
            Err(e) => {
                anomaly(
                    out,
                    ts,
                    dir,
                    e.kind(),
                    format!("implicit I/O datagram: {e}"),
                );
                self.bad(dir, ts, out);
                return;
            }
        };
        self.good();
        let idx = match self.io.iter().position(|c| c.id == io.connection_id) {
            Some(i) => i,
            None => {
                if self.io.len() >= MAX_IO_CONNECTIONS {
                    if !self.io_overflow {
                        self.io_overflow = true;
                        anomaly(
                            out,
                            ts,
                            dir,
                            "too_many_connections",
                            format!("more than {MAX_IO_CONNECTIONS} I/O connections on one flow: the others are not counted"),
                        );
                    }
                    return;
                }
                self.io.push(IoConn {
                    id: io.connection_id,
                    dir,
                    first_ts: ts,
                    last_ts: ts,
                    summary: IoSummary {
                        first_sequence: io.sequence,
                        last_sequence: io.sequence,
                        ..IoSummary::default()
                    },
                });
                self.io.len() - 1
            }
        };
        let Some(c) = self.io.get_mut(idx) else {
            return;
        };
        if c.summary.packets > 0 && ts.saturating_sub(c.first_ts) >= IO_REPORT_NS {
            let done = std::mem::replace(
                &mut c.summary,
                IoSummary {
                    first_sequence: io.sequence,
                    last_sequence: io.sequence,
                    ..IoSummary::default()
                },
            );
            let (id, d, first, last) = (c.id, c.dir, c.first_ts, c.last_ts);
            c.first_ts = ts;
            emit_io(out, id, d, first, last, done);
        }
        let Some(c) = self.io.get_mut(idx) else {
            return;
        };
        let s = &mut c.summary;
        if s.packets > 0 {
            let step = io.sequence.wrapping_sub(s.last_sequence);
            if step == 0 || step > u32::MAX / 2 {
                s.out_of_order += 1;
            } else {
                s.lost += u64::from(step - 1);
                s.last_sequence = io.sequence;
            }
        }
        s.packets += 1;
        s.bytes += io.data.len() as u64;
        s.data_length = u16::try_from(io.data.len()).unwrap_or(u16::MAX);
        c.last_ts = ts;
    }

    fn datagram(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        if parser::looks_like_io(data) {
            self.io_packet(dir, data, ts, out);
            return;
        }
        let Some(h) = Header::parse(data) else {
            anomaly(
                out,
                ts,
                dir,
                "truncated",
                format!(
                    "{}-byte datagram shorter than an encapsulation header",
                    data.len()
                ),
            );
            self.bad(dir, ts, out);
            return;
        };
        if let Err(e) = parser::check_header(&h) {
            anomaly(out, ts, dir, e.kind(), e.to_string());
            self.bad(dir, ts, out);
            return;
        }
        let body = data.get(HEADER_LEN..).unwrap_or_default();
        let want = usize::from(h.length);
        if body.len() != want {
            anomaly(
                out,
                ts,
                dir,
                "bad_length",
                format!(
                    "length {want} but the datagram carries {} bytes after the header",
                    body.len()
                ),
            );
        }
        let body = body.get(..want.min(body.len())).unwrap_or_default();
        self.message(dir, &h, body, ts, out);
    }
}

fn sockaddrs(cpf: &Cpf<'_>, tx: &mut Transaction) {
    for item in &cpf.items {
        if matches!(item.type_id, 0x8000 | 0x8001) && tx.sockaddr.len() < 4 {
            if let Some(s) = SockAddr::parse(item.data) {
                tx.sockaddr.push(SockAddrInfo::new(item.type_id, &s));
            }
        }
    }
}

fn emit_io(
    out: &mut Vec<Output>,
    id: u32,
    dir: Direction,
    first: Timestamp,
    last: Timestamp,
    summary: IoSummary,
) {
    let tx = Transaction {
        function_code: 0x8002,
        function: "implicit_io",
        connection_id: Some(id),
        io: Some(Box::new(summary)),
        request: true,
        ..Transaction::default()
    };
    emit(out, first, Some(last), dir, tx);
}

impl Parser for EnipParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled || data.is_empty() {
            return;
        }
        if self.transport == Transport::Udp {
            self.datagram(dir, data, ts, out);
            return;
        }
        let mut framer = std::mem::take(&mut self.half(dir).framer);
        framer.feed(data, MAX_MESSAGE, |bytes| {
            (!self.disabled).then(|| self.step(dir, bytes, ts, out))
        });
        self.half(dir).framer = framer;
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        if self.disabled || self.transport == Transport::Udp {
            return;
        }
        let h = self.half(dir);
        h.framer.clear();
        h.scanning = true;
        h.skipped = 0;
        h.budget = 0;
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let h = self.half(dir);
            let partial = if h.scanning { 0 } else { h.framer.buffered() };
            h.framer.release();
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
        for c in std::mem::take(&mut self.io) {
            emit_io(out, c.id, c.dir, c.first_ts, c.last_ts, c.summary);
        }
    }
}
