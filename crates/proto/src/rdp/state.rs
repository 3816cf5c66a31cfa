//! Per-flow state of the RDP connection sequence: TPKT framing per direction,
//! negotiation pairing, MCS Connect pairing, TLS switch.
//!
//! Frames are buffered per direction up to [`MAX_FRAME`] bytes; a longer frame is
//! skipped. Once the flow switches to TLS/CredSSP, or after the MCS Connect Response,
//! the parser ignores the rest of the flow (graphics and input are not decoded).
use super::parser::{self, Negotiation};
use super::{Client, Server, Transaction, MAX_STR};
use crate::{Anomaly, Direction, Output, Parser, Record, Timestamp, Txn};

/// Largest TPKT frame buffered.
pub const MAX_FRAME: usize = 16 * 1024;
/// Consecutive bad frames before giving up.
pub const MAX_BAD: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the X.224 Connection Request / Confirm.
    Negotiation,
    /// Standard RDP security: waiting for MCS Connect Initial / Response.
    Mcs,
    /// Switched to TLS / CredSSP: opaque.
    Tls,
    /// Connection sequence decoded (or refused): ignore the rest.
    Done,
}

#[derive(Default)]
struct Half {
    buf: Vec<u8>,
    skip: usize,
}

/// The RDP parser of one flow.
pub struct RdpParser {
    halves: [Half; 2],
    phase: Phase,
    /// Negotiation waiting for its confirm.
    pending: Option<(Timestamp, Transaction)>,
    /// Connect Initial waiting for its response.
    pending_mcs: Option<(Timestamp, Transaction)>,
    /// What the negotiation established, copied into the MCS record.
    base: Transaction,
    bad: u32,
    disabled: bool,
}

impl Default for RdpParser {
    fn default() -> Self {
        Self::new()
    }
}

fn lossy(b: &[u8]) -> (String, bool) {
    let cut = b.len() > MAX_STR;
    (
        String::from_utf8_lossy(b.get(..MAX_STR).unwrap_or(b)).into_owned(),
        cut,
    )
}

fn anomaly(out: &mut Vec<Output>, ts: Timestamp, dir: Direction, kind: &'static str, m: String) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol: "rdp",
        kind,
        message: m,
        dir,
    }));
}

fn emit(
    out: &mut Vec<Output>,
    ts: Timestamp,
    end: Option<Timestamp>,
    dir: Direction,
    tx: Transaction,
) {
    out.push(Output::Txn(Txn {
        ts,
        ts_end: end,
        dir,
        record: Record::Rdp(Box::new(tx)),
    }));
}

impl RdpParser {
    pub fn new() -> Self {
        RdpParser {
            halves: [Half::default(), Half::default()],
            phase: Phase::Negotiation,
            pending: None,
            pending_mcs: None,
            base: Transaction::new("mcs_connect"),
            bad: 0,
            disabled: false,
        }
    }

    /// The flow switched to TLS / CredSSP.
    pub fn is_tls(&self) -> bool {
        self.phase == Phase::Tls
    }

    fn half(&mut self, dir: Direction) -> &mut Half {
        let [a, b] = &mut self.halves;
        match dir {
            Direction::ToServer => a,
            Direction::ToClient => b,
        }
    }

