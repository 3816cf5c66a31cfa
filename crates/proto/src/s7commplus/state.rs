//! The S7comm-plus [`Parser`] of one flow: TPKT/COTP framing (shared with s7comm),
//! message reassembly over frames (headers only, no payload is kept) and pairing.
//!
//! Pairing: a request (opcode 0x31) waits for the response (0x32, or the 0x02
//! form) with its sequence number coming the other way. Notifications (0x33) are
//! transactions of their own, as are responses without a request. Requests whose
//! transport flags have bit 0x40 set are often not answered (cyclic SetVariable of
//! HMIs): such a request still waiting when a later sequence number is answered is
//! emitted unanswered, without an anomaly. Other requests are emitted unanswered
//! when their sequence number is reused, past [`MAX_PENDING`], or at `finish()`.
use super::parser::{self, Body};
use super::Transaction;
use crate::s7comm::stream::{anomaly, CotpStream, Unit, Verdict};
use crate::s7comm::tpkt::Cotp;
use crate::{Direction, Output, Parser, Record, Timestamp, Txn};
use std::collections::VecDeque;

/// Requests waiting for a response, per flow.
pub const MAX_PENDING: usize = 64;
/// Most frames counted in one message (a message is closed after that many).
pub const MAX_FRAMES: u32 = 4096;

const PROTO: &str = "s7commplus";

/// One S7comm-plus message ([`S7PlusParser::set_trace`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub dir: Direction,
    pub ts: Timestamp,
    pub version: u8,
    pub opcode: u8,
    pub function: Option<u16>,
    pub sequence: Option<u16>,
    /// Frames the message took.
    pub frames: u32,
    pub data_length: u32,
}

/// Bytes of message data kept to decode its header (digest, opcode and header).
const HEAD: usize = 64;

struct Open {
    ts: Timestamp,
    version: u8,
    /// The first [`HEAD`] data bytes of the message (over frames).
    head: [u8; HEAD],
    head_len: usize,
    /// The last 33 data bytes (where a V2 digest would be).
    tail: [u8; 33],
    frames: u32,
    length: u32,
}

impl Open {
    fn keep(&mut self, data: &[u8]) {
        let room = HEAD - self.head_len;
        let n = room.min(data.len());
        if let (Some(dst), Some(src)) = (
            self.head.get_mut(self.head_len..self.head_len + n),
            data.get(..n),
        ) {
            dst.copy_from_slice(src);
            self.head_len += n;
        }
        // shift the tail window over the new bytes
        let t = self.tail.len();
        if data.len() >= t {
            if let Some(src) = data.get(data.len() - t..) {
                self.tail.copy_from_slice(src);
            }
        } else {
            self.tail.rotate_left(data.len());
            if let Some(dst) = self.tail.get_mut(t - data.len()..) {
                dst.copy_from_slice(data);
            }
        }
    }
    fn body(&self) -> Option<Body> {
        let mut b = parser::parse_body(self.version, self.head.get(..self.head_len)?)?;
        if self.version == 2 {
            // the digest ends the message: judge on the whole length and the tail
            let n = self.length as usize;
            b.integrity = Some(n > 33 + 10 && self.tail.first() == Some(&parser::DIGEST_LEN));
        }
        Some(b)
    }
}

/// The first TPDU of a COTP connect or disconnect exchange, waiting for the other.
struct CotpPending {
    ts: Timestamp,
    dir: Direction,
    tx: Transaction,
    confirm: bool,
}

struct Pending {
    dir: Direction,
    seq: u16,
    ts: Timestamp,
    tx: Transaction,
}

#[derive(Default)]
struct App {
    open: [Option<Open>; 2],
    pending: VecDeque<Pending>,
    connect: Option<CotpPending>,
    disconnect: Option<CotpPending>,
    trace: Option<Vec<Message>>,
}

/// The S7comm-plus parser of one flow.
pub struct S7PlusParser {
    stream: CotpStream,
    app: App,
}

impl Default for S7PlusParser {
    fn default() -> Self {
        Self::new()
    }
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
        record: Record::S7commplus(Box::new(tx)),
    }));
}

fn idx(dir: Direction) -> usize {
    usize::from(dir == Direction::ToClient)
}

impl S7PlusParser {
    pub fn new() -> S7PlusParser {
        S7PlusParser {
            stream: CotpStream::new(PROTO),
            app: App::default(),
        }
    }

    /// Record every message from now on (off by default).
    pub fn set_trace(&mut self, on: bool) {
        self.app.trace = on.then(Vec::new);
    }

