//! Per-direction TPKT framing with COTP DT reassembly, resynchronisation and a
//! give-up rule; shared by the `s7comm` and `s7commplus` parsers.
//!
//! Bytes of each direction are cut into TPKT frames. Whole frames inside a chunk are
//! decoded in place; a frame split over chunks is buffered (never more than one
//! frame, at most 65535 bytes). Every decision depends only on the bytes, never on
//! how they were chunked: a step that cannot decide says how many bytes it needs and
//! exactly that many are buffered before deciding again.
//!
//! A header that cannot start a TPKT frame is reported (`bad_tpkt` / `bad_cotp`) and
//! the direction *scans* byte by byte for a strict header (version 3, a plausible
//! COTP length indicator and a known TPDU code); finding one is reported as
//! `resync`. After a TCP gap the partial frame and any partial TSDU are dropped and
//! the next byte is taken as a frame start. Too many consecutive bad frames
//! ([`MAX_BAD_UNCONFIRMED`] before any good frame, [`MAX_BAD_CONFIRMED`] after;
//! every [`SCAN_BUDGET`] bytes skipped count as one more) make the stream give up on
//! the flow with one `not_<protocol>` anomaly.
//!
//! DT TPDUs without EOT are collected (at most [`MAX_TSDU`] bytes, else
//! `fragment_too_large`) and handed over as one TSDU with the DT that has EOT.
use super::tpkt::{self, check_tpkt, Cotp, TpktCheck, TPKT_HEADER_LEN};
use crate::{Anomaly, Direction, Output, Timestamp};

/// Consecutive bad frames that end parsing of a flow that never had a good frame.
pub const MAX_BAD_UNCONFIRMED: u32 = 2;
/// Consecutive bad frames that end parsing of a flow that had good frames.
pub const MAX_BAD_CONFIRMED: u32 = 8;
/// Bytes skipped while scanning that count as one more bad frame.
pub const SCAN_BUDGET: usize = 512;
/// Largest TSDU reassembled from DT TPDUs.
pub const MAX_TSDU: usize = 65536;

/// What the stream hands to its protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit<'a> {
    /// A connection management TPDU (CR, CC, DR, DC, ER, ...).
    Control(Cotp<'a>),
    /// A complete TSDU (one DT with EOT, or reassembled DTs), never empty.
    Data(&'a [u8]),
}

/// The protocol's verdict on a unit: a `Bad` unit counts towards giving up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Good,
    Bad,
}

#[derive(Default)]
struct Half {
    /// The undecided start of the stream (a partial frame or bytes being scanned).
    buf: Vec<u8>,
    scanning: bool,
    skipped: usize,
    budget: usize,
    /// DT payloads collected until EOT.
    tsdu: Vec<u8>,
    /// The current TSDU grew too large: drop DTs until EOT.
    tsdu_overflow: bool,
}

/// TPKT/COTP framing of one flow (both directions).
pub struct CotpStream {
    protocol: &'static str,
    halves: [Half; 2],
    confirmed: bool,
    bad_streak: u32,
    disabled: bool,
}

enum Step {
    Need(usize),
    Consumed(usize),
}

fn idx(dir: Direction) -> usize {
    usize::from(dir == Direction::ToClient)
}

/// Pushes an anomaly of `protocol`.
pub fn anomaly(
    out: &mut Vec<Output>,
    protocol: &'static str,
    ts: Timestamp,
    dir: Direction,
    kind: &'static str,
    message: String,
) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol,
        kind,
        message,
        dir,
    }));
}

impl CotpStream {
    pub fn new(protocol: &'static str) -> CotpStream {
        CotpStream {
            protocol,
            halves: [Half::default(), Half::default()],
            confirmed: false,
            bad_streak: 0,
            disabled: false,
        }
    }

