//! Per-flow RFB state machine: one state per direction, bytes buffered per direction
//! (bounded to one handshake message or one message header; pixel data, cut text and
//! other payloads are skipped without buffering). A direction that needs the other's
//! decision (the negotiated version, the chosen security type) waits for it.
use super::names;
use super::{parse_version, Counters, Transaction, MAX_STR, MAX_TYPES};
use crate::{Anomaly, Direction, Output, Parser, Record, Timestamp, Txn};

/// Longest desktop name / reason buffered (the rest is skipped).
const MAX_NAME: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum S {
    Version,
    Security,
    FailReason,
    WaitChoice,
    Challenge,
    Result,
    ResultReason,
    VeVersion,
    VeAck,
    VeSubtypes,
    Init,
    Msg,
    Rect,
    Hextile,
    Stop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum C {
    Version,
    Choice,
    Auth,
    VeVersion,
    VeSubtype,
    Plain,
    Init,
    Msg,
    Stop,
}

enum Step {
    Need,
    Take(usize),
    Skip(usize),
    Wait,
    Stop,
}

#[derive(Default)]
struct Half {
    buf: Vec<u8>,
    skip: usize,
}

#[derive(Default, Clone, Copy)]
struct RectHex {
    w: u16,
    h: u16,
    tile: u32,
}

/// The VNC parser of one flow.
pub struct VncParser {
    halves: [Half; 2],
    s: S,
    c: C,
    /// Negotiated minor version: 3, 7 or 8.
    minor: Option<u16>,
    chosen: Option<u32>,
    bpp: usize,
    rects_left: u16,
    hex: RectHex,
    tx: Transaction,
    start: Option<Timestamp>,
    emitted: bool,
    counters: Counters,
    counting: bool,
    disabled: bool,
}

impl Default for VncParser {
    fn default() -> Self {
        Self::new()
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn text(b: &[u8]) -> (String, bool) {
    let cut = b.len() > MAX_STR;
    (
        String::from_utf8_lossy(b.get(..MAX_STR).unwrap_or(b)).into_owned(),
        cut,
    )
}

fn version_str(b: &[u8]) -> String {
    String::from_utf8_lossy(b.get(4..11).unwrap_or_default()).into_owned()
}

/// A length-prefixed string at `at`: Need, or Take/Skip of the whole thing plus its text.
fn lstring(b: &[u8], at: usize) -> Option<(usize, &[u8])> {
    let len = be32(b, at)? as usize;
    let whole = at.saturating_add(4).saturating_add(len);
    let keep = len.min(MAX_NAME);
    let s = b.get(at + 4..at + 4 + keep)?;
    Some((whole, s))
}

impl VncParser {
    pub fn new() -> Self {
        VncParser {
            halves: [Half::default(), Half::default()],
            s: S::Version,
            c: C::Version,
            minor: None,
            chosen: None,
            bpp: 4,
            rects_left: 0,
            hex: RectHex::default(),
            tx: Transaction::new("handshake"),
            start: None,
            emitted: false,
            counters: Counters::default(),
            counting: false,
            disabled: false,
        }
    }

    fn emit_handshake(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        if self.emitted {
            return;
        }
        self.emitted = true;
        let tx = std::mem::replace(&mut self.tx, Transaction::new("handshake"));
        // keep identification for the session record
        let mut base = Transaction::new("session");
        base.server_version = tx.server_version.clone();
        base.client_version = tx.client_version.clone();
        base.security_type = tx.security_type;
        base.security_type_name = tx.security_type_name;
        base.auth_none = tx.auth_none;
        base.desktop_name = tx.desktop_name.clone();
        self.tx = base;
        out.push(Output::Txn(Txn {
            ts: self.start.unwrap_or(ts),
            ts_end: Some(ts),
            // The session is the client's (it opened the connection), even though
            // the server speaks first.
            dir: Direction::ToServer,
            record: Record::Vnc(Box::new(tx)),
        }));
    }

    fn choose(&mut self, t: u32) {
        self.chosen = Some(t);
        self.tx.security_type = Some(t);
        self.tx.security_type_name = Some(names::security_type(t));
        self.tx.auth_none = t == 1;
    }

    /// Server state after the security type is known.
    fn after_choice(&mut self) -> S {
        match self.chosen {
            Some(1) if self.minor.unwrap_or(3) >= 8 => S::Result,
            Some(1) => S::Init,
            Some(2) => S::Challenge,
            Some(19) => S::VeVersion,
            Some(18) => {
                self.tx.tls = true;
                S::Stop
            }
            _ => S::Stop,
        }
    }

    fn server(&mut self, b: &[u8], ts: Timestamp, out: &mut Vec<Output>) -> Step {
        match self.s {
            S::Version => {
                if b.len() < 12 {
                    return Step::Need;
                }
                if parse_version(b).is_none() {
                    self.bad_version(Direction::ToClient, ts, out);
                    return Step::Stop;
                }
                self.start.get_or_insert(ts);
                self.tx.server_version = Some(version_str(b));
                self.s = S::Security;
                Step::Take(12)
            }
            S::Security => {
                let Some(minor) = self.minor else {
                    return Step::Wait;
                };
                if minor < 7 {
                    let Some(t) = be32(b, 0) else {
                        return Step::Need;
                    };
                    if t == 0 {
                        self.s = S::FailReason;
                    } else {
                        self.tx.security_types = vec![t];
                        self.tx.security_type_names = vec![names::security_type(t)];
                        self.choose(t);
                        self.s = self.after_choice();
                    }
                    return Step::Take(4);
                }
                let Some(&n) = b.first() else {
                    return Step::Need;
                };
                if n == 0 {
                    self.s = S::FailReason;
                    return Step::Take(1);
                }
                let Some(types) = b.get(1..1 + usize::from(n)) else {
                    return Step::Need;
                };
                self.tx.truncated |= types.len() > MAX_TYPES;
                for &t in types.iter().take(MAX_TYPES) {
                    self.tx.security_types.push(u32::from(t));
                    self.tx
                        .security_type_names
                        .push(names::security_type(u32::from(t)));
                }
                self.s = S::WaitChoice;
                Step::Take(1 + usize::from(n))
            }
            S::WaitChoice => {
                if self.chosen.is_none() {
                    return Step::Wait;
                }
                self.s = self.after_choice();
                if self.s == S::Stop {
                    self.emit_handshake(ts, out);
                }
                Step::Take(0)
            }
            S::FailReason | S::ResultReason => {
                let Some((whole, s)) = lstring(b, 0) else {
                    return Step::Need;
                };
                let (t, cut) = text(s);
                self.tx.truncated |= cut;
                self.tx.failure_reason = Some(t);
                self.emit_handshake(ts, out);
                self.s = S::Stop;
                Step::Skip(whole)
            }
            S::Challenge => {
                if b.len() < 16 {
                    return Step::Need;
                }
                self.s = S::Result;
                Step::Take(16)
            }
            S::Result => {
                let Some(v) = be32(b, 0) else {
                    return Step::Need;
                };
                self.tx.auth_success = Some(v == 0);
                if v == 0 {
                    self.s = S::Init;
                } else if self.minor.unwrap_or(3) >= 8 {
                    self.s = S::ResultReason;
                } else {
                    self.emit_handshake(ts, out);
                    self.s = S::Stop;
                }
                Step::Take(4)
            }
            S::VeVersion => {
                if b.len() < 2 {
                    return Step::Need;
                }
                self.s = S::VeAck;
                Step::Take(2)
            }
            S::VeAck => {
                let Some(&ack) = b.first() else {
                    return Step::Need;
                };
                self.s = if ack == 0 { S::VeSubtypes } else { S::Stop };
                Step::Take(1)
            }
            S::VeSubtypes => {
                let Some(&n) = b.first() else {
                    return Step::Need;
                };
                let len = 1 + 4 * usize::from(n);
                let Some(list) = b.get(1..len) else {
                    return Step::Need;
                };
                self.tx.truncated |= usize::from(n) > MAX_TYPES;
                self.tx.vencrypt_subtypes = list
                    .chunks_exact(4)
                    .take(MAX_TYPES)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                // What follows depends on the subtype (TLS handshake, or a result
                // after the client's credentials): not framed any further.
                self.s = S::Stop;
                Step::Take(len)
            }
            S::Init => {
                let Some(name_len) = be32(b, 20) else {
                    return Step::Need;
                };
                let keep = (name_len as usize).min(MAX_NAME);
                let Some(name) = b.get(24..24 + keep) else {
                    return Step::Need;
                };
                self.tx.width = be16(b, 0);
                self.tx.height = be16(b, 2);
                self.tx.bits_per_pixel = b.get(4).copied();
                self.tx.depth = b.get(5).copied();
                self.bpp = usize::from(b.get(4).copied().unwrap_or(32) / 8).max(1);
                let (t, cut) = text(name);
                self.tx.truncated |= cut;
                self.tx.desktop_name = Some(t);
                self.emit_handshake(ts, out);
                self.counting = true;
                self.s = S::Msg;
                Step::Skip(24usize.saturating_add(name_len as usize))
            }
            S::Msg => {
                let Some(&ty) = b.first() else {
                    return Step::Need;
                };
                match ty {
                    0 => {
                        let Some(n) = be16(b, 2) else {
                            return Step::Need;
                        };
                        self.counters.framebuffer_updates =
                            self.counters.framebuffer_updates.saturating_add(1);
                        if n > 0 {
                            self.rects_left = n;
                            self.s = S::Rect;
                        }
                        Step::Take(4)
                    }
                    1 => {
                        let Some(n) = be16(b, 4) else {
                            return Step::Need;
                        };
                        self.counters.colour_map_updates =
                            self.counters.colour_map_updates.saturating_add(1);
                        Step::Skip(6 + 6 * usize::from(n))
                    }
                    2 => {
                        self.counters.bells = self.counters.bells.saturating_add(1);
                        Step::Take(1)
                    }
                    3 => {
                        let Some(n) = be32(b, 4) else {
                            return Step::Need;
                        };
                        self.counters.server_cut_texts =
                            self.counters.server_cut_texts.saturating_add(1);
                        Step::Skip(8usize.saturating_add(n as usize))
                    }
                    150 => Step::Take(1),
                    _ => {
                        self.counters.framing_lost = true;
                        Step::Stop
                    }
                }
            }
            S::Rect => self.rect(b),
            S::Hextile => self.hextile(b),
            S::Stop => Step::Stop,
        }
    }

    fn rect_done(&mut self) {
        self.counters.rectangles = self.counters.rectangles.saturating_add(1);
        self.rects_left = self.rects_left.saturating_sub(1);
        if self.rects_left == 0 {
            self.s = S::Msg;
        } else {
            self.s = S::Rect;
        }
    }

    fn rect(&mut self, b: &[u8]) -> Step {
        let (Some(w), Some(h), Some(enc)) = (be16(b, 4), be16(b, 6), be32(b, 8)) else {
            return Step::Need;
        };
        let (w, h, bpp) = (w as usize, h as usize, self.bpp);
        let enc = enc as i32;
        let mask = w.div_ceil(8) * h;
        let size = match enc {
            0 => w * h * bpp,
            1 => 4,
            2 | 4 => {
                let Some(n) = be32(b, 12) else {
                    return Step::Need;
                };
                let per = if enc == 2 { bpp + 8 } else { bpp + 4 };
                (4 + bpp).saturating_add((n as usize).saturating_mul(per))
            }
            5 => {
                self.hex = RectHex {
                    w: w as u16,
                    h: h as u16,
                    tile: 0,
                };
                self.s = if w == 0 || h == 0 {
                    S::Rect
                } else {
                    S::Hextile
                };
                if w == 0 || h == 0 {
                    self.rect_done();
                }
                return Step::Take(12);
            }
            6 | 16 => {
                let Some(n) = be32(b, 12) else {
                    return Step::Need;
                };
                4usize.saturating_add(n as usize)
            }
            -239 => w * h * bpp + mask,
            -240 => {
                if w * h > 0 {
                    6 + 2 * mask
                } else {
                    0
                }
            }
            -223 | -232 | -257 | -258 => 0,
            -224 => {
                // LastRect ends the update whatever the announced count.
                self.rects_left = 1;
                0
            }
            -307 => {
                let Some(n) = be32(b, 12) else {
                    return Step::Need;
                };
                4usize.saturating_add(n as usize)
            }
            -308 => {
                let Some(&n) = b.get(12) else {
                    return Step::Need;
                };
                4 + 16 * usize::from(n)
            }
            _ => {
                self.counters.framing_lost = true;
                return Step::Stop;
            }
        };
        self.rect_done();
        Step::Skip(12usize.saturating_add(size))
    }

    fn hextile(&mut self, b: &[u8]) -> Step {
        let RectHex { w, h, tile } = self.hex;
        let (w, h) = (usize::from(w), usize::from(h));
        let across = w.div_ceil(16);
        let total = across * h.div_ceil(16);
        let (tx, ty) = (tile as usize % across.max(1), tile as usize / across.max(1));
        let tw = (w - tx * 16).min(16);
        let th = (h.saturating_sub(ty * 16)).min(16);
        let Some(&sub) = b.first() else {
            return Step::Need;
        };
        let bpp = self.bpp;
        let size = if sub & 1 != 0 {
            1 + tw * th * bpp
        } else {
            let mut n = 1;
            if sub & 2 != 0 {
                n += bpp;
            }
            if sub & 4 != 0 {
                n += bpp;
            }
            if sub & 8 != 0 {
                let Some(&count) = b.get(n) else {
                    return Step::Need;
                };
                let per = if sub & 16 != 0 { bpp + 2 } else { 2 };
                n += 1 + usize::from(count) * per;
            }
            n
        };
        self.hex.tile += 1;
        if self.hex.tile as usize >= total {
            self.rect_done();
        }
        Step::Skip(size)
    }

    fn client(&mut self, b: &[u8], ts: Timestamp, out: &mut Vec<Output>) -> Step {
        match self.c {
            C::Version => {
                let Some(v) = parse_version(b) else {
                    if b.len() < 12 {
                        return Step::Need;
                    }
                    self.bad_version(Direction::ToServer, ts, out);
                    return Step::Stop;
                };
                self.tx.client_version = Some(version_str(b));
                self.minor = Some(match v {
                    (3, 7) => 7,
                    (3, m) if m >= 8 => 8,
                    (m, _) if m > 3 => 8,
                    _ => 3,
                });
                self.c = C::Choice;
                Step::Take(12)
            }
            C::Choice => {
                if self.minor.unwrap_or(3) < 7 {
                    self.c = C::Auth;
                    return Step::Take(0);
                }
                let Some(&t) = b.first() else {
                    return Step::Need;
                };
                self.choose(u32::from(t));
                self.c = C::Auth;
                Step::Take(1)
            }
            C::Auth => match self.chosen {
                None => Step::Wait,
                Some(1) => {
                    self.c = C::Init;
                    Step::Take(0)
                }
                Some(2) => {
                    if b.len() < 16 {
                        return Step::Need;
                    }
                    self.tx.password_present = true;
                    self.c = C::Init;
                    Step::Take(16)
                }
                Some(19) => {
                    self.c = C::VeVersion;
                    Step::Take(0)
                }
                Some(_) => {
                    self.emit_handshake(ts, out);
                    Step::Stop
                }
            },
            C::VeVersion => {
                if b.len() < 2 {
                    return Step::Need;
                }
                self.c = C::VeSubtype;
                Step::Take(2)
            }
            C::VeSubtype => {
                let Some(t) = be32(b, 0) else {
                    return Step::Need;
                };
                self.tx.vencrypt_subtype = Some(t);
                self.tx.vencrypt_subtype_name = Some(names::vencrypt_subtype(t));
                self.tx.auth_none = matches!(t, 1 | 257 | 260);
                self.tx.tls = (257..=264).contains(&t);
                if t == 256 {
                    self.c = C::Plain;
                    Step::Take(4)
                } else {
                    self.emit_handshake(ts, out);
                    self.c = C::Stop;
                    Step::Skip(4)
                }
            }
            C::Plain => {
                let (Some(ulen), Some(plen)) = (be32(b, 0), be32(b, 4)) else {
                    return Step::Need;
                };
                let keep = (ulen as usize).min(MAX_NAME);
                let Some(user) = b.get(8..8 + keep) else {
                    return Step::Need;
                };
                let (u, cut) = text(user);
                self.tx.truncated |= cut;
                self.tx.user = Some(u);
                self.tx.password_present = plen > 0;
                self.emit_handshake(ts, out);
                self.c = C::Stop;
                Step::Skip(
                    8usize
                        .saturating_add(ulen as usize)
                        .saturating_add(plen as usize),
                )
            }
            C::Init => {
                let Some(&f) = b.first() else {
                    return Step::Need;
                };
                self.tx.shared = Some(f != 0);
                self.c = C::Msg;
                Step::Take(1)
            }
            C::Msg => {
                let Some(&ty) = b.first() else {
                    return Step::Need;
                };
                let k = &mut self.counters;
                match ty {
                    0 => {
                        let Some(&bits) = b.get(4) else {
                            return Step::Need;
                        };
                        if b.len() < 20 {
                            return Step::Need;
                        }
                        self.bpp = usize::from(bits / 8).max(1);
                        Step::Take(20)
                    }
                    2 => {
                        let Some(n) = be16(b, 2) else {
                            return Step::Need;
                        };
                        k.set_encodings = k.set_encodings.saturating_add(1);
                        Step::Skip(4 + 4 * usize::from(n))
                    }
                    3 => {
                        k.update_requests = k.update_requests.saturating_add(1);
                        Step::Skip(10)
                    }
                    4 => {
                        k.key_events = k.key_events.saturating_add(1);
                        Step::Skip(8)
                    }
                    5 => {
                        k.pointer_events = k.pointer_events.saturating_add(1);
                        Step::Skip(6)
                    }
                    6 => {
                        let Some(n) = be32(b, 4) else {
                            return Step::Need;
                        };
                        k.client_cut_texts = k.client_cut_texts.saturating_add(1);
                        Step::Skip(8usize.saturating_add(n as usize))
                    }
                    150 => Step::Skip(10),
                    _ => {
                        k.framing_lost = true;
                        Step::Stop
                    }
                }
            }
            C::Stop => Step::Stop,
        }
    }

    fn bad_version(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.disabled = true;
        for (kind, m) in [
            (
                "bad_version",
                "no RFB ProtocolVersion where one was expected",
            ),
            ("not_vnc", "no longer parsing this flow as VNC"),
        ] {
            out.push(Output::Anomaly(Anomaly {
                ts,
                protocol: "vnc",
                kind,
                message: m.into(),
                dir,
            }));
        }
    }

    /// Runs one direction until it needs bytes, waits or stops; true if progressed.
    /// After each step of a top-level run the other direction runs until blocked
    /// (with its bytes so far), which is the order one-byte chunks would give: the
    /// result does not depend on chunking.
    fn run(&mut self, dir: Direction, nested: bool, ts: Timestamp, out: &mut Vec<Output>) -> bool {
        let idx = usize::from(dir == Direction::ToClient);
        let mut buf = std::mem::take(&mut self.halves[idx].buf);
        let mut pos = 0;
        let mut progressed = false;
        while !self.disabled {
            let rest = buf.get(pos..).unwrap_or_default();
            let step = match dir {
                Direction::ToClient => self.server(rest, ts, out),
                Direction::ToServer => self.client(rest, ts, out),
            };
            match step {
                Step::Need | Step::Wait => break,
                Step::Take(n) => {
                    pos += n.min(rest.len());
                    progressed = true;
                    if !nested {
                        self.run(dir.reverse(), true, ts, out);
                    }
                }
                Step::Skip(n) => {
                    let have = n.min(rest.len());
                    pos += have;
                    self.halves[idx].skip = n - have;
                    progressed = true;
                    if !nested {
                        self.run(dir.reverse(), true, ts, out);
                    }
                    if n > have {
                        break;
                    }
                }
                Step::Stop => {
                    match dir {
                        Direction::ToClient => self.s = S::Stop,
                        Direction::ToServer => self.c = C::Stop,
                    }
                    pos = buf.len();
                    break;
                }
            }
        }
        buf.drain(..pos.min(buf.len()));
        if !self.disabled && !self.stopped(dir) {
            self.halves[idx].buf = buf;
        }
        progressed
    }

    fn stopped(&self, dir: Direction) -> bool {
        match dir {
            Direction::ToClient => self.s == S::Stop,
            Direction::ToServer => self.c == C::Stop,
        }
    }
}

impl Parser for VncParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled || self.stopped(dir) {
            return;
        }
        let idx = usize::from(dir == Direction::ToClient);
        let mut data = data;
        let h = &mut self.halves[idx];
        if h.skip > 0 {
            let n = h.skip.min(data.len());
            h.skip -= n;
            data = data.get(n..).unwrap_or_default();
        }
        if data.is_empty() {
            return;
        }
        h.buf.extend_from_slice(data);
        self.run(dir, false, ts, out);
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        // RFB has no resynchronisation point: stop counting that direction.
        let idx = usize::from(dir == Direction::ToClient);
        self.halves[idx] = Half::default();
        if self.counting {
            self.counters.framing_lost = true;
        }
        match dir {
            Direction::ToClient => self.s = S::Stop,
            Direction::ToServer => self.c = C::Stop,
        }
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled {
            return;
        }
        if !self.emitted && (self.tx.server_version.is_some() || self.tx.client_version.is_some()) {
            self.emit_handshake(ts, out);
        }
        let k = &self.counters;
        let any = k.key_events
            | k.pointer_events
            | k.update_requests
            | k.client_cut_texts
            | k.set_encodings
            | k.framebuffer_updates
            | k.bells
            | k.server_cut_texts
            | k.colour_map_updates
            > 0;
        if self.counting && (any || k.framing_lost) {
            let mut tx = std::mem::replace(&mut self.tx, Transaction::new("session"));
            tx.counters = Some(Box::new(std::mem::take(&mut self.counters)));
            out.push(Output::Txn(Txn {
                ts: self.start.unwrap_or(ts),
                ts_end: Some(ts),
                dir: Direction::ToServer,
                record: Record::Vnc(Box::new(tx)),
            }));
        }
        self.counting = false;
        self.halves = [Half::default(), Half::default()];
    }
}
