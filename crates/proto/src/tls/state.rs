//! TLS flow state: record framing per direction (a record is buffered up to
//! [`MAX_RECORD`]), handshake message reassembly across records (bounded by
//! [`MAX_HANDSHAKE`]), and one transaction per handshake.
//!
//! The side that sends the ClientHello is the TLS client, whatever the flow's
//! orientation. A direction is encrypted once it sent ChangeCipherSpec; for TLS 1.3
//! everything after the ServerHello travels in application-data records. The
//! transaction is emitted when the handshake is established (both sides sent
//! ChangeCipherSpec, or for TLS 1.3 the client's first protected record), at a
//! fatal cleartext alert, or at `finish()`.
//!
//! A malformed record header loses the record boundaries of its direction: the
//! direction is no longer parsed (its bytes are skipped). A TCP gap does the same.
//! A well-formed header declaring a record longer than [`MAX_RECORD`], or a
//! handshake message declaring more than [`MAX_HANDSHAKE`], is reported and its
//! declared octets are skipped (counted, not buffered); parsing goes on after it.
use super::cert;
use super::names;
use super::parser::{self, ClientHello, ServerHello, MAX_RECORD, RECORD_HEADER};
use super::record::{Alert, Client, Server, Transaction, MAX_ALERTS, MAX_CERTS};
use crate::{Anomaly, Direction, Identity, Output, Parser, Record, Side, Timestamp, Txn};

/// Largest handshake message reassembled (certificate chains included).
pub const MAX_HANDSHAKE: usize = 64 * 1024;
/// Malformed records that end TLS parsing of a flow.
pub const MAX_BAD: u32 = 4;

#[derive(Default)]
struct Half {
    /// Partial record.
    buf: Vec<u8>,
    /// Partial handshake message.
    hs: Vec<u8>,
    /// Sent ChangeCipherSpec: its handshake records are protected now.
    encrypted: bool,
    /// Sent an application-data record.
    app_data: bool,
    /// Record boundaries lost (bad header or gap): the direction is skipped.
    lost: bool,
    /// Handshake octets still to skip: the rest of a message too long to reassemble.
    hs_skip: usize,
    /// Record octets still to skip: the rest of a record longer than [`MAX_RECORD`].
    skip: usize,
}

/// The TLS parser of one flow.
pub struct TlsParser {
    halves: [Half; 2],
    tx: Transaction,
    /// Time of the first handshake message.
    start: Option<Timestamp>,
    /// Direction of the ClientHello.
    client_dir: Option<Direction>,
    tls13: bool,
    emitted: bool,
    /// Which side sent ChangeCipherSpec first (abbreviated handshake: the server).
    first_ccs: Option<Direction>,
    identity_sent: bool,
    confirmed: bool,
    bad_streak: u32,
    disabled: bool,
}

impl Default for TlsParser {
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
        protocol: "tls",
        kind,
        message,
        dir,
    }));
}

impl TlsParser {
    pub fn new() -> TlsParser {
        TlsParser {
            halves: [Half::default(), Half::default()],
            tx: Transaction::default(),
            start: None,
            client_dir: None,
            tls13: false,
            emitted: false,
            first_ccs: None,
            identity_sent: false,
            confirmed: false,
            bad_streak: 0,
            disabled: false,
        }
    }