    fn request(&mut self, frame: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let dir = Direction::ToServer;
        let mut tx = Transaction::new("negotiation");
        match parser::parse_connection(frame) {
            Ok(c) => {
                if let Some(v) = c.mstshash {
                    let (s, cut) = lossy(v);
                    tx.truncated |= cut;
                    let user = s.trim();
                    if !user.is_empty() {
                        tx.user = Some(user.to_string());
                    }
                    tx.cookie = Some(s);
                }
                if let Some(v) = c.routing_token {
                    let (s, cut) = lossy(v);
                    tx.truncated |= cut;
                    tx.routing_token = Some(s);
                }
                if let Some(Negotiation::Request { protocols, .. }) = c.negotiation {
                    tx.requested_protocols = parser::requested_names(protocols);
                }
                if c.trailing {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "unexpected_pdu",
                        "connection request carries unknown trailing bytes".into(),
                    );
                }
            }
            Err(e) => anomaly(out, ts, dir, e.kind(), format!("connection request: {e}")),
        }
        if let Some((t, old)) = self.pending.take() {
            anomaly(
                out,
                ts,
                dir,
                "unexpected_pdu",
                "second connection request before a confirm".into(),
            );
            emit(out, t, None, dir, old);
        }
        self.pending = Some((ts, tx));
    }

    fn confirm(&mut self, frame: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let dir = Direction::ToClient;
        let (start, mut tx, first) = match self.pending.take() {
            Some((t, tx)) => (t, tx, Direction::ToServer),
            None => {
                anomaly(
                    out,
                    ts,
                    dir,
                    "unexpected_pdu",
                    "connection confirm without a request".into(),
                );
                (ts, Transaction::new("negotiation"), dir)
            }
        };
        let neg = match parser::parse_connection(frame) {
            Ok(c) => c.negotiation,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), format!("connection confirm: {e}"));
                None
            }
        };
        match neg {
            Some(Negotiation::Response { protocol, .. }) if protocol != 0 => {
                tx.security_protocol = Some(parser::protocol_name(protocol));
                tx.result = Some("encrypted");
                tx.tls = true;
                self.phase = Phase::Tls;
            }
            Some(Negotiation::Failure { code }) => {
                tx.failure = Some(parser::failure_name(code));
                tx.result = Some("failure");
                self.phase = Phase::Done;
            }
            _ => {
                tx.security_protocol = Some("RDP");
                tx.result = Some("success");
                self.phase = Phase::Mcs;
            }
        }
        let mut base = tx.clone();
        base.kind = "mcs_connect";
        base.truncated = false;
        self.base = base;
        emit(out, start, Some(ts), first, tx);
    }

    fn connect_initial(&mut self, frame: &[u8], ts: Timestamp, out: &mut Vec<Output>) -> bool {
        let Some(c) = parser::parse_client_data(frame) else {
            return false;
        };
        let mut tx = self.base.clone();
        let client = Client {
            version: c.version.and_then(parser::client_version_name),
            build: c.client_build,
            build_name: c.client_build.and_then(parser::client_build_name),
            name: c.client_name.filter(|s| !s.is_empty()),
            keyboard_layout: c.keyboard_layout,
            keyboard_layout_name: c.keyboard_layout.and_then(parser::keyboard_layout_name),
            desktop_width: c.desktop_width,
            desktop_height: c.desktop_height,
            color_depth: c.high_color_depth,
            dig_product_id: c.dig_product_id,
            channels: c.channels,
        };
        tx.client = Some(Box::new(client));
        tx.result = None;
        if let Some((t, old)) = self.pending_mcs.take() {
            emit(out, t, None, Direction::ToServer, old);
        }
        self.pending_mcs = Some((ts, tx));
        true
    }

    fn connect_response(&mut self, frame: &[u8], ts: Timestamp, out: &mut Vec<Output>) -> bool {
        let Some(s) = parser::parse_server_data(frame) else {
            return false;
        };
        let (start, mut tx, first) = match self.pending_mcs.take() {
            Some((t, tx)) => (t, tx, Direction::ToServer),
            None => (ts, self.base.clone(), Direction::ToClient),
        };
        tx.server = Some(Box::new(Server {
            encryption_method: s.encryption_method.map(parser::encryption_method_name),
            encryption_level: s.encryption_level.map(parser::encryption_level_name),
            cert_type: s.cert_type.map(|t| match t {
                1 => "proprietary",
                2 => "X.509",
                _ => "unknown",
            }),
            cert_count: s.cert_count,
            cert_permanent: s.cert_permanent,
        }));
        tx.result = Some("success");
        emit(out, start, Some(ts), first, tx);
        self.phase = Phase::Done;
        true
    }

    fn frame(&mut self, dir: Direction, frame: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let code = parser::x224_code(frame);
        match (self.phase, dir, code) {
            (Phase::Negotiation, Direction::ToServer, parser::X224_CR) => {
                self.request(frame, ts, out)
            }
            (Phase::Negotiation, Direction::ToClient, parser::X224_CC) => {
                self.confirm(frame, ts, out)
            }
            (Phase::Mcs, Direction::ToServer, parser::X224_DT) => {
                self.connect_initial(frame, ts, out);
            }
            (Phase::Mcs, Direction::ToClient, parser::X224_DT) => {
                self.connect_response(frame, ts, out);
            }
            (_, _, parser::X224_DR) => {
                if let Some((t, mut tx)) = self.pending_mcs.take() {
                    tx.result = Some("failure");
                    emit(out, t, Some(ts), Direction::ToServer, tx);
                }
                self.phase = Phase::Done;
            }
            (Phase::Negotiation, _, _) => anomaly(
                out,
                ts,
                dir,
                "unexpected_pdu",
                format!("X.224 TPDU {code:#04x} before the connection was negotiated"),
            ),
            _ => {}
        }
    }

    fn bad(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.bad += 1;
        if self.bad >= MAX_BAD {
            self.disabled = true;
            self.halves = [Half::default(), Half::default()];
            anomaly(
                out,
                ts,
                dir,
                "not_rdp",
                format!(
                    "{} malformed TPKT frames: no longer parsing this flow as RDP",
                    self.bad
                ),
            );
        }
    }
}