    /// The messages recorded since the last call.
    pub fn take_trace(&mut self) -> Vec<Message> {
        self.app
            .trace
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The parser gave up on the flow.
    pub fn is_disabled(&self) -> bool {
        self.stream.is_disabled()
    }
}

impl App {
    fn unit(
        &mut self,
        dir: Direction,
        unit: Unit<'_>,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> Verdict {
        match unit {
            Unit::Control(c) => {
                self.control(dir, &c, ts, out);
                Verdict::Good
            }
            Unit::Data(b) => self.frame(dir, b, ts, out),
        }
    }

    fn control(&mut self, dir: Direction, c: &Cotp<'_>, ts: Timestamp, out: &mut Vec<Output>) {
        let (slot, confirm) = match c {
            Cotp::Connect { confirm, .. } => (&mut self.connect, *confirm),
            Cotp::Disconnect { confirm, .. } => (&mut self.disconnect, *confirm),
            _ => {
                let mut tx = Transaction::cotp(c);
                tx.request = true;
                emit(out, ts, None, dir, tx);
                return;
            }
        };
        // CR/CC (DR/DC) pair in either order: when the engine detects the protocol
        // the server's bytes seen so far (the CC) are replayed before the client's.
        match slot.take() {
            Some(p) if p.dir != dir && p.confirm != confirm => {
                if confirm {
                    let mut tx = p.tx;
                    tx.apply_cotp(c);
                    tx.response = true;
                    emit(out, p.ts, Some(ts), p.dir, tx);
                } else {
                    let mut tx = Transaction::cotp(c);
                    tx.request = true;
                    tx.response = true;
                    let mut s7 = crate::s7comm::Transaction {
                        cotp: tx.cotp.take(),
                        ..crate::s7comm::Transaction::default()
                    };
                    s7.merge_cotp_confirm(p.tx.cotp.as_deref());
                    tx.cotp = s7.cotp;
                    emit(out, ts, Some(p.ts), dir, tx);
                }
            }
            other => {
                if let Some(p) = other {
                    emit(out, p.ts, None, p.dir, p.tx);
                }
                let mut tx = Transaction::cotp(c);
                tx.request = !confirm;
                tx.response = confirm;
                *slot = Some(CotpPending {
                    ts,
                    dir,
                    tx,
                    confirm,
                });
            }
        }
    }

    fn frame(&mut self, dir: Direction, b: &[u8], ts: Timestamp, out: &mut Vec<Output>) -> Verdict {
        let f = match parser::parse_frame(b) {
            Ok(f) => f,
            Err(e) => {
                anomaly(
                    out,
                    PROTO,
                    ts,
                    dir,
                    e.kind(),
                    format!("S7comm-plus frame: {e}"),
                );
                return Verdict::Bad;
            }
        };
        if let Some(i) = f.issue {
            anomaly(
                out,
                PROTO,
                ts,
                dir,
                i.kind(),
                format!("S7comm-plus frame: {i}"),
            );
        }
        let slot = self.open.get_mut(idx(dir));
        let Some(slot) = slot else {
            return Verdict::Good;
        };
        let open = match slot.take() {
            Some(mut o) => {
                o.frames += 1;
                o.length = o.length.saturating_add(u32::from(f.data_len));
                o.keep(f.data);
                o
            }
            None => {
                let mut o = Open {
                    ts,
                    version: f.version,
                    head: [0; HEAD],
                    head_len: 0,
                    tail: [0; 33],
                    frames: 1,
                    length: u32::from(f.data_len),
                };
                o.keep(f.data);
                o
            }
        };
        if !f.trailer && open.frames < MAX_FRAMES {
            *slot = Some(open);
            return Verdict::Good;
        }
        if !f.trailer {
            anomaly(
                out,
                PROTO,
                ts,
                dir,
                "fragment_too_large",
                format!("S7comm-plus message spans more than {MAX_FRAMES} frames: closed"),
            );
        }
        self.message(dir, open, ts, out);
        Verdict::Good
    }

