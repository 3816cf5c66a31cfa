//! The IEC 104 [`Parser`] of one flow: APDU framing per direction, resync and the
//! give-up rule, sequence number checks, and pairing (see the module docs).
//!
//! Framing: whole APDUs inside a chunk are decoded in place; an APDU split over
//! chunks is buffered (at most 255 bytes) by the shared [`Framer`], which shows the
//! step the same bytes whatever the chunking, so the result never depends on it. A bad header is reported and the direction scans byte by byte
//! for a strict APDU start (`resync`). After a TCP gap the partial APDU is dropped
//! and sequence checks restart. Too many consecutive bad headers
//! ([`MAX_BAD_UNCONFIRMED`] before any good APDU, [`MAX_BAD_CONFIRMED`] after; each
//! [`SCAN_BUDGET`] bytes skipped count as one more) end parsing with `not_iec104`.
use super::parser::{self, Apci, AsduHeader, Check};
use super::{names, Transaction, MAX_OBJECTS};
use crate::stream::Framer;
use crate::{Anomaly, Direction, Output, Parser, Record, Timestamp, Txn};
use std::collections::VecDeque;

/// Consecutive bad APDUs that end parsing of a flow that never had a good one.
pub const MAX_BAD_UNCONFIRMED: u32 = 2;
/// Consecutive bad APDUs that end parsing of a flow that had good ones.
pub const MAX_BAD_CONFIRMED: u32 = 8;
/// Bytes skipped while scanning that count as one more bad APDU.
pub const SCAN_BUDGET: usize = 256;
/// Most bytes a framing decision needs: one APDU (start, length, 253 bytes).
const MAX_APDU: usize = 2 + parser::MAX_LENGTH as usize;

/// Requests waiting for their confirmation or termination, per flow.
pub const MAX_PENDING: usize = 64;
/// How long (message time) a confirmed request waits for its termination.
pub const TERM_WAIT: Timestamp = 10_000_000_000;

const PROTO: &str = "iec104";

/// One APDU as seen by the parser ([`Iec104Parser::set_trace`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub dir: Direction,
    pub ts: Timestamp,
    pub apci: Apci,
    pub asdu: Option<AsduHeader>,
    /// Information object addresses (all of them, up to 255).
    pub ioas: Vec<u32>,
}

#[derive(Default)]
struct Half {
    framer: Framer,
    scanning: bool,
    skipped: usize,
    budget: usize,
    /// N(S) expected next.
    expected: Option<u16>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    Confirmation,
    /// Confirmed at this time; a termination or 44-47 answer may follow.
    Termination(Timestamp),
}

struct Pending {
    dir: Direction,
    ts: Timestamp,
    ts_end: Option<Timestamp>,
    ca: u16,
    type_id: u8,
    ioa: u32,
    wait: Wait,
    tx: Transaction,
}

/// The IEC 104 parser of one flow.
pub struct Iec104Parser {
    halves: [Half; 2],
    confirmed: bool,
    bad_streak: u32,
    disabled: bool,
    pending: VecDeque<Pending>,
    /// U-frame act waiting for its con, per function (STARTDT, STOPDT, TESTFR).
    u_pending: [Option<(Timestamp, Direction, Transaction)>; 3],
    trace: Option<Vec<Message>>,
}

impl Default for Iec104Parser {
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
        protocol: PROTO,
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
        record: Record::Iec104(Box::new(tx)),
    }));
}

enum Step {
    /// More bytes are needed to decide.
    Need,
    Consumed(usize),
}

/// Does a confirmed activation of this type expect a termination?
fn expects_termination(type_id: u8, tx: &Transaction) -> bool {
    match type_id {
        100 | 101 => true,
        45..=51 | 58..=64 => tx.objects.first().is_none_or(|o| o.select != Some(true)),
        _ => false,
    }
}

