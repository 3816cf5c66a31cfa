//! MQTT flow state: per-direction packet framing (a packet is buffered up to
//! [`MAX_FRAME`] bytes; the rest of a larger one, a big PUBLISH payload, is skipped
//! without buffering) and request/acknowledgement pairing.
//!
//! Pairing: CONNECT ↔ CONNACK; PUBLISH QoS 1 ↔ PUBACK and QoS 2 ↔ PUBREC (by packet
//! id, acknowledgement in the other direction); PUBREL ↔ PUBCOMP; SUBSCRIBE ↔
//! SUBACK; UNSUBSCRIBE ↔ UNSUBACK; PINGREQ ↔ PINGRESP. PUBLISH QoS 0, DISCONNECT and
//! AUTH are transactions of their own, as are acknowledgements without a request.
//! Requests still waiting are emitted at `finish()` (or when more than
//! [`MAX_PENDING`] wait). The protocol level comes from the CONNECT (MQTT 5 adds
//! properties and reason codes); before one is seen 3.1.1 is assumed.
//!
//! A packet whose body is malformed is reported and skipped (its length is known);
//! a bad fixed header loses the framing of its direction. [`MAX_BAD`] consecutive
//! bad packets end MQTT parsing of the flow (`not_mqtt`).
use super::parser::{self, FixedHeader, Packet};
use super::record::{Reply, Transaction};
use crate::stream::{Framer, PendingQueue};
use crate::{Anomaly, Direction, Output, Parser, Record, Timestamp, Txn};

/// Bytes of one packet buffered.
pub const MAX_FRAME: usize = 64 * 1024;
/// Requests waiting for an acknowledgement.
pub const MAX_PENDING: usize = 64;
/// Consecutive bad packets that end MQTT parsing.
pub const MAX_BAD: u32 = 8;

#[derive(Default)]
struct Half {
    framer: Framer,
    /// Bytes of an oversized packet still to skip.
    skip: u64,
    /// Framing lost.
    lost: bool,
}

struct Pending {
    ts: Timestamp,
    dir: Direction,
    /// The acknowledgement type expected.
    answer: u8,
    packet_id: Option<u16>,
    tx: Transaction,
}

/// The MQTT parser of one flow.
pub struct MqttParser {
    halves: [Half; 2],
    pending: PendingQueue<Pending>,
    version: Option<u8>,
    confirmed: bool,
    bad_streak: u32,
    disabled: bool,
}

impl Default for MqttParser {
    fn default() -> Self {
        Self::new()
    }
}

fn idx(dir: Direction) -> usize {
    usize::from(dir == Direction::ToClient)
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
        protocol: "mqtt",
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
        record: Record::Mqtt(Box::new(tx)),
    }));
}

impl MqttParser {
    pub fn new() -> MqttParser {
        MqttParser {
            halves: [Half::default(), Half::default()],
            pending: PendingQueue::new(MAX_PENDING),
            version: None,
            confirmed: false,
            bad_streak: 0,
            disabled: false,
        }
    }