impl Parser for RdpParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled || matches!(self.phase, Phase::Tls | Phase::Done) {
            return;
        }
        let mut data = data;
        {
            let h = self.half(dir);
            if h.skip > 0 {
                let n = h.skip.min(data.len());
                h.skip -= n;
                data = data.get(n..).unwrap_or_default();
            }
            if data.is_empty() {
                return;
            }
            h.buf.extend_from_slice(data);
        }
        let mut buf = std::mem::take(&mut self.half(dir).buf);
        let mut pos = 0;
        while !self.disabled && !matches!(self.phase, Phase::Tls | Phase::Done) {
            let rest = buf.get(pos..).unwrap_or_default();
            match parser::tpkt_len(rest) {
                Ok(None) => break,
                Err(e) => {
                    // Skip one byte and look for a header there (every decision
                    // depends on the bytes only, not on how they were chunked).
                    anomaly(out, ts, dir, e.kind(), e.to_string());
                    pos += 1;
                    self.bad(dir, ts, out);
                }
                Ok(Some(n)) if n > MAX_FRAME => {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "bad_length",
                        format!("TPKT frame of {n} bytes skipped"),
                    );
                    let have = rest.len().min(n);
                    self.half(dir).skip = n - have;
                    pos += have;
                }
                Ok(Some(n)) => {
                    let Some(frame) = rest.get(..n) else { break };
                    self.bad = 0;
                    self.frame(dir, frame, ts, out);
                    pos += n;
                }
            }
        }
        if matches!(self.phase, Phase::Tls | Phase::Done) || self.disabled {
            self.halves = [Half::default(), Half::default()];
            return;
        }
        buf.drain(..pos.min(buf.len()));
        self.half(dir).buf = buf;
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        let h = self.half(dir);
        h.buf.clear();
        h.skip = 0;
    }

    fn finish(&mut self, _ts: Timestamp, out: &mut Vec<Output>) {
        if let Some((t, tx)) = self.pending.take() {
            emit(out, t, None, Direction::ToServer, tx);
        }
        if let Some((t, tx)) = self.pending_mcs.take() {
            emit(out, t, None, Direction::ToServer, tx);
        }
        self.halves = [Half::default(), Half::default()];
    }
}