impl Iec104Parser {
    pub fn new() -> Iec104Parser {
        Iec104Parser {
            halves: [Half::default(), Half::default()],
            confirmed: false,
            bad_streak: 0,
            disabled: false,
            pending: VecDeque::new(),
            u_pending: [None, None, None],
            trace: None,
        }
    }

    /// Record every APDU from now on (off by default).
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on.then(Vec::new);
    }

    /// The APDUs recorded since the last call.
    pub fn take_trace(&mut self) -> Vec<Message> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The parser gave up on the flow.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// Requests waiting for their confirmation or termination.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn half(&mut self, dir: Direction) -> &mut Half {
        let [a, b] = &mut self.halves;
        if dir == Direction::ToServer {
            a
        } else {
            b
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
                *h = Half::default();
            }
            anomaly(
                out,
                ts,
                dir,
                "not_iec104",
                format!(
                    "{} consecutive malformed APDUs{}: no longer parsing this flow as IEC 104",
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

    fn step(&mut self, dir: Direction, bytes: &[u8], ts: Timestamp, out: &mut Vec<Output>) -> Step {
        let scanning = self.half(dir).scanning;
        let n = match parser::check_apdu(bytes, scanning) {
            Check::NeedMore(_) => return Step::Need,
            Check::Bad(e) => {
                if scanning {
                    let h = self.half(dir);
                    h.skipped = h.skipped.saturating_add(1);
                    h.budget += 1;
                    if h.budget >= SCAN_BUDGET {
                        h.budget = 0;
                        self.bad(dir, ts, out);
                    }
                } else {
                    anomaly(out, ts, dir, e.kind(), e.to_string());
                    let h = self.half(dir);
                    h.scanning = true;
                    h.skipped = 1;
                    h.budget = 1;
                    self.bad(dir, ts, out);
                }
                return Step::Consumed(1);
            }
            Check::Frame(n) => n,
        };
        let Some(apdu) = bytes.get(..n) else {
            return Step::Need;
        };
        if scanning {
            let h = self.half(dir);
            h.scanning = false;
            h.budget = 0;
            let skipped = std::mem::take(&mut h.skipped);
            h.expected = None;
            anomaly(
                out,
                ts,
                dir,
                "resync",
                format!("resynchronised on an APDU start after skipping {skipped} bytes"),
            );
        }
        self.confirmed = true;
        self.bad_streak = 0;
        self.apdu(dir, apdu, ts, out);
        Step::Consumed(n)
    }

    fn apdu(&mut self, dir: Direction, apdu: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let Some((apci, asdu)) = parser::parse_apci(apdu) else {
            return;
        };
        match apci {
            Apci::U { function } => {
                self.trace_msg(dir, ts, apci, None, &[]);
                self.u_frame(dir, function, ts, out);
            }
            Apci::S { .. } => self.trace_msg(dir, ts, apci, None, &[]),
            Apci::I { send, recv } => {
                let h = self.half(dir);
                if let Some(exp) = h.expected {
                    if exp != send {
                        anomaly(
                            out,
                            ts,
                            dir,
                            "sequence_gap",
                            format!("I-frame N(S) {send}, expected {exp}"),
                        );
                    }
                }
                let h = self.half(dir);
                h.expected = Some((send + 1) & 0x7FFF);
                self.i_frame(dir, send, recv, asdu, ts, out);
            }
        }
    }

    fn trace_msg(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        apci: Apci,
        asdu: Option<AsduHeader>,
        ioas: &[u32],
    ) {
        if let Some(t) = self.trace.as_mut() {
            t.push(Message {
                dir,
                ts,
                apci,
                asdu,
                ioas: ioas.to_vec(),
            });
        }
    }

    fn u_frame(&mut self, dir: Direction, c: u8, ts: Timestamp, out: &mut Vec<Output>) {
        let bits = c >> 2;
        let (slot, is_act) = match bits {
            0x01 => (0, true),
            0x02 => (0, false),
            0x04 => (1, true),
            0x08 => (1, false),
            0x10 => (2, true),
            0x20 => (2, false),
            _ => return,
        };
        let Some(pending) = self.u_pending.get_mut(slot) else {
            return;
        };
        if is_act {
            if let Some((t0, d0, old)) = pending.take() {
                emit(out, t0, None, d0, old);
            }
            let mut tx = Transaction::u_frame(c);
            tx.request = true;
            *pending = Some((ts, dir, tx));
            return;
        }
        match pending.take() {
            Some((t0, d0, mut tx)) if d0 != dir => {
                tx.response = true;
                emit(out, t0, Some(ts), d0, tx);
            }
            other => {
                if let Some((t0, d0, old)) = other {
                    emit(out, t0, None, d0, old);
                }
                let mut tx = Transaction::u_frame(c);
                tx.response = true;
                emit(out, ts, None, dir, tx);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn i_frame(
        &mut self,
        dir: Direction,
        send: u16,
        recv: u16,
        asdu: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        self.expire(ts, out);
        let (h, body) = match parser::parse_asdu_header(asdu) {
            Ok(x) => x,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.trace_msg(dir, ts, Apci::I { send, recv }, None, &[]);
                return;
            }
        };
        let mut tx = Transaction::asdu(&h, send, recv);
        let (objs, issue) = parser::objects(&h, body);
        if let Some(e) = issue {
            if matches!(e, parser::AsduError::Truncated { .. }) {
                tx.truncated = true;
            }
            anomaly(out, ts, dir, e.kind(), e.to_string());
        }
        // One allocation for the objects (the header tells how many).
        tx.objects
            .reserve_exact(usize::from(h.count).min(MAX_OBJECTS));
        let mut ioas = Vec::new();
        for (ioa, e) in objs {
            if self.trace.is_some() {
                ioas.push(ioa);
            }
            if tx.objects.len() >= MAX_OBJECTS {
                tx.truncated = true;
                if self.trace.is_none() {
                    break;
                }
                continue;
            }
            tx.objects.push(parser::decode_element(h.type_id, ioa, e));
        }
        self.trace_msg(dir, ts, Apci::I { send, recv }, Some(h), &ioas);
        let ioa = tx.objects.first().map_or(0, |o| o.ioa);
        let is_request = matches!(h.cot, 6 | 8) || (h.cot == 5 && h.type_id >= 100);
        if is_request {
            tx.request = true;
            self.request(dir, ts, &h, ioa, tx, out);
            return;
        }
        match h.cot {
            7 | 9 | 10 | 44..=47 => self.response(dir, ts, &h, ioa, tx, out),
            _ => {
                tx.response = true;
                emit(out, ts, None, dir, tx);
            }
        }
    }

    fn request(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        h: &AsduHeader,
        ioa: u32,
        tx: Transaction,
        out: &mut Vec<Output>,
    ) {
        let same = |p: &Pending| {
            p.dir == dir && p.ca == h.common_address && p.type_id == h.type_id && p.ioa == ioa
        };
        if let Some(i) = self.pending.iter().position(same) {
            if let Some(old) = self.pending.remove(i) {
                if old.wait == Wait::Confirmation {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "unanswered_request",
                        format!(
                            "{} (common address {}, IOA {}) got no confirmation before it was sent again",
                            old.tx.function, old.ca, old.ioa
                        ),
                    );
                }
                emit(out, old.ts, old.ts_end, old.dir, old.tx);
            }
        }
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                if old.wait == Wait::Confirmation {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "unanswered_request",
                        format!(
                            "more than {MAX_PENDING} requests waiting: {} (common address {}, IOA {}) given up",
                            old.tx.function, old.ca, old.ioa
                        ),
                    );
                }
                emit(out, old.ts, old.ts_end, old.dir, old.tx);
            }
        }
        self.pending.push_back(Pending {
            dir,
            ts,
            ts_end: None,
            ca: h.common_address,
            type_id: h.type_id,
            ioa,
            wait: Wait::Confirmation,
            tx,
        });
    }

    fn response(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        h: &AsduHeader,
        ioa: u32,
        tx: Transaction,
        out: &mut Vec<Output>,
    ) {
        let is_con = matches!(h.cot, 7 | 9);
        let found = self.pending.iter().position(|p| {
            p.dir == dir.reverse()
                && p.type_id == h.type_id
                && p.ioa == ioa
                && (p.ca == h.common_address || p.ca == 0xFFFF)
                && (!is_con || p.wait == Wait::Confirmation)
        });
        let Some(i) = found else {
            if is_con {
                anomaly(
                    out,
                    ts,
                    dir,
                    "unexpected_response",
                    format!(
                        "{} {} (common address {}, IOA {ioa}) without an activation",
                        tx.function,
                        names::cot_name(h.cot),
                        h.common_address
                    ),
                );
            }
            let mut tx = tx;
            tx.response = true;
            emit(out, ts, None, dir, tx);
            return;
        };
        let Some(mut p) = self.pending.remove(i) else {
            return;
        };
        p.tx.response = true;
        p.ts_end = Some(ts);
        match h.cot {
            7 | 9 => {
                p.tx.response_cot = Some(h.cot);
                p.tx.response_cot_name = Some(names::cot_name(h.cot));
                p.tx.response_negative = Some(h.negative);
                let wait = h.negative || (h.cot == 7 && expects_termination(p.type_id, &p.tx));
                if wait {
                    p.wait = Wait::Termination(ts);
                    self.pending.push_back(p);
                } else {
                    emit(out, p.ts, p.ts_end, p.dir, p.tx);
                }
            }
            10 => {
                p.tx.terminated = true;
                emit(out, p.ts, p.ts_end, p.dir, p.tx);
            }
            _ => {
                // 44-47: the station does not know the type / cause / address / IOA
                p.tx.error_cot = Some(h.cot);
                p.tx.error_cot_name = Some(names::cot_name(h.cot));
                if p.tx.response_cot.is_none() {
                    p.tx.response_cot = Some(h.cot);
                    p.tx.response_cot_name = Some(names::cot_name(h.cot));
                }
                p.tx.response_negative = Some(true);
                emit(out, p.ts, p.ts_end, p.dir, p.tx);
            }
        }
    }

    /// Emits confirmed requests whose termination did not come in time.
    fn expire(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        while let Some(i) = self.pending.iter().position(
            |p| matches!(p.wait, Wait::Termination(t) if now.saturating_sub(t) > TERM_WAIT),
        ) {
            if let Some(p) = self.pending.remove(i) {
                emit(out, p.ts, p.ts_end, p.dir, p.tx);
            }
        }
    }
}

impl Parser for Iec104Parser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled || data.is_empty() {
            return;
        }
        let mut framer = std::mem::take(&mut self.half(dir).framer);
        framer.feed(data, MAX_APDU, |bytes| {
            if self.disabled {
                return None;
            }
            Some(match self.step(dir, bytes, ts, out) {
                Step::Consumed(n) => n.max(1),
                Step::Need => 0,
            })
        });
        self.half(dir).framer = framer;
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        if self.disabled {
            return;
        }
        *self.half(dir) = Half::default();
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let disabled = self.disabled;
            let h = self.half(dir);
            let partial = if h.scanning { 0 } else { h.framer.buffered() };
            *h = Half::default();
            if partial > 0 && !disabled {
                anomaly(
                    out,
                    ts,
                    dir,
                    "truncated",
                    format!("flow ended inside an APDU ({partial} bytes buffered)"),
                );
            }
        }
        for (t0, d0, tx) in self.u_pending.iter_mut().filter_map(Option::take) {
            emit(out, t0, None, d0, tx);
        }
        while let Some(p) = self.pending.pop_front() {
            emit(out, p.ts, p.ts_end, p.dir, p.tx);
        }
    }
}
