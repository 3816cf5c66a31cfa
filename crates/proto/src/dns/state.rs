//! DNS flow state: one message per UDP datagram or per 2-byte-length-prefixed TCP
//! frame (RFC 1035 §4.2.2), and query/response pairing by message id.
//!
//! Pairing uses the message's QR bit, not the flow direction, so that a flow whose
//! client was guessed wrong still pairs. A response takes the oldest waiting query
//! with its id (preferring one with the same first question); a response without a
//! query is a transaction of its own (`dir = ToClient`). A query is emitted
//! unanswered when a new query reuses its id, when more than [`MAX_PENDING`] wait,
//! or at `finish()`.
//!
//! Malformed messages are reported (the decodable part still makes a transaction);
//! [`MAX_BAD`] consecutive undecodable messages end DNS parsing of the flow with one
//! `not_dns` anomaly.
use super::parser::{self, Message};
use super::record::{Transaction, MAX_RECORDS};
use crate::{Anomaly, Direction, Output, Parser, Record, Timestamp, Transport, Txn};
use std::collections::VecDeque;

/// Queries waiting for a response.
pub const MAX_PENDING: usize = 64;
/// Consecutive undecodable messages before the flow is given up.
pub const MAX_BAD: u32 = 8;
/// Largest TCP frame (the length prefix is 16 bits).
const MAX_TCP_FRAME: usize = 2 + 65535;

struct Pending {
    ts: Timestamp,
    dir: Direction,
    tx: Transaction,
}

/// The DNS parser of one flow.
pub struct DnsParser {
    transport: Transport,
    bufs: [Vec<u8>; 2],
    /// Skip the rest of the direction until the next gap (after a bad TCP length).
    lost: [bool; 2],
    pending: VecDeque<Pending>,
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
        protocol: "dns",
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
        record: Record::Dns(Box::new(tx)),
    }));
}

fn idx(dir: Direction) -> usize {
    usize::from(dir == Direction::ToClient)
}

impl DnsParser {
    pub fn new(transport: Transport) -> DnsParser {
        DnsParser {
            transport,
            bufs: [Vec::new(), Vec::new()],
            lost: [false; 2],
            pending: VecDeque::new(),
            bad_streak: 0,
            disabled: false,
        }
    }

    /// The parser gave up on the flow.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    fn bad(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.bad_streak += 1;
        if self.bad_streak >= MAX_BAD {
            self.disabled = true;
            self.bufs = [Vec::new(), Vec::new()];
            anomaly(
                out,
                ts,
                dir,
                "not_dns",
                format!(
                    "{} consecutive malformed messages: no longer parsing this flow as DNS",
                    self.bad_streak
                ),
            );
        }
    }

    /// One whole message.
    fn message(&mut self, dir: Direction, msg: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let m = match parser::parse_message(msg, MAX_RECORDS) {
            Ok(m) => m,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.bad(dir, ts, out);
                return;
            }
        };
        if let Some(e) = m.error {
            anomaly(
                out,
                ts,
                dir,
                e.kind(),
                format!("message id {}: {e}", m.header.id),
            );
            if m.questions.is_empty() && m.header.qdcount > 0 {
                self.bad(dir, ts, out);
                return;
            }
        } else {
            self.bad_streak = 0;
        }
        if m.trailing > 0 && self.transport == Transport::Tcp {
            anomaly(
                out,
                ts,
                dir,
                "trailing_bytes",
                format!(
                    "message id {}: {} bytes after the last record",
                    m.header.id, m.trailing
                ),
            );
        }
        if m.header.qr() {
            self.response(dir, &m, ts, out);
        } else {
            self.query(dir, &m, ts, out);
        }
    }

    fn query(&mut self, dir: Direction, m: &Message<'_>, ts: Timestamp, out: &mut Vec<Output>) {
        let id = m.header.id;
        if let Some(i) = self.pending.iter().position(|p| p.tx.id == id) {
            if let Some(old) = self.pending.remove(i) {
                anomaly(
                    out,
                    ts,
                    dir,
                    "unanswered_query",
                    format!("query id {id} got no response before a new query reused its id"),
                );
                emit(out, old.ts, None, old.dir, old.tx);
            }
        }
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                emit(out, old.ts, None, old.dir, old.tx);
            }
        }
        self.pending.push_back(Pending {
            ts,
            dir,
            tx: Transaction::from_message(m),
        });
    }

    fn response(&mut self, dir: Direction, m: &Message<'_>, ts: Timestamp, out: &mut Vec<Output>) {
        let id = m.header.id;
        let q = m.questions.first();
        let same_q = |p: &Pending| {
            p.tx.id == id
                && match (&p.tx.query, q) {
                    (Some(a), Some(b)) => {
                        a.eq_ignore_ascii_case(&b.name) && p.tx.qtype == Some(b.qtype)
                    }
                    _ => true,
                }
        };
        let found = self
            .pending
            .iter()
            .position(same_q)
            .or_else(|| self.pending.iter().position(|p| p.tx.id == id));
        match found.and_then(|i| self.pending.remove(i)) {
            Some(mut p) => {
                p.tx.apply_response(m);
                emit(out, p.ts, Some(ts), p.dir, p.tx);
            }
            None => emit(out, ts, None, dir, Transaction::from_message(m)),
        }
    }

    fn tcp(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let i = idx(dir);
        if self.lost[i] {
            return;
        }
        let mut buf = std::mem::take(&mut self.bufs[i]);
        let whole: &[u8] = if buf.is_empty() {
            data
        } else {
            buf.extend_from_slice(data);
            &buf
        };
        let mut pos = 0usize;
        loop {
            let rest = whole.get(pos..).unwrap_or_default();
            let Some(len) = rest
                .get(..2)
                .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
            else {
                break;
            };
            if len < parser::HEADER_LEN {
                anomaly(
                    out,
                    ts,
                    dir,
                    "bad_length",
                    format!("TCP DNS length prefix {len} is shorter than a header"),
                );
                self.lost[i] = true;
                self.bad(dir, ts, out);
                pos = whole.len();
                break;
            }
            let Some(msg) = rest.get(2..2 + len) else {
                break;
            };
            self.message(dir, msg, ts, out);
            if self.disabled {
                return;
            }
            pos += 2 + len;
        }
        let left = whole.get(pos..).unwrap_or_default();
        if left.len() <= MAX_TCP_FRAME {
            let keep = left.to_vec();
            self.bufs[i] = keep;
        }
    }
}

impl Parser for DnsParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled || data.is_empty() {
            return;
        }
        match self.transport {
            Transport::Udp => self.message(dir, data, ts, out),
            Transport::Tcp => self.tcp(dir, data, ts, out),
        }
    }

    fn gap(&mut self, dir: Direction, len: u64, ts: Timestamp, out: &mut Vec<Output>) {
        let i = idx(dir);
        if self.disabled {
            return;
        }
        anomaly(
            out,
            ts,
            dir,
            "gap",
            format!("{len} bytes missing: partial message dropped"),
        );
        self.bufs[i].clear();
        self.lost[i] = false;
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        for (i, b) in self.bufs.iter_mut().enumerate() {
            if !b.is_empty() && !self.disabled {
                let dir = if i == 0 {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                };
                anomaly(
                    out,
                    ts,
                    dir,
                    "truncated",
                    format!("flow ended inside a message ({} bytes)", b.len()),
                );
            }
            b.clear();
        }
        while let Some(p) = self.pending.pop_front() {
            emit(out, p.ts, None, p.dir, p.tx);
        }
    }
}