    /// The parser gave up on the flow.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    fn client_dir(&self) -> Direction {
        self.client_dir.unwrap_or(Direction::ToServer)
    }

    fn side_name(&self, dir: Direction) -> &'static str {
        if dir == self.client_dir() {
            "client"
        } else {
            "server"
        }
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        if self.emitted || (self.tx.client.is_none() && self.tx.server.is_none()) {
            return;
        }
        self.emitted = true;
        let tx = std::mem::take(&mut self.tx);
        let start = self.start.unwrap_or(ts);
        out.push(Output::Txn(Txn {
            ts: start,
            ts_end: Some(ts),
            dir: self.client_dir(),
            record: Record::Tls(Box::new(tx)),
        }));
    }

    fn bad(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.bad_streak += 1;
        let h = &mut self.halves[idx(dir)];
        h.lost = true;
        h.buf = Vec::new();
        h.hs = Vec::new();
        if self.bad_streak >= MAX_BAD || !self.confirmed {
            self.disabled = true;
            self.halves = [Half::default(), Half::default()];
            anomaly(
                out,
                ts,
                dir,
                "not_tls",
                format!(
                    "{} malformed records{}: no longer parsing this flow as TLS",
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

    fn check_established(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        let c = &self.halves[idx(self.client_dir())];
        let s = &self.halves[idx(self.client_dir().reverse())];
        let done = if self.tls13 {
            c.app_data
        } else {
            c.encrypted && s.encrypted
        };
        if done && self.tx.server.is_some() {
            self.tx.established = true;
            if !self.tls13 {
                self.tx.resumed = self.tx.certificates.is_empty()
                    && self.first_ccs == Some(self.client_dir().reverse());
            }
            self.emit(ts, out);
        }
    }

    /// One whole record.
    fn record(
        &mut self,
        dir: Direction,
        ct: u8,
        body: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let i = idx(dir);
        match ct {
            parser::CT_CCS => {
                if !self.halves[i].encrypted && self.first_ccs.is_none() {
                    self.first_ccs = Some(dir);
                }
                self.halves[i].encrypted = true;
                self.check_established(ts, out);
            }
            parser::CT_ALERT => {
                let (false, [level, description]) = (self.halves[i].encrypted, body) else {
                    return;
                };
                let (level, description) = (*level, *description);
                if self.tx.alerts.len() < MAX_ALERTS {
                    self.tx.alerts.push(Alert {
                        from: self.side_name(dir),
                        level,
                        description,
                        name: names::alert_name(description),
                    });
                } else {
                    self.tx.truncated = true;
                }
                if level == 2 {
                    self.emit(ts, out);
                }
            }
            parser::CT_HANDSHAKE => {
                if self.halves[i].encrypted {
                    return;
                }
                self.handshake_bytes(dir, body, ts, out);
            }
            parser::CT_APPLICATION => {
                self.halves[i].app_data = true;
                self.check_established(ts, out);
            }
            // type(1) payload_length(2) payload padding(>=16)
            parser::CT_HEARTBEAT if !self.halves[i].encrypted => {
                if let Some(l) = body.get(1..3) {
                    let claimed = usize::from(u16::from_be_bytes([l[0], l[1]]));
                    if claimed + 3 + 16 > body.len() {
                        anomaly(
                            out,
                            ts,
                            dir,
                            "heartbeat_overflow",
                            format!(
                                "heartbeat claims a {claimed}-byte payload in a {}-byte record (Heartbleed)",
                                body.len()
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn handshake_bytes(
        &mut self,
        dir: Direction,
        body: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let i = idx(dir);
        let mut body = body;
        let h = &mut self.halves[i];
        if h.hs_skip > 0 {
            let n = h.hs_skip.min(body.len());
            h.hs_skip -= n;
            body = body.get(n..).unwrap_or_default();
            if body.is_empty() {
                return;
            }
        }
        let mut hs = std::mem::take(&mut self.halves[i].hs);
        hs.extend_from_slice(body);
        let mut pos = 0usize;
        loop {
            let rest = hs.get(pos..).unwrap_or_default();
            let Some(h) = rest.get(..4) else { break };
            let (t, len) = (
                h[0],
                usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]),
            );
            if len > MAX_HANDSHAKE {
                anomaly(
                    out,
                    ts,
                    dir,
                    "handshake_too_long",
                    format!(
                        "handshake message type {t} declares {len} bytes (more than {MAX_HANDSHAKE}): skipped, not reassembled"
                    ),
                );
                // Skip the declared message (the records carrying it are counted,
                // never buffered) and parse what follows it.
                let here = rest.len().saturating_sub(4);
                if here >= len {
                    pos += 4 + len;
                    continue;
                }
                self.halves[i].hs_skip = len - here;
                pos = hs.len();
                break;
            }
            let Some(msg) = rest.get(4..4 + len) else {
                break;
            };
            self.handshake(dir, t, msg, ts, out);
            pos += 4 + len;
        }
        let left = hs.get(pos..).unwrap_or_default();
        if !left.is_empty() {
            self.halves[i].hs = left.to_vec();
        }
    }

    fn handshake(
        &mut self,
        dir: Direction,
        t: u8,
        msg: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        if self.emitted {
            return;
        }
        match t {
            parser::HS_CLIENT_HELLO => match ClientHello::parse(msg) {
                Ok(h) => {
                    self.confirmed = true;
                    self.bad_streak = 0;
                    if self.tx.client.is_none() {
                        self.start.get_or_insert(ts);
                        self.client_dir = Some(dir);
                        let c = Client::from_hello(&h);
                        self.tx.server_name = c.sni.clone();
                        if self.tx.version.is_none() {
                            self.tx.version = Some(names::version_name(c.version));
                        }
                        self.tx.client = Some(Box::new(c));
                    }
                }
                Err(e) => anomaly(out, ts, dir, e.kind(), e.to_string()),
            },
            parser::HS_SERVER_HELLO => match ServerHello::parse(msg) {
                Ok(h) => {
                    self.confirmed = true;
                    self.bad_streak = 0;
                    self.start.get_or_insert(ts);
                    if self.client_dir.is_none() {
                        self.client_dir = Some(dir.reverse());
                    }
                    if h.is_hello_retry() {
                        self.tx.hello_retry = true;
                    }
                    let s = Server::from_hello(&h);
                    let v = s.selected_version.unwrap_or(s.version);
                    self.tls13 = v == 0x0304 || v >> 8 == 0x7f;
                    if self.tls13 && h.has(parser::EXT_PRE_SHARED_KEY) {
                        self.tx.resumed = true;
                    }
                    self.tx.set_server(s);
                }
                Err(e) => anomaly(out, ts, dir, e.kind(), e.to_string()),
            },
            parser::HS_CERTIFICATE if !self.tls13 => {
                if dir == self.client_dir() {
                    self.tx.client_certificate = true;
                    return;
                }
                match parser::certificates(msg) {
                    Ok(ders) => {
                        if ders.len() > MAX_CERTS {
                            self.tx.truncated = true;
                        }
                        for der in ders.iter().take(MAX_CERTS) {
                            match cert::summarize(der) {
                                Some(c) => self.tx.certificates.push(c),
                                None => anomaly(
                                    out,
                                    ts,
                                    dir,
                                    "bad_certificate",
                                    format!(
                                        "a {}-byte certificate does not decode as X.509",
                                        der.len()
                                    ),
                                ),
                            }
                        }
                        self.identity(dir, out);
                    }
                    Err(e) => anomaly(out, ts, dir, e.kind(), e.to_string()),
                }
            }
            parser::HS_SERVER_KEY_EXCHANGE => {
                let ecdhe = self.tx.cipher.is_some_and(|c| c.contains("ECDHE"));
                if ecdhe {
                    if let Some(g) = parser::ske_named_curve(msg) {
                        self.tx.curve = Some(names::group_name(g));
                    }
                }
            }
            _ => {}
        }
    }

    fn identity(&mut self, dir: Direction, out: &mut Vec<Output>) {
        if self.identity_sent {
            return;
        }
        let Some(cn) = self
            .tx
            .certificates
            .first()
            .and_then(|c| c.common_name.clone())
            .filter(|c| !c.is_empty())
        else {
            return;
        };
        self.identity_sent = true;
        out.push(Output::Identity(Identity {
            side: Some(if dir == Direction::ToClient {
                Side::Server
            } else {
                Side::Client
            }),
            source: "tls.certificate",
            name: Some(cn),
            ..Identity::default()
        }));
    }
}

impl Parser for TlsParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let i = idx(dir);
        if self.disabled || self.halves[i].lost || data.is_empty() {
            return;
        }
        let mut data = data;
        let skip = &mut self.halves[i].skip;
        if *skip > 0 {
            let n = (*skip).min(data.len());
            *skip -= n;
            data = data.get(n..).unwrap_or_default();
            if data.is_empty() {
                return;
            }
        }
        let mut buf = std::mem::take(&mut self.halves[i].buf);
        let whole: &[u8] = if buf.is_empty() {
            data
        } else {
            buf.extend_from_slice(data);
            &buf
        };
        let mut pos = 0usize;
        loop {
            let rest = whole.get(pos..).unwrap_or_default();
            let hdr = match parser::record_header(rest) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e @ parser::Error::RecordTooLong(len)) => {
                    // A well-formed header declaring an oversized record: report it,
                    // skip the declared octets without buffering them, and go on at
                    // the next record boundary.
                    anomaly(out, ts, dir, e.kind(), e.to_string());
                    let here = rest.len().saturating_sub(RECORD_HEADER);
                    if here >= len {
                        pos += RECORD_HEADER + len;
                        continue;
                    }
                    self.halves[i].skip = len - here;
                    pos = whole.len();
                    break;
                }
                Err(e) => {
                    anomaly(out, ts, dir, e.kind(), e.to_string());
                    self.bad(dir, ts, out);
                    return;
                }
            };
            let Some(body) = rest.get(RECORD_HEADER..RECORD_HEADER + hdr.length) else {
                break;
            };
            self.record(dir, hdr.content_type, body, ts, out);
            if self.disabled {
                return;
            }
            pos += RECORD_HEADER + hdr.length;
        }
        let left = whole.get(pos..).unwrap_or_default();
        if left.len() <= RECORD_HEADER + MAX_RECORD {
            let keep = left.to_vec();
            self.halves[i].buf = keep;
        }
    }

    fn gap(&mut self, dir: Direction, len: u64, ts: Timestamp, out: &mut Vec<Output>) {
        let i = idx(dir);
        if self.disabled || self.halves[i].lost {
            return;
        }
        if !self.emitted {
            anomaly(
                out,
                ts,
                dir,
                "gap",
                format!("{len} bytes missing during the handshake: record boundaries lost"),
            );
        }
        let h = &mut self.halves[i];
        h.lost = true;
        h.buf = Vec::new();
        h.hs = Vec::new();
        h.skip = 0;
        h.hs_skip = 0;
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        self.emit(ts, out);
        self.halves = [Half::default(), Half::default()];
    }
}