    /// The parser gave up on the flow.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    fn v5(&self) -> bool {
        self.version == Some(5)
    }

    fn bad(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.bad_streak += 1;
        if self.bad_streak >= MAX_BAD || !self.confirmed && self.bad_streak >= 2 {
            self.disabled = true;
            self.halves = [Half::default(), Half::default()];
            anomaly(
                out,
                ts,
                dir,
                "not_mqtt",
                format!(
                    "{} consecutive malformed packets: no longer parsing this flow as MQTT",
                    self.bad_streak
                ),
            );
        }
    }

    fn wait(
        &mut self,
        ts: Timestamp,
        dir: Direction,
        answer: u8,
        packet_id: Option<u16>,
        tx: Transaction,
        out: &mut Vec<Output>,
    ) {
        if let Some(old) = self.pending.take(|p| {
            p.dir == dir && p.answer == answer && p.packet_id == packet_id && packet_id.is_some()
        }) {
            emit(out, old.ts, None, old.dir, old.tx);
        }
        if answer == parser::CONNACK {
            if let Some(old) = self.pending.take(|p| p.answer == parser::CONNACK) {
                emit(out, old.ts, None, old.dir, old.tx);
            }
        }
        let evicted = self.pending.push(Pending {
            ts,
            dir,
            answer,
            packet_id,
            tx,
        });
        if let Some(old) = evicted {
            emit(out, old.ts, None, old.dir, old.tx);
        }
    }

    /// One framing decision at the start of `bytes` (see [`Framer::feed`]).
    fn step(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> Option<usize> {
        let i = idx(dir);
        if self.disabled || self.halves[i].lost {
            return None;
        }
        // the tail of an oversized packet
        let half = &mut self.halves[i];
        if half.skip > 0 {
            let n = usize::try_from(half.skip)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            half.skip -= n as u64;
            return Some(n);
        }
        let h = match parser::fixed_header(bytes, self.v5()) {
            Ok(Some(h)) => h,
            Ok(None) => return Some(0),
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.halves[i].lost = true;
                self.bad(dir, ts, out);
                return None;
            }
        };
        let len = h.frame_len();
        if len <= MAX_FRAME {
            let Some(frame) = bytes.get(..len) else {
                return Some(0);
            };
            self.frame(dir, &h, frame, ts, out);
            Some(len)
        } else {
            // decode the first MAX_FRAME bytes, skip the rest
            let Some(frame) = bytes.get(..MAX_FRAME) else {
                return Some(0);
            };
            self.frame(dir, &h, frame, ts, out);
            let avail = bytes.len().min(len);
            self.halves[i].skip = (len - avail) as u64;
            Some(avail)
        }
    }

    /// One decoded packet.
    fn packet(
        &mut self,
        dir: Direction,
        h: &FixedHeader,
        p: &Packet<'_>,
        cut: bool,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        self.confirmed = true;
        self.bad_streak = 0;
        if let Packet::Connect(c) = p {
            self.version = Some(c.level);
        }
        let v5 = self.v5();
        let pid = match p {
            Packet::Publish { packet_id, .. } => *packet_id,
            Packet::Ack { packet_id, .. }
            | Packet::Subscribe { packet_id, .. }
            | Packet::SubAck { packet_id, .. } => Some(*packet_id),
            _ => None,
        };
        // an acknowledgement?
        let answers: Option<u8> = match h.ptype {
            parser::CONNACK
            | parser::PUBACK
            | parser::PUBREC
            | parser::PUBCOMP
            | parser::SUBACK
            | parser::UNSUBACK
            | parser::PINGRESP => Some(h.ptype),
            _ => None,
        };
        if let Some(a) = answers {
            let req_dir = dir.reverse();
            let found = self.pending.iter().position(|q| {
                q.answer == a
                    && q.dir == req_dir
                    && (q.packet_id == pid || a == parser::CONNACK || a == parser::PINGRESP)
            });
            if let Some(mut q) = found.and_then(|i| self.pending.remove(i)) {
                q.tx.reply = Some(Box::new(Reply::from_packet(h, p, v5)));
                q.tx.truncated |= cut;
                emit(out, q.ts, Some(ts), q.dir, q.tx);
                return;
            }
            // PUBREC starts the PUBREL/PUBCOMP exchange too: nothing waits for it here
            let mut tx = Transaction::from_packet(h, p, self.version, cut);
            if matches!(p, Packet::Ack { .. }) {
                tx.reply = Some(Box::new(Reply::from_packet(h, p, v5)));
                tx.reason_code = None;
                tx.properties = Default::default();
            }
            emit(out, ts, None, dir, tx);
            return;
        }
        let tx = Transaction::from_packet(h, p, self.version, cut);
        let expect = match h.ptype {
            parser::CONNECT => Some(parser::CONNACK),
            parser::PUBLISH if h.qos() == 1 => Some(parser::PUBACK),
            parser::PUBLISH if h.qos() == 2 => Some(parser::PUBREC),
            parser::PUBREL => Some(parser::PUBCOMP),
            parser::SUBSCRIBE => Some(parser::SUBACK),
            parser::UNSUBSCRIBE => Some(parser::UNSUBACK),
            parser::PINGREQ => Some(parser::PINGRESP),
            _ => None,
        };
        match expect {
            Some(a) => self.wait(ts, dir, a, pid, tx, out),
            None => emit(out, ts, None, dir, tx),
        }
    }

    /// A whole packet, or the first [`MAX_FRAME`] bytes of a larger one.
    fn frame(
        &mut self,
        dir: Direction,
        h: &FixedHeader,
        frame: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let body = frame.get(h.header_len..).unwrap_or_default();
        let cut = body.len() < h.remaining;
        if h.ptype == parser::CONNECT {
            if let Some((name, level)) = parser::connect_level(body) {
                if matches!(name, b"MQTT" | b"MQIsdp") && matches!(level, 3..=5) {
                    self.version = Some(level);
                } else {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "bad_protocol",
                        format!(
                            "CONNECT with protocol name {:?} level {level}",
                            String::from_utf8_lossy(name)
                        ),
                    );
                }
            }
        }
        match parser::packet(h, body, h.remaining, self.v5()) {
            Ok(p) => self.packet(dir, h, &p, cut, ts, out),
            Err(e) if cut && matches!(e, parser::Error::Truncated(_)) => {
                anomaly(
                    out,
                    ts,
                    dir,
                    "packet_too_large",
                    format!(
                        "{} of {} bytes not decoded past {MAX_FRAME} bytes",
                        parser::type_name(h.ptype),
                        h.remaining
                    ),
                );
            }
            Err(e) => {
                anomaly(
                    out,
                    ts,
                    dir,
                    e.kind(),
                    format!("{}: {e}", parser::type_name(h.ptype)),
                );
                self.bad(dir, ts, out);
                // a malformed CONNECT is still a connection attempt: keep what is known
                if let (parser::CONNECT, Some((name, level)), false) =
                    (h.ptype, parser::connect_level(body), self.disabled)
                {
                    let mut tx = Transaction {
                        packet_type: h.ptype,
                        packet_type_name: parser::type_name(h.ptype),
                        protocol_version: Some(level),
                        truncated: true,
                        ..Transaction::default()
                    };
                    tx.connect = Some(Box::new(super::record::Connect {
                        protocol_name: super::record::text(name, 32),
                        protocol_version: level,
                        ..Default::default()
                    }));
                    self.wait(ts, dir, parser::CONNACK, None, tx, out);
                }
            }
        }
    }
}

impl Parser for MqttParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let i = idx(dir);
        if self.disabled || self.halves[i].lost {
            return;
        }
        let mut framer = std::mem::take(&mut self.halves[i].framer);
        framer.feed(data, MAX_FRAME, |bytes| self.step(dir, bytes, ts, out));
        self.halves[i].framer = framer;
    }

    fn gap(&mut self, dir: Direction, len: u64, ts: Timestamp, out: &mut Vec<Output>) {
        let i = idx(dir);
        if self.disabled || self.halves[i].lost {
            return;
        }
        let h = &mut self.halves[i];
        if h.skip >= len && h.framer.is_empty() {
            h.skip -= len;
            return;
        }
        anomaly(
            out,
            ts,
            dir,
            "gap",
            format!("{len} bytes missing: packet framing lost for this direction"),
        );
        h.lost = true;
        h.framer.release();
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        for (i, h) in self.halves.iter_mut().enumerate() {
            if !h.framer.is_empty() && !self.disabled && !h.lost {
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
                    format!("flow ended inside a packet ({} bytes)", h.framer.buffered()),
                );
            }
            h.framer.release();
        }
        while let Some(p) = self.pending.pop_front() {
            emit(out, p.ts, None, p.dir, p.tx);
        }
    }
}
