//! Stream framing (per direction) and request/response pairing for one Modbus/TCP flow.
//!
//! Framing: bytes of each direction go through a buffer bounded to one frame
//! ([`MAX_FRAME`] bytes); whole frames inside a chunk are decoded in place. A header
//! with a protocol id other than 0 or an impossible length is reported and the
//! direction *scans* byte by byte for the next plausible header (see
//! [`resync_start`]: relaxed to unknown function codes once the flow had a good
//! frame); finding one is reported as `resync`. After a TCP gap the
//! partial frame is dropped and the next byte is taken as a frame start. Too many consecutive bad frames ([`MAX_BAD_UNCONFIRMED`]
//! before any good frame on the flow, [`MAX_BAD_CONFIRMED`] after; every
//! [`SCAN_BUDGET`] bytes skipped count as one more) make the parser give up on the
//! flow with one `not_modbus` anomaly.
//!
//! Every decision depends only on the bytes, never on how they were chunked, so the
//! output is the same whatever the chunk sizes.
//!
//! Pairing: requests wait in a queue keyed by (transaction id, unit id); a response
//! takes the oldest request with its key. A response without request is emitted on
//! its own (`request: false`); a request is emitted unanswered when a new request
//! reuses its key, when the queue exceeds [`MAX_PENDING`] (oldest first), or at
//! `finish()`.
use super::parser::{self, check_header, resync_start, Mbap, Plausible, MAX_FRAME, MAX_LENGTH};
use super::record::Transaction;
use crate::stream::{Framer, PendingQueue};
use crate::{Anomaly, Direction, Output, Parser, Record, Timestamp, Txn};

/// Requests waiting for a response, per flow.
pub const MAX_PENDING: usize = 64;
/// Consecutive bad frames that end Modbus parsing of a flow that never had a good frame.
pub const MAX_BAD_UNCONFIRMED: u32 = 2;
/// Consecutive bad frames that end Modbus parsing of a flow that had good frames.
pub const MAX_BAD_CONFIRMED: u32 = 8;
/// Bytes skipped while scanning that count as one more bad frame.
pub const SCAN_BUDGET: usize = 260;

#[derive(Default)]
struct Half {
    /// Partial frame, or the bytes being scanned, never more than `MAX_FRAME`.
    framer: Framer,
    /// Looking for a plausible header.
    scanning: bool,
    /// Bytes skipped in the current scan.
    skipped: usize,
    /// Bytes skipped since the last bad frame was counted.
    budget: usize,
}

struct Pending {
    ts: Timestamp,
    tx: Transaction,
}

/// The Modbus/TCP parser of one flow.
pub struct ModbusParser {
    halves: [Half; 2],
    pending: PendingQueue<Pending>,
    /// A good frame was seen on the flow.
    confirmed: bool,
    /// Consecutive bad frames.
    bad_streak: u32,
    /// Gave up: the flow is not Modbus.
    disabled: bool,
}

impl Default for ModbusParser {
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
        protocol: "modbus",
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
        record: Record::Modbus(Box::new(tx)),
    }));
}

impl ModbusParser {
    pub fn new() -> ModbusParser {
        ModbusParser {
            halves: [Half::default(), Half::default()],
            pending: PendingQueue::new(MAX_PENDING),
            confirmed: false,
            bad_streak: 0,
            disabled: false,
        }
    }