    fn message(&mut self, dir: Direction, m: Open, ts: Timestamp, out: &mut Vec<Output>) {
        let Some(body) = m.body() else {
            anomaly(
                out,
                PROTO,
                ts,
                dir,
                "truncated_pdu",
                "S7comm-plus message without data".to_string(),
            );
            return;
        };
        if let Some(t) = self.trace.as_mut() {
            t.push(Message {
                dir,
                ts: m.ts,
                version: m.version,
                opcode: body.opcode,
                function: body.function,
                sequence: body.sequence,
                frames: m.frames,
                data_length: m.length,
            });
        }
        match body.opcode {
            0x31 => {
                let mut tx = Transaction::from_body(m.version, &body);
                tx.request = true;
                tx.request_length = Some(m.length);
                tx.frames = (m.frames > 1).then_some(m.frames);
                let seq = body.sequence.unwrap_or(0);
                if let Some(i) = self
                    .pending
                    .iter()
                    .position(|p| p.dir == dir && p.seq == seq)
                {
                    if let Some(old) = self.pending.remove(i) {
                        anomaly(
                            out,
                            PROTO,
                            ts,
                            dir,
                            "unanswered_request",
                            format!(
                                "{} request (sequence {seq}) got no response before its sequence number was reused",
                                old.tx.function
                            ),
                        );
                        emit(out, old.ts, None, old.dir, old.tx);
                    }
                }
                if self.pending.len() >= MAX_PENDING {
                    if let Some(old) = self.pending.pop_front() {
                        anomaly(
                            out,
                            PROTO,
                            ts,
                            dir,
                            "unanswered_request",
                            format!(
                                "more than {MAX_PENDING} requests waiting: {} request (sequence {}) given up",
                                old.tx.function, old.seq
                            ),
                        );
                        emit(out, old.ts, None, old.dir, old.tx);
                    }
                }
                self.pending.push_back(Pending {
                    dir,
                    seq,
                    ts: m.ts,
                    tx,
                });
            }
            0x32 | 0x02 => {
                let seq = body.sequence.unwrap_or(0);
                let req = self
                    .pending
                    .iter()
                    .position(|p| p.dir == dir.reverse() && p.seq == seq)
                    .and_then(|i| self.pending.remove(i));
                // requests that may go unanswered, older than this one
                while let Some(i) = self.pending.iter().position(|p| {
                    p.dir == dir.reverse()
                        && p.tx.transport_flags.is_some_and(|f| f & 0x40 != 0)
                        && seq.wrapping_sub(p.seq) != 0
                        && seq.wrapping_sub(p.seq) < 0x8000
                }) {
                    if let Some(old) = self.pending.remove(i) {
                        emit(out, old.ts, None, old.dir, old.tx);
                    }
                }
                let (mut tx, start, first_dir, paired) = match req {
                    Some(p)
                        if body.function.is_none() || body.function == p.tx.function_code_raw() =>
                    {
                        (p.tx, p.ts, p.dir, true)
                    }
                    Some(p) => {
                        anomaly(
                            out,
                            PROTO,
                            ts,
                            dir,
                            "unexpected_response",
                            format!(
                                "{} response (sequence {seq}) to a {} request",
                                super::names::function_name(body.function.unwrap_or(0)),
                                p.tx.function
                            ),
                        );
                        emit(out, p.ts, None, p.dir, p.tx);
                        (Transaction::from_body(m.version, &body), m.ts, dir, false)
                    }
                    None => {
                        anomaly(
                            out,
                            PROTO,
                            ts,
                            dir,
                            "unexpected_response",
                            format!(
                                "{} response (sequence {seq}) without a request",
                                super::names::function_name(body.function.unwrap_or(0))
                            ),
                        );
                        (Transaction::from_body(m.version, &body), m.ts, dir, false)
                    }
                };
                tx.response = true;
                tx.response_opcode = Some(body.opcode);
                tx.response_flags = body.transport_flags;
                tx.response_length = Some(m.length);
                if paired {
                    let total = tx.frames.unwrap_or(1) + m.frames;
                    tx.frames = (total > 2).then_some(total);
                } else {
                    tx.frames = (m.frames > 1).then_some(m.frames);
                }
                emit(out, start, paired.then_some(ts), first_dir, tx);
            }
            _ => {
                let mut tx = Transaction::from_body(m.version, &body);
                tx.response = true;
                tx.response_length = Some(m.length);
                tx.frames = (m.frames > 1).then_some(m.frames);
                emit(out, m.ts, None, dir, tx);
            }
        }
    }
}

impl Parser for S7PlusParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let S7PlusParser { stream, app } = self;
        stream.parse(dir, data, ts, out, &mut |d, u, o| app.unit(d, u, ts, o));
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        self.stream.gap(dir);
        if let Some(s) = self.app.open.get_mut(idx(dir)) {
            *s = None;
        }
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        self.stream.finish(ts, out);
        for (i, dir) in [Direction::ToServer, Direction::ToClient]
            .into_iter()
            .enumerate()
        {
            if let Some(o) = self.app.open.get_mut(i).and_then(Option::take) {
                anomaly(
                    out,
                    PROTO,
                    ts,
                    dir,
                    "truncated",
                    format!(
                        "flow ended inside a message ({} frames seen, no trailer)",
                        o.frames
                    ),
                );
            }
        }
        for p in [self.app.connect.take(), self.app.disconnect.take()]
            .into_iter()
            .flatten()
        {
            emit(out, p.ts, None, p.dir, p.tx);
        }
        while let Some(p) = self.app.pending.pop_front() {
            emit(out, p.ts, None, p.dir, p.tx);
        }
    }
}