    /// The stream gave up on the flow.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// Bytes buffered in `dir` (partial frame and partial TSDU).
    pub fn buffered(&self, dir: Direction) -> usize {
        self.halves
            .get(idx(dir))
            .map_or(0, |h| h.buf.len() + h.tsdu.len())
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
            let kind = match self.protocol {
                "s7commplus" => "not_s7commplus",
                _ => "not_s7comm",
            };
            anomaly(
                out,
                self.protocol,
                ts,
                dir,
                kind,
                format!(
                    "{} consecutive malformed frames{}: no longer parsing this flow as {}",
                    self.bad_streak,
                    if self.confirmed {
                        ""
                    } else {
                        " and no valid one"
                    },
                    self.protocol
                ),
            );
        }
    }

    /// Feeds bytes of `dir`; `sink` receives every unit in order.
    pub fn parse<F>(
        &mut self,
        dir: Direction,
        data: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
        sink: &mut F,
    ) where
        F: FnMut(Direction, Unit<'_>, &mut Vec<Output>) -> Verdict,
    {
        let mut input = data;
        while !self.disabled {
            let mut buf = std::mem::take(&mut self.half(dir).buf);
            if buf.is_empty() {
                let mut pos = 0;
                while !self.disabled && pos < input.len() {
                    let rest = input.get(pos..).unwrap_or_default();
                    match self.step(dir, rest, ts, out, sink) {
                        Step::Consumed(n) => pos += n.max(1),
                        Step::Need(_) => {
                            self.half(dir).buf = rest.to_vec();
                            break;
                        }
                    }
                }
                return;
            }
            match self.step(dir, &buf, ts, out, sink) {
                Step::Consumed(n) => {
                    buf.drain(..n.max(1).min(buf.len()));
                }
                Step::Need(need) => {
                    if input.is_empty() {
                        self.half(dir).buf = buf;
                        return;
                    }
                    let add = need.saturating_sub(buf.len()).max(1).min(input.len());
                    buf.extend_from_slice(input.get(..add).unwrap_or_default());
                    input = input.get(add..).unwrap_or_default();
                }
            }
            if !self.disabled {
                self.half(dir).buf = buf;
            }
            if self.half(dir).buf.is_empty() && input.is_empty() {
                return;
            }
        }
    }

    /// One decision at the start of `bytes`.
    fn step<F>(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
        sink: &mut F,
    ) -> Step
    where
        F: FnMut(Direction, Unit<'_>, &mut Vec<Output>) -> Verdict,
    {
        let scanning = self.half(dir).scanning;
        let check = check_tpkt(bytes, scanning);
        let n = match check {
            TpktCheck::NeedMore(n) => return Step::Need(n),
            TpktCheck::Bad(e) => {
                if scanning {
                    let h = self.half(dir);
                    h.skipped = h.skipped.saturating_add(1);
                    h.budget += 1;
                    if h.budget >= SCAN_BUDGET {
                        h.budget = 0;
                        self.bad(dir, ts, out);
                    }
                } else {
                    anomaly(out, self.protocol, ts, dir, e.kind(), e.to_string());
                    let h = self.half(dir);
                    h.scanning = true;
                    h.skipped = 1;
                    h.budget = 1;
                    self.bad(dir, ts, out);
                }
                return Step::Consumed(1);
            }
            TpktCheck::Frame(n) => n,
        };
        let Some(frame) = bytes.get(..n) else {
            return Step::Need(n);
        };
        if scanning {
            let h = self.half(dir);
            h.scanning = false;
            let skipped = std::mem::take(&mut h.skipped);
            h.budget = 0;
            anomaly(
                out,
                self.protocol,
                ts,
                dir,
                "resync",
                format!("resynchronised on a TPKT header after skipping {skipped} bytes"),
            );
        }
        self.frame(dir, frame, ts, out, sink);
        Step::Consumed(n)
    }

    fn frame<F>(
        &mut self,
        dir: Direction,
        frame: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
        sink: &mut F,
    ) where
        F: FnMut(Direction, Unit<'_>, &mut Vec<Output>) -> Verdict,
    {
        let tpdu = frame.get(TPKT_HEADER_LEN..).unwrap_or_default();
        let cotp = match tpkt::parse_cotp(tpdu) {
            Ok(c) => c,
            Err(e) => {
                anomaly(out, self.protocol, ts, dir, e.kind(), e.to_string());
                self.bad(dir, ts, out);
                return;
            }
        };
        // DT fragments, empty DTs (keep-alives) and connection management are
        // neutral: only complete user data confirms the protocol or counts as bad.
        let verdict = match cotp {
            Cotp::Data { eot, payload, .. } => {
                let h = self.half(dir);
                if !eot {
                    if !h.tsdu_overflow {
                        if h.tsdu.len() + payload.len() > MAX_TSDU {
                            h.tsdu = Vec::new();
                            h.tsdu_overflow = true;
                            anomaly(
                                out,
                                self.protocol,
                                ts,
                                dir,
                                "fragment_too_large",
                                format!(
                                    "COTP data split over DT TPDUs exceeds {MAX_TSDU} bytes: dropped"
                                ),
                            );
                        } else {
                            h.tsdu.extend_from_slice(payload);
                        }
                    }
                    None
                } else if h.tsdu_overflow {
                    h.tsdu_overflow = false;
                    None
                } else if h.tsdu.is_empty() {
                    if payload.is_empty() {
                        None
                    } else {
                        Some(sink(dir, Unit::Data(payload), out))
                    }
                } else if h.tsdu.len() + payload.len() > MAX_TSDU {
                    h.tsdu = Vec::new();
                    anomaly(
                        out,
                        self.protocol,
                        ts,
                        dir,
                        "fragment_too_large",
                        format!("COTP data split over DT TPDUs exceeds {MAX_TSDU} bytes: dropped"),
                    );
                    None
                } else {
                    let mut whole = std::mem::take(&mut h.tsdu);
                    whole.extend_from_slice(payload);
                    let v = sink(dir, Unit::Data(&whole), out);
                    whole.clear();
                    // keep the allocation for the next TSDU
                    self.half(dir).tsdu = whole;
                    Some(v)
                }
            }
            other => {
                sink(dir, Unit::Control(other), out);
                None
            }
        };
        match verdict {
            Some(Verdict::Good) => {
                self.confirmed = true;
                self.bad_streak = 0;
            }
            Some(Verdict::Bad) => self.bad(dir, ts, out),
            None => {}
        }
    }

    /// A TCP gap of `dir`: drops the partial frame and TSDU.
    pub fn gap(&mut self, dir: Direction) {
        if self.disabled {
            return;
        }
        let h = self.half(dir);
        let tsdu = std::mem::take(&mut h.tsdu);
        *h = Half::default();
        h.tsdu = tsdu;
        h.tsdu.clear();
    }

    /// End of the flow: reports a frame or TSDU left incomplete.
    pub fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let disabled = self.disabled;
            let protocol = self.protocol;
            let h = self.half(dir);
            let partial = if h.scanning { 0 } else { h.buf.len() };
            let tsdu = h.tsdu.len();
            *h = Half::default();
            if disabled {
                continue;
            }
            if partial > 0 {
                anomaly(
                    out,
                    protocol,
                    ts,
                    dir,
                    "truncated",
                    format!("flow ended inside a TPKT frame ({partial} bytes buffered)"),
                );
            } else if tsdu > 0 {
                anomaly(
                    out,
                    protocol,
                    ts,
                    dir,
                    "truncated",
                    format!("flow ended before the last DT of a TSDU ({tsdu} bytes collected)"),
                );
            }
        }
    }
}