    /// The parser gave up on the flow (not Modbus).
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// Requests waiting for their response.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn half(&mut self, dir: Direction) -> &mut Half {
        let [to_server, to_client] = &mut self.halves;
        match dir {
            Direction::ToServer => to_server,
            Direction::ToClient => to_client,
        }
    }

    /// Counts one bad frame; gives up on the flow past the limit.
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
                "not_modbus",
                format!(
                    "{} consecutive malformed frames{}: no longer parsing this flow as Modbus",
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

    /// Makes one decision at the start of `bytes`; returns the bytes consumed
    /// (0: more bytes are needed).
    fn step(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> usize {
        if self.half(dir).scanning {
            match resync_start(dir, bytes, self.confirmed) {
                Plausible::NeedMore => return 0,
                Plausible::No => {
                    let h = self.half(dir);
                    h.skipped = h.skipped.saturating_add(1);
                    h.budget += 1;
                    if h.budget >= SCAN_BUDGET {
                        h.budget = 0;
                        self.bad(dir, ts, out);
                    }
                    return 1;
                }
                Plausible::Yes => {
                    let h = self.half(dir);
                    h.scanning = false;
                    let skipped = std::mem::take(&mut h.skipped);
                    h.budget = 0;
                    if skipped > 0 {
                        anomaly(
                            out,
                            ts,
                            dir,
                            "resync",
                            format!(
                                "resynchronised on a Modbus header after skipping {skipped} bytes"
                            ),
                        );
                    }
                }
            }
        }
        match check_header(bytes) {
            Ok(None) => 0,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                let h = self.half(dir);
                h.scanning = true;
                h.skipped = 1;
                h.budget = 1;
                self.bad(dir, ts, out);
                1
            }
            Ok(Some(n)) => match bytes.get(..n) {
                None => 0,
                Some(frame) => {
                    self.frame(dir, frame, ts, out);
                    n
                }
            },
        }
    }

    /// One whole frame with a valid header.
    fn frame(&mut self, dir: Direction, frame: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let Some(hdr) = Mbap::parse(frame) else {
            return;
        };
        self.confirmed = true;
        self.bad_streak = 0;
        if hdr.length > MAX_LENGTH {
            anomaly(
                out,
                ts,
                dir,
                "bad_length",
                format!(
                    "MBAP length {} exceeds 254 (oversized frame parsed anyway)",
                    hdr.length
                ),
            );
        }
        let pdu = frame.get(parser::MBAP_LEN..).unwrap_or_default();
        match dir {
            Direction::ToServer => self.request(hdr, pdu, ts, out),
            Direction::ToClient => self.response(hdr, pdu, ts, out),
        }
    }

    fn request(&mut self, hdr: Mbap, pdu: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let dir = Direction::ToServer;
        let fc = pdu.first().copied().unwrap_or(0);
        let mut tx = Transaction::new(hdr.transaction_id, hdr.unit_id, fc);
        tx.request = true;
        match parser::decode_request(pdu) {
            Ok(d) => {
                tx.apply_request(&d.pdu);
                if let Some(issue) = d.issue {
                    anomaly(
                        out,
                        ts,
                        dir,
                        issue.kind(),
                        format!("{} request: {issue}", tx.function),
                    );
                }
            }
            Err(e) => anomaly(out, ts, dir, "truncated_pdu", format!("request: {e}")),
        }
        let key = (hdr.transaction_id, hdr.unit_id);
        if let Some(old) = self
            .pending
            .take(|p| (p.tx.transaction_id, p.tx.unit_id) == key)
        {
            anomaly(
                out,
                ts,
                dir,
                "unanswered_request",
                format!(
                    "{} request (transaction {}, unit {}) got no response before a new request reused its transaction id",
                    old.tx.function, old.tx.transaction_id, old.tx.unit_id
                ),
            );
            emit(out, old.ts, None, dir, old.tx);
        }
        if let Some(old) = self.pending.push(Pending { ts, tx }) {
            anomaly(
                out,
                ts,
                dir,
                "unanswered_request",
                format!(
                    "more than {MAX_PENDING} requests waiting: {} request (transaction {}, unit {}) given up",
                    old.tx.function, old.tx.transaction_id, old.tx.unit_id
                ),
            );
            emit(out, old.ts, None, dir, old.tx);
        }
    }

    fn response(&mut self, hdr: Mbap, pdu: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let dir = Direction::ToClient;
        let fc = pdu.first().copied().unwrap_or(0);
        let base = fc & 0x7f;
        let key = (hdr.transaction_id, hdr.unit_id);
        let req = self
            .pending
            .take(|p| (p.tx.transaction_id, p.tx.unit_id) == key);
        let (mut tx, start, first_dir, paired) = match req {
            Some(p) if p.tx.function_code == base => (p.tx, p.ts, Direction::ToServer, true),
            Some(p) => {
                let name = super::names::function_name(base);
                anomaly(
                    out,
                    ts,
                    dir,
                    "unexpected_response",
                    format!(
                        "{name} response (transaction {}, unit {}) to a {} request",
                        hdr.transaction_id, hdr.unit_id, p.tx.function
                    ),
                );
                emit(out, p.ts, None, Direction::ToServer, p.tx);
                (
                    Transaction::new(hdr.transaction_id, hdr.unit_id, base),
                    ts,
                    dir,
                    false,
                )
            }
            None => {
                let name = super::names::function_name(base);
                anomaly(
                    out,
                    ts,
                    dir,
                    "unexpected_response",
                    format!(
                        "{name} response (transaction {}, unit {}) without a request",
                        hdr.transaction_id, hdr.unit_id
                    ),
                );
                (
                    Transaction::new(hdr.transaction_id, hdr.unit_id, base),
                    ts,
                    dir,
                    false,
                )
            }
        };
        tx.response = true;
        match parser::decode_response(pdu) {
            Ok(d) => {
                tx.apply_response(&d.pdu, paired);
                if let Some(issue) = d.issue {
                    anomaly(
                        out,
                        ts,
                        dir,
                        issue.kind(),
                        format!("{} response: {issue}", tx.function),
                    );
                }
            }
            Err(e) => anomaly(out, ts, dir, "truncated_pdu", format!("response: {e}")),
        }
        if paired && tx.exception.is_none() {
            let expected = match tx.function_code {
                1 | 2 => tx.quantity.map(|q| usize::from(q).div_ceil(8)),
                3 | 4 => tx.quantity.map(|q| usize::from(q) * 2),
                23 => tx.read_quantity.map(|q| usize::from(q) * 2),
                _ => None,
            };
            if let (Some(exp), Some(bc)) = (expected, tx.byte_count) {
                if exp != usize::from(bc) {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "byte_count_mismatch",
                        format!(
                            "{} response byte count {bc} but the request's quantity needs {exp}",
                            tx.function
                        ),
                    );
                }
            }
        }
        let identity = tx.identity();
        emit(out, start, Some(ts), first_dir, tx);
        if let Some(id) = identity {
            out.push(Output::Identity(id));
        }
    }
}

impl Parser for ModbusParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled || data.is_empty() {
            return;
        }
        let mut framer = std::mem::take(&mut self.half(dir).framer);
        framer.feed(data, MAX_FRAME, |bytes| {
            (!self.disabled).then(|| self.step(dir, bytes, ts, out))
        });
        self.half(dir).framer = framer;
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        if self.disabled {
            return;
        }
        // Drop the partial frame; the next byte is taken as a frame start (segments
        // usually carry whole frames), a bad header there starts a scan as usual.
        let h = self.half(dir);
        h.framer.clear();
        h.scanning = false;
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
                    "truncated_pdu",
                    format!("flow ended inside a frame ({partial} bytes buffered)"),
                );
            }
        }
        while let Some(p) = self.pending.pop_front() {
            emit(out, p.ts, None, Direction::ToServer, p.tx);
        }
    }
}
